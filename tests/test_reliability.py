"""Reliability: bad input on every path, interrupted writes, exact resume, NaN stops."""

import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_latent as kl
from keras_latent import callbacks, checkpoints
from tests import families
from tests.helpers import StopAfter

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RNG = np.random.default_rng(0)
X = RNG.uniform(size=(16, 28, 28, 1)).astype("float32")
Y = (np.arange(16) % 10).astype("int64")


def nan_images():
    x = X.copy()
    x[3, 5, 5, 0] = np.nan
    return x


def with_labels(value):
    y = Y.copy()
    y[4] = value
    return y


def dataset(x, y=None):
    elements = x if y is None else (x, y)
    return tf.data.Dataset.from_tensor_slices(elements).batch(8)


def filtered_empty(x, y=None):
    """A dataset whose filter drops every element: its length is unknown until read."""
    return dataset(x, y).filter(lambda *batch: False)


def one_shot(x):
    """A dataset of one batch that only its first reader sees (a spent generator)."""
    batches = iter([x[:8]])
    return tf.data.Dataset.from_generator(
        lambda: batches, output_signature=tf.TensorSpec((None, 28, 28, 1), tf.float32)
    )


def compiled(model):
    model.compile()
    return model


def one_hot_with(row):
    y = np.eye(10, dtype="float32")[Y]
    y[4] = row
    return y


MODELS = {
    "aae": families.aae,
    "supervised": families.supervised_aae,
    "semi_supervised": families.semi_supervised_aae,
    "clustering": families.clustering_aae,
    "disentangling": families.disentangling_ae,
    "info_gan": families.info_gan,
    "conditional_vae": families.conditional_vae,
    # Without the balancing rule: its unrolled updates only slow the trace of the
    # step these input checks stop before.
    "vae_gan": lambda: families.vae_gan(balance=False),
    "cvae_gan": families.cvae_gan,
}
FIT = dict(batch_size=8, epochs=1, verbose=0)

