"""InfoGAN of article 002: a label and continuous codes the discriminator's Q reads back."""


import keras
import numpy as np
import pytest

import keras_latent as kl
from keras_latent import losses
from tests import families
from tests.helpers import assert_config_round_trip, run_in_fresh_process



def weights_of(network):
    return [w.numpy().copy() for w in network.weights]


def moved(before, network):
    return any(not np.array_equal(a, w.numpy()) for a, w in zip(before, network.weights))


@pytest.mark.parametrize(
    "image_shape, classes, codes", [((28, 28, 1), 10, 2), ((32, 32, 3), 5, 3)]
)
def test_shapes_for_any_image_channel_and_class_count(image_shape, classes, codes):
    rng = np.random.default_rng(0)
    x = rng.uniform(size=(32,) + image_shape).astype("float32")
    y = np.arange(32) % classes
    model = families.info_gan(num_classes=classes, num_codes=codes, image_shape=image_shape)
    assert model.generator.output_shape == (None,) + image_shape
    assert [tuple(s) for s in model.discriminator.output_shape] == [
        (None, 1), (None, classes), (None, codes)
    ]
    model.compile()
    history = model.fit(x, y, batch_size=16, epochs=1, verbose=0).history
    assert {"d_loss", "g_loss", "d_code_loss", "g_code_loss", "fake_label_accuracy"} <= set(history)
    assert model.sample(4, seed=0).shape == (4,) + image_shape
    noise = rng.uniform(-1, 1, (3, 8))
    images = model.generate(noise, [0, 1, 2], np.zeros((3, codes)))
    assert images.shape == (3,) + image_shape and 0 <= images.min() and images.max() <= 1
    assert model.classify(x).shape == (32, classes)
    assert model.read_codes(x).shape == (32, codes)
    metrics = model.evaluate(x, y, verbose=0, return_dict=True)
    assert 0 <= metrics["real_label_accuracy"] <= 1


@pytest.mark.parametrize("role, network", [("discriminator_optimizer", "discriminator"),
                                           ("generator_optimizer", "generator")])
def test_each_update_moves_only_its_own_network(role, network, images):
    model = families.info_gan()
    other = {"discriminator_optimizer": "generator_optimizer", "generator_optimizer": "discriminator_optimizer"}[role]
    # The other role learns at rate zero: what moves is this role's doing.
    model.compile(**{role: keras.optimizers.Adam(1e-2), other: keras.optimizers.SGD(0.0)})
    before = {name: weights_of(getattr(model, name)) for name in ("generator", "discriminator")}
    trainable = {
        name: [v.path for v in getattr(model, name).trainable_variables]
        for name in ("generator", "discriminator")
    }
    model.fit(images, np.arange(len(images)) % 10, batch_size=16, epochs=1, verbose=0)
    for name in ("generator", "discriminator"):
        changed = [
            w.path for a, w in zip(before[name], getattr(model, name).weights)
            if not np.array_equal(a, w.numpy())
        ]
        if name == network:
            assert set(trainable[name]) <= set(changed)
        else:
            # Only BatchNorm's moving averages, which the forward pass updates.
            assert all("moving" in path for path in changed), changed


def test_article_code_loss_rewards_only_the_sign():
    codes = np.array([[0.5], [-0.5]], "float32")
    near_one, near_zero = np.array([[0.99], [0.99]]), np.array([[0.01], [0.01]])
    loss_one = keras.ops.convert_to_numpy(losses.sigmoid_code_loss(codes, near_one))
    loss_zero = keras.ops.convert_to_numpy(losses.sigmoid_code_loss(codes, near_zero))
    # A positive code prefers Q near 1; a negative one prefers Q near 0.
    assert loss_one[0] < loss_zero[0] and loss_zero[1] < loss_one[1]
    np.testing.assert_allclose(loss_one[0], -0.5 * np.log(0.99), rtol=1e-6)
    # Unbounded but for the clip: pushing Q to 0 for a negative code keeps paying.
    tiny = keras.ops.convert_to_numpy(losses.sigmoid_code_loss(codes[1:], np.array([[0.0]])))
    np.testing.assert_allclose(tiny, [0.5 * np.log(1e-7)], rtol=1e-5)


@pytest.mark.parametrize("code_loss", ["article", "gaussian"])
def test_q_learns_to_read_the_codes_back(code_loss, mnist_subset):
    (x, y), _ = mnist_subset
    keras.utils.set_random_seed(0)
    model = families.info_gan(code_loss=code_loss)
    model.compile()
    first = model.fit(x[:512], y[:512], batch_size=64, epochs=1, verbose=0).history
    last = model.fit(x[:2048], y[:2048], batch_size=64, epochs=3, verbose=0).history
    assert last["g_code_loss"][-1] < first["g_code_loss"][0]
    codes = np.random.default_rng(1).normal(0, 0.5, (256, 2)).astype("float32")
    images = model.sample(256, codes=codes, seed=1)
    read = model.read_codes(images)
    # The article's sigmoid rises with its code too, though no longer a likelihood.
    # Unrelated codes give |r| < 0.25 (4 sigma at 256 images); after these 96 steps
    # seeds 0-3 read 0.33 to 0.66: so few GAN steps leave a wide spread.
    for k in range(2):
        assert np.corrcoef(read[:, k], codes[:, k])[0, 1] > 0.25


