"""The CVAE-GAN (Bao et al. 2017), the model article 000 ends on, and its builders."""

from keras_latent.models.cvae_gan.builders import (
    build_feature_classifier,
    build_feature_discriminator,
)
from keras_latent.models.cvae_gan.cvae_gan import CVAEGAN
