"""Latent priors p(z) that an adversarial autoencoder pushes its codes toward.

The four priors of the AAE paper (Makhzani et al. 2015, figs. 2 and 4): a single
Gaussian, a mixture of 10 Gaussians on a circle, a swiss roll and a uniform box;
and `Categorical`, one-hot codes (the semi-supervised AAE's y, InfoGAN's c).
Each draws in the graph through `keras.random`, so a model's `train_step` samples
from it with the model's `SeedGenerator`. Given labels, a draw comes from that
class's own component or region: the supervised AAE (paper section 4) needs this.

Example:

>>> from keras_latent import priors
>>> prior = priors.get("mixture", dim=2)
>>> z = prior.sample(1000, seed=0)             # (1000, 2) tensor
>>> z7 = prior.sample(100, labels=[7] * 100)   # all from component 7
"""

import math

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from keras_latent.checks import check_codes, check_labels, check_number


def _as_seed(seed):
    # One int seed would give the same stream to every draw in a sample; a local
    # generator gives each draw its own.
    if isinstance(seed, (int, np.integer)):
        return keras.random.SeedGenerator(int(seed))
    return seed


class Prior:
    """Base class of the priors: a distribution over `R^dim`.

    Subclasses implement `_sample_labelled(labels, seed)`; those without classes
    (`num_classes is None`) implement `_sample(n, seed)` instead.

    Args:
        dim: int. Size of the latent code.
    """

    num_classes = None

    def __init__(self, dim):
        self.dim = check_number(dim, "dim", minimum=1, integer=True)

    def sample(self, n, labels=None, seed=None):
        """Draws `n` codes, shaped `(n, dim)`.

        Args:
            n: int or scalar tensor. How many codes.
            labels: int array `(n,)` or None. Draw code `i` from the component
                or region of class `labels[i]`.
            seed: int, `keras.random.SeedGenerator` or None.
        """
        seed = _as_seed(seed)
        if labels is None:
            return self._sample(n, seed)
        if self.num_classes is None:
            raise ValueError(
                f"labels: the {type(self).__name__} prior has no per-class "
                "components; use GaussianMixture, SwissRoll or Uniform for "
                "labelled draws."
            )
        if not (tf.is_tensor(labels) and not tf.executing_eagerly()):
            check_labels(labels, self.num_classes, name="labels")
        return self._sample_labelled(ops.cast(labels, "int32"), seed)

    def _sample(self, n, seed):
        labels = keras.random.randint((n,), 0, self.num_classes, seed=seed)
        return self._sample_labelled(labels, seed)

    def component_of(self, codes):
        """The class whose component or region holds each code (-1: none).

        Args:
            codes: array `(n, dim)`.

        Returns:
            A NumPy int array `(n,)`.
        """
        if self.num_classes is None:
            raise ValueError(
                f"codes: the {type(self).__name__} prior has no per-class components."
            )
        return self._component_of(check_codes(codes, self.dim, "codes", what="the prior's size"))

    def _sample_labelled(self, labels, seed):
        raise NotImplementedError

    def get_config(self):
        return {"dim": self.dim}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


@keras.saving.register_keras_serializable(package="keras_latent")
class Gaussian(Prior):
    """Isotropic Gaussian `N(mean, std^2 I)`.

    Args:
        dim: int. Size of the code. Defaults to 2.
        std: float. Standard deviation of each coordinate. Defaults to 1.
        mean: float. Mean of each coordinate. Defaults to 0.

    Reference:
        Makhzani et al. 2015, fig. 2 (left).
    """

    def __init__(self, dim=2, std=1.0, mean=0.0):
        super().__init__(dim)
        self.std = check_number(std, "std", minimum=0, above_minimum=True)
        self.mean = check_number(mean, "mean")

    def _sample(self, n, seed):
        return keras.random.normal((n, self.dim), self.mean, self.std, seed=seed)

    def get_config(self):
        return {**super().get_config(), "std": self.std, "mean": self.mean}


