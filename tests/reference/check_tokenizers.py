#!/usr/bin/env python3
"""crammer's tokenizers against Hugging Face's, on many random strings: for each tokenizer
directory (every kind of make_tokenizers.py, GPT-2's real files and, when converted, SmolLM2's
real tokenizer.json), every string must give the same ids (with and without the BOS the
tokenizer adds), and crammer's decode must give the string back wherever Hugging Face's does.
Directories with a tokenizer_config.json are loaded with transformers; the pipeline kinds
(tokenizer.json alone) with `tokenizers` itself.

  check_tokenizers.py --tool reference_tokenize_tool [--count 10000] [--smollm2 DIR]
  check_tokenizers.py --write-golden N                                   # refresh the goldens

The goldens (fixtures/tokenizers/<kind>/golden.jsonl: the first N strings with Hugging Face's
ids) let the default build check the same behaviour without PyPI (test_tokenizer_golden.cpp).
"""
import argparse
import json
import pathlib
import random
import subprocess
import sys

import tokenizers
import transformers

ROOT = pathlib.Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests/reference/fixtures/tokenizers"
PIPELINES = ["smollm2", "pythia", "qwen2", "gemma", "mistral-split", "deepseek", "falcon", "bloom",
             "lowercase-words", "bert-prefix", "split-mix"]
DIRS = {"gpt2": FIXTURES / "gpt2", "llama3": FIXTURES / "llama3", "sp-llama": FIXTURES / "sp-llama",
        "gpt2-real": ROOT / "data/tokenizers/gpt2", **{k: FIXTURES / k for k in PIPELINES}}

WORDS = ["the", "The", "and", "Anne", "Elliot", "Kellynch", "naïve", "café", "Straße", "œuvre",
         "привет", "мир", "Ελλάδα", "日本語", "中文字", "한국어", "العربية", "עברית", "हिन्दी",
         "ไทย", "e\u0301", "n\u0303o", "a\u0308\u0304", "Z\u0351\u0362\u0327", "ﬁ", "Ⅻ", "①"]
EMOJI = ["😀", "👍🏽", "👩‍👩‍👧", "🏳️‍🌈", "❤️", "🇫🇷", "🤖", "✨", "\U0001F9D1\u200D\U0001F4BB"]
SPACES = [" ", "  ", "   ", "\t", "\n", "\n\n", "\r\n", " \n ", "\u00a0", "\u3000", "\u2009",
          " \t\n", "\u200b"]
PUNCT = [".", ",", "!", "?", "...", "—", "–", "-", "(", ")", "\"", "“", "”", "«", "»", "'", "’",
         "@", "#", "$", "%", "&", "*", "/", "\\", ":", ";", "<", ">", "[", "]", "{", "}", "~"]
CONTRACTIONS = ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'S", "'T", "'RE", "'Ll", "’s"]
SPECIALS = ["<|endoftext|>", "<|begin_of_text|>", "<|end_of_text|>", "<s>", "</s>", "<unk>"]


def random_string(rng):
    parts = []
    for _ in range(rng.randint(1, 24)):
        r = rng.random()
        if r < 0.30:
            parts.append(rng.choice(WORDS))
        elif r < 0.42:
            parts.append(rng.choice(SPACES))
        elif r < 0.52:
            parts.append(rng.choice(PUNCT))
        elif r < 0.60:
            parts.append(rng.choice(CONTRACTIONS))
        elif r < 0.68:
            parts.append("".join(rng.choice("0123456789") for _ in range(rng.randint(1, 14))))
        elif r < 0.75:
            parts.append(rng.choice(EMOJI))
        elif r < 0.80:  # very long words
            parts.append("".join(rng.choice("abcdefghijklmnopqrstuvwxyzé") for _ in
                                 range(rng.randint(30, 300))))
        elif r < 0.83:
            parts.append(rng.choice(SPECIALS))
        elif r < 0.90:  # random code points from several blocks, combining marks included
            block = rng.choice([(0x20, 0x7E), (0xA0, 0x24F), (0x300, 0x36F), (0x370, 0x3FF),
                                (0x400, 0x4FF), (0x590, 0x6FF), (0x900, 0x97F), (0x3040, 0x30FF),
                                (0x4E00, 0x4FFF), (0xAC00, 0xACFF), (0x1F300, 0x1F6FF),
                                (0x2000, 0x206F)])
            parts.append("".join(chr(rng.randint(*block)) for _ in range(rng.randint(1, 6))))
        else:
            parts.append(" " + rng.choice(WORDS))
    return "".join(parts)


