#!/usr/bin/python3
"""Slurm tests of crammer, one CASE per CTest test (tests/slurm/CMakeLists.txt), run against the
real one-node cluster the CTest fixture starts (scripts/slurm-cluster.sh; SLURM_CONF points at
it). Cases:

  srun_pmix         srun --mpi=pmix -n 2 of an MPI program: both ranks in one world
  probe_job         submit (rendered script) + sbatch + wait for COMPLETED; argv quoting
  probe_requeue     USR1 to the batch shell -> exit 75 -> scontrol requeue -> second start done
  probe_time_limit  the same, with the signal sent by Slurm itself from --signal=B:USR1@
  probe_multinode   3 nodes (three slurmd on this host): rank layout of the N-node script
  crammer_sweep     `crammer submit` of a small sweep; every task of the grid in the file once
  crammer_requeue   the sweep requeued mid-run; partial file after the stop, complete after
  crammer_array     an array job of two configs, one results file each
  crammer_lost_worker  2 nodes, a worker on each; kill -9 of the second node's worker mid-task:
                    rank 0 hands its tasks to the other, the sweep completes, every task once

probe_* use tests/slurm/mpi_probe as the crammer binary (same process contract, no sweep);
crammer_* run the real `crammer run` through `crammer submit`. Not for: performance.
Accounting is off on the test cluster: job states come from `scontrol show job`, not sacct.
"""
import argparse
import csv
import fcntl
import io
import itertools
import os
import re
import shutil
import subprocess
import sys
import time

TERMINAL = {"COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "PREEMPTED",
            "OUT_OF_MEMORY", "BOOT_FAIL", "DEADLINE"}
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class TestFailure(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise TestFailure(msg)


def run(cmd, timeout=120, env=None, check_rc=True):
    print("$ " + " ".join(cmd), flush=True)
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                       timeout=timeout, env=env)
    if check_rc and p.returncode != 0:
        raise TestFailure(f"{cmd[0]} exited with {p.returncode}:\n{p.stdout}")
    return p


def job_records(job_id):
    """One dict per job (array: per task) from `scontrol show job -o`."""
    p = subprocess.run(["scontrol", "show", "job", "-o", str(job_id)], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True, timeout=30)
    if p.returncode != 0:
        raise TestFailure(f"scontrol show job {job_id} failed: {p.stdout}")
    records = []
    for line in p.stdout.splitlines():
        if not line.strip():
            continue
        rec = {}
        for m in re.finditer(r"(\w+)=(\S*)", line):
            rec.setdefault(m.group(1), m.group(2))
        records.append(rec)
    return records


def cluster_logs():
    conf = os.environ.get("SLURM_CONF", "")
    out = []
    for name in ("slurmctld.log", "slurmd.log"):
        path = os.path.join(os.path.dirname(conf), "log", name)
        if os.path.exists(path):
            with open(path) as f:
                out.append(f"---- last lines of {path}\n" + "".join(f.readlines()[-15:]))
    return "\n".join(out)


def wait_job(job_id, timeout, expedite_requeue=True, before_expedite=None):
    """Waits until every record of the job is in a terminal state. A requeued job waits ~2 min
    (Slurm's fixed delay, Reason=BeginTime) before it may start again: as the test cluster's
    admin we move its start to now, after calling before_expedite(records) once."""
    t0 = time.time()
    last = None
    expedited = set()
    while time.time() - t0 < timeout:
        recs = job_records(job_id)
        states = [(r.get("JobId"), r.get("JobState"), r.get("Reason"), r.get("Restarts")) for r in recs]
        if states != last:
            print(f"[{time.time() - t0:5.1f}s] " + "; ".join(" ".join(map(str, s)) for s in states), flush=True)
            last = states
        if recs and all(r.get("JobState") in TERMINAL for r in recs):
            return recs
        for r in recs:
            if (expedite_requeue and r.get("JobState") == "PENDING" and r.get("Reason") == "BeginTime"
                    and int(r.get("Restarts", "0")) > 0 and r["JobId"] not in expedited):
                if before_expedite:
                    before_expedite(recs)
                print(f"requeued job {r['JobId']}: moving its begin time to now (Slurm waits ~120 s)")
                # slurmd revokes the old run's credential with a one-second clock: a start in the
                # same second as the requeue is killed ("Job credential revoked"). Slurm's own
                # 120 s never meets it; an expedited start must let that second pass first.
                time.sleep(2)
                run(["scontrol", "update", f"JobId={r['JobId']}", "StartTime=now"])
                expedited.add(r["JobId"])
        time.sleep(0.5)
    raise TestFailure(f"job {job_id} not finished after {timeout}s: {last}\n{cluster_logs()}")


