import math

import keras
import numpy as np
import pytest
import tensorflow as tf

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


def test_weighted_global_mean_and_shares():
    values = np.array([1.0, 2.0, 6.0, 100.0], "float32")
    weights = np.array([1.0, 1.0, 1.0, 0.0], "float32")
    assert float(losses.global_mean(values, weights)) == pytest.approx(3.0)
    np.testing.assert_allclose(losses.example_weights(values), [0.25] * 4)
    np.testing.assert_allclose(losses.example_weights(values, weights), [1 / 3] * 3 + [0])
    # No labelled example: zero, not a division by zero.
    assert float(losses.global_mean(values, np.zeros(4, "float32"))) == 0.0


def test_r1_penalty_known_values():
    gradients = np.array([[3.0, 4.0], [0.0, 0.0]], "float32")
    np.testing.assert_allclose(losses.r1_penalty(gradients, gamma=2.0), [25.0, 0.0])
    np.testing.assert_allclose(losses.r1_penalty(gradients), [12.5, 0.0])


def test_cross_entropies_known_values():
    probabilities = np.array([[0.5, 0.25, 0.25], [0.1, 0.8, 0.1]], "float32")
    np.testing.assert_allclose(
        losses.cross_entropy(np.eye(3)[[0, 1]], probabilities), [math.log(2), -math.log(0.8)],
        rtol=1e-6,
    )
    uniform = np.full((2, 3), 1 / 3, "float32")
    np.testing.assert_allclose(
        losses.cross_entropy(uniform, probabilities)[0],
        -(math.log(0.5) + 2 * math.log(0.25)) / 3, rtol=1e-6,
    )
    masked = losses.masked_cross_entropy(np.array([0, -1]), probabilities)
    np.testing.assert_allclose(masked, [math.log(2), 0.0], rtol=1e-6)
    np.testing.assert_array_equal(losses.labelled(np.array([3, -1, 0])), [1.0, 0.0, 1.0])
    np.testing.assert_allclose(
        losses.categorical_information_loss(np.eye(3)[[1]], probabilities[1:]), [-math.log(0.8)],
        rtol=1e-6,
    )


def test_gaussian_kl_and_information_known_values():
    zero = np.zeros((1, 2), "float32")
    np.testing.assert_allclose(losses.gaussian_kl(zero, zero), [0.0], atol=1e-7)
    # KL(N(1, e) || N(0, 1)) per coordinate: (1 + e - 1 - 1) / 2 = (e - 1) / 2.
    ones = np.ones((1, 2), "float32")
    np.testing.assert_allclose(losses.gaussian_kl(ones, ones), [math.e - 1], rtol=1e-6)
    half_log_2pi = 0.5 * math.log(2 * math.pi)
    np.testing.assert_allclose(
        losses.gaussian_information_loss(ones, zero), [1.0 + 2 * half_log_2pi], rtol=1e-6
    )
    # A variance of e^2 (log-variance 2): (1 / e^2 + 2) / 2 + log sqrt(2 pi), per code.
    np.testing.assert_allclose(
        losses.gaussian_information_loss(ones[:, :1], zero[:, :1], 2 * ones[:, :1]),
        [0.5 * (math.exp(-2) + 2) + half_log_2pi], rtol=1e-6,
    )


def test_accuracy_compares_the_most_probable_class_with_the_target_row():
    targets = np.eye(3, dtype="float32")[[0, 1, 2]]
    probabilities = np.array([[0.7, 0.2, 0.1], [0.6, 0.3, 0.1], [0.1, 0.1, 0.8]], "float32")
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(losses.accuracy(targets, probabilities)), [1.0, 0.0, 1.0]
    )


