"""Training terms for any model with a classifier: a mean teacher and virtual
adversarial training's view.

The semi-supervised AAE uses both, beside `losses.consistency_loss` (the
Pi-model's term) and `losses.rampup`; a classifier-bearing family adds them to
its supervised update the same way:

- `MeanTeacher(owner, network, decay)`: `network` run with a running average of
  its own weights, which `owner` (the model) holds and saves; `update()` after
  the step's last update of `network`.
- `virtual_adversarial_view(classify, x, direction, radius)`: `(y(x), x + r)`,
  r the step of norm `radius` that changes `classify`'s output most; the term is
  then `losses.categorical_kl(y(x), classify(x + r))`.
"""

from keras import ops

from keras_latent import losses
from keras_latent.checks import check_number
from keras_latent.models.multi_optimizer_model import input_gradient

# L2 norm of the small random step of the image whose effect on y estimates
# virtual adversarial training's direction (Miyato et al. 2018's xi, 1e-6 in their
# code, whose divergence is computed from logits; the one here from softmax
# outputs, clipped, loses such small differences in float32).
FINITE_DIFFERENCE = 0.1


class MeanTeacher:
    """A network run with an exponential moving average of its own weights.

    Each `update()` moves the teacher's weights to `decay * teacher + (1 -
    decay) * network` (the mean teacher, Tarvainen & Valpola 2017). The
    teacher's weights are `owner`'s own non-trainable weights, so they are saved
    and restored with the model; every replica updates them alike, so the
    first replica's value stands.

    Args:
        owner: `keras.Model`. Holds the teacher's weights (`add_weight`).
        network: `keras.Model`. The network the teacher averages.
        decay: float in [0, 1). The weight of the teacher's past.

    Example:

    >>> import keras
    >>> net = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    >>> owner = keras.Model()
    >>> teacher = MeanTeacher(owner, net, decay=0.5)
    >>> _ = net.layers[0].bias.assign([2.0])
    >>> teacher.update()
    >>> float(teacher.variables[1][0])
    1.0
    """

    def __init__(self, owner, network, decay):
        self.network = network
        self.decay = check_number(decay, "teacher_decay", minimum=0, maximum=1, below_maximum=True)
        self.variables = []
        for i, variable in enumerate(network.trainable_variables):
            teacher = owner.add_weight(
                shape=variable.shape, initializer="zeros", dtype=variable.dtype,
                trainable=False, aggregation="only_first_replica", name=f"teacher_{i}",
            )
            teacher.assign(variable)
            self.variables.append(teacher)

    def __call__(self, x, training=False):
        """The network's outputs for `x` with the teacher's weights (its random
        layers' states move on as after any call of the network)."""
        state = self.network.non_trainable_variables
        outputs, moved = self.network.stateless_call(
            self.variables, [v.value for v in state], x, training=training
        )
        for variable, value in zip(state, moved):
            variable.assign(value)
        return outputs

    def update(self):
        """Moves the teacher's weights toward the network's by `1 - decay`."""
        for teacher, variable in zip(self.variables, self.network.trainable_variables):
            teacher.assign(self.decay * teacher + (1.0 - self.decay) * variable)


def virtual_adversarial_view(classify, x, direction, radius):
    """`(y, x + r)`: `classify(x)` and `x` moved by `radius` along the direction that
    changes it most, both without gradient.

    One step of power iteration (Miyato et al. 2018, sec. 3.3): the gradient of
    `KL(y(x) || y(x + xi d))` for a small step `xi d` along the random
    `direction` estimates that direction. Where y does not move at all
    (saturated, or lost to rounding in low precision), the random direction
    stands.

    Args:
        classify: function of images to class probabilities (random layers off).
        x: images `(batch, ...)`.
        direction: random images of `x`'s shape, e.g. standard normal draws.
        radius: float. The L2 norm of r over each image's values.
    """
    y = ops.stop_gradient(classify(x))
    direction = losses.unit_images(direction)

    def divergence(d):
        return ops.sum(losses.categorical_kl(y, classify(x + FINITE_DIFFERENCE * d)))

    _, steepest = input_gradient(divergence, direction)
    steepest = ops.stop_gradient(steepest)
    axes = tuple(range(1, len(x.shape)))
    flat = ops.all(ops.equal(steepest, 0), axis=axes, keepdims=True)
    steepest = ops.where(flat, direction, steepest)
    return y, x + radius * losses.unit_images(steepest)
