"""Article 003's conditional VAE+GAN on MNIST, beside the conditional VAE it improves on.

Article 003, "Part 6: VAE + GAN" of a series on autoencoders in Russian (after Larsen
et al. 2016, "Autoencoding beyond pixels using a learned
similarity metric") adds a discriminator to a conditional VAE and measures the
reconstruction error on the discriminator's layer l instead of the pixels. Conv
encoder, decoder and discriminator, all given the label, LeakyReLU and dropout 0.3
between layers (`keras_latent.VAEGAN`, `keras_latent.ConditionalVAE`); RMSprop 1e-3,
3e-4 and 1e-3 for encoder, decoder and discriminator, the article's balancing rule of
their updates, batch 64, 48000 iterations; latent 2 and 8.

Figures: `reconstructions.png`, `manifold_<model>.png` (latent 2: a 15x15 grid per
label), `grids/manifold_<label>.gif`, `style_transfer.png` (test 7s as every digit,
latent 8), `codes.png`. metrics.json, per model: reconstruction BCE; Frechet distance
of generated digits to the test set; the digit classifier's accuracy on
style-transferred, reconstructed and generated digits; for the VAE+GAN, the updates
per iteration.

Departures of the default recipe (`article`) from the article:
- the learned similarity: l read without dropout, standardised, squared error (the
  article's loss collapses the codes within 50 iterations);
- the discriminator's logit is computed from l (the article's code leaves l off the
  logit's path, a slip: l is never trained);
- the optimizers descend per-image sums (per-pixel gradients sit under RMSprop's
  epsilon floor: the discriminator stays at the class prior);
- one log-variance clip, [-4, 4], in the draw and the KL (the article's KL clips
  to [-2, 2], another variance than the one drawn);
- TF1 sums over the batch become per-image sums averaged over the batch;
- a fit batch holds the five parts the balancing rule may use; unused parts are skipped;
- GIFs are written by Pillow, not ffmpeg;
- under `--distribute` the balancing rule is off (it cannot run across replicas).

Details, results and what was tried: docs/vae_gan.md

Usage:
    python reproductions/vae_gan.py [--epochs N] [--out DIR] [--seed N]
    python reproductions/vae_gan.py --quick
"""

import os
import sys

if __package__ in (None, ""):  # run as a file: make `reproductions` importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

NAME = "vae_gan"

SETTINGS = {
    "latent_dims": [2, 8],
    "dropout": 0.3,
    "gamma": 1.0,
    # The article's balancing rule of discriminator and encoder/decoder updates (off
    # under --distribute: it cannot run across replicas).
    "balance": True,
    "similarity": "mse",  # the article's is "bce": see the departures
    "standardize_similarity": True,
    "encoder_learning_rate": 1e-3,
    "decoder_learning_rate": 3e-4,
    "discriminator_learning_rate": 1e-3,
    "cvae_learning_rate": 1e-3,
    "batch_size": 64,
    "steps_per_epoch": 500,
    "epochs": 96,  # 48000 iterations, the article's
    "grid_every": 1000,
    "gif_label": 7,
    "train_size": None,
    "evaluation_size": 10000,
}
QUICK = {
    "latent_dims": [2], "steps_per_epoch": 10, "epochs": 1, "grid_every": 5,
    "train_size": 2000, "evaluation_size": 300,
}
TOLERANCES = {"default": {"rtol": 0.2}}
TARGETS = {  # the issue's, for the committed run
    "frechet_distance": "VAE+GAN below the CVAE",
    "style_transfer_accuracy": ">= 0.90 for both",
    "vae_gan reconstruction_accuracy": ">= 0.95",
}
# Settings that only choose which models a run trains (not in the models' stamps).
SELECTORS = ("latent_dims",)
GRID = 15


def balance_off_across_replicas(settings):
    """The balancing rule cannot run under a tf.distribute strategy (`VAEGAN`):
    `--distribute` turns it off, before the settings are printed and recorded."""
    import tensorflow as tf

    if tf.distribute.has_strategy() and settings["balance"]:
        settings["balance"] = False
        print("--distribute: the balancing rule cannot run across replicas; each step is "
              "one discriminator and one encoder/decoder update")