def test_categorical_kl_known_values_and_fixed_target():
    target = tf.Variable(np.array([[0.5, 0.5], [0.9, 0.1]], "float32"))
    y = tf.Variable(np.array([[0.9, 0.1], [0.9, 0.1]], "float32"))
    with tf.GradientTape() as tape:
        values = losses.categorical_kl(target, y)
    expected = 0.5 * np.log(0.5 / 0.9) + 0.5 * np.log(0.5 / 0.1)
    np.testing.assert_allclose(values, [expected, 0.0], rtol=1e-5, atol=1e-6)
    gradient_target, gradient_y = tape.gradient(values, [target, y])
    assert gradient_target is None
    np.testing.assert_allclose(gradient_y, [[-0.5 / 0.9, -0.5 / 0.1], [-1.0, -1.0]], rtol=1e-5)


def test_consistency_loss_known_values_and_fixed_target():
    y = tf.Variable(np.array([[0.5, 0.5], [1.0, 0.0]], "float32"))
    target = tf.Variable(np.array([[1.0, 0.0], [1.0, 0.0]], "float32"))
    with tf.GradientTape() as tape:
        values = losses.consistency_loss(y, target)
    np.testing.assert_allclose(values, [0.5, 0.0])
    gradient_y, gradient_target = tape.gradient(values, [y, target])  # of their sum
    np.testing.assert_allclose(gradient_y, [[-1.0, 1.0], [0.0, 0.0]])
    assert gradient_target is None


def test_rampup_known_values():
    np.testing.assert_allclose(losses.rampup(0, 10), math.exp(-5.0), rtol=1e-6)
    np.testing.assert_allclose(losses.rampup(5, 10), math.exp(-5.0 * 0.25), rtol=1e-6)
    assert float(losses.rampup(10, 10)) == float(losses.rampup(50, 10)) == 1.0
    assert float(losses.rampup(3, 0)) == 1.0  # no ramp: the full weight


def test_unit_images_have_norm_one_per_image_whatever_their_scale():
    d = np.array([[[3.0], [4.0]], [[1e-3], [0.0]], [[1e20], [1e20]]], "float32")
    unit = keras.ops.convert_to_numpy(losses.unit_images(d))
    np.testing.assert_allclose(unit[0, :, 0], [0.6, 0.8], rtol=1e-6)
    np.testing.assert_allclose(np.sqrt(np.sum(np.square(unit), axis=(1, 2))), 1.0, rtol=1e-5)
    assert np.all(np.isfinite(unit))


def test_vae_gan_loss_known_values():
    zero = np.zeros((2, 1), "float32")
    # Every logit 0: D = 1/2 throughout, each log term log 2, four of them over 4.
    np.testing.assert_allclose(losses.vae_gan_loss(zero, zero, zero), [math.log(2)] * 2, rtol=1e-6)
    big = np.full((1, 1), 30.0, "float32")
    # A sure real on reals, sure fakes on fakes: no loss.
    np.testing.assert_allclose(losses.vae_gan_loss(big, -big, -big), [0.0], atol=1e-6)
    # The prior's fakes count twice: fooled on them costs twice fooled on rebuilt ones.
    drawn = losses.vae_gan_loss(big, -big, big)[0]
    rebuilt = losses.vae_gan_loss(big, big, -big)[0]
    np.testing.assert_allclose(drawn, 2 * rebuilt, rtol=1e-5)
    np.testing.assert_allclose(rebuilt, 30.0 / 4, rtol=1e-5)


def test_similarity_loss_known_values():
    real = np.array([[0.0, 2.0], [1.0, 1.0]], "float32")
    fake = real + np.array([[1.0, 1.0], [0.0, 2.0]], "float32")
    np.testing.assert_allclose(
        losses.similarity_loss(real, fake, "mse", standardize=False), [2.0, 4.0], rtol=1e-6
    )
    # The cross-entropy of sigmoid(fake) against sigmoid(real), summed over features.
    sigmoid = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
    target, p = sigmoid(real), sigmoid(fake)
    expected = -np.sum(target * np.log(p) + (1 - target) * np.log(1 - p), axis=1)
    np.testing.assert_allclose(
        losses.similarity_loss(real, fake, "bce", standardize=False), expected, rtol=1e-5
    )
    # Standardised by the real batch: scaling both leaves the squared error alone.
    once = losses.similarity_loss(real, fake, "mse")
    np.testing.assert_allclose(losses.similarity_loss(10 * real, 10 * fake, "mse"), once, rtol=1e-3)


