#!/usr/bin/env python3
"""Realistic tokenizer directories of the three kinds the paper's models use, trained here with
Hugging Face `tokenizers` on Austen (data/corpora/austen) and saved the way the Hub ships them:

  gpt2/      byte-level BPE, GPT-2 pre-tokenizer, <|endoftext|>; no BOS added (GPT-2, Pythia)
  llama3/    byte-level BPE, Llama-3 split regex, ignore_merges, special tokens after the
             vocabulary, TemplateProcessing "<|begin_of_text|> $A" (Llama-3.x)
  sp-llama/  SentencePiece-style BPE (Metaspace "▁", byte_fallback <0x00>..<0xFF>, <unk> <s>
             </s> first) written by transformers' LlamaTokenizer: BOS <s> added (Llama-2,
             Sheared-LLaMA, Mistral)

Usage: make_tokenizers.py OUT_DIR. Deterministic (tokenizers' BPE trainer is).
"""
import json
import pathlib
import sys

from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, processors, trainers

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


def main():
    out = pathlib.Path(sys.argv[1])
    for name, make in (("gpt2", gpt2), ("llama3", llama3), ("sp-llama", sp_llama)):
        d = out / name
        d.mkdir(parents=True, exist_ok=True)
        make(d)
        print(f"tokenizer {name}: {d}", file=sys.stderr)


if __name__ == "__main__":
    main()
