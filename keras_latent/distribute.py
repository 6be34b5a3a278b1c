"""What a training step needs to give the same result on one device or on many.

Under a `tf.distribute` strategy each replica runs the step on its slice of the
global batch and the optimizers sum the replicas' gradients. Two things must then
be global rather than per replica: the reductions of the losses (see
`losses.global_mean`) and the random draws, which would otherwise be the same on
every replica, since the replicas share one seed generator. `replica_draws` gives
each replica its own slice of the draws one device would make for the whole batch,
so that a step with N replicas matches a step without a strategy on the same global
batch.

Across machines (`MultiWorkerMirroredStrategy`) Keras 3's `fit` reduces each
logged value with `strategy.reduce("MEAN", value, axis=0)`, which a scalar does not
have (keras-team/keras#20585); `loggable_across_workers` wraps a step so that its
logs pass there. Before the first step Keras also reduces a whole input batch, a
structure the collective reduction cannot take; `local_batch` gives the shapes
that build needs instead.

Files follow TensorFlow's multi-worker rule: every worker runs the same saves
(saving can read variables through collective operations, which must run on all
workers), but only the chief writes into the named folder; the others write into
a scratch folder of their own (`write_dir`). Every worker reads the chief's files,
so a resumed cluster needs them on a file system all workers see (one machine, or
a shared disk); `gather` lets the workers check that they agree.
"""

import atexit
import contextlib
import shutil
import tempfile

import tensorflow as tf
from keras import ops


def replicas_in_sync():
    """Number of replicas running the current step (1 outside a strategy)."""
    return tf.distribute.get_strategy().num_replicas_in_sync


def replica_draws(draw, n):
    """This replica's `n` rows of the draws one device makes for the global batch.

    Args:
        draw: callable. `draw(copies)` returns `copies * n` rows drawn at once,
            the rows of copy `k` meant for replica `k` (a labelled draw tiles its
            `n` labels `copies` times).
        n: int or scalar tensor. This replica's batch size.

    Returns:
        `n` rows. Outside a strategy (or with one replica) this is `draw(1)`.

    Example:

    >>> import keras
    >>> rows = replica_draws(lambda copies: keras.random.normal((copies * 3, 2)), 3)
    >>> tuple(rows.shape)
    (3, 2)
    """
    copies = replicas_in_sync()
    context = tf.distribute.get_replica_context()
    if copies == 1 or context is None:
        return draw(1)
    everything = draw(copies)
    start = ops.cast(context.replica_id_in_sync_group, "int32") * ops.cast(n, "int32")
    return ops.take(everything, start + ops.arange(n, dtype="int32"), axis=0)


def global_sum(value):
    """`value` summed over the replicas (itself outside a strategy).

    For counts a loss divides by, such as the labelled examples of a batch in which
    some are unlabelled: each replica's share of that count differs.
    """
    context = tf.distribute.get_replica_context()
    if replicas_in_sync() == 1 or context is None:
        return value
    return context.all_reduce(tf.distribute.ReduceOp.SUM, value)


def distributed(strategy):
    """Whether a strategy is in scope, or `strategy` (a model's) spans several replicas."""
    return tf.distribute.has_strategy() or strategy.num_replicas_in_sync > 1


def across_workers(strategy):
    """Whether `strategy` trains on several machines (a multi-worker collective one)."""
    if not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        return False
    spec = strategy.cluster_resolver.cluster_spec()
    return sum(spec.num_tasks(job) for job in spec.jobs) > 1


def step_function(model, kind, force=False):
    """Across machines, the `kind` ("train" or "test") function of `model`, with
    logs Keras' cross-worker reduction accepts (see `loggable_across_workers`);
    None elsewhere (Keras' own serves).

    It uses Keras' private `Model._make_function` (see
    `MultiOptimizerModel.KERAS_HOOKS`); the step itself is unchanged.
    """
    if not across_workers(model.distribute_strategy):
        return None
    attribute = f"{kind}_function"
    if getattr(model, attribute) is None or force:
        step = getattr(model, f"{kind}_step")
        setattr(model, attribute, model._make_function(loggable_across_workers(step)))
    return getattr(model, attribute)


def build_batch(model, iterator, data_batch):
    """`(iterator, data_batch)` for Keras' first build of `model` from the data.

    Keras reads the first batch to build the model, reduced over the replicas as
    one structure, which fails across machines; one replica's part of it has the
    shapes the build needs.
    """
    if iterator is not None and across_workers(model.distribute_strategy):
        for _, _, batches in iterator:
            data_batch = local_batch(next(batches), model.distribute_strategy)
            break
        iterator = None
    return iterator, data_batch


