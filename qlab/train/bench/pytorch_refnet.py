#!/usr/bin/python3
"""PyTorch speed anchor for qlab's RefNet benchmarks (qlab/train/bench_test.go).

Builds RefNet-S and RefNet-DWS exactly as shared/DESIGN.md defines them,
and times, on 2 threads with batch 64 of random 3x32x32 input:
  TrainRefNetS, TrainRefNetDWS: zero grads, forward, cross-entropy,
      backward, SGD(momentum=0.9) step;
  InferRefNetS: eval-mode forward under torch.no_grad().
Prints one line per benchmark: "<name> <images/s>".

Usage: /usr/bin/python3 qlab/train/bench/pytorch_refnet.py [--warmup N] [--iters N]
"""
import argparse
import time

import torch
import torch.nn as nn

BATCH = 64


def unit(conv, ch):
    return [conv, nn.BatchNorm2d(ch), nn.ReLU(inplace=True)]


def refnet(dws):
    stages = [[32, 32], [64, 64], [128]]
    layers, ch, first = [], 3, True
    for st in stages:
        for w in st:
            if first or not dws:
                layers += unit(nn.Conv2d(ch, w, 3, padding=1, bias=False), w)
                first = False
            else:
                layers += unit(nn.Conv2d(ch, ch, 3, padding=1, groups=ch, bias=False), ch)
                layers += unit(nn.Conv2d(ch, w, 1, bias=False), w)
            ch = w
        layers.append(nn.MaxPool2d(2))
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(ch, 10)]
    return nn.Sequential(*layers)


def time_it(fn, warmup, iters):
    for _ in range(warmup):
        fn()
    t0 = time.perf_counter()
    for _ in range(iters):
        fn()
    return iters * BATCH / (time.perf_counter() - t0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--iters", type=int, default=20)
    args = ap.parse_args()
    torch.set_num_threads(2)
    torch.manual_seed(0)
    x = torch.randn(BATCH, 3, 32, 32)
    y = torch.randint(0, 10, (BATCH,))
    loss_fn = nn.CrossEntropyLoss()

    for name, dws in (("TrainRefNetS", False), ("TrainRefNetDWS", True)):
        m = refnet(dws).train()
        opt = torch.optim.SGD(m.parameters(), lr=0.01, momentum=0.9)

        def step():
            opt.zero_grad(set_to_none=False)
            loss = loss_fn(m(x), y)
            loss.backward()
            opt.step()

        print(f"{name} {time_it(step, args.warmup, args.iters):.1f}", flush=True)

    m = refnet(False).eval()

    def infer():
        with torch.no_grad():
            m(x)

    print(f"InferRefNetS {time_it(infer, args.warmup, args.iters):.1f}", flush=True)


if __name__ == "__main__":
    main()
