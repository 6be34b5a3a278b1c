"""A small run through the reproductions' shared code, for `test_reliability.py`.

    python tests/interrupted_run.py FOLDER

trains a tiny AAE with `_common.fit_or_resume` and writes `FOLDER/metrics.json`
as a reproduction script does. With `KILL_AT=<file name>` in the environment the
process kills itself (SIGKILL) while that file is being written: the temporary
file is cut in half and the rename never happens, as when power fails mid-write.
With `$TF_CONFIG` set, it is one worker of a `--distribute multiworker` run.
"""

import os
import signal
import sys

import numpy as np

from keras_latent import checkpoints
from reproductions import _common
from tests import families


def kill_while_writing(name):
    commit = checkpoints._commit

    def commit_or_die(partial, path):
        if os.path.basename(path) == name:
            with open(partial, "r+b") as f:
                f.truncate(os.path.getsize(partial) // 2)
            os.kill(os.getpid(), signal.SIGKILL)
        commit(partial, path)

    checkpoints._commit = commit_or_die


def build():
    model = families.aae()
    model.compile()
    return model


def main(folder):
    if os.environ.get("KILL_AT"):
        kill_while_writing(os.environ["KILL_AT"])
    argv = ["--out", folder, "--dataset", "digits"]
    if os.environ.get("TF_CONFIG"):
        argv += ["--distribute", "multiworker"]
    args = _common.parse_args("interrupted_run", __doc__, argv)
    settings = {"epochs": 3, "batch_size": 8}
    started = _common.start("interrupted_run", args, settings)
    x = np.random.default_rng(0).uniform(size=(32, 28, 28, 1)).astype("float32")
    model = _common.fit_or_resume(
        build, x, dict(batch_size=8, epochs=3, verbose=0, shuffle=False),
        _common.checkpoint_dir(args), "aae", stamp=settings,
    )
    metrics = {
        "ae_steps": int(model.autoencoder_optimizer.iterations.numpy()),
        "test_mse": float(np.mean((model.decode(model.encode(x)) - x) ** 2)),
    }
    _common.write_metrics(args.out, "interrupted_run", metrics, settings, args, started)


if __name__ == "__main__":
    main(sys.argv[1])
