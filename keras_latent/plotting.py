"""Figures of images and latent codes.

Every function returns a `matplotlib.figure.Figure` built without `pyplot`, so no
window opens and no global state changes; `save` writes it with the Agg canvas.

Example:

>>> import os, tempfile
>>> import numpy as np
>>> from keras_latent import plotting
>>> fig = plotting.image_grid(np.random.rand(16, 28, 28, 1), ncols=4)
>>> path = plotting.save(fig, os.path.join(tempfile.mkdtemp(), "grid.png"))
>>> os.path.getsize(path) > 0
True
"""

import itertools
import os

import numpy as np
from matplotlib import ticker
from matplotlib.figure import Figure

_CMAP = "tab10"


def save(fig, path, dpi=120):
    """Writes `fig` to `path` (folders created) and returns the path."""
    folder = os.path.dirname(path)
    if folder:
        os.makedirs(folder, exist_ok=True)
    fig.savefig(path, dpi=dpi, bbox_inches="tight")
    return path


def tile(images, ncols, pad=1, fill=None):
    """Tiles `(N, H, W, C)` images into one `(rows*H, ncols*W, C)` array.

    Gaps are `fill`, by default the background: 0 for one channel (drawn white,
    ink dark), 1 (white) for colour.
    """
    images = np.asarray(images, "float32")
    n, h, w, c = images.shape
    if fill is None:
        fill = 0.0 if c == 1 else 1.0
    nrows = int(np.ceil(n / ncols))
    out = np.full((nrows * (h + pad) - pad, ncols * (w + pad) - pad, c), fill, "float32")
    for i in range(n):
        r, k = divmod(i, ncols)
        out[r * (h + pad) : r * (h + pad) + h, k * (w + pad) : k * (w + pad) + w] = images[i]
    return out


def _pad(height):
    # Gaps between tiles: 2 pixels for 28-pixel digits.
    return max(1, height // 14)


def _show(ax, array):
    if array.shape[-1] == 1:
        ax.imshow(array[..., 0], cmap="gray_r", vmin=0, vmax=1, interpolation="nearest")
    else:
        ax.imshow(np.clip(array, 0, 1), interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])


def image_grid(images, ncols=10, title=None, row_labels=None, col_labels=None, scale=0.6):
    """Images in a grid, `ncols` a row, with optional row and column labels.

    Args:
        images: array `(N, H, W, C)` in [0, 1].
        ncols: int. Images per row. Defaults to 10.
        title: str or None.
        row_labels: list of str or None. One label per row, left of it.
        col_labels: list of str or None. One label per column, above it.
        scale: float. Inches per image. Defaults to 0.6.
    """
    images = np.asarray(images)
    if images.ndim != 4:
        raise ValueError(f"images: expected (N, H, W, C); got shape {images.shape}.")
    ncols = min(ncols, len(images))
    nrows = int(np.ceil(len(images) / ncols))
    h, w = images.shape[1:3]
    fig = Figure(figsize=(max(2.0, ncols * scale * w / h), max(1.0, nrows * scale)))
    ax = fig.add_subplot()
    _show(ax, tile(images, ncols, pad=_pad(h)))
    if row_labels is not None:
        ax.set_yticks([(h + _pad(h)) * r + h / 2 for r in range(len(row_labels))])
        ax.set_yticklabels(row_labels)
        ax.tick_params(axis="y", length=0)
    if col_labels is not None:
        ax.xaxis.tick_top()
        ax.set_xticks([(w + _pad(h)) * k + w / 2 for k in range(len(col_labels))])
        ax.set_xticklabels(col_labels)
        ax.tick_params(axis="x", length=0)
    if title:
        ax.set_title(title, pad=18 if col_labels is not None else 6)
    return fig


