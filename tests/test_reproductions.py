"""The reproduction scripts' --quick runs, end to end (under a minute each)."""

import json
import os

import pytest

pytestmark = pytest.mark.reproduction


def read_metrics(folder):
    with open(os.path.join(folder, "metrics.json")) as f:
        return json.load(f)


def test_aae_priors_quick(tmp_path):
    from reproductions import aae_priors

    # Two priors of four and one of three for the labelled part, for the suite's
    # time: each prior's model is tested on its own in tests/models/.
    chosen = {"priors": ["gaussian", "swiss_roll"], "supervised_priors": ["mixture"]}
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
    per_epoch = min(quick["train_size"], 60000) // quick["batch_size"]
    assert models["aae_gaussian"]["steps"] == quick["epochs"] * per_epoch
    assert models["semi_supervised_aae_mixture"]["steps"] == (
        quick["semi_supervised_epochs"] * per_epoch
    )
    assert record["total_wall_time_s"] == pytest.approx(record["wall_time_s"], abs=0.5)
    assert {"python", "keras", "tensorflow", "keras_latent"} <= set(record["versions"])
    assert record["settings"]["epochs"] == aae_priors.QUICK["epochs"]
    assert record["tolerances"] == aae_priors.TOLERANCES
    # Reusing finished models: tests/test_common.py (kept out of here for time).


def test_aae_guide_quick(tmp_path):
    from reproductions import aae_guide

    paths = aae_guide.main(["--quick", "--out", str(tmp_path)])
    assert not os.path.exists(tmp_path / "checkpoints")  # a smoke run leaves no models
    names = {os.path.basename(p) for p in paths}
    assert {
        "unsupervised_latent.png", "unsupervised_manifold.png", "supervised_styles.png",
        "semi_supervised_error.png", "semi_supervised_curve.png", "metrics.json",
    } <= names
    metrics = read_metrics(tmp_path)["metrics"]
    assert set(metrics) == {"unsupervised", "supervised", "semi_supervised"}
    for count in ("100", "1000"):
        row = metrics["semi_supervised"][count]
        assert 0 <= row["aae_test_error"] <= 100 and 0 <= row["baseline_test_error"] <= 100
        assert row["paper_test_error"] in (1.90, 1.60)
        # One point an epoch; the last is the finished model's error.
        (steps, error), = row["test_error_curve"]
        assert steps == row["steps"] and error == pytest.approx(row["aae_test_error"])


@pytest.mark.parametrize("parts", ['["semi_supervised", "bogus"]', "[]", "semi_supervised"])
def test_aae_guide_refuses_unknown_parts(tmp_path, parts):
    from reproductions import aae_guide

    with pytest.raises(ValueError, match=r"^parts: expected a non-empty list of \['unsup"):
        aae_guide.main(["--quick", "--out", str(tmp_path), f"--set=parts={parts}"])
    assert not os.path.exists(tmp_path / "metrics.json")


def test_disentangled_ae_quick(tmp_path):
    from reproductions import disentangled_ae

    paths = disentangled_ae.main(["--quick", "--out", str(tmp_path)])
    assert not os.path.exists(tmp_path / "checkpoints")
    names = {os.path.basename(p) for p in paths}
    assert names == {"swaps.png", "swap_grid.png", "tsne.png", "metrics.json"}
    for path in paths:
        assert os.path.getsize(path) > 1000
    record = read_metrics(tmp_path)
    metrics = record["metrics"]
    assert record["settings"]["epochs"] == disentangled_ae.QUICK["epochs"]
    assert metrics["steps"] == disentangled_ae.QUICK["train_size"] // 128
    # One epoch on 3000 digits already puts the label in s.
    assert metrics["clf_s_accuracy"] > 0.5
    assert metrics["probe_accuracy"]["s"]["linear"] > 0.5
    for code in ("s", "z"):
        assert set(metrics["probe_accuracy"][code]) == {"knn", "linear", "mlp"}
    swap = metrics["swap_accuracy"]
    assert swap is None or 0 <= swap <= 1
    assert 0 < metrics["test_bce"] < 0.7


def test_infogan_correlations_and_a_measure_that_never_moves():
    import numpy as np

    from reproductions import infogan

    values = np.tile(np.linspace(-1, 1, 5), 3)
    moved = infogan.correlations(values, 2 * values + np.repeat([0.0, 1.0, 5.0], 5), 5, 1.0)
    assert moved["within_rows"] == pytest.approx(1.0) and moved["effect"] == pytest.approx(4.0)
    flat = infogan.correlations(values, np.zeros(15), 5, 1.0)
    assert flat == {"within_rows": None, "pooled": None, "effect": 0.0}


def test_infogan_quick(tmp_path):
    from reproductions import infogan

    paths = infogan.main(["--quick", "--out", str(tmp_path)])
    assert not os.path.exists(tmp_path / "checkpoints")
    names = {os.path.basename(p) for p in paths}
    assert {"label_sweep.png", "code_1_sweep.png", "code_2_sweep.png", "metrics.json",
            "training.gif"} <= names
    frames = sorted(n for n in names if n.startswith("grid_step"))
    assert frames[0] == "grid_step0000000.png" and len(frames) == 3  # 0, 30, 60 steps
    for path in paths:
        assert os.path.getsize(path) > 500
    record = read_metrics(tmp_path)
    metrics = record["metrics"]
    assert metrics["steps"] == 60 and metrics["batch_size"] == 64
    for code in ("code_1", "code_2"):
        for factor in ("slant", "stroke_width"):
            for kind in ("within_rows", "pooled"):
                r = metrics["codes"][code][factor][kind]  # None: the measure never moved
                assert r is None or -1 <= r <= 1
    assert 0 <= metrics["q_test_accuracy"] <= 1
    accuracy = metrics["label_accuracy"]
    assert accuracy is None or 0 <= accuracy <= 1


def test_vae_gan_quick(tmp_path):
    from reproductions import vae_gan

    paths = vae_gan.main(["--quick", "--out", str(tmp_path)])
    assert not os.path.exists(tmp_path / "checkpoints")
    names = {os.path.basename(p) for p in paths}
    assert {"reconstructions.png", "manifold_cvae.png", "manifold_vae_gan.png",
            "style_transfer.png", "codes.png", "manifold_7.gif", "metrics.json"} <= names
    for path in paths:
        assert os.path.getsize(path) > 500
    metrics = read_metrics(tmp_path)["metrics"]
    assert metrics["steps"] == 10
    for tag in ("cvae_2", "vae_gan_2"):
        assert 0 < metrics[tag]["reconstruction_bce"] < 1
    # The article's balancing rule ran: at least one update of each player a step.
    assert 1 <= metrics["vae_gan_2"]["mean_d_steps_taken"] <= 3
    assert 1 <= metrics["vae_gan_2"]["mean_g_steps_taken"] <= 3
