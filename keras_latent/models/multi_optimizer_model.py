"""The base of every model whose networks each train with their own optimizer.

The keras.io GAN examples (`dcgan_overriding_train_step.py`, `wgan_gp.py`) write
`compile(d_optimizer, g_optimizer)`, one tape per network and a `metrics` list by
hand. `MultiOptimizerModel` does that once for any number of networks: a family
declares its optimizer roles and its loss trackers, and its `train_step` is a
short list of updates, each computing per-example losses through
`keras_latent.losses` and handing them to `apply_update`.
"""

import contextlib
import warnings

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from keras_latent import callbacks, data, distribute, losses

OPTIMIZER_SUFFIX = "_optimizer"


CONVOLUTIONS = (
    keras.layers.Conv1D, keras.layers.Conv2D, keras.layers.Conv3D,
    keras.layers.Conv1DTranspose, keras.layers.Conv2DTranspose, keras.layers.Conv3DTranspose,
    keras.layers.DepthwiseConv2D, keras.layers.SeparableConv2D,
)


def all_layers(layer):
    """`layer` and every layer nested in it, depth first."""
    yield layer
    for inner in getattr(layer, "layers", ()):
        yield from all_layers(inner)


def _sizes(tensors):
    return [t.shape[-1] if len(t.shape) == 2 else tuple(t.shape[1:]) for t in tensors]


def check_network_sizes(network, name, expected, inputs=True, what="the latent size"):
    """Raises `ValueError` unless `network`'s inputs (or outputs) have `expected` sizes.

    Args:
        network: `keras.Model` (Functional), whose `inputs`/`outputs` are read.
        name: str. The argument name the error names.
        expected: list. A size per tensor: an int for `(batch, size)` tensors,
            a shape tuple for images.
        inputs: bool. Check the inputs (True) or the outputs.
        what: str. What the sizes are, for the message.
    """
    got = _sizes(network.inputs if inputs else network.outputs)
    if got != list(expected):
        where = "inputs" if inputs else "outputs"
        raise ValueError(
            f"{name}: expected {where} of sizes {list(expected)} ({what}); it has {got}."
        )


def check_models(owner, names):
    """Checks that each attribute `names` of `owner` is a `keras.Model`; `ValueError` if not."""
    for name in names:
        network = getattr(owner, name)
        if not isinstance(network, keras.Model):
            raise ValueError(f"{name}: expected a keras.Model; got {type(network).__name__}.")


