"""The base of every model whose networks each train with their own optimizer.

The keras.io GAN examples (`dcgan_overriding_train_step.py`, `wgan_gp.py`) write
`compile(d_optimizer, g_optimizer)`, one tape per network and a `metrics` list
by hand. `MultiOptimizerModel` does that once for any number of networks: a family
declares its optimizer roles and its loss trackers, and its `train_step` is a
short list of updates: each names an optimizer and a function returning
per-example losses (through `keras_latent.losses`), and `update` differentiates
them. The TensorFlow-specific parts (tapes, input pipelines, strategies) live
here, in `data` and in `distribute`; the families are written in `keras.ops`.
"""

import contextlib
import threading
from typing import NamedTuple

import keras
import tensorflow as tf
from keras import ops

from keras_latent import distribute, losses
from keras_latent.models.checked_inputs import CheckedInputs

OPTIMIZER_SUFFIX = "_optimizer"


CONVOLUTIONS = (
    keras.layers.Conv1D, keras.layers.Conv2D, keras.layers.Conv3D,
    keras.layers.Conv1DTranspose, keras.layers.Conv2DTranspose, keras.layers.Conv3DTranspose,
    keras.layers.DepthwiseConv2D, keras.layers.SeparableConv2D,
)

# Keras' private methods that the base overrides or calls (for training across
# machines, see `distribute.step_function`); `setup.cfg` bounds Keras at the versions
# tested, and `tests/models/test_keras_hooks.py` names any a release drops.
KERAS_HOOKS = ("_make_function", "_maybe_symbolic_build")

# The tapes of the updates running now, per thread: a `MirroredStrategy` runs each
# replica's step in a thread of its own.
_RUNNING = threading.local()


def all_layers(layer):
    """`layer` and every layer nested in it, depth first, as a list."""
    found = [layer]
    for inner in getattr(layer, "layers", ()):
        found.extend(all_layers(inner))
    return found


def input_gradient(function, inputs):
    """`(function(inputs), gradient of its sum with respect to inputs)`.

    For penalties and directions that need dD/dz or dy/dx inside a loss (the R1
    penalty, virtual adversarial training); the result stays on the enclosing
    update's tape.
    """
    with tf.GradientTape() as tape:
        tape.watch(inputs)
        outputs = function(inputs)
    return outputs, tape.gradient(outputs, inputs)


class Loss(NamedTuple):
    """What an update's loss function returns to `MultiOptimizerModel.update`.

    Attributes:
        values: per-example losses `(batch,)`; or a list of such terms, whose
            global means add up to the loss (each averaged over its own rows,
            e.g. a labelled term and an every-row term).
        weights: per-example weights or None (see `losses.global_mean`); a
            list of them (None entries allowed) when `values` is a list.
        metrics: `{tracker name: values}` or `{name: (values, weights)}` to
            track once the step is applied (see `MultiOptimizerModel.track`).
        outputs: anything else the update's caller reads back (the VAE+GAN's
            `L_GAN`, which its balancing rule compares).
    """

    values: object
    weights: object = None
    metrics: dict = None
    outputs: object = None

    def plus(self, terms, metrics=None):
        """This loss with per-example `terms` added, each averaged over every
        row, and `metrics` tracked beside its own."""
        values, weights, metrics = self.values, self.weights, metrics or {}
        if not isinstance(values, (list, tuple)):
            values, weights = [values], [weights]
        elif weights is None:
            weights = [None] * len(values)
        elif not isinstance(weights, (list, tuple)):
            raise ValueError(
                "weights: expected None or one entry per term of a list of values; got "
                f"{type(weights).__name__}."
            )
        shared = set(metrics) & set(self.metrics or {})
        if shared:
            raise ValueError(f"metrics: {sorted(shared)} are tracked already.")
        return Loss([*values, *terms], [*weights] + [None] * len(terms),
                    {**(self.metrics or {}), **metrics}, self.outputs)


