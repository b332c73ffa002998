"""report.py on a results file written by the real store: analysis_write_results (a C++ test
helper) stores the fixture's rows with ResultsWriter and exports the three tables with
write_csv, the code behind `crammer export`. The table must equal recompute.py's
recomputation from that CSV. Needs CRAMMER_WRITE_RESULTS (ctest sets it); skipped without.
"""
import json
import os
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "..", "analysis"))

import crammer_results as cr  # noqa: E402
import fixture  # noqa: E402
import recompute  # noqa: E402
from test_report import check_report_outputs, run_report  # noqa: E402

WRITER = os.environ.get("CRAMMER_WRITE_RESULTS", "")


def write_real(json_path, h5, prefix, rows, models=fixture.MODELS):
    desc = {
        "config_yaml": "cram:\n  n_mem: [1, 2]\n",
        "models": [{"model_index": i, "name": n, "path": f"models/{n}", "dtype": "f32",
                    "model_type": "gpt2", "d_model": d, "num_layers": layers,
                    "vocab_size": v, "n_params": p}
                   for i, (n, d, layers, v, p) in enumerate(models)],
        "samples": [{"sample_id": s, "model_index": mi, "source": "corpus.txt",
                     "offset": 100 * s, "text_kind": kind, "text": f"text {s}",
                     "token_ids": list(range(s, s + 70))}
                    for mi in range(len(models)) for s, kind in fixture.KINDS.items()],
        "rows": [{k: (bool(v) if isinstance(v, bool) else v) for k, v in r.items()}
                 for r in rows],
    }
    with open(json_path, "w") as f:
        json.dump(desc, f)
    p = subprocess.run([WRITER, json_path, h5, prefix], capture_output=True, text=True,
                       timeout=120)
    if p.returncode != 0:
        raise AssertionError(f"analysis_write_results failed:\n{p.stderr}")
    return [prefix + t + ".csv" for t in ("results", "models", "samples")]


@unittest.skipUnless(WRITER and os.access(WRITER, os.X_OK), "CRAMMER_WRITE_RESULTS not set")
class ReportOnStoreFile(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = self.tmp.name

    def tearDown(self):
        self.tmp.cleanup()

    def path(self, name):
        return os.path.join(self.dir, name)

    def test_report_equals_recomputation_from_export(self):
        grid, search = fixture.grid_rows(seed=11), fixture.search_rows(seed=12)
        g = write_real(self.path("g.json"), self.path("grid.h5"), self.path("grid_"), grid)
        s = write_real(self.path("s.json"), self.path("search.h5"), self.path("search_"), search)
        df = cr.load_many([self.path("grid.h5"), self.path("search.h5")])
        self.assertEqual(len(df), len(grid) + len(search))
        self.assertEqual(sorted(df["status"].unique()), ["done", "failed", "skipped"])
        want = recompute.merge(recompute.recompute(*g, file_tag="grid"),
                               recompute.recompute(*s, file_tag="search"))
        p = run_report([self.path("grid.h5"), self.path("search.h5")], self.path("out"))
        self.assertEqual(p.returncode, 0, p.stderr)
        check_report_outputs(self, self.path("out"), want)

    def test_superseded_rows_are_left_out(self):
        grid = fixture.grid_rows(seed=11)
        old = dict(grid[0], status="superseded", error="an earlier attempt")
        write_real(self.path("g.json"), self.path("grid.h5"), self.path("grid_"), [old] + grid)
        df = cr.load_results(self.path("grid.h5"))
        self.assertEqual(len(df), len(grid))
        self.assertNotIn("superseded", set(df["status"]))
        every = cr.load_results(self.path("grid.h5"), superseded=True)
        self.assertEqual(len(every), len(grid) + 1)
        self.assertEqual(list(every["status"]).count("superseded"), 1)


if __name__ == "__main__":
    unittest.main()
