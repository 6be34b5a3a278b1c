"""Article 003's VAE+GAN: three optimizers, a learned similarity, the balancing rule."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_latent as kl
from tests import families
from tests.helpers import (
    assert_config_round_trip, networks_each_optimizer_moves, run_in_fresh_process,
)

NETWORK_OF = {
    "encoder_optimizer": "encoder",
    "decoder_optimizer": "decoder",
    "discriminator_optimizer": "discriminator",
}


def weights_of(model):
    return {name: [w.numpy().copy() for w in getattr(model, name).weights]
            for name in NETWORK_OF.values()}


def test_each_optimizer_moves_only_its_own_network(images):
    model = families.vae_gan(balance=False)
    moved = networks_each_optimizer_moves(model, NETWORK_OF.values(), lambda: model.fit(
        images, np.arange(len(images)) % 10, batch_size=16, epochs=1, verbose=0))
    assert moved == {role: {network} for role, network in NETWORK_OF.items()}


class Script:
    """The article's L_GAN values the stubbed updates return, in the order called."""

    def __init__(self, d_values, g_values):
        self.values = {"d": d_values, "g": g_values}
        self.calls = {"d": 0, "g": 0}

    def next(self, player):
        value = self.values[player][self.calls[player] % 3]
        self.calls[player] += 1  # at trace time: the unrolled loop's call sites
        return tf.constant(value)


class Scripted(kl.VAEGAN):
    """A VAEGAN whose updates are replaced by `script`'s values."""

    script = None

    def discriminator_step(self, x, targets):
        return self.script.next("d")

    def autoencoder_step(self, x, targets):
        self.encoder_optimizer.iterations.assign_add(1)  # fit checks that a step ran
        return self.script.next("g")


@pytest.mark.parametrize(
    "d_values, g_values, d_taken, g_taken",
    [
        ((1.5, 1.2, 0.5), (0.3, 0.5, 0.1), 3, 2),  # D behind twice; G stops at 0.5
        ((0.5, 2.0, 2.0), (0.1, 0.1, 0.1), 1, 3),  # D fooled at once; G keeps winning
        ((1.0, 0.99, 3.0), (0.4, 0.41, 0.0), 2, 2),  # the thresholds are inclusive
    ],
)
def test_the_balancing_rule_takes_the_steps_its_losses_call_for(
    d_values, g_values, d_taken, g_taken, images
):
    networks = families.vae_gan()
    Scripted.script = Script(d_values, g_values)
    model = Scripted(networks.encoder, networks.decoder, networks.discriminator, seed=0)
    model.compile()
    history = model.fit(images[:10], np.arange(10) % 10, batch_size=10, epochs=1, verbose=0)
    assert history.history["d_steps_taken"] == [d_taken]
    assert history.history["g_steps_taken"] == [g_taken]


def similarity(model, real, fake):
    """The model's per-example `L_llike` for layers `real` and `fake`, per pixel."""
    values = kl.losses.similarity_loss(
        real, fake, model.similarity, model.standardize_similarity
    )
    return keras.ops.convert_to_numpy(values) / model.pixels


def test_similarity_losses_against_hand_computed_values():
    model = families.vae_gan(similarity="bce", standardize_similarity=False)
    real, fake = np.zeros((1, 2, 2, 1), "float32"), np.zeros((1, 2, 2, 1), "float32")
    fake[0, 0, 0, 0] = 2.0
    # Cross-entropy of sigmoid(fake) against sigmoid(real) = 1/2, from logits.
    expected = (3 * np.log(2.0) + (np.log1p(np.exp(2.0)) - 0.5 * 2.0)) / 784
    assert model.pixels == 784
    np.testing.assert_allclose(similarity(model, real, fake), [expected], rtol=1e-5)
    squared = families.vae_gan(similarity="mse", standardize_similarity=False)
    np.testing.assert_allclose(similarity(squared, real, fake), [4.0 / 784], rtol=1e-6)


def test_standardized_similarity_divides_each_channel_by_the_real_batch_spread():
    model = families.vae_gan()  # mse on standardised l, the default
    rng = np.random.default_rng(0)
    real = rng.normal(size=(64, 2, 2, 3)).astype("float32") * [0.1, 1.0, 5.0]
    fake = real + np.array([0.1, 1.0, 5.0], "float32")  # one standard deviation off per channel
    got = similarity(model, real, fake)
    spread = real.reshape(-1, 3).std(axis=0)
    expected = (np.array([0.1, 1.0, 5.0]) ** 2 / spread**2).sum() * 4 / 784
    np.testing.assert_allclose(got, np.full(64, expected), rtol=1e-4)
    # The discriminator cannot make the metric vanish by shrinking l.
    shrunk = similarity(model, real / 10, fake / 10)
    np.testing.assert_allclose(shrunk, got, rtol=1e-2)


