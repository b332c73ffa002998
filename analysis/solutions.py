"""The solutions of restarts (cram.restarts with output.save_memory): each live done row's stored
best mem, and how far a text's solutions lie from each other (cosine, L2, PCA)."""
import numpy as np
import pandas as pd

from results_read import (ResultsFileError, _require, _status_text, _text, load_models, open_results, reads_file,
                          run_variant, variant_label)

@reads_file
def load_solutions(path):
    """The stored best mem of every live done row (output.save_memory) as a DataFrame: model,
    n_mem, length, sample_id, restart, task_key and `mem` (a [k, d] float32 array). Rows
    without a stored mem are left out."""
    with open_results(path) as f:
        data = f["results"][()]
        _require(path, "results", data, ["task_key", "model_index", "sample_id", "n_mem", "length",
                                         "memory_offset", "memory_k", "memory_d"])
        status = _status_text(path, data)
        models = load_models(path)
        names = dict(zip(models["model_index"], models["name"]))
        label = variant_label(run_variant(path))  # as load_results names the model
        restart = data["restart"] if "restart" in data.dtype.names else np.zeros(len(data), "int64")
        rows = []
        for i, row in enumerate(data):
            o, k, d = int(row["memory_offset"]), int(row["memory_k"]), int(row["memory_d"])
            if status[i] != "done" or o < 0 or k <= 0 or d <= 0:
                continue
            name = names.get(int(row["model_index"]))
            if name is None or f"memory/{name}" not in f:
                raise ResultsFileError(f"{path}: row {_text(row['task_key'])} has a mem but no /memory/{name}")
            flat = f[f"memory/{name}"]
            if o + k * d > flat.shape[0]:
                raise ResultsFileError(f"{path}:/memory/{name} has {flat.shape[0]} values; row "
                                       f"{_text(row['task_key'])} needs {o + k * d}")
            rows.append({"model": name + label, "n_mem": int(row["n_mem"]), "length": int(row["length"]),
                         "sample_id": int(row["sample_id"]), "restart": int(restart[i]),
                         "task_key": _text(row["task_key"]),
                         "mem": np.asarray(flat[o:o + k * d], dtype=np.float32).reshape(k, d)})
    return pd.DataFrame(rows, columns=["model", "n_mem", "length", "sample_id", "restart", "task_key", "mem"])


DIVERSITY_GROUP = ["model", "n_mem", "length", "sample_id"]
DIVERSITY_COLUMNS = DIVERSITY_GROUP + [
    "restarts", "norm_mean", "cosine_mean", "cosine_min", "cosine_max", "l2_mean", "l2_min",
    "l2_max", "pc1_variance_ratio", "pc2_variance_ratio"]


def solution_pca(mems):
    """PCA of R solutions (each [k, d], flattened): (coordinates [R, 2], variance ratios of the
    first two components). Centred, by SVD; fewer than 2 components give 0 for the missing."""
    x = np.stack([m.reshape(-1) for m in mems]).astype(np.float64)
    x = x - x.mean(axis=0)
    u, s, _ = np.linalg.svd(x, full_matrices=False)
    var = s ** 2
    ratio = var / var.sum() if var.sum() > 0 else np.zeros_like(var)
    coords = np.zeros((len(mems), 2))
    n = min(2, len(s))
    coords[:, :n] = u[:, :n] * s[:n]
    ratios = np.zeros(2)
    ratios[:n] = ratio[:n]
    return coords, ratios


def solution_diversity(solutions):
    """Per text (model, n_mem, length, sample_id) with >= 2 restarts: the pairwise cosine
    similarities and L2 distances of its solutions (each [k, d] mem flattened), their mean
    norm, and the variance ratios of the first two principal components (the paper's
    solution-diversity study)."""
    out = []
    for key, g in solutions.groupby(DIVERSITY_GROUP, sort=True):
        if len(g) < 2:
            continue
        x = np.stack([m.reshape(-1) for m in g["mem"]]).astype(np.float64)
        norms = np.linalg.norm(x, axis=1)
        iu = np.triu_indices(len(x), 1)
        cos = (x @ x.T / np.outer(norms, norms))[iu]
        l2 = np.linalg.norm(x[:, None, :] - x[None, :, :], axis=2)[iu]
        _, ratios = solution_pca(list(g["mem"]))
        out.append(dict(zip(DIVERSITY_GROUP, key), restarts=int(len(g)), norm_mean=float(norms.mean()),
                        cosine_mean=float(cos.mean()), cosine_min=float(cos.min()), cosine_max=float(cos.max()),
                        l2_mean=float(l2.mean()), l2_min=float(l2.min()), l2_max=float(l2.max()),
                        pc1_variance_ratio=float(ratios[0]), pc2_variance_ratio=float(ratios[1])))
    return pd.DataFrame(out, columns=DIVERSITY_COLUMNS)
