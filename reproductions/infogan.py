"""Article 002's InfoGAN on MNIST: a label and two continuous codes the generator obeys.

Article 002 (`shared/seeds/002_b474e03dda5d7bd8.txt`, after Atienza's "Advanced Deep
Learning with Keras", ch. 6) trains an InfoGAN whose generator reads 62 uniform noise
values, a one-hot digit and two codes drawn from N(0, 0.5^2), and whose
discriminator also carries Q: a softmax over the digits and one sigmoid unit per
code. Model, as in the article (`keras_latent.InfoGAN`): generator Dense(7*7*128),
then (BatchNorm, ReLU, Conv2DTranspose 5x5) with 128 (stride 2), 64 (stride 2), 32
and 1 filters, sigmoid; discriminator (LeakyReLU 0.2, Conv2D 5x5) with 32, 64, 128
(stride 2) and 256 filters, a real/fake output and Q on a Dense(128). Per step one
RMSprop(2e-4) update of the discriminator on 64 real digits (their labels, random
codes) and 64 fakes, then one RMSprop(1e-4) update of the generator on 64 fresh
fakes; loss weights 1 (real/fake), 1 (label), 0.5 (codes). The article trains
40000 steps of batch 64: the default here.

Figures, into the output folder:
- `grids/`: the article's 4x4 grid of fixed noise, labels and codes every
  `grid_every` steps, and `training.gif` of them;
- `label_sweep.png`: one row per fixed noise, one column per digit;
- `code_1_sweep.png`, `code_2_sweep.png`: one row per fixed noise and digit,
  the code swept over [-2, 2] across the columns, the other code at 0.

metrics.json: the digit classifier's accuracy on generated digits against the
asked label; for each code, the correlation of the code with the measured slant and
stroke width (`keras_latent.evaluation`) over a sweep, within each row (every
other input held: the effect of the code) and pooled over rows, and the size of
the move across the sweep in standard deviations of that measure over real test
digits (`effect`); the Frechet
distance of generated digits to the test set, beside that of the training set to
the test set; Q's label accuracy on the real test digits; steps and wall time.

Departures from the article:
- The article's code loss `-c log Q(x)` on sigmoid units is kept (`code_loss:
  "article"`), though with codes of both signs it is not a log-likelihood: see
  `keras_latent.InfoGAN`; `code_loss: "gaussian"` is the InfoGAN paper's.
- A logit with `softplus` losses replaces the sigmoid and binary cross-entropy
  (the same loss); the RMSprop `decay` of 6e-8 (0.24 % over the run) is dropped.
- The article makes the discriminator's fakes with `predict` (BatchNorm's moving
  averages); here the generator uses batch statistics in both updates.
- Batches are shuffled passes over the training set, not draws with replacement.

The committed run (`--epochs 20`: 10000 steps, 80 minutes on 2 CPU cores): generated
digits read as the asked label 99.5 %; code 1 sets the slant (r = -0.98 within a
sweep), code 2 too (r = +0.90, stroke width -0.40): with the article's loss the two
codes do not split slant and width. The InfoGAN paper's Gaussian loss (`--set
code_loss=gaussian --epochs 20`, 10000 steps, 90 minutes) brings stroke width in, but
each code mixes both factors: code 1 slant -0.98 / width +0.94, code 2 +0.97 / +0.96
(label 99.9 %, Frechet 2.39, Q on test digits 98.9 %). The sweeps show why: code 1
runs from slanted-thin to upright-bold, code 2 from back-slanted-thin to
forward-slanted-bold, the two factor axes turned by about 45 degrees. An isotropic
Gaussian prior on the codes is the same in every rotation, so the objective has no
reason to align a code with one factor; the InfoGAN paper draws its codes from
U(-1, 1), whose square is not (`--set code_prior=uniform`). With both of the paper's
choices (`--set code_loss=gaussian --set code_prior=uniform --epochs 20`, 10000
steps, 94 minutes of training beside other work, in two legs) the codes split the
factors (`figures/infogan_uniform/`): code 1 sets the stroke width (5.0 test-digit
standard deviations across the sweep, r = +0.95 within rows) and moves the slant
0.8 SD; code 2 sets the slant (5.3 SD, r = -0.98) and moves the width 1.2 SD; label
99.9 %, Frechet 1.93 (training set 0.74), Q on test digits 99.1 %. (Its
`metrics.json` comes from a final evaluation-only leg: `wall_time_s` is that leg's;
the 94 minutes are the sum of the 20 epoch times in the run's log, from before the
training clock existed.) r alone overstates a side effect: it says how consistently
a code moves a factor, not how far, hence `effect`.

Usage:
    python reproductions/infogan.py [--quick] [--epochs N] [--out DIR] [--seed N]
        [--set code_loss=gaussian] [--set code_prior=uniform]
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
QUICK = {
    "steps_per_epoch": 30, "epochs": 2, "grid_every": 30, "train_size": 3000,
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
        NAME, __doc__, argv, SETTINGS, QUICK
    )

    import keras
    import numpy as np

    from keras_latent import callbacks, data, evaluation, plotting

    image_shape, num_classes = x_train.shape[1:], int(y_train.max()) + 1
    keras.utils.set_random_seed(args.seed)
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
    stamp = {"settings": {k: v for k, v in settings.items()
                          if k not in ("evaluation_size", "sweep_rows", "grid_every")},
             "seed": args.seed}
    model = _common.fit_or_resume(
        lambda: fresh, dataset,
        dict(epochs=settings["epochs"], steps_per_epoch=settings["steps_per_epoch"],
             verbose=2, callbacks=[grids]),
        _common.checkpoint_dir(args), "infogan", stamp,
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
