"""Tests of analysis/ (loader and report.py) on results files written with h5py in the layout
of docs/results-file.md: every figure and table is written, and the table equals an
independent recomputation (recompute.py) from CSV files with `crammer export`'s columns.
The same checks on a file written by the real crammer binary: test_real_run.py.

Run: /usr/bin/python3 -m unittest discover -s tests/analysis -p 'test_*.py'
"""
import csv
import math
import os
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
REPORT = os.path.join(ROOT, "analysis", "report.py")
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "analysis"))

import crammer_results as cr  # noqa: E402
import fixture  # noqa: E402
import recompute  # noqa: E402

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
NUMERIC = ["d_model", "vocab_size", "n_params", "samples", "rows", "done", "failed", "skipped",
           "capacity_tokens", "capacity_per_sample_mean", "capacity_per_sample_std",
           "token_gain", "info_gain_nats", "info_gain_bits", "info_gain_nats_paper",
           "info_gain_bits_paper", "theoretical_capacity_tokens", "utilisation"]


def run_report(files, out, *extra):
    p = subprocess.run([sys.executable, REPORT, *files, "--out", out, *extra],
                       capture_output=True, text=True, timeout=240)
    return p


def read_table_csv(path):
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    return {(r["model"], r["text_kind"], int(r["n_mem"]), r["mode"]): r for r in rows}


def check_report_outputs(test, out, expected):
    """Every figure is a PNG of reasonable size, the tables are there, and table.csv and
    table.md equal `expected` (recompute.py's dict)."""
    for name in ["accuracy_vs_length.png", "capacity_vs_k.png", "capacity_vs_model_size.png",
                 "capacity_per_model.png", "info_gain_vs_baseline.png"]:
        path = os.path.join(out, name)
        test.assertTrue(os.path.isfile(path), f"{name} not written")
        with open(path, "rb") as f:
            head = f.read(24)
        test.assertEqual(head[:8], PNG_MAGIC, f"{name} is not a PNG")
        width = int.from_bytes(head[16:20], "big")
        height = int.from_bytes(head[20:24], "big")
        test.assertGreaterEqual(width, 500, name)
        test.assertGreaterEqual(height, 400, name)
        test.assertGreater(os.path.getsize(path), 10_000, f"{name} looks empty")
    for name in ["table.md", "table.csv", "per_sample.csv"]:
        test.assertGreater(os.path.getsize(os.path.join(out, name)), 0, f"{name} empty")

    table = read_table_csv(os.path.join(out, "table.csv"))
    test.assertEqual(set(table), set(expected), "table groups differ from the recomputation")
    worst = 0.0
    for key, want in expected.items():
        got = table[key]
        for col in NUMERIC:
            g, w = float(got[col]), float(want[col])
            if math.isnan(w):
                test.assertTrue(math.isnan(g), f"{key} {col}: {g} != nan")
                continue
            test.assertTrue(math.isclose(g, w, rel_tol=1e-9, abs_tol=1e-9),
                            f"{key} {col}: report {g} != recomputed {w}")
            worst = max(worst, abs(g - w))
    print(f"\n  table.csv vs recomputation: {len(expected)} rows, max |diff| {worst:.3g}")

    # table.md: the same numbers, rounded as printed.
    with open(os.path.join(out, "table.md"), encoding="utf-8") as f:
        lines = [ln for ln in f.read().splitlines() if ln.startswith("| ")]
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    body = [[c.strip() for c in ln.strip("|").split("|")] for ln in lines[1:]]
    test.assertEqual(len(body), len(expected), "table.md row count")
    cols = {h: i for i, h in enumerate(header)}
    md_of = {"capacity (tokens)": ("capacity_tokens", 1),
             "capacity per sample, mean (tokens)": ("capacity_per_sample_mean", 2),
             "token gain (tokens)": ("token_gain", 2),
             "info gain (nats)": ("info_gain_nats", 2), "info gain (bits)": ("info_gain_bits", 2),
             "info gain ×N (nats)": ("info_gain_nats_paper", 2),
             "info gain ×N (bits)": ("info_gain_bits_paper", 2),
             "theoretical capacity (tokens)": ("theoretical_capacity_tokens", 1),
             "utilisation": ("utilisation", 4), "failed": ("failed", 0),
             "skipped": ("skipped", 0), "done": ("done", 0)}
    for cells in body:
        key = (cells[cols["model"]], cells[cols["text kind"]], int(cells[cols["k"]]),
               cells[cols["mode"]])
        test.assertIn(key, expected)
        for head, (col, dec) in md_of.items():
            want = expected[key][col]
            test.assertAlmostEqual(float(cells[cols[head]]), want, delta=0.51 * 10 ** -dec,
                                   msg=f"table.md {key} {head}")


