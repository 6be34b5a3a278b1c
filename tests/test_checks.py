import keras
import numpy as np
import pytest

from keras_latent import checks


def test_check_number_returns_the_number_in_its_range():
    assert checks.check_number(0, "w", minimum=0) == 0.0
    assert isinstance(checks.check_number(np.float32(0.5), "w"), float)
    assert checks.check_number(np.int64(3), "every", minimum=1, integer=True) == 3
    assert type(checks.check_number(np.int64(3), "every", integer=True)) is int
    assert checks.check_number(0.999, "decay", minimum=0, maximum=1, below_maximum=True) == 0.999


@pytest.mark.parametrize(
    "value, bounds, match",
    [
        (-1, dict(minimum=0), r"^w: expected a number >= 0; got -1\.$"),
        (0, dict(minimum=0, above_minimum=True), r"^w: expected a number > 0; got 0\.$"),
        (1, dict(minimum=0, maximum=1, below_maximum=True), r"^w: expected a number in \[0, 1\);"),
        (3, dict(maximum=2.5), r"^w: expected a number <= 2\.5; got 3\.$"),
        (float("nan"), {}, r"^w: expected a number; got nan\.$"),
        (float("inf"), dict(minimum=0), "^w: expected a number >= 0"),
        (True, {}, "^w: expected a number"),
        ("1", {}, "^w: expected a number"),
        (2.0, dict(integer=True), r"^w: expected a whole number; got 2\.0\.$"),
        (0, dict(minimum=1, integer=True, what="steps"), r"^w: expected a whole number >= 1 \(steps"),
    ],
)
def test_check_number_refuses_what_is_out_of_range_or_not_a_number(value, bounds, match):
    with pytest.raises(ValueError, match=match):
        checks.check_number(value, "w", **bounds)


def test_check_count():
    assert checks.check_count(np.int32(4)) == 4
    for bad in (0, -2, 1.0, True):
        with pytest.raises(ValueError, match="^n: expected a positive int count"):
            checks.check_count(bad)


def test_check_codes():
    z = checks.check_codes([[0.0, 1.0]], 2)
    assert z.dtype == np.float32 and z.shape == (1, 2)
    assert checks.check_codes(np.ones((3, 5)), None, dtype="float64").dtype == np.float64
    with pytest.raises(ValueError, match=r"^z: expected codes shaped \(N >= 1, 2\) \(the latent"):
        checks.check_codes(np.zeros((3, 4)), 2)
    with pytest.raises(ValueError, match=r"^a: expected codes shaped \(N >= 1, dim\); got"):
        checks.check_codes(np.zeros((0, 4)), None, "a", what=None)
    with pytest.raises(ValueError, match="^z: expected finite numbers"):
        checks.check_codes([[np.nan, 0.0]], 2)


def test_check_class_labels_reads_integers_and_one_hot_rows():
    np.testing.assert_array_equal(checks.check_class_labels([2, 0], 2, 3), [2, 0])
    np.testing.assert_array_equal(checks.check_class_labels(np.eye(3)[[1, 2]], 2, 3), [1, 2])
    with pytest.raises(ValueError, match=r"^labels: expected 2 integer labels in \[0, 2\]"):
        checks.check_class_labels([0, 3], 2, 3)
    with pytest.raises(ValueError, match="^labels: expected 2 integer labels"):
        checks.check_class_labels([0.0, 1.0], 2, 3)


def test_check_labels():
    np.testing.assert_array_equal(checks.check_labels([0, 9], 10), [0, 9])
    checks.check_labels([-1, 3], 10, allow_unlabelled=True)
    with pytest.raises(ValueError, match=r"^y: expected labels in \[0, 9\] .*; got \[-1, 3\]"):
        checks.check_labels([-1, 3], 10)
    with pytest.raises(ValueError, match="^y: expected a 1-D array of integer class labels"):
        checks.check_labels([0.0, 1.0], 10)


def test_check_one_hot():
    rows = checks.check_one_hot(np.eye(3)[[0, 2]], 3)
    assert rows.shape == (2, 3)
    with pytest.raises(ValueError, match="^y: expected one-hot labels of size 3"):
        checks.check_one_hot(np.eye(4), 3)
    with pytest.raises(ValueError, match=r"^y: expected one-hot rows .*; row 1 is"):
        checks.check_one_hot([[1, 0, 0], [0.5, 0.5, 0]], 3)


def test_check_one_per_image():
    assert checks.check_one_per_image([1, 2], 2).shape == (2,)
    with pytest.raises(ValueError, match=r"^y: expected one label per image \(3\); got 2\.$"):
        checks.check_one_per_image([1, 2], 3)


def test_check_images():
    x = np.full((2, 4, 4, 1), 0.5, "float32")
    assert checks.check_images(x, shape=(4, None, 1)) is x
    checks.check_images(x + 0.5005, tolerance=1e-3)
    for bad, match in [
        (x[0], "^x: expected images shaped"),
        (x.astype("uint8"), "^x: expected floating-point images"),
        (x[:0], "^x: expected at least one image"),
        (x * np.inf, "^x: contains NaN"),
        (x * 3, r"^x: expected values in \[0, 1\]"),
    ]:
        with pytest.raises(ValueError, match=match):
            checks.check_images(bad)
    with pytest.raises(ValueError, match=r"^images: expected images of shape \(8, 8, 1\)"):
        checks.check_images(x, "images", shape=(8, 8, 1))


def test_check_network_sizes_and_models():
    inputs = keras.Input((3,))
    network = keras.Model(inputs, keras.layers.Dense(2)(inputs))
    checks.check_network_sizes(network, "encoder", [3])
    checks.check_network_sizes(network, "encoder", [2], inputs=False)
    with pytest.raises(ValueError, match=r"^encoder: expected inputs of sizes \[4\] .* has \[3\]"):
        checks.check_network_sizes(network, "encoder", [4])

    class Owner:
        encoder, decoder = network, "not a model"

    checks.check_models(Owner, ["encoder"])
    with pytest.raises(ValueError, match="^decoder: expected a keras.Model; got str"):
        checks.check_models(Owner, ["encoder", "decoder"])
