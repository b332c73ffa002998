#!/usr/bin/env python3
"""Live reference check (the venv's transformers): regenerates golden fixtures with their maker
(make_fixtures.py by default) into WORKDIR and runs the crammer test that reads them, pointed
there by an environment variable, so a change in crammer or a transformers version bump is
judged against transformers itself, not the committed copy.

  live_golden.py --golden TEST_EXE --workdir DIR [--maker SCRIPT --env VAR --output NAME]
"""
import argparse
import os
import pathlib
import shutil
import subprocess
import sys

here = pathlib.Path(__file__).resolve().parent
ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
ap.add_argument("--golden", required=True, help="the test executable that reads the fixtures")
ap.add_argument("--workdir", required=True, type=pathlib.Path)
ap.add_argument("--maker", default="make_fixtures.py", help="fixture maker beside this script")
ap.add_argument("--env", default="CRAMMER_FIXTURES", help="variable that points the test at them")
ap.add_argument("--output", default="fixtures", help="the maker's output, under WORKDIR")
args = ap.parse_args()
if args.workdir.exists():
    shutil.rmtree(args.workdir)
args.workdir.mkdir(parents=True)
fixtures = args.workdir / args.output
subprocess.run([sys.executable, str(here / args.maker), str(fixtures)], check=True)
env = dict(os.environ, **{args.env: str(fixtures)})
sys.exit(subprocess.run([args.golden], env=env).returncode)
