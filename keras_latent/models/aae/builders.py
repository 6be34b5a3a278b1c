"""Functional builders of the adversarial autoencoder's networks.

The defaults are the MNIST networks of the AAE paper (Makhzani et al. 2015,
appendix A) and of article 000: encoder and decoder with two hidden layers of 1000
ReLU units, a 2-D code, a discriminator with two hidden layers of 1000 units.
"""

import numbers

import keras
import numpy as np
from keras import layers

from keras_latent.layers import Sampling


def _check_image_shape(shape, name):
    shape = tuple(shape) if isinstance(shape, (tuple, list)) else shape
    if (
        not isinstance(shape, tuple)
        or len(shape) != 3
        or not all(isinstance(d, (int, np.integer)) and d > 0 for d in shape)
    ):
        raise ValueError(
            f"{name}: expected (height, width, channels) of positive ints; got {shape!r}."
        )
    return shape


def _check_size(value, name):
    if not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name}: expected a positive int; got {value!r}.")


def _offset(seed, offset):
    """A seed of its own for each random layer (None stays None)."""
    return None if seed is None else seed + offset


def _hidden(h, hidden_units, prefix, dropout=0.0, seed=None, batch_norm=False):
    for i, units in enumerate(hidden_units):
        if batch_norm:
            h = layers.Dense(units, name=f"{prefix}_dense_{i}")(h)
            # Synchronized: under a strategy the statistics are the global batch's.
            h = layers.BatchNormalization(synchronized=True, name=f"{prefix}_batch_norm_{i}")(h)
            h = layers.ReLU(name=f"{prefix}_relu_{i}")(h)
        else:
            h = layers.Dense(units, activation="relu", name=f"{prefix}_dense_{i}")(h)
        if dropout:
            h = layers.Dropout(dropout, seed=_offset(seed, 2 + i), name=f"{prefix}_dropout_{i}")(h)
    return h


def build_encoder(
    input_shape=(28, 28, 1),
    latent_dim=2,
    hidden_units=(1000, 1000),
    variational=False,
    num_classes=None,
    dropout=0.0,
    random_shift=0.0,
    random_rotation=0.0,
    batch_norm=False,
    seed=None,
    name="encoder",
):
    """MLP encoder q(z|x): flatten, ReLU layers, a linear code head.

    The regularisers below act in training alone (`fit`); `predict`,
    `encode` and a model's classification read the image as it is. None is in
    the AAE paper. Call such an encoder with `training=` given: Keras' shift
    layer treats a bare `encoder(x)` as training. Their masks and shifts come from
    one generator per layer, so under a distribution strategy every replica draws
    the same ones (the code draws of `Sampling` are split across replicas).

    Args:
        input_shape: tuple. `(height, width, channels)`. Defaults to MNIST's.
        latent_dim: int. Size of the code. Defaults to 2.
        hidden_units: tuple of ints. Defaults to `(1000, 1000)`.
        variational: bool. Mean and log-variance heads followed by a `Sampling`
            layer, as article 000 builds it, instead of one deterministic code
            head, as the paper does. Defaults to False.
        num_classes: int or None. Adds a softmax head `y` of this size before
            the code: the encoder then outputs `[y, z]`, as the semi-supervised
            AAE's does (paper sec. 6, article 000's "GAN classifier").
        dropout: float. Dropout rate after each hidden layer. Defaults to 0.
        random_shift: float. Largest random translation of the input, in pixels
            along each axis (drawn afresh for every image in every training
            pass, in fractions of a pixel with bilinear interpolation; empty
            borders stay 0): data augmentation, a `RandomTranslation` layer.
            Defaults to 0.
        random_rotation: float. Largest random rotation of the input about
            its centre, in degrees either way (drawn like the shifts, before
            them; empty corners stay 0): data augmentation, a `RandomRotation`
            layer. Defaults to 0.
        batch_norm: bool. Batch normalisation before each hidden ReLU. It
            centres the features the `y` head reads, so that its first argmax
            differs from image to image; without it the clustering AAE's y can
            fall into one cluster at the start (docs/aae_guide.md). Not in the
            paper. Defaults to False.
        seed: int or None. Seed of the sampling, dropout, shift and rotation
            layers.
        name: str. Defaults to `"encoder"`.
    """
    input_shape = _check_image_shape(input_shape, "input_shape")
    _check_size(latent_dim, "latent_dim")
    if not isinstance(dropout, numbers.Real) or not 0 <= dropout < 1:
        raise ValueError(f"dropout: expected a rate in [0, 1); got {dropout!r}.")
    if not isinstance(random_shift, numbers.Real) or not 0 <= random_shift < min(input_shape[:2]):
        raise ValueError(
            f"random_shift: expected a shift in pixels in [0, {min(input_shape[:2])}); "
            f"got {random_shift!r}."
        )
    if not isinstance(batch_norm, bool):
        raise ValueError(f"batch_norm: expected True or False; got {batch_norm!r}.")
    if not isinstance(random_rotation, numbers.Real) or not 0 <= random_rotation <= 180:
        raise ValueError(
            f"random_rotation: expected an angle in degrees in [0, 180]; got {random_rotation!r}."
        )
    images = keras.Input(input_shape, name="images")
    h = images
    if random_rotation:
        h = layers.RandomRotation(
            random_rotation / 360, fill_mode="constant", seed=_offset(seed, 101),
            name="random_rotation",
        )(h)
    if random_shift:
        height, width = input_shape[:2]
        h = layers.RandomTranslation(
            random_shift / height, random_shift / width, fill_mode="constant",
            seed=_offset(seed, 1), name="random_shift",
        )(h)
    h = _hidden(layers.Flatten()(h), hidden_units, "encoder", dropout, seed, batch_norm)
    if variational:
        mean = layers.Dense(latent_dim, name="z_mean")(h)
        log_var = layers.Dense(latent_dim, name="z_log_var")(h)
        z = Sampling(seed=seed, name="z")([mean, log_var])
    else:
        z = layers.Dense(latent_dim, name="z")(h)
    if num_classes is None:
        return keras.Model(images, z, name=name)
    _check_size(num_classes, "num_classes")
    y = layers.Dense(num_classes, activation="softmax", name="y")(h)
    return keras.Model(images, [y, z], name=name)


