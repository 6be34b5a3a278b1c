import keras
import numpy as np

from keras_latent.layers import Sampling
from tests.helpers import assert_config_round_trip


def test_sampling_statistics():
    n = 20000
    mean = np.tile(np.array([[1.0, -2.0]], "float32"), (n, 1))
    log_var = np.tile(np.log(np.array([[0.25, 4.0]], "float32")), (n, 1))
    z = keras.ops.convert_to_numpy(Sampling(seed=1)([mean, log_var]))
    assert z.shape == (n, 2)
    np.testing.assert_allclose(z.mean(axis=0), [1.0, -2.0], atol=0.05)
    np.testing.assert_allclose(z.std(axis=0), [0.5, 2.0], rtol=0.03)


def test_sampling_is_seeded_and_draws_fresh_noise():
    zeros = np.zeros((5, 3), "float32")
    a, b = Sampling(seed=3), Sampling(seed=3)
    first = keras.ops.convert_to_numpy(a([zeros, zeros]))
    np.testing.assert_array_equal(first, keras.ops.convert_to_numpy(b([zeros, zeros])))
    assert not np.allclose(first, keras.ops.convert_to_numpy(a([zeros, zeros])))


def test_sampling_config_round_trip():
    restored = assert_config_round_trip(Sampling(seed=7, name="z"))
    assert restored.seed == 7
