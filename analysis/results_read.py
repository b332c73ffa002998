"""Reading crammer results files (HDF5, docs/results-file.md) into pandas: the run's provenance
and variant, /models, /samples, /results (one row per stored result row, with the derived
information columns) and several files at once. The columns of /results come from each file's
own `columns` attribute. Not for aggregates (capacity.py, paper_conventions.py, protocol.py) or
figures (figures.py). Runs under /usr/bin/python3 with Debian's h5py, numpy and pandas.
"""
import json
import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from results_open import SCHEMA_VERSION, ResultsFileError, isolated, open_results, reading, reads_file  # noqa: E402,F401

import h5py  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import yaml  # noqa: E402

# The columns of /results are not listed here: every results file says what they are (the
# /results attribute `columns`, written by crammer from its one field list); see result_columns.
STATUS_NAMES = {0: "done", 1: "failed", 2: "skipped", 3: "superseded"}
LN2 = math.log(2.0)
# Columns of result formats 5 (restarts, bytes, the lower bound, progress measures), 6 (the
# in-context control) and 7 (a progressive probe's grown_from): files and export CSVs written before them read as these, the values that
# mean "not recorded".
LATER_FORMAT_DEFAULTS = {"restart": 0, "n_bytes": -1, "gain_bound_nats": float("nan"), "steps_to_acc95": -1,
                         "steps_to_acc99": -1, "steps_to_acc100": -1, "decode_acc": -1.0,
                         "copy_loss": -1.0, "copy_acc": -1.0, "grown_from": 0}


def _text(v):
    if isinstance(v, bytes):
        return v.decode("utf-8", errors="replace")
    return "" if v is None else str(v)


def _require(path, table, data, fields):
    missing = [c for c in fields if c not in (data.dtype.names or ())]
    if missing:
        raise ResultsFileError(f"{path}:/{table} lacks field(s) {', '.join(missing)} "
                               f"(has {', '.join(data.dtype.names or ())})")


@reads_file
def read_run_info(path):
    """Root attributes (provenance): schema_version, config_yaml, config_fingerprint,
    command_line, start_time, hosts, version_* ... as a dict of Python values."""
    with open_results(path) as f:
        out = {}
        for k, v in f.attrs.items():
            a = np.asarray(v)
            if a.dtype.kind in "SOU":
                out[k] = _text(a.reshape(-1)[0] if a.shape else a.item())
            else:
                out[k] = a.item() if a.size == 1 else a.tolist()
        return out


@reads_file
def run_variant(path):
    """The run-wide settings that change what a row measures beyond its key, from the config the
    file stores: {"mem_rank": cram.mem_rank, "prefix_tokens": corpus.prefix_tokens, "init": cram.init, "lr_schedule",
    "warmup_steps", "min_lr", "schedule_steps": cram.optimizer's schedule keys, "carry_optimizer",
    "first_tokens", "first_weight",
    "align_alpha", "align_layers", "align_from", "align_distance": cram.loss, "one_step":
    cram.one_step}, the defaults where the config predates a key."""
    text = read_run_info(path).get("config_yaml", "")
    try:
        cfg = yaml.safe_load(text) or {}
    except yaml.YAMLError as e:
        raise ResultsFileError(f"{path}: root attribute config_yaml is not YAML: {e}") from None
    cram, corpus = cfg.get("cram") or {}, cfg.get("corpus") or {}
    opt, loss = cram.get("optimizer") or {}, cram.get("loss") or {}
    return {"mem_rank": int(cram.get("mem_rank", 0) or 0),
            "prefix_tokens": int(corpus.get("prefix_tokens", 0) or 0),
            "init": str(cram.get("init", "randn") or "randn"),
            "lr_schedule": str(opt.get("schedule", "constant") or "constant"),
            "warmup_steps": int(opt.get("warmup_steps", 0) or 0),
            "min_lr": float(opt.get("min_lr", 0) or 0),
            "schedule_steps": int(opt.get("schedule_steps", 0) or 0),
            "carry_optimizer": bool(cram.get("carry_optimizer", False)),
            "first_tokens": int(loss.get("first_tokens", 0) or 0),
            "first_weight": float(loss.get("first_weight", 1.0)),
            "align_alpha": float(loss.get("align_alpha", 0) or 0),
            "align_layers": int(loss.get("align_layers", 0) or 0),
            "align_from": str(loss.get("align_from", "first") or "first"),
            "align_distance": str(loss.get("align_distance", "l2") or "l2"),
            # YAML 1.1 reads a bare `off` as false
            "one_step": str(cram.get("one_step") or "off")}


