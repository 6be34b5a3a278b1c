"""Article 000's adversarial autoencoder guide, on MNIST: three AAEs.

Reproduces "Adversarial Autoencoder", a guide in Chinese (article 000), after Makhzani et al.,
"Adversarial Autoencoders" (2015, arXiv:1511.05644): an unsupervised AAE with a 2-D
code and an N(0, I) prior; a supervised AAE whose decoder also reads the one-hot
label (15-D code, prior N(0, 5^2 I)), so the code keeps the style; and a
semi-supervised AAE (a softmax y head and a z head, D_cat on y, D_gauss on z, the
decoder on [y, z]) against a plain classifier of the same encoder, with 100 and 1000
labels. Networks as in the article: encoder 784-1000-1000 with mean and log-variance
heads, decoder 1000-1000-784 sigmoid, discriminators 1000-1000-1, Adam(2e-4,
beta_1=0.5), batch 100; parts 1 and 2 use the article's joint update (reconstruction
0.999, adversarial 0.001), part 3 three phases a step (reconstruction,
regularisation, supervised cross-entropy).

Figures and metrics.json, into the output folder:
- `unsupervised_latent.png`, `unsupervised_manifold.png`: test codes by digit, the
  decoded latent plane; test MAE, energy distance of q(z) to N(0, I).
- `supervised_styles.png`: one row per test digit's style, one column per digit;
  test MSE, the digit classifier's accuracy on the grid and on 2000 prior draws,
  linear and k-NN probes of the digit in the test styles (chance 0.1).
- `semi_supervised_error.png`, `semi_supervised_curve.png`: test error of both
  classifiers beside the paper's, and the AAE's while training.
- With `--recipe clustering`, part 4, the paper's unsupervised clustering (sec. 6,
  table 3), which the article leaves out: the semi-supervised networks trained
  without labels, y over 16 and 30 clusters, z 5-D; each cluster takes the label
  of the held-out validation image it is surest of. `clustering_<K>.png` (each
  cluster's surest test images, a row each, as the paper's figure 9),
  `clustering_curve.png` (test error while training); test error (mean and spread
  over `clustering_runs` seeds) and cluster sizes.

Departures of the default recipe from the article:
- Pixels in [0, 1] (the article scales to [-1, 1] but decodes with a sigmoid).
- Discriminators output logits to a logistic loss (the article's linear output).
- Whole passes over the 60,000 images, not 1000 single random batches.
- Part 3: a 10-D z; each step 100 labelled beside 100 unlabelled images.
- Part 4: article 000's networks and Adam (the paper: 3000-unit layers, SGD with
  momentum) with batch normalisation in the encoder (without it y can stay in one
  cluster), the regularisation phase at 10x the reconstruction's rate (the
  paper's ratio); 15 epochs over 50,000 images (`clustering_strong` and
  `clustering_vat`: 30; the paper trains far longer).

Recipes (`--recipe NAME`; `--set KEY=VALUE` changes one setting on top):
- `article` (default): article 000's recipe.
- `tuned`: the paper's three updates, input noise, a 5x regularisation rate and the
  label in the discriminator for part 2; augmentation, a mean-teacher consistency
  term and virtual adversarial training for part 3.
- `clustering`: part 4 alone (the paper's clustering, not in the article).
- `clustering_balanced`: part 4 with a term that spreads each batch over the
  clusters (not in the paper) and the regularisation at the reconstruction's rate.
- `clustering_invariant`: `clustering_balanced` with random shifts and rotations of
  the encoder's input and a consistency term between two such views of each image
  (not in the paper).
- `clustering_strong`: `clustering_invariant` with the consistency and balance
  terms at 10 and 3, trained for 30 epochs (15,000 steps a model).
- `clustering_vat`: `clustering_strong` with virtual adversarial training
  (Miyato et al. 2018, as IMSAT uses it for clustering) and the balance term at 5.

Details, results and what was tried: docs/aae_guide.md

Usage:
    python reproductions/aae_guide.py [--recipe tuned] [--quick] [--out DIR] [--seed N]
        [--data-dir DIR] [--set KEY=VALUE]

One part alone, e.g. another seed of the 100-label semi-supervised AAE (seed N
trains its label counts with seeds N + 2, N + 3):
    python reproductions/aae_guide.py --seed 1 --out runs/aae_guide_seed1 \
        --set 'parts=["semi_supervised"]' --set 'label_counts=[100]'
"""

import os
import sys

if __package__ in (None, ""):  # run as a file: make `reproductions` importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