def wait_for(what, pred, timeout):
    t0 = time.time()
    while time.time() - t0 < timeout:
        if pred():
            return
        time.sleep(0.2)
    raise TestFailure(f"timed out after {timeout}s waiting for {what}")


def read(path):
    if not os.path.exists(path):
        return ""
    with open(path) as f:
        return f.read()


def fresh_dir(path):
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path)
    return path


def parse_submit(stdout):
    m = re.search(r"^submitted batch job (\d+)$", stdout, re.M)
    check(m, f"no 'submitted batch job N' line in:\n{stdout}")
    return m.group(1), re.findall(r"^results: (.+)$", stdout, re.M)


def expect_states(recs, state="COMPLETED", exit_code="0:0", restarts=None, log=None):
    for r in recs:
        detail = f"job {r.get('JobId')}: {r}\n---- job log\n{read(log) if log else ''}\n{cluster_logs()}"
        check(r.get("JobState") == state, f"state {r.get('JobState')}, expected {state}; " + detail)
        check(r.get("ExitCode") == exit_code, f"exit code {r.get('ExitCode')}, expected {exit_code}; " + detail)
        if restarts is not None:
            check(r.get("Restarts") == str(restarts), f"restarts {r.get('Restarts')}, expected {restarts}; " + detail)


# ---------------------------------------------------------------- probe cases (no sweep)

def case_srun_pmix(a):
    env = dict(os.environ, PROBE_EXPECT_SIZE="2")
    p = run(["srun", "--mpi=pmix", "-n", "2", "--kill-on-bad-exit=1", a.probe], timeout=60, env=env)
    print(p.stdout)
    for rank in (0, 1):
        check(re.search(rf"^probe: rank {rank} of 2 on \S+ \(rank sum 1\)$", p.stdout, re.M),
              f"rank {rank} of 2 missing from srun output")


def probe_submit(a, work, hold, extra):
    cfg = os.path.join(work, "sweep.yaml")
    with open(cfg, "w") as f:
        f.write(f"output: {{path: {work}/out/probe.h5}}\n")
    log = os.path.join(work, "job.out")
    env = dict(os.environ, PROBE_LOG=os.path.join(work, "probe.log"), PROBE_HOLD=str(hold))
    if "--nodes" not in extra:
        extra = ["--nodes", "1"] + extra
    p = run([a.submit_tool, cfg, "label=a b", "quote=it's", "--gpus-per-node", "0", "--ranks-per-node", "1", "--job-name", "probe", "--log", log, "--chdir", work,
             "--crammer", a.probe, "--script-out", os.path.join(work, "job.sbatch")] + extra, env=env)
    print(p.stdout)
    job_id, results = parse_submit(p.stdout)
    check(results == [f"{work}/out/probe.h5"], f"results path {results}, expected {work}/out/probe.h5")
    return job_id, cfg, log, env["PROBE_LOG"]


def probe_lines(path):
    return [l for l in read(path).splitlines() if l]