def strings(count, seed=20261201):
    rng = random.Random(seed)
    return [random_string(rng) for _ in range(count)]


def load_hf(directory):
    """encode(text, add_special_tokens) -> ids and decode(ids) -> text of the reference."""
    if (directory / "tokenizer_config.json").exists() or (directory / "config.json").exists():
        tok = transformers.AutoTokenizer.from_pretrained(str(directory))
    elif (directory / "tokenizer.json").exists():
        tok = tokenizers.Tokenizer.from_file(str(directory / "tokenizer.json"))
        return (lambda t, special: tok.encode(t, add_special_tokens=special).ids,
                lambda ids: tok.decode(ids, skip_special_tokens=False))
    else:  # GPT-2's own files (vocab.json + merges.txt, nothing else), as GPT2Tokenizer reads them
        tok = transformers.GPT2Tokenizer.from_pretrained(str(directory))
    return (lambda t, special: tok(t, add_special_tokens=special)["input_ids"],
            lambda ids: tok.decode(ids))


def hf_outputs(directory, texts):
    encode, decode = load_hf(directory)
    out = []
    for t in texts:
        ids = encode(t, False)
        try:
            round_trips = decode(ids) == t
        except BaseException:  # noqa: B036 (a panic in tokenizers' Rust is a BaseException)
            round_trips = False
        out.append({"text": t, "ids": ids, "bos_ids": encode(t, True), "round_trips": round_trips})
    return out


def crammer_outputs(tool, directory, texts):
    stdin = "".join(json.dumps(t) + "\n" for t in texts)
    res = subprocess.run([tool, str(directory)], input=stdin, capture_output=True, text=True)
    if res.returncode != 0:
        raise SystemExit(f"{tool} {directory}: exit {res.returncode}: {res.stderr}")
    return [json.loads(line) for line in res.stdout.split("\n") if line]


def compare(name, hf, ours):
    errors, round_trips = [], 0
    for h, c in zip(hf, ours):
        if h["ids"] != c["ids"]:
            errors.append(f"{name}: ids differ for {h['text']!r}\n  hf      {h['ids']}\n"
                          f"  crammer {c['ids']}")
        elif h["bos_ids"] != c["bos_ids"]:
            errors.append(f"{name}: ids with BOS differ for {h['text']!r}: hf {h['bos_ids'][:3]}..."
                          f" crammer {c['bos_ids'][:3]}...")
        elif h["round_trips"]:
            round_trips += 1
            if c["decoded"] != h["text"]:
                errors.append(f"{name}: decode(encode(x)) != x for {h['text']!r}: "
                              f"{c['decoded']!r}")
    return errors, round_trips


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tool", help="reference_tokenize_tool")
    ap.add_argument("--count", type=int, default=10000)
    ap.add_argument("--write-golden", type=int, metavar="N")
    ap.add_argument("--smollm2", type=pathlib.Path, metavar="DIR",
                    help="SmolLM2's converted directory (scripts/smollm2.sh); checked when present")
    args = ap.parse_args()
    if args.write_golden:
        texts = strings(args.write_golden)
        for name, directory in DIRS.items():
            path = FIXTURES / f"golden-{name}.jsonl"
            with open(path, "w", encoding="utf-8") as f:
                for row in hf_outputs(directory, texts):
                    f.write(json.dumps(row, ensure_ascii=False) + "\n")
            print(f"wrote {path}", file=sys.stderr)
        return
    if not args.tool:
        ap.error("--tool is required (or --write-golden N)")
    texts = strings(args.count)
    failed = False
    dirs = dict(DIRS)
    if args.smollm2 and (args.smollm2 / "tokenizer.json").exists():
        dirs["smollm2-real"] = args.smollm2
    elif args.smollm2:
        print(f"smollm2-real: skipped ({args.smollm2} has no tokenizer.json; scripts/smollm2.sh "
              f"converts the model)")
    for name, directory in dirs.items():
        errors, round_trips = compare(name, hf_outputs(directory, texts),
                                      crammer_outputs(args.tool, directory, texts))
        print(f"{name}: {len(texts)} strings, {len(errors)} mismatches, {round_trips} round trips "
              f"checked")
        for e in errors[:20]:
            print("FAIL " + e, file=sys.stderr)
        failed = failed or bool(errors)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
