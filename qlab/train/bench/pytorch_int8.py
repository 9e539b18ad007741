#!/usr/bin/python3
"""PyTorch speed anchor for qlab's inference benchmarks (qlab/quant/infer_bench_test.go).

Times inference on batch 64 of random 3x32x32 input, 2 threads:
  InferInt8RefNetS, InferInt8RefNetDWS: eager-mode static post-training
      quantization with torch.backends.quantized.engine = "onednn" and the
      default onednn qconfig (get_default_qconfig("onednn")), every
      conv+BatchNorm2d+ReLU fused (torch.ao.quantization.fuse_modules) before
      prepare, calibrated on 4 random batches, converted; the timed forward
      includes QuantStub (quantizing the float input) and DeQuantStub.
  InferFloatRefNetS: the float eval-mode RefNet-S under torch.no_grad()
      (unfused, as a user would run it), for qlab's float inference.
RefNet-S and RefNet-DWS are built as in pytorch_refnet.py (shared/DESIGN.md).
Prints one line per benchmark: "<name> <images/s> <images/cpu-s>", the
second over the process's CPU time (which includes OpenMP's spin-waiting).

glibc's malloc: the script re-executes itself with GLIBC_TUNABLES raising
the mmap threshold to its 32 MiB maximum and the trim threshold to 1 GiB, so
that the large activation buffers PyTorch allocates and frees on every
forward are reused from the heap instead of being mmapped, page-faulted
and unmapped each time (--default-malloc keeps glibc's defaults). Under
the defaults the float forward ran at 250-1,700 images/s on one thread
from one run to the next, 40% of its time in the kernel, and at 545
images/s in compare_int8.sh on the idle machine, against ~2,800 for the
same model in compare.sh; tuned, it holds ~1,600-1,750 on one thread. This
is what jemalloc/tcmalloc, which PyTorch's CPU tuning guide recommends,
would give; it only ever makes the anchor faster.

Usage: /usr/bin/python3 qlab/train/bench/pytorch_int8.py [--warmup N] [--iters N] [--threads N] [--default-malloc]
"""
import os
import sys

MALLOC_TUNABLES = "glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=1073741824"

if __name__ == "__main__" and "--default-malloc" not in sys.argv and \
        "glibc.malloc" not in os.environ.get("GLIBC_TUNABLES", ""):
    # Tunables are read at process start: re-execute before torch loads.
    env = dict(os.environ)
    env["GLIBC_TUNABLES"] = ":".join(t for t in (env.get("GLIBC_TUNABLES", ""), MALLOC_TUNABLES) if t)
    os.execve(sys.executable, [sys.executable] + sys.argv, env)

import argparse
import time

import torch
import torch.nn as nn
import torch.ao.quantization as tq

BATCH = 64


def refnet(dws):
    """RefNet-S (dws=False) or RefNet-DWS as a flat nn.Sequential, with the
    index triples of every conv, BatchNorm2d, ReLU for fuse_modules."""
    stages = [[32, 32], [64, 64], [128]]
    layers, fuse, ch, first = [], [], 3, True

    def unit(conv, c):
        i = len(layers)
        layers.extend([conv, nn.BatchNorm2d(c), nn.ReLU(inplace=True)])
        fuse.append([str(i), str(i + 1), str(i + 2)])

    for st in stages:
        for w in st:
            if first or not dws:
                unit(nn.Conv2d(ch, w, 3, padding=1, bias=False), w)
                first = False
            else:
                unit(nn.Conv2d(ch, ch, 3, padding=1, groups=ch, bias=False), ch)
                unit(nn.Conv2d(ch, w, 1, bias=False), w)
            ch = w
        layers.append(nn.MaxPool2d(2))
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(ch, 10)]
    return nn.Sequential(*layers), fuse


def randomize_bn(m, gen):
    """Non-trivial BatchNorm statistics and affine params, so folding is
    not a no-op (qlab's benchmark does the same with its own seed)."""
    for mod in m.modules():
        if isinstance(mod, nn.BatchNorm2d):
            c = mod.num_features
            mod.running_mean.copy_(torch.randn(c, generator=gen) * 0.1)
            mod.running_var.copy_(torch.rand(c, generator=gen) + 0.5)
            mod.weight.data.copy_(torch.rand(c, generator=gen) + 0.5)
            mod.bias.data.copy_(torch.randn(c, generator=gen) * 0.1)


class Quantized(nn.Module):
    def __init__(self, body):
        super().__init__()
        self.quant = tq.QuantStub()
        self.body = body
        self.dequant = tq.DeQuantStub()

    def forward(self, x):
        return self.dequant(self.body(self.quant(x)))


def int8_model(dws, gen):
    body, fuse = refnet(dws)
    randomize_bn(body, gen)
    body.eval()
    body = tq.fuse_modules(body, fuse)
    m = Quantized(body).eval()
    m.qconfig = tq.get_default_qconfig("onednn")
    tq.prepare(m, inplace=True)
    with torch.no_grad():
        for _ in range(4):
            m(torch.randn(BATCH, 3, 32, 32, generator=gen))
    tq.convert(m, inplace=True)
    return m


def time_it(fn, warmup, iters):
    """Returns (images/s, images/cpu-s) over iters calls after warmup."""
    for _ in range(warmup):
        fn()
    c0, t0 = time.process_time(), time.perf_counter()
    for _ in range(iters):
        fn()
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    return iters * BATCH / wall, iters * BATCH / cpu


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--iters", type=int, default=50)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--default-malloc", action="store_true",
                    help="keep glibc's malloc defaults (no GLIBC_TUNABLES re-exec)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.backends.quantized.engine = "onednn"
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(BATCH, 3, 32, 32, generator=gen)

    for name, dws in (("InferInt8RefNetS", False), ("InferInt8RefNetDWS", True)):
        m = int8_model(dws, gen)

        def infer():
            with torch.no_grad():
                m(x)

        print("%s %.1f %.1f" % ((name,) + time_it(infer, args.warmup, args.iters)), flush=True)

    f, _ = refnet(False)
    randomize_bn(f, gen)
    f.eval()

    def infer_float():
        with torch.no_grad():
            f(x)

    print("InferFloatRefNetS %.1f %.1f" % time_it(infer_float, args.warmup, args.iters), flush=True)


if __name__ == "__main__":
    main()
