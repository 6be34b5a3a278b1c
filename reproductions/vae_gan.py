"""Article 003's conditional VAE+GAN on MNIST, beside the conditional VAE it improves on.

Article 003 (`shared/seeds/003_796e90c4a817fbd9.txt`, after Larsen et al. 2016,
"Autoencoding beyond pixels using a learned similarity metric") adds a discriminator
to a conditional VAE and replaces the pixel reconstruction error by an error on the
discriminator's layer l. Networks, as in the article (`keras_latent.VAEGAN`,
`keras_latent.ConditionalVAE`): a conv encoder with the label joined after the
convolutions, a conv decoder on `[z, label]` with two up-samplings, a conv
discriminator on `[image, label maps]` whose 16-filter layer is l; LeakyReLU and
dropout 0.3 between layers; latent 8 and 2. RMSprop: encoder 1e-3, decoder 3e-4,
discriminator 1e-3; gamma 1; batch 64. Each iteration follows the article's
balancing rule (up to 3 discriminator updates while the batch's L_GAN >= 1.0, then
up to 3 encoder/decoder updates while it is <= 0.4, each on a fresh batch). The CVAE
trains on binary cross-entropy and the KL (RMSprop 1e-3), batch 64. The article runs
48000 iterations: the default here (`steps_per_epoch` x `epochs`).

Figures, into the output folder:
- `reconstructions.png`: test digits over their reconstructions by each model
  (CVAE and VAE+GAN, latent 2 and 8);
- `manifold_<model>.png`: for latent 2, a 15x15 grid of decodings over
  `norm.ppf(linspace(0.05, 0.95, 15))` in each coordinate, one panel per label;
- `grids/manifold_<label>.gif`: that label's VAE+GAN manifold through training;
- `style_transfer.png`: test 7s (left) encoded and decoded as every digit, per model
  at latent 8;
- `codes.png`: the latent-2 codes of one digit's test images, CVAE beside VAE+GAN.

metrics.json: per model, the reconstruction binary cross-entropy; the Frechet
distance of generated digits (prior draws, every label) to the test set, beside the
training set's; the digit classifier's accuracy on style-transferred digits against
their target labels and on reconstructions against their own; for the VAE+GAN, the
mean discriminator and encoder/decoder updates per iteration; steps and wall time.

Departures from the article:
- The learned similarity: l is read without dropout, each of its channels is
  standardised by the real batch's statistics, and the error is squared (Larsen et
  al.'s Gaussian) instead of the article's cross-entropy of sigmoids. With the
  article's loss the encoder ignores its input within 50 iterations (KL to the
  prior 1e-5, every decoding the same stroke; latent 2, 1500 iterations, and a probe
  of 300 iterations with the article's own wiring of l did the same): l's
  activations are about 0.1 in size, so a perfect and a wrong reconstruction
  differ by 0.0004 in L_llike against a KL of about 0.006, and independent dropout
  masks on x and x~ add more than that. `VAEGAN(similarity="bce",
  standardize_similarity=False)` is the article's loss, to compare.
- The discriminator's logit is computed from l, which the article's code leaves off
  the logit's path (so its discriminator never trains l, and l is a fixed random
  projection).
- The optimizers descend per-image sums of the losses (logged per pixel, as the
  article prints them): at the per-pixel scale of batch means the discriminator's
  gradients (1e-6) sat under the floor RMSprop's epsilon puts on its denominator,
  and it stayed at the class prior for a whole run.
- One log-variance clip, [-4, 4], in the draw and the KL (the article clips to [-4, 4]
  in the draw and to [-2, 2] in the KL).
- TF1 sums over the batch become per-image sums averaged over the batch; the
  balancing rule compares the article's sums with its thresholds.
- A step's fit batch holds the five parts the rule may use; parts it does not use
  are skipped, where the article's iterator keeps them for the next iteration.
- Animations are GIFs written by Pillow (the article uses ffmpeg).
- Under `--distribute` the balancing rule is off (it cannot run across replicas):
  one discriminator and one encoder/decoder update a step.

Committed run (`--epochs 2`: 1000 iterations of batch 64 a model, 1 discriminator and
3 encoder/decoder updates each, as the rule chooses at the article's scale; 35 min for
the two VAE+GANs on 2 CPU cores, 3 min a CVAE): Frechet distance to the test set
VAE+GAN 23.8 / 5.1, CVAE 74.5 / 76.6 (latent 2 / 8; training set 0.74); style transfer
97.4 / 94.6 % (CVAE 99.3 / 92.5 %); VAE+GAN reconstructions read as their label
98.7 / 99.7 %. Its pixel cross-entropy is higher (0.45 / 0.22 against 0.18 / 0.15): the
learned similarity does not ask for the exact pixels.

Usage:
    python reproductions/vae_gan.py [--quick] [--epochs N] [--out DIR] [--seed N]
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
GRID = 15


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
        balance=settings.get("balance", True), seed=seed,
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
        NAME, __doc__, argv, SETTINGS, QUICK
    )
    import tensorflow as tf

    # The balancing rule cannot run under a tf.distribute strategy (`VAEGAN`); the
    # setting goes into the checkpoints' stamp and metrics.json.
    settings["balance"] = not tf.distribute.has_strategy()
    if not settings["balance"]:
        print("--distribute: the balancing rule cannot run across replicas; each step is "
              "one discriminator and one encoder/decoder update")

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
            stamp = {"settings": {k: v for k, v in settings.items()
                                  if k not in ("evaluation_size", "grid_every")},
                     "seed": args.seed, "latent_dim": latent_dim}
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
