"""The semi-supervised AAE: a softmax head y regularised toward one-hot codes."""

import keras
import numpy as np
from keras import ops

from keras_latent import losses, priors
from keras_latent.checks import check_count, check_network_sizes, check_number
from keras_latent.models.aae.adversarial_autoencoder import AutoencoderMethods
from keras_latent.models.classifier_terms import MeanTeacher, virtual_adversarial_view
from keras_latent.models.multi_optimizer_model import Loss, MultiOptimizerModel

UNSUPERVISED_ROWS = ("all", "unlabelled")


@keras.saving.register_keras_serializable(package="keras_latent")
class SemiSupervisedAdversarialAutoencoder(AutoencoderMethods, MultiOptimizerModel):
    """AAE with a categorical code y and a style code z, trained with few labels.

    The encoder outputs `[y, z]`: a softmax over classes and a continuous code.
    The decoder reconstructs from `[y, z]`. Two discriminators regularise the
    codes: `category_discriminator` (D_cat) tells y from one-hot draws of a
    uniform categorical, `discriminator` (D_gauss) tells z from prior draws. Each
    step runs, on every example:

    1. reconstruction: encoder and decoder (`autoencoder_optimizer`);
    2. regularisation: D_gauss (`discriminator_optimizer`), D_cat
       (`category_discriminator_optimizer`), then the encoder against both
       (`generator_optimizer`), from one encoder pass;
    3. supervised: the y head's cross-entropy on the examples whose label is
       not -1 (`supervised_optimizer`); unlabelled examples never enter it,
       unless `consistency_weight` or `virtual_adversarial_weight` adds its
       term over every example.

    `fit(x, y)` takes labels with -1 for unlabelled examples; see
    `keras_latent.data.hide_labels` and `semi_supervised_dataset`. `predict(x)`
    returns class probabilities.

    Args:
        encoder: `keras.Model`. Images to `[y (num_classes,), z (latent_dim,)]`,
            e.g. `build_encoder(..., num_classes=10)`.
        decoder: `keras.Model`. `[y, z]` to images, e.g.
            `build_decoder(..., num_classes=10)`.
        discriminator: `keras.Model`. D_gauss, z to one logit.
        category_discriminator: `keras.Model`. D_cat, y to one logit, e.g.
            `build_code_discriminator(latent_dim=10, name="category_discriminator")`.
        num_classes: int. Defaults to 10.
        prior: str or `Prior` for z. Defaults to `"gaussian"`.
        reconstruction: str. `"bce"`, `"mse"` or `"mae"`. Defaults to `"mse"`,
            as article 000.
        input_noise: float >= 0. Standard deviation of Gaussian noise added to
            the encoder's input in every training update (fresh each time;
            the reconstruction target stays clean). The paper's
            semi-supervised MNIST runs use 0.3. Defaults to 0.
        unsupervised_rows: str. The examples that the reconstruction and
            regularisation updates learn from: `"all"`, or `"unlabelled"` (label
            -1) as the paper's phases do, each on its own minibatch. With
            `semi_supervised_dataset`, whose every batch holds images of the whole
            set with labels hidden beside a labelled batch, `"unlabelled"` keeps
            the labelled images (the same few, every step) out of those updates.
            Defaults to `"all"`.
        conditional_discriminator: bool. D_gauss reads `[z, y]`, y the
            encoder's class probabilities (a fixed input: no gradient reaches y
            through it), paired with prior draws that ignore y, so the codes of
            every class alone are pulled toward p(z), which pushes z toward
            independence of y (the class is left to y). E.g.
            `build_code_discriminator(..., num_classes=10)`. Defaults to False
            (the paper's: z alone).
        consistency_weight: float >= 0. Adds to the supervised phase, over
            every example, this weight times the squared distance between y
            for two views of the image, each with its own input noise (and the
            encoder's own shifts and dropout, when it has them); the second
            view is the target, its gradient stopped. A departure from the
            paper (the Pi-model's consistency term, Laine & Aila 2017), which
            lets the unlabelled images shape y directly. Defaults to 0 (the
            paper's: off).
        consistency_rampup: int >= 0. Steps over which the consistency weight
            rises from near 0 to `consistency_weight`, along the Pi-model's
            `exp(-5 (1 - t)^2)`; 0: the full weight from the first step. It
            counts `supervised_optimizer.iterations` (kept by a saved model,
            restarted by a fresh `compile`). Defaults to 0.
        teacher_decay: float in [0, 1). When above 0, the consistency term's
            target comes from a teacher: the encoder run with a running average
            of its own weights, each step `teacher = decay * teacher + (1 -
            decay) * encoder` (the mean teacher, Tarvainen & Valpola 2017; a
            further departure). Its view draws its own noise, shifts and dropout.
            `predict` then classifies with the teacher's weights, whose error
            swings less from epoch to epoch than the encoder's (`encode` still
            gives the encoder's codes). 0: the target is the encoder's own y for
            the second view (the Pi-model's). Defaults to 0.
        virtual_adversarial_weight: float >= 0. Adds to the supervised phase,
            over every example, this weight times `KL(y(x) || y(x + r))`, where
            `r` of norm `virtual_adversarial_radius` is the direction that
            changes y most (one power-iteration step from a random direction),
            y read with the encoder's random layers off and `y(x)` held fixed:
            virtual adversarial training (Miyato et al. 2018), a departure from
            the paper. Defaults to 0 (off).
        virtual_adversarial_radius: float > 0. The L2 norm of `r` over each
            image's pixels. Defaults to 2.0.
        seed: int or None. Seed of the model's random draws.
        **kwargs: passed to `keras.Model` (`name`, `dtype`).

    Example:

    >>> import keras_latent as kl
    >>> (x, y), (x_test, y_test) = kl.data.load_dataset("digits")
    >>> aae = kl.SemiSupervisedAdversarialAutoencoder(
    ...     kl.build_encoder(x.shape[1:], latent_dim=4, hidden_units=(64,), num_classes=10),
    ...     kl.build_decoder(x.shape[1:], latent_dim=4, hidden_units=(64,), num_classes=10),
    ...     kl.build_code_discriminator(latent_dim=4, hidden_units=(64,)),
    ...     kl.build_code_discriminator(latent_dim=10, hidden_units=(64,)), seed=0)
    >>> aae.compile()
    >>> few = kl.data.hide_labels(y, labels_per_class=5)
    >>> history = aae.fit(kl.data.semi_supervised_dataset(x, few, seed=0), epochs=1, verbose=0)
    >>> aae.predict(x_test, verbose=0).shape
    (359, 10)

    Reference:
        Makhzani et al. 2015, sec. 6 and fig. 8; article 000, "GAN classifier".
    """

    # Labels are integers, -1 for an unlabelled example (one-hot rows cannot say so).
    accepts_unlabelled = True
    accepts_one_hot = False

    def __init__(
        self,
        encoder,
        decoder,
        discriminator,
        category_discriminator,
        num_classes=10,
        prior="gaussian",
        reconstruction="mse",
        input_noise=0.0,
        unsupervised_rows="all",
        conditional_discriminator=False,
        consistency_weight=0.0,
        consistency_rampup=0,
        teacher_decay=0.0,
        virtual_adversarial_weight=0.0,
        virtual_adversarial_radius=2.0,
        seed=None,
        **kwargs,
    ):
        super().__init__(seed=seed, **kwargs)
        self.encoder, self.decoder = encoder, decoder
        self.discriminator, self.category_discriminator = discriminator, category_discriminator
        self.num_classes = check_count(num_classes, "num_classes")
        self.latent_dim = self.code_size()
        self.prior = priors.get(prior, dim=self.latent_dim)
        self.category_prior = priors.Categorical(self.num_classes)
        if reconstruction not in losses.RECONSTRUCTION_LOSSES:
            raise ValueError(
                f"reconstruction: expected one of {losses.RECONSTRUCTION_LOSSES}; "
                f"got {reconstruction!r}."
            )
        if unsupervised_rows not in UNSUPERVISED_ROWS:
            raise ValueError(
                "unsupervised_rows: expected 'all' or 'unlabelled'; got "
                f"{unsupervised_rows!r}."
            )
        self.reconstruction, self.unsupervised_rows = reconstruction, unsupervised_rows
        self.input_noise = check_number(input_noise, "input_noise", minimum=0)
        self.conditional_discriminator = bool(conditional_discriminator)
        self.consistency_weight = check_number(consistency_weight, "consistency_weight", minimum=0)
        self.consistency_rampup = check_number(
            consistency_rampup, "consistency_rampup", minimum=0, integer=True,
            what="a whole number of steps",
        )
        self.virtual_adversarial_weight = check_number(
            virtual_adversarial_weight, "virtual_adversarial_weight", minimum=0
        )
        self.virtual_adversarial_radius = check_number(
            virtual_adversarial_radius, "virtual_adversarial_radius", minimum=0,
            above_minimum=True,
        )
        self.teacher_decay = check_number(
            teacher_decay, "teacher_decay", minimum=0, maximum=1, below_maximum=True
        )
        if self.teacher_decay and not self.consistency_weight:
            raise ValueError(
                "teacher_decay: the teacher gives the consistency term's target; set "
                "consistency_weight > 0 too, or leave teacher_decay at 0."
            )
        self.check_networks()
        self.add_trackers("recon_loss", "d_loss", "g_loss", "d_accuracy", "d_cat_loss")
        if self.takes_y:  # not the clustering AAE, which learns without labels
            self.add_trackers("supervised_loss")
        if self.consistency_weight:
            self.add_trackers("consistency_loss")
        if self.virtual_adversarial_weight:
            self.add_trackers("virtual_adversarial_loss")
        self.teacher = MeanTeacher(self, encoder, self.teacher_decay) if self.teacher_decay else None
        self.built = True

    def code_size(self):
        """The size of z, the encoder's second output (y is the first)."""
        outputs = self.encoder.outputs
        if len(outputs) != 2 or outputs[0].shape[-1] != self.num_classes:
            raise ValueError(
                f"encoder: expected outputs [y ({self.num_classes},), z]; got "
                f"{[tuple(t.shape) for t in outputs]}."
            )
        return outputs[1].shape[-1]

    def check_networks(self):
        """Checks that the networks' sizes agree; raises `ValueError` if not."""
        check_network_sizes(
            self.decoder, "decoder", [self.num_classes, self.latent_dim],
            what="the class count, the latent size",
        )
        check_network_sizes(
            self.decoder, "decoder", [self.image_shape], inputs=False,
            what="the encoder's input shape",
        )
        gauss = [self.latent_dim] + [self.num_classes] * self.conditional_discriminator
        check_network_sizes(
            self.discriminator, "discriminator", gauss,
            what="the latent size, the class count"
            if self.conditional_discriminator else "the latent size",
        )
        check_network_sizes(
            self.category_discriminator, "category_discriminator", [self.num_classes],
            what="the class count",
        )

    @property
    def teacher_variables(self):
        """The mean teacher's weights (empty without one)."""
        return self.teacher.variables if self.teacher else []

    # Training ------------------------------------------------------------------

    def optimizer_roles(self):
        return {
            "autoencoder_optimizer": self.encoder.trainable_variables
            + self.decoder.trainable_variables,
            "discriminator_optimizer": self.discriminator.trainable_variables,
            "generator_optimizer": self.encoder.trainable_variables,
            "category_discriminator_optimizer": self.category_discriminator.trainable_variables,
            "supervised_optimizer": self.encoder.trainable_variables,
        }

    def default_optimizer(self, role):
        # Article 000's optimizer, used for every network.
        return keras.optimizers.Adam(learning_rate=2e-4, beta_1=0.5)

    def train_step(self, batch):
        x, labels, _ = keras.utils.unpack_x_y_sample_weight(batch)
        if labels is None:
            raise ValueError(
                "labels: the semi-supervised AAE needs labels (-1 for unlabelled)."
            )
        self.update("autoencoder_optimizer", self.reconstruction_loss, x, labels)
        self.update("generator_optimizer", self.regularization_loss, x, labels)
        self.supervised_step(x, labels)
        return self.results()

    def supervised_step(self, x, labels):
        """The supervised phase: the y head's update (`supervised_loss`), then the
        teacher's, after the step's last update of the encoder."""
        target, view = self.unlabelled_inputs(x)
        self.update("supervised_optimizer", self.supervised_loss, x, labels, target, view)
        self.update_teacher()

    def update_teacher(self):
        """Moves the mean teacher (when there is one) toward the encoder: call
        after a step's last update of the encoder."""
        if self.teacher:
            self.teacher.update()

    def unsupervised_weights(self, labels):
        """Per-example weights of the reconstruction and regularisation updates:
        None (every row), or 1 for the unlabelled rows alone."""
        if self.unsupervised_rows == "all":
            return None
        return 1.0 - losses.labelled(labels)

    def reconstruction_loss(self, x, labels):
        """Encoder and decoder: the reconstruction error (of `unsupervised_rows`)."""
        y, z = self.encoder(self.noisy(x), training=True)
        x_hat = self.decoder([y, z], training=True)
        recon = losses.reconstruction_loss(x, x_hat, self.reconstruction)
        weights = self.unsupervised_weights(labels)
        return Loss(recon, weights, {"recon_loss": (recon, weights)})

    def gauss_inputs(self, z, y):
        """What D_gauss reads for style codes `z` (encoder's or prior's) beside y."""
        if self.conditional_discriminator:
            return [z, ops.stop_gradient(ops.cast(y, z.dtype))]
        return z

    def critic_loss(self, critic, real_inputs, fake_inputs, weights, name):
        """A discriminator (`critic`): prior draws (real) against the encoder's codes.

        Losses per (prior draw, code) pair: a weight drops both.
        """
        real = critic(real_inputs, training=True)
        fake = critic(fake_inputs, training=True)
        d_loss = losses.discriminator_loss(real, fake)
        metrics = {name: (d_loss, weights)}
        if critic is self.discriminator:
            metrics["d_accuracy"] = (losses.discriminator_accuracy(real, fake), weights)
        return Loss(d_loss, weights, metrics)

    def discriminator_steps(self, codes, labels):
        """D_gauss's step on prior draws of z against the encoder's, then D_cat's on
        one-hot draws against y; `codes` is the encoder's `[y, z]`."""
        y, z = codes
        n = ops.shape(z)[0]
        z_real, y_real = self.draw_prior(self.prior, n), self.draw_prior(self.category_prior, n)
        weights = self.unsupervised_weights(labels)
        self.nested_update(
            "discriminator_optimizer", self.critic_loss, self.discriminator,
            self.gauss_inputs(z_real, y), self.gauss_inputs(z, y), weights, "d_loss",
        )
        self.nested_update(
            "category_discriminator_optimizer", self.critic_loss,
            self.category_discriminator, y_real, y, weights, "d_cat_loss",
        )

    def regularization_loss(self, x, labels):
        """D_gauss's and D_cat's steps, then the encoder's loss against both.

        One encoder pass serves the three: the discriminators' steps leave the
        encoder as it was. Its `outputs` is y, which the clustering AAE's
        balance term reads.
        """
        y, z = self.encoder(self.noisy(x), training=True)
        self.discriminator_steps([y, z], labels)
        weights = self.unsupervised_weights(labels)
        g_loss = losses.generator_loss(
            self.discriminator(self.gauss_inputs(z, y), training=True)
        ) + losses.generator_loss(self.category_discriminator(y, training=True))
        return Loss(g_loss, weights, {"g_loss": (g_loss, weights)}, outputs=y)

    def supervised_loss(self, x, labels, target=None, view=None, training=True):
        """The y head: cross-entropy on the labelled rows (label >= 0), plus over
        every row the consistency term against `target` and virtual adversarial
        training's for `view` when given."""
        y, _ = self.encoder(self.noisy(x) if training else x, training=training)
        values, weights = losses.masked_cross_entropy(labels, y), losses.labelled(labels)
        terms, metrics = self.unlabelled_terms(y, target, view)
        loss = Loss(values, weights, {"supervised_loss": (values, weights)})
        return loss.plus(terms, metrics)

    def unlabelled_inputs(self, x):
        """`(target, view)` of `unlabelled_terms` for images `x`, None where the
        term is off; computed before the update, so their passes stay off its tape."""
        target = self.consistency_target(x) if self.consistency_weight else None
        view = self.virtual_adversarial_view(x) if self.virtual_adversarial_weight else None
        return target, view

    def unlabelled_terms(self, y, target=None, view=None):
        """The terms that need no label, each over every row and each when its
        input is given: the consistency term of y against `target`, virtual
        adversarial training's for `view`. Returns `(weighted terms, metrics)`."""
        terms, metrics = [], {}
        if target is not None:
            consistency = losses.consistency_loss(y, target)
            terms.append(self.current_consistency_weight() * consistency)
            metrics["consistency_loss"] = consistency
        if view is not None:
            adversarial = self.virtual_adversarial_loss(view)
            terms.append(self.virtual_adversarial_weight * adversarial)
            metrics["virtual_adversarial_loss"] = adversarial
        return terms, metrics

    def consistency_target(self, x):
        """y for a fresh view of `x` (its own noise, shifts and dropout): the
        consistency term's target, with no gradient; the teacher's when there
        is one, else the encoder's."""
        y, _ = (self.teacher or self.encoder)(self.noisy(x), training=True)
        return ops.stop_gradient(y)

    def current_consistency_weight(self):
        """`consistency_weight`, scaled by the ramp-up at this step (counted by
        `supervised_optimizer.iterations`, kept by a saved model)."""
        if not self.consistency_rampup:
            return self.consistency_weight
        step = self.supervised_optimizer.iterations
        return self.consistency_weight * losses.rampup(step, self.consistency_rampup)

    def classify_inputs(self, x):
        """y for images `x` with the encoder's random layers off."""
        return self.encoder(x, training=False)[0]

    def virtual_adversarial_view(self, x):
        """`(y, x + r)` for virtual adversarial training (see
        `classifier_terms.virtual_adversarial_view`); r from a fresh random direction."""
        direction = self.normal_images(ops.shape(x)[0], dtype=x.dtype)
        return virtual_adversarial_view(
            self.classify_inputs, x, direction, self.virtual_adversarial_radius
        )

    def virtual_adversarial_loss(self, view):
        """Per-example `KL(y(x) || y(x + r))` for a `virtual_adversarial_view`."""
        target, moved = view
        return losses.categorical_kl(target, self.classify_inputs(moved))

    def test_step(self, batch):
        x, labels, _ = keras.utils.unpack_x_y_sample_weight(batch)
        y, z = self.encoder(x, training=False)
        x_hat = self.decoder([y, z], training=False)
        n = ops.shape(z)[0]
        real = self.discriminator(self.gauss_inputs(self.draw_prior(self.prior, n), y))
        fake = self.discriminator(self.gauss_inputs(z, y))
        cat_real = self.category_discriminator(self.draw_prior(self.category_prior, n))
        cat_fake = self.category_discriminator(y)
        self.track("recon_loss", losses.reconstruction_loss(x, x_hat, self.reconstruction))
        self.track("d_loss", losses.discriminator_loss(real, fake))
        self.track("d_accuracy", losses.discriminator_accuracy(real, fake))
        self.track("d_cat_loss", losses.discriminator_loss(cat_real, cat_fake))
        self.track(
            "g_loss", losses.generator_loss(fake) + losses.generator_loss(cat_fake)
        )
        if labels is not None:
            supervised = self.supervised_loss(x, labels, training=False)
            self.track("supervised_loss", *supervised.metrics["supervised_loss"])
        if self.consistency_weight:  # between two training views, as in fit
            # Training passes move the encoder's state (batch normalisation's
            # averages, random layers' seeds); evaluating puts it back.
            state = self.encoder.non_trainable_variables
            kept = [ops.copy(v.value) for v in state]
            view, _ = self.encoder(self.noisy(x), training=True)
            self.track(
                "consistency_loss",
                losses.consistency_loss(view, self.consistency_target(x)),
            )
            for variable, value in zip(state, kept):
                variable.assign(value)
        if self.virtual_adversarial_weight:
            self.track(
                "virtual_adversarial_loss",
                self.virtual_adversarial_loss(self.virtual_adversarial_view(x)),
            )
        return self.results()

    def call(self, inputs, training=False):
        """Class probabilities from the y head, so `predict(x)` classifies; with
        `teacher_decay` > 0, the teacher's."""
        x, _ = self.split_inputs(inputs)
        y, _ = (self.teacher or self.encoder)(x, training=training)
        return y

    def encode(self, x, batch_size=256):
        """Codes `[y (N, num_classes), z (N, latent_dim)]` of images `x`; y sums to 1."""
        return super().encode(x, batch_size=batch_size)

    def classify(self, x, batch_size=256):
        """Class probabilities of images `x`, a float32 array `(N, num_classes)`
        (the teacher's, with `teacher_decay` > 0)."""
        return np.asarray(self.predict(x, batch_size=batch_size, verbose=0), "float32")

    def decode(self, z, labels=None):
        """Images decoded from `[y, z]` (what `encode` returns), or from z and `labels`.

        Args:
            z: `[y, z]`, class probabilities (or one-hot rows) and style codes;
                or the style codes `(N, latent_dim)` alone, with `labels`.
            labels: ints `(N,)` or None. The class to write each z as, when `z`
                holds the style codes alone.
        """
        if isinstance(z, (list, tuple)):
            if len(z) != 2 or labels is not None:
                raise ValueError(
                    "z: expected [y, z] as encode returns it (and no labels), or the "
                    f"style codes alone with labels; got a list of {len(z)}."
                )
            y, z = z
            z = self.checked_codes(z)
            y = np.asarray(y, "float32")
            if y.shape != (len(z), self.num_classes) or not np.all(np.isfinite(y)):
                raise ValueError(
                    f"z: expected y shaped ({len(z)}, {self.num_classes}) (class "
                    f"probabilities, one row per code); got {y.shape}."
                )
        else:
            z = self.checked_codes(z)
            if labels is None:
                raise ValueError(
                    "labels: the decoder needs the class y beside z; pass one label "
                    "per code, or decode the [y, z] that encode returns."
                )
            y = np.eye(self.num_classes, dtype="float32")[self.checked_labels(labels, len(z))]
        images = self.decoder([ops.convert_to_tensor(y), ops.convert_to_tensor(z)], training=False)
        return ops.convert_to_numpy(ops.cast(images, "float32"))

    def sample(self, n, labels=None, seed=None):
        """Decodes `n` prior draws of z as `labels` (default: classes drawn uniformly)."""
        n = check_count(n)
        if labels is None:
            classes = ops.convert_to_numpy(self.category_prior.sample(n, seed=seed))
            labels = classes.argmax(axis=1)
        return self.decode(self.prior.sample(n, seed=seed), labels)

    def get_config(self):
        serialize = keras.saving.serialize_keras_object
        return {
            **super().get_config(),
            "encoder": serialize(self.encoder),
            "decoder": serialize(self.decoder),
            "discriminator": serialize(self.discriminator),
            "category_discriminator": serialize(self.category_discriminator),
            "num_classes": self.num_classes,
            "prior": serialize(self.prior),
            "reconstruction": self.reconstruction,
            "input_noise": self.input_noise,
            "unsupervised_rows": self.unsupervised_rows,
            "conditional_discriminator": self.conditional_discriminator,
            "consistency_weight": self.consistency_weight,
            "consistency_rampup": self.consistency_rampup,
            "teacher_decay": self.teacher_decay,
            "virtual_adversarial_weight": self.virtual_adversarial_weight,
            "virtual_adversarial_radius": self.virtual_adversarial_radius,
        }
