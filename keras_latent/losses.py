"""The loss maths of every model, as pure functions of tensors.

Each function returns one value per example; `global_mean` reduces them for a
gradient step. Discriminators output logits (article 000 feeds its linear output to
a cross-entropy meant for probabilities; treating it as a logit is the intent).
"""

import math

from keras import ops

from keras_latent import distribute

RECONSTRUCTION_LOSSES = ("bce", "mse", "mae")
_EPS = 1e-7


def example_weights(values, weights=None):
    """Each example's share of `global_mean(values, weights)`: its derivative.

    Without weights every example of this replica weighs `1 / (batch * replicas)`;
    with weights, `weight / (sum of the weights over the global batch)`.
    """
    values = ops.cast(values, "float32")
    if weights is None:
        total = ops.cast(ops.shape(values)[0] * distribute.replicas_in_sync(), "float32")
        return ops.ones_like(values) / total
    weights = ops.cast(weights, "float32")
    return weights / ops.maximum(distribute.global_sum(ops.sum(weights)), 1.0)


def global_mean(values, weights=None):
    """Mean over the global batch, as this replica's share of it.

    Under a `tf.distribute` strategy each replica sees `1 / num_replicas` of the
    global batch and the optimizer sums the replicas' gradients, so each replica
    divides its local mean by the replica count, as Keras' built-in losses do.
    With `weights` (0 or 1 for the labelled examples of a partly labelled batch)
    it is the weighted mean, divided by the weights' sum over every replica, whose
    shares differ. Outside a strategy this is the plain (weighted) mean.
    `MultiOptimizerModel.update` steps down it through `example_weights`.

    Args:
        values: per-example values `(batch,)`.
        weights: per-example weights `(batch,)` or None.
    """
    return ops.sum(ops.cast(values, "float32") * example_weights(values, weights))


def _mean_over_features(values):
    return ops.mean(ops.reshape(values, (ops.shape(values)[0], -1)), axis=1)


def reconstruction_loss(x, x_hat, kind="bce"):
    """Per-example reconstruction error, averaged over pixels.

    Args:
        x: targets in [0, 1], `(batch, ...)`.
        x_hat: reconstructions in [0, 1], same shape.
        kind: str. `"bce"` (binary cross-entropy, the AAE paper's choice for
            MNIST), `"mse"` or `"mae"` (article 000). Defaults to `"bce"`.
    """
    # Losses are taken in float32 even when the networks compute in 16 bits.
    x, x_hat = ops.cast(x, "float32"), ops.cast(x_hat, "float32")
    if kind == "bce":
        eps = 1e-7
        x_hat = ops.clip(x_hat, eps, 1.0 - eps)
        values = -(x * ops.log(x_hat) + (1.0 - x) * ops.log(1.0 - x_hat))
    elif kind == "mse":
        values = ops.square(x - x_hat)
    elif kind == "mae":
        values = ops.abs(x - x_hat)
    else:
        raise ValueError(
            f"reconstruction: expected one of {RECONSTRUCTION_LOSSES}; got {kind!r}."
        )
    return _mean_over_features(values)


def discriminator_loss(real_logits, fake_logits):
    """Per-pair loss of a discriminator that tells real (1) from fake (0).

    `(softplus(-real) + softplus(fake)) / 2`, the binary cross-entropy of a logit
    against its target, averaged over one real and one fake example (Goodfellow
    et al. 2014, eq. 1).
    """
    real = ops.cast(ops.reshape(real_logits, (-1,)), "float32")
    fake = ops.cast(ops.reshape(fake_logits, (-1,)), "float32")
    return 0.5 * (ops.softplus(-real) + ops.softplus(fake))


def generator_loss(fake_logits):
    """Per-example non-saturating generator loss, `softplus(-fake)`: fakes called real."""
    return ops.softplus(-ops.cast(ops.reshape(fake_logits, (-1,)), "float32"))


def discriminator_accuracy(real_logits, fake_logits):
    """Per-pair share of a real and a fake example the discriminator gets right."""
    real = ops.cast(ops.reshape(real_logits, (-1,)) > 0, "float32")
    fake = ops.cast(ops.reshape(fake_logits, (-1,)) < 0, "float32")
    return 0.5 * (real + fake)