NAME = "aae_guide"

SETTINGS = {  # article 000's recipe
    "hidden_units": [1000, 1000],
    "learning_rate": 2e-4,
    "beta_1": 0.5,
    "batch_size": 100,
    "reconstruction_weight": 0.999,
    "adversarial_weight": 0.001,
    "latent_dim_unsupervised": 2,
    "reconstruction_unsupervised": "mae",
    "epochs_unsupervised": 10,
    "latent_dim_supervised": 15,
    "prior_std_supervised": 5.0,
    "reconstruction_supervised": "mse",
    # "joint": the article's one update of reconstruction and adversarial terms after
    # each discriminator step; "paper": three updates, each with its own Adam.
    "schedule_supervised": "joint",
    "epochs_supervised": 10,
    # Std of Gaussian noise on the encoder's input (0: off), the discriminator's
    # (and the paper schedule's generator's) Adam rate, and whether the
    # discriminator reads the one-hot label beside z.
    "input_noise_supervised": 0.0,
    "adversarial_learning_rate_supervised": 2e-4,
    "conditional_discriminator_supervised": False,
    "latent_dim_semi_supervised": 10,
    "reconstruction_semi_supervised": "mse",
    "epochs_semi_supervised": 12,
    "input_noise_semi_supervised": 0.0,
    # Adam rates of the supervised phase and of D_gauss, D_cat and the encoder against
    # them, and the share of every rate left at the end of a cosine decay (1.0:
    # constant rates).
    "supervised_learning_rate": 2e-4,
    "adversarial_learning_rate_semi_supervised": 2e-4,
    "final_learning_rate_semi_supervised": 1.0,
    # Which rows of each batch reconstruction and regularisation learn from: "all"
    # (the hidden and the labelled) or "unlabelled" (the paper's phases).
    "unsupervised_rows_semi_supervised": "all",
    # Regularisers of the semi-supervised encoder, none of them the article's (0: off):
    # dropout, random shifts (pixels) and rotations (degrees) of its input, D_gauss
    # reading y beside z, a consistency term between two views of each image (its
    # weight, ramp-up steps, and a mean teacher's decay for the target), and
    # virtual adversarial training (its weight and L2 radius).
    "dropout_semi_supervised": 0.0,
    "random_shift_semi_supervised": 0.0,
    "random_rotation_semi_supervised": 0.0,
    "conditional_discriminator_semi_supervised": False,
    "consistency_weight_semi_supervised": 0.0,
    "consistency_rampup_semi_supervised": 0,
    "teacher_decay_semi_supervised": 0.0,
    "virtual_adversarial_weight_semi_supervised": 0.0,
    "virtual_adversarial_radius_semi_supervised": 2.0,
    # Part 4, unsupervised clustering (Makhzani et al. 2015, sec. 6; not in article
    # 000): the semi-supervised networks without labels, y over each cluster count
    # and a 5-D z (the paper's sizes), trained on the training images less the
    # last `validation_size_clustering`, whose labels name each cluster after its
    # surest image. `clustering_runs` seeds for each count (mean and spread).
    "cluster_counts": [16, 30],
    "clustering_runs": 3,
    "latent_dim_clustering": 5,
    "epochs_clustering": 15,
    "learning_rate_clustering": 2e-4,
    "adversarial_learning_rate_clustering": 2e-3,
    "input_noise_clustering": 0.0,
    # Batch normalisation in the encoder (not the paper's): without it y fell into
    # one cluster at the start and, for some seeds, stayed there.
    "batch_norm_clustering": True,
    # Weight of the balance term (not the paper's: log K - H(mean y over the batch)
    # in the encoder's regularisation); 0: the paper's model.
    "balance_weight_clustering": 0.0,
    # Terms of the encoder's regularisation that make y hold under small changes
    # of the image (none of them the paper's; 0: off): random shifts (pixels) and
    # rotations (degrees) of the encoder's input, a consistency term between two
    # views of each image (its weight, and a mean teacher's decay for its target),
    # virtual adversarial training (its weight and L2 radius).
    "random_shift_clustering": 0.0,
    "random_rotation_clustering": 0.0,
    "consistency_weight_clustering": 0.0,
    "teacher_decay_clustering": 0.0,
    "virtual_adversarial_weight_clustering": 0.0,
    "virtual_adversarial_radius_clustering": 2.0,
    "validation_size_clustering": 10000,
    # Which parts run (any of them, in this order) and with which label counts.
    "parts": ["unsupervised", "supervised", "semi_supervised"],
    "label_counts": [100, 1000],
    "labelled_batch_size": 100,
    "error_every": 1,  # epochs between points of the test-error curve
    "train_size": None,
    "test_size": None,  # None: the whole test set
}
RECIPES = {
    # What it took to reach the paper's numbers (docs/aae_guide.md): the paper's
    # three updates and input noise for part 2, with a faster regularisation phase
    # and a discriminator that reads the label; augmentation, a mean-teacher
    # consistency term and virtual adversarial training for part 3.
    "tuned": {
        "schedule_supervised": "paper",
        "input_noise_supervised": 0.3,
        "adversarial_learning_rate_supervised": 1e-3,
        "conditional_discriminator_supervised": True,
        "input_noise_semi_supervised": 0.3,
        "random_shift_semi_supervised": 2.0,
        "random_rotation_semi_supervised": 15.0,
        "consistency_weight_semi_supervised": 3.0,
        "teacher_decay_semi_supervised": 0.99,
        "virtual_adversarial_weight_semi_supervised": 1.0,
    },
    # The paper's unsupervised clustering (sec. 6, table 3), which article 000 leaves
    # out: part 4 alone, at the settings above.
    "clustering": {"parts": ["clustering"]},
    # The same with the balance term, which spreads each batch over the clusters
    # (D_cat judges one y at a time, and clusters went unused), and the
    # regularisation at the reconstruction's rate: the best of a GPU sweep.
    "clustering_balanced": {
        "parts": ["clustering"],
        "balance_weight_clustering": 1.0,
        "adversarial_learning_rate_clustering": 2e-4,
    },
    # `clustering_balanced` with y held alike for two augmented views of each image:
    # part 3's shifts, rotations and consistency weight.
    "clustering_invariant": {
        "parts": ["clustering"],
        "balance_weight_clustering": 1.0,
        "adversarial_learning_rate_clustering": 2e-4,
        "random_shift_clustering": 2.0,
        "random_rotation_clustering": 15.0,
        "consistency_weight_clustering": 3.0,
    },
    # `clustering_invariant` with both terms stronger, the one set against the
    # other: consistency 10 (alone it merges clusters) and balance 3 (alone it
    # cuts through the digits), trained twice as long (its curves still fell at
    # 15 epochs). The weights are ints as the reference's models were trained
    # with them: the stamp, and so the batch order, tells 3 from 3.0.
    "clustering_strong": {
        "parts": ["clustering"],
        "balance_weight_clustering": 3,
        "adversarial_learning_rate_clustering": 2e-4,
        "random_shift_clustering": 2.0,
        "random_rotation_clustering": 15.0,
        "consistency_weight_clustering": 10,
        "epochs_clustering": 30,
    },
    # `clustering_strong` with y also held still against the small change of the
    # image that moves it most (IMSAT's virtual adversarial training, part 3's
    # weight and radius), and the balance weight at 5, which leaves fewer of 30
    # clusters empty. Ints, as for `clustering_strong`.
    "clustering_vat": {
        "parts": ["clustering"],
        "balance_weight_clustering": 5,
        "adversarial_learning_rate_clustering": 2e-4,
        "random_shift_clustering": 2.0,
        "random_rotation_clustering": 15.0,
        "consistency_weight_clustering": 10,
        "virtual_adversarial_weight_clustering": 1,
        "epochs_clustering": 30,
    },
}
# Settings that only choose which models a run trains (not in the models' stamps).
SELECTORS = ("parts", "label_counts", "cluster_counts", "clustering_runs")
QUICK = {
    "train_size": 3000,
    "test_size": 2000,
    "epochs_unsupervised": 1,
    "epochs_supervised": 1,
    "epochs_semi_supervised": 1,
    "epochs_clustering": 1,
    "cluster_counts": [16],
    "clustering_runs": 1,
    "validation_size_clustering": 500,
}
PAPER_ERROR = {100: 1.90, 1000: 1.60}  # Makhzani et al. 2015, table 2 (MNIST, %)
# Makhzani et al. 2015, table 3: MNIST test error (%) of unsupervised clustering.
PAPER_CLUSTERING_ERROR = {16: 9.55, 30: 4.10}
TOLERANCES = {
    "default": {"rtol": 0.1},
    "energy_distance": {"atol": 0.1, "rtol": 0.0},
    "style_accuracy": {"atol": 0.05, "rtol": 0.0},
    "sample_accuracy": {"atol": 0.03, "rtol": 0.0},
    "supervised.z_probe_accuracy.linear": {"atol": 0.05, "rtol": 0.0},
    "supervised.z_probe_accuracy.knn": {"atol": 0.05, "rtol": 0.0},
    "aae_test_error": {"atol": 2.0, "rtol": 0.0},
    "baseline_test_error": {"atol": 2.0, "rtol": 0.0},
    "clustering.test_error": {"atol": 5.0, "rtol": 0.0},
    "clustering.cluster_sizes": {"atol": 1000, "rtol": 0.0},
}


