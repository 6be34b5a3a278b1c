"""Functional builders of InfoGAN's generator and discriminator (article 002).

The defaults are the article's MNIST networks: a generator from `[noise, label,
codes]` through `Dense(7 * 7 * 128)` and four (BatchNorm, ReLU, Conv2DTranspose)
blocks of 128 (stride 2), 64 (stride 2), 32 and `channels` filters with sigmoid
pixels; a discriminator of four (LeakyReLU 0.2, Conv2D) blocks of 32, 64, 128
(stride 2) and 256 filters, a real/fake logit and the Q heads (a linear
`Dense(128)`, then a softmax over the classes and one unit per continuous code).
Any image whose height and width divide by 4, with any channel count, builds.
"""

import keras
from keras import layers

from keras_latent.models.aae.builders import _check_image_shape, _check_size

CODE_HEADS = ("sigmoid", "linear")


def _check_filters(filters, name, at_least):
    filters = tuple(filters) if isinstance(filters, (tuple, list)) else filters
    if not isinstance(filters, tuple) or len(filters) < at_least:
        raise ValueError(
            f"{name}: expected a tuple of at least {at_least} filter counts; got {filters!r}."
        )
    for count in filters:
        _check_size(count, name)
    return filters


def build_generator(
    image_shape=(28, 28, 1), noise_dim=62, num_classes=10, num_codes=2,
    filters=(128, 64, 32), kernel_size=5, name="generator",
):
    """Generator `G([noise, label, codes])` of images in [0, 1].

    `Dense(h/4 * w/4 * filters[0])`, reshaped, then (BatchNorm, ReLU,
    Conv2DTranspose) for each of `filters` and a last one to the image's
    channels with sigmoid; the first two double the height and width.

    Args:
        image_shape: tuple. `(height, width, channels)`; height and width must
            divide by 4. Defaults to MNIST's.
        noise_dim: int. Size of the incompressible noise. Defaults to 62.
        num_classes: int. Size of the one-hot categorical code. Defaults to 10.
        num_codes: int. Continuous codes. Defaults to 2.
        filters: tuple of ints, at least two. Defaults to `(128, 64, 32)`.
        kernel_size: int. Defaults to 5.
        name: str. Defaults to `"generator"`.

    Example:

    >>> build_generator((32, 32, 3), noise_dim=8, filters=(16, 8)).output_shape
    (None, 32, 32, 3)
    """
    height, width, channels = _check_image_shape(image_shape, "image_shape")
    if height % 4 or width % 4:
        raise ValueError(
            f"image_shape: expected a height and width that divide by 4 (two strided "
            f"upsamplings); got {image_shape!r}."
        )
    for value, label in ((noise_dim, "noise_dim"), (num_classes, "num_classes"),
                         (kernel_size, "kernel_size")):
        _check_size(value, label)
    if not isinstance(num_codes, int) or num_codes < 0:
        raise ValueError(f"num_codes: expected an int >= 0; got {num_codes!r}.")
    filters = _check_filters(filters, "filters", 2)
    noise = keras.Input((noise_dim,), name="noise")
    labels = keras.Input((num_classes,), name="labels")
    codes = keras.Input((num_codes,), name="codes")
    h = layers.Concatenate()([noise, labels, codes])
    h = layers.Dense(height // 4 * width // 4 * filters[0], name="project")(h)
    h = layers.Reshape((height // 4, width // 4, filters[0]))(h)
    for i, count in enumerate(filters + (channels,)):
        # Statistics of the global batch under a distribution strategy, so that
        # a step on N replicas does the maths of one step on one device.
        h = layers.BatchNormalization(synchronized=True, name=f"bn_{i}")(h)
        h = layers.ReLU()(h)
        h = layers.Conv2DTranspose(
            count, kernel_size, strides=2 if i < 2 else 1, padding="same", name=f"deconv_{i}"
        )(h)
    images = layers.Activation("sigmoid", name="pixels")(h)
    return keras.Model([noise, labels, codes], images, name=name)


def build_info_discriminator(
    image_shape=(28, 28, 1), num_classes=10, num_codes=2, filters=(32, 64, 128, 256),
    kernel_size=5, q_units=128, code_head="sigmoid", name="discriminator",
):
    """Discriminator with InfoGAN's Q heads: `D(x) -> [logit, label probabilities, codes]`.

    (LeakyReLU 0.2, Conv2D) per filter count, stride 2 for all but the last,
    then a real/fake logit, and on a linear `Dense(q_units)`: a softmax over the
    classes and one unit per continuous code.

    Args:
        image_shape: tuple. `(height, width, channels)`. Defaults to MNIST's.
        num_classes: int. Defaults to 10.
        num_codes: int. Continuous codes Q reads back. Defaults to 2.
        filters: tuple of ints. Defaults to `(32, 64, 128, 256)`.
        kernel_size: int. Defaults to 5.
        q_units: int. Width of Q's shared layer. Defaults to 128.
        code_head: `"sigmoid"` (the article's, with its `-c log Q` loss) or
            `"linear"` (the mean of a unit-variance Gaussian, the InfoGAN
            paper's). Defaults to `"sigmoid"`.
        name: str. Defaults to `"discriminator"`.

    Example:

    >>> d = build_info_discriminator((32, 32, 3), num_classes=5, filters=(8, 16))
    >>> [tuple(shape) for shape in d.output_shape]
    [(None, 1), (None, 5), (None, 2)]
    """
    image_shape = _check_image_shape(image_shape, "image_shape")
    for value, label in ((num_classes, "num_classes"), (kernel_size, "kernel_size"),
                         (q_units, "q_units")):
        _check_size(value, label)
    if not isinstance(num_codes, int) or num_codes < 0:
        raise ValueError(f"num_codes: expected an int >= 0; got {num_codes!r}.")
    if code_head not in CODE_HEADS:
        raise ValueError(f"code_head: expected one of {CODE_HEADS}; got {code_head!r}.")
    filters = _check_filters(filters, "filters", 1)
    images = keras.Input(image_shape, name="images")
    h = images
    for i, count in enumerate(filters):
        h = layers.LeakyReLU(0.2)(h)
        h = layers.Conv2D(
            count, kernel_size, strides=2 if i < len(filters) - 1 else 1, padding="same",
            name=f"conv_{i}",
        )(h)
    h = layers.Flatten()(h)
    logit = layers.Dense(1, name="real_logit")(h)
    q = layers.Dense(q_units, name="q_dense")(h)
    label = layers.Dense(num_classes, activation="softmax", name="label")(q)
    activation = "sigmoid" if code_head == "sigmoid" else None
    codes = layers.Dense(num_codes, activation=activation, name="codes")(q)
    return keras.Model(images, [logit, label, codes], name=name)
