"""Training across machines: two worker processes on localhost ports form a cluster.

Each test starts the workers (loopback only, bounded in time) with a `$TF_CONFIG`
naming both, as a user does on two machines (`docs/training.md`, "Several machines").
"""

import json
import os
import shutil
import subprocess
import sys

import pytest

from tests import mirrored_step
from tests.helpers import local_cluster

# One pytest-xdist worker runs the module: its clusters take free ports one after
# another (`local_cluster` frees a port before its worker binds it), and its shared
# fixture is built once.
pytestmark = [pytest.mark.multiworker, pytest.mark.xdist_group("multiworker")]

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORKERS = 2


def start_cluster(command, env_for=lambda index: {}):
    """Starts `command` (or `command(index)`) once per worker; returns the processes."""
    processes = []
    for index, config in enumerate(local_cluster(WORKERS)):
        env = dict(
            os.environ, PYTHONPATH=REPO, TF_CPP_MIN_LOG_LEVEL="3", TF_CONFIG=config,
            **env_for(index),
        )
        processes.append(subprocess.Popen(
            [sys.executable, *(command(index) if callable(command) else command)],
            cwd=REPO, env=env, text=True,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        ))
    return processes


def finish(processes, timeout):
    """Each process's `(returncode, stdout, stderr)`; all are killed past `timeout`."""
    results = []
    try:
        for process in processes:
            out, err = process.communicate(timeout=timeout)
            results.append((process.returncode, out, err))
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.communicate()
    return results


def run_cluster(command, timeout=600, env_for=lambda index: {}):
    results = finish(start_cluster(command, env_for), timeout)
    for code, out, err in results:
        assert code == 0, (out + err)[-4000:]
    return results


# One variant a family (each variant's maths is checked on one machine by
# test_distribute.py): labels, partly labelled batches, dropout-free parts, codes.
FAMILIES = [
    "aae_paper", "semi_supervised_aae", "disentangling_ae", "info_gan", "conditional_vae",
    "vae_gan_unbalanced",
]


@pytest.fixture(scope="module")
def worker_steps(tmp_path_factory):
    backups = str(tmp_path_factory.mktemp("backups"))
    results = run_cluster(
        ["-m", "tests.mirrored_step", "--multiworker", "--backup", backups, *FAMILIES]
    )
    rows = [
        {row["variant"]: row for row in map(json.loads, filter(
            lambda line: line.startswith("{"), out.splitlines()))}
        for _, out, _ in results
    ]
    return rows, backups


@pytest.mark.parametrize("variant", FAMILIES)
def test_one_step_across_two_workers_matches_one_step_on_one_device(worker_steps, variant):
    rows, backups = worker_steps
    for worker in rows:  # every worker holds the same weights after the step
        assert worker[variant]["max_change"] > 1e-2
        row = worker[variant]
        assert row["max_difference"] < mirrored_step.TOLERANCE * max(1.0, row["max_change"])
    # `fit` ran outside the strategy's scope: the chief alone wrote the backup.
    assert sorted(os.listdir(os.path.join(backups, variant))) == [
        "epoch-00001.weights.h5", "state.json"
    ]


HARNESS = os.path.join(REPO, "tests", "interrupted_run.py")


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    """The folder of the harness's run on one machine, uninterrupted: the reference
    of the restarted cluster, and the chief's finished run of the refusing one."""
    folder = str(tmp_path_factory.mktemp("uninterrupted"))
    done = subprocess.run(
        [sys.executable, HARNESS, folder], cwd=REPO, capture_output=True, text=True,
        env=dict(os.environ, PYTHONPATH=REPO, TF_CPP_MIN_LOG_LEVEL="3"), timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return folder


def test_a_cluster_restarted_after_a_kill_resumes_from_the_chiefs_backup(
    uninterrupted, tmp_path
):
    folder = str(tmp_path)
    # The chief dies while it writes epoch 2's backup; the other worker, left
    # waiting in the next step's all-reduce, is killed as an operator would.
    processes = start_cluster(
        [HARNESS, folder],
        env_for=lambda index: {"KILL_AT": "epoch-00002.weights.h5"} if index == 0 else {},
    )
    chief, other = processes
    try:
        out, err = chief.communicate(timeout=300)
    finally:
        for process in processes:
            process.kill()
            process.communicate()
    assert chief.returncode == -9, (out + err)[-3000:]  # SIGKILL mid-write
    backup = os.path.join(folder, "checkpoints", "aae-backup")
    assert sorted(n for n in os.listdir(backup) if n.startswith("epoch-")) == [
        "epoch-00001.weights.h5"
    ]

    results = run_cluster([HARNESS, folder], timeout=300)
    for _, out, _ in results:  # both workers resume from the chief's epoch 1
        assert "resuming after epoch 1" in out
    with open(os.path.join(folder, "metrics.json")) as f:
        record = json.load(f)
    with open(os.path.join(uninterrupted, "metrics.json")) as f:
        expected = json.load(f)
    assert record["metrics"]["ae_steps"] == expected["metrics"]["ae_steps"] == 3 * 4
    assert record["metrics"]["test_mse"] == pytest.approx(expected["metrics"]["test_mse"], rel=1e-4)
    # Only the chief wrote into the folder (the other worker into a scratch one).
    assert sorted(os.listdir(folder)) == ["checkpoints", "metrics.json"]
    assert "not the chief" in results[1][1]


def test_a_quick_reproduction_across_two_workers_ends_with_its_metrics(tmp_path):
    folder = str(tmp_path)
    # scikit-learn's digits: evaluating on MNIST's 10000 test digits across two
    # workers takes minutes here.
    results = run_cluster(
        ["reproductions/disentangled_ae.py", "--quick", "--dataset", "digits",
         "--distribute", "multiworker", "--out", folder],
    )
    assert "2 replicas" in results[0][1]
    with open(os.path.join(folder, "metrics.json")) as f:
        record = json.load(f)
    assert record["quick"] is True and record["settings"]["dataset"] == "digits"
    assert record["metrics"]["clf_s_accuracy"] > 0.5
    assert {"swaps.png", "swap_grid.png", "tsne.png"} <= set(os.listdir(folder))


def test_workers_that_find_different_checkpoints_refuse_to_train(uninterrupted, tmp_path):
    # Worker 1 reads another folder than the chief, as on a disk the chief's is not on;
    # the chief's holds a finished run.
    chiefs, own = str(tmp_path / "chief"), str(tmp_path / "own")
    shutil.copytree(uninterrupted, chiefs)
    results = finish(start_cluster(lambda index: [HARNESS, own if index else chiefs]), 300)
    for code, out, err in results:
        assert code != 0
        assert "checkpoint_dir: the workers disagree on the finished" in err
