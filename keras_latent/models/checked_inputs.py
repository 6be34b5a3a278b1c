"""What every model's `fit`, `evaluate` and `predict` check before Keras runs them.

`CheckedInputs` is the input and label policy of `MultiOptimizerModel`: a family
declares what it takes (`takes_y`, `num_classes`, `accepts_unlabelled`,
`accepts_one_hot`, `predict_takes_labels`, `image_shape`) and bad input raises a
`ValueError` naming the argument, arrays before any graph is built, a dataset's
first bad batch as it is read (`data.check_batches`).

Example:

>>> import numpy as np, keras_latent as kl
>>> aae = kl.AdversarialAutoencoder(
...     kl.build_encoder(latent_dim=2, hidden_units=(8,)),
...     kl.build_decoder(latent_dim=2, hidden_units=(8,)),
...     kl.build_code_discriminator(latent_dim=2, hidden_units=(8,)))
>>> aae.compile()
>>> aae.fit(np.zeros((4, 28, 28, 1)), np.zeros(4))
Traceback (most recent call last):
...
ValueError: y: this AdversarialAutoencoder trains without labels; pass the images alone.
"""

import contextlib
import warnings

import keras
import tensorflow as tf
from keras import ops

from keras_latent import callbacks, data
from keras_latent.checks import check_count


class _StepSeen(keras.callbacks.Callback):
    """Notes whether `fit` ran any training batch."""

    async_safe = True  # reads no log

    def __init__(self):
        super().__init__()
        self.seen = False

    def on_train_batch_end(self, batch, logs=None):
        self.seen = True


