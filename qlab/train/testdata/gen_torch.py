#!/usr/bin/python3
"""Generate PyTorch reference vectors for qlab/train's optimizers and
learning-rate schedules.

Run with Debian's python (torch 1.13):  /usr/bin/python3 gen_torch.py
Writes torch_optim.json next to this script. Seeds are fixed; the output is
committed so `go test` needs no Python.
"""
import json
import math
import os

import torch

torch.manual_seed(20260127)
N = 37  # odd length: no vector-width assumptions
STEPS = 6

optim_cases = [
    ("sgd", dict(kind="sgd", lr=0.1), lambda p: torch.optim.SGD(p, lr=0.1)),
    ("sgd_wd", dict(kind="sgd", lr=0.05, weight_decay=0.01), lambda p: torch.optim.SGD(p, lr=0.05, weight_decay=0.01)),
    ("sgd_momentum", dict(kind="sgd", lr=0.05, momentum=0.9, weight_decay=5e-4),
     lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9, weight_decay=5e-4)),
    ("sgd_dampening", dict(kind="sgd", lr=0.05, momentum=0.8, dampening=0.3),
     lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.8, dampening=0.3)),
    ("sgd_nesterov", dict(kind="sgd", lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-3),
     lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-3)),
    ("adam", dict(kind="adam", lr=1e-2), lambda p: torch.optim.Adam(p, lr=1e-2)),
    ("adam_l2", dict(kind="adam", lr=3e-3, beta1=0.8, beta2=0.99, eps=1e-6, weight_decay=0.05),
     lambda p: torch.optim.Adam(p, lr=3e-3, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.05)),
    ("adamw", dict(kind="adamw", lr=1e-2, weight_decay=0.1),
     lambda p: torch.optim.AdamW(p, lr=1e-2, weight_decay=0.1)),
]

out = {"optim": [], "sched": []}
for name, cfg, make in optim_cases:
    w = torch.randn(N, dtype=torch.float32)
    p = torch.nn.Parameter(w.clone())
    opt = make([p])
    grads, ws = [], []
    for _ in range(STEPS):
        g = torch.randn(N, dtype=torch.float32) * 0.5
        p.grad = g.clone()
        opt.step()
        grads.append(g.tolist())
        ws.append(p.detach().clone().tolist())
    out["optim"].append(dict(name=name, config=cfg, w0=w.tolist(), grads=grads, w=ws))


def lrs(make, epochs):
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=0.1)
    s = make(opt)
    r = []
    for _ in range(epochs):
        r.append(opt.param_groups[0]["lr"])
        opt.step()
        s.step()
    return r


E = 12
out["sched"] = [
    dict(name="multistep", config=dict(kind="step", milestones=[3, 7], gamma=0.2), epochs=E,
         lr=lrs(lambda o: torch.optim.lr_scheduler.MultiStepLR(o, milestones=[3, 7], gamma=0.2), E)),
    dict(name="cosine", config=dict(kind="cosine", floor=0.001), epochs=E,
         lr=lrs(lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=E, eta_min=0.001), E)),
    # Linear warm-up over 4 epochs composed with a step schedule: LinearLR
    # with start_factor 1/4 reaches (k+1)/4 at epoch k.
    dict(name="warmup_step", config=dict(kind="step", milestones=[6], gamma=0.5, warmup_epochs=4), epochs=E,
         lr=lrs(lambda o: torch.optim.lr_scheduler.ChainedScheduler([
             torch.optim.lr_scheduler.LinearLR(o, start_factor=0.25, end_factor=1.0, total_iters=3),
             torch.optim.lr_scheduler.MultiStepLR(o, milestones=[6], gamma=0.5)]), E)),
]

path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "torch_optim.json")
with open(path, "w") as f:
    json.dump(out, f)
print("wrote", path)
