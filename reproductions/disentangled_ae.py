"""Article 001's disentangling autoencoder, on MNIST: s holds the digit, z the style.

Article 001 (`shared/seeds/001_b232126671c45e7f.txt`) splits an autoencoder's code
into s, read by a classifier Clf_s, and z, from which an adversarial classifier Clf_z
must not be able to read the label; a classifier on images, Clf_x, judges decoded
swaps (the z of one image with the s of another must read as the other's digit).

Model, as in the article: Enc_s and Enc_z are 784-256-256 ReLU MLPs with dropout 0.2
and a linear code of 16; the decoder on [z, s] 256-256 ReLU with dropout 0.3 and
sigmoid pixels; Clf_s, Clf_z and Clf_x single softmax layers. Per step: one Adam step
of (Enc_s, Clf_s, Clf_x) on cross-entropy, three SGD(0.001) steps of Clf_z, one Adam
step of (Enc_z, Dec) on 10 x reconstruction binary cross-entropy + 10 x
cross-entropy of Clf_z against the uniform target + 1 x Clf_x's cross-entropy of the
swap against the other image's label; every update draws its own batch of 128; 30
epochs of 60000 // 128 steps (`keras_latent.DisentanglingAutoencoder`).

Figures, into the output folder:
- `swaps.png`: the article's rows for ten random test digits: the originals x, other
  digits x', reconstructions of x, x with the s of x' (x'’s digit in x's style), and
  x with the z of x' (x's digit in x'’s style);
- `swap_grid.png`: one row per style z (the style's source at left), one column per
  digit s (taken from one test example of each digit);
- `tsne.png`: t-SNE maps of s and of z of test digits, coloured by digit.

metrics.json: Clf_s's test accuracy; probes (linear, MLP, k-NN; fit on half of the
test codes, scored on the other half) on s and on z; the digit classifier's accuracy
on swaps (read as the digit of the image that gave s) and on reconstructions; the
reconstruction error; steps and wall time.

Departures from the article:
- The article samples each batch with replacement (`np.random.choice`); here each
  step's six batches are disjoint parts of one shuffled pass (`training_dataset`),
  and the data repeat so that an epoch keeps the article's 468 steps.
- The article's t-SNE maps all 10000 test codes; `tsne_size` (default 3000) keeps
  the two maps to a minute on a CPU.
- Labels are integers (one-hot rows also work); the article one-hot encodes them.

The committed run (`figures/disentangled_ae/`, the settings above, 14040 steps, 12
minutes on 2 CPU cores beside another run): Clf_s 98.4 % on the test set, probes on
s 97.8-98.4 %, swaps read as the digit of s 97.8 %, reconstructions 98.3 %. The
linear probe on z reads the digit 29.3 % of the time (k-NN 47.6 %, MLP 61.4 %; chance
10 %), short of the 20 % aimed at. During training Clf_z is fooled (10-16 %
accuracy), and a probe fit on z computed with dropout on reads as much (34.4 %
against 34.0 % in one run), so it is the adversary's lag, not dropout: the encoder
moves the label out of the directions the current Clf_z weighs, not out of z. Tried,
one change each from the settings above (one run each, seed 0):

| change | linear probe on z | k-NN | MLP | swap accuracy |
| --- | --- | --- | --- | --- |
| none (the article's) | 29.3 % | 47.6 % | 61.4 % | 97.8 % |
| Clf_z learning rate 0.05 (50x) | 35.0 % | 42.7 % | 65.6 % | 97.9 % |
| z of 4 dimensions, not 16 | 24.0 % | 21.7 % | 33.4 % | 98.2 % |

The learning-rate row, and an earlier run of the article's settings (34.0 / 47.9 /
65.2 %), cut each step's batch into contiguous parts instead of strided ones: other
draws, the same maths, so the spread between runs is several points.
A smaller z leaves less room to hide the label and keeps the swaps (its test binary
cross-entropy rises from 0.137 to 0.150); none reaches 20 %. Not tried: an ensemble
of adversaries or re-initialising Clf_z, the usual next steps.

Usage:
    python reproductions/disentangled_ae.py [--quick] [--out DIR] [--seed N] [--data-dir DIR]
"""

