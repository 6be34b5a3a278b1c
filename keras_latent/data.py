"""Datasets: MNIST from local IDX files, other image sets, and `tf.data` pipelines.

Every model in keras-latent trains on images shaped `(N, height, width, channels)`,
float32 in [0, 1], with integer labels where a model uses them. The helpers here load
such arrays and turn them into batched `tf.data.Dataset`s; `check_fit_data` and
`check_fit_labels` are the validation every `fit` runs before any graph is built
(arrays through `keras_latent.checks`, datasets by their element spec), and
`check_batches` checks a dataset's batches as they are read.

Example:

>>> from keras_latent import data
>>> (x_train, y_train), (x_test, y_test) = data.load_dataset("digits")
>>> x_train.shape[1:]
(28, 28, 1)
>>> ds = data.make_dataset(x_train, y_train, batch_size=64, seed=0)
"""

import gzip
import os
import zlib

import numpy as np
import tensorflow as tf

# `check_images` and `check_labels` stay importable from here (`data.check_images`).
from keras_latent.checks import (
    check_images,
    check_labels,
    check_number,
    check_one_hot,
    check_one_per_image,
)

DATA_DIR_VARIABLE = "KERAS_LATENT_DATA_DIR"
DATASET_NAMES = ("mnist", "fashion_mnist", "digits")

_IDX_STEMS = {
    "x_train": ("train-images-idx3-ubyte", "train-images.idx3-ubyte"),
    "y_train": ("train-labels-idx1-ubyte", "train-labels.idx1-ubyte"),
    "x_test": ("t10k-images-idx3-ubyte", "t10k-images.idx3-ubyte"),
    "y_test": ("t10k-labels-idx1-ubyte", "t10k-labels.idx1-ubyte"),
}
# IDX type codes (the third byte of the magic number) and their NumPy dtypes.
_IDX_DTYPES = {
    0x08: np.uint8,
    0x09: np.int8,
    0x0B: ">i2",
    0x0C: ">i4",
    0x0D: ">f4",
    0x0E: ">f8",
}


class DatasetUnavailableError(RuntimeError):
    """Raised when a dataset is neither in a local folder nor downloadable."""


def read_idx(path):
    """Reads one IDX file (gzipped when its name ends in `.gz`) into an array."""
    opener = gzip.open if str(path).endswith(".gz") else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
    except (EOFError, gzip.BadGzipFile, zlib.error) as error:  # a cut or damaged .gz
        raise ValueError(
            f"{path} is damaged ({type(error).__name__}: {error}); download it again."
        ) from error
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        raise ValueError(f"{path} is not an IDX file (bad magic number).")
    dtype = np.dtype(_IDX_DTYPES[raw[2]])
    ndim = raw[3]
    shape = tuple(
        int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)
    )
    offset = 4 + 4 * ndim
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(raw) - offset != expected:
        raise ValueError(
            f"{path}: header promises {shape} ({expected} bytes) but "
            f"{len(raw) - offset} bytes follow."
        )
    return np.frombuffer(raw, dtype=dtype, offset=offset).reshape(shape)


def _find_idx(data_dir, stems):
    for stem in stems:
        for name in (stem + ".gz", stem):
            path = os.path.join(data_dir, name)
            if os.path.exists(path):
                return path
    return None


def load_idx_folder(data_dir):
    """Reads the four MNIST-layout IDX files from `data_dir`.

    Returns:
        `(x_train, y_train), (x_test, y_test)`: images float32 in [0, 1] shaped
        `(N, 28, 28, 1)` and labels int64.
    """
    arrays = {}
    for key, stems in _IDX_STEMS.items():
        path = _find_idx(data_dir, stems)
        if path is None:
            raise DatasetUnavailableError(
                f"data_dir: {data_dir!r} has no {stems[0]}[.gz] file; expected the "
                "four MNIST IDX files (train/t10k images and labels)."
            )
        arrays[key] = read_idx(path)
    return (
        (_to_float_images(arrays["x_train"]), arrays["y_train"].astype("int64")),
        (_to_float_images(arrays["x_test"]), arrays["y_test"].astype("int64")),
    )


