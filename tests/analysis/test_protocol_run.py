"""The paper's protocol options end to end on the demo model under mpirun (1 coordinator, 2
workers): cram.restarts, output.attention_mass, cram.init, cram.optimizer.schedule, cram.loss, cram.carry_optimizer, cram.one_step, cram.growth, bytes per row, the lower bound, steps to 95/99/100% accuracy, the
free-running decode accuracy and random-length texts (cram.length_mode: uniform) land in the
results file, `crammer export` shows them, and the report's protocol table and solution
diversity equal a recomputation from the export CSVs.

Needs the binary: CRAMMER_BIN (ctest sets it); without it the test is skipped.
"""
import csv
import json
import math
import os
import re
import subprocess
import sys
import tempfile
import unittest

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(REPO, "analysis"))

import crammer_results as cr  # noqa: E402
from test_report import run_report  # noqa: E402

CRAMMER = os.environ.get("CRAMMER_BIN", "")
RESTARTS = 3

CONFIG = """models:
  - {{name: demo, path: {repo}/models/demo, dtype: f32}}
corpus:
  format: text
  paths: [{repo}/data/corpora/austen/persuasion.txt]
  text_kind: [natural, random-words]
  word_list: {repo}/data/wordlists/austen-top5000.txt
  samples: {samples}
  seed: 0
  prefix_tokens: {prefix_tokens}
cram:
  n_mem: {n_mem}
  lengths: {lengths}
  length_mode: {length_mode}
  restarts: {restarts}
  mem_rank: {mem_rank}
  init: {init}
  optimizer: {{lr: 0.05, max_steps: 300, patience: 300{schedule}}}
{extra}batching: {{batch_size: 8}}
runtime: {{device: cpu, threads: 1, seed: 0}}
output: {{path: {out}, save_memory: true{output}}}
"""


def run_sweep(d, name, **fields):
    """mpirun -np 3 crammer run of CONFIG with `fields`; returns the results file."""
    h5 = os.path.join(d, name + ".h5")
    cfg = os.path.join(d, name + ".yaml")
    fields = dict({"n_mem": "[1]", "mem_rank": 0, "length_mode": "grid", "restarts": 1, "prefix_tokens": 0,
                   "init": "randn", "schedule": "", "extra": "", "output": ""}, **fields)
    with open(cfg, "w") as f:
        f.write(CONFIG.format(repo=REPO, out=h5, **fields))
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    p = subprocess.run(["mpirun", "--oversubscribe", "-np", "3", CRAMMER, "run", cfg], env=env,
                       capture_output=True, text=True, timeout=900)
    if p.returncode != 0:
        raise AssertionError(f"mpirun crammer run failed ({p.returncode}):\n{p.stderr[-4000:]}")
    return h5, cfg


def crammer(*args):
    p = subprocess.run([CRAMMER, *args], capture_output=True, text=True, timeout=600)
    if p.returncode != 0:
        raise AssertionError(f"crammer {' '.join(args)} failed ({p.returncode}):\n{p.stderr}")
    return p.stdout


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def table(h5, name):
    return list(csv.DictReader(crammer("export", h5, "--table", name).splitlines()))


@unittest.skipUnless(CRAMMER and os.access(CRAMMER, os.X_OK), "CRAMMER_BIN not set")
def assert_crams_its_own_way(test, h5, plain):
    """The 4 rows (2 kinds x 2 samples) of the run in `h5` are done and crammed, with the same
    baselines as the plain run's (same text, same model) and another optimisation path. Returns
    the rows."""
    rows, base = table(h5, "results"), {r["task_key"]: r for r in table(plain, "results")}
    test.assertEqual(len(rows), 4)
    for r in rows:
        test.assertEqual(r["status"], "done", r["task_key"])
        test.assertLess(float(r["best_loss"]), float(r["baseline_loss"]) - 0.5, r["task_key"])
        other = base[r["task_key"]]
        test.assertEqual(r["baseline_loss"], other["baseline_loss"])
        test.assertNotEqual((r["best_loss"], r["steps"]), (other["best_loss"], other["steps"]))
    return rows


