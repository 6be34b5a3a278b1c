"""One small factory per model family, shared by the tests, `tests/mirrored_step.py`
and `benchmarks/run.py`. A new family adds one function here.

Each returns an uncompiled model; sizes default to a tiny, fast network and take the
article's when a benchmark asks (`units=(1000, 1000)`). Imports stay inside the
functions: `mirrored_step` must split the CPU before TensorFlow starts.
"""

IMAGE = (28, 28, 1)


def aae(latent_dim=2, units=(32,), image_shape=IMAGE, variational=False, cls=None, **options):
    """`AdversarialAutoencoder` (or the subclass `cls`); options go to the model."""
    import keras_latent as kl

    cls = cls or kl.AdversarialAutoencoder
    options.setdefault("seed", 0)
    return cls(
        kl.build_encoder(image_shape, latent_dim, units, variational=variational, seed=1),
        kl.build_decoder(image_shape, latent_dim, units),
        kl.build_code_discriminator(latent_dim, units),
        **options,
    )


def supervised_aae(
    latent_dim=3, units=(32,), num_classes=10, conditional_discriminator=False, **options
):
    """The label into the decoder (article 000); `conditional_discriminator`: and
    into the discriminator."""
    import keras_latent as kl

    options.setdefault("seed", 0)
    return kl.SupervisedAdversarialAutoencoder(
        kl.build_encoder(IMAGE, latent_dim, units),
        kl.build_decoder(IMAGE, latent_dim, units, num_classes=num_classes),
        kl.build_code_discriminator(
            latent_dim, units, num_classes=num_classes if conditional_discriminator else None
        ),
        num_classes=num_classes,
        conditional_discriminator=conditional_discriminator,
        **options,
    )


def label_regularized_aae(
    latent_dim=2, units=(32,), num_classes=10, unlabelled_class=False, **options
):
    """The label into the discriminator (article 004); `unlabelled_class`: its (n+1)-way
    semi-supervised form."""
    import keras_latent as kl

    options.setdefault("seed", 0)
    return kl.LabelRegularizedAdversarialAutoencoder(
        kl.build_encoder(IMAGE, latent_dim, units),
        kl.build_decoder(IMAGE, latent_dim, units),
        kl.build_code_discriminator(
            latent_dim, units, num_classes=num_classes + unlabelled_class
        ),
        num_classes=num_classes,
        unlabelled_class=unlabelled_class,
        **options,
    )


def semi_supervised_aae(
    latent_dim=3, units=(32,), num_classes=10, conditional_discriminator=False, **options
):
    """y and z heads, D_gauss and D_cat (article 000); `conditional_discriminator`:
    D_gauss reads y too."""
    import keras_latent as kl

    options.setdefault("seed", 0)
    return kl.SemiSupervisedAdversarialAutoencoder(
        kl.build_encoder(IMAGE, latent_dim, units, num_classes=num_classes),
        kl.build_decoder(IMAGE, latent_dim, units, num_classes=num_classes),
        kl.build_code_discriminator(
            latent_dim, units, num_classes=num_classes if conditional_discriminator else None
        ),
        kl.build_code_discriminator(num_classes, units, name="category_discriminator"),
        num_classes=num_classes,
        conditional_discriminator=conditional_discriminator,
        **options,
    )


def clustering_aae(
    latent_dim=2, units=(32,), num_clusters=16, image_shape=IMAGE, batch_norm=False,
    random_shift=0.0, **options
):
    """The semi-supervised AAE's networks without labels: y clusters (Makhzani et al. 2015)."""
    import keras_latent as kl

    options.setdefault("seed", 0)
    return kl.ClusteringAdversarialAutoencoder(
        kl.build_encoder(
            image_shape, latent_dim, units, num_classes=num_clusters, batch_norm=batch_norm,
            random_shift=random_shift, seed=0,
        ),
        kl.build_decoder(image_shape, latent_dim, units, num_classes=num_clusters),
        kl.build_code_discriminator(latent_dim, units),
        kl.build_code_discriminator(num_clusters, units, name="category_discriminator"),
        num_clusters=num_clusters,
        **options,
    )


