"""Synthetic crammer results files for the analysis tests, written with h5py in the layout of
docs/results-file.md (field names, types and widths of src/store/schema.cpp), plus CSV dumps
with the columns of `crammer export` (--table results | models | samples).

Not a results writer for real runs: the crammer binary writes those. The numbers are made up
but consistent (info gain = (baseline_loss - best_loss) * n_targets, and so on).
"""
import csv
import math
import os
import random
import sys

import h5py
import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                "analysis"))
import crammer_results as cr  # noqa: E402  (only for the column lists)

STATUS = {"done": 0, "failed": 1, "skipped": 2}


def _fixed(width):
    return h5py.string_dtype("utf-8", width)


RESULT_DTYPE = np.dtype([
    ("task_key", _fixed(128)), ("model_index", "<i4"), ("sample_id", "<i8"), ("n_mem", "<i4"),
    ("length", "<i4"), ("status", h5py.enum_dtype(STATUS, basetype="i1")),
    ("status_name", _fixed(8)), ("n_tokens", "<i4"), ("n_targets", "<i4"),
    ("baseline_loss", "<f8"), ("baseline_acc", "<f8"), ("best_acc", "<f8"), ("best_loss", "<f8"),
    ("steps", "<i4"), ("steps_to_best", "<i4"), ("converged", "?"), ("info_gain_nats", "<f8"),
    ("info_gain_bits", "<f8"), ("token_gain", "<i4"), ("decode_exact", "?"),
    ("decode_prefix", "<i4"), ("wall_seconds", "<f8"), ("rank", "<i4"), ("device", _fixed(32)),
    ("error", _fixed(512)), ("memory_offset", "<i8"), ("memory_k", "<i4"), ("memory_d", "<i4"),
    ("curve_offset", "<i8"), ("curve_length", "<i4"),
])
# This writer's own layout (it stands in for crammer's store): the metrics sit between status
# and wall_seconds, and the CSV mimics `crammer export` (model name after model_index, status
# as its name, no storage offsets).
_NAMES = list(RESULT_DTYPE.names)
METRICS = _NAMES[_NAMES.index("status_name") + 1:_NAMES.index("wall_seconds")]
EXPORT_COLUMNS = [c for c in _NAMES if c != "status_name" and not c.endswith("_offset")]
EXPORT_COLUMNS.insert(EXPORT_COLUMNS.index("model_index") + 1, "model")
VSTR = h5py.string_dtype("utf-8")
MODEL_DTYPE = np.dtype([
    ("model_index", "<i4"), ("name", VSTR), ("path", VSTR), ("dtype", VSTR),
    ("model_type", VSTR), ("d_model", "<i8"), ("num_layers", "<i8"), ("vocab_size", "<i8"),
    ("n_params", "<i8")])
SAMPLE_DTYPE = np.dtype([
    ("sample_id", "<i8"), ("model_index", "<i4"), ("source", VSTR), ("offset", "<i8"),
    ("text_kind", VSTR), ("text", VSTR), ("token_ids", h5py.vlen_dtype(np.dtype("<i4")))])


