"""The report's figures (docs/analysis.md says what each shows): one function per PNG, each
taking the tables or rows report.py computed and the path to write. Not for the tables
themselves (crammer_results and the measure modules compute them; report.py writes them)."""
import math
import os
import sys

import matplotlib

matplotlib.use("Agg")  # files only; no display on cluster nodes
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import crammer_results as cr  # noqa: E402

DPI = 130


def _series_label(model, text_kind, many_kinds):
    return f"{model} ({text_kind})" if many_kinds else str(model)


def _no_data(ax, what):
    ax.text(0.5, 0.5, f"no done rows: {what}", ha="center", va="center",
            transform=ax.transAxes, fontsize=11, color="0.4")


def _k_label(k):
    return f"k = {k} [mem] vector" + ("" if k == 1 else "s")


def _colors(keys):
    cmap = plt.get_cmap("tab10")
    return {key: cmap(i % 10) for i, key in enumerate(keys)}


MARKERS = ["o", "s", "^", "D", "v", "P"]
LINESTYLES = ["-", "--", ":", "-."]


def _styles(df):
    """One colour per model (ordered by size), one marker and line style per text kind."""
    models = (df[["model", "n_params", "d_model"]].drop_duplicates("model")
              .sort_values(["n_params", "d_model", "model"])["model"].tolist())
    kinds = sorted(df["text_kind"].unique())
    color = _colors(models)
    marker = {k: MARKERS[i % len(MARKERS)] for i, k in enumerate(kinds)}
    ls = {k: LINESTYLES[i % len(LINESTYLES)] for i, k in enumerate(kinds)}
    return color, marker, ls


def _human(x):
    """120000 -> "120K", 1.24e9 -> "1.24B": readable parameter counts."""
    for div, unit in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K")):
        if x >= div:
            return f"{x / div:.3g}{unit}"
    return f"{x:.3g}"


def _legend(ax, **kw):
    if ax.get_legend_handles_labels()[0]:  # an empty file has nothing to label
        ax.legend(fontsize=8, **kw)


def _legend_outside(ax):
    _legend(ax, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0)


def _log2_if_positive(ax, axis, values):
    """Log2 axis when the values span >= 4x; with zeros among them (a capacity of 0), symlog:
    linear up to 1, log2 above, so small capacities stay visible next to large ones."""
    v = np.asarray(values, dtype=float)
    if not len(v) or np.any(v < 0):
        return
    pos = v[v > 0]
    if not len(pos):
        return
    set_scale = ax.set_xscale if axis == "x" else ax.set_yscale
    if len(pos) == len(v):
        if pos.max() / pos.min() < 4:
            return
        set_scale("log", base=2)
    else:
        if pos.max() < 4:
            return
        set_scale("symlog", base=2, linthresh=1.0, linscale=0.5)
        if axis == "x":
            ax.set_xlim(left=0)
        else:
            ax.set_ylim(bottom=0)
    fmt = matplotlib.ticker.ScalarFormatter()
    (ax.xaxis if axis == "x" else ax.yaxis).set_major_formatter(fmt)


