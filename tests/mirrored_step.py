"""One training step of each model under a two-replica strategy against one without it.

Run as `python -m tests.mirrored_step [--multiworker] [VARIANT ...]` (the tests run
it in subprocesses). For each entry of `VARIANTS` it builds the model twice from the
same seed, takes one SGD step on the same global batch with and without the
strategy, and prints one JSON line: `{"variant", "max_difference", "max_change"}`,
the largest difference between the two models' weights and the largest change one
step made. The strategy is a `MirroredStrategy` over the CPU split into two logical
devices (before TensorFlow starts, hence the subprocess), or with `--multiworker` a
`MultiWorkerMirroredStrategy` over the cluster in `$TF_CONFIG`: two such processes,
one per worker, each print their lines.

A new model family joins the check with one entry in `VARIANTS`: a function
returning `(model, y)` for the batch, `y` None when the model takes no labels;
`variant` makes one from the family's factory in `tests/families.py`.
"""

import argparse
import inspect
import json
import sys

import tensorflow as tf

REPLICAS = 2
# Largest difference allowed between the two ways, per unit of the step's largest move.
TOLERANCE = 1e-5
UNITS = (32,)
BATCH = 16


def _split_cpu():
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration()] * REPLICAS
    )


def _labels():
    import numpy as np

    return np.arange(BATCH) % 10


def variant(factory, labels=None, learning_rate=0.5, **options):
    """A `make()` for `VARIANTS`: the family's test model and the batch's labels.

    `learning_rate` is the SGD rate of every optimizer: large enough that one step
    moves some weight by more than 1e-2, so that a match means something.
    """

    def make():
        from tests import families

        make_model = getattr(families, factory)
        if "units" in inspect.signature(make_model).parameters:  # the dense families
            options.setdefault("units", UNITS)
        return make_model(**options), labels

    make.learning_rate = learning_rate
    return make


def _partly_labelled():
    import numpy as np

    # Replicas hold different shares of labelled examples: 2 of 8 and 6 of 8.
    hidden = np.zeros(BATCH, bool)
    hidden[:6] = True
    hidden[8:10] = True
    return np.where(hidden, -1, _labels())


VARIANTS = {
    "aae_paper": variant("aae"),
    "aae_joint": variant("aae", schedule="joint"),
    "aae_variational_encoder": variant("aae", variational=True),
    "aae_gradient_penalty": variant("aae", prior="uniform", gradient_penalty=1.0),
    "supervised_aae": variant("supervised_aae", _labels()),
    "supervised_aae_conditional": variant(
        "supervised_aae", _labels(), conditional_discriminator=True
    ),
    "label_regularized_aae": variant(
        "label_regularized_aae", _labels(), prior="swiss_roll"
    ),
    # Unlabelled rows draw their component at random: each replica its slice.
    "label_regularized_aae_unlabelled_class": variant(
        "label_regularized_aae", _partly_labelled(), unlabelled_class=True
    ),
    "semi_supervised_aae": variant("semi_supervised_aae", _partly_labelled()),
    # Every option at once: D_gauss reading y; noise on the encoder's input (each
    # replica its slice of one draw); the consistency term, whose second view
    # draws its own noise, from a teacher updated on every replica alike.
    "semi_supervised_aae_options": variant(
        "semi_supervised_aae", _partly_labelled(), conditional_discriminator=True,
        input_noise=0.3, consistency_weight=10.0, teacher_decay=0.5,
        virtual_adversarial_weight=1.0,
    ),
    # No labels; batch normalisation synchronized across replicas; the balance
    # term's mean y summed across replicas.
    "clustering_aae": variant(
        "clustering_aae", num_clusters=4, batch_norm=True, balance_weight=1.0
    ),
    # Dropout draws differ across replicas: compare the updates without it. Each
    # replica's 8 examples cut into 1 + 1 + 2 parts of 2.
    "disentangling_ae": variant("disentangling_ae", _labels(), dropout=0.0, clf_z_steps=1),
    # Clf_z a discriminator of [z, label] against prior draws: each replica its slice.
    "disentangling_ae_prior": variant(
        "disentangling_ae", _labels(), dropout=0.0, clf_z_steps=1, z_prior="gaussian"
    ),
    "info_gan": variant("info_gan", _labels()),
    "info_gan_gaussian_codes": variant("info_gan", _labels(), code_loss="gaussian"),
    # Losses averaged over pixels: small gradients.
    "conditional_vae": variant("conditional_vae", _labels(), learning_rate=100.0),
    # The balancing rule refuses a strategy (optimizer steps inside tf.cond).
    # Its optimizers descend per-image sums (784 x the per-pixel loss): a smaller rate.
    "vae_gan_unbalanced": variant("vae_gan", _labels(), learning_rate=0.125, balance=False),
    # Batch-mean feature matching and class centres summed across replicas; losses
    # are per-image sums over pixels and features.
    "cvae_gan": variant("cvae_gan", _labels(), learning_rate=0.25),
}


def one_step(make, images, strategy, backup_dir=None, evaluate=False):
    """The weights before and after one step under `strategy`.

    With `backup_dir`, a `BackupAndRestore` there saves the step's epoch; with
    `evaluate`, an `evaluate` follows the step.
    """
    import keras

    from keras_latent import callbacks

    with strategy.scope():
        keras.utils.set_random_seed(0)
        model, y = make()
        optimizers = {
            role: keras.optimizers.SGD(make.learning_rate) for role in model.optimizer_roles()
        }
        # XLA draws other random numbers than the plain graph: the same on both sides.
        model.compile(jit_compile=False, **optimizers)
    # Every weight: the trained ones and the state a step moves beside them
    # (BatchNorm's moving statistics, a mean teacher, the CVAE-GAN's class centres).
    weights = model.weights
    before = [keras.ops.convert_to_numpy(w) for w in weights]
    given = [callbacks.BackupAndRestore(backup_dir, delete_on_end=False)] if backup_dir else []
    # `fit` outside the scope, with the progress output, as a user calls it.
    model.fit(images, y, batch_size=BATCH, epochs=1, shuffle=False, verbose=2, callbacks=given)
    after = [keras.ops.convert_to_numpy(w) for w in weights]
    if evaluate:
        model.evaluate(images, y, batch_size=BATCH, verbose=0)
    return before, after


def main(names, multiworker=False, backup_root=None):
    import os

    import numpy as np

    if multiworker:
        strategy = tf.distribute.MultiWorkerMirroredStrategy()
    else:
        _split_cpu()
        devices = [d.name for d in tf.config.list_logical_devices("CPU")]
        strategy = tf.distribute.MirroredStrategy(devices)
    assert strategy.num_replicas_in_sync == REPLICAS, strategy.num_replicas_in_sync
    images = np.random.default_rng(0).random((BATCH, 28, 28, 1), dtype="float32")
    for name in names:
        make = VARIANTS[name]
        before, single = one_step(make, images, tf.distribute.get_strategy())
        backup = os.path.join(backup_root, name) if backup_root else None
        _, distributed = one_step(make, images, strategy, backup, evaluate=multiworker)
        difference = max(float(np.max(np.abs(a - b))) for a, b in zip(single, distributed))
        change = max(float(np.max(np.abs(a - b))) for a, b in zip(single, before))
        print(json.dumps(
            {"variant": name, "max_difference": difference, "max_change": change}
        ), flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("names", nargs="*", metavar="VARIANT")
    parser.add_argument("--multiworker", action="store_true")
    parser.add_argument("--backup", help="a folder for each variant's BackupAndRestore")
    args = parser.parse_args()
    main(args.names or list(VARIANTS), args.multiworker, args.backup)