def test_brief_training_writes_the_asked_label_more_often_than_chance(mnist_subset):
    (x, y), _ = mnist_subset
    keras.utils.set_random_seed(0)
    model = families.info_gan()
    model.compile()
    model.fit(x[:2048], y[:2048], batch_size=64, epochs=3, verbose=0)
    labels = np.arange(500) % 10
    rng = np.random.default_rng(0)
    noise = rng.uniform(-1, 1, (500, 8)).astype("float32")
    codes = rng.normal(0, 0.5, (500, 2)).astype("float32")
    # With batch statistics, as in training: 96 steps leave BatchNorm's moving
    # averages (momentum 0.99) far behind, and `generate` uses those.
    images = keras.ops.convert_to_numpy(model.generator(
        [noise, np.eye(10, dtype="float32")[labels], codes], training=True
    ))
    # Read by Q, which real digits trained (its accuracy on real test digits first).
    (_, _), (xt, yt) = mnist_subset
    assert np.mean(model.classify(xt[:1000]).argmax(1) == yt[:1000]) > 0.5
    assert np.mean(model.classify(images).argmax(1) == labels) > 0.3


def test_uniform_codes_are_drawn_in_the_square():
    model = families.info_gan(code_loss="gaussian", code_prior="uniform")
    _, _, codes = model.draw(4000)
    codes = keras.ops.convert_to_numpy(codes)
    assert codes.min() >= -1 and codes.max() <= 1
    assert np.allclose(codes.std(axis=0), 1 / np.sqrt(3), atol=0.02)  # U(-1, 1)
    sampled = model.sample(5, seed=0)  # its codes drawn alike
    assert sampled.shape == (5, 28, 28, 1)


def test_config_and_keras_round_trip_in_a_fresh_process(images, tmp_path):
    model = families.info_gan(code_loss="gaussian", code_prior="uniform")
    assert_config_round_trip(model)
    model.compile(generator_optimizer=keras.optimizers.Adam(1e-3))
    model.fit(images, np.arange(len(images)) % 10, batch_size=16, epochs=1, verbose=0)
    model.save(tmp_path / "gan.keras")
    np.save(tmp_path / "x.npy", images[:8])
    np.save(tmp_path / "out.npy", model.predict(images[:8], verbose=0))
    noise = np.random.default_rng(0).uniform(-1, 1, (4, 8)).astype("float32")
    np.save(tmp_path / "noise.npy", noise)
    np.save(tmp_path / "fakes.npy", model.generate(noise, [0, 1, 2, 3], np.zeros((4, 2))))
    script = f"""
        import numpy as np, keras
        import keras_latent
        model = keras.saving.load_model({str(tmp_path / "gan.keras")!r})
        assert type(model).__name__ == "InfoGAN" and model.compiled
        assert model.code_loss == "gaussian" and model.code_prior == "uniform"
        assert type(model.generator_optimizer).__name__ == "Adam"
        assert type(model.discriminator_optimizer).__name__ == "RMSprop"
        assert model.discriminator_optimizer.iterations.numpy() == 2 == model.generator_optimizer.iterations.numpy()
        x = np.load({str(tmp_path / "x.npy")!r})
        np.testing.assert_allclose(model.predict(x, verbose=0),
                                   np.load({str(tmp_path / "out.npy")!r}), rtol=1e-5, atol=1e-6)
        noise = np.load({str(tmp_path / "noise.npy")!r})
        np.testing.assert_allclose(model.generate(noise, [0, 1, 2, 3], np.zeros((4, 2))),
                                   np.load({str(tmp_path / "fakes.npy")!r}), rtol=1e-5, atol=1e-6)
        model.fit(x, np.arange(8) % 10, batch_size=8, epochs=1, verbose=0)
        assert model.generator_optimizer.iterations.numpy() == 3
        print("loaded")
    """
    assert "loaded" in run_in_fresh_process(script)


def test_mismatched_networks_are_refused():
    generator = kl.build_generator(noise_dim=8, num_codes=3, filters=(8, 8))
    discriminator = kl.build_info_discriminator(num_codes=2, filters=(8,))
    with pytest.raises(ValueError, match="^generator: expected inputs of sizes \\[8, 10, 2\\]"):
        kl.InfoGAN(generator, discriminator)
    generator = kl.build_generator((32, 32, 1), noise_dim=8, filters=(8, 8))
    with pytest.raises(ValueError, match="^generator: .*input shape"):
        kl.InfoGAN(generator, discriminator)
    with pytest.raises(ValueError, match="^image_shape: .*divide by 4"):
        kl.build_generator((30, 30, 1))
    with pytest.raises(ValueError, match="^code_loss"):
        kl.InfoGAN(kl.build_generator(filters=(8, 8)), discriminator, code_loss="mse")
    with pytest.raises(ValueError, match="^code_prior"):
        kl.InfoGAN(kl.build_generator(filters=(8, 8)), discriminator, code_prior="laplace")
    with pytest.raises(ValueError, match="^code_head"):
        kl.build_info_discriminator(code_head="tanh")
