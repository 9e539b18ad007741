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


# End-to-end: a small VGG-like net (qlab's arch.VGGSpec with Input 1x8x8,
# Classes 4, Stages {{4}, {8}}, BatchNorm) trained 2 epochs, batch 8, in
# dataset order, SGD with Nesterov momentum and weight decay on every
# parameter; qlab's Fit must reproduce the weights, BatchNorm running
# statistics and per-epoch metrics.
torch.manual_seed(7)
net = torch.nn.Sequential(
    torch.nn.Conv2d(1, 4, 3, padding=1, bias=False), torch.nn.BatchNorm2d(4), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
    torch.nn.Conv2d(4, 8, 3, padding=1, bias=False), torch.nn.BatchNorm2d(8), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
    torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(8, 4))
names = {
    "0.weight": "stem/conv/weight", "1.weight": "stem/conv/bn/gamma", "1.bias": "stem/conv/bn/beta",
    "1.running_mean": "stem/conv/bn/running_mean", "1.running_var": "stem/conv/bn/running_var",
    "4.weight": "block1/conv/weight", "5.weight": "block1/conv/bn/gamma", "5.bias": "block1/conv/bn/beta",
    "5.running_mean": "block1/conv/bn/running_mean", "5.running_var": "block1/conv/bn/running_var",
    "10.weight": "head/fc/weight", "10.bias": "head/fc/bias",
}


def state():
    return {names[k]: v.detach().reshape(-1).tolist() for k, v in net.state_dict().items() if k in names}


x = torch.randn(32, 1, 8, 8)
y = torch.randint(0, 4, (32,))
init = state()
opt = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-3)
loss_fn = torch.nn.CrossEntropyLoss()
epochs = []
for epoch in range(2):
    net.train()
    lsum, correct = 0.0, 0
    for b in range(0, 32, 8):
        xb, yb = x[b:b + 8], y[b:b + 8]
        opt.zero_grad()
        logits = net(xb)
        loss = loss_fn(logits, yb)
        loss.backward()
        opt.step()
        lsum += loss.item() * 8
        correct += (logits.argmax(1) == yb).sum().item()
    net.eval()
    with torch.no_grad():
        logits = net(x)
        tl = loss_fn(logits, y).item()
        ta = (logits.argmax(1) == y).float().mean().item()
    epochs.append(dict(train_loss=lsum / 32, train_accuracy=correct / 32, test_loss=tl, test_accuracy=ta))
out["fit"] = dict(x=x.reshape(-1).tolist(), y=y.tolist(), init=init, final=state(), epochs=epochs,
                  lr=0.05, momentum=0.9, weight_decay=1e-3, batch=8)

path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "torch_optim.json")
with open(path, "w") as f:
    json.dump(out, f)
print("wrote", path)
