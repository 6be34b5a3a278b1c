"""Training speed of every model family, beside the article-style training loop.

For each family at its article's batch size this measures, in a fresh process:
steps per second of `fit` after warm-up (median over repeats), the FLOPs one
training step executes, counted from the Dense layers' shapes, the share of this
machine's measured float32 matmul peak that reaches, and the process's peak memory.
Beside the peak (2048-cubed products) it measures what a batch-100 layer's
matmul reaches alone, the ceiling of these small products. For the
AAE it also times the loop the articles write (a `predict` of the codes, then
`train_on_batch` on the autoencoder, the discriminator and a combined model with
the discriminator frozen) and reports the ratio. Results go to
`benchmarks/results/<machine>.json` and `.md`.

Usage:
    python benchmarks/run.py [--families aae,semi_supervised_aae] [--repeats 3]
        [--steps 200] [--out benchmarks/results] [--tag NAME]

A new family joins with one entry in `FAMILIES`: a function returning the compiled
model (built by its factory in `tests/families.py`), its training data and the
FLOPs of one step (see `aae`).
"""

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)  # run from a checkout without installing
UNITS = (1000, 1000)
IMAGE = (28, 28, 1)
PIXELS = 28 * 28


def dense_macs(network, first_only=False):
    """Multiply-adds per example of a network's Dense layers (its matmuls).

    With `first_only`, those of its first Dense layer (the one reading the input).
    """
    import keras

    from keras_latent.models.multi_optimizer_model import all_layers

    dense = [layer for layer in all_layers(network) if isinstance(layer, keras.layers.Dense)]
    return sum(
        int(layer.kernel.shape[0]) * int(layer.kernel.shape[1])
        for layer in (dense[:1] if first_only else dense)
    )


# FLOPs per example of what one step executes (2 per multiply-add): a forward pass,
# its weight gradients and the gradients of each layer's input, except the input of
# the first layers when it is data (XLA and Grappler prune those).
def forward(network):
    return 2 * dense_macs(network)


def train(network, input_gradient=False):
    """Forward, weight gradients, input gradients."""
    macs = dense_macs(network)
    return 6 * macs - (0 if input_gradient else 2 * dense_macs(network, first_only=True))


def through(network):
    """Forward and input gradients only: the discriminator inside the generator step."""
    return 4 * dense_macs(network)


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

    labels = np.where(np.arange(6000) % 10 == 0, np.arange(6000) % 10, -1)
    model = families.semi_supervised_aae(10, UNITS)
    model.compile(**options)
    return model, (_images(6000), labels), 100, semi_supervised_step_flops


FAMILIES = {
    "aae": aae,
    "supervised_aae": supervised_aae,
    "label_regularized_aae": label_regularized_aae,
    "semi_supervised_aae": semi_supervised_aae,
}
# Each family is timed with these compile options (and mixed precision policies).
VARIANTS = {
    "default": {},  # XLA on (see `AdversarialAutoencoder.compile`)
    "steps_per_execution=10": {"steps_per_execution": 10},
    "no xla": {"jit_compile": False},
    "mixed_bfloat16": {"policy": "mixed_bfloat16"},
    # The same XLA step without `fit`: what Keras' loop adds.
    "train_step in a graph loop": {"graph_loop": True},
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


def time_fit(model, x, y, batch, steps, repeats):
    """Median steps per second of `fit` over `repeats` runs of `steps` steps."""
    from keras_latent import data

    dataset = data.make_dataset(x, y, batch_size=batch, drop_remainder=True).repeat()
    model.fit(dataset, epochs=1, steps_per_epoch=steps, verbose=0)  # trace, warm up
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        model.fit(dataset, epochs=1, steps_per_epoch=steps, verbose=0)
        rates.append(steps / (time.perf_counter() - start))
    return statistics.median(rates)


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

    for i in range(5):  # warm up every train function
        step(i)
    before = [w.numpy().copy() for w in discriminator.weights]
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        for i in range(steps):
            step(i)
        rates.append(steps / (time.perf_counter() - start))
    moved = any(
        not np.allclose(a, w.numpy()) for a, w in zip(before, discriminator.weights)
    )
    return statistics.median(rates), moved


def measure_one(family, variant, steps, repeats):
    """Runs in a fresh process: one family under one variant, as a dict."""
    import keras

    options = dict(VARIANTS[variant])
    policy = options.pop("policy", None)
    if policy:
        keras.mixed_precision.set_global_policy(policy)
    timer = time_graph_loop if options.pop("graph_loop", False) else time_fit
    model, (x, y), batch, flops = FAMILIES[family](options)
    rate = timer(model, x, y, batch, steps, repeats)
    return {
        "family": family,
        "variant": variant,
        "batch_size": batch,
        "steps_per_second": rate,
        "step_gflop": flops(model, batch) / 1e9,
        "gflop_per_second": rate * flops(model, batch) / 1e9,
        "peak_memory_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def measure_baseline(kind, steps, repeats):
    rate, moved = article_style_aae(steps, repeats, use_predict_on_batch=kind == "predict_on_batch")
    return {
        "family": "aae",
        "variant": f"article loop ({kind})",
        "batch_size": 100,
        "steps_per_second": rate,
        "discriminator_moved": moved,
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
    parser.add_argument("--baseline", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--peak", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.one:
        print(json.dumps(measure_one(*args.one, args.steps, args.repeats)))
        return
    if args.baseline:
        print(json.dumps(measure_baseline(args.baseline, args.steps, args.repeats)))
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
        if family == "aae":
            for kind in ("predict", "predict_on_batch"):
                rows.append(_in_subprocess(["--baseline", kind, *common]))
                print(json.dumps(rows[-1]), flush=True)
    # Ratios against the article loop, measured in this same run.
    loop = {r["variant"]: r["steps_per_second"] for r in rows if "article" in r["variant"]}
    fit_rates = {r["variant"]: r["steps_per_second"] for r in rows if r["family"] == "aae"
                 and "article" not in r["variant"]}
    ratios = {
        f"{v} / {k}": fit_rates[v] / rate for v in fit_rates for k, rate in loop.items()
    }
    last = _in_subprocess(["--peak"])
    peak_after = last["matmul_gflop_per_second"]
    layer_peak = [first["layer_matmul_gflop_per_second"], last["layer_matmul_gflop_per_second"]]
    result = {
        "machine": info,
        "matmul_gflop_per_second": [peak, peak_after],
        "layer_matmul_gflop_per_second": layer_peak,
        "rows": rows,
        "speedup_over_article_loop": ratios,
        "command": "python benchmarks/run.py " + " ".join(sys.argv[1:]),
    }
    os.makedirs(args.out, exist_ok=True)
    tag = args.tag or f"cpu{info['cores']}" + ("-gpu" if info["gpu"] else "")
    with open(os.path.join(args.out, f"{tag}.json"), "w") as f:
        json.dump(result, f, indent=1)
    text = table(rows, max(peak, peak_after))
    text += "\n\nSpeed-up of `fit` over the article loop (same run): " + ", ".join(
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
