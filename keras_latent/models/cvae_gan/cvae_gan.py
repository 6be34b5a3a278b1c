"""CVAE-GAN (Bao et al. 2017), the model article 000 names last."""

import keras
from keras import ops

from keras_latent import losses
from keras_latent.checks import check_models, check_network_sizes, check_number
from keras_latent.models.multi_optimizer_model import Loss, all_layers
from keras_latent.models.vae_gan.conditional_vae import ConditionalVAE

ROLES = ("encoder_optimizer", "decoder_optimizer", "discriminator_optimizer", "classifier_optimizer")


@keras.saving.register_keras_serializable(package="keras_latent")
class CVAEGAN(ConditionalVAE):
    """A conditional VAE trained against a discriminator and a classifier.

    Bao, Chen, Wen, Li and Hua, "CVAE-GAN: Fine-Grained Image Generation through
    Asymmetric Training" (ICCV 2017). Four networks, each with its own optimizer:
    an encoder E(x, c), a decoder (the paper's generator G(z, c)), a
    discriminator D returning a real/fake logit and its features f_D, and a
    classifier C returning class logits and its features f_C. With
    `x_f = G(E(x, c), c)` and `x_p = G(z_p, c)` for draws `z_p ~ N(0, I)` and
    the batch's own classes c, per example:

    - `L_D = -(log D(x) + log(1 - D(x_f)) + log(1 - D(x_p)))`;
    - `L_C = -log C(c | x)`, on real images only;
    - `L_KL`, the KL of q(z | x, c) to N(0, I) (summed over z);
    - `L_G = 1/2 (||x - x_f||^2 + ||f_D(x) - f_D(x_f)||^2 + ||f_C(x) - f_C(x_f)||^2)`,
      pairwise feature matching (summed over pixels and features);
    - `L_GD = 1/2 ||mean f_D(x) - mean f_D(x_p)||^2` over the batch, mean
      feature matching;
    - `L_GC = 1/2 sum_c ||centre_c - mean_c f_C(x_p)||^2` over the classes in
      the batch: `centre_c` is a moving average (`centre_decay`) of class c's
      mean f_C over real batches, `mean_c` the batch's generated images of c.

    Every step computes these on one forward pass and updates all four
    networks from it, as the paper's Algorithm 1 does: C on `L_C`, D on `L_D`,
    E on `kl_weight L_KL + pairwise_weight L_G`, G on `pairwise_weight L_G +
    mean_weight L_GD + class_mean_weight L_GC` (the paper's lambda_1 to
    lambda_4: 3, 1, 1e-3, 1e-3). Without a classifier (`classifier=None`) C,
    its update and every f_C term are gone: the ablation that shows what C adds.

    The paper keeps class means as moving averages; it is read here as the real
    images' centres (a batch holds few images of each class) against the
    generated images' batch means, which carry the gradient. The centres' sums
    and weights are saved with the model's weights; `class_centres` reads them.

    D and C read x, x_f and x_p in one batch. Their features are compared in
    the same pass, so a D or C with dropout is read a second time without it
    for the feature terms (independent masks on f(x) and f(x_f) would hide the
    reconstruction, as article 003's VAE+GAN showed).

    `fit` logs the paper's per-image sums (not per pixel, as `ConditionalVAE`
    and `VAEGAN` log theirs): `kl_loss` (L_KL), `recon_loss` (`1/2 ||x -
    x_f||^2`, the pixel part of L_G), `pairwise_loss` (L_G), `mean_loss` (L_GD),
    `class_mean_loss` (L_GC), `d_loss` (L_D), `c_loss` (L_C), and the
    accuracies of D (on x, x_f and x_p) and of C (on x).

    Reference: Bao, Chen, Wen, Li and Hua, "CVAE-GAN: Fine-Grained Image
    Generation through Asymmetric Training", ICCV 2017, arXiv:1703.10155.

    Args:
        encoder, decoder: as for `ConditionalVAE` (`build_conditional_encoder`,
            `build_conditional_decoder`).
        discriminator: `keras.Model` `images -> [logit (batch, 1), features]`,
            e.g. `build_feature_discriminator`.
        classifier: `keras.Model` `images -> [logits (batch, classes),
            features]`, e.g. `build_feature_classifier`, or None.
        kl_weight, pairwise_weight, mean_weight, class_mean_weight: float >= 0.
            The paper's lambda_1 to lambda_4. Default to 3, 1, 1e-3 and 1e-3.
        centre_decay: float in [0, 1). Defaults to 0.9.
        seed: int or None. Seed of the model's random draws.

    Example:

    >>> import keras_latent as kl
    >>> (x, y), _ = kl.data.load_dataset("digits")
    >>> model = kl.CVAEGAN(
    ...     kl.build_conditional_encoder(latent_dim=2), kl.build_conditional_decoder(latent_dim=2),
    ...     kl.build_feature_discriminator(), kl.build_feature_classifier(), seed=0)
    >>> model.compile()
    >>> history = model.fit(x[:256], y[:256], batch_size=64, epochs=1, verbose=0)
    >>> model.sample(3, labels=[1, 2, 3], seed=0).shape
    (3, 28, 28, 1)
    """

    def __init__(
        self,
        encoder,
        decoder,
        discriminator,
        classifier=None,
        kl_weight=3.0,
        pairwise_weight=1.0,
        mean_weight=1e-3,
        class_mean_weight=1e-3,
        centre_decay=0.9,
        seed=None,
        **kwargs,
    ):
        super().__init__(encoder, decoder, kl_weight=kl_weight, seed=seed, **kwargs)
        self.discriminator, self.classifier = discriminator, classifier
        self.check_critics()
        self.pairwise_weight = check_number(pairwise_weight, "pairwise_weight", minimum=0)
        self.mean_weight = check_number(mean_weight, "mean_weight", minimum=0)
        self.class_mean_weight = check_number(class_mean_weight, "class_mean_weight", minimum=0)
        self.centre_decay = check_number(
            centre_decay, "centre_decay", minimum=0, maximum=1, below_maximum=True
        )
        if classifier is not None:
            self.add_trackers("class_mean_loss", "c_loss", "c_accuracy")
            shape = (self.num_classes, int(classifier.outputs[1].shape[-1]))
            self.centre_sums = self.add_weight(
                shape=shape, initializer="zeros", trainable=False,
                aggregation="only_first_replica", name="centre_sums",
            )
            self.centre_weights = self.add_weight(
                shape=shape[:1], initializer="zeros", trainable=False,
                aggregation="only_first_replica", name="centre_weights",
            )

    def tracker_names(self):
        return ("kl_loss", "recon_loss", "pairwise_loss", "mean_loss", "d_loss", "d_accuracy")

    def check_critics(self):
        """Checks the discriminator and the classifier; raises `ValueError` if not."""
        check_models(
            self, ("discriminator",) + (("classifier",) if self.classifier is not None else ())
        )
        for name, width, what in (
            ("discriminator", 1, "a real logit (batch, 1)"),
            ("classifier", self.num_classes, f"class logits (batch, {self.num_classes})"),
        ):
            network = getattr(self, name)
            if network is None:
                continue
            shapes = [tuple(t.shape) for t in network.outputs]
            if (
                len(shapes) != 2 or shapes[0][1:] != (width,)
                or len(shapes[1]) != 2 or shapes[1][-1] is None
            ):
                raise ValueError(
                    f"{name}: expected outputs [{what}, features (batch, n)]; got {shapes}."
                )
            check_network_sizes(
                network, name, [self.image_shape], what="the encoder's input shape"
            )

    @property
    def class_centres(self):
        """The real images' class centres `(classes, features)`, zeros for a class
        not seen yet; None without a classifier."""
        if self.classifier is None:
            return None
        weights = ops.maximum(self.centre_weights, 1e-7)[:, None]
        return ops.convert_to_numpy(self.centre_sums / weights)

    # Training ---------------------------------------------------------------------

    def optimizer_roles(self):
        networks = (self.encoder, self.decoder, self.discriminator, self.classifier)
        return {
            role: network.trainable_variables
            for role, network in zip(ROLES, networks)
            if network is not None
        }

    def default_optimizer(self, role):
        return keras.optimizers.Adam(2e-4, beta_1=0.5)

    def critic(self, network, images, training):
        """`network(images)` and the features to match: read again without dropout
        when the network has some (see the class docstring)."""
        outputs, features = network(images, training=training)
        if training and any(isinstance(l, keras.layers.Dropout) for l in all_layers(network)):
            _, features = network(images, training=False)
        return outputs, features

    def cvae_gan_loss(self, x, targets, training=True):
        """The four networks' losses from one pass, in `ROLES` order (C's last)."""
        n = ops.shape(x)[0]
        z_mean, z_log_var, z = self.encoder([x, targets], training=training)
        decoded = self.decoder(
            [ops.concatenate([z, self.prior_draws(n)]), ops.concatenate([targets, targets])],
            training=training,
        )
        rebuilt = decoded[:n]
        # Every critic reads the three kinds of image in one batch: x, x_f, x_p.
        images = ops.concatenate([x, ops.cast(decoded, x.dtype)])
        logits, d_features = self.critic(self.discriminator, images, training)
        logits = ops.cast(ops.reshape(logits, (-1,)), "float32")
        d_loss = losses.cvae_gan_discriminator_loss(logits[:n], logits[n:2 * n], logits[2 * n:])
        d_right = (ops.cast(logits[:n] > 0, "float32") + ops.cast(logits[n:2 * n] < 0, "float32")
                   + ops.cast(logits[2 * n:] < 0, "float32")) / 3.0
        pairs = [(x, rebuilt), (d_features[:n], d_features[n:2 * n])]
        mean = losses.mean_matching_loss(d_features[:n], d_features[2 * n:])
        kl = self.kl(z_mean, z_log_var)
        metrics = {
            "kl_loss": kl,
            "recon_loss": losses.pairwise_matching_loss(pairs[:1]),
            "mean_loss": mean,
        }
        outputs = [Loss(d_loss, metrics={"d_loss": d_loss, "d_accuracy": d_right})]
        decoder_terms = self.mean_weight * mean
        if self.classifier is not None:
            class_logits, c_features = self.critic(self.classifier, images, training)
            probabilities = ops.softmax(ops.cast(class_logits[:n], "float32"))
            c_loss = losses.cross_entropy(targets, probabilities)
            pairs.append((c_features[:n], c_features[n:2 * n]))
            centres = self.update_centres(c_features[:n], targets, training)
            class_mean = losses.class_mean_matching_loss(centres, c_features[2 * n:], targets)
            decoder_terms += self.class_mean_weight * class_mean
            metrics["class_mean_loss"] = class_mean
            outputs.append(Loss(c_loss, metrics={
                "c_loss": c_loss, "c_accuracy": losses.accuracy(targets, probabilities),
            }))
        pairwise = losses.pairwise_matching_loss(pairs)
        metrics["pairwise_loss"] = pairwise
        encoder = self.kl_weight * kl + self.pairwise_weight * pairwise
        decoder = self.pairwise_weight * pairwise + decoder_terms
        return (Loss(encoder), Loss(decoder, metrics=metrics), *outputs)

    def update_centres(self, features, targets, training):
        """The real images' class centres after this batch (stored when training)."""
        sums, weights, centres = losses.class_centres(
            self.centre_sums, self.centre_weights, features, targets, self.centre_decay
        )
        if training:
            self.centre_sums.assign(sums)
            self.centre_weights.assign(weights)
        return centres

    def train_step(self, batch):
        x, labels, _ = keras.utils.unpack_x_y_sample_weight(batch)
        self.update(tuple(self.optimizer_roles()), self.cvae_gan_loss, x, self.one_hot(labels))
        return self.results()

    def test_step(self, batch):
        x, labels, _ = keras.utils.unpack_x_y_sample_weight(batch)
        for part in self.cvae_gan_loss(x, self.one_hot(labels), training=False):
            self.track_metrics(part.metrics)
        return self.results()

    def get_config(self):
        serialize = keras.saving.serialize_keras_object
        return {
            **super().get_config(),
            "discriminator": serialize(self.discriminator),
            "classifier": None if self.classifier is None else serialize(self.classifier),
            "pairwise_weight": self.pairwise_weight,
            "mean_weight": self.mean_weight,
            "class_mean_weight": self.class_mean_weight,
            "centre_decay": self.centre_decay,
        }
