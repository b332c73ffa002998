"""Table 1 and Figure 3's fit by the paper's own conventions (yurakuratov/hidden_capacity,
ablations_analyze_results.ipynb), beside crammer's exact ones (capacity.py). Reads the DataFrame
of results_read.load_results / load_many."""
import pandas as pd

from capacity import ACC_THRESHOLD, BITS_PER_VALUE, grid_capacity, theoretical_capacity

# Every quantity is per text (mean loss x N tokens, nats),
# averaged over the rows that did not decode (best_acc <= 0.99) pooled over all lengths.
PAPER_GROUP = ["model", "text_kind", "n_mem"]
PAPER_COLUMNS = [
    "model", "text_kind", "n_mem", "d_model", "vocab_size", "rows", "rows_below",
    "capacity_tokens", "text_ce_nats", "text_ce_nats_std", "compressed_ce_nats",
    "compressed_ce_nats_std", "info_gain_nats", "info_gain_nats_std", "token_gain",
    "token_gain_std", "theoretical_capacity_tokens", "utilisation", "fit_b_nats", "fit_rows",
]


def paper_rows(df):
    """The done grid rows with the paper's per-text columns: text_ce_nats = baseline_loss * N,
    compressed_ce_nats = best_loss * N, gain_nats = their difference, token_gain_paper =
    (best_acc - baseline_acc) * N (N = n_tokens)."""
    d = df[(df["status"] == "done") & (df["mode"] == "grid")].copy()
    d["text_ce_nats"] = d["baseline_loss"] * d["n_tokens"]
    d["compressed_ce_nats"] = d["best_loss"] * d["n_tokens"]
    d["gain_nats"] = d["text_ce_nats"] - d["compressed_ce_nats"]
    d["token_gain_paper"] = (d["best_acc"] - d["baseline_acc"]) * d["n_tokens"]
    return d


def _mean_std(x):
    """pandas' mean and (sample, ddof 1) std, as the notebook's .agg(('mean', 'std'))."""
    if not len(x):
        return float("nan"), float("nan")
    return float(x.mean()), float(x.std())


def paper_table(df, bits_per_value=BITS_PER_VALUE, threshold=ACC_THRESHOLD):
    """Table 1 as the paper computes it, one row per (model, text_kind, n_mem) of done grid
    rows: capacity_tokens = the largest length whose mean best_acc is >= threshold (lengths as
    they are: random-length texts make one group per exact length); the CE, gain and token
    columns are mean and std over the rows with best_acc <= threshold, all lengths pooled;
    theoretical capacity k * d_model * bits / log2(vocab); utilisation = token_gain / that;
    fit_b_nats = b of Figure 3's fit compressed_ce = text_ce + b (slope fixed at 1, least
    squares: the mean of compressed - text CE) over the rows with best_acc < threshold."""
    d = paper_rows(df)
    out = []
    for key, g in d.groupby(PAPER_GROUP, sort=True):
        model, kind, k = key
        below = g[g["best_acc"] <= threshold]
        fit = g[g["best_acc"] < threshold]
        d_model, vocab = int(g["d_model"].iloc[0]), int(g["vocab_size"].iloc[0])
        theory = theoretical_capacity(int(k), d_model, vocab, bits_per_value)
        row = {"model": model, "text_kind": kind, "n_mem": int(k), "d_model": d_model,
               "vocab_size": vocab, "rows": int(len(g)), "rows_below": int(len(below)),
               "capacity_tokens": float(grid_capacity(g)),
               "theoretical_capacity_tokens": theory, "fit_rows": int(len(fit)),
               "fit_b_nats": float((fit["compressed_ce_nats"] - fit["text_ce_nats"]).mean())
               if len(fit) else float("nan")}
        for col, src in (("text_ce_nats", "text_ce_nats"), ("compressed_ce_nats", "compressed_ce_nats"),
                         ("info_gain_nats", "gain_nats"), ("token_gain", "token_gain_paper")):
            row[col], row[col + "_std"] = _mean_std(below[src])
        row["utilisation"] = row["token_gain"] / theory
        out.append(row)
    return pd.DataFrame(out, columns=PAPER_COLUMNS)
