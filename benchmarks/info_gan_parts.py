"""Where InfoGAN's training step spends its time: `fit`'s updates against the article's.

Times, interleaved in one process, the parts of one step at article 002's sizes
(batch 64): the package's discriminator update and generator update (each the
`MultiOptimizerModel.update` that `InfoGAN.train_step` runs, in a `tf.function`),
its whole `train_step`, and the article loop's `predict` of the fakes and its two
`train_on_batch` calls; then each network's forward pass alone. Prints the median
milliseconds of each over `--rounds` rounds of `--calls` calls.

    python benchmarks/info_gan_parts.py [--rounds 5] [--calls 10] [--variant NAME]

`--variant`: `default`, `unsynchronized` (the generator's BatchNorm without
`synchronized=True`) or `inference_fakes` (D's update reads fakes drawn with the
generator in inference mode, as the article's `predict` does). A variant changes
the maths; it is for finding the time, not for training.
"""

import argparse
import os
import statistics
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)


def build(variant):
    import keras

    from tests import families

    model = families.info_gan(
        62, g_filters=(128, 64, 32), d_filters=(32, 64, 128, 256), q_units=128
    )
    if variant == "unsynchronized":
        for layer in model.generator.layers:
            if isinstance(layer, keras.layers.BatchNormalization):
                layer.synchronized = False
    model.compile()
    return model


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--calls", type=int, default=10)
    parser.add_argument("--variant", default="default",
                        choices=["default", "unsynchronized", "inference_fakes"])
    args = parser.parse_args(argv)

    import numpy as np
    import tensorflow as tf

    from benchmarks.run import article_info_gan_parts

    model = build(args.variant)
    x = tf.constant(np.random.default_rng(0).random((64, 28, 28, 1), dtype="float32"))
    targets = tf.one_hot(tf.range(64) % 10, 10)
    noise, labels, codes = model.draw(64)
    discriminator, generator = model.discriminator, model.generator
    # D has no BatchNorm: training=False changes only how the fakes are drawn.
    training = args.variant != "inference_fakes"
    parts = {
        "fit: D update": tf.function(lambda: model.update(
            "discriminator_optimizer",
            lambda x, t: model.discriminator_loss(x, t, training=training), x, targets)),
        "fit: G update": tf.function(lambda: model.update(
            "generator_optimizer", model.generator_loss, 64)),
        "fit: train_step": tf.function(lambda: model.train_step((x, tf.range(64) % 10))),
        "G forward, training": tf.function(lambda: generator([noise, labels, codes], training=True)),
        "D forward on 128": tf.function(lambda: discriminator(tf.concat([x, x], 0), training=True)),
        **article_info_gan_parts(),
    }
    for call in parts.values():  # trace and warm up
        for _ in range(3):
            call()
    times = {name: [] for name in parts}
    for _ in range(args.rounds):
        for name, call in parts.items():
            start = time.perf_counter()
            for _ in range(args.calls):
                out = call()
            tf.nest.map_structure(lambda t: getattr(t, "numpy", lambda: t)(), out)
            times[name].append(1000 * (time.perf_counter() - start) / args.calls)
    print(f"variant: {args.variant}")
    for name, values in times.items():
        print(f"{name:40s} {statistics.median(values):8.1f} ms")


if __name__ == "__main__":
    main()
