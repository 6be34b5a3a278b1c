"""Numbers that reproductions report about generated images and latent codes.

- Codes: `energy_distance`, `mmd`, `share_in_own_component` (supervised priors),
  `latent_probe_accuracy` (how much label information a code carries), and
  `cluster_labels` / `clustering_error` (clusters named by their surest image).
- Images: a small convolutional digit classifier, trained once on MNIST and cached,
  gives `classifier_accuracy` (does a generated image read as the asked digit?) and
  `frechet_distance` between its penultimate-layer features of two image sets (the
  usual MNIST stand-in for FID); `slant` and `stroke_width` measure handwriting
  from image moments (InfoGAN's continuous codes).

Example:

>>> import numpy as np
>>> from keras_latent import evaluation
>>> rng = np.random.default_rng(0)
>>> a, b = rng.normal(size=(500, 2)), rng.normal(size=(500, 2)) + 3
>>> round(evaluation.energy_distance(a, a), 9)
0.0
>>> evaluation.energy_distance(a, b) > 1
True
"""

import os
import warnings

import keras
import numpy as np
from keras import layers
from sklearn.metrics import pairwise_distances

from keras_latent import checkpoints
from keras_latent.checks import (
    check_codes,
    check_images,
    check_labels,
    check_number,
    check_one_per_image,
)

CLASSIFIER_FILE = "digit_classifier.keras"
FEATURE_LAYER = "features"


# Codes --------------------------------------------------------------------------


def _check_codes(a, name, size=None, what=None):
    # float64: the measures are means over many pairs of small distances.
    return check_codes(a, size, name, what=what, dtype="float64")


def _check_pair(a, b, names=("a", "b")):
    a = _check_codes(a, names[0])
    return a, _check_codes(b, names[1], a.shape[1], what=f"the size of {names[0]}")


def energy_distance(a, b):
    """Energy distance `2 E|X - Y| - E|X - X'| - E|Y - Y'|` between two code sets.

    Zero exactly when the two empirical distributions are equal, positive
    otherwise (Szekely & Rizzo 2013, eq. 2, with V-statistics: all pairs,
    diagonal included). For one-dimensional `N(0, 1)` and `N(d, 1)` it tends to
    `2 (2 exp(-d^2 / 4) / sqrt(pi) + d erf(d / 2)) - 4 / sqrt(pi)`.

    Args:
        a: array `(n, dim)`. Samples of one distribution, e.g. q(z).
        b: array `(m, dim)`. Samples of the other, e.g. p(z).
    """
    a, b = _check_pair(a, b)
    between = pairwise_distances(a, b).mean()
    return float(2 * between - pairwise_distances(a).mean() - pairwise_distances(b).mean())


def precision_recall(codes, draws, neighbours=3):
    """Share of `codes` on the support of `draws` (precision) and the reverse (recall).

    Each set's support is the union of balls around its points, each as wide as
    the distance to that point's `neighbours`-th nearest neighbour in its own set
    (Kynkaenniemi et al. 2019, eq. 1-3). Unlike a distance between the two sets,
    this sees shape: codes that fill the disc a swiss roll spans, or spill out of
    a box, have a low precision even where their spread matches.

    Args:
        codes: array `(n, dim)`. Samples of q(z).
        draws: array `(m, dim)`. Samples of p(z).
        neighbours: int. The k of the k-th neighbour. Defaults to 3.

    Returns:
        `(precision, recall)`, floats in [0, 1].
    """
    codes, draws = _check_pair(codes, draws, names=("codes", "draws"))
    check_number(
        neighbours, "neighbours", minimum=1, maximum=min(len(codes), len(draws)),
        below_maximum=True, integer=True, what="the smaller set's size",
    )

    def radii(points):
        # Column 0 of each sorted row is the point itself.
        return np.sort(pairwise_distances(points), axis=1)[:, neighbours]

    def covered(points, support):
        inside = pairwise_distances(points, support) <= radii(support)[None, :]
        return float(inside.any(axis=1).mean())

    return covered(codes, draws), covered(draws, codes)


