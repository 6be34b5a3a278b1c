"""Training speed of every model family, beside the article-style training loop.

For each family at its article's batch size this measures, in a fresh process:
steps per second of `fit` after warm-up (median over repeats), the FLOPs one
training step executes, counted from the Dense layers' shapes, the share of this
machine's measured float32 matmul peak that reaches, and the process's peak memory.
Beside the peak (2048-cubed products) it measures what a batch-100 layer's
matmul reaches alone, the ceiling of these small products. Where an article
writes a training loop it also times that loop (`BASELINES`: `train_on_batch` on
combined models with some networks frozen; the AAE's with a `predict` of the
codes), and for the convolutional families the same step in PyTorch eager
(`benchmarks/torch_baselines.py`, when PyTorch is installed: `pip install -e
".[bench]"`), and reports `fit`'s ratio to each. Results go to
`benchmarks/results/<machine>.json` and `.md`.

Usage:
    python benchmarks/run.py [--families aae,semi_supervised_aae] [--repeats 3]
        [--steps 200] [--out benchmarks/results] [--tag NAME]

A new family joins with one entry in `FAMILIES`: a function returning the compiled
model (built by its factory in `tests/families.py`), its training data, the batch
`fit` takes and the FLOPs of one step (see `aae`), and, where its article writes a
training loop, one in `BASELINES`.
"""

import argparse
import importlib.util
import json
import os
import platform
import resource
import shlex
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)  # run from a checkout without installing
UNITS = (1000, 1000)
IMAGE = (28, 28, 1)
PIXELS = 28 * 28


def layer_macs(layer):
    """Multiply-adds per example of one Dense or convolution layer (0 for others)."""
    import math

    import keras

    if isinstance(layer, keras.layers.Dense):
        return int(layer.kernel.shape[0]) * int(layer.kernel.shape[1])
    kernel = math.prod(int(d) for d in getattr(layer, "kernel", None).shape) \
        if isinstance(layer, (keras.layers.Conv2D, keras.layers.Conv2DTranspose)) else 0
    if not kernel:
        return 0
    # Each output pixel of a convolution, each input pixel of a transposed one,
    # meets the whole kernel (height x width x in x out).
    shape = layer.output.shape if isinstance(layer, keras.layers.Conv2D) else layer.input.shape
    return int(shape[1]) * int(shape[2]) * kernel


def matmul_macs(network, first_only=False):
    """Multiply-adds per example of a network's Dense and convolution layers.

    With `first_only`, those of its first such layer (the one reading the input).
    """
    from keras_latent.models.multi_optimizer_model import all_layers

    counted = [macs for macs in map(layer_macs, all_layers(network)) if macs]
    return sum(counted[:1] if first_only else counted)


# FLOPs per example of what one step executes (2 per multiply-add): a forward pass,
# its weight gradients and the gradients of each layer's input, except the input of
# the first layers when it is data (XLA and Grappler prune those).
def forward(network):
    return 2 * matmul_macs(network)


def train(network, input_gradient=False):
    """Forward, weight gradients, input gradients."""
    macs = matmul_macs(network)
    return 6 * macs - (0 if input_gradient else 2 * matmul_macs(network, first_only=True))


def through(network):
    """Forward and input gradients only: the discriminator inside the generator step."""
    return 4 * matmul_macs(network)


def aae_step_flops(model, batch):
    """The paper schedule: reconstruction, then discriminator (on codes and prior
    draws) and generator sharing one encoder pass."""
    e, g, d = model.encoder, model.decoder, model.discriminator
    per_example = (
        train(e) + train(g, input_gradient=True)  # reconstruction
        + train(e) + 2 * train(d)  # shared encoder pass, discriminator on both batches
        + through(d)  # generator
    )
    return per_example * batch


def semi_supervised_step_flops(model, batch):
    e, g = model.encoder, model.decoder
    critics = (model.discriminator, model.category_discriminator)
    per_example = (
        train(e) + train(g, input_gradient=True)
        + train(e) + sum(2 * train(d) + through(d) for d in critics)
        + train(e)  # supervised cross-entropy
    )
    return per_example * batch


def semi_supervised_recipe_step_flops(model, batch):
    """The step above, plus the mean teacher's view (the consistency target) and,
    with virtual adversarial training, y of the image, the direction's forward
    and input-gradient pass, and y of the moved image with its weight gradients."""
    e = model.encoder
    extra = forward(e)
    if model.virtual_adversarial_weight:
        extra += forward(e) + through(e) + train(e)
    return semi_supervised_step_flops(model, batch) + extra * batch


def disentangling_step_flops(model, batch):
    """Article 001's step: `batch` holds `draws_per_step` batches, one per update."""
    s_enc, z_enc, dec = model.s_encoder, model.z_encoder, model.decoder
    s_clf, z_clf, x_clf = model.s_classifier, model.z_classifier, model.image_classifier
    per_example = (
        train(s_enc) + train(s_clf, input_gradient=True) + train(x_clf)  # supervised
        + model.clf_z_steps * (forward(z_enc) + train(z_clf))  # the adversary, on fresh z
        # Enc_z and Dec: s of x and of x' (no gradient), two decodes, both judges.
        + train(z_enc) + 2 * forward(s_enc) + 2 * train(dec, input_gradient=True)
        + through(z_clf) + through(x_clf)
    )
    return per_example * batch // model.draws_per_step


