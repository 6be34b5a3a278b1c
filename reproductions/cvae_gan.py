"""The CVAE-GAN of Bao et al. (2017) on MNIST, beside a CVAE and the CVAE-GAN without C.

Article 000 ends on a heading, "CVAE-GAN", and its reference: Bao, Chen, Wen, Li
and Hua, "CVAE-GAN: Fine-Grained Image Generation through Asymmetric Training"
(ICCV 2017). A conditional VAE whose decoder (the paper's generator) also trains
against a discriminator and a classifier through feature matching
(`keras_latent.CVAEGAN`): the paper's four losses and weights (3, 1, 1e-3, 1e-3),
every network updated from one pass. The encoder and decoder are article 003's,
so the comparison with its CVAE is on equal networks; the discriminator and the
classifier share article 003's discriminator trunk. Three models: `cvae_gan`,
`no_classifier` (no C, no f_C terms: what C adds) and `cvae` (article 003's
conditional VAE, at the same length).

Figures: `samples_<model>.png` (a row per class, the same z down each column),
`reconstructions.png` (test digits, then each model's), `transfer.png` (test
digits written as every class), `walk.png` (lines in z for one class) and
`grids/samples.gif` (samples through training), both of the first model of
`models` (the CVAE-GAN by default).
metrics.json, per model: the digit classifier's accuracy on generated digits
against the asked class (the paper's top-1), its Frechet distance to the test set,
an Inception-style score from the digit classifier, transfer accuracy,
reconstructions read as their own label, pixel error; the training set's Frechet
distance and score beside them.

Departures of the default recipe (`article`) from the paper:
- networks sized for MNIST (the paper's are for 128x128 faces): see above;
- the paper's optimizer is not in the text we follow: Adam 2e-4, beta_1 0.5 (DCGAN's);
- class means: a moving average (decay 0.9) of the real images' class centres
  against the generated batch's class means;
- z drawn for x_p is decoded with the batch's own classes.

Recipes: `article` (the paper's weights), `strong_matching` (L_GD and L_GC at 0.1,
100x the paper's: at 1e-3 the decoded prior draws get almost no gradient of their own).

Details, results and what was tried: docs/cvae_gan.md

Usage:
    python reproductions/cvae_gan.py [--epochs N] [--out DIR] [--seed N]
    python reproductions/cvae_gan.py --quick
"""

import os
import sys

if __package__ in (None, ""):  # run as a file: make `reproductions` importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

NAME = "cvae_gan"

SETTINGS = {
    "models": ["cvae_gan", "no_classifier", "cvae"],
    "latent_dim": 8,
    "dropout": 0.3,  # the encoder's and decoder's, article 003's
    "critic_dropout": 0.0,
    "kl_weight": 3.0,  # the paper's lambda_1 to lambda_4
    "pairwise_weight": 1.0,
    "mean_weight": 1e-3,
    "class_mean_weight": 1e-3,
    "centre_decay": 0.9,
    "learning_rate": 2e-4,
    "beta_1": 0.5,
    "cvae_learning_rate": 1e-3,  # article 003's
    "batch_size": 64,
    "steps_per_epoch": 500,
    "epochs": 40,  # 20000 steps; the paper gives no MNIST length
    "grid_every": 500,
    "walk_label": 7,
    "train_size": None,
    "evaluation_size": 10000,
}
QUICK = {
    "steps_per_epoch": 10, "epochs": 1, "grid_every": 5, "train_size": 2000,
    "evaluation_size": 300,
}
RECIPES = {
    # The x_p terms at 100x the paper's weights. At 1e-3 their gradients on the
    # decoder are 1/2900 (L_GD) and 1/100 (L_GC) of L_G's on MNIST, so decoded prior
    # draws learn almost only through the reconstructions (docs/cvae_gan.md).
    "strong_matching": {"mean_weight": 0.1, "class_mean_weight": 0.1},
}
TOLERANCES = {"default": {"rtol": 0.2}}
TARGETS = {  # the issue's, for the committed run
    "generated_label_accuracy": "cvae_gan >= 0.98, no_classifier no higher",
    "frechet_distance": "cvae_gan below the cvae",
    "transfer_accuracy": "cvae_gan >= 0.95",
    "reconstruction_accuracy": "cvae_gan >= 0.97",
}
# Settings that only choose which models a run trains (not in the models' stamps).
SELECTORS = ("models",)
KINDS = ("cvae_gan", "no_classifier", "cvae")
WALKS, WALK_STEPS = 8, 10