def mmd(a, b, bandwidth=1.0):
    """Squared maximum mean discrepancy with a Gaussian kernel (V-statistic).

    `E k(X, X') + E k(Y, Y') - 2 E k(X, Y)` with `k(x, y) = exp(-|x - y|^2 /
    (2 bandwidth^2))` (Gretton et al. 2012, eq. 3).

    Args:
        a: array `(n, dim)`.
        b: array `(m, dim)`.
        bandwidth: float. Kernel width. Defaults to 1.
    """
    a, b = _check_pair(a, b)
    check_number(bandwidth, "bandwidth", minimum=0, above_minimum=True)

    def kernel(u, v):
        return np.exp(-pairwise_distances(u, v, metric="sqeuclidean") / (2 * bandwidth**2))

    return float(kernel(a, a).mean() + kernel(b, b).mean() - 2 * kernel(a, b).mean())


def share_in_own_component(codes, labels, prior):
    """Share of codes inside the component or region of their own class.

    Args:
        codes: array `(n, dim)`.
        labels: int array `(n,)`.
        prior: a prior with classes (`GaussianMixture`, `SwissRoll`, `Uniform`).
    """
    codes = _check_codes(codes, "codes")
    labels = np.asarray(labels)
    if labels.shape != (len(codes),):
        raise ValueError(
            f"labels: expected one label per code, shape ({len(codes)},); got {labels.shape}."
        )
    return float(np.mean(prior.component_of(codes) == labels))


def _check_cluster_labels(labels, n):
    labels = check_one_per_image(labels, n, "labels")
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer) or np.any(labels < 0):
        raise ValueError(
            f"labels: expected {n} integer labels >= 0, one per image; got shape "
            f"{labels.shape} and dtype {labels.dtype}."
        )
    return labels


def cluster_labels(probabilities, labels):
    """The label of each cluster: that of the image most surely in it.

    For each cluster i, the image with the largest q(y_i | x) names the cluster
    (Makhzani et al. 2015, sec. 6: one labelled image per cluster, taken from a
    validation set; on a tie, the first such image). Several clusters may get one
    label; a label may get none.

    Args:
        probabilities: array `(n, num_clusters)`, q(y | x) of `n` images.
        labels: int array `(n,)`, the images' labels.

    Returns:
        An int array `(num_clusters,)`.

    Example:

    >>> q = [[0.9, 0.1], [0.6, 0.4], [0.2, 0.8]]
    >>> cluster_labels(q, [3, 5, 7]).tolist()
    [3, 7]
    """
    probabilities = _check_codes(probabilities, "probabilities")
    labels = _check_cluster_labels(labels, len(probabilities))
    return labels[probabilities.argmax(axis=0)]


def clustering_error(probabilities, labels, names):
    """Share of images whose cluster (the argmax of q(y | x)) is named another label.

    Args:
        probabilities: array `(n, num_clusters)`, q(y | x) of `n` images.
        labels: int array `(n,)`, their labels.
        names: int array `(num_clusters,)`, each cluster's label
            (`cluster_labels` of a validation set).

    Example:

    >>> clustering_error([[0.9, 0.1], [0.3, 0.7], [0.2, 0.8]], [3, 3, 7], [3, 7])
    0.3333333333333333
    """
    probabilities = _check_codes(probabilities, "probabilities")
    labels = _check_cluster_labels(labels, len(probabilities))
    names = np.asarray(names)
    if (
        names.shape != (probabilities.shape[1],)
        or not np.issubdtype(names.dtype, np.integer)
        or np.any(names < 0)
    ):
        raise ValueError(
            f"names: expected one integer label >= 0 per cluster, shape "
            f"({probabilities.shape[1]},); got shape {names.shape} and dtype {names.dtype}."
        )
    return float(np.mean(names[probabilities.argmax(axis=1)] != labels))


PROBES = ("knn", "linear", "mlp")


