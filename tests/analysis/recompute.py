"""An independent recomputation of report.py's table from `crammer export` CSV files (results,
models, samples), with the csv module and plain loops: no pandas and no code shared with
analysis/crammer_results.py, so that the two implementations check each other.

Not for users: report.py is the tool.
"""
import csv
import math
import statistics


def _read(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def recompute(results_csv, models_csv, samples_csv, bits=16, file_tag=""):
    """Returns {(model, text_kind, n_mem, mode): {column: value}} for the table columns."""
    models = {int(m["model_index"]): m for m in _read(models_csv)}
    by_name = {m["name"]: m for m in models.values()}
    kind = {}
    for s in _read(samples_csv):
        kind[(int(s["sample_id"]), int(s["model_index"]))] = s["text_kind"]
    name_to_index = {m["name"]: i for i, m in models.items()}

    groups = {}
    for r in _read(results_csv):
        mi = name_to_index[r["model"]]
        sid = int(r["sample_id"])
        mode = "search" if "/search/" in r["task_key"] else "grid"
        key = (r["model"], kind.get((sid, mi), "unknown"), int(r["n_mem"]), mode)
        groups.setdefault(key, []).append(r)

    out = {}
    for key, rows in groups.items():
        model, _, k, mode = key
        m = by_name[model]
        done = [r for r in rows if r["status"] == "done"]
        per_sample = {}
        for r in done:
            sid = (file_tag, int(r["sample_id"]))
            length = int(r["length"])
            acc = float(r["best_acc"])
            ok = (r["converged"] == "true") if mode == "search" else acc >= 0.99
            n_tokens = int(r["n_tokens"])
            ig_paper = (float(r["baseline_loss"]) - float(r["best_loss"])) * n_tokens
            p = per_sample.setdefault(sid, {"cap": 0, "gain": -math.inf, "ig": -math.inf,
                                            "igp": -math.inf})
            if ok:
                p["cap"] = max(p["cap"], length)
            p["gain"] = max(p["gain"], int(r["token_gain"]))
            p["ig"] = max(p["ig"], float(r["info_gain_nats"]))
            p["igp"] = max(p["igp"], ig_paper)
        if mode == "grid":
            acc_by_len = {}
            for r in done:
                acc_by_len.setdefault(int(r["length"]), []).append(float(r["best_acc"]))
            good = [L for L, a in acc_by_len.items() if sum(a) / len(a) >= 0.99]
            capacity = float(max(good)) if good else 0.0
        else:
            capacity = (statistics.fmean(p["cap"] for p in per_sample.values())
                        if per_sample else 0.0)
        theory = k * int(m["d_model"]) * bits / math.log2(int(m["vocab_size"]))
        gain = (statistics.fmean(p["gain"] for p in per_sample.values())
                if per_sample else float("nan"))
        ig = statistics.fmean(p["ig"] for p in per_sample.values()) if per_sample else float(
            "nan")
        igp = statistics.fmean(p["igp"] for p in per_sample.values()) if per_sample else float(
            "nan")
        caps = [p["cap"] for p in per_sample.values()]
        out[key] = {
            "d_model": int(m["d_model"]), "vocab_size": int(m["vocab_size"]),
            "n_params": int(m["n_params"]), "samples": len(per_sample), "rows": len(rows),
            "done": len(done), "failed": sum(r["status"] == "failed" for r in rows),
            "skipped": sum(r["status"] == "skipped" for r in rows),
            "capacity_tokens": capacity,
            "capacity_per_sample_mean": statistics.fmean(caps) if caps else 0.0,
            "capacity_per_sample_std": statistics.pstdev(caps) if caps else 0.0,
            "token_gain": gain, "info_gain_nats": ig, "info_gain_bits": ig / math.log(2),
            "info_gain_nats_paper": igp, "info_gain_bits_paper": igp / math.log(2),
            "theoretical_capacity_tokens": theory, "utilisation": gain / theory,
        }
    return out


def merge(*tables):
    """Merges recompute() results of several files whose groups are disjoint or must be
    combined row-wise; used only where the test's files do not share a group."""
    out = {}
    for t in tables:
        for key, v in t.items():
            if key in out:
                raise ValueError(f"group {key} is in two files; recompute them together")
            out[key] = v
    return out
