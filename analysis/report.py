#!/usr/bin/python3
"""The standard report of one or more crammer results files: ten PNG figures, the
Table-1-style table (Markdown and CSV), the paper's Table 1 by its own conventions, the
protocol table (bytes, the lower bound, progress measures), the solution diversity of
restarts, the per-token cost of progressive searches and the attention mass on [mem] per
layer. What each figure and column means: docs/analysis.md.

    /usr/bin/python3 analysis/report.py results/*.h5 --out report/

The figures are drawn by figures.py. Not for custom plots: import crammer_results (load_many,
capacity_table) for those.
"""
import argparse
import math
import os
import sys

import pandas as pd

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import crammer_results as cr  # noqa: E402
import figures  # noqa: E402
import mem_attention  # noqa: E402
import token_cost  # noqa: E402

FIGURES = ["accuracy_vs_length.png", "capacity_vs_k.png", "capacity_vs_model_size.png", "capacity_per_model.png",
           "info_gain_vs_baseline.png", "compressed_ce_vs_text_ce.png", "gain_bound_vs_info_gain.png",
           "solutions_pca.png", "token_cost.png", "mem_attention.png"]
TABLES = ["table.md", "table.csv", "per_sample.csv", "table1_paper.md", "table1_paper.csv", "protocol.csv",
          "in_context.csv", "solution_diversity.csv", "token_cost.csv", "mem_attention.csv"]


MD_COLUMNS = [  # (column, header, decimals)
    ("model", "model", None), ("text_kind", "text kind", None), ("n_mem", "k", None),
    ("mode", "mode", None), ("samples", "samples", None), ("done", "done", None),
    ("failed", "failed", None), ("skipped", "skipped", None),
    ("capacity_tokens", "capacity (tokens)", 1),
    ("capacity_per_sample_mean", "capacity per sample, mean (tokens)", 2),
    ("token_gain", "token gain (tokens)", 2),
    ("info_gain_nats", "info gain (nats)", 2), ("info_gain_bits", "info gain (bits)", 2),
    ("info_gain_nats_paper", "info gain ×N (nats)", 2),
    ("info_gain_bits_paper", "info gain ×N (bits)", 2),
    ("theoretical_capacity_tokens", "theoretical capacity (tokens)", 1),
    ("utilisation", "utilisation", 4),
]


def _cell(v, decimals):
    if decimals is None:
        return str(v)
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "n/a"
    return f"{v:.{decimals}f}"


def write_markdown(table, files, bits, path):
    lines = ["# crammer report", "", "Files: " + ", ".join(f"`{f}`" for f in files), "",
             "One row per model, text kind, k and mode (grid | search). Failed and skipped "
             "rows are counted but not used for metrics.",
             f"Capacity (grid): the largest length whose mean best_acc over samples is ≥ "
             f"{cr.ACC_THRESHOLD}; (search): the mean over samples of the largest converged probe "
             "length. Capacity per sample, mean: each sample's largest length with best_acc ≥ "
             f"{cr.ACC_THRESHOLD} (0 if none), averaged. Token and information gain: mean over samples of each sample's maximum "
             "over lengths. \"×N\": the paper's convention (mean loss difference × N tokens "
             "instead of × the n_targets scored). Theoretical capacity: k · d_model · "
             f"{bits} / log2(vocab). Utilisation: token gain / theoretical capacity. "
             "Details: docs/analysis.md.", ""]
    lines.append("| " + " | ".join(h for _, h, _ in MD_COLUMNS) + " |")
    lines.append("|" + "|".join("---" if d is None else "---:" for _, _, d in MD_COLUMNS) + "|")
    for _, row in table.iterrows():
        lines.append("| " + " | ".join(_cell(row[c], d) for c, _, d in MD_COLUMNS) + " |")
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")


PAPER_MD_COLUMNS = [  # (column, header, decimals); std columns are shown as mean ± std
    ("model", "model", None), ("text_kind", "text kind", None), ("n_mem", "k", None),
    ("rows_below", "rows ≤ 0.99", None), ("capacity_tokens", "max capacity (tokens)", 0),
    ("text_ce_nats", "text CE (nats)", 1), ("info_gain_nats", "information gain (nats)", 1),
    ("token_gain", "token gain (tokens)", 1),
    ("theoretical_capacity_tokens", "theoretical capacity (tokens)", 0),
    ("utilisation", "capacity utilisation", 3), ("fit_b_nats", "Figure 3 fit b (nats)", 1),
]


