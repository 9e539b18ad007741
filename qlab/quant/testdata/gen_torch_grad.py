#!/usr/bin/python3
"""Generate PyTorch fake-quant backward vectors for qlab/quant.

Run with Debian's python (python3-torch 1.13):

    /usr/bin/python3 qlab/quant/testdata/gen_torch_grad.py

It writes qlab/quant/testdata/torch_fqgrad.json: inputs, upstream
gradients and the input gradients of fake_quantize_per_tensor_affine and
fake_quantize_per_channel_affine (the clipped straight-through estimator),
from a fixed seed. Floats are written as the shortest decimal of the float32.
"""
import json
import os

import numpy as np
import torch

torch.manual_seed(20261127)
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "torch_fqgrad.json")


def f32(t):
    return [float(str(np.float32(v))) for v in t.detach().to(torch.float32).flatten().tolist()]


def inputs(n, scale, qmin, qmax, zp):
    # Spread past the range, plus codes at exactly qmin-0.5 / qmax+0.5 (ties).
    lo, hi = (qmin - zp) * scale, (qmax - zp) * scale
    x = torch.rand(n) * (hi - lo) * 1.4 + lo - 0.2 * (hi - lo)
    edges = torch.tensor([lo - 0.5 * scale, hi + 0.5 * scale, lo - 0.49 * scale, hi + 0.49 * scale,
                          lo - 0.51 * scale, hi + 0.51 * scale, lo, hi])
    return torch.cat([x, edges]).float()


per_tensor = []
for name, scale, zp, qmin, qmax in [("uint8", 0.05, 100, 0, 255), ("int3", 0.5, 0, -4, 3),
                                    ("int4 zp", 0.125, -3, -8, 7)]:
    x = inputs(200, scale, qmin, qmax, zp).requires_grad_()
    dy = torch.randn(x.shape)
    torch.fake_quantize_per_tensor_affine(x, scale, zp, qmin, qmax).backward(dy)
    per_tensor.append(dict(name=name, x=f32(x), dy=f32(dy), scale=float(np.float32(scale)), zero_point=zp,
                           qmin=qmin, qmax=qmax, dx=f32(x.grad)))

per_channel = []
scales = torch.tensor([0.5, 0.25, 0.125])
zps = torch.tensor([0, 2, -1], dtype=torch.int32)
x = torch.cat([inputs(38, float(s), -4, 3, int(z)).reshape(2, 23) for s, z in zip(scales, zps)]).reshape(3, 2, 23)
x = x.clone().requires_grad_()
dy = torch.randn(x.shape)
torch.fake_quantize_per_channel_affine(x, scales, zps, 0, -4, 3).backward(dy)
per_channel.append(dict(name="int3 axis0", shape=list(x.shape), axis=0, x=f32(x), dy=f32(dy),
                        scales=f32(scales), zero_points=zps.tolist(), qmin=-4, qmax=3, dx=f32(x.grad)))

with open(OUT, "w") as f:
    json.dump(dict(per_tensor=per_tensor, per_channel=per_channel), f)
