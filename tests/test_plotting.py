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
