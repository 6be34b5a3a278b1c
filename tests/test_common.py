"""The shared reproduction helpers: resuming a run that was stopped."""

import json
import os
import warnings

import keras
import numpy as np
import pytest

import keras_latent as kl
from reproductions import _common
from tests.helpers import StopAfter


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
    # A curve measured every epoch, kept across the two legs.
    measures = {"code_mean": (lambda m: float(np.mean(m.encode(images))), 1)}
    with pytest.raises(KeyboardInterrupt):
        _common.fit_or_resume(
            build, images, dict(fit, callbacks=[StopAfter(1)]), folder, "aae", stamp,
            measures=measures,
        )
    assert not os.path.exists(os.path.join(folder, "aae.keras"))
    with open(os.path.join(folder, "aae-backup", "state.json")) as f:
        # The stop came before the second epoch was saved.
        assert [e["epoch"] for e in json.load(f)["checkpoints"]] == [1]

    epochs_run = []
    counter = keras.callbacks.LambdaCallback(on_epoch_begin=lambda e, logs: epochs_run.append(e))
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # every saved variable finds its place
        model = _common.fit_or_resume(
            build, images, dict(fit, callbacks=[counter]), folder, "aae", stamp,
            measures=measures,
        )
    assert epochs_run == [1, 2, 3]  # only the epochs that were missing
    assert model.discriminator_optimizer.iterations.numpy() == 4 * 4  # 4 epochs of 4 steps in all
    assert os.path.exists(os.path.join(folder, "aae.keras"))
    # The steps and training time count both legs.
    resumed = _common.TRAINED["aae"]
    assert resumed["steps"] == 16
    assert resumed["train_time_s"] >= resumed["this_leg_s"] > 0
    curve = resumed["curves"]["code_mean"]
    assert [steps for steps, _ in curve] == [4, 8, 12, 16]
    assert curve[-1][1] == pytest.approx(float(np.mean(model.encode(images))), rel=1e-5)

    _common.TRAINED.clear()
    again = _common.fit_or_resume(
        build, images, dict(fit), folder, "aae", stamp, measures=measures
    )
    np.testing.assert_array_equal(again.encode(images), model.encode(images))
    # Loading a finished model takes no training time in this leg but reports the run's.
    assert _common.TRAINED["aae"] == {**resumed, "this_leg_s": 0.0}
    times = _common.wall_times(this_leg=1.0)
    assert times["total_wall_time_s"] == pytest.approx(1.0 + resumed["train_time_s"])
    assert times["models"] == {"aae": {"steps": 16, "train_time_s": resumed["train_time_s"]}}
    # The same run never stopped: the same weights (arrays are shuffled with a seed
    # drawn from the stamp, so the resumed leg read the batches this one did).
    whole = _common.fit_or_resume(build, images, dict(fit), str(tmp_path / "whole"), "aae", stamp)
    for a, b in zip(whole.weights, model.weights):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-6, err_msg=a.path)
    # Other settings: the finished model is not reused.
    fresh = _common.fit_or_resume(build, images, dict(fit), folder, "aae", {"settings": {"epochs": 5}})
    assert fresh.discriminator_optimizer.iterations.numpy() == 4 * 4 and fresh is not again


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


@pytest.mark.parametrize(
    "argv, variable",
    [
        (["--quick", "--data-dir", "no-such-folder"], None),
        (["--quick", "--dataset", "fashion_mnist"], None),
        (["--quick"], "no-such-folder"),
    ],
)
def test_quick_falls_back_only_when_no_data_was_named(argv, variable, monkeypatch, capsys):
    from keras_latent import data

    def offline():
        raise Exception("URL fetch failure")

    monkeypatch.setattr(keras.datasets.mnist, "load_data", offline)
    monkeypatch.setattr(keras.datasets.fashion_mnist, "load_data", offline)
    if variable is None:
        monkeypatch.delenv(data.DATA_DIR_VARIABLE, raising=False)
    else:
        monkeypatch.setenv(data.DATA_DIR_VARIABLE, variable)
    args = _common.parse_args("x", "x", argv)
    with pytest.raises(data.DatasetUnavailableError):
        _common.load_data(args, {})  # named data that cannot be read is an error

    monkeypatch.delenv(data.DATA_DIR_VARIABLE, raising=False)
    args = _common.parse_args("x", "x", ["--quick"])  # nothing named: the stand-in
    settings = {}
    (x, _), _ = _common.load_data(args, settings)
    assert settings["dataset"] == "digits" and x.shape[1:] == (28, 28, 1)
    assert "NOT comparable" in capsys.readouterr().err


