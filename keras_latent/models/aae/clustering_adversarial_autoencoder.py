"""The clustering AAE: the semi-supervised AAE's networks, trained without labels."""

import keras
from keras import ops

from keras_latent import losses
from keras_latent.checks import check_count, check_number
from keras_latent.models.aae.semi_supervised_adversarial_autoencoder import (
    SemiSupervisedAdversarialAutoencoder,
)
from keras_latent.models.classifier_terms import virtual_adversarial_view


# The semi-supervised AAE's options that need labels or a supervised phase.
SEMI_SUPERVISED_ONLY = (
    "num_classes", "unsupervised_rows", "conditional_discriminator", "consistency_rampup",
)


@keras.saving.register_keras_serializable(package="keras_latent")
class ClusteringAdversarialAutoencoder(SemiSupervisedAdversarialAutoencoder):
    """AAE whose categorical code y sorts unlabelled images into clusters.

    The semi-supervised AAE's networks and its first two phases, with no
    supervised phase and no labels anywhere: the encoder outputs `[y, z]`, y a
    softmax over `num_clusters`; `category_discriminator` (D_cat) holds y to
    one-hot draws of a uniform categorical, so each image goes to one cluster
    (one y at a time: it does not see whether every cluster is used, which
    `balance_weight` adds); `discriminator` (D_gauss) holds the style
    z to its prior; the decoder reconstructs from `[y, z]`. With a small z, the
    decoder needs y to say what z cannot, and y comes to name the digit (or a
    style of it). Each step:

    1. reconstruction: encoder and decoder (`autoencoder_optimizer`);
    2. regularisation: D_gauss (`discriminator_optimizer`), D_cat
       (`category_discriminator_optimizer`), then the encoder against both
       (`generator_optimizer`), from one encoder pass; with `balance_weight`,
       the encoder's loss adds that times `losses.cluster_balance_loss`, which
       spreads each batch over the clusters (not in the paper: D_cat judges
       one y at a time, so a y that is one-hot passes whichever cluster it
       names, and clusters can go unused); with `consistency_weight` or
       `virtual_adversarial_weight`, their terms too, which make y hold under
       small changes of the image (not in the paper either).

    `fit(x)` takes images alone: it refuses a `y`, and leaves a dataset's labels
    unread (with a warning). `predict(x)` returns
    cluster probabilities q(y | x), `clusters(x)` each image's cluster; to name
    the clusters with a few labelled images, see
    `keras_latent.evaluation.cluster_labels`.

    Args:
        encoder: `keras.Model`. Images to `[y (num_clusters,), z (latent_dim,)]`,
            e.g. `build_encoder(..., num_classes=16)`.
        decoder: `keras.Model`. `[y, z]` to images, e.g.
            `build_decoder(..., num_classes=16)`.
        discriminator: `keras.Model`. D_gauss, z to one logit.
        category_discriminator: `keras.Model`. D_cat, y to one logit, e.g.
            `build_code_discriminator(latent_dim=16, name="category_discriminator")`.
        num_clusters: int >= 2. Defaults to 16.
        prior: str or `Prior` for z. Defaults to `"gaussian"`.
        reconstruction: str. `"bce"`, `"mse"` or `"mae"`. Defaults to `"mse"`.
        input_noise: float >= 0. Standard deviation of Gaussian noise added to
            the encoder's input in every training update (the target stays
            clean). Defaults to 0.
        balance_weight: float >= 0. Weight of the balance term in the
            encoder's regularisation loss (above; logged as `balance_loss`).
            Defaults to 0, the paper's model.
        consistency_weight: float >= 0. Adds to the encoder's regularisation
            loss this weight times the squared distance between y and y for a
            fresh view of the image (its own input noise, and the encoder's
            shifts, rotations and dropout when it has them), the second view
            held fixed: the semi-supervised AAE's consistency term, over
            unlabelled images alone. Defaults to 0 (off).
        teacher_decay: float in [0, 1). When above 0, the consistency term's
            target comes from a mean teacher, the encoder with a running
            average of its weights, updated after each step's last update of
            the encoder; `predict`, `classify` and `clusters` then read the
            teacher (see `SemiSupervisedAdversarialAutoencoder`). Needs
            `consistency_weight` > 0. Defaults to 0 (off).
        virtual_adversarial_weight: float >= 0. Adds to the encoder's
            regularisation loss this weight times `KL(y(x) || y(x + r))`, r of
            norm `virtual_adversarial_radius` the step that moves y most
            (virtual adversarial training, as in IMSAT, Hu et al. 2017); y read
            as `virtual_adversarial_view` says. Defaults to 0 (off).
        virtual_adversarial_radius: float > 0. The L2 norm of r over each
            image's pixels. Defaults to 2.0.
        seed: int or None. Seed of the model's random draws.
        **kwargs: passed to `keras.Model` (`name`, `dtype`).

    Example:

    >>> import keras_latent as kl
    >>> (x, y), (x_test, y_test) = kl.data.load_dataset("digits")
    >>> aae = kl.ClusteringAdversarialAutoencoder(
    ...     kl.build_encoder(x.shape[1:], latent_dim=2, hidden_units=(64,), num_classes=16),
    ...     kl.build_decoder(x.shape[1:], latent_dim=2, hidden_units=(64,), num_classes=16),
    ...     kl.build_code_discriminator(latent_dim=2, hidden_units=(64,)),
    ...     kl.build_code_discriminator(latent_dim=16, hidden_units=(64,)),
    ...     num_clusters=16, seed=0)
    >>> aae.compile()
    >>> history = aae.fit(x, epochs=1, batch_size=64, verbose=0)
    >>> aae.clusters(x_test).shape
    (359,)

    Reference:
        Makhzani et al. 2015, sec. 6 (unsupervised clustering), table 3, fig. 9;
        the consistency term: Laine & Aila 2017; virtual adversarial training:
        Miyato et al. 2018, and Hu et al. 2017 (IMSAT) for clustering.
    """

    takes_y = False

    def __init__(
        self,
        encoder,
        decoder,
        discriminator,
        category_discriminator,
        num_clusters=16,
        prior="gaussian",
        reconstruction="mse",
        input_noise=0.0,
        balance_weight=0.0,
        consistency_weight=0.0,
        teacher_decay=0.0,
        virtual_adversarial_weight=0.0,
        virtual_adversarial_radius=2.0,
        seed=None,
        **kwargs,
    ):
        for key in SEMI_SUPERVISED_ONLY:
            if key in kwargs:
                raise ValueError(
                    f"{key}: the clustering AAE has no supervised phase or labels, so "
                    f"it takes no {key} (SemiSupervisedAdversarialAutoencoder does)."
                )
        num_clusters = check_count(num_clusters, "num_clusters")
        if num_clusters < 2:
            raise ValueError(f"num_clusters: expected at least 2; got {num_clusters}.")
        balance_weight = check_number(balance_weight, "balance_weight", minimum=0.0)
        super().__init__(
            encoder,
            decoder,
            discriminator,
            category_discriminator,
            num_classes=num_clusters,
            prior=prior,
            reconstruction=reconstruction,
            input_noise=input_noise,
            consistency_weight=consistency_weight,
            teacher_decay=teacher_decay,
            virtual_adversarial_weight=virtual_adversarial_weight,
            virtual_adversarial_radius=virtual_adversarial_radius,
            seed=seed,
            **kwargs,
        )
        self.balance_weight = balance_weight
        if balance_weight:
            self.add_trackers("balance_loss")

    @property
    def num_clusters(self):
        return self.num_classes

    def optimizer_roles(self):
        roles = super().optimizer_roles()
        del roles["supervised_optimizer"]
        return roles

    def train_step(self, batch):
        x = keras.utils.unpack_x_y_sample_weight(batch)[0]  # a dataset's labels stay out
        self.update("autoencoder_optimizer", self.reconstruction_loss, x, None)
        target, view = self.unlabelled_inputs(x)
        self.update("generator_optimizer", self.regularization_loss, x, None, target, view)
        self.update_teacher()
        return self.results()

    def regularization_loss(self, x, labels, target=None, view=None):
        """The semi-supervised AAE's regularisation, plus the terms that are on:
        `balance_weight` times the balance term of the batch's y, the
        consistency term against `target` and virtual adversarial training's
        for `view`."""
        loss = super().regularization_loss(x, labels)
        terms, metrics = self.unlabelled_terms(loss.outputs, target, view)
        if self.balance_weight:
            balance = losses.cluster_balance_loss(loss.outputs)
            terms.insert(0, self.balance_weight * balance)
            metrics["balance_loss"] = balance
        return loss.plus(terms, metrics)

    def test_step(self, batch):
        x = keras.utils.unpack_x_y_sample_weight(batch)[0]
        results = super().test_step(x)
        if not self.balance_weight:
            return results
        y, _ = self.encoder(x, training=False)
        self.track("balance_loss", losses.cluster_balance_loss(y))
        return self.results()

    def virtual_adversarial_view(self, x):
        """`(y, x + r, state)` for virtual adversarial training, y read as a
        training pass reads it (`training_pass_y`) in the encoder's present
        `state`, which the term's own pass of `x + r` reads again.

        Read with batch normalisation's moving averages instead, as the
        semi-supervised AAE reads it, the encoder learns to hold y still under
        the averages alone: all but a few test images fall in one cluster while
        the training batches spread over all of them (docs/aae_guide.md).
        """
        state = [ops.copy(v.value) for v in self.encoder.non_trainable_variables]
        direction = self.normal_images(ops.shape(x)[0], dtype=x.dtype)
        y, moved = virtual_adversarial_view(
            lambda images: self.training_pass_y(images, state), x, direction,
            self.virtual_adversarial_radius,
        )
        return y, moved, state

    def virtual_adversarial_loss(self, view):
        """Per-example `KL(y(x) || y(x + r))` for a `virtual_adversarial_view`."""
        target, moved, state = view
        return losses.categorical_kl(target, self.training_pass_y(moved, state))

    def training_pass_y(self, x, state):
        """y for images `x` from the encoder in training mode with its
        non-trainable `state` (batch normalisation on the batch's own statistics,
        as Miyato et al.'s code reads it; random layers drawing from `state`'s
        seeds), moving none of the encoder's variables."""
        encoder = self.encoder
        (y, _), _ = encoder.stateless_call(
            [v.value for v in encoder.trainable_variables], state, x, training=True
        )
        return y

    def clusters(self, x, batch_size=256):
        """The cluster of each image `x`: the argmax of q(y | x), ints `(N,)`."""
        return self.classify(x, batch_size=batch_size).argmax(axis=1)

    def sample(self, n, clusters=None, seed=None):
        """Decodes `n` prior draws of z as `clusters` (default: drawn uniformly);
        the semi-supervised AAE's `labels`, named for what they are here."""
        n = check_count(n)
        if clusters is not None:
            clusters = self.checked_labels(clusters, n, name="clusters")
        return super().sample(n, labels=clusters, seed=seed)

    def get_config(self):
        # The semi-supervised AAE's keys, less the options this model refuses.
        config = super().get_config()
        config["num_clusters"] = config["num_classes"]
        config["balance_weight"] = self.balance_weight
        for key in SEMI_SUPERVISED_ONLY:
            del config[key]
        return config
