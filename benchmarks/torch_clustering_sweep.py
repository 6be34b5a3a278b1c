"""A PyTorch mirror of `aae_guide.py --recipe clustering`, to sweep it on a GPU.

The package trains with TensorFlow, which the GPU machines lent to this project
lack; they have PyTorch. This script mirrors the clustering recipe (the paper's
sec. 6: encoder to a softmax y over K clusters and a deterministic z, decoder on
[y, z], D_gauss and D_cat; each step a reconstruction update, then D_gauss's,
D_cat's and the encoder's against both from one encoder pass) with Keras'
initialisers, batch normalisation and Adam settings, the held-out validation set
and the paper's naming of each cluster by its surest validation image. It trains
`--seeds` models at once as one batched network (each with its own weights,
batch order and optimizer state), so that a sweep of sizes and lengths fits a
short lease. Its numbers say what is worth trying in the package; they are not
the package's results (`docs/aae_guide.md`, part 4, keeps the two apart).

Departures from the package: TF32 matrix products on a GPU, and Adam's epsilon
added after the bias correction (PyTorch's) rather than before (Keras').

    pip install -e ".[bench]"
    python benchmarks/torch_clustering_sweep.py --data-dir ../shared/data/mnist \\
        --units 3000 --clusters 16 --seconds 400 --out runs/sweep/3000-16.json
"""

import argparse
import gzip
import json
import math
import os
import time

import numpy as np
import torch
import torch.nn.functional as F


def read_idx(path):
    """One IDX file (gzipped or not) as an array: the loader of
    `keras_latent.data`, which imports TensorFlow, written for this script alone."""
    with (gzip.open if path.endswith(".gz") else open)(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, np.uint8, offset=4 + 4 * dims).reshape(shape)


def load_mnist(folder):
    def one(stem):
        names = [n for n in os.listdir(folder) if n.startswith(stem)]
        return read_idx(os.path.join(folder, sorted(names)[0]))

    images = lambda stem: one(stem).reshape(-1, 784).astype(np.float32) / 255.0
    return (images("train-images"), one("train-labels").astype(np.int64),
            images("t10k-images"), one("t10k-labels").astype(np.int64))


class Dense:
    """`models` Dense layers side by side: Glorot-uniform kernels, zero biases."""

    def __init__(self, models, fan_in, fan_out, device, generator):
        limit = math.sqrt(6.0 / (fan_in + fan_out))
        kernel = (torch.rand(models, fan_in, fan_out, generator=generator) * 2 - 1) * limit
        self.kernel = kernel.to(device).requires_grad_()
        self.bias = torch.zeros(models, 1, fan_out, device=device, requires_grad=True)

    def __call__(self, x):
        return torch.baddbmm(self.bias, x, self.kernel)

    def parameters(self):
        return [self.kernel, self.bias]


class BatchNorm:
    """Keras' BatchNormalization (momentum 0.99, epsilon 1e-3), one per model."""

    def __init__(self, models, units, device):
        self.gamma = torch.ones(models, 1, units, device=device, requires_grad=True)
        self.beta = torch.zeros(models, 1, units, device=device, requires_grad=True)
        self.mean = torch.zeros(models, 1, units, device=device)
        self.var = torch.ones(models, 1, units, device=device)

    def __call__(self, h, training):
        if training:
            mean, var = h.mean(1, keepdim=True), h.var(1, keepdim=True, unbiased=False)
            with torch.no_grad():
                self.mean.mul_(0.99).add_(0.01 * mean)
                self.var.mul_(0.99).add_(0.01 * var)
        else:
            mean, var = self.mean, self.var
        return (h - mean) * torch.rsqrt(var + 1e-3) * self.gamma + self.beta

    def parameters(self):
        return [self.gamma, self.beta]


class MLP:
    """ReLU layers (batch norm before each ReLU when asked), then linear heads."""

    def __init__(self, models, fan_in, units, heads, batch_norm, device, generator):
        sizes = [fan_in, *units]
        self.hidden = [Dense(models, a, b, device, generator) for a, b in zip(sizes, sizes[1:])]
        self.norms = [BatchNorm(models, b, device) for b in units] if batch_norm else []
        self.heads = [Dense(models, sizes[-1], h, device, generator) for h in heads]

    def __call__(self, h, training=True):
        for i, layer in enumerate(self.hidden):
            h = layer(h)
            h = F.relu(self.norms[i](h, training) if self.norms else h)
        return [head(h) for head in self.heads]

    def parameters(self):
        layers = self.hidden + self.norms + self.heads
        return [p for layer in layers for p in layer.parameters()]


def adam(params, rate):
    return torch.optim.Adam(params, rate, betas=(0.5, 0.999), eps=1e-7)


