"""AAEs that use labels: in the decoder (style and content) or in the discriminator."""

import keras
import numpy as np
from keras import ops

from keras_latent import distribute
from keras_latent.models.aae.adversarial_autoencoder import AdversarialAutoencoder
from keras_latent.checks import check_count


@keras.saving.register_keras_serializable(package="keras_latent")
class SupervisedAdversarialAutoencoder(AdversarialAutoencoder):
    """AAE whose decoder also receives the one-hot label: z keeps only the style.

    The decoder reconstructs from `[one-hot label, z]`, so the code needs no
    information about the digit and the adversarial prior pulls it toward pure
    style; decoding one z with every label writes the same style as every digit.
    Training is the `AdversarialAutoencoder` step with the label passed to the
    decoder; `fit(x, y)` needs the labels (integers or one-hot rows).

    The prior matches the codes of all digits together, which leaves each
    digit's codes free to sit in a region of their own: z can keep the digit.
    With `conditional_discriminator=True` the discriminator also reads the
    label, `[z, one-hot label]`, paired with prior draws that ignore it, so the
    codes of every digit alone are pulled toward p(z) and z toward
    independence of the digit (a departure from the paper, whose discriminator
    reads z alone).

    Args:
        encoder: `keras.Model`. Images to codes `(latent_dim,)`.
        decoder: `keras.Model`. `[label (num_classes,), z]` to images, e.g.
            `build_decoder(..., num_classes=10)`.
        discriminator: `keras.Model`. Codes to one logit; `[z, label]` with
            `conditional_discriminator`.
        num_classes: int. Defaults to 10.
        prior: str or `Prior`. Defaults to `"gaussian"`; article 000 uses
            `priors.Gaussian(dim=15, std=5.0)`.
        reconstruction: str. Defaults to `"mse"`, as article 000.
        conditional_discriminator: bool. The discriminator reads `[z, one-hot
            label]`, e.g. `build_code_discriminator(..., num_classes=10)`.
            Defaults to False (the paper's: z alone).
        **kwargs: the other `AdversarialAutoencoder` arguments.

    Example:

    >>> import keras_latent as kl
    >>> (x, y), _ = kl.data.load_dataset("digits")
    >>> aae = kl.SupervisedAdversarialAutoencoder(
    ...     kl.build_encoder(x.shape[1:], latent_dim=4, hidden_units=(64,)),
    ...     kl.build_decoder(x.shape[1:], latent_dim=4, hidden_units=(64,), num_classes=10),
    ...     kl.build_code_discriminator(latent_dim=4, hidden_units=(64,)),
    ...     prior=kl.priors.Gaussian(dim=4, std=5.0), seed=0)
    >>> aae.compile()
    >>> history = aae.fit(x, y, batch_size=100, epochs=1, verbose=0)
    >>> aae.sample(3, labels=[7, 7, 7], seed=0).shape   # three 7s in three styles
    (3, 28, 28, 1)

    Reference:
        Makhzani et al. 2015, sec. 5 and fig. 7; article 000, "supervised AAE".
    """

    def __init__(
        self, encoder, decoder, discriminator, num_classes=10, prior="gaussian",
        reconstruction="mse", conditional_discriminator=False, **kwargs,
    ):
        self.conditional_discriminator = bool(conditional_discriminator)
        super().__init__(
            encoder, decoder, discriminator, prior=prior, reconstruction=reconstruction,
            num_classes=num_classes, **kwargs,
        )

    def decoder_input_sizes(self):
        return [self.num_classes, self.latent_dim]

    def decoder_inputs(self, z, labels):
        return [self.one_hot(labels), z]

    decoder_takes_labels = True

    @property
    def discriminator_takes_labels(self):
        # Prior draws keep the batch's labels (`prior_codes`): the label alone
        # tells real pairs from fake ones nothing.
        return self.conditional_discriminator

    def sample(self, n, labels=None, seed=None):
        """Decodes `n` prior draws as the digits `labels` (default: 0, 1, 2, ...)."""
        n = check_count(n)
        labels = np.arange(n) % self.num_classes if labels is None else labels
        return self.decode(self.prior.sample(n, seed=seed), labels)

    def get_config(self):
        return {
            **super().get_config(),
            "conditional_discriminator": self.conditional_discriminator,
        }


