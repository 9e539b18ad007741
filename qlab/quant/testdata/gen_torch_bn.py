#!/usr/bin/python3
"""Generate the PyTorch oracle for quant.ReestimateBN.

Run with Debian's python (python3-torch 1.13):

    /usr/bin/python3 qlab/quant/testdata/gen_torch_bn.py

It builds conv3x3(2->4, bias)+BN+ReLU, depthwise3x3(4)+BN+ReLU, sets random
weights and stale running statistics, then calls
torch.optim.swa_utils.update_bn (which resets the statistics, sets
momentum=None — the cumulative average — runs the batches in training mode
and restores the momenta) on five batches, the last one smaller. It writes
qlab/quant/testdata/torch_bn.json: weights, the stale and the re-estimated
statistics, the inputs. Float32 values are written as their shortest
round-trip decimal.
"""
import json
import os

import numpy as np
import torch
from torch import nn

torch.manual_seed(20190611)
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "torch_bn.json")


def f32(t):
    return [float(str(np.float32(v))) for v in t.detach().to(torch.float32).flatten().tolist()]


model = nn.Sequential(
    nn.Conv2d(2, 4, 3, padding=1, bias=True),
    nn.BatchNorm2d(4),
    nn.ReLU(),
    nn.Conv2d(4, 4, 3, padding=1, groups=4, bias=False),
    nn.BatchNorm2d(4, momentum=0.3),
    nn.ReLU(),
)
with torch.no_grad():
    for m in model:
        if isinstance(m, nn.Conv2d):
            m.weight.normal_(0, 0.5)
            if m.bias is not None:
                m.bias.uniform_(-1, 1)
        if isinstance(m, nn.BatchNorm2d):
            m.weight.uniform_(0.5, 1.5)
            m.bias.uniform_(-0.5, 0.5)
            m.running_mean.uniform_(-3, 3)   # stale statistics
            m.running_var.uniform_(5, 9)

stale = {k: f32(v) for k, v in model.state_dict().items() if "running" in k}
batch = 6
x = torch.randn(4 * batch + 4, 2, 5, 5) * 2 + 0.5
loader = [x[i:i + batch] for i in range(0, x.shape[0], batch)]
params = {k: f32(v) for k, v in model.state_dict().items() if "running" not in k and "num_batches" not in k}
torch.optim.swa_utils.update_bn(loader, model)
after = {k: f32(v) for k, v in model.state_dict().items() if "running" in k}
momenta = [m.momentum for m in model if isinstance(m, nn.BatchNorm2d)]

model.eval()
with torch.no_grad():
    y = model(x)

json.dump({
    "batch": batch,
    "x_shape": list(x.shape),
    "x": f32(x),
    "params": params,
    "stale": stale,
    "reestimated": after,
    "momenta_restored": momenta,
    "eval_out": f32(y),
}, open(OUT, "w"))
print("wrote", OUT)
