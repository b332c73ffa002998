#!/usr/bin/python3
"""End-to-end tests of `crammer run` with real mpirun ranks, a real checkpoint written by
`crammer make-model`, the real GPT-2 tokenizer and the real HDF5 file read back with h5py.

usage: sweep_test.py CASE --crammer BIN --workdir DIR
CASE: ranks | kill_worker | kill_coordinator | sigterm | sigusr1_mpirun | sigterm_mpirun | cli
"""
import argparse
import csv
import io
import json
import os
import signal
import subprocess
import sys
import time

import h5py
import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ENV = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def check(cond, msg):
    if not cond:
        fail(msg)


def run(cmd, **kw):
    print("+ " + " ".join(cmd), flush=True)
    return subprocess.run(cmd, env=ENV, cwd=REPO, text=True, capture_output=True, **kw)


def make_model(crammer, out):
    if os.path.exists(os.path.join(out, "config.json")):
        return
    r = run([crammer, "make-model", "--arch", "llama", "--layers", "2", "--d-model", "64", "--heads", "4",
             "--kv-heads", "2", "--tokenizer", "data/tokenizers/gpt2", "--seed", "1", "--out", out])
    check(r.returncode == 0, "make-model failed: " + r.stderr)


def write_config(path, model, results, samples=3, max_steps=30, lengths=(8, 16), n_mem=(1, 2), batch=4):
    with open(path, "w") as f:
        f.write(f"""models:
  - name: tiny
    path: {model}
    dtype: f32
corpus:
  format: text
  paths: [data/corpora/austen/persuasion.txt]
  samples: {samples}
  seed: 3
cram:
  n_mem: [{", ".join(map(str, n_mem))}]
  lengths: [{", ".join(map(str, lengths))}]
  optimizer: {{max_steps: {max_steps}, patience: {max_steps}}}
batching: {{batch_size: {batch}}}
runtime: {{threads: 1, seed: 5}}
output: {{path: {results}, flush_seconds: 0.5}}
""")


def remove_outputs(out):
    """A results file and its journal from an earlier run of the same test, gone."""
    for f in (out, out + ".journal"):
        if os.path.exists(f):
            os.remove(f)


def mpirun(n, crammer, args):
    return ["mpirun", "--oversubscribe", "-np", str(n), crammer] + args


def read_rows(path):
    """Rows of /results keyed by (task_key, length), read with h5py (SWMR when possible)."""
    try:
        f = h5py.File(path, "r", libver="latest", swmr=True)
    except OSError:
        f = h5py.File(path, "r")
    with f:
        # The metric columns as the file itself lists them (crammer's field list).
        metrics = [c["name"] for c in json.loads(f["results"].attrs["columns"]) if c["section"] == "metric"]
        data = f["results"][()]
    rows = {}
    dup = []
    for r in data:
        key = (r["task_key"].decode().rstrip("\0"), int(r["length"]))
        if key in rows:
            dup.append(key)
        rows[key] = {m: r[m].item() for m in metrics}
        rows[key]["status"] = int(r["status"])
        rows[key]["wall_seconds"] = float(r["wall_seconds"])
    return rows, dup


def expected_keys(crammer, config):
    r = run([crammer, "plan", config, "--json"])
    check(r.returncode == 0, "plan --json failed: " + r.stderr)
    import json
    plan = json.loads(r.stdout)
    keys = {(t["key"], int(t["length"])) for t in plan["tasks"]}
    keys |= {(s["task_key"], int(s["length"])) for s in plan.get("skipped", [])}
    return keys


