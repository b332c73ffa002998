"""The shared command line of the live transformers checks (check_bos.py, check_make_model.py):
--crammer and --workdir plus the script's own options, a fresh work directory, one check per
case, every failure printed, exit status 1 if any."""
import argparse
import pathlib
import shutil
import sys


def run_cases(doc, cases, check, add_arguments=None):
    """check(name, case, args) -> list of error strings, for each name, case in cases.items()."""
    ap = argparse.ArgumentParser(description=doc.splitlines()[0])
    ap.add_argument("--crammer", required=True)
    ap.add_argument("--workdir", required=True, type=pathlib.Path)
    if add_arguments:
        add_arguments(ap)
    args = ap.parse_args()
    if args.workdir.exists():
        shutil.rmtree(args.workdir)
    args.workdir.mkdir(parents=True)
    errors = []
    for name, case in cases.items():
        errors += check(name, case, args)
    for e in errors:
        print("FAIL " + e, file=sys.stderr)
    sys.exit(1 if errors else 0)
