"""What a training step needs to give the same result on one device or on many.

Under a `tf.distribute` strategy each replica runs the step on its slice of the
global batch and the optimizers sum the replicas' gradients. Two things must then
be global rather than per replica: the reductions of the losses (see
`losses.global_mean`) and the random draws, which would otherwise be the same on
every replica, since the replicas share one seed generator. `replica_draws` gives
each replica its own slice of the draws one device would make for the whole batch,
so that a step with N replicas matches a step without a strategy on the same global
batch.
"""

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
