"""The disentangling autoencoder of article 001: s holds the label, z the rest."""


import keras
import numpy as np
import pytest

import keras_latent as kl
from keras_latent import evaluation
from tests import families
from tests.helpers import (
    assert_config_round_trip, networks_each_optimizer_moves, run_in_fresh_process,
)

NETWORKS_OF = {
    "supervised_optimizer": ("s_encoder", "s_classifier", "image_classifier"),
    "z_classifier_optimizer": ("z_classifier",),
    "autoencoder_optimizer": ("z_encoder", "decoder"),
}


@pytest.mark.parametrize("image_shape, classes", [((28, 28, 1), 10), ((32, 32, 3), 5)])
def test_shapes_for_any_image_and_class_count(image_shape, classes):
    rng = np.random.default_rng(0)
    x = rng.uniform(size=(24,) + image_shape).astype("float32")
    y = np.arange(24) % classes
    model = families.disentangling_ae(image_shape=image_shape, num_classes=classes)
    model.compile()
    history = model.fit(x, y, batch_size=12, epochs=1, verbose=0).history
    assert {"s_loss", "clf_z_loss", "recon_loss", "z_uniform_loss", "swap_accuracy"} <= set(history)
    s, z = model.encode(x)
    assert s.shape == (24, 4) and z.shape == (24, 4)
    assert model.decode(s, z).shape == (24,) + image_shape
    assert model.swap(x[:3], x[3:6]).shape == (3,) + image_shape
    assert model.predict(x, verbose=0).shape == (24,) + image_shape
    assert model.classify(x).shape == (24, classes)
    metrics = model.evaluate(x, np.eye(classes)[y], verbose=0, return_dict=True)
    assert 0 <= metrics["swap_accuracy"] <= 1


@pytest.mark.parametrize("z_prior", [None, "gaussian"])
def test_each_optimizer_moves_only_its_own_networks(z_prior, images):
    model = families.disentangling_ae(z_prior=z_prior)
    networks = {name for names in NETWORKS_OF.values() for name in names}
    moved = networks_each_optimizer_moves(model, networks, lambda: model.fit(
        images, np.arange(len(images)) % 10, batch_size=len(images), epochs=1, verbose=0))
    assert moved == {role: set(names) for role, names in NETWORKS_OF.items()}


def test_a_hidden_layer_adversary_is_trained_whole(images):
    networks = kl.build_disentangling_networks(
        z_dim=4, s_dim=4, hidden_units=(32,), z_classifier_units=(16,), seed=1
    )
    model = kl.DisentanglingAutoencoder(**networks, seed=0)
    model.compile(z_classifier_optimizer=keras.optimizers.Adam(1e-2))
    before = [w.numpy().copy() for w in model.z_classifier.weights]
    assert [w.shape for w in before] == [(4, 16), (16,), (16, 10), (10,)]
    model.fit(images, np.arange(32) % 10, batch_size=16, epochs=1, verbose=0)
    after = [w.numpy() for w in model.z_classifier.weights]
    assert all(not np.array_equal(a, b) for a, b in zip(before, after))


@pytest.mark.parametrize("fresh_batches", [True, False])
def test_clf_z_gets_its_updates_each_step(fresh_batches, images):
    model = families.disentangling_ae(clf_z_steps=4, fresh_batches=fresh_batches)
    model.compile()
    assert model.draws_per_step == (7 if fresh_batches else 1)
    model.fit(images, np.arange(32) % 10, batch_size=16, epochs=2, verbose=0)  # 4 steps
    assert model.z_classifier_optimizer.iterations.numpy() == 4 * 4
    assert model.supervised_optimizer.iterations.numpy() == 4
    assert model.autoencoder_optimizer.iterations.numpy() == 4


def test_fresh_batches_are_disjoint_parts_of_the_batch():
    model = families.disentangling_ae()  # 6 draws a step
    x = np.arange(12, dtype="float32").reshape(12, 1, 1, 1)
    parts = model._draws(x, np.arange(12))
    firsts = [keras.ops.convert_to_numpy(p[0])[:, 0, 0, 0].tolist() for p in parts]
    # Every 6th example: two replicas' halves of the batch give the same parts.
    assert firsts == [[0, 6], [1, 7], [2, 8], [3, 9], [4, 10], [5, 11]]
    small = model._draws(x[:4], np.arange(4))  # fewer examples than draws: still 6
    assert [keras.ops.convert_to_numpy(p[1]).tolist() for p in small] == [[0], [1], [2], [3], [0], [1]]


def test_training_dataset_serves_the_draws_of_a_step(mnist_subset):
    (x, y), _ = mnist_subset
    model = families.disentangling_ae()
    images, labels = next(iter(model.training_dataset(x[:1000], y[:1000], batch_size=32)))
    assert images.shape == (6 * 32, 28, 28, 1) and labels.shape == (6 * 32,)


def test_brief_training_puts_the_label_in_s_not_z(mnist_subset):
    keras.utils.set_random_seed(0)
    (x, y), (xt, yt) = mnist_subset
    model = families.disentangling_ae(z_dim=8, s_dim=8, units=(128,))
    model.compile()
    model.fit(
        model.training_dataset(x, y, batch_size=64, seed=0),
        steps_per_epoch=len(x) // 64, epochs=3, verbose=0,
    )
    s, z = model.encode(xt)
    on_s = evaluation.latent_probe_accuracy(s, yt, kind="linear")
    on_z = evaluation.latent_probe_accuracy(z, yt, kind="linear")
    assert on_s > 0.8
    assert abs(on_z - 0.1) < abs(on_s - 0.1) and on_z < on_s - 0.3
    assert np.mean(model.classify(xt).argmax(1) == yt) > 0.8


