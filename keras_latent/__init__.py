"""keras-latent: latent-variable generative models in Keras 3.

>>> from keras_latent import AdversarialAutoencoder, priors
"""

from keras_latent import (
    callbacks,
    checkpoints,
    data,
    distribute,
    evaluation,
    layers,
    losses,
    plotting,
    priors,
)
from keras_latent.layers import Sampling
from keras_latent.models.aae import (
    AdversarialAutoencoder,
    ClusteringAdversarialAutoencoder,
    LabelRegularizedAdversarialAutoencoder,
    SemiSupervisedAdversarialAutoencoder,
    SupervisedAdversarialAutoencoder,
    build_classifier,
    build_code_discriminator,
    build_decoder,
    build_encoder,
)

from keras_latent.models.cvae_gan import (
    CVAEGAN,
    build_feature_classifier,
    build_feature_discriminator,
)
from keras_latent.models.disentangling_ae import (
    DisentanglingAutoencoder,
    build_code_encoder,
    build_disentangling_networks,
    build_pair_decoder,
    build_softmax_classifier,
)
from keras_latent.models.info_gan import InfoGAN, build_generator, build_info_discriminator
from keras_latent.models.vae_gan import (
    ConditionalVAE,
    VAEGAN,
    build_conditional_decoder,
    build_conditional_encoder,
    build_similarity_discriminator,
)

__version__ = "0.1.0"
