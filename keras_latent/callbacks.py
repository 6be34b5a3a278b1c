"""Callbacks that draw a model's output as it trains.

`ImageGrids` decodes the same inputs every N steps (fixed noise for a GAN, one
label's latent grid for a VAE) into PNG grids in the run's folder, and can join
the frames into an animated GIF with matplotlib's Pillow writer (no ffmpeg).
"""

import os

import keras
import numpy as np
from matplotlib.animation import ArtistAnimation, PillowWriter
from matplotlib.figure import Figure

from keras_latent import plotting


class ImageGrids(keras.callbacks.Callback):
    """Saves `draw(model)` as an image grid every `every` training steps.

    Frames are named `<prefix>_step<step>.png` inside `folder`, with the step
    counted as the first optimizer's iteration count of a keras-latent model, so
    a resumed run numbers its frames on from where it stopped. A frame is drawn
    before the first step and after the last one too. With `gif`, the frames of
    this run are joined at the end into `<folder>/<gif>`.

    Args:
        draw: callable. `draw(model)` returns images `(N, H, W, C)` in [0, 1];
            keep its inputs fixed (fixed noise, fixed codes) so frames compare.
        folder: str. Output folder (created), the run's own, e.g. `<out>/grids`.
        every: int. Steps between frames. Defaults to 500.
        ncols: int. Images per row. Defaults to 4.
        prefix: str. File name prefix. Defaults to `"grid"`.
        gif: str or None. File name of an animated GIF of the frames. Defaults
            to None (no GIF).
        fps: int. Frames per second of the GIF. Defaults to 4.

    Example:

    >>> import numpy as np, tempfile, keras_latent as kl
    >>> (x, _), _ = kl.data.load_dataset("digits")
    >>> aae = kl.AdversarialAutoencoder(
    ...     kl.build_encoder(x.shape[1:], hidden_units=(32,)),
    ...     kl.build_decoder(x.shape[1:], hidden_units=(32,)),
    ...     kl.build_code_discriminator(hidden_units=(32,)), seed=0)
    >>> aae.compile()
    >>> z = np.random.default_rng(0).normal(size=(16, 2))
    >>> folder = tempfile.mkdtemp()
    >>> grids = ImageGrids(lambda model: model.decode(z), folder, every=10, gif="training.gif")
    >>> history = aae.fit(x[:400], batch_size=100, epochs=5, callbacks=[grids], verbose=0)
    >>> [os.path.basename(p) for p in grids.paths]   # 20 steps: 3 frames and the GIF
    ['grid_step0000000.png', 'grid_step0000010.png', 'grid_step0000020.png', 'training.gif']
    """

    def __init__(self, draw, folder, every=500, ncols=4, prefix="grid", gif=None, fps=4):
        super().__init__()
        if not callable(draw):
            raise ValueError(f"draw: expected a callable draw(model); got {draw!r}.")
        if not isinstance(every, int) or every < 1:
            raise ValueError(f"every: expected a positive int of steps; got {every!r}.")
        self.draw = draw
        self.folder = folder
        self.every = every
        self.ncols = ncols
        self.prefix = prefix
        self.gif = gif
        self.fps = fps
        self.paths = []
        self._frames = []
        self._step = 0
        self._last = None

    def _first_step(self):
        # Read once per fit, not per batch: a keras-latent model's first
        # optimizer has counted the steps of earlier (resumed) runs.
        roles = getattr(self.model, "optimizer_roles", None)
        if roles is not None and self.model.compiled:
            return int(getattr(self.model, next(iter(roles()))).iterations.numpy())
        return 0

    def _save_frame(self):
        step = self._step
        if step == self._last:
            return
        self._last = step
        images = np.asarray(self.draw(self.model), "float32")
        fig = plotting.image_grid(images, ncols=self.ncols, title=f"step {step}")
        path = os.path.join(self.folder, f"{self.prefix}_step{step:07d}.png")
        self.paths.append(plotting.save(fig, path))
        h = images.shape[1]
        self._frames.append((step, plotting.tile(images, self.ncols, pad=max(1, h // 14))))

    def on_train_begin(self, logs=None):
        os.makedirs(self.folder, exist_ok=True)
        self._step = self._first_step()
        self._save_frame()

    def on_train_batch_end(self, batch, logs=None):
        self._step += 1
        if self._step % self.every == 0:
            self._save_frame()

    def on_train_end(self, logs=None):
        self._save_frame()
        if self.gif and self._frames:
            self.paths.append(self.write_gif(os.path.join(self.folder, self.gif)))

    def write_gif(self, path):
        """Joins this run's frames into an animated GIF at `path`; returns the path."""
        first = self._frames[0][1]
        fig = Figure(figsize=(4.0 * first.shape[1] / first.shape[0], 4.3))
        ax = fig.add_subplot()
        ax.set_xticks([])
        ax.set_yticks([])
        artists = []
        for step, frame in self._frames:
            if frame.shape[-1] == 1:
                image = ax.imshow(frame[..., 0], cmap="gray_r", vmin=0, vmax=1,
                                  interpolation="nearest", animated=True)
            else:
                image = ax.imshow(np.clip(frame, 0, 1), interpolation="nearest", animated=True)
            label = ax.text(0.5, 1.02, f"step {step}", transform=ax.transAxes,
                            ha="center", va="bottom")
            artists.append([image, label])
        animation = ArtistAnimation(fig, artists, interval=1000 // self.fps)
        animation.save(path, writer=PillowWriter(fps=self.fps))
        return path