def check_models(settings):
    """Refuses an unknown or repeated model name before anything is built or printed."""
    models = settings["models"]
    if not models or not set(models) <= set(KINDS) or len(set(models)) != len(models):
        raise ValueError(
            f"models: expected some of {list(KINDS)}, each at most once; got {models!r}."
        )


def build(kind, settings, image_shape, num_classes, seed):
    """The `"cvae_gan"`, `"no_classifier"` or `"cvae"` model, compiled."""
    import keras

    import keras_latent as kl

    latent_dim, dropout = settings["latent_dim"], settings["dropout"]
    encoder = kl.build_conditional_encoder(image_shape, num_classes, latent_dim, dropout, seed=seed)
    decoder = kl.build_conditional_decoder(image_shape, num_classes, latent_dim, dropout, seed=seed)
    if kind == "cvae":
        model = kl.ConditionalVAE(encoder, decoder, seed=seed)
        model.compile(autoencoder_optimizer=keras.optimizers.RMSprop(settings["cvae_learning_rate"]))
        return model
    critic = settings["critic_dropout"]
    classifier = (
        kl.build_feature_classifier(image_shape, num_classes, critic, seed=seed)
        if kind == "cvae_gan" else None
    )
    model = kl.CVAEGAN(
        encoder, decoder, kl.build_feature_discriminator(image_shape, critic, seed=seed),
        classifier, kl_weight=settings["kl_weight"],
        pairwise_weight=settings["pairwise_weight"], mean_weight=settings["mean_weight"],
        class_mean_weight=settings["class_mean_weight"],
        centre_decay=settings["centre_decay"], seed=seed,
    )
    model.compile(**{
        role: keras.optimizers.Adam(settings["learning_rate"], beta_1=settings["beta_1"])
        for role in model.optimizer_roles()
    })
    return model


def fixed_codes(settings, num_classes, seed):
    """`(z, labels)`: the same 10 draws of z for every class, a row per class."""
    import numpy as np

    z = np.random.default_rng(seed).normal(size=(10, settings["latent_dim"])).astype("float32")
    return np.tile(z, (num_classes, 1)), np.repeat(np.arange(num_classes), 10)


def walk(model, label, settings, seed):
    """`WALKS` straight lines between pairs of z draws, decoded as `label`."""
    import numpy as np

    rng = np.random.default_rng(seed)
    ends = rng.normal(size=(2, WALKS, 1, settings["latent_dim"]))
    t = np.linspace(0, 1, WALK_STEPS)[None, :, None]
    z = ((1 - t) * ends[0] + t * ends[1]).reshape(-1, settings["latent_dim"]).astype("float32")
    return model.decode(z, [label] * len(z))


def measure(model, x_test, y_test, n, num_classes, classifier, seed):
    """The reproduction's measures of one model on the first `n` test digits."""
    import numpy as np

    from keras_latent import evaluation

    x, y = x_test[:n], y_test[:n]
    rebuilt = model.reconstruct(x, y)
    asked = np.arange(n) % num_classes
    generated = model.sample(n, labels=asked, seed=seed + 1)
    targets = (y + 1 + np.arange(n) % (num_classes - 1)) % num_classes  # never its own
    row = {"pixel_mse": float(np.mean((rebuilt - x) ** 2))}
    if classifier is not None:
        moved = model.transfer(x, y, targets)
        row.update({
            "generated_label_accuracy": evaluation.classifier_accuracy(generated, asked, classifier),
            "frechet_distance": evaluation.frechet_distance(x, generated, classifier),
            "classifier_score": evaluation.classifier_score(generated, classifier),
            "transfer_accuracy": evaluation.classifier_accuracy(moved, targets, classifier),
            "reconstruction_accuracy": evaluation.classifier_accuracy(rebuilt, y, classifier),
        })
    return row


