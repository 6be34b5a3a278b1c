"""The semi-supervised AAE: a softmax head y regularised toward one-hot codes."""

import math
import numbers

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from keras_latent import distribute, losses, priors
from keras_latent.models.aae.adversarial_autoencoder import AdversarialAutoencoder
from keras_latent.models.multi_optimizer_model import check_count, check_network_sizes

# L2 norm of the small random step of the image whose effect on y estimates
# virtual adversarial training's direction (Miyato et al. 2018's xi, 1e-6 in their
# code, whose divergence is computed from logits; the one here from softmax
# outputs, clipped, loses such small differences in float32).
FINITE_DIFFERENCE = 0.1


def _unit_images(d):
    """Each image of `d` scaled to L2 norm 1 (first by its largest value, to stay
    finite)."""
    axes = tuple(range(1, len(d.shape)))
    d = d / (ops.max(ops.abs(d), axis=axes, keepdims=True) + 1e-12)
    return d / ops.sqrt(ops.sum(ops.square(d), axis=axes, keepdims=True) + 1e-12)


@keras.saving.register_keras_serializable(package="keras_latent")
class SemiSupervisedAdversarialAutoencoder(AdversarialAutoencoder):
    """AAE with a categorical code y and a style code z, trained with few labels.

    The encoder outputs `[y, z]`: a softmax over classes and a continuous code.
    The decoder reconstructs from `[y, z]`. Two discriminators regularise the
    codes: `category_discriminator` (D_cat) tells y from one-hot draws of a
    uniform categorical, `discriminator` (D_gauss) tells z from prior draws. Each
    step runs, on every example:

    1. reconstruction: encoder and decoder (`ae_optimizer`);
    2. regularisation: D_gauss (`d_optimizer`), D_cat (`d_cat_optimizer`), then
       the encoder against both (`g_optimizer`);
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
        reconstruction: str. Defaults to `"mse"`, as article 000.
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
        **kwargs: the other `AdversarialAutoencoder` arguments (the schedule is
            always `"paper"`).

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

    def __init__(
        self,
        encoder,
        decoder,
        discriminator,
        category_discriminator,
        num_classes=10,
        prior="gaussian",
        reconstruction="mse",
        unsupervised_rows="all",
        conditional_discriminator=False,
        consistency_weight=0.0,
        consistency_rampup=0,
        teacher_decay=0.0,
        virtual_adversarial_weight=0.0,
        virtual_adversarial_radius=2.0,
        **kwargs,
    ):
        self.conditional_discriminator = bool(conditional_discriminator)
        if (
            isinstance(consistency_weight, bool)
            or not isinstance(consistency_weight, numbers.Real)
            or not (math.isfinite(consistency_weight) and consistency_weight >= 0)
        ):
            raise ValueError(
                "consistency_weight: expected a number >= 0; got "
                f"{consistency_weight!r}."
            )
        self.consistency_weight = float(consistency_weight)
        if isinstance(consistency_rampup, bool) or not (
            isinstance(consistency_rampup, numbers.Integral) and consistency_rampup >= 0
        ):
            raise ValueError(
                "consistency_rampup: expected a whole number of steps >= 0; got "
                f"{consistency_rampup!r}."
            )
        self.consistency_rampup = int(consistency_rampup)
        if (
            isinstance(teacher_decay, bool)
            or not isinstance(teacher_decay, numbers.Real)
            or not 0 <= teacher_decay < 1
        ):
            raise ValueError(
                f"teacher_decay: expected a number in [0, 1); got {teacher_decay!r}."
            )
        if teacher_decay and not consistency_weight:
            raise ValueError(
                "teacher_decay: the teacher gives the consistency term's target; set "
                "consistency_weight > 0 too, or leave teacher_decay at 0."
            )
        self.teacher_decay = float(teacher_decay)
        for name, value, positive in (
            ("virtual_adversarial_weight", virtual_adversarial_weight, False),
            ("virtual_adversarial_radius", virtual_adversarial_radius, True),
        ):
            if (
                isinstance(value, bool)
                or not isinstance(value, numbers.Real)
                or not math.isfinite(value)
                or value < 0
                or (positive and value == 0)
            ):
                raise ValueError(
                    f"{name}: expected a number {'> 0' if positive else '>= 0'}; "
                    f"got {value!r}."
                )
        self.virtual_adversarial_weight = float(virtual_adversarial_weight)
        self.virtual_adversarial_radius = float(virtual_adversarial_radius)
        if unsupervised_rows not in ("all", "unlabelled"):
            raise ValueError(
                "unsupervised_rows: expected 'all' or 'unlabelled'; got "
                f"{unsupervised_rows!r}."
            )
        self.unsupervised_rows = unsupervised_rows
        if kwargs.get("gradient_penalty"):
            raise ValueError(
                "gradient_penalty: the semi-supervised AAE's two discriminators take "
                "no gradient penalty yet; leave it at 0."
            )
        if kwargs.get("schedule", "paper") != "paper":
            raise ValueError(
                "schedule: the semi-supervised AAE runs the paper's schedule; got "
                f"{kwargs['schedule']!r}."
            )
        super().__init__(
            encoder, decoder, discriminator, prior=prior, reconstruction=reconstruction,
            num_classes=num_classes, **kwargs,
        )
        self.category_discriminator = category_discriminator
        check_network_sizes(
            category_discriminator, "category_discriminator", [self.num_classes],
            what="the class count",
        )
        self.category_prior = priors.Categorical(self.num_classes)
        self.add_trackers("d_cat_loss", "supervised_loss")
        if self.consistency_weight:
            self.add_trackers("consistency_loss")
        if self.virtual_adversarial_weight:
            self.add_trackers("virtual_adversarial_loss")
        self.teacher_variables = []
        if self.teacher_decay:
            # The same on every replica (so is the encoder): one replica's update stands.
            for i, variable in enumerate(self.encoder.trainable_variables):
                teacher = self.add_weight(
                    shape=variable.shape, initializer="zeros", dtype=variable.dtype,
                    trainable=False, aggregation="only_first_replica",
                    name=f"teacher_{i}",
                )
                teacher.assign(variable)
                self.teacher_variables.append(teacher)

    # Labels are integers, -1 for an unlabelled example (one-hot rows cannot say so).
    accepts_unlabelled = True
    accepts_one_hot = False

    def code_size(self):
        outputs = self.encoder.outputs
        if len(outputs) != 2 or outputs[0].shape[-1] != self.num_classes:
            raise ValueError(
                f"encoder: expected outputs [y ({self.num_classes},), z]; got "
                f"{[tuple(t.shape) for t in outputs]}."
            )
        return outputs[1].shape[-1]

    def decoder_input_sizes(self):
        return [self.num_classes, self.latent_dim]

    def discriminator_input_sizes(self):
        if self.conditional_discriminator:
            return [self.latent_dim, self.num_classes]
        return super().discriminator_input_sizes()

    def gauss_inputs(self, z, y):
        """What D_gauss reads for style codes `z` (encoder's or prior's) beside y."""
        if self.conditional_discriminator:
            return [z, ops.stop_gradient(ops.cast(y, z.dtype))]
        return z

    def decoder_inputs(self, code, labels):
        return list(code)

    def optimizer_roles(self):
        return {
            **super().optimizer_roles(),
            "d_cat_optimizer": self.category_discriminator.trainable_variables,
            "supervised_optimizer": self.encoder.trainable_variables,
        }

    def compile(
        self,
        ae_optimizer=None,
        d_optimizer=None,
        g_optimizer=None,
        d_cat_optimizer=None,
        supervised_optimizer=None,
        **kwargs,
    ):
        """One optimizer per update; each defaults to `Adam(2e-4, beta_1=0.5)`.

        `d_optimizer` trains D_gauss, `d_cat_optimizer` D_cat, `g_optimizer` the
        encoder against both, `supervised_optimizer` the encoder's y head on
        labelled examples, `ae_optimizer` encoder and decoder on reconstruction.
        """
        super().compile(
            ae_optimizer, d_optimizer, g_optimizer, d_cat_optimizer=d_cat_optimizer,
            supervised_optimizer=supervised_optimizer, **kwargs,
        )

    def unsupervised_weights(self, labels):
        if self.unsupervised_rows == "all" or labels is None:
            return None
        return 1.0 - losses.labelled(labels)

    def category_codes(self, n):
        """`n` one-hot draws of a uniform categorical, D_cat's real examples."""
        return distribute.replica_draws(
            lambda copies: self.category_prior.sample(n * copies, seed=self.seed_generator),
            n,
        )

    def discriminator_update(self, codes, labels):
        """D_gauss on prior draws against z, then D_cat on one-hot draws against y."""
        y_fake, z_fake = codes
        n = ops.shape(z_fake)[0]
        z_real = self.prior_codes(n, None)[0]
        pairs = (
            (
                "d_optimizer", self.discriminator,
                self.gauss_inputs(z_fake, y_fake), self.gauss_inputs(z_real, y_fake),
            ),
            ("d_cat_optimizer", self.category_discriminator, y_fake, self.category_codes(n)),
        )
        # Losses per (prior draw, code) pair: a weight drops both.
        weights = self.unsupervised_weights(labels)
        for role, critic, fake_codes, real_codes in pairs:
            with tf.GradientTape() as tape:
                real = critic(real_codes, training=True)
                fake = critic(fake_codes, training=True)
                d_loss = losses.discriminator_loss(real, fake)
            self.apply_update(role, tape, d_loss, critic.trainable_variables, weights=weights)
            if critic is self.discriminator:
                self.track("d_loss", d_loss, weights=weights)
                self.track(
                    "d_accuracy", losses.discriminator_accuracy(real, fake), weights=weights
                )
            else:
                self.track("d_cat_loss", d_loss, weights=weights)

    def generator_loss(self, codes, labels):
        """The encoder's loss for y and z that the discriminators call fake."""
        y, z = codes
        return losses.generator_loss(
            self.discriminator(self.gauss_inputs(z, y), training=True)
        ) + losses.generator_loss(self.category_discriminator(y, training=True))

    def supervised_loss(self, x, labels, training=True):
        """Per-example cross-entropy of the y head, 0 for unlabelled examples (-1).

        Returns `(values, weights)`: the mean over the labelled examples of the
        global batch is `losses.global_mean(values, weights)`.
        """
        return self.classified(x, labels, training)[1:]

    def classified(self, x, labels, training=True):
        """`(y, cross-entropy, labelled)`: the y head's output for `x` (noisy when
        training) and `supervised_loss`'s two values."""
        y, _ = self.encoder(self.noisy(x) if training else x, training=training)
        return y, losses.masked_cross_entropy(labels, y), losses.labelled(labels)

    def consistency_target(self, x):
        """y for a fresh view of `x` (its own noise, shifts and dropout): the
        consistency term's target, with no gradient. From the teacher's weights
        when `teacher_decay` > 0, else from the encoder's."""
        view = self.noisy(x)
        if self.teacher_decay:
            target, _ = self.teacher(view, training=True)
        else:
            target, _ = self.encoder(view, training=True)
        return ops.stop_gradient(target)

    def teacher(self, x, training=False):
        """`[y, z]` from the encoder's layers run with the teacher's weights (the
        random layers' states move on as after any call of the encoder)."""
        state = self.encoder.non_trainable_variables
        outputs, moved = self.encoder.stateless_call(
            self.teacher_variables, [v.value for v in state], x, training=training
        )
        for variable, value in zip(state, moved):
            variable.assign(value)
        return outputs

    def update_teacher(self):
        """Moves the teacher's weights toward the encoder's by `1 - teacher_decay`."""
        decay = self.teacher_decay
        for teacher, variable in zip(self.teacher_variables, self.encoder.trainable_variables):
            teacher.assign(decay * teacher + (1.0 - decay) * variable)

    def virtual_adversarial_view(self, x):
        """`(y, x + r)`: y for `x` and `x` moved by `virtual_adversarial_radius`
        along the direction that changes y most, both without gradient.

        One step of power iteration (Miyato et al. 2018, sec. 3.3): the gradient
        of `KL(y(x) || y(x + xi d))` for a small random step `xi d` estimates that
        direction. The encoder's random layers are off.
        """
        y, _ = self.encoder(x, training=False)
        y = ops.stop_gradient(y)
        direction = _unit_images(self.normal_images(ops.shape(x)[0], dtype=x.dtype))
        with tf.GradientTape() as tape:
            tape.watch(direction)
            moved, _ = self.encoder(x + FINITE_DIFFERENCE * direction, training=False)
            divergence = ops.sum(losses.categorical_kl(y, moved))
        steepest = ops.stop_gradient(tape.gradient(divergence, direction))
        # Where y did not move at all (saturated, or lost to rounding in low
        # precision), the random direction stands.
        axes = tuple(range(1, len(x.shape)))
        flat = ops.all(ops.equal(steepest, 0), axis=axes, keepdims=True)
        steepest = ops.where(flat, direction, steepest)
        return y, x + self.virtual_adversarial_radius * _unit_images(steepest)

    def virtual_adversarial_loss(self, view):
        """Per-example `KL(y(x) || y(x + r))` for a `virtual_adversarial_view`."""
        target, moved = view
        y, _ = self.encoder(moved, training=False)
        return losses.categorical_kl(target, y)

    def current_consistency_weight(self):
        """`consistency_weight`, scaled by the ramp-up at this step."""
        if not self.consistency_rampup:
            return self.consistency_weight
        step = ops.cast(self.supervised_optimizer.iterations, "float32")
        t = ops.minimum(step / self.consistency_rampup, 1.0)
        return self.consistency_weight * ops.exp(-5.0 * ops.square(1.0 - t))

    def extra_updates(self, x, labels):
        """The supervised phase: the y head's cross-entropy on labelled examples,
        plus, on every example, the consistency term when `consistency_weight` > 0
        and virtual adversarial training's when `virtual_adversarial_weight` > 0."""
        if labels is None:
            raise ValueError(
                "labels: the semi-supervised AAE needs labels (-1 for unlabelled)."
            )
        if self.consistency_weight:  # the targets' passes stay off the tape
            target = self.consistency_target(x)
        if self.virtual_adversarial_weight:
            view = self.virtual_adversarial_view(x)
        with tf.GradientTape() as tape:
            y, values, weights = self.classified(x, labels)
            terms, term_weights = [values], [weights]
            if self.consistency_weight:
                consistency = losses.consistency_loss(y, target)
                terms.append(self.current_consistency_weight() * consistency)
                term_weights.append(None)
            if self.virtual_adversarial_weight:
                adversarial = self.virtual_adversarial_loss(view)
                terms.append(self.virtual_adversarial_weight * adversarial)
                term_weights.append(None)
        self.apply_update(
            "supervised_optimizer", tape, terms, self.encoder.trainable_variables,
            weights=term_weights,
        )
        self.track("supervised_loss", values, weights=weights)
        if self.consistency_weight:
            self.track("consistency_loss", consistency)
        if self.virtual_adversarial_weight:
            self.track("virtual_adversarial_loss", adversarial)
        if self.teacher_decay:  # after the step's last update of the encoder
            self.update_teacher()

    def test_step(self, batch):
        x, labels, _ = keras.utils.unpack_x_y_sample_weight(batch)
        y, z = self.encoder(x, training=False)
        x_hat = self.decoder([y, z], training=False)
        n = ops.shape(z)[0]
        real = self.discriminator(self.gauss_inputs(self.prior_codes(n, None)[0], y))
        fake = self.discriminator(self.gauss_inputs(z, y))
        cat_real = self.category_discriminator(self.category_codes(n))
        cat_fake = self.category_discriminator(y)
        self.track("recon_loss", losses.reconstruction_loss(x, x_hat, self.reconstruction))
        self.track("d_loss", losses.discriminator_loss(real, fake))
        self.track("d_accuracy", losses.discriminator_accuracy(real, fake))
        self.track("d_cat_loss", losses.discriminator_loss(cat_real, cat_fake))
        self.track(
            "g_loss", losses.generator_loss(fake) + losses.generator_loss(cat_fake)
        )
        if labels is not None:
            self.track("supervised_loss", *self.supervised_loss(x, labels, training=False))
        if self.consistency_weight:  # between two training views, as in fit
            view, _ = self.encoder(self.noisy(x), training=True)
            self.track(
                "consistency_loss",
                losses.consistency_loss(view, self.consistency_target(x)),
            )
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
        y, _ = (self.teacher if self.teacher_decay else self.encoder)(x, training=training)
        return y

    def encode(self, x, batch_size=256):
        """Codes `[y (N, num_classes), z (N, latent_dim)]` of images `x`; y sums to 1."""
        return super().encode(x, batch_size=batch_size)

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
        config = super().get_config()
        config.pop("schedule")
        config["unsupervised_rows"] = self.unsupervised_rows
        config["conditional_discriminator"] = self.conditional_discriminator
        config["consistency_weight"] = self.consistency_weight
        config["consistency_rampup"] = self.consistency_rampup
        config["teacher_decay"] = self.teacher_decay
        config["virtual_adversarial_weight"] = self.virtual_adversarial_weight
        config["virtual_adversarial_radius"] = self.virtual_adversarial_radius
        config["category_discriminator"] = keras.saving.serialize_keras_object(
            self.category_discriminator
        )
        return config