def _scatter(ax, codes, labels, title, limits=None):
    codes = np.asarray(codes)
    if codes.ndim != 2 or codes.shape[1] < 2:
        raise ValueError(f"codes: expected (N, >=2) codes; got shape {codes.shape}.")
    if labels is None:
        ax.scatter(codes[:, 0], codes[:, 1], s=2, alpha=0.5, color="0.3", linewidths=0)
    else:
        labels = np.asarray(labels)
        points = ax.scatter(
            codes[:, 0], codes[:, 1], c=labels, cmap=_CMAP, vmin=-0.5, vmax=9.5,
            s=2, alpha=0.6, linewidths=0,
        )
        for k in np.unique(labels):
            ax.scatter([], [], color=points.cmap(points.norm(k)), label=str(k), s=20)
    if limits is not None:
        ax.set_xlim(limits)
        ax.set_ylim(limits)
    ax.set_aspect("equal")
    ax.set_title(title)
    ax.grid(True, lw=0.3, alpha=0.5)


def latent_scatter(codes, labels=None, title="q(z)"):
    """Codes (their first two coordinates) coloured by label, with a legend."""
    fig = Figure(figsize=(5.5, 5))
    ax = fig.add_subplot()
    _scatter(ax, codes, labels, title)
    if labels is not None:
        ax.legend(loc="center left", bbox_to_anchor=(1, 0.5), markerscale=1, frameon=False)
    return fig


def scatter_panels(panels, labels=None, title=None):
    """Side-by-side scatters of 2-D points (e.g. t-SNE maps), coloured by one label set.

    Args:
        panels: dict `{panel title: points (N, 2)}`, all of the same N points.
        labels: int array `(N,)` or None.
        title: str or None. Above all panels.

    Example:

    >>> points = np.random.default_rng(0).normal(size=(100, 2))
    >>> fig = scatter_panels({"s": points, "z": -points}, labels=np.arange(100) % 10)
    >>> len(fig.axes)
    2
    """
    fig = Figure(figsize=(4.6 * len(panels) + 0.8, 4.8))
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    for ax, (name, points) in zip(axes, panels.items()):
        _scatter(ax, points, labels, name)
        ax.set_aspect("auto")
    if labels is not None:
        axes[-1].legend(loc="center left", bbox_to_anchor=(1, 0.5), frameon=False)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def _limits(*arrays, quantile=0.995):
    stacked = np.concatenate([np.abs(np.asarray(a)[:, :2]) for a in arrays])
    bound = float(np.quantile(stacked, quantile)) * 1.1
    return (-bound, bound)


def prior_vs_posterior(prior_samples, codes, labels=None, prior_labels=None, title=None):
    """p(z) draws (left) beside codes q(z) of data (right) on the same axes.

    Args:
        prior_samples: array `(M, dim)`. Draws from p(z).
        codes: array `(N, dim)`. Encoded data.
        labels: int array `(N,)` or None. Colours of the codes.
        prior_labels: int array `(M,)` or None. Colours of the draws (the class
            of the component each was drawn from).
        title: str or None. Figure title.
    """
    fig = Figure(figsize=(11, 5.2))
    left, right = fig.subplots(1, 2)
    limits = _limits(prior_samples, codes)
    _scatter(left, prior_samples, prior_labels, "p(z): prior samples", limits)
    _scatter(right, codes, labels, "q(z): encoded test set", limits)
    if labels is not None:
        right.legend(loc="center left", bbox_to_anchor=(1, 0.5), frameon=False)
    if title:
        fig.suptitle(title)
    return fig


def latent_grid(decode, extent=(-2.0, 2.0), n=15, title=None):
    """Images decoded on an `n` x `n` grid over the latent plane.

    Args:
        decode: callable from codes `(n*n, 2)` to images `(n*n, H, W, C)`, such
            as `model.decode`.
        extent: `(low, high)` of both axes, or a pair of 1-D arrays giving each
            axis's values (such as `scipy.stats.norm.ppf` of a linspace).
        n: int. Points per axis when `extent` is a range. Defaults to 15.
    """
    if np.ndim(extent[0]) == 0:
        xs = ys = np.linspace(extent[0], extent[1], n)
    else:
        xs, ys = (np.asarray(v, "float32") for v in extent)
    # Rows run from high z2 at the top to low at the bottom, like a plot's y axis.
    grid = np.array([[x, y] for y in ys[::-1] for x in xs], "float32")
    images = np.asarray(decode(grid))
    fig = image_grid(images, ncols=len(xs), title=title, scale=0.45)
    ax = fig.axes[0]
    h, w = images.shape[1:3]
    ax.set_xticks([(w + _pad(h)) * k + w / 2 for k in (0, len(xs) - 1)])
    ax.set_xticklabels([f"z1={xs[0]:.2g}", f"z1={xs[-1]:.2g}"])
    ax.set_yticks([(h + _pad(h)) * r + h / 2 for r in (0, len(ys) - 1)])
    ax.set_yticklabels([f"z2={ys[-1]:.2g}", f"z2={ys[0]:.2g}"])
    return fig


