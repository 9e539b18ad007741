#!/usr/bin/python3
"""Writes torch_fans.json: PyTorch 1.13's fans for the weights of real torch
modules, the oracle for initializers.FansFor(..., PyTorchFans).

Run from this directory with Debian's python (python3-torch):
    /usr/bin/python3 gen_torch_fans.py
The weight shapes come from the modules themselves, so the test also checks
that qlab's layouts (dense (out, in), conv (out, in, kh, kw), depthwise
(C*m, 1, kh, kw)) are PyTorch's.
"""
import json

import torch
from torch import nn

cases = [
    # name, layout, depthwise multiplier, module
    ("dense", "dense", 1, nn.Linear(20, 10)),
    ("dense-wide", "dense", 1, nn.Linear(3072, 128)),
    ("conv", "conv", 1, nn.Conv2d(8, 16, 3)),
    ("conv-rect", "conv", 1, nn.Conv2d(2, 4, (3, 5))),
    ("pointwise", "conv", 1, nn.Conv2d(16, 32, 1)),
    ("depthwise", "depthwise", 1, nn.Conv2d(32, 32, 3, groups=32)),
    ("depthwise-x2", "depthwise", 2, nn.Conv2d(32, 64, 5, groups=32)),
]
out = {"torch": torch.__version__, "cases": []}
for name, layout, mult, mod in cases:
    w = mod.weight
    fan_in, fan_out = nn.init._calculate_fan_in_and_fan_out(w)
    out["cases"].append({
        "name": name, "layout": layout, "multiplier": mult,
        "shape": list(w.shape), "fan_in": fan_in, "fan_out": fan_out,
    })
with open("torch_fans.json", "w") as f:
    json.dump(out, f, indent=1)
    f.write("\n")
