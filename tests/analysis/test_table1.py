"""The paper's Table 1 and Figure 3 fit (crammer_results.paper_table, report.py's
table1_paper.csv) on a results file whose values are known by construction: every number
below is worked out by hand from the rows written, not by the code under test.

Run: /usr/bin/python3 -m unittest -v test_table1
"""
import csv
import math
import os
import random
import statistics
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "analysis"))

import crammer_results as cr  # noqa: E402
import fixture  # noqa: E402

# (sample, length, best_acc, baseline_acc, baseline_loss, best_loss) for tiny-a, k 1; samples
# 0-2 are natural text (fixture.KINDS). Mean best_acc per length: 8 -> 1.0, 16 -> 0.99167,
# 32 -> 0.625, so the capacity is 16. best_acc <= 0.99 (the table's rows): the 0.985 and the
# 0.99 at length 16, both rows at 32; < 0.99 (the fit's rows): all of those but the 0.99.
ROWS = [
    (0, 8, 1.0, 0.25, 4.0, 0.001),
    (1, 8, 1.0, 0.25, 4.0, 0.001),
    (0, 16, 1.0, 0.25, 4.0, 0.001),
    (1, 16, 0.985, 0.25, 5.0, 2.5),   # text CE 80, with memory 40, token gain 11.76
    (2, 16, 0.99, 0.5, 2.0, 1.0),     # text CE 32, with memory 16, token gain 7.84
    (0, 32, 0.5, 0.125, 4.0, 2.0),    # text CE 128, with memory 64, token gain 12
    (1, 32, 0.75, 0.25, 3.0, 1.5),    # text CE 96, with memory 48, token gain 16
]
TEXT_CE = [80.0, 32.0, 128.0, 96.0]
GAIN = [40.0, 16.0, 64.0, 48.0]
TOKEN_GAIN = [11.76, 7.84, 12.0, 16.0]
FIT_B = -(40.0 + 64.0 + 48.0) / 3  # y = x + b by least squares with slope 1: mean(y - x)
THEORY = 1 * 64 * 16 / math.log2(300)  # tiny-a: d_model 64, vocabulary 300


def rows():
    rng = random.Random(0)
    out = []
    for s, n, acc, base_acc, base_loss, best_loss in ROWS:
        r = fixture._row(rng, "tiny-a", 0, s, 1, n)
        r.update(best_acc=acc, baseline_acc=base_acc, baseline_loss=base_loss, best_loss=best_loss)
        out.append(r)
    # Not in the table: a failed row, a capacity-search probe, and another model's rows.
    failed = fixture._row(rng, "tiny-a", 0, 2, 1, 32, status="failed")
    search = fixture._row(rng, "tiny-a", 0, 0, 1, 24, key="tiny-a/k1/search/s0", acc=0.2)
    other = [fixture._row(rng, "tiny-b", 1, s, 1, 16) for s in (0, 1)]
    return out + [failed, search] + other


class Table1(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.path = os.path.join(cls.tmp.name, "table1.h5")
        fixture.write_h5(cls.path, rows())
        table = cr.paper_table(cr.load_results(cls.path))
        cls.row = table[(table["model"] == "tiny-a") & (table["text_kind"] == "natural") &
                        (table["n_mem"] == 1)].iloc[0]

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_capacity_is_largest_length_with_mean_accuracy_at_threshold(self):
        self.assertEqual(self.row["capacity_tokens"], 16)
        self.assertEqual(self.row["rows"], 7)  # done grid rows only
        self.assertEqual(self.row["rows_below"], 4)

    def test_means_and_stds_over_rows_below_threshold(self):
        for col, values in (("text_ce_nats", TEXT_CE), ("info_gain_nats", GAIN), ("token_gain", TOKEN_GAIN)):
            self.assertAlmostEqual(self.row[col], statistics.mean(values), places=9, msg=col)
            self.assertAlmostEqual(self.row[col + "_std"], statistics.stdev(values), places=9, msg=col)
        self.assertAlmostEqual(self.row["compressed_ce_nats"], statistics.mean([40.0, 16.0, 64.0, 48.0]), places=9)

    def test_theoretical_capacity_utilisation_and_fit(self):
        self.assertAlmostEqual(self.row["theoretical_capacity_tokens"], THEORY, places=9)
        self.assertAlmostEqual(self.row["utilisation"], statistics.mean(TOKEN_GAIN) / THEORY, places=9)
        self.assertAlmostEqual(self.row["fit_b_nats"], FIT_B, places=9)
        self.assertEqual(self.row["fit_rows"], 3)

    def test_report_writes_the_same_table_and_figure(self):
        out = os.path.join(self.tmp.name, "report")
        p = subprocess.run([sys.executable, os.path.join(ROOT, "analysis", "report.py"), self.path,
                            "--out", out], capture_output=True, text=True, timeout=240)
        self.assertEqual(p.returncode, 0, p.stderr)
        with open(os.path.join(out, "table1_paper.csv"), newline="") as f:
            got = {(r["model"], r["text_kind"], r["n_mem"]): r for r in csv.DictReader(f)}
        r = got[("tiny-a", "natural", "1")]
        self.assertEqual(float(r["capacity_tokens"]), 16)
        self.assertAlmostEqual(float(r["info_gain_nats"]), statistics.mean(GAIN), places=9)
        self.assertAlmostEqual(float(r["fit_b_nats"]), FIT_B, places=9)
        with open(os.path.join(out, "table1_paper.md"), encoding="utf-8") as f:
            md = f.read()
        self.assertIn("| tiny-a | natural | 1 | 4 | 16 | 84.0 ± 40.0 | 42.0 ± 20.0 |", md)
        with open(os.path.join(out, "compressed_ce_vs_text_ce.png"), "rb") as f:
            self.assertEqual(f.read(8), b"\x89PNG\r\n\x1a\n")


if __name__ == "__main__":
    unittest.main()