class CheckedInputs(keras.Model):
    """A `keras.Model` whose `fit`, `evaluate` and `predict` check their input first.

    Not used alone: `MultiOptimizerModel` builds on it. See the module docstring.
    """

    # Whether `fit` takes a `y` (targets of any kind, unchecked, unless num_classes).
    takes_y = True
    # Class labels: None, or the class count `y` is checked against.
    num_classes = None
    # Whether -1 ("unlabelled") and one-hot rows are accepted as labels.
    accepts_unlabelled = False
    accepts_one_hot = True
    # Whether `call` (so `predict`) reads labels: `{"images": x, "labels": y}`.
    predict_takes_labels = False

    @property
    def image_shape(self):
        """`(height, width, channels)` of the images `fit` takes; None: unchecked."""
        return None

    def check_fit_labels(self, x, y):
        """Checks the labels `fit`/`evaluate` receive against `num_classes`.

        A model that trains without labels (`takes_y` False) refuses `y` and
        warns that a dataset's labels go unused; one with classes needs labels,
        integers in range (-1 too when `accepts_unlabelled`) or one-hot rows
        (when `accepts_one_hot`); other targets are the model's to check.
        """
        if not self.takes_y:
            if y is not None:
                raise ValueError(
                    f"y: this {type(self).__name__} trains without labels; pass the "
                    "images alone."
                )
            spec = x.element_spec if isinstance(x, tf.data.Dataset) else None
            if isinstance(spec, tuple) and len(spec) > 1:
                warnings.warn(
                    f"x: this {type(self).__name__} trains without labels; the "
                    "dataset's labels are not used.",
                    stacklevel=3,
                )
            return
        if self.num_classes is None:
            return
        data.check_fit_labels(
            x, y, self.num_classes, allow_unlabelled=self.accepts_unlabelled,
            one_hot=self.accepts_one_hot,
        )

    def checked_inputs(self, x, y=None, labels_needed=True, start=None):
        """`x` (and `y`) checked as `fit` and `evaluate` need them, before any graph.

        Arrays are checked whole; a `tf.data.Dataset` by its element spec and
        length now and batch by batch as it is read (`data.check_batches`).
        Returns `x`, wrapped in those checks when it is a dataset; `start`, a
        function of the dataset, runs before they are added (where `fit`
        resumes it).
        """
        if labels_needed:
            self.check_fit_labels(x, y)
        if self.image_shape is None:  # not an image model: nothing more to check
            return x
        data.check_fit_data(x, shape=self.image_shape)
        if isinstance(x, tf.data.Dataset):
            length = x.cardinality()
            # A filtered dataset's length is unknown until read: one batch tells
            # whether there is any.
            if length == 0 or (
                length == tf.data.UNKNOWN_CARDINALITY and next(iter(x.take(1)), None) is None
            ):
                raise ValueError(
                    "x: the dataset is empty (a filter dropped every element, or "
                    "drop_remainder with a batch larger than the data); nothing would run."
                )
            if start is not None:
                x = start(x)
            # A model that takes no labels leaves a dataset's labels unread.
            x = data.check_batches(
                x, num_classes=self.num_classes if self.takes_y else None,
                allow_unlabelled=self.accepts_unlabelled,
            )
        return x

    @contextlib.contextmanager
    def _input_errors(self):
        """Turns a failed `data.check_batches` check into the `ValueError` it stands for."""
        try:
            yield
        except tf.errors.InvalidArgumentError as error:
            replacement = data.input_error(error)
            if replacement is None:
                raise
            raise replacement from None

    def fit(self, x=None, y=None, check_finite=True, **kwargs):
        """`keras.Model.fit` after checking `x` and `y` (arrays or a `tf.data.Dataset`).

        Bad input raises `ValueError` naming the argument: arrays before any
        graph is built, a dataset's first bad batch as it is read; so does a
        fit that would run no step (`epochs=0`, `steps_per_epoch=0`, an empty
        dataset). A loss that turns NaN or infinite stops the run with
        `callbacks.NonFiniteLossError` (see `callbacks.StopOnNonFinite`, added
        unless `check_finite=False` or one is passed). Given a
        `callbacks.BackupAndRestore` with epochs to resume after, a dataset
        starts where those epochs left it: a dataset is read as one stream
        across the epochs (`data.epoch_stream`).
        """
        epochs = check_count(kwargs.get("epochs", 1), "epochs")
        if kwargs.get("steps_per_epoch") is not None:
            check_count(kwargs["steps_per_epoch"], "steps_per_epoch")
        if kwargs.get("initial_epoch", 0) >= epochs:
            raise ValueError(
                f"initial_epoch: expected fewer than epochs ({epochs}); got "
                f"{kwargs['initial_epoch']}: nothing would run."
            )
        given = list(kwargs.pop("callbacks", None) or [])
        backups = [c for c in given if isinstance(c, callbacks.BackupAndRestore)]

        def start(dataset):
            epochs_done, batches_read = backups[0].position() if backups else (0, 0)
            dataset, kwargs["steps_per_epoch"] = data.epoch_stream(
                dataset, kwargs.get("steps_per_epoch"), epochs_done, batches_read
            )
            return dataset

        x = self.checked_inputs(x, y, start=start)
        if isinstance(x, tf.data.Dataset):
            # A dataset shuffles itself (see `data.make_dataset`); Keras would warn.
            kwargs.setdefault("shuffle", False)
        if check_finite and not any(
            isinstance(c, callbacks.StopOnNonFinite) for c in given
        ):
            saver = [c for c in given if hasattr(c, "backup_dir")]
            given.append(callbacks.StopOnNonFinite(saver[0] if saver else None))
        stepped = _StepSeen()
        with self._input_errors():
            history = super().fit(x, y, callbacks=given + [stepped], **kwargs)
        # Keras ends an epoch quietly when the data runs out at once (and, without
        # XLA, still counts an optimizer step).
        if history.epoch and not stepped.seen:
            raise ValueError(
                "x: fit ran no training step: the data yielded no batch (an empty "
                "dataset, or drop_remainder with a batch larger than the data)."
            )
        return history

    def evaluate(self, x=None, y=None, **kwargs):
        """`keras.Model.evaluate` after the input checks of `fit`."""
        x = self.checked_inputs(x, y)
        with self._input_errors():
            return super().evaluate(x, y, **kwargs)

    def predict(self, x, **kwargs):
        """`keras.Model.predict` after checking the images (and labels, in a dict).

        A model whose `call` reads labels (`predict_takes_labels`) takes
        `{"images": x, "labels": y}`, or a `tf.data.Dataset` of such dicts;
        others take the images alone.
        """
        kind = type(self).__name__
        spec = x.element_spec if isinstance(x, tf.data.Dataset) else x
        if self.predict_takes_labels and not isinstance(spec, dict):
            raise ValueError(
                f"x: this {kind}'s predict reads each image's label; pass "
                '{"images": x, "labels": y} (a tuple would be read as (x, y)).'
            )
        if isinstance(spec, dict):
            wanted = {"images", "labels"} if self.predict_takes_labels else {"images"}
            if set(spec) != wanted:
                if "labels" in spec and not self.predict_takes_labels:
                    raise ValueError(
                        f"labels: this {kind}'s predict reads the images alone; it "
                        "would ignore the labels."
                    )
                raise ValueError(
                    f"x: expected a dict with the keys {sorted(wanted)}; got keys "
                    f"{sorted(spec)}."
                )
        if isinstance(x, dict):
            images, labels = self.split_inputs(x)
            if self.predict_takes_labels:
                data.check_fit_labels(
                    images, labels, self.num_classes, one_hot=self.accepts_one_hot,
                    allow_unlabelled=self.accepts_unlabelled, name="labels",
                )
            if self.image_shape is not None:
                data.check_fit_data(images, shape=self.image_shape, name="images")
        elif isinstance(spec, dict):  # a dataset of dicts: checked batch by batch
            if self.image_shape is not None:
                data.check_fit_data(x.map(lambda d: d["images"]), shape=self.image_shape)
            x = data.check_batches(
                x, num_classes=self.num_classes, allow_unlabelled=self.accepts_unlabelled
            )
        else:
            x = self.checked_inputs(x, labels_needed=False)
        with self._input_errors():
            return super().predict(x, **kwargs)

    def one_hot(self, labels):
        """Integer labels `(batch,)` as one-hot rows of `num_classes`; one-hot rows pass."""
        if labels is None:
            raise ValueError(
                f"labels: {type(self).__name__} needs the class of each example; "
                "pass (images, labels)."
            )
        if len(labels.shape) == 2:
            return ops.cast(labels, "float32")
        return ops.one_hot(ops.cast(labels, "int32"), self.num_classes)

    @staticmethod
    def split_inputs(inputs):
        """`(images, labels)` from what `call` receives; labels may be None.

        Labelled models take `{"images": x, "labels": y}` in `call` and
        `predict`: Keras unpacks a tuple given to `predict` as `(x, y)` and
        would drop the labels.
        """
        if isinstance(inputs, dict):
            return inputs["images"], inputs.get("labels")
        return inputs, None
