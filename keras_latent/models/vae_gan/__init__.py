"""The conditional VAE and VAE+GAN of article 003 and their builders."""

from keras_latent.models.vae_gan.builders import (
    build_conditional_decoder,
    build_conditional_encoder,
    build_similarity_discriminator,
)
from keras_latent.models.vae_gan.conditional_vae import ConditionalVAE
from keras_latent.models.vae_gan.vae_gan import VAEGAN
