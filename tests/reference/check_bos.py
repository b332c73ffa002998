#!/usr/bin/env python3
"""The paper's BOS and baseline, end to end from raw text: for each tokenizer kind (GPT-2,
Llama-3 with its template BOS, SentencePiece-style Llama) on a model that uses it, `crammer run`
(max_steps 0: baseline rows only) must give, per sample and length L, the ids, baseline_loss and
baseline_acc that transformers gives for

    enc = tok(text, max_length=L, truncation=True, return_tensors="pt")
    model(**enc, labels=enc.input_ids)

and the models table must record the BOS that corpus.add_bos (default auto) added. With
cram.in_context_control on, each row's copy_loss and copy_acc must equal the paper's repeat-text
notebook (ablations_repeat_text, option 2) run through transformers: S = the text's ids without
the BOS the tokenizer adds, the input tok(f"text: {tok.decode(S)}\nrepeat previous text: ")
followed by S, scored on S[1:] from the logits of S's positions."""
import csv
import io
import pathlib
import subprocess

import torch
import transformers

from live_check import run_cases

ROOT = pathlib.Path(__file__).resolve().parents[2]
AUSTEN = ROOT / "data/corpora/austen"
CORPUS = AUSTEN / "persuasion.txt"
KINDS = {"gpt2": "gpt_neox", "llama3": "llama", "sp-llama": "llama"}  # tokenizer -> arch
LENGTHS = [6, 17, 40]
TOL = 1e-5


def export(crammer, results, table):
    out = subprocess.run([crammer, "export", str(results), "--table", table], check=True,
                         capture_output=True, text=True).stdout
    return list(csv.DictReader(io.StringIO(out)))


