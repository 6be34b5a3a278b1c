"""Callbacks for long runs: resuming after a kill, stopping on NaN, drawing progress.

`BackupAndRestore` keeps the last epochs' training state on disk, written so
that a kill at any moment leaves one to resume from; `StopOnNonFinite` stops a
run whose loss turns NaN or infinite, naming the loss, the step and the
checkpoint to go back to (every keras-latent model's `fit` adds it);
`ImageGrids` decodes the same inputs every N steps (fixed noise for a GAN, one
label's latent grid for a VAE) into PNG grids in the run's folder, and
`join_frames` joins every leg's frames into an animated GIF (Pillow, no ffmpeg);
`TrainingClock` sums the steps and training time of a run over its resumed legs,
and `MeasureEvery` keeps a curve of any measure (a test error) across them.
"""

import json
import math
import os
import shutil
import threading
import time

import keras
import numpy as np

from keras_latent import checkpoints, distribute, plotting
from keras_latent.checks import check_number

STATE_FILE = "state.json"


class BackupAndRestore(keras.callbacks.Callback):
    """Saves the training state every epoch; a restarted `fit` resumes from it.

    Keras' `BackupAndRestore`, written so that no interruption can break a
    resume: each epoch's weights (networks, every optimizer's slots and
    iteration count, the model's random-number state) go to
    `epoch-<N>.weights.h5` through a temporary file and a rename, and only then
    does `state.json` (itself replaced atomically) name it. On start, leftover
    partial files are reported and removed, and training resumes after the
    newest listed epoch whose file reads through, else from scratch. The last
    `keep` epochs are kept.

    Across machines (`MultiWorkerMirroredStrategy`) every worker saves, but only
    the chief into `backup_dir`, the others into scratch folders
    (`distribute.write_dir`); every worker resumes from the chief's files, so
    `backup_dir` must be on a disk they all read. Workers that find different
    epochs to resume from raise `ValueError` rather than train apart.

    Resuming restores the epoch count, not the position inside an epoch: a run
    killed mid-epoch repeats that epoch from its start. A keras-latent model's
    `fit` also starts a `tf.data.Dataset` where the backed-up epochs left it
    (it skips the batches they read, which runs the pipeline over them), so
    with a seeded shuffle (or none) a resumed run equals an uninterrupted one,
    weight for weight; not so for a dataset of unknown length (after a
    `filter`), which Keras reads a fresh pass each epoch. NumPy arrays
    resume exactly with `shuffle=False`; with Keras' `shuffle=True`, only after
    the same `keras.utils.set_random_seed` (Keras 3.15 then shuffles every
    epoch into one order; without a seed each process draws its own).

    Args:
        backup_dir: str. Folder of the backup, one per run.
        keep: int. Epochs kept, newest first. Defaults to 2.
        delete_on_end: bool. Remove `backup_dir` when `fit` finishes normally.
            Defaults to True.

    Example:

    >>> import tempfile, keras_latent as kl
    >>> (x, _), _ = kl.data.load_dataset("digits")
    >>> aae = kl.AdversarialAutoencoder(
    ...     kl.build_encoder(x.shape[1:], hidden_units=(32,)),
    ...     kl.build_decoder(x.shape[1:], hidden_units=(32,)),
    ...     kl.build_code_discriminator(hidden_units=(32,)), seed=0)
    >>> aae.compile()
    >>> backup = BackupAndRestore(tempfile.mkdtemp(), delete_on_end=False)
    >>> history = aae.fit(x[:200], batch_size=100, epochs=2, callbacks=[backup], verbose=0)
    >>> os.path.basename(backup.last_good)
    'epoch-00002.weights.h5'
    """

    # Counting batches reads no log, so Keras may run it off the training loop; it
    # waits for those calls before `on_epoch_end`.
    async_safe = True

    def __init__(self, backup_dir, keep=2, delete_on_end=True):
        super().__init__()
        if not backup_dir:
            raise ValueError(f"backup_dir: expected a folder name; got {backup_dir!r}.")
        self.backup_dir = str(backup_dir)
        self.keep = check_number(keep, "keep", minimum=1, integer=True, what="epochs")
        self.delete_on_end = delete_on_end
        self.last_good = None
        self._entries = []
        self._batches = 0
        self._lock = threading.Lock()

    def _read_state(self):
        path = os.path.join(self.backup_dir, STATE_FILE)
        legacy = os.path.join(self.backup_dir, "training_metadata.json")
        try:
            if os.path.exists(path):
                with open(path) as f:
                    return list(json.load(f)["checkpoints"])
            if os.path.exists(legacy):  # written by keras.callbacks.BackupAndRestore
                with open(legacy) as f:
                    return [{"epoch": json.load(f)["epoch"], "weights": "latest.weights.h5"}]
        except (ValueError, KeyError, TypeError) as error:
            print(f"ignoring {path}: unreadable ({error})")
        return []

    def resume_point(self, verbose=False):
        """The newest backed-up epoch whose weights read through: `{"epoch",
        "weights"}`, or None when there is nothing to resume from."""
        for entry in reversed(self._read_state()):
            path = os.path.join(self.backup_dir, entry["weights"])
            if checkpoints.readable_weights(path):
                return entry
            if verbose:
                print(f"ignoring {path}: missing or damaged; trying an earlier epoch")
        return None

    def position(self):
        """`(epochs, batches)` a `fit` started now resumes after: `(0, 0)` when it
        starts afresh; `batches` (those the epochs read) None when not recorded.

        A keras-latent model's `fit` reads it before training, to start a
        dataset where the backed-up epochs left it (`data.epoch_stream`).
        """
        found = self.resume_point()
        if found is None:
            return 0, 0
        return int(found["epoch"]), found.get("batches")

    def on_epoch_begin(self, epoch, logs=None):
        self._batches = 0

    def on_train_batch_end(self, batch, logs=None):
        # Keras may run this off the loop, in several threads and out of order
        # (`async_safe`); with steps_per_execution `batch` is an execution's last.
        with self._lock:
            self._batches = max(self._batches, batch + 1)

    def on_train_begin(self, logs=None):
        strategy = self.model.distribute_strategy
        if distribute.is_chief(strategy):
            checkpoints.remove_partial_files(self.backup_dir)
        self._entries = []
        found = self.resume_point(verbose=True)
        distribute.agreed(
            found["epoch"] if found else 0, "backup_dir",
            f"the epoch to resume from in {self.backup_dir}", strategy,
        )
        if found is None:
            return
        path = os.path.join(self.backup_dir, found["weights"])
        self.model.load_weights(path)
        self.model._initial_epoch = int(found["epoch"])  # what Keras' own uses
        self.last_good = path
        self._entries = [found]
        print(f"resuming after epoch {found['epoch']} from {path}")

    def on_epoch_end(self, epoch, logs=None):
        # A scratch folder on workers other than the chief.
        folder = distribute.write_dir(self.backup_dir, self.model.distribute_strategy)
        name = f"epoch-{epoch + 1:05d}.weights.h5"
        checkpoints.save_weights(self.model, os.path.join(folder, name))
        before = self._entries[-1].get("batches") if self._entries else 0
        entry = {"epoch": epoch + 1, "weights": name}
        if before is not None:
            entry["batches"] = before + self._batches
        entries = (self._entries + [entry])[-self.keep :]
        checkpoints.write_json(os.path.join(folder, STATE_FILE), {"checkpoints": entries})
        kept = {entry["weights"] for entry in entries} | {STATE_FILE}
        for old in os.listdir(folder):
            if old not in kept and (old.endswith(".weights.h5") or old.endswith(".json")):
                os.remove(os.path.join(folder, old))
        self._entries = entries
        self.last_good = os.path.join(self.backup_dir, name)

    def on_train_end(self, logs=None):
        if self.delete_on_end and distribute.is_chief(self.model.distribute_strategy):
            shutil.rmtree(self.backup_dir, ignore_errors=True)


