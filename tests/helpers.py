"""Round trips that every serializable class in keras-latent must pass, a stop, a cluster."""

import json
import os
import socket
import subprocess
import sys
import textwrap

import keras
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def assert_config_round_trip(obj):
    """`from_config(get_config())` gives an object with the same config."""
    restored = type(obj).from_config(obj.get_config())
    assert restored.get_config() == obj.get_config()
    serialized = keras.saving.serialize_keras_object(obj)
    again = keras.saving.deserialize_keras_object(serialized)
    assert type(again) is type(obj)
    assert again.get_config() == obj.get_config()
    return restored


def assert_saved_model_round_trip(model, inputs, tmp_path, outputs=None):
    """Saving to `.keras` and loading gives the same outputs and weights."""
    path = os.path.join(str(tmp_path), "model.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert type(loaded) is type(model)
    outputs = outputs or (lambda m: m.predict(inputs, verbose=0))
    np.testing.assert_allclose(outputs(loaded), outputs(model), rtol=1e-5, atol=1e-6)
    for a, b in zip(model.weights, loaded.weights):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(a), keras.ops.convert_to_numpy(b))
    return loaded


def run_in_fresh_process(script, timeout=300):
    """Runs Python `script` (dedented) in a new interpreter from the repository root;
    asserts it exits 0 and returns what it printed."""
    run = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)], cwd=ROOT, capture_output=True,
        text=True, timeout=timeout, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    assert run.returncode == 0, run.stderr[-3000:]
    return run.stdout


class StopAfter(keras.callbacks.Callback):
    """Interrupts a run at the end of epoch `epoch`, as a kill would.

    Put it before a `BackupAndRestore` in the callbacks: that epoch is then not
    backed up, and a restarted run repeats it.
    """

    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.epoch:
            raise KeyboardInterrupt


def local_cluster(workers):
    """Each worker's `$TF_CONFIG` for a cluster of `workers` on free localhost ports."""
    sockets = [socket.socket() for _ in range(workers)]
    for s in sockets:
        s.bind(("localhost", 0))
    cluster = {"worker": [f"localhost:{s.getsockname()[1]}" for s in sockets]}
    for s in sockets:
        s.close()
    return [
        json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})
        for index in range(workers)
    ]