import os
import sys

if __package__ in (None, ""):  # run as a file: make `reproductions` importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

NAME = "disentangled_ae"

SETTINGS = {
    "z_dim": 16,
    "s_dim": 16,
    "hidden_units": [256, 256],
    "encoder_dropout": 0.2,
    "decoder_dropout": 0.3,
    "clf_z_steps": 3,
    "reconstruction_weight": 10.0,
    "adversarial_weight": 10.0,
    "swap_weight": 1.0,
    "learning_rate": 1e-3,
    "clf_z_learning_rate": 1e-3,
    "batch_size": 128,
    "epochs": 30,
    "train_size": None,
    "test_size": None,  # None: the whole test set
    "tsne_size": 3000,
}
# The probes' time grows with the test codes: a quick run measures on 2000.
QUICK = {"epochs": 1, "train_size": 3000, "test_size": 2000, "tsne_size": 300}
TOLERANCES = {
    "default": {"rtol": 0.1},
    "clf_s_accuracy": {"atol": 0.01, "rtol": 0.0},
    "swap_accuracy": {"atol": 0.05, "rtol": 0.0},
}
TARGETS = {  # the targets for the full run (MNIST test set)
    "clf_s_accuracy": ">= 0.97",
    "linear probe on z": "<= 0.20",
    "probe on s": ">= 0.95",
    "swap_accuracy": ">= 0.90",
}


def build(settings, image_shape, num_classes, seed):
    import keras

    import keras_latent as kl

    networks = kl.build_disentangling_networks(
        image_shape, num_classes, z_dim=settings["z_dim"], s_dim=settings["s_dim"],
        hidden_units=tuple(settings["hidden_units"]),
        encoder_dropout=settings["encoder_dropout"],
        decoder_dropout=settings["decoder_dropout"], seed=seed,
    )
    model = kl.DisentanglingAutoencoder(
        **networks, clf_z_steps=settings["clf_z_steps"],
        reconstruction_weight=settings["reconstruction_weight"],
        adversarial_weight=settings["adversarial_weight"],
        swap_weight=settings["swap_weight"], seed=seed,
    )
    model.compile(
        supervised_optimizer=keras.optimizers.Adam(settings["learning_rate"]),
        z_classifier_optimizer=keras.optimizers.SGD(settings["clf_z_learning_rate"]),
        autoencoder_optimizer=keras.optimizers.Adam(settings["learning_rate"]),
    )
    return model


def swap_rows(model, x, y, seed):
    """The article's rows for ten random digits, and their row labels."""
    import numpy as np

    rng = np.random.default_rng(seed)
    idx, other = rng.choice(len(x), 10, replace=False), rng.choice(len(x), 10, replace=False)
    s, z = model.encode(x[idx])
    s_other, z_other = model.encode(x[other])
    rows = [x[idx], x[other], model.decode(s, z), model.decode(s_other, z), model.decode(s, z_other)]
    labels = ["x", "x'", "x rebuilt", "s of x'", "z of x'"]
    return np.concatenate(rows), labels


def swap_grid(model, x, y, num_classes, seed):
    """One row per style (its source first), one column per digit."""
    import numpy as np

    digits = [int(np.flatnonzero(y == k)[0]) for k in range(num_classes)]
    styles = np.random.default_rng(seed + 1).choice(len(x), 10, replace=False)
    s, _ = model.encode(x[digits])
    _, z = model.encode(x[styles])
    decoded = model.decode(np.tile(s, (len(styles), 1)), np.repeat(z, num_classes, axis=0))
    grid = np.concatenate(
        [x[styles][:, None], decoded.reshape(len(styles), num_classes, *x.shape[1:])], axis=1
    )
    return grid.reshape(-1, *x.shape[1:])