def variant_label(variant):
    """" [mem rank 8, context 64, cosine lr to 0.001, warmup 50]" for a run that is not the
    paper's plain setup, else ""."""
    parts = []
    if variant["mem_rank"]:
        parts.append(f"mem rank {variant['mem_rank']}")
    if variant["prefix_tokens"]:
        parts.append(f"context {variant['prefix_tokens']}")
    if variant.get("init", "randn") not in ("randn", "file"):
        parts.append(f"init {variant['init']}")
    if variant.get("lr_schedule", "constant") != "constant":
        parts.append(f"{variant['lr_schedule']} lr to {variant['min_lr']:g}")
    if variant.get("warmup_steps", 0):
        parts.append(f"warmup {variant['warmup_steps']}")
    if variant.get("schedule_steps", 0):
        parts.append(f"over {variant['schedule_steps']} updates")
    if variant.get("carry_optimizer", False):
        parts.append("carried AdamW")
    if variant.get("first_tokens", 0) and variant.get("first_weight", 1.0) != 1.0:
        parts.append(f"first {variant['first_tokens']} targets x{variant['first_weight']:g}")
    if variant.get("one_step", "off") != "off":
        parts.append("one-step, m per text" if variant["one_step"] == "per_text" else "one-step, shared m")
    if variant.get("align_alpha", 0):
        states = (f"{variant['align_from']} {variant['align_layers']} states" if variant.get("align_layers", 0)
                  else "all states")
        parts.append(f"align {variant['align_distance']} x{variant['align_alpha']:g} over {states}")
    return f" [{', '.join(parts)}]" if parts else ""


@reads_file
def load_models(path):
    """/models as a DataFrame: model_index, name, path, dtype, model_type, d_model, num_layers,
    vocab_size, n_params."""
    with open_results(path) as f:
        data = f["models"][()]
    fields = ["model_index", "name", "path", "dtype", "model_type", "d_model", "num_layers",
              "vocab_size", "n_params"]
    _require(path, "models", data, fields)
    df = pd.DataFrame({c: data[c] for c in fields})
    for c in ("name", "path", "dtype", "model_type"):
        df[c] = df[c].map(_text)
    for c in ("model_index", "d_model", "num_layers", "vocab_size", "n_params"):
        df[c] = df[c].astype("int64")
    return df


@reads_file
def load_samples(path, token_ids=False):
    """/samples as a DataFrame: sample_id, model_index, source, offset, text_kind, text,
    n_sample_tokens (len(token_ids)); with token_ids=True also the ids (numpy arrays)."""
    with open_results(path) as f:
        data = f["samples"][()]
    fields = ["sample_id", "model_index", "source", "offset", "text_kind", "text", "token_ids"]
    _require(path, "samples", data, fields)
    df = pd.DataFrame({c: data[c] for c in fields if c != "token_ids"})
    for c in ("source", "text_kind", "text"):
        df[c] = df[c].map(_text)
    df["n_sample_tokens"] = [len(t) for t in data["token_ids"]]
    if token_ids:
        df["token_ids"] = list(data["token_ids"])
    return df.astype({"sample_id": "int64", "model_index": "int64", "offset": "int64"})