def _adam(settings, rate=None):
    import keras

    rate = settings["learning_rate"] if rate is None else rate
    return keras.optimizers.Adam(rate, beta_1=settings["beta_1"])


def build_unsupervised(settings, image_shape, seed):
    import keras_latent as kl

    units, dim = tuple(settings["hidden_units"]), settings["latent_dim_unsupervised"]
    model = kl.AdversarialAutoencoder(
        kl.build_encoder(image_shape, dim, units, variational=True, seed=seed),
        kl.build_decoder(image_shape, dim, units),
        kl.build_code_discriminator(dim, units),
        prior=kl.priors.Gaussian(dim=dim),
        schedule="joint",
        reconstruction=settings["reconstruction_unsupervised"],
        reconstruction_weight=settings["reconstruction_weight"],
        adversarial_weight=settings["adversarial_weight"],
        seed=seed,
    )
    model.compile(autoencoder_optimizer=_adam(settings), discriminator_optimizer=_adam(settings))
    return model


def build_supervised(settings, image_shape, num_classes, seed):
    import keras_latent as kl

    units, dim = tuple(settings["hidden_units"]), settings["latent_dim_supervised"]
    conditional = settings["conditional_discriminator_supervised"]
    model = kl.SupervisedAdversarialAutoencoder(
        kl.build_encoder(image_shape, dim, units, variational=True, seed=seed),
        kl.build_decoder(image_shape, dim, units, num_classes=num_classes),
        kl.build_code_discriminator(dim, units, num_classes=num_classes if conditional else None),
        num_classes=num_classes,
        conditional_discriminator=conditional,
        prior=kl.priors.Gaussian(dim=dim, std=settings["prior_std_supervised"]),
        schedule=settings["schedule_supervised"],
        reconstruction=settings["reconstruction_supervised"],
        reconstruction_weight=settings["reconstruction_weight"],
        adversarial_weight=settings["adversarial_weight"],
        input_noise=settings["input_noise_supervised"],
        seed=seed,
    )
    adversarial = _adam(settings, settings["adversarial_learning_rate_supervised"])
    optimizers = dict(autoencoder_optimizer=_adam(settings), discriminator_optimizer=adversarial)
    if settings["schedule_supervised"] == "paper":
        optimizers["generator_optimizer"] = _adam(
            settings, settings["adversarial_learning_rate_supervised"]
        )
    model.compile(**optimizers)
    return model