def _to_float_images(x):
    x = np.asarray(x)
    if x.ndim == 3:
        x = x[..., None]
    if np.issubdtype(x.dtype, np.integer):
        return (x / 255.0).astype("float32")
    return x.astype("float32")


def _load_keras_dataset(name, data_dir):
    if name == "mnist":
        # The variable names the MNIST folder; other sets need an explicit folder.
        data_dir = data_dir or os.environ.get(DATA_DIR_VARIABLE)
    if data_dir:
        return load_idx_folder(data_dir)
    try:
        module = getattr(__import__("keras").datasets, name)
        (x_train, y_train), (x_test, y_test) = module.load_data()
    except Exception as error:  # Keras raises a bare Exception on a failed fetch.
        raise DatasetUnavailableError(
            f"{name} could not be loaded: no local folder was given and Keras could "
            f"not download it ({error}). Pass the folder of IDX files as "
            f"`data_dir=` (`--data-dir` in the scripts) or set {DATA_DIR_VARIABLE}."
        ) from error
    return (
        (_to_float_images(x_train), y_train.astype("int64")),
        (_to_float_images(x_test), y_test.astype("int64")),
    )


def load_mnist(data_dir=None):
    """Loads MNIST as float32 images in [0, 1] shaped `(N, 28, 28, 1)`.

    Reads a folder of IDX files (gzipped or not) named by `data_dir` or by the
    `KERAS_LATENT_DATA_DIR` environment variable, and otherwise uses
    `keras.datasets.mnist.load_data()`.

    Args:
        data_dir: str or None. Folder holding `train-images-idx3-ubyte[.gz]` and
            the three other MNIST files. Defaults to `$KERAS_LATENT_DATA_DIR`.

    Returns:
        `(x_train, y_train), (x_test, y_test)`.

    Raises:
        DatasetUnavailableError: neither a folder nor a download works.
    """
    return _load_keras_dataset("mnist", data_dir)


def load_digits(test_fraction=0.2, seed=0):
    """The 8x8 digits shipped inside scikit-learn, resized to 28x28 in [0, 1].

    A small stand-in for MNIST (1797 images) that needs no download.
    """
    from sklearn.datasets import load_digits as sk_load_digits

    bunch = sk_load_digits()
    images = bunch.images.astype("float32")[..., None] / 16.0
    images = tf.image.resize(images, (28, 28), method="bilinear").numpy()
    images = np.clip(images, 0.0, 1.0).astype("float32")
    labels = bunch.target.astype("int64")
    order = np.random.default_rng(seed).permutation(len(images))
    n_test = int(round(len(images) * test_fraction))
    test, train = order[:n_test], order[n_test:]
    return (images[train], labels[train]), (images[test], labels[test])


def load_npz(path):
    """Loads `x_train`, `y_train`, `x_test`, `y_test` from an `.npz` file.

    Images may have any size; `(N, H, W)` gains a channel axis and integer images
    are scaled from [0, 255] to [0, 1].
    """
    with np.load(path) as archive:
        missing = {"x_train", "y_train", "x_test", "y_test"} - set(archive.files)
        if missing:
            raise ValueError(
                f"dataset: {path} lacks {sorted(missing)}; expected x_train, "
                "y_train, x_test and y_test."
            )
        x_train, x_test = archive["x_train"], archive["x_test"]
        y_train, y_test = archive["y_train"], archive["y_test"]
    return (
        (_to_float_images(x_train), y_train.astype("int64")),
        (_to_float_images(x_test), y_test.astype("int64")),
    )


