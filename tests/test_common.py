"""The shared reproduction helpers: resuming a run that was stopped."""

import json
import os
import warnings

import keras
import numpy as np
import pytest

import keras_latent as kl
from reproductions import _common


class StopAfter(keras.callbacks.Callback):
    """Stops a run abruptly at the end of an epoch, as a killed process would."""

    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.epoch:
            raise KeyboardInterrupt


def build():
    keras.utils.set_random_seed(0)
    model = kl.AdversarialAutoencoder(
        kl.build_encoder(hidden_units=(16,)), kl.build_decoder(hidden_units=(16,)),
        kl.build_code_discriminator(hidden_units=(16,)), seed=0,
    )
    model.compile()
    return model


def test_a_stopped_run_resumes_with_its_optimizer_state(images, tmp_path):
    folder = str(tmp_path)
    fit = dict(batch_size=8, epochs=4, verbose=0)
    stamp = {"settings": {"epochs": 4}}
    with pytest.raises(KeyboardInterrupt):
        _common.fit_or_resume(
            build, images, dict(fit, callbacks=[StopAfter(1)]), folder, "aae", stamp
        )
    assert not os.path.exists(os.path.join(folder, "aae.keras"))
    with open(os.path.join(folder, "aae-backup", "training_metadata.json")) as f:
        assert json.load(f)["epoch"] == 1  # the stop came before epoch 1 was saved

    epochs_run = []
    counter = keras.callbacks.LambdaCallback(on_epoch_begin=lambda e, logs: epochs_run.append(e))
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # every saved variable finds its place
        model = _common.fit_or_resume(
            build, images, dict(fit, callbacks=[counter]), folder, "aae", stamp
        )
    assert epochs_run == [1, 2, 3]  # only the epochs that were missing
    assert model.d_optimizer.iterations.numpy() == 4 * 4  # 4 epochs of 4 steps in all
    assert os.path.exists(os.path.join(folder, "aae.keras"))

    again = _common.fit_or_resume(build, images, dict(fit), folder, "aae", stamp)
    np.testing.assert_array_equal(again.encode(images), model.encode(images))
    # Other settings: the finished model is not reused.
    fresh = _common.fit_or_resume(build, images, dict(fit), folder, "aae", {"settings": {"epochs": 5}})
    assert fresh.d_optimizer.iterations.numpy() == 4 * 4 and fresh is not again


def test_distribute_and_precision_options_set_strategy_and_policy(images):
    import tensorflow as tf

    args = _common.parse_args("x", "x", ["--distribute", "mirrored", "--precision", "mixed"])
    try:
        strategy = _common.configure(args)
        assert tf.distribute.get_strategy() is strategy
        assert isinstance(strategy, tf.distribute.MirroredStrategy)
        gpu = bool(tf.config.list_physical_devices("GPU"))
        expected = "mixed_float16" if gpu else "mixed_bfloat16"
        assert keras.mixed_precision.global_policy().name == expected
        # What a script then builds lives under the strategy and trains there.
        model = kl.AdversarialAutoencoder(
            kl.build_encoder(hidden_units=(16,)), kl.build_decoder(hidden_units=(16,)),
            kl.build_code_discriminator(hidden_units=(16,)), seed=0,
        )
        model.compile()
        assert model.distribute_strategy is strategy
        history = model.fit(images, batch_size=8, epochs=1, verbose=0).history
        assert np.isfinite(history["recon_loss"]).all()
    finally:
        tf.distribute.experimental_set_strategy(None)
        keras.mixed_precision.set_global_policy("float32")
    with pytest.raises(SystemExit):
        _common.parse_args("x", "x", ["--distribute", "horovod"])
