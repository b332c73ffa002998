#!/usr/bin/env python3
"""Realistic tokenizer directories of the three kinds the paper's models use, trained here with
Hugging Face `tokenizers` on Austen (data/corpora/austen) and saved the way the Hub ships them:

  gpt2/      byte-level BPE, GPT-2 pre-tokenizer, <|endoftext|>; no BOS added (GPT-2, Pythia)
  llama3/    byte-level BPE, Llama-3 split regex, ignore_merges, special tokens after the
             vocabulary, TemplateProcessing "<|begin_of_text|> $A" (Llama-3.x)
  sp-llama/  SentencePiece-style BPE (Metaspace "▁", byte_fallback <0x00>..<0xFF>, <unk> <s>
             </s> first) written by transformers' LlamaTokenizer: BOS <s> added (Llama-2,
             Sheared-LLaMA, Mistral)

and, built with `tokenizers` itself (tokenizer.json only, as each family's file composes its
pipeline; see PIPELINES below): smollm2, pythia, qwen2, gemma, mistral-split, deepseek, falcon,
bloom, lowercase-words, bert-prefix, split-mix.

Usage: make_tokenizers.py OUT_DIR. Deterministic (tokenizers' BPE trainer is).
"""
import json
import pathlib
import sys

from tokenizers import (Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors,
                        trainers)

ROOT = pathlib.Path(__file__).resolve().parents[2]
TRAIN = [str(ROOT / "data/corpora/austen" / f) for f in ("emma.txt", "northangerabbey.txt")]
VOCAB = 800

GPT2_SPLIT = (r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+")
LLAMA3_SPLIT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|"
                r" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")


def write_config(out, **fields):
    (out / "tokenizer_config.json").write_text(json.dumps(fields, indent=2) + "\n")


def gpt2(out):
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    tok.train(TRAIN, trainers.BpeTrainer(
        vocab_size=VOCAB, special_tokens=["<|endoftext|>"], show_progress=False,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    tok.save(str(out / "tokenizer.json"))
    write_config(out, tokenizer_class="GPT2Tokenizer", bos_token="<|endoftext|>",
                 eos_token="<|endoftext|>", unk_token="<|endoftext|>", add_bos_token=False,
                 model_max_length=2048)


def llama3(out):
    tok = Tokenizer(models.BPE(ignore_merges=True))
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(LLAMA3_SPLIT), "isolated"),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=False)])
    tok.decoder = decoders.ByteLevel()
    tok.train(TRAIN, trainers.BpeTrainer(
        vocab_size=VOCAB, show_progress=False,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    # As in Llama-3: the special tokens follow the learned vocabulary.
    tok.add_special_tokens(["<|begin_of_text|>", "<|end_of_text|>"])
    bos = tok.token_to_id("<|begin_of_text|>")
    tok.post_processor = processors.Sequence([
        processors.ByteLevel(trim_offsets=False),
        processors.TemplateProcessing(single="<|begin_of_text|> $A",
                                      pair="<|begin_of_text|> $A <|begin_of_text|> $B:1",
                                      special_tokens=[("<|begin_of_text|>", bos)])])
    tok.save(str(out / "tokenizer.json"))
    write_config(out, tokenizer_class="PreTrainedTokenizerFast", bos_token="<|begin_of_text|>",
                 eos_token="<|end_of_text|>", model_max_length=131072)


def sp_llama(out):
    import transformers  # only this kind needs it: LlamaTokenizer writes the Hub's layout

    trainer_tok = Tokenizer(models.BPE())
    trainer_tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="first",
                                                         split=True)
    n_special = 3 + 256
    trainer_tok.train(TRAIN, trainers.BpeTrainer(vocab_size=VOCAB - n_special,
                                                  show_progress=False))
    learned = json.loads(trainer_tok.to_str())["model"]
    # SentencePiece's id layout: <unk> <s> </s>, the 256 byte pieces, then the learned pieces.
    vocab = {"<unk>": 0, "<s>": 1, "</s>": 2}
    for b in range(256):
        vocab[f"<0x{b:02X}>"] = 3 + b
    for piece, _ in sorted(learned["vocab"].items(), key=lambda kv: kv[1]):
        vocab.setdefault(piece, len(vocab))
    merges = [tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in learned["merges"]]
    # add_bos_token=True writes the "<s> $A" template into tokenizer.json, as Llama-2's files
    # have it (transformers 5 takes the BOS from tokenizer.json, not tokenizer_config.json).
    tok = transformers.LlamaTokenizer(vocab=vocab, merges=merges, add_bos_token=True)
    tok.save_pretrained(str(out))


QWEN2_SPLIT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}|"
               r" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")
