#!/usr/bin/env python3
"""MPI tests of sweep/mpi_session.hpp: real `mpiexec -n N` runs of mpi_session_driver.

Cases: ok (np 1, 2, 3: exit 0, every rank passed the coordinator step with code 0, rank 0
names this host once) | config (rank 0's step throws a ConfigError: one rank exits 2 with the
exception in the caller's hands; 3 ranks exit 2 within the bound, the error printed once, no
rank left waiting) | crash (the same with a plain exception: exit 1) | stall (rank 1 stops
itself before finalize: rank 0's bounded finalize gives up after its limit and exits with its
own code, 3, and mpiexec ends the job).
Standard library only (any python3).
"""
import argparse
import os
import shutil
import socket
import subprocess

BOUND_S = 60


def fail(msg, log=""):
    if log:
        print(log[-4000:])
    raise SystemExit(f"FAIL: {msg}")


def run(args, name, np, mode, env=None):
    work = os.path.join(args.workdir, name)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    out = os.path.join(work, "result")
    cmd = [args.mpiexec, "--oversubscribe", "-n", str(np), args.driver, mode, out]
    print("$", " ".join(cmd), flush=True)
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=BOUND_S,
                           env=dict(os.environ, **(env or {})))
    except subprocess.TimeoutExpired as e:
        fail(f"{name}: no exit within {BOUND_S} s (a rank waits for another)", (e.stdout or b"").decode(errors="replace"))
    codes = {}
    for r in range(np):
        path = f"{out}.rank{r}"
        if os.path.exists(path):
            with open(path) as f:
                codes[r] = int(f.read())
    print(f"{name}: exit {p.returncode}, step codes {codes}")
    return p, codes


def case_ok(args):
    for np in (1, 2, 3):
        p, codes = run(args, f"ok_np{np}", np, "ok")
        if p.returncode != 0 or codes != {r: 0 for r in range(np)}:
            fail(f"np={np}: exit {p.returncode}, step codes {codes}", p.stdout)
        if f"hosts={socket.gethostname()}\n" not in p.stdout:
            fail(f"np={np}: rank 0 did not name this host once", p.stdout)


def case_failing(args, mode, code, text):
    p, codes = run(args, f"{mode}_np1", 1, mode)
    if p.returncode != code or f"caught: {text}" not in p.stdout or 0 in codes:
        fail(f"np=1: want exit {code} and the {mode} error back in main", p.stdout)
    p, codes = run(args, f"{mode}_np3", 3, mode)
    if p.returncode != code:
        fail(f"np=3: exit {p.returncode}, want {code}", p.stdout)
    if p.stdout.count(f"mpi_session_driver: error: {text}") != 1:
        fail("np=3: the error must be printed exactly once", p.stdout)
    if 0 in codes or any(c != code for c in codes.values()):
        fail(f"np=3: a worker that passed the step must have got {code}: {codes}", p.stdout)


def case_stall(args):
    # A short limit (CRAMMER_FINALIZE_SECONDS, as the run's own 30 s): the test waits on rank 0's
    # message and exit code, not on a clock.
    limit = 2
    p, codes = run(args, "stall_np2", 2, "stall", env={"CRAMMER_FINALIZE_SECONDS": str(limit)})
    if codes != {0: 0, 1: 0}:
        fail(f"both ranks must have passed the step: {codes}", p.stdout)
    if f"MPI_Finalize did not return within {limit} s" not in p.stdout or "exiting with code 3" not in p.stdout:
        fail("rank 0 must say that finalize did not return within its limit and exit with its code", p.stdout)
    if p.returncode != 3:
        fail(f"mpiexec exit {p.returncode}: want rank 0's own code 3", p.stdout)
    print(f"stall: rank 0 gave up on finalize after {limit} s, mpiexec {p.returncode}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("case", choices=["ok", "config", "crash", "stall"])
    ap.add_argument("--driver", required=True)
    ap.add_argument("--mpiexec", required=True)
    ap.add_argument("--workdir", required=True)
    args = ap.parse_args()
    if args.case == "ok":
        case_ok(args)
    elif args.case == "config":
        case_failing(args, "config", 2, "plan failed on purpose")
    elif args.case == "crash":
        case_failing(args, "crash", 1, "crashed on purpose")
    else:
        case_stall(args)
    print(f"PASS {args.case}")


if __name__ == "__main__":
    main()
