"""The reproduction scripts' --quick runs, end to end (about half a minute each)."""

import json
import os

import pytest

pytestmark = pytest.mark.reproduction


def test_aae_priors_quick(tmp_path):
    from reproductions import aae_priors

    paths = aae_priors.main(["--quick", "--out", str(tmp_path)])
    names = {os.path.basename(p) for p in paths}
    for prior in aae_priors.SETTINGS["priors"]:
        assert f"prior_{prior}.png" in names and f"latent_grid_{prior}.png" in names
    for path in paths:
        assert os.path.getsize(path) > 1000
    with open(os.path.join(tmp_path, "metrics.json")) as f:
        record = json.load(f)
    assert record["quick"] is True and record["seed"] == 0
    assert set(record["metrics"]) == set(aae_priors.SETTINGS["priors"])
    for values in record["metrics"].values():
        assert values["energy_distance"] >= 0 and 0 < values["test_mse"] < 0.25
    assert {"python", "keras", "tensorflow", "keras_latent"} <= set(record["versions"])
    assert record["settings"]["epochs"] == aae_priors.QUICK["epochs"]

    # A second run finds the finished models and resumes instead of retraining.
    again = aae_priors.main(["--quick", "--out", str(tmp_path)])
    assert again == paths
    with open(os.path.join(tmp_path, "metrics.json")) as f:
        assert json.load(f)["metrics"] == record["metrics"]
