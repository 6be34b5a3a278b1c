"""The CVAE-GAN (Bao et al. 2017): four optimizers, feature matching, class centres."""

import keras
import numpy as np
import pytest

import keras_latent as kl
from keras_latent import losses
from tests import families
from tests.helpers import assert_config_round_trip, run_in_fresh_process

NETWORK_OF = {
    "encoder_optimizer": "encoder",
    "decoder_optimizer": "decoder",
    "discriminator_optimizer": "discriminator",
    "classifier_optimizer": "classifier",
}


def weights_of(model):
    return {name: [w.numpy().copy() for w in getattr(model, name).weights]
            for name in NETWORK_OF.values()}


@pytest.mark.parametrize("role", sorted(NETWORK_OF))
def test_each_optimizer_moves_only_its_own_network(role, images):
    model = families.cvae_gan()
    model.compile(**{
        other: keras.optimizers.SGD(0.0) for other in NETWORK_OF if other != role
    }, **{role: keras.optimizers.Adam(1e-2)})
    before = weights_of(model)
    model.fit(images, np.arange(len(images)) % 10, batch_size=16, epochs=1, verbose=0)
    after = weights_of(model)
    for name in before:
        moved = any(not np.array_equal(a, b) for a, b in zip(before[name], after[name]))
        assert moved == (name == NETWORK_OF[role]), (role, name)


def test_without_a_classifier_there_is_no_classifier_update_or_term(images):
    model = families.cvae_gan(classifier=False)
    assert set(model.optimizer_roles()) == set(NETWORK_OF) - {"classifier_optimizer"}
    with pytest.raises(ValueError, match="^classifier_optimizer: "):
        model.compile(classifier_optimizer="adam")
    model.compile()
    history = model.fit(images, np.arange(32) % 10, batch_size=16, epochs=1, verbose=0)
    assert not {"c_loss", "c_accuracy", "class_mean_loss"} & set(history.history)
    assert "pairwise_loss" in history.history and "mean_loss" in history.history


def test_feature_matching_losses_against_hand_computed_values():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(5, 3, 2)).astype("float32"), rng.normal(size=(5, 6)).astype("float32")
    a2, b2 = a + rng.normal(size=a.shape), b * 2.0
    pairwise = losses.pairwise_matching_loss([(a, a2), (b, b2)])
    expected = 0.5 * (((a - a2) ** 2).sum(axis=(1, 2)) + ((b - b2) ** 2).sum(axis=1))
    np.testing.assert_allclose(pairwise, expected, rtol=1e-5)
    mean = losses.mean_matching_loss(b, b2)
    np.testing.assert_allclose(mean, np.full(5, 0.5 * ((b.mean(0) - b2.mean(0)) ** 2).sum()), rtol=1e-5)
    # Class means: class 0 has rows 0 and 2, class 2 row 1; class 1 is absent.
    targets = np.eye(3, dtype="float32")[[0, 2, 0]]
    fake = rng.normal(size=(3, 4)).astype("float32")
    centres = rng.normal(size=(3, 4)).astype("float32")
    value = losses.class_mean_matching_loss(centres, fake, targets)
    expected = 0.5 * (((centres[0] - fake[[0, 2]].mean(0)) ** 2).sum()
                      + ((centres[2] - fake[1]) ** 2).sum())
    np.testing.assert_allclose(value, np.full(3, expected), rtol=1e-5)


def test_class_centres_are_debiased_moving_averages_of_the_present_classes():
    targets = np.eye(3, dtype="float32")
    centres, seen = np.zeros((3, 2), "float32"), np.zeros(3, "float32")
    batches = [
        (np.array([[1.0, 2.0], [3.0, 6.0]], "float32"), [0, 0]),  # class 0 mean (2, 4)
        (np.array([[4.0, 0.0], [5.0, 5.0]], "float32"), [0, 1]),
    ]
    decay = 0.5
    for features, labels in batches:
        centres, seen, estimates = losses.class_centres(
            centres, seen, features, targets[labels], decay
        )
    centres, seen, estimates = (np.asarray(v) for v in (centres, seen, estimates))
    # Class 0: 0.5 * (0.5 * (2, 4)) + 0.5 * (4, 0) = (2.5, 1); weight 0.5 * 0.5 + 0.5.
    np.testing.assert_allclose(centres[0], [2.5, 1.0])
    np.testing.assert_allclose(seen, [0.75, 0.5, 0.0])
    np.testing.assert_allclose(estimates[0], [2.5 / 0.75, 1.0 / 0.75], rtol=1e-6)
    np.testing.assert_allclose(estimates[1], [5.0, 5.0])  # seen once: its own mean
    np.testing.assert_allclose(estimates[2], [0.0, 0.0])  # never seen


def test_a_training_step_moves_the_centres_of_the_batch_classes_alone(images):
    model = families.cvae_gan(centre_decay=0.75)
    model.compile()
    labels = np.array([0, 0, 3, 3, 3, 5, 5, 5] * 2)
    _, features = model.classifier(images[:16], training=True)  # C before its step
    model.train_on_batch(images[:16], labels)
    features = np.asarray(features)
    centres = model.centres.numpy()
    for k in range(10):
        expected = 0.25 * features[labels == k].mean(0) if k in labels else np.zeros(features.shape[1])
        np.testing.assert_allclose(centres[k], expected, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(model.centre_weights.numpy(), [0.25 * (k in labels) for k in range(10)])


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
    np.testing.assert_allclose(np.asarray(d.values) > 0, True)
    np.testing.assert_allclose(np.asarray(c.values) > 0, True)


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
    np.save(tmp_path / "centres.npy", model.centres.numpy())
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
        np.testing.assert_array_equal(model.centres.numpy(), np.load({str(tmp_path / "centres.npy")!r}))
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
