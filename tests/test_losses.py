import math

import numpy as np
import pytest

from keras_latent import losses


def test_reconstruction_known_values():
    x = np.array([[1.0, 0.0]], "float32")
    x_hat = np.array([[0.5, 0.5]], "float32")
    np.testing.assert_allclose(losses.reconstruction_loss(x, x_hat, "bce"), [math.log(2)], rtol=1e-5)
    np.testing.assert_allclose(losses.reconstruction_loss(x, x_hat, "mse"), [0.25])
    np.testing.assert_allclose(losses.reconstruction_loss(x, x_hat, "mae"), [0.5])


def test_reconstruction_is_per_example():
    x = np.zeros((3, 4, 4, 1), "float32")
    x_hat = np.stack([np.full((4, 4, 1), v, "float32") for v in (0.0, 0.5, 1.0)])
    np.testing.assert_allclose(losses.reconstruction_loss(x, x_hat, "mse"), [0.0, 0.25, 1.0])


def test_unknown_reconstruction_raises():
    with pytest.raises(ValueError, match="reconstruction"):
        losses.reconstruction_loss(np.zeros((1, 2)), np.zeros((1, 2)), "l3")


def test_adversarial_losses_known_values():
    zero = np.zeros((2, 1), "float32")
    np.testing.assert_allclose(losses.discriminator_loss(zero, zero), [math.log(2)] * 2, rtol=1e-6)
    np.testing.assert_allclose(losses.generator_loss(zero), [math.log(2)] * 2, rtol=1e-6)
    # A confident, correct discriminator has a loss near 0 and full accuracy.
    real, fake = np.full((2, 1), 20.0, "float32"), np.full((2, 1), -20.0, "float32")
    assert np.all(np.asarray(losses.discriminator_loss(real, fake)) < 1e-6)
    np.testing.assert_allclose(losses.discriminator_accuracy(real, fake), [1.0, 1.0])
    np.testing.assert_allclose(losses.discriminator_accuracy(fake, real), [0.0, 0.0])


def test_global_mean_is_plain_mean_without_strategy():
    assert float(losses.global_mean(np.array([1.0, 2.0, 6.0], "float32"))) == pytest.approx(3.0)