# (model, entry point, call, the argument the message must name)
BAD_INPUTS = [
    ("aae", "fit", lambda m: m.fit(nan_images(), **FIT), "x"),
    ("aae", "fit", lambda m: m.fit(X * 255, **FIT), "x"),
    ("aae", "fit", lambda m: m.fit(X[:0], **FIT), "x"),
    ("aae", "fit", lambda m: m.fit(X, Y, **FIT), "y"),
    ("aae", "fit", lambda m: m.fit(dataset(nan_images()), epochs=1, verbose=0), "x"),
    ("aae", "fit", lambda m: m.fit(dataset(X * 255), epochs=1, verbose=0), "x"),
    ("aae", "fit", lambda m: m.fit(dataset(X[:0]), epochs=1, verbose=0), "x"),
    ("aae", "fit", lambda m: m.fit(kl.data.make_dataset(X, batch_size=32, drop_remainder=True)), "batch_size"),
    ("supervised", "fit", lambda m: m.fit(X, with_labels(10), **FIT), "y"),
    ("supervised", "fit", lambda m: m.fit(X, with_labels(-2), **FIT), "y"),
    ("supervised", "fit", lambda m: m.fit(X, Y.astype("float32"), **FIT), "y"),
    ("supervised", "fit", lambda m: m.fit(dataset(X, with_labels(10)), epochs=1, verbose=0), "y"),
    ("supervised", "fit", lambda m: m.fit(dataset(X, np.full(16, -2)), epochs=1, verbose=0), "y"),
    ("supervised", "fit", lambda m: m.fit(dataset(nan_images(), Y), epochs=1, verbose=0), "x"),
    ("supervised", "fit", lambda m: m.fit(dataset(X * 255, Y), epochs=1, verbose=0), "x"),
    ("supervised", "fit", lambda m: m.fit(dataset(X), epochs=1, verbose=0), "y"),
    ("semi_supervised", "fit", lambda m: m.fit(X, np.eye(10)[Y], **FIT), "y"),
    ("semi_supervised", "fit", lambda m: m.fit(dataset(X, np.eye(10)[Y]), epochs=1, verbose=0), "y"),
    ("semi_supervised", "fit", lambda m: m.fit(dataset(X, with_labels(-2)), epochs=1, verbose=0), "y"),
    ("semi_supervised", "fit", lambda m: m.fit(kl.data.semi_supervised_dataset(X, Y, batch_size=17)), "batch_size"),
    ("clustering", "fit", lambda m: m.fit(X, Y, **FIT), "y"),
    ("clustering", "fit", lambda m: m.fit(dataset(nan_images()), epochs=1, verbose=0), "x"),
    ("clustering", "evaluate", lambda m: m.evaluate(X, Y, verbose=0), "y"),
    ("clustering", "sample", lambda m: m.sample(2, clusters=[0, 16]), "clusters"),
    ("aae", "evaluate", lambda m: m.evaluate(nan_images(), verbose=0), "x"),
    ("aae", "evaluate", lambda m: m.evaluate(dataset(X * 255), verbose=0), "x"),
    ("supervised", "evaluate", lambda m: m.evaluate(X, with_labels(10), verbose=0), "y"),
    ("supervised", "evaluate", lambda m: m.evaluate(dataset(X, with_labels(10)), verbose=0), "y"),
    ("aae", "predict", lambda m: m.predict(nan_images(), verbose=0), "x"),
    ("aae", "predict", lambda m: m.predict(dataset(nan_images()), verbose=0), "x"),
    ("supervised", "predict", lambda m: m.predict({"images": X, "labels": with_labels(12)}, verbose=0), "labels"),
    ("aae", "encode", lambda m: m.encode(X[:0]), "x"),
    ("aae", "encode", lambda m: m.encode(nan_images()), "x"),
    ("aae", "encode", lambda m: m.encode(X[..., 0]), "x"),
    ("aae", "decode", lambda m: m.decode(np.zeros((4, 5))), "z"),
    ("aae", "decode", lambda m: m.decode(np.full((4, 2), np.nan)), "z"),
    ("aae", "decode", lambda m: m.decode(np.zeros((4, 2)), labels=[1, 2, 3, 4]), "labels"),
    ("supervised", "decode", lambda m: m.decode(np.zeros((1, 3)), labels=[12]), "labels"),
    ("supervised", "decode", lambda m: m.decode(np.zeros((1, 3))), "labels"),
    ("semi_supervised", "decode", lambda m: m.decode(np.zeros((1, 3))), "labels"),
    ("semi_supervised", "decode", lambda m: m.decode([np.zeros((2, 4)), np.zeros((2, 3))]), "z"),
    ("aae", "sample", lambda m: m.sample(-1), "n"),
    ("aae", "sample", lambda m: m.sample(2.5), "n"),
    ("aae", "sample", lambda m: m.sample(2, labels=[0, 1]), "labels"),
    ("supervised", "sample", lambda m: m.sample(2, labels=[0, 12]), "labels"),
    ("semi_supervised", "sample", lambda m: m.sample(0), "n"),
    ("disentangling", "fit", lambda m: m.fit(X, **FIT), "y"),
    ("disentangling", "fit", lambda m: m.fit(X, with_labels(10), **FIT), "y"),
    ("disentangling", "fit", lambda m: m.fit(X, with_labels(-1), **FIT), "y"),
    ("disentangling", "fit", lambda m: m.fit(X[:, :27], Y, **FIT), "x"),
    ("disentangling", "fit", lambda m: m.fit(X, np.eye(9)[Y % 9], **FIT), "y"),
    ("disentangling", "fit", lambda m: m.fit(dataset(X, with_labels(10)), epochs=1, verbose=0), "y"),
    ("disentangling", "fit", lambda m: m.fit(dataset(nan_images(), Y), epochs=1, verbose=0), "x"),
    ("disentangling", "fit", lambda m: m.fit(dataset(X), epochs=1, verbose=0), "y"),
    ("disentangling", "evaluate", lambda m: m.evaluate(X, with_labels(10), verbose=0), "y"),
    ("disentangling", "encode", lambda m: m.encode(nan_images()), "x"),
    ("disentangling", "decode", lambda m: m.decode(np.zeros((2, 5)), np.zeros((2, 4))), "s"),
    ("disentangling", "decode", lambda m: m.decode(np.zeros((2, 4)), np.zeros((3, 4))), "z"),
    ("disentangling", "swap", lambda m: m.swap(X[:2, :27], X[:2]), "content_images"),
    ("disentangling", "swap", lambda m: m.swap(X[:2], X[:3]), "style_images"),
    ("disentangling", "classify", lambda m: m.classify(X * 255), "x"),
    ("info_gan", "fit", lambda m: m.fit(X, **FIT), "y"),
    ("info_gan", "fit", lambda m: m.fit(X, with_labels(10), **FIT), "y"),
    ("info_gan", "fit", lambda m: m.fit(X[:, :24, :24], Y, **FIT), "x"),
    ("info_gan", "fit", lambda m: m.fit(dataset(X, with_labels(-1)), epochs=1, verbose=0), "y"),
    ("info_gan", "fit", lambda m: m.fit(dataset(X * 255, Y), epochs=1, verbose=0), "x"),
    ("info_gan", "generate", lambda m: m.generate(np.zeros((2, 8)), [0, 1], np.zeros((2, 3))), "codes"),
    ("info_gan", "generate", lambda m: m.generate(np.zeros((2, 9)), [0, 1], np.zeros((2, 2))), "noise"),
    ("info_gan", "generate", lambda m: m.generate(np.zeros((2, 8)), [0, 10], np.zeros((2, 2))), "labels"),
    ("info_gan", "generate", lambda m: m.generate(np.zeros((2, 8)), [0, 1], np.zeros((3, 2))), "codes"),
    ("info_gan", "sample", lambda m: m.sample(0), "n"),
    ("info_gan", "sample", lambda m: m.sample(2, labels=[3]), "labels"),
    ("info_gan", "classify", lambda m: m.classify(nan_images()), "x"),
    ("conditional_vae", "fit", lambda m: m.fit(dataset(X), epochs=1, verbose=0), "y"),
    ("conditional_vae", "fit", lambda m: m.fit(dataset(X, with_labels(10)), epochs=1, verbose=0), "y"),
    ("conditional_vae", "encode", lambda m: m.encode(X, Y[:3]), "labels"),
    ("conditional_vae", "sample", lambda m: m.sample(-1, labels=[]), "n"),
    ("conditional_vae", "predict", lambda m: m.predict({"images": X, "labels": with_labels(10)}, verbose=0), "labels"),
    ("conditional_vae", "transfer", lambda m: m.transfer(X[:2], Y[:2], [-1, 0]), "target_labels"),
    ("conditional_vae", "transfer", lambda m: m.transfer(X[:2], [0, 12], [0, 1]), "labels"),
    ("vae_gan", "fit", lambda m: m.fit(X, **FIT), "y"),
    ("vae_gan", "fit", lambda m: m.fit(dataset(X, with_labels(-1)), epochs=1, verbose=0), "y"),
    ("vae_gan", "fit", lambda m: m.fit(dataset(nan_images(), Y), epochs=1, verbose=0), "x"),
    ("vae_gan", "decode", lambda m: m.decode(np.zeros((2, 2)), [0]), "labels"),
    ("vae_gan", "transfer", lambda m: m.transfer(X[:2], Y[:2], [0, 10]), "target_labels"),
    ("vae_gan", "transfer", lambda m: m.transfer(X[:2], Y[:2], [0]), "target_labels"),
    ("cvae_gan", "fit", lambda m: m.fit(X, **FIT), "y"),
    ("cvae_gan", "fit", lambda m: m.fit(X, with_labels(10), **FIT), "y"),
    ("cvae_gan", "fit", lambda m: m.fit(dataset(X, with_labels(-1)), epochs=1, verbose=0), "y"),
    ("cvae_gan", "fit", lambda m: m.fit(dataset(nan_images(), Y), epochs=1, verbose=0), "x"),
    ("cvae_gan", "fit", lambda m: m.fit(X[:, :24, :24], Y, **FIT), "x"),
    ("cvae_gan", "sample", lambda m: m.sample(2, labels=[3, 10]), "labels"),
    ("cvae_gan", "reconstruct", lambda m: m.reconstruct(X * 255, Y), "x"),
    ("cvae_gan", "predict", lambda m: m.predict(X, verbose=0), "x"),
    # A fit that would run no step.
    ("aae", "fit", lambda m: m.fit(X, **dict(FIT, epochs=0)), "epochs"),
    ("aae", "fit", lambda m: m.fit(X, **dict(FIT, initial_epoch=1)), "initial_epoch"),
    ("disentangling", "fit", lambda m: m.fit(m.training_dataset(X, Y, batch_size=2), steps_per_epoch=0, verbose=0), "steps_per_epoch"),
    ("disentangling", "fit", lambda m: m.fit(m.training_dataset(X, Y, batch_size=2), steps_per_epoch=-3, verbose=0), "steps_per_epoch"),
    ("aae", "fit", lambda m: m.fit(filtered_empty(X), epochs=2, verbose=0), "x"),
    ("info_gan", "fit", lambda m: m.fit(filtered_empty(X, Y), epochs=2, verbose=0), "x"),
    ("conditional_vae", "fit", lambda m: m.fit(filtered_empty(X, Y), epochs=2, verbose=0), "x"),
    ("aae", "fit", lambda m: m.fit(one_shot(X), epochs=1, verbose=0), "x"),
    # One-hot rows that are not one-hot.
    ("disentangling", "fit", lambda m: m.fit(X, one_hot_with(0.0), **FIT), "y"),
    ("info_gan", "fit", lambda m: m.fit(X, one_hot_with(3.0 * np.eye(10)[2]), **FIT), "y"),
    ("conditional_vae", "fit", lambda m: m.fit(X, one_hot_with(np.full(10, 0.1)), **FIT), "y"),
    ("vae_gan", "fit", lambda m: m.fit(dataset(X, one_hot_with(0.0)), epochs=1, verbose=0), "y"),
    ("info_gan", "fit", lambda m: m.fit(dataset(X, one_hot_with(3.0 * np.eye(10)[2])), epochs=1, verbose=0), "y"),
    # Images as a list; labels a predict would ignore or needs.
    ("aae", "fit", lambda m: m.fit(list(X), **FIT), "x"),
    ("supervised", "fit", lambda m: m.fit(list(X), Y, **FIT), "x"),
    ("aae", "predict", lambda m: m.predict({"images": X, "labels": Y + 10}, verbose=0), "labels"),
    ("conditional_vae", "predict", lambda m: m.predict((X, Y), verbose=0), "x"),
    ("vae_gan", "predict", lambda m: m.predict(X, verbose=0), "x"),
    ("supervised", "predict", lambda m: m.predict({"images": X, "label": Y}, verbose=0), "x"),
    ("supervised", "predict", lambda m: m.predict({"images": X}, verbose=0), "x"),
    ("aae", "predict", lambda m: m.predict(tf.data.Dataset.from_tensor_slices({"images": X, "labels": Y}).batch(8), verbose=0), "labels"),
    ("disentangling", "fit", lambda m: m.fit(m.training_dataset(X, Y, batch_size=2), verbose=0), "steps_per_epoch"),
    # A model of its own: a train function traced for 1-D integer labels, then for 2-D
    # ones, is retraced for labels of unknown rank, which one_hot cannot read.
    ("disentangling", "fit", lambda _: compiled(families.disentangling_ae()).fit(dataset(X, one_hot_with(0.0).astype("int64")), epochs=1, verbose=0), "y"),
]