def build(kind, settings, latent_dim, image_shape, num_classes, seed):
    """The `"cvae"` or the `"vae_gan"` of this latent size, compiled."""
    import keras

    import keras_latent as kl

    dropout = settings["dropout"]
    encoder = kl.build_conditional_encoder(image_shape, num_classes, latent_dim, dropout, seed=seed)
    decoder = kl.build_conditional_decoder(image_shape, num_classes, latent_dim, dropout, seed=seed)
    if kind == "cvae":
        model = kl.ConditionalVAE(encoder, decoder, seed=seed)
        model.compile(autoencoder_optimizer=keras.optimizers.RMSprop(settings["cvae_learning_rate"]))
        return model
    model = kl.VAEGAN(
        encoder, decoder,
        kl.build_similarity_discriminator(image_shape, num_classes, dropout, seed=seed),
        gamma=settings["gamma"], similarity=settings["similarity"],
        standardize_similarity=settings["standardize_similarity"],
        balance=settings["balance"], seed=seed,
    )
    model.compile(
        encoder_optimizer=keras.optimizers.RMSprop(settings["encoder_learning_rate"]),
        decoder_optimizer=keras.optimizers.RMSprop(settings["decoder_learning_rate"]),
        discriminator_optimizer=keras.optimizers.RMSprop(settings["discriminator_learning_rate"]),
    )
    return model


def manifold(model, label):
    """Decodings over a 15x15 `norm.ppf` grid of the first two code coordinates."""
    import numpy as np
    from scipy.stats import norm

    values = norm.ppf(np.linspace(0.05, 0.95, GRID))
    z = np.zeros((GRID * GRID, model.latent_dim), "float32")
    z[:, 0] = np.tile(values, GRID)
    z[:, 1] = np.repeat(values[::-1], GRID)  # up the rows
    return model.decode(z, [label] * len(z))


def draw_manifolds(model, kind, num_classes, out):
    """Writes `manifold_<kind>.png`: one 15x15 panel per label, five a row."""
    import numpy as np

    from keras_latent import plotting

    panels = np.stack([plotting.tile(manifold(model, k), GRID, pad=0) for k in range(num_classes)])
    first = ", ".join(str(k) for k in range(min(5, num_classes)))
    return plotting.save(
        plotting.image_grid(
            panels, ncols=min(5, num_classes), scale=3.0,
            title=f"{kind}, latent {model.latent_dim}: a 15x15 norm.ppf grid per label "
                  f"(labels {first}, ... in reading order)",
        ),
        os.path.join(out, f"manifold_{kind}.png"),
    )


