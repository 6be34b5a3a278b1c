"""The adversarial autoencoder: an autoencoder whose codes a discriminator matches to p(z)."""

import keras
import numpy as np
from keras import ops

from keras_latent import distribute, losses, priors
from keras_latent.checks import (
    check_class_labels,
    check_codes,
    check_count,
    check_images,
    check_network_sizes,
    check_number,
)
from keras_latent.models.multi_optimizer_model import Loss, MultiOptimizerModel

SCHEDULES = ("paper", "joint")


def _as_float32(outputs):
    """`predict`'s output (an array or a list of them) as float32 arrays."""
    if isinstance(outputs, (list, tuple)):
        return type(outputs)(np.asarray(o, "float32") for o in outputs)
    return np.asarray(outputs, "float32")


class AutoencoderMethods:
    """What the adversarial autoencoders share beside their updates: the image
    shape, the denoising input noise, `encode` and the checks of codes and labels.

    A model using it has `encoder`, `input_noise`, `latent_dim`, `num_classes`,
    `prior` and `seed_generator`.
    """

    @property
    def image_shape(self):
        """`(height, width, channels)` of the encoder's images."""
        return tuple(self.encoder.input_shape[1:])

    def noisy(self, x):
        """`x` plus Gaussian noise of std `input_noise` (x itself when 0): what the
        encoder reads in a training update."""
        if not self.input_noise:
            return x
        return x + self.normal_images(ops.shape(x)[0], self.input_noise, x.dtype)

    def normal_images(self, n, stddev=1.0, dtype="float32"):
        """`n` images of Gaussian noise from the model's seed generator, each
        replica's its own (`distribute.replica_draws`)."""
        noise = distribute.replica_draws(
            lambda copies: keras.random.normal(
                (n * copies, *self.image_shape), stddev=stddev, seed=self.seed_generator
            ),
            n,
        )
        return ops.cast(noise, dtype)

    def encode(self, x, batch_size=256):
        """Codes of images `x`, a NumPy array `(N, latent_dim)`."""
        check_images(x, shape=self.image_shape)
        codes = self.encoder.predict(x, batch_size=batch_size, verbose=0)
        # float32 even when the networks compute in 16 bits (mixed precision).
        return _as_float32(codes)

    def checked_codes(self, z, name="z"):
        """`z` as a float32 array `(N, latent_dim)`; `ValueError` naming `name` if not."""
        return check_codes(z, self.latent_dim, name)

    def checked_labels(self, labels, n, name="labels"):
        """`labels` as `n` ints in `[0, num_classes)` (one-hot rows are read too)."""
        classes = self.num_classes or getattr(self.prior, "num_classes", None)
        if not classes:
            raise ValueError(
                f"{name}: this {type(self).__name__} and its prior have no classes; "
                "pass no labels."
            )
        return check_class_labels(labels, n, classes, name)


