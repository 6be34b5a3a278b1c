"""Numbers that reproductions report about codes and images."""

import numpy as np
from sklearn.metrics import pairwise_distances


def _check_codes(a, name):
    a = np.asarray(a, dtype="float64")
    if a.ndim != 2 or len(a) == 0:
        raise ValueError(f"{name}: expected a non-empty array (n, dim); got shape {a.shape}.")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name}: contains NaN or infinite values.")
    return a


def energy_distance(a, b):
    """Energy distance `2 E|X - Y| - E|X - X'| - E|Y - Y'|` between two code sets.

    Zero exactly when the two empirical distributions are equal, positive
    otherwise (Szekely & Rizzo 2013, eq. 2, with V-statistics: all pairs,
    diagonal included).

    Args:
        a: array `(n, dim)`. Samples of one distribution, e.g. q(z).
        b: array `(m, dim)`. Samples of the other, e.g. p(z).
    """
    a = _check_codes(a, "a")
    b = _check_codes(b, "b")
    if a.shape[1] != b.shape[1]:
        raise ValueError(
            f"b: expected codes of size {a.shape[1]} like a; got {b.shape[1]}."
        )
    between = pairwise_distances(a, b).mean()
    within_a = pairwise_distances(a).mean()
    within_b = pairwise_distances(b).mean()
    return float(2 * between - within_a - within_b)
