#!/usr/bin/env python3
"""Learning curves side by side: the seed's MNIST recipe trained by densenet-lab (`run`) and by
the PyTorch peer (../shared/peers/torch_densenet.py's seed-mnist net, trained here) for a few
epochs, with each `model.init` rule, over several seeds; prints test accuracy mean +- std per
epoch as a Markdown table (the README's).

Usage (the peer's venv: bash ../shared/peers/setup.sh; a release binary):
    /tmp/peer-venv/bin/python scripts/learning-curves.py --data ../shared/data \
        [--bin target/release/densenet-lab] [--epochs 3] [--seeds 1,2,3] \
        [--train-samples 10000] [--inits he_normal,he_normal_fan_out,glorot_uniform,torch_default]

The recipe is experiments/seed-mnist.toml's with a constant learning rate (its step schedule
drops at 50% of the run, which for a 3-epoch run would be epoch 1.5): Adam lr 1e-4, eps 1e-8,
batch 100, dropout 0.2. Both sides train on the first --train-samples training images,
standardized by their mean and std, and test on the first --test-samples test images. The peer applies the
same four rules as densenet-lab's model.init (src/model/init.rs): conv weights He normal by
fan-in or fan-out, Glorot uniform, or PyTorch's default; the classifier as documented there.
"""
import argparse
import gzip
import json
import math
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "shared", "peers"))
sys.path.insert(0, "/work/shared/peers")
from torch_densenet import build  # noqa: E402

INITS = ["he_normal", "he_normal_fan_out", "glorot_uniform", "torch_default"]

TOML = """name = "curve-{init}-{seed}"
[data]
dataset = "mnist"
train_samples = {train}
test_samples = {test}
[model]
growth_rate = 12
blocks = [4, 4, 32]
bottleneck = true
transition = "growth"
stem = "imagenet"
stem_pool = true
dropout = 0.2
init = "{init}"
[train]
epochs = {epochs}
batch_size = 100
optimizer = {{ kind = "adam", lr = 1e-4, eps = 1e-8 }}
schedule = {{ kind = "constant" }}
seed = {seed}
log_every = 50
"""


def ours(args, init, seed, work):
    path = os.path.join(work, f"curve-{init}-{seed}.toml")
    with open(path, "w") as f:
        f.write(TOML.format(init=init, seed=seed, epochs=args.epochs, train=args.train_samples,
                            test=args.test_samples))
    db = os.path.join(work, "curves.db")
    subprocess.run([args.bin, "--db", db, "--data-dir", args.data, "run", "-q", path,
                    "--runs-dir", os.path.join(work, "runs")], check=True)
    con = sqlite3.connect(db)
    rows = con.execute(
        "SELECT m.epoch, m.value FROM metrics m JOIN runs r ON r.id = m.run_id "
        "JOIN experiments e ON e.id = r.experiment_id WHERE e.name = ? AND m.scope = 'epoch' AND m.split = 'test' "
        "AND m.name = 'accuracy' ORDER BY m.epoch", (f"curve-{init}-{seed}",)).fetchall()
    con.close()
    return [v for _, v in rows]


def idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    if int.from_bytes(data[:4], "big") == 2051:
        return np.frombuffer(data, np.uint8, offset=16).reshape(-1, 1, 28, 28)
    return np.frombuffer(data, np.uint8, offset=8)


def apply_init(model, rule):
    """densenet-lab's model.init rules (src/model/init.rs) on the peer's modules."""
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            if rule == "he_normal":
                nn.init.kaiming_normal_(m.weight, mode="fan_in", nonlinearity="relu")
            elif rule == "he_normal_fan_out":
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif rule == "glorot_uniform":
                nn.init.xavier_uniform_(m.weight)
        elif isinstance(m, nn.Linear):
            if rule == "glorot_uniform":
                nn.init.xavier_uniform_(m.weight)
            if rule in ("glorot_uniform", "he_normal_fan_out"):
                nn.init.zeros_(m.bias)


def peer(args, init, seed, mnist):
    xtr, ytr, xte, yte = mnist
    torch.manual_seed(seed)
    model = build("seed-mnist")
    apply_init(model, init)
    opt = torch.optim.Adam(model.parameters(), lr=1e-4, eps=1e-8)
    g = torch.Generator().manual_seed(seed)
    accs = []
    for _ in range(args.epochs):
        model.train()
        order = torch.randperm(len(xtr), generator=g)
        for i in range(0, len(xtr), 100):
            b = order[i:i + 100]
            loss = F.cross_entropy(model(xtr[b]), ytr[b])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        model.eval()
        with torch.no_grad():
            correct = sum((model(xte[i:i + 500]).argmax(1) == yte[i:i + 500]).sum().item()
                          for i in range(0, len(xte), 500))
        accs.append(correct / len(xte))
    return accs


def load_mnist(args):
    d = os.path.join(args.data, "mnist")
    xtr = idx(f"{d}/train-images-idx3-ubyte.gz")[:args.train_samples].astype(np.float32) / 255
    ytr = idx(f"{d}/train-labels-idx1-ubyte.gz")[:args.train_samples].astype(np.int64)
    xte = idx(f"{d}/t10k-images-idx3-ubyte.gz")[:args.test_samples].astype(np.float32) / 255
    yte = idx(f"{d}/t10k-labels-idx1-ubyte.gz")[:args.test_samples].astype(np.int64)
    mean, std = xtr.mean(), xtr.std()
    return (torch.from_numpy((xtr - mean) / std), torch.from_numpy(ytr),
            torch.from_numpy((xte - mean) / std), torch.from_numpy(yte))


def cell(values):
    pct = [100 * v for v in values]
    sd = statistics.stdev(pct) if len(pct) > 1 else 0.0
    return f"{statistics.mean(pct):.1f} ± {sd:.1f}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True, help="folder holding mnist/")
    ap.add_argument("--bin", default=os.path.join(HERE, "..", "target", "release", "densenet-lab"))
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--seeds", default="1,2,3")
    ap.add_argument("--train-samples", type=int, default=10000)
    ap.add_argument("--test-samples", type=int, default=10000)
    ap.add_argument("--inits", default=",".join(INITS))
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    seeds = [int(s) for s in args.seeds.split(",")]
    mnist = load_mnist(args)
    results = {}
    with tempfile.TemporaryDirectory() as work:
        for init in args.inits.split(","):
            for who, train in (("densenet-lab", ours), ("PyTorch peer", peer)):
                runs = []
                for seed in seeds:
                    t0 = time.time()
                    accs = train(args, init, seed, work) if who == "densenet-lab" else \
                        train(args, init, seed, mnist)
                    runs.append(accs)
                    print(json.dumps(dict(implementation=who, init=init, seed=seed,
                                          test_accuracy=accs, wall_s=round(time.time() - t0, 1))),
                          flush=True)
                results[(who, init)] = runs
    head = " | ".join(f"epoch {e + 1}" for e in range(args.epochs))
    print(f"\n| implementation | model.init | {head} |")
    print("| --- | --- |" + " --- |" * args.epochs)
    for (who, init), runs in results.items():
        cells = " | ".join(cell([r[e] for r in runs]) for e in range(args.epochs))
        print(f"| {who} | `{init}` | {cells} |")


if __name__ == "__main__":
    main()
