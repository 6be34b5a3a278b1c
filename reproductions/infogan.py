"""Article 002's InfoGAN on MNIST: a label and two continuous codes the generator obeys.

Article 002, "InfoGAN explained and implemented in TensorFlow 2.x" (in Chinese), walks
through InfoGAN after Atienza's "Advanced Deep Learning with
Keras", ch. 6, after Chen et al. 2016, "InfoGAN: Interpretable Representation
Learning by Information Maximizing Generative Adversarial Nets". The generator reads
62 uniform noise values, a one-hot digit and two codes drawn from N(0, 0.5^2); the
discriminator also carries Q, a softmax over the digits and one unit per code
(`keras_latent.InfoGAN`). Each step is one RMSprop(2e-4) update of the discriminator
on 64 real digits and 64 fakes, then one RMSprop(1e-4) update of the generator on 64
fresh fakes; 40000 steps, the article's.

Figures: `grids/` (the article's 4x4 grid every `grid_every` steps, `training.gif`),
`label_sweep.png`, `code_1_sweep.png`, `code_2_sweep.png` (a code swept over [-2, 2]).
metrics.json: label accuracy of generated digits; per code, r with slant and stroke
width within sweep rows and pooled, and `effect` (the move in test-digit SDs);
Frechet distance to the test set; Q's label accuracy on test digits.

Departures of the default recipe (`article`) from the article:
- a logit with `softplus` losses replaces the sigmoid and cross-entropy (the same loss);
- RMSprop's `decay` of 6e-8 is dropped (Keras 3 ignores it; 0.24 % over the run);
- the generator makes the discriminator's fakes with batch statistics, not `predict`;
- batches are shuffled passes over the training set, not draws with replacement.

Recipes (`--recipe NAME`):
- `article` (default): the article's code loss `-c log Q(x)` on sigmoid heads;
- `gaussian_loss`: the InfoGAN paper's Gaussian code loss;
- `paper`: the paper's Gaussian loss and codes drawn from U(-1, 1).

Details, results and what was tried: docs/infogan.md

Usage:
    python reproductions/infogan.py [--recipe article|gaussian_loss|paper] [--epochs N]
    python reproductions/infogan.py --quick
    python reproductions/infogan.py --set KEY=VALUE [--out DIR] [--seed N]
"""

import os
import sys

if __package__ in (None, ""):  # run as a file: make `reproductions` importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

NAME = "infogan"

SETTINGS = {
    "noise_dim": 62,
    "num_codes": 2,
    "code_std": 0.5,
    "code_loss": "article",
    "code_prior": "normal",
    "generator_filters": [128, 64, 32],
    "discriminator_filters": [32, 64, 128, 256],
    "d_learning_rate": 2e-4,
    "g_learning_rate": 1e-4,
    "label_weight": 1.0,
    "code_weight": 0.5,
    "batch_size": 64,
    "steps_per_epoch": 500,
    "epochs": 80,  # 40000 steps, the article's
    "grid_every": 500,
    "train_size": None,
    "evaluation_size": 10000,
    "sweep_rows": 500,
}
RECIPES = {
    # The InfoGAN paper's code loss (a Gaussian log-likelihood) alone.
    "gaussian_loss": {"code_loss": "gaussian"},
    # The InfoGAN paper's code loss and codes drawn from U(-1, 1).
    "paper": {"code_loss": "gaussian", "code_prior": "uniform"},
}
QUICK = {
    "steps_per_epoch": 10, "epochs": 2, "grid_every": 10, "train_size": 3000,
    "evaluation_size": 500, "sweep_rows": 50,
}
TOLERANCES = {
    "default": {"rtol": 0.2},
    "label_accuracy": {"atol": 0.03, "rtol": 0.0},
    "q_test_accuracy": {"atol": 0.03, "rtol": 0.0},
}
TARGETS = {  # the issue's, for the committed run
    "label_accuracy": ">= 0.97",
    "codes": "each |r| >= 0.5 with slant or stroke width, the two codes on different factors",
}
SWEEP = (-2.0, 2.0, 9)  # a code's values across a sweep's columns