def load_dataset(name="mnist", data_dir=None):
    """Loads a dataset by name: `mnist`, `fashion_mnist`, `digits` or an `.npz` path.

    Returns:
        `(x_train, y_train), (x_test, y_test)` with images float32 in [0, 1]
        shaped `(N, H, W, C)` and int64 labels.
    """
    if name == "mnist":
        return load_mnist(data_dir)
    if name == "fashion_mnist":
        return _load_keras_dataset("fashion_mnist", data_dir)
    if name == "digits":
        return load_digits()
    if str(name).endswith(".npz"):
        return load_npz(name)
    raise ValueError(
        f"dataset: expected one of {DATASET_NAMES} or a path to an .npz file; "
        f"got {name!r}."
    )


def check_fit_data(x, shape, name="x"):
    """Validates what a model's `fit` receives: an image array or a dataset.

    Arrays are checked in full (`check_images`); for a `tf.data.Dataset` the
    element spec's image rank and size are checked, since its values are only
    seen while training.
    """
    if isinstance(x, tf.data.Dataset):
        spec = x.element_spec
        image_spec = spec[0] if isinstance(spec, tuple) else spec
        if isinstance(image_spec, dict) or not hasattr(image_spec, "shape"):
            raise ValueError(
                f"{name}: expected a dataset of images or (images, labels); got "
                f"element spec {spec}."
            )
        got = tuple(image_spec.shape)
        if len(got) != 4:
            raise ValueError(
                f"{name}: expected a batched dataset of images shaped (batch, "
                f"height, width, channels); got element shape {got} "
                "(call .batch() on it, or use keras_latent.data.make_dataset)."
            )
        if any(w is not None and g is not None and w != g for w, g in zip(shape, got[1:])):
            raise ValueError(
                f"{name}: expected images of shape {tuple(shape)} (the model's "
                f"input); the dataset yields {got[1:]}."
            )
        if not image_spec.dtype.is_floating:
            raise ValueError(
                f"{name}: expected floating-point images in [0, 1]; the dataset "
                f"yields {image_spec.dtype.name}."
            )
        return
    if x is None:
        raise ValueError(f"{name}: expected images or a dataset; got None.")
    if isinstance(x, (list, tuple)):
        # Keras would read a list as one input per entry.
        raise ValueError(
            f"{name}: expected a NumPy array of images (N, height, width, channels) "
            f"or a tf.data.Dataset; got a {type(x).__name__} (use np.stack)."
        )
    if hasattr(x, "__len__") or hasattr(x, "shape"):
        check_images(x, name=name, shape=shape)


INPUT_CHECK = "keras_latent input check"


