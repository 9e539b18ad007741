#!/usr/bin/python3
"""Generate PyTorch 1.13 reference vectors for qlab/nn's tests.

Run from anywhere with Debian's python (it has torch):
    /usr/bin/python3 qlab/nn/testdata/gen_torch.py

Writes torch_vectors.json (an index) and torch_vectors.bin (raw little-endian
float32) next to this script, or into the directory given as the only
argument (TestTorchVectorsUpToDate regenerates them there and compares). Every case draws its inputs, weights and
upstream gradients from a fixed seed, rounds them to float32, and computes
outputs and gradients in float64, so the stored results are float32
roundings of exact values and the Go tolerances measure only qlab's float32
error. Index entries: {"name", "kind", "config", "training", "tensors":
{tensor name: {"offset": float index into the .bin, "shape": [...]}}}.
"""
import json
import os

import torch
import torch.nn as tnn
import torch.nn.functional as F

import sys

# Output directory: the script's own (testdata/) unless given as argument.
HERE = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
blob = []
offset = 0
cases = []


def put(tensors, name, t):
    global offset
    a = t.detach().to(torch.float32).contiguous().reshape(-1)
    tensors[name] = {"offset": offset, "shape": list(t.shape)}
    blob.append(a)
    offset += a.numel()


def f32(t):
    """Round to float32 then widen: the values Go will see exactly."""
    return t.to(torch.float32).to(torch.float64)


def rand(*shape, scale=1.0):
    return f32(torch.randn(*shape, dtype=torch.float64) * scale)


def layer_case(name, kind, config, module, x, training=True, extra=None):
    """Forward x through module (float64), backward a random dy, record all."""
    module = module.double()
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(f32(p))
    module.train(training)
    tensors = {}
    put(tensors, "x", x)
    for pname, p in module.named_parameters():
        put(tensors, pname, p)
    for bname, b in module.named_buffers():
        if b.dtype.is_floating_point:
            put(tensors, bname, b)
    xg = x.clone().requires_grad_(True)
    y = module(xg)
    dy = rand(*y.shape)
    y.backward(dy)
    put(tensors, "y", y)
    put(tensors, "dy", dy)
    put(tensors, "dx", xg.grad)
    for pname, p in module.named_parameters():
        put(tensors, pname + ".grad", p.grad)
    for bname, b in module.named_buffers():
        if b.dtype.is_floating_point:
            put(tensors, bname + ".after", b)
    cases.append({"name": name, "kind": kind, "config": config, "training": training, "tensors": tensors})


