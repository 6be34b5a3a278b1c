import gzip
import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_latent import checks, data


def write_idx(path, array):
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(
        int(d).to_bytes(4, "big") for d in array.shape
    )
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "wb") as f:
        f.write(header + array.astype("uint8").tobytes())


@pytest.fixture
def idx_folder(tmp_path):
    rng = np.random.default_rng(0)
    arrays = {
        "train-images-idx3-ubyte.gz": rng.integers(0, 256, (6, 28, 28)),
        "train-labels-idx1-ubyte.gz": np.arange(6) % 10,
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (4, 28, 28)),  # not gzipped
        "t10k-labels-idx1-ubyte": np.array([9, 8, 7, 6]),
    }
    for name, array in arrays.items():
        write_idx(os.path.join(tmp_path, name), np.asarray(array))
    return str(tmp_path), arrays


def test_load_mnist_reads_idx_folder(idx_folder):
    folder, arrays = idx_folder
    (x, y), (xt, yt) = data.load_mnist(folder)
    assert x.shape == (6, 28, 28, 1) and x.dtype == np.float32
    assert xt.shape == (4, 28, 28, 1)
    np.testing.assert_allclose(x[..., 0], arrays["train-images-idx3-ubyte.gz"] / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(yt, [9, 8, 7, 6])
    assert 0.0 <= x.min() and x.max() <= 1.0


def test_load_mnist_reads_environment_variable(idx_folder, monkeypatch):
    monkeypatch.setenv(data.DATA_DIR_VARIABLE, idx_folder[0])
    (x, _), _ = data.load_mnist()
    assert x.shape == (6, 28, 28, 1)


def test_load_mnist_error_names_both_ways(tmp_path, monkeypatch):
    monkeypatch.delenv(data.DATA_DIR_VARIABLE, raising=False)

    def offline():
        raise Exception("URL fetch failure")

    monkeypatch.setattr(keras.datasets.mnist, "load_data", offline)
    with pytest.raises(data.DatasetUnavailableError, match="data_dir.*KERAS_LATENT_DATA_DIR"):
        data.load_mnist()
    with pytest.raises(data.DatasetUnavailableError, match="data_dir"):
        data.load_mnist(str(tmp_path))  # an empty folder


def test_read_idx_rejects_other_files(tmp_path):
    path = os.path.join(tmp_path, "bad")
    with open(path, "wb") as f:
        f.write(b"PK\x03\x04 not an idx file")
    with pytest.raises(ValueError, match="not an IDX file"):
        data.read_idx(path)


def test_read_idx_names_a_cut_gzip_file(idx_folder):
    path = os.path.join(idx_folder[0], "train-images-idx3-ubyte.gz")
    with open(path, "rb") as f:
        whole = f.read()
    with open(path, "wb") as f:
        f.write(whole[: len(whole) // 2])  # a download that stopped half way
    with pytest.raises(ValueError, match="train-images-idx3-ubyte.gz is damaged"):
        data.read_idx(path)


@pytest.mark.skipif(
    not os.environ.get(data.DATA_DIR_VARIABLE), reason="needs the real MNIST files"
)
def test_real_mnist_has_published_counts():
    (x, y), (xt, yt) = data.load_mnist()
    assert x.shape == (60000, 28, 28, 1) and xt.shape == (10000, 28, 28, 1)
    assert np.bincount(yt).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def test_digits_and_npz(tmp_path):
    (x, y), (xt, yt) = data.load_dataset("digits")
    assert x.shape[1:] == (28, 28, 1) and len(x) + len(xt) == 1797
    assert set(np.unique(y)) == set(range(10))
    path = os.path.join(tmp_path, "colour.npz")
    rng = np.random.default_rng(0)
    np.savez(path, x_train=rng.integers(0, 256, (5, 12, 10, 3), dtype="uint8"),
             y_train=np.arange(5), x_test=rng.uniform(size=(2, 12, 10, 3)), y_test=[0, 1])
    (x, y), (xt, yt) = data.load_dataset(path)
    assert x.shape == (5, 12, 10, 3) and x.dtype == np.float32 and x.max() <= 1.0
    assert xt.shape == (2, 12, 10, 3)


def test_unknown_dataset_raises():
    with pytest.raises(ValueError, match="dataset: expected one of"):
        data.load_dataset("cifar")


def test_make_dataset_any_shape_and_classes():
    rng = np.random.default_rng(0)
    x = rng.uniform(size=(50, 32, 24, 3)).astype("float32")
    y = rng.integers(0, 37, 50)
    ds = data.make_dataset(x, y, batch_size=16, seed=0)
    batches = list(ds)
    assert [int(b[0].shape[0]) for b in batches] == [16, 16, 16, 2]
    assert tuple(batches[0][0].shape[1:]) == (32, 24, 3)
    seen = np.sort(np.concatenate([b[1].numpy() for b in batches]))
    np.testing.assert_array_equal(seen, np.sort(y))
    images_only = data.make_dataset(x, batch_size=10, shuffle=False)
    np.testing.assert_array_equal(next(iter(images_only)).numpy(), x[:10])


@pytest.mark.parametrize(
    "bad, match",
    [
        (np.zeros((4, 28, 28), "float32"), "x: expected images shaped"),
        (np.zeros((4, 28, 28, 1), "uint8"), "x: expected floating-point"),
        (np.full((4, 28, 28, 1), np.nan, "float32"), "x: contains NaN"),
        (np.full((4, 28, 28, 1), 255.0, "float32"), r"x: expected values in \[0, 1\]"),
        (np.zeros((4, 32, 32, 1), "float32"), r"x: expected images of shape \(28, 28, 1\)"),
    ],
)
def test_check_fit_data_rejects_bad_arrays(bad, match):
    with pytest.raises(ValueError, match=match):
        data.check_fit_data(bad, shape=(28, 28, 1))


def test_check_fit_data_checks_dataset_spec():
    unbatched = tf.data.Dataset.from_tensor_slices(np.zeros((4, 28, 28, 1), "float32"))
    with pytest.raises(ValueError, match="x: expected a batched dataset"):
        data.check_fit_data(unbatched, shape=(28, 28, 1))
    with pytest.raises(ValueError, match=r"x: expected images of shape \(28, 28, 1\)"):
        data.check_fit_data(unbatched.batch(2).map(lambda t: tf.image.resize(t, (8, 8))), shape=(28, 28, 1))
    data.check_fit_data(unbatched.batch(2), shape=(28, 28, 1))


def test_check_labels():
    checks.check_labels(np.array([0, 9]), 10)
    with pytest.raises(ValueError, match=r"y: expected labels in \[0, 9\]"):
        checks.check_labels(np.array([0, 10]), 10)
    checks.check_labels(np.array([-1, 3]), 10, allow_unlabelled=True)


def test_hide_labels_keeps_a_balanced_few():
    y = np.arange(1000) % 10
    kept = data.hide_labels(y, labels_per_class=7, seed=0)
    assert np.bincount(kept[kept >= 0]).tolist() == [7] * 10
    assert np.all(kept[kept >= 0] == y[kept >= 0])
    assert not np.array_equal(kept, data.hide_labels(y, labels_per_class=7, seed=1))
    with pytest.raises(ValueError, match="labels_per_class: class 0 has only 100"):
        data.hide_labels(y, labels_per_class=101)


def test_in_memory_datasets_read_ahead_with_the_autotuner_off():
    # The autotuner can idle a core of a small CPU (docs/performance.md); the
    # option must hold through what fit adds (the batch checks, the epoch stream).
    x = np.random.default_rng(0).uniform(size=(40, 8, 8, 1)).astype("float32")
    y = np.arange(40) % 2
    tuned = tf.data.Options()
    tuned.autotune.enabled = True

    def built():
        return [
            data.make_dataset(x, y, batch_size=8, seed=0),
            data.semi_supervised_dataset(x, data.hide_labels(y, 2, seed=0), batch_size=8, seed=0),
        ]

    for ds, same in zip(built(), built()):
        checked = data.check_batches(ds, num_classes=2, allow_unlabelled=True)
        fed, _ = data.epoch_stream(checked)
        assert fed.options().autotune.enabled is False
        # The same batches, in the same order, as with the autotuner on.
        theirs, _ = data.epoch_stream(data.check_batches(
            same.with_options(tuned), num_classes=2, allow_unlabelled=True))
        for ours, other in zip(fed.take(12), theirs.take(12)):
            for a, b in zip(ours, other):
                np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_semi_supervised_dataset_batches():
    rng = np.random.default_rng(0)
    x = rng.uniform(size=(60, 8, 8, 2)).astype("float32")
    y = data.hide_labels(np.arange(60) % 3, labels_per_class=2, seed=0)
    batches = list(data.semi_supervised_dataset(x, y, batch_size=20, labelled_batch_size=4, seed=0))
    assert len(batches) == 3
    images, labels = batches[0]
    assert tuple(images.shape) == (24, 8, 8, 2) and tuple(labels.shape) == (24,)
    assert np.all(labels.numpy()[:20] == -1) and np.all(labels.numpy()[20:] >= 0)


def test_fashion_mnist_ignores_the_mnist_folder_variable(idx_folder, monkeypatch):
    monkeypatch.setenv(data.DATA_DIR_VARIABLE, idx_folder[0])

    def offline():
        raise Exception("URL fetch failure")

    monkeypatch.setattr(keras.datasets.fashion_mnist, "load_data", offline)
    with pytest.raises(data.DatasetUnavailableError, match="fashion_mnist could not be loaded"):
        data.load_dataset("fashion_mnist")
    (x, _), _ = data.load_dataset("fashion_mnist", data_dir=idx_folder[0])  # explicit folder
    assert x.shape == (6, 28, 28, 1)


def batches_of(dataset, n):
    return [tuple(b.numpy().ravel()) for b in dataset.take(n)]


def test_epoch_stream_reads_pass_after_pass_and_resumes_where_it_stopped():
    def passes():  # 3 batches a pass, reshuffled every pass
        return tf.data.Dataset.range(6).shuffle(6, seed=1).batch(2)

    stream, steps = data.epoch_stream(passes())
    assert steps == 3
    fresh = passes()
    expected = [b for _ in range(4) for b in batches_of(fresh, 3)]  # pass after pass
    assert batches_of(stream, 12) == expected
    # Resumed after two epochs: the batches an uninterrupted run reads next.
    resumed, steps = data.epoch_stream(passes(), epochs_done=2, batches_read=6)
    assert steps == 3 and batches_of(resumed, 6) == expected[6:]
    # Epochs shorter than a pass (steps_per_epoch) cut passes; resuming still follows on.
    resumed, steps = data.epoch_stream(passes(), steps_per_epoch=2, epochs_done=2)
    assert steps == 2 and batches_of(resumed, 4) == expected[4:8]
    # Unknown length: left to Keras; for ever: an epoch would never end.
    filtered = passes().filter(lambda b: True)
    assert data.epoch_stream(filtered) == (filtered, None)
    with pytest.raises(ValueError, match="^steps_per_epoch: the dataset repeats for ever"):
        data.epoch_stream(passes().repeat())