class ReportOnFixtures(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = self.tmp.name

    def tearDown(self):
        self.tmp.cleanup()

    def path(self, name):
        return os.path.join(self.dir, name)

    def test_grid_and_search_files_together(self):
        grid = fixture.grid_rows()
        search = fixture.search_rows()
        fixture.write_h5(self.path("grid.h5"), grid)
        fixture.write_h5(self.path("search.h5"), search)
        fixture.write_export_csv(self.path("grid_"), grid)
        fixture.write_export_csv(self.path("search_"), search)
        p = run_report([self.path("grid.h5"), self.path("search.h5")], self.path("out"))
        self.assertEqual(p.returncode, 0, p.stderr)
        want = recompute.merge(
            recompute.recompute(self.path("grid_results.csv"), self.path("grid_models.csv"),
                                self.path("grid_samples.csv"), file_tag="grid"),
            recompute.recompute(self.path("search_results.csv"), self.path("search_models.csv"),
                                self.path("search_samples.csv"), file_tag="search"))
        # the fixture has what the table must handle: failures, skips, both modes, 2 kinds
        self.assertTrue(any(v["failed"] for v in want.values()))
        self.assertTrue(any(v["skipped"] for v in want.values()))
        self.assertEqual({k[3] for k in want}, {"grid", "search"})
        self.assertEqual({k[1] for k in want}, {"natural", "random-words"})
        self.assertTrue(any(0 < v["capacity_tokens"] < 64 for v in want.values()))
        # mean best_acc 0.9894 at length 64 (fixture): capacity is the length before
        self.assertEqual(want[("tiny-b", "natural", 2, "grid")]["capacity_tokens"], 32)
        check_report_outputs(self, self.path("out"), want)

    def test_one_model_search_only(self):
        rows = fixture.search_rows(seed=5)
        fixture.write_h5(self.path("one.h5"), rows, models=fixture.MODELS[:1])
        fixture.write_export_csv(self.path("one_"), rows, models=fixture.MODELS[:1])
        p = run_report([self.path("one.h5")], self.path("out"))
        self.assertEqual(p.returncode, 0, p.stderr)
        want = recompute.recompute(self.path("one_results.csv"), self.path("one_models.csv"),
                                   self.path("one_samples.csv"))
        self.assertEqual(len({k[0] for k in want}), 1)
        check_report_outputs(self, self.path("out"), want)

    def test_empty_file_of_a_run_that_just_started(self):
        fixture.write_h5(self.path("empty.h5"), [])
        p = run_report([self.path("empty.h5")], self.path("out"))
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertNotIn("Traceback", p.stderr)
        check_report_outputs(self, self.path("out"), {})

    def test_loader_columns(self):
        rows = fixture.grid_rows()
        fixture.write_h5(self.path("grid.h5"), rows)
        df = cr.load_results(self.path("grid.h5"))
        self.assertEqual(len(df), len(rows))
        for c in ["file", "task_key", "model", "model_index", "d_model", "vocab_size", "n_params",
                  "sample_id", "text_kind", "n_mem", "length", "status", "mode", "wall_seconds",
                  "rank", "device", "error", "baseline_ce_nats", "baseline_ce_bits",
                  "info_gain_nats_paper", "info_gain_bits_paper"] + fixture.METRICS:
            self.assertIn(c, df.columns)
        self.assertEqual(sorted(df["status"].unique()), ["done", "failed", "skipped"])
        self.assertEqual(df["converged"].dtype, bool)
        for r, (_, d) in zip(rows, df.iterrows()):
            self.assertEqual(d["task_key"], r["task_key"])
            self.assertEqual(d["model"], r["model"])
            self.assertEqual(d["status"], r["status"])
            self.assertEqual(d["text_kind"], fixture.KINDS[r["sample_id"]])
            self.assertEqual(d["error"], r["error"])
            self.assertEqual(d["best_acc"], r["best_acc"])
        info = cr.read_run_info(self.path("grid.h5"))
        self.assertEqual(info["schema_version"], 1)
        self.assertIn("n_mem", info["config_yaml"])
        models = cr.load_models(self.path("grid.h5"))
        self.assertEqual(list(models["name"]), [m[0] for m in fixture.MODELS])
        samples = cr.load_samples(self.path("grid.h5"), token_ids=True)
        self.assertEqual(int(samples["n_sample_tokens"].iloc[0]), 70)

    def test_reads_a_file_while_it_is_written(self):
        # A writer process holds the file open in SWMR mode and appends + flushes rows.
        script = f"""
import sys, numpy as np
sys.path.insert(0, {HERE!r})
import fixture, h5py
rows = fixture.grid_rows()
fixture.write_h5({self.path('live.h5')!r}, rows[:10], swmr=False)
f = h5py.File({self.path('live.h5')!r}, "a", libver="latest")
f.swmr_mode = True
ds = f["results"]
more = np.zeros(5, dtype=fixture.RESULT_DTYPE)
for i, r in enumerate(rows[10:15]):
    for c in ("model_index", "sample_id", "n_mem", "length", "best_acc", "n_targets"):
        more[i][c] = r[c]
    more[i]["task_key"] = r["task_key"].encode()
ds.resize((15,))
ds[10:15] = more
ds.flush()
print("ready", flush=True)
sys.stdin.readline()
f.close()
"""
        w = subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)
        try:
            self.assertEqual(w.stdout.readline().strip(), "ready")
            df = cr.load_results(self.path("live.h5"))
            self.assertEqual(len(df), 15)
            p = run_report([self.path("live.h5")], self.path("out"))
            self.assertEqual(p.returncode, 0, p.stderr)
        finally:
            w.communicate("\n", timeout=30)
        self.assertEqual(w.returncode, 0)

    def test_bad_files_are_named(self):
        import h5py
        with h5py.File(self.path("other.h5"), "w") as f:
            f["x"] = [1, 2]
        with self.assertRaisesRegex(cr.ResultsFileError, "other.h5.*schema_version"):
            cr.load_results(self.path("other.h5"))
        p = run_report([self.path("missing.h5")], self.path("out"))
        self.assertEqual(p.returncode, 2)
        self.assertIn("missing.h5", p.stderr)
        fixture.write_h5(self.path("v9.h5"), fixture.grid_rows()[:3])
        with h5py.File(self.path("v9.h5"), "a") as f:
            f.attrs["schema_version"] = 9
        with self.assertRaisesRegex(cr.ResultsFileError, "v9.h5.*schema_version 9"):
            cr.load_results(self.path("v9.h5"))



