"""What one AAE step's optimizer updates cost, with and without XLA.

The paper-size AAE (784-1000-1000-2, discriminator 2-1000-1000-1) updates 6.4 M
parameters a step: encoder and decoder (reconstruction), discriminator, and the
encoder again (generator). This times those updates alone, in milliseconds:
Keras' `Adam.apply` in a plain graph and under XLA, TensorFlow's fused
`ResourceApplyAdam` kernel, and `SGD.apply` (Adam reads and writes several arrays
per parameter: its cost is memory traffic, not arithmetic).

Usage:
    python benchmarks/optimizer.py [--repeats 5] > benchmarks/results/cpu2-optimizer.md
"""

import argparse
import time

import keras
import numpy as np
import tensorflow as tf

ENCODER = [(784, 1000), (1000,), (1000, 1000), (1000,), (1000, 2), (2,)]
DECODER = [(2, 1000), (1000,), (1000, 1000), (1000,), (1000, 784), (784,)]
DISCRIMINATOR = [(2, 1000), (1000,), (1000, 1000), (1000,), (1000, 1), (1,)]
# One step's updates: (variables, gradients) groups, one optimizer each.
GROUPS = [ENCODER + DECODER, DISCRIMINATOR, ENCODER]


def _groups():
    rng = np.random.default_rng(0)
    groups = []
    for shapes in GROUPS:
        variables = [tf.Variable(rng.normal(size=s).astype("float32")) for s in shapes]
        gradients = [tf.constant(rng.normal(size=s).astype("float32")) for s in shapes]
        groups.append((variables, gradients))
    return groups


def keras_updates(make_optimizer, jit_compile):
    groups = _groups()
    optimizers = [make_optimizer() for _ in groups]
    for optimizer, (variables, _) in zip(optimizers, groups):
        optimizer.build(variables)

    @tf.function(jit_compile=jit_compile)
    def step():
        for optimizer, (variables, gradients) in zip(optimizers, groups):
            optimizer.apply(gradients, variables)

    return step, groups


def fused_adam():
    groups = _groups()
    slots = [[(tf.Variable(tf.zeros_like(v)), tf.Variable(tf.zeros_like(v))) for v in vs]
             for vs, _ in groups]

    @tf.function
    def step():
        for (variables, gradients), pairs in zip(groups, slots):
            for v, g, (m, u) in zip(variables, gradients, pairs):
                tf.raw_ops.ResourceApplyAdam(
                    var=v.handle, m=m.handle, v=u.handle, beta1_power=0.5,
                    beta2_power=0.999, lr=2e-4, beta1=0.5, beta2=0.999,
                    epsilon=1e-7, grad=g,
                )

    return step, groups


def milliseconds(step, groups, repeats, calls=20):
    step()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(calls):
            step()
        groups[0][0][0].numpy()
        best = min(best, (time.perf_counter() - start) / calls)
    return 1e3 * best


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    adam = lambda: keras.optimizers.Adam(2e-4, beta_1=0.5)  # noqa: E731
    sgd = lambda: keras.optimizers.SGD(1e-3)  # noqa: E731
    cases = {
        "keras Adam, plain graph": keras_updates(adam, False),
        "keras Adam, XLA": keras_updates(adam, True),
        "ResourceApplyAdam (fused kernel)": fused_adam(),
        "keras SGD, plain graph": keras_updates(sgd, False),
        "keras SGD, XLA": keras_updates(sgd, True),
    }
    count = sum(int(np.prod(s)) for shapes in GROUPS for s in shapes)
    print(f"{count / 1e6:.2f} M parameters updated a step (best of {args.repeats})")
    print("| update | ms a step |\n| --- | --- |")
    for name, (step, groups) in cases.items():
        print(f"| {name} | {milliseconds(step, groups, args.repeats):.2f} |", flush=True)


if __name__ == "__main__":
    main()