def grouped_bars(groups, ylabel=None, title=None):
    """Bars of several series per group, each bar labelled with its value.

    Args:
        groups: dict `{group: {series: value}}`; a value of None draws no bar.
        ylabel: str or None.
        title: str or None.
    """
    names = list(groups)
    series = list(dict.fromkeys(s for values in groups.values() for s in values))
    width = 0.8 / max(len(series), 1)
    fig = Figure(figsize=(1.2 + 1.6 * len(names) * max(len(series), 1) / 2, 4))
    ax = fig.add_subplot()
    for i, name in enumerate(series):
        xs = [g + (i - (len(series) - 1) / 2) * width for g in range(len(names))]
        values = [groups[group].get(name) for group in names]
        kept = [(x, v) for x, v in zip(xs, values) if v is not None]
        if not kept:
            continue
        bars = ax.bar([x for x, _ in kept], [v for _, v in kept], width, label=name)
        ax.bar_label(bars, fmt="%.2f", fontsize=8)
    ax.set_xticks(range(len(names)))
    ax.set_xticklabels(names)
    if ylabel:
        ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title, fontsize=10)
    ax.legend(frameon=False)
    ax.grid(True, axis="y", lw=0.3, alpha=0.5)
    return fig


def curves(series, levels=None, xlabel=None, ylabel=None, title=None, log_y=False):
    """Lines of values against steps, with dashed horizontal levels to compare.

    Args:
        series: dict `{label: (steps, values)}`, one line each.
        levels: dict `{label: value}` or None. A dashed line each (e.g. a paper's
            figure), in the colour of the series whose label it starts with;
            grey otherwise, dashed in turn "--", ":", "-." so that a legend tells
            up to three grey lines apart.
        xlabel, ylabel, title: str or None.
        log_y: bool. A logarithmic value axis. Defaults to False.

    Example:

    >>> fig = curves({"100 labels": ([600, 1200], [9.0, 6.5])}, {"100 labels, paper": 1.9})
    >>> len(fig.axes[0].lines)
    2
    """
    fig = Figure(figsize=(6.4, 4))
    ax = fig.add_subplot()
    colours = {}
    for label, (steps, values) in series.items():
        (line,) = ax.plot(steps, values, marker="o", ms=3, label=label)
        colours[label] = line.get_color()
    grey_styles = itertools.cycle(["--", ":", "-."])
    for label, value in (levels or {}).items():
        if value is None:
            continue
        colour = next((c for name, c in colours.items() if label.startswith(name)), None)
        style = "--" if colour else next(grey_styles)
        ax.axhline(value, ls=style, lw=1, color=colour or "grey", label=label)
    if log_y:
        ax.set_yscale("log")
        # Errors in percent read better as 4, 6 than as 4 x 10^0; LogFormatter
        # still thins the minor labels when the axis spans several decades.
        ax.yaxis.set_major_formatter(ticker.LogFormatter(labelOnlyBase=False))
        ax.yaxis.set_minor_formatter(ticker.LogFormatter(labelOnlyBase=False))
    if xlabel:
        ax.set_xlabel(xlabel)
    if ylabel:
        ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title, fontsize=10)
    ax.legend(frameon=False, fontsize=8)
    ax.grid(True, lw=0.3, alpha=0.5)
    return fig
