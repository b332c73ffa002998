"""Reads crammer results files (HDF5, docs/results-file.md) into pandas and computes the
per-(model, text kind, k) aggregates of DESIGN §2: capacity, theoretical capacity, utilisation,
token and information gain. Formulas and columns: docs/analysis.md.

Not for plotting (report.py) and not for writing results files (the crammer binary does that).
Runs under /usr/bin/python3 with Debian's h5py, numpy and pandas.
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
ACC_THRESHOLD = 0.99      # DESIGN §2: a length is "decodable" when mean best_acc >= 0.99
BITS_PER_VALUE = 16       # bf16, as the paper counts theoretical capacity
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


# The paper's Table 1 conventions (yurakuratov/hidden_capacity, ablations_analyze_results.ipynb),
# beside crammer's exact ones above: every quantity is per text (mean loss x N tokens, nats),
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
