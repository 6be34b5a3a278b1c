"""The conditional VAE that article 003's VAE+GAN is compared with."""

import keras
import numpy as np
from keras import ops

from keras_latent import distribute, losses
from keras_latent.checks import (
    check_class_labels,
    check_codes,
    check_count,
    check_images,
    check_models,
    check_network_sizes,
    check_number,
)
from keras_latent.models.multi_optimizer_model import Loss, MultiOptimizerModel


@keras.saving.register_keras_serializable(package="keras_latent")
class ConditionalVAE(MultiOptimizerModel):
    """VAE whose encoder and decoder both read the one-hot label (Sohn et al. 2015).

    One update a step, `autoencoder_optimizer` (RMSprop 1e-3) on the encoder and the
    decoder: the binary cross-entropy of `Dec([z, y])` against `x`, averaged over
    pixels, plus `kl_weight` x `KL(q(z|x, y) || N(0, I))` divided by the pixel
    count, as article 003 scales its `L_prior`. The log-variance in the KL is
    clipped as the encoder's draw clips it (article 003 clips it to [-2, 2] in
    the KL but to [-4, 4] in the draw; one limit serves both here).

    Labels are integers in `[0, classes)` or one-hot rows.

    Args:
        encoder: `keras.Model` `[images, labels] -> [z_mean, z_log_var, z]`, e.g.
            `build_conditional_encoder`.
        decoder: `keras.Model` `[z, labels] -> images`, e.g.
            `build_conditional_decoder`.
        kl_weight: float. Defaults to 1.
        seed: int or None. Seed of the model's random draws.

    Example:

    >>> import keras_latent as kl
    >>> (x, y), _ = kl.data.load_dataset("digits")
    >>> cvae = kl.ConditionalVAE(
    ...     kl.build_conditional_encoder(latent_dim=2), kl.build_conditional_decoder(latent_dim=2),
    ...     seed=0)
    >>> cvae.compile()
    >>> history = cvae.fit(x[:256], y[:256], batch_size=64, epochs=1, verbose=0)
    >>> cvae.decode(np.zeros((3, 2)), labels=[7, 7, 7]).shape
    (3, 28, 28, 1)
    """

    accepts_one_hot = True
    predict_takes_labels = True

    def __init__(self, encoder, decoder, kl_weight=1.0, seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.encoder, self.decoder = encoder, decoder
        self.kl_weight = check_number(kl_weight, "kl_weight", minimum=0)
        self.check_networks()
        self.num_classes = int(encoder.inputs[1].shape[-1])
        self.add_trackers(*self.tracker_names())
        self.built = True

    def tracker_names(self):
        """The losses and counts `fit` reports, in order."""
        return ("loss", "recon_loss", "kl_loss")

    @property
    def image_shape(self):
        return tuple(self.encoder.inputs[0].shape[1:])

    @property
    def latent_dim(self):
        return int(self.encoder.outputs[0].shape[-1])

    @property
    def log_var_limit(self):
        """The encoder's clip of the log-variance (its `Sampling` layer's), or None."""
        limits = [getattr(layer, "log_var_limit", None) for layer in self.encoder.layers]
        return next((limit for limit in limits if limit is not None), None)

    def check_networks(self):
        """Checks that the encoder and the decoder agree; raises `ValueError` if not."""
        check_models(self, ("encoder", "decoder"))
        if len(self.encoder.inputs) != 2 or len(self.encoder.outputs) != 3:
            raise ValueError(
                "encoder: expected inputs [images, labels] and outputs [z_mean, "
                f"z_log_var, z]; got {len(self.encoder.inputs)} inputs and "
                f"{len(self.encoder.outputs)} outputs."
            )
        classes = int(self.encoder.inputs[1].shape[-1])
        check_network_sizes(
            self.decoder, "decoder", [self.latent_dim, classes],
            what="the encoder's latent size and class count",
        )
        check_network_sizes(
            self.decoder, "decoder", [self.image_shape], inputs=False,
            what="the encoder's input shape",
        )

    # Training ---------------------------------------------------------------------

    def optimizer_roles(self):
        return {
            "autoencoder_optimizer": self.encoder.trainable_variables + self.decoder.trainable_variables
        }

    def default_optimizer(self, role):
        return keras.optimizers.RMSprop(1e-3)

    def kl(self, z_mean, z_log_var):
        """Per-example KL to N(0, I), the log-variance clipped as the draw clips it."""
        if self.log_var_limit is not None:
            z_log_var = ops.clip(z_log_var, -self.log_var_limit, self.log_var_limit)
        return losses.gaussian_kl(z_mean, z_log_var)

    def prior_draws(self, n):
        """`n` draws of z from N(0, I), each replica its own slice of one global draw."""
        return distribute.replica_draws(
            lambda copies: keras.random.normal(
                (copies * n, self.latent_dim), seed=self.seed_generator
            ),
            n,
        )

    def prior_loss(self, z_mean, z_log_var):
        """Per-example KL to N(0, I) over the pixel count (article 003's scale)."""
        return self.kl(z_mean, z_log_var) / float(np.prod(self.image_shape))

    def vae_loss(self, x, targets, training=True):
        """Encoder and decoder: reconstruction plus `kl_weight` times the KL term."""
        z_mean, z_log_var, z = self.encoder([x, targets], training=training)
        x_hat = self.decoder([z, targets], training=training)
        reconstruction = losses.reconstruction_loss(x, x_hat, "bce")
        prior = self.prior_loss(z_mean, z_log_var)
        total = reconstruction + self.kl_weight * prior
        return Loss(total, metrics={"loss": total, "recon_loss": reconstruction, "kl_loss": prior})

    def train_step(self, batch):
        x, labels, _ = keras.utils.unpack_x_y_sample_weight(batch)
        self.update("autoencoder_optimizer", self.vae_loss, x, self.one_hot(labels))
        return self.results()

    def test_step(self, batch):
        x, labels, _ = keras.utils.unpack_x_y_sample_weight(batch)
        self.track_metrics(self.vae_loss(x, self.one_hot(labels), training=False).metrics)
        return self.results()

    # Use ---------------------------------------------------------------------------

    def call(self, inputs, training=False):
        """Reconstructs `{"images": x, "labels": y}` through the code's mean."""
        x, labels = self.split_inputs(inputs)
        targets = self.one_hot(labels)
        z_mean, _, _ = self.encoder([x, targets], training=training)
        return self.decoder([z_mean, targets], training=training)

    def _one_hot(self, labels, n, name="labels"):
        labels = check_class_labels(labels, n, self.num_classes, name)
        return np.eye(self.num_classes, dtype="float32")[labels]

    def encode(self, x, labels, batch_size=256):
        """The code means of images `x` of classes `labels`, `(N, latent_dim)`."""
        check_images(x, shape=self.image_shape)
        outputs = self.encoder.predict(
            [x, self._one_hot(labels, len(x))], batch_size=batch_size, verbose=0
        )
        return np.asarray(outputs[0], "float32")

    def decode(self, z, labels, batch_size=256):
        """Images of classes `labels` decoded from codes `z`, `(N, H, W, C)`."""
        z = check_codes(z, self.latent_dim, "z")
        images = self.decoder.predict(
            [z, self._one_hot(labels, len(z))], batch_size=batch_size, verbose=0
        )
        return np.asarray(images, "float32")

    def reconstruct(self, x, labels):
        """`decode(encode(x, labels), labels)`: images through the code's mean."""
        return self.decode(self.encode(x, labels), labels)

    def transfer(self, x, labels, target_labels):
        """Images `x` of classes `labels` rewritten as `target_labels`, style kept."""
        codes = self.encode(x, labels)
        targets = check_class_labels(target_labels, len(codes), self.num_classes, "target_labels")
        return self.decode(codes, targets)

    def sample(self, n, labels, seed=None):
        """`n` images of classes `labels` decoded from `N(0, I)` draws (`seed` fixes them)."""
        n = check_count(n)
        z = np.random.default_rng(seed).normal(size=(n, self.latent_dim)).astype("float32")
        return self.decode(z, labels)

    def get_config(self):
        serialize = keras.saving.serialize_keras_object
        return {
            **super().get_config(),
            "encoder": serialize(self.encoder),
            "decoder": serialize(self.decoder),
            "kl_weight": self.kl_weight,
        }