def check_batches(dataset, num_classes=None, allow_unlabelled=False, name="x"):
    """`dataset` with every batch checked as it is read, as arrays are before `fit`.

    Images must be finite and in [0, 1]; integer labels in `[0, num_classes)`
    (or -1 when `allow_unlabelled`). A bad batch stops the pipeline with
    `tf.errors.InvalidArgumentError` carrying `INPUT_CHECK` and a message that
    names the argument; a keras-latent model's `fit`, `evaluate` and `predict`
    turn it into a `ValueError` (see `input_error`). The checks run in the
    input pipeline's threads, beside the training step.

    Args:
        dataset: `tf.data.Dataset` of image batches, `(images, labels)` or
            `{"images": ..., "labels": ...}`.
        num_classes: int or None. Check integer labels against it.
        allow_unlabelled: bool. Accept -1 for an unlabelled example.
        name: str. The argument name used in the messages.
    """

    def check(*element):
        if len(element) == 1 and isinstance(element[0], dict):
            images, labels = element[0]["images"], element[0].get("labels")
        else:
            images, labels = element[0], element[1] if len(element) > 1 else None
        pixels = tf.cast(images, "float32")
        low, high = tf.reduce_min(pixels), tf.reduce_max(pixels)
        asserts = [
            tf.debugging.Assert(
                tf.reduce_all(tf.math.is_finite(pixels)),
                [f"{INPUT_CHECK}: {name}: a batch of images holds NaN or infinite values."],
            ),
            tf.debugging.Assert(
                tf.logical_and(low >= 0.0, high <= 1.0),
                [f"{INPUT_CHECK}: {name}: expected images in [0, 1] (divide 8-bit images "
                 "by 255); a batch spans", low, "to", high],
            ),
        ]
        if num_classes is not None and labels is not None and len(labels.shape) == 2:
            rows = tf.cast(labels, "float32")
            asserts.append(tf.debugging.Assert(
                tf.reduce_all(tf.logical_or(tf.equal(rows, 0.0), tf.equal(rows, 1.0)))
                & tf.reduce_all(tf.equal(tf.reduce_sum(rows, axis=-1), 1.0)),
                [f"{INPUT_CHECK}: y: expected one-hot rows (a single 1, the rest 0); a "
                 "batch holds values", tf.reduce_min(rows), "to", tf.reduce_max(rows),
                 "in rows summing to", tf.reduce_min(tf.reduce_sum(rows, axis=-1)), "to",
                 tf.reduce_max(tf.reduce_sum(rows, axis=-1))],
            ))
        if num_classes is not None and labels is not None and len(labels.shape) == 1 and \
                labels.dtype.is_integer:
            lowest = -1 if allow_unlabelled else 0
            asserts.append(tf.debugging.Assert(
                tf.logical_and(
                    tf.reduce_all(labels >= lowest), tf.reduce_all(labels < num_classes)
                ),
                [f"{INPUT_CHECK}: y: expected labels in [{lowest}, {num_classes - 1}] "
                 f"for {num_classes} classes; a batch spans",
                 tf.reduce_min(labels), "to", tf.reduce_max(labels)],
            ))
        with tf.control_dependencies(asserts):
            return tf.nest.map_structure(tf.identity, element if len(element) > 1 else element[0])

    return dataset.map(check, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)


def epoch_stream(dataset, steps_per_epoch=None, epochs_done=0, batches_read=None):
    """`dataset` as one stream of batches across `fit`'s epochs, started where
    `epochs_done` epochs left it.

    Keras reads a finite dataset in a fresh pass each epoch and opens (and
    drops) another iterator at each epoch's end, so a seeded shuffle's passes
    go to the epochs in an order no resumed run could pick up. Repeated (with
    its length as `steps_per_epoch` unless one is given) the dataset is read
    through one iterator, pass after pass, and skipping the batches the done
    epochs read gives a resumed `fit` the batches an uninterrupted one would
    read next. A dataset of unknown length (after a filter) is left as it is.

    Args:
        dataset: `tf.data.Dataset` of batches.
        steps_per_epoch: int or None. As given to `fit`.
        epochs_done: int. Epochs already trained (a resumed run).
        batches_read: int or None. Batches those epochs read (see
            `callbacks.BackupAndRestore.position`); None: `epochs_done`
            epochs of `steps_per_epoch` batches.

    Returns:
        `(dataset, steps_per_epoch)` to pass to `fit`.
    """
    length = int(dataset.cardinality())
    if length == int(tf.data.INFINITE_CARDINALITY) and steps_per_epoch is None:
        # Keras would read it for ever, an epoch that never ends.
        raise ValueError(
            "steps_per_epoch: the dataset repeats for ever; pass steps_per_epoch (the "
            "batches an epoch reads, e.g. len(x) // batch_size)."
        )
    if length > 0:
        steps_per_epoch, dataset = steps_per_epoch or length, dataset.repeat()
    elif steps_per_epoch is None:  # unknown length: Keras reads a pass an epoch
        return dataset, None
    if epochs_done:
        if batches_read is None:
            batches_read = epochs_done * steps_per_epoch
        dataset = dataset.skip(batches_read)
    return dataset, steps_per_epoch


