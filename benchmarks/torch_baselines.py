"""PyTorch eager baselines for `benchmarks/run.py`: the convolutional families'
networks, losses and updates written plainly, to time `fit` against.

Each `<family>(steps, repeats, channels_last)` builds the family's networks at the
benchmark's sizes with the same layers and the article's optimizers, trains on
random images like `run.py`'s rows, and returns the median steps per second over
`repeats` runs of `steps` steps after five warm-up steps, and whether the
discriminator moved while timed. The maths follows the package's train step (one
discriminator update on reals and fakes in one batch, then one generator update
through it), not its numbers: weights start from PyTorch's initialisers.

Optional: `pip install -e ".[bench]"` installs PyTorch. The package and its tests
never import this module.
"""

import statistics
import time


def _rate(step, steps, repeats, watched):
    """Median steps per second of `step()` over `repeats` x `steps` calls after
    five warm-up calls, and whether the tensors `watched` moved while timed."""
    import torch

    for _ in range(5):
        step()
    before = [w.detach().clone() for w in watched]
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(steps):
            step()
        rates.append(steps / (time.perf_counter() - start))
    moved = any(not torch.equal(a, w) for a, w in zip(before, watched))
    return statistics.median(rates), moved


def info_gan(steps, repeats, channels_last=False, noise_dim=62, classes=10, codes=2,
             batch=64):
    """Article 002's InfoGAN (`run.py`'s `info_gan`): generator 74 -> 7x7x128, then
    (BatchNorm, ReLU, transposed 5x5 convolution) to 128, 64 (both stride 2), 32
    and 1 channels, sigmoid; discriminator (LeakyReLU 0.2, 5x5 convolution) to 32,
    64, 128 (stride 2) and 256, a logit, and Q (`Dense(128)`, a softmax over the
    classes, sigmoid codes). RMSprop 2e-4 / 1e-4 (rho 0.9); the label loss weighs
    1, the code loss (-c log Q) 0.5."""
    import torch
    from torch import nn
    import torch.nn.functional as F

    torch.manual_seed(0)
    layout = torch.channels_last if channels_last else torch.contiguous_format

    class Generator(nn.Module):
        def __init__(self):
            super().__init__()
            self.project = nn.Linear(noise_dim + classes + codes, 7 * 7 * 128)
            blocks, width = [], 128
            for i, count in enumerate((128, 64, 32, 1)):
                stride = 2 if i < 2 else 1
                blocks += [nn.BatchNorm2d(width, eps=1e-3, momentum=0.01), nn.ReLU(),
                           nn.ConvTranspose2d(width, count, 5, stride, padding=2,
                                              output_padding=stride - 1)]
                width = count
            self.blocks = nn.Sequential(*blocks)

        def forward(self, noise, labels, c):
            h = self.project(torch.cat([noise, labels, c], 1)).view(-1, 7, 7, 128)
            h = h.permute(0, 3, 1, 2).contiguous(memory_format=layout)  # Keras' NHWC order
            return torch.sigmoid(self.blocks(h))

    class Discriminator(nn.Module):
        def __init__(self):
            super().__init__()
            layers, width = [], 1
            for i, count in enumerate((32, 64, 128, 256)):
                layers += [nn.LeakyReLU(0.2), nn.Conv2d(width, count, 5, 2 if i < 3 else 1, 2)]
                width = count
            self.trunk = nn.Sequential(*layers)
            self.logit = nn.Linear(4 * 4 * 256, 1)
            self.q = nn.Linear(4 * 4 * 256, 128)
            self.label = nn.Linear(128, classes)
            self.codes = nn.Linear(128, codes)

        def forward(self, x):
            h = self.trunk(x).permute(0, 2, 3, 1).flatten(1)  # Keras' NHWC flatten
            q = self.q(h)
            return self.logit(h), F.softmax(self.label(q), 1), torch.sigmoid(self.codes(q))

    generator = Generator().to(memory_format=layout)
    discriminator = Discriminator().to(memory_format=layout)
    d_optimizer = torch.optim.RMSprop(discriminator.parameters(), 2e-4, alpha=0.9, eps=1e-7)
    g_optimizer = torch.optim.RMSprop(generator.parameters(), 1e-4, alpha=0.9, eps=1e-7)
    images = torch.rand(6400, 1, 28, 28).contiguous(memory_format=layout)
    targets = F.one_hot(torch.arange(6400) % classes, classes).float()

    def draw(n):
        return (torch.rand(n, noise_dim) * 2 - 1,
                F.one_hot(torch.randint(classes, (n,)), classes).float(),
                torch.randn(n, codes) * 0.5)

    def cross_entropy(t, p):
        return -(t * p.clamp_min(1e-7).log()).sum(1)

    def code_loss(c, q):
        return -(c * q.clamp(1e-7, 1.0).log()).sum(1)

    position = [0]

    def step():
        start = position[0] = (position[0] + batch) % (6400 - batch)
        x, t = images[start:start + batch], targets[start:start + batch]
        noise, labels, c = draw(batch)
        with torch.no_grad():
            fakes = generator(noise, labels, c)
        logit, p, q = discriminator(torch.cat([x, fakes]))
        adversarial = 0.5 * (F.softplus(-logit[:batch]) + F.softplus(logit[batch:]))
        label = 0.5 * (cross_entropy(t, p[:batch]) + cross_entropy(labels, p[batch:]))
        real_codes = torch.randn(batch, codes) * 0.5
        code = 0.5 * (code_loss(c, q[batch:]) + code_loss(real_codes, q[:batch]))
        d_optimizer.zero_grad(set_to_none=True)
        (adversarial.squeeze(1) + label + 0.5 * code).mean().backward()
        d_optimizer.step()

        noise, labels, c = draw(batch)
        discriminator.requires_grad_(False)  # its weights' gradients are not needed
        logit, p, q = discriminator(generator(noise, labels, c))
        g_loss = F.softplus(-logit).squeeze(1) + cross_entropy(labels, p) + 0.5 * code_loss(c, q)
        g_optimizer.zero_grad(set_to_none=True)
        g_loss.mean().backward()
        g_optimizer.step()
        discriminator.requires_grad_(True)

    return _rate(step, steps, repeats, list(discriminator.parameters()))