@keras.saving.register_keras_serializable(package="keras_latent")
class LabelRegularizedAdversarialAutoencoder(AdversarialAutoencoder):
    """AAE whose discriminator sees the label: each class gets its own prior region.

    The discriminator receives `[z, one-hot label]`; real codes are drawn from the
    component (or region) of the prior that belongs to the example's class, so
    the encoder learns to put each class into its own component. The prior needs
    per-class components: `GaussianMixture`, `SwissRoll` or `Uniform` with
    `num_classes` classes.

    With `unlabelled_class=True` it learns from partly labelled data (the paper's
    semi-supervised use of this model, sec. 4, which article 004 describes and
    leaves unbuilt): the label becomes an (n+1)-way one-hot whose extra class
    marks an unlabelled example (label -1), and the prior draw paired with an
    unlabelled example comes from the whole mixture (a component drawn uniformly)
    rather than from one class's component. The labelled examples then pin each
    class to its component and the unlabelled ones follow the rest of the data.

    Args:
        encoder: `keras.Model`. Images to codes.
        decoder: `keras.Model`. Codes to images.
        discriminator: `keras.Model`. `[z, label (num_classes,)]` to one logit,
            e.g. `build_code_discriminator(..., num_classes=10)`; with
            `unlabelled_class`, `[z, label (num_classes + 1,)]`.
        num_classes: int. Defaults to 10.
        prior: str or `Prior` with `num_classes` classes. Defaults to `"mixture"`.
        unlabelled_class: bool. Accept -1 for unlabelled examples and tell the
            discriminator so through an extra class. Labels are then integers
            (one-hot rows cannot say -1). Defaults to False.
        **kwargs: the other `AdversarialAutoencoder` arguments.

    Example:

    >>> import keras_latent as kl
    >>> (x, y), _ = kl.data.load_dataset("digits")
    >>> aae = kl.LabelRegularizedAdversarialAutoencoder(
    ...     kl.build_encoder(x.shape[1:], hidden_units=(64,)),
    ...     kl.build_decoder(x.shape[1:], hidden_units=(64,)),
    ...     kl.build_code_discriminator(hidden_units=(64,), num_classes=10),
    ...     prior="swiss_roll", seed=0)
    >>> aae.compile()
    >>> history = aae.fit(x, y, batch_size=100, epochs=1, verbose=0)

    Ten percent of the labels, the rest -1:

    >>> few = kl.data.hide_labels(y, labels_per_class=15, seed=0)
    >>> semi = kl.LabelRegularizedAdversarialAutoencoder(
    ...     kl.build_encoder(x.shape[1:], hidden_units=(64,)),
    ...     kl.build_decoder(x.shape[1:], hidden_units=(64,)),
    ...     kl.build_code_discriminator(hidden_units=(64,), num_classes=11),
    ...     unlabelled_class=True, seed=0)
    >>> semi.compile()
    >>> history = semi.fit(x, few, batch_size=100, epochs=1, verbose=0)

    Reference:
        Makhzani et al. 2015, sec. 4 and fig. 6; article 004, "supervised" and
        its closing remark on the (n+1)-way label.
    """

    def __init__(
        self, encoder, decoder, discriminator, num_classes=10, prior="mixture",
        unlabelled_class=False, **kwargs,
    ):
        self.unlabelled_class = bool(unlabelled_class)
        super().__init__(
            encoder, decoder, discriminator, prior=prior, num_classes=num_classes, **kwargs
        )
        if self.prior.num_classes != self.num_classes:
            raise ValueError(
                f"prior: expected a prior with {self.num_classes} per-class components "
                f"(num_classes); {self.prior!r} has {self.prior.num_classes}."
            )

    @property
    def accepts_unlabelled(self):
        return self.unlabelled_class

    @property
    def accepts_one_hot(self):
        return not self.unlabelled_class

    discriminator_takes_labels = True

    def discriminator_input_sizes(self):
        return [self.latent_dim, self.num_classes + self.unlabelled_class]

    def discriminator_input_names(self):
        if self.unlabelled_class:
            return "the latent size, the class count + 1 for unlabelled examples"
        return super().discriminator_input_names()

    def discriminator_inputs(self, z, labels):
        if not self.unlabelled_class:
            return super().discriminator_inputs(z, labels)
        labels = ops.cast(labels, "int32")
        classes = ops.where(labels < 0, self.num_classes, labels)
        return [z, ops.one_hot(classes, self.num_classes + 1)]

    def prior_codes(self, batch_size, labels):
        classes = ops.argmax(labels, axis=-1) if len(labels.shape) == 2 else labels
        classes = ops.cast(classes, "int32")

        def draw(copies):
            wanted = ops.tile(classes, [copies])
            if self.unlabelled_class:
                # An unlabelled example's draw comes from a component drawn uniformly.
                anywhere = keras.random.randint(
                    ops.shape(wanted), 0, self.num_classes, dtype="int32",
                    seed=self.seed_generator,
                )
                wanted = ops.where(wanted < 0, anywhere, wanted)
            return self.prior.sample(
                batch_size * copies, labels=wanted, seed=self.seed_generator
            )

        return distribute.replica_draws(draw, batch_size), labels

    def get_config(self):
        return {**super().get_config(), "unlabelled_class": self.unlabelled_class}