class IsolatedReading(unittest.TestCase):
    """results_open.isolated, which report.py reads every file through: a reader that crashes
    the process (as HDF5 1.10 does on some damaged files), hangs or raises becomes one
    ResultsFileError naming the file; a result comes back whole."""

    def test_crash_hang_and_error_become_one_line_naming_the_file(self):
        with self.assertRaises(cr.ResultsFileError) as crash:
            cr.isolated("bad.h5", lambda: os.kill(os.getpid(), 11))
        self.assertIn("bad.h5: damaged results file (the HDF5 library crashed reading it (signal SIGSEGV))",
                      str(crash.exception))
        self.assertIn("crammer status bad.h5", str(crash.exception))
        with self.assertRaises(cr.ResultsFileError) as hang:
            cr.isolated("slow.h5", lambda: __import__("time").sleep(30), seconds=1)
        self.assertIn("slow.h5: damaged results file (no answer within 1 s)", str(hang.exception))
        with self.assertRaises(cr.ResultsFileError) as named:
            cr.isolated("x.h5", lambda: (_ for _ in ()).throw(cr.ResultsFileError("x.h5: lacks /results")))
        self.assertEqual(str(named.exception), "x.h5: lacks /results")
        # A library's multi-line message (PyYAML's "... \n  in <unicode string>, position 9")
        # still makes one line: the corruption probe's copy 22 once met one.
        self.assertEqual(str(cr.ResultsFileError("x.h5: not YAML: bad char\n  in \"<s>\", position 9")),
                         'x.h5: not YAML: bad char in "<s>", position 9')
        self.assertEqual(cr.isolated("ok.h5", lambda: {"rows": list(range(100000))})["rows"][-1], 99999)

if __name__ == "__main__":
    unittest.main()
