#!/usr/bin/env python3
"""The network that printed the seed's 99.2%, rebuilt in PyTorch to test the number.

taki0112/Densenet-Tensorflow's README first reported "the highest test accuracy is 99.2% (epoch =
50)", "not use dropout", "dense block layers fixed to 4", in commit d4474ae (2017-08-08). The code
of that commit (Densenet.py) is not the network the README describes today, nor the one of
MNIST/Densenet_MNIST.py that experiments/seed-mnist.toml follows:

- `tf.layers.batch_normalization(x)` without `training=True` runs in inference mode: it never
  normalizes by batch statistics and its moving statistics stay at mean 0, variance 1, so each
  "batch norm" is a trainable per-channel affine, gamma * x / sqrt(1 + 1e-3) + beta;
- a dense block returns only its last layer's k channels, not the concatenation (fixed in
  08b6cb9, 2017-12-14);
- the 7x7 stem has stride 1 (28x28), pools are 'SAME', there is no batch norm before the final
  ReLU, and convolutions carry biases;
- three blocks of 4 with transitions to k channels (the loop the README names), a final block of
  32, Adam 1e-4 (eps 1e-8), batch 100, 55,000 training images (input_data keeps 5,000 apart)
  scaled to [0, 1], lr / 10 from epoch 26 (its `epoch == total_epochs * 0.75` is never true).

One JSON line per epoch: test accuracy (all 10,000 test images), train seconds, lr. Needs only
torch and numpy (the peer's venv):

    /tmp/peer-venv/bin/python scripts/seed-2017-mnist.py --data ../shared/data/mnist --epochs 50
"""
import argparse, gzip, json, struct, time
import numpy as np, torch, torch.nn as nn, torch.nn.functional as F


def idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic, n = struct.unpack(">II", data[:8])
    if magic == 2051:
        h, w = struct.unpack(">II", data[8:16])
        return np.frombuffer(data, np.uint8, offset=16).reshape(n, 1, h, w)
    return np.frombuffer(data, np.uint8, offset=8)


def same_pool(x, kernel, stride, kind):
    """TF 'SAME' pooling: output ceil(size / stride), the extra padding at the bottom/right,
    padded cells ignored (max) or left out of the count (average)."""
    size = x.shape[-1]
    out = -(-size // stride)
    pad = max((out - 1) * stride + kernel - size, 0)
    before, after = pad // 2, pad - pad // 2
    if kind == "max":
        x = F.pad(x, (before, after, before, after), value=float("-inf"))
        return F.max_pool2d(x, kernel, stride)
    ones = torch.ones_like(x[:1, :1])
    total = F.avg_pool2d(F.pad(x, (before, after, before, after)), kernel, stride)
    count = F.avg_pool2d(F.pad(ones, (before, after, before, after)), kernel, stride)
    return total / count


class FrozenNorm(nn.Module):
    """`tf.layers.batch_normalization(x)` in inference mode with untouched moving statistics."""

    def __init__(self, channels):
        super().__init__()
        self.gamma = nn.Parameter(torch.ones(channels))
        self.beta = nn.Parameter(torch.zeros(channels))

    def forward(self, x):
        scale = self.gamma / (1.0 + 1e-3) ** 0.5
        return x * scale[None, :, None, None] + self.beta[None, :, None, None]


def conv(cin, cout, kernel, stride=1):
    # 'SAME' with stride 1 and an odd kernel is symmetric padding.
    return nn.Conv2d(cin, cout, kernel, stride, padding=kernel // 2, bias=True)


class Bottleneck(nn.Module):
    def __init__(self, cin, k):
        super().__init__()
        self.n1, self.c1 = FrozenNorm(cin), conv(cin, 4 * k, 1)
        self.n2, self.c2 = FrozenNorm(4 * k), conv(4 * k, k, 3)

    def forward(self, x):
        return self.c2(F.relu(self.n2(self.c1(F.relu(self.n1(x))))))


class Block(nn.Module):
    """Layers see the concatenation of all before them; the block returns its last layer only."""

    def __init__(self, cin, layers, k):
        super().__init__()
        self.layers = nn.ModuleList(Bottleneck(cin + i * k, k) for i in range(layers))

    def forward(self, x):
        features = [x]
        for layer in self.layers:
            out = layer(torch.cat(features, 1))
            features.append(out)
        return out


class Net2017(nn.Module):
    def __init__(self, k=12, blocks=(4, 4, 4), final=32):
        super().__init__()
        self.stem = conv(1, 2 * k, 7)
        stages, cin = [], 2 * k
        for layers in blocks:
            stages += [Block(cin, layers, k), FrozenNorm(k), conv(k, k, 1)]
            cin = k
        self.stages = nn.ModuleList(stages)
        self.final = Block(k, final, k)
        self.linear = nn.Linear(k, 10)

    def forward(self, x):
        x = same_pool(self.stem(x), 3, 2, "max")
        for i in range(0, len(self.stages), 3):
            block, norm, proj = self.stages[i:i + 3]
            x = same_pool(proj(F.relu(norm(block(x)))), 2, 2, "avg")
        x = F.relu(self.final(x))
        x = same_pool(x, 7, 2, "avg")  # 'SAME' 7x7/2 on 2x2: the mean over the 2x2
        return self.linear(x.flatten(1))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--epochs", type=int, default=50)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    xtr = idx(f"{a.data}/train-images-idx3-ubyte.gz")[5000:].astype(np.float32) / 255
    ytr = idx(f"{a.data}/train-labels-idx1-ubyte.gz")[5000:].astype(np.int64)
    xte = idx(f"{a.data}/t10k-images-idx3-ubyte.gz").astype(np.float32) / 255
    yte = idx(f"{a.data}/t10k-labels-idx1-ubyte.gz").astype(np.int64)
    xtr, xte = torch.from_numpy(xtr), torch.from_numpy(xte)
    ytr, yte = torch.from_numpy(ytr), torch.from_numpy(yte)
    model = Net2017()
    for m in model.modules():  # TF's defaults: Glorot uniform kernels, zero biases
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.xavier_uniform_(m.weight)
            nn.init.zeros_(m.bias)
    opt = torch.optim.Adam(model.parameters(), lr=1e-4, eps=1e-8)
    g = torch.Generator().manual_seed(a.seed)
    for epoch in range(1, a.epochs + 1):
        lr = 1e-4 if epoch <= a.epochs // 2 else 1e-5
        for group in opt.param_groups:
            group["lr"] = lr
        model.train()
        t0 = time.time()
        order = torch.randperm(len(xtr), generator=g)
        for i in range(0, len(xtr) - 99, 100):
            b = order[i:i + 100]
            loss = F.cross_entropy(model(xtr[b]), ytr[b])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        train_s = time.time() - t0
        model.eval()
        correct = 0
        with torch.no_grad():
            for i in range(0, len(xte), 500):
                correct += (model(xte[i:i + 500]).argmax(1) == yte[i:i + 500]).sum().item()
        print(json.dumps({"epoch": epoch, "test_accuracy": correct / len(xte),
                          "train_seconds": round(train_s, 1), "lr": lr,
                          "last_loss": round(loss.item(), 4)}), flush=True)


if __name__ == "__main__":
    main()