def r1_penalty(gradients, gamma=1.0):
    """Per-example R1 penalty `gamma / 2 * |dD/dz|^2` (Mescheder et al. 2018, eq. 9).

    Args:
        gradients: the discriminator's gradient with respect to each real input,
            `(batch, ...)`.
        gamma: float. The penalty's weight. Defaults to 1.
    """
    gradients = ops.cast(gradients, "float32")
    return 0.5 * gamma * ops.sum(
        ops.reshape(ops.square(gradients), (ops.shape(gradients)[0], -1)), axis=1
    )


def cross_entropy(targets, probabilities):
    """Per-example cross-entropy `-sum_k t_k log p_k` of softmax outputs.

    Args:
        targets: one-hot or soft target rows `(batch, classes)` (the uniform
            `1 / classes` row asks a classifier to be maximally unsure).
        probabilities: softmax outputs, same shape; clipped away from 0.
    """
    targets = ops.cast(targets, "float32")
    probabilities = ops.clip(ops.cast(probabilities, "float32"), _EPS, 1.0)
    return -ops.sum(targets * ops.log(probabilities), axis=-1)


def accuracy(targets, probabilities):
    """Per-example 1.0 where the most probable class is the target row's, else 0.0.

    Args:
        targets: one-hot rows `(batch, classes)`.
        probabilities: a classifier's outputs, same shape.
    """
    return ops.cast(
        ops.argmax(probabilities, axis=-1) == ops.argmax(targets, axis=-1), "float32"
    )


def masked_cross_entropy(labels, probabilities):
    """Per-example `-log p[label]`, and 0 where the label is -1 (unlabelled).

    Reduce it with `global_mean(values, weights=labelled(labels))`: the mean over
    the labelled examples only.

    Args:
        labels: integer labels `(batch,)`, -1 for unlabelled examples.
        probabilities: softmax outputs `(batch, classes)`.
    """
    labels = ops.reshape(ops.cast(labels, "int32"), (-1,))
    targets = ops.one_hot(ops.maximum(labels, 0), ops.shape(probabilities)[-1])
    return cross_entropy(targets, probabilities) * labelled(labels)


def consistency_loss(probabilities, target):
    """Per-example squared distance between two softmax outputs, summed over classes.

    The Pi-model's consistency term (Laine & Aila 2017, sec. 2.1), summed here
    rather than averaged over the classes, and with `target` (y for another view
    of the same image) held fixed, its gradient stopped, where the Pi-model lets
    the gradient through both views.
    """
    difference = ops.cast(probabilities, "float32") - ops.stop_gradient(
        ops.cast(target, "float32")
    )
    return ops.sum(ops.square(difference), axis=-1)


def categorical_kl(target, probabilities):
    """Per-example `KL(target || probabilities)` of two softmax outputs.

    Virtual adversarial training's divergence (Miyato et al. 2018, eq. 1), with
    `target` (y for the unperturbed image) held fixed, its gradient stopped. Both
    are clipped away from 0 inside the logarithms.
    """
    target = ops.stop_gradient(ops.cast(target, "float32"))
    return cross_entropy(target, probabilities) - cross_entropy(target, target)


def rampup(step, length):
    """The Pi-model's ramp-up of a weight: `exp(-5 (1 - t)^2)` with `t = min(step /
    length, 1)`, from about 0.007 at step 0 to 1 at `length` (Laine & Aila 2017,
    appendix A); 1 throughout when `length` is 0.

    Example:

    >>> round(float(rampup(0, 10)), 4), float(rampup(10, 10)), float(rampup(3, 0))
    (0.0067, 1.0, 1.0)
    """
    if not length:
        return ops.convert_to_tensor(1.0)
    t = ops.minimum(ops.cast(step, "float32") / length, 1.0)
    return ops.exp(-5.0 * ops.square(1.0 - t))


def unit_images(d):
    """Each image (first axis: the batch) of `d` scaled to L2 norm 1, first by its
    largest magnitude so that tiny or huge values stay finite: virtual adversarial
    training's directions (Miyato et al. 2018, sec. 3.3).

    Example:

    >>> import numpy as np
    >>> unit_images(np.array([[3.0, 4.0], [0.0, 1e-3]], "float32")).numpy().round(6)
    array([[0.6, 0.8],
           [0. , 1. ]], dtype=float32)
    """
    axes = tuple(range(1, len(d.shape)))
    d = d / (ops.max(ops.abs(d), axis=axes, keepdims=True) + 1e-12)
    return d / ops.sqrt(ops.sum(ops.square(d), axis=axes, keepdims=True) + 1e-12)


