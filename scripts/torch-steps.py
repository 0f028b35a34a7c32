#!/usr/bin/env python3
"""Write the PyTorch reference that densenet-lab's step-by-step cross-check reads
(src/train/torch_steps_tests.rs): for each network, PyTorch's initial weights, a few batches,
and after N steps of Adam and of SGD (Nesterov, weight decay) the loss of every step, the final
weights and the batch-norm running statistics. Dropout is off, so both sides compute the same
function; only float summation order differs.

Usage (the peer's venv: bash ../shared/peers/setup.sh):
    /tmp/peer-venv/bin/python scripts/torch-steps.py [--data ../shared/data/mnist] [--out tests/fixtures/torch-steps] [--only f32|bf16]

`--only bf16` keeps an existing file's f32 runs and (re)writes only the autocast ones, after
checking that the initial weights and batches it would write are the file's: PyTorch's f32
SGD run moves by a few percent of its updates between CPUs (oneDNN's kernels differ), so the
f32 runs stay those the tests' tolerances were measured on (AMD EPYC, 2026-12-01); the bf16
runs were added on an Intel Xeon with AMX (2026-12-07).

Networks (the peer's torch_densenet.py builds them):
  seed-mnist  the seed's MNIST net (7x7/2 stem + 3x3/2 max-pool, blocks 4-4 with transitions
              to k channels, bottlenecks, k=12) with its final block cut from 32 layers to 4:
              the full net's 550k parameters would make the files ~7 MB
  bc-32       a DenseNet-BC at 32x32x3: 3x3 stem (2k), blocks 2-2-2 of bottlenecks, k=12,
              transitions compressing by 0.5, on standard-normal images

The file format is safetensors, written here with the standard library (8-byte little-endian
header length, a JSON header, the raw little-endian tensors), so the peer needs no extra package.
Tensor names: init/<name>, <optimizer>/<name> (final state) with PyTorch's state_dict names,
batch<t>/images, batch<t>/labels, <optimizer>/loss; and <optimizer>-bf16/... for the same
steps under torch.autocast("cpu", dtype=torch.bfloat16), the peer's `--amp bf16`. The header's metadata holds the model,
the dataset and each optimizer as densenet-lab's config JSON.
"""
import argparse
import gzip
import json
import os
import struct
import sys

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "shared", "peers"))
sys.path.insert(0, "/work/shared/peers")
from torch_densenet import CONFIGS, DenseNet  # noqa: E402

STEPS = 4

NETS = {
    "seed-mnist": dict(
        peer={**CONFIGS["seed-mnist"], "final_block": 4, "dropout": 0.0},
        model=dict(growth_rate=12, blocks=[4, 4, 4], bottleneck=True, transition="growth",
                   stem="imagenet", stem_pool=True, dropout=0.0),
        dataset="mnist", batch=32),
    "bc-32": dict(
        peer={**CONFIGS["bc100-cifar"], "blocks": [2, 2], "final_block": 2},
        model=dict(growth_rate=12, blocks=[2, 2, 2], bottleneck=True, transition="compression",
                   compression=0.5, stem="cifar", dropout=0.0),
        dataset="cifar10", batch=8),
}

# densenet-lab's optimizer tables, and the PyTorch optimizer each one is.
OPTIMIZERS = {
    "adam": (dict(kind="adam", lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0),
             lambda p: torch.optim.Adam(p, lr=1e-3, betas=(0.9, 0.999), eps=1e-8)),
    "sgd": (dict(kind="sgd", lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-4),
            lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-4)),
}


def mnist_batches(data, batch):
    """The first STEPS x BATCH training images, standardized by the training set's mean/std."""
    with gzip.open(os.path.join(data, "train-images-idx3-ubyte.gz"), "rb") as f:
        raw = f.read()
    with gzip.open(os.path.join(data, "train-labels-idx1-ubyte.gz"), "rb") as f:
        labels = np.frombuffer(f.read(), np.uint8, offset=8).astype(np.int64)
    images = np.frombuffer(raw, np.uint8, offset=16).reshape(-1, 1, 28, 28).astype(np.float32) / 255
    mean, std = images.mean(), images.std()
    n = STEPS * batch
    x = ((images[:n] - mean) / std).astype(np.float32)
    return [(torch.from_numpy(x[i:i + batch].copy()), torch.from_numpy(labels[i:i + batch].copy()))
            for i in range(0, n, batch)]


