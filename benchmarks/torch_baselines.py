"""PyTorch eager baselines for `benchmarks/run.py`: the convolutional families'
networks, losses and updates written plainly, to time `fit` against.

Each `<family>(steps, repeats, channels_last)` builds the family's networks at the
benchmark's sizes with the same layers and the article's optimizers, trains on
random images like `run.py`'s rows, and returns the median steps per second over
`repeats` runs of `steps` steps after five warm-up steps, and whether the
discriminator moved while timed. The maths follows the package's train step (for
InfoGAN one discriminator update on reals and fakes in one batch, then one
generator update through it; for the VAE+GAN the article loop's schedule; for
the CVAE-GAN every network's update from one pass), not its numbers. What
differs, none of it in the cost of a step: weights start from PyTorch's
initialisers; RMSprop adds epsilon outside the square root (Keras inside);
"same" padding is symmetric (TensorFlow pads one more on the right and bottom);
the VAE+GAN's first encoder/decoder update reads a fresh part (the package's
reuses the discriminator's); the CVAE-GAN's class centres are plain moving
averages (the package's are bias-corrected).

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


def _own_gradients(pairs):
    """Each network's `.grad` from its own loss, for `(network, loss)` pairs that
    share one forward pass (each network's update from its own loss, as the
    package's `update` with several roles)."""
    import torch

    for k, (network, loss) in enumerate(pairs):
        parameters = list(network.parameters())
        grads = torch.autograd.grad(loss, parameters, retain_graph=k < len(pairs) - 1)
        for parameter, grad in zip(parameters, grads):
            parameter.grad = grad


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


def vae_gan(steps, repeats, channels_last=False, latent=8, classes=10, batch=64,
            dropout=0.3):
    """Article 003's conditional VAE+GAN (`run.py`'s `vae_gan`), a step of one
    discriminator update and three encoder/decoder updates on parts of `batch`, as
    the article loop's row. Encoder: 3x3 convolution to 32 (stride 2), max-pool,
    3x3 to 64, the label, `Dense(64)`, the mean and log-variance of z (clipped to
    [-4, 4] for the draw). Decoder: `Dense(7x7x128)`, up-sampling, 5x5 to 64, 3x3 to
    32, up-sampling, 5x5 to 1, sigmoid. Discriminator: 7x7 to 128 (stride 2),
    max-pool, the label as maps, 3x3 to 64, max-pool, l (3x3 to 16), a logit.
    LeakyReLU 0.3 and dropout after each hidden layer. RMSprop 1e-3 (encoder and
    discriminator) and 3e-4 (decoder); l read without dropout and standardised by
    the real part, squared error."""
    import torch
    from torch import nn
    import torch.nn.functional as F

    torch.manual_seed(0)
    layout = torch.channels_last if channels_last else torch.contiguous_format

    Encoder, Decoder, act = _conditional_vae(latent, classes, dropout, layout)

    class Discriminator(nn.Module):
        def __init__(self):
            super().__init__()
            self.first = nn.Sequential(
                nn.Conv2d(1, 128, 7, 2, 3), nn.MaxPool2d(2, ceil_mode=True), *act())
            self.second = nn.Sequential(
                nn.Conv2d(128 + classes, 64, 3, 1, 1), nn.MaxPool2d(2, ceil_mode=True), *act())
            self.similarity = nn.Conv2d(64, 16, 3, 1, 1)
            self.logit = nn.Sequential(*act(), nn.Flatten(), nn.Linear(4 * 4 * 16, 1))

        def forward(self, x, labels):
            h = self.first(x)
            maps = labels[:, :, None, None].expand(-1, -1, *h.shape[2:])
            l = self.similarity(self.second(torch.cat([h, maps], 1)))
            # Keras flattens NHWC; the order does not change the cost.
            return self.logit(l), l

    encoder, decoder, discriminator = (
        m().to(memory_format=layout) for m in (Encoder, Decoder, Discriminator))
    d_optimizer = torch.optim.RMSprop(discriminator.parameters(), 1e-3, alpha=0.9, eps=1e-7)
    e_optimizer = torch.optim.RMSprop(encoder.parameters(), 1e-3, alpha=0.9, eps=1e-7)
    g_optimizer = torch.optim.RMSprop(decoder.parameters(), 3e-4, alpha=0.9, eps=1e-7)
    images = torch.rand(6400, 1, 28, 28).contiguous(memory_format=layout)
    targets = F.one_hot(torch.arange(6400) % classes, classes).float()
    pixels = 784.0

    def forward(x, t, similarity):
        mean, log_var, z = encoder(x, t)
        rebuilt = decoder(z, t)
        drawn = decoder(torch.randn(len(x), latent), t)
        real, _ = discriminator(x, t)
        rebuilt_logit, _ = discriminator(rebuilt, t)
        drawn_logit, _ = discriminator(drawn, t)
        gan = (F.softplus(-real) + 2 * F.softplus(drawn_logit) + F.softplus(rebuilt_logit)) / 4
        parts = {"gan": gan.squeeze(1) / pixels}
        if similarity:
            with torch.no_grad():
                F.binary_cross_entropy(rebuilt, x)  # the reconstruction metric
            discriminator.eval()  # l without dropout
            _, real_l = discriminator(x, t)
            _, rebuilt_l = discriminator(rebuilt, t)
            discriminator.train()
            # Centring by the real part's mean cancels in the difference.
            spread = (real_l.detach().var((0, 2, 3), unbiased=False, keepdim=True)
                      + 1e-6).sqrt()
            parts["llike"] = (((rebuilt_l - real_l) / spread).square().flatten(1).sum(1)
                              / pixels)
            clipped = log_var.clamp(-4, 4)  # as the draw clips it
            parts["prior"] = (-0.5 * (1 + clipped - mean.square() - clipped.exp()).sum(1)
                              / pixels)
        return parts

    position = [0]

    def part():
        start = position[0] = (position[0] + batch) % (6400 - batch)
        return images[start:start + batch], targets[start:start + batch]

    def step():
        x, t = part()
        encoder.requires_grad_(False)
        decoder.requires_grad_(False)
        d_optimizer.zero_grad(set_to_none=True)
        (forward(x, t, False)["gan"] * pixels).mean().backward()
        d_optimizer.step()
        encoder.requires_grad_(True)
        decoder.requires_grad_(True)

        discriminator.requires_grad_(False)  # its weights' gradients are not needed
        for _ in range(3):
            x, t = part()
            parts = forward(x, t, True)
            e_loss = ((parts["llike"] + parts["prior"]) * pixels).mean()
            g_loss = ((parts["llike"] - parts["gan"]) * pixels).mean()
            _own_gradients([(encoder, e_loss), (decoder, g_loss)])
            e_optimizer.step()
            g_optimizer.step()
        discriminator.requires_grad_(True)

    return _rate(step, steps, repeats, list(discriminator.parameters()))


def cvae_gan(steps, repeats, channels_last=False, latent=8, classes=10, batch=64,
             dropout=0.3):
    """The CVAE-GAN (`run.py`'s `cvae_gan`): article 003's encoder and decoder (see
    `vae_gan`; dropout 0.3), and D and C each on a trunk of 7x7 convolution to 128
    (stride 2), max-pool, 3x3 to 64, max-pool, 3x3 to 16 (LeakyReLU 0.3), whose 256
    features a `Dense` reads. A step is one pass: E, G on [z; a prior draw], D and C
    on the real, rebuilt and drawn images in one batch of 3 x `batch`, then each
    network's update from its own loss, Adam(2e-4, beta_1 0.5): E on 3 KL + L_G, G
    on L_G + 1e-3 (L_GD + L_GC), D on its GAN loss, C on the real images' cross
    entropy; class centres as moving averages (decay 0.9)."""
    import torch
    from torch import nn
    import torch.nn.functional as F

    torch.manual_seed(0)
    layout = torch.channels_last if channels_last else torch.contiguous_format
    Encoder, Decoder, _ = _conditional_vae(latent, classes, dropout, layout)

    class Critic(nn.Module):
        def __init__(self, outputs):
            super().__init__()
            self.trunk = nn.Sequential(
                nn.Conv2d(1, 128, 7, 2, 3), nn.MaxPool2d(2, ceil_mode=True), nn.LeakyReLU(0.3),
                nn.Conv2d(128, 64, 3, 1, 1), nn.MaxPool2d(2, ceil_mode=True), nn.LeakyReLU(0.3),
                nn.Conv2d(64, 16, 3, 1, 1), nn.LeakyReLU(0.3))
            self.head = nn.Linear(4 * 4 * 16, outputs)

        def forward(self, x):
            features = self.trunk(x).permute(0, 2, 3, 1).flatten(1)  # Keras' NHWC flatten
            return self.head(features), features

    encoder, decoder = Encoder().to(memory_format=layout), Decoder().to(memory_format=layout)
    discriminator = Critic(1).to(memory_format=layout)
    classifier = Critic(classes).to(memory_format=layout)
    networks = (encoder, decoder, discriminator, classifier)
    optimizers = [torch.optim.Adam(n.parameters(), 2e-4, betas=(0.5, 0.999), eps=1e-7)
                  for n in networks]
    images = torch.rand(6400, 1, 28, 28).contiguous(memory_format=layout)
    targets = F.one_hot(torch.arange(6400) % classes, classes).float()
    centres = torch.zeros(classes, 4 * 4 * 16)
    position = [0]

    def class_means(features, t):
        return (t.T @ features) / t.sum(0).clamp_min(1.0)[:, None]

    def step():
        start = position[0] = (position[0] + batch) % (6400 - batch)
        x, t = images[start:start + batch], targets[start:start + batch]
        n = len(x)
        mean, log_var, z = encoder(x, t)
        decoded = decoder(torch.cat([z, torch.randn(n, latent)]), torch.cat([t, t]))
        rebuilt = decoded[:n]
        every = torch.cat([x, decoded])
        logits, d_f = discriminator(every)
        class_logits, c_f = classifier(every)
        logits = logits.squeeze(1)
        d_loss = (F.softplus(-logits[:n]) + F.softplus(logits[n:2 * n])
                  + F.softplus(logits[2 * n:])).mean()
        c_loss = -(t * F.log_softmax(class_logits[:n], 1)).sum(1).mean()
        pairwise = 0.5 * ((x - rebuilt).square().flatten(1).sum(1)
                          + (d_f[:n] - d_f[n:2 * n]).square().sum(1)
                          + (c_f[:n] - c_f[n:2 * n]).square().sum(1))
        mean_loss = 0.5 * (d_f[:n].mean(0) - d_f[2 * n:].mean(0)).square().sum()
        with torch.no_grad():
            centres.mul_(0.9).add_(0.1 * class_means(c_f[:n], t))
        class_mean = 0.5 * (centres - class_means(c_f[2 * n:], t)).square().sum()
        clipped = log_var.clamp(-4, 4)  # as the draw clips it
        kl = -0.5 * (1 + clipped - mean.square() - clipped.exp()).sum(1)
        losses = ((3.0 * kl + pairwise).mean(), (pairwise.mean() + 1e-3 * (mean_loss + class_mean)),
                  d_loss, c_loss)
        _own_gradients(list(zip(networks, losses)))
        for optimizer in optimizers:
            optimizer.step()

    return _rate(step, steps, repeats, list(discriminator.parameters()))


def _conditional_vae(latent, classes, dropout, layout):
    """Article 003's conditional encoder and decoder classes, and the activation
    (LeakyReLU 0.3, dropout) after each hidden layer: see `vae_gan`."""
    import torch
    from torch import nn

    def act():
        return [nn.LeakyReLU(0.3), nn.Dropout(dropout)]

    class Encoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.trunk = nn.Sequential(
                nn.Conv2d(1, 32, 3, 2, 1), *act(), nn.MaxPool2d(2, ceil_mode=True),
                nn.Conv2d(32, 64, 3, 1, 1), *act())
            self.dense = nn.Sequential(nn.Linear(7 * 7 * 64 + classes, 64), *act())
            self.mean, self.log_var = nn.Linear(64, latent), nn.Linear(64, latent)

        def forward(self, x, labels):
            h = self.trunk(x).permute(0, 2, 3, 1).flatten(1)  # Keras' NHWC flatten
            h = self.dense(torch.cat([h, labels], 1))
            mean, log_var = self.mean(h), self.log_var(h)
            z = mean + torch.exp(0.5 * log_var.clamp(-4, 4)) * torch.randn_like(mean)
            return mean, log_var, z

    class Decoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.project = nn.Sequential(nn.Linear(latent + classes, 7 * 7 * 128), *act())
            self.trunk = nn.Sequential(
                nn.Upsample(scale_factor=2), nn.Conv2d(128, 64, 5, 1, 2), *act(),
                nn.Conv2d(64, 32, 3, 1, 1), nn.Upsample(scale_factor=2), *act(),
                nn.Conv2d(32, 1, 5, 1, 2), nn.Sigmoid())

        def forward(self, z, labels):
            h = self.project(torch.cat([z, labels], 1)).view(-1, 7, 7, 128)
            return self.trunk(h.permute(0, 3, 1, 2).contiguous(memory_format=layout))

    return Encoder, Decoder, act
