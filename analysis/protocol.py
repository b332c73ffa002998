"""The paper's protocol measures per (model, text kind, k, length): bytes, the lower bound,
progress to 95/99/100 % accuracy and the decode check (protocol_table), and the in-context
control beside cramming (in_context_table). Reads the DataFrame of results_read.load_results /
load_many."""
import pandas as pd

PROTOCOL_GROUP = ["model", "text_kind", "n_mem", "length"]
PROTOCOL_COLUMNS = PROTOCOL_GROUP + [
    "rows", "restarts", "n_bytes", "tokens_per_vector", "bytes_per_vector", "text_bits_per_byte",
    "compressed_bits_per_byte", "info_gain_bits", "info_gain_bits_per_byte", "gain_bound_bits",
    "gain_over_bound", "best_acc", "decode_acc", "reached_acc95", "steps_to_acc95",
    "reached_acc99", "steps_to_acc99", "reached_acc100", "steps_to_acc100"]


def protocol_table(df):
    """Per (model, text_kind, n_mem, length) over done grid rows (restarts pooled): means of the
    byte measures, the lower bound and the achieved gain (gain_over_bound = mean info_gain_nats /
    mean gain_bound_nats), teacher-forced best_acc beside free-running decode_acc (rows that
    measured it), and per threshold the fraction of rows whose accuracy reached it with the mean
    first step among those. Columns: docs/analysis.md."""
    d = df[(df["status"] == "done") & (df["mode"] == "grid")]
    out = []
    for key, g in d.groupby(PROTOCOL_GROUP, sort=True):
        row = dict(zip(PROTOCOL_GROUP, key))
        row.update({"rows": int(len(g)), "restarts": int(g["restart"].nunique()),
                    "n_bytes": float(g["n_bytes"].where(g["n_bytes"] > 0).mean())})
        for c in ("tokens_per_vector", "bytes_per_vector", "text_bits_per_byte", "compressed_bits_per_byte",
                  "info_gain_bits", "info_gain_bits_per_byte", "gain_bound_bits", "best_acc"):
            row[c] = float(g[c].mean())
        bound = float(g["gain_bound_nats"].mean())
        row["gain_over_bound"] = float(g["info_gain_nats"].mean()) / bound if bound > 0 else float("nan")
        measured = g["decode_acc"][g["decode_acc"] >= 0]
        row["decode_acc"] = float(measured.mean()) if len(measured) else float("nan")
        for t in ("95", "99", "100"):
            steps = g["steps_to_acc" + t]
            reached = steps[steps >= 0]
            row["reached_acc" + t] = float(len(reached)) / len(g)
            row["steps_to_acc" + t] = float(reached.mean()) if len(reached) else float("nan")
        out.append(row)
    return pd.DataFrame(out, columns=PROTOCOL_COLUMNS)


IN_CONTEXT_COLUMNS = PROTOCOL_GROUP + ["rows", "baseline_acc", "copy_acc", "best_acc", "baseline_loss",
                                      "copy_loss", "best_loss"]


def in_context_table(df):
    """The paper's in-context control beside cramming (cram.in_context_control), per (model,
    text_kind, n_mem, length) over done grid rows that measured it: mean accuracy and mean
    per-token CE of the text with nothing before it (baseline), after "text: TEXT\nrepeat
    previous text: " (copy) and after its best [mem] vectors (best)."""
    d = df[(df["status"] == "done") & (df["mode"] == "grid") & (df["copy_acc"] >= 0)]
    out = []
    for key, g in d.groupby(PROTOCOL_GROUP, sort=True):
        row = dict(zip(PROTOCOL_GROUP, key))
        row["rows"] = int(len(g))
        for c in IN_CONTEXT_COLUMNS[len(PROTOCOL_GROUP) + 1:]:
            row[c] = float(g[c].mean())
        out.append(row)
    return pd.DataFrame(out, columns=IN_CONTEXT_COLUMNS)