def _k_panels(df, sharey):
    """One panel per k (three per row): the figure, the ks and their axes; _save_panels after."""
    ks = sorted(df["n_mem"].unique()) or [1]
    ncols = min(3, len(ks))
    nrows = math.ceil(len(ks) / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(5.2 * ncols, 4.0 * nrows), squeeze=False,
                             sharey=sharey)
    return fig, ks, [axes[i // ncols][i % ncols] for i in range(nrows * ncols)]


def _label_panel(ax, k, xlabel, ylabel, legend_loc):
    ax.set_title(_k_label(k))
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    _legend(ax, loc=legend_loc)


def _save_panels(fig, ks, axes, title, path):
    """Hides the panels no k uses, titles the figure and writes it."""
    for ax in axes[len(ks):]:
        ax.set_visible(False)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    plt.close(fig)


def plot_accuracy_vs_length(df, path):
    done = df[df["status"] == "done"]
    fig, ks, axes = _k_panels(df, sharey=True)
    series = sorted(done.groupby(["model", "text_kind"]).groups.keys())
    many_kinds = df["text_kind"].nunique() > 1
    color, marker, ls = _styles(df)
    for ax, k in zip(axes, ks):
        dk = done[done["n_mem"] == k]
        if dk.empty:
            _no_data(ax, _k_label(k))
        for (model, kind) in series:
            s = dk[(dk["model"] == model) & (dk["text_kind"] == kind)]
            if s.empty:
                continue
            label = _series_label(model, kind, many_kinds)
            grid = s[s["mode"] == "grid"]
            if not grid.empty:
                st = grid.groupby("length")["best_acc"].agg(["mean", "std"])
                ax.errorbar(st.index, st["mean"], yerr=st["std"].fillna(0), capsize=3,
                            marker=marker[kind], ls=ls[kind], color=color[model], label=label)
            search = s[s["mode"] == "search"]
            if not search.empty:
                ax.scatter(search["length"], search["best_acc"], s=16, alpha=0.6,
                           marker=marker[kind], color=color[model],
                           label=f"{label}, search probes")
        ax.axhline(cr.ACC_THRESHOLD, color="0.3", ls="--", lw=1,
                   label=f"threshold {cr.ACC_THRESHOLD}")
        _log2_if_positive(ax, "x", dk["length"] if not dk.empty else [])
        ax.set_ylim(-0.02, 1.05)
        _label_panel(ax, k, "text length (tokens)", "best token accuracy\n(mean ± std over samples)", "lower left")
    _save_panels(fig, ks, axes, "Reconstruction accuracy vs text length", path)


def plot_capacity_vs_k(table, path, bits=cr.BITS_PER_VALUE):
    fig, ax = plt.subplots(figsize=(6.4, 4.6))
    many_kinds = table["text_kind"].nunique() > 1
    many_modes = table["mode"].nunique() > 1
    color, marker, _ = _styles(table)
    for model in color:
        t = table[table["model"] == model].drop_duplicates("n_mem").sort_values("n_mem")
        ax.plot(t["n_mem"], t["theoretical_capacity_tokens"], ls=":", lw=1.5, color=color[model],
                label=f"{model}: theoretical ({bits}-bit values)")
    for (model, kind, mode), s in table.groupby(["model", "text_kind", "mode"]):
        s = s.sort_values("n_mem")
        label = _series_label(model, kind, many_kinds) + (f", {mode}" if many_modes else "")
        ax.plot(s["n_mem"], s["capacity_tokens"], marker=marker[kind], color=color[model],
                ls="-" if mode == "grid" else "-.", label=label)
        if mode == "grid":  # search rows already are per-sample means
            ax.plot(s["n_mem"], s["capacity_per_sample_mean"], marker=marker[kind], mfc="none",
                    color=color[model], ls="--", alpha=0.8, label=label + ", per-sample mean")
    if table.empty:
        _no_data(ax, "no rows")
    values = (list(table["capacity_tokens"]) + list(table["capacity_per_sample_mean"])
              + list(table["theoretical_capacity_tokens"]))
    _log2_if_positive(ax, "x", table["n_mem"])
    _log2_if_positive(ax, "y", values)
    ax.set_xticks(sorted(table["n_mem"].unique()))
    ax.set_xlabel("number of [mem] vectors k")
    ax.set_ylabel("capacity (tokens decoded at ≥ 99% accuracy)")
    ax.set_title("Capacity vs number of [mem] vectors")
    ax.grid(alpha=0.3, which="both")
    _legend_outside(ax)
    fig.savefig(path, dpi=DPI, bbox_inches="tight")
    plt.close(fig)


def plot_capacity_per_model(table, path):
    """The paper's Figure 1: per k, one group of bars per model (smallest first), a bar per text
    kind, each labelled with its capacity in tokens."""
    fig, ks, axes = _k_panels(table, sharey=False)
    models = (table[["model", "n_params", "d_model"]].drop_duplicates("model")
              .sort_values(["n_params", "d_model", "model"])["model"].tolist())
    kinds = sorted(table["text_kind"].unique())
    color = _colors(kinds)
    width = 0.8 / max(1, len(kinds))
    for ax, k in zip(axes, ks):
        tk = table[table["n_mem"] == k]
        if tk.empty:
            _no_data(ax, _k_label(k))
        for j, kind in enumerate(kinds):
            # mean over modes where a model has both grid and search rows
            cap = tk[tk["text_kind"] == kind].groupby("model")["capacity_tokens"].mean()
            xs = [i + (j - (len(kinds) - 1) / 2) * width for i, m in enumerate(models) if m in cap.index]
            ys = [float(cap[m]) for m in models if m in cap.index]
            bars = ax.bar(xs, ys, width=width, color=color[kind], label=kind)
            ax.bar_label(bars, labels=[f"{y:.0f}" for y in ys], fontsize=8, padding=2)
        ax.set_xticks(range(len(models)))
        ax.set_xticklabels(models, rotation=30, ha="right", fontsize=8)
        ax.margins(y=0.15)
        ax.set_title(_k_label(k))
        ax.set_ylabel("capacity (tokens decoded at ≥ 99% accuracy)")
        ax.grid(alpha=0.3, axis="y")
        _legend(ax, loc="upper left", title="text kind")
    _save_panels(fig, ks, axes, "Capacity per model", path)


def plot_capacity_vs_model_size(table, path):
    fig, ax = plt.subplots(figsize=(6.4, 4.6))
    use_params = len(table) > 0 and bool((table["n_params"] > 0).all())
    xcol = "n_params" if use_params else "d_model"
    many_kinds = table["text_kind"].nunique() > 1
    _, marker, ls = _styles(table)
    ks = sorted(table["n_mem"].unique())
    color = _colors(ks)
    for (k, kind), s in table.groupby(["n_mem", "text_kind"]):
        # mean over modes where a model has both grid and search rows
        s = s.groupby([xcol, "model"], as_index=False)["capacity_tokens"].mean().sort_values(xcol)
        label = _k_label(k) + (f", {kind}" if many_kinds else "")
        ax.plot(s[xcol], s["capacity_tokens"], marker=marker[kind], ls=ls[kind],
                color=color[k], label=label)
    for (x, model), s in table.groupby([xcol, "model"]):
        ax.annotate(model, (x, s["capacity_tokens"].max()), textcoords="offset points",
                    xytext=(0, 8), ha="center", fontsize=8)
    if table.empty:
        _no_data(ax, "no rows")
    if len(table) and bool((table[xcol] > 0).all()):
        ax.set_xscale("log")
        lo, hi = float(table[xcol].min()), float(table[xcol].max())
        ax.set_xlim(lo / 1.6, hi * 1.6)  # room for the labels, also with one model
        xs = sorted(table[xcol].unique())
        ax.set_xticks(xs)
        ax.set_xticklabels([_human(x) for x in xs])
        ax.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
    ax.margins(y=0.12)
    ax.set_xlabel("model parameters (log scale)" if use_params else "d_model (log scale)")
    ax.set_ylabel("capacity (tokens decoded at ≥ 99% accuracy)")
    ax.set_title("Capacity across model sizes")
    ax.grid(alpha=0.3, which="both")
    _legend_outside(ax)
    fig.savefig(path, dpi=DPI, bbox_inches="tight")
    plt.close(fig)


def _plot_gain_against(done, df, x, xlabel, diagonal, missing, title, path):
    """One panel per k: each done row's information gain (bits) against column `x`, per model
    (colour) and text kind (marker), filled when converged, hollow when not, and y = x."""
    fig, ks, axes = _k_panels(df, sharey=True)
    color, marker, _ = _styles(df)
    many_kinds = df["text_kind"].nunique() > 1
    hi = float(max(done[x].max(), done["info_gain_bits"].max(), 1.0)) if len(done) else 1.0
    for ax, k in zip(axes, ks):
        dk = done[done["n_mem"] == k]
        if dk.empty:
            _no_data(ax, _k_label(k) + missing)
        for (model, kind), s in dk.groupby(["model", "text_kind"], sort=True):
            label = _series_label(model, kind, many_kinds)
            for conv, fill, what in ((True, color[model], "converged"), (False, "none", "not converged")):
                part = s[s["converged"] == conv]
                if not part.empty:
                    ax.scatter(part[x], part["info_gain_bits"], s=22, marker=marker[kind],
                               facecolors=fill, edgecolors=color[model], label=f"{label}, {what}")
        ax.plot([0, hi * 1.05], [0, hi * 1.05], color="0.3", ls="--", lw=1, label=diagonal)
        _label_panel(ax, k, xlabel, "information gain with memory (bits)", "upper left")
    _save_panels(fig, ks, axes, title, path)


def plot_info_gain(df, path):
    """Information gain vs the text's baseline CE (bits), one panel per k."""
    _plot_gain_against(df[df["status"] == "done"], df, "baseline_ce_bits",
                       "baseline cross-entropy of the text, no memory (bits)",
                       "y = x (all uncertainty removed)", "", "Information gain vs baseline cross-entropy", path)


def plot_gain_bound(df, path):
    """Item 4 of the paper's protocol, one panel per k: the information gain each text got
    (bits) vs the lower bound of its baseline (the smallest gain that makes every target the
    argmax, bits)."""
    _plot_gain_against(df[(df["status"] == "done") & df["gain_bound_bits"].notna()], df, "gain_bound_bits",
                       "lower bound: gain that makes every target the argmax (bits)", "y = x (gain = bound)",
                       " (no lower bound stored)", "Achieved information gain vs the lower bound", path)


def _scatter_by_model_kind(ax, rows, x, y, color, marker, many_kinds, **kw):
    """Scatters `rows` per (model, text kind): colour by model, marker by kind; x and y are
    column names or functions of the group. Returns the (model, kind, group) drawn."""
    drawn = []
    for (model, kind), g in rows.groupby(["model", "text_kind"], sort=True):
        ax.scatter(x(g) if callable(x) else g[x], y(g) if callable(y) else g[y], marker=marker[kind],
                   color=color[model], label=_series_label(model, kind, many_kinds), **kw)
        drawn.append((model, kind, g))
    return drawn


def plot_token_cost(cost, df, path):
    """One panel per k: each grown probe of a progressive search (token_cost_table), the
    updates it took per added token against the added tokens' surprisal per token (bits), per
    model (colour) and text kind (marker)."""
    fig, ks, axes = _k_panels(df, sharey=True)
    color, marker, _ = _styles(df)
    many_kinds = df["text_kind"].nunique() > 1
    for ax, k in zip(axes, ks):
        ck = cost[cost["n_mem"] == k]
        if ck.empty:
            _no_data(ax, _k_label(k) + " (no grown probe of a progressive search)")
        _scatter_by_model_kind(ax, ck, lambda g: g["added_surprisal_per_token_nats"] / math.log(2), "steps_per_token",
                               color, marker, many_kinds, s=22)
        _label_panel(ax, k, "surprisal of the added tokens, no memory (bits per token)",
                     "marginal steps per added token", "upper left")
    _save_panels(fig, ks, axes, "Marginal steps vs added surprisal", path)


def plot_compressed_vs_text_ce(df, paper, path):
    """The paper's Figure 3, one panel per k: the CE of each text with memory vs without (nats,
    mean loss x N), per model (colour) and text kind (marker); for natural text the fit
    y = x + b over the rows with best_acc < 0.99 (paper_table's fit_b_nats)."""
    rows = cr.paper_rows(df)
    fig, ks, axes = _k_panels(df, sharey=False)
    color, marker, _ = _styles(df)
    many_kinds = df["text_kind"].nunique() > 1
    for ax, k in zip(axes, ks):
        dk = rows[rows["n_mem"] == k]
        if dk.empty:
            _no_data(ax, _k_label(k) + " (grid rows only)")
            continue
        for model, kind, s in _scatter_by_model_kind(ax, dk, "text_ce_nats", "compressed_ce_nats", color, marker,
                                                     many_kinds, s=18, alpha=0.8):
            fit = paper[(paper["model"] == model) & (paper["text_kind"] == kind) & (paper["n_mem"] == k)]
            if kind == "natural" and len(fit) and not math.isnan(fit["fit_b_nats"].iloc[0]):
                b = float(fit["fit_b_nats"].iloc[0])
                x = np.array([0.0, float(s["text_ce_nats"].max())])
                ax.plot(x, x + b, color=color[model], lw=1, label=f"{model}: y = x {b:+.1f}")
        top = float(dk["text_ce_nats"].max())
        ax.plot([0, top], [0, top], color="0.3", ls="--", lw=1, label="y = x (no gain)")
        ax.set_ylim(bottom=0)
        _label_panel(ax, k, "text CE without memory (nats, loss x N)", "text CE with memory (nats, loss x N)",
                     "upper left")
    _save_panels(fig, ks, axes, "Compressed vs original cross-entropy (the paper's Figure 3)", path)


def plot_mem_attention(table, df, path):
    """One panel per k: the attention mass on the [mem] positions per attention layer at the
    best mem (mem_attention_table: mean over rows, the band one standard deviation), one line per
    model and length (colour) and text kind (marker, line style)."""
    fig, ks, axes = _k_panels(df, sharey=True)
    _, marker, ls = _styles(df)
    many_kinds = df["text_kind"].nunique() > 1
    color = _colors(sorted(set(zip(table["model"], table["length"]))))
    for ax, k in zip(axes, ks):
        tk = table[table["n_mem"] == k]
        if tk.empty:
            _no_data(ax, _k_label(k) + " (no attention mass recorded: output.attention_mass)")
        for (model, length, kind), g in tk.groupby(["model", "length", "text_kind"], sort=True):
            g = g.sort_values("layer")
            c = color[(model, length)]
            ax.plot(g["layer"], g["mass_mean"], marker=marker[kind], ls=ls[kind], ms=4, color=c,
                    label=f"{_series_label(model, kind, many_kinds)}, {length} tokens")
            ax.fill_between(g["layer"], g["mass_mean"] - g["mass_std"], g["mass_mean"] + g["mass_std"], color=c,
                            alpha=0.12, lw=0)
        ax.set_ylim(0, 1.02)
        ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
        _label_panel(ax, k, "attention layer (0 = first)", "attention on the [mem] positions (share)", "upper left")
    _save_panels(fig, ks, axes, "Attention mass on [mem] per layer at the best mem", path)


def plot_solutions_pca(solutions, path):
    """The solution-diversity study: per (model, k) panel, each text's restarts projected on
    that text's first two principal components (one colour per text and length)."""
    groups = [] if solutions.empty else sorted(solutions.groupby(["model", "n_mem"]).groups)
    fig, axes = plt.subplots(1, max(1, len(groups)), figsize=(5.2 * max(1, len(groups)), 4.4), squeeze=False)
    axes = axes[0]
    if not groups:
        _no_data(axes[0], "no text with 2+ restarts and stored mem (cram.restarts, output.save_memory)")
    for ax, (model, k) in zip(axes, groups):
        g = solutions[(solutions["model"] == model) & (solutions["n_mem"] == k)]
        texts = [t for t in g.groupby(["length", "sample_id"], sort=True) if len(t[1]) >= 2]
        for i, ((length, sid), t) in enumerate(texts):
            coords, ratios = cr.solution_pca(list(t["mem"]))
            ax.scatter(coords[:, 0], coords[:, 1], s=20, color=plt.cm.tab20(i % 20),
                       label=f"L{length} s{sid} ({ratios[0]:.0%}, {ratios[1]:.0%})" if i < 12 else None)
        if not texts:
            _no_data(ax, f"{model}, {_k_label(k)}: under 2 restarts per text")
        ax.set_title(f"{model}, {_k_label(k)}")
        ax.set_xlabel("PC 1 of the text's solutions")
        ax.set_ylabel("PC 2")
        if texts:
            _legend(ax, loc="best", title="text (variance PC1, PC2)")
    fig.suptitle("Solutions of independent restarts, per text")
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
