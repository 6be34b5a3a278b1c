"""Adversarial autoencoders with four priors on MNIST (article 004).

Reproduces "Adversarial Autoencoders", a blog post in Chinese (article 004, 2016), a walk
through Makhzani et al., "Adversarial Autoencoders" (2015, arXiv:1511.05644), with a
2-D code. Part 1: one AAE per prior (Gaussian, mixture of 10 Gaussians, swiss roll,
uniform), q(z) of the test set beside p(z) (paper fig. 2). Part 2: the one-hot label
also goes to the discriminator and each prior draw carries the class of its component
(mixture, swiss roll, uniform; paper fig. 6). Part 3, which the paper describes
(sec. 4) and the article leaves unbuilt: an (n+1)-way label whose extra class marks
an unlabelled image, on the mixture, with 10 % of the labels. Networks as in the
paper's appendix A: encoder 784-1000-1000-2, decoder 2-1000-1000-784 sigmoid,
discriminator 2-1000-1000-1; batch 100; a reconstruction, a discriminator and a
generator update per batch; binary cross-entropy reconstruction.

Figures and metrics.json, into the output folder:
- `prior_<name>.png`, `latent_grid_<name>.png`: p(z) by component beside q(z) by
  digit, and the decoded latent plane, for each prior.
- `supervised_prior_<name>.png`, `supervised_samples_<name>.png` and their
  `semi_supervised_` twins: p(z) beside q(z); ten decoded draws per component.
- Per model, on 5000 held-out test images: energy distance and MMD of q(z) to p(z),
  precision and recall, test BCE and MSE; parts 2-3 also the share of test codes in
  their own class's component and the digit classifier's reading of the draws.

Departures of the default recipe from the article and the paper:
- Optimizer (the article names none; the paper's SGD gave NaN here): Adam(beta_1=0.5),
  2e-4 for reconstruction, 1e-3 (5x) for the discriminator and generator, every rate
  decayed along a cosine to 5 %.
- 10 epochs (6000 steps) a model; the paper trains longer.
- Prior shapes, which the paper does not give: `keras_latent.priors`' defaults.
- Part 3: 100 unlabelled beside 100 labelled images a step.

Recipes: `article` (the default); `tuned` adds an R1 penalty (gamma 1; Mescheder et
al. 2018) to the unsupervised mixture's and swiss roll's discriminators, which keeps
those games balanced at the 5x rate.

Details, results and what was tried: docs/aae_priors.md

Usage:
    python reproductions/aae_priors.py [--recipe tuned] [--quick] [--out DIR] [--seed N]
    python -m keras_latent.compare DIR    # a run against its reference
"""

import math
import os
import sys

if __package__ in (None, ""):  # run as a file: make `reproductions` importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

NAME = "aae_priors"

SETTINGS = {
    "priors": ["gaussian", "mixture", "swiss_roll", "uniform"],
    "latent_dim": 2,
    "hidden_units": [1000, 1000],
    "schedule": "paper",
    "reconstruction": "bce",
    "learning_rate": 2e-4,
    # Discriminator and generator (the regularisation phase) step 5x faster than
    # the reconstruction, as in the paper (SGD: 0.1 against 0.01).
    "adversarial_learning_rate": 1e-3,
    # Every rate falls along a cosine to this share of itself by the last step.
    "final_learning_rate": 0.05,
    "beta_1": 0.5,
    "batch_size": 100,
    "epochs": 10,
    "train_size": None,
    "eval_size": 5000,
    # R1 weight on the discriminator, by prior (none for the others).
    "gradient_penalty": {},
    "supervised_priors": ["mixture", "swiss_roll", "uniform"],
    "supervised_epochs": 10,
    # Part 3: the (n+1)-way label, on this share of labelled training images; each
    # step sees `batch_size` images with their labels hidden beside
    # `labelled_batch_size` labelled ones.
    "semi_supervised_priors": ["mixture"],
    "label_share": 0.1,
    "labelled_batch_size": 100,
    "semi_supervised_epochs": 10,
}
RECIPES = {
    # An R1 penalty on the discriminator of the mixture and swiss-roll runs (Mescheder
    # et al. 2018, in neither the article nor the paper), which keeps those games
    # balanced at the 5x regularisation rate.
    "tuned": {"gradient_penalty": {"swiss_roll": 1.0, "mixture": 1.0}},
}
QUICK = {
    "epochs": 2, "supervised_epochs": 2, "semi_supervised_epochs": 1, "train_size": 2000,
    "eval_size": 1000,
}
# Settings that only choose which models a run trains (not in the models' stamps).
SELECTORS = ("priors", "supervised_priors", "semi_supervised_priors")
# How far a fresh full run may stray from the committed reference (keras_latent.compare):
# adversarial training wanders from epoch to epoch, so the distances get wide bounds.
TOLERANCES = {
    "default": {"rtol": 0.1},
    "energy_distance": {"atol": 0.1, "rtol": 0.0},
    "mmd": {"atol": 0.05, "rtol": 0.0},
    "precision": {"atol": 0.1, "rtol": 0.0},
    "recall": {"atol": 0.1, "rtol": 0.0},
    "test_bce": {"rtol": 0.05},
    "test_mse": {"rtol": 0.15},
    "share_in_own_component": {"atol": 0.05, "rtol": 0.0},
    "sample_accuracy": {"atol": 0.05, "rtol": 0.0},
}


