"""The classifier's training terms: the mean teacher and virtual adversarial training."""

import keras
import numpy as np
from keras import ops

from keras_latent import losses
from keras_latent.models import classifier_terms


def _classifier(seed=0):
    keras.utils.set_random_seed(seed)
    return keras.Sequential(
        [keras.Input((2, 2, 1)), keras.layers.Flatten(), keras.layers.Dense(3, activation="softmax")]
    )


def test_the_teacher_averages_the_weights_and_runs_with_them():
    network = _classifier()
    owner = keras.Model()
    teacher = classifier_terms.MeanTeacher(owner, network, decay=0.75)
    start = [v.numpy() for v in network.trainable_variables]
    assert [v.path.split("/")[-1] for v in owner.weights] == ["teacher_0", "teacher_1"]
    x = np.random.default_rng(0).random((4, 2, 2, 1)).astype("float32")
    np.testing.assert_allclose(teacher(x), network(x), rtol=1e-6)  # equal at the start
    rng = np.random.default_rng(3)
    moves = [rng.standard_normal(v.shape).astype("float32") for v in network.trainable_variables]
    for v, move in zip(network.trainable_variables, moves):
        v.assign(v + move)
    teacher.update()
    for kept, first, move in zip(teacher.variables, start, moves):
        np.testing.assert_allclose(kept.numpy(), first + 0.25 * move, rtol=1e-5, atol=1e-6)
    assert not np.allclose(teacher(x), network(x))  # it lags behind
    try:
        classifier_terms.MeanTeacher(owner, network, decay=1.0)
    except ValueError as error:
        assert "teacher_decay" in str(error)
    else:
        raise AssertionError("decay 1 never moves: expected a ValueError")


def test_the_adversarial_view_moves_each_image_by_the_radius_where_y_moves_most():
    network = _classifier()
    x = np.random.default_rng(1).random((5, 2, 2, 1)).astype("float32")
    direction = np.random.default_rng(2).standard_normal(x.shape).astype("float32")
    y, moved = classifier_terms.virtual_adversarial_view(network, x, direction, radius=0.5)
    np.testing.assert_allclose(y, network(x), rtol=1e-6)
    step = ops.convert_to_numpy(moved) - x
    np.testing.assert_allclose(np.sqrt(np.sum(step**2, axis=(1, 2, 3))), 0.5, rtol=1e-4)
    # The chosen step moves y more than the random direction of the same length.
    random = x + 0.5 * ops.convert_to_numpy(losses.unit_images(direction))
    chosen = losses.categorical_kl(y, network(moved))
    other = losses.categorical_kl(y, network(random))
    assert np.mean(ops.convert_to_numpy(chosen)) > np.mean(ops.convert_to_numpy(other))
