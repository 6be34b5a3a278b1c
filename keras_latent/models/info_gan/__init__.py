"""InfoGAN of article 002 and its builders."""

from keras_latent.models.info_gan.builders import build_generator, build_info_discriminator
from keras_latent.models.info_gan.info_gan import InfoGAN