def build_model(
    settings, prior, image_shape, seed, num_classes=None, gradient_penalty=0.0, steps=None,
    unlabelled_class=False,
):
    """The paper's AAE; with `num_classes`, the label also goes to the discriminator
    (with `unlabelled_class`, as an (n+1)-way one-hot whose last class marks an
    unlabelled image).

    With `steps`, the training steps of the run, every rate follows a cosine from
    `learning_rate` down to `final_learning_rate` times itself.
    """
    import keras

    import keras_latent as kl

    units = tuple(settings["hidden_units"])
    dim = settings["latent_dim"]
    networks = (
        kl.build_encoder(image_shape, latent_dim=dim, hidden_units=units),
        kl.build_decoder(image_shape, latent_dim=dim, hidden_units=units),
        kl.build_code_discriminator(
            latent_dim=dim, hidden_units=units,
            num_classes=None if num_classes is None else num_classes + unlabelled_class,
        ),
    )
    options = dict(
        prior=prior, schedule=settings["schedule"],
        reconstruction=settings["reconstruction"], gradient_penalty=gradient_penalty,
        seed=seed,
    )
    if num_classes is None:
        model = kl.AdversarialAutoencoder(*networks, **options)
    else:
        model = kl.LabelRegularizedAdversarialAutoencoder(
            *networks, num_classes=num_classes, unlabelled_class=unlabelled_class, **options
        )

    def adam(rate):
        if steps:
            rate = keras.optimizers.schedules.CosineDecay(
                rate, steps, alpha=settings["final_learning_rate"]
            )
        return keras.optimizers.Adam(rate, beta_1=settings["beta_1"])

    adversarial = settings["adversarial_learning_rate"]
    model.compile(
        autoencoder_optimizer=adam(settings["learning_rate"]),
        discriminator_optimizer=adam(adversarial),
        generator_optimizer=adam(adversarial),
    )
    return model


def evaluate(model, x_test, y_test, seed, labelled=False):
    """Codes, prior draws and the metrics of one trained (or fresh) model.

    With `labelled`, p(z) is drawn class by class with the test labels, so q(z) is
    compared with the mixture it should match, and the share of codes inside their
    own class's component is reported too.
    """
    import keras
    import numpy as np

    from keras_latent import evaluation, losses

    codes = model.encode(x_test)
    labels = y_test if labelled else None
    draws = keras.ops.convert_to_numpy(
        model.prior.sample(len(x_test), labels=labels, seed=seed)
    )
    recon = model.predict(x_test, batch_size=500, verbose=0)
    metrics = {
        "energy_distance": evaluation.energy_distance(codes, draws),
        "mmd": evaluation.mmd(codes, draws, bandwidth=1.0),
        # Shape, which the distances barely see: share of codes on p(z)'s support
        # and of prior draws on q(z)'s.
        **dict(zip(("precision", "recall"), evaluation.precision_recall(codes, draws))),
        "test_bce": float(np.mean(losses.reconstruction_loss(x_test, recon, "bce"))),
        "test_mse": float(np.mean((x_test - recon) ** 2)),
    }
    if labelled:
        metrics["share_in_own_component"] = evaluation.share_in_own_component(
            codes, y_test, model.prior
        )
    return codes, draws, metrics


