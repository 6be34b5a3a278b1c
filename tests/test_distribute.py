"""Training steps under tf.distribute give the weights of a single-device step."""

import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest

from keras_latent import distribute
from tests import mirrored_step

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# One pytest-xdist worker runs this module, so that its shared fixture is built once.
pytestmark = pytest.mark.xdist_group("mirrored_step")


@pytest.fixture(scope="module")
def mirrored_results():
    # A fresh interpreter: the CPU is split into two devices before TF starts.
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    run = subprocess.run(
        [sys.executable, "-m", "tests.mirrored_step"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=900,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    rows = [json.loads(line) for line in run.stdout.splitlines() if line.startswith("{")]
    return {row["variant"]: row for row in rows}


@pytest.mark.parametrize("variant", list(mirrored_step.VARIANTS))
def test_one_mirrored_step_matches_one_step_on_one_device(mirrored_results, variant):
    result = mirrored_results[variant]
    # The step moved the weights, and both ways moved them to the same place, up
    # to float32 sums taken in another order (relative to how far the step moved).
    assert result["max_change"] > 1e-2
    assert result["max_difference"] < mirrored_step.TOLERANCE * max(1.0, result["max_change"])


def test_replica_draws_outside_a_strategy_is_the_plain_draw():
    calls = []

    def draw(copies):
        calls.append(copies)
        return keras.ops.reshape(keras.ops.arange(6 * copies), (3 * copies, 2))

    rows = keras.ops.convert_to_numpy(distribute.replica_draws(draw, 3))
    assert calls == [1]
    np.testing.assert_array_equal(rows, np.arange(6).reshape(3, 2))
    assert float(distribute.global_sum(keras.ops.convert_to_tensor(4.0))) == 4.0
