"""Adversarial autoencoders (Makhzani et al. 2015) and their builders."""

from keras_latent.models.aae.adversarial_autoencoder import AdversarialAutoencoder
from keras_latent.models.aae.builders import (
    build_decoder,
    build_discriminator,
    build_encoder,
)