def build(settings, image_shape, num_classes, seed):
    import keras

    import keras_latent as kl

    head = "sigmoid" if settings["code_loss"] == "article" else "linear"
    model = kl.InfoGAN(
        kl.build_generator(
            image_shape, settings["noise_dim"], num_classes, settings["num_codes"],
            tuple(settings["generator_filters"]),
        ),
        kl.build_info_discriminator(
            image_shape, num_classes, settings["num_codes"],
            tuple(settings["discriminator_filters"]), code_head=head,
        ),
        code_loss=settings["code_loss"], code_std=settings["code_std"],
        code_prior=settings["code_prior"],
        label_weight=settings["label_weight"], code_weight=settings["code_weight"], seed=seed,
    )
    model.compile(
        discriminator_optimizer=keras.optimizers.RMSprop(settings["d_learning_rate"]),
        generator_optimizer=keras.optimizers.RMSprop(settings["g_learning_rate"]),
    )
    return model


def fixed_inputs(settings, num_classes, n, seed):
    """`n` rows of noise, labels `0, 1, ...` and codes, the same on every call."""
    import numpy as np

    from keras_latent.models.info_gan.info_gan import draw_codes

    rng = np.random.default_rng(seed)
    noise = rng.uniform(-1.0, 1.0, (n, settings["noise_dim"])).astype("float32")
    codes = draw_codes(
        rng, n, settings["num_codes"], settings["code_prior"], settings["code_std"]
    )
    return noise, np.arange(n) % num_classes, codes


def code_sweep(model, noise, labels, code):
    """Images with `code` swept over `SWEEP` in each row, the other codes at 0.

    Returns the images `(rows * columns, H, W, C)`, row by row, and the code's values.
    """
    import numpy as np

    values = np.linspace(*SWEEP).astype("float32")
    rows, columns = len(noise), len(values)
    codes = np.zeros((rows * columns, model.num_codes), "float32")
    codes[:, code] = np.tile(values, rows)
    images = model.generate(
        np.repeat(noise, columns, axis=0), np.repeat(labels, columns), codes
    )
    return images, np.tile(values, rows)


def correlations(values, measured, columns, spread):
    """How a swept code moves a measure: Pearson r within each row and pooled, and
    the size of the move.

    `effect` is the change of the measure across the whole sweep (the within-row
    least-squares slope times the sweep's width) in units of `spread`, the
    measure's standard deviation over real test digits: r says how consistently a
    code moves a factor, `effect` how far. A measure that does not move at all
    (no ink above the stroke threshold, as after a few steps) has no r: None.
    """
    import numpy as np

    def pearson(a, b):
        return float(np.corrcoef(a, b)[0, 1]) if np.std(a) > 0 and np.std(b) > 0 else None

    within = (measured.reshape(-1, columns) - measured.reshape(-1, columns).mean(1, keepdims=True))
    centred_values = values.reshape(-1, columns) - values.reshape(-1, columns).mean(1, keepdims=True)
    slope = np.sum(centred_values * within) / np.sum(centred_values**2)
    return {
        "within_rows": pearson(centred_values.ravel(), within.ravel()),
        "pooled": pearson(values, measured),
        "effect": float(slope * (values.max() - values.min()) / spread),
    }