def _row(rng, model, model_index, sample, k, length, status="done", key=None, cap=48,
         acc=None):
    """One result row as a dict of export columns. `cap`: where this model/k stops decoding;
    `acc`: force best_acc (a multiple of 1/(length-1))."""
    n = length
    t = n - 1
    bl = rng.uniform(3.0, 6.0)
    ba = rng.uniform(0.05, 0.25)
    forced = acc
    if length <= cap:
        acc = 1.0 if rng.random() < 0.8 else rng.uniform(0.985, 0.999)
    else:
        acc = max(0.05, min(0.98, cap / length + rng.uniform(-0.2, 0.1)))
    acc = acc if forced is None else forced
    best = 0.0005 if acc == 1.0 else rng.uniform(0.05, 2.0)
    r = {
        "task_key": key or f"{model}/k{k}/L{length}/s{sample}", "model": model,
        "model_index": model_index, "sample_id": sample, "n_mem": k, "length": length,
        "status": status, "n_tokens": n, "n_targets": t, "baseline_loss": bl,
        "baseline_acc": round(ba * t) / t, "best_acc": round(acc * t) / t, "best_loss": best,
        "steps": rng.randint(10, 500), "steps_to_best": 0, "converged": None,
        "info_gain_nats": 0.0, "info_gain_bits": 0.0, "token_gain": 0,
        "decode_exact": None, "decode_prefix": 0, "wall_seconds": rng.uniform(0.1, 3.0),
        "rank": rng.randint(0, 2), "device": "cpu", "error": "",
    }
    r["steps_to_best"] = r["steps"] - rng.randint(0, 5)
    r["converged"] = r["best_acc"] >= 1.0
    r["info_gain_nats"] = (bl - best) * t
    r["info_gain_bits"] = r["info_gain_nats"] / math.log(2)
    r["token_gain"] = int(round(r["best_acc"] * t) - round(r["baseline_acc"] * t))
    r["decode_exact"] = r["converged"] and rng.random() < 0.9
    r["decode_prefix"] = t if r["decode_exact"] else rng.randint(0, t)
    if status != "done":
        for c in METRICS:
            r[c] = False if c in ("converged", "decode_exact") else 0
        r["n_tokens"] = n
        r["error"] = ("sample too short, 7 tokens" if status == "skipped"
                      else "cram failed: NaN loss, with a comma, and \"quotes\"")
    return r


MODELS = [  # name, d_model, layers, vocab, n_params
    ("tiny-a", 64, 2, 300, 120_000),
    ("tiny-b", 128, 2, 300, 410_000),
]
KINDS = {0: "natural", 1: "natural", 2: "natural", 3: "random-words", 4: "random-words"}


def grid_rows(seed=1, models=MODELS, ks=(1, 2), lengths=(8, 16, 32, 64)):
    """Grid rows for every model, k, length and sample, one failed and one skipped row."""
    rng = random.Random(seed)
    rows = []
    for mi, (name, d, *_rest) in enumerate(models):
        for k in ks:
            cap = int(d * k * 0.4)  # more vectors, wider model -> more tokens
            for length in lengths:
                for s in KINDS:
                    status = "done"
                    if (mi, k, length, s) == (0, 1, 16, 2):
                        status = "failed"
                    if (mi, k, length, s) == (len(models) - 1, ks[-1], lengths[-1], 4):
                        status = "skipped"
                    # Just under the 0.99 threshold (mean 0.9894 at this length): capacity
                    # must stop at the length before, and per-sample capacity too.
                    acc = 62 / 63 if (mi, k, length) == (1, 2, 64) and s in (1, 2) else None
                    rows.append(_row(rng, name, mi, s, k, length, status, cap=cap, acc=acc))
    return rows


def search_rows(seed=2, model_index=0, k=4, max_length=64):
    """Capacity-search probe rows (key <model>/k<k>/search/s<id>): doubling, then bisection."""
    rng = random.Random(seed)
    name = MODELS[model_index][0]
    rows = []
    for s in KINDS:
        true_cap = rng.randint(9, 60)
        lo, hi, probe = 0, None, 8
        while True:
            r = _row(rng, name, model_index, s, k, probe, key=f"{name}/k{k}/search/s{s}",
                     cap=true_cap)
            r["best_acc"] = 1.0 if probe <= true_cap else r["best_acc"] * 0.9
            r["converged"] = r["best_acc"] >= 1.0
            r["best_loss"] = 0.0005 if r["converged"] else r["best_loss"]
            r["info_gain_nats"] = (r["baseline_loss"] - r["best_loss"]) * r["n_targets"]
            r["info_gain_bits"] = r["info_gain_nats"] / math.log(2)
            t = r["n_targets"]
            r["token_gain"] = int(round(r["best_acc"] * t) - round(r["baseline_acc"] * t))
            rows.append(r)
            if r["converged"]:
                lo = probe
            else:
                hi = probe
            if hi is None:
                if probe >= max_length:
                    break
                probe = min(probe * 2, max_length)
            else:
                if hi - lo <= 1:
                    break
                probe = (lo + hi) // 2
    return rows