class NonFiniteLossError(FloatingPointError):
    """Raised by `StopOnNonFinite` when a loss turns NaN or infinite."""


class StopOnNonFinite(keras.callbacks.Callback):
    """Stops training with `NonFiniteLossError` once any logged value is NaN or inf.

    Keras' `TerminateOnNaN` watches `loss` alone and lets `fit` return as if it
    had finished; a keras-latent model logs one loss per network, and a run that
    diverged should not be saved as finished. The error names the loss, the
    epoch and batch, and the last good checkpoint of a `BackupAndRestore` given
    as `backup` (a restarted run resumes from it). Every keras-latent model's
    `fit` adds this callback unless one is passed or `check_finite=False`.

    The values are read off the training loop (`async_safe`), so on a GPU the
    check does not hold up the next step; the error surfaces a step or two
    after the bad one, before any later epoch is backed up.

    Args:
        backup: a `BackupAndRestore` (ours or Keras') or None.
    """

    async_safe = True

    def __init__(self, backup=None):
        super().__init__()
        self.backup = backup
        self._epoch = 0
        self._lock = threading.Lock()

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def _checkpoint(self):
        if self.backup is None:
            return "none (pass callbacks=[keras_latent.callbacks.BackupAndRestore(folder)])"
        good = getattr(self.backup, "last_good", None)
        if good is None and isinstance(self.backup, keras.callbacks.BackupAndRestore):
            good = self.backup.backup_dir
        return good or f"none yet in {self.backup.backup_dir} (no epoch had finished)"

    def on_train_batch_end(self, batch, logs=None):
        bad = sorted(
            name for name, value in (logs or {}).items()
            if np.ndim(value) == 0 and not math.isfinite(float(value))
        )
        if not bad:
            return
        with self._lock:
            steps = self.params.get("steps") if self.params else None
            where = f"epoch {self._epoch + 1}, batch {batch + 1}"
            if steps:
                where += f" (step {self._epoch * steps + batch + 1})"
            self.model.stop_training = True
            raise NonFiniteLossError(
                f"{', '.join(bad)} became {float(logs[bad[0]])} at {where}. The last "
                f"good checkpoint: {self._checkpoint()}. Check the data for NaN, or "
                "lower the learning rates; a restarted run resumes from the checkpoint."
            )


