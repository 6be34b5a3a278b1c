"""The loss maths of every model, as pure functions of tensors.

Each function returns one value per example; `global_mean` reduces them for a
gradient step. Discriminators output logits (article 000 feeds its linear output to
a cross-entropy meant for probabilities; treating it as a logit is the intent).
"""

import tensorflow as tf
from keras import ops

RECONSTRUCTION_LOSSES = ("bce", "mse", "mae")


def global_mean(values):
    """Mean over the batch, scaled so replicas' gradients sum to the global mean.

    Under a `tf.distribute` strategy each replica sees `1 / num_replicas` of the
    global batch and the optimizer sums the replicas' gradients, so each replica
    divides its local mean by the replica count, as Keras' built-in losses do.
    Outside a strategy this is the plain mean.
    """
    mean = ops.mean(values)
    replicas = tf.distribute.get_strategy().num_replicas_in_sync
    if replicas > 1:
        mean = mean / replicas
    return mean


def _mean_over_features(values):
    return ops.mean(ops.reshape(values, (ops.shape(values)[0], -1)), axis=1)


def reconstruction_loss(x, x_hat, kind="bce"):
    """Per-example reconstruction error, averaged over pixels.

    Args:
        x: targets in [0, 1], `(batch, ...)`.
        x_hat: reconstructions in [0, 1], same shape.
        kind: str. `"bce"` (binary cross-entropy, the AAE paper's choice for
            MNIST), `"mse"` or `"mae"` (article 000). Defaults to `"bce"`.
    """
    # Losses are taken in float32 even when the networks compute in 16 bits.
    x, x_hat = ops.cast(x, "float32"), ops.cast(x_hat, "float32")
    if kind == "bce":
        eps = 1e-7
        x_hat = ops.clip(x_hat, eps, 1.0 - eps)
        values = -(x * ops.log(x_hat) + (1.0 - x) * ops.log(1.0 - x_hat))
    elif kind == "mse":
        values = ops.square(x - x_hat)
    elif kind == "mae":
        values = ops.abs(x - x_hat)
    else:
        raise ValueError(
            f"reconstruction: expected one of {RECONSTRUCTION_LOSSES}; got {kind!r}."
        )
    return _mean_over_features(values)


def discriminator_loss(real_logits, fake_logits):
    """Per-pair loss of a discriminator that tells real (1) from fake (0).

    `(softplus(-real) + softplus(fake)) / 2`, the binary cross-entropy of a logit
    against its target, averaged over one real and one fake example (Goodfellow
    et al. 2014, eq. 1).
    """
    real = ops.cast(ops.reshape(real_logits, (-1,)), "float32")
    fake = ops.cast(ops.reshape(fake_logits, (-1,)), "float32")
    return 0.5 * (ops.softplus(-real) + ops.softplus(fake))


def generator_loss(fake_logits):
    """Per-example non-saturating generator loss, `softplus(-fake)`: fakes called real."""
    return ops.softplus(-ops.cast(ops.reshape(fake_logits, (-1,)), "float32"))


def discriminator_accuracy(real_logits, fake_logits):
    """Per-pair share of a real and a fake example the discriminator gets right."""
    real = ops.cast(ops.reshape(real_logits, (-1,)) > 0, "float32")
    fake = ops.cast(ops.reshape(fake_logits, (-1,)) < 0, "float32")
    return 0.5 * (real + fake)
