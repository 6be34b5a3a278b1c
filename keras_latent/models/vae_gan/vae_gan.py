"""Conditional VAE+GAN with a learned similarity metric, article 003."""

import keras
import numpy as np
from keras import ops

from keras_latent import distribute, losses
from keras_latent.checks import check_models, check_network_sizes, check_number
from keras_latent.models.multi_optimizer_model import Loss
from keras_latent.models.vae_gan.conditional_vae import ConditionalVAE

SIMILARITIES = ("bce", "mse")
UPDATE_COUNTS = ("d_steps_taken", "g_steps_taken")


@keras.saving.register_keras_serializable(package="keras_latent")
class VAEGAN(ConditionalVAE):
    """A conditional VAE whose decoder is also a GAN's generator (Larsen et al. 2016).

    Article 003's model. Three networks, each with its own optimizer: the
    encoder (`encoder_optimizer`, RMSprop 1e-3), the decoder
    (`decoder_optimizer`, RMSprop 3e-4) and a discriminator on `[image, label]`
    (`discriminator_optimizer`, RMSprop 1e-3) that returns a real/fake logit and
    l, its learned-similarity layer. With x a batch, `x~ = Dec(Enc(x))` and
    `x_p = Dec(z)` for prior draws z, per example and divided by the pixel
    count as the article divides its sums:

    - `L_prior`: KL of q(z|x, y) to N(0, I), the log-variance clipped;
    - `L_llike`: the error of the reconstruction's l against the image's l,
      summed over l: the squared error (`similarity="mse"`, Larsen et al.'s
      Gaussian) or the cross-entropy of `sigmoid(l(x~))` against
      `sigmoid(l(x))` (`"bce"`, the article's). l is read with the
      discriminator in inference mode (no dropout) and, with
      `standardize_similarity`, each of its channels is centred and divided by
      its standard deviation over the real batch (held constant);
    - `L_GAN`: `-(log D(x) + 2 log(1 - D(x_p)) + log(1 - D(x~))) / 4`.

    The encoder minimises `L_llike + kl_weight L_prior`, the decoder `gamma L_llike -
    L_GAN`, the discriminator `L_GAN`; the encoder and the decoder step
    together on one forward pass, as the article's `step` does.

    Each training step follows the article's balancing rule: up to `d_steps`
    discriminator updates while its `L_GAN` (the article's sum over the batch)
    is at least `d_threshold`, then up to `g_steps` encoder/decoder updates
    while `L_GAN` is at most `g_threshold`; the first of these reuses the last
    discriminator batch, every other update takes a fresh one. A batch that
    `fit` receives holds `draws_per_step` (`d_steps + g_steps - 1`) parts, one
    per possible update; parts a step does not need go unused (the article's
    loop would have kept them for the next iteration). `d_steps_taken` and
    `g_steps_taken` log how many updates each player took (in `fit`'s logs;
    `evaluate` takes none, so it does not report them). With
    `balance=False` each step is one discriminator update then one
    encoder/decoder update, on one batch; that is also the only way to train
    under a distribution strategy, since TensorFlow cannot sum the
    replicas' gradients inside the rule's conditional branches (`compile`
    says so).

    The losses are logged per pixel, as the article prints them, but each
    optimizer descends their per-image sums: at the per-pixel scale the
    discriminator's gradients are about 1e-6, far under the 3e-4 floor that
    RMSprop's `epsilon` (1e-7, under the square root) puts on its denominator, and
    it barely moved (it sat at the class prior, 1 in 4 real, for 1000 iterations).
    The article's TF1 sums over the batch are large enough for its optimizer.

    Departures from the article, each measured (`docs/vae_gan.md`):
    at the article's settings the encoder ignores its input within 50 iterations
    (KL to the prior about 1e-5, every decoding the same digit), because l's
    activations are small (standard deviation about 0.1, and they stay small:
    nothing trains their scale) and are read under dropout, whose independent
    masks on x and x~ make a perfect reconstruction cost as much as a wrong one.
    Reading l without dropout, standardising it and using the squared error give
    the encoder a signal larger than the KL, and the codes carry the image.
    `similarity="bce", standardize_similarity=False` is the article's loss (l still
    read without dropout). Also: its TF1 sums over the batch become per-image
    sums averaged over the batch, except in the balancing rule, which compares
    the sum over the global batch, as the article does, with its thresholds; the
    discriminator's logit comes from l (see `build_similarity_discriminator`);
    one log-variance clip (see `ConditionalVAE`).

    Args:
        encoder, decoder: as for `ConditionalVAE`.
        discriminator: `keras.Model` `[images, labels] -> [logit, l]`, e.g.
            `build_similarity_discriminator`.
        kl_weight: float >= 0. Weight of `L_prior` in the encoder's loss.
            Defaults to 1 (the article's).
        gamma: float. Weight of `L_llike` in the decoder's loss. Defaults to 1.
        similarity: `"mse"` or `"bce"`. Defaults to `"mse"`.
        standardize_similarity: bool. Standardise l's channels by the real
            batch's statistics before comparing. Defaults to True.
        balance: bool. The article's balancing rule. Defaults to True.
        d_steps, g_steps: int. Most updates a step of each player. Defaults to 3.
        d_threshold, g_threshold: float. Defaults to 1.0 and 0.4.
        seed: int or None. Seed of the model's random draws.

    Example:

    >>> import keras_latent as kl
    >>> (x, y), _ = kl.data.load_dataset("digits")
    >>> gan = kl.VAEGAN(
    ...     kl.build_conditional_encoder(latent_dim=2), kl.build_conditional_decoder(latent_dim=2),
    ...     kl.build_similarity_discriminator(), seed=0)
    >>> gan.draws_per_step
    5
    >>> gan.compile()
    >>> history = gan.fit(x[:320], y[:320], batch_size=5 * 32, epochs=1, verbose=0)
    >>> sorted(k for k in history.history if k.endswith("taken"))
    ['d_steps_taken', 'g_steps_taken']
    """

    def __init__(
        self,
        encoder,
        decoder,
        discriminator,
        kl_weight=1.0,
        gamma=1.0,
        similarity="mse",
        standardize_similarity=True,
        balance=True,
        d_steps=3,
        g_steps=3,
        d_threshold=1.0,
        g_threshold=0.4,
        seed=None,
        **kwargs,
    ):
        super().__init__(encoder, decoder, kl_weight=kl_weight, seed=seed, **kwargs)
        self.discriminator = discriminator
        self.check_discriminator()
        if similarity not in SIMILARITIES:
            raise ValueError(f"similarity: expected one of {SIMILARITIES}; got {similarity!r}.")
        self.similarity, self.balance = similarity, bool(balance)
        self.standardize_similarity = bool(standardize_similarity)
        self.gamma = check_number(gamma, "gamma", minimum=0)
        self.d_steps = check_number(d_steps, "d_steps", minimum=1, integer=True)
        self.g_steps = check_number(g_steps, "g_steps", minimum=1, integer=True)
        self.d_threshold = check_number(d_threshold, "d_threshold", minimum=0)
        self.g_threshold = check_number(g_threshold, "g_threshold", minimum=0)

    def tracker_names(self):
        return ("recon_loss", "kl_loss", "llike_loss", "gan_loss", "d_accuracy", *UPDATE_COUNTS)

    def check_discriminator(self):
        """Checks the discriminator against the encoder; raises `ValueError` if not."""
        check_models(self, ("discriminator",))
        outputs = self.discriminator.outputs
        if len(outputs) != 2 or outputs[0].shape[-1] != 1:
            raise ValueError(
                "discriminator: expected outputs [real logit (batch, 1), similarity layer]; "
                f"got {[tuple(t.shape) for t in outputs]}."
            )
        check_network_sizes(
            self.discriminator, "discriminator",
            [self.image_shape, int(self.encoder.inputs[1].shape[-1])],
            what="the encoder's input shape and class count",
        )

    def compile(self, **kwargs):
        """As `MultiOptimizerModel.compile`; the balancing rule refuses a strategy.

        Its updates run inside conditional branches (`keras.ops.cond`), and
        TensorFlow cannot sum the replicas' gradients inside a branch
        (`merge_call` in control flow).
        """
        if self.balance and distribute.distributed(self.distribute_strategy):
            raise ValueError(
                "balance: the balancing rule cannot run under a distribution strategy "
                "(an optimizer step inside a conditional branch cannot sum the replicas' "
                "gradients); "
                "build the model with balance=False to train on several devices."
            )
        super().compile(**kwargs)

    @property
    def pixels(self):
        """Values per image, the article's divisor of every loss."""
        return float(np.prod(self.image_shape))

    @property
    def draws_per_step(self):
        """Parts of a batch one step may use: `d_steps + g_steps - 1`, or 1."""
        return self.d_steps + self.g_steps - 1 if self.balance else 1

    # Training ---------------------------------------------------------------------

    def optimizer_roles(self):
        return {
            "encoder_optimizer": self.encoder.trainable_variables,
            "decoder_optimizer": self.decoder.trainable_variables,
            "discriminator_optimizer": self.discriminator.trainable_variables,
        }

    def default_optimizer(self, role):
        rates = {"encoder_optimizer": 1e-3, "decoder_optimizer": 3e-4}
        return keras.optimizers.RMSprop(rates.get(role, 1e-3))

    def forward(self, x, targets, training=True, similarity=True):
        """Every per-example loss of one batch; `L_llike` only with `similarity`.

        The discriminator's update does not use `L_llike`, so it skips l's two
        discriminator passes (and, under a strategy, the statistics' all-reduce).
        """
        n = ops.shape(x)[0]
        z_mean, z_log_var, z = self.encoder([x, targets], training=training)
        prior_z = self.prior_draws(n)
        rebuilt = self.decoder([z, targets], training=training)
        drawn = self.decoder([prior_z, targets], training=training)
        real_logit, _ = self.discriminator([x, targets], training=training)
        rebuilt_logit, _ = self.discriminator([rebuilt, targets], training=training)
        drawn_logit, _ = self.discriminator([drawn, targets], training=training)
        pixels = self.pixels
        right = (
            ops.cast(ops.reshape(real_logit, (-1,)) > 0, "float32")
            + 2.0 * ops.cast(ops.reshape(drawn_logit, (-1,)) < 0, "float32")
            + ops.cast(ops.reshape(rebuilt_logit, (-1,)) < 0, "float32")
        ) / 4.0
        parts = {
            "reconstruction": losses.reconstruction_loss(x, rebuilt, "bce"),
            "prior": self.prior_loss(z_mean, z_log_var),
            "gan": losses.vae_gan_loss(real_logit, rebuilt_logit, drawn_logit) / pixels,
            "accuracy": right,
        }
        if similarity:
            # l without dropout: independent masks on x and x~ would hide the reconstruction.
            _, real_l = self.discriminator([x, targets], training=False)
            _, rebuilt_l = self.discriminator([rebuilt, targets], training=False)
            parts["llike"] = losses.similarity_loss(
                real_l, rebuilt_l, self.similarity, self.standardize_similarity
            ) / pixels
        return parts

    def batch_gan_sum(self, gan):
        """The article's `L_GAN`: the sum over the global batch (all replicas agree)."""
        return distribute.global_sum(ops.sum(gan))

    def discriminator_loss(self, x, targets):
        """The discriminator: `L_GAN` (per image: see the class docstring)."""
        parts = self.forward(x, targets, similarity=False)
        return Loss(
            parts["gan"] * self.pixels, metrics={"d_accuracy": parts["accuracy"]},
            outputs=parts["gan"],
        )

    def autoencoder_loss(self, x, targets):
        """`(encoder's, decoder's)` losses, from one forward pass: `L_llike +
        kl_weight L_prior` and `gamma L_llike - L_GAN` (per image)."""
        parts = self.forward(x, targets)
        encoder = (parts["llike"] + self.kl_weight * parts["prior"]) * self.pixels
        decoder = (self.gamma * parts["llike"] - parts["gan"]) * self.pixels
        return Loss(encoder), Loss(decoder, metrics=self.part_metrics(parts), outputs=parts["gan"])

    def part_metrics(self, parts):
        """The losses `fit` and `evaluate` report, per pixel."""
        return {
            "recon_loss": parts["reconstruction"],
            "kl_loss": parts["prior"],
            "llike_loss": parts["llike"],
            "gan_loss": parts["gan"],
        }

    def discriminator_step(self, x, targets):
        """One discriminator update; returns `L_GAN` before it, the article's sum."""
        loss = self.update("discriminator_optimizer", self.discriminator_loss, x, targets)
        return self.batch_gan_sum(loss.outputs)

    def autoencoder_step(self, x, targets):
        """One encoder and decoder update on one pass; returns `L_GAN` before it."""
        roles = ("encoder_optimizer", "decoder_optimizer")
        _, decoder = self.update(roles, self.autoencoder_loss, x, targets)
        return self.batch_gan_sum(decoder.outputs)

    def _parts(self, x, targets):
        """The batch cut into `draws_per_step` strided parts, stacked: `(parts, n, ...)`."""
        k = self.draws_per_step
        size = ops.maximum(ops.shape(x)[0] // k, 1)
        index = (ops.arange(size)[None, :] * k + ops.arange(k)[:, None]) % ops.shape(x)[0]
        return ops.take(x, index, axis=0), ops.take(targets, index, axis=0)

    def train_step(self, batch):
        x, labels, _ = keras.utils.unpack_x_y_sample_weight(batch)
        targets = self.one_hot(labels)
        if not self.balance:
            self.discriminator_step(x, targets)
            self.autoencoder_step(x, targets)
            self.track("d_steps_taken", 1.0)
            self.track("g_steps_taken", 1.0)
            return self.results()
        xs, ys = self._parts(x, targets)
        # The discriminator: the first update always runs; another while L_GAN >= d_threshold.
        taken, last = self.repeat_while(
            self.d_steps,
            lambda k: self.discriminator_step(xs[k], ys[k]),
            lambda gan: gan >= self.d_threshold,
        )
        self.track("d_steps_taken", taken)
        # Encoder and decoder: from the last discriminator batch on, while L_GAN <= g_threshold.
        taken, _ = self.repeat_while(
            self.g_steps,
            lambda k: self.autoencoder_step(
                ops.take(xs, last + k, axis=0), ops.take(ys, last + k, axis=0)
            ),
            lambda gan: gan <= self.g_threshold,
        )
        self.track("g_steps_taken", taken)
        return self.results()

    def test_step(self, batch):
        x, labels, _ = keras.utils.unpack_x_y_sample_weight(batch)
        parts = self.forward(x, self.one_hot(labels), training=False)
        self.track_metrics(self.part_metrics(parts))
        self.track("d_accuracy", parts["accuracy"])
        # No update runs here: the counts' trackers would report 0.
        return {name: value for name, value in self.results().items() if name not in UPDATE_COUNTS}

    def get_config(self):
        return {
            **super().get_config(),
            "discriminator": keras.saving.serialize_keras_object(self.discriminator),
            "gamma": self.gamma,
            "similarity": self.similarity,
            "standardize_similarity": self.standardize_similarity,
            "balance": self.balance,
            "d_steps": self.d_steps,
            "g_steps": self.g_steps,
            "d_threshold": self.d_threshold,
            "g_threshold": self.g_threshold,
        }
