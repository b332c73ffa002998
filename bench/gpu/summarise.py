#!/usr/bin/env python3
"""The GPU side by side's figures (the JSON files run.sh's steps wrote into WORKDIR) in one
Markdown page: per shape, the paper's procedure and crammer at each batch (sample-steps/s, the
ratio to the paper's, TFLOP/s, MFU, peak memory), the targets met or missed, and the parity
table; and all of them in one JSON file.

  python3 bench/gpu/summarise.py WORKDIR --markdown summary.md --json figures.json
"""
import argparse
import json
import pathlib

# Targets: crammer at its best batch against the paper's procedure; MFU of the Llama shape.
TARGETS = {"pythia-160m": {"speedup": 20}, "llama-3.2-1b": {"speedup": 3, "mfu": 0.45}}


def gib(value):
    return f"{value:.2f}" if value >= 0 else "n/a"


def shape_section(name, paper, crammer):
    peak = crammer["peak_tflops"]
    per_step = crammer["flops_per_sample_step"]
    lines = [f"### {name}: length {crammer['length']}, k {crammer['n_mem']}, {crammer['model_type']}", "",
             f"FLOPs per sample-step {per_step:.4g} (docs/bench/cram.md); MFU against {peak:g} TFLOP/s.", "",
             "| run | batch | sample-steps/s | vs paper | TFLOP/s | MFU | peak GiB |", "|---|---:|---:|---:|---:|---:|---:|"]
    p_rate = paper["sample_steps_per_s"]
    p_tflops = p_rate * per_step / 1e12
    lines.append(f"| paper procedure ({paper['attention']}, f32 + bf16 autocast) | 1 | {p_rate:.2f} | 1.00x | "
                 f"{p_tflops:.3g} | {100 * p_tflops / peak:.3g}% | {gib(paper['peak_gib'])} |")
    best = None
    for row in crammer["batches"]:
        if not row["fits"]:
            lines.append(f"| crammer ({crammer['dtype']}) | {row['batch']} | does not fit | | | | |")
            continue
        ratio = row["sample_steps_per_s"] / p_rate
        if best is None or row["sample_steps_per_s"] > best["sample_steps_per_s"]:
            best = dict(row, ratio=ratio)
        lines.append(f"| crammer ({crammer['dtype']}) | {row['batch']} | {row['sample_steps_per_s']:.2f} | "
                     f"{ratio:.2f}x | {row['tflops']:.3g} | {100 * row['mfu']:.3g}% | {gib(row['peak_gib'])} |")
    lines.append("")
    target = TARGETS.get(name, {})
    if best is not None:
        verdict = []
        if "speedup" in target:
            ok = best["ratio"] >= target["speedup"]
            verdict.append(f"best batch {best['batch']}: {best['ratio']:.1f}x the paper's sample-steps/s "
                           f"(target >= {target['speedup']}x): {'met' if ok else 'MISSED'}")
        if "mfu" in target:
            top = max(r["mfu"] for r in crammer["batches"] if r["fits"])
            verdict.append(f"best MFU {100 * top:.1f}% (target >= {100 * target['mfu']:.0f}%): "
                           f"{'met' if top >= target['mfu'] else 'MISSED'}")
        lines += [f"- {v}" for v in verdict] + [""]
    return lines


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("workdir", type=pathlib.Path)
    ap.add_argument("--markdown", required=True)
    ap.add_argument("--json", required=True)
    ap.add_argument("--expect", nargs="*", default=[],
                    help="shapes whose figures must be there, and the parity: exit 1 without them")
    args = ap.parse_args()
    out = args.workdir
    figures = {f.name[:-5]: json.loads(f.read_text()) for f in sorted(out.glob("*.json"))}
    with open(args.json, "w") as fh:
        json.dump(figures, fh, indent=2)
    lines = ["# crammer on the GPU: side by side and parity", ""]
    machine = out / "machine.txt"
    if machine.exists():
        lines += ["```", machine.read_text().strip(), "```", ""]
    for name in ("pythia-160m", "llama-3.2-1b", "tiny-neox", "tiny-llama"):  # shapes.SHAPES
        paper, crammer = out / f"{name}.paper.json", out / f"{name}.crammer.json"
        if paper.exists() and crammer.exists():
            lines += shape_section(name, json.loads(paper.read_text()), json.loads(crammer.read_text()))
    parity = out / "parity.json"
    if parity.exists():
        p = json.loads(parity.read_text())
        lines += [f"### Parity with transformers on {p['device']} (torch {p['torch']}, transformers "
                  f"{p['transformers']})", "",
                  f"max |crammer - transformers| / max |transformers|; f32 tolerance {p['f32_tolerance']:g}, "
                  f"bf16 tolerance {p['bf16_tolerance']:g}; the last column is transformers' own bf16 "
                  "against its f32.", "",
                  "| family | f32 logits | f32 [mem] logits | f32 loss | bf16 logits | bf16 [mem] logits | "
                  "transformers bf16 vs f32 |", "|---|---:|---:|---:|---:|---:|---:|"]
        for name, f in p["families"].items():
            lines.append(f"| {name} | {f['f32_logits']:.1e} | {f['f32_mem_logits']:.1e} | {f['f32_loss']:.1e} | "
                         f"{f['bf16_logits']:.1e} | {f['bf16_mem_logits']:.1e} | {f['hf_bf16_logits_vs_f32']:.1e} |")
        lines += ["", f"failures: {len(p['failures'])}"] + [f"- {e}" for e in p["failures"]] + [""]
    pathlib.Path(args.markdown).write_text("\n".join(lines) + "\n")
    missing = [f"{name}.{side}" for name in args.expect for side in ("paper", "crammer")
               if f"{name}.{side}" not in figures]
    missing += [] if not args.expect or "parity" in figures else ["parity"]
    if missing:
        raise SystemExit(f"summarise: no figures for {', '.join(missing)} in {out}")


if __name__ == "__main__":
    main()
