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
    # A resumed run (initial_epoch, as a backup sets it) numbers its frames on.
    again = ImageGrids(lambda m: m.decode(z), str(folder), every=4)
    model.fit(x, batch_size=10, epochs=4, initial_epoch=3, callbacks=[again], verbose=0)
    assert [os.path.basename(p) for p in again.paths] == ["grid_step0000012.png", "grid_step0000016.png"]
    with pytest.raises(ValueError, match="every: expected a whole number >= 1"):
        ImageGrids(lambda m: None, str(folder), every=0)


def test_image_grids_before_a_backup_number_a_resumed_runs_frames_on(tmp_path):
    from keras_latent.callbacks import BackupAndRestore, join_frames
    from tests.helpers import StopAfter

    x = np.random.default_rng(0).uniform(size=(40, 28, 28, 1)).astype("float32")
    z = np.zeros((4, 2), "float32")
    folder = str(tmp_path / "grids")

    def leg(stop=None):
        model = kl.AdversarialAutoencoder(
            kl.build_encoder(hidden_units=(16,)), kl.build_decoder(hidden_units=(16,)),
            kl.build_code_discriminator(hidden_units=(16,)), seed=0,
        )
        model.compile()
        grids = ImageGrids(lambda m: m.decode(z), folder, every=4, ncols=4)
        # As a script passes its callbacks: the grids (and a stop) before the backup.
        given = [grids] + ([StopAfter(stop)] if stop is not None else [])
        given.append(BackupAndRestore(str(tmp_path / "backup"), delete_on_end=False))
        try:
            model.fit(x, batch_size=10, epochs=3, callbacks=given, verbose=0)
        except KeyboardInterrupt:
            pass
        return [os.path.basename(p) for p in grids.paths]

    assert leg(stop=1) == [f"grid_step{s:07d}.png" for s in (0, 4, 8)]  # killed after 8 steps
    # Resumed after epoch 1 (4 steps backed up): epochs 2 and 3 are steps 5 to 12.
    assert leg() == [f"grid_step{s:07d}.png" for s in (4, 8, 12)]
    gif = join_frames(folder, "grid", 4, 12, str(tmp_path / "all.gif"))
    assert Image.open(gif).n_frames == 4  # steps 0, 4, 8 and 12, from both legs
    with open(os.path.join(folder, "grid_step0000012.png"), "r+b") as f:
        f.truncate(100)  # as a kill while the frame was drawn leaves it
    assert Image.open(join_frames(folder, "grid", 4, 12, str(tmp_path / "cut.gif"))).n_frames == 3