def case_ranks(a):
    model = os.path.join(a.workdir, "model")
    make_model(a.crammer, model)
    results = {}
    for n in (1, 2, 3):
        cfg = os.path.join(a.workdir, f"r{n}.yaml")
        out = os.path.join(a.workdir, f"r{n}.h5")
        for stale in (out, out + ".journal"):  # from an older build's run in this work dir
            if os.path.exists(stale):
                os.remove(stale)
        write_config(cfg, model, out)
        r = run(mpirun(n, a.crammer, ["run", cfg, "--fresh", "--progress", "log"]), timeout=600)
        check(r.returncode == 0, f"run with {n} ranks exited {r.returncode}: {r.stderr[-3000:]}")
        workers = 1 if n == 1 else n - 1
        check(f"device check passed: {workers} worker(s) on cpu" in r.stderr and f"mpi: {workers * 262144}" in r.stderr,
              f"{n} ranks: no device check line: {r.stderr[-3000:]}")
        rows, dup = read_rows(out)
        check(not dup, f"{n} ranks: duplicated rows {dup}")
        keys = expected_keys(a.crammer, cfg)
        check(set(rows) == keys, f"{n} ranks: rows {sorted(set(rows) ^ keys)} differ from the plan")
        check(all(v["status"] == 0 for v in rows.values()), f"{n} ranks: a task failed")
        results[n] = rows
        # The C++ reader agrees with h5py: the CSV export has the same rows and values.
        r = run([a.crammer, "export", out])
        check(r.returncode == 0, "export failed: " + r.stderr)
        table = list(csv.DictReader(io.StringIO(r.stdout)))
        check(len(table) == len(rows), f"export has {len(table)} rows, h5py {len(rows)}")
        for t in table:
            h = rows[(t["task_key"], int(t["length"]))]
            for m in ("best_loss", "baseline_loss", "best_acc"):
                check(abs(float(t[m]) - h[m]) <= 1e-9 * max(1.0, abs(h[m])), f"export {m} {t[m]} != h5py {h[m]}")
        r = run([a.crammer, "status", out])
        check(r.returncode == 0 and "tiny" in r.stdout, "status failed: " + r.stdout + r.stderr)
    # Same metrics per task whatever the rank count (batches differ: batched == one-by-one).
    worst = 0.0
    for key, ref in results[1].items():
        for n in (2, 3):
            other = results[n][key]
            for m in ("n_tokens", "n_targets", "baseline_acc"):
                check(ref[m] == other[m], f"{key} {m}: {ref[m]} (1 rank) != {other[m]} ({n} ranks)")
            for m in ("baseline_loss", "best_loss", "best_acc", "info_gain_nats"):
                d = abs(ref[m] - other[m])
                worst = max(worst, d / max(1.0, abs(ref[m])))
    print(f"max relative difference across rank counts: {worst:.3g}")
    check(worst <= 1e-3, f"metrics differ across rank counts by {worst}")
    # Resume: a rerun stores nothing new and duplicates nothing.
    cfg = os.path.join(a.workdir, "r2.yaml")
    r = run(mpirun(2, a.crammer, ["run", cfg]), timeout=300)
    check(r.returncode == 0, "resume run failed: " + r.stderr[-2000:])
    rows, dup = read_rows(os.path.join(a.workdir, "r2.h5"))
    check(not dup and rows == results[2], "resume changed the file")


def descends_from(pid, ancestor):
    """Whether process `pid` is `ancestor` or below it (parent links in /proc/PID/stat)."""
    while pid > 1:
        if pid == ancestor:
            return True
        try:
            with open(f"/proc/{pid}/stat") as f:
                pid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            return False
    return False


def worker_pids(parent):
    """(rank, pid) of the crammer processes started by mpirun `parent` (another job's ranks,
    e.g. of a test running beside this one, are not ours to signal)."""
    out = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or not descends_from(int(pid), parent):
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read().split(b"\0")
            if not cmd or not cmd[0].endswith(b"crammer"):
                continue
            with open(f"/proc/{pid}/environ", "rb") as f:
                env = dict(x.split(b"=", 1) for x in f.read().split(b"\0") if b"=" in x)
            rank = env.get(b"OMPI_COMM_WORLD_RANK")
            if rank is not None:
                out.append((int(rank), int(pid)))
        except (OSError, ValueError):
            continue
    return sorted(out)