BYTES = [f"<0x{b:02X}>" for b in range(256)]


def byte_level_tokenizer(model, pre, normalizer=None, alphabet=None, specials=()):
    """A byte-level BPE trained on Austen with PRE as its pre-tokenizer."""
    tok = Tokenizer(model)
    if normalizer is not None:
        tok.normalizer = normalizer
    tok.pre_tokenizer = pre
    tok.decoder = decoders.ByteLevel()
    tok.train(TRAIN, trainers.BpeTrainer(
        vocab_size=VOCAB, special_tokens=list(specials), show_progress=False,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet() if alphabet is None else alphabet))
    return tok


def sentencepiece_pieces():
    """Vocab and merges of SentencePiece-style pieces ("▁the"), learned on Austen."""
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="first",
                                                 split=True)
    tok.train(TRAIN, trainers.BpeTrainer(vocab_size=VOCAB - 4 - 256, show_progress=False))
    learned = json.loads(tok.to_str())["model"]
    merges = [tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in learned["merges"]]
    return [p for p, _ in sorted(learned["vocab"].items(), key=lambda kv: kv[1])], merges


def sentencepiece_tokenizer(specials, **model_args):
    pieces, merges = sentencepiece_pieces()
    vocab = {}
    for piece in list(specials) + BYTES + pieces:
        vocab.setdefault(piece, len(vocab))
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges, byte_fallback=True, **model_args))
    tok.add_special_tokens(list(specials))
    return tok


def bos_template(tok, bos):
    return processors.TemplateProcessing(single=f"{bos} $A", pair=f"{bos} $A {bos} $B:1",
                                         special_tokens=[(bos, tok.token_to_id(bos))])


def smollm2():
    # As transformers writes SmolLM2's GGUF tokenizer: byte-level BPE with byte_fallback, an
    # unk token, fuse_unk, an empty normalizer Sequence, and a decoder chain that starts with
    # ByteFallback. The alphabet lacks 21 byte symbols (so do SmolLM2's 49152 tokens).
    missing = {chr(c) for c in list(range(0x100, 0x109)) + list(range(0x10E, 0x11A))}
    tok = byte_level_tokenizer(
        models.BPE(unk_token="<|endoftext|>", fuse_unk=True, byte_fallback=True),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=True),
        normalizer=normalizers.Sequence([]),
        alphabet=[c for c in pre_tokenizers.ByteLevel.alphabet() if c not in missing],
        specials=["<|endoftext|>", "<|im_start|>", "<|im_end|>"])
    tok.decoder = decoders.Sequence([decoders.ByteFallback(), decoders.Fuse(),
                                     decoders.Replace("▁", " "), decoders.ByteLevel()])
    tok.post_processor = processors.TemplateProcessing(single="$A", pair="$A $B:1")
    return tok


def pythia():
    return byte_level_tokenizer(models.BPE(), pre_tokenizers.ByteLevel(add_prefix_space=False),
                                normalizer=normalizers.NFC(),
                                specials=["<|endoftext|>", "<|padding|>"])


def qwen2():
    return byte_level_tokenizer(
        models.BPE(),
        pre_tokenizers.Sequence([pre_tokenizers.Split(Regex(QWEN2_SPLIT), "isolated"),
                                 pre_tokenizers.ByteLevel(add_prefix_space=False,
                                                          use_regex=False)]),
        normalizer=normalizers.NFC(), specials=["<|endoftext|>", "<|im_start|>", "<|im_end|>"])


def gemma():
    # Gemma: spaces become "▁" in the normalizer, no pre-tokenizer (a text is one word).
    tok = sentencepiece_tokenizer(["<pad>", "<eos>", "<bos>", "<unk>"], unk_token="<unk>",
                                  fuse_unk=True)
    tok.normalizer = normalizers.Replace(" ", "▁")
    tok.decoder = decoders.Sequence([decoders.Replace("▁", " "), decoders.ByteFallback(),
                                     decoders.Fuse()])
    tok.post_processor = bos_template(tok, "<bos>")
    return tok


def mistral_split():
    tok = sentencepiece_tokenizer(["<unk>", "<s>", "</s>"], unk_token="<unk>")
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always",
                                                 split=True)
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    tok.post_processor = bos_template(tok, "<s>")
    return tok


