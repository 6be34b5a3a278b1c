import json
import os
import subprocess
import sys

import numpy as np
import pytest
from matplotlib.figure import Figure

from keras_latent import compare, plotting


def make_run(folder, metrics, tolerances=None, figure_value=0.0, name="demo", recipe="article"):
    os.makedirs(folder, exist_ok=True)
    record = {"reproduction": name, "recipe": recipe, "quick": False, "metrics": metrics}
    if tolerances is not None:
        record["tolerances"] = tolerances
    with open(os.path.join(folder, "metrics.json"), "w") as f:
        json.dump(record, f)
    fig = Figure(figsize=(2, 2))
    fig.add_subplot().imshow(np.full((4, 4), figure_value), vmin=0, vmax=1)
    plotting.save(fig, os.path.join(folder, "figure.png"))


@pytest.fixture
def reference(tmp_path):
    folder = str(tmp_path / "figures" / "demo" / "article")
    make_run(
        folder,
        {"mixture": {"energy_distance": 0.10, "test_mse": 0.040}},
        tolerances={"default": {"rtol": 0.1}, "energy_distance": {"atol": 0.05, "rtol": 0.0}},
    )
    return folder


def test_within_tolerance_exits_zero_and_draws_side_by_side(tmp_path, reference, capsys):
    run = str(tmp_path / "run")
    make_run(run, {"mixture": {"energy_distance": 0.14, "test_mse": 0.043}, "extra": 1.0}, figure_value=1.0)
    assert compare.main([run, reference]) == 0
    out = capsys.readouterr().out
    assert "mixture.energy_distance" in out and "+0.04" in out and "new metric" in out
    side = os.path.join(run, "compare", "figure.png")
    assert os.path.exists(side)
    from matplotlib.image import imread

    image = imread(side)
    assert image.shape[1] > image.shape[0]  # two panels side by side


def test_outside_tolerance_or_missing_exits_one(tmp_path, reference, capsys):
    run = str(tmp_path / "run")
    make_run(run, {"mixture": {"energy_distance": 0.16, "test_mse": 0.040}})
    assert compare.main([run, reference]) == 1
    assert "OUTSIDE" in capsys.readouterr().out
    make_run(run, {"mixture": {"energy_distance": 0.10}})
    assert compare.main([run, reference]) == 1
    assert "missing" in capsys.readouterr().out


def test_default_reference_and_command_line(tmp_path, reference):
    run = str(tmp_path / "run")
    make_run(run, {"mixture": {"energy_distance": 0.10, "test_mse": 0.040}})
    done = subprocess.run(
        [sys.executable, "-m", "keras_latent.compare", run],
        cwd=str(tmp_path), capture_output=True, text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert os.path.join("figures", "demo", "article") in done.stdout
    assert compare.main([str(tmp_path / "nothing"), reference]) == 2


def test_the_run_s_own_recipe_is_its_reference_and_another_recipe_is_refused(
    tmp_path, reference, capsys
):
    other = str(tmp_path / "figures" / "demo" / "tuned")
    make_run(other, {"mixture": {"energy_distance": 0.5, "test_mse": 0.5}}, recipe="tuned")
    run = str(tmp_path / "run")
    make_run(run, {"mixture": {"energy_distance": 0.5, "test_mse": 0.5}}, recipe="tuned")
    done = subprocess.run(
        [sys.executable, "-m", "keras_latent.compare", run],
        cwd=str(tmp_path), capture_output=True, text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert os.path.join("figures", "demo", "tuned") in done.stdout
    # The same metrics against the article recipe's reference: refused, not compared.
    assert compare.main([run, reference]) == 3
    message = capsys.readouterr().err
    assert "'tuned' recipe" in message and "'article' recipe" in message
    assert "--recipe article" in message
    make_run(run, {"mixture": {"energy_distance": 0.10, "test_mse": 0.040}}, name="other")
    assert compare.main([run, reference]) == 3  # another script
    assert "'other' script" in capsys.readouterr().err


def test_tolerance_lookup():
    tolerances = {"default": {"rtol": 0.2}, "a.b": {"atol": 1.0}, "c": {"rtol": 0.5}}
    assert compare.tolerance_for("a.b", tolerances) == {"rtol": 0.1, "atol": 1.0}
    assert compare.tolerance_for("x.c", tolerances) == {"rtol": 0.5, "atol": 0.0}
    assert compare.tolerance_for("z", tolerances) == {"rtol": 0.2, "atol": 0.0}
    assert compare.flatten({"a": {"b": 1, "s": "text"}, "t": True}) == {"a.b": 1.0}


def test_runs_on_different_datasets_are_not_comparable(tmp_path, reference, capsys):
    run = str(tmp_path / "run")
    make_run(run, {"mixture": {"energy_distance": 0.10, "test_mse": 0.040}})
    for folder, dataset in ((run, "digits"), (reference, "mnist")):
        path = os.path.join(folder, "metrics.json")
        with open(path) as f:
            record = json.load(f)
        record["settings"] = {"dataset": dataset}
        with open(path, "w") as f:
            json.dump(record, f)
    assert compare.main([run, reference]) == 1  # every metric matches, the data does not
    out = capsys.readouterr().out
    assert "'digits'" in out
    assert "settings that differ (run / reference): dataset 'digits' / 'mnist'" in out