def test_feature_matching_losses_against_hand_computed_values():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(5, 3, 2)).astype("float32"), rng.normal(size=(5, 6)).astype("float32")
    a2, b2 = a + rng.normal(size=a.shape), b * 2.0
    pairwise = losses.pairwise_matching_loss([(a, a2), (b, b2)])
    expected = 0.5 * (((a - a2) ** 2).sum(axis=(1, 2)) + ((b - b2) ** 2).sum(axis=1))
    np.testing.assert_allclose(pairwise, expected, rtol=1e-5)
    mean = losses.mean_matching_loss(b, b2)
    np.testing.assert_allclose(mean, np.full(5, 0.5 * ((b.mean(0) - b2.mean(0)) ** 2).sum()), rtol=1e-5)
    # Class means: class 0 has rows 0 and 2, class 2 row 1; class 1 is absent.
    targets = np.eye(3, dtype="float32")[[0, 2, 0]]
    fake = rng.normal(size=(3, 4)).astype("float32")
    centres = rng.normal(size=(3, 4)).astype("float32")
    value = losses.class_mean_matching_loss(centres, fake, targets)
    expected = 0.5 * (((centres[0] - fake[[0, 2]].mean(0)) ** 2).sum()
                      + ((centres[2] - fake[1]) ** 2).sum())
    np.testing.assert_allclose(value, np.full(3, expected), rtol=1e-5)


def test_class_centres_are_debiased_moving_averages_of_the_present_classes():
    targets = np.eye(3, dtype="float32")
    centres, seen = np.zeros((3, 2), "float32"), np.zeros(3, "float32")
    batches = [
        (np.array([[1.0, 2.0], [3.0, 6.0]], "float32"), [0, 0]),  # class 0 mean (2, 4)
        (np.array([[4.0, 0.0], [5.0, 5.0]], "float32"), [0, 1]),
    ]
    decay = 0.5
    for features, labels in batches:
        centres, seen, estimates = losses.class_centres(
            centres, seen, features, targets[labels], decay
        )
    centres, seen, estimates = (np.asarray(v) for v in (centres, seen, estimates))
    # Class 0: 0.5 * (0.5 * (2, 4)) + 0.5 * (4, 0) = (2.5, 1); weight 0.5 * 0.5 + 0.5.
    np.testing.assert_allclose(centres[0], [2.5, 1.0])
    np.testing.assert_allclose(seen, [0.75, 0.5, 0.0])
    np.testing.assert_allclose(estimates[0], [2.5 / 0.75, 1.0 / 0.75], rtol=1e-6)
    np.testing.assert_allclose(estimates[1], [5.0, 5.0])  # seen once: its own mean
    np.testing.assert_allclose(estimates[2], [0.0, 0.0])  # never seen


def test_cluster_balance_known_values_and_gradient():
    q = np.array([[0.5, 0.5, 0.0], [0.5, 0.0, 0.5]], "float32")  # mean (0.5, 0.25, 0.25)
    expected = math.log(3) - (0.5 * math.log(2) + 0.5 * math.log(4))
    np.testing.assert_allclose(losses.cluster_balance_loss(q), [expected] * 2, rtol=1e-5)
    np.testing.assert_allclose(losses.cluster_balance_loss(np.full((4, 3), 1 / 3, "float32")),
                               [0.0] * 4, atol=1e-6)
    one = np.eye(3, dtype="float32")[[0, 0]]
    np.testing.assert_allclose(losses.cluster_balance_loss(one), [math.log(3)] * 2, rtol=1e-5)
    # Its gradient moves mass from the crowded cluster to the others.
    q = tf.Variable(q)
    with tf.GradientTape() as tape:
        value = losses.global_mean(losses.cluster_balance_loss(q))
    gradient = tape.gradient(value, q).numpy()
    assert np.all(gradient[:, 0] > gradient[:, 1]) and np.all(gradient[:, 0] > gradient[:, 2])
