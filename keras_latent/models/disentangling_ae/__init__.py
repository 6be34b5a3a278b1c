"""The disentangling autoencoder of article 001 and its builders."""

from keras_latent.models.disentangling_ae.builders import (
    build_code_encoder,
    build_disentangling_networks,
    build_pair_decoder,
    build_softmax_classifier,
)
from keras_latent.models.disentangling_ae.disentangling_autoencoder import (
    DisentanglingAutoencoder,
)