def deepseek():
    bos = "<｜begin▁of▁sentence｜>"
    tok = byte_level_tokenizer(
        models.BPE(),
        pre_tokenizers.Sequence([
            pre_tokenizers.Split(Regex(r"[\r\n]"), "isolated"),
            pre_tokenizers.Split(Regex(r"\s?\p{L}+"), "isolated"),
            pre_tokenizers.Split(Regex(r"\s?[!-/:-~]+"), "isolated"),
            pre_tokenizers.Digits(individual_digits=True),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)]),
        specials=[bos, "<｜end▁of▁sentence｜>"])
    tok.post_processor = bos_template(tok, bos)
    return tok


def falcon():
    return byte_level_tokenizer(
        models.BPE(),
        pre_tokenizers.Sequence([
            pre_tokenizers.Punctuation("contiguous"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True),
            pre_tokenizers.Digits(individual_digits=False),
            pre_tokenizers.Split(Regex("[0-9][0-9][0-9]"), "isolated")]),
        specials=[">>TITLE<<", "<|endoftext|>"])


def bloom():
    return byte_level_tokenizer(
        models.BPE(),
        pre_tokenizers.Sequence([
            pre_tokenizers.Split(Regex(" ?[^(\\s|[.,!?…。，、।۔،])]+"), "isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)]),
        specials=["<unk>", "<s>", "</s>", "<pad>"])


def lowercase_words():
    # Word-level BPE with an end-of-word suffix (OpenAI GPT, CLIP): lowercased, stripped.
    tok = Tokenizer(models.BPE(unk_token="<unk>", end_of_word_suffix="</w>"))
    tok.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Lowercase(),
                                           normalizers.Strip()])
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.decoder = decoders.BPEDecoder(suffix="</w>")
    tok.train(TRAIN, trainers.BpeTrainer(vocab_size=VOCAB, special_tokens=["<unk>"],
                                         end_of_word_suffix="</w>", show_progress=False))
    return tok


def bert_prefix():
    # Subwords after a word's first carry "##"; accents stripped; no decoder (spaces join).
    tok = Tokenizer(models.BPE(unk_token="[UNK]", continuing_subword_prefix="##"))
    tok.normalizer = normalizers.Sequence([normalizers.NFD(), normalizers.StripAccents(),
                                           normalizers.Lowercase()])
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.train(TRAIN, trainers.BpeTrainer(vocab_size=VOCAB, special_tokens=["[UNK]"],
                                         continuing_subword_prefix="##", show_progress=False))
    return tok


def split_mix():
    # The remaining components: Prepend, Replace(regex), NFKD, WhitespaceSplit, Punctuation
    # merged with the previous piece, CharDelimiterSplit, an inverted Split, Strip decoder.
    tok = Tokenizer(models.BPE(unk_token="<unk>", fuse_unk=True))
    tok.normalizer = normalizers.Sequence([normalizers.NFKD(), normalizers.Replace(Regex(r"\d+"), "#"),
                                           normalizers.Prepend("~")])
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Punctuation("merged_with_previous"),
        pre_tokenizers.CharDelimiterSplit("-"),
        pre_tokenizers.Split(Regex(r"[a-z]+"), "merged_with_next", invert=True)])
    tok.decoder = decoders.Sequence([decoders.Replace("~", ""), decoders.Strip(" ", 1, 0)])
    tok.train(TRAIN, trainers.BpeTrainer(vocab_size=VOCAB, special_tokens=["<unk>"],
                                         show_progress=False))
    return tok


# Pipelines of real families' tokenizer.json files (and the components they use), built by
# `tokenizers`; compared with tokenizers.Tokenizer.from_file by check_tokenizers.py.
PIPELINES = {"smollm2": smollm2, "pythia": pythia, "qwen2": qwen2, "gemma": gemma,
             "mistral-split": mistral_split, "deepseek": deepseek, "falcon": falcon,
             "bloom": bloom, "lowercase-words": lowercase_words, "bert-prefix": bert_prefix,
             "split-mix": split_mix}


def main():
    out = pathlib.Path(sys.argv[1])
    for name, make in PIPELINES.items():
        d = out / name
        d.mkdir(parents=True, exist_ok=True)
        make().save(str(d / "tokenizer.json"))
        print(f"tokenizer {name}: {d}", file=sys.stderr)
    for name, make in (("gpt2", gpt2), ("llama3", llama3), ("sp-llama", sp_llama)):
        d = out / name
        d.mkdir(parents=True, exist_ok=True)
        make(d)
        print(f"tokenizer {name}: {d}", file=sys.stderr)


if __name__ == "__main__":
    main()
