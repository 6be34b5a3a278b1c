"""InfoGAN with a categorical code and continuous codes, article 002."""

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

CODE_LOSSES = ("article", "gaussian")
CODE_PRIORS = ("normal", "uniform")


def draw_codes(rng, n, num_codes, prior="normal", std=0.5):
    """`n` rows of continuous codes from `prior` as NumPy float32 (`rng`: a Generator).

    `"normal"`: N(0, std^2), the article's; `"uniform"`: U(-1, 1), the InfoGAN paper's.
    `InfoGAN.draw` makes the same draws in the training graph.
    """
    shape = (n, num_codes)
    if prior == "uniform":
        return rng.uniform(-1.0, 1.0, shape).astype("float32")
    return rng.normal(0.0, std, shape).astype("float32")


@keras.saving.register_keras_serializable(package="keras_latent")
class InfoGAN(MultiOptimizerModel):
    """GAN whose generator reads a label and continuous codes that Q reads back.

    Article 002's model, after Chen et al. 2016 (InfoGAN) as written in
    Atienza's "Advanced Deep Learning with Keras", ch. 6. The generator
    `G([noise, label, codes])` takes uniform noise in [-1, 1], a one-hot label
    and `num_codes` continuous codes drawn from `N(0, code_std^2)` (or, with
    `code_prior="uniform"`, from U(-1, 1) as in the InfoGAN paper); the
    discriminator `D(x) -> [real logit, label probabilities, codes]` carries
    the Q heads. Each step runs two updates, each with its own optimizer:

    1. `discriminator_optimizer` (RMSprop 2e-4) on the discriminator, Q heads included:
       real images with their labels and fakes with the labels and codes they
       were drawn with: real/fake binary cross-entropy, label cross-entropy
       (`label_weight`) and the code loss (`code_weight`);
    2. `generator_optimizer` (RMSprop 1e-4) on the generator, against the updated
       discriminator on fresh draws: fakes called real, the asked label read
       back, the codes read back, with the same weights.

    `code_loss="article"` (the default) keeps the article's
    `-c log Q(x)` on sigmoid code heads (`losses.sigmoid_code_loss`), with
    real images paired with random codes in the discriminator's update, as
    the article does. Codes drawn from `N(0, 0.25)` are half negative, so
    this is no log-likelihood: each unit learns to rise with its code, but the
    negative codes' reward, bounded only by a clip, drags the outputs toward 0
    (a slip of the article, kept for fidelity). `code_loss="gaussian"` is the
    InfoGAN paper's: the negative log-likelihood of the code under a
    unit-variance Gaussian whose mean a linear head gives
    (`build_info_discriminator(code_head="linear")`), on fakes only.

    Departures from the article: the logit and `softplus` replace a sigmoid
    and binary cross-entropy (the same loss, stabler); the article's
    RMSprop `decay` of 6e-8 a step (0.24 % over 40000 steps) is dropped; the
    article makes the discriminator's fakes with `predict`, so with
    BatchNorm's moving averages, where here the generator runs in training
    mode in both updates, as in the InfoGAN paper's code.

    Labels are integers in `[0, classes)` or one-hot rows.

    Args:
        generator: `keras.Model` `[noise, labels, codes] -> images`, e.g.
            `build_generator`.
        discriminator: `keras.Model` `images -> [logit, labels, codes]`, e.g.
            `build_info_discriminator`.
        code_loss: `"article"` or `"gaussian"` (see above). Defaults to
            `"article"`.
        code_std: float. Standard deviation of the continuous codes. Defaults
            to 0.5.
        code_prior: `"normal"` (the article's `N(0, code_std^2)`) or
            `"uniform"` (U(-1, 1), the InfoGAN paper's). An isotropic Gaussian
            looks the same in any rotation of the codes, so nothing ties each
            code to one factor; a uniform square does not. Defaults to
            `"normal"`.
        label_weight: float. Weight of the label cross-entropy. Defaults to 1.
        code_weight: float. Weight of the code loss. Defaults to 0.5.
        seed: int or None. Seed of the model's random draws.

    Example:

    >>> import keras_latent as kl
    >>> (x, y), _ = kl.data.load_dataset("digits")   # 28x28, as MNIST
    >>> gan = kl.InfoGAN(
    ...     kl.build_generator(noise_dim=8, filters=(16, 8)),
    ...     kl.build_info_discriminator(filters=(8, 16)), seed=0)
    >>> gan.compile()
    >>> history = gan.fit(x[:256], y[:256], batch_size=64, epochs=1, verbose=0)
    >>> gan.sample(3, labels=[0, 1, 2], seed=0).shape
    (3, 28, 28, 1)
    """

    accepts_one_hot = True

    def __init__(
        self,
        generator,
        discriminator,
        code_loss="article",
        code_std=0.5,
        code_prior="normal",
        label_weight=1.0,
        code_weight=0.5,
        seed=None,
        **kwargs,
    ):
        super().__init__(seed=seed, **kwargs)
        self.generator, self.discriminator = generator, discriminator
        if code_loss not in CODE_LOSSES:
            raise ValueError(f"code_loss: expected one of {CODE_LOSSES}; got {code_loss!r}.")
        self.code_loss = code_loss
        if code_prior not in CODE_PRIORS:
            raise ValueError(f"code_prior: expected one of {CODE_PRIORS}; got {code_prior!r}.")
        self.code_prior = code_prior
        self.code_std = check_number(code_std, "code_std", minimum=0)
        self.label_weight = check_number(label_weight, "label_weight", minimum=0)
        self.code_weight = check_number(code_weight, "code_weight", minimum=0)
        self.check_networks()
        self.num_classes = int(discriminator.outputs[1].shape[-1])
        self.add_trackers(
            "d_loss", "d_accuracy", "d_label_loss", "d_code_loss", "real_label_accuracy",
            "g_loss", "g_label_loss", "g_code_loss", "fake_label_accuracy",
        )
        self.built = True

    # Sizes ------------------------------------------------------------------------

    @property
    def image_shape(self):
        return tuple(self.discriminator.input_shape[1:])

    @property
    def noise_dim(self):
        return self.generator.inputs[0].shape[-1]

    @property
    def num_codes(self):
        return self.generator.inputs[2].shape[-1]

    def check_networks(self):
        """Checks that the two networks' sizes agree; raises `ValueError` if not."""
        check_models(self, ("generator", "discriminator"))
        outputs = self.discriminator.outputs
        if len(outputs) != 3 or outputs[0].shape[-1] != 1:
            raise ValueError(
                "discriminator: expected three outputs, [real logit (batch, 1), label "
                "probabilities (batch, classes), codes (batch, codes)]; got "
                f"{[tuple(t.shape) for t in outputs]}."
            )
        classes, codes = outputs[1].shape[-1], outputs[2].shape[-1]
        if len(self.generator.inputs) != 3:
            raise ValueError(
                "generator: expected three inputs, [noise, one-hot labels, codes]; got "
                f"{[tuple(t.shape) for t in self.generator.inputs]}."
            )
        noise = self.generator.inputs[0].shape[-1]
        check_network_sizes(
            self.generator, "generator", [noise, classes, codes],
            what="the discriminator's class count and code count",
        )
        check_network_sizes(
            self.generator, "generator", [self.image_shape], inputs=False,
            what="the discriminator's input shape",
        )

    # Training ---------------------------------------------------------------------

    def optimizer_roles(self):
        return {
            "discriminator_optimizer": self.discriminator.trainable_variables,
            "generator_optimizer": self.generator.trainable_variables,
        }

    def default_optimizer(self, role):
        # The article's RMSprop: 2e-4 for the discriminator, half that for the generator.
        return keras.optimizers.RMSprop(2e-4 if role == "discriminator_optimizer" else 1e-4)

    def draw(self, n):
        """`n` rows of `(noise, one-hot labels, codes)` from the model's seed generator."""
        seed = self.seed_generator

        def noise(copies):
            return keras.random.uniform((copies * n, self.noise_dim), -1.0, 1.0, seed=seed)

        def labels(copies):
            indices = keras.random.randint((copies * n,), 0, self.num_classes, seed=seed)
            return ops.one_hot(indices, self.num_classes)

        def codes(copies):
            shape = (copies * n, self.num_codes)
            if self.code_prior == "uniform":
                return keras.random.uniform(shape, -1.0, 1.0, seed=seed)
            return keras.random.normal(shape, stddev=self.code_std, seed=seed)

        return tuple(distribute.replica_draws(f, n) for f in (noise, labels, codes))

    def _code_losses(self, codes, q_codes):
        if self.code_loss == "article":
            return losses.sigmoid_code_loss(codes, q_codes)
        return losses.gaussian_information_loss(codes, q_codes)

    def discriminator_loss(self, x, targets, training=True):
        """The discriminator and Q: one real and one fake example per row."""
        n = ops.shape(x)[0]
        noise, fake_labels, fake_codes = self.draw(n)
        fakes = self.generator([noise, fake_labels, fake_codes], training=training)
        # One pass over reals and fakes together, as the article's batch of 2n.
        both = ops.concatenate([ops.cast(x, fakes.dtype), fakes], axis=0)
        outputs = self.discriminator(both, training=training)
        real_logit, real_probabilities, real_q = (output[:n] for output in outputs)
        fake_logit, fake_probabilities, fake_q = (output[n:] for output in outputs)
        adversarial = losses.discriminator_loss(real_logit, fake_logit)
        label = 0.5 * (
            losses.cross_entropy(targets, real_probabilities)
            + losses.cross_entropy(fake_labels, fake_probabilities)
        )
        code = self._code_losses(fake_codes, fake_q)
        if self.code_loss == "article":  # real images with codes of their own
            _, _, real_codes = self.draw(n)
            code = 0.5 * (code + self._code_losses(real_codes, real_q))
        total = self.total(adversarial, label, code)
        return Loss(total, metrics={
            "d_loss": total,
            "d_accuracy": losses.discriminator_accuracy(real_logit, fake_logit),
            "d_label_loss": label,
            "d_code_loss": code,
            "real_label_accuracy": losses.accuracy(targets, real_probabilities),
        })

    def total(self, adversarial, label, code):
        """The weighted sum an update minimises: adversarial + label + code terms."""
        return adversarial + self.label_weight * label + self.code_weight * code

    def generator_loss(self, n, training=True):
        """The generator: `n` fakes' adversarial, label and code losses."""
        noise, labels, codes = self.draw(n)
        fakes = self.generator([noise, labels, codes], training=training)
        logit, probabilities, q = self.discriminator(fakes, training=training)
        label = losses.cross_entropy(labels, probabilities)
        code = self._code_losses(codes, q)
        total = self.total(losses.generator_loss(logit), label, code)
        return Loss(total, metrics={
            "g_loss": total,
            "g_label_loss": label,
            "g_code_loss": code,
            "fake_label_accuracy": losses.accuracy(labels, probabilities),
        })

    def train_step(self, batch):
        x, labels, _ = keras.utils.unpack_x_y_sample_weight(batch)
        self.update("discriminator_optimizer", self.discriminator_loss, x, self.one_hot(labels))
        self.update("generator_optimizer", self.generator_loss, ops.shape(x)[0])
        return self.results()

    def test_step(self, batch):
        x, labels, _ = keras.utils.unpack_x_y_sample_weight(batch)
        real = self.discriminator_loss(x, self.one_hot(labels), training=False)
        self.track_metrics(real.metrics)
        self.track_metrics(self.generator_loss(ops.shape(x)[0], training=False).metrics)
        return self.results()

    # Use ---------------------------------------------------------------------------

    def call(self, inputs, training=False):
        """Q's label probabilities of images, so `predict(x)` classifies them."""
        x, _ = self.split_inputs(inputs)
        return self.discriminator(x, training=training)[1]

    def generate(self, noise, labels, codes, batch_size=256):
        """Images `G([noise, labels, codes])`, a float32 array `(N, H, W, C)`.

        The generator runs in inference mode, on BatchNorm's moving averages;
        in the first few hundred steps these lag behind the batch statistics
        training uses, and images look off until they catch up.

        Args:
            noise: `(N, noise_dim)`; the generator was trained on [-1, 1].
            labels: N integer labels in `[0, classes)`, or one-hot rows.
            codes: `(N, num_codes)`; trained on `N(0, code_std^2)`.
        """
        noise = check_codes(noise, self.noise_dim, "noise", what="the generator's noise size")
        labels = check_class_labels(labels, len(noise), self.num_classes)
        if codes is None and self.num_codes == 0:
            codes = np.zeros((len(noise), 0), "float32")
        codes = check_codes(codes, self.num_codes, "codes", what="the generator's code count")
        if len(codes) != len(noise):
            raise ValueError(f"codes: expected one row per noise row ({len(noise)}); got {len(codes)}.")
        one_hot = np.eye(self.num_classes, dtype="float32")[labels]
        images = self.generator.predict([noise, one_hot, codes], batch_size=batch_size, verbose=0)
        return np.asarray(images, "float32")

    def sample(self, n, labels=None, codes=None, seed=None):
        """`n` images from fresh noise, of `labels` and `codes` when given, else drawn.

        `seed` fixes the draws (a NumPy generator's seed).
        """
        n = check_count(n)
        rng = np.random.default_rng(seed)
        noise = rng.uniform(-1.0, 1.0, (n, self.noise_dim)).astype("float32")
        if labels is None:
            labels = rng.integers(0, self.num_classes, n)
        if codes is None:
            codes = draw_codes(rng, n, self.num_codes, self.code_prior, self.code_std)
        return self.generate(noise, labels, codes)

    def classify(self, x, batch_size=256):
        """Q's label probabilities of images `x`, a float32 array `(N, classes)`."""
        check_images(x, shape=self.image_shape)
        return np.asarray(self.predict(x, batch_size=batch_size, verbose=0), "float32")

    def read_codes(self, x, batch_size=256):
        """Q's continuous codes of images `x`, a float32 array `(N, num_codes)`.

        The linear head's means with `code_loss="gaussian"`; with the article's
        loss, the sigmoid head's outputs, which rise with the code but are no
        estimate of it.
        """
        check_images(x, shape=self.image_shape)
        outputs = self.discriminator.predict(x, batch_size=batch_size, verbose=0)
        return np.asarray(outputs[2], "float32")

    # Serialization -----------------------------------------------------------------

    def get_config(self):
        serialize = keras.saving.serialize_keras_object
        return {
            **super().get_config(),
            "generator": serialize(self.generator),
            "discriminator": serialize(self.discriminator),
            "code_loss": self.code_loss,
            "code_std": self.code_std,
            "code_prior": self.code_prior,
            "label_weight": self.label_weight,
            "code_weight": self.code_weight,
        }