def main(argv=None):
    from reproductions import _common

    args, settings, started, (x_train, y_train), (x_test, y_test) = _common.begin(
        NAME, __doc__, argv, SETTINGS, QUICK, RECIPES
    )

    import keras
    import numpy as np

    from keras_latent import plotting

    rng = np.random.default_rng(args.seed)
    held_out = rng.permutation(len(x_test))[: settings["eval_size"]]
    x_eval, y_eval = x_test[held_out], y_test[held_out]

    metrics, paths = {"unsupervised": {}, "supervised": {}}, []
    print("\n==== part 1: unsupervised, four priors")
    for i, name in enumerate(settings["priors"]):
        seed = args.seed + i
        model, initial = train_unsupervised(args, settings, i, name, x_train, (x_eval, y_eval))
        codes, draws, result = evaluate(model, x_eval, y_eval, seed)
        result["energy_distance_init"] = initial["energy_distance"]
        metrics["unsupervised"][name] = result
        print(f"   {name}: " + ", ".join(f"{k} {v:.4f}" for k, v in result.items()))

        prior = model.prior
        draw_labels = None
        if prior.num_classes is not None:
            draw_labels = np.arange(len(x_eval)) % prior.num_classes
            draws = keras.ops.convert_to_numpy(
                prior.sample(len(x_eval), labels=draw_labels, seed=seed)
            )
        paths.append(plotting.save(
            plotting.prior_vs_posterior(
                draws, codes, y_eval, prior_labels=draw_labels,
                title=f"AAE, {name} prior: p(z) beside q(z) "
                f"(energy distance {result['energy_distance']:.3f})",
            ),
            os.path.join(args.out, f"prior_{name}.png"),
        ))
        low, high = np.quantile(draws, [0.01, 0.99])
        paths.append(plotting.save(
            plotting.latent_grid(
                model.decode, extent=(low, high), n=15,
                title=f"AAE, {name} prior: decoded latent plane",
            ),
            os.path.join(args.out, f"latent_grid_{name}.png"),
        ))

    paths += supervised_part(args, settings, (x_train, y_train), (x_eval, y_eval), metrics)
    paths.append(
        _common.write_metrics(args.out, NAME, metrics, settings, args, started, TOLERANCES)
    )
    return _common.finish(paths, args)


def train_unsupervised(args, settings, i, name, x_train, held_out):
    """Part 1 for one prior: `(trained or loaded model, metrics at initialisation)`."""
    import keras

    seed = args.seed + i
    keras.utils.set_random_seed(seed)  # each prior's run repeats on its own
    penalty = settings["gradient_penalty"].get(name, 0.0)
    epochs = settings["epochs"]
    fresh = build_model(
        settings, name, x_train.shape[1:], seed, gradient_penalty=penalty,
        steps=_steps(settings, epochs, x_train),
    )
    _, _, initial = evaluate(fresh, *held_out, seed)
    print(f"\n== prior {name}: energy distance at initialisation "
          f"{initial['energy_distance']:.4f}")
    model = _fit(args, settings, f"aae_{name}", lambda: fresh, epochs, seed, x_train)
    return model, initial


def train_supervised(args, settings, i, name, x_train, y_train):
    """Part 2 for one prior: the trained (or loaded) label-regularized AAE."""
    import keras

    seed = args.seed + 10 + i
    keras.utils.set_random_seed(seed)
    num_classes = int(y_train.max()) + 1
    epochs = settings["supervised_epochs"]
    print(f"\n== supervised, prior {name}")
    return _fit(
        args, settings, f"supervised_aae_{name}",
        lambda: build_model(
            settings, name, x_train.shape[1:], seed, num_classes,
            steps=_steps(settings, epochs, x_train),
        ),
        epochs, seed, x_train, y_train,
    )