def info_gan_step_flops(model, batch):
    """Fakes for D, D on reals and fakes, then G through the updated D."""
    g, d = model.generator, model.discriminator
    return (forward(g) + 2 * train(d) + train(g) + through(d)) * batch


def _images(n, seed=0):
    import numpy as np

    return np.random.default_rng(seed).random((n,) + IMAGE, dtype="float32")


def aae(options):
    """Article 004 / the paper: 784-1000-1000-2, batch 100, three Adams."""
    from tests import families

    model = families.aae(2, UNITS)
    model.compile(**options)
    return model, (_images(6000), None), 100, aae_step_flops


def supervised_aae(options):
    """Article 000's supervised AAE: label into the decoder, 15-D code, batch 100."""
    import numpy as np

    import keras_latent as kl
    from tests import families

    model = families.supervised_aae(15, UNITS, prior=kl.priors.Gaussian(15, 5.0))
    model.compile(**options)
    return model, (_images(6000), np.arange(6000) % 10), 100, aae_step_flops


def label_regularized_aae(options):
    """Article 004's supervised AAE: label into the discriminator, batch 100."""
    import numpy as np

    from tests import families

    model = families.label_regularized_aae(2, UNITS)
    model.compile(**options)
    return model, (_images(6000), np.arange(6000) % 10), 100, aae_step_flops