def input_error(error):
    """The `ValueError` for an `InvalidArgumentError` raised by `check_batches`, else None."""
    text = str(getattr(error, "message", error))
    if INPUT_CHECK not in text:
        return None
    # tf.debugging.Assert prints its data as "[message] [value] [to] [value]".
    line = text[text.index(INPUT_CHECK) + len(INPUT_CHECK) + 2 :].splitlines()[0]
    pieces = line.split("] [")
    pieces[-1] = pieces[-1][: pieces[-1].rindex("]")] if "]" in pieces[-1] else pieces[-1]
    return ValueError(" ".join(pieces))


def check_fit_labels(x, y, num_classes, allow_unlabelled=False, one_hot=True, name="y"):
    """Validates the labels a labelled model's `fit` receives.

    Labels are integers in `[0, num_classes)` (or -1, "unlabelled", when
    `allow_unlabelled`), or, when `one_hot`, rows of width `num_classes`. For
    a `tf.data.Dataset`, its element spec must hold `(images, labels)` of that
    kind; the values are checked batch by batch (`check_batches`).
    """
    integers = f"integer class labels shaped (batch,) in [{-1 if allow_unlabelled else 0}, " \
        f"{num_classes - 1}]"
    expected = integers + (f" or one-hot rows of size {num_classes}" if one_hot else "")
    if isinstance(x, tf.data.Dataset):
        spec = x.element_spec
        if isinstance(spec, dict):
            spec = (spec.get("images"), spec.get("labels"))
        if not isinstance(spec, tuple) or len(spec) < 2 or spec[1] is None:
            raise ValueError(
                f"{name}: this model needs labels; expected a dataset of (images, "
                f"labels); got element spec {x.element_spec}."
            )
        shape, dtype = tuple(spec[1].shape), spec[1].dtype
        one_hot_rows = one_hot and len(shape) == 2 and shape[1] in (None, num_classes)
        if not (one_hot_rows or (len(shape) == 1 and dtype.is_integer)):
            raise ValueError(
                f"{name}: expected {expected}; the dataset yields {dtype.name} labels "
                f"shaped {shape}."
            )
        return
    if y is None:
        raise ValueError(
            f"{name}: this model needs labels; call fit(x, y) with one label per image."
        )
    y = check_one_per_image(y, len(x), name=name)
    if y.ndim == 2 and one_hot:
        check_one_hot(y, num_classes, name=name)
        return
    if y.ndim != 1:
        raise ValueError(f"{name}: expected {expected}; got an array shaped {y.shape}.")
    check_labels(y, num_classes, name=name, allow_unlabelled=allow_unlabelled)
    if allow_unlabelled and y.size and not np.any(y >= 0):
        raise ValueError(
            f"{name}: expected at least one labelled example (label >= 0); every "
            "label is -1."
        )


def hide_labels(y, labels_per_class, num_classes=None, seed=0):
    """Keeps `labels_per_class` labels of each class, chosen at random; the rest become -1.

    Args:
        y: int array `(N,)`.
        labels_per_class: int. Labels kept for each class (10 for 100 MNIST labels).
        num_classes: int or None. Defaults to `max(y) + 1`.
        seed: int. Which examples keep their label.
    """
    y = np.asarray(y)
    num_classes = num_classes or int(y.max()) + 1
    check_labels(y, num_classes)
    rng = np.random.default_rng(seed)
    kept = np.full_like(y, -1)
    for k in range(num_classes):
        members = np.flatnonzero(y == k)
        if len(members) < labels_per_class:
            raise ValueError(
                f"labels_per_class: class {k} has only {len(members)} examples; "
                f"asked for {labels_per_class}."
            )
        chosen = rng.choice(members, labels_per_class, replace=False)
        kept[chosen] = k
    return kept