def main(argv=None):
    from reproductions import _common

    args, settings, started, (x_train, y_train), (x_test, y_test) = _common.begin(
        NAME, __doc__, argv, SETTINGS, QUICK, RECIPES, adjust=check_models
    )

    import keras
    import numpy as np

    from keras_latent import callbacks, data, evaluation, plotting

    image_shape, num_classes = x_train.shape[1:], int(y_train.max()) + 1
    if num_classes < 2:
        raise ValueError(f"y: expected at least two classes to write digits as; got {num_classes}.")
    classifier = _common.classifier_or_none(args, image_shape, num_classes)
    n = min(settings["evaluation_size"], len(x_test))
    steps = settings["epochs"] * settings["steps_per_epoch"]
    grids = os.path.join(args.out, "grids")
    z, z_labels = fixed_codes(settings, num_classes, args.seed + 2)
    models, metrics, paths = {}, {}, []
    for kind in settings["models"]:
        print(f"\n== {kind}")
        keras.utils.set_random_seed(args.seed)
        fresh = build(kind, settings, image_shape, num_classes, args.seed)
        dataset = data.make_dataset(
            x_train, y_train, batch_size=settings["batch_size"], seed=args.seed,
            drop_remainder=True,
        ).repeat()
        animated = kind == settings["models"][0]
        given = [callbacks.ImageGrids(
            lambda model: model.decode(z, z_labels), grids, every=settings["grid_every"],
            ncols=10, prefix=f"samples_{kind}",
        )] if animated else []
        model = _common.fit_or_resume(
            lambda fresh=fresh: fresh, dataset,
            dict(epochs=settings["epochs"], steps_per_epoch=settings["steps_per_epoch"],
                 verbose=2, callbacks=given),
            _common.checkpoint_dir(args), kind,
            _common.stamp(settings, args.seed, SELECTORS, kind=kind),
        )
        models[kind] = model
        paths += [p for c in given for p in c.paths]
        if animated:
            gif = callbacks.join_frames(  # every leg's frames, from the disk
                grids, f"samples_{kind}", settings["grid_every"], steps,
                os.path.join(grids, "samples.gif"),
            )
            if gif is not None:
                paths.append(gif)
        metrics[kind] = measure(model, x_test, y_test, n, num_classes, classifier, args.seed)
        print(kind, metrics[kind])
    if classifier is not None:
        metrics["training_set"] = {
            "frechet_distance": evaluation.frechet_distance(x_test[:n], x_train[:n], classifier),
            "classifier_score": evaluation.classifier_score(x_train[:n], classifier),
        }
    metrics["steps"] = steps
    metrics["batch_size"] = settings["batch_size"]
    metrics["targets"] = TARGETS

    for kind, model in models.items():
        paths.append(plotting.save(
            plotting.image_grid(
                model.decode(z, z_labels), ncols=10,
                row_labels=[str(k) for k in range(num_classes)],
                title=f"{kind}: a row per class, the same z down each column",
            ),
            os.path.join(args.out, f"samples_{kind}.png"),
        ))
    shown = 10
    rows, labels = [x_test[:shown]], ["original"]
    for kind, model in models.items():
        rows.append(model.reconstruct(x_test[:shown], y_test[:shown]))
        labels.append(kind)
    paths.append(plotting.save(
        plotting.image_grid(np.concatenate(rows), ncols=shown, row_labels=labels,
                            title="Test digits and their reconstructions"),
        os.path.join(args.out, "reconstructions.png"),
    ))
    rows, labels = [], []
    for kind, model in models.items():
        for i in range(3):
            moved = model.transfer(
                np.repeat(x_test[i:i + 1], num_classes, axis=0),
                [y_test[i]] * num_classes, np.arange(num_classes),
            )
            rows.append(np.concatenate([x_test[i:i + 1], moved]))
            labels.append(kind)
    paths.append(plotting.save(
        plotting.image_grid(
            np.concatenate(rows), ncols=num_classes + 1, row_labels=labels,
            col_labels=["x"] + [str(k) for k in range(num_classes)],
            title="Test digits written as every class",
        ),
        os.path.join(args.out, "transfer.png"),
    ))
    label = settings["walk_label"] % num_classes
    first = settings["models"][0]
    paths.append(plotting.save(
        plotting.image_grid(
            walk(models[first], label, settings, args.seed + 3), ncols=WALK_STEPS,
            title=f"{first}: {WALKS} straight lines in z between two draws, class {label}",
        ),
        os.path.join(args.out, "walk.png"),
    ))
    paths.append(
        _common.write_metrics(args.out, NAME, metrics, settings, args, started, TOLERANCES)
    )
    return _common.finish(paths, args)


if __name__ == "__main__":
    main()