def semi_supervised_aae(options):
    """Article 000's semi-supervised AAE: y and z heads, two discriminators."""
    import numpy as np

    from tests import families

    labels = np.where(np.arange(6000) % 10 == 0, np.arange(6000) // 10 % 10, -1)  # 10 %
    model = families.semi_supervised_aae(10, UNITS)
    model.compile(**options)
    return model, (_images(6000), labels), 100, semi_supervised_step_flops


def semi_supervised_aae_recipe(options, virtual_adversarial=True):
    """`reproductions/aae_guide.py`'s part-3 model and its options: noise, shifts
    and rotations, the consistency term against a mean teacher and (by default)
    virtual adversarial training; on plain batches of 100, 10 % labelled."""
    import numpy as np

    from reproductions import aae_guide

    settings = dict(aae_guide.SETTINGS)
    if not virtual_adversarial:
        settings["virtual_adversarial_weight_semi_supervised"] = 0.0
    model = aae_guide.build_semi_supervised(settings, IMAGE, 10, seed=0)
    model.compile(  # fresh copies of its optimizers, with this variant's options
        **{role: type(getattr(model, role)).from_config(getattr(model, role).get_config())
           for role in model.optimizer_roles()},
        **options,
    )
    labels = np.where(np.arange(6000) % 10 == 0, np.arange(6000) // 10 % 10, -1)
    return model, (_images(6000), labels), 100, semi_supervised_recipe_step_flops


def disentangling_ae(options):
    """Article 001: six networks (256-256 MLPs, 16-D s and z), batch 128 per update.

    `fit`'s batch holds the six batches of one step (`draws_per_step` x 128).
    """
    import numpy as np

    from tests import families

    model = families.disentangling_ae(16, 16, (256, 256))
    model.compile(**options)
    batch = 128 * model.draws_per_step
    return model, (_images(6000), np.arange(6000) % 10), batch, disentangling_step_flops


def info_gan(options):
    """Article 002: conv generator and discriminator with Q heads, batch 64."""
    import numpy as np

    from tests import families

    model = families.info_gan(
        62, g_filters=(128, 64, 32), d_filters=(32, 64, 128, 256), q_units=128
    )
    model.compile(**options)
    return model, (_images(6400), np.arange(6400) % 10), 64, info_gan_step_flops


def vae_gan_step_flops(model, batch):
    """One discriminator and three encoder/decoder updates (the rule's usual take),
    each on a forward pass of the encoder, two decodings and three discriminations
    (the encoder/decoder updates two more: l of the image and of its decoding, read
    without dropout)."""
    e, g, d = model.encoder, model.decoder, model.discriminator
    passes = forward(e) + 2 * forward(g) + 3 * forward(d)
    d_update = passes + 3 * (train(d) - forward(d))  # weight and input gradients of D
    ed_update = passes + 2 * forward(d) + train(e) - forward(e) \
        + 2 * (train(g, True) - forward(g)) + 3 * (through(d) - forward(d))
    return (d_update + 3 * ed_update) * batch // model.draws_per_step


def vae_gan(options):
    """Article 003: conditional VAE+GAN, latent 8, five parts of 64 a step."""
    import numpy as np

    from tests import families

    model = families.vae_gan(8, dropout=0.3)
    model.compile(**options)
    batch = 64 * model.draws_per_step
    return model, (_images(6400), np.arange(6400) % 10), batch, vae_gan_step_flops


def cvae_gan_step_flops(model, batch):
    """One pass of the encoder, two decodings (x_f, x_p) and three readings by D and C
    (x, x_f, x_p); then D's and C's weight gradients, the encoder's back through G, D
    and C on x_f, and the decoder's through D and C on x_f and x_p."""
    e, g, d, c = model.encoder, model.decoder, model.discriminator, model.classifier
    passes = forward(e) + 2 * forward(g) + 3 * forward(d) + 3 * forward(c)
    critics = 3 * (train(d) - forward(d) + train(c) - forward(c))  # over all 3n rows
    encoder = train(e) - forward(e) + through(g) - forward(g) \
        + through(d) - forward(d) + through(c) - forward(c)
    decoder = 2 * (train(g, True) - forward(g) + through(d) - forward(d) + through(c) - forward(c))
    return (passes + critics + encoder + decoder) * batch


def cvae_gan(options):
    """Bao et al. 2017 at the reproduction's sizes: article 003's encoder and decoder
    (latent 8, dropout 0.3), D and C on article 003's discriminator trunk, batch 64."""
    import numpy as np

    from tests import families

    model = families.cvae_gan(8, dropout=0.3)
    model.compile(**options)
    return model, (_images(6400), np.arange(6400) % 10), 64, cvae_gan_step_flops


FAMILIES = {
    "aae": aae,
    "supervised_aae": supervised_aae,
    "label_regularized_aae": label_regularized_aae,
    "semi_supervised_aae": semi_supervised_aae,
    "semi_supervised_aae_recipe_without_vat": (
        lambda options: semi_supervised_aae_recipe(options, virtual_adversarial=False)
    ),
    "semi_supervised_aae_recipe": semi_supervised_aae_recipe,
    "disentangling_ae": disentangling_ae,
    "info_gan": info_gan,
    "vae_gan": vae_gan,
    "cvae_gan": cvae_gan,
}
# Each family is timed with these compile options (and mixed precision policies).
VARIANTS = {
    "default": {},  # XLA on, but for convolutions without a GPU (`default_jit_compile`)
    "xla": {"jit_compile": True},
    "steps_per_execution=10": {"steps_per_execution": 10},
    "no xla": {"jit_compile": False},
    "mixed_bfloat16": {"policy": "mixed_bfloat16"},
    # The same XLA step without `fit`: what Keras' loop adds.
    "train_step in a graph loop": {"graph_loop": True},
    # `data.make_dataset`'s input with tf.data's autotuner turned back on (`fit_input`).
    "autotuned input": {"autotuned_input": True},
}


def matmul_peak(shape=(2048, 2048, 2048), repeats=10):
    """Best float32 GFLOP/s of (m, k) x (k, n) matmuls on this machine.

    Four independent products a graph cannot merge; the default shape gives the
    machine's peak, `(100, 1000, 1000)` what a batch-100 layer of the articles' MLPs
    can reach.
    """
    import tensorflow as tf

    m, k, n = shape
    a = tf.random.normal((m, k))
    bs = [tf.random.normal((k, n)) for _ in range(4)]

    @tf.function
    def products(a, bs):
        return tf.add_n([tf.matmul(a, b) for b in bs])

    products(a, bs).numpy()
    calls = max(1, int(2048**3 // (m * k * n)))
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(calls):
            out = products(a, bs)
        out.numpy()
        best = min(best, (time.perf_counter() - start) / calls)
    return 4 * 2 * m * k * n / best / 1e9


def fit_input(x, y, batch, autotuned=False):
    """The endless `data.make_dataset` every `fit` row reads; with `autotuned`,
    tf.data's autotuner turned back on and one more `prefetch(AUTOTUNE)`."""
    import tensorflow as tf

    from keras_latent import data

    dataset = data.make_dataset(x, y, batch_size=batch, drop_remainder=True).repeat()
    if not autotuned:
        return dataset
    options = tf.data.Options()
    options.autotune.enabled = True
    return dataset.prefetch(tf.data.AUTOTUNE).with_options(options)


def time_fit(model, x, y, batch, steps, repeats, autotuned_input=False):
    """Median steps per second of `fit` over `repeats` runs of `steps` steps, and
    the updates a step took where the model logs them (the VAE+GAN's
    `d_steps_taken` and `g_steps_taken`, over the last run)."""
    dataset = fit_input(x, y, batch, autotuned_input)
    model.fit(dataset, epochs=1, steps_per_epoch=steps, verbose=0)  # trace, warm up
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        history = model.fit(dataset, epochs=1, steps_per_epoch=steps, verbose=0)
        rates.append(steps / (time.perf_counter() - start))
    taken = {k: v[-1] for k, v in history.history.items() if k.endswith("_taken")}
    return statistics.median(rates), taken


def time_graph_loop(model, x, y, batch, steps, repeats):
    """Median steps per second of `train_step` on one batch, looped inside one graph."""
    import tensorflow as tf

    inputs = (tf.constant(x[:batch]),) if y is None else (
        tf.constant(x[:batch]), tf.constant(y[:batch]))
    one_step = tf.function(model.train_step, jit_compile=True)

    @tf.function
    def loop():
        for _ in tf.range(steps):
            one_step(inputs)

    loop()  # trace, warm up
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        loop()
        rates.append(steps / (time.perf_counter() - start))
    return statistics.median(rates)


def time_python_loop(step, steps, repeats, watched):
    """Median steps per second of `step(i)` called in Python, after five warm-up
    steps, and whether the network `watched` moved while timed."""
    import numpy as np

    for i in range(5):  # warm up every train function
        step(i)
    before = [w.numpy().copy() for w in watched.weights]
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        for i in range(steps):
            step(i)
        rates.append(steps / (time.perf_counter() - start))
    moved = any(not np.allclose(a, w.numpy()) for a, w in zip(before, watched.weights))
    return statistics.median(rates), moved


def article_style_aae(steps, repeats, use_predict_on_batch=False):
    """The loop the articles write, with Keras 3's traps avoided.

    Each model gets its own optimizer (a Keras 3 optimizer is bound to the
    variables it was built with). Keras reads `trainable_weights` when a train
    function is first traced, so the discriminator's own train function is traced
    while it is trainable and only then frozen for the combined model; the
    returned flag says whether its weights still moved in the timed loop.
    """
    import keras
    import numpy as np

    import keras_latent as kl

    batch = 100
    encoder = kl.build_encoder(IMAGE, 2, UNITS)
    decoder = kl.build_decoder(IMAGE, 2, UNITS)
    discriminator = kl.build_code_discriminator(2, UNITS)
    images = keras.Input(IMAGE)
    autoencoder = keras.Model(images, decoder(encoder(images)))
    autoencoder.compile(keras.optimizers.Adam(2e-4, 0.5), "binary_crossentropy")
    bce = keras.losses.BinaryCrossentropy(from_logits=True)
    discriminator.compile(keras.optimizers.Adam(2e-4, 0.5), bce)
    both = np.concatenate([np.ones((batch, 1)), np.zeros((batch, 1))]).astype("float32")
    discriminator.train_on_batch(np.zeros((2 * batch, 2), "float32"), both)  # trace
    discriminator.trainable = False
    generator = keras.Model(images, discriminator(encoder(images)))
    generator.compile(keras.optimizers.Adam(2e-4, 0.5), bce)

    x = _images(6000)
    rng = np.random.default_rng(0)
    ones = np.ones((batch, 1), "float32")

    def step(i):
        xb = x[(i * batch) % 6000:(i * batch) % 6000 + batch]
        autoencoder.train_on_batch(xb, xb)
        if use_predict_on_batch:
            fake = encoder.predict_on_batch(xb)
        else:
            fake = encoder.predict(xb, verbose=0)
        real = rng.normal(size=(batch, 2)).astype("float32")
        discriminator.train_on_batch(np.concatenate([real, fake]), both)
        generator.train_on_batch(xb, ones)

    return time_python_loop(step, steps, repeats, discriminator)


def article_style_disentangling(steps, repeats):
    """Article 001's loop: three compiled models and `train_on_batch`, six batches a step.

    The article freezes networks by setting `trainable` before compiling each
    combined model. Keras 3 reads the trainable variables when a train function
    is first traced, so each model is traced (one `train_on_batch`) with its own
    flags set, and the flags are restored after. Returns the rate and whether
    the frozen Enc_z stayed put in Clf_z's updates while Clf_z moved.
    """
    import keras
    import numpy as np

    import keras_latent as kl

    batch, classes = 128, 10
    nets = kl.build_disentangling_networks(IMAGE, classes, z_dim=16, s_dim=16, seed=0)
    s_enc, z_enc, dec = nets["s_encoder"], nets["z_encoder"], nets["decoder"]
    s_clf, z_clf, x_clf = nets["s_classifier"], nets["z_classifier"], nets["image_classifier"]
    x = _images(6000)
    y = np.eye(classes, dtype="float32")[np.arange(6000) % classes]
    uniform = np.full((batch, classes), 1 / classes, "float32")

    def traced(model, inputs, targets, frozen):
        for net in frozen:
            net.trainable = False
        model.train_on_batch(inputs, targets)
        for net in frozen:
            net.trainable = True
        return model

    images, others = keras.Input(IMAGE), keras.Input(IMAGE)
    supervised = keras.Model(images, [s_clf(s_enc(images)), x_clf(images)])
    supervised.compile(keras.optimizers.Adam(), ["categorical_crossentropy"] * 2)
    supervised = traced(supervised, x[:batch], [y[:batch]] * 2, [])
    adversary = keras.Model(images, z_clf(z_enc(images)))
    adversary.compile(keras.optimizers.SGD(0.001), "categorical_crossentropy")
    adversary = traced(adversary, x[:batch], y[:batch], [z_enc])
    z = z_enc(images)
    autoencoder = keras.Model(
        [images, others],
        [dec([z, s_enc(images)]), z_clf(z), x_clf(dec([z, s_enc(others)]))],
    )
    autoencoder.compile(
        keras.optimizers.Adam(),
        ["binary_crossentropy", "categorical_crossentropy", "categorical_crossentropy"],
        loss_weights=[10.0, 10.0, 1.0],
    )
    autoencoder = traced(
        autoencoder, [x[:batch], x[batch:2 * batch]],
        [x[:batch], uniform, y[batch:2 * batch]], [s_enc, z_clf, x_clf],
    )

    def step(i):
        parts = [(i * 6 + k) * batch % (6000 - batch) for k in range(6)]
        xs = [x[p:p + batch] for p in parts]
        ys = [y[p:p + batch] for p in parts]
        supervised.train_on_batch(xs[0], [ys[0], ys[0]])
        for k in (1, 2, 3):
            adversary.train_on_batch(xs[k], ys[k])
        autoencoder.train_on_batch([xs[4], xs[5]], [xs[4], uniform, ys[5]])

    rate, moved = time_python_loop(step, steps, repeats, z_clf)
    # Enc_z moves in the autoencoder's update, so its freezing is checked alone here.
    kept = [w.numpy().copy() for w in z_enc.weights]
    adversary.train_on_batch(x[:batch], y[:batch])
    frozen = all(np.array_equal(a, w.numpy()) for a, w in zip(kept, z_enc.weights))
    return rate, moved and frozen


def article_info_gan_parts():
    """Article 002's loop, as its three calls: `predict` of the fakes, then
    `train_on_batch` on the discriminator (reals and fakes) and on the generator
    through the frozen discriminator, each compiled with its own RMSprop and the
    article's losses. `{name: call()}`; the discriminator is the last call's `.d`."""
    import keras
    import numpy as np

    import keras_latent as kl

    batch, classes, noise_dim = 64, 10, 62
    generator = kl.build_generator(noise_dim=noise_dim)
    discriminator = kl.build_info_discriminator()

    def mi_loss(codes, q):  # the article's -c log Q, summed over both codes
        return keras.ops.mean(-keras.ops.sum(codes * keras.ops.log(q + 1e-7), axis=1))

    loss = [keras.losses.BinaryCrossentropy(from_logits=True), "categorical_crossentropy",
            mi_loss]
    discriminator.compile(keras.optimizers.RMSprop(2e-4), loss, loss_weights=[1, 1, 0.5])
    x = _images(6400)
    y = np.eye(classes, dtype="float32")[np.arange(6400) % classes]
    rng = np.random.default_rng(0)

    def draws(n):
        return [
            rng.uniform(-1, 1, (n, noise_dim)).astype("float32"),
            np.eye(classes, dtype="float32")[rng.integers(0, classes, n)],
            rng.normal(0, 0.5, (n, 2)).astype("float32"),
        ]

    real_fake = np.concatenate([np.ones((batch, 1)), np.zeros((batch, 1))]).astype("float32")
    fakes = draws(2 * batch)
    discriminator.train_on_batch(  # traced while trainable
        x[:2 * batch], [real_fake, y[:2 * batch], fakes[2]]
    )
    discriminator.trainable = False
    inputs = [keras.Input((noise_dim,)), keras.Input((classes,)), keras.Input((2,))]
    adversarial = keras.Model(inputs, discriminator(generator(inputs)))
    adversarial.compile(keras.optimizers.RMSprop(1e-4), loss, loss_weights=[1, 1, 0.5])
    ones = np.ones((batch, 1), "float32")
    state = {"i": 0, "fake_inputs": draws(batch)}

    def predict():
        state["fake_inputs"] = draws(batch)
        state["fake"] = generator.predict(state["fake_inputs"], verbose=0)
        return state["fake"]

    def train_discriminator():
        start = (state["i"] * batch) % (6400 - batch)
        state["i"] += 1
        real, labels = x[start:start + batch], y[start:start + batch]
        fake_inputs, fake = state["fake_inputs"], state.get("fake")
        if fake is None:
            fake = predict()
        real_codes = draws(batch)[2]
        return discriminator.train_on_batch(
            np.concatenate([real, fake]),
            [real_fake, np.concatenate([labels, fake_inputs[1]]),
             np.concatenate([real_codes, fake_inputs[2]])],
        )

    def train_generator():
        g_inputs = draws(batch)
        return adversarial.train_on_batch(g_inputs, [ones, g_inputs[1], g_inputs[2]])

    train_generator.d = discriminator
    return {
        "article: predict of the fakes": predict,
        "article: D train_on_batch": train_discriminator,
        "article: G train_on_batch": train_generator,
    }


def article_style_info_gan(steps, repeats):
    """Article 002's loop (`article_info_gan_parts`), one call of each part a step."""
    parts = list(article_info_gan_parts().values())

    def step(i):
        for part in parts:
            part()

    return time_python_loop(step, steps, repeats, parts[-1].d)


def traced_with_frozen(model, frozen, inputs):
    """`model` after one `train_on_batch` on `inputs` with the `frozen` networks'
    `trainable` off: Keras reads the flags when it traces, so they hold after."""
    for network in frozen:
        network.trainable = False
    model.train_on_batch(inputs)
    for network in frozen:
        network.trainable = True
    return model


def article_style_vae_gan(steps, repeats):
    """Article 003's loop as Keras 3 `train_on_batch` calls: per iteration one
    discriminator update and three encoder/decoder updates (what its balancing rule
    takes at its thresholds' scale), each update a compiled model whose loss a layer
    adds and whose other networks are frozen while it is traced. The losses are the
    package's (l read without dropout, standardised, squared error), so both sides
    do the same arithmetic."""
    import keras
    import numpy as np

    import keras_latent as kl

    batch, classes, latent = 64, 10, 8
    encoder = kl.build_conditional_encoder(latent_dim=latent)
    decoder = kl.build_conditional_decoder(latent_dim=latent)
    discriminator = kl.build_similarity_discriminator()
    pixels = 784.0

    class Losses(keras.layers.Layer):
        """Adds the article's loss of one player, from the shared forward pass."""

        def __init__(self, player, **kwargs):
            super().__init__(**kwargs)
            self.player = player

        def call(self, inputs):
            z_mean, z_log_var, real, drawn, rebuilt, real_l, rebuilt_l = inputs
            ops = keras.ops
            gan = ops.mean(
                ops.softplus(-real) + 2 * ops.softplus(drawn) + ops.softplus(rebuilt)
            ) / 4 / pixels
            # The package's default: l standardised by the real batch, squared error.
            flat = ops.stop_gradient(ops.reshape(real_l, (-1, real_l.shape[-1])))
            std = ops.sqrt(ops.var(flat, 0) + 1e-6)
            llike = ops.mean(ops.sum(
                ops.reshape(ops.square((rebuilt_l - real_l) / std), (batch, -1)), 1
            )) / pixels
            log_var = ops.clip(z_log_var, -4, 4)
            prior = ops.mean(-0.5 * ops.sum(
                1 + log_var - ops.square(z_mean) - ops.exp(log_var), 1
            )) / pixels
            # Per image, as `VAEGAN` hands its optimizers (RMSprop's epsilon).
            loss = {"d": gan, "e": llike + prior, "g": llike - gan}[self.player] * pixels
            self.add_loss(loss)
            return loss

    images, labels = keras.Input((28, 28, 1)), keras.Input((classes,))
    prior_z = keras.Input((latent,))
    z_mean, z_log_var, z = encoder([images, labels])
    rebuilt, drawn = decoder([z, labels]), decoder([prior_z, labels])
    real_logit, _ = discriminator([images, labels])
    rebuilt_logit, _ = discriminator([rebuilt, labels])
    drawn_logit, _ = discriminator([drawn, labels])
    _, real_l = discriminator([images, labels], training=False)
    _, rebuilt_l = discriminator([rebuilt, labels], training=False)
    outputs = [z_mean, z_log_var, real_logit, drawn_logit, rebuilt_logit, real_l, rebuilt_l]
    x = _images(6400)
    y = np.eye(classes, dtype="float32")[np.arange(6400) % classes]
    rng = np.random.default_rng(0)
    models = {}
    for player, rate, frozen in (
        ("d", 1e-3, (encoder, decoder)),
        ("e", 1e-3, (decoder, discriminator)),
        ("g", 3e-4, (encoder, discriminator)),
    ):
        model = keras.Model([images, labels, prior_z], Losses(player)(outputs))
        model.compile(keras.optimizers.RMSprop(rate))
        zp = rng.normal(size=(batch, latent)).astype("float32")
        models[player] = traced_with_frozen(model, frozen, [x[:batch], y[:batch], zp])

    def step(i):
        for k, players in enumerate((("d",), ("e", "g"), ("e", "g"), ("e", "g"))):
            start = ((4 * i + k) * batch) % (6400 - batch)
            zp = rng.normal(size=(batch, latent)).astype("float32")
            for player in players:
                models[player].train_on_batch([x[start:start + batch], y[start:start + batch], zp])

    return time_python_loop(step, steps, repeats, discriminator)


def plain_loop_cvae_gan(steps, repeats):
    """The CVAE-GAN as a plain Keras loop: per step four `train_on_batch` calls, one
    per network (C, D, E, G), each a compiled model whose loss a layer adds and whose
    other networks are frozen while it is traced; each recomputes the forward pass it
    needs. The losses are `CVAEGAN`'s with one difference: L_GC compares the
    generated class means with the real batch's class means, not the moving centres
    (the arithmetic of a step is the same size)."""
    import keras
    import numpy as np

    import keras_latent as kl
    from tests import families

    batch, classes, latent = 64, 10, 8
    reference = families.cvae_gan(8, dropout=0.3)
    encoder, decoder = reference.encoder, reference.decoder
    discriminator, classifier = reference.discriminator, reference.classifier

    class Losses(keras.layers.Layer):
        """Adds one network's loss, from the forward pass its model computes."""

        def __init__(self, player, **kwargs):
            super().__init__(**kwargs)
            self.player = player

        def call(self, inputs):
            x, labels, z_mean, z_log_var, logits, d_f, class_logits, c_f, rebuilt = inputs
            ops = keras.ops
            real, fake = logits[:batch, 0], logits[batch:, 0]
            if self.player == "d":
                loss = ops.mean(ops.softplus(-real) + ops.softplus(fake[:batch])
                                + ops.softplus(fake[batch:]))
            elif self.player == "c":
                loss = ops.mean(kl.losses.cross_entropy(labels, ops.softmax(class_logits[:batch])))
            else:
                pairwise = kl.losses.pairwise_matching_loss([
                    (x, rebuilt), (d_f[:batch], d_f[batch:2 * batch]),
                    (c_f[:batch], c_f[batch:2 * batch]),
                ])
                if self.player == "e":
                    log_var = ops.clip(z_log_var, -4, 4)
                    kl_term = kl.losses.gaussian_kl(z_mean, log_var)
                    loss = ops.mean(3.0 * kl_term + pairwise)
                else:
                    mean = kl.losses.mean_matching_loss(d_f[:batch], d_f[2 * batch:])
                    real_means = ops.matmul(ops.transpose(labels), c_f[:batch])
                    counts = ops.maximum(ops.sum(labels, 0), 1.0)[:, None]
                    centres = ops.stop_gradient(real_means / counts)
                    class_mean = kl.losses.class_mean_matching_loss(centres, c_f[2 * batch:], labels)
                    loss = ops.mean(pairwise + 1e-3 * mean + 1e-3 * class_mean)
            self.add_loss(loss)
            return loss

    images, labels = keras.Input((28, 28, 1)), keras.Input((classes,))
    prior_z = keras.Input((latent,))
    z_mean, z_log_var, z = encoder([images, labels])
    rebuilt, drawn = decoder([z, labels]), decoder([prior_z, labels])
    every = keras.layers.Concatenate(axis=0)([images, rebuilt, drawn])
    logits, d_features = discriminator(every)
    class_logits, c_features = classifier(every)
    outputs = [images, labels, z_mean, z_log_var, logits, d_features, class_logits,
               c_features, rebuilt]
    x = _images(6400)
    y = np.eye(classes, dtype="float32")[np.arange(6400) % classes]
    rng = np.random.default_rng(0)
    networks = {"e": encoder, "g": decoder, "d": discriminator, "c": classifier}
    models = {}
    for player in ("c", "d", "e", "g"):
        model = keras.Model([images, labels, prior_z], Losses(player)(outputs))
        model.compile(keras.optimizers.Adam(2e-4, beta_1=0.5))
        frozen = [n for name, n in networks.items() if name != player]
        zp = rng.normal(size=(batch, latent)).astype("float32")
        models[player] = traced_with_frozen(model, frozen, [x[:batch], y[:batch], zp])

    def step(i):
        start = (i * batch) % (6400 - batch)
        zp = rng.normal(size=(batch, latent)).astype("float32")
        for player in ("c", "d", "e", "g"):
            models[player].train_on_batch([x[start:start + batch], y[start:start + batch], zp])

    return time_python_loop(step, steps, repeats, discriminator)


# The article loops `fit` is compared with: per family, kind -> (steps, repeats) -> row.
def _aae_baseline(kind):
    def measure(steps, repeats):
        rate, moved = article_style_aae(
            steps, repeats, use_predict_on_batch=kind == "predict_on_batch"
        )
        return {"batch_size": 100, "steps_per_second": rate, "discriminator_moved": moved}

    return measure


def _disentangling_baseline(steps, repeats):
    rate, ok = article_style_disentangling(steps, repeats)
    return {"batch_size": 128 * 6, "steps_per_second": rate, "freezing_held": ok}


def _info_gan_baseline(steps, repeats):
    rate, moved = article_style_info_gan(steps, repeats)
    return {"batch_size": 64, "steps_per_second": rate, "discriminator_moved": moved}


def _vae_gan_baseline(steps, repeats):
    rate, moved = article_style_vae_gan(steps, repeats)
    return {"batch_size": 64, "steps_per_second": rate, "discriminator_moved": moved}


def _cvae_gan_baseline(steps, repeats):
    rate, moved = plain_loop_cvae_gan(steps, repeats)
    return {"batch_size": 64, "steps_per_second": rate, "discriminator_moved": moved}


def _torch_baseline(family, channels_last=False):
    def measure(steps, repeats):
        from benchmarks import torch_baselines

        import torch

        rate, moved = getattr(torch_baselines, family)(steps, repeats, channels_last)
        return {"batch_size": 64, "steps_per_second": rate, "discriminator_moved": moved,
                "torch": torch.__version__}

    return measure


# Loops to time `fit` against: the articles' own (`train_on_batch`), and PyTorch
# eager (`benchmarks/torch_baselines.py`; rows left out where PyTorch is missing).
BASELINES = {
    "aae": {"predict": _aae_baseline("predict"),
            "predict_on_batch": _aae_baseline("predict_on_batch")},
    "disentangling_ae": {"train_on_batch": _disentangling_baseline},
    "info_gan": {"predict": _info_gan_baseline,
                 "pytorch eager": _torch_baseline("info_gan"),
                 "pytorch eager, channels_last": _torch_baseline("info_gan", True)},
    "vae_gan": {"train_on_batch": _vae_gan_baseline,
                "pytorch eager": _torch_baseline("vae_gan"),
                "pytorch eager, channels_last": _torch_baseline("vae_gan", True)},
    "cvae_gan": {"train_on_batch": _cvae_gan_baseline,
                 "pytorch eager": _torch_baseline("cvae_gan"),
                 "pytorch eager, channels_last": _torch_baseline("cvae_gan", True)},
}


def measure_one(family, variant, steps, repeats):
    """Runs in a fresh process: one family under one variant, as a dict."""
    import keras

    options = dict(VARIANTS[variant])
    policy = options.pop("policy", None)
    if policy:
        keras.mixed_precision.set_global_policy(policy)
    graph_loop = options.pop("graph_loop", False)
    autotuned_input = options.pop("autotuned_input", False)
    model, (x, y), batch, flops = FAMILIES[family](options)
    taken = {}
    if graph_loop:
        rate = time_graph_loop(model, x, y, batch, steps, repeats)
    else:
        rate, taken = time_fit(model, x, y, batch, steps, repeats, autotuned_input)
    return {
        "family": family,
        "variant": variant,
        "batch_size": batch,
        "steps_per_second": rate,
        "step_gflop": flops(model, batch) / 1e9,
        "gflop_per_second": rate * flops(model, batch) / 1e9,
        "peak_memory_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        **taken,
    }


def baseline_name(kind):
    return kind if kind.startswith("pytorch") else f"article loop ({kind})"


def measure_baseline(family, kind, steps, repeats):
    row = BASELINES[family][kind](steps, repeats)
    return {
        "family": family,
        "variant": baseline_name(kind),
        "baseline": True,
        **row,
        "peak_memory_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def _in_subprocess(args):
    """Runs this script with `args` in a fresh interpreter; returns its JSON line."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    run = subprocess.run(
        [sys.executable, os.path.abspath(__file__), *args],
        cwd=ROOT, env=env, capture_output=True, text=True,
    )
    if run.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed:\n{run.stderr[-3000:]}")
    return json.loads(run.stdout.strip().splitlines()[-1])


def machine():
    import tensorflow as tf

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if "model name" in line)
    except (OSError, StopIteration):
        pass
    gpus = tf.config.list_physical_devices("GPU")
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "gpu": [g.name for g in gpus],
        "tensorflow": tf.__version__,
    }


def table(rows, peak):
    lines = [
        "| family | variant | batch | steps/s | GFLOP/step | GFLOP/s | share of matmul peak "
        "| peak memory (MiB) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        flop = f"{r['step_gflop']:.2f}" if "step_gflop" in r else ""
        rate = f"{r['gflop_per_second']:.0f}" if "gflop_per_second" in r else ""
        share = f"{100 * r['gflop_per_second'] / peak:.0f} %" if "gflop_per_second" in r else ""
        lines.append(
            f"| {r['family']} | {r['variant']} | {r['batch_size']} | "
            f"{r['steps_per_second']:.1f} | {flop} | {rate} | {share} | "
            f"{r['peak_memory_mib']:.0f} |"
        )
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--families", default=",".join(FAMILIES))
    parser.add_argument("--variants", default=";".join(VARIANTS), help="separated by ;")
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default=os.path.join(ROOT, "benchmarks", "results"))
    parser.add_argument("--tag", default=None, help="file name of the results")
    parser.add_argument("--one", nargs=2, metavar=("FAMILY", "VARIANT"), help=argparse.SUPPRESS)
    parser.add_argument("--baseline", nargs=2, metavar=("FAMILY", "KIND"), help=argparse.SUPPRESS)
    parser.add_argument("--peak", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.one:
        print(json.dumps(measure_one(*args.one, args.steps, args.repeats)))
        return
    if args.baseline:
        print(json.dumps(measure_baseline(*args.baseline, args.steps, args.repeats)))
        return
    if args.peak:
        print(json.dumps({
            "matmul_gflop_per_second": matmul_peak(),
            "layer_matmul_gflop_per_second": matmul_peak((100, 1000, 1000)),
            "machine": machine(),
        }))
        return

    common = ["--steps", str(args.steps), "--repeats", str(args.repeats)]
    first = _in_subprocess(["--peak"])
    peak, info = first["matmul_gflop_per_second"], first["machine"]
    print(f"float32 matmul peak: {peak:.0f} GFLOP/s on {info['cpu']} ({info['cores']} cores)")
    rows = []
    for family in args.families.split(","):
        for variant in args.variants.split(";"):
            rows.append(_in_subprocess(["--one", family, variant, *common]))
            print(json.dumps(rows[-1]), flush=True)
        for kind in BASELINES.get(family, ()):
            if kind.startswith("pytorch") and importlib.util.find_spec("torch") is None:
                print(f"{family}: {kind} left out: PyTorch is not installed "
                      "(pip install -e \".[bench]\")")
                continue
            rows.append(_in_subprocess(["--baseline", family, kind, *common]))
            print(json.dumps(rows[-1]), flush=True)
    # Ratios against each family's baselines, measured in this same run.
    ratios = {}
    for family in args.families.split(","):
        own = [r for r in rows if r["family"] == family]
        loop = {r["variant"]: r["steps_per_second"] for r in own if r.get("baseline")}
        for r in own:
            if not r.get("baseline"):
                for name, rate in loop.items():
                    ratios[f"{family}: {r['variant']} / {name}"] = r["steps_per_second"] / rate
    last = _in_subprocess(["--peak"])
    peak_after = last["matmul_gflop_per_second"]
    layer_peak = [first["layer_matmul_gflop_per_second"], last["layer_matmul_gflop_per_second"]]
    result = {
        "machine": info,
        "matmul_gflop_per_second": [peak, peak_after],
        "layer_matmul_gflop_per_second": layer_peak,
        "rows": rows,
        "speedup_over_baselines": ratios,
        "command": shlex.join(["python", "benchmarks/run.py", *sys.argv[1:]]),
    }
    os.makedirs(args.out, exist_ok=True)
    tag = args.tag or f"cpu{info['cores']}" + ("-gpu" if info["gpu"] else "")
    with open(os.path.join(args.out, f"{tag}.json"), "w") as f:
        json.dump(result, f, indent=1)
    text = table(rows, max(peak, peak_after))
    text += "\n\nSpeed-up of `fit` over each baseline (same run): " + ", ".join(
        f"{k}: {v:.1f}x" for k, v in ratios.items()
    )
    text += (
        f"\n\nMachine: {info['cpu']}, {info['cores']} cores, TensorFlow "
        f"{info['tensorflow']}; float32 matmul peak {peak:.0f} / {peak_after:.0f} GFLOP/s "
        "(measured before / after); a batch-100 layer's matmul (100 x 1000 x 1000) "
        f"{layer_peak[0]:.0f} / {layer_peak[1]:.0f} GFLOP/s."
    )
    with open(os.path.join(args.out, f"{tag}.md"), "w") as f:
        f.write(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