def labelled(labels):
    """1.0 for examples with a label (>= 0), 0.0 for unlabelled ones (-1)."""
    return ops.cast(ops.reshape(labels, (-1,)) >= 0, "float32")


def gaussian_kl(mean, log_var):
    """Per-example `KL(N(mean, exp(log_var)) || N(0, I))`, summed over the code.

    `-1/2 sum(1 + log_var - mean^2 - exp(log_var))` (Kingma & Welling 2014,
    appendix B).
    """
    mean, log_var = ops.cast(mean, "float32"), ops.cast(log_var, "float32")
    return -0.5 * ops.sum(1.0 + log_var - ops.square(mean) - ops.exp(log_var), axis=-1)


def categorical_information_loss(codes, probabilities):
    """Per-example `-log Q(c|x)` of a categorical code `c`.

    Minimising it maximises InfoGAN's variational lower bound on the mutual
    information `L_I = E[log Q(c|x)] + H(c)` (Chen et al. 2016, eq. 4); the
    entropy `H(c)` of a fixed code distribution is a constant and left out.

    Args:
        codes: one-hot codes `(batch, categories)` the generator was given.
        probabilities: Q's softmax over the categories for the generated images.
    """
    return cross_entropy(codes, probabilities)


def gaussian_information_loss(codes, mean, log_var=None):
    """Per-example `-log Q(c|x)` of continuous codes under a factored Gaussian Q.

    The negative log-density of `codes` under `N(mean, exp(log_var))`, summed
    over the codes (InfoGAN's `L_I` for continuous codes, Chen et al. 2016,
    sec. 5). With `log_var=None` the variance is fixed at 1, and the loss is half
    the squared error plus a constant.

    Args:
        codes: the continuous codes `(batch, codes)` the generator was given.
        mean: Q's predicted mean, same shape.
        log_var: Q's predicted log-variance, same shape, or None.
    """
    codes, mean = ops.cast(codes, "float32"), ops.cast(mean, "float32")
    log_var = ops.zeros_like(mean) if log_var is None else ops.cast(log_var, "float32")
    squared = ops.square(codes - mean) * ops.exp(-log_var)
    return 0.5 * ops.sum(squared + log_var + math.log(2.0 * math.pi), axis=-1)


def sigmoid_code_loss(codes, q):
    """Per-example `-sum_k c_k log Q_k` of article 002's code heads (sigmoid outputs).

    The article's stand-in for `-log Q(c|x)` of continuous codes. With codes
    drawn from `N(0, 0.5^2)` it is not a log-likelihood: a negative code is
    rewarded for pushing its unit toward 0, a positive one toward 1, and the
    loss is bounded below only by the clip of Q at 1e-7. What survives is an
    ordering: the unit rises with its code, while the negative codes' unbounded
    reward drags every output toward 0. See `gaussian_information_loss` for the
    InfoGAN paper's version.

    Args:
        codes: the continuous codes `(batch, codes)` the generator was given.
        q: Q's sigmoid outputs, same shape.
    """
    codes = ops.cast(codes, "float32")
    q = ops.clip(ops.cast(q, "float32"), _EPS, 1.0)
    return -ops.sum(codes * ops.log(q), axis=-1)


def vae_gan_loss(real_logits, rebuilt_logits, drawn_logits):
    """Per-example `L_GAN` of the VAE+GAN: `-(log D(x) + log(1 - D(x~)) + 2 log(1 -
    D(x_p))) / 4` for a real image x, its reconstruction x~ and a decoded prior
    draw x_p (article 003; Larsen et al. 2016, eq. 8 with the prior's samples
    counted twice, as the article's batch holds them).

    Args:
        real_logits, rebuilt_logits, drawn_logits: logits `(batch, 1)` or
            `(batch,)` of the three kinds of image.
    """
    def flat(logits):
        return ops.reshape(ops.cast(logits, "float32"), (-1,))

    # log D = -softplus(-logit), log(1 - D) = -softplus(logit).
    return (
        ops.softplus(-flat(real_logits))
        + 2.0 * ops.softplus(flat(drawn_logits))
        + ops.softplus(flat(rebuilt_logits))
    ) / 4.0


