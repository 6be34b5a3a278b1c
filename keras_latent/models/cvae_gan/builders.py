"""Functional builders of the CVAE-GAN's discriminator and classifier for MNIST.

Bao et al. (2017) size their networks for 128x128 faces. Here the encoder and the
decoder (the paper's generator G) are article 003's (`build_conditional_encoder`,
`build_conditional_decoder`), so that the CVAE-GAN differs from article 003's CVAE
and VAE+GAN only by its losses and its other two networks. Those two share the
trunk of article 003's discriminator: Conv 128 7x7 stride 2, max-pool, Conv 64 3x3,
max-pool, Conv 16 3x3, LeakyReLU (slope 0.3) after each; the flattened last
activations are the features that feature matching reads (f_D, f_C), and one
Dense layer gives the output. Unlike article 003's, neither reads the label: the
paper's D tells real from fake alone and C tells the class. No dropout by default:
the pairwise feature matching compares the features of x and of its
reconstruction, and independent dropout masks on the two would hide their
difference (article 003's lesson; `docs/vae_gan.md`).
"""

import keras
from keras import layers

from keras_latent.models.vae_gan.builders import _activate, _check_sizes


def _features(images, dropout, seed):
    h = layers.Conv2D(128, 7, strides=2, padding="same", name="conv_0")(images)
    h = _activate(layers.MaxPooling2D(2, padding="same")(h), dropout, seed, "conv_0")
    h = layers.Conv2D(64, 3, padding="same", name="conv_1")(h)
    h = _activate(layers.MaxPooling2D(2, padding="same")(h), dropout, seed, "conv_1")
    h = layers.Conv2D(16, 3, padding="same", name="conv_2")(h)
    h = layers.LeakyReLU(0.3, name="conv_2_relu")(h)
    return layers.Flatten(name="features")(h)


def build_feature_discriminator(image_shape=(28, 28, 1), dropout=0.0, seed=None, name="discriminator"):
    """Discriminator `image -> [real logit (batch, 1), features f_D]`.

    Args:
        image_shape: tuple. `(height, width, channels)`. Defaults to MNIST's.
        dropout: float. Rate after the first two convolutions. Defaults to 0.
        seed: int or None. Seed of dropout.
        name: str. Defaults to `"discriminator"`.

    Example:

    >>> [tuple(s) for s in build_feature_discriminator().output_shape]
    [(None, 1), (None, 256)]
    """
    image_shape = _check_sizes(image_shape, 1, None, dropout)
    images = keras.Input(image_shape, name="images")
    features = _features(images, dropout, seed)
    logit = layers.Dense(1, name="real_logit")(features)
    return keras.Model(images, [logit, features], name=name)


def build_feature_classifier(
    image_shape=(28, 28, 1), num_classes=10, dropout=0.0, seed=None, name="classifier",
):
    """Classifier `image -> [class logits (batch, num_classes), features f_C]`.

    Example:

    >>> [tuple(s) for s in build_feature_classifier(num_classes=5).output_shape]
    [(None, 5), (None, 256)]
    """
    image_shape = _check_sizes(image_shape, num_classes, None, dropout)
    images = keras.Input(image_shape, name="images")
    features = _features(images, dropout, seed)
    logits = layers.Dense(num_classes, name="class_logits")(features)
    return keras.Model(images, [logits, features], name=name)