@keras.saving.register_keras_serializable(package="keras_latent")
class GaussianMixture(Prior):
    """Gaussians spaced evenly on a circle, each stretched along its radius.

    Component `k` is centred at angle `2 pi k / num_components`, `radius` from the
    origin, in the first two coordinates; further coordinates are `N(0,
    tangential_std^2)`. Components are equally likely.

    Args:
        dim: int. Size of the code, at least 2. Defaults to 2.
        num_components: int. Defaults to 10 (one per digit).
        radius: float. Distance of the centres from the origin. Defaults to 4.
        radial_std: float. Spread along the radius. Defaults to 1.
        tangential_std: float. Spread across it. Defaults to 0.25.

    Reference:
        Makhzani et al. 2015, figs. 2 and 4 (mixture of 10 2-D Gaussians).
    """

    def __init__(
        self, dim=2, num_components=10, radius=4.0, radial_std=1.0, tangential_std=0.25
    ):
        super().__init__(dim)
        if self.dim < 2:
            raise ValueError(f"dim: GaussianMixture needs dim >= 2; got {dim}.")
        self.num_components = check_number(
            num_components, "num_components", minimum=1, integer=True
        )
        self.radius = float(radius)
        self.radial_std = float(radial_std)
        self.tangential_std = float(tangential_std)

    @property
    def num_classes(self):
        return self.num_components

    def centres(self):
        """Component centres, a NumPy array `(num_components, dim)`."""
        angles = 2 * np.pi * np.arange(self.num_components) / self.num_components
        centres = np.zeros((self.num_components, self.dim), "float32")
        centres[:, 0] = self.radius * np.cos(angles)
        centres[:, 1] = self.radius * np.sin(angles)
        return centres

    def _component_of(self, codes):
        # Nearest centre: the components' Voronoi cells.
        distances = ((codes[:, None, :2] - self.centres()[None, :, :2]) ** 2).sum(-1)
        return np.argmin(distances, axis=1)

    def _sample_labelled(self, labels, seed):
        n = ops.shape(labels)[0]
        angle = ops.cast(labels, "float32") * (2 * math.pi / self.num_components)
        cos, sin = ops.cos(angle), ops.sin(angle)
        along = self.radius + keras.random.normal((n,), stddev=self.radial_std, seed=seed)
        across = keras.random.normal((n,), stddev=self.tangential_std, seed=seed)
        plane = ops.stack([along * cos - across * sin, along * sin + across * cos], axis=1)
        if self.dim == 2:
            return plane
        rest = keras.random.normal((n, self.dim - 2), stddev=self.tangential_std, seed=seed)
        return ops.concatenate([plane, rest], axis=1)

    def get_config(self):
        return {
            **super().get_config(),
            "num_components": self.num_components,
            "radius": self.radius,
            "radial_std": self.radial_std,
            "tangential_std": self.tangential_std,
        }


@keras.saving.register_keras_serializable(package="keras_latent")
class SwissRoll(Prior):
    """A 2-D swiss roll: an Archimedean spiral of `turns` turns, slightly blurred.

    A point at position `u` in [0, 1) along the roll lies at radius
    `scale * sqrt(u)` and angle `2 pi turns sqrt(u)`, so points spread evenly over
    the area the roll sweeps. Class `k` of `num_classes` owns the stretch `u` in
    `[k, k + 1) / num_classes`.

    Args:
        dim: int. Must be 2. Defaults to 2.
        num_classes: int. Stretches of the roll. Defaults to 10.
        scale: float. Outer radius. Defaults to 3.
        turns: float. Defaults to 2.
        noise_std: float. Gaussian blur added to each point. Defaults to 0.05.

    Reference:
        Makhzani et al. 2015, figs. 2 and 4 (swiss roll).
    """

    def __init__(self, dim=2, num_classes=10, scale=3.0, turns=2.0, noise_std=0.05):
        super().__init__(dim)
        if self.dim != 2:
            raise ValueError(f"dim: SwissRoll is 2-D; got dim={dim}.")
        self._num_classes = check_number(num_classes, "num_classes", minimum=1, integer=True)
        self.scale = float(scale)
        self.turns = float(turns)
        self.noise_std = float(noise_std)

    @property
    def num_classes(self):
        return self._num_classes

    def curve(self, u):
        """Points of the roll's centre line at positions `u` in [0, 1]."""
        root = np.sqrt(np.asarray(u, "float32"))
        angle = 2 * np.pi * self.turns * root
        return np.stack([np.cos(angle), np.sin(angle)], axis=1) * (self.scale * root)[:, None]

    def _component_of(self, codes):
        # The stretch of the nearest point on a fine sampling of the centre line.
        u = (np.arange(2000) + 0.5) / 2000
        line = self.curve(u)
        nearest = np.argmin(((codes[:, None] - line[None]) ** 2).sum(-1), axis=1)
        return np.minimum((u[nearest] * self.num_classes).astype(int), self.num_classes - 1)

    def _sample_labelled(self, labels, seed):
        n = ops.shape(labels)[0]
        u = (ops.cast(labels, "float32") + keras.random.uniform((n,), seed=seed)) / (
            self.num_classes
        )
        root = ops.sqrt(u)
        angle = 2 * math.pi * self.turns * root
        radius = self.scale * root
        curve = ops.stack([radius * ops.cos(angle), radius * ops.sin(angle)], axis=1)
        return curve + keras.random.normal((n, 2), stddev=self.noise_std, seed=seed)

    def get_config(self):
        return {
            **super().get_config(),
            "num_classes": self.num_classes,
            "scale": self.scale,
            "turns": self.turns,
            "noise_std": self.noise_std,
        }