# The tests that share the `models` fixture run on one pytest-xdist worker, which
# builds it once (`--dist loadgroup` in setup.cfg).
SHARED_MODELS = pytest.mark.xdist_group("reliability_models")


@pytest.fixture(scope="module")
def models():
    built = {}
    for name, make in MODELS.items():
        built[name] = make()
        built[name].compile()
    return built


@SHARED_MODELS
@pytest.mark.parametrize(
    "model, entry, call, argument",
    BAD_INPUTS,
    ids=[f"{m}-{e}-{i}" for i, (m, e, _, _) in enumerate(BAD_INPUTS)],
)
def test_bad_input_raises_value_error_naming_the_argument(models, model, entry, call, argument):
    with pytest.raises(ValueError, match=rf"^{argument}: "):
        call(models[model])


@SHARED_MODELS
def test_an_empty_dataset_moves_no_optimizer(models):
    # Without XLA (InfoGAN's convolutions on a CPU) Keras would count a step per epoch.
    model = models["info_gan"]
    before = {role: int(getattr(model, role).iterations.numpy()) for role in model.optimizer_roles()}
    with pytest.raises(ValueError, match="^x: the dataset is empty"):
        model.fit(filtered_empty(X, Y), epochs=3, verbose=0)
    assert before == {r: int(getattr(model, r).iterations.numpy()) for r in model.optimizer_roles()}


