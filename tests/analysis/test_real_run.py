"""report.py on results files written by the real `crammer run` (two random tiny models, a
token-ids corpus, a grid sweep and a bisect capacity search): every figure and table is
written, and the table equals recompute.py's recomputation from `crammer export` CSV.

Needs the binary: CRAMMER_BIN (ctest sets it); without it the test is skipped.
"""
import json
import os
import random
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "..", "analysis"))

import crammer_results as cr  # noqa: E402
import recompute  # noqa: E402
from test_report import check_report_outputs, run_report  # noqa: E402

CRAMMER = os.environ.get("CRAMMER_BIN", "")
VOCAB = 256


def crammer(*args, stdout=None):
    p = subprocess.run([CRAMMER, *args], capture_output=stdout is None, stdout=stdout,
                       text=True, timeout=600)
    if p.returncode != 0:
        raise AssertionError(f"crammer {' '.join(args)} failed ({p.returncode}):\n{p.stderr}")
    return p


CONFIG = """models:
{models}
corpus:
  format: token-ids
  paths: [{corpus}]
  samples: 3
  seed: 0
cram:
  n_mem: {n_mem}
  lengths: [4, 8, 16]
  search: {search}
  init_std_scale: 4.0
  optimizer: {{lr: 0.05, max_steps: 25, patience: 25}}
batching: {{batch_size: 4}}
runtime: {{device: cpu, threads: 1, seed: 0}}
output: {{path: {out}}}
"""


@unittest.skipUnless(CRAMMER and os.access(CRAMMER, os.X_OK), "CRAMMER_BIN not set")
class ReportOnRealRun(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = self.tmp.name

    def tearDown(self):
        self.tmp.cleanup()

    def path(self, name):
        return os.path.join(self.dir, name)

    def export(self, h5, prefix):
        for table in ("results", "models", "samples"):
            with open(f"{prefix}{table}.csv", "w") as f:
                crammer("export", h5, "--table", table, stdout=f)
        return [f"{prefix}{t}.csv" for t in ("results", "models", "samples")]

    def test_report_equals_recomputation_from_export(self):
        models = []
        for name, d in (("rand-a", 32), ("rand-b", 64)):
            crammer("make-model", "--arch", "gpt2", "--layers", "1", "--d-model", str(d),
                    "--heads", "2", "--vocab-size", str(VOCAB), "--seed", "1",
                    "--out", self.path(name))
            models.append(f"  - {{name: {name}, path: {self.path(name)}, dtype: f32}}")
        rng = random.Random(0)
        with open(self.path("ids.jsonl"), "w") as f:
            for n in (16, 16, 10):  # the third sample is too short for length 16: skipped
                f.write(json.dumps([rng.randrange(VOCAB) for _ in range(n)]) + "\n")
        grid_cfg = self.path("grid.yaml")
        with open(grid_cfg, "w") as f:
            f.write(CONFIG.format(models="\n".join(models), corpus=self.path("ids.jsonl"),
                                  n_mem="[1, 2]", search="grid", out=self.path("grid.h5")))
        search_cfg = self.path("search.yaml")
        with open(search_cfg, "w") as f:
            f.write(CONFIG.format(models=models[1], corpus=self.path("ids.jsonl"),
                                  n_mem="[4]", search="bisect", out=self.path("search.h5")))
        crammer("run", grid_cfg)
        crammer("run", search_cfg)

        grid = recompute.recompute(*self.export(self.path("grid.h5"), self.path("grid_")),
                                   file_tag="grid")
        search = recompute.recompute(*self.export(self.path("search.h5"), self.path("search_")),
                                     file_tag="search")
        want = recompute.merge(grid, search)
        self.assertEqual(len(want), 5)  # 2 models x k 1,2 (grid) + 1 model x k 4 (search)
        self.assertTrue(any(v["skipped"] for v in want.values()))
        df = cr.load_many([self.path("grid.h5"), self.path("search.h5")])
        self.assertEqual(sorted(df["mode"].unique()), ["grid", "search"])

        p = run_report([self.path("grid.h5"), self.path("search.h5")], self.path("out"))
        self.assertEqual(p.returncode, 0, p.stderr)
        check_report_outputs(self, self.path("out"), want)


if __name__ == "__main__":
    unittest.main()