def build_semi_supervised(settings, image_shape, num_classes, seed, steps=None):
    """The semi-supervised AAE; with `steps`, the run's length, its rates decay along
    a cosine to `final_learning_rate_semi_supervised` of themselves."""
    import keras

    import keras_latent as kl

    units, dim = tuple(settings["hidden_units"]), settings["latent_dim_semi_supervised"]
    conditional = settings["conditional_discriminator_semi_supervised"]
    model = kl.SemiSupervisedAdversarialAutoencoder(
        kl.build_encoder(
            image_shape, dim, units, variational=True, num_classes=num_classes,
            dropout=settings["dropout_semi_supervised"],
            random_shift=settings["random_shift_semi_supervised"],
            random_rotation=settings["random_rotation_semi_supervised"], seed=seed,
        ),
        kl.build_decoder(image_shape, dim, units, num_classes=num_classes),
        kl.build_code_discriminator(
            dim, units, num_classes=num_classes if conditional else None, name="d_gauss"
        ),
        kl.build_code_discriminator(num_classes, units, name="d_cat"),
        num_classes=num_classes,
        conditional_discriminator=conditional,
        prior=kl.priors.Gaussian(dim=dim),
        reconstruction=settings["reconstruction_semi_supervised"],
        input_noise=settings["input_noise_semi_supervised"],
        unsupervised_rows=settings["unsupervised_rows_semi_supervised"],
        consistency_weight=settings["consistency_weight_semi_supervised"],
        consistency_rampup=settings["consistency_rampup_semi_supervised"],
        teacher_decay=settings["teacher_decay_semi_supervised"],
        virtual_adversarial_weight=settings["virtual_adversarial_weight_semi_supervised"],
        virtual_adversarial_radius=settings["virtual_adversarial_radius_semi_supervised"],
        seed=seed,
    )

    def adam(rate):
        final = settings["final_learning_rate_semi_supervised"]
        if steps and final != 1.0:
            rate = keras.optimizers.schedules.CosineDecay(rate, steps, alpha=final)
        return keras.optimizers.Adam(rate, beta_1=settings["beta_1"])

    adversarial = settings["adversarial_learning_rate_semi_supervised"]
    model.compile(
        autoencoder_optimizer=adam(settings["learning_rate"]),
        discriminator_optimizer=adam(adversarial),
        generator_optimizer=adam(adversarial),
        category_discriminator_optimizer=adam(adversarial),
        supervised_optimizer=adam(settings["supervised_learning_rate"]),
    )
    return model