class ProtocolOnTheDemoModel(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        d = cls.tmp.name
        cls.h5, _ = run_sweep(d, "protocol", lengths="[2, 8]", length_mode="grid", samples=2, restarts=RESTARTS,
                              output=", attention_mass: true")
        cls.rows = table(cls.h5, "results")
        cls.samples = {int(s["sample_id"]): s for s in table(cls.h5, "samples")}
        cls.memory = table(cls.h5, "memory")
        cls.out = os.path.join(d, "report")
        cls.report = run_report([cls.h5], cls.out)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_restarts_are_tasks_of_their_own(self):
        self.assertEqual(len(self.rows), 2 * 2 * 2 * RESTARTS)  # 2 kinds x 2 samples x 2 lengths
        per_text = {}
        for r in self.rows:
            self.assertEqual(r["status"], "done", r)
            self.assertTrue(r["task_key"].endswith("/r" + r["restart"]), r["task_key"])
            per_text.setdefault((r["length"], r["sample_id"]), []).append(int(r["restart"]))
        for text, restarts in per_text.items():
            self.assertEqual(sorted(restarts), list(range(RESTARTS)), text)

    def test_bytes_are_those_of_the_crammed_text(self):
        bytes_of = {}
        for r in self.rows:
            bytes_of[(int(r["sample_id"]), int(r["length"]))] = int(r["n_bytes"])
        for sid, s in self.samples.items():
            # The stored text is the decode of all 8 kept tokens (GPT-2: no BOS).
            self.assertEqual(bytes_of[(sid, 8)], len(s["text"].encode("utf-8")), s["text"])
            self.assertTrue(0 < bytes_of[(sid, 2)] < bytes_of[(sid, 8)], (sid, bytes_of))

    def test_lower_bound_progress_and_decode_measures(self):
        reached = 0
        for r in self.rows:
            bound = float(r["gain_bound_nats"])
            self.assertTrue(math.isfinite(bound) and bound >= 0, r)
            if float(r["baseline_acc"]) == 1.0:
                self.assertEqual(bound, 0.0)
            n, steps = int(r["n_targets"]), int(r["steps"])
            firsts = [int(r[c]) for c in ("steps_to_acc95", "steps_to_acc99", "steps_to_acc100")]
            for f in firsts:
                self.assertTrue(f == -1 or 0 <= f <= steps, r)
            if float(r["best_acc"]) == 1.0:
                self.assertTrue(0 <= firsts[0] <= firsts[1] <= firsts[2] == int(r["steps_to_best"]), r)
                reached += 1
            else:
                self.assertEqual(firsts[2], -1, r)
            acc = float(r["decode_acc"])
            self.assertTrue(0 <= acc <= 1, r)
            self.assertGreaterEqual(acc * n + 1e-9, int(r["decode_prefix"]))
            if r["decode_exact"] == "true":
                self.assertEqual(acc, 1.0)
        self.assertGreater(reached, 0, "no text reached accuracy 1: the progress measures went unchecked")

    def test_report_tables_equal_a_recomputation_from_export(self):
        self.assertEqual(self.report.returncode, 0, self.report.stderr)
        # protocol.csv: byte measures and the bound, per (text kind, length), restarts pooled.
        kinds = {sid: s["text_kind"] for sid, s in self.samples.items()}
        got = {(r["text_kind"], int(r["length"])): r for r in read_csv(os.path.join(self.out, "protocol.csv"))}
        self.assertEqual(len(got), 4)
        for (kind, length), row in got.items():
            rows = [r for r in self.rows if kinds[int(r["sample_id"])] == kind and int(r["length"]) == length]
            bpb = np.mean([float(r["baseline_loss"]) * int(r["n_targets"]) / math.log(2) / int(r["n_bytes"])
                           for r in rows])
            self.assertAlmostEqual(float(row["text_bits_per_byte"]), bpb, places=9)
            self.assertAlmostEqual(float(row["bytes_per_vector"]), np.mean([int(r["n_bytes"]) for r in rows]), places=9)
            self.assertAlmostEqual(float(row["gain_bound_bits"]),
                                   np.mean([float(r["gain_bound_nats"]) for r in rows]) / math.log(2), places=9)
            self.assertEqual(int(row["restarts"]), RESTARTS)
        # solution_diversity.csv: pairwise cosines and L2 of each text's restarts, from the
        # memory table of `crammer export`.
        by_key = {m["task_key"]: np.array([float(v) for v in m["values"].split()]) for m in self.memory}
        div = list(read_csv(os.path.join(self.out, "solution_diversity.csv")))
        self.assertEqual(len(div), 8)
        for d in div:
            mems = [by_key[r["task_key"]] for r in self.rows
                    if r["sample_id"] == d["sample_id"] and r["length"] == d["length"]]
            self.assertEqual(len(mems), RESTARTS)
            cos = [a @ b / np.linalg.norm(a) / np.linalg.norm(b) for i, a in enumerate(mems) for b in mems[i + 1:]]
            l2 = [np.linalg.norm(a - b) for i, a in enumerate(mems) for b in mems[i + 1:]]
            self.assertAlmostEqual(float(d["cosine_mean"]), float(np.mean(cos)), places=5)
            self.assertAlmostEqual(float(d["l2_min"]), float(np.min(l2)), places=4)
            self.assertGreater(float(d["l2_min"]), 0.0)  # independent inits give distinct solutions
            self.assertAlmostEqual(float(d["pc1_variance_ratio"]) + float(d["pc2_variance_ratio"]), 1.0, places=6)
        for name in ("gain_bound_vs_info_gain.png", "solutions_pca.png", "mem_attention.png"):
            self.assertGreater(os.path.getsize(os.path.join(self.out, name)), 10_000, name)

    def test_attention_mass_per_layer_and_its_report_table(self):
        # output.attention_mass: every done row holds one share per attention layer of the model,
        # and mem_attention.csv is their mean per (text kind, k, length, layer) from the export table.
        layers = int(table(self.h5, "models")[0]["num_layers"])
        mass = {}
        for m in table(self.h5, "mem_attention"):
            mass.setdefault(m["task_key"], []).append((int(m["layer"]), float(m["mass"])))
        self.assertEqual(len(mass), len(self.rows))
        for r in self.rows:
            got = mass[r["task_key"]]
            self.assertEqual([layer for layer, _ in got], list(range(layers)), r["task_key"])
            self.assertEqual(int(r["mem_attention_length"]), layers)
            for _, v in got:
                self.assertGreater(v, 0.0, r["task_key"])
                self.assertLessEqual(v, 1.0 + 1e-6, r["task_key"])
        kinds = {sid: s["text_kind"] for sid, s in self.samples.items()}
        report = read_csv(os.path.join(self.out, "mem_attention.csv"))
        self.assertEqual(len(report), 2 * 2 * layers)  # 2 kinds, 2 lengths
        for row in report:
            values = [v for r in self.rows if kinds[int(r["sample_id"])] == row["text_kind"] and r["length"] == row["length"]
                      for layer, v in mass[r["task_key"]] if layer == int(row["layer"])]
            self.assertEqual(int(row["rows"]), len(values))
            self.assertAlmostEqual(float(row["mass_mean"]), float(np.mean(values)), places=6)
            self.assertAlmostEqual(float(row["mass_max"]), max(values), places=6)


@unittest.skipUnless(CRAMMER and os.access(CRAMMER, os.X_OK), "CRAMMER_BIN not set")
class RandomLengthTexts(unittest.TestCase):
    """cram.length_mode uniform: each sample crammed once at the length the plan drew for it."""

    def test_each_sample_at_its_drawn_length(self):
        with tempfile.TemporaryDirectory() as d:
            h5, cfg = run_sweep(d, "random", lengths="[12]", length_mode="uniform", samples=5, restarts=1)
            plan = json.loads(crammer("plan", cfg, "--json"))
            drawn = {t["sample_id"]: t["length"] for t in plan["tasks"]}
            rows = table(h5, "results")
            self.assertEqual(len(rows), 10)  # 2 kinds x 5 samples, one length each
            for r in rows:
                self.assertEqual(int(r["length"]), drawn[int(r["sample_id"])], r["task_key"])
                self.assertTrue(2 <= int(r["length"]) <= 12)
                self.assertEqual(r["status"], "done")
            self.assertGreater(len(set(drawn.values())), 2)
            out = os.path.join(d, "report")
            p = run_report([h5], out)
            self.assertEqual(p.returncode, 0, p.stderr)
            # The protocol table groups by the exact length, as the paper's notebooks do.
            got = {(r["text_kind"], int(r["length"])) for r in read_csv(os.path.join(out, "protocol.csv"))}
            kinds = {int(s["sample_id"]): s["text_kind"] for s in table(h5, "samples")}
            self.assertEqual(got, {(kinds[int(r["sample_id"])], int(r["length"])) for r in rows})


@unittest.skipUnless(CRAMMER and os.access(CRAMMER, os.X_OK), "CRAMMER_BIN not set")
class InitAndSchedule(unittest.TestCase):
    """cram.init and cram.optimizer.schedule under mpirun: the texts cram from a start drawn from
    the vocabulary's Gaussian under cosine + warmup, the rows differ from the default run's, and
    analysis reads the settings and names the run's model apart."""

    def test_vocab_gaussian_start_and_cosine_schedule(self):
        with tempfile.TemporaryDirectory() as d:
            h5, _ = run_sweep(d, "scheduled", lengths="[8]", samples=2, init="vocab_gaussian",
                              schedule=", schedule: cosine, warmup_steps: 20, min_lr: 0.005")
            plain, _ = run_sweep(d, "plain", lengths="[8]", samples=2)
            assert_crams_its_own_way(self, h5, plain)
            df = cr.load_results(h5)
            self.assertEqual(set(df["init"]), {"vocab_gaussian"})
            self.assertEqual(set(df["lr_schedule"]), {"cosine"})
            self.assertEqual(set(df["warmup_steps"]), {20})
            self.assertEqual(set(df["model"]), {"demo [init vocab_gaussian, cosine lr to 0.005, warmup 20]"})
            self.assertEqual(set(cr.load_results(plain)["model"]), {"demo"})


@unittest.skipUnless(CRAMMER and os.access(CRAMMER, os.X_OK), "CRAMMER_BIN not set")
class LossTerms(unittest.TestCase):
    """cram.loss under mpirun: the first-target weight and the hidden-state alignment change
    the optimisation (rows differ from the plain run's, same baselines), the texts still cram,
    the stored loss is still the plain mean CE (info gain consistent with it), and analysis reads
    the settings and names the run's model apart."""

    def test_weighted_and_aligned_objective(self):
        with tempfile.TemporaryDirectory() as d:
            loss = ("  loss: {first_tokens: 2, first_weight: 4, align_alpha: 0.02, align_layers: 3, "
                    "align_from: last, align_distance: cosine}\n")
            h5, _ = run_sweep(d, "terms", lengths="[8]", samples=2, extra=loss)
            plain, _ = run_sweep(d, "plain", lengths="[8]", samples=2)
            for r in assert_crams_its_own_way(self, h5, plain):
                n = int(r["n_targets"])
                gain = (float(r["baseline_loss"]) - float(r["best_loss"])) * n
                self.assertAlmostEqual(float(r["info_gain_nats"]), gain, places=3)
            df = cr.load_results(h5)
            self.assertEqual(set(df["align_distance"]), {"cosine"})
            self.assertEqual(set(df["first_tokens"]), {2})
            self.assertEqual(set(df["model"]),
                             {"demo [first 2 targets x4, align cosine x0.02 over last 3 states]"})
            self.assertEqual(set(cr.load_results(plain)["model"]), {"demo"})


@unittest.skipUnless(CRAMMER and os.access(CRAMMER, os.X_OK), "CRAMMER_BIN not set")
class CarriedOptimizer(unittest.TestCase):
    """cram.carry_optimizer under mpirun: a progressive search whose probes continue the AdamW
    state of the probe they start from probes the same first length as without it, from the
    same start, and then follows its own path; capacities are stored and analysis names the run
    apart."""

    def test_progressive_search_carries_adamw(self):
        with tempfile.TemporaryDirectory() as d:
            search = "  search: progressive\n"
            cosine = ", schedule: cosine, warmup_steps: 5, min_lr: 0.005, schedule_steps: 900"
            h5, _ = run_sweep(d, "carried", lengths="[4, 16]", samples=2, schedule=cosine,
                              extra=search + "  carry_optimizer: true\n")
            fresh, _ = run_sweep(d, "fresh", lengths="[4, 16]", samples=2, schedule=cosine, extra=search)
            rows, base = table(h5, "results"), table(fresh, "results")
            by_key = {}
            for r in rows:
                self.assertEqual(r["status"], "done", r["task_key"])
                by_key.setdefault(r["task_key"], []).append(r)
            self.assertEqual(len(by_key), 4)  # 2 kinds x 2 samples, one search each
            first = {}
            for r in base:  # each search's first probe: rows of a search are stored in probe order
                first.setdefault(r["task_key"], r)
            differs = 0
            for key, probes in by_key.items():
                self.assertEqual(int(probes[0]["length"]), 4, key)
                self.assertEqual((probes[0]["best_loss"], probes[0]["steps"]),
                                 (first[key]["best_loss"], first[key]["steps"]), key)
                self.assertGreaterEqual(int(probes[0]["capacity"]), 4 if probes[0]["converged"] == "true" else 0)
                later = {int(r["length"]): r for r in probes[1:]}
                other = {int(r["length"]): r for r in base if r["task_key"] == key}
                differs += sum(1 for L, r in later.items()
                               if L in other and (r["best_loss"], r["steps"]) != (other[L]["best_loss"], other[L]["steps"]))
            self.assertGreater(differs, 0, "carrying AdamW changed no later probe")
            df = cr.load_results(h5)
            self.assertEqual(set(df["carry_optimizer"]), {True})
            self.assertEqual(set(df["model"]), {"demo [cosine lr to 0.005, warmup 5, over 900 updates, carried AdamW]"})


@unittest.skipUnless(CRAMMER and os.access(CRAMMER, os.X_OK), "CRAMMER_BIN not set")
class OneTokenGrowth(unittest.TestCase):
    """cram.growth one_token under mpirun: each search probes its start length, then one token
    more after every success until a failure or the task's length, every row naming the length
    it grew from; the report's token_cost.csv equals a recomputation from the export CSV (added
    surprisal s(L) - s(grown_from), s = baseline_loss x n_targets; marginal steps =
    steps_to_best) and token_cost.png is drawn."""

    def test_probes_grow_one_token_and_the_report_prices_each(self):
        with tempfile.TemporaryDirectory() as d:
            # k = 4 from 2 tokens: the demo model grows most texts a few tokens in 300 steps
            h5, _ = run_sweep(d, "grown", lengths="[2, 9]", samples=2, n_mem="[4]",
                              extra="  search: progressive\n  growth: one_token\n  carry_optimizer: true\n")
            rows = table(h5, "results")
            searches = {}
            for r in rows:
                self.assertEqual(r["status"], "done", r["task_key"])
                searches.setdefault(r["task_key"], []).append(r)
            self.assertEqual(len(searches), 4)  # 2 kinds x 2 samples
            want = {}
            for key, probes in searches.items():
                lengths = [int(r["length"]) for r in probes]
                self.assertEqual(lengths, list(range(2, 2 + len(probes))), key)
                conv = [r["converged"] == "true" for r in probes]
                self.assertTrue(all(conv[:-1]), key)  # the first failure ends the search
                self.assertTrue(not conv[-1] or lengths[-1] == 9, key)
                s = {int(r["length"]): float(r["baseline_loss"]) * int(r["n_targets"]) for r in probes}
                for i, r in enumerate(probes):
                    self.assertEqual(int(r["grown_from"]), lengths[i - 1] if i else 0, key)
                    if i and conv[i]:
                        L = int(r["length"])
                        want[(key, L)] = (s[L] - s[L - 1], int(r["steps_to_best"]))
            self.assertGreaterEqual(len(want), 3, "too few grown probes to check")
            out = os.path.join(d, "report")
            p = run_report([h5], out)
            self.assertEqual(p.returncode, 0, p.stderr)
            got = {(r["task_key"], int(r["length"])): r for r in read_csv(os.path.join(out, "token_cost.csv"))}
            self.assertEqual(set(got), set(want))
            for k, (ds, steps) in want.items():
                self.assertAlmostEqual(float(got[k]["added_surprisal_nats"]), ds, places=9, msg=str(k))
                self.assertEqual(int(got[k]["marginal_steps"]), steps, k)
                self.assertEqual(int(got[k]["added_tokens"]), 1, k)
            self.assertGreater(os.path.getsize(os.path.join(out, "token_cost.png")), 10000)


@unittest.skipUnless(CRAMMER and os.access(CRAMMER, os.X_OK), "CRAMMER_BIN not set")
class OneStep(unittest.TestCase):
    """cram.one_step under mpirun: every token of each text is a target (n_targets = length),
    the decode check is the single pass's own accuracy, stored mems hold e then m ([k + 1, d]),
    the shared m is the same vector in every row (across ranks), and analysis names each run
    apart."""

    def test_per_text_and_shared_m(self):
        with tempfile.TemporaryDirectory() as d:
            runs = {mode: run_sweep(d, mode, lengths="[6]", samples=2, n_mem="[2]",
                                    extra=f"  one_step: {mode}\n")[0] for mode in ("per_text", "shared")}
            # t_1 scored too, so the baselines are over the same targets as one-step's
            plain, _ = run_sweep(d, "plain", lengths="[6]", samples=2, n_mem="[2]", extra="  predict_first_token: true\n")
            for mode, h5 in runs.items():
                for r in assert_crams_its_own_way(self, h5, plain):
                    self.assertEqual(int(r["n_targets"]), int(r["length"]), r["task_key"])
                    self.assertEqual(float(r["decode_acc"]), float(r["best_acc"]), r["task_key"])
                    self.assertEqual(r["decode_exact"] == "true", float(r["best_acc"]) == 1.0, r["task_key"])
                mems = cr.load_solutions(h5)
                self.assertEqual(len(mems), 4)
                shapes = {m["mem"].shape for _, m in mems.iterrows()}
                self.assertEqual(len(shapes), 1)
                self.assertEqual(next(iter(shapes))[0], 3, mode)  # e_1, e_2, then m
                ms = np.stack([m["mem"][2] for _, m in mems.iterrows()])
                if mode == "shared":
                    self.assertTrue((ms == ms[0]).all(), "rows disagree on the shared m")
                else:
                    self.assertGreater(np.abs(ms - ms[0]).max(), 0, "each text trains its own m")
                # `crammer decode` reads the stored carrier back: every token from one pass
                decoded = re.findall(r"\((\S+)\):.*\n.*\n.*\n  (\d+) of (\d+) generated tokens right",
                                     crammer("decode", h5, "--limit", "0", "--threads", "1"))
                self.assertEqual(len(decoded), 4, mode)
                by_key = {r["task_key"]: r for r in table(h5, "results")}
                for key, right, targets in decoded:
                    self.assertEqual(int(targets), int(by_key[key]["length"]), key)
                    self.assertEqual(int(right), round(float(by_key[key]["decode_acc"]) * int(targets)), key)
                df = cr.load_results(h5)
                self.assertEqual(set(df["one_step"]), {mode})
            self.assertEqual(set(cr.load_results(runs["per_text"])["model"]), {"demo [one-step, m per text]"})
            self.assertEqual(set(cr.load_results(runs["shared"])["model"]), {"demo [one-step, shared m]"})
            self.assertEqual(set(cr.load_results(plain)["one_step"]), {"off"})


@unittest.skipUnless(CRAMMER and os.access(CRAMMER, os.X_OK), "CRAMMER_BIN not set")
class LowRankMem(unittest.TestCase):
    """cram.mem_rank: each stored mem (k = 4 vectors) lies in a rank-2 affine subspace, the texts
    still cram, and analysis names the run's model apart from a plain run's."""

    def test_stored_mems_have_the_rank_and_the_report_tells_the_run_apart(self):
        with tempfile.TemporaryDirectory() as d:
            h5, _ = run_sweep(d, "lowrank", lengths="[8]", samples=2, n_mem="[4]", mem_rank=2)
            rows = table(h5, "results")
            self.assertEqual(len(rows), 4)  # 2 kinds x 2 samples
            mems = cr.load_solutions(h5)
            self.assertEqual(len(mems), 4)
            for r in rows:
                self.assertEqual(r["status"], "done", r["task_key"])
                self.assertLess(float(r["best_loss"]), float(r["baseline_loss"]) - 0.5, r["task_key"])
            for _, m in mems.iterrows():
                self.assertEqual(m["mem"].shape[0], 4)
                sv = np.linalg.svd((m["mem"][1:] - m["mem"][:1]).astype(np.float64), compute_uv=False)
                self.assertGreater(sv[1], 1e-4, m["task_key"])
                self.assertLess(sv[2], 1e-5 * sv[0], m["task_key"])
            df = cr.load_results(h5)
            self.assertEqual(set(df["mem_rank"]), {2})
            self.assertEqual(set(df["model"]), {"demo [mem rank 2]"})
            self.assertEqual(set(df["base_model"]), {"demo"})
            out = os.path.join(d, "report")
            p = run_report([h5], out)
            self.assertEqual(p.returncode, 0, p.stderr)
            got = {r["model"] for r in read_csv(os.path.join(out, "protocol.csv"))}
            self.assertEqual(got, {"demo [mem rank 2]"})


@unittest.skipUnless(CRAMMER and os.access(CRAMMER, os.X_OK), "CRAMMER_BIN not set")
class PrefixContext(unittest.TestCase):
    """corpus.prefix_tokens: each task's context is its sample's first P tokens and its text the
    tokens after them (`crammer plan --json`); the rows' bytes are those of the text alone; the
    texts cram after their context; analysis names the model apart."""

    def test_context_before_each_text_and_the_report_tells_the_run_apart(self):
        with tempfile.TemporaryDirectory() as d:
            P = 6
            h5, cfg = run_sweep(d, "context", lengths="[8]", samples=2, prefix_tokens=P)
            plan = json.loads(crammer("plan", cfg, "--json"))
            samples = {(s["sample_id"], s["model_index"]): s for s in plan["samples"]}
            for t in plan["tasks"]:
                ids = samples[(t["sample_id"], t["model_index"])]["token_ids"]
                self.assertEqual(t["context"], ids[:P], t["key"])
                self.assertEqual(t["token_ids"], ids[P:P + t["length"]], t["key"])
            rows = {r["task_key"]: r for r in table(h5, "results")}
            self.assertEqual(len(rows), 4)
            for t in plan["tasks"]:
                r = rows[t["key"]]
                self.assertEqual(r["status"], "done", t["key"])
                self.assertEqual(int(r["n_bytes"]), t["prefix_bytes"][t["length"]], t["key"])
                self.assertLess(float(r["best_loss"]), float(r["baseline_loss"]), t["key"])
            df = cr.load_results(h5)
            self.assertEqual(set(df["prefix_tokens"]), {P})
            self.assertEqual(set(df["model"]), {f"demo [context {P}]"})
            out = os.path.join(d, "report")
            p = run_report([h5], out)
            self.assertEqual(p.returncode, 0, p.stderr)
            got = {r["model"] for r in read_csv(os.path.join(out, "protocol.csv"))}
            self.assertEqual(got, {f"demo [context {P}]"})


if __name__ == "__main__":
    unittest.main()