@pytest.mark.xla  # the package compiles this model with XLA by default
def test_a_prior_adversary_is_checked_and_survives_a_keras_round_trip(images, tmp_path):
    networks = kl.build_disentangling_networks(z_dim=4, s_dim=4, hidden_units=(32,), seed=1)
    discriminator = kl.build_disentangling_networks(
        z_dim=4, s_dim=4, hidden_units=(32,), z_classifier_units=(16,), z_discriminator=True
    )["z_classifier"]
    with pytest.raises(ValueError, match="z_classifier_units: a discriminator"):
        kl.build_disentangling_networks(z_dim=4, s_dim=4, z_discriminator=True)
    with pytest.raises(ValueError, match="z_prior: expected one of"):
        kl.DisentanglingAutoencoder(**{**networks, "z_classifier": discriminator}, z_prior="gauss")
    with pytest.raises(ValueError, match="z_classifier: expected a classifier of z alone"):
        kl.DisentanglingAutoencoder(**{**networks, "z_classifier": discriminator})
    with pytest.raises(ValueError, match=r"z_classifier: expected inputs of sizes \[4, 10\]"):
        kl.DisentanglingAutoencoder(**networks, z_prior="gaussian")
    model = families.disentangling_ae(z_prior="gaussian")
    assert_config_round_trip(model)
    model.compile()
    # D_z's first kernel: the rows of z, then those of the one-hot label.
    label_rows = model.z_classifier.weights[0].numpy()[4:].copy()
    history = model.fit(images, np.arange(len(images)) % 10, batch_size=16, epochs=1, verbose=0)
    assert not np.array_equal(model.z_classifier.weights[0].numpy()[4:], label_rows)
    assert {"d_z_loss", "d_z_accuracy", "z_prior_loss"} <= set(history.history)
    assert not {"clf_z_loss", "z_uniform_loss"} & set(history.history)
    model.save(tmp_path / "dae.keras")
    loaded = keras.saving.load_model(tmp_path / "dae.keras")
    assert isinstance(loaded.z_prior, kl.priors.Gaussian) and loaded.z_prior.dim == 4
    np.testing.assert_allclose(
        loaded.predict(images[:8], verbose=0), model.predict(images[:8], verbose=0), atol=1e-6
    )
    metrics = loaded.evaluate(images, np.arange(len(images)) % 10, verbose=0, return_dict=True)
    assert {"d_z_loss", "z_prior_loss"} <= set(metrics)


def test_config_and_keras_round_trip_in_a_fresh_process(images, tmp_path):
    labels = np.arange(len(images)) % 10
    model = families.disentangling_ae()
    assert_config_round_trip(model)
    model.compile(autoencoder_optimizer=keras.optimizers.RMSprop(1e-3))
    model.fit(images, labels, batch_size=16, epochs=1, verbose=0)  # 2 steps
    model.save(tmp_path / "dae.keras")
    np.save(tmp_path / "x.npy", images[:8])
    np.save(tmp_path / "out.npy", model.predict(images[:8], verbose=0))
    script = f"""
        import numpy as np, keras
        import keras_latent
        model = keras.saving.load_model({str(tmp_path / "dae.keras")!r})
        assert type(model).__name__ == "DisentanglingAutoencoder" and model.compiled
        assert type(model.autoencoder_optimizer).__name__ == "RMSprop"
        assert type(model.z_classifier_optimizer).__name__ == "SGD"
        assert model.z_classifier_optimizer.iterations.numpy() == 3 * 2
        assert model.supervised_optimizer.iterations.numpy() == 2
        x = np.load({str(tmp_path / "x.npy")!r})
        np.testing.assert_allclose(model.predict(x, verbose=0),
                                   np.load({str(tmp_path / "out.npy")!r}), rtol=1e-5, atol=1e-6)
        model.fit(x, np.arange(8) % 10, batch_size=8, epochs=1, verbose=0)
        assert model.autoencoder_optimizer.iterations.numpy() == 3
        print("loaded")
    """
    assert "loaded" in run_in_fresh_process(script)


def test_mismatched_networks_are_refused():
    networks = kl.build_disentangling_networks(z_dim=4, s_dim=4, hidden_units=(8,))
    networks["decoder"] = kl.build_pair_decoder(z_dim=5, s_dim=4, hidden_units=(8,))
    with pytest.raises(ValueError, match="^decoder: expected inputs of sizes \\[4, 4\\]"):
        kl.DisentanglingAutoencoder(**networks)
    networks = kl.build_disentangling_networks(z_dim=4, s_dim=4, hidden_units=(8,))
    networks["z_classifier"] = kl.build_softmax_classifier(4, num_classes=5)
    with pytest.raises(ValueError, match="^z_classifier: .*class count"):
        kl.DisentanglingAutoencoder(**networks)
    with pytest.raises(ValueError, match="^clf_z_steps"):
        kl.DisentanglingAutoencoder(
            **kl.build_disentangling_networks(hidden_units=(8,)), clf_z_steps=-1
        )


@pytest.mark.parametrize("odd", ["s_classifier", "z_classifier", "image_classifier"])
def test_the_classifier_of_another_class_count_is_the_one_named(odd):
    networks = kl.build_disentangling_networks(z_dim=4, s_dim=4, hidden_units=(8,))
    inputs = {"s_classifier": 4, "z_classifier": 4, "image_classifier": (28, 28, 1)}
    networks[odd] = kl.build_softmax_classifier(inputs[odd], num_classes=5, name=odd)
    with pytest.raises(ValueError, match=rf"^{odd}: expected outputs of sizes \[10\]"):
        kl.DisentanglingAutoencoder(**networks)