def case_probe_job(a):
    work = fresh_dir(a.work)
    job_id, cfg, log, plog = probe_submit(a, work, 0, ["--time", "00:02:00", "--signal-seconds", "30"])
    recs = wait_job(job_id, 60)
    expect_states(recs, restarts=0, log=log)
    check(recs[0].get("NumTasks") == "2", f"NumTasks {recs[0].get('NumTasks')}, expected 2 (1 worker + coordinator)")
    lines = probe_lines(plog)
    # argv reached crammer word for word through the rendered script and srun.
    node = recs[0].get("NodeList")
    check(lines == [f"start size=2 restart=0 args=run|{cfg}|label=a b|quote=it's", f"layout {node},{node}", "done"],
          f"probe log {lines}")
    check("crammer-submit: crammer exited with 0" in read(log), f"job log:\n{read(log)}")


def check_requeued_log(log, plog, signal=10):
    lines = [re.sub(r" args=.*", "", l) for l in probe_lines(plog) if not l.startswith("layout ")]
    check(lines == ["start size=2 restart=0", f"stopped signal={signal}", "start size=2 restart=1", "done"],
          f"probe log {lines}")
    text = read(log)
    for needle in ("crammer exited with 75", "requeued job", "restart 1 on", "crammer exited with 0"):
        check(needle in text, f"'{needle}' missing from the job log:\n{text}")


def case_probe_requeue(a):
    work = fresh_dir(a.work)
    job_id, _, log, plog = probe_submit(a, work, 60, ["--time", "00:10:00"])
    wait_for("the probe to start", lambda: "start" in read(plog), 30)
    # What --signal=B:USR1@N does at the time limit: signal the batch shell only.
    run(["scancel", "--signal=USR1", "--batch", job_id])
    recs = wait_job(job_id, 90)
    expect_states(recs, restarts=1, log=log)
    check_requeued_log(log, plog)


def case_probe_time_limit(a):
    work = fresh_dir(a.work)
    # USR1 is due 100 s before the 2 min limit, i.e. ~20 s after the start (Slurm checks limits
    # periodically, so it may come some seconds off); the probe would wait 150 s for it.
    job_id, _, log, plog = probe_submit(a, work, 150, ["--time", "00:02:00", "--signal-seconds", "100"])
    t0 = time.time()
    wait_for("the probe to start", lambda: "start" in read(plog), 30)
    wait_for("the stop signal", lambda: "stopped" in read(plog), 110)
    print(f"probe stopped {time.time() - t0:.0f}s after submission")
    recs = wait_job(job_id, 100)
    expect_states(recs, restarts=1, log=log)
    check_requeued_log(log, plog)


def case_probe_multinode(a):
    """3 nodes x 1 CPU worker: 4 tasks, the coordinator and one worker on the first node, one
    worker on each other node (SLURM_CLUSTER_NODES=3: three slurmd on this host)."""
    work = fresh_dir(a.work)
    job_id, cfg, log, plog = probe_submit(a, work, 0, ["--nodes", "3", "--time", "00:02:00", "--signal-seconds", "30"])
    recs = wait_job(job_id, 60)
    expect_states(recs, restarts=0, log=log)
    nodes = run(["scontrol", "show", "hostnames", recs[0]["NodeList"]]).stdout.split()
    check(len(nodes) == 3, f"job nodes {nodes}, expected 3")
    lines = probe_lines(plog)
    check(len(lines) == 3 and lines[0].startswith("start size=4 restart=0") and lines[2] == "done",
          f"probe log {lines}")
    layout = lines[1].split(" ", 1)[1].split(",")
    check(layout == [nodes[0], nodes[0], nodes[1], nodes[2]],
          f"rank layout {layout}, expected the coordinator and a worker on {nodes[0]}, one worker on each other node")


# ---------------------------------------------------------------- crammer cases (real sweeps)