def build_clustering(settings, image_shape, num_clusters, seed):
    """The clustering AAE: the semi-supervised networks, y over `num_clusters`."""
    import keras_latent as kl

    units, dim = tuple(settings["hidden_units"]), settings["latent_dim_clustering"]
    model = kl.ClusteringAdversarialAutoencoder(
        kl.build_encoder(
            image_shape, dim, units, num_classes=num_clusters,
            random_shift=settings["random_shift_clustering"],
            random_rotation=settings["random_rotation_clustering"],
            batch_norm=settings["batch_norm_clustering"], seed=seed,
        ),
        kl.build_decoder(image_shape, dim, units, num_classes=num_clusters),
        kl.build_code_discriminator(dim, units, name="d_gauss"),
        kl.build_code_discriminator(num_clusters, units, name="d_cat"),
        num_clusters=num_clusters,
        prior=kl.priors.Gaussian(dim=dim),
        reconstruction=settings["reconstruction_semi_supervised"],
        input_noise=settings["input_noise_clustering"],
        balance_weight=settings["balance_weight_clustering"],
        consistency_weight=settings["consistency_weight_clustering"],
        teacher_decay=settings["teacher_decay_clustering"],
        virtual_adversarial_weight=settings["virtual_adversarial_weight_clustering"],
        virtual_adversarial_radius=settings["virtual_adversarial_radius_clustering"],
        seed=seed,
    )
    adversarial = settings["adversarial_learning_rate_clustering"]
    model.compile(
        autoencoder_optimizer=_adam(settings, settings["learning_rate_clustering"]),
        discriminator_optimizer=_adam(settings, adversarial),
        generator_optimizer=_adam(settings, adversarial),
        category_discriminator_optimizer=_adam(settings, adversarial),
    )
    return model


def cluster_names(model, validation):
    """Each cluster's label: that of the validation image it is surest of."""
    from keras_latent import evaluation

    return evaluation.cluster_labels(model.classify(validation[0]), validation[1])


def clustering_error(model, validation, test):
    """Test error (%) of the clusters, each named by the validation image it is surest of."""
    from keras_latent import evaluation

    names = cluster_names(model, validation)
    return 100 * evaluation.clustering_error(model.classify(test[0]), test[1], names)


def purity_error(q, y_test):
    """Test error (%) when each cluster takes the most common test label in it (1 -
    purity), for the test images' q(y | x): how far the clusters follow the digits,
    apart from the paper's naming by a single image. Not the paper's measure."""
    import numpy as np

    from keras_latent import evaluation

    clusters = q.argmax(axis=1)
    names = np.array([
        np.bincount(y_test[clusters == i]).argmax() if np.any(clusters == i) else 0
        for i in range(q.shape[1])
    ])
    return 100 * evaluation.clustering_error(q, y_test, names)


def typical_images(q, x_test, names, per_row=10):
    """Each cluster's test images it is surest of, a row each, for the test images'
    q(y | x) and the clusters' `names`; `(images, row labels)`."""
    import numpy as np

    clusters = q.argmax(axis=1)
    rows, labels = [], []
    for i, name in enumerate(names):
        members = np.flatnonzero(clusters == i)
        surest = members[np.argsort(-q[members, i])][:per_row]
        row = np.zeros((per_row, *x_test.shape[1:]), x_test.dtype)  # an empty cluster: blank
        row[: len(surest)] = x_test[surest]
        rows.append(row)
        labels.append(f"{i} \u2192 {name} ({len(members)})")
    return np.concatenate(rows), labels