def write_paper_markdown(paper, files, bits, path):
    lines = ["# Table 1 by the paper's conventions", "", "Files: " + ", ".join(f"`{f}`" for f in files), "",
             "Done grid rows, one row per model, text kind and k. Max capacity: the largest length whose "
             f"mean best_acc is ≥ {cr.ACC_THRESHOLD}. Text CE, information gain (text CE − CE with memory) "
             "and token gain ((best_acc − baseline_acc) · N) are per text (mean loss · N tokens, nats), "
             f"mean ± std over the rows with best_acc ≤ {cr.ACC_THRESHOLD}, all lengths pooled. "
             f"Theoretical capacity: k · d_model · {bits} / log2(vocab); utilisation: token gain / that. "
             f"Fit b: Figure 3's y = x + b over the rows with best_acc < {cr.ACC_THRESHOLD}. "
             "Details: docs/analysis.md.", ""]
    lines.append("| " + " | ".join(h for _, h, _ in PAPER_MD_COLUMNS) + " |")
    lines.append("|" + "|".join("---" if d is None else "---:" for _, _, d in PAPER_MD_COLUMNS) + "|")
    for _, row in paper.iterrows():
        cells = []
        for c, _, d in PAPER_MD_COLUMNS:
            cell = _cell(row[c], d)
            if c + "_std" in paper.columns and cell != "n/a":
                cell += " ± " + _cell(row[c + "_std"], d)
            cells.append(cell)
        lines.append("| " + " | ".join(cells) + " |")
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("files", nargs="+", help="crammer results files (HDF5)")
    p.add_argument("--out", required=True, help="output folder (created if missing)")
    p.add_argument("--bits-per-value", type=int, default=cr.BITS_PER_VALUE,
                   help="bits per [mem] value for the theoretical capacity (bf16: 16)")
    a = p.parse_args(argv)
    try:
        df = cr.load_many(a.files, isolate=True)
    except cr.ResultsFileError as e:
        print(f"report.py: {e}", file=sys.stderr)
        return 2
    os.makedirs(a.out, exist_ok=True)
    table = cr.capacity_table(df, a.bits_per_value)
    table.to_csv(os.path.join(a.out, "table.csv"), index=False, float_format="%.17g")
    cr.sample_summary(df).to_csv(os.path.join(a.out, "per_sample.csv"), index=False,
                                 float_format="%.17g")
    write_markdown(table, a.files, a.bits_per_value, os.path.join(a.out, "table.md"))
    paper = cr.paper_table(df, a.bits_per_value)
    paper.to_csv(os.path.join(a.out, "table1_paper.csv"), index=False, float_format="%.17g")
    write_paper_markdown(paper, a.files, a.bits_per_value, os.path.join(a.out, "table1_paper.md"))
    figures.plot_accuracy_vs_length(df, os.path.join(a.out, "accuracy_vs_length.png"))
    figures.plot_capacity_vs_k(table, os.path.join(a.out, "capacity_vs_k.png"), a.bits_per_value)
    figures.plot_capacity_vs_model_size(table, os.path.join(a.out, "capacity_vs_model_size.png"))
    figures.plot_capacity_per_model(table, os.path.join(a.out, "capacity_per_model.png"))
    figures.plot_info_gain(df, os.path.join(a.out, "info_gain_vs_baseline.png"))
    figures.plot_compressed_vs_text_ce(df, paper, os.path.join(a.out, "compressed_ce_vs_text_ce.png"))
    cr.protocol_table(df).to_csv(os.path.join(a.out, "protocol.csv"), index=False, float_format="%.17g")
    cr.in_context_table(df).to_csv(os.path.join(a.out, "in_context.csv"), index=False, float_format="%.17g")
    figures.plot_gain_bound(df, os.path.join(a.out, "gain_bound_vs_info_gain.png"))
    cost = token_cost.token_cost_table(df)
    cost.to_csv(os.path.join(a.out, "token_cost.csv"), index=False, float_format="%.17g")
    figures.plot_token_cost(cost, df, os.path.join(a.out, "token_cost.png"))
    try:
        solutions = pd.concat([cr.isolated(f, cr.load_solutions, f) for f in a.files], ignore_index=True)
        att = pd.concat([cr.isolated(f, mem_attention.load_mem_attention, f) for f in a.files], ignore_index=True)
    except cr.ResultsFileError as e:
        print(f"report.py: {e}", file=sys.stderr)
        return 2
    att_table = mem_attention.mem_attention_table(att)
    att_table.to_csv(os.path.join(a.out, "mem_attention.csv"), index=False, float_format="%.17g")
    figures.plot_mem_attention(att_table, df, os.path.join(a.out, "mem_attention.png"))
    cr.solution_diversity(solutions).to_csv(os.path.join(a.out, "solution_diversity.csv"), index=False,
                                            float_format="%.17g")
    figures.plot_solutions_pca(solutions, os.path.join(a.out, "solutions_pca.png"))
    counts = df["status"].value_counts().to_dict()
    print(f"{len(df)} rows ({', '.join(f'{k} {v}' for k, v in sorted(counts.items())) or 'none yet'}) from "
          f"{len(a.files)} file(s); wrote {', '.join(FIGURES + TABLES)} to {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