@SHARED_MODELS
def test_a_labelled_model_predicts_a_dataset_of_dicts_as_the_arrays(models):
    model = models["conditional_vae"]
    inputs = {"images": X, "labels": Y}
    batches = tf.data.Dataset.from_tensor_slices(inputs).batch(8)
    np.testing.assert_allclose(
        model.predict(batches, verbose=0), model.predict(inputs, verbose=0), rtol=1e-5, atol=1e-6
    )


@SHARED_MODELS
def test_one_bad_batch_deep_in_a_dataset_is_caught_when_read(models):
    y = np.tile(Y, 4)
    y[-1] = 10  # the last batch alone is bad
    model = models["supervised"]
    before = model.autoencoder_optimizer.iterations.numpy()
    with pytest.raises(ValueError, match=r"^y: expected labels in \[0, 9\].* to 10"):
        model.fit(dataset(np.tile(X, (4, 1, 1, 1)), y), epochs=1, verbose=0)
    assert model.autoencoder_optimizer.iterations.numpy() > before  # the good batches had trained


@SHARED_MODELS
def test_semi_supervised_decodes_what_it_encodes_and_samples(models):
    model = models["semi_supervised"]
    y, z = model.encode(X)
    assert y.shape == (16, 10) and z.shape == (16, 3)
    assert model.decode([y, z]).shape == X.shape
    np.testing.assert_allclose(model.decode(z, labels=y.argmax(1)), model.decode([np.eye(10)[y.argmax(1)], z]))
    assert model.sample(5, labels=[0, 1, 2, 3, 4]).shape == (5, 28, 28, 1)
    assert model.sample(4, seed=1).shape == (4, 28, 28, 1)


