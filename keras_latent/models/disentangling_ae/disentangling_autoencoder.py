"""An autoencoder whose code splits into s (the label) and z (the rest), article 001."""

import keras
import numpy as np
from keras import ops

from keras_latent import data, losses, priors
from keras_latent.checks import (
    check_codes,
    check_images,
    check_models,
    check_network_sizes,
    check_number,
)
from keras_latent.models.multi_optimizer_model import Loss, MultiOptimizerModel

NETWORKS = (
    "s_encoder", "z_encoder", "decoder", "s_classifier", "z_classifier", "image_classifier",
)


@keras.saving.register_keras_serializable(package="keras_latent")
class DisentanglingAutoencoder(MultiOptimizerModel):
    """Autoencoder with code `[z, s]`: s holds the label, z everything else.

    Article 001's model, after Mathieu et al. 2016's idea of an adversarial
    classifier on the unlabelled part of the code. Six networks: encoders
    `s = Enc_s(x)` and `z = Enc_z(x)`, a decoder `Dec([z, s])`, and three
    softmax classifiers: `Clf_s` on s, `Clf_z` on z (the adversary) and
    `Clf_x` on images (the judge of decoded swaps). Each training step runs
    three updates, each with its own optimizer on its own networks:

    1. `supervised_optimizer` (Adam) on Enc_s, Clf_s and Clf_x: the
       cross-entropy of `Clf_s(Enc_s(x))` and of `Clf_x(x)` against the label;
    2. `z_classifier_optimizer` (SGD 0.001) on Clf_z alone, `clf_z_steps`
       times: the cross-entropy of `Clf_z(Enc_z(x))` against the label;
    3. `autoencoder_optimizer` (Adam) on Enc_z and Dec:
       `reconstruction_weight` x binary cross-entropy of `Dec([Enc_z(x),
       Enc_s(x)])` against x, `adversarial_weight` x cross-entropy of
       `Clf_z(Enc_z(x))` against the uniform `1 / classes` row (z must leave
       Clf_z unsure), and `swap_weight` x cross-entropy of
       `Clf_x(Dec([Enc_z(x), Enc_s(x')]))` against the label of another image
       x' (the decoded swap must read as x'’s digit).

    With `z_prior` (a name such as `"gaussian"`, or a `keras_latent.priors.Prior`)
    the adversary matches q(z | label) to that one prior instead, as the AAE's
    conditional discriminator does: `z_classifier` is then a discriminator of
    `[z, one-hot label]` returning one logit (real = a prior draw), such as
    `build_disentangling_networks`'s with `z_discriminator=True`. Step 2 teaches it
    prior draws from codes, each paired with the same labels, and step 3's
    second term is the encoder's loss for codes it calls drawn
    (`softplus(-logit)`). A z that holds the label, or a collapsed z, looks
    unlike the prior draws for some label; fooling one classifier does not rule
    out either.

    The article draws a fresh random batch for every update (one, three, and
    two for the last: x and x'). With `fresh_batches=True` (the default) each
    batch `fit` receives is cut into those `draws_per_step` equal parts, so
    pass `draws_per_step` times the article's batch, or train on
    `training_dataset(x, y)`; with `fresh_batches=False` every update reuses
    the one batch, and x' is that batch shifted by one example. Part i holds
    every `draws_per_step`-th example from the i-th; under a distribution
    strategy, a global batch that is a multiple of `draws_per_step` times the
    replica count gives the same updates on any number of replicas. The article's
    frozen sub-models become the variables each update names; Enc_s, Enc_z and
    the decoder keep dropout on in every update, as the article's
    `train_on_batch` calls do.

    Labels are integers in `[0, classes)` or one-hot rows.

    Args:
        s_encoder, z_encoder, decoder, s_classifier, z_classifier,
            image_classifier: `keras.Model`s, e.g. from
            `build_disentangling_networks`.
        clf_z_steps: int. Updates of Clf_z per step. Defaults to 3.
        reconstruction_weight: float. Defaults to 10.
        adversarial_weight: float. Defaults to 10.
        swap_weight: float. Defaults to 1.
        fresh_batches: bool. Cut each batch into one part per update (see
            above). Defaults to True.
        z_prior: None, str or `Prior`. With a prior, Clf_z is a
            discriminator of `[z, label]` against its draws (see above).
            Defaults to None (the article's classifier).
        seed: int or None. Seed of the model's random draws.

    Example:

    >>> import keras_latent as kl
    >>> (x, y), _ = kl.data.load_dataset("digits")
    >>> model = kl.DisentanglingAutoencoder(
    ...     **kl.build_disentangling_networks(z_dim=4, s_dim=4, hidden_units=(32,)), seed=0)
    >>> model.draws_per_step
    6
    >>> model.compile()
    >>> history = model.fit(x[:600], y[:600], batch_size=6 * 50, epochs=2, verbose=0)
    >>> s, z = model.encode(x[:5])
    >>> s.shape, z.shape
    ((5, 4), (5, 4))
    >>> model.swap(x[:3], x[3:6]).shape
    (3, 28, 28, 1)
    """

    accepts_one_hot = True

    def __init__(
        self,
        s_encoder,
        z_encoder,
        decoder,
        s_classifier,
        z_classifier,
        image_classifier,
        clf_z_steps=3,
        reconstruction_weight=10.0,
        adversarial_weight=10.0,
        swap_weight=1.0,
        fresh_batches=True,
        z_prior=None,
        seed=None,
        **kwargs,
    ):
        super().__init__(seed=seed, **kwargs)
        self.s_encoder, self.z_encoder, self.decoder = s_encoder, z_encoder, decoder
        self.s_classifier, self.z_classifier = s_classifier, z_classifier
        self.image_classifier = image_classifier
        self.clf_z_steps = check_number(clf_z_steps, "clf_z_steps", minimum=0, integer=True)
        self.reconstruction_weight = check_number(
            reconstruction_weight, "reconstruction_weight", minimum=0
        )
        self.adversarial_weight = check_number(adversarial_weight, "adversarial_weight", minimum=0)
        self.swap_weight = check_number(swap_weight, "swap_weight", minimum=0)
        self.fresh_batches = bool(fresh_batches)
        self.num_classes = int(s_classifier.output_shape[-1])
        check_models(self, NETWORKS)
        self.z_prior = (
            None if z_prior is None else priors.get(z_prior, dim=self.z_dim, name="z_prior")
        )
        self.check_networks()
        adversary = (
            ("clf_z_loss", "clf_z_accuracy", "z_uniform_loss") if self.z_prior is None
            else ("d_z_loss", "d_z_accuracy", "z_prior_loss")
        )
        self.add_trackers(
            "s_loss", "s_accuracy", "x_loss", "x_accuracy", adversary[0], adversary[1],
            "recon_loss", adversary[2], "swap_loss", "swap_accuracy",
        )
        self.built = True

    # Sizes ------------------------------------------------------------------------

    @property
    def image_shape(self):
        return tuple(self.s_encoder.input_shape[1:])

    @property
    def s_dim(self):
        return self.s_encoder.output_shape[-1]

    @property
    def z_dim(self):
        return self.z_encoder.output_shape[-1]

    @property
    def draws_per_step(self):
        """Batches one step uses: 1 + `clf_z_steps` + 2 with fresh batches, else 1."""
        return 1 + self.clf_z_steps + 2 if self.fresh_batches else 1

    def check_networks(self):
        """Checks that the six networks' sizes agree; raises `ValueError` if not."""
        check_models(self, NETWORKS)
        for name in ("s_encoder", "z_encoder"):
            outputs = getattr(self, name).outputs
            if len(outputs) != 1 or len(outputs[0].shape) != 2:
                raise ValueError(
                    f"{name}: expected one output shaped (batch, code size); got "
                    f"{[tuple(t.shape) for t in outputs]}."
                )
        image = self.image_shape
        check_network_sizes(self.z_encoder, "z_encoder", [image], what="s_encoder's input")
        check_network_sizes(
            self.decoder, "decoder", [self.z_dim, self.s_dim],
            what="z_encoder's and s_encoder's code sizes",
        )
        check_network_sizes(
            self.decoder, "decoder", [image], inputs=False, what="the encoders' input shape"
        )
        self.check_z_classifier()
        classifiers = {
            "s_classifier": (self.s_dim, "s_encoder's code size"),
            "image_classifier": (image, "the encoders' input shape"),
        }
        if self.z_prior is None:  # a discriminator's sizes: check_z_classifier
            classifiers["z_classifier"] = (self.z_dim, "z_encoder's code size")
        for name, (size, what) in classifiers.items():
            check_network_sizes(getattr(self, name), name, [size], what=what)
        # The class count most classifiers share, so that the error names the odd one out.
        counts = {name: getattr(self, name).outputs[0].shape[-1] for name in classifiers}
        shared = max(counts.values(), key=list(counts.values()).count)
        agreeing = " and ".join(name for name, count in counts.items() if count == shared)
        for name in classifiers:
            check_network_sizes(
                getattr(self, name), name, [shared], inputs=False,
                what=f"the class count of {agreeing}",
            )

    def check_z_classifier(self):
        """Checks that Clf_z fits `z_prior`: a discriminator of `[z, label]` with one."""
        if self.z_prior is None:
            if len(self.z_classifier.inputs) != 1:
                raise ValueError(
                    "z_classifier: expected a classifier of z alone (a discriminator of "
                    "[z, label] needs z_prior); got inputs "
                    f"{[tuple(t.shape) for t in self.z_classifier.inputs]}."
                )
            return
        what = "z_encoder's code size and the class count"
        check_network_sizes(
            self.z_classifier, "z_classifier", [self.z_dim, self.num_classes], what=what
        )
        check_network_sizes(
            self.z_classifier, "z_classifier", [1], inputs=False,
            what="one logit (a discriminator, with z_prior)",
        )

    # Training ---------------------------------------------------------------------

    def optimizer_roles(self):
        return {
            "supervised_optimizer": self.s_encoder.trainable_variables
            + self.s_classifier.trainable_variables
            + self.image_classifier.trainable_variables,
            "z_classifier_optimizer": self.z_classifier.trainable_variables,
            "autoencoder_optimizer": self.z_encoder.trainable_variables
            + self.decoder.trainable_variables,
        }

    def default_optimizer(self, role):
        if role == "z_classifier_optimizer":
            return keras.optimizers.SGD(0.001)
        return keras.optimizers.Adam()  # Keras' defaults, as the article's 'adam'

    def training_dataset(self, x, y, batch_size=128, seed=None):
        """A repeating dataset whose elements hold the `draws_per_step` batches of a step.

        Train on it with `steps_per_epoch=len(x) // batch_size` for the
        article's epochs (each of its steps draws `draws_per_step` batches).

        Args:
            x: images `(N, H, W, C)` in [0, 1]; y: labels `(N,)` or one-hot.
            batch_size: int. The batch of each update. Defaults to 128.
            seed: int or None. Seed of the shuffle.
        """
        return data.make_dataset(
            x, y, batch_size=batch_size * self.draws_per_step, seed=seed, drop_remainder=True,
        ).repeat()

    def _draws(self, x, targets):
        """The step's batches: `draws_per_step` equal parts of `x` (and targets)."""
        if not self.fresh_batches:
            return [(x, targets)] * (1 + self.clf_z_steps + 2)
        n = ops.shape(x)[0]
        size = ops.maximum(n // self.draws_per_step, 1)
        parts = []
        for i in range(self.draws_per_step):
            # Every draws_per_step-th example: when each replica's share of the batch
            # is a multiple of draws_per_step, the replicas' parts make up the
            # global batch's, so a step does the same maths on any replica count.
            # Modulo n: a batch smaller than the draws still gives each a part.
            index = (ops.arange(size) * self.draws_per_step + i) % n
            parts.append((ops.take(x, index, axis=0), ops.take(targets, index, axis=0)))
        return parts

    def _other(self, x, targets):
        """x' and its targets: the next example's (fresh_batches=False, evaluate)."""
        return ops.roll(x, 1, axis=0), ops.roll(targets, 1, axis=0)

    def supervised_loss(self, x, targets, training=True):
        """Enc_s, Clf_s and Clf_x: the label from s, and from the image."""
        s_probabilities = self.s_classifier(self.s_encoder(x, training=training))
        x_probabilities = self.image_classifier(x, training=training)
        s_loss = losses.cross_entropy(targets, s_probabilities)
        x_loss = losses.cross_entropy(targets, x_probabilities)
        return Loss(s_loss + x_loss, metrics={
            "s_loss": s_loss,
            "s_accuracy": losses.accuracy(targets, s_probabilities),
            "x_loss": x_loss,
            "x_accuracy": losses.accuracy(targets, x_probabilities),
        })

    def z_classifier_loss(self, x, targets, training=True):
        """Clf_z alone: the label from z (Enc_z frozen here, its dropout on); with
        `z_prior`, prior draws from z, both paired with the labels."""
        z = ops.stop_gradient(self.z_encoder(x, training=training))
        if self.z_prior is not None:
            drawn = self.draw_prior(self.z_prior, ops.shape(z)[0])
            real = self.z_classifier([drawn, targets], training=training)
            fake = self.z_classifier([z, targets], training=training)
            values = losses.discriminator_loss(real, fake)
            return Loss(values, metrics={
                "d_z_loss": values, "d_z_accuracy": losses.discriminator_accuracy(real, fake)
            })
        probabilities = self.z_classifier(z, training=training)
        values = losses.cross_entropy(targets, probabilities)
        return Loss(values, metrics={
            "clf_z_loss": values, "clf_z_accuracy": losses.accuracy(targets, probabilities)
        })

    def autoencoder_loss(self, x, targets, other_x, other_targets, training=True):
        """Enc_z and Dec: reconstruction, Clf_z's uniform target on z (or, with
        `z_prior`, z called a prior draw), and the swap (z of x with s of x' must
        read as x''s label)."""
        z = self.z_encoder(x, training=training)
        s = self.s_encoder(x, training=training)
        x_hat = self.decoder([z, s], training=training)
        reconstruction = losses.reconstruction_loss(x, x_hat, "bce")
        if self.z_prior is None:
            probabilities = self.z_classifier(z, training=training)
            uniform = ops.ones_like(probabilities) / self.num_classes
            adversarial = ("z_uniform_loss", losses.cross_entropy(uniform, probabilities))
        else:
            logits = self.z_classifier([z, targets], training=training)
            adversarial = ("z_prior_loss", losses.generator_loss(logits))
        swapped = self.decoder([z, self.s_encoder(other_x, training=training)], training=training)
        swap_probabilities = self.image_classifier(swapped, training=training)
        swap = losses.cross_entropy(other_targets, swap_probabilities)
        values = (
            self.reconstruction_weight * reconstruction
            + self.adversarial_weight * adversarial[1]
            + self.swap_weight * swap
        )
        return Loss(values, metrics={
            "recon_loss": reconstruction,
            adversarial[0]: adversarial[1],
            "swap_loss": swap,
            "swap_accuracy": losses.accuracy(other_targets, swap_probabilities),
        })

    def train_step(self, batch):
        x, labels, _ = keras.utils.unpack_x_y_sample_weight(batch)
        draws = self._draws(x, self.one_hot(labels))
        self.update("supervised_optimizer", self.supervised_loss, *draws[0])
        for i in range(self.clf_z_steps):
            self.update("z_classifier_optimizer", self.z_classifier_loss, *draws[1 + i])
        own, other = draws[-2], draws[-1]
        if not self.fresh_batches:
            other = self._other(*draws[-1])
        self.update("autoencoder_optimizer", self.autoencoder_loss, *own, *other)
        return self.results()

    def test_step(self, batch):
        x, labels, _ = keras.utils.unpack_x_y_sample_weight(batch)
        targets = self.one_hot(labels)
        self.track_metrics(self.supervised_loss(x, targets, training=False).metrics)
        self.track_metrics(self.z_classifier_loss(x, targets, training=False).metrics)
        other = self._other(x, targets)
        self.track_metrics(
            self.autoencoder_loss(x, targets, *other, training=False).metrics
        )
        return self.results()

    # Inference ---------------------------------------------------------------------

    def call(self, inputs, training=False):
        """Reconstructs images, so `predict(x)` gives reconstructions."""
        x, _ = self.split_inputs(inputs)
        z = self.z_encoder(x, training=training)
        return self.decoder([z, self.s_encoder(x, training=training)], training=training)

    def _predict(self, network, x, batch_size=256):
        return np.asarray(network.predict(x, batch_size=batch_size, verbose=0), "float32")

    def encode(self, x, batch_size=256):
        """`(s, z)` of images `x`: float32 arrays `(N, s_dim)` and `(N, z_dim)`."""
        check_images(x, shape=self.image_shape)
        return (
            self._predict(self.s_encoder, x, batch_size),
            self._predict(self.z_encoder, x, batch_size),
        )

    def decode(self, s, z):
        """Images decoded from codes `s` `(N, s_dim)` and `z` `(N, z_dim)`."""
        s = check_codes(s, self.s_dim, "s", what="s_encoder's code size")
        z = check_codes(z, self.z_dim, "z", what="z_encoder's code size")
        if len(s) != len(z):
            raise ValueError(f"z: expected one z per s ({len(s)}); got {len(z)}.")
        images = self.decoder([ops.convert_to_tensor(z), ops.convert_to_tensor(s)])
        return ops.convert_to_numpy(ops.cast(images, "float32"))

    def swap(self, content_images, style_images):
        """The digits of `content_images` (their s) written as `style_images` (their z).

        Image i of the result is `Dec([Enc_z(style_images[i]), Enc_s(content_images[i])])`.
        """
        check_images(content_images, name="content_images", shape=self.image_shape)
        check_images(style_images, name="style_images", shape=self.image_shape)
        if len(content_images) != len(style_images):
            raise ValueError(
                f"style_images: expected one per content image ({len(content_images)}); "
                f"got {len(style_images)}."
            )
        s = self._predict(self.s_encoder, content_images)
        z = self._predict(self.z_encoder, style_images)
        return self.decode(s, z)

    def classify(self, x, batch_size=256):
        """Class probabilities `Clf_s(Enc_s(x))`, a float32 array `(N, classes)`."""
        s, _ = self.encode(x, batch_size)
        return self._predict(self.s_classifier, s, batch_size)

    # Serialization -----------------------------------------------------------------

    def get_config(self):
        serialize = keras.saving.serialize_keras_object
        return {
            **super().get_config(),
            **{name: serialize(getattr(self, name)) for name in NETWORKS},
            "clf_z_steps": self.clf_z_steps,
            "reconstruction_weight": self.reconstruction_weight,
            "adversarial_weight": self.adversarial_weight,
            "swap_weight": self.swap_weight,
            "fresh_batches": self.fresh_batches,
            "z_prior": None if self.z_prior is None else serialize(self.z_prior),
        }
