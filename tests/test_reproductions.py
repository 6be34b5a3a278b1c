"""The reproduction scripts' --quick runs, end to end (under a minute each)."""

import json
import os

import pytest

pytestmark = pytest.mark.reproduction


def read_metrics(folder):
    with open(os.path.join(folder, "metrics.json")) as f:
        return json.load(f)


def printed_settings(out):
    """The settings a --quick run of the 'article' recipe printed at its start."""
    banner = "QUICK smoke run of the 'article' recipe, seed 0\n"
    return json.loads(out[out.index(banner) + len(banner):out.index("\nwriting to")])


def training_images(record):
    """How many training images the run's dataset holds (it records which it read)."""
    from keras_latent import data

    (x, _), _ = data.load_dataset(record["settings"]["dataset"])
    return len(x)


@pytest.mark.mnist
def test_aae_priors_quick(tmp_path):
    from reproductions import aae_priors

    # One prior of four for each part, for the suite's time: each prior's model is
    # tested on its own in tests/models/ (the tuned recipe's test runs the mixture).
    chosen = {"priors": ["swiss_roll"], "supervised_priors": ["mixture"]}
    paths = aae_priors.main([
        "--quick", "--out", str(tmp_path), "--keep-checkpoints",
        *(f"--set={key}={json.dumps(value)}" for key, value in chosen.items()),
    ])
    assert os.listdir(tmp_path / "checkpoints")
    names = {os.path.basename(p) for p in paths}
    settings = {**aae_priors.SETTINGS, **chosen}
    for prior in settings["priors"]:
        assert f"prior_{prior}.png" in names and f"latent_grid_{prior}.png" in names
    for kind in ("supervised", "semi_supervised"):
        for prior in settings[f"{kind}_priors"]:
            assert {f"{kind}_prior_{prior}.png", f"{kind}_samples_{prior}.png"} <= names
    for path in paths:
        assert os.path.getsize(path) > 1000
    record = read_metrics(tmp_path)
    assert record["quick"] is True and record["seed"] == 0
    assert set(record["metrics"]["unsupervised"]) == set(settings["priors"])
    for values in record["metrics"]["unsupervised"].values():
        assert values["energy_distance"] >= 0 and 0 < values["test_mse"] < 0.25
    for kind in ("supervised", "semi_supervised"):
        for values in record["metrics"][kind].values():
            assert 0 <= values["share_in_own_component"] <= 1
    # Every model's steps, and the run's time counting them (one leg here).
    quick = {**settings, **aae_priors.QUICK}
    models = record["models"]
    assert len(models) == len(quick["priors"]) + len(quick["supervised_priors"]) + 1
    # The steps of the data actually read: MNIST, or the digits fallback offline.
    images = min(training_images(record), quick["train_size"])
    assert models["aae_swiss_roll"]["steps"] == quick["epochs"] * -(-images // quick["batch_size"])
    assert models["semi_supervised_aae_mixture"]["steps"] == (  # whole batches only
        quick["semi_supervised_epochs"] * (images // quick["batch_size"])
    )
    assert record["total_wall_time_s"] == pytest.approx(record["wall_time_s"], abs=0.5)
    assert {"python", "keras", "tensorflow", "keras_latent"} <= set(record["versions"])
    assert record["settings"]["epochs"] == aae_priors.QUICK["epochs"]
    assert record["tolerances"] == aae_priors.TOLERANCES
    # Reusing finished models: tests/test_common.py (kept out of here for time).


def test_aae_priors_tuned_quick(tmp_path):
    from reproductions import aae_priors

    # The one model the recipe changes most: the mixture's, with its R1 penalty.
    chosen = {"priors": ["mixture"], "supervised_priors": [], "semi_supervised_priors": []}
    aae_priors.main([
        "--quick", "--recipe", "tuned", "--out", str(tmp_path),
        *(f"--set={key}={json.dumps(value)}" for key, value in chosen.items()),
    ])
    record = read_metrics(tmp_path)
    assert record["recipe"] == "tuned"
    assert record["settings"]["gradient_penalty"] == {"swiss_roll": 1.0, "mixture": 1.0}
    assert list(record["models"]) == ["aae_mixture"]
    assert record["metrics"]["unsupervised"]["mixture"]["energy_distance"] >= 0


@pytest.mark.mnist
def test_aae_guide_quick(tmp_path):
    from reproductions import aae_guide

    # One label count, for the suite's time (the other runs the same code).
    paths = aae_guide.main(["--quick", "--out", str(tmp_path), "--set=label_counts=[1000]"])
    assert not os.path.exists(tmp_path / "checkpoints")  # a smoke run leaves no models
    names = {os.path.basename(p) for p in paths}
    assert {
        "unsupervised_latent.png", "unsupervised_manifold.png", "supervised_styles.png",
        "semi_supervised_error.png", "semi_supervised_curve.png", "metrics.json",
    } <= names
    record = read_metrics(tmp_path)
    assert record["recipe"] == "article"
    assert record["settings"]["schedule_supervised"] == "joint"  # article 000's update
    metrics = record["metrics"]
    assert set(metrics) == {"unsupervised", "supervised", "semi_supervised"}
    assert list(metrics["semi_supervised"]) == ["1000"]
    row = metrics["semi_supervised"]["1000"]
    assert 0 <= row["aae_test_error"] <= 100 and 0 <= row["baseline_test_error"] <= 100
    assert row["paper_test_error"] == 1.60
    # One point an epoch; the last is the finished model's error.
    (steps, error), = row["test_error_curve"]
    assert steps == row["steps"] and error == pytest.approx(row["aae_test_error"])


# The other recipes on the digits alone: they differ in settings, not in data.
@pytest.mark.parametrize(
    "recipe",
    [pytest.param("clustering", marks=pytest.mark.mnist), "clustering_balanced",
     "clustering_invariant", "clustering_strong", "clustering_vat"],
)
def test_aae_guide_clustering_quick(recipe, tmp_path):
    from reproductions import aae_guide

    paths = aae_guide.main(["--quick", "--recipe", recipe, "--out", str(tmp_path)])
    names = {os.path.basename(p) for p in paths}
    assert names == {"clustering_16.png", "clustering_curve.png", "metrics.json"}
    record = read_metrics(tmp_path)
    assert record["recipe"] == recipe and set(record["metrics"]) == {"clustering"}
    for key, value in {**aae_guide.RECIPES[recipe], **aae_guide.QUICK}.items():
        assert record["settings"][key] == value  # --quick's lengths over the recipe's
    clusters = record["metrics"]["clustering"]["16"]
    (run,) = clusters["runs"]  # --quick: one run of 16 clusters
    assert clusters["test_error_mean"] == run["test_error"] and clusters["test_error_std"] == 0
    # Every test image in one of the 16: MNIST's quick test set, or the digits'.
    assert len(run["cluster_sizes"]) == 16 and sum(run["cluster_sizes"]) in (2000, 359)
    assert clusters["paper_test_error"] == 9.55
    (steps, error), = run["test_error_curve"]
    assert steps == run["steps"] and error == pytest.approx(run["test_error"])


@pytest.mark.mnist
def test_aae_guide_tuned_quick(tmp_path):
    from reproductions import aae_guide

    # The parts the recipe changes, one label count, for the suite's time.
    aae_guide.main([
        "--quick", "--recipe", "tuned", "--out", str(tmp_path),
        '--set=parts=["supervised", "semi_supervised"]', "--set=label_counts=[100]",
    ])
    record = read_metrics(tmp_path)
    assert record["recipe"] == "tuned"
    expected = {**aae_guide.SETTINGS, **aae_guide.RECIPES["tuned"], **aae_guide.QUICK}
    for key in aae_guide.RECIPES["tuned"]:
        assert record["settings"][key] == expected[key]
    assert set(record["metrics"]) == {"supervised", "semi_supervised"}
    assert 0 <= record["metrics"]["supervised"]["z_probe_accuracy"]["linear"] <= 1
    assert 0 <= record["metrics"]["semi_supervised"]["100"]["aae_test_error"] <= 100


@pytest.mark.parametrize("parts", ['["semi_supervised", "bogus"]', "[]", "semi_supervised"])
def test_aae_guide_refuses_unknown_parts(tmp_path, parts):
    from reproductions import aae_guide

    with pytest.raises(ValueError, match=r"^parts: expected a non-empty list of \['unsup"):
        aae_guide.main(["--quick", "--out", str(tmp_path), f"--set=parts={parts}"])
    assert not os.path.exists(tmp_path / "metrics.json")


@pytest.mark.mnist
def test_disentangled_ae_quick(tmp_path, capsys):
    from reproductions import disentangled_ae

    paths = disentangled_ae.main(["--quick", "--out", str(tmp_path)])
    # The settings printed at the start are those metrics.json records.
    printed = printed_settings(capsys.readouterr().out)
    assert printed == read_metrics(tmp_path)["settings"]
    assert not os.path.exists(tmp_path / "checkpoints")
    names = {os.path.basename(p) for p in paths}
    assert names == {"swaps.png", "swap_grid.png", "tsne.png", "metrics.json"}
    for path in paths:
        assert os.path.getsize(path) > 1000
    record = read_metrics(tmp_path)
    metrics = record["metrics"]
    assert record["settings"]["epochs"] == disentangled_ae.QUICK["epochs"]
    images = min(training_images(record), disentangled_ae.QUICK["train_size"])
    assert metrics["steps"] == images // 128
    # One epoch on 3000 digits already puts the label in s.
    assert metrics["clf_s_accuracy"] > 0.5
    assert metrics["probe_accuracy"]["s"]["linear"] > 0.5
    for code in ("s", "z"):
        assert set(metrics["probe_accuracy"][code]) == {"knn", "linear", "mlp"}
    swap = metrics["swap_accuracy"]
    assert swap is None or 0 <= swap <= 1
    assert 0 < metrics["test_bce"] < 0.7
    assert 0 < metrics["test_bce_other_z"] < 0.7


def test_disentangled_ae_builds_each_adversary_and_refuses_an_unknown_optimizer():
    from reproductions import disentangled_ae

    settings = {**disentangled_ae.SETTINGS, "hidden_units": [16], "z_dim": 4, "s_dim": 4}
    article = disentangled_ae.build(settings, (28, 28, 1), 10, seed=0)
    assert len(article.z_classifier.layers) == 2  # the code and one softmax layer
    assert type(article.z_classifier_optimizer).__name__ == "SGD"
    prior = disentangled_ae.build(
        {**settings, "z_prior": "gaussian", "clf_z_hidden_units": [8],
         "clf_z_optimizer": "adam"}, (28, 28, 1), 10, seed=0,
    )
    assert [tuple(t.shape) for t in prior.z_classifier.inputs] == [(None, 4), (None, 10)]
    assert type(prior.z_classifier_optimizer).__name__ == "Adam"
    with pytest.raises(ValueError, match="clf_z_optimizer: expected one of"):
        disentangled_ae.build({**settings, "clf_z_optimizer": "rmsprop"}, (28, 28, 1), 10, 0)


def test_infogan_correlations_and_a_measure_that_never_moves():
    import numpy as np

    from reproductions import infogan

    values = np.tile(np.linspace(-1, 1, 5), 3)
    moved = infogan.correlations(values, 2 * values + np.repeat([0.0, 1.0, 5.0], 5), 5, 1.0)
    assert moved["within_rows"] == pytest.approx(1.0) and moved["effect"] == pytest.approx(4.0)
    flat = infogan.correlations(values, np.zeros(15), 5, 1.0)
    assert flat == {"within_rows": None, "pooled": None, "effect": 0.0}


@pytest.mark.mnist
def test_infogan_quick(tmp_path):
    from reproductions import infogan

    recipe = "article"
    paths = infogan.main(["--quick", "--out", str(tmp_path)])
    assert not os.path.exists(tmp_path / "checkpoints")
    names = {os.path.basename(p) for p in paths}
    assert {"label_sweep.png", "code_1_sweep.png", "code_2_sweep.png", "metrics.json",
            "training.gif"} <= names
    frames = sorted(n for n in names if n.startswith("grid_step"))
    assert frames[0] == "grid_step0000000.png" and len(frames) == 3  # 0, 10, 20 steps
    for path in paths:
        assert os.path.getsize(path) > 500
    record = read_metrics(tmp_path)
    assert record["recipe"] == recipe
    assert record["settings"] == {
        **infogan.SETTINGS, **infogan.RECIPES.get(recipe, {}), **infogan.QUICK,
        "dataset": record["settings"]["dataset"],
    }
    metrics = record["metrics"]
    assert metrics["steps"] == 20 and metrics["batch_size"] == 64
    for code in ("code_1", "code_2"):
        for factor in ("slant", "stroke_width"):
            for kind in ("within_rows", "pooled"):
                r = metrics["codes"][code][factor][kind]  # None: the measure never moved
                assert r is None or -1 <= r <= 1
    assert 0 <= metrics["q_test_accuracy"] <= 1
    accuracy = metrics["label_accuracy"]
    assert accuracy is None or 0 <= accuracy <= 1


# A few steps of the other recipes: what they change is the code loss and prior,
# whose maths tests/models/test_info_gan.py checks.
TINY_INFOGAN = {"steps_per_epoch": 5, "epochs": 1, "grid_every": 5, "sweep_rows": 10,
                "evaluation_size": 100}


@pytest.mark.parametrize("recipe", ["gaussian_loss", "paper"])
def test_infogan_recipes_quick(tmp_path, recipe):
    from reproductions import infogan

    infogan.main([
        "--quick", "--recipe", recipe, "--out", str(tmp_path),
        *(f"--set={key}={value}" for key, value in TINY_INFOGAN.items()),
    ])
    record = read_metrics(tmp_path)
    assert record["recipe"] == recipe
    assert record["settings"] == {
        **infogan.SETTINGS, **infogan.RECIPES[recipe], **infogan.QUICK, **TINY_INFOGAN,
        "dataset": record["settings"]["dataset"],
    }
    assert record["metrics"]["steps"] == 5
    for code in ("code_1", "code_2"):
        assert set(record["metrics"]["codes"][code]) >= {"slant", "stroke_width"}


class Killed(Exception):
    """Stands for the process being killed."""


# Not marked `mnist`: its legs test checkpoints and loading, whatever the images,
# and the quick runs that are marked read MNIST through the same loader.
def test_vae_gan_quick_killed_resumed_and_reloaded(tmp_path, monkeypatch, capsys):
    from PIL import Image

    from keras_latent import checkpoints
    from reproductions import vae_gan

    argv = ["--quick", "--out", str(tmp_path)]
    save_model = checkpoints.save_model

    def killed_before_the_finished_save(model, path):
        if os.path.basename(path) == "vae_gan_2.keras":
            raise Killed
        save_model(model, path)

    # Killed after the VAE+GAN's last epoch is backed up, before its finished model is saved.
    with monkeypatch.context() as patch:
        patch.setattr(checkpoints, "save_model", killed_before_the_finished_save)
        with pytest.raises(Killed):
            vae_gan.main(argv)
    capsys.readouterr()
    settings = {**vae_gan.SETTINGS, **vae_gan.QUICK}
    steps = settings["epochs"] * settings["steps_per_epoch"]
    frames = len(range(0, steps + 1, settings["grid_every"]))  # at 0, 5 and 10 steps
    gif = str(tmp_path / "grids" / f"manifold_{settings['gif_label']}.gif")
    legs = []
    for leg, options in (
        ("resuming after epoch 1", ["--keep-checkpoints"]),
        ("vae_gan_2: loading the finished model", []),
    ):
        paths = vae_gan.main(argv + options)
        assert leg in capsys.readouterr().out  # the leg this test means to run
        names = {os.path.basename(p) for p in paths}
        assert {"reconstructions.png", "manifold_cvae.png", "manifold_vae_gan.png",
                "style_transfer.png", "codes.png", "manifold_7.gif", "metrics.json"} <= names
        for path in paths:
            assert os.path.getsize(path) > 500
        # Every leg's frames, not only those of the leg that wrote the GIF.
        assert Image.open(gif).n_frames == frames
        legs.append(read_metrics(tmp_path)["metrics"])
    assert not os.path.exists(tmp_path / "checkpoints")  # --quick drops them at the end
    resumed, loaded = legs
    assert resumed["steps"] == 10
    for tag in ("cvae_2", "vae_gan_2"):
        assert 0 < resumed[tag]["reconstruction_bce"] < 1
        assert set(loaded[tag]) == set(resumed[tag])
    # The article's balancing rule ran: at least one update of each player a step.
    for key in ("mean_d_steps_taken", "mean_g_steps_taken"):
        assert 1 <= resumed["vae_gan_2"][key] <= 3
        assert loaded["vae_gan_2"][key] == resumed["vae_gan_2"][key]


@pytest.mark.mnist
def test_cvae_gan_quick(tmp_path, capsys):
    import numpy as np

    from reproductions import cvae_gan

    paths = cvae_gan.main(["--quick", "--out", str(tmp_path)])
    printed = printed_settings(capsys.readouterr().out)
    record = read_metrics(tmp_path)
    assert printed == record["settings"]
    assert not os.path.exists(tmp_path / "checkpoints")
    names = {os.path.basename(p) for p in paths}
    kinds = cvae_gan.SETTINGS["models"]
    assert {f"samples_{kind}.png" for kind in kinds} | {
        "reconstructions.png", "transfer.png", "walk.png", "samples.gif", "metrics.json"
    } <= names
    frames = sorted(n for n in names if n.startswith("samples_cvae_gan_step"))
    assert len(frames) == 3  # 0, 5 and 10 steps
    for path in paths:
        assert os.path.getsize(path) > 500
    metrics = record["metrics"]
    assert metrics["steps"] == 10 and record["recipe"] == "article"
    for kind in kinds:
        row = metrics[kind]
        assert 0 <= row["pixel_mse"] < 1
        if record["classifier"] and record["classifier"].get("file"):  # else no measures
            assert np.isfinite(row["classifier_score"])
            for key in ("generated_label_accuracy", "transfer_accuracy", "reconstruction_accuracy"):
                assert 0 <= row[key] <= 1
            assert row["frechet_distance"] >= 0


def test_cvae_gan_refuses_unknown_models(tmp_path):
    from reproductions import cvae_gan

    for models in ('["vae"]', '["cvae", "cvae"]', "[]"):
        with pytest.raises(ValueError, match=r"^models: expected some of \['cvae_gan'"):
            cvae_gan.main(["--quick", "--out", str(tmp_path), f"--set=models={models}"])
    assert not os.path.exists(tmp_path / "metrics.json")


@pytest.mark.mnist
def test_cvae_gan_strong_matching_quick(tmp_path):
    from reproductions import cvae_gan

    # What the recipe changes is two loss weights (tests/models/test_cvae_gan.py): one model.
    cvae_gan.main(["--quick", "--out", str(tmp_path), "--recipe", "strong_matching",
                   '--set=models=["cvae_gan"]'])
    record = read_metrics(tmp_path)
    assert record["recipe"] == "strong_matching"
    assert record["settings"]["mean_weight"] == record["settings"]["class_mean_weight"] == 0.1
    assert set(record["metrics"]) >= {"cvae_gan", "steps"} and "cvae" not in record["metrics"]


def test_no_measure_comes_from_a_classifier_of_another_dataset(tmp_path, monkeypatch):
    import numpy as np

    from keras_latent import data, evaluation
    from reproductions import _common, disentangled_ae

    # An MNIST classifier in the cache, and a run on other 28x28 ten-class images.
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    monkeypatch.setattr(evaluation, "_CLASSIFIERS", {})
    os.makedirs(os.path.dirname(evaluation.classifier_path("mnist")))
    evaluation.build_digit_classifier().save(evaluation.classifier_path("mnist"))
    (x, y), (xt, yt) = data.load_digits()
    other = str(tmp_path / "other.npz")
    np.savez(other, x_train=x, y_train=y, x_test=xt, y_test=yt)
    # As for a large dataset: a quick run trains no classifier of its own.
    monkeypatch.setattr(_common, "QUICK_CLASSIFIER_IMAGES", 0)
    disentangled_ae.main([
        "--quick", "--out", str(tmp_path / "run"), "--dataset", other,
        "--set", "hidden_units=[32]", "--set", "tsne_size=100",
    ])
    record = read_metrics(tmp_path / "run")
    assert record["metrics"]["swap_accuracy"] is None
    assert record["metrics"]["reconstruction_accuracy"] is None
    assert record["classifier"]["dataset"].startswith("npz-")
    assert "--quick trains no classifier" in record["classifier"]["skipped"]
    assert not os.path.exists(record["classifier"]["file"])


class Stamped(Exception):
    """Raised by a stand-in `fit_or_resume` once it has the stamp it was given."""


@pytest.mark.parametrize(
    "script, argv",
    [
        ("aae_guide", ['--set=parts=["unsupervised"]']),
        ("aae_guide", ['--set=parts=["supervised"]']),
        ("aae_guide", ['--set=parts=["semi_supervised"]', "--recipe", "tuned"]),
        ("aae_priors", []),
        ("disentangled_ae", []),
        ("infogan", ["--recipe", "paper"]),
        ("vae_gan", []),
        ("cvae_gan", ['--set=models=["no_classifier"]']),
    ],
)
def test_every_setting_is_in_the_stamp_of_the_model_it_may_build(
    tmp_path, monkeypatch, script, argv
):
    """A finished model is reused only under an equal stamp (tests/test_common.py), so
    a setting in the stamp cannot be changed without training the model afresh."""
    import importlib

    from reproductions import _common

    module = importlib.import_module(f"reproductions.{script}")
    seen = {}

    def record_stamp(build, x, fit_kwargs, checkpoint_dir, tag, stamp, **kwargs):
        seen.update(tag=tag, stamp=stamp)
        raise Stamped

    monkeypatch.setattr(_common, "fit_or_resume", record_stamp)
    monkeypatch.setattr(_common, "settings_for", _recording(_common.settings_for, seen))
    with pytest.raises(Stamped):
        module.main(["--quick", "--out", str(tmp_path), *argv])
    selectors = getattr(module, "SELECTORS", ())
    settings = seen["settings"]
    assert seen["stamp"]["settings"] == {
        key: value for key, value in settings.items() if key not in selectors
    }


def _recording(settings_for, seen):
    def recorded(*args, **kwargs):
        seen["settings"] = settings = settings_for(*args, **kwargs)
        return settings

    return recorded


# Settings a committed reference may hold at another value than its recipe: its
# length, sized to this CPU (the script's default is the article's).
LENGTHS = ("epochs",)


def test_every_reference_is_a_run_of_the_recipe_its_folder_names():
    import glob
    import importlib
    import re

    from reproductions import _common

    root = _common.REPO_ROOT
    found = glob.glob(os.path.join(root, "figures", "*", "*", "metrics.json"))
    assert found
    for path in found:
        script, recipe = path.split(os.sep)[-3:-1]
        record = read_metrics(os.path.dirname(path))
        assert (record["reproduction"], record["recipe"]) == (script, recipe), path
        assert not record["quick"], path
        module = importlib.import_module(f"reproductions.{script}")
        assert recipe == "article" or recipe in module.RECIPES, path
        expected = {**module.SETTINGS, **getattr(module, "RECIPES", {}).get(recipe, {})}
        # Selectors choose which models a reference trained, not how.
        free = LENGTHS + ("dataset",) + getattr(module, "SELECTORS", ())
        for key, value in record["settings"].items():  # older records lack newer keys
            if key not in free:
                assert value == expected[key], (path, key, value, expected[key])
    # Every recipe the README quotes has its reference.
    with open(os.path.join(root, "README.md")) as f:
        quoted = re.findall(r"^\| `(\w+)\.py` \| `(\w+)` \|", f.read(), flags=re.M)
    assert len(quoted) >= 5
    for script, recipe in quoted:
        assert os.path.exists(os.path.join(root, "figures", script, recipe, "metrics.json"))
