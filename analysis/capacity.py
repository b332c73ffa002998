"""The capacity table of DESIGN §2 (the Table-1-style table report.py writes as table.csv): per
(model, text kind, k, mode) the capacity in tokens, per-sample capacities, token and
information gain, the theoretical capacity and its utilisation. Formulas: docs/analysis.md.
Reads the DataFrame of results_read.load_results / load_many."""
import math

import numpy as np
import pandas as pd

from results_read import LN2

ACC_THRESHOLD = 0.99      # DESIGN §2: a length is "decodable" when mean best_acc >= 0.99
BITS_PER_VALUE = 16       # bf16, as the paper counts theoretical capacity


def theoretical_capacity(n_mem, d_model, vocab_size, bits_per_value=BITS_PER_VALUE):
    """Tokens that k vectors of d_model values of `bits_per_value` bits could index at most:
    k * d_model * bits / log2(vocab) (DESIGN §2 per vector, times k)."""
    return n_mem * d_model * bits_per_value / math.log2(vocab_size)


# The keys of one table row, and of one sample inside it.
GROUP = ["model", "text_kind", "n_mem", "mode"]
SAMPLE = ["file", "sample_id"]


def sample_summary(df):
    """One row per (model, text_kind, n_mem, mode, file, sample_id) over done rows:
    sample_capacity (grid: largest length whose best_acc >= 0.99, 0 if none; search: the
    largest converged probe length, 0 if none) and the per-sample maxima over lengths of
    token_gain, info_gain_nats, info_gain_nats_paper."""
    done = df[df["status"] == "done"]
    if done.empty:
        return pd.DataFrame(columns=GROUP + SAMPLE + [
            "sample_capacity", "token_gain", "info_gain_nats", "info_gain_nats_paper"])
    ok = np.where(done["mode"] == "search", done["converged"], done["best_acc"] >= ACC_THRESHOLD)
    d = done.assign(_ok_len=np.where(ok, done["length"], 0))
    g = d.groupby(GROUP + SAMPLE, sort=True)
    out = g.agg(sample_capacity=("_ok_len", "max"), token_gain=("token_gain", "max"),
                info_gain_nats=("info_gain_nats", "max"),
                info_gain_nats_paper=("info_gain_nats_paper", "max")).reset_index()
    return out


def grid_capacity(rows):
    """DESIGN §2 capacity of one group of done grid rows: the largest length whose mean
    best_acc over samples is >= 0.99; 0 when no length is."""
    if rows.empty:
        return 0
    mean = rows.groupby("length")["best_acc"].mean()
    good = mean.index[mean.values >= ACC_THRESHOLD]
    return int(good.max()) if len(good) else 0


def capacity_table(df, bits_per_value=BITS_PER_VALUE):
    """The Table-1-style table: one row per (model, text_kind, n_mem, mode). Columns and
    formulas: docs/analysis.md."""
    per_sample = sample_summary(df)
    rows = []
    for key, g in df.groupby(GROUP, sort=True):
        model, text_kind, n_mem, mode = key
        done = g[g["status"] == "done"]
        ps = per_sample
        if not ps.empty:
            ps = ps[(ps["model"] == model) & (ps["text_kind"] == text_kind) &
                    (ps["n_mem"] == n_mem) & (ps["mode"] == mode)]
        first = g.iloc[0]
        d_model, vocab, n_params = int(first["d_model"]), int(first["vocab_size"]), int(
            first["n_params"])
        if mode == "grid":
            capacity = float(grid_capacity(done))
        else:
            capacity = float(ps["sample_capacity"].mean()) if len(ps) else 0.0
        theory = theoretical_capacity(int(n_mem), d_model, vocab, bits_per_value)
        gain = float(ps["token_gain"].mean()) if len(ps) else float("nan")
        ig = float(ps["info_gain_nats"].mean()) if len(ps) else float("nan")
        igp = float(ps["info_gain_nats_paper"].mean()) if len(ps) else float("nan")
        rows.append({
            "model": model, "text_kind": text_kind, "n_mem": int(n_mem), "mode": mode,
            "d_model": d_model, "vocab_size": vocab, "n_params": n_params,
            "samples": int(len(ps)), "rows": int(len(g)),
            "done": int((g["status"] == "done").sum()),
            "failed": int((g["status"] == "failed").sum()),
            "skipped": int((g["status"] == "skipped").sum()),
            "capacity_tokens": capacity,
            "capacity_per_sample_mean": float(ps["sample_capacity"].mean()) if len(ps) else 0.0,
            "capacity_per_sample_std": float(ps["sample_capacity"].std(ddof=0)) if len(ps) else 0.0,
            "token_gain": gain,
            "info_gain_nats": ig, "info_gain_bits": ig / LN2,
            "info_gain_nats_paper": igp, "info_gain_bits_paper": igp / LN2,
            "theoretical_capacity_tokens": theory,
            "utilisation": gain / theory,
        })
    return pd.DataFrame(rows, columns=TABLE_COLUMNS)


TABLE_COLUMNS = [
    "model", "text_kind", "n_mem", "mode", "d_model", "vocab_size", "n_params", "samples",
    "rows", "done", "failed", "skipped", "capacity_tokens", "capacity_per_sample_mean",
    "capacity_per_sample_std", "token_gain", "info_gain_nats", "info_gain_bits",
    "info_gain_nats_paper", "info_gain_bits_paper", "theoretical_capacity_tokens", "utilisation",
]
