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

It also prints the test error with each cluster named by its surest validation
image ranked exactly, by float64 log q(y | x) from the y head's logits. In
float32, q saturates: several validation images share a cluster's largest q,
and the first of them in the data's order names it, as the part measures it;
the table counts the clusters where two or more images tie at the top.

    python benchmarks/clustering_criteria.py --data-dir ../shared/data/mnist \\
        figures_run/checkpoints/clustering_16_*.keras
"""

import argparse

import numpy as np


def _check_no_teacher(model):
    if model.teacher:
        raise ValueError(
            "model: expected a clustering AAE without a mean teacher (its clusters are "
            "the teacher's, and these measures read the encoder)."
        )


def criteria(model, x, batch_size=500):
    """`(consistency, balance, reconstruction)` of a clustering AAE on images `x`."""
    from keras import ops

    _check_no_teacher(model)
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


def exact_log_probabilities(model, x, batch_size=500):
    """float64 log q(y | x) of images `x` from the logits of the encoder's softmax
    head `y` (a `Dense` layer, as `build_encoder` makes it): it orders images
    whose float32 q ties."""
    import keras

    _check_no_teacher(model)
    head = next((layer for layer in model.encoder.layers if layer.name == "y"), None)
    if not isinstance(head, keras.layers.Dense) or head.activation is not keras.activations.softmax:
        raise ValueError(
            "model: expected an encoder whose y head is a Dense layer named 'y' with a "
            f"softmax activation, as build_encoder makes it; got {head!r}."
        )
    features = keras.Model(model.encoder.inputs, head.input)
    h = np.asarray(features.predict(x, batch_size=batch_size, verbose=0), "float64")
    kernel, *bias = (np.asarray(w, "float64") for w in head.get_weights())
    logits = h @ kernel + (bias[0] if bias else 0.0)
    # log q_k = -log(1 + sum_{j != k} exp(l_j - l_k)): near q_k = 1 this keeps the
    # tiny differences that `logits - logsumexp(logits)` rounds to 0.
    gaps = logits[:, None, :] - logits[:, :, None]
    gaps[:, np.arange(logits.shape[1]), np.arange(logits.shape[1])] = -np.inf
    return -np.logaddexp(0.0, np.logaddexp.reduce(gaps, axis=2))


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
    print("| model | test error | ranked exactly | clusters tied at the top | consistency | "
          "balance | reconstruction |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for path in args.models:
        model = keras.saving.load_model(path)
        q_test, q_val = model.classify(x_test), model.classify(x_val)
        tied = int(np.sum(np.sum(q_val == q_val.max(axis=0), axis=0) > 1))
        errors = []
        for ranking in (q_val, exact_log_probabilities(model, x_val)):
            names = evaluation.cluster_labels(ranking, y_val)
            errors.append(100 * evaluation.clustering_error(q_test, y_test, names))
        consistency, balance, reconstruction = criteria(model, x_val)
        print(f"| {path} | {errors[0]:.2f} % | {errors[1]:.2f} % | {tied} | "
              f"{consistency:.3f} | {balance:.3f} | {reconstruction:.4f} |", flush=True)


if __name__ == "__main__":
    main()