def latent_probe_accuracy(codes, labels, seed=0, kind="knn", neighbours=10):
    """Test accuracy of a fresh classifier reading labels from codes.

    Fit on a random half of the codes, scored on the other half. Near chance
    (1 / classes) when the codes carry no label information that kind of
    classifier can read: a linear probe misses information a nonlinear one
    (`knn`, `mlp`) finds, so report the kinds side by side.

    Args:
        codes: array `(n, dim)`.
        labels: int array `(n,)`.
        seed: int. Split (and MLP initialisation) seed. Defaults to 0.
        kind: str. `"knn"` (k nearest neighbours), `"linear"` (multinomial
            logistic regression on standardised codes) or `"mlp"` (one hidden
            layer of 64 ReLU units). Defaults to `"knn"`.
        neighbours: int. k of the `knn` probe. Defaults to 10.

    Example:

    >>> rng = np.random.default_rng(0)
    >>> labels = rng.integers(0, 3, 300)
    >>> codes = np.eye(3)[labels] + 0.1 * rng.normal(size=(300, 3))
    >>> latent_probe_accuracy(codes, labels, kind="linear")
    1.0
    """
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    codes = _check_codes(codes, "codes")
    labels = np.asarray(labels)
    if labels.shape != (len(codes),) or len(codes) < 4:
        raise ValueError(
            f"labels: expected one label per code (at least 4), shape ({len(codes)},); "
            f"got {labels.shape}."
        )
    if kind not in PROBES:
        raise ValueError(f"kind: expected one of {PROBES}; got {kind!r}.")
    order = np.random.default_rng(seed).permutation(len(codes))
    half = len(codes) // 2
    train, test = order[:half], order[half:]
    if kind == "knn":
        probe = KNeighborsClassifier(n_neighbors=min(neighbours, half))
    elif kind == "linear":
        probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    else:
        # L-BFGS: on a few thousand codes it converges where Adam's early stop does not.
        probe = make_pipeline(
            StandardScaler(),
            MLPClassifier((64,), solver="lbfgs", max_iter=1000, random_state=seed),
        )
    with warnings.catch_warnings():
        # A probe stopped at max_iter still gives a lower bound on what the code holds.
        warnings.simplefilter("ignore", ConvergenceWarning)
        probe.fit(codes[train], labels[train])
    return float(probe.score(codes[test], labels[test]))


# Images -------------------------------------------------------------------------


def _check_images(images, shape=None):
    # Generated images may stray from [0, 1] by rounding.
    return check_images(images, "images", shape, tolerance=1e-3).astype("float32")


def slant(images):
    """Slant of each image from its second moments: x-shift per unit of height.

    `mu11 / mu02` with the vertical axis pointing up, so a stroke leaning right
    at the top is positive; an upright digit is 0 and a bar sheared by `s`
    (`x = s y`) measures `s`.

    Args:
        images: array `(n, height, width, 1)` in [0, 1].

    Returns:
        A NumPy array `(n,)`.
    """
    images = _check_images(images)[..., 0]
    h, w = images.shape[1:]
    up = -(np.arange(h, dtype="float64") - (h - 1) / 2)[None, :, None]
    right = (np.arange(w, dtype="float64") - (w - 1) / 2)[None, None, :]
    mass = np.maximum(images.sum(axis=(1, 2)), 1e-8)
    cy = (images * up).sum(axis=(1, 2)) / mass
    cx = (images * right).sum(axis=(1, 2)) / mass
    dy = up - cy[:, None, None]
    dx = right - cx[:, None, None]
    mu11 = (images * dx * dy).sum(axis=(1, 2))
    mu02 = np.maximum((images * dy * dy).sum(axis=(1, 2)), 1e-8)
    return mu11 / mu02


def stroke_width(images, threshold=0.5):
    """Mean stroke width in pixels: `2 * ink area / ink perimeter`.

    For a long stroke of width `w` this is close to `w`; it grows when a stroke
    is dilated.

    Args:
        images: array `(n, height, width, 1)` in [0, 1].
        threshold: float. Pixels above it count as ink. Defaults to 0.5.

    Returns:
        A NumPy array `(n,)`.
    """
    ink = _check_images(images)[..., 0] > threshold
    padded = np.pad(ink, ((0, 0), (1, 1), (1, 1)))
    edges = (padded[:, 1:, :] != padded[:, :-1, :]).sum(axis=(1, 2)) + (
        padded[:, :, 1:] != padded[:, :, :-1]
    ).sum(axis=(1, 2))
    return 2.0 * ink.sum(axis=(1, 2)) / np.maximum(edges, 1)