@keras.saving.register_keras_serializable(package="keras_latent")
class Uniform(Prior):
    """Uniform on the box `[low, high]^dim`; class `k` owns the k-th band of axis 0.

    Args:
        dim: int. Defaults to 2.
        low: float. Defaults to -2.
        high: float. Defaults to 2.
        num_classes: int. Bands along the first axis for labelled draws.
            Defaults to 10.

    Reference:
        Makhzani et al. 2015, fig. 4 (uniform prior, supervised).
    """

    def __init__(self, dim=2, low=-2.0, high=2.0, num_classes=10):
        super().__init__(dim)
        self.low = check_number(low, "low")
        self.high = check_number(high, "high", minimum=self.low, above_minimum=True, what="low")
        self._num_classes = check_number(num_classes, "num_classes", minimum=1, integer=True)

    @property
    def num_classes(self):
        return self._num_classes

    def _sample(self, n, seed):
        return keras.random.uniform((n, self.dim), self.low, self.high, seed=seed)

    def _component_of(self, codes):
        width = (self.high - self.low) / self.num_classes
        band = np.floor((codes[:, 0] - self.low) / width).astype(int)
        inside = np.all((codes >= self.low) & (codes <= self.high), axis=1)
        return np.where(inside, np.clip(band, 0, self.num_classes - 1), -1)

    def _sample_labelled(self, labels, seed):
        n = ops.shape(labels)[0]
        width = (self.high - self.low) / self.num_classes
        first = self.low + width * (
            ops.cast(labels, "float32") + keras.random.uniform((n,), seed=seed)
        )
        if self.dim == 1:
            return first[:, None]
        rest = keras.random.uniform((n, self.dim - 1), self.low, self.high, seed=seed)
        return ops.concatenate([first[:, None], rest], axis=1)

    def get_config(self):
        return {
            **super().get_config(),
            "low": self.low,
            "high": self.high,
            "num_classes": self.num_classes,
        }


@keras.saving.register_keras_serializable(package="keras_latent")
class Categorical(Prior):
    """One-hot codes of a categorical distribution over `num_classes` categories.

    The prior of a categorical code: the semi-supervised AAE's y, which a
    discriminator compares with these draws (paper sec. 6), and InfoGAN's
    categorical latent code (Chen et al. 2016, sec. 5). Class `k` owns the k-th
    corner of the simplex, so labelled draws are one-hot rows of their labels.

    Args:
        num_classes: int. Number of categories, the size of a code. Defaults to 10.
        probabilities: list of floats or None. Each category's probability;
            None draws them uniformly. Defaults to None.

    Example:

    >>> codes = Categorical(num_classes=3).sample(4, seed=0)
    >>> tuple(codes.shape)
    (4, 3)

    Reference:
        Makhzani et al. 2015, sec. 6; Chen et al. 2016 ("InfoGAN"), sec. 5.
    """

    def __init__(self, num_classes=10, probabilities=None):
        super().__init__(num_classes)
        if probabilities is not None:
            probabilities = [float(p) for p in probabilities]
            if (
                len(probabilities) != num_classes
                or min(probabilities) < 0
                or not math.isclose(sum(probabilities), 1.0, rel_tol=1e-5)
            ):
                raise ValueError(
                    f"probabilities: expected {num_classes} non-negative floats "
                    f"summing to 1 (num_classes); got {probabilities}."
                )
        self.probabilities = probabilities

    @property
    def num_classes(self):
        return self.dim

    def _sample(self, n, seed):
        if self.probabilities is None:
            return super()._sample(n, seed)
        logits = ops.log(ops.convert_to_tensor([self.probabilities], "float32"))
        classes = keras.random.categorical(logits, n, seed=seed)[0]
        return self._sample_labelled(classes, seed)

    def _component_of(self, codes):
        return np.argmax(codes, axis=1)

    def _sample_labelled(self, labels, seed):
        return ops.one_hot(ops.cast(labels, "int32"), self.num_classes)

    def get_config(self):
        return {"num_classes": self.num_classes, "probabilities": self.probabilities}


_NAMES = {
    "gaussian": Gaussian,
    "mixture": GaussianMixture,
    "gaussian_mixture": GaussianMixture,
    "swiss_roll": SwissRoll,
    "uniform": Uniform,
}


def get(identifier, dim=None, name="prior"):
    """Returns a prior from a name, a config dict or a `Prior`.

    Args:
        identifier: str (`"gaussian"`, `"mixture"`, `"swiss_roll"`,
            `"uniform"`), a dict from `keras.saving.serialize_keras_object`, or a
            `Prior`, returned as it is.
        dim: int or None. Latent size for a prior given by name; when given, a
            prior of another size raises. Defaults to 2 for names.
        name: str. The argument named in errors. Defaults to `"prior"`.
    """
    if isinstance(identifier, Prior):
        prior = identifier
    elif isinstance(identifier, dict):
        prior = keras.saving.deserialize_keras_object(identifier)
    elif isinstance(identifier, str) and identifier in _NAMES:
        return _NAMES[identifier](dim=2 if dim is None else dim)
    else:
        raise ValueError(
            f"{name}: expected one of {sorted(_NAMES)} or a keras_latent.priors.Prior; "
            f"got {identifier!r}."
        )
    if dim is not None and prior.dim != dim:
        raise ValueError(
            f"{name}: expected a prior over codes of size {dim} (the latent size); "
            f"got {prior!r} of size {prior.dim}."
        )
    return prior