def _status_text(path, data):
    raw = data["status"]
    mapping = dict(STATUS_NAMES)
    enum = h5py.check_enum_dtype(raw.dtype)
    if enum:
        mapping = {int(v): k for k, v in enum.items()}
    values = np.asarray(raw).astype("int64")
    unknown = sorted(set(values.tolist()) - set(mapping))
    if unknown:
        raise ResultsFileError(f"{path}:/results field status has value(s) {unknown}; "
                               f"expected {mapping}")
    return [mapping[v] for v in values]


def result_columns(path, results):
    """The columns of /results, in file order, as [{"name", "type", "section"}]. section is key |
    metric | provenance | array | storage (DESIGN §2 metrics are section "metric"). Files written
    before the attribute existed (or by other tools) describe only their compound type: their
    metrics are the columns between status and wall_seconds."""
    names = list(results.dtype.names or ())
    if "columns" in results.attrs:
        try:
            cols = json.loads(_text(np.asarray(results.attrs["columns"]).reshape(-1)[0]))
            return [c for c in cols if c["name"] in names]
        except (ValueError, KeyError, TypeError) as e:
            raise ResultsFileError(f"{path}:/results attribute columns is not a column list ({e})")
    out, section = [], "key"
    for n in names:
        if n == "wall_seconds":
            section = "provenance"
        if n.endswith("_offset"):
            out.append({"name": n, "section": "storage"})
            continue
        out.append({"name": n, "section": section})
        if n == "status_name":
            section = "metric"
    return out


@reads_file
def metric_columns(path):
    """The DESIGN §2 metric columns of the results file at `path`, in file order."""
    with open_results(path) as f:
        return [c["name"] for c in result_columns(path, f["results"]) if c["section"] == "metric"]


@reads_file
def load_results(path, superseded=False):
    """/results as a DataFrame, one row per stored result row; rows of failed attempts that a
    later run replaced (status "superseded") only with superseded=True. Columns (docs/analysis.md):
    file, task_key, model_index, model, d_model, vocab_size, n_params, sample_id, text_kind,
    n_mem, length, status ("done" | "failed" | "skipped"), mode ("grid" | "search"), every
    DESIGN §2 metric, wall_seconds, rank, device, error, the run's mem_rank and prefix_tokens
    (run_variant; `model` then ends in variant_label, `base_model` keeps the name), and the
    derived columns
    baseline_ce_nats, baseline_ce_bits, info_gain_nats_paper, info_gain_bits_paper."""
    with open_results(path) as f:
        columns = result_columns(path, f["results"])
        data = f["results"][()]
    fields = ["task_key", "model_index", "sample_id", "n_mem", "length", "status", "wall_seconds",
              "rank", "device", "error"]
    _require(path, "results", data, fields)
    models = load_models(path)
    samples = load_samples(path)

    df = pd.DataFrame({"task_key": pd.Series([_text(v) for v in data["task_key"]], dtype=object)})
    for c in ("model_index", "sample_id", "n_mem", "length"):
        df[c] = np.asarray(data[c]).astype("int64")
    df["status"] = pd.Series(_status_text(path, data), dtype=object)
    # Every other column the file describes, converted by its stored type.
    for col in columns:
        c = col["name"]
        if c in df.columns or c == "status_name" or col["section"] == "storage":
            continue
        v = np.asarray(data[c])
        if v.dtype.kind in "SOU":
            df[c] = pd.Series([_text(x) for x in v], dtype=object)
        elif h5py.check_enum_dtype(data.dtype[c]) or v.dtype.kind == "b":
            df[c] = v.astype(bool)
        elif v.dtype.kind in "iu":
            df[c] = v.astype("int64")
        else:
            df[c] = v.astype("float64")

    unknown = sorted(set(df["model_index"]) - set(models["model_index"]))
    if unknown:
        raise ResultsFileError(f"{path}:/results field model_index has value(s) {unknown} "
                               f"not in /models (has {sorted(models['model_index'])})")
    m = models.rename(columns={"name": "model"})[
        ["model_index", "model", "d_model", "vocab_size", "n_params"]]
    df = df.merge(m, on="model_index", how="left")
    s = samples[["sample_id", "model_index", "text_kind"]].drop_duplicates(
        ["sample_id", "model_index"])
    df = df.merge(s, on=["sample_id", "model_index"], how="left")
    df["text_kind"] = df["text_kind"].fillna("unknown")
    if not superseded:
        df = df[df["status"] != "superseded"].reset_index(drop=True)
    df.insert(0, "file", os.path.abspath(path))
    # A low-rank or prefix-context run names its models apart, so every table and figure that
    # groups by model keeps it apart from the plain runs it is compared with.
    variant = run_variant(path)
    df["base_model"] = df["model"]
    df["model"] = df["model"] + variant_label(variant)
    for c, v in variant.items():
        df[c] = v
    df["mode"] = pd.Series(["search" if "/search/" in k else "grid" for k in df["task_key"]],
                           index=df.index, dtype=object)
    return add_derived(df)


