"""Measures that need no label, for saved clustering AAEs, beside their test error.

Restarts chosen by such a measure would lift a clustering recipe's mean if the
measure ranked the runs as the test error does. For each model saved by
`aae_guide.py`'s part 4 (`<out>/checkpoints/clustering_K_R.keras`), this prints
the test error (clusters named by their surest validation image, as the part
measures it) and, on the held-out validation images without their labels:

- `consistency`: the mean squared distance between y for two training-mode
  views of each image (the encoder's own shifts and rotations; batch
  normalisation on the batch's statistics, as in training; no state kept);
- `balance`: log K - H(mean y), 0 when every cluster holds as many images;
- `reconstruction`: the mean squared error of the decoded images.

    python benchmarks/clustering_criteria.py --data-dir ../shared/data/mnist \\
        figures_run/checkpoints/clustering_16_*.keras
"""

import argparse

import numpy as np


def criteria(model, x, batch_size=500):
    """`(consistency, balance, reconstruction)` of a clustering AAE on images `x`."""
    from keras import ops

    if model.teacher:
        raise ValueError(
            "model: expected a clustering AAE without a mean teacher (its clusters are "
            "the teacher's, and these measures read the encoder)."
        )
    encoder = model.encoder
    trainable = [v.value for v in encoder.trainable_variables]
    # The encoder's own state, carried from pass to pass (its random layers draw
    # afresh each time) and never written back.
    state = [ops.copy(v.value) for v in encoder.non_trainable_variables]
    consistency, reconstruction = [], []
    for start in range(0, len(x), batch_size):
        batch = x[start:start + batch_size]
        (first, _), state = encoder.stateless_call(trainable, state, batch, training=True)
        (second, _), state = encoder.stateless_call(trainable, state, batch, training=True)
        consistency.append(ops.mean(ops.sum((first - second) ** 2, axis=1)))
        y, z = encoder(batch, training=False)
        reconstruction.append(ops.mean((model.decoder([y, z], training=False) - batch) ** 2))
    mean_y = model.classify(x).mean(axis=0)
    balance = np.log(len(mean_y)) + np.sum(mean_y * np.log(mean_y + 1e-12))
    return float(np.mean(consistency)), float(balance), float(np.mean(reconstruction))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("models", nargs="+", help="saved ClusteringAdversarialAutoencoder files")
    parser.add_argument("--data-dir", default=None, help="MNIST IDX files (see keras_latent.data)")
    parser.add_argument("--validation-size", type=int, default=10000,
                        help="the last training images, held out of training (the part's setting)")
    args = parser.parse_args(argv)

    import keras

    from keras_latent import data, evaluation

    (x_train, y_train), (x_test, y_test) = data.load_dataset("mnist", args.data_dir)
    x_val, y_val = x_train[-args.validation_size:], y_train[-args.validation_size:]
    print("| model | test error | consistency | balance | reconstruction |")
    print("| --- | --- | --- | --- | --- |")
    for path in args.models:
        model = keras.saving.load_model(path)
        names = evaluation.cluster_labels(model.classify(x_val), y_val)
        error = 100 * evaluation.clustering_error(model.classify(x_test), y_test, names)
        consistency, balance, reconstruction = criteria(model, x_val)
        print(f"| {path} | {error:.2f} % | {consistency:.3f} | {balance:.3f} | "
              f"{reconstruction:.4f} |", flush=True)


if __name__ == "__main__":
    main()