def build_digit_classifier(
    input_shape=(28, 28, 1), num_classes=10, steps=None, name="digit_classifier"
):
    """A small convnet: two conv/pool blocks, a 128-unit `features` layer, softmax.

    Compiled with Adam(1e-3), cosine-decayed to 0 over `steps` when given.
    """
    images = keras.Input(input_shape, name="images")
    h = layers.Conv2D(32, 3, activation="relu", name="conv_0")(images)
    h = layers.MaxPooling2D()(h)
    h = layers.Conv2D(64, 3, activation="relu", name="conv_1")(h)
    h = layers.MaxPooling2D()(h)
    h = layers.Dropout(0.25)(layers.Flatten()(h))
    h = layers.Dense(128, activation="relu", name=FEATURE_LAYER)(h)
    h = layers.Dropout(0.5)(h)
    probs = layers.Dense(num_classes, activation="softmax", name="probs")(h)
    model = keras.Model(images, probs, name=name)
    model.compile(
        optimizer=keras.optimizers.Adam(
            keras.optimizers.schedules.CosineDecay(1e-3, steps) if steps else 1e-3
        ),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def cache_dir():
    """`$KERAS_HOME/keras_latent` (by default `~/.keras/keras_latent`)."""
    home = os.environ.get("KERAS_HOME", os.path.join(os.path.expanduser("~"), ".keras"))
    return os.path.join(home, "keras_latent")


_CLASSIFIERS = {}


def classifier_path(dataset="mnist"):
    """Where the classifier of `dataset` is cached: `cache_dir()/digit_classifier.keras`
    for MNIST, `cache_dir()/classifier_<dataset>.keras` for any other."""
    name = CLASSIFIER_FILE if dataset == "mnist" else f"classifier_{dataset}.keras"
    return os.path.join(cache_dir(), name)


def digit_classifier(data=None, epochs=6, path=None, verbose=1, dataset=None):
    """The classifier of a dataset's images, trained on first use and then loaded from the cache.

    The measures that read generated images (`classifier_accuracy`,
    `frechet_distance`) are only meaningful with a classifier of the images'
    own dataset: MNIST's reads Fashion-MNIST clothes as digits at random.

    Args:
        data: `((x_train, y_train), (x_test, y_test))` or None, when MNIST is loaded
            with `keras_latent.data.load_mnist()`. Used only when training.
        epochs: int. Training epochs when no cached copy exists. Defaults to 6
            (99.2 % MNIST test accuracy; see the test that checks it).
        path: str or None. Where the model is cached. Defaults to
            `classifier_path(dataset)`.
        verbose: int. Keras progress output while training.
        dataset: str or None. The dataset's name, for the cache's file name;
            None: MNIST. Needed with `data` unless `path` is given, so that
            another dataset's classifier is never cached as MNIST's.
    """
    if data is not None and path is None and dataset is None:
        raise ValueError(
            "dataset: name the dataset `data` holds (its classifier is cached under "
            "that name), or pass path=."
        )
    dataset = dataset or "mnist"
    path = path or classifier_path(dataset)
    if path in _CLASSIFIERS:
        return _CLASSIFIERS[path]
    if os.path.exists(path):
        model = keras.saving.load_model(path)
    else:
        if data is None and dataset != "mnist":
            raise ValueError(
                f"data: no classifier of {dataset!r} is cached at {path}; pass its "
                "((x_train, y_train), (x_test, y_test)) to train one."
            )
        from keras_latent import data as data_lib

        (x, y), (x_test, y_test) = data if data is not None else data_lib.load_mnist()
        print(f"Training the {dataset} classifier once ({epochs} epochs); it is cached at {path}")
        batch_size = 128
        model = build_digit_classifier(
            x.shape[1:],
            int(max(y.max(), y_test.max())) + 1,
            steps=epochs * -(-len(x) // batch_size),
        )
        model.fit(x, y, batch_size=batch_size, epochs=epochs, verbose=verbose)
        _, accuracy = model.evaluate(x_test, y_test, verbose=0)
        print(f"{dataset} classifier test accuracy: {accuracy:.4f}")
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        checkpoints.save_model(model, path)  # atomic: several workers may write it
    _CLASSIFIERS[path] = model
    return model


def classifier_accuracy(images, labels, classifier=None):
    """How often the digit classifier reads `images` as the asked `labels`.

    Args:
        images: array `(n, 28, 28, 1)` in [0, 1] (the classifier's input shape).
        labels: int array `(n,)`. The digit each image was asked to show.
        classifier: `keras.Model` or None for `digit_classifier()`.
    """
    classifier = classifier or digit_classifier()
    images = _check_images(images, shape=classifier.input_shape[1:])
    labels = check_one_per_image(labels, len(images), "labels")
    labels = check_labels(labels, classifier.output_shape[-1], "labels")
    predicted = classifier.predict(images, batch_size=500, verbose=0).argmax(axis=1)
    return float(np.mean(predicted == labels))


def classifier_score(images, classifier=None):
    """An Inception-style score from the digit classifier: `exp(mean KL(p(y|x) || p(y)))`.

    Salimans et al. (2016) with the digit classifier in Inception's place: high
    when each image is read confidently (realism) and the classes are spread
    (variety); 1 at worst, the class count at best. Images asked for in equal
    numbers of every class get their variety from the request: compare scores
    of sets with the same class mix.

    Args:
        images: array `(n, 28, 28, 1)` in [0, 1] (the classifier's input shape).
        classifier: `keras.Model` returning class probabilities, or None for
            `digit_classifier()`.

    Example:

    >>> import numpy as np
    >>> round(classifier_score_from_probabilities(np.eye(4)), 6)
    4.0
    """
    classifier = classifier or digit_classifier()
    images = _check_images(images, shape=classifier.input_shape[1:])
    return classifier_score_from_probabilities(
        classifier.predict(images, batch_size=500, verbose=0)
    )


def classifier_score_from_probabilities(probabilities):
    """`exp(mean KL(p(y|x) || p(y)))` of class probabilities `(n, classes)`."""
    p = np.asarray(probabilities, "float64")
    if p.ndim != 2 or not np.allclose(p.sum(axis=1), 1.0, atol=1e-3) or (p < 0).any():
        raise ValueError(
            "probabilities: expected rows of class probabilities (non-negative, each "
            f"summing to 1), e.g. a softmax's; got an array of shape {p.shape}."
        )
    p = np.clip(p, 1e-12, 1.0)
    marginal = p.mean(axis=0, keepdims=True)
    return float(np.exp(np.mean(np.sum(p * (np.log(p) - np.log(marginal)), axis=1))))


def classifier_features(images, classifier=None):
    """The digit classifier's penultimate-layer features, `(n, 128)`."""
    classifier = classifier or digit_classifier()
    images = _check_images(images, shape=classifier.input_shape[1:])
    extractor = keras.Model(classifier.inputs, classifier.get_layer(FEATURE_LAYER).output)
    return extractor.predict(images, batch_size=500, verbose=0)


def frechet_distance_from_features(a, b):
    """Frechet distance between Gaussians fitted to two feature sets.

    `|mu_a - mu_b|^2 + Tr(C_a + C_b - 2 (C_a C_b)^(1/2))` (Heusel et al. 2017,
    eq. 6); 0 for identical sets.
    """
    a, b = _check_pair(a, b)
    if len(a) < 2 or len(b) < 2:
        raise ValueError("a, b: expected at least two feature vectors each.")
    mu_a, mu_b = a.mean(axis=0), b.mean(axis=0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    # Tr((C_a C_b)^(1/2)) = sum of sqrt(eig(C_a^(1/2) C_b C_a^(1/2))), a PSD matrix.
    values, vectors = np.linalg.eigh(np.atleast_2d(cov_a))
    root_a = (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T
    middle = np.linalg.eigvalsh(root_a @ np.atleast_2d(cov_b) @ root_a)
    trace_root = np.sqrt(np.clip(middle, 0, None)).sum()
    distance = ((mu_a - mu_b) ** 2).sum() + np.trace(np.atleast_2d(cov_a + cov_b)) - 2 * trace_root
    return float(max(distance, 0.0))


def frechet_distance(real_images, fake_images, classifier=None):
    """Frechet distance between the classifier features of two image sets."""
    classifier = classifier or digit_classifier()
    return frechet_distance_from_features(
        classifier_features(real_images, classifier),
        classifier_features(fake_images, classifier),
    )