def similarity_loss(real_features, fake_features, kind="mse", standardize=True):
    """Per-example error of a learned layer's features of fakes against reals,
    summed over the features: `L_llike` (Larsen et al. 2016, eq. 5).

    Args:
        real_features, fake_features: `(batch, ...)` activations of the layer.
        kind: `"mse"`, the squared error (a Gaussian's log-likelihood), or
            `"bce"`, the cross-entropy of `sigmoid(fake)` against
            `sigmoid(real)` (article 003).
        standardize: bool. Centre each channel (last axis) and divide it by
            its standard deviation over the real global batch, held constant.

    Example:

    >>> import numpy as np
    >>> real = np.array([[0.0, 2.0]], "float32")
    >>> float(similarity_loss(real, real + 1.0, standardize=False)[0])
    2.0
    """
    real, fake = ops.cast(real_features, "float32"), ops.cast(fake_features, "float32")
    n = ops.shape(real)[0]
    if standardize:
        mean, std = _channel_moments(real)
        real, fake = (real - mean) / std, (fake - mean) / std
    if kind == "bce":
        target = ops.sigmoid(real)
        # Cross-entropy of sigmoid(fake) against the target, from logits.
        values = ops.softplus(fake) - target * fake
    else:
        values = ops.square(real - fake)
    return ops.sum(ops.reshape(values, (n, -1)), axis=1)


def _channel_moments(features):
    """Mean and standard deviation of each channel over the global batch, constant."""
    features = ops.stop_gradient(features)
    flat = ops.reshape(features, (-1, ops.shape(features)[-1]))
    count = distribute.global_sum(ops.cast(ops.shape(flat)[0], "float32"))
    mean = distribute.global_sum(ops.sum(flat, axis=0)) / count
    square = distribute.global_sum(ops.sum(ops.square(flat), axis=0)) / count
    return mean, ops.sqrt(ops.maximum(square - ops.square(mean), 0.0) + 1e-6)


def cvae_gan_discriminator_loss(real_logits, rebuilt_logits, drawn_logits):
    """Per-example `L_D` of the CVAE-GAN: `-(log D(x) + log(1 - D(x_f)) + log(1 -
    D(x_p)))` for a real image x, its reconstruction x_f and a decoded prior draw x_p
    (Bao et al. 2017, Algorithm 1).

    Example:

    >>> import numpy as np
    >>> zero = np.zeros((2, 1), "float32")
    >>> [round(float(v), 4) for v in cvae_gan_discriminator_loss(zero, zero, zero)]
    [2.0794, 2.0794]
    """
    real, rebuilt, drawn = (
        ops.reshape(ops.cast(v, "float32"), (-1,))
        for v in (real_logits, rebuilt_logits, drawn_logits)
    )
    return ops.softplus(-real) + ops.softplus(rebuilt) + ops.softplus(drawn)


def _global_feature_sums(features, weights):
    """`(sum over the global batch of weights[i, k] * features[i], counts of k)`."""
    features = ops.reshape(ops.cast(features, "float32"), (ops.shape(features)[0], -1))
    weights = ops.cast(weights, "float32")
    sums = distribute.global_sum(ops.matmul(ops.transpose(weights), features))
    return sums, distribute.global_sum(ops.sum(weights, axis=0))


def cluster_balance_loss(probabilities):
    """`log K - H(mean of q(y | x) over the global batch)` of K-way softmax outputs,
    as a per-example value (every example carries the batch's loss, as in
    `mean_matching_loss`): 0 when the batch spreads evenly over the K clusters,
    log K when it all falls in one. The marginal-entropy term of CatGAN
    (Springenberg 2016) and IMSAT (Hu et al. 2017); not in the AAE paper, whose
    D_cat judges one y at a time and so cannot see that clusters go unused.

    Example:

    >>> import numpy as np
    >>> spread = np.array([[1.0, 0.0], [0.0, 1.0]], "float32")
    >>> [round(float(v), 4) for v in cluster_balance_loss(spread)]
    [0.0, 0.0]
    >>> round(float(cluster_balance_loss(spread[:1])[0]), 4)  # log 2: one cluster
    0.6931
    """
    n, k = ops.shape(probabilities)[0], ops.shape(probabilities)[-1]
    sums, count = _global_feature_sums(probabilities, ops.ones((n, 1), "float32"))
    mean = sums[0] / count[0]
    loss = math.log(k) + ops.sum(mean * ops.log(ops.maximum(mean, _EPS)))
    return ops.ones((n,), "float32") * loss


