import os

import numpy as np
import pytest
from PIL import Image

import keras_latent as kl
from keras_latent.callbacks import ImageGrids


def test_image_grids_draw_fixed_inputs_and_join_a_gif(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.uniform(size=(40, 28, 28, 1)).astype("float32")
    model = kl.AdversarialAutoencoder(
        kl.build_encoder(hidden_units=(16,)), kl.build_decoder(hidden_units=(16,)),
        kl.build_code_discriminator(hidden_units=(16,)), seed=0,
    )
    model.compile()
    z = rng.normal(size=(8, 2)).astype("float32")
    folder = tmp_path / "grids"
    grids = ImageGrids(lambda m: m.decode(z), str(folder), every=4, ncols=4, gif="run.gif")
    model.fit(x, batch_size=10, epochs=3, callbacks=[grids], verbose=0)  # 12 steps
    names = sorted(os.listdir(folder))
    assert names == [f"grid_step{s:07d}.png" for s in (0, 4, 8, 12)] + ["run.gif"]
    gif = Image.open(folder / "run.gif")
    assert gif.n_frames == 4
    # Frames change as the decoder trains: the first and the last differ.
    first = np.asarray(gif.convert("L"))
    gif.seek(3)
    assert not np.array_equal(first, np.asarray(gif.convert("L")))
    # A resumed run numbers its frames on from the optimizers' step count.
    again = ImageGrids(lambda m: m.decode(z), str(folder), every=4)
    model.fit(x, batch_size=10, epochs=1, callbacks=[again], verbose=0)
    assert [os.path.basename(p) for p in again.paths] == ["grid_step0000012.png", "grid_step0000016.png"]
    with pytest.raises(ValueError, match="every: expected a positive int"):
        ImageGrids(lambda m: None, str(folder), every=0)
