"""Functional builders of the conditional VAE+GAN's networks (article 003).

The defaults are the article's MNIST networks, all conditioned on a one-hot label:
an encoder (Conv 32 3x3 stride 2, max-pool, Conv 64 3x3, the label joined after the
convolutions, Dense 64, mean and log-variance heads and a reparameterised draw with
the log-variance clipped to [-4, 4]); a decoder on `[z, label]` (Dense h/4 x w/4 x
128, up-sampling, Conv 64 5x5, Conv 32 3x3, up-sampling, Conv 5x5 to the channels,
sigmoid); a discriminator on `[image, label]` (Conv 128 7x7 stride 2, max-pool,
the label as constant feature maps, Conv 64 3x3, max-pool, the learned-similarity
layer l: Conv 16 3x3, then the real/fake logit). Between layers: LeakyReLU (slope
0.3, Keras' default the article uses) and dropout 0.3, as the article's
`apply_bn_relu_and_dropout` with its default `bn=False`. Any image whose height
and width divide by 4 (the decoder's two up-samplings), any channel and class
count.
"""

import keras
from keras import layers

from keras_latent.layers import Sampling
from keras_latent.models.aae.builders import _check_image_shape, _check_size


def _activate(h, dropout, seed, name):
    h = layers.LeakyReLU(0.3, name=f"{name}_relu")(h)
    if dropout:
        h = layers.Dropout(dropout, seed=seed, name=f"{name}_dropout")(h)
    return h


def _check_sizes(image_shape, num_classes, latent_dim, dropout):
    image_shape = _check_image_shape(image_shape, "image_shape")
    _check_size(num_classes, "num_classes")
    if latent_dim is not None:
        _check_size(latent_dim, "latent_dim")
    if not (isinstance(dropout, (int, float)) and 0 <= dropout < 1):
        raise ValueError(f"dropout: expected a rate in [0, 1); got {dropout!r}.")
    return image_shape


def label_maps(features, labels, name="label_maps"):
    """`features` `(batch, h, w, c)` with the one-hot `labels` appended as constant maps."""
    height, width, classes = features.shape[1], features.shape[2], labels.shape[-1]
    maps = layers.RepeatVector(height * width, name=f"{name}_repeat")(labels)
    maps = layers.Reshape((height, width, classes), name=f"{name}_reshape")(maps)
    return layers.Concatenate(name=name)([features, maps])


def build_conditional_encoder(
    image_shape=(28, 28, 1), num_classes=10, latent_dim=8, dropout=0.3,
    log_var_limit=4.0, seed=None, name="encoder",
):
    """Encoder `[image, label] -> [z_mean, z_log_var, z]` of the conditional VAE.

    Args:
        image_shape: tuple. `(height, width, channels)`. Defaults to MNIST's.
        num_classes: int. Width of the one-hot label. Defaults to 10.
        latent_dim: int. Defaults to 8 (the article also runs 2).
        dropout: float. Rate after each hidden layer. Defaults to 0.3.
        log_var_limit: float or None. The draw clips the log-variance to
            `[-limit, limit]` (the article's 4). Defaults to 4.
        seed: int or None. Seed of dropout and of the draw.
        name: str. Defaults to `"encoder"`.

    Example:

    >>> [tuple(s) for s in build_conditional_encoder(latent_dim=2).output_shape]
    [(None, 2), (None, 2), (None, 2)]
    """
    image_shape = _check_sizes(image_shape, num_classes, latent_dim, dropout)
    images = keras.Input(image_shape, name="images")
    labels = keras.Input((num_classes,), name="labels")
    h = layers.Conv2D(32, 3, strides=2, padding="same", name="conv_0")(images)
    h = _activate(h, dropout, seed, "conv_0")
    h = layers.MaxPooling2D(2, padding="same")(h)
    h = layers.Conv2D(64, 3, padding="same", name="conv_1")(h)
    h = _activate(h, dropout, seed, "conv_1")
    h = layers.Concatenate()([layers.Flatten()(h), labels])
    h = _activate(layers.Dense(64, name="dense")(h), dropout, seed, "dense")
    z_mean = layers.Dense(latent_dim, name="z_mean")(h)
    z_log_var = layers.Dense(latent_dim, name="z_log_var")(h)
    z = Sampling(seed=seed, log_var_limit=log_var_limit, name="z")([z_mean, z_log_var])
    return keras.Model([images, labels], [z_mean, z_log_var, z], name=name)


def build_conditional_decoder(
    image_shape=(28, 28, 1), num_classes=10, latent_dim=8, dropout=0.3, seed=None,
    name="decoder",
):
    """Decoder `[z, label] -> image` in [0, 1], two 2x up-samplings from h/4 x w/4.

    Example:

    >>> build_conditional_decoder((32, 32, 3), num_classes=5, latent_dim=2).output_shape
    (None, 32, 32, 3)
    """
    height, width, channels = _check_sizes(image_shape, num_classes, latent_dim, dropout)
    if height % 4 or width % 4:
        raise ValueError(
            f"image_shape: expected a height and width that divide by 4 (two "
            f"up-samplings); got {image_shape!r}."
        )
    z = keras.Input((latent_dim,), name="z")
    labels = keras.Input((num_classes,), name="labels")
    h = layers.Concatenate()([z, labels])
    h = layers.Dense(height // 4 * width // 4 * 128, name="project")(h)
    h = _activate(h, dropout, seed, "project")
    h = layers.Reshape((height // 4, width // 4, 128))(h)
    h = layers.UpSampling2D(2)(h)
    h = _activate(layers.Conv2D(64, 5, padding="same", name="conv_0")(h), dropout, seed, "conv_0")
    h = layers.Conv2D(32, 3, padding="same", name="conv_1")(h)
    h = _activate(layers.UpSampling2D(2)(h), dropout, seed, "conv_1")
    images = layers.Conv2D(channels, 5, padding="same", activation="sigmoid", name="pixels")(h)
    return keras.Model([z, labels], images, name=name)


def build_similarity_discriminator(
    image_shape=(28, 28, 1), num_classes=10, dropout=0.3, seed=None, name="discriminator",
):
    """Discriminator `[image, label] -> [real logit, l]`, l its learned-similarity layer.

    l is the pre-activation output of the 16-filter convolution, which the
    real/fake logit is computed from. (The article's code computes the logit
    from the layer before l, so the discriminator never trains l; here l lies on
    its path, as in Larsen et al. 2016.)

    Example:

    >>> [tuple(s) for s in build_similarity_discriminator().output_shape]
    [(None, 1), (None, 4, 4, 16)]
    """
    image_shape = _check_sizes(image_shape, num_classes, None, dropout)
    images = keras.Input(image_shape, name="images")
    labels = keras.Input((num_classes,), name="labels")
    h = layers.Conv2D(128, 7, strides=2, padding="same", name="conv_0")(images)
    h = _activate(layers.MaxPooling2D(2, padding="same")(h), dropout, seed, "conv_0")
    h = label_maps(h, labels)
    h = layers.Conv2D(64, 3, padding="same", name="conv_1")(h)
    h = _activate(layers.MaxPooling2D(2, padding="same")(h), dropout, seed, "conv_1")
    similarity = layers.Conv2D(16, 3, padding="same", name="similarity")(h)
    h = _activate(similarity, dropout, seed, "similarity")
    logit = layers.Dense(1, name="real_logit")(layers.Flatten()(h))
    return keras.Model([images, labels], [logit, similarity], name=name)