def frame_path(folder, prefix, step):
    """The file `ImageGrids` draws the frame of `step` into."""
    return os.path.join(folder, f"{prefix}_step{step:07d}.png")


def join_frames(folder, prefix, every, steps, path, fps=4):
    """Joins the frames `ImageGrids` drew at steps 0, `every`, 2 `every`, ... and
    `steps` into an animated GIF at `path`; returns `path`, or None without frames.

    The frames are read from `folder`, so the GIF of a resumed run (or of one
    whose finished model was loaded) holds every leg's; frames of other runs in
    the folder, at other steps, stay out.
    """
    from PIL import Image

    drawn = sorted({*range(0, steps + 1, every), steps})
    paths = [frame_path(folder, prefix, step) for step in drawn]
    frames = []
    for frame in filter(os.path.exists, paths):
        try:
            frames.append(Image.open(frame).convert("RGB"))
        except (OSError, SyntaxError) as error:  # cut short by a kill while drawn
            print(f"ignoring {frame}: unreadable ({error})")
    if not frames:
        return None
    # Tight bounding boxes can differ by a pixel between frames: one canvas for all.
    size = tuple(max(frame.size[i] for frame in frames) for i in range(2))
    canvases = []
    for frame in frames:
        canvas = Image.new("RGB", size, "white")
        canvas.paste(frame, ((size[0] - frame.size[0]) // 2, (size[1] - frame.size[1]) // 2))
        canvases.append(canvas.reduce(2))  # half size: a long run's GIF stays a few MB
    canvases[0].save(path, save_all=True, append_images=canvases[1:], duration=1000 // fps, loop=0)
    return path


class ImageGrids(keras.callbacks.Callback):
    """Saves `draw(model)` as an image grid every `every` training steps.

    Frames are named `<prefix>_step<step>.png` inside `folder`. Steps are
    counted as Keras counts epochs: from `initial_epoch`, which a
    `BackupAndRestore` sets when it resumes a run, so a resumed run numbers its
    frames on from where it stopped. A frame is drawn before the first step
    and after the last one too. With `gif`, the frames on disk are joined at
    the end into `<folder>/<gif>` (`join_frames`: every leg's).

    Args:
        draw: callable. `draw(model)` returns images `(N, H, W, C)` in [0, 1];
            keep its inputs fixed (fixed noise, fixed codes) so frames compare.
        folder: str. Output folder (created), the run's own, e.g. `<out>/grids`.
        every: int. Steps between frames. Defaults to 500.
        ncols: int. Images per row. Defaults to 4.
        prefix: str. File name prefix. Defaults to `"grid"`.
        gif: str or None. File name of an animated GIF of the frames. Defaults
            to None (no GIF).
        fps: int. Frames per second of the GIF. Defaults to 4.

    Example:

    >>> import numpy as np, tempfile, keras_latent as kl
    >>> (x, _), _ = kl.data.load_dataset("digits")
    >>> aae = kl.AdversarialAutoencoder(
    ...     kl.build_encoder(x.shape[1:], hidden_units=(32,)),
    ...     kl.build_decoder(x.shape[1:], hidden_units=(32,)),
    ...     kl.build_code_discriminator(hidden_units=(32,)), seed=0)
    >>> aae.compile()
    >>> z = np.random.default_rng(0).normal(size=(16, 2))
    >>> folder = tempfile.mkdtemp()
    >>> grids = ImageGrids(lambda model: model.decode(z), folder, every=10, gif="training.gif")
    >>> history = aae.fit(x[:400], batch_size=100, epochs=5, callbacks=[grids], verbose=0)
    >>> [os.path.basename(p) for p in grids.paths]   # 20 steps: 3 frames and the GIF
    ['grid_step0000000.png', 'grid_step0000010.png', 'grid_step0000020.png', 'training.gif']
    """

    def __init__(self, draw, folder, every=500, ncols=4, prefix="grid", gif=None, fps=4):
        super().__init__()
        if not callable(draw):
            raise ValueError(f"draw: expected a callable draw(model); got {draw!r}.")
        self.draw = draw
        self.folder = folder
        self.every = check_number(every, "every", minimum=1, integer=True, what="steps")
        self.ncols = ncols
        self.prefix = prefix
        self.gif = gif
        self.fps = fps
        self.paths = []
        self._step = None
        self._epoch_start = 0
        self._last = None

    def _save_frame(self):
        step = self._step
        if step == self._last:
            return
        self._last = step
        images = np.asarray(self.draw(self.model), "float32")
        fig = plotting.image_grid(images, ncols=self.ncols, title=f"step {step}")
        self.paths.append(plotting.save(fig, frame_path(self.folder, self.prefix, step)))

    def on_train_begin(self, logs=None):
        os.makedirs(self.folder, exist_ok=True)
        self._step = None

    def on_epoch_begin(self, epoch, logs=None):
        steps = (self.params or {}).get("steps")
        first = self._step is None
        # After every callback's on_train_begin, so after a backup was restored
        # and the epoch count set, whatever the callbacks' order. Without a known
        # epoch length the count goes on from this fit's start.
        self._epoch_start = epoch * steps if steps else (self._step or 0)
        self._step = self._epoch_start
        if first and self._step % self.every == 0:
            self._save_frame()

    def on_train_batch_end(self, batch, logs=None):
        # `batch` is the last of the execution (steps_per_execution > 1 runs several).
        before, self._step = self._step, self._epoch_start + batch + 1
        if self._step // self.every > before // self.every:
            self._save_frame()

    def on_train_end(self, logs=None):
        if self._step is None:  # nothing ran (a finished run resumed)
            return
        self._save_frame()
        if self.gif:
            path = join_frames(
                self.folder, self.prefix, self.every, self._step,
                os.path.join(self.folder, self.gif), self.fps,
            )
            if path:
                self.paths.append(path)


class TrainingClock(keras.callbacks.Callback):
    """Sums a model's training time over the legs of a resumed run, in a JSON file.

    At each epoch's end it writes `{"steps", "train_time_s"}` to `path`: the
    steps taken in all (epochs finished times steps per epoch) and the seconds
    spent training in every leg so far. A leg starts from the file's count, so
    put it beside a `BackupAndRestore` and delete the file when training starts
    afresh. A leg killed mid-epoch adds nothing for that epoch; the leg that
    repeats it does.

    Args:
        path: str. The JSON file.
        write: bool. False on the workers that must not write (across machines,
            every worker but the chief). Defaults to True.

    Example:

    >>> import os, tempfile
    >>> import numpy as np, keras
    >>> model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    >>> model.compile("sgd", "mse")
    >>> clock = TrainingClock(os.path.join(tempfile.mkdtemp(), "time.json"))
    >>> _ = model.fit(np.zeros((8, 2)), np.zeros(8), batch_size=4, epochs=3, verbose=0,
    ...               callbacks=[clock])
    >>> clock.read()["steps"]
    6
    """

    def __init__(self, path, write=True):
        super().__init__()
        self.path, self.write = path, write
        self.this_leg_s = 0.0

    def read(self):
        """`{"steps", "train_time_s"}` from the file; None values without one."""
        try:
            with open(self.path) as f:
                record = json.load(f)
            return {"steps": record["steps"], "train_time_s": record["train_time_s"]}
        except (OSError, ValueError, KeyError, TypeError):
            return {"steps": None, "train_time_s": None}

    def on_train_begin(self, logs=None):
        self._before = self.read()["train_time_s"] or 0.0
        self._started = time.time()

    def on_epoch_end(self, epoch, logs=None):
        self.this_leg_s = time.time() - self._started
        if self.write:
            checkpoints.write_json(self.path, {
                "steps": (epoch + 1) * (self.params.get("steps") or 0),
                "train_time_s": round(self._before + self.this_leg_s, 1),
            })


class MeasureEvery(keras.callbacks.Callback):
    """Measures the model every few epochs and keeps the values across resumes.

    Every `every` epochs it calls `measure(model)` and writes the curve so far to
    `path` (JSON, atomically), keyed by epoch: a resumed run (`BackupAndRestore`)
    adds its epochs to the same curve, and an epoch repeated after a kill
    replaces its value. Delete the file when training starts afresh.

    Args:
        path: str. The JSON file.
        measure: callable. `measure(model)` returns a float.
        every: int. Epochs between measurements. Defaults to 1.
        write: bool. False on the workers that must not write (across machines,
            every worker but the chief); they still measure. Defaults to True.

    Example:

    >>> import os, tempfile
    >>> import numpy as np, keras
    >>> model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    >>> model.compile("sgd", "mse")
    >>> x, y = np.ones((8, 2)), np.zeros(8)
    >>> curve = MeasureEvery(os.path.join(tempfile.mkdtemp(), "curve.json"),
    ...                      lambda m: m.evaluate(x, y, verbose=0), every=2)
    >>> _ = model.fit(x, y, batch_size=4, epochs=4, verbose=0, callbacks=[curve])
    >>> [steps for steps, _ in curve.read()]
    [4, 8]
    """

    def __init__(self, path, measure, every=1, write=True):
        super().__init__()
        self.every = check_number(every, "every", minimum=1, integer=True, what="epochs")
        self.path, self.measure, self.write = path, measure, write

    def _records(self):
        try:
            with open(self.path) as f:
                return {int(epoch): record for epoch, record in json.load(f).items()}
        except (OSError, ValueError, AttributeError):
            return {}

    def read(self):
        """The curve: `[(steps, value), ...]` in order of steps."""
        return [(r["steps"], r["value"]) for _, r in sorted(self._records().items())]

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every:
            return
        value = float(self.measure(self.model))
        if self.write:
            records = self._records()
            records[epoch + 1] = {
                "steps": (epoch + 1) * (self.params.get("steps") or 0), "value": value
            }
            checkpoints.write_json(self.path, {str(k): v for k, v in sorted(records.items())})