def test_kl_weight_scales_the_prior_term_of_the_encoder_loss_alone(images):
    x, targets = tf.constant(images), tf.one_hot(np.arange(len(images)) % 10, 10)
    rate, start = 0.1, families.vae_gan()
    stepped = {}
    for kl_weight in (0.0, 1.0):  # the same weights and (seeded) draws in both
        model = families.vae_gan(kl_weight=kl_weight)
        model.set_weights(start.get_weights())
        model.compile(**{role: keras.optimizers.SGD(rate) for role in NETWORK_OF})
        model.autoencoder_step(x, targets)
        stepped[kl_weight] = weights_of(model)
    # The prior term alone separates the two encoder steps; it is deterministic
    # (the KL of the encoder's mean and log-variance, no draw).
    with tf.GradientTape() as tape:
        z_mean, z_log_var, _ = start.encoder([x, targets], training=True)
        prior = keras.ops.mean(start.prior_loss(z_mean, z_log_var) * start.pixels)
    gradients = tape.gradient(prior, start.encoder.weights)
    for without, with_kl, gradient in zip(
        stepped[0.0]["encoder"], stepped[1.0]["encoder"], gradients
    ):
        gradient = np.zeros(without.shape) if gradient is None else gradient.numpy()
        np.testing.assert_allclose(without - with_kl, rate * gradient, rtol=1e-3, atol=1e-6)
    encoders = zip(stepped[0.0]["encoder"], stepped[1.0]["encoder"])
    assert any(not np.allclose(a, b) for a, b in encoders)
    for name in ("decoder", "discriminator"):  # the other losses do not read it
        for a, b in zip(stepped[0.0][name], stepped[1.0][name]):
            np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-8)
    assert kl.VAEGAN.from_config(families.vae_gan(kl_weight=0.5).get_config()).kl_weight == 0.5


def test_brief_training_logs_every_loss_and_the_steps_taken(mnist_subset):
    (x, y), (xt, yt) = mnist_subset
    keras.utils.set_random_seed(0)
    model = families.vae_gan()
    model.compile()
    # Three steps an epoch: what is logged and counted, not what is learnt.
    history = model.fit(x[:480], y[:480], batch_size=5 * 32, epochs=2, verbose=0).history
    for name in ("recon_loss", "kl_loss", "llike_loss", "gan_loss", "d_accuracy"):
        assert np.isfinite(history[name]).all(), name
    assert all(1 <= v <= 3 for v in history["d_steps_taken"] + history["g_steps_taken"])
    steps = 2 * 3
    assert model.discriminator_optimizer.iterations.numpy() >= steps  # 1 to 3 a step
    assert model.reconstruct(xt[:8], yt[:8]).shape == (8, 28, 28, 1)
    metrics = model.evaluate(xt[:160], yt[:160], verbose=0, return_dict=True)
    assert np.isfinite(metrics["llike_loss"])


def test_update_counts_are_logged_by_fit_not_by_evaluate(images):
    model = families.vae_gan()
    model.compile()
    labels = np.arange(len(images)) % 10
    history = model.fit(
        images, labels, batch_size=10, epochs=1, verbose=0, validation_data=(images, labels)
    ).history
    assert {"d_steps_taken", "g_steps_taken", "val_llike_loss", "val_d_accuracy"} <= set(history)
    assert not {"val_d_steps_taken", "val_g_steps_taken"} & set(history)
    results = model.evaluate(images, labels, batch_size=10, verbose=0, return_dict=True)
    assert set(results) == {"recon_loss", "kl_loss", "llike_loss", "gan_loss", "d_accuracy"}
    assert all(np.isfinite(value) for value in results.values())


def test_config_and_keras_round_trip_in_a_fresh_process(images, tmp_path):
    model = families.vae_gan(dropout=0.3, similarity="mse", gamma=0.5)
    assert_config_round_trip(model)
    labels = np.arange(len(images)) % 10
    model.compile(decoder_optimizer=keras.optimizers.Adam(1e-4))
    model.fit(images, labels, batch_size=10, epochs=1, verbose=0)
    model.save(tmp_path / "vaegan.keras")
    np.save(tmp_path / "x.npy", images[:8])
    np.save(tmp_path / "out.npy", model.reconstruct(images[:8], labels[:8]))
    iterations = {role: int(getattr(model, role).iterations.numpy()) for role in NETWORK_OF}
    script = f"""
        import numpy as np, keras
        import keras_latent
        model = keras.saving.load_model({str(tmp_path / "vaegan.keras")!r})
        assert type(model).__name__ == "VAEGAN" and model.compiled
        assert model.similarity == "mse" and model.gamma == 0.5
        assert type(model.decoder_optimizer).__name__ == "Adam"
        iterations = {iterations!r}
        for role, count in iterations.items():
            assert getattr(model, role).iterations.numpy() == count, role
        x = np.load({str(tmp_path / "x.npy")!r})
        np.testing.assert_allclose(model.reconstruct(x, np.arange(8) % 10),
                                   np.load({str(tmp_path / "out.npy")!r}), rtol=1e-5, atol=1e-6)
        print("loaded")
    """
    assert "loaded" in run_in_fresh_process(script)


def test_bad_networks_and_inputs_are_refused(images):
    with pytest.raises(ValueError, match="^discriminator: .*input shape and class count"):
        kl.VAEGAN(
            kl.build_conditional_encoder(latent_dim=2), kl.build_conditional_decoder(latent_dim=2),
            kl.build_similarity_discriminator(num_classes=5),
        )
    with pytest.raises(ValueError, match="^similarity"):
        families.vae_gan(similarity="l1")
    with pytest.raises(ValueError, match="^d_steps"):
        families.vae_gan(d_steps=0)
    with tf.distribute.MirroredStrategy(["/cpu:0"]).scope():
        balanced = families.vae_gan()
        with pytest.raises(ValueError, match="^balance: .*strategy"):
            balanced.compile()
    model = families.vae_gan()
    model.compile()
    with pytest.raises(ValueError, match="^y: "):
        model.fit(images, batch_size=10, epochs=1, verbose=0)
    with pytest.raises(ValueError, match="^y: "):
        model.fit(images, np.eye(9)[np.arange(32) % 9], batch_size=10, epochs=1, verbose=0)
    with pytest.raises(ValueError, match="^x: "):
        model.fit(images[:, :20, :20], np.arange(32) % 10, batch_size=10, epochs=1, verbose=0)
