"""Attention mass on the [mem] positions per layer (output.attention_mass, docs/analysis.md): the
attention-sink measure of cramming. Each done row that recorded it holds, per attention layer,
the share of attention the text's positions put on the k [mem] vectors at the best mem,
averaged over heads and positions (/series/mem_attention). Reads results files (HDF5)."""
import numpy as np
import pandas as pd

import results_read as rr
from results_read import ResultsFileError, open_results, reads_file

COLUMNS = ["model", "text_kind", "n_mem", "length", "sample_id", "restart", "task_key", "layer", "n_layers",
           "mass"]
TABLE_GROUP = ["model", "text_kind", "n_mem", "length", "layer"]
TABLE_COLUMNS = TABLE_GROUP + ["n_layers", "rows", "mass_mean", "mass_std", "mass_min", "mass_max"]


@reads_file
def load_mem_attention(path):
    """One row per (live done result row, attention layer) that recorded the mass: model (named as
    load_results names it), text_kind, n_mem, length, sample_id, restart, task_key, layer
    (0-based, in the model's order), n_layers and mass. Files from before the measure, and rows
    of runs without it, contribute nothing."""
    with open_results(path) as f:
        data = f["results"][()]
        names = data.dtype.names or ()
        if "mem_attention_offset" not in names or "series/mem_attention" not in f:
            return pd.DataFrame(columns=COLUMNS)
        flat = np.asarray(f["series/mem_attention"][()], dtype=np.float64)
    status = rr._status_text(path, data)
    models = rr.load_models(path)
    model_names = dict(zip(models["model_index"], models["name"]))
    samples = rr.load_samples(path)
    kinds = {(int(s), int(m)): k for s, m, k in zip(samples["sample_id"], samples["model_index"], samples["text_kind"])}
    label = rr.variant_label(rr.run_variant(path))
    rows = []
    for i, row in enumerate(data):
        o, n = int(row["mem_attention_offset"]), int(row["mem_attention_length"])
        if status[i] != "done" or o < 0 or n <= 0:
            continue
        if o + n > flat.shape[0]:
            raise ResultsFileError(f"{path}:/series/mem_attention has {flat.shape[0]} values; row "
                                   f"{rr._text(row['task_key'])} needs {o + n}")
        model_index, sample_id = int(row["model_index"]), int(row["sample_id"])
        base = {"model": model_names.get(model_index, str(model_index)) + label,
                "text_kind": kinds.get((sample_id, model_index), "unknown"), "n_mem": int(row["n_mem"]),
                "length": int(row["length"]), "sample_id": sample_id,
                "restart": int(row["restart"]) if "restart" in names else 0,
                "task_key": rr._text(row["task_key"]), "n_layers": n}
        for layer in range(n):
            rows.append(dict(base, layer=layer, mass=float(flat[o + layer])))
    return pd.DataFrame(rows, columns=COLUMNS)


def mem_attention_table(att):
    """Per (model, text_kind, n_mem, length, layer): rows and the mean, standard deviation (0 for
    one row), minimum and maximum of the mass over them (restarts and samples pooled)."""
    out = []
    for key, g in att.groupby(TABLE_GROUP, sort=True):
        m = g["mass"]
        out.append(dict(zip(TABLE_GROUP, key), n_layers=int(g["n_layers"].iloc[0]), rows=int(len(g)),
                        mass_mean=float(m.mean()), mass_std=float(m.std(ddof=0)), mass_min=float(m.min()),
                        mass_max=float(m.max())))
    return pd.DataFrame(out, columns=TABLE_COLUMNS)