def main(argv=None):
    from reproductions import _common

    args, settings, started, (x_train, y_train), (x_test, y_test) = _common.begin(
        NAME, __doc__, argv, SETTINGS, QUICK, adjust=balance_off_across_replicas
    )

    import keras
    import numpy as np

    from keras_latent import callbacks, data, evaluation, plotting

    image_shape, num_classes = x_train.shape[1:], int(y_train.max()) + 1
    classifier = _common.classifier_or_none(args, image_shape, num_classes)
    n = min(settings["evaluation_size"], len(x_test))
    steps = settings["epochs"] * settings["steps_per_epoch"]
    grids = os.path.join(args.out, "grids")
    models, metrics, paths = {}, {}, []
    for latent_dim in settings["latent_dims"]:
        for kind in ("cvae", "vae_gan"):
            tag = f"{kind}_{latent_dim}"
            print(f"\n== {tag}")
            keras.utils.set_random_seed(args.seed)
            fresh = build(kind, settings, latent_dim, image_shape, num_classes, args.seed)
            parts = getattr(fresh, "draws_per_step", 1)
            dataset = data.make_dataset(
                x_train, y_train, batch_size=settings["batch_size"] * parts, seed=args.seed,
                drop_remainder=True,
            ).repeat()
            animated = kind == "vae_gan" and latent_dim == 2
            label = settings["gif_label"] % num_classes
            given = [callbacks.ImageGrids(
                lambda model: manifold(model, label), grids, every=settings["grid_every"],
                ncols=GRID, prefix=f"manifold_{label}",
            )] if animated else []
            stamp = _common.stamp(settings, args.seed, SELECTORS, latent_dim=latent_dim)
            model = _common.fit_or_resume(
                lambda fresh=fresh: fresh, dataset,
                dict(epochs=settings["epochs"], steps_per_epoch=settings["steps_per_epoch"],
                     verbose=2, callbacks=given),
                _common.checkpoint_dir(args), tag, stamp,
            )
            models[tag] = model
            paths += [p for c in given for p in c.paths]
            if animated:
                gif = callbacks.join_frames(  # every leg's frames, from the disk
                    grids, f"manifold_{label}", settings["grid_every"], steps,
                    os.path.join(grids, f"manifold_{label}.gif"),
                )
                if gif is not None:
                    paths.append(gif)
            rebuilt = model.reconstruct(x_test[:n], y_test[:n])
            asked = np.arange(n) % num_classes
            generated = model.sample(n, labels=asked, seed=args.seed + 1)
            targets = (y_test[:n] + 1 + np.arange(n) % (num_classes - 1)) % num_classes
            moved = model.transfer(x_test[:n], y_test[:n], targets)  # never its own label
            row = {
                "reconstruction_bce": float(np.mean(
                    -(x_test[:n] * np.log(np.clip(rebuilt, 1e-7, 1))
                      + (1 - x_test[:n]) * np.log(np.clip(1 - rebuilt, 1e-7, 1)))
                )),
            }
            if classifier is not None:
                row["frechet_distance"] = evaluation.frechet_distance(
                    x_test[:n], generated, classifier
                )
                row["style_transfer_accuracy"] = evaluation.classifier_accuracy(
                    moved, targets, classifier
                )
                row["reconstruction_accuracy"] = evaluation.classifier_accuracy(
                    rebuilt, y_test[:n], classifier
                )
                row["generated_label_accuracy"] = evaluation.classifier_accuracy(
                    generated, asked, classifier
                )
            if kind == "vae_gan":
                # The optimizers' counts are saved with the model, so a resumed or loaded
                # model gives the whole run's means; fit's History holds this leg's alone.
                updates = {"d": model.discriminator_optimizer, "g": model.encoder_optimizer}
                for player, optimizer in updates.items():
                    row[f"mean_{player}_steps_taken"] = float(optimizer.iterations.numpy()) / steps
            metrics[tag] = row
            print(tag, row)
    metrics["train_to_test_frechet_distance"] = (
        evaluation.frechet_distance(x_test[:n], x_train[:n], classifier) if classifier else None
    )
    metrics["steps"] = steps
    metrics["batch_size"] = settings["batch_size"]
    metrics["targets"] = TARGETS

    shown = 10
    rows, labels = [x_test[:shown]], ["original"]
    for tag, model in models.items():
        rows.append(model.reconstruct(x_test[:shown], y_test[:shown]))
        labels.append(tag.replace("_", " "))
    paths.append(plotting.save(
        plotting.image_grid(np.concatenate(rows), ncols=shown, row_labels=labels,
                            title="Test digits and their reconstructions"),
        os.path.join(args.out, "reconstructions.png"),
    ))
    small = min(settings["latent_dims"])
    for kind in ("cvae", "vae_gan"):
        paths.append(draw_manifolds(models[f"{kind}_{small}"], kind, num_classes, args.out))
    large = max(settings["latent_dims"])
    sevens = np.flatnonzero(y_test == 7 % num_classes)[:6]
    transfer_rows, transfer_labels = [], []
    for kind in ("cvae", "vae_gan"):
        model = models[f"{kind}_{large}"]
        for i in sevens[:3]:
            moved = model.transfer(
                np.repeat(x_test[i:i + 1], num_classes, axis=0),
                [y_test[i]] * num_classes, np.arange(num_classes),
            )
            transfer_rows.append(np.concatenate([x_test[i:i + 1], moved]))
            transfer_labels.append(kind.replace("_", "+"))
    paths.append(plotting.save(
        plotting.image_grid(
            np.concatenate(transfer_rows), ncols=num_classes + 1, row_labels=transfer_labels,
            col_labels=["x"] + [str(k) for k in range(num_classes)],
            title=f"Test 7s written as every digit (latent {large})",
        ),
        os.path.join(args.out, "style_transfer.png"),
    ))
    digit = 7 % num_classes
    chosen = y_test == digit
    codes = {
        f"{kind}, latent {small}": models[f"{kind}_{small}"].encode(
            x_test[chosen], y_test[chosen]
        )[:, :2]
        for kind in ("cvae", "vae_gan")
    }
    paths.append(plotting.save(
        plotting.scatter_panels(codes, title=f"Codes of the test {digit}s"),
        os.path.join(args.out, "codes.png"),
    ))
    paths.append(
        _common.write_metrics(args.out, NAME, metrics, settings, args, started, TOLERANCES)
    )
    return _common.finish(paths, args)


if __name__ == "__main__":
    main()
