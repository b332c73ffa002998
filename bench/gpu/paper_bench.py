#!/usr/bin/env python3
"""The paper's procedure, timed: hidden_capacity's train.py loop for one text at batch 1, written
here from its definition, on a transformers model loaded in f32 from CKPT:

  with autocast(bf16): inputs_embeds = cat(mem, embed(ids)); out = model(inputs_embeds,
      output_hidden_states=True); logits = out.logits[:, k:]; loss = mean CE(logits[:, :-1],
      ids[:, 1:]); acc = mean(argmax == ids[:, 1:]).item()
  loss.backward(); AdamW(mem and the frozen weights; lr 1e-2, betas (0.9, 0.9), wd 0.01).step();
  zero_grad(); loss.item()

The texts never stop early (no stop rule is applied: every step is timed). Excluded in its
favour: train.py loads the model from disk twice per text (baseline, then training). Attention
is transformers' default (sdpa): train.py's FlashAttention-2 flag needs the flash-attn package.

  python3 bench/gpu/paper_bench.py --ckpt DIR --length 512 --device cuda --json out.json
"""
import argparse
import json
import time

import torch
import transformers


def loop_step(model, embed, mem, ids, opt, k, device_type):
    with torch.autocast(device_type=device_type, dtype=torch.bfloat16):
        inputs = torch.cat([mem.repeat(ids.shape[0], 1, 1), embed(ids)], 1)
        out = model(inputs_embeds=inputs, output_hidden_states=True)
        logits = out.logits[:, k:]
        shift = logits[:, :-1]
        loss = torch.nn.functional.cross_entropy(shift.reshape(-1, shift.shape[-1]), ids[:, 1:].reshape(-1))
        (shift.argmax(-1) == ids[:, 1:]).float().mean().item()
    loss.backward()
    opt.step()
    opt.zero_grad()
    return loss.item()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ckpt", required=True)
    ap.add_argument("--length", type=int, required=True)
    ap.add_argument("--n-mem", type=int, default=1)
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--seconds", type=float, default=3.0, help="time to spend on timed steps")
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--json")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    model = transformers.AutoModelForCausalLM.from_pretrained(args.ckpt, dtype=torch.float32).to(device).eval()
    for p in model.parameters():
        p.requires_grad_(False)
    embed = model.get_input_embeddings()
    k, d = args.n_mem, embed.weight.shape[1]
    gen = torch.Generator().manual_seed(0)
    ids = torch.randint(0, model.config.vocab_size, (1, args.length), generator=gen).to(device)
    mem = torch.nn.Parameter((torch.randn(k, d, generator=gen) * embed.weight.float().std().cpu()).to(device))
    # train.py hands AdamW the wrapper's parameters: [mem] and every (frozen) model weight.
    opt = torch.optim.AdamW([mem, *model.parameters()], lr=1e-2, betas=(0.9, 0.9), weight_decay=0.01, eps=1e-8)

    for _ in range(3):  # warm-up: kernel selection, allocator, AdamW state
        loop_step(model, embed, mem, ids, opt, k, device.type)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    steps, t0 = 0, time.perf_counter()
    while steps < 5 or time.perf_counter() - t0 < args.seconds:
        loop_step(model, embed, mem, ids, opt, k, device.type)  # .item() waits for the device
        steps += 1
    wall = time.perf_counter() - t0
    peak = torch.cuda.max_memory_allocated(device) / 2**30 if device.type == "cuda" else -1
    result = {"ckpt": args.ckpt, "model_type": model.config.model_type, "length": args.length, "n_mem": k,
              "device": args.device, "torch": torch.__version__, "transformers": transformers.__version__,
              "attention": model.config._attn_implementation, "steps": steps, "step_seconds": wall / steps,
              "sample_steps_per_s": steps / wall, "peak_gib": peak}
    print(f"paper procedure: {args.ckpt} ({result['model_type']}), length {args.length}, k {k}, batch 1, "
          f"f32 weights + bf16 autocast on {args.device}, attention {result['attention']}: {steps} steps, "
          f"{result['step_seconds'] * 1e3:.2f} ms/step, {result['sample_steps_per_s']:.2f} sample-steps/s, "
          f"peak {peak:.2f} GiB")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)


if __name__ == "__main__":
    main()