def main(argv=None):
    from reproductions import _common

    args, settings, started, (x_train, y_train), (x_test, y_test) = _common.begin(
        NAME, __doc__, argv, SETTINGS, QUICK, RECIPES
    )

    import keras
    import numpy as np

    from keras_latent import callbacks, data, evaluation, plotting

    image_shape, num_classes = x_train.shape[1:], int(y_train.max()) + 1
    fresh = build(settings, image_shape, num_classes, args.seed)
    batch = settings["batch_size"]
    dataset = data.make_dataset(
        x_train, y_train, batch_size=batch, seed=args.seed, drop_remainder=True
    ).repeat()
    grid_inputs = fixed_inputs(settings, num_classes, 16, args.seed)
    folder = os.path.join(args.out, "grids")
    grids = callbacks.ImageGrids(
        lambda model: model.generate(*grid_inputs), folder, every=settings["grid_every"],
        ncols=4,
    )
    model = _common.fit_or_resume(
        lambda: fresh, dataset,
        dict(epochs=settings["epochs"], steps_per_epoch=settings["steps_per_epoch"],
             verbose=2, callbacks=[grids]),
        _common.checkpoint_dir(args), "infogan", _common.stamp(settings, args.seed),
    )

    n = settings["evaluation_size"]
    rng = np.random.default_rng(args.seed + 1)
    asked = rng.integers(0, num_classes, n)
    generated = model.sample(n, labels=asked, seed=args.seed + 1)
    classifier = _common.classifier_or_none(args, image_shape, num_classes)
    noise, labels, _ = fixed_inputs(settings, num_classes, settings["sweep_rows"], args.seed + 2)
    columns = SWEEP[2]
    factors = {"slant": evaluation.slant, "stroke_width": evaluation.stroke_width}
    spreads = {name: float(np.std(measure(x_test[:n]))) for name, measure in factors.items()}
    code_metrics, sweeps = {}, []
    for k in range(settings["num_codes"]):
        images, values = code_sweep(model, noise, labels, k)
        sweeps.append(images)
        code_metrics[f"code_{k + 1}"] = {
            name: correlations(values, measure(images), columns, spreads[name])
            for name, measure in factors.items()
        }
    metrics = {
        "label_accuracy": (
            evaluation.classifier_accuracy(generated, asked, classifier) if classifier else None
        ),
        "codes": code_metrics,
        "frechet_distance": {
            "generated_to_test": (
                evaluation.frechet_distance(x_test[:n], generated, classifier)
                if classifier else None
            ),
            "train_to_test": (
                evaluation.frechet_distance(x_test[:n], x_train[:n], classifier)
                if classifier else None
            ),
        },
        "q_test_accuracy": float(np.mean(model.classify(x_test).argmax(1) == y_test)),
        "steps": settings["epochs"] * settings["steps_per_epoch"],
        "batch_size": batch,
        "chance": 1.0 / num_classes,
        "targets": TARGETS,
    }
    print(f"label accuracy {metrics['label_accuracy']}; codes {code_metrics}; "
          f"Frechet {metrics['frechet_distance']}; Q on test {metrics['q_test_accuracy']:.4f}")

    # The GIF joins the frames on disk: a resumed run's holds every leg's.
    gif = callbacks.join_frames(
        folder, "grid", settings["grid_every"], metrics["steps"],
        os.path.join(folder, "training.gif"),
    )
    paths = list(grids.paths) + ([gif] if gif else [])
    shown = min(10, len(noise))
    label_grid = model.generate(
        np.repeat(noise[:shown], num_classes, axis=0),
        np.tile(np.arange(num_classes), shown),
        np.zeros((shown * num_classes, model.num_codes), "float32"),
    )
    paths.append(plotting.save(
        plotting.image_grid(label_grid, ncols=num_classes,
                            col_labels=[str(k) for k in range(num_classes)],
                            title="The label swept, each row one noise (codes at 0)"),
        os.path.join(args.out, "label_sweep.png"),
    ))
    values = np.linspace(*SWEEP)
    for k, images in enumerate(sweeps):
        paths.append(plotting.save(
            plotting.image_grid(
                images[: shown * columns], ncols=columns,
                col_labels=[f"{v:+.1f}" for v in values],
                title=f"Code {k + 1} swept over [-2, 2], each row one noise and digit",
            ),
            os.path.join(args.out, f"code_{k + 1}_sweep.png"),
        ))
    paths.append(
        _common.write_metrics(args.out, NAME, metrics, settings, args, started, TOLERANCES)
    )
    return _common.finish(paths, args)


if __name__ == "__main__":
    main()
