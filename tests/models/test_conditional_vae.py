"""Article 003's networks and the conditional VAE its VAE+GAN is compared with."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_latent as kl
from keras_latent import losses
from tests import families
from tests.helpers import assert_config_round_trip, run_in_fresh_process


@pytest.mark.parametrize("image_shape, classes", [((28, 28, 1), 10), ((32, 32, 3), 5)])
def test_networks_for_any_image_channel_and_class_count(image_shape, classes):
    encoder = kl.build_conditional_encoder(image_shape, classes, latent_dim=3)
    decoder = kl.build_conditional_decoder(image_shape, classes, latent_dim=3)
    discriminator = kl.build_similarity_discriminator(image_shape, classes)
    x = keras.ops.convert_to_tensor(
        np.random.default_rng(0).uniform(size=(4,) + image_shape).astype("float32")
    )
    y = keras.ops.convert_to_tensor(np.eye(classes, dtype="float32")[np.arange(4) % classes])
    z_mean, z_log_var, z = encoder([x, y])
    assert z_mean.shape == z_log_var.shape == z.shape == (4, 3)
    assert decoder([z, y]).shape == (4,) + image_shape
    logit, similarity = discriminator([x, y])
    quarter = (-(-image_shape[0] // 8), -(-image_shape[1] // 8))  # three halvings, rounded up
    assert logit.shape == (4, 1) and similarity.shape == (4,) + quarter + (16,)


def test_the_discriminator_trains_its_similarity_layer():
    # Its logit is computed from l (the article's code left l off that path).
    discriminator = kl.build_similarity_discriminator(dropout=0.0)
    x = tf.constant(np.random.default_rng(0).uniform(size=(2, 28, 28, 1)), "float32")
    y = tf.constant(np.eye(10)[[0, 1]], "float32")
    with tf.GradientTape() as tape:
        logit, _ = discriminator([x, y])
    kernel = discriminator.get_layer("similarity").kernel
    assert np.abs(tape.gradient(logit, kernel).numpy()).sum() > 0


def test_the_draw_clips_the_log_variance():
    sampling = kl.Sampling(seed=0, log_var_limit=4.0)
    mean, log_var = np.zeros((20000, 1), "float32"), np.full((20000, 1), 10.0, "float32")
    draws = keras.ops.convert_to_numpy(sampling([mean, log_var]))
    np.testing.assert_allclose(draws.std(), np.exp(2.0), rtol=0.05)  # exp(4 / 2), not exp(5)
    with pytest.raises(ValueError, match="^log_var_limit"):
        kl.Sampling(log_var_limit=-1)


def test_prior_loss_is_the_clipped_kl_over_pixels():
    model = families.conditional_vae()
    mean = np.array([[1.0, 0.0]], "float32")
    log_var = np.array([[0.0, 9.0]], "float32")  # clipped to 4
    expected = -0.5 * ((1 + 0 - 1 - 1) + (1 + 4 - 0 - np.exp(4))) / 784
    got = keras.ops.convert_to_numpy(model.prior_loss(mean, log_var))
    np.testing.assert_allclose(got, [expected], rtol=1e-5)
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(losses.gaussian_kl(mean, np.zeros_like(mean))), [0.5]
    )


def test_brief_training_lowers_the_loss_and_reconstructs(mnist_subset):
    (x, y), (xt, yt) = mnist_subset
    keras.utils.set_random_seed(0)
    model = families.conditional_vae(latent_dim=4)
    model.compile()
    history = model.fit(x[:2048], y[:2048], batch_size=64, epochs=3, verbose=0).history
    assert history["loss"][-1] < history["loss"][0]
    assert {"recon_loss", "kl_loss"} <= set(history)
    rebuilt = model.reconstruct(xt[:200], yt[:200])
    assert rebuilt.shape == (200, 28, 28, 1)
    assert np.mean((rebuilt - xt[:200]) ** 2) < np.mean((xt[:200].mean(0) - xt[:200]) ** 2)
    sevens = model.transfer(xt[:20], yt[:20], [7] * 20)
    assert sevens.shape == (20, 28, 28, 1)
    assert model.sample(5, labels=[0, 1, 2, 3, 4], seed=0).shape == (5, 28, 28, 1)
    predicted = model.predict({"images": xt[:8], "labels": yt[:8]}, verbose=0)
    np.testing.assert_allclose(predicted, model.reconstruct(xt[:8], yt[:8]), rtol=1e-5, atol=1e-6)


def test_config_and_keras_round_trip_in_a_fresh_process(images, tmp_path):
    model = families.conditional_vae(dropout=0.3)
    assert_config_round_trip(model)
    labels = np.arange(len(images)) % 10
    model.compile()
    model.fit(images, labels, batch_size=16, epochs=1, verbose=0)
    model.save(tmp_path / "cvae.keras")
    np.save(tmp_path / "x.npy", images[:8])
    np.save(tmp_path / "out.npy", model.reconstruct(images[:8], labels[:8]))
    script = f"""
        import numpy as np, keras
        import keras_latent
        model = keras.saving.load_model({str(tmp_path / "cvae.keras")!r})
        assert type(model).__name__ == "ConditionalVAE" and model.compiled
        assert model.log_var_limit == 4.0
        assert model.autoencoder_optimizer.iterations.numpy() == 2
        x = np.load({str(tmp_path / "x.npy")!r})
        np.testing.assert_allclose(model.reconstruct(x, np.arange(8) % 10),
                                   np.load({str(tmp_path / "out.npy")!r}), rtol=1e-5, atol=1e-6)
        print("loaded")
    """
    assert "loaded" in run_in_fresh_process(script)


def test_mismatched_networks_and_bad_inputs_are_refused(images):
    with pytest.raises(ValueError, match="^decoder: expected inputs of sizes \\[2, 10\\]"):
        kl.ConditionalVAE(
            kl.build_conditional_encoder(latent_dim=2), kl.build_conditional_decoder(latent_dim=3)
        )
    with pytest.raises(ValueError, match="^image_shape: .*divide by 4"):
        kl.build_conditional_decoder((30, 30, 1))
    model = families.conditional_vae()
    model.compile()
    with pytest.raises(ValueError, match="^y: "):
        model.fit(images, batch_size=8, epochs=1, verbose=0)  # images without labels
    with pytest.raises(ValueError, match="^y: "):
        model.fit(images, np.eye(9)[np.arange(32) % 9], batch_size=8, epochs=1, verbose=0)
    with pytest.raises(ValueError, match="^x: "):
        model.fit(images[:, :24, :24], np.arange(32) % 10, batch_size=8, epochs=1, verbose=0)
    with pytest.raises(ValueError, match="^labels: "):
        model.decode(np.zeros((2, 2)), [0, 10])
    with pytest.raises(ValueError, match="^z: "):
        model.decode(np.zeros((2, 3)), [0, 1])
