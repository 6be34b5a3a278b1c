"""Functional builders of the disentangling autoencoder's networks (article 001).

The defaults are the article's MNIST networks: two MLP encoders (256-256 ReLU, dropout
0.2 after each, a linear code of 16), a decoder on `[z, s]` (256-256 ReLU, dropout 0.3,
sigmoid pixels) and three single-layer softmax classifiers (Clf_z may have hidden
layers: `z_classifier_units`). Images of any shape and channel count go in flattened
and come out reshaped.
"""

import math

import keras
from keras import layers

from keras_latent.models.aae.builders import (
    _check_image_shape,
    _check_size,
    build_code_discriminator,
)


def _dense_dropout(h, hidden_units, dropout, prefix, seed):
    for i, units in enumerate(hidden_units):
        _check_size(units, "hidden_units")
        h = layers.Dense(units, activation="relu", name=f"{prefix}_dense_{i}")(h)
        if dropout:
            h = layers.Dropout(dropout, seed=seed, name=f"{prefix}_dropout_{i}")(h)
    return h


def build_code_encoder(
    input_shape=(28, 28, 1), code_dim=16, hidden_units=(256, 256), dropout=0.2,
    seed=None, name="encoder",
):
    """MLP encoder of one part of the code (the article's Enc_s or Enc_z).

    Args:
        input_shape: tuple. `(height, width, channels)`. Defaults to MNIST's.
        code_dim: int. Size of the code (the article's DIM_FEA for s, DIM_Z
            for z). Defaults to 16.
        hidden_units: tuple of ints. Defaults to `(256, 256)`.
        dropout: float. Dropout rate after each hidden layer. Defaults to 0.2.
        seed: int or None. Seed of the dropout masks.
        name: str. Defaults to `"encoder"`.

    Example:

    >>> build_code_encoder(code_dim=8, name="s_encoder").output_shape
    (None, 8)
    """
    input_shape = _check_image_shape(input_shape, "input_shape")
    _check_size(code_dim, "code_dim")
    images = keras.Input(input_shape, name="images")
    h = _dense_dropout(layers.Flatten()(images), hidden_units, dropout, name, seed)
    code = layers.Dense(code_dim, name=f"{name}_code")(h)
    return keras.Model(images, code, name=name)


def build_pair_decoder(
    output_shape=(28, 28, 1), z_dim=16, s_dim=16, hidden_units=(256, 256), dropout=0.3,
    seed=None, name="decoder",
):
    """MLP decoder of images from the two codes `[z, s]` (the article's Dec).

    Args:
        output_shape: tuple. `(height, width, channels)` of the images.
        z_dim: int. Size of z, the code of everything but the label.
        s_dim: int. Size of s, the code of the label.
        hidden_units: tuple of ints. Defaults to `(256, 256)`.
        dropout: float. Dropout rate after each hidden layer. Defaults to 0.3.
        seed: int or None. Seed of the dropout masks.
        name: str. Defaults to `"decoder"`.

    Example:

    >>> build_pair_decoder((32, 32, 3), z_dim=4, s_dim=2).output_shape
    (None, 32, 32, 3)
    """
    output_shape = _check_image_shape(output_shape, "output_shape")
    _check_size(z_dim, "z_dim")
    _check_size(s_dim, "s_dim")
    z = keras.Input((z_dim,), name="z")
    s = keras.Input((s_dim,), name="s")
    h = _dense_dropout(layers.Concatenate()([z, s]), hidden_units, dropout, name, seed)
    pixels = layers.Dense(math.prod(output_shape), activation="sigmoid", name="pixels")(h)
    images = layers.Reshape(output_shape, name="images")(pixels)
    return keras.Model([z, s], images, name=name)


def build_softmax_classifier(input_shape, num_classes=10, hidden_units=(), name="classifier"):
    """A softmax classifier on a code or on flattened images (Clf_s, Clf_z, Clf_x).

    With no hidden units (the default, the article's) it is one softmax layer.

    Args:
        input_shape: int (a code's size) or tuple (an image's shape).
        num_classes: int. Defaults to 10.
        hidden_units: tuple of ints. ReLU layers before the softmax. Defaults
            to `()`.
        name: str. Defaults to `"classifier"`.

    Example:

    >>> build_softmax_classifier(16, name="s_classifier").output_shape
    (None, 10)
    >>> len(build_softmax_classifier(16, hidden_units=(64, 64)).layers)
    4
    """
    _check_size(num_classes, "num_classes")
    if isinstance(input_shape, int):
        _check_size(input_shape, "input_shape")
        inputs = keras.Input((input_shape,), name="code")
        h = inputs
    else:
        inputs = keras.Input(_check_image_shape(input_shape, "input_shape"), name="images")
        h = layers.Flatten()(inputs)
    h = _dense_dropout(h, hidden_units, 0.0, name, None)
    probabilities = layers.Dense(num_classes, activation="softmax", name=f"{name}_softmax")(h)
    return keras.Model(inputs, probabilities, name=name)


def build_disentangling_networks(
    image_shape=(28, 28, 1), num_classes=10, z_dim=16, s_dim=16, hidden_units=(256, 256),
    encoder_dropout=0.2, decoder_dropout=0.3, z_classifier_units=(), z_discriminator=False,
    seed=None,
):
    """The six networks of article 001, as keyword arguments of `DisentanglingAutoencoder`.

    `z_classifier_units` gives the adversary Clf_z hidden ReLU layers (the
    article's is one softmax layer, the default). With `z_discriminator=True`
    Clf_z is a discriminator of `[z, one-hot label]` with one logit, for
    `DisentanglingAutoencoder(z_prior=...)`; it needs hidden layers (a linear
    one's label input only shifts its logit, the same for a code and a prior
    draw). The other arguments are those of `build_code_encoder` and
    `build_pair_decoder`.

    Returns:
        dict with `s_encoder`, `z_encoder`, `decoder`, `s_classifier`,
        `z_classifier` and `image_classifier`.

    Example:

    >>> sorted(build_disentangling_networks(z_dim=4, s_dim=4, hidden_units=(8,)))
    ['decoder', 'image_classifier', 's_classifier', 's_encoder', 'z_classifier', 'z_encoder']
    """
    for units in z_classifier_units:
        _check_size(units, "z_classifier_units")
    if z_discriminator and not z_classifier_units:
        raise ValueError(
            "z_classifier_units: a discriminator of [z, label] needs hidden layers (a "
            "linear one cannot see how z depends on the label); got ()."
        )
    seeds = [None] * 3 if seed is None else [seed, seed + 1, seed + 2]

    def z_classifier():
        if z_discriminator:
            return build_code_discriminator(
                z_dim, tuple(z_classifier_units), num_classes, name="z_classifier"
            )
        return build_softmax_classifier(
            z_dim, num_classes, z_classifier_units, name="z_classifier"
        )

    # Built in this order: each network's initial weights are the global stream's
    # next draws, so the order is part of a seeded run.
    return {
        "s_encoder": build_code_encoder(
            image_shape, s_dim, hidden_units, encoder_dropout, seeds[0], name="s_encoder"
        ),
        "z_encoder": build_code_encoder(
            image_shape, z_dim, hidden_units, encoder_dropout, seeds[1], name="z_encoder"
        ),
        "decoder": build_pair_decoder(
            image_shape, z_dim, s_dim, hidden_units, decoder_dropout, seeds[2]
        ),
        "s_classifier": build_softmax_classifier(s_dim, num_classes, name="s_classifier"),
        "z_classifier": z_classifier(),
        "image_classifier": build_softmax_classifier(
            image_shape, num_classes, name="image_classifier"
        ),
    }