def conv(name, cin, cout, k, stride, padding, bias, n=2, h=7, w=6):
    torch.manual_seed(len(cases) + 1)
    m = tnn.Conv2d(cin, cout, k, stride=stride, padding=k // 2 if padding == "same" else 0, bias=bias)
    cfg = {"In": cin, "Out": cout, "Kernel": k, "Stride": stride, "Padding": padding, "Bias": bias}
    layer_case(name, "Conv2D", cfg, m, rand(n, cin, h, w))


def depthwise(name, c, k, stride, padding, mult, bias, n=2, h=7, w=6):
    torch.manual_seed(len(cases) + 1)
    m = tnn.Conv2d(c, c * mult, k, stride=stride, padding=k // 2 if padding == "same" else 0, groups=c, bias=bias)
    cfg = {"Channels": c, "Kernel": k, "Stride": stride, "Padding": padding, "Multiplier": mult, "Bias": bias}
    layer_case(name, "DepthwiseConv2D", cfg, m, rand(n, c, h, w))


def main():
    conv("conv3x3_s1_same_bias", 3, 4, 3, 1, "same", True)
    conv("conv3x3_s2_same", 3, 5, 3, 2, "same", False)
    conv("conv5x5_s1_valid_bias", 2, 3, 5, 1, "valid", True, h=8, w=9)
    conv("conv1x1_bias", 4, 6, 1, 1, "valid", True)
    conv("conv2x2_same", 2, 3, 2, 1, "same", False)
    conv("conv3x3_s2_valid", 3, 2, 3, 2, "valid", True, h=9, w=8)
    depthwise("dw3x3_s1_same", 4, 3, 1, "same", 1, False)
    depthwise("dw3x3_s2_same_mult2_bias", 3, 3, 2, "same", 2, True)
    depthwise("dw5x5_valid_bias", 2, 5, 1, "valid", 1, True, h=8, w=8)

    torch.manual_seed(101)
    bn = tnn.BatchNorm2d(5, momentum=0.1, eps=1e-5)
    with torch.no_grad():
        bn.weight.copy_(torch.rand(5) + 0.5)
        bn.bias.copy_(torch.randn(5))
        bn.running_mean.copy_(f32(torch.randn(5, dtype=torch.float64)))
        bn.running_var.copy_(f32(torch.rand(5, dtype=torch.float64) + 0.5))
    layer_case("bn_train", "BatchNorm2D", {"Channels": 5, "Momentum": 0.1, "Eps": 1e-5}, bn, rand(3, 5, 4, 3, scale=2.0) + 1.0)
    torch.manual_seed(102)
    bn = tnn.BatchNorm2d(4, momentum=0.3, eps=1e-3)
    with torch.no_grad():
        bn.weight.copy_(torch.rand(4) + 0.5)
        bn.bias.copy_(torch.randn(4))
        bn.running_mean.copy_(f32(torch.randn(4, dtype=torch.float64)))
        bn.running_var.copy_(f32(torch.rand(4, dtype=torch.float64) + 0.5))
    layer_case("bn_eval", "BatchNorm2D", {"Channels": 4, "Momentum": 0.3, "Eps": 1e-3}, bn, rand(2, 4, 3, 3), training=False)

    torch.manual_seed(103)
    layer_case("relu", "ReLU", {}, tnn.ReLU(), rand(2, 3, 4, 4))
    layer_case("relu6", "ReLU6", {}, tnn.ReLU6(), rand(2, 3, 4, 4, scale=5.0))
    layer_case("maxpool2", "MaxPool2D", {"Kernel": 2, "Stride": 2}, tnn.MaxPool2d(2, 2), rand(2, 3, 6, 5))
    layer_case("maxpool3s2", "MaxPool2D", {"Kernel": 3, "Stride": 2}, tnn.MaxPool2d(3, 2), rand(2, 2, 7, 7))
    layer_case("avgpool2", "AvgPool2D", {"Kernel": 2, "Stride": 2}, tnn.AvgPool2d(2, 2), rand(2, 3, 6, 5))
    layer_case("avgpool3s1", "AvgPool2D", {"Kernel": 3, "Stride": 1}, tnn.AvgPool2d(3, 1), rand(2, 2, 5, 6))
    layer_case("gap", "GlobalAvgPool", {}, tnn.Sequential(tnn.AdaptiveAvgPool2d(1), tnn.Flatten()), rand(3, 4, 3, 5))
    torch.manual_seed(104)
    layer_case("dense_bias", "Dense", {"In": 7, "Out": 5, "Bias": True}, tnn.Linear(7, 5), rand(3, 7))
    torch.manual_seed(105)
    layer_case("dense", "Dense", {"In": 6, "Out": 4, "Bias": False}, tnn.Linear(6, 4, bias=False), rand(2, 6))

    # Loss: mean cross-entropy; large logits check the max subtraction.
    torch.manual_seed(106)
    logits = rand(5, 7, scale=3.0)
    logits[2] += 80.0
    labels = torch.tensor([0, 6, 3, 3, 1])
    lg = logits.clone().requires_grad_(True)
    loss = F.cross_entropy(lg, labels)
    loss.backward()
    tensors = {}
    put(tensors, "logits", logits)
    put(tensors, "labels", labels.double())
    put(tensors, "loss", loss.reshape(1))
    put(tensors, "dlogits", lg.grad)
    cases.append({"name": "cross_entropy", "kind": "SoftmaxCrossEntropy", "config": {}, "training": True, "tensors": tensors})

    refnet("refnet_s", dws=False)
    refnet("refnet_dws", dws=True)

    with open(os.path.join(HERE, "torch_vectors.bin"), "wb") as f:
        f.write(torch.cat(blob).numpy().astype("<f4").tobytes())
    with open(os.path.join(HERE, "torch_vectors.json"), "w") as f:
        json.dump({"generator": "gen_torch.py", "torch": torch.__version__, "cases": cases}, f, indent=1)
        f.write("\n")


def refnet(name, dws):
    """RefNet-S / RefNet-DWS (DESIGN.md), batch 2, one training-mode
    forward+backward of the mean cross-entropy, then an eval-mode forward
    with the updated running statistics. Parameter names follow the Go test's
    layer names."""
    torch.manual_seed(200 + int(dws))
    layers, names = [], []
    cin = 3

    def block(prefix, cout, first):
        nonlocal cin
        if dws and not first:
            layers.extend([tnn.Conv2d(cin, cin, 3, padding=1, groups=cin, bias=False), tnn.BatchNorm2d(cin), tnn.ReLU(),
                           tnn.Conv2d(cin, cout, 1, bias=False), tnn.BatchNorm2d(cout), tnn.ReLU()])
            names.extend([prefix + "/dw", prefix + "/dw_bn", None, prefix + "/pw", prefix + "/pw_bn", None])
        else:
            layers.extend([tnn.Conv2d(cin, cout, 3, padding=1, bias=False), tnn.BatchNorm2d(cout), tnn.ReLU()])
            names.extend([prefix + "/conv", prefix + "/bn", None])
        cin = cout

    for i, stage in enumerate([[32, 32], [64, 64], [128]]):
        for j, w in enumerate(stage):
            block("s%d_%d" % (i + 1, j + 1), w, i == 0 and j == 0)
        layers.append(tnn.MaxPool2d(2, 2))
        names.append(None)
    layers.extend([tnn.AdaptiveAvgPool2d(1), tnn.Flatten(), tnn.Linear(128, 10)])
    names.extend([None, None, "fc"])
    net = tnn.Sequential(*layers).double()
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, tnn.BatchNorm2d):
                m.weight.copy_(torch.rand(m.num_features) + 0.5)
                m.bias.copy_(torch.randn(m.num_features) * 0.1)
        for p in net.parameters():
            p.copy_(f32(p))

    def pname(idx, attr):
        go = {"weight": "weight", "bias": "bias"}
        if isinstance(net[idx], tnn.BatchNorm2d):
            go = {"weight": "gamma", "bias": "beta", "running_mean": "running_mean", "running_var": "running_var"}
        return names[idx] + "/" + go[attr]

    tensors = {}
    x = rand(2, 3, 32, 32)
    labels = torch.tensor([3, 7])
    put(tensors, "x", x)
    put(tensors, "labels", labels.double())
    for idx, m in enumerate(net):
        for attr, p in list(m.named_parameters(recurse=False)) + [(b, t) for b, t in m.named_buffers(recurse=False) if t.dtype.is_floating_point]:
            put(tensors, pname(idx, attr), p)
    net.train()
    xg = x.clone().requires_grad_(True)
    logits = net(xg)
    loss = F.cross_entropy(logits, labels)
    loss.backward()
    put(tensors, "logits", logits)
    put(tensors, "loss", loss.reshape(1))
    put(tensors, "dx", xg.grad)
    for idx, m in enumerate(net):
        for attr, p in m.named_parameters(recurse=False):
            put(tensors, pname(idx, attr) + ".grad", p.grad)
        for attr, b in m.named_buffers(recurse=False):
            if b.dtype.is_floating_point:
                put(tensors, pname(idx, attr) + ".after", b)
    net.eval()
    with torch.no_grad():
        put(tensors, "logits_eval", net(x))
    cases.append({"name": name, "kind": "RefNet", "config": {"DWS": dws}, "training": True, "tensors": tensors})


if __name__ == "__main__":
    main()