def loggable_across_workers(step):
    """`step`, with each value it returns given one axis for Keras' cross-worker mean.

    Keras' trainer reduces a multi-worker step's logs over the replicas *and* axis 0,
    as `strategy.reduce("MEAN", value, axis=0)`; a scalar such as `Metric.result()`
    has no axis 0 and the graph fails to build. As one-element vectors the logs come
    out of that reduction as the mean over the replicas, a scalar, as a one-machine
    `MirroredStrategy` gives them.
    """

    def wrapped(batch):
        return tf.nest.map_structure(lambda value: ops.reshape(value, (1,)), step(batch))

    return wrapped


def local_batch(batch, strategy=None):
    """The first local replica's part of a distributed `batch` (others pass as they are)."""
    strategy = strategy or tf.distribute.get_strategy()
    return tf.nest.map_structure(
        lambda value: strategy.experimental_local_results(value)[0]
        if isinstance(value, tf.distribute.DistributedValues) else value,
        batch,
    )


def is_chief(strategy=None):
    """Whether this process writes the run's files: the chief of a cluster, or the only one.

    `strategy`: a model's `distribute_strategy`; by default the current one (the
    scripts make `--distribute`'s global). The same for the functions below.
    """
    strategy = strategy or tf.distribute.get_strategy()
    return bool(strategy.extended.should_checkpoint)


_SCRATCH = {}


def write_dir(path, strategy=None):
    """The folder this process writes `path`'s files into.

    `path` itself on the chief (and outside a cluster); on another worker a
    scratch folder of its own for that path, removed when the process exits
    normally.
    """
    strategy = strategy or tf.distribute.get_strategy()
    if is_chief(strategy):
        return path
    if path not in _SCRATCH:
        task = strategy.cluster_resolver.task_id
        scratch = tempfile.mkdtemp(prefix=f"keras-latent-worker{task}-")
        atexit.register(shutil.rmtree, scratch, ignore_errors=True)
        _SCRATCH[path] = scratch
    return _SCRATCH[path]


_EXCHANGES = {}  # one traced exchange a strategy


def gather(value, strategy=None):
    """Every replica's copy of this worker's int `value`, in replica order.

    Each worker must call it at the same point: it waits for all of them, so it
    also orders one worker's reads before another's writes. Outside a cluster it
    is `[value]`.
    """
    strategy = strategy or tf.distribute.get_strategy()
    if not across_workers(strategy):
        return [int(value)]
    if id(strategy) not in _EXCHANGES:
        size = strategy.num_replicas_in_sync

        @tf.function
        def exchange(local):
            def place():  # this replica's value in its own slot, zeros elsewhere
                context = tf.distribute.get_replica_context()
                slots = tf.one_hot(context.replica_id_in_sync_group, size, dtype="float64")
                return context.all_reduce("SUM", slots * local)

            return strategy.run(place)

        _EXCHANGES[id(strategy)] = exchange
    values = _EXCHANGES[id(strategy)](tf.constant(float(value), "float64"))
    return [int(round(v)) for v in strategy.experimental_local_results(values)[0].numpy()]


def agreed(value, name, what, strategy=None):
    """`value`, once every worker has the same; `ValueError` naming `name` if not.

    For what each worker reads from the chief's files before acting on it: workers
    that disagree would otherwise train apart or wait on each other forever.
    """
    values = gather(value, strategy)
    if len(set(values)) > 1:
        raise ValueError(
            f"{name}: the workers disagree on {what} ({values}, one per replica); every "
            "worker reads the chief's files, so they must be on a disk all of them see."
        )
    return value


def barrier(strategy=None):
    """Returns once every worker has called it (at once outside a cluster)."""
    gather(0, strategy)


@contextlib.contextmanager
def on_this_worker():
    """Runs its block outside a multi-worker strategy made global (`--distribute`).

    For plain Keras models beside a keras-latent one (a baseline classifier, the
    evaluation's digit classifier): Keras' own `fit` fails across machines
    (keras-team/keras#20585), so each worker builds and trains its own copy.
    Anything else passes through unchanged.
    """
    strategy = tf.distribute.get_strategy() if tf.distribute.has_strategy() else None
    if strategy is None or not across_workers(strategy):
        yield
        return
    tf.distribute.experimental_set_strategy(None)
    try:
        yield
    finally:
        tf.distribute.experimental_set_strategy(strategy)