def make_model(a, work):
    check(os.path.exists(a.crammer), f"crammer binary {a.crammer} not built (target crammer)")
    model = os.path.join(work, "model")
    run([a.crammer, "make-model", "--arch", "llama", "--layers", "2", "--d-model", "64", "--heads", "4",
         "--tokenizer", os.path.join(REPO, "data/tokenizers/gpt2"), "--seed", "1", "--force", "--out", model], timeout=120)
    return model


def write_config(path, model, results, samples, n_mem, lengths, max_steps, batch_size):
    grid = {"samples": samples, "n_mem": n_mem, "lengths": lengths}
    with open(path, "w") as f:
        f.write(f"""# Slurm test sweep (tests/slurm/slurm_tests.py): a tiny random llama, bookkeeping only.
models:
  - name: tiny
    path: {model}
    dtype: f32
    tokenizer: {REPO}/data/tokenizers/gpt2
corpus:
  format: text
  paths: [{REPO}/data/corpora/austen/persuasion.txt]
  samples: {samples}
  seed: 0
cram:
  n_mem: {n_mem}
  lengths: {lengths}
  optimizer: {{max_steps: {max_steps}, patience: {max_steps}}}
batching: {{batch_size: {batch_size}}}
runtime: {{device: cpu, threads: 1, seed: 0}}
output: {{path: {results}, flush_seconds: 1}}
""")
    return grid


def export_rows(a, results):
    p = run([a.crammer, "export", results], timeout=60)
    return list(csv.DictReader(io.StringIO(p.stdout)))


def check_complete(a, results, grid):
    """Every (sample, n_mem, length) of the grid exactly once; every row (task key, length) once
    (a task may hold several prefix lengths of one sample: the file's rows are per length)."""
    rows = export_rows(a, results)
    expected = len(grid["n_mem"]) * len(grid["lengths"]) * grid["samples"]
    keys = [(r["task_key"], r["length"]) for r in rows]
    check(len(set(keys)) == len(keys), f"{results}: duplicate rows (task_key, length): "
          f"{sorted(k for k in set(keys) if keys.count(k) > 1)}")
    check(len(rows) == expected, f"{results}: {len(rows)} rows, expected {expected} = "
          f"{len(grid['n_mem'])} n_mem x {len(grid['lengths'])} lengths x {grid['samples']} samples")
    samples = sorted({r["sample_id"] for r in rows})
    check(len(samples) == grid["samples"], f"{results}: sample ids {samples}, expected {grid['samples']}")
    got = sorted((r["model"], r["sample_id"], int(r["n_mem"]), int(r["length"])) for r in rows)
    want = sorted(("tiny", s, k, L) for s, k, L in itertools.product(samples, grid["n_mem"], grid["lengths"]))
    check(got == want, f"{results}: task grid differs:\n got {got}\nwant {want}")
    statuses = {r.get("status") for r in rows}
    print(f"{results}: {len(rows)} rows, statuses {statuses}")
    return rows


def crammer_submit(a, configs, work, extra, nodes=1):
    log = os.path.join(work, "job-%j.out" if len(configs) == 1 else "job-%A_%a.out")
    p = run([a.crammer, "submit"] + configs + ["--nodes", str(nodes), "--gpus-per-node", "0", "--ranks-per-node", "1",
            "--job-name", "crammer-test", "--log", log, "--chdir", work,
            "--script-out", os.path.join(work, "job.sbatch")] + extra)
    print(p.stdout)
    job_id, results = parse_submit(p.stdout)
    return job_id, results, log.replace("%j", job_id).replace("%A", job_id)


