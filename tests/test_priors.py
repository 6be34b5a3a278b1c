import keras
import numpy as np
import pytest

from keras_latent import priors
from tests.helpers import assert_config_round_trip

N = 20000


def draw(prior, n=N, labels=None, seed=0):
    return keras.ops.convert_to_numpy(prior.sample(n, labels=labels, seed=seed))


def test_gaussian_moments():
    z = draw(priors.Gaussian(dim=3, std=2.0, mean=1.0))
    assert z.shape == (N, 3)
    np.testing.assert_allclose(z.mean(axis=0), [1.0] * 3, atol=0.06)
    np.testing.assert_allclose(np.cov(z.T), 4.0 * np.eye(3), atol=0.15)


def test_mixture_moments_and_components():
    prior = priors.GaussianMixture()
    z = draw(prior)
    np.testing.assert_allclose(z.mean(axis=0), [0.0, 0.0], atol=0.08)
    np.testing.assert_allclose(np.linalg.norm(z, axis=1).mean(), prior.radius, atol=0.1)
    centres = prior.centres()
    for k in (0, 3, 7):
        zk = draw(prior, n=4000, labels=np.full(4000, k), seed=k)
        np.testing.assert_allclose(zk.mean(axis=0), centres[k], atol=0.06)
        direction = centres[k] / prior.radius
        radial = zk @ direction
        tangential = zk @ np.array([-direction[1], direction[0]])
        assert radial.std() == pytest.approx(prior.radial_std, rel=0.05)
        assert tangential.std() == pytest.approx(prior.tangential_std, rel=0.05)
        nearest = np.argmin(((zk[:, None] - centres[None]) ** 2).sum(-1), axis=1)
        assert np.mean(nearest == k) > 0.95


def test_mixture_extra_dimensions():
    z = draw(priors.GaussianMixture(dim=5, tangential_std=0.5))
    assert z.shape == (N, 5)
    np.testing.assert_allclose(z[:, 2:].std(axis=0), [0.5] * 3, rtol=0.05)


def test_swiss_roll_support_and_stretches():
    prior = priors.SwissRoll()
    z = draw(prior)
    radius = np.linalg.norm(z, axis=1)
    assert radius.max() <= prior.scale + 5 * prior.noise_std
    # Points spread evenly over the swept area: u = (r / scale)^2 is uniform.
    u = np.clip((radius / prior.scale) ** 2, 0, 1)
    assert abs(u.mean() - 0.5) < 0.02
    for k in (0, 4, 9):
        rk = np.linalg.norm(draw(prior, n=2000, labels=np.full(2000, k)), axis=1)
        low = prior.scale * np.sqrt(k / 10) - 4 * prior.noise_std
        high = prior.scale * np.sqrt((k + 1) / 10) + 4 * prior.noise_std
        assert np.all((rk >= low) & (rk <= high))


def test_uniform_moments_and_bands():
    prior = priors.Uniform(dim=3, low=-2.0, high=2.0)
    z = draw(prior)
    assert z.min() >= -2.0 and z.max() <= 2.0
    np.testing.assert_allclose(z.mean(axis=0), [0.0] * 3, atol=0.05)
    np.testing.assert_allclose(z.var(axis=0), [16 / 12] * 3, rtol=0.05)
    for k in (0, 5, 9):
        zk = draw(prior, n=2000, labels=np.full(2000, k))
        assert zk[:, 0].min() >= -2.0 + 0.4 * k - 1e-6
        assert zk[:, 0].max() <= -2.0 + 0.4 * (k + 1) + 1e-6
        assert zk[:, 1:].min() < -1.5 and zk[:, 1:].max() > 1.5


def test_seeded_draws_repeat():
    prior = priors.GaussianMixture()
    np.testing.assert_array_equal(draw(prior, 50, seed=3), draw(prior, 50, seed=3))
    assert not np.allclose(draw(prior, 50, seed=3), draw(prior, 50, seed=4))


@pytest.mark.parametrize("name", ["gaussian", "mixture", "swiss_roll", "uniform"])
def test_get_by_name_and_config_round_trip(name):
    prior = priors.get(name, dim=2)
    assert prior.dim == 2
    restored = assert_config_round_trip(prior)
    assert priors.get(keras.saving.serialize_keras_object(prior)).get_config() == restored.get_config()


def test_bad_priors_raise():
    with pytest.raises(ValueError, match="prior: expected one of"):
        priors.get("laplace")
    with pytest.raises(ValueError, match="prior: expected a prior over codes of size 8"):
        priors.get(priors.Gaussian(dim=2), dim=8)
    with pytest.raises(ValueError, match="dim"):
        priors.SwissRoll(dim=3)
    with pytest.raises(ValueError, match="labels: the Gaussian prior has no per-class"):
        priors.Gaussian().sample(3, labels=[0, 1, 2])
    with pytest.raises(ValueError, match=r"labels: expected labels in \[0, 9\]"):
        priors.GaussianMixture().sample(2, labels=[0, 10])


@pytest.mark.parametrize("prior", [priors.GaussianMixture(), priors.SwissRoll(), priors.Uniform()])
def test_component_of_recovers_the_class_of_labelled_draws(prior):
    labels = np.arange(3000) % 10
    z = draw(prior, n=3000, labels=labels)
    assert np.mean(prior.component_of(z) == labels) > 0.95


def test_component_of_marks_codes_outside_the_box():
    assert priors.Uniform().component_of(np.array([[5.0, 0.0], [-1.9, 0.0]])).tolist() == [-1, 0]
    with pytest.raises(ValueError, match="codes: the Gaussian prior has no per-class"):
        priors.Gaussian().component_of(np.zeros((2, 2)))
    with pytest.raises(ValueError, match=r"codes: expected codes shaped \(N >= 1, 2\)"):
        priors.GaussianMixture().component_of(np.zeros((2, 3)))


def test_categorical_draws_one_hot_codes_of_every_class():
    prior = priors.Categorical(num_classes=4)
    codes = np.asarray(prior.sample(4000, seed=0))
    assert codes.shape == (4000, 4)
    np.testing.assert_array_equal(codes.sum(axis=1), 1.0)
    np.testing.assert_allclose(codes.mean(axis=0), [0.25] * 4, atol=0.03)
    labelled = np.asarray(prior.sample(3, labels=[2, 0, 3]))
    np.testing.assert_array_equal(prior.component_of(labelled), [2, 0, 3])
    skewed = priors.Categorical(num_classes=2, probabilities=[0.9, 0.1])
    assert np.asarray(skewed.sample(4000, seed=0))[:, 0].mean() == pytest.approx(0.9, abs=0.03)
    restored = priors.get(keras.saving.serialize_keras_object(skewed))
    assert restored.get_config() == skewed.get_config()
    with pytest.raises(ValueError, match="probabilities: expected 2 non-negative"):
        priors.Categorical(num_classes=2, probabilities=[0.5, 0.6])
