"""Per-token cost of a progressive search (cram.search progressive, docs/analysis.md): what each
converged probe added to the text it grew from and the updates it took to absorb it, the
"s(L) against marginal steps" measure of progressive cramming. Reads the DataFrame of
crammer_results.load_results / load_many."""
import pandas as pd

COLUMNS = ["model", "text_kind", "n_mem", "sample_id", "task_key", "length", "grown_from", "added_tokens",
           "surprisal_nats", "added_surprisal_nats", "marginal_steps", "steps_per_token",
           "added_surprisal_per_token_nats"]


def token_cost_table(df):
    """One row per converged probe of a progressive search that grew from an earlier probe
    (grown_from > 0): s(L) = baseline_loss x n_targets, the model's surprisal of the text's
    targets with no memory, so the added tokens t_{grown_from+1}..t_L cost added_surprisal_nats
    = s(L) - s(grown_from); marginal_steps = the probe's steps_to_best, the updates from the
    grown-from mem to this probe's best (accuracy 1.0). A search's first probe (from its own
    init) and failed probes have no marginal cost and are left out."""
    d = df[(df["status"] == "done") & (df["mode"] == "search")]
    out = []
    for (model, key), g in d.groupby(["model", "task_key"], sort=True):
        s = {int(r.length): float(r.baseline_loss) * int(r.n_targets) for r in g.itertuples()}
        for r in g.sort_values("length").itertuples():
            start = int(r.grown_from)
            if not r.converged or start <= 0 or start not in s:
                continue
            added = int(r.length) - start
            ds = s[int(r.length)] - s[start]
            out.append({"model": model, "text_kind": r.text_kind, "n_mem": int(r.n_mem),
                        "sample_id": int(r.sample_id), "task_key": key, "length": int(r.length),
                        "grown_from": start, "added_tokens": added, "surprisal_nats": s[int(r.length)],
                        "added_surprisal_nats": ds, "marginal_steps": int(r.steps_to_best),
                        "steps_per_token": int(r.steps_to_best) / added,
                        "added_surprisal_per_token_nats": ds / added})
    return pd.DataFrame(out, columns=COLUMNS)
