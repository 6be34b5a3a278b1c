"""Round trips that every serializable class in keras-latent must pass, a stop, a cluster."""

import atexit
import json
import os
import select
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


# A Python interpreter that has imported none of the tests. It keeps the pipes it
# was started with for its protocol (a script's length, the script; one JSON line
# back), gives scripts an empty stdin and sends what they write to fd 1 to stderr,
# and runs each script in a namespace of its own.
_WORKER = r"""
import contextlib, io, json, os, sys, traceback
requests, answers = os.fdopen(os.dup(0), "r"), os.fdopen(os.dup(1), "w")
os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
os.dup2(2, 1)
sys.stdin = open(os.devnull)
while True:
    size = requests.readline()
    if not size:
        break
    script, printed = requests.read(int(size)), io.StringIO()
    error = ""
    try:
        with contextlib.redirect_stdout(printed):
            exec(compile(script, "<script>", "exec"), {"__name__": "__main__"})
    except SystemExit as stop:
        if stop.code not in (None, 0):
            error = f"SystemExit({stop.code!r})"
    except BaseException:
        error = traceback.format_exc()
    answers.write(json.dumps({"stdout": printed.getvalue(), "error": error}) + "\n")
    answers.flush()
"""
_worker = None


def networks_each_optimizer_moves(model, networks, train, rate=1e-2):
    """`{role: set of the networks named in `networks` whose trainable weights
    moved}` when `train()` runs with one optimizer role of `model` learning at a
    time (BatchNorm's moving statistics move in every role's turn: not compared).

    Every role gets its own Adam; the others' learning rates are set to 0 in
    turn (variables, read by the traced step), so one train function serves
    every role: what moves is that role's doing.
    """
    model.compile(**{role: keras.optimizers.Adam(rate) for role in model.optimizer_roles()})
    moved = {}
    for role in model.optimizer_roles():
        for other in model.optimizer_roles():
            getattr(model, other).learning_rate = rate if other == role else 0.0
        before = {name: [w.numpy().copy() for w in getattr(model, name).trainable_weights]
                  for name in networks}
        train()
        moved[role] = {
            name for name in networks
            if any(not np.array_equal(a, w.numpy())
                   for a, w in zip(before[name], getattr(model, name).trainable_weights))
        }
    return moved


def _shared_worker():
    global _worker
    if _worker is None or _worker.poll() is not None:
        _worker = subprocess.Popen(
            [sys.executable, "-c", _WORKER], cwd=ROOT, stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, text=True,
            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
        )
        atexit.register(_worker.kill)
    return _worker


def run_in_fresh_process(script, timeout=300, shared=True):
    """Runs Python `script` (dedented) in another interpreter, started from the
    repository root, that has imported nothing of the tests; asserts it raised
    nothing and returns what it printed.

    With `shared`, every call shares one such interpreter (one start of TensorFlow
    for the suite), each script in a namespace of its own: a script that imports
    test modules must pass `shared=False` and gets an interpreter of its own, so
    the shared one never holds test code.
    """
    script = textwrap.dedent(script)
    if not shared:
        run = subprocess.run(
            [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True,
            timeout=timeout, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
        )
        assert run.returncode == 0, run.stderr[-3000:]
        return run.stdout
    worker = _shared_worker()
    worker.stdin.write(f"{len(script)}\n{script}")
    worker.stdin.flush()
    if not select.select([worker.stdout], [], [], timeout)[0]:
        worker.kill()
        worker.wait()
        raise AssertionError(f"the script ran past {timeout} s")
    answer = worker.stdout.readline()
    assert answer, f"the interpreter running the script died (exit {worker.wait()})"
    answer = json.loads(answer)
    assert not answer["error"], answer["error"][-3000:]
    return answer["stdout"]


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