def test_set_overrides_a_setting_and_refuses_an_unknown_one():
    full = {"code_loss": "article", "units": [8], "epochs": 3}
    args = _common.parse_args(
        "x", "x", ["--set", "code_loss=gaussian", "--set", "units=[16, 4]", "--epochs", "2"]
    )
    settings = _common.settings_for(args, full, {})
    assert settings["code_loss"] == "gaussian" and settings["units"] == [16, 4]
    assert settings["epochs"] == 2 and full["code_loss"] == "article"
    for bad in ("lr=0.1", "code_loss"):
        with pytest.raises(ValueError, match="^--set: expected KEY=VALUE"):
            _common.settings_for(_common.parse_args("x", "x", ["--set", bad]), full, {})


def test_a_run_starts_by_removing_what_a_kill_left_half_written(tmp_path):
    # A kill inside checkpoints.write_json leaves the temporary file beside metrics.json.
    partial = tmp_path / ".partial-4242-metrics.json"
    partial.write_text('{"metrics": {')
    (tmp_path / "metrics.json").write_text("{}")
    args = _common.parse_args("toy", "A toy script.", ["--out", str(tmp_path)])
    _common.start("toy", args, {"epochs": 1})
    assert not partial.exists() and (tmp_path / "metrics.json").exists()


def test_a_run_reads_its_measures_with_a_classifier_of_its_own_dataset(tmp_path, monkeypatch):
    from keras_latent import evaluation

    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.setattr(evaluation, "_CLASSIFIERS", {})
    args = _common.parse_args("toy", "A toy script.", ["--quick", "--dataset", "digits"])
    # Small enough for a quick run to train: it does, and caches it under its name.
    classifier = _common.classifier_or_none(args, (28, 28, 1), 10)
    assert _common.CLASSIFIER == {"dataset": "digits", "file": evaluation.classifier_path("digits")}
    assert os.path.exists(evaluation.classifier_path("digits"))
    assert not os.path.exists(evaluation.classifier_path("mnist"))
    (_, _), (xt, yt) = kl.data.load_digits()
    assert evaluation.classifier_accuracy(xt, yt, classifier) > 0.8
    # Images of another shape than the cached classifier reads: no measure from it.
    assert _common.classifier_or_none(args, (32, 32, 3), 10) is None
    assert "(32, 32, 3)" in _common.CLASSIFIER["skipped"]
    with pytest.raises(ValueError, match="^dataset: name the dataset"):
        evaluation.digit_classifier(data=((xt, yt), (xt, yt)))


def test_a_recipe_changes_the_article_s_settings_and_set_changes_the_recipe(capsys):
    full = {"rate": 1.0, "noise": 0.0, "epochs": 10}
    recipes = {"tuned": {"noise": 0.3, "rate": 2.0}}
    argv = ["--recipe", "tuned", "--quick", "--set", "rate=3"]
    args = _common.parse_args("x", "x", argv, recipes=tuple(recipes))
    assert args.recipe == "tuned" and args.out.endswith(os.path.join("runs", "x-quick", "tuned"))
    settings = _common.settings_for(args, full, {"epochs": 1}, recipes)
    assert settings == {"rate": 3, "noise": 0.3, "epochs": 1, "dataset": "mnist"}
    default = _common.parse_args("x", "x", [], recipes=tuple(recipes))
    assert default.recipe == "article"
    assert default.out.endswith(os.path.join("figures", "x", "article"))
    assert _common.settings_for(default, full, {}, recipes) == {**full, "dataset": "mnist"}
    with pytest.raises(SystemExit):
        _common.parse_args("x", "x", ["--recipe", "bogus"], recipes=tuple(recipes))
    assert "invalid choice: 'bogus'" in capsys.readouterr().err


def test_a_stamp_holds_every_setting_but_the_selectors():
    settings = {"parts": ["a"], "rate": 1.0, "units": [8]}
    stamp = _common.stamp(settings, 3, ("parts",), labels=100)
    assert stamp == {"settings": {"rate": 1.0, "units": [8]}, "seed": 3, "labels": 100}
    for key, value in (("rate", 2.0), ("units", [16])):
        assert _common.stamp({**settings, key: value}, 3, ("parts",), labels=100) != stamp
    assert _common.stamp({**settings, "parts": ["b"]}, 3, ("parts",), labels=100) == stamp


def test_epochs_is_refused_where_a_script_has_no_epochs_setting():
    args = _common.parse_args("x", "x", ["--epochs", "3"])
    with pytest.raises(ValueError, match=r"^--epochs: .*\['epochs_a', 'epochs_b'\]"):
        _common.settings_for(args, {"epochs_a": 1, "epochs_b": 2}, {})
    assert _common.settings_for(args, {"epochs": 1}, {})["epochs"] == 3


def test_mixed_precision_is_in_the_stamp_float32_adds_nothing(monkeypatch):
    monkeypatch.setattr(_common, "RUN", {"precision": "float32"})
    plain = _common.stamp({"rate": 1.0}, 0)
    assert plain == {"settings": {"rate": 1.0}, "seed": 0}
    monkeypatch.setattr(_common, "RUN", {"precision": "mixed"})
    assert _common.stamp({"rate": 1.0}, 0) == {**plain, "precision": "mixed"}
