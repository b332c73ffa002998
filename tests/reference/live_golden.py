#!/usr/bin/env python3
"""Live reference check (the venv's transformers): regenerates the golden fixtures with
make_fixtures.py into WORKDIR and runs crammer's golden test on them, so a change in crammer
or a transformers version bump is judged against transformers itself, not the committed copy."""
import argparse
import os
import pathlib
import shutil
import subprocess
import sys

here = pathlib.Path(__file__).resolve().parent
ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
ap.add_argument("--golden", required=True, help="the reference_test_golden executable")
ap.add_argument("--workdir", required=True, type=pathlib.Path)
args = ap.parse_args()
if args.workdir.exists():
    shutil.rmtree(args.workdir)
fixtures = args.workdir / "fixtures"
subprocess.run([sys.executable, str(here / "make_fixtures.py"), str(fixtures)], check=True)
env = dict(os.environ, CRAMMER_FIXTURES=str(fixtures))
sys.exit(subprocess.run([args.golden], env=env).returncode)
