"""The CVAE-GAN (Bao et al. 2017): four optimizers, feature matching, class centres."""

import keras
import numpy as np
import pytest

import keras_latent as kl
from tests import families
from tests.helpers import (
    assert_config_round_trip, networks_each_optimizer_moves, run_in_fresh_process,
)

NETWORK_OF = {
    "encoder_optimizer": "encoder",
    "decoder_optimizer": "decoder",
    "discriminator_optimizer": "discriminator",
    "classifier_optimizer": "classifier",
}


def test_each_optimizer_moves_only_its_own_network(images):
    model = families.cvae_gan()
    moved = networks_each_optimizer_moves(model, NETWORK_OF.values(), lambda: model.fit(
        images, np.arange(len(images)) % 10, batch_size=16, epochs=1, verbose=0))
    assert moved == {role: {network} for role, network in NETWORK_OF.items()}


def test_without_a_classifier_there_is_no_classifier_update_or_term(images):
    model = families.cvae_gan(classifier=False)
    assert set(model.optimizer_roles()) == set(NETWORK_OF) - {"classifier_optimizer"}
    with pytest.raises(ValueError, match="^classifier_optimizer: "):
        model.compile(classifier_optimizer="adam")
    model.compile()
    history = model.fit(images, np.arange(32) % 10, batch_size=16, epochs=1, verbose=0)
    assert not {"c_loss", "c_accuracy", "class_mean_loss"} & set(history.history)
    assert "pairwise_loss" in history.history and "mean_loss" in history.history


