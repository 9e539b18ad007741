#!/usr/bin/python3
"""Generate PyTorch oracle vectors for qlab/quant.

Run with Debian's python (python3-torch 1.13):

    /usr/bin/python3 qlab/quant/testdata/gen_torch.py

It writes qlab/quant/testdata/torch_vectors.json: fake-quantization outputs,
quantize_per_tensor codes and observer qparams, all from fixed seeds. Float32
values are written as the float64 repr of the float32, so they round-trip
exactly. Go tests read the file; no Python is needed at test time.
"""
import json
import os

import numpy as np
import torch
from torch.ao.quantization import observer as obs

torch.manual_seed(20201127)
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "torch_vectors.json")


def f32(t):
    # Shortest decimal that reads back (as float32) to the same float32:
    # Go's encoding/json parses float32 fields with ParseFloat(s, 32).
    return [float(str(np.float32(v))) for v in t.detach().to(torch.float32).flatten().tolist()]


def inputs(n, spread, scale, qmin, qmax, zp):
    """Normal values, exact ties at power-of-two scales, near-ties, out of range."""
    x = torch.randn(n) * spread
    k = torch.randint(qmin - zp, qmax - zp + 1, (n // 4,)).float()
    ties = (k + 0.5) * scale
    lo = (qmin - zp) * scale
    hi = (qmax - zp) * scale
    out = torch.tensor([lo * 10, hi * 10, lo - scale * 0.5, hi + scale * 0.5, lo, hi, 0.0, -0.0,
                        scale * 0.5, -scale * 0.5, scale * 1.5, -scale * 1.5, 1e-30, -1e-30])
    return torch.cat([x, ties.float(), out.float()])


def fake_quant_per_tensor():
    cases = []
    specs = [
        # name, scale, zero_point, qmin, qmax, spread
        ("quint8", 0.05, 128, 0, 255, 4.0),
        ("quint8_pow2", 2.0 ** -4, 100, 0, 255, 6.0),
        ("quint8_odd", 0.0371, 17, 0, 255, 3.0),
        ("qint8", 0.1, 0, -128, 127, 8.0),
        ("qint8_restricted", 0.013, 0, -127, 127, 1.0),
        ("qint8_affine", 0.02, -20, -128, 127, 2.0),
        ("reduce_range_u7", 0.05, 60, 0, 127, 3.0),
        ("u4", 0.3, 5, 0, 15, 2.0),
        ("s4_pow2", 0.25, 0, -8, 7, 1.5),
        ("u2", 1.0, 1, 0, 3, 1.5),
        ("u16", 1e-3, 30000, 0, 65535, 20.0),
        ("s16", 3e-4, 0, -32768, 32767, 8.0),
        ("tiny_scale", 1.1920928955078125e-07, 0, 0, 255, 1e-5),
    ]
    for name, scale, zp, qmin, qmax, spread in specs:
        scale = float(torch.tensor(scale, dtype=torch.float32))
        x = inputs(200, spread, scale, qmin, qmax, zp)
        y = torch.fake_quantize_per_tensor_affine(x, scale, zp, qmin, qmax)
        cases.append(dict(name=name, x=f32(x), scale=scale, zero_point=zp, qmin=qmin, qmax=qmax, out=f32(y)))
    return cases


def fake_quant_per_channel():
    cases = []
    specs = [
        # name, shape, axis, qmin, qmax, symmetric
        ("conv_w_qint8_sym", (4, 3, 3, 3), 0, -128, 127, True),
        ("conv_w_restricted", (6, 2, 3, 3), 0, -127, 127, True),
        ("act_quint8_axis1", (2, 5, 3, 3), 1, 0, 255, False),
        ("dense_u4_axis1", (7, 6), 1, 0, 15, False),
    ]
    for name, shape, axis, qmin, qmax, sym in specs:
        c = shape[axis]
        spread = torch.rand(c) * 3 + 0.1
        bshape = [1] * len(shape)
        bshape[axis] = c
        x = torch.randn(*shape) * spread.view(bshape)
        scales = (torch.rand(c) * 0.05 + 0.005).float()
        if sym:
            zps = torch.zeros(c, dtype=torch.int32)
        else:
            zps = torch.randint(qmin, qmax + 1, (c,), dtype=torch.int32)
        # Put exact ties into the first elements of every channel slice.
        xt = x.transpose(0, axis).contiguous()
        for ch in range(c):
            flat = xt[ch].view(-1)
            flat[0] = (3 + 0.5) * scales[ch]
            flat[1] = (-2 - 0.5) * scales[ch]
            flat[2] = (qmax - zps[ch] + 5) * scales[ch]
        x = xt.transpose(0, axis).contiguous()
        y = torch.fake_quantize_per_channel_affine(x, scales, zps, axis, qmin, qmax)
        cases.append(dict(name=name, shape=list(shape), axis=axis, x=f32(x), scales=f32(scales),
                          zero_points=[int(v) for v in zps.tolist()], qmin=qmin, qmax=qmax, out=f32(y)))
    return cases


def quantize_per_tensor():
    cases = []
    for name, dtype, scale, zp, qmin, qmax in [("quint8", torch.quint8, 0.05, 128, 0, 255),
                                               ("qint8", torch.qint8, 0.0371, 3, -128, 127),
                                               ("qint8_pow2", torch.qint8, 0.125, 0, -128, 127)]:
        scale = float(torch.tensor(scale, dtype=torch.float32))
        x = inputs(200, 5.0, scale, qmin, qmax, zp)
        q = torch.quantize_per_tensor(x, scale, zp, dtype).int_repr().int()
        cases.append(dict(name=name, x=f32(x), scale=scale, zero_point=zp, qmin=qmin, qmax=qmax,
                          q=[int(v) for v in q.tolist()]))
    return cases


def batches_for(kind, n=3, size=200):
    out = []
    for i in range(n):
        if kind == "normal":
            b = torch.randn(size) * (1 + i) + 0.3 * i
        elif kind == "relu":
            b = torch.relu(torch.randn(size) * 2)
        elif kind == "positive":
            b = torch.rand(size) * 3 + 1
        elif kind == "negative":
            b = -torch.rand(size) * 2 - 0.5
        elif kind == "zeros":
            b = torch.zeros(size)
        elif kind == "constant":
            b = torch.full((size,), 0.7)
        elif kind == "outliers":
            b = torch.randn(size)
            b[:3] = torch.tensor([40.0, -35.0, 25.0])
        out.append(b)
    return out


# Observer configurations: name, kwargs, and the scheme fields the Go test maps
# onto TensorConfig.
SCHEMES = [
    ("quint8_affine", dict(dtype=torch.quint8, qscheme=torch.per_tensor_affine), dict(bits=8, signed=False, symmetric=False)),
    ("quint8_symmetric", dict(dtype=torch.quint8, qscheme=torch.per_tensor_symmetric), dict(bits=8, signed=False, symmetric=True)),
    ("qint8_affine", dict(dtype=torch.qint8, qscheme=torch.per_tensor_affine), dict(bits=8, signed=True, symmetric=False)),
    ("qint8_symmetric", dict(dtype=torch.qint8, qscheme=torch.per_tensor_symmetric), dict(bits=8, signed=True, symmetric=True)),
    ("quint8_reduce", dict(dtype=torch.quint8, qscheme=torch.per_tensor_affine, reduce_range=True), dict(bits=8, signed=False, symmetric=False, reduce_range=True)),
    ("qint8_reduce_sym", dict(dtype=torch.qint8, qscheme=torch.per_tensor_symmetric, reduce_range=True), dict(bits=8, signed=True, symmetric=True, reduce_range=True)),
    ("qint8_restricted", dict(dtype=torch.qint8, qscheme=torch.per_tensor_symmetric, quant_min=-127, quant_max=127), dict(bits=8, signed=True, symmetric=True, restricted=True)),
    ("u4_affine", dict(dtype=torch.quint8, qscheme=torch.per_tensor_affine, quant_min=0, quant_max=15), dict(bits=4, signed=False, symmetric=False)),
    ("s4_symmetric", dict(dtype=torch.qint8, qscheme=torch.per_tensor_symmetric, quant_min=-8, quant_max=7), dict(bits=4, signed=True, symmetric=True)),
]


def qp(o):
    s, z = o.calculate_qparams()
    return f32(s.reshape(-1)), [int(v) for v in z.reshape(-1).tolist()]


def observers():
    cases, datasets = [], {}
    for data in ["normal", "relu", "positive", "negative", "zeros", "constant", "outliers"]:
        batches = batches_for(data)
        datasets[data] = [f32(b) for b in batches]
        for sname, kw, fields in SCHEMES:
            for oname, cls, extra in [("minmax", obs.MinMaxObserver, {}),
                                      ("moving_average", obs.MovingAverageMinMaxObserver, {})]:
                o = cls(**kw, **extra)
                for b in batches:
                    o(b)
                s, z = qp(o)
                cases.append(dict(name=f"{oname}/{sname}/{data}", observer=oname, scheme=fields,
                                  data=data, min_val=float(o.min_val), max_val=float(o.max_val),
                                  scale=s, zero_point=z))
    return dict(data=datasets, cases=cases)


def per_channel_observers():
    cases = []
    for sname, kw, fields in [
        ("qint8_sym", dict(dtype=torch.qint8, qscheme=torch.per_channel_symmetric), dict(bits=8, signed=True, symmetric=True)),
        ("quint8_affine", dict(dtype=torch.quint8, qscheme=torch.per_channel_affine), dict(bits=8, signed=False, symmetric=False)),
        ("qint8_restricted", dict(dtype=torch.qint8, qscheme=torch.per_channel_symmetric, quant_min=-127, quant_max=127), dict(bits=8, signed=True, symmetric=True, restricted=True)),
    ]:
        for shape, axis in [((5, 3, 3, 3), 0), ((2, 4, 3, 3), 1)]:
            for oname, cls in [("per_channel_minmax", obs.PerChannelMinMaxObserver),
                               ("moving_average_per_channel", obs.MovingAveragePerChannelMinMaxObserver)]:
                o = cls(ch_axis=axis, **kw)
                batches = []
                for i in range(3):
                    c = shape[axis]
                    bshape = [1] * len(shape)
                    bshape[axis] = c
                    b = torch.randn(*shape) * (torch.rand(c) * 2 + 0.1).view(bshape) + 0.2 * i
                    if i == 0:
                        # one channel entirely positive, to exercise include-zero
                        idx = [slice(None)] * len(shape)
                        idx[axis] = 0
                        b[tuple(idx)] = b[tuple(idx)].abs() + 0.5
                    batches.append(b)
                    o(b)
                s, z = qp(o)
                cases.append(dict(name=f"{oname}/{sname}/{list(shape)}@{axis}", observer=oname, scheme=fields,
                                  shape=list(shape), axis=axis, batches=[f32(b) for b in batches],
                                  scale=s, zero_point=z))
    return cases


def histogram_observers():
    """HistogramObserver cases. PyTorch 1.13 passes int(min) and int(max) to
    torch.histc, so values outside the truncated range are dropped; every case
    here has integral observed (and combined) bounds, where that bug is inert."""
    cases = []
    specs = [
        ("normal_pm4", [("normal", 4.0, -4.0, 4.0)]),
        ("outliers", [("normal", 1.0, -16.0, 16.0)]),
        ("relu", [("relu", 1.5, 0.0, 8.0)]),
        ("two_batches_same_range", [("normal", 1.0, -4.0, 4.0), ("normal", 1.5, -4.0, 4.0)]),
        ("grow_to_pm8", [("normal", 1.0, -4.0, 4.0), ("normal", 2.0, -8.0, 8.0)]),
    ]
    for name, parts in specs:
        for sname, kw, fields in [SCHEMES[0], SCHEMES[3], SCHEMES[4]]:
            o = obs.HistogramObserver(**kw)
            batches = []
            for kind, spread, lo, hi in parts:
                b = torch.randn(1000) * spread
                if kind == "relu":
                    b = torch.relu(b)
                b = b.clamp(lo, hi)
                b[0], b[1] = lo, hi
                batches.append(b)
                o(b)
            s, z = qp(o)
            cases.append(dict(name=f"histogram/{sname}/{name}", observer="histogram", scheme=fields,
                              batches=[f32(b) for b in batches], scale=s, zero_point=z,
                              min_val=float(o.min_val), max_val=float(o.max_val)))
    return cases


def model_fake_quant():
    """A small conv net quantized by hand the way quant.Quantize places
    quantizers: input; conv1+ReLU fused (quantized after the ReLU); conv2;
    global average pool; linear. Activations: quint8 affine MinMaxObserver
    calibrated on the float net; weights: qint8 per-channel symmetric
    (PerChannelMinMaxObserver); biases float."""
    g = torch.Generator().manual_seed(7)
    conv1 = torch.nn.Conv2d(2, 4, 3, padding=1, bias=True)
    conv2 = torch.nn.Conv2d(4, 3, 3, stride=2, padding=0, bias=True)
    fc = torch.nn.Linear(3, 5, bias=True)
    for p in list(conv1.parameters()) + list(conv2.parameters()) + list(fc.parameters()):
        with torch.no_grad():
            p.copy_(torch.randn(p.shape, generator=g) * 0.4)
    calib = torch.randn(16, 2, 9, 9, generator=g)
    test = torch.randn(8, 2, 9, 9, generator=g) * 1.2

    def act_obs():
        return obs.MinMaxObserver(dtype=torch.quint8, qscheme=torch.per_tensor_affine)

    names = ["input", "relu1", "conv2", "gap", "fc"]
    observers = {n: act_obs() for n in names}
    with torch.no_grad():
        observers["input"](calib)
        y1 = torch.relu(conv1(calib))
        observers["relu1"](y1)
        y2 = conv2(y1)
        observers["conv2"](y2)
        y3 = y2.mean(dim=(2, 3))
        observers["gap"](y3)
        observers["fc"](fc(y3))
    qp = {n: o.calculate_qparams() for n, o in observers.items()}

    def fq(x, n):
        s, z = qp[n]
        return torch.fake_quantize_per_tensor_affine(x, float(s), int(z), 0, 255)

    def wq(w):
        o = obs.PerChannelMinMaxObserver(ch_axis=0, dtype=torch.qint8, qscheme=torch.per_channel_symmetric)
        o(w)
        s, z = o.calculate_qparams()
        return torch.fake_quantize_per_channel_affine(w, s, z.int(), 0, -128, 127), s

    with torch.no_grad():
        w1, s1 = wq(conv1.weight)
        w2, s2 = wq(conv2.weight)
        wf, sf = wq(fc.weight)
        x = fq(test, "input")
        y1 = fq(torch.relu(torch.nn.functional.conv2d(x, w1, conv1.bias, padding=1)), "relu1")
        y2 = fq(torch.nn.functional.conv2d(y1, w2, conv2.bias, stride=2), "conv2")
        y3 = fq(y2.mean(dim=(2, 3)), "gap")
        y4 = fq(torch.nn.functional.linear(y3, wf, fc.bias), "fc")
    return dict(
        params={"conv1/weight": f32(conv1.weight), "conv1/bias": f32(conv1.bias),
                "conv2/weight": f32(conv2.weight), "conv2/bias": f32(conv2.bias),
                "fc/weight": f32(fc.weight), "fc/bias": f32(fc.bias)},
        weight_scales={"conv1": f32(s1), "conv2": f32(s2), "fc": f32(sf)},
        calib=f32(calib), test=f32(test),
        act_scale={n: float(qp[n][0]) for n in names},
        act_zero_point={n: int(qp[n][1]) for n in names},
        out=f32(y4))


def main():
    doc = dict(
        torch_version=torch.__version__,
        fake_quant_per_tensor=fake_quant_per_tensor(),
        fake_quant_per_channel=fake_quant_per_channel(),
        quantize_per_tensor=quantize_per_tensor(),
        observers=observers(),
        per_channel_observers=per_channel_observers(),
        histogram_observers=histogram_observers(),
        model_fake_quant=model_fake_quant(),
    )
    with open(OUT, "w") as f:
        json.dump(doc, f, separators=(",", ":"))
    print(OUT, os.path.getsize(OUT), "bytes")


if __name__ == "__main__":
    main()