def clustering_part(args, settings, data):
    """Part 4, unsupervised clustering, for each cluster count and seed:
    `(metrics, figure paths)`."""
    import keras
    import numpy as np

    from keras_latent import evaluation, plotting
    from reproductions import _common

    (x_train, y_train), (x_test, y_test) = data
    held = settings["validation_size_clustering"]
    if not 0 < held < len(x_train):
        raise ValueError(
            f"validation_size_clustering: expected 1 to {len(x_train) - 1} of the "
            f"{len(x_train)} training images; got {held}."
        )
    validation = x_train[-held:], y_train[-held:]  # their labels name the clusters
    x_fit = x_train[:-held]
    checkpoints = _common.checkpoint_dir(args)
    paths, metrics, curves = [], {}, {}
    for count in settings["cluster_counts"]:
        errors, runs = [], []
        for run in range(settings["clustering_runs"]):
            # Seeded by count and run, not by their places in the lists.
            seed = args.seed + 1000 * count + run
            keras.utils.set_random_seed(seed)
            print(f"\n== 4. clustering AAE, {count} clusters, run {run + 1}")
            tag = f"clustering_{count}_{run}"
            model = _common.fit_or_resume(
                lambda: build_clustering(settings, x_train.shape[1:], count, seed),
                x_fit,
                dict(batch_size=settings["batch_size"], epochs=settings["epochs_clustering"],
                     verbose=2),
                checkpoints,
                tag,
                _common.stamp(settings, seed, SELECTORS, clusters=count),
                measures={"test_error": (
                    lambda m: clustering_error(m, validation, (x_test, y_test)),
                    settings["error_every"],
                )},
            )
            q, names = model.classify(x_test), cluster_names(model, validation)
            errors.append(100 * evaluation.clustering_error(q, y_test, names))
            curve = _common.TRAINED[tag]["curves"]["test_error"]
            if curve:
                curves[f"{count} clusters, run {run + 1}"] = tuple(zip(*curve))
            sizes = np.bincount(q.argmax(axis=1), minlength=count)
            runs.append({
                "test_error": errors[-1],
                "purity_error": purity_error(q, y_test),
                "cluster_sizes": sizes.tolist(),
                "steps": _common.TRAINED[tag]["steps"],
                "test_error_curve": curve,
            })
            if run == 0:
                images, labels = typical_images(q, x_test, names)
                paths.append(plotting.save(
                    plotting.image_grid(
                        images, ncols=10, row_labels=labels,
                        title=f"Clustering AAE, {count} clusters: the test images each "
                        "is surest of\n(cluster \u2192 the digit it is named, "
                        "(test images in it))",
                    ),
                    os.path.join(args.out, f"clustering_{count}.png"),
                ))
        metrics[str(count)] = {
            "test_error_mean": float(np.mean(errors)),
            "test_error_std": float(np.std(errors)),
            "paper_test_error": PAPER_CLUSTERING_ERROR.get(count),
            "runs": runs,
        }
        print(f"   {count} clusters: test error {np.mean(errors):.2f} +- "
              f"{np.std(errors):.2f} % over {len(errors)} runs (paper "
              f"{PAPER_CLUSTERING_ERROR.get(count)} %)")
    if curves:
        paths.append(plotting.save(
            plotting.curves(
                curves,
                levels={f"{count} clusters, paper": PAPER_CLUSTERING_ERROR.get(count)
                        for count in settings["cluster_counts"]
                        if count in PAPER_CLUSTERING_ERROR},
                xlabel="training steps", ylabel="MNIST test error (%)", log_y=True,
                title="Clustering AAE: test error while training",
            ),
            os.path.join(args.out, "clustering_curve.png"),
        ))
    return metrics, paths


def test_error(model, x_test, y_test):
    """The semi-supervised AAE's error on the test set, in percent."""
    import numpy as np

    predicted = model.predict(x_test, batch_size=1000, verbose=0).argmax(1)
    return float(100 * np.mean(predicted != y_test))


def style_grid(model, x_test, y_test, num_classes):
    """Each row: a test digit (left), then its style written as every digit."""
    import numpy as np

    rows = [int(np.flatnonzero(y_test == k)[0]) for k in range(num_classes)]
    styles = model.encode(x_test[rows])
    z = np.repeat(styles, num_classes, axis=0)
    asked = np.tile(np.arange(num_classes), len(rows))
    generated = model.decode(z, asked)
    grid = np.concatenate(
        [x_test[rows][:, None], generated.reshape(len(rows), num_classes, *x_test.shape[1:])],
        axis=1,
    )
    return grid.reshape(-1, *x_test.shape[1:]), generated, asked