def train_semi_supervised(args, settings, i, name, x_train, y_train):
    """Part 3 for one prior: the (n+1)-way label on `label_share` of the labels."""
    import keras

    import keras_latent as kl

    seed = args.seed + 20 + i
    keras.utils.set_random_seed(seed)
    num_classes = int(y_train.max()) + 1
    per_class = max(1, round(settings["label_share"] * len(y_train) / num_classes))
    partial = kl.data.hide_labels(
        y_train, labels_per_class=per_class, num_classes=num_classes, seed=seed
    )
    batches = kl.data.semi_supervised_dataset(
        x_train, partial, batch_size=settings["batch_size"],
        labelled_batch_size=settings["labelled_batch_size"], seed=seed,
    )
    epochs = settings["semi_supervised_epochs"]
    print(f"\n== semi-supervised, (n+1)-way label, prior {name}: "
          f"{int(sum(partial >= 0))} labelled images")
    return _fit(
        args, settings, f"semi_supervised_aae_{name}",
        lambda: build_model(
            settings, name, x_train.shape[1:], seed, num_classes,
            steps=_steps(settings, epochs, x_train), unlabelled_class=True,
        ),
        epochs, seed, batches,
    )


def _steps(settings, epochs, x_train):
    return epochs * math.ceil(len(x_train) / settings["batch_size"])


def _fit(args, settings, tag, build, epochs, seed, x_train, y_train=None):
    """`build()`'s model trained for `epochs` on arrays (or a dataset of batches), or
    its finished checkpoint of the same settings (`_common.fit_or_resume`)."""
    from reproductions import _common

    stamp = _common.stamp(settings, seed, SELECTORS)
    batching = {} if hasattr(x_train, "element_spec") else {"batch_size": settings["batch_size"]}
    return _common.fit_or_resume(
        build,
        x_train,
        dict(epochs=epochs, verbose=2, **batching),
        _common.checkpoint_dir(args),
        tag,
        stamp=stamp,
        y=y_train,
    )


def supervised_part(args, settings, train, held_out, metrics):
    """Parts 2 and 3: the label goes to the discriminator; one prior component per
    digit. Part 2 with every label, part 3 with `label_share` of them (the
    (n+1)-way label)."""
    from reproductions import _common

    import numpy as np

    from keras_latent import evaluation, plotting

    (x_train, y_train), (x_eval, y_eval) = train, held_out
    num_classes = int(y_train.max()) + 1
    classifier = _common.classifier_or_none(args, x_train.shape[1:], num_classes)
    share = f"{100 * settings['label_share']:g} % of the labels"
    parts = (
        ("supervised", "Supervised AAE", train_supervised, 10,
         "\n==== part 2: supervised, label into the discriminator"),
        ("semi_supervised", f"(n+1)-way label, {share}", train_semi_supervised, 20,
         f"\n==== part 3: semi-supervised, (n+1)-way label, {share}"),
    )
    paths = []
    for kind, heading, train_one, offset, banner in parts:
        print(banner)
        metrics.setdefault(kind, {})
        for i, name in enumerate(settings[f"{kind}_priors"]):
            seed = args.seed + offset + i
            model = train_one(args, settings, i, name, x_train, y_train)
            codes, draws, result = evaluate(model, x_eval, y_eval, seed, labelled=True)
            # Ten draws from each class's own component, decoded: row k should show k.
            asked = np.repeat(np.arange(num_classes), 10)
            samples = model.sample(len(asked), labels=asked, seed=seed)
            if classifier is not None:
                result["sample_accuracy"] = evaluation.classifier_accuracy(
                    samples, asked, classifier
                )
            metrics[kind][name] = result
            print(f"   {name}: " + ", ".join(f"{k} {v:.4f}" for k, v in result.items()))
            paths.append(plotting.save(
                plotting.prior_vs_posterior(
                    draws, codes, y_eval, prior_labels=y_eval,
                    title=f"{heading}, {name} prior: p(z) by component beside q(z) by "
                    f"digit ({100 * result['share_in_own_component']:.1f} % in their own "
                    "component)",
                ),
                os.path.join(args.out, f"{kind}_prior_{name}.png"),
            ))
            paths.append(plotting.save(
                plotting.image_grid(
                    samples, ncols=10,
                    row_labels=[f"component {k}" for k in range(num_classes)],
                    title=f"{heading}, {name} prior: decoded draws, one row per component",
                ),
                os.path.join(args.out, f"{kind}_samples_{name}.png"),
            ))
    return paths



if __name__ == "__main__":
    main()