def noise_batches(batch):
    g = torch.Generator().manual_seed(32)
    return [(torch.randn(batch, 3, 32, 32, generator=g), torch.randint(0, 10, (batch,), generator=g))
            for _ in range(STEPS)]


def state(model):
    return {k: v.detach().clone() for k, v in model.state_dict().items()
            if not k.endswith("num_batches_tracked")}


def write_safetensors(path, tensors, metadata):
    dtypes = {torch.float32: "F32", torch.float64: "F64", torch.int64: "I64"}
    header, blobs, offset = {"__metadata__": metadata}, [], 0
    for name, t in tensors.items():
        data = t.contiguous().numpy().astype(t.numpy().dtype.newbyteorder("<")).tobytes()
        header[name] = dict(dtype=dtypes[t.dtype], shape=list(t.shape),
                            data_offsets=[offset, offset + len(data)])
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)


def read_safetensors(path):
    """The tensors and metadata of a file `write_safetensors` wrote."""
    with open(path, "rb") as f:
        raw = f.read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    metadata = header.pop("__metadata__", {})
    dtypes = {"F32": np.float32, "F64": np.float64, "I64": np.int64}
    tensors = {}
    for name, h in header.items():
        start, end = h["data_offsets"]
        values = np.frombuffer(raw[8 + n + start:8 + n + end], dtypes[h["dtype"]])
        tensors[name] = torch.from_numpy(values.reshape(h["shape"]).copy())
    return tensors, metadata


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=os.path.join(HERE, "..", "..", "shared", "data", "mnist"))
    ap.add_argument("--out", default=os.path.join(HERE, "..", "tests", "fixtures", "torch-steps"))
    ap.add_argument("--only", choices=["f32", "bf16"], default=None)
    args = ap.parse_args()
    torch.set_num_threads(1)  # one summation order, run to run
    os.makedirs(args.out, exist_ok=True)
    for name, net in NETS.items():
        torch.manual_seed(1)
        model = DenseNet(**net["peer"])
        init = state(model)
        b = net["batch"]
        batches = mnist_batches(args.data, b) if net["dataset"] == "mnist" else noise_batches(b)
        tensors = {f"init/{k}": v for k, v in init.items()}
        for t, (x, y) in enumerate(batches):
            tensors[f"batch{t}/images"], tensors[f"batch{t}/labels"] = x, y
        metadata = dict(model=json.dumps(net["model"]), dataset=net["dataset"], steps=str(STEPS),
                        torch=torch.__version__, generator="scripts/torch-steps.py")
        path = os.path.join(args.out, f"{name}.safetensors")
        kept = {}
        if args.only:
            kept, old_meta = read_safetensors(path)
            for k, v in tensors.items():
                assert torch.equal(kept[k], v), f"{path}: {k} is not what this run starts from"
            keep = (lambda k: "-bf16/" not in k) if args.only == "bf16" else (lambda k: "-bf16/" in k)
            kept = {k: v for k, v in kept.items() if keep(k) and not k.startswith(("init/", "batch"))}
            metadata = {**old_meta, **{k: v for k, v in metadata.items() if k != "torch"},
                        f"torch-{args.only}": torch.__version__}
        wanted = [args.only == "bf16"] if args.only else [False, True]
        runs = [(o, bf16) for bf16 in wanted for o in OPTIMIZERS]
        for opt_name, bf16 in runs:
            spec, make = OPTIMIZERS[opt_name]
            key = f"{opt_name}-bf16" if bf16 else opt_name
            model.load_state_dict({**init, **{k: v for k, v in model.state_dict().items()
                                              if k.endswith("num_batches_tracked")}})
            for m in model.modules():
                if isinstance(m, torch.nn.BatchNorm2d):
                    m.num_batches_tracked.zero_()
            model.train()
            opt = make(model.parameters())
            losses = []
            for x, y in batches:
                with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                    logits = model(x)
                loss = F.cross_entropy(logits.float(), y)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                losses.append(loss.item())
            tensors[f"{key}/loss"] = torch.tensor(losses, dtype=torch.float64)
            tensors.update({f"{key}/{k}": v.float() for k, v in state(model).items()})
            metadata[f"optimizer/{opt_name}"] = json.dumps(spec)
            print(f"{name} {key}: losses {['%.6f' % l for l in losses]}")
        write_safetensors(path, {**tensors, **kept}, metadata)
        print(f"wrote {path} ({os.path.getsize(path) / 1e3:.0f} kB)")


if __name__ == "__main__":
    main()