def case_crammer_sweep(a):
    work = fresh_dir(a.work)
    model = make_model(a, work)
    results = os.path.join(work, "sweep.h5")
    grid = write_config(os.path.join(work, "sweep.yaml"), model, results, 3, [1, 2], [8, 16], 20, 4)
    job_id, printed, log = crammer_submit(a, [os.path.join(work, "sweep.yaml")], work,
                                          ["--time", "00:05:00", "--signal-seconds", "60"])
    check(printed == [results], f"submit printed results {printed}, expected {results}")
    recs = wait_job(job_id, 240)
    expect_states(recs, restarts=0, log=log)
    check_complete(a, results, grid)
    status = run([a.crammer, "status", results], timeout=60)
    print(status.stdout)
    # The README's exit codes under srun: every rank exits with the code and srun passes it on.
    cfg = os.path.join(work, "sweep.yaml")
    srun = ["srun", "--mpi=pmix", "-n", "2", "--kill-on-bad-exit=0", a.crammer, "run", cfg]
    p = run(srun + ["cram.lengths=[0]"], timeout=120, check_rc=False)
    check(p.returncode == 2 and "cram.lengths" in p.stdout, f"srun, bad config: exit {p.returncode}:\n{p.stdout}")
    with open(results + ".journal", "rb") as journal:  # as a run writing the file holds it
        fcntl.flock(journal, fcntl.LOCK_EX | fcntl.LOCK_NB)
        p = run(srun, timeout=120, check_rc=False)
    check(p.returncode == 73 and "another crammer run" in p.stdout, f"srun, locked file: exit {p.returncode}:\n{p.stdout}")
    p = run(srun, timeout=300, check_rc=False)
    check(p.returncode == 0, f"srun, finished sweep rerun: exit {p.returncode}:\n{p.stdout}")


def case_crammer_requeue(a):
    work = fresh_dir(a.work)
    model = make_model(a, work)
    results = os.path.join(work, "sweep.h5")
    # 2 x 3 x 8 = 48 rows, 80 steps each (a d_model 64 model never converges early): long enough
    # (some tens of seconds on one CPU worker) to stop mid-run, short enough for CI.
    grid = write_config(os.path.join(work, "sweep.yaml"), model, results, 8, [1, 2], [16, 32, 64], 80, 2)
    expected = 2 * 3 * 8
    job_id, _, log = crammer_submit(a, [os.path.join(work, "sweep.yaml")], work,
                                    ["--time", "00:10:00", "--signal-seconds", "60"])
    t0 = time.time()
    while True:  # until the first rows are in the file, then stop the job mid-run
        check("crammer exited" not in read(log),
              f"the sweep ended before any stored row was seen; make it longer. Job log:\n{read(log)}")
        if os.path.exists(results) and export_rows_quiet(a, results):
            break
        check(time.time() - t0 < 200, f"no stored rows after 200 s; job log:\n{read(log)}")
        time.sleep(0.5)
    run(["scancel", "--signal=USR1", "--batch", job_id])
    partial = []

    def before_expedite(_):
        # The job is requeued and not running: the file holds what the first start finished.
        partial.extend(export_rows(a, results))

    recs = wait_job(job_id, 280, before_expedite=before_expedite)
    expect_states(recs, restarts=1, log=log)
    text = read(log)
    for needle in ("crammer exited with 75", "requeued job", "crammer exited with 0"):
        check(needle in text, f"'{needle}' missing from the job log:\n{text}")
    print(f"rows after the stop: {len(partial)} of {expected}")
    check(0 < len(partial) < expected, f"the stop was not mid-run: {len(partial)} of {expected} rows stored")
    final = check_complete(a, results, grid)
    # Resume kept what the first start stored (same rows, not recomputed under new keys).
    kept = {(r["task_key"], r["length"]) for r in partial}
    check(kept <= {(r["task_key"], r["length"]) for r in final}, "rows stored before the requeue are missing afterwards")


def rank_pids(job_id, rank):
    """PIDs of this job's processes whose Slurm task rank is `rank` (from /proc/PID/environ)."""
    out = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/environ", "rb") as f:
                env = dict(kv.split(b"=", 1) for kv in f.read().split(b"\0") if b"=" in kv)
            with open(f"/proc/{pid}/comm") as f:
                comm = f.read().strip()
        except OSError:
            continue
        if (comm == "crammer" and env.get(b"SLURM_JOB_ID") == job_id.encode()
                and env.get(b"SLURM_PROCID") == str(rank).encode()):
            out.append(int(pid))
    return out