def cluster_error(q_valid, y_valid, q_test, y_test):
    """The paper's measure: each cluster named by its surest validation image."""
    names = y_valid[q_valid.argmax(0)]
    clusters = q_test.argmax(1)
    purity = sum(np.bincount(y_test[clusters == i]).max() for i in np.unique(clusters))
    return (float(100 * np.mean(names[clusters] != y_test)),
            float(100 * (1 - purity / len(y_test))), len(np.unique(clusters)))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--out", required=True, help="a JSON file, rewritten at each evaluation")
    parser.add_argument("--units", type=int, default=1000)
    parser.add_argument("--clusters", type=int, default=16)
    parser.add_argument("--latent-dim", type=int, default=5)
    parser.add_argument("--no-batch-norm", action="store_true")
    parser.add_argument("--rate", type=float, default=2e-4)
    parser.add_argument("--adversarial-rate", type=float, default=2e-3)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--balance-weight", type=float, default=0.0,
                        help="weight of log K - H(mean of y over the batch) in the "
                        "encoder's regularisation (not in the paper)")
    parser.add_argument("--batch-aware-cat", action="store_true",
                        help="D_cat reads y beside the batch's mean y (not in the paper)")
    parser.add_argument("--seeds", type=int, default=3, help="models trained side by side")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--steps", type=int, default=10**9)
    parser.add_argument("--seconds", type=float, default=math.inf)
    parser.add_argument("--eval-every", type=int, default=2500)
    args = parser.parse_args(argv)

    device = "cuda" if torch.cuda.is_available() else "cpu"
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.manual_seed(args.seed)
    gen = torch.Generator().manual_seed(args.seed)
    x_train, y_train, x_test, y_test = load_mnist(args.data_dir)
    x_fit = torch.tensor(x_train[:-10000], device=device)  # the last 10,000 name the clusters
    x_valid, y_valid = torch.tensor(x_train[-10000:], device=device), y_train[-10000:]
    x_test_t = torch.tensor(x_test, device=device)

    m, k, dim, units = args.seeds, args.clusters, args.latent_dim, (args.units,) * 2
    encoder = MLP(m, 784, units, (k, dim), not args.no_batch_norm, device, gen)
    decoder = MLP(m, k + dim, units, (784,), False, device, gen)
    d_gauss = MLP(m, dim, units, (1,), False, device, gen)
    d_cat = MLP(m, 2 * k if args.batch_aware_cat else k, units, (1,), False, device, gen)
    opt_ae = adam(encoder.parameters() + decoder.parameters(), args.rate)
    opt_dg = adam(d_gauss.parameters(), args.adversarial_rate)
    opt_dc = adam(d_cat.parameters(), args.adversarial_rate)
    opt_gen = adam(encoder.parameters(), args.adversarial_rate)

    def encode(x, training=True):
        logits, z = encoder(x, training)
        return F.softmax(logits, -1), z

    def step(x):
        y, z = encode(x)
        x_hat = torch.sigmoid(decoder(torch.cat([y, z], -1))[0])
        recon = ((x - x_hat) ** 2).mean((1, 2)).sum()  # each model's batch mean
        opt_ae.zero_grad(set_to_none=True)
        recon.backward()
        opt_ae.step()

        y, z = encode(x)
        z_real = torch.randn(m, len(x[0]), dim, device=device)
        y_real = F.one_hot(torch.randint(k, (m, len(x[0])), device=device), k).float()
        y_fake = y
        if args.batch_aware_cat:  # each row beside its batch's mean
            y_real = torch.cat([y_real, y_real.mean(1, keepdim=True).expand_as(y_real)], -1)
            y_fake = torch.cat([y, y.mean(1, keepdim=True).expand_as(y)], -1)
        for critic, opt, real, fake in ((d_gauss, opt_dg, z_real, z),
                                        (d_cat, opt_dc, y_real, y_fake)):
            loss = 0.5 * (F.softplus(-critic(real)[0]) + F.softplus(critic(fake.detach())[0]))
            opt.zero_grad(set_to_none=True)
            loss.mean((1, 2)).sum().backward()
            opt.step()
        g_loss = (F.softplus(-d_gauss(z)[0]) + F.softplus(-d_cat(y_fake)[0])).mean((1, 2))
        if args.balance_weight:
            mean_y = y.mean(1)
            g_loss = g_loss + args.balance_weight * (
                math.log(k) + (mean_y * mean_y.clamp_min(1e-12).log()).sum(-1))
        opt_gen.zero_grad(set_to_none=True)
        g_loss.sum().backward()
        opt_gen.step()
        return recon.detach() / m

    @torch.no_grad()
    def q_of(x):
        parts = [encode(x[i:i + 2000].expand(m, -1, -1), training=False)[0]
                 for i in range(0, len(x), 2000)]
        return torch.cat(parts, 1).double().cpu().numpy()

    record = {"settings": vars(args), "device": torch.cuda.get_device_name() if device == "cuda"
              else "cpu", "torch": torch.__version__, "curve": []}

    def evaluate(steps, seconds, recon):
        q_valid, q_test = q_of(x_valid), q_of(x_test_t)
        runs = [cluster_error(q_valid[i], y_valid, q_test[i], y_test) for i in range(m)]
        record["curve"].append({
            "steps": steps, "seconds": round(seconds, 1), "recon": round(float(recon), 5),
            "test_error": [round(r[0], 2) for r in runs],
            "purity_error": [round(r[1], 2) for r in runs],
            "clusters_used": [r[2] for r in runs],
        })
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        with open(args.out + ".tmp", "w") as f:
            json.dump(record, f, indent=1)
        os.replace(args.out + ".tmp", args.out)
        last = record["curve"][-1]
        print(f"{os.path.basename(args.out)} step {steps} ({seconds:.0f} s, "
              f"{steps / max(seconds, 1e-9):.1f}/s) recon {recon:.4f} error "
              f"{last['test_error']} purity {last['purity_error']} used "
              f"{last['clusters_used']}", flush=True)

    n, steps, start, recon = len(x_fit), 0, time.time(), float("nan")
    while steps < args.steps and time.time() - start < args.seconds:
        order = torch.argsort(torch.rand(m, n, device=device), 1)  # an epoch's batches
        for i in range(0, n - args.batch_size + 1, args.batch_size):
            recon = step(x_fit[order[:, i:i + args.batch_size]])
            steps += 1
            if steps % args.eval_every == 0:
                evaluate(steps, time.time() - start, recon)
            if steps >= args.steps or (steps % 100 == 0 and time.time() - start > args.seconds):
                break
    if not record["curve"] or record["curve"][-1]["steps"] != steps:
        evaluate(steps, time.time() - start, recon)


if __name__ == "__main__":
    main()
