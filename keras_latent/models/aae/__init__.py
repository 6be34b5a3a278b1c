"""Adversarial autoencoders (Makhzani et al. 2015) and their builders."""

from keras_latent.models.aae.adversarial_autoencoder import AdversarialAutoencoder
from keras_latent.models.aae.builders import (
    build_classifier,
    build_code_discriminator,
    build_decoder,
    build_encoder,
)
from keras_latent.models.aae.clustering_adversarial_autoencoder import (
    ClusteringAdversarialAutoencoder,
)
from keras_latent.models.aae.semi_supervised_adversarial_autoencoder import (
    SemiSupervisedAdversarialAutoencoder,
)
from keras_latent.models.aae.supervised_adversarial_autoencoder import (
    LabelRegularizedAdversarialAutoencoder,
    SupervisedAdversarialAutoencoder,
)
