#!/usr/bin/env python3
"""MPI tests of the startup device check (sweep/device_check.hpp): real `mpiexec -n N` runs of
device_check_driver, whose probe is a plain C++ sum(ones(64,64) @ ones(64,64)) = 262144.

Cases: ok (np 1, 2, 3: exit 0, sum = workers x 262144) | throws (one worker's probe throws:
every rank exits 2 within the bound, rank 0's message names that rank, host, device and error)
| wrong (one worker's probe is off by one: detected and named the same way).
Standard library only (any python3).
"""
import argparse
import os
import shutil
import subprocess
import sys
import time

EXPECTED = 262144
BOUND_S = 20.0  # mpirun start + the check + teardown; a rank left waiting would hit the timeout


def fail(msg, log=""):
    if log:
        print(log[-4000:])
    raise SystemExit(f"FAIL: {msg}")


def run(args, name, np, extra):
    work = os.path.join(args.workdir, name)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    out = os.path.join(work, "result")
    cmd = [args.mpiexec, "--oversubscribe", "-n", str(np), args.driver, "--out", out] + extra
    print("$", " ".join(cmd), flush=True)
    t0 = time.time()
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=60)
    except subprocess.TimeoutExpired as e:
        fail(f"{name}: no exit within 60 s (a rank waits for another)", (e.stdout or b"").decode(errors="replace"))
    took = time.time() - t0
    ranks = {}
    for r in range(np):
        try:
            with open(f"{out}.rank{r}") as f:
                code, _, message = f.read().partition("\n")
            ranks[r] = (int(code), message.strip())
        except FileNotFoundError:
            ranks[r] = (None, "")
    print(f"{name}: mpiexec exit {p.returncode} after {took:.2f} s; ranks { {r: c for r, (c, _) in ranks.items()}}")
    return p, took, ranks


def case_ok(args):
    for np in (1, 2, 3):
        p, took, ranks = run(args, f"ok_np{np}", np, [])
        workers = 1 if np == 1 else np - 1
        if p.returncode != 0 or any(c != 0 for c, _ in ranks.values()):
            fail(f"np={np}: exit {p.returncode}, ranks {ranks}", p.stdout)
        want = f"device check ok: workers={workers} sum={workers * EXPECTED} transport=mpi"
        if want not in p.stdout:
            fail(f"np={np}: expected '{want}' from rank 0", p.stdout)
        if p.stdout.count("device check ok") != 1:
            fail(f"np={np}: only rank 0 reports", p.stdout)


def expect_failure(args, name, np, extra, bad_rank, words):
    p, took, ranks = run(args, name, np, extra)
    if p.returncode == 0:
        fail(f"{name}: mpiexec exit 0, expected a failure", p.stdout)
    codes = {r: c for r, (c, _) in ranks.items()}
    if any(c != 2 for c in codes.values()):
        fail(f"{name}: rank exit codes {codes}, expected 2 on every rank", p.stdout)
    if took > BOUND_S:
        fail(f"{name}: took {took:.1f} s to fail (bound {BOUND_S} s)", p.stdout)
    message = ranks[0][1]
    for w in [f"rank {bad_rank} (host ", "device cpu"] + words:
        if w not in message:
            fail(f"{name}: rank 0's message lacks '{w}': {message!r}", p.stdout)
    workers = 1 if np == 1 else np - 1
    if f"failed on 1 of {workers} worker(s)" not in message:
        fail(f"{name}: rank 0's message should count 1 of {workers} failing: {message!r}", p.stdout)
    for r in range(1, np):
        if f"failed on rank(s) {bad_rank};" not in ranks[r][1]:
            fail(f"{name}: rank {r}'s message should name rank {bad_rank}: {ranks[r][1]!r}", p.stdout)
    print(f"{name}: rank 0 says: {message}")


def case_throws(args):
    expect_failure(args, "throws_np3", 3, ["--throw-on", "2"], 2,
                   ["threw: synthetic device fault on rank 2"])
    expect_failure(args, "throws_np2", 2, ["--throw-on", "1"], 1,
                   ["threw: synthetic device fault on rank 1"])
    # One process: it is the worker, its own fault is reported by itself.
    expect_failure(args, "throws_np1", 1, ["--throw-on", "0"], 0,
                   ["threw: synthetic device fault on rank 0"])


def case_wrong(args):
    expect_failure(args, "wrong_np3", 3, ["--wrong-on", "1"], 1,
                   ["sum(ones(64,64) @ ones(64,64)) = 262145, expected 262144"])
    expect_failure(args, "wrong_np2", 2, ["--wrong-on", "1"], 1,
                   ["= 262145, expected 262144"])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("case", choices=["ok", "throws", "wrong"])
    ap.add_argument("--driver", required=True)
    ap.add_argument("--mpiexec", required=True)
    ap.add_argument("--workdir", required=True)
    args = ap.parse_args()
    os.makedirs(args.workdir, exist_ok=True)
    {"ok": case_ok, "throws": case_throws, "wrong": case_wrong}[args.case](args)
    print("PASS")


if __name__ == "__main__":
    sys.exit(main())