def write_h5(path, rows, models=MODELS, swmr=True):
    """Writes a results file with the layout of docs/results-file.md."""
    with h5py.File(path, "w", libver="latest") as f:
        f.attrs.create("schema_version", 1, dtype="<i4")
        for key, value in [("config_yaml", "cram:\n  n_mem: [1, 2]\n"),
                           ("config_fingerprint", "0123abcd"),
                           ("command_line", "crammer run fixture.yaml"),
                           ("start_time", "2025-01-01T00:00:00Z"), ("hosts", "node1,node2"),
                           ("version_crammer", "0.1.0"), ("version_hdf5", "1.10.8")]:
            f.attrs.create(key, value, dtype=VSTR)
        m = np.array([(i, n, f"models/{n}", "f32", "gpt2", d, layers, v, p)
                      for i, (n, d, layers, v, p) in enumerate(models)], dtype=MODEL_DTYPE)
        f.create_dataset("models", data=m, maxshape=(None,), chunks=(64,))
        samples = []
        for mi in range(len(models)):
            for s, kind in KINDS.items():
                ids = np.arange(70, dtype="<i4") + s
                samples.append((s, mi, "corpus.txt", 100 * s, kind, f"text {s}, model {mi}", ids))
        sd = np.empty(len(samples), dtype=SAMPLE_DTYPE)
        for i, smp in enumerate(samples):
            sd[i] = smp
        f.create_dataset("samples", data=sd, maxshape=(None,), chunks=(256,))
        data = np.zeros(len(rows), dtype=RESULT_DTYPE)
        for i, r in enumerate(rows):
            for c in RESULT_DTYPE.names:
                if c == "status":
                    data[i][c] = STATUS[r["status"]]
                elif c == "status_name":
                    data[i][c] = r["status"].encode()
                elif c in ("task_key", "device", "error"):
                    data[i][c] = r[c].encode()
                elif c in ("memory_offset", "curve_offset"):
                    data[i][c] = -1
                elif c in r:
                    data[i][c] = r[c]
        f.create_dataset("results", data=data, maxshape=(None,), chunks=(512,),
                         compression="gzip", compression_opts=4, shuffle=True)
        g = f.create_group("memory")
        for n, *_ in models:
            g.create_dataset(n, shape=(0,), maxshape=(None,), dtype="<f4", chunks=(4096,))
        c = f.create_group("curves")
        for n in ("loss", "acc"):
            c.create_dataset(n, shape=(0,), maxshape=(None,), dtype="<f4", chunks=(4096,))
        if swmr:
            f.swmr_mode = True


def _export_value(v):
    if isinstance(v, (bool, np.bool_)):
        return "true" if v else "false"
    if isinstance(v, float):
        return repr(v)
    return v


def write_export_csv(prefix, rows, models=MODELS):
    """CSV dumps mimicking `crammer export` (RFC 4180): <prefix>results.csv, models.csv,
    samples.csv."""
    with open(prefix + "results.csv", "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(EXPORT_COLUMNS)
        for r in rows:
            w.writerow([_export_value(r.get(c, 0)) for c in EXPORT_COLUMNS])
    with open(prefix + "models.csv", "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["model_index", "name", "path", "dtype", "model_type", "d_model",
                    "num_layers", "vocab_size", "n_params"])
        for i, (n, d, layers, v, p) in enumerate(models):
            w.writerow([i, n, f"models/{n}", "f32", "gpt2", d, layers, v, p])
    with open(prefix + "samples.csv", "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["sample_id", "model_index", "source", "offset", "text_kind", "n_tokens",
                    "token_ids", "text"])
        for mi in range(len(models)):
            for s, kind in KINDS.items():
                ids = " ".join(str(i + s) for i in range(70))
                w.writerow([s, mi, "corpus.txt", 100 * s, kind, 70, ids, f"text {s}, model {mi}"])
