"""What every reproduction script shares: its command line, data, checkpoints and metrics.

Each script keeps its article's settings in one dict, `SETTINGS`, and names other
recipes in `RECIPES` (`{name: changes to SETTINGS}`), chosen with `--recipe`; the
default recipe, `article`, is `SETTINGS` itself. `--quick` derives a small run and
`--set KEY=VALUE` overrides one setting on top of the recipe. Output goes into one
folder per run (`figures/<script>/<recipe>/` by default): PNG figures,
`metrics.json` (metric values, recipe, settings, seed, wall time, library versions)
and, in `checkpoints/`, finished models and mid-run backups, so a stopped run
resumes where it was.
"""

import argparse
import json
import os
import platform
import shutil
import sys
import time
import zlib

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


DISTRIBUTE = ("none", "mirrored", "multiworker")

# The run's --precision and --distribute, set by `start`: in metrics.json, and the
# precision in every model's stamp.
RUN = {}

# What each model of this run cost to train, summed over every leg of a resumed run:
# `{tag: {"steps", "train_time_s"}}`, filled by `fit_or_resume`, read by
# `write_metrics`, emptied by `start`.
TRAINED = {}


# The recipe a script runs unless `--recipe` names another: its article's settings.
DEFAULT_RECIPE = "article"


def parse_args(name, doc, argv=None, add_arguments=None, recipes=()):
    """Parses the shared options: --recipe, --quick, --out, --seed, --data-dir,
    --dataset, --epochs, --set, --distribute, --precision."""
    parser = argparse.ArgumentParser(
        prog=f"{name}.py",
        description=(doc or "").strip().splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--recipe",
        choices=(DEFAULT_RECIPE, *recipes),
        default=DEFAULT_RECIPE,
        help=f"{DEFAULT_RECIPE} (default): the article's settings; the others are "
        "described in the script's docstring and its page under docs/",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a few hundred steps on a subset (a smoke test, not a result)",
    )
    parser.add_argument(
        "--out",
        default=None,
        help=f"output folder (default figures/{name}/RECIPE/, or runs/{name}-quick/RECIPE/ "
        "with --quick)",
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument(
        "--data-dir",
        default=None,
        help="folder of MNIST IDX files (default $KERAS_LATENT_DATA_DIR, else a download)",
    )
    parser.add_argument(
        "--dataset",
        default=None,
        help="mnist, fashion_mnist, digits or a path to an .npz (default mnist)",
    )
    parser.add_argument(
        "--epochs", type=int, default=None,
        help="the 'epochs' setting (scripts of several parts: --set epochs_<part>=N)",
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override one of the script's settings (printed at the start); VALUE is "
        'read as JSON where it parses, e.g. --set code_loss=gaussian --set "units=[64, 64]"',
    )
    parser.add_argument(
        "--keep-checkpoints",
        action="store_true",
        help="keep a --quick run's checkpoints/ (a full run always keeps them)",
    )
    parser.add_argument(
        "--distribute",
        choices=DISTRIBUTE,
        default="none",
        help="none (default); mirrored: every local GPU; multiworker: the machines "
        "named in $TF_CONFIG (batch sizes stay global: the same maths on any count)",
    )
    parser.add_argument(
        "--precision",
        choices=("float32", "mixed"),
        default="float32",
        help="float32 (default) or mixed: mixed_float16 on a GPU, mixed_bfloat16 on a CPU",
    )
    if add_arguments is not None:
        add_arguments(parser)
    args = parser.parse_args(argv)
    # Only a run that names no data may fall back to a stand-in (see `_load`).
    args.data_named = bool(
        args.dataset or args.data_dir or os.environ.get("KERAS_LATENT_DATA_DIR")
    )
    args.dataset = args.dataset or "mnist"
    if args.out is None:
        sub = ("runs", f"{name}-quick") if args.quick else ("figures", name)
        args.out = os.path.join(REPO_ROOT, *sub, args.recipe)
    return args


def settings_for(args, full, quick, recipes=None):
    """The run's settings: `full`, changed by the recipe `args.recipe` (one of
    `recipes`), by `quick` under --quick and by --epochs and --set."""
    settings = dict(full)
    recipe = getattr(args, "recipe", DEFAULT_RECIPE)
    if recipe != DEFAULT_RECIPE:
        settings.update((recipes or {})[recipe])
    if args.quick:
        settings.update(quick)
    settings["dataset"] = args.dataset
    if args.epochs is not None:
        if "epochs" not in full:
            raise ValueError(
                "--epochs: this script has no 'epochs' setting; set its parts' lengths "
                f"with --set, one of {sorted(k for k in full if 'epochs' in k)}."
            )
        settings["epochs"] = args.epochs
    for pair in getattr(args, "set", None) or ():
        key, sep, text = pair.partition("=")
        if not sep or key not in full:
            raise ValueError(
                f"--set: expected KEY=VALUE with KEY one of {sorted(full)}; got {pair!r}."
            )
        try:
            settings[key] = json.loads(text)
        except ValueError:
            settings[key] = text  # a bare word such as gaussian
    return settings


def start(name, args, settings):
    """`prepare(args)`, then `announce(name, args, settings)`: for a run whose
    settings are final before its data is loaded. Returns the start time."""
    prepare(args)
    return announce(name, args, settings)


def prepare(args):
    """Sets up distribution and precision (before any other TensorFlow work,
    loading included), seeds every generator and makes the output folder."""
    import keras

    from keras_latent import checkpoints, distribute

    configure(args)
    # The run's seed. Scripts of several models seed each model again with its own
    # seed before building it, so that one part run alone trains the same model.
    keras.utils.set_random_seed(args.seed)
    TRAINED.clear()
    CLASSIFIER.clear()
    RUN.clear()
    RUN.update(precision=args.precision, distribute=args.distribute)
    # Across machines the chief writes --out; every other worker writes a scratch
    # copy (its saves must run too) and reads the chief's checkpoints.
    args.shared_out = args.out
    args.out = distribute.write_dir(args.out)
    if args.out != args.shared_out:
        print(f"not the chief: the chief writes {args.shared_out}; this worker {args.out}")
    os.makedirs(args.out, exist_ok=True)
    # A metrics.json a kill left half written (`checkpoints.write_json`) goes first.
    checkpoints.remove_partial_files(args.out)


def announce(name, args, settings):
    """Prints the recipe and the final settings; returns the start time."""
    recipe = getattr(args, "recipe", DEFAULT_RECIPE)
    print(f"{name}: {'QUICK smoke run' if args.quick else 'full run'} of the "
          f"{recipe!r} recipe, seed {args.seed}")
    print(json.dumps(settings, indent=2))
    print(f"writing to {args.out}")
    return time.time()


def begin(name, doc, argv, full, quick, recipes=None, adjust=None):
    """What every script's `main` starts with: the command line, the recipe's
    settings, the data and the banner.

    The settings are final when they are printed (the dataset a --quick run fell
    back to included, and whatever `adjust(settings)` changes once the strategy is
    set): `metrics.json` records the same dict.
    Returns `(args, settings, started, (x_train, y_train), (x_test, y_test))`.
    """
    args = parse_args(name, doc, argv, recipes=tuple(recipes or ()))
    settings = settings_for(args, full, quick, recipes)
    prepare(args)
    train, test = load_data(args, settings)
    if adjust is not None:
        adjust(settings)
    started = announce(name, args, settings)
    return args, settings, started, train, test


def stamp(settings, seed, selectors=(), **extra):
    """What a finished model was built and trained from: every setting but the
    `selectors` (settings that only choose which models a run trains, such as a
    list of parts), its seed and `extra`.

    `fit_or_resume` reuses a finished model only under an equal stamp, so changing
    any other setting trains the model afresh, whether or not the model reads it.
    """
    record = {
        "settings": {k: v for k, v in settings.items() if k not in selectors},
        "seed": seed,
        **extra,
    }
    # Mixed precision changes the maths; float32 (the default) adds nothing, so the
    # stamps of float32 runs stay as they were.
    if RUN.get("precision", "float32") != "float32":
        record["precision"] = RUN["precision"]
    return record


def configure(args):
    """Applies `--distribute` and `--precision` for everything the script builds.

    The strategy becomes TensorFlow's current one (as inside `strategy.scope()`),
    so models, optimizers and their variables are created under it and `fit`
    splits each global batch across the replicas. Call before any other
    TensorFlow work (MultiWorkerMirroredStrategy requires it).
    """
    import keras
    import tensorflow as tf

    if args.distribute == "mirrored":
        strategy = tf.distribute.MirroredStrategy()
    elif args.distribute == "multiworker":
        strategy = tf.distribute.MultiWorkerMirroredStrategy()
    else:
        strategy = None
    if strategy is not None:
        tf.distribute.experimental_set_strategy(strategy)
        print(f"--distribute {args.distribute}: {strategy.num_replicas_in_sync} replicas")
    if args.precision == "mixed":
        gpu = bool(tf.config.list_physical_devices("GPU"))
        policy = "mixed_float16" if gpu else "mixed_bfloat16"
        keras.mixed_precision.set_global_policy(policy)
        print(f"--precision mixed: {policy}")
    return strategy


def load_data(args, settings):
    """Loads `args.dataset`, cut to `settings["train_size"]` training images and
    `settings["test_size"]` test images when they are set.

    A --quick run that names no data (no --dataset, --data-dir or
    $KERAS_LATENT_DATA_DIR) falls back to `digits` when MNIST cannot be
    downloaded; data that was named and cannot be read is an error.
    `settings["dataset"]` records what was loaded.
    """
    (x_train, y_train), test = _load(args)
    settings["dataset"] = args.dataset
    if settings.get("train_size"):
        x_train, y_train = x_train[: settings["train_size"]], y_train[: settings["train_size"]]
    if settings.get("test_size"):
        test = tuple(part[: settings["test_size"]] for part in test)
    return (x_train, y_train), test


def _load(args):
    from keras_latent import data

    try:
        return data.load_dataset(args.dataset, data_dir=args.data_dir)
    except data.DatasetUnavailableError as error:
        if not args.quick or getattr(args, "data_named", True):
            raise
        banner = "!" * 78
        print(
            f"\n{banner}\n! {args.dataset} is unavailable: {error}\n"
            "! --quick falls back to scikit-learn's 8x8 digits resized to 28x28.\n"
            "! These figures are NOT comparable with figures/.\n"
            f"{banner}\n",
            file=sys.stderr,
        )
        args.dataset = "digits"
        return data.load_dataset("digits")


def fit_or_resume(build, x, fit_kwargs, checkpoint_dir, tag, stamp, y=None, measures=None):
    """Trains `build()`'s model, or loads a finished copy trained with the same `stamp`.

    A finished model is saved as `<checkpoint_dir>/<tag>.keras` beside `<tag>.json`,
    the settings it was trained with (`stamp`); a copy with other settings is
    trained afresh. While a model trains, `callbacks.BackupAndRestore` keeps its
    last finished epochs in `<tag>-backup/`, so a killed run resumes from there.
    Every file is written atomically (`keras_latent.checkpoints`): a kill while
    one is written leaves a partial file that the next start reports and
    removes, and a finished model that cannot be loaded is trained again
    (resuming from its backup). NumPy arrays go to `fit` as a dataset shuffled
    with a seed drawn from `stamp`, so a resumed run reads the batches an
    uninterrupted one would. `<tag>.time.json` (`callbacks.TrainingClock`)
    counts the model's steps and training time over every leg; `TRAINED[tag]`
    holds them for `write_metrics`. `measures`, `{name: (measure, every)}`, are
    measured every `every` epochs into `<tag>.<name>.json`
    (`callbacks.MeasureEvery`); `TRAINED[tag]["curves"][name]` holds each curve,
    `[(steps, value), ...]`, over every leg.
    """
    from keras_latent import callbacks, checkpoints, data, distribute

    chief = distribute.is_chief()  # across machines the chief alone writes here
    if chief:
        os.makedirs(checkpoint_dir, exist_ok=True)
        checkpoints.remove_partial_files(checkpoint_dir)
    final = os.path.join(checkpoint_dir, f"{tag}.keras")
    stamp_path = os.path.join(checkpoint_dir, f"{tag}.json")
    wanted = json.dumps(stamp, sort_keys=True)
    backup = os.path.join(checkpoint_dir, f"{tag}-backup")
    same = False
    if os.path.exists(stamp_path):
        with open(stamp_path) as f:
            same = f.read() == wanted
    # Across machines, loading is collective: the workers agree first.
    clock = callbacks.TrainingClock(os.path.join(checkpoint_dir, f"{tag}.time.json"), write=chief)
    curves = {
        name: callbacks.MeasureEvery(
            os.path.join(checkpoint_dir, f"{tag}.{name}.json"), measure, every, write=chief
        )
        for name, (measure, every) in (measures or {}).items()
    }

    def record(this_leg_s):
        TRAINED[tag] = {
            **clock.read(), "this_leg_s": this_leg_s,
            "curves": {name: curve.read() for name, curve in curves.items()},
        }
    model = None
    found = same and os.path.exists(final)
    if distribute.agreed(found, "checkpoint_dir", f"the finished {final}"):
        model = checkpoints.load_model(final)
        distribute.agreed(model is not None, "checkpoint_dir", f"a readable {final}")
    if model is not None:
        print(f"{tag}: loading the finished model from {final}")
        record(0.0)
        return model
    if chief:
        if os.path.exists(stamp_path) and not same:
            print(f"{tag}: checkpoints hold other settings; training afresh")
            shutil.rmtree(backup, ignore_errors=True)
            if os.path.exists(final):
                os.remove(final)
        checkpoints.write_text(stamp_path, wanted)
        if not os.path.isdir(backup):  # nothing to resume: clock and curves start again
            for path in [clock.path] + [curve.path for curve in curves.values()]:
                if os.path.exists(path):
                    os.remove(path)
    distribute.barrier()  # no worker reads the backup before the chief has cleared it
    model = build()
    if not hasattr(x, "element_spec"):
        # Keras 3.15 shuffles arrays into one order for every epoch under a global
        # seed (and into a process's own without one); a dataset seeded by the
        # stamp is reshuffled each epoch and resumes in the same order.
        fit_kwargs = dict(fit_kwargs)
        x = data.make_dataset(
            x, y, batch_size=fit_kwargs.pop("batch_size", 32),
            shuffle=fit_kwargs.pop("shuffle", True), seed=zlib.crc32(wanted.encode()),
        )
        y = None
    given = list(fit_kwargs.pop("callbacks", []))
    saver = callbacks.BackupAndRestore(backup, delete_on_end=False)
    model.fit(x, y, callbacks=given + [saver, clock, *curves.values()], **fit_kwargs)
    record(clock.this_leg_s)
    # Every worker saves (a save can read variables across workers); the chief here.
    folder = distribute.write_dir(checkpoint_dir)
    os.makedirs(folder, exist_ok=True)
    checkpoints.save_model(model, os.path.join(folder, f"{tag}.keras"))
    if chief:
        shutil.rmtree(backup, ignore_errors=True)  # only once the finished model is on disk
    return model


def checkpoint_dir(args):
    """The run's `checkpoints/` folder: in `--out`, which across machines the chief writes."""
    return os.path.join(getattr(args, "shared_out", args.out), "checkpoints")


# The image classifier behind this run's classifier measures, or why there is none:
# filled by `classifier_or_none`, written into metrics.json by `write_metrics`.
CLASSIFIER = {}

# A --quick run trains a classifier only on a set this small (digits: seconds).
QUICK_CLASSIFIER_IMAGES = 10000


def dataset_key(args):
    """The run's dataset as a name for its cached classifier: `mnist`,
    `fashion_mnist`, `digits`, or `npz-<first 12 hex digits of the file's SHA-1>`."""
    if not str(args.dataset).endswith(".npz"):
        return args.dataset
    import hashlib

    with open(args.dataset, "rb") as f:
        return "npz-" + hashlib.sha1(f.read()).hexdigest()[:12]


def classifier_or_none(args, image_shape, num_classes):
    """A classifier of the run's own dataset, or None (the reason in metrics.json).

    Measures read by a classifier (label accuracy, Frechet distance, transfer and
    swap accuracy) come from one trained on the data the run trained on, never
    from another dataset's. It is trained on that dataset's training set on first
    use and cached (`evaluation.classifier_path`); a --quick run trains one only
    for a small set (scikit-learn's digits) and otherwise uses a cached copy when
    there is one. `CLASSIFIER` records which was used, or why none was.
    """
    from keras_latent import data, distribute, evaluation

    key = dataset_key(args)
    path = evaluation.classifier_path(key)
    CLASSIFIER.clear()
    CLASSIFIER.update(dataset=key, file=path)

    def skipped(reason):
        print(f"classifier measures are skipped: {reason}")
        CLASSIFIER["skipped"] = reason
        return None

    # Across machines every worker decides alike (one without the cache decides
    # for all), then loads or trains its own copy outside the strategy.
    cached = min(distribute.gather(int(os.path.exists(path)))) == 1
    try:
        with distribute.on_this_worker():
            if cached:
                classifier = evaluation.digit_classifier(path=path, dataset=key)
            else:
                (x, y), test = data.load_dataset(args.dataset, data_dir=args.data_dir)
                if args.quick and len(x) > QUICK_CLASSIFIER_IMAGES:
                    return skipped(
                        f"--quick trains no classifier of {key} ({len(x)} training "
                        f"images) and none is cached at {path}; a full run trains it"
                    )
                classifier = evaluation.digit_classifier(
                    ((x, y), test), path=path, verbose=2, dataset=key
                )
    except data.DatasetUnavailableError as error:
        return skipped(f"the {key} training set is unavailable to train one ({error})")
    if tuple(classifier.input_shape[1:]) != tuple(image_shape) or \
            classifier.output_shape[-1] != num_classes:
        return skipped(
            f"the cached {path} reads {classifier.input_shape[1:]} images of "
            f"{classifier.output_shape[-1]} classes; this run's are {tuple(image_shape)} "
            f"of {num_classes}"
        )
    return classifier


def versions():
    import keras
    import numpy
    import tensorflow

    import keras_latent

    return {
        "python": platform.python_version(),
        "keras": keras.__version__,
        "tensorflow": tensorflow.__version__,
        "numpy": numpy.__version__,
        "keras_latent": keras_latent.__version__,
    }


def write_metrics(out, name, metrics, settings, args, started, tolerances=None):
    """Writes `metrics.json` and returns its path.

    `tolerances` (see `keras_latent.compare`) says how far a later run's metrics
    may stray from these before `python -m keras_latent.compare` flags them.
    """
    record = {
        "reproduction": name,
        "recipe": getattr(args, "recipe", DEFAULT_RECIPE),
        "quick": bool(args.quick),
        "precision": args.precision,
        "distribute": args.distribute,
        "seed": args.seed,
        "metrics": metrics,
        "tolerances": tolerances or {},
        "settings": settings,
        "classifier": dict(CLASSIFIER) or None,
        **wall_times(time.time() - started),
        "versions": versions(),
    }
    from keras_latent import checkpoints

    path = os.path.join(out, "metrics.json")
    checkpoints.write_json(path, record)
    return path


def wall_times(this_leg):
    """`wall_time_s` of this leg, and across resumes the steps and training time of
    every model with the whole run's `total_wall_time_s`.

    The total is this leg's time less the training done in this leg, plus every
    model's training over all legs; None when a model's training time is unknown
    (a checkpoint from before the clock).
    """
    trained_here = sum(record["this_leg_s"] for record in TRAINED.values())
    known = all(r["train_time_s"] is not None for r in TRAINED.values())
    total = (
        this_leg - trained_here + sum(r["train_time_s"] for r in TRAINED.values())
        if known else None
    )
    return {
        "wall_time_s": round(this_leg, 1),
        "total_wall_time_s": None if total is None else round(total, 1),
        "models": {
            tag: {"steps": record["steps"], "train_time_s": record["train_time_s"]}
            for tag, record in TRAINED.items()
        },
    }


def finish(paths, args=None):
    """Lists the files written; a --quick run then drops its checkpoints.

    A smoke run's models are worth less than the disk they take (hundreds of
    MB for the AAE scripts), so --quick removes `<out>/checkpoints/` once
    everything is written, unless --keep-checkpoints.
    """
    if args is not None and args.quick and not args.keep_checkpoints:
        folder = os.path.join(args.out, "checkpoints")
        if os.path.isdir(folder):
            shutil.rmtree(folder)
            print(f"--quick: removed {folder} (pass --keep-checkpoints to keep it)")
    print("wrote:")
    for path in paths:
        print(f"  {path}")
    return paths