def disentangling_ae(
    z_dim=4, s_dim=4, units=(32,), image_shape=IMAGE, num_classes=10, dropout=None, **options
):
    """Enc_s, Enc_z, Dec and three classifiers (article 001); `units=(256, 256)` is its size.

    `dropout`, when given, replaces both the encoders' and the decoder's rate; with
    `z_prior`, Clf_z is a discriminator of `[z, label]`.
    """
    import keras_latent as kl

    options.setdefault("seed", 0)
    built = {} if dropout is None else {"encoder_dropout": dropout, "decoder_dropout": dropout}
    if options.get("z_prior") is not None:  # Clf_z: a discriminator of [z, label]
        built.update(z_discriminator=True, z_classifier_units=units)
    networks = kl.build_disentangling_networks(
        image_shape, num_classes, z_dim=z_dim, s_dim=s_dim, hidden_units=units, seed=1, **built
    )
    return kl.DisentanglingAutoencoder(**networks, **options)


def info_gan(
    noise_dim=8, num_classes=10, num_codes=2, image_shape=IMAGE, g_filters=(16, 8),
    d_filters=(8, 16), q_units=16, code_loss="article", **options
):
    """Generator and discriminator with Q heads (article 002).

    `g_filters=(128, 64, 32)`, `d_filters=(32, 64, 128, 256)`, `q_units=128` and
    `noise_dim=62` are its size.
    """
    import keras_latent as kl

    options.setdefault("seed", 0)
    head = "sigmoid" if code_loss == "article" else "linear"
    return kl.InfoGAN(
        kl.build_generator(image_shape, noise_dim, num_classes, num_codes, g_filters),
        kl.build_info_discriminator(
            image_shape, num_classes, num_codes, d_filters, q_units=q_units, code_head=head
        ),
        code_loss=code_loss,
        **options,
    )


def conditional_vae(latent_dim=2, num_classes=10, image_shape=IMAGE, dropout=0.0, **options):
    """The CVAE article 003 compares its VAE+GAN with; dropout off by default (tests)."""
    import keras_latent as kl

    options.setdefault("seed", 0)
    return kl.ConditionalVAE(
        kl.build_conditional_encoder(image_shape, num_classes, latent_dim, dropout, seed=1),
        kl.build_conditional_decoder(image_shape, num_classes, latent_dim, dropout, seed=2),
        **options,
    )


def vae_gan(latent_dim=2, num_classes=10, image_shape=IMAGE, dropout=0.0, **options):
    """Article 003's VAE+GAN; dropout off by default (tests)."""
    import keras_latent as kl

    options.setdefault("seed", 0)
    return kl.VAEGAN(
        kl.build_conditional_encoder(image_shape, num_classes, latent_dim, dropout, seed=1),
        kl.build_conditional_decoder(image_shape, num_classes, latent_dim, dropout, seed=2),
        kl.build_similarity_discriminator(image_shape, num_classes, dropout, seed=3),
        **options,
    )


def cvae_gan(
    latent_dim=2, num_classes=10, image_shape=IMAGE, dropout=0.0, classifier=True, **options
):
    """The CVAE-GAN (Bao et al. 2017); `classifier=False`: without C (the ablation).
    Dropout in the encoder and decoder, off by default (tests)."""
    import keras_latent as kl

    options.setdefault("seed", 0)
    return kl.CVAEGAN(
        kl.build_conditional_encoder(image_shape, num_classes, latent_dim, dropout, seed=1),
        kl.build_conditional_decoder(image_shape, num_classes, latent_dim, dropout, seed=2),
        kl.build_feature_discriminator(image_shape),
        kl.build_feature_classifier(image_shape, num_classes) if classifier else None,
        **options,
    )
