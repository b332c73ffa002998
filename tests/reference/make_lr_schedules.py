#!/usr/bin/env python3
"""The learning rate of every update under transformers' own schedules, for crammer's
cram.optimizer.schedule (tests/cram/test_lr_schedule.cpp reads the committed output):
get_constant_schedule_with_warmup and get_cosine_with_min_lr_schedule_with_warmup with
num_training_steps = max_steps, on torch.optim.AdamW, read off the optimizer before each update;
and the trajectory of a 4-value f32 parameter under that AdamW and schedule with the gradient
2 (p - TARGET) (betas 0.9/0.9, weight decay 0.01, eps 1e-8, as crammer's defaults).

Usage: make_lr_schedules.py OUT.json
"""
import json
import sys

import torch
import transformers

CASES = [  # (schedule, lr, warmup_steps, min_lr, max_steps)
    ("constant", 0.01, 0, 0.0, 20),
    ("constant", 0.05, 7, 0.0, 20),
    ("cosine", 0.01, 0, 0.0, 30),
    ("cosine", 0.1, 5, 0.001, 40),
    ("cosine", 0.02, 40, 0.002, 40),
]


P0, TARGET = [1.0, 2.0, -3.0, 0.25], [0.5, -1.0, 2.0, 0.0]


def run(schedule, lr, warmup, min_lr, max_steps):
    p = torch.nn.Parameter(torch.tensor(P0, dtype=torch.float32))
    target = torch.tensor(TARGET, dtype=torch.float32)
    opt = torch.optim.AdamW([p], lr=lr, betas=(0.9, 0.9), weight_decay=0.01, eps=1e-8)
    if schedule == "constant":
        sched = transformers.get_constant_schedule_with_warmup(opt, num_warmup_steps=warmup)
    else:
        sched = transformers.get_cosine_with_min_lr_schedule_with_warmup(
            opt, num_warmup_steps=warmup, num_training_steps=max_steps, min_lr=min_lr)
    lrs, params = [], []
    for _ in range(max_steps):
        lrs.append(opt.param_groups[0]["lr"])
        p.grad = 2 * (p.detach() - target)
        opt.step()
        sched.step()
        params.append(p.detach().tolist())
    return lrs, params


def main():
    cases = []
    for s, lr, w, m, n in CASES:
        lrs, params = run(s, lr, w, m, n)
        cases.append({"schedule": s, "lr": lr, "warmup_steps": w, "min_lr": m, "max_steps": n, "lrs": lrs,
                      "params": params})
    with open(sys.argv[1], "w") as f:
        json.dump({"transformers": transformers.__version__, "p0": P0, "target": TARGET, "cases": cases}, f)
        f.write("\n")


if __name__ == "__main__":
    main()