def check_count(n, name="n"):
    """`n` as a positive int; `ValueError` naming `name` if it is not one."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"{name}: expected a positive int count; got {n!r}.")
    return int(n)


def check_codes(z, size, name="z", what="the latent size"):
    """`z` as a float32 array `(N >= 1, size)` of finite numbers, else `ValueError`."""
    z = np.asarray(z)
    if z.ndim != 2 or z.shape[1] != size or len(z) == 0:
        raise ValueError(
            f"{name}: expected codes shaped (N >= 1, {size}) ({what}); got an array "
            f"of shape {z.shape}."
        )
    if not np.issubdtype(z.dtype, np.number) or not np.all(np.isfinite(z)):
        raise ValueError(f"{name}: expected finite numbers; got {z.dtype} with NaN or inf.")
    return z.astype("float32")


def check_class_labels(labels, n, num_classes, name="labels"):
    """`labels` as `n` ints in `[0, num_classes)` (one-hot rows are read too), else `ValueError`."""
    labels = np.asarray(labels)
    if labels.ndim == 2 and labels.shape[1] == num_classes:
        labels = labels.argmax(axis=1)
    expected = f"{name}: expected {n} integer labels in [0, {num_classes - 1}] (one per code)"
    if labels.shape != (n,) or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"{expected}; got {labels.dtype} labels shaped {labels.shape}.")
    if labels.min() < 0 or labels.max() >= num_classes:
        raise ValueError(f"{expected}; got values {labels.min()} to {labels.max()}.")
    return labels


class _StepSeen(keras.callbacks.Callback):
    """Notes whether `fit` ran any training batch."""

    async_safe = True  # reads no log

    def __init__(self):
        super().__init__()
        self.seen = False

    def on_train_batch_end(self, batch, logs=None):
        self.seen = True


class MultiOptimizerModel(keras.Model):
    """A `keras.Model` of several networks, each updated by its own optimizer.

    A subclass declares:

    - `optimizer_roles()`: `{"<role>_optimizer": variables it updates}`. `compile`
      takes one optimizer per role by that name, stores it as that attribute and
      builds its slots on those variables;
    - `default_optimizer(role)`: the family's optimizer for a role not given;
    - its loss trackers, with `add_trackers("d_loss", ...)` in `__init__`:
      they become `metrics`, which Keras resets every epoch;
    - `image_shape` and `check_fit_labels(x, y)`, which `fit` checks before
      training;
    - `train_step`: updates that each compute per-example losses under a
      `tf.GradientTape` and call `apply_update(role, tape, values, variables)`.

    The base handles what every such model needs alike: `compile` rejects a
    shared optimizer, `optimizer=`, `loss=` or a role the model has not; under
    the `mixed_float16` policy each optimizer is wrapped in a
    `LossScaleOptimizer`, as Keras' own `compile` does; XLA is on by default
    without a distribution strategy (Keras' `"auto"` leaves it off on CPU, where
    it doubles these models' step); `get_compile_config` / `compile_from_config`
    store every optimizer, so a loaded `.keras` model comes back compiled with
    each optimizer's state; `seed_generator` is the model's source of random
    draws.

    Args:
        seed: int or None. Seed of `seed_generator`. Defaults to None.
        **kwargs: passed to `keras.Model` (`name`, `dtype`, `trainable`).

    Example:

    >>> import keras, tensorflow as tf
    >>> from keras_latent import losses
    >>> class TwoRegressions(MultiOptimizerModel):
    ...     def __init__(self, first, second, **kwargs):
    ...         super().__init__(**kwargs)
    ...         self.first, self.second = first, second
    ...         self.add_trackers("first_loss", "second_loss")
    ...     def optimizer_roles(self):
    ...         return {"first_optimizer": self.first.trainable_variables,
    ...                 "second_optimizer": self.second.trainable_variables}
    ...     def train_step(self, batch):
    ...         x, y = batch
    ...         for network in (self.first, self.second):
    ...             with tf.GradientTape() as tape:
    ...                 error = keras.ops.square(network(x)[:, 0] - y)
    ...             role = f"{network.name}_optimizer"
    ...             self.apply_update(role, tape, error, network.trainable_variables)
    ...             self.track(f"{network.name}_loss", error)
    ...         return self.results()
    >>> def line(name):
    ...     return keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)], name=name)
    >>> model = TwoRegressions(line("first"), line("second"))
    >>> model.compile(second_optimizer=keras.optimizers.SGD(0.1))
    >>> history = model.fit(tf.ones((8, 1)), tf.ones((8,)), epochs=2, verbose=0)
    >>> sorted(history.history)
    ['first_loss', 'second_loss']
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

    def __init__(self, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self._loss_trackers = {}

    # What a family declares -------------------------------------------------

    def optimizer_roles(self):
        """`{"<role>_optimizer": the variables that optimizer updates}`."""
        raise NotImplementedError(
            f"{type(self).__name__} must define optimizer_roles()."
        )

    def default_optimizer(self, role):
        """The optimizer `compile` gives `role` when none is passed; Keras' Adam here."""
        return keras.optimizers.Adam()

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

    # Losses and metrics ---------------------------------------------------------

    def add_trackers(self, *names):
        """Creates a `keras.metrics.Mean` per name; they make up `metrics`, in order."""
        for name in names:
            self._loss_trackers[name] = keras.metrics.Mean(name=name)

    @property
    def metrics(self):
        return list(self._loss_trackers.values())

    def track(self, name, values, weights=None):
        """Adds this batch's mean of `values` to the tracker `name`.

        Args:
            name: str. A tracker made by `add_trackers`.
            values: per-example values (or a scalar).
            weights: per-example weights or None. With weights the batch counts
                as the weighted mean, with the weights' sum as its weight (the
                labelled examples of a partly labelled batch).
        """
        values = ops.cast(values, "float32")
        tracker = self._loss_trackers[name]
        if weights is None:
            tracker.update_state(ops.mean(values))
            return
        weights = ops.cast(weights, "float32")
        count = ops.sum(weights)
        tracker.update_state(
            ops.sum(values * weights) / ops.maximum(count, 1.0), sample_weight=count
        )

    def results(self):
        """`{metric name: value}`, what `train_step` and `test_step` return."""
        return {metric.name: metric.result() for metric in self.metrics}

    def apply_update(self, role, tape, values, variables, weights=None):
        """One step of optimizer `role` on `variables` down the global mean of `values`.

        The gradient is that of `losses.global_mean(values, weights)`, the mean
        over the global batch under any `tf.distribute` strategy, scaled for a
        `LossScaleOptimizer`. Variables the loss does not reach get zero
        gradients, so they stay where they are (Keras would warn on None).

        Args:
            role: str. A key of `optimizer_roles()`, e.g. `"d_optimizer"`.
            tape: the `tf.GradientTape` that recorded `values`.
            values: per-example losses `(batch,)`, computed under `tape`; or a
                list of them, whose global means add up to the loss (each
                averaged over its own rows, e.g. a labelled term and an
                every-row term).
            variables: list of the variables to update.
            weights: per-example weights or None; see `losses.global_mean`. A
                list of them (None entries allowed) when `values` is a list.
        """
        optimizer = getattr(self, role)
        if not isinstance(values, (list, tuple)):
            values, weights = [values], [weights]
        elif weights is None:
            weights = [None] * len(values)
        elif not isinstance(weights, (list, tuple)) or len(weights) != len(values):
            raise ValueError(
                f"weights: expected a list of {len(values)} (one per term of values) "
                f"or None; got {weights!r}."
            )
        shares = [
            optimizer.scale_loss(losses.example_weights(v, w))
            for v, w in zip(values, weights)
        ]
        gradients = tape.gradient(list(values), variables, output_gradients=shares)
        gradients = [
            ops.zeros_like(v) if g is None else g for g, v in zip(gradients, variables)
        ]
        optimizer.apply(gradients, variables)

    # Compilation -----------------------------------------------------------------

    def compile(self, **kwargs):
        """Configures one optimizer per role.

        Args:
            **kwargs: `<role>_optimizer=` for each role of `optimizer_roles()`
                (an optimizer, its name or config; a role not given gets
                `default_optimizer(role)`), and the options of
                `keras.Model.compile` (`jit_compile`, `steps_per_execution`,
                `run_eagerly`). `jit_compile` defaults to XLA without a
                distribution strategy, on CPU too (Keras leaves it off there,
                where it doubles these models' step); under a strategy it stays
                Keras' `"auto"`.
        """
        roles = self.optimizer_roles()
        if "optimizer" in kwargs or "loss" in kwargs:
            raise ValueError(
                f"optimizer: a {type(self).__name__} takes one optimizer per network "
                f"({', '.join(roles)}) and computes its own losses; got "
                "`optimizer=`/`loss=`."
            )
        given = {
            key: kwargs.pop(key) for key in list(kwargs) if key.endswith(OPTIMIZER_SUFFIX)
        }
        for key, value in given.items():
            if key not in roles and value is not None:
                raise ValueError(
                    f"{key}: this {type(self).__name__}'s updates use "
                    f"{', '.join(roles)}; pass no {key}."
                )
        # Kept without the XLA default, so that a loaded model decides anew.
        self._compile_options = dict(kwargs)
        if "jit_compile" not in kwargs and not kwargs.get("run_eagerly"):
            kwargs["jit_compile"] = self.default_jit_compile()
        # Keras would otherwise create an unused RMSprop as `self.optimizer`.
        super().compile(optimizer=None, **kwargs)
        built = []
        for role, variables in roles.items():
            optimizer = keras.optimizers.get(given.get(role) or self.default_optimizer(role))
            if self.dtype_policy.name == "mixed_float16" and not isinstance(
                optimizer, keras.optimizers.LossScaleOptimizer
            ):
                # As Keras' own compile does: float16 gradients need a scaled loss.
                optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
            if any(optimizer is other for other in built):
                raise ValueError(
                    f"{', '.join(roles)}: expected a separate optimizer for each "
                    "network; a Keras optimizer is bound to the variables it was "
                    "built with and cannot be shared."
                )
            built.append(optimizer)
            setattr(self, role, optimizer)
            # Slots are created now, in the model's distribution scope.
            with self._strategy_scope():
                optimizer.build(variables)

    def _strategy_scope(self):
        if tf.distribute.has_strategy():
            return contextlib.nullcontext()
        return self.distribute_strategy.scope()

    def default_jit_compile(self):
        """XLA unless a distribution strategy is set, a layer cannot be compiled,
        or the model convolves on a machine without a GPU.

        Under `tf.distribute` XLA failed on split CPUs, so Keras' `"auto"` stays.
        On a CPU, XLA's convolutions ran InfoGAN's step 6x slower than
        TensorFlow's own (oneDNN) kernels, where it doubles the speed of the
        dense models (`benchmarks/results/`).
        """
        if tf.distribute.has_strategy() or self.distribute_strategy.num_replicas_in_sync > 1:
            return "auto"
        layers = all_layers(self)
        if any(isinstance(layer, CONVOLUTIONS) for layer in layers) and not \
                tf.config.list_physical_devices("GPU"):
            return False
        return all(layer.supports_jit for layer in layers)

    def get_compile_config(self):
        if not self.compiled:
            return None
        optimizers = {
            role: keras.saving.serialize_keras_object(getattr(self, role))
            for role in self.optimizer_roles()
        }
        return {**optimizers, **self._compile_options}

    def compile_from_config(self, config):
        config = dict(config)
        for key, value in config.items():
            if key.endswith(OPTIMIZER_SUFFIX) and value is not None:
                config[key] = keras.saving.deserialize_keras_object(value)
        self.compile(**config)

    # Training ----------------------------------------------------------------------

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
            x = data.check_batches(
                x, num_classes=self.num_classes, allow_unlabelled=self.accepts_unlabelled
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

    def make_train_function(self, force=False):
        """Keras' train function; across machines, with logs its reduction accepts.

        See `distribute.loggable_across_workers`; `train_step` is unchanged.
        """
        return self._make_step_function("train", force)

    def make_test_function(self, force=False):
        """Keras' test function; across machines, with logs its reduction accepts."""
        return self._make_step_function("test", force)

    def _make_step_function(self, kind, force):
        if not distribute.across_workers(self.distribute_strategy):
            return getattr(super(), f"make_{kind}_function")(force)
        attribute = f"{kind}_function"
        if getattr(self, attribute) is None or force:
            step = getattr(self, f"{kind}_step")
            setattr(self, attribute, self._make_function(distribute.loggable_across_workers(step)))
        return getattr(self, attribute)

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        # Keras reads the first batch to build the model, reduced over the replicas
        # as one structure, which fails across machines; one replica's part has
        # the shapes it needs.
        if iterator is not None and distribute.across_workers(self.distribute_strategy):
            for _, _, batches in iterator:
                data_batch = distribute.local_batch(next(batches), self.distribute_strategy)
                break
            iterator = None
        return super()._maybe_symbolic_build(iterator=iterator, data_batch=data_batch)

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

    # Inputs ------------------------------------------------------------------------

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

    # Serialization -----------------------------------------------------------------

    def seed_generators(self):
        """Every `keras.random.SeedGenerator` of the model and its layers (dropout's too)."""
        found, seen = [], set()
        for layer in all_layers(self):
            # Keras tracks each layer's generators here; their state is not a weight.
            for generator in getattr(layer, "_seed_generators", ()):
                if id(generator) not in seen:
                    seen.add(id(generator))
                    found.append(generator)
        return found

    def save_own_variables(self, store):
        """Saves the model's own variables and the state of every seed generator.

        Keras saves a layer's weights but not its generators' state, so a
        reloaded or resumed model would draw other prior samples (and dropout
        masks) than one that never stopped.
        """
        super().save_own_variables(store)
        for i, generator in enumerate(self.seed_generators()):
            store[f"seed_generator_{i}"] = generator.state

    def load_own_variables(self, store):
        own = self._trainable_variables + self._non_trainable_variables
        for i, variable in enumerate(own):
            variable.assign(store[f"{i}"])
        keys = set(store.keys())
        for i, generator in enumerate(self.seed_generators()):
            if f"seed_generator_{i}" in keys:  # files saved before 0.1.0 lack them
                generator.state.assign(store[f"seed_generator_{i}"])

    def get_config(self):
        return {**super().get_config(), "seed": self.seed}

    @classmethod
    def from_config(cls, config):
        """Builds the model back, deserializing its networks, priors and the like."""
        config = {
            key: keras.saving.deserialize_keras_object(value)
            if isinstance(value, dict) and "class_name" in value
            else value
            for key, value in config.items()
        }
        return cls(**config)
