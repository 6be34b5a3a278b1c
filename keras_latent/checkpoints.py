"""Files a run can be killed while writing: written whole or not at all.

Every file here is first written under a temporary name in its own folder
(`.partial-<pid>-<name>`), flushed to disk and then renamed over its final
name, which is atomic on one file system: a kill, a Ctrl-C or a full disk
leaves the previous version (or none) under the final name, never half a file.
A leftover partial file is reported in one line and removed by
`remove_partial_files`, which `callbacks.BackupAndRestore` runs on every start.

Example:

>>> import os, tempfile, keras
>>> from keras_latent import checkpoints
>>> model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
>>> folder = tempfile.mkdtemp()
>>> checkpoints.save_model(model, os.path.join(folder, "line.keras"))
>>> checkpoints.load_model(os.path.join(folder, "line.keras")).output_shape
(None, 1)
"""

import json
import os

import h5py

PARTIAL_PREFIX = ".partial-"


def _partial_path(path):
    folder, name = os.path.split(os.path.abspath(path))
    return os.path.join(folder, f"{PARTIAL_PREFIX}{os.getpid()}-{name}")


def _commit(partial, path):
    """Makes the fully written `partial` file the file `path`."""
    os.replace(partial, path)


def write_atomically(path, write):
    """Calls `write(temporary_path)`, then renames the result to `path`.

    The temporary file sits in `path`'s folder and keeps its file name as a
    suffix, so a writer that checks the extension (`.keras`, `.weights.h5`)
    accepts it. On any error, or an interrupt, it is removed and `path` is left
    as it was.
    """
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    partial = _partial_path(path)
    try:
        write(partial)
        with open(partial, "rb+") as f:
            os.fsync(f.fileno())
        _commit(partial, path)
    finally:
        if os.path.exists(partial):
            os.remove(partial)


def write_text(path, text):
    """Writes `text` to `path` atomically."""

    def write(partial):
        with open(partial, "w") as f:
            f.write(text)

    write_atomically(path, write)


def write_json(path, value):
    """Writes `value` as indented JSON to `path` atomically."""
    write_text(path, json.dumps(value, indent=2) + "\n")


def save_model(model, path):
    """`model.save(path)` (a `.keras` file), atomically."""
    write_atomically(path, model.save)


def save_weights(model, path):
    """`model.save_weights(path)` (a `.weights.h5` file), atomically."""
    write_atomically(path, model.save_weights)


def remove_partial_files(folder):
    """Removes the partial files a killed writer left in `folder`, one line each.

    Returns the removed paths.
    """
    if not os.path.isdir(folder):
        return []
    removed = []
    for name in sorted(os.listdir(folder)):
        if name.startswith(PARTIAL_PREFIX):
            path = os.path.join(folder, name)
            print(f"removing {path}: a file whose writing was interrupted")
            os.remove(path)
            removed.append(path)
    return removed


def readable_weights(path):
    """Whether the `.weights.h5` file `path` reads through to its last value.

    Reads every array without touching a model, so a damaged file can be
    skipped before a model is half loaded from it.
    """
    try:
        with h5py.File(path, "r") as f:
            f.visititems(lambda name, item: item[()] if isinstance(item, h5py.Dataset) else None)
    except (OSError, KeyError, ValueError, RuntimeError):
        return False
    return True


def load_model(path):
    """`keras.saving.load_model(path)`, or None (with one line) where it is unreadable.

    Models of keras-latent load only after `import keras_latent`, which this
    module's package import does.
    """
    import keras

    if not os.path.exists(path):
        return None
    try:
        return keras.saving.load_model(path)
    except Exception as error:  # A damaged zip raises anything from BadZipFile to KeyError.
        print(f"ignoring {path}: it cannot be loaded ({type(error).__name__}: {error})")
        return None