def case_crammer_lost_worker(a):
    work = fresh_dir(a.work)
    model = make_model(a, work)
    results = os.path.join(work, "sweep.h5")
    grid = write_config(os.path.join(work, "sweep.yaml"), model, results, 6, [1, 2], [16, 32], 60, 2)
    job_id, _, log = crammer_submit(a, [os.path.join(work, "sweep.yaml")], work,
                                    ["--time", "00:10:00", "runtime.heartbeat_seconds=0.5",
                                     "runtime.worker_timeout_seconds=5"], nodes=2)
    t0 = time.time()
    while not (os.path.exists(results) and export_rows_quiet(a, results)):
        check("crammer exited" not in read(log), f"the sweep ended before any row was stored:\n{read(log)}")
        check(time.time() - t0 < 200, f"no stored rows after 200 s; job log:\n{read(log)}")
        time.sleep(0.5)
    victims = rank_pids(job_id, 2)
    check(len(victims) == 1, f"rank 2 of job {job_id}: processes {victims}")
    os.kill(victims[0], 9)
    print(f"killed rank 2 (pid {victims[0]}) with {len(export_rows_quiet(a, results))} rows stored")
    recs = wait_job(job_id, 280)
    text = read(log)
    for needle in ("rank 2 sent nothing for", "sweep complete"):
        check(needle in text, f"'{needle}' missing from the job log:\n{text}")
    check_complete(a, results, grid)
    print("job records:", [(r.get("JobState"), r.get("ExitCode")) for r in recs])


def export_rows_quiet(a, results):
    p = subprocess.run([a.crammer, "export", results], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                       text=True, timeout=60)
    return list(csv.DictReader(io.StringIO(p.stdout))) if p.returncode == 0 else []


def case_crammer_array(a):
    work = fresh_dir(a.work)
    model = make_model(a, work)
    cfg_a, cfg_b = os.path.join(work, "a.yaml"), os.path.join(work, "b.yaml")
    res_a, res_b = os.path.join(work, "a.h5"), os.path.join(work, "b.h5")
    grid_a = write_config(cfg_a, model, res_a, 2, [1], [8, 16], 20, 4)
    grid_b = write_config(cfg_b, model, res_b, 3, [2], [8], 20, 4)
    job_id, printed, log = crammer_submit(a, [cfg_a, cfg_b], work, ["--time", "00:05:00", "--signal-seconds", "60"])
    check(printed == [res_a, res_b], f"submit printed results {printed}, expected {[res_a, res_b]}")
    recs = wait_job(job_id, 280)
    check(len(recs) == 2, f"expected 2 array tasks, got {[r.get('JobId') for r in recs]}")
    expect_states(recs, restarts=0, log=log.replace("%a", "0"))
    check_complete(a, res_a, grid_a)
    check_complete(a, res_b, grid_b)


CASES = {name[len("case_"):]: fn for name, fn in globals().items() if name.startswith("case_")}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("case", choices=sorted(CASES))
    ap.add_argument("--work", required=True, help="scratch directory of this case (emptied first)")
    ap.add_argument("--submit-tool", required=True)
    ap.add_argument("--probe", required=True)
    ap.add_argument("--crammer", required=True)
    a = ap.parse_args()
    if not os.environ.get("SLURM_CONF"):
        print("SLURM_CONF is not set: run through ctest (the slurm_cluster fixture) or "
              "eval \"$(scripts/slurm-cluster.sh env DIR)\"", file=sys.stderr)
        return 1
    t0 = time.time()
    try:
        CASES[a.case](a)
    except TestFailure as e:
        print(f"FAIL {a.case}: {e}", file=sys.stderr)
        return 1
    print(f"PASS {a.case} ({time.time() - t0:.1f}s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