def check_kind(kind, arch, args, work):
    tok_dir = args.tokenizers / kind
    model_dir = work / f"model-{kind}"
    # A few pretraining steps: the model predicts frequent tokens, so accuracy is not all zero.
    recipe = work / f"pretrain-{kind}.yaml"
    recipe.write_text(f"""
model: {{arch: {arch}, layers: 2, d_model: 32, heads: 4, max_positions: 256}}
data: {{train: [{AUSTEN / 'emma.txt'}], heldout: {AUSTEN / 'mansfieldpark.txt'},
       tokenizer: {tok_dir}}}
train: {{seq_len: 64, batch_size: 8, steps: 80, lr: 0.01, warmup: 5, threads: 2, log_every: 40,
         eval_every: 0}}
output: {{dir: {model_dir}, dtype: f32}}
""")
    subprocess.run([args.crammer, "pretrain", str(recipe)], check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    results = work / f"{kind}.h5"
    config = work / f"{kind}.yaml"
    config.write_text(f"""
models: [{{name: {kind}, path: {model_dir}, dtype: f32}}]
corpus: {{format: text, paths: [{CORPUS}], samples: 3, seed: 1}}
cram: {{n_mem: [1], lengths: {LENGTHS}, in_context_control: true, optimizer: {{max_steps: 0}}}}
batching: {{batch_size: 4}}
runtime: {{device: cpu, threads: 1, seed: 0}}
output: {{path: {results}}}
""")
    subprocess.run([args.crammer, "run", str(config), "--progress", "off"], check=True,
                   stdout=subprocess.DEVNULL)
    rows = export(args.crammer, results, "results")
    samples = {int(s["sample_id"]): s for s in export(args.crammer, results, "samples")}
    models = export(args.crammer, results, "models")

    tok = transformers.AutoTokenizer.from_pretrained(model_dir)
    model = transformers.AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    model.eval()
    errors = []
    # What the tokenizer itself does with a text: the BOS crammer must have added (or not).
    probe = tok("probe text")["input_ids"]
    hf_bos = probe[0] if tok.bos_token_id is not None and probe[0] == tok.bos_token_id else -1
    if int(models[0]["bos_token"]) != hf_bos:
        errors.append(f"{kind}: models.bos_token {models[0]['bos_token']}, transformers adds {hf_bos}")
    document = CORPUS.read_text(encoding="utf-8")
    for r in rows:
        L = int(r["length"])
        s = samples[int(r["sample_id"])]
        start = int(s["offset"])
        # The sample's raw text: the document from the sample's start, far past L tokens.
        text = document[start:start + 64 * L]
        text = text[:text.rfind(" ")] if " " in text else text
        enc = tok(text, max_length=L, truncation=True, return_tensors="pt")
        ids = enc["input_ids"][0].tolist()
        crammer_ids = [int(x) for x in s["token_ids"].split()][:L]
        if ids != crammer_ids:
            errors.append(f"{kind} {r['task_key']}: ids differ\n  hf      {ids}\n  crammer {crammer_ids}")
            continue
        with torch.no_grad():
            out = model(**enc, labels=enc["input_ids"])
        loss = out.loss.item()
        acc = (out.logits[0, :-1].argmax(-1) == enc["input_ids"][0, 1:]).float().mean().item()
        got_loss, got_acc = float(r["baseline_loss"]), float(r["baseline_acc"])
        print(f"{kind} {r['task_key']}: bos {ids[0] == hf_bos} loss hf {loss:.6f} crammer "
              f"{got_loss:.6f}, acc hf {acc:.4f} crammer {got_acc:.4f}")
        if abs(got_loss - loss) > TOL * abs(loss):
            errors.append(f"{kind} {r['task_key']}: baseline_loss {got_loss} vs transformers {loss}")
        if abs(got_acc - acc) > 1e-6:
            errors.append(f"{kind} {r['task_key']}: baseline_acc {got_acc} vs transformers {acc}")
        errors += check_copy(kind, r, tok, model, ids)
    if not any(float(r["baseline_acc"]) > 0 for r in rows):
        errors.append(f"{kind}: every baseline_acc is 0: the accuracy comparison checked nothing")
    if len(rows) != 3 * len(LENGTHS):
        errors.append(f"{kind}: {len(rows)} result rows, expected {3 * len(LENGTHS)}")
    return errors


def check_copy(kind, r, tok, model, ids):
    """The in-context control of row R against the notebook's procedure on the same ids."""
    has_special = (tok("text text", add_special_tokens=True)["input_ids"] !=
                   tok("text text", add_special_tokens=False)["input_ids"])
    S = ids[1:] if has_special else ids
    prefix = tok(f"text: {tok.decode(S)}\nrepeat previous text: ", return_tensors="pt")["input_ids"]
    inp = torch.cat([prefix, torch.tensor([S])], dim=1)
    with torch.no_grad():
        logits = model(input_ids=inp).logits[0, -len(S):]
    target = torch.tensor(S[1:])
    loss = torch.nn.functional.cross_entropy(logits[:-1], target).item()
    acc = (logits[:-1].argmax(-1) == target).float().mean().item()
    got_loss, got_acc = float(r["copy_loss"]), float(r["copy_acc"])
    print(f"{kind} {r['task_key']}: copy loss hf {loss:.6f} crammer {got_loss:.6f}, "
          f"acc hf {acc:.4f} crammer {got_acc:.4f}")
    errors = []
    if not abs(got_loss - loss) <= TOL * abs(loss):
        errors.append(f"{kind} {r['task_key']}: copy_loss {got_loss} vs transformers {loss}")
    if not abs(got_acc - acc) <= 1e-6:
        errors.append(f"{kind} {r['task_key']}: copy_acc {got_acc} vs transformers {acc}")
    return errors


def main():
    run_cases(__doc__, KINDS, lambda kind, arch, args: check_kind(kind, arch, args, args.workdir),
              lambda ap: ap.add_argument("--tokenizers", type=pathlib.Path,
                                         default=ROOT / "tests/reference/fixtures/tokenizers"))


if __name__ == "__main__":
    main()
