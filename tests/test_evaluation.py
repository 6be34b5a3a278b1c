import math
import os
from statistics import NormalDist

import numpy as np
import pytest

from keras_latent import data, evaluation, priors


def gaussian_1d(n, shift, seed=None):
    """`N(shift, 1)` as evenly spaced quantiles: no sampling noise in known values."""
    quantiles = [NormalDist(shift, 1.0).inv_cdf((i + 0.5) / n) for i in range(n)]
    return np.array(quantiles)[:, None]


def test_energy_distance_known_values():
    a = gaussian_1d(3000, 0.0, 0)
    assert evaluation.energy_distance(a, a) == pytest.approx(0.0, abs=1e-9)
    for d in (0.5, 2.0):
        closed = 2 * (2 * math.exp(-d * d / 4) / math.sqrt(math.pi) + d * math.erf(d / 2))
        closed -= 4 / math.sqrt(math.pi)
        measured = evaluation.energy_distance(a, gaussian_1d(3000, d, 1))
        assert measured == pytest.approx(closed, abs=0.01)


def test_mmd_known_values():
    a = gaussian_1d(2000, 0.0, 0)
    assert evaluation.mmd(a, a) == pytest.approx(0.0, abs=1e-9)
    h, d = 1.0, 1.5
    closed = 2 * h / math.sqrt(h * h + 2) * (1 - math.exp(-d * d / (2 * (h * h + 2))))
    assert evaluation.mmd(a, gaussian_1d(2000, d, 1), bandwidth=h) == pytest.approx(closed, abs=0.02)
    with pytest.raises(ValueError, match="bandwidth"):
        evaluation.mmd(a, a, bandwidth=0)


def test_code_distances_reject_bad_input():
    with pytest.raises(ValueError, match=r"b: expected codes shaped \(N >= 1, 2\) \(the size of a\)"):
        evaluation.energy_distance(np.zeros((3, 2)), np.zeros((3, 3)))
    with pytest.raises(ValueError, match="a: expected finite numbers"):
        evaluation.mmd(np.full((3, 2), np.nan), np.zeros((3, 2)))
    with pytest.raises(ValueError, match=r"a: expected codes shaped \(N >= 1, dim\)"):
        evaluation.energy_distance(np.zeros(3), np.zeros((3, 1)))


def test_frechet_distance_of_features():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(500, 6)) @ rng.normal(size=(6, 6))
    assert evaluation.frechet_distance_from_features(a, a) == pytest.approx(0.0, abs=1e-6)
    shift = np.arange(6.0)
    # A shift leaves the covariance alone: the distance is the squared shift.
    assert evaluation.frechet_distance_from_features(a, a + shift) == pytest.approx(55.0, rel=1e-6)


def test_share_in_own_component_and_probe():
    prior = priors.GaussianMixture()
    labels = np.arange(2000) % 10
    codes = np.asarray(prior.sample(2000, labels=labels, seed=0))
    assert evaluation.share_in_own_component(codes, labels, prior) > 0.95
    assert evaluation.share_in_own_component(codes, (labels + 1) % 10, prior) < 0.05
    assert evaluation.latent_probe_accuracy(codes, labels) > 0.95
    noise = np.random.default_rng(0).normal(size=(2000, 2))
    assert evaluation.latent_probe_accuracy(noise, labels) < 0.2
    with pytest.raises(ValueError, match="labels: expected one label per code"):
        evaluation.share_in_own_component(codes, labels[:5], prior)


def sheared_bar(shear, width=2, height=20):
    image = np.zeros((28, 28, 1), "float32")
    for row in range(4, 4 + height):
        up = 13.5 - row
        left = int(round(13.5 + shear * up - width / 2 + 0.5))
        image[row, left : left + width] = 1.0
    return image


def test_slant_has_the_sign_and_size_of_the_shear():
    bars = np.stack([sheared_bar(s) for s in (-0.4, 0.0, 0.3)])
    np.testing.assert_allclose(evaluation.slant(bars), [-0.4, 0.0, 0.3], atol=0.05)


def test_stroke_width_grows_with_a_dilated_stroke():
    widths = evaluation.stroke_width(np.stack([sheared_bar(0.0, width=w) for w in (1, 2, 4)]))
    assert widths[0] < widths[1] < widths[2]
    np.testing.assert_allclose(widths, [1, 2, 4], rtol=0.25)
    with pytest.raises(ValueError, match=r"images: expected values in \[0, 1\]"):
        evaluation.stroke_width(np.full((1, 28, 28, 1), 255.0, "float32"))