@SHARED_MODELS
def test_supervised_decode_reads_one_hot_labels_as_integers(models):
    model = models["supervised"]
    z = np.zeros((3, 3), "float32")
    np.testing.assert_array_equal(model.decode(z, [1, 2, 3]), model.decode(z, np.eye(10)[[1, 2, 3]]))


# Interrupted writes ------------------------------------------------------------------

HARNESS = os.path.join(REPO, "tests", "interrupted_run.py")


def run_harness(folder, kill_at=None):
    env = dict(os.environ, PYTHONPATH=REPO, TF_CPP_MIN_LOG_LEVEL="3")
    if kill_at:
        env["KILL_AT"] = kill_at
    return subprocess.run(
        [sys.executable, HARNESS, folder], env=env, capture_output=True, text=True,
        timeout=300,
    )


@pytest.mark.parametrize("kill_at", ["epoch-00002.weights.h5", "aae.keras"])
def test_a_run_killed_while_writing_resumes_and_finishes(tmp_path, kill_at):
    folder = str(tmp_path)
    killed = run_harness(folder, kill_at)
    assert killed.returncode == -9, killed.stdout + killed.stderr  # SIGKILL mid-write
    checkpoint_dir = os.path.join(folder, "checkpoints")
    leftovers = [
        name for _, _, files in os.walk(checkpoint_dir) for name in files
        if name.startswith(checkpoints.PARTIAL_PREFIX)
    ]
    assert len(leftovers) == 1 and leftovers[0].endswith(kill_at)
    assert not os.path.exists(os.path.join(folder, "metrics.json"))

    done = run_harness(folder)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("a file whose writing was interrupted") == 1
    # Killed while epoch 2 was saved: resumes after epoch 1. Killed while the finished
    # model was saved: its backup is still there, so the run trains no epoch again.
    resumed = "resuming after epoch 1" if kill_at.startswith("epoch") else "resuming after epoch 3"
    assert resumed in done.stdout
    with open(os.path.join(folder, "metrics.json")) as f:
        record = json.load(f)
    assert record["metrics"]["ae_steps"] == 3 * 4
    assert 0 < record["metrics"]["test_mse"] < 0.25
    assert not os.path.exists(os.path.join(checkpoint_dir, "aae-backup"))