def main(argv=None):
    from reproductions import _common

    args, settings, started, (x_train, y_train), (x_test, y_test) = _common.begin(
        NAME, __doc__, argv, SETTINGS, QUICK
    )

    import keras
    import numpy as np
    from sklearn.manifold import TSNE

    from keras_latent import evaluation, plotting

    image_shape, num_classes = x_train.shape[1:], int(y_train.max()) + 1
    keras.utils.set_random_seed(args.seed)
    fresh = build(settings, image_shape, num_classes, args.seed)
    steps_per_epoch = len(x_train) // settings["batch_size"]
    dataset = fresh.training_dataset(x_train, y_train, settings["batch_size"], seed=args.seed)
    stamp = {"settings": {k: v for k, v in settings.items() if k != "tsne_size"},
             "seed": args.seed}
    model = _common.fit_or_resume(
        lambda: fresh, dataset,
        dict(epochs=settings["epochs"], steps_per_epoch=steps_per_epoch, verbose=2),
        _common.checkpoint_dir(args), "disentangling_ae", stamp,
    )

    s, z = model.encode(x_test)
    reconstructions = model.predict(x_test, batch_size=500, verbose=0)
    probes = {
        code: {kind: evaluation.latent_probe_accuracy(values, y_test, seed=args.seed, kind=kind)
               for kind in evaluation.PROBES}
        for code, values in (("s", s), ("z", z))
    }
    other = np.random.default_rng(args.seed).permutation(len(x_test))
    swapped = model.swap(x_test[other], x_test)  # digit of x_test[other], style of x_test
    classifier = _common.classifier_or_none(args, image_shape, num_classes)
    metrics = {
        "clf_s_accuracy": float(np.mean(model.classify(x_test).argmax(1) == y_test)),
        "probe_accuracy": probes,
        "swap_accuracy": (
            evaluation.classifier_accuracy(swapped, y_test[other], classifier)
            if classifier else None
        ),
        "reconstruction_accuracy": (
            evaluation.classifier_accuracy(reconstructions, y_test, classifier)
            if classifier else None
        ),
        "test_bce": float(np.mean(
            -(x_test * np.log(np.clip(reconstructions, 1e-7, 1))
              + (1 - x_test) * np.log(np.clip(1 - reconstructions, 1e-7, 1)))
        )),
        "steps": settings["epochs"] * steps_per_epoch,
        "chance": 1.0 / num_classes,
        "targets": TARGETS,
    }
    print(f"Clf_s accuracy {metrics['clf_s_accuracy']:.4f}; probes {probes}; "
          f"swap accuracy {metrics['swap_accuracy']}")

    paths = []
    rows, row_labels = swap_rows(model, x_test, y_test, args.seed)
    paths.append(plotting.save(
        plotting.image_grid(rows, ncols=10, row_labels=row_labels,
                            title="Disentangling AE: swapping s (digit) and z (style)"),
        os.path.join(args.out, "swaps.png"),
    ))
    paths.append(plotting.save(
        plotting.image_grid(
            swap_grid(model, x_test, y_test, num_classes, args.seed), ncols=num_classes + 1,
            col_labels=["style"] + [str(k) for k in range(num_classes)],
            title="Each row one test digit's z, decoded with each digit's s",
        ),
        os.path.join(args.out, "swap_grid.png"),
    ))
    shown = np.random.default_rng(args.seed).permutation(len(x_test))[: settings["tsne_size"]]
    maps = {
        f"t-SNE of {name} ({values.shape[1]}-D)": TSNE(
            2, init="pca", random_state=args.seed
        ).fit_transform(values[shown])
        for name, values in (("s", s), ("z", z))
    }
    paths.append(plotting.save(
        plotting.scatter_panels(maps, y_test[shown],
                                title="Test digits' codes, coloured by digit"),
        os.path.join(args.out, "tsne.png"),
    ))
    paths.append(
        _common.write_metrics(args.out, NAME, metrics, settings, args, started, TOLERANCES)
    )
    return _common.finish(paths, args)


if __name__ == "__main__":
    main()