class MultiOptimizerModel(CheckedInputs):
    """A `keras.Model` of several networks, each updated by its own optimizer.

    A subclass declares:

    - `optimizer_roles()`: `{"<role>_optimizer": variables it updates}`. `compile`
      takes one optimizer per role by that name, stores it as that attribute and
      builds its slots on those variables;
    - `default_optimizer(role)`: the family's optimizer for a role not given;
    - its loss trackers, with `add_trackers("d_loss", ...)` in `__init__`:
      they become `metrics`, which Keras resets every epoch;
    - what `fit` checks before training (see `CheckedInputs`): `image_shape`,
      `takes_y`, `num_classes`, `accepts_unlabelled`, `accepts_one_hot`;
    - `train_step`: a few `update(role, loss_function, *args)` calls, each
      loss function returning per-example losses (or a `Loss` with weights
      and values to track) of the role's variables.

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

    >>> import keras
    >>> class TwoRegressions(MultiOptimizerModel):
    ...     def __init__(self, first, second, **kwargs):
    ...         super().__init__(**kwargs)
    ...         self.first, self.second = first, second
    ...         self.add_trackers("first_loss", "second_loss")
    ...     def optimizer_roles(self):
    ...         return {"first_optimizer": self.first.trainable_variables,
    ...                 "second_optimizer": self.second.trainable_variables}
    ...     def error(self, network, x, y):
    ...         error = keras.ops.square(network(x)[:, 0] - y)
    ...         return Loss(error, metrics={f"{network.name}_loss": error})
    ...     def train_step(self, batch):
    ...         x, y = batch
    ...         self.update("first_optimizer", self.error, self.first, x, y)
    ...         self.update("second_optimizer", self.error, self.second, x, y)
    ...         return self.results()
    >>> def line(name):
    ...     return keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)], name=name)
    >>> model = TwoRegressions(line("first"), line("second"))
    >>> model.compile(second_optimizer=keras.optimizers.SGD(0.1))
    >>> history = model.fit(keras.ops.ones((8, 1)), keras.ops.ones((8,)), epochs=2, verbose=0)
    >>> sorted(history.history)
    ['first_loss', 'second_loss']
    """

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

    def track_metrics(self, metrics):
        """Tracks `{name: values or (values, weights)}`, e.g. a `Loss`'s metrics
        (what `test_step` reports of an update)."""
        for name, values in (metrics or {}).items():
            self.track(name, *(values if isinstance(values, tuple) else (values,)))

    def results(self):
        """`{metric name: value}`, what `train_step` and `test_step` return."""
        return {metric.name: metric.result() for metric in self.metrics}

    def update(self, roles, loss, *args):
        """Steps the optimizer of each of `roles` down the global mean of `loss(*args)`.

        `loss` runs under a gradient tape; its gradient is that of
        `losses.global_mean(values, weights)`, the mean over the global batch
        under any `tf.distribute` strategy, scaled for a `LossScaleOptimizer`,
        with respect to the role's variables (`optimizer_roles()`). Variables
        the loss does not reach get zero gradients, so they stay where they
        are. Once applied, the `Loss`'s metrics are tracked.

        Args:
            roles: str, a key of `optimizer_roles()` (e.g.
                `"discriminator_optimizer"`); or a tuple of them, stepped down
                one pass, when `loss` returns one loss per role.
            loss: function of `*args` returning per-example losses `(batch,)`
                or a `Loss` (a tuple of them with several roles).
            *args: passed to `loss`.

        Returns:
            What `loss` returned.
        """
        several = not isinstance(roles, str)
        tapes = _RUNNING.__dict__.setdefault("tapes", [])
        with tf.GradientTape(persistent=several) as tape:
            tapes.append(tape)
            try:
                result = loss(*args)
            finally:
                tapes.pop()
        variables = self.optimizer_roles()
        parts = [
            part if isinstance(part, Loss) else Loss(part)
            for part in (result if several else (result,))
        ]
        for role, part in zip(roles if several else (roles,), parts):
            self._descend(role, tape, part, variables[role])
        for part in parts:
            self.track_metrics(part.metrics)
        return result

    def nested_update(self, roles, loss, *args):
        """`update`, called inside another update's loss without being recorded there.

        One pass can then serve two updates: the AAE's encoder computes codes
        under the generator's tape, the discriminator takes its step on them
        here, and the generator's loss reads the updated discriminator.
        """
        tapes = getattr(_RUNNING, "tapes", None)
        if not tapes:
            return self.update(roles, loss, *args)
        with tapes[-1].stop_recording():
            return self.update(roles, loss, *args)

    @staticmethod
    def repeat_while(count, update, keep_going):
        """Runs `update(k)` for k = 0, 1, ..., `count` - 1: the first always, each
        later one while `keep_going` holds for the result of the one before.

        The results decide in the graph (`keras.ops.cond`), so `update` must return
        a float32 scalar. Returns `(updates run, index of the last run)`, tensors.
        """
        go, last, taken = ops.convert_to_tensor(True), ops.convert_to_tensor(0), 0.0
        for k in range(count):
            result = ops.cond(go, lambda k=k: update(k), lambda: ops.convert_to_tensor(0.0))
            last = ops.where(go, k, last)
            taken += ops.cast(go, "float32")
            go = ops.logical_and(go, keep_going(result))
        return taken, last

    input_gradient = staticmethod(input_gradient)

    def _descend(self, role, tape, loss, variables):
        optimizer = getattr(self, role)
        values, weights = loss.values, loss.weights
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

    def draw_prior(self, prior, n):
        """`n` draws of `prior` (a `keras_latent.priors.Prior`) from the model's seed
        generator, each replica its own slice of one global draw
        (`distribute.replica_draws`)."""
        return distribute.replica_draws(
            lambda copies: prior.sample(n * copies, seed=self.seed_generator), n
        )

    def default_jit_compile(self):
        """XLA unless a distribution strategy is set, a layer cannot be compiled,
        or the model convolves on a machine without a GPU.

        Under `tf.distribute` XLA failed on split CPUs, so Keras' `"auto"` stays.
        On a CPU, XLA's convolutions ran InfoGAN's step 6x slower than
        TensorFlow's own (oneDNN) kernels, where it doubles the speed of the
        dense models (`benchmarks/results/`).
        """
        if distribute.distributed(self.distribute_strategy):
            return "auto"
        layers = all_layers(self)
        if not all(layer.supports_jit for layer in layers):
            return False
        convolves = any(isinstance(layer, CONVOLUTIONS) for layer in layers)
        return not (convolves and not tf.config.list_physical_devices("GPU"))

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

    # Training across machines ------------------------------------------------------

    def make_train_function(self, force=False):
        """Keras' train function; across machines, see `distribute.step_function`."""
        return distribute.step_function(self, "train", force) or super().make_train_function(
            force
        )

    def make_test_function(self, force=False):
        """Keras' test function; across machines, see `distribute.step_function`."""
        return distribute.step_function(self, "test", force) or super().make_test_function(
            force
        )

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        # A Keras hook (see KERAS_HOOKS): the first batch builds the model.
        iterator, data_batch = distribute.build_batch(self, iterator, data_batch)
        return super()._maybe_symbolic_build(iterator=iterator, data_batch=data_batch)

    # Serialization -----------------------------------------------------------------

    def seed_states(self):
        """The state of every random seed generator of the model and its layers
        (its own, the priors' draws, dropout's): Keras' `variables` minus `weights`."""
        weights = {id(w) for w in self.weights}
        states, seen = [], set()
        for variable in self.variables:
            if id(variable) not in weights and id(variable) not in seen:
                seen.add(id(variable))
                states.append(variable)
        return states

    def save_own_variables(self, store):
        """Saves the model's own variables and the state of every seed generator.

        Keras saves a layer's weights but not its generators' state, so a
        reloaded or resumed model would draw other prior samples (and dropout
        masks) than one that never stopped.
        """
        super().save_own_variables(store)
        for i, state in enumerate(self.seed_states()):
            store[f"seed_generator_{i}"] = state

    def load_own_variables(self, store):
        keys = list(store.keys())
        super().load_own_variables(
            {key: store[key] for key in keys if not key.startswith("seed_generator_")}
        )
        for i, state in enumerate(self.seed_states()):
            state.assign(store[f"seed_generator_{i}"])

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
