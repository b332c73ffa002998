#!/usr/bin/env python3
"""Where a cramming step's time goes on this CPU, per ATen op, under whichever PyTorch runs it:
the same script under Debian's torch 1.13 (/usr/bin/python3, OpenBLAS) and the pinned wheel
(.venv/bin/python, MKL) says what made LibTorch 1.13 slow at a real model's shape (which ops,
threads, BLAS). Not crammer's code: the same ATen calls crammer's engine makes (linear, RMSNorm,
rotary, grouped-query attention, SwiGLU, the head and CE in chunks of 256 rows, backward to mem
only), on random weights of SmolLM2-135M's shape (30 layers, d 576, 9/3 heads, MLP 1536, vocab
49152, tied).

  /usr/bin/python3 bench/step_profile.py [--batch 8] [--length 32] [--threads 2]
  .venv/bin/python bench/step_profile.py ...
"""
import argparse
import math
import time

import torch
import torch.nn.functional as F

D, LAYERS, HEADS, KV, HD, MLP, VOCAB = 576, 30, 9, 3, 64, 1536, 49152


def timed(fn, reps):
    fn()
    best = 1e30
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def rms(x, w):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-5) * w


def rotate(x, cos, sin):  # [B, h, T, hd]
    x1, x2 = x[..., : HD // 2], x[..., HD // 2:]
    return x * cos + torch.cat([-x2, x1], -1) * sin


def attention(q, k, v, sdpa):
    rep = HEADS // KV
    if sdpa:  # what crammer runs on LibTorch >= 2.5 (scaled_dot_product_attention, enable_gqa)
        return F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=True)
    B, _, T, _ = q.shape  # crammer's explicit path: grouped heads ride along the query rows
    qg = q.reshape(B, KV, rep * T, HD)
    s = torch.matmul(qg, k.transpose(-1, -2)) / math.sqrt(HD)
    mask = torch.ones(T, T, dtype=torch.bool).triu(1)
    s = s.view(B, KV, rep, T, T).masked_fill(mask, float("-inf")).view_as(s)
    return torch.matmul(s.softmax(-1), v).view(B, HEADS, T, HD)


def step(w, mem, ids, sdpa):
    B, L = ids.shape
    x = torch.cat([mem, F.embedding(ids[:, :-1], w["embed"])], 1)  # [B, T, d]
    T = x.shape[1]
    inv = 1.0 / (100000.0 ** (torch.arange(0, HD, 2).float() / HD))
    f = torch.outer(torch.arange(T).float(), inv)
    cos, sin = torch.cat([f, f], -1).cos(), torch.cat([f, f], -1).sin()
    for l in range(LAYERS):
        h = rms(x, w["n1"][l])
        q = F.linear(h, w["wq"][l]).view(B, T, HEADS, HD).transpose(1, 2)
        k = F.linear(h, w["wk"][l]).view(B, T, KV, HD).transpose(1, 2)
        v = F.linear(h, w["wv"][l]).view(B, T, KV, HD).transpose(1, 2)
        a = attention(rotate(q, cos, sin), rotate(k, cos, sin), v, sdpa)
        x = x + F.linear(a.transpose(1, 2).reshape(B, T, HEADS * HD), w["wo"][l])
        h = rms(x, w["n2"][l])
        x = x + F.linear(F.silu(F.linear(h, w["w1"][l])) * F.linear(h, w["w3"][l]), w["w2"][l])
    h = rms(x, w["norm"])[:, mem.shape[1]:].reshape(-1, D)  # the L - 1 scored rows
    y = ids[:, 1:].reshape(-1)
    loss = 0
    for i in range(0, h.shape[0], 256):  # the head and CE in chunks, never full logits
        loss = loss + F.cross_entropy(F.linear(h[i:i + 256], w["embed"]), y[i:i + 256], reduction="sum")
    loss.backward()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--length", type=int, default=32)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--explicit", action="store_true", help="explicit attention also on torch >= 2.5")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    sdpa = not args.explicit and hasattr(F, "scaled_dot_product_attention") and \
        tuple(int(p) for p in torch.__version__.split(".")[:2]) >= (2, 5)
    g = lambda *s: (torch.randn(*s) * 0.02)  # noqa: E731
    w = {"embed": g(VOCAB, D), "norm": torch.ones(D), "n1": torch.ones(LAYERS, D), "n2": torch.ones(LAYERS, D),
         "wq": g(LAYERS, HEADS * HD, D), "wk": g(LAYERS, KV * HD, D), "wv": g(LAYERS, KV * HD, D),
         "wo": g(LAYERS, D, HEADS * HD), "w1": g(LAYERS, MLP, D), "w3": g(LAYERS, MLP, D), "w2": g(LAYERS, D, MLP)}
    mem = (torch.randn(args.batch, 1, D) * 0.02).requires_grad_()
    ids = torch.randint(0, VOCAB, (args.batch, args.length))
    T = args.length  # 1 mem + L - 1 text positions
    rows = args.batch * T
    blas = [f for f in torch.__config__.show().replace(",", "\n").splitlines() if "BLAS_INFO" in f]
    print(f"torch {torch.__version__}: {torch.get_num_threads()} intra-op threads; {' '.join(blas)}")
    with open("/proc/self/maps") as f:  # the BLAS this process really loaded
        loaded = sorted({"/".join(l.split()[-1].rsplit("/", 2)[-2:]) for l in f
                         if any(n in l for n in ("blas", "mkl", "gomp", "iomp"))})
    print(f"libraries loaded: {', '.join(loaded)}")
    print(" | ".join(l.strip() for l in torch.__config__.parallel_info().splitlines()[1:5]))
    n = 2048
    a, b = torch.randn(n, n), torch.randn(n, n)
    print(f"GEMM 2048x2048x2048: {2 * n ** 3 / timed(lambda: torch.mm(a, b), 5) / 1e9:.1f} GFLOP/s")
    for m_, k_, n_ in ((rows, D, MLP), (rows, MLP, D), (rows, D, HEADS * HD), (256, D, VOCAB)):
        x, y = torch.randn(m_, k_), torch.randn(n_, k_)
        rate = 2 * m_ * k_ * n_ / timed(lambda: F.linear(x, y), 10) / 1e9
        print(f"linear [{m_} x {k_}] x [{k_} x {n_}]: {rate:.1f} GFLOP/s")
    lin = D * HEADS * HD + 2 * D * KV * HD + HEADS * HD * D + 3 * D * MLP
    flops = 2 * (2 * rows * LAYERS * lin + 6 * LAYERS * args.batch * T * T * HEADS * HD +
                 2 * args.batch * (args.length - 1) * VOCAB * D)
    run = lambda: step(w, mem, ids, sdpa)  # noqa: E731
    s = timed(run, args.steps)
    print(f"cramming step, batch {args.batch} x length {args.length}, attention "
          f"{'sdpa' if sdpa else 'explicit'}: {s:.3f} s, {flops / s / 1e9:.1f} GFLOP/s")
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
        run()
    print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=14))


if __name__ == "__main__":
    main()
