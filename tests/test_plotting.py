import os

import numpy as np
from matplotlib.figure import Figure

from keras_latent import plotting


def test_figures_are_drawn_and_saved(tmp_path):
    rng = np.random.default_rng(0)
    codes = rng.normal(size=(200, 2))
    labels = rng.integers(0, 10, 200)
    figures = {
        "grid": plotting.image_grid(rng.uniform(size=(12, 8, 6, 3)), ncols=5, title="t"),
        "scatter": plotting.latent_scatter(codes, labels),
        "pq": plotting.prior_vs_posterior(codes, codes + 1, labels, prior_labels=labels),
        "plane": plotting.latent_grid(lambda z: np.zeros((len(z), 28, 28, 1)), n=5),
    }
    for name, fig in figures.items():
        assert isinstance(fig, Figure)
        path = plotting.save(fig, os.path.join(tmp_path, "sub", f"{name}.png"))
        with open(path, "rb") as f:
            assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    assert len(figures["pq"].axes) == 2


def test_tile_places_images_in_rows():
    images = np.stack([np.full((2, 2, 1), v, "float32") for v in range(5)])
    out = plotting.tile(images, ncols=3, pad=1, fill=-1)
    assert out.shape == (5, 8, 1)
    assert out[0, 0, 0] == 0 and out[0, 3, 0] == 1 and out[3, 0, 0] == 3
    assert out[3, 6, 0] == -1  # the empty sixth cell keeps the fill


def test_levels_take_their_series_colour_or_a_grey_of_their_own():
    fig = plotting.curves(
        {"16 clusters, run 1": ([1, 2], [9.0, 8.0]), "100 labels": ([1, 2], [5.0, 4.0])},
        {"16 clusters, paper": 9.55, "30 clusters, paper": 4.10, "100 labels, paper": 1.9},
    )
    lines = {line.get_label(): line for line in fig.axes[0].lines}
    assert lines["100 labels, paper"].get_color() == lines["100 labels"].get_color()
    assert lines["100 labels, paper"].get_linestyle() == "--"
    greys = [lines[f"{k} clusters, paper"] for k in (16, 30)]
    assert [line.get_color() for line in greys] == ["grey", "grey"]
    # Two grey levels a legend can tell apart.
    assert greys[0].get_linestyle() != greys[1].get_linestyle()