def build_classifier(
    input_shape=(28, 28, 1), num_classes=10, hidden_units=(1000, 1000), name="classifier"
):
    """The encoder's MLP with only a softmax head: the semi-supervised baseline.

    Args:
        input_shape: tuple. `(height, width, channels)`.
        num_classes: int. Defaults to 10.
        hidden_units: tuple of ints. Defaults to `(1000, 1000)`.
        name: str. Defaults to `"classifier"`.
    """
    input_shape = _check_image_shape(input_shape, "input_shape")
    _check_size(num_classes, "num_classes")
    images = keras.Input(input_shape, name="images")
    h = _hidden(layers.Flatten()(images), hidden_units, "encoder")
    y = layers.Dense(num_classes, activation="softmax", name="y")(h)
    return keras.Model(images, y, name=name)


def _code_inputs(latent_dim, num_classes, label_first):
    """The code input, or `[label, code]` / `[code, label]` with a one-hot label input."""
    _check_size(latent_dim, "latent_dim")
    z = keras.Input((latent_dim,), name="z")
    if num_classes is None:
        return z, z
    _check_size(num_classes, "num_classes")
    label = keras.Input((num_classes,), name="label")
    inputs = [label, z] if label_first else [z, label]
    return inputs, layers.Concatenate(name="label_and_z")(inputs)


def build_decoder(
    output_shape=(28, 28, 1),
    latent_dim=2,
    hidden_units=(1000, 1000),
    num_classes=None,
    name="decoder",
):
    """MLP decoder p(x|z): ReLU layers and a sigmoid image in [0, 1].

    Args:
        output_shape: tuple. `(height, width, channels)` of the images.
        latent_dim: int. Size of the code. Defaults to 2.
        hidden_units: tuple of ints. Defaults to `(1000, 1000)`.
        num_classes: int or None. When given, the decoder takes `[label, z]`, a
            one-hot (or softmax) label of this size beside the code (article
            000's supervised AAE; paper sec. 5). Defaults to None.
        name: str. Defaults to `"decoder"`.
    """
    output_shape = _check_image_shape(output_shape, "output_shape")
    inputs, h = _code_inputs(latent_dim, num_classes, label_first=True)
    h = _hidden(h, hidden_units, "decoder")
    h = layers.Dense(int(np.prod(output_shape)), activation="sigmoid", name="pixels")(h)
    images = layers.Reshape(output_shape, name="images")(h)
    return keras.Model(inputs, images, name=name)


def build_code_discriminator(
    latent_dim=2, hidden_units=(1000, 1000), num_classes=None, name="discriminator"
):
    """MLP discriminator on codes (not images): ReLU layers and one logit (real = prior).

    Args:
        latent_dim: int. Size of the code (or of the category for `D_cat`).
            Defaults to 2.
        hidden_units: tuple of ints. Defaults to `(1000, 1000)`.
        num_classes: int or None. When given, the discriminator takes `[z,
            label]` with a one-hot label of this size (paper sec. 4, fig. 6).
        name: str. Defaults to `"discriminator"`.
    """
    inputs, h = _code_inputs(latent_dim, num_classes, label_first=False)
    h = _hidden(h, hidden_units, "discriminator")
    logit = layers.Dense(1, name="logit")(h)
    return keras.Model(inputs, logit, name=name)