def unsupervised_part(args, settings, data):
    """Part 1, the unsupervised AAE with a 2-D code: `(metrics, figure paths)`."""
    import keras
    import numpy as np

    from keras_latent import evaluation, plotting
    from reproductions import _common

    (x_train, _), (x_test, y_test) = data
    checkpoints = _common.checkpoint_dir(args)
    paths = []
    keras.utils.set_random_seed(args.seed)
    print("\n== 1. unsupervised AAE")
    model = _common.fit_or_resume(
        lambda: build_unsupervised(settings, x_train.shape[1:], args.seed),
        x_train,
        dict(batch_size=settings["batch_size"], epochs=settings["epochs_unsupervised"], verbose=2),
        checkpoints,
        "unsupervised",
        _common.stamp(settings, args.seed, SELECTORS),
    )
    codes = model.encode(x_test)
    draws = keras.ops.convert_to_numpy(model.prior.sample(len(codes), seed=args.seed))
    held = np.random.default_rng(args.seed).permutation(len(codes))[:5000]
    reconstructions = model.predict(x_test, batch_size=500, verbose=0)
    metrics = {
        "test_mae": float(np.mean(np.abs(x_test - reconstructions))),
        "energy_distance": evaluation.energy_distance(codes[held], draws[held]),
    }
    paths.append(plotting.save(
        plotting.latent_scatter(codes, y_test, title="Unsupervised AAE: q(z) of the test set"),
        os.path.join(args.out, "unsupervised_latent.png"),
    ))
    paths.append(plotting.save(
        plotting.latent_grid(model.decode, extent=(-2.5, 2.5), n=15,
                             title="Unsupervised AAE: decoded latent plane"),
        os.path.join(args.out, "unsupervised_manifold.png"),
    ))
    return metrics, paths


def supervised_part(args, settings, data):
    """Part 2, the supervised AAE (label into the decoder): `(metrics, figure paths)`."""
    import keras
    import numpy as np

    from keras_latent import evaluation, plotting
    from reproductions import _common

    (x_train, y_train), (x_test, y_test) = data
    image_shape = x_train.shape[1:]
    num_classes = int(y_train.max()) + 1
    checkpoints = _common.checkpoint_dir(args)
    paths = []
    keras.utils.set_random_seed(args.seed + 1)
    print("\n== 2. supervised AAE (label into the decoder)")
    model = _common.fit_or_resume(
        lambda: build_supervised(settings, image_shape, num_classes, args.seed + 1),
        x_train,
        dict(batch_size=settings["batch_size"], epochs=settings["epochs_supervised"], verbose=2),
        checkpoints,
        "supervised",
        _common.stamp(settings, args.seed + 1, SELECTORS),
        y=y_train,
    )
    reconstructions = model.predict({"images": x_test, "labels": y_test}, batch_size=500, verbose=0)
    grid, generated, asked = style_grid(model, x_test, y_test, num_classes)
    classifier = _common.classifier_or_none(args, image_shape, num_classes)
    styles = model.encode(x_test)
    drawn = np.tile(np.arange(num_classes), 200)
    metrics = {
        "test_mse": float(np.mean((x_test - reconstructions) ** 2)),
        "style_accuracy": (
            evaluation.classifier_accuracy(generated, asked, classifier) if classifier else None
        ),
        # Prior draws written as each digit alike (200 of each): the classifier's
        # reading of sample(labels=...).
        "sample_accuracy": (
            evaluation.classifier_accuracy(
                model.sample(len(drawn), labels=drawn, seed=args.seed), drawn, classifier
            ) if classifier else None
        ),
        # How much digit the style code still holds: fresh probes (chance 0.1).
        "z_probe_accuracy": {
            kind: evaluation.latent_probe_accuracy(styles, y_test, seed=args.seed, kind=kind)
            for kind in ("linear", "knn")
        },
    }
    paths.append(plotting.save(
        plotting.image_grid(
            grid, ncols=num_classes + 1,
            title="Supervised AAE: each row one style z, written as every digit",
            col_labels=["style"] + [str(k) for k in range(num_classes)],
        ),
        os.path.join(args.out, "supervised_styles.png"),
    ))
    return metrics, paths