def start_long_sweep(a, name, ranks=3, max_steps=80):
    model = os.path.join(a.workdir, "model")
    make_model(a.crammer, model)
    cfg = os.path.join(a.workdir, f"{name}.yaml")
    out = os.path.join(a.workdir, f"{name}.h5")
    for p in (out, out + ".journal"):
        if os.path.exists(p):
            os.remove(p)
    write_config(cfg, model, out, samples=6, max_steps=max_steps, lengths=(8, 16, 24), batch=1)
    cmd = mpirun(ranks, a.crammer, ["run", cfg, "--progress", "log", "--progress-seconds", "1"])
    print("+ " + " ".join(cmd), flush=True)
    proc = subprocess.Popen(cmd, env=ENV, cwd=REPO, text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    return cfg, out, proc


def wait_for_rows(out, n, proc, timeout=240):
    t0 = time.time()
    while time.time() - t0 < timeout:
        if proc.poll() is not None:
            fail("the sweep ended before it could be interrupted:\n" + proc.stdout.read()[-3000:])
        try:
            rows, _ = read_rows(out)
            if len(rows) >= n:
                return rows
        except (OSError, KeyError):
            pass
        time.sleep(0.2)
    fail(f"no {n} rows within {timeout} s")


def finish_and_check(a, cfg, out, before):
    r = run(mpirun(3, a.crammer, ["run", cfg, "--progress", "log"]), timeout=600)
    check(r.returncode == 0, f"resumed run exited {r.returncode}: {r.stderr[-3000:]}")
    rows, dup = read_rows(out)
    check(not dup, f"duplicated rows after resume: {dup}")
    keys = expected_keys(a.crammer, cfg)
    check(set(rows) == keys, f"missing or extra rows after resume: {sorted(keys ^ set(rows))[:10]}")
    for k, v in before.items():
        check(rows[k] == v, f"row {k} changed after the crash: {v} -> {rows[k]}")
    print(f"{len(before)} rows stored before the kill kept; {len(rows)} rows after resume, none duplicated")


def case_kill(a, which):
    cfg, out, proc = start_long_sweep(a, "kill_" + which)
    wait_for_rows(out, 4, proc)
    pids = worker_pids(proc.pid)
    check(len(pids) == 3, f"expected 3 ranks, found {pids}")
    victim = pids[0][1] if which == "coordinator" else pids[1][1]
    # Rows visible to a reader just before the kill are rows rank 0 reported stored.
    before, _ = read_rows(out)
    os.kill(victim, signal.SIGKILL)
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        fail("mpirun did not end within 60 s of a SIGKILLed rank")
    for _, pid in pids:  # make sure no rank lingers
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    # `crammer status` can read the file left by the crash.
    r = run([a.crammer, "status", out])
    check(r.returncode == 0, "status after the crash failed: " + r.stderr)
    finish_and_check(a, cfg, out, before)


def case_sigterm(a, to_mpirun=False):
    """SIGTERM to every rank, as Slurm does at a time limit or preemption; or SIGUSR1 to
    mpirun, which forwards it (mpirun answers SIGTERM itself by killing ranks after ~1 s)."""
    cfg, out, proc = start_long_sweep(a, "sigusr1" if to_mpirun else "sigterm")
    wait_for_rows(out, 3, proc)
    t0 = time.time()
    if to_mpirun:
        proc.send_signal(signal.SIGUSR1)
    else:
        for _, pid in worker_pids(proc.pid):
            os.kill(pid, signal.SIGTERM)
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        fail("no exit within 60 s of SIGTERM")
    took = time.time() - t0
    log = proc.stdout.read()
    print(log[-2000:])
    check(proc.returncode == 75, f"exit code {proc.returncode} after the signal, expected 75")
    print(f"clean exit 75 {took:.1f} s after the signal")
    before, dup = read_rows(out)
    check(not dup, "duplicates after SIGTERM")
    check(len(before) >= 3, "rows lost by the SIGTERM stop")
    finish_and_check(a, cfg, out, before)


def case_sigterm_mpirun(a):
    """While a sweep runs, a second run of its results file is refused with 73 (alone and under
    mpirun), naming the lock; then SIGTERM to mpirun itself: every rank stops cleanly with 75 but
    mpirun reports its own 1 (README's exit codes), and the file is complete for the resume."""
    cfg, out, proc = start_long_sweep(a, "sigterm_mpirun", max_steps=400)
    wait_for_rows(out, 2, proc)
    for cmd in ([a.crammer, "run", cfg], mpirun(2, a.crammer, ["run", cfg])):
        r = run(cmd, timeout=120)
        check(r.returncode == 73 and "another crammer run is writing this results file" in r.stderr,
              f"{cmd[0]} beside a running sweep: exit {r.returncode}: {r.stderr[-2000:]}")
    if proc.poll() is not None:  # (reading the log waits for mpirun's end: only then)
        fail("the sweep ended before the signal:\n" + proc.stdout.read()[-3000:])
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        fail("mpirun did not end within 60 s of SIGTERM")
    log = proc.stdout.read()
    print(log[-2000:])
    check(proc.returncode == 1, f"mpirun exit {proc.returncode} after SIGTERM; the README says 1 (mpirun's own)")
    check("sweep interrupted" in log, "the ranks did not stop cleanly on mpirun's SIGTERM")
    before, dup = read_rows(out)
    check(not dup and len(before) >= 2, f"rows after SIGTERM: {len(before)}, duplicates {dup}")
    finish_and_check(a, cfg, out, before)


def case_cli(a):
    r = run([a.crammer, "--version"])
    check(r.returncode == 0, "--version failed")
    for word in ("crammer 0.", "LibTorch ", "Open MPI", "HDF5 1."):
        check(word in r.stdout, f"--version lacks '{word}': {r.stdout}")
    r = run([a.crammer, "--help"])
    for sub in ("run", "plan", "status", "export", "make-model", "tokenize", "submit"):
        check(f"  {sub} " in r.stdout, f"--help lacks {sub}")
        h = run([a.crammer, sub, "--help"])
        check(h.returncode == 0 and "usage: crammer " + sub in h.stdout, f"{sub} --help: {h.stdout} {h.stderr}")
    model = os.path.join(a.workdir, "model")
    make_model(a.crammer, model)
    cfg = os.path.join(a.workdir, "cli.yaml")
    write_config(cfg, model, os.path.join(a.workdir, "cli.h5"))
    # --print-config output is accepted again unchanged.
    r1 = run([a.crammer, "plan", cfg, "--print-config", "cram.optimizer.lr=0.005"])
    check(r1.returncode == 0, "print-config failed: " + r1.stderr)
    cfg2 = os.path.join(a.workdir, "printed.yaml")
    with open(cfg2, "w") as f:
        f.write(r1.stdout)
    r2 = run([a.crammer, "plan", cfg2, "--print-config"])
    check(r2.returncode == 0 and r2.stdout == r1.stdout, "print-config round trip differs")
    r = run([a.crammer, "plan", cfg2])
    check(r.returncode == 0 and "token-steps" in r.stdout, "plan summary: " + r.stdout + r.stderr)
    # A cuda device on this GPU-less machine: a CPU-only LibTorch can never run it (exit 2); a
    # CUDA LibTorch could on a GPU node, so plan only notes that this process sees no GPU.
    r = run([a.crammer, "plan", cfg2, "runtime.device=cuda"])
    if r.returncode == 2:
        check("runtime.device: 'cuda' but this crammer is built against a LibTorch without CUDA" in r.stderr, r.stderr)
    else:
        check(r.returncode == 0 and "note: runtime.device: 'cuda': this process sees no GPU" in r.stdout,
              f"plan with runtime.device=cuda: exit {r.returncode}: {r.stdout} {r.stderr}")
    # Bad input: exit 2, one message naming file and key, no stack trace.
    r = run([a.crammer, "plan", cfg, "cram.optimizer.lrr=1"])
    check(r.returncode == 2, f"bad key exit {r.returncode}")
    check("cram.optimizer.lrr" in r.stderr and "did you mean 'cram.optimizer.lr'" in r.stderr, r.stderr)
    check(len(r.stderr.strip().splitlines()) == 1, "more than one line of error: " + r.stderr)
    r = run([a.crammer, "run", cfg, "cram.n_mem=[]"])
    check(r.returncode == 2 and "cram.n_mem: must not be empty" in r.stderr, r.stderr)
    # runtime.device=cuda where no GPU is visible (CPU LibTorch, or CUDA_VISIBLE_DEVICES empty):
    # exit 2 before any work, naming the key and the reasons; the results file is not created.
    gpu_less = dict(ENV, CUDA_VISIBLE_DEVICES="")
    nogpu_out = os.path.join(a.workdir, "nogpu.h5")
    for cmd in ([a.crammer], mpirun(3, a.crammer, [])):
        r = subprocess.run(cmd + ["run", cfg, "runtime.device=cuda", f"output.path={nogpu_out}"], env=gpu_less,
                           cwd=REPO, text=True, capture_output=True, timeout=120)
        check(r.returncode == 2 and "runtime.device: 'cuda' but this process sees no GPU" in r.stderr
              and "CUDA_VISIBLE_DEVICES (here '')" in r.stderr, f"cuda without a GPU: {r.returncode} {r.stderr}")
        check(not os.path.exists(nogpu_out), "results file created before the device check")
    r = run([a.crammer, "run", cfg, "runtime.device=cuda:x"])
    check(r.returncode == 2 and "'cuda:x' is not one of cpu | cuda | cuda:N" in r.stderr, r.stderr)
    # runtime.attention=sdpa runs (both kernels' numbers are compared in test_attention.cpp).
    sdpa_out = os.path.join(a.workdir, "sdpa.h5")
    for stale in (sdpa_out, sdpa_out + ".journal"):
        if os.path.exists(stale):
            os.remove(stale)
    r = run([a.crammer, "run", cfg, "runtime.attention=sdpa", f"output.path={sdpa_out}"])
    check(r.returncode == 0 and os.path.exists(sdpa_out), f"sdpa: {r.returncode} {r.stderr}")
    r = run([a.crammer, "run", cfg, "runtime.attention=flash"])
    check(r.returncode == 2 and "runtime.attention" in r.stderr, r.stderr)
    r = run([a.crammer, "plan", os.path.join(a.workdir, "absent.yaml")])
    check(r.returncode == 2 and "absent.yaml" in r.stderr, r.stderr)
    r = run([a.crammer, "frobnicate"])
    check(r.returncode == 2 and "unknown command" in r.stderr, r.stderr)
    # A missing positional argument is named as the usage names it, not as a hidden option.
    for sub in ("status", "export"):
        r = run([a.crammer, sub])
        check(r.returncode == 2 and f"usage: crammer {sub} RESULTS.h5" in r.stderr and "--results" not in r.stderr,
              f"{sub} without a file: exit {r.returncode}: {r.stderr}")
    # A results file that is missing, a directory or not HDF5 is bad input (2), and the advice
    # to rerun is given only where a journal can rebuild the file.
    for sub in ("status", "export"):
        for target, says in ((os.path.join(a.workdir, "absent.h5"), "does not exist"), (a.workdir, "is a directory")):
            r = run([a.crammer, sub, target])
            check(r.returncode == 2 and says in r.stderr, f"{sub} {target}: exit {r.returncode}: {r.stderr}")
    junk = os.path.join(a.workdir, "junk.h5")
    with open(junk, "w") as f:
        f.write("not HDF5\n")
    r = run([a.crammer, "run", cfg, "output.path=" + junk])
    check(r.returncode == 2 and "no journal" in r.stderr and "run it again with the same config" not in r.stderr,
          f"run on a non-HDF5 output: exit {r.returncode}: {r.stderr}")
    r = run([a.crammer, "run", cfg, "output.path=" + a.workdir])
    check(r.returncode == 2 and "output.path" in r.stderr and "is a directory" in r.stderr, r.stderr)
    # tokenize agrees with the shipped llama.cpp vector for a simple text.
    p = subprocess.run([a.crammer, "tokenize", "--tokenizer", "data/tokenizers/gpt2"], input="Hello world",
                       text=True, capture_output=True, cwd=REPO)
    check(p.stdout.split() == ["15496", "995"], "tokenize: " + p.stdout + p.stderr)
    # SentencePiece inside the LibTorch process (its private protobuf must not clash with
    # LibTorch's): a model trained here by Debian's spm_train, then used through crammer.
    spm_dir = os.path.join(a.workdir, "spm")
    os.makedirs(spm_dir, exist_ok=True)
    r = run(["spm_train", "--input=data/corpora/austen/persuasion.txt", "--model_prefix=" + os.path.join(spm_dir, "tokenizer"),
             "--vocab_size=500", "--model_type=bpe", "--input_sentence_size=2000", "--minloglevel=2"])
    check(r.returncode == 0, "spm_train failed: " + r.stderr[-2000:])
    p = subprocess.run([a.crammer, "tokenize", "--tokenizer", spm_dir, "--add-bos"], input="Anne Elliot walked.",
                       text=True, capture_output=True, cwd=REPO)
    check(p.returncode == 0, "sentencepiece tokenize failed: " + p.stderr)
    ids = p.stdout.split()
    check(len(ids) >= 3 and ids[0] == "1", "sentencepiece ids (BOS 1 first): " + p.stdout)
    e = subprocess.run(["spm_encode", "--model=" + os.path.join(spm_dir, "tokenizer.model"), "--output_format=id"],
                       input="Anne Elliot walked.\n", text=True, capture_output=True)
    check(e.stdout.split() == ids[1:], f"crammer {ids[1:]} != spm_encode {e.stdout.split()}")
    d = subprocess.run([a.crammer, "tokenize", "--tokenizer", spm_dir, "--decode"], input=" ".join(ids[1:]),
                       text=True, capture_output=True, cwd=REPO)
    check(d.stdout == "Anne Elliot walked.", "sentencepiece decode: " + repr(d.stdout) + d.stderr)


def case_uneven_finish(a):
    """A worker done long before another (its last task instant, the other's last one seconds
    long) waits for it and for rank 0's file instead of giving up in MPI_Finalize: the finalize
    limit is cut to 0.5 s here, far below the long task's time."""
    model = os.path.join(a.workdir, "model")
    make_model(a.crammer, model)
    cfg = os.path.join(a.workdir, "uneven.yaml")
    out = os.path.join(a.workdir, "uneven.h5")
    write_config(cfg, model, out, samples=1, max_steps=600, lengths=(2, 48), n_mem=(1,), batch=1)
    cmd = mpirun(3, a.crammer, ["run", cfg, "--fresh"])
    print("+ " + " ".join(cmd), flush=True)
    t0 = time.time()
    r = subprocess.run(cmd, env=dict(ENV, CRAMMER_FINALIZE_SECONDS="0.5"), cwd=REPO, text=True,
                       capture_output=True, timeout=600)
    took = time.time() - t0
    check(r.returncode == 0, f"run exited {r.returncode}: {r.stderr[-3000:]}")
    check("MPI_Finalize did not return" not in r.stderr, "a rank gave up in finalize: " + r.stderr[-3000:])
    rows, dup = read_rows(out)
    check(not dup and len(rows) == 2 and all(v["status"] == 0 for v in rows.values()),
          f"rows {rows} (duplicates {dup})")
    steps = sorted(v["steps"] for v in rows.values())
    # The test's precondition, from the rows rather than the test's own clock: the long task kept
    # its rank busy for several finalize limits (0.5 s) after the other rank ran out of work.
    walls = sorted(v["wall_seconds"] for v in rows.values())
    print(f"run took {took:.1f} s; steps per task {steps}, task times {walls}")
    check(walls[-1] > 4 * 0.5, f"task times {walls} s: not uneven enough to test the wait")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("case")
    ap.add_argument("--crammer", required=True)
    ap.add_argument("--workdir", required=True)
    a = ap.parse_args()
    a.crammer = os.path.abspath(a.crammer)
    os.makedirs(a.workdir, exist_ok=True)
    cases = {"ranks": case_ranks, "kill_worker": lambda a: case_kill(a, "worker"),
             "kill_coordinator": lambda a: case_kill(a, "coordinator"), "sigterm": case_sigterm,
             "sigusr1_mpirun": lambda a: case_sigterm(a, to_mpirun=True), "cli": case_cli,
             "sigterm_mpirun": case_sigterm_mpirun,
             "uneven_finish": case_uneven_finish}
    cases[a.case](a)
    print("PASS " + a.case)


if __name__ == "__main__":
    main()