def semi_supervised_dataset(x, y, batch_size=100, labelled_batch_size=None, seed=None):
    """Batches of every image with its label hidden, plus a batch of labelled ones.

    Each batch holds `batch_size` images drawn from all of `x` with label -1 and
    `labelled_batch_size` images drawn (repeating) from those whose label in `y`
    is >= 0, with their labels: one `fit` call trains the semi-supervised AAE's
    reconstruction and regularisation on all data and its classifier on the
    labelled part. An epoch is one pass over `x`. tf.data's autotuner is off
    (see `prefetched`).

    Args:
        x: float array `(N, H, W, C)` in [0, 1].
        y: int array `(N,)`, -1 for unlabelled (see `hide_labels`).
        batch_size: int. Defaults to 100.
        labelled_batch_size: int or None. Defaults to `min(labelled, batch_size)`.
        seed: int or None. Shuffle seed.
    """
    check_images(x)
    y = check_one_per_image(y, len(x))
    labelled = np.flatnonzero(y >= 0)
    if len(labelled) == 0:
        raise ValueError("y: expected at least one labelled example (label >= 0).")
    check_number(
        batch_size, "batch_size", minimum=1, maximum=len(x), integer=True,
        what="the image count: batches are full",
    )
    labelled_batch_size = labelled_batch_size or min(len(labelled), batch_size)
    everything = tf.data.Dataset.from_tensor_slices(x).cache()
    everything = everything.shuffle(len(x), seed=seed).batch(batch_size, drop_remainder=True)
    known = tf.data.Dataset.from_tensor_slices((x[labelled], y[labelled].astype("int64")))
    known = known.cache().shuffle(len(labelled), seed=seed).repeat()
    known = known.batch(labelled_batch_size, drop_remainder=True)

    def merge(images, labelled_batch):
        known_images, known_labels = labelled_batch
        hidden = -tf.ones((tf.shape(images)[0],), "int64")
        return (
            tf.concat([images, known_images], axis=0),
            tf.concat([hidden, known_labels], axis=0),
        )

    return prefetched(tf.data.Dataset.zip((everything, known)).map(merge))


def make_dataset(
    x,
    y=None,
    batch_size=100,
    shuffle=True,
    seed=None,
    cache=True,
    drop_remainder=False,
):
    """A shuffled, batched, prefetched `tf.data.Dataset` of images (and labels).

    Works for any image size, channel count and class count. tf.data's
    autotuner is off (see `prefetched`).

    Args:
        x: float array `(N, H, W, C)` in [0, 1].
        y: int array `(N,)` or None. Labels, yielded as `(images, labels)`.
        batch_size: int. Defaults to 100.
        shuffle: bool. Reshuffle every epoch. Defaults to True.
        seed: int or None. Shuffle seed.
        cache: bool. Keep the decoded arrays in memory. Defaults to True.
        drop_remainder: bool. Drop a last partial batch. Defaults to False.
    """
    check_images(x)
    check_number(
        batch_size, "batch_size", minimum=1, integer=True,
        maximum=len(x) if drop_remainder else None,
        what="the image count, with drop_remainder" if drop_remainder else None,
    )
    if y is not None:
        y = check_one_per_image(y, len(x))
        ds = tf.data.Dataset.from_tensor_slices((x, y))
    else:
        ds = tf.data.Dataset.from_tensor_slices(x)
    if cache:
        ds = ds.cache()
    if shuffle:
        ds = ds.shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
    return prefetched(ds.batch(batch_size, drop_remainder=drop_remainder))


def prefetched(dataset, batches=2):
    """`dataset` read `batches` ahead, with tf.data's autotuner off.

    Batches of arrays held in memory need no tuning, and on a small CPU the
    autotuner can leave a core idle while `fit` trains: on 2 cores, many calls
    run at about half the steps per second (docs/performance.md, "tf.data's
    autotuner"). The option holds for every dataset built on this one. For heavy
    work added after it, turn the autotuner back on: `options =
    tf.data.Options()`, `options.autotune.enabled = True`, then
    `dataset.with_options(options)`.
    """
    options = tf.data.Options()
    options.autotune.enabled = False
    return dataset.prefetch(batches).with_options(options)
