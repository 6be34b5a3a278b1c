"""Layers shared by the models."""

import keras
from keras import ops

from keras_latent import distribute
from keras_latent.checks import check_number


@keras.saving.register_keras_serializable(package="keras_latent")
class Sampling(keras.layers.Layer):
    """Reparameterised draw `z = mean + exp(log_var / 2) * eps`, `eps ~ N(0, I)`.

    The sampling step of a Gaussian encoder q(z|x) (Kingma & Welling 2014, eq. 10),
    drawn in training and inference alike, as article 000's encoder does. The noise
    comes from the layer's own `keras.random.SeedGenerator`, so runs with a seed
    repeat and a traced step draws fresh noise each call.

    Args:
        seed: int or None. Seed of the layer's generator. Defaults to None.
        log_var_limit: float or None. When set, the draw's `log_var` is clipped
            to `[-limit, limit]` (article 003 clips `log_var / 2` to [-2, 2]:
            a limit of 4). Defaults to None.

    Example:

    >>> import numpy as np
    >>> z = Sampling(seed=0)([np.zeros((4, 2)), np.zeros((4, 2))])
    >>> tuple(z.shape)
    (4, 2)
    """

    def __init__(self, seed=None, log_var_limit=None, **kwargs):
        super().__init__(**kwargs)
        self.seed = seed
        if log_var_limit is not None:
            log_var_limit = check_number(
                log_var_limit, "log_var_limit", minimum=0, above_minimum=True
            )
        self.log_var_limit = log_var_limit
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs):
        mean, log_var = inputs
        n, dim = ops.shape(mean)[0], ops.shape(mean)[1:]
        # Under a strategy, each replica takes its slice of one global draw.
        eps = distribute.replica_draws(
            lambda copies: keras.random.normal(
                (n * copies, *dim), dtype=mean.dtype, seed=self.seed_generator
            ),
            n,
        )
        if self.log_var_limit is not None:
            log_var = ops.clip(log_var, -self.log_var_limit, self.log_var_limit)
        return mean + ops.exp(0.5 * log_var) * eps

    def compute_output_shape(self, input_shape):
        return input_shape[0]

    def get_config(self):
        return {**super().get_config(), "seed": self.seed, "log_var_limit": self.log_var_limit}
