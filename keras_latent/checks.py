"""Argument checks shared by every module: one checker per kind of argument.

Each checker takes the value and the argument's name, returns the value in the
form the caller uses (an `int`, a `float`, a NumPy array) and otherwise raises
`ValueError` with a message that starts with the argument's name and says what
was expected and what came: `"keep: expected a whole number >= 1 (epochs); got 0."`.
The checks of `tf.data` pipelines live in `keras_latent.data`; this module
reads NumPy arrays, Python numbers and Keras models only.

Example:

>>> from keras_latent import checks
>>> checks.check_number(0.5, "teacher_decay", minimum=0, maximum=1, below_maximum=True)
0.5
>>> checks.check_number(-1, "consistency_weight", minimum=0)
Traceback (most recent call last):
...
ValueError: consistency_weight: expected a number >= 0; got -1.
>>> checks.check_labels([3, 0, 9], num_classes=10)
array([3, 0, 9])
"""

import math
import numbers

import keras
import numpy as np

# Numbers ------------------------------------------------------------------------


def _text(bound):
    return str(bound) if isinstance(bound, numbers.Integral) else f"{bound:g}"


def _range_text(minimum, maximum, above_minimum, below_maximum):
    if minimum is not None and maximum is not None:
        return (
            f" in {'(' if above_minimum else '['}{_text(minimum)}, "
            f"{_text(maximum)}{')' if below_maximum else ']'}"
        )
    if minimum is not None:
        return f" {'>' if above_minimum else '>='} {_text(minimum)}"
    if maximum is not None:
        return f" {'<' if below_maximum else '<='} {_text(maximum)}"
    return ""


def check_number(
    value,
    name,
    minimum=None,
    maximum=None,
    integer=False,
    below_maximum=False,
    above_minimum=False,
    what=None,
):
    """`value` as a finite float (or int) in a range, else `ValueError`.

    A bool is refused, and so are NaN and infinities.

    Args:
        value: the number to check.
        name: str. The argument's name, which the message starts with.
        minimum: number or None. The lowest value allowed.
        maximum: number or None. The highest value allowed.
        integer: bool. Ask for a whole number (an `int` or a NumPy integer;
            `2.0` is refused) and return an `int`.
        below_maximum: bool. `value` must be below `maximum`, not equal to it.
        above_minimum: bool. `value` must be above `minimum`, not equal to it.
        what: str or None. What the range is, added to the message in brackets.

    Returns:
        `float(value)`, or `int(value)` when `integer`.

    Example:

    >>> check_number(3, "every", minimum=1, integer=True)
    3
    >>> check_number(0, "radius", minimum=0, above_minimum=True)
    Traceback (most recent call last):
    ...
    ValueError: radius: expected a number > 0; got 0.
    """
    kind = numbers.Integral if integer else numbers.Real
    good = (
        isinstance(value, kind)
        and not isinstance(value, (bool, np.bool_))
        and (integer or math.isfinite(value))
    )
    if good and minimum is not None:
        good = value > minimum if above_minimum else value >= minimum
    if good and maximum is not None:
        good = value < maximum if below_maximum else value <= maximum
    if not good:
        expected = "a whole number" if integer else "a number"
        expected += _range_text(minimum, maximum, above_minimum, below_maximum)
        if what:
            expected += f" ({what})"
        raise ValueError(f"{name}: expected {expected}; got {value!r}.")
    return int(value) if integer else float(value)