def semi_supervised_part(args, settings, data):
    """Part 3, the semi-supervised AAE against a plain classifier, for each label
    count: `(metrics, figure paths)`."""
    import keras
    import numpy as np

    import keras_latent as kl
    from keras_latent import distribute, plotting
    from reproductions import _common

    (x_train, y_train), (x_test, y_test) = data
    image_shape = x_train.shape[1:]
    num_classes = int(y_train.max()) + 1
    checkpoints = _common.checkpoint_dir(args)
    paths = []
    metrics = {}
    for i, count in enumerate(settings["label_counts"]):
        seed = args.seed + 2 + i
        keras.utils.set_random_seed(seed)
        print(f"\n== 3. semi-supervised AAE, {count} labels")
        partial = kl.data.hide_labels(
            y_train, labels_per_class=count // num_classes, num_classes=num_classes, seed=seed
        )
        dataset = kl.data.semi_supervised_dataset(
            x_train, partial, batch_size=settings["batch_size"],
            labelled_batch_size=min(count, settings["labelled_batch_size"]), seed=seed,
        )
        steps = settings["epochs_semi_supervised"] * (len(x_train) // settings["batch_size"])
        tag = f"semi_supervised_{count}"
        model = _common.fit_or_resume(
            lambda: build_semi_supervised(settings, image_shape, num_classes, seed, steps),
            dataset,
            dict(epochs=settings["epochs_semi_supervised"], verbose=2),
            checkpoints,
            tag,
            _common.stamp(settings, seed, SELECTORS, labels=count),
            measures={"test_error": (lambda m: test_error(m, x_test, y_test),
                                     settings["error_every"])},
        )
        aae_error = test_error(model, x_test, y_test)
        curve = _common.TRAINED[tag]["curves"]["test_error"]

        labelled = partial >= 0
        batch = min(count, settings["labelled_batch_size"])
        # A plain Keras model: across machines each worker trains its own copy.
        with distribute.on_this_worker():
            baseline = kl.build_classifier(
                image_shape, num_classes, tuple(settings["hidden_units"])
            )
            baseline.compile(_adam(settings), "sparse_categorical_crossentropy")
            baseline.fit(
                x_train[labelled], partial[labelled], batch_size=batch,
                epochs=max(1, steps * batch // count), verbose=0,
            )
            baseline_error = 100 * (
                1 - np.mean(baseline.predict(x_test, verbose=0).argmax(1) == y_test)
            )
        metrics[str(count)] = {
            "aae_test_error": float(aae_error),
            "baseline_test_error": float(baseline_error),
            "paper_test_error": PAPER_ERROR.get(count),
            "steps": steps,
            "test_error_curve": curve,
        }
        print(f"   {count} labels: AAE {aae_error:.2f} %, plain classifier "
              f"{baseline_error:.2f} % (paper AAE {PAPER_ERROR.get(count)} %)")
    paths.append(plotting.save(
        plotting.grouped_bars(
            {
                f"{count} labels": {
                    "semi-supervised AAE": values["aae_test_error"],
                    "plain classifier": values["baseline_test_error"],
                    "paper (AAE)": values["paper_test_error"],
                }
                for count, values in metrics.items()
            },
            ylabel="test error (%)",
            title="Semi-supervised AAE against a classifier of the same architecture",
        ),
        os.path.join(args.out, "semi_supervised_error.png"),
    ))
    paths.append(plotting.save(
        plotting.curves(
            {
                f"{count} labels": tuple(zip(*values["test_error_curve"]))
                for count, values in metrics.items()
                if values["test_error_curve"]
            },
            levels={
                f"{count} labels, paper": values["paper_test_error"]
                for count, values in metrics.items()
            },
            xlabel="training steps", ylabel="MNIST test error (%)", log_y=True,
            title="Semi-supervised AAE: test error while training",
        ),
        os.path.join(args.out, "semi_supervised_curve.png"),
    ))
    return metrics, paths


PARTS = {
    "unsupervised": unsupervised_part,
    "supervised": supervised_part,
    "semi_supervised": semi_supervised_part,
    "clustering": clustering_part,
}


def main(argv=None):
    from reproductions import _common

    args, settings, started, train, test = _common.begin(
        NAME, __doc__, argv, SETTINGS, QUICK, RECIPES
    )
    parts = settings["parts"]
    if not isinstance(parts, list) or not parts or any(part not in PARTS for part in parts):
        raise ValueError(
            f"parts: expected a non-empty list of {list(PARTS)}; got {settings['parts']!r}."
        )
    metrics, paths = {}, []
    for part in parts:
        metrics[part], figures = PARTS[part](args, settings, (train, test))
        paths += figures

    paths.append(
        _common.write_metrics(args.out, NAME, metrics, settings, args, started, TOLERANCES)
    )
    return _common.finish(paths, args)


if __name__ == "__main__":
    main()