def pairwise_matching_loss(pairs):
    """Per-example `1/2 sum ||a - b||^2` over `pairs` of `(batch, ...)` tensors: the
    CVAE-GAN's `L_G` with the pairs (x, x_f), (f_D(x), f_D(x_f)), (f_C(x), f_C(x_f)).

    Example:

    >>> import numpy as np
    >>> a = np.array([[1.0, 2.0]], "float32")
    >>> float(pairwise_matching_loss([(a, a + 1.0), (a, a)])[0])
    1.0
    """
    total = 0.0
    for a, b in pairs:
        difference = ops.cast(a, "float32") - ops.cast(b, "float32")
        total += ops.sum(ops.reshape(ops.square(difference), (ops.shape(a)[0], -1)), axis=1)
    return 0.5 * total


def mean_matching_loss(real_features, fake_features):
    """`1/2 ||mean f(x) - mean f(x_p)||^2` over the global batch, the CVAE-GAN's
    `L_GD`, as a per-example value (every example carries the batch's loss, so
    its global mean is that loss, and under a strategy the gradient reaches
    every replica's fakes through the summed means).

    Example:

    >>> import numpy as np
    >>> real = np.array([[0.0], [2.0]], "float32")
    >>> [float(v) for v in mean_matching_loss(real, real + 3.0)]
    [4.5, 4.5]
    """
    n = ops.shape(real_features)[0]
    ones = ops.ones((n, 1), "float32")
    real, count = _global_feature_sums(real_features, ones)
    fake, _ = _global_feature_sums(fake_features, ones)
    loss = 0.5 * ops.sum(ops.square((real - fake) / count))
    return ops.ones((n,), "float32") * loss


def class_centres(sums, weights, features, targets, decay):
    """Moving averages of each class's mean features: `(sums, weights, centres)`.

    A class present in the global batch moves its sum toward the batch's mean of
    its features, `sum <- decay sum + (1 - decay) mean`, and its weight as
    `weight <- decay weight + (1 - decay)`; an absent class keeps both. The
    centre `sum / weight` removes the start's pull toward zero (as Adam's bias
    correction does); a class never seen has a zero centre.

    Args:
        sums: `(classes, features)`, the running sums.
        weights: `(classes,)`, their weights.
        features: `(batch, ...)` features of real images (held constant).
        targets: one-hot labels `(batch, classes)`.
        decay: float in [0, 1).

    Returns:
        `(sums, weights, centres)`, the first two to store.

    Example:

    >>> import numpy as np
    >>> sums, weights = np.zeros((2, 1), "float32"), np.zeros((2,), "float32")
    >>> features = np.array([[2.0], [4.0]], "float32")
    >>> _, _, centres = class_centres(sums, weights, features, np.eye(2)[[0, 0]], 0.9)
    >>> [float(v) for v in centres[:, 0]]
    [3.0, 0.0]
    """
    batch_sums, counts = _global_feature_sums(ops.stop_gradient(features), targets)
    present = counts > 0
    means = batch_sums / ops.maximum(counts, 1.0)[:, None]
    sums = ops.where(present[:, None], decay * sums + (1.0 - decay) * means, sums)
    weights = ops.where(present, decay * weights + (1.0 - decay), weights)
    return sums, weights, sums / ops.maximum(weights, _EPS)[:, None]


def class_mean_matching_loss(centres, fake_features, targets):
    """`1/2 sum_c ||centre_c - mean_c f_C(x_p)||^2` over the classes present in
    the global batch, the CVAE-GAN's `L_GC`, as a per-example value (see
    `mean_matching_loss`).

    Args:
        centres: `(classes, features)`, the real images' class centres (constant).
        fake_features: `(batch, ...)` features of generated images.
        targets: one-hot classes the fakes were asked for, `(batch, classes)`.

    Example:

    >>> import numpy as np
    >>> centres = np.array([[1.0], [5.0]], "float32")
    >>> fake = np.array([[0.0], [2.0]], "float32")
    >>> [float(v) for v in class_mean_matching_loss(centres, fake, np.eye(2)[[0, 0]])]
    [0.0, 0.0]
    """
    sums, counts = _global_feature_sums(fake_features, targets)
    present = ops.cast(counts > 0, "float32")[:, None]
    means = sums / ops.maximum(counts, 1.0)[:, None]
    loss = 0.5 * ops.sum(present * ops.square(ops.cast(centres, "float32") - means))
    return ops.ones((ops.shape(fake_features)[0],), "float32") * loss