@keras.saving.register_keras_serializable(package="keras_latent")
class AdversarialAutoencoder(AutoencoderMethods, MultiOptimizerModel):
    """Adversarial autoencoder (AAE): reconstruction plus a code discriminator.

    An encoder maps images to codes z, a decoder maps codes back to images, and a
    discriminator learns to tell codes of the data, q(z), from draws of a chosen
    prior p(z); the encoder learns to fool it, which pulls q(z) onto p(z) so that
    decoding prior draws gives plausible images.

    Each training step runs one of two schedules, each update with its own
    optimizer on its own network's variables:

    - `"paper"` (Makhzani et al. 2015, sec. 2): a reconstruction update of
      encoder and decoder (`autoencoder_optimizer`), then the regularization phase: a
      discriminator update on prior draws against the codes (`discriminator_optimizer`) and
      a generator update of the encoder against the updated discriminator
      (`generator_optimizer`).
    - `"joint"` (article 000): the discriminator update, then one update of
      encoder and decoder on `reconstruction_weight * reconstruction +
      adversarial_weight * generator loss` (`autoencoder_optimizer`).

    Within a step the discriminator's update and the one after it share one
    encoder pass (the discriminator's step does not change the encoder).

    The labelled variants (`SupervisedAdversarialAutoencoder`,
    `LabelRegularizedAdversarialAutoencoder`) override small hooks rather than
    the step: what the decoder and the discriminator receive
    (`decoder_inputs`, `discriminator_inputs`) and where prior draws come from
    (`prior_codes`). `SemiSupervisedAdversarialAutoencoder`, with a second
    discriminator and a classifier's update, is a class of its own.

    Args:
        encoder: `keras.Model`. Images `(H, W, C)` to codes `(latent_dim,)`.
        decoder: `keras.Model`. Codes to images of the encoder's input shape.
        discriminator: `keras.Model`. Codes to one logit (real = prior).
        prior: str or `keras_latent.priors.Prior`. p(z), of size `latent_dim`.
            Defaults to `"gaussian"`.
        schedule: str. `"paper"` or `"joint"`. Defaults to `"paper"`.
        reconstruction: str. `"bce"`, `"mse"` or `"mae"`. Defaults to `"bce"`.
        reconstruction_weight: float. Joint schedule only. Defaults to 0.999.
        adversarial_weight: float. Joint schedule only. Defaults to 0.001.
        input_noise: float. Standard deviation of Gaussian noise added to the
            encoder's input in every training update (fresh noise each time;
            the reconstruction target stays the clean image): a denoising
            AAE. The paper's semi-supervised MNIST runs use 0.3. Defaults to 0
            (off).
        gradient_penalty: float. Weight gamma of an R1 penalty, `gamma / 2 *
            |dD/dz|^2` on prior draws, added to the discriminator's loss
            (Mescheder et al. 2018, eq. 9); it keeps the discriminator from
            running away on thin or sharp-edged priors (swiss roll, uniform).
            Not in the AAE paper. Defaults to 0 (off).
        num_classes: int or None. Class count of the labelled variants; None
            here. Defaults to None.
        seed: int or None. Seed of the prior draws.

    Example:

    >>> import keras_latent as kl
    >>> (x, y), _ = kl.data.load_dataset("digits")
    >>> aae = kl.AdversarialAutoencoder(
    ...     kl.build_encoder(x.shape[1:], latent_dim=2, hidden_units=(64,)),
    ...     kl.build_decoder(x.shape[1:], latent_dim=2, hidden_units=(64,)),
    ...     kl.build_code_discriminator(latent_dim=2, hidden_units=(64,)),
    ...     prior="mixture", seed=0)
    >>> aae.compile()
    >>> history = aae.fit(x, batch_size=100, epochs=1, verbose=0)
    >>> aae.encode(x[:5]).shape
    (5, 2)

    Reference:
        Makhzani et al., "Adversarial Autoencoders", 2015
        (arXiv:1511.05644), as followed by articles 000 and 004 (`docs/aae_guide.md`,
        `docs/aae_priors.md`).
    """

    def __init__(
        self,
        encoder,
        decoder,
        discriminator,
        prior="gaussian",
        schedule="paper",
        reconstruction="bce",
        reconstruction_weight=0.999,
        adversarial_weight=0.001,
        gradient_penalty=0.0,
        num_classes=None,
        input_noise=0.0,
        seed=None,
        **kwargs,
    ):
        super().__init__(seed=seed, **kwargs)
        self.encoder = encoder
        self.decoder = decoder
        self.discriminator = discriminator
        self.num_classes = None if num_classes is None else int(num_classes)
        self.latent_dim = self.code_size()
        self.prior = priors.get(prior, dim=self.latent_dim)
        if schedule not in SCHEDULES:
            raise ValueError(f"schedule: expected one of {SCHEDULES}; got {schedule!r}.")
        if reconstruction not in losses.RECONSTRUCTION_LOSSES:
            raise ValueError(
                f"reconstruction: expected one of {losses.RECONSTRUCTION_LOSSES}; "
                f"got {reconstruction!r}."
            )
        self.schedule = schedule
        self.reconstruction = reconstruction
        self.reconstruction_weight = check_number(
            reconstruction_weight, "reconstruction_weight", minimum=0
        )
        self.adversarial_weight = check_number(adversarial_weight, "adversarial_weight", minimum=0)
        self.gradient_penalty = check_number(gradient_penalty, "gradient_penalty", minimum=0)
        self.input_noise = check_number(input_noise, "input_noise", minimum=0)
        self.check_networks()
        self.add_trackers("recon_loss", "d_loss", "g_loss", "d_accuracy")
        self.built = True

    # Hooks that variants override -------------------------------------------

    def code_size(self):
        """Size of the code z that the encoder outputs."""
        outputs = self.encoder.outputs
        if len(outputs) != 1 or len(outputs[0].shape) != 2:
            raise ValueError(
                "encoder: expected one output of shape (batch, latent_dim); got "
                f"{[tuple(t.shape) for t in outputs]}."
            )
        return outputs[0].shape[-1]

    def decoder_input_sizes(self):
        """Sizes of the decoder's inputs, in order."""
        return [self.latent_dim]

    # Whether the discriminator reads the one-hot label beside z (labelled variants).
    discriminator_takes_labels = False

    def discriminator_input_sizes(self):
        """Sizes of the discriminator's inputs, in order."""
        if self.discriminator_takes_labels:
            return [self.latent_dim, self.num_classes]
        return [self.latent_dim]

    def check_networks(self):
        """Checks that the networks' sizes agree; raises `ValueError` if not."""
        # Labelled variants put the class count first into the decoder, last
        # into the discriminator.
        check_network_sizes(
            self.decoder, "decoder", self.decoder_input_sizes(),
            what="the class count, the latent size"
            if len(self.decoder_input_sizes()) == 2 else "the latent size",
        )
        check_network_sizes(
            self.decoder, "decoder", [self.image_shape], inputs=False,
            what="the encoder's input shape",
        )
        check_network_sizes(
            self.discriminator, "discriminator", self.discriminator_input_sizes(),
            what=self.discriminator_input_names(),
        )

    def discriminator_input_names(self):
        """What the discriminator's input sizes are, for error messages."""
        if len(self.discriminator_input_sizes()) == 2:
            return "the latent size, the class count"
        return "the latent size"

    def decoder_inputs(self, z, labels):
        """What the decoder receives for codes `z` of examples with `labels`."""
        return z

    def discriminator_inputs(self, z, labels):
        """What the discriminator receives for codes `z` with `labels`."""
        if self.discriminator_takes_labels:
            return [z, self.one_hot(labels)]
        return z

    def prior_codes(self, batch_size, labels):
        """Returns `(codes, their labels)` drawn from p(z) for one batch."""
        return self.draw_prior(self.prior, batch_size), labels

    # Compilation ---------------------------------------------------------------

    def optimizer_roles(self):
        """`{optimizer attribute: variables it updates}` for this model's updates."""
        roles = {
            "autoencoder_optimizer": self.autoencoder_variables(),
            "discriminator_optimizer": self.discriminator.trainable_variables,
        }
        if self.schedule == "paper":
            roles["generator_optimizer"] = self.encoder.trainable_variables
        return roles

    def default_optimizer(self, role):
        # Article 000's optimizer, used for every network.
        return keras.optimizers.Adam(learning_rate=2e-4, beta_1=0.5)

    def compile(self, autoencoder_optimizer=None, discriminator_optimizer=None, generator_optimizer=None, **kwargs):
        """Configures one optimizer per network.

        Args:
            autoencoder_optimizer: optimizer of the reconstruction (or joint) update, over
                encoder and decoder. Defaults to `Adam(2e-4, beta_1=0.5)`.
            discriminator_optimizer: optimizer of the discriminator. Same default.
            generator_optimizer: optimizer of the encoder's generator update (`"paper"`
                schedule only). Same default.
            **kwargs: subclasses' further optimizers by name, and the options of
                `keras.Model.compile`; see `MultiOptimizerModel.compile` (XLA is
                on by default without a distribution strategy).
        """
        super().compile(
            autoencoder_optimizer=autoencoder_optimizer, discriminator_optimizer=discriminator_optimizer, generator_optimizer=generator_optimizer,
            **kwargs,
        )

    # Training ------------------------------------------------------------------

    def autoencoder_variables(self):
        """The encoder's and the decoder's trainable variables."""
        return self.encoder.trainable_variables + self.decoder.trainable_variables

    def train_step(self, batch):
        x, labels, _ = keras.utils.unpack_x_y_sample_weight(batch)
        if self.schedule == "paper":
            self.update("autoencoder_optimizer", self.reconstruction_loss, x, labels)
            self.update("generator_optimizer", self.regularization_loss, x, labels)
        else:
            self.update("autoencoder_optimizer", self.joint_loss, x, labels)
        return self.results()

    def reconstruction_loss(self, x, labels):
        """Encoder and decoder: the reconstruction error."""
        z = self.encoder(self.noisy(x), training=True)
        x_hat = self.decoder(self.decoder_inputs(z, labels), training=True)
        recon = losses.reconstruction_loss(x, x_hat, self.reconstruction)
        return Loss(recon, metrics={"recon_loss": recon})

    def discriminator_loss(self, codes, labels):
        """The discriminator: prior draws (real) against `codes`, the encoder's (fake)."""
        z_real, real_labels = self.prior_codes(ops.shape(codes)[0], labels)
        real, slopes = self.real_logits(z_real, real_labels)
        fake = self.discriminator(self.discriminator_inputs(codes, labels), training=True)
        d_loss = losses.discriminator_loss(real, fake)
        if slopes is not None:
            d_loss = d_loss + losses.r1_penalty(slopes, self.gradient_penalty)
        accuracy = losses.discriminator_accuracy(real, fake)
        return Loss(d_loss, metrics={"d_loss": d_loss, "d_accuracy": accuracy})

    def real_logits(self, z_real, real_labels):
        """Logits of prior draws and, with a gradient penalty, `dD/dz` at each.

        Returns `(logits, gradients or None)`. The gradient of all logits
        (summed) holds each draw's own: draws are independent of each other.
        """
        def logits(z):
            return self.discriminator(self.discriminator_inputs(z, real_labels), training=True)

        if not self.gradient_penalty:
            return logits(z_real), None
        return self.input_gradient(logits, z_real)

    def regularization_loss(self, x, labels):
        """The paper's regularization phase: the discriminator's step, then the
        encoder's loss against the updated discriminator.

        One encoder pass serves both steps: the discriminator's step leaves the
        encoder as it was, so a second pass would give the same codes (the
        article loop computes them twice). An encoder that samples (a
        variational one) thus feeds both steps the same draw.
        """
        codes = self.encoder(self.noisy(x), training=True)
        self.nested_update("discriminator_optimizer", self.discriminator_loss, codes, labels)
        g_loss = self.generator_loss(codes, labels)
        return Loss(g_loss, metrics={"g_loss": g_loss})

    def generator_loss(self, codes, labels):
        """Per-example loss of the encoder for `codes` the discriminator calls fake."""
        fake = self.discriminator(self.discriminator_inputs(codes, labels), training=True)
        return losses.generator_loss(fake)

    def joint_loss(self, x, labels):
        """The discriminator's step, then encoder and decoder on both losses:
        `reconstruction_weight * reconstruction + adversarial_weight * generator
        loss` against the updated discriminator, from one encoder pass (see
        `regularization_loss`)."""
        z = self.encoder(self.noisy(x), training=True)
        self.nested_update("discriminator_optimizer", self.discriminator_loss, z, labels)
        x_hat = self.decoder(self.decoder_inputs(z, labels), training=True)
        recon = losses.reconstruction_loss(x, x_hat, self.reconstruction)
        g_loss = self.generator_loss(z, labels)
        total = self.reconstruction_weight * recon + self.adversarial_weight * g_loss
        return Loss(total, metrics={"recon_loss": recon, "g_loss": g_loss})

    def test_step(self, batch):
        x, labels, _ = keras.utils.unpack_x_y_sample_weight(batch)
        z = self.encoder(x, training=False)
        x_hat = self.decoder(self.decoder_inputs(z, labels), training=False)
        z_real, real_labels = self.prior_codes(ops.shape(z)[0], labels)
        real = self.discriminator(self.discriminator_inputs(z_real, real_labels))
        fake = self.discriminator(self.discriminator_inputs(z, labels))
        self.track("recon_loss", losses.reconstruction_loss(x, x_hat, self.reconstruction))
        self.track("d_loss", losses.discriminator_loss(real, fake))
        self.track("g_loss", losses.generator_loss(fake))
        self.track("d_accuracy", losses.discriminator_accuracy(real, fake))
        return self.results()

    # Use -----------------------------------------------------------------------

    def call(self, inputs, training=False):
        """Reconstructs images, so `predict(x)` gives reconstructions."""
        x, labels = self.split_inputs(inputs)
        z = self.encoder(x, training=training)
        return self.decoder(self.decoder_inputs(z, labels), training=training)

    # Whether the decoder takes the label beside z (the supervised AAE's does).
    decoder_takes_labels = False

    @property
    def predict_takes_labels(self):
        return self.decoder_takes_labels

    @property
    def takes_y(self):
        """Labels go to the variants with classes; the plain AAE takes none."""
        return self.num_classes is not None

    def decode(self, z, labels=None):
        """Images decoded from codes `z`, a float32 NumPy array `(N, H, W, C)`.

        `labels` (one per code) go to a decoder that takes them (the supervised
        AAE's) and are required there; other models take none.
        """
        z = self.checked_codes(z)
        if self.decoder_takes_labels:
            if labels is None:
                raise ValueError(
                    f"labels: this {type(self).__name__}'s decoder writes z as a given "
                    "class; pass one label per code."
                )
            labels = self.checked_labels(labels, len(z))
        elif labels is not None:
            raise ValueError(
                f"labels: this {type(self).__name__}'s decoder takes codes alone; "
                "pass no labels."
            )
        images = self.decoder(self.decoder_inputs(ops.convert_to_tensor(z), labels), training=False)
        return ops.convert_to_numpy(ops.cast(images, "float32"))

    def sample(self, n, labels=None, seed=None):
        """Decodes `n` draws from the prior (of class `labels` when given).

        A prior with per-class components (`mixture`, `swiss_roll`) draws each
        code from its label's component; `seed` fixes the draws.
        """
        n = check_count(n)
        if labels is not None:
            labels = self.checked_labels(labels, n)
        return self.decode(self.prior.sample(n, labels=labels, seed=seed))

    def get_config(self):
        serialize = keras.saving.serialize_keras_object
        return {
            **super().get_config(),
            "encoder": serialize(self.encoder),
            "decoder": serialize(self.decoder),
            "discriminator": serialize(self.discriminator),
            "prior": serialize(self.prior),
            "schedule": self.schedule,
            "reconstruction": self.reconstruction,
            "reconstruction_weight": self.reconstruction_weight,
            "adversarial_weight": self.adversarial_weight,
            "gradient_penalty": self.gradient_penalty,
            "num_classes": self.num_classes,
            "input_noise": self.input_noise,
        }