def test_classifier_is_trained_once_cached_and_used(mnist_subset, tmp_path, monkeypatch):
    (x, y), (xt, yt) = mnist_subset
    path = str(tmp_path / "clf.keras")
    epochs = -(-8000 // len(x))  # two passes over the MNIST subset, more over digits
    classifier = evaluation.digit_classifier(
        data=((x, y), (xt, yt)), epochs=epochs, path=path, verbose=0
    )
    assert (tmp_path / "clf.keras").exists()
    assert evaluation.digit_classifier(path=path) is classifier
    monkeypatch.setattr(evaluation, "_CLASSIFIERS", {})
    reloaded = evaluation.digit_classifier(path=path)  # from disk, no training data needed
    assert reloaded is not classifier
    accuracy = evaluation.classifier_accuracy(xt, yt, classifier=reloaded)
    assert accuracy > 0.8
    assert evaluation.classifier_accuracy(xt, (yt + 1) % 10, classifier=reloaded) < 0.2
    assert evaluation.classifier_features(xt[:7], reloaded).shape == (7, 128)
    assert evaluation.frechet_distance(xt[:300], xt[:300], reloaded) == pytest.approx(0, abs=1e-3)
    assert evaluation.frechet_distance(xt[:300], np.clip(xt[300:600] + 0.5, 0, 1), reloaded) > 1
    with pytest.raises(ValueError, match=r"images: expected images of shape \(28, 28, 1\)"):
        evaluation.classifier_accuracy(np.zeros((2, 32, 32, 1), "float32"), [0, 1], reloaded)
    with pytest.raises(ValueError, match=r"labels: expected labels in \[0, 9\]"):
        evaluation.classifier_accuracy(xt[:2], [0, 10], reloaded)


@pytest.mark.mnist
@pytest.mark.skipif(
    not os.environ.get(data.DATA_DIR_VARIABLE), reason="needs the real MNIST files"
)
def test_cached_digit_classifier_reaches_99_percent_on_mnist():
    """Trains the shared classifier on first use (a few minutes), then loads it."""
    _, (x_test, y_test) = data.load_mnist()
    assert evaluation.classifier_accuracy(x_test, y_test) >= 0.99


def test_precision_recall_sees_shape_where_distances_do_not():
    import keras

    from keras_latent import priors

    roll = priors.SwissRoll()
    draws = keras.ops.convert_to_numpy(roll.sample(2000, seed=0))
    again = keras.ops.convert_to_numpy(roll.sample(2000, seed=1))
    precision, recall = evaluation.precision_recall(again, draws)
    assert precision > 0.9 and recall > 0.9
    # The disc the roll spans, with the roll's own spread of radii: close in energy
    # distance, far in precision.
    rng = np.random.default_rng(0)
    radius = np.linalg.norm(again, axis=1)
    angle = rng.uniform(0, 2 * np.pi, len(again))
    disc = np.stack([radius * np.cos(angle), radius * np.sin(angle)], axis=1)
    assert evaluation.energy_distance(disc, draws) < 0.1
    precision, recall = evaluation.precision_recall(disc, draws)
    assert precision < 0.5 and recall > 0.5
    # A box 1.5 times too wide: about 1 / 1.5^2 of it lies on the prior's box.
    box = rng.uniform(-2, 2, (3000, 2))
    precision, recall = evaluation.precision_recall(1.5 * rng.uniform(-2, 2, (3000, 2)), box)
    assert precision == pytest.approx(1 / 2.25, abs=0.07) and recall > 0.9
    with pytest.raises(ValueError, match="neighbours"):
        evaluation.precision_recall(box, box, neighbours=0)


def test_probes_of_each_kind_read_a_linear_code_and_not_noise():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 10, 1000)
    codes = np.eye(10)[labels] + 0.2 * rng.normal(size=(1000, 10))
    noise = rng.normal(size=(1000, 10))
    # The label as the radius of a ring: no line separates the rings, an MLP does.
    angle = rng.uniform(0, 2 * np.pi, 1000)
    ring = (1 + labels[:, None]) * np.stack([np.cos(angle), np.sin(angle)], 1)
    for kind in evaluation.PROBES:
        assert evaluation.latent_probe_accuracy(codes, labels, kind=kind) > 0.95
        assert evaluation.latent_probe_accuracy(noise, labels, kind=kind) < 0.2
    assert evaluation.latent_probe_accuracy(ring, labels, kind="linear") < 0.3
    assert evaluation.latent_probe_accuracy(ring, labels, kind="mlp") > 0.9
    with pytest.raises(ValueError, match="^kind"):
        evaluation.latent_probe_accuracy(codes, labels, kind="svm")
