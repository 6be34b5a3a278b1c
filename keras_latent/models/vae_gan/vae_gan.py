"""Conditional VAE+GAN with a learned similarity metric, article 003."""

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from keras_latent import distribute, losses
from keras_latent.models.multi_optimizer_model import check_models, check_network_sizes
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

    The encoder minimises `L_llike + L_prior`, the decoder `gamma L_llike -
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
    under a `tf.distribute` strategy, since TensorFlow cannot sum the
    replicas' gradients inside the rule's `tf.cond` (`compile` says so).

    The losses are logged per pixel, as the article prints them, but each
    optimizer descends their per-image sums: at the per-pixel scale the
    discriminator's gradients are about 1e-6, far under the 3e-4 floor that
    RMSprop's `epsilon` (1e-7, under the square root) puts on its denominator, and
    it barely moved (it sat at the class prior, 1 in 4 real, for 1000 iterations).
    The article's TF1 sums over the batch are large enough for its optimizer.

    Departures from the article, each measured (`DEVELOPERS.md`, "Article 003"):
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
        super().__init__(encoder, decoder, seed=seed, **kwargs)
        self.discriminator = discriminator
        self.check_discriminator()
        if similarity not in SIMILARITIES:
            raise ValueError(f"similarity: expected one of {SIMILARITIES}; got {similarity!r}.")
        for name, value in (("d_steps", d_steps), ("g_steps", g_steps)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{name}: expected an int >= 1; got {value!r}.")
        for name, value in (
            ("gamma", gamma), ("d_threshold", d_threshold), ("g_threshold", g_threshold)
        ):
            if not (isinstance(value, (int, float, np.number)) and value >= 0):
                raise ValueError(f"{name}: expected a float >= 0; got {value!r}.")
        self.gamma, self.similarity, self.balance = float(gamma), similarity, bool(balance)
        self.standardize_similarity = bool(standardize_similarity)
        self.d_steps, self.g_steps = int(d_steps), int(g_steps)
        self.d_threshold, self.g_threshold = float(d_threshold), float(g_threshold)

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

        Its updates run inside `tf.cond`, and TensorFlow cannot sum the replicas'
        gradients inside a branch (`merge_call` in control flow).
        """
        if self.balance and (
            tf.distribute.has_strategy() or self.distribute_strategy.num_replicas_in_sync > 1
        ):
            raise ValueError(
                "balance: the balancing rule cannot run under a tf.distribute strategy "
                "(an optimizer step inside tf.cond cannot sum the replicas' gradients); "
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

    def similarity_loss(self, real_l, fake_l):
        """Per-example `L_llike` between layer l of real images and of their decodings."""
        real_l, fake_l = ops.cast(real_l, "float32"), ops.cast(fake_l, "float32")
        n = ops.shape(real_l)[0]
        pixels = self.pixels
        if self.standardize_similarity:
            mean, std = self.similarity_scale(real_l)
            real_l, fake_l = (real_l - mean) / std, (fake_l - mean) / std
        if self.similarity == "bce":
            target = ops.sigmoid(real_l)
            # Cross-entropy of sigmoid(fake_l) against the target, from logits.
            values = ops.softplus(fake_l) - target * fake_l
        else:
            values = ops.square(real_l - fake_l)
        return ops.sum(ops.reshape(values, (n, -1)), axis=1) / pixels

    def similarity_scale(self, real_l):
        """Mean and standard deviation of each channel of l over the global batch, constant."""
        real_l = ops.stop_gradient(real_l)
        flat = ops.reshape(real_l, (-1, ops.shape(real_l)[-1]))
        count = distribute.global_sum(ops.cast(ops.shape(flat)[0], "float32"))
        mean = distribute.global_sum(ops.sum(flat, axis=0)) / count
        square = distribute.global_sum(ops.sum(ops.square(flat), axis=0)) / count
        return mean, ops.sqrt(ops.maximum(square - ops.square(mean), 0.0) + 1e-6)

    def forward(self, x, targets, training=True, similarity=True):
        """Every per-example loss of one batch; `L_llike` only with `similarity`.

        The discriminator's update does not use `L_llike`, so it skips l's two
        discriminator passes (and, under a strategy, the statistics' all-reduce).
        """
        n = ops.shape(x)[0]
        z_mean, z_log_var, z = self.encoder([x, targets], training=training)
        prior_z = distribute.replica_draws(
            lambda copies: keras.random.normal(
                (copies * n, self.latent_dim), seed=self.seed_generator
            ),
            n,
        )
        rebuilt = self.decoder([z, targets], training=training)
        drawn = self.decoder([prior_z, targets], training=training)
        real_logit, _ = self.discriminator([x, targets], training=training)
        rebuilt_logit, _ = self.discriminator([rebuilt, targets], training=training)
        drawn_logit, _ = self.discriminator([drawn, targets], training=training)
        pixels = self.pixels

        def flat(logit):
            return ops.reshape(ops.cast(logit, "float32"), (-1,))

        # log D = -softplus(-logit), log(1 - D) = -softplus(logit).
        gan = (
            ops.softplus(-flat(real_logit))
            + 2.0 * ops.softplus(flat(drawn_logit))
            + ops.softplus(flat(rebuilt_logit))
        ) / 4.0 / pixels
        right = (
            ops.cast(flat(real_logit) > 0, "float32")
            + 2.0 * ops.cast(flat(drawn_logit) < 0, "float32")
            + ops.cast(flat(rebuilt_logit) < 0, "float32")
        ) / 4.0
        parts = {
            "reconstruction": losses.reconstruction_loss(x, rebuilt, "bce"),
            "prior": self.prior_loss(z_mean, z_log_var),
            "gan": gan,
            "accuracy": right,
        }
        if similarity:
            # l without dropout: independent masks on x and x~ would hide the reconstruction.
            _, real_l = self.discriminator([x, targets], training=False)
            _, rebuilt_l = self.discriminator([rebuilt, targets], training=False)
            parts["llike"] = self.similarity_loss(real_l, rebuilt_l)
        return parts

    def batch_gan_sum(self, gan):
        """The article's `L_GAN`: the sum over the global batch (all replicas agree)."""
        return distribute.global_sum(ops.sum(gan))

    def discriminator_update(self, x, targets):
        """One discriminator update; returns `L_GAN` before it, the article's sum."""
        variables = self.optimizer_roles()["discriminator_optimizer"]
        with tf.GradientTape() as tape:
            parts = self.forward(x, targets, similarity=False)
            loss = parts["gan"] * self.pixels  # per image: see the class docstring
        self.apply_update("discriminator_optimizer", tape, loss, variables)
        self.track("d_accuracy", parts["accuracy"])
        return self.batch_gan_sum(parts["gan"])

    def autoencoder_update(self, x, targets):
        """One encoder and decoder update on one pass; returns `L_GAN` before it."""
        roles = self.optimizer_roles()
        with tf.GradientTape(persistent=True) as tape:
            parts = self.forward(x, targets)
            encoder_loss = (parts["llike"] + parts["prior"]) * self.pixels
            decoder_loss = (self.gamma * parts["llike"] - parts["gan"]) * self.pixels
        self.apply_update("encoder_optimizer", tape, encoder_loss, roles["encoder_optimizer"])
        self.apply_update("decoder_optimizer", tape, decoder_loss, roles["decoder_optimizer"])
        del tape
        self._track_parts(parts)
        return self.batch_gan_sum(parts["gan"])

    def _track_parts(self, parts):
        self.track("recon_loss", parts["reconstruction"])
        self.track("kl_loss", parts["prior"])
        self.track("llike_loss", parts["llike"])
        self.track("gan_loss", parts["gan"])

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
            self.discriminator_update(x, targets)
            self.autoencoder_update(x, targets)
            self.track("d_steps_taken", 1.0)
            self.track("g_steps_taken", 1.0)
            return self.results()
        xs, ys = self._parts(x, targets)
        # Discriminator: the first update always runs; another while L_GAN >= d_threshold.
        go, last, taken = tf.constant(True), tf.constant(0), tf.constant(0.0)
        for k in range(self.d_steps):
            gan = tf.cond(
                go, lambda k=k: self.discriminator_update(xs[k], ys[k]), lambda: tf.constant(0.0)
            )
            last = tf.where(go, k, last)
            taken += ops.cast(go, "float32")
            go = tf.logical_and(go, gan >= self.d_threshold)
        self.track("d_steps_taken", taken)
        # Encoder and decoder: from the last discriminator batch on, while L_GAN <= g_threshold.
        go, taken = tf.constant(True), tf.constant(0.0)
        for k in range(self.g_steps):
            index = last + k
            gan = tf.cond(
                go,
                lambda index=index: self.autoencoder_update(
                    tf.gather(xs, index), tf.gather(ys, index)
                ),
                lambda: tf.constant(0.0),
            )
            taken += ops.cast(go, "float32")
            go = tf.logical_and(go, gan <= self.g_threshold)
        self.track("g_steps_taken", taken)
        return self.results()

    def test_step(self, batch):
        x, labels, _ = keras.utils.unpack_x_y_sample_weight(batch)
        parts = self.forward(x, self.one_hot(labels), training=False)
        self._track_parts(parts)
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