def test_a_training_step_moves_the_centres_of_the_batch_classes_alone(images):
    model = families.cvae_gan(centre_decay=0.75)
    model.compile()
    labels = np.array([0, 0, 3, 3, 3, 5, 5, 5] * 2)
    _, features = model.classifier(images[:16], training=True)  # C before its step
    model.train_on_batch(images[:16], labels)
    features = np.asarray(features)
    sums, centres = model.centre_sums.numpy(), model.class_centres
    for k in range(10):
        mean = features[labels == k].mean(0) if k in labels else np.zeros(features.shape[1])
        np.testing.assert_allclose(sums[k], 0.25 * mean, rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(centres[k], mean, rtol=1e-4, atol=1e-5)  # debiased
    np.testing.assert_allclose(model.centre_weights.numpy(), [0.25 * (k in labels) for k in range(10)])
    assert families.cvae_gan(classifier=False).class_centres is None


def test_the_encoder_and_decoder_losses_weigh_the_terms_as_the_paper(images):
    weights = dict(kl_weight=2.0, pairwise_weight=0.5, mean_weight=0.25, class_mean_weight=0.125)
    model = families.cvae_gan(**weights)
    model.compile()
    targets = np.eye(10, dtype="float32")[np.arange(8) % 10]
    encoder, decoder, d, c = model.cvae_gan_loss(images[:8], targets, training=False)
    terms = {name: np.asarray(value) for name, value in decoder.metrics.items()}
    np.testing.assert_allclose(
        encoder.values, 2.0 * terms["kl_loss"] + 0.5 * terms["pairwise_loss"], rtol=1e-5)
    np.testing.assert_allclose(
        decoder.values,
        0.5 * terms["pairwise_loss"] + 0.25 * terms["mean_loss"] + 0.125 * terms["class_mean_loss"],
        rtol=1e-5)
    assert np.all(terms["pairwise_loss"] > terms["recon_loss"])  # the f_D and f_C terms add
    assert np.ptp(terms["mean_loss"]) == 0 and np.ptp(terms["class_mean_loss"]) == 0


def test_each_term_reaches_the_networks_the_paper_says(images):
    import tensorflow as tf

    model = families.cvae_gan()
    targets = tf.constant(np.eye(10, dtype="float32")[np.arange(16) % 10])
    x = tf.constant(images[:16])
    with tf.GradientTape(persistent=True) as tape:
        encoder, decoder, d, c = model.cvae_gan_loss(x, targets, training=False)
        terms = {name: tf.reduce_mean(v) for name, v in decoder.metrics.items()}
        terms.update(d_loss=tf.reduce_mean(d.values), c_loss=tf.reduce_mean(c.values))

    def reaches(term, network):
        gradients = tape.gradient(terms[term], getattr(model, network).trainable_variables)
        return any(g is not None and float(tf.reduce_max(tf.abs(g))) > 0 for g in gradients)

    expected = {  # term: the networks it depends on
        "kl_loss": {"encoder"},
        "recon_loss": {"encoder", "decoder"},
        "pairwise_loss": {"encoder", "decoder", "discriminator", "classifier"},
        "mean_loss": {"decoder", "discriminator"},  # x_p alone: never the encoder
        "class_mean_loss": {"decoder", "classifier"},
        "d_loss": {"encoder", "decoder", "discriminator"},
        "c_loss": {"classifier"},  # real images only
    }
    for term, networks in expected.items():
        for network in ("encoder", "decoder", "discriminator", "classifier"):
            assert reaches(term, network) == (network in networks), (term, network)


@pytest.mark.parametrize("image_shape, num_classes", [((32, 32, 3), 5), ((16, 12, 1), 2)])
def test_trains_and_generates_for_any_image_and_class_count(image_shape, num_classes):
    model = families.cvae_gan(image_shape=image_shape, num_classes=num_classes)
    model.compile()
    x = np.random.default_rng(0).random((16, *image_shape), dtype="float32")
    model.fit(x, np.arange(16) % num_classes, batch_size=8, epochs=1, verbose=0)
    assert model.class_centres.shape == (num_classes, model.classifier.outputs[1].shape[-1])
    assert model.sample(3, labels=[0, 1, 1], seed=0).shape == (3, *image_shape)
    assert model.transfer(x[:2], [0, 1], [1, 0]).shape == (2, *image_shape)


def test_a_critic_with_dropout_is_read_without_it_for_the_feature_terms(images):
    model = kl.CVAEGAN(
        kl.build_conditional_encoder(latent_dim=2, dropout=0.0),
        kl.build_conditional_decoder(latent_dim=2, dropout=0.0),
        kl.build_feature_discriminator(dropout=0.5, seed=1),
        kl.build_feature_classifier(dropout=0.5, seed=2), seed=0,
    )
    x = images[:8]
    targets = np.eye(10, dtype="float32")[np.arange(8)]
    # x_f = x would need a perfect decoder: compare the pair (x, x) through critic().
    for network in (model.discriminator, model.classifier):
        _, first = model.critic(network, x, training=True)
        _, second = model.critic(network, x, training=True)
        np.testing.assert_allclose(first, second, rtol=1e-6)  # no dropout masks
        np.testing.assert_allclose(first, network(x, training=False)[1], rtol=1e-6)
    model.cvae_gan_loss(x, targets)  # and the whole loss runs with them


def test_brief_training_lowers_the_reconstruction_error_and_trains_the_classifier(mnist_subset):
    (x, y), _ = mnist_subset
    keras.utils.set_random_seed(0)
    model = families.cvae_gan()
    model.compile()
    history = model.fit(x[:640], y[:640], batch_size=32, epochs=2, verbose=0).history
    assert history["recon_loss"][-1] < 0.8 * history["recon_loss"][0]
    assert history["c_accuracy"][-1] > history["c_accuracy"][0] + 0.1
    assert np.isfinite(history["d_loss"]).all()


def test_config_and_keras_round_trip_in_a_fresh_process(images, tmp_path):
    model = families.cvae_gan(kl_weight=2.0, centre_decay=0.5)
    assert_config_round_trip(model)
    assert_config_round_trip(families.cvae_gan(classifier=False))
    labels = np.arange(len(images)) % 10
    model.compile(classifier_optimizer=keras.optimizers.SGD(1e-3))
    model.fit(images, labels, batch_size=16, epochs=1, verbose=0)
    model.save(tmp_path / "cvaegan.keras")
    np.save(tmp_path / "x.npy", images[:8])
    np.save(tmp_path / "out.npy", model.reconstruct(images[:8], labels[:8]))
    np.save(tmp_path / "centres.npy", model.class_centres)
    iterations = {role: int(getattr(model, role).iterations.numpy()) for role in NETWORK_OF}
    script = f"""
        import numpy as np, keras
        import keras_latent
        model = keras.saving.load_model({str(tmp_path / "cvaegan.keras")!r})
        assert type(model).__name__ == "CVAEGAN" and model.compiled
        assert model.kl_weight == 2.0 and model.centre_decay == 0.5
        assert type(model.classifier_optimizer).__name__ == "SGD"
        for role, count in {iterations!r}.items():
            assert getattr(model, role).iterations.numpy() == count == 2, role
        np.testing.assert_array_equal(model.class_centres, np.load({str(tmp_path / "centres.npy")!r}))
        x = np.load({str(tmp_path / "x.npy")!r})
        np.testing.assert_allclose(model.reconstruct(x, np.arange(8) % 10),
                                   np.load({str(tmp_path / "out.npy")!r}), rtol=1e-5, atol=1e-6)
        model.fit(np.concatenate([x, x]), np.arange(16) % 10, batch_size=16, epochs=1, verbose=0)
        print("loaded")
    """
    assert "loaded" in run_in_fresh_process(script)


def test_bad_networks_and_settings_are_refused(images):
    encoder = kl.build_conditional_encoder(latent_dim=2)
    decoder = kl.build_conditional_decoder(latent_dim=2)
    with pytest.raises(ValueError, match=r"^classifier: expected outputs \[class logits \(batch, 10\)"):
        kl.CVAEGAN(encoder, decoder, kl.build_feature_discriminator(),
                   kl.build_feature_classifier(num_classes=5))
    with pytest.raises(ValueError, match="^discriminator: .*input shape"):
        kl.CVAEGAN(encoder, decoder, kl.build_feature_discriminator((32, 32, 1)))
    with pytest.raises(ValueError, match=r"^discriminator: expected outputs \[a real logit"):
        kl.CVAEGAN(encoder, decoder, kl.build_similarity_discriminator())
    images_in = keras.Input((28, 28, 1))
    patches = keras.layers.Conv2D(1, 3, padding="same")(images_in)  # a logit per patch
    with pytest.raises(ValueError, match=r"^discriminator: expected outputs"):
        kl.CVAEGAN(encoder, decoder, keras.Model(images_in, [patches, keras.layers.Flatten()(patches)]))
    with pytest.raises(ValueError, match="^classifier: "):
        kl.CVAEGAN(encoder, decoder, kl.build_feature_discriminator(), classifier=False)
    with pytest.raises(ValueError, match="^centre_decay"):
        families.cvae_gan(centre_decay=1.0)
    with pytest.raises(ValueError, match="^mean_weight"):
        families.cvae_gan(mean_weight=-1.0)
    with pytest.raises(ValueError, match="^dropout"):
        kl.build_feature_discriminator(dropout=1.5)
    model = families.cvae_gan()
    model.compile()
    with pytest.raises(ValueError, match="^y: "):
        model.fit(images, batch_size=16, epochs=1, verbose=0)
    with pytest.raises(ValueError, match="^y: "):
        model.fit(images, np.arange(32) % 11, batch_size=16, epochs=1, verbose=0)
    with pytest.raises(ValueError, match="^x: "):
        model.fit(images[:, :20, :20], np.arange(32) % 10, batch_size=16, epochs=1, verbose=0)