def test_a_damaged_finished_model_is_reported_and_trained_again(tmp_path):
    folder = str(tmp_path)
    assert run_harness(folder).returncode == 0
    final = os.path.join(folder, "checkpoints", "aae.keras")
    with open(final, "r+b") as f:
        f.truncate(os.path.getsize(final) // 2)  # as a copy or a disk can leave it
    done = run_harness(folder)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"ignoring {final}: it cannot be loaded" in done.stdout
    with open(os.path.join(folder, "metrics.json")) as f:
        assert json.load(f)["metrics"]["ae_steps"] == 3 * 4


def test_backup_falls_back_past_a_damaged_epoch(tmp_path, capsys):
    folder = str(tmp_path / "backup")
    model = families.aae()
    model.compile()
    model.fit(X, callbacks=[callbacks.BackupAndRestore(folder, delete_on_end=False)], **dict(FIT, epochs=2))
    newest = os.path.join(folder, "epoch-00002.weights.h5")
    with open(newest, "r+b") as f:
        f.truncate(1000)
    resumed = families.aae()
    resumed.compile()
    restore = callbacks.BackupAndRestore(folder, delete_on_end=False)
    resumed.fit(X, callbacks=[restore], **dict(FIT, epochs=3))
    out = capsys.readouterr().out
    assert f"ignoring {newest}: missing or damaged" in out and "resuming after epoch 1" in out
    assert resumed.autoencoder_optimizer.iterations.numpy() == 3 * 2
    with open(os.path.join(folder, "state.json")) as f:
        assert [e["epoch"] for e in json.load(f)["checkpoints"]] == [2, 3]


# Exact resume ----------------------------------------------------------------------


def state_of(model):
    """Every number a resumed run must restore."""
    # Keyed by position: a second model's variable paths carry another name suffix.
    state = {f"weight {i}": w for i, w in enumerate(model.weights)}
    for role in model.optimizer_roles():
        optimizer = getattr(model, role)
        state[f"{role} iterations"] = optimizer.iterations
        for i, v in enumerate(optimizer.variables):  # the moments, and the count again
            state[f"{role} {i} ({v.name})"] = v
    for i, seed_state in enumerate(model.seed_states()):
        state[f"seed generator {i}"] = seed_state
    return {k: keras.ops.convert_to_numpy(v) for k, v in state.items()}


@pytest.mark.parametrize(
    "make, labels",
    [
        (families.semi_supervised_aae, "some"),
        (lambda: families.aae(variational=True), None),
        # Dropout in three networks: their masks must follow on from the cut.
        (lambda: families.disentangling_ae(clf_z_steps=1), "all"),
        # Four optimizers and the class centres, a state beside the weights.
        (families.cvae_gan, "all"),
    ],
    ids=["semi_supervised_aae", "variational_aae", "disentangling_ae", "cvae_gan"],
)
def test_kill_and_resume_equals_an_uninterrupted_run(tmp_path, make, labels):
    x, y = np.tile(X, (2, 1, 1, 1)), np.tile(Y, 2)
    y = {"some": kl.data.hide_labels(y, 1, seed=0), "all": y, None: None}[labels]
    fit = dict(batch_size=8, epochs=4, verbose=0, shuffle=False)

    def run(folder, stop=None):
        keras.utils.set_random_seed(0)  # both runs start from the same weights
        model = make()
        model.compile()
        given = ([StopAfter(stop)] if stop is not None else []) + [
            callbacks.BackupAndRestore(folder, delete_on_end=False)
        ]
        model.fit(x, y, callbacks=given, **fit)
        return model

    whole = state_of(run(str(tmp_path / "whole")))
    with pytest.raises(KeyboardInterrupt):
        run(str(tmp_path / "cut"), stop=2)
    resumed = state_of(run(str(tmp_path / "cut")))
    assert resumed.keys() == whole.keys()
    assert any(k.startswith("seed generator") for k in whole)
    roles = len(make().optimizer_roles())
    assert roles >= 3 and sum(k.endswith(" iterations") for k in whole) == roles
    assert all(whole[k] == 4 * 4 for k in whole if k.endswith(" iterations"))
    for key in whole:
        np.testing.assert_allclose(resumed[key], whole[key], rtol=1e-5, atol=1e-6, err_msg=key)


def fit_killed_at(make, data, fit, folder, kills):
    """`make()`'s model after `fit` in `folder`, killed at the end of each epoch of
    `kills` (0-based) and started again each time, as a user would."""
    for stop in [*kills, None]:
        keras.utils.set_random_seed(0)  # every start builds the same weights
        model = make()
        model.compile(jit_compile=False)  # an XLA compile per leg costs the suite's time
        given = ([StopAfter(stop)] if stop is not None else []) + [
            callbacks.BackupAndRestore(folder, delete_on_end=False)
        ]
        try:
            model.fit(data(), callbacks=given, **fit)
        except KeyboardInterrupt:
            assert stop is not None
    return model


@pytest.mark.parametrize(
    "make, data, fit",
    [
        # A repeated dataset read through one iterator (steps_per_epoch): each
        # epoch reads 2 of the 3 batches a pass holds, so epochs cut passes.
        (lambda: families.disentangling_ae(clf_z_steps=1),
         lambda seed: families.disentangling_ae(clf_z_steps=1).training_dataset(
             np.tile(X, (3, 1, 1, 1)), np.tile(Y, 3), batch_size=4, seed=seed),
         dict(epochs=4, steps_per_epoch=2, verbose=0)),
        # A finite shuffled dataset, read afresh each epoch.
        (families.aae,
         lambda seed: kl.data.make_dataset(np.tile(X, (2, 1, 1, 1)), batch_size=8, seed=seed),
         dict(epochs=4, verbose=0)),
    ],
    ids=["repeated_dataset", "finite_dataset"],
)
def test_a_run_killed_several_times_equals_an_uninterrupted_one(tmp_path, make, data, fit):
    def run(folder, kills, seed=3):
        return state_of(fit_killed_at(make, lambda: data(seed), fit, str(tmp_path / folder), kills))

    whole, resumed = run("whole", []), run("cut", [1, 2])  # killed twice
    assert resumed.keys() == whole.keys()
    for key in whole:
        np.testing.assert_allclose(resumed[key], whole[key], rtol=1e-5, atol=1e-6, err_msg=key)
    # The order matters: on another shuffle the same run ends elsewhere.
    reshuffled = run("reshuffled", [], seed=4)
    assert max(np.abs(reshuffled[k] - whole[k]).max() for k in whole if k.startswith("weight")) > 1e-3


def test_seed_state_survives_a_keras_round_trip(tmp_path):
    model = families.aae()
    model.compile()
    model.fit(X, **FIT)
    path = str(tmp_path / "model.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert len(model.seed_states()) == len(loaded.seed_states())
    for a, b in zip(model.seed_states(), loaded.seed_states()):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    # One more epoch each: the same prior draws, so the same weights.
    model.fit(X, **dict(FIT, shuffle=False))
    loaded.fit(X, **dict(FIT, shuffle=False))
    for a, b in zip(model.weights, loaded.weights):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-6)


# Non-finite losses -----------------------------------------------------------------


class PoisonAt(keras.callbacks.Callback):
    """Sets the decoder's last kernel to NaN after `step` training batches.

    The last: a ReLU after a NaN kernel may give 0 on a CPU without XLA (oneDNN).
    """

    def __init__(self, step):
        super().__init__()
        self.step, self.seen = step, 0

    def on_train_batch_end(self, batch, logs=None):
        self.seen += 1
        if self.seen == self.step:
            kernel = self.model.decoder.get_layer("pixels").kernel
            kernel.assign(np.full(kernel.shape, np.nan, "float32"))


def test_a_loss_that_turns_nan_stops_the_run_naming_loss_step_and_checkpoint(tmp_path):
    model = families.aae()
    model.compile()
    backup = callbacks.BackupAndRestore(str(tmp_path), delete_on_end=False)
    with pytest.raises(callbacks.NonFiniteLossError) as caught:
        model.fit(X, callbacks=[backup, PoisonAt(5)], **dict(FIT, epochs=3))
    message = str(caught.value)
    assert "recon_loss" in message and "became nan" in message
    assert "epoch 3, batch 2 (step 6)" in message  # 2 batches an epoch; poisoned after 5
    assert os.path.join(str(tmp_path), "epoch-00002.weights.h5") in message
    assert not os.path.exists(os.path.join(str(tmp_path), "epoch-00003.weights.h5"))


def test_nan_pixels_in_a_dataset_stop_the_run_before_the_loss_sees_them():
    model = families.aae()
    model.compile()
    with pytest.raises(ValueError, match="^x: a batch of images holds NaN"):
        model.fit(dataset(nan_images()), epochs=1, verbose=0)
    # Without the input check (a raw Keras fit), the NaN reaches the loss and the
    # callback stops the run there instead of training into NaN weights.
    with pytest.raises(callbacks.NonFiniteLossError, match="became nan at epoch 1, batch 1"):
        keras.Model.fit(model, dataset(nan_images()), epochs=1, verbose=0, shuffle=False,
                        callbacks=[callbacks.StopOnNonFinite()])
