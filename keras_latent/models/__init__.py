"""Model families: one folder each, builders beside the `keras.Model` subclass."""

from keras_latent.models.multi_optimizer_model import MultiOptimizerModel