def check_count(n, name="n"):
    """`n` as a positive int; `ValueError` naming `name` if it is not one."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"{name}: expected a positive int count; got {n!r}.")
    return int(n)


# Codes and labels ---------------------------------------------------------------


def check_codes(z, size, name="z", what="the latent size", dtype="float32"):
    """`z` as an array `(N >= 1, size)` of finite numbers, else `ValueError`.

    Args:
        z: array-like. The codes.
        size: int or None. The code size; None: any.
        name: str. The argument's name.
        what: str or None. What `size` is, for the message.
        dtype: the returned array's dtype. Defaults to float32.

    Returns:
        `z` as a NumPy array of `dtype`.
    """
    z = np.asarray(z)
    if z.ndim != 2 or (size is not None and z.shape[1] != size) or len(z) == 0:
        raise ValueError(
            f"{name}: expected codes shaped (N >= 1, {'dim' if size is None else size})"
            f"{f' ({what})' if what else ''}; got an array of shape {z.shape}."
        )
    if not np.issubdtype(z.dtype, np.number) or not np.all(np.isfinite(z)):
        raise ValueError(f"{name}: expected finite numbers; got {z.dtype} with NaN or inf.")
    return z.astype(dtype)


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


def check_labels(y, num_classes, name="y", allow_unlabelled=False):
    """`y` as a 1-D array of integer labels in `[0, num_classes)`, else `ValueError`.

    Args:
        y: array-like. The labels.
        num_classes: int. The class count.
        name: str. The argument's name.
        allow_unlabelled: bool. Accept -1, an unlabelled example.

    Returns:
        `y` as a NumPy array.
    """
    y = np.asarray(y)
    if y.ndim != 1 or not np.issubdtype(y.dtype, np.integer):
        raise ValueError(
            f"{name}: expected a 1-D array of integer class labels; got shape "
            f"{y.shape} and dtype {y.dtype}."
        )
    low = -1 if allow_unlabelled else 0
    if y.size and (y.min() < low or y.max() >= num_classes):
        raise ValueError(
            f"{name}: expected labels in [{low}, {num_classes - 1}] for "
            f"{num_classes} classes; got [{y.min()}, {y.max()}]."
        )
    return y


def check_one_hot(y, num_classes, name="y"):
    """`y` as one-hot rows of width `num_classes` (a single 1, the rest 0), else `ValueError`.

    Returns:
        `y` as a NumPy array.
    """
    y = np.asarray(y)
    if y.ndim != 2 or y.shape[1] != num_classes:
        raise ValueError(
            f"{name}: expected one-hot labels of size {num_classes} (the class count); "
            f"got an array shaped {y.shape}."
        )
    bad = ~(np.all((y == 0) | (y == 1), axis=1) & (y.sum(axis=1) == 1))
    if np.any(bad):
        row = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"{name}: expected one-hot rows (a single 1, the rest 0); row {row} is "
            f"{np.array2string(y[row], precision=3, threshold=12)}."
        )
    return y


def check_one_per_image(y, n, name="y"):
    """`y` as an array of `n` entries, one per image, else `ValueError`."""
    y = np.asarray(y)
    if y.ndim == 0 or len(y) != n:
        raise ValueError(
            f"{name}: expected one label per image ({n}); got {len(y) if y.ndim else 'a scalar'}."
        )
    return y


# Images ---------------------------------------------------------------------------


def check_images(x, name="x", shape=None, tolerance=0.0):
    """Checks an image array: rank 4, not empty, floating, finite, in [0, 1], of `shape`.

    Args:
        x: array-like. The images.
        name: str. The argument name used in error messages.
        shape: tuple or None. Expected `(height, width, channels)`; `None` entries
            match any size.
        tolerance: float. How far values may stray outside [0, 1] (rounding in
            generated images).

    Returns:
        `x` as a NumPy array.

    Raises:
        ValueError: naming `name` and what was expected.
    """
    x = np.asarray(x)
    if x.ndim != 4:
        raise ValueError(
            f"{name}: expected images shaped (batch, height, width, channels); "
            f"got an array of shape {x.shape}."
        )
    if not np.issubdtype(x.dtype, np.floating):
        raise ValueError(
            f"{name}: expected floating-point images in [0, 1]; got dtype "
            f"{x.dtype} (divide integer images by 255)."
        )
    if shape is not None and any(
        want is not None and want != got for want, got in zip(shape, x.shape[1:])
    ):
        raise ValueError(
            f"{name}: expected images of shape {tuple(shape)} (the model's input); "
            f"got {x.shape[1:]}."
        )
    if len(x) == 0:
        raise ValueError(f"{name}: expected at least one image; got an empty array.")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{name}: contains NaN or infinite values.")
    if x.size and (x.min() < -tolerance or x.max() > 1.0 + tolerance):
        raise ValueError(
            f"{name}: expected values in [0, 1]; got [{x.min():.3g}, {x.max():.3g}]."
        )
    return x


# Networks -------------------------------------------------------------------------


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
