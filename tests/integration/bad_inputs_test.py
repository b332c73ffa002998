#!/usr/bin/env python3
"""Inputs that cannot give a useful row, met through the crammer command as a user meets them:
each stops `crammer plan` and `crammer run` with exit 2 and one message that names the file, the
key and what was expected, before anything is written (no results file, no journal).
- cram.init_mem: a missing task tensor, the wrong shape, an integer dtype, a NaN (alone and
  under mpirun); the right file runs.
- corpus.word_list in Latin-1, or binary.
- corpus.prefix_tokens longer than every text (nothing would run).
Shares the helpers of sweep_test.py (the tiny model, the config, mpirun).

usage: bad_inputs_test.py --crammer BIN --workdir DIR
"""
import argparse
import json
import os
import struct

from sweep_test import check, make_model, mpirun, remove_outputs, run, write_config

D_MODEL = 64  # make_model's width


def write_safetensors(path, tensors):
    """tensors: name -> (dtype "F32" | "I32", shape, list of values), by the format's own rules."""
    header, data = {}, b""
    for name, (dtype, shape, values) in sorted(tensors.items()):
        blob = struct.pack("<%d%s" % (len(values), "f" if dtype == "F32" else "i"), *values)
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(blob)]}
        data += blob
    text = json.dumps(header).encode()
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + data)


def expect_refused(a, cfg, out, overrides, wants, ranks=1):
    """`crammer plan` and `crammer run` (under mpirun with ranks > 1) exit 2 with every string of
    `wants` in the message, and leave no results file or journal."""
    remove_outputs(out)
    r = run([a.crammer, "plan", cfg] + overrides, timeout=120)
    check(r.returncode == 2 and all(w in r.stderr for w in wants),
          f"plan {overrides}: exit {r.returncode}, wanted {wants}: {r.stderr[-2000:]}")
    args = ["run", cfg] + overrides
    cmd = mpirun(ranks, a.crammer, args) if ranks > 1 else [a.crammer] + args
    r = run(cmd, timeout=300)
    check(r.returncode == 2 and all(w in r.stderr for w in wants),
          f"run {overrides} on {ranks} rank(s): exit {r.returncode}, wanted {wants}: {r.stderr[-2000:]}")
    check(not os.path.exists(out) and not os.path.exists(out + ".journal"),
          f"run {overrides}: a results file or journal was left behind")
    return r.stderr


def case_init_mem(a, model, work):
    cfg, out = os.path.join(work, "init.yaml"), os.path.join(work, "init.h5")
    write_config(cfg, model, out, samples=2, max_steps=5, lengths=(8,), n_mem=(1, 2))
    remove_outputs(out)
    r = run([a.crammer, "plan", cfg, "--json"], timeout=120)
    check(r.returncode == 0, "plan --json: " + r.stderr)
    tasks = [(t["key"], t["n_mem"]) for t in json.loads(r.stdout)["tasks"]]
    check(len(tasks) == 4, f"tasks: {tasks}")

    def good(key, k):
        return ("F32", [k, D_MODEL], [0.01 * ((i % 7) - 3) for i in range(k * D_MODEL)])

    path = os.path.join(work, "init.safetensors")
    over = ["cram.init_mem=" + path]
    key1, k1 = tasks[1]
    cases = [
        ("missing", {key: good(key, k) for key, k in tasks[:1]},
         ["cram.init_mem: " + path, "no tensor for 3 of the 4 tasks", "'" + key1 + "'"]),
        ("shape", dict({key: good(key, k) for key, k in tasks}, **{key1: ("F32", [k1 + 1, D_MODEL],
                                                                          [0.0] * ((k1 + 1) * D_MODEL))}),
         [path, f"tensor '{key1}' has shape [{k1 + 1}, {D_MODEL}]; expected [{k1}, {D_MODEL}]"]),
        ("dtype", dict({key: good(key, k) for key, k in tasks}, **{key1: ("I32", [k1, D_MODEL],
                                                                          [0] * (k1 * D_MODEL))}),
         [path, f"tensor '{key1}' has dtype I32; expected F32, F16 or BF16"]),
    ]
    nan = {key: good(key, k) for key, k in tasks}
    values = list(nan[key1][2])
    values[D_MODEL + 3 if k1 > 1 else 3] = float("nan")
    nan[key1] = ("F32", nan[key1][1], values)
    cases.append(("nan", nan, [path, f"tensor '{key1}' holds a non-finite value (inf or NaN) at "
                                     f"[{1 if k1 > 1 else 0}, 3]"]))
    for name, tensors, wants in cases:
        write_safetensors(path, tensors)
        expect_refused(a, cfg, out, over, wants, ranks=2 if name == "nan" else 1)
    write_safetensors(path, {key: good(key, k) for key, k in tasks})
    remove_outputs(out)
    r = run([a.crammer, "run", cfg] + over, timeout=300)
    check(r.returncode == 0, "the right init file: " + r.stderr[-2000:])


def case_word_list(a, model, work):
    cfg, out = os.path.join(work, "words.yaml"), os.path.join(work, "words.h5")
    write_config(cfg, model, out, samples=2, max_steps=5, lengths=(8,), n_mem=(1,))
    latin1 = os.path.join(work, "latin1.txt")
    with open(latin1, "wb") as f:
        f.write("apple\ncafé\npear\n".encode("latin-1"))
    words = ["corpus.text_kind=[random-words]"]
    expect_refused(a, cfg, out, words + ["corpus.word_list=" + latin1],
                   ["corpus.word_list: " + latin1 + ":2: not valid UTF-8 (byte 0xE9 at column 4)"])
    binary = os.path.join(work, "words.bin")
    with open(binary, "wb") as f:
        f.write(bytes((i * 37 + 11) % 256 for i in range(512)))
    err = expect_refused(a, cfg, out, words + ["corpus.word_list=" + binary],
                         ["corpus.word_list: " + binary + ": not a text file"])
    check(len(err) < 600, f"a binary word list gave a {len(err)}-character message: {err}")


def case_prefix_tokens(a, model, work):
    cfg, out = os.path.join(work, "prefix.yaml"), os.path.join(work, "prefix.h5")
    write_config(cfg, model, out, samples=1, max_steps=5, lengths=(8,), n_mem=(1,))
    short = os.path.join(work, "short.txt")
    with open(short, "w") as f:
        f.write("Short text. It has very few tokens in it, far fewer than needed! Another sentence follows.\n")
    expect_refused(a, cfg, out, ["corpus.paths=[" + short + "]", "corpus.prefix_tokens=100", "cram.lengths=[5]"],
                   ["every one of the 1 tasks would be skipped: the longest sample has ",
                    "fewer than corpus.prefix_tokens 100 + the smallest length 5"])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--crammer", required=True)
    ap.add_argument("--workdir", required=True)
    a = ap.parse_args()
    a.crammer = os.path.abspath(a.crammer)
    work = os.path.join(a.workdir, "bad_inputs")
    os.makedirs(work, exist_ok=True)
    model = os.path.join(a.workdir, "model")
    make_model(a.crammer, model)
    case_init_mem(a, model, work)
    case_word_list(a, model, work)
    case_prefix_tokens(a, model, work)
    print("PASS bad_inputs")


if __name__ == "__main__":
    main()