def add_derived(df):
    """Adds the information columns derived from stored metrics (also used on export CSV):
    baseline_ce_nats = baseline_loss * n_targets (total CE of the text without memory),
    info_gain_nats_paper = (baseline_loss - best_loss) * n_tokens (the paper notebooks' N
    instead of the n_targets scored), and their /ln 2 versions in bits; per UTF-8 byte of the
    text (NaN where n_bytes is not recorded): text_bits_per_byte = baseline_ce_bits / n_bytes,
    compressed_bits_per_byte = best_loss * n_targets / ln 2 / n_bytes, info_gain_bits_per_byte;
    the compression ratios tokens_per_vector = length / n_mem and bytes_per_vector = n_bytes /
    n_mem; gain_bound_bits = gain_bound_nats / ln 2."""
    df = df.copy()
    for c, v in LATER_FORMAT_DEFAULTS.items():
        if c not in df.columns:
            df[c] = v
    df["baseline_ce_nats"] = df["baseline_loss"] * df["n_targets"]
    df["baseline_ce_bits"] = df["baseline_ce_nats"] / LN2
    df["info_gain_nats_paper"] = (df["baseline_loss"] - df["best_loss"]) * df["n_tokens"]
    df["info_gain_bits_paper"] = df["info_gain_nats_paper"] / LN2
    n_bytes = df["n_bytes"].where(df["n_bytes"] > 0).astype("float64")
    df["text_bits_per_byte"] = df["baseline_ce_bits"] / n_bytes
    df["compressed_bits_per_byte"] = df["best_loss"] * df["n_targets"] / LN2 / n_bytes
    df["info_gain_bits_per_byte"] = df["info_gain_bits"] / n_bytes
    df["tokens_per_vector"] = df["length"] / df["n_mem"]
    df["bytes_per_vector"] = n_bytes / df["n_mem"]
    df["gain_bound_bits"] = df["gain_bound_nats"] / LN2
    return df


def load_many(paths, isolate=False):
    """load_results over several files, concatenated. A model name that two files use for
    different models (other d_model, vocab_size or n_params) becomes "name (file stem)". With
    isolate, each file is read in a forked child (results_open.isolated): a file that crashes the
    HDF5 library is then a ResultsFileError, not the end of the caller."""
    frames = [isolated(p, load_results, p) if isolate else load_results(p) for p in paths]
    if not frames:
        raise ResultsFileError("no results files given")
    df = pd.concat(frames, ignore_index=True)
    ident = df[["model", "d_model", "vocab_size", "n_params"]].drop_duplicates()
    clash = set(ident["model"][ident["model"].duplicated()])
    if clash:
        stem = df["file"].map(lambda p: os.path.splitext(os.path.basename(p))[0])
        hit = df["model"].isin(clash)
        df.loc[hit, "model"] = df.loc[hit, "model"] + " (" + stem[hit] + ")"
    return df
