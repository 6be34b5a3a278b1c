import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_latent as kl
from keras_latent import evaluation
from tests import families
from tests.helpers import assert_config_round_trip, assert_saved_model_round_trip


def make_aae(image_shape=(28, 28, 1), latent_dim=2, units=(64,), prior="gaussian", **kwargs):
    return families.aae(latent_dim, units, image_shape, prior=prior, **kwargs)


def snapshot(model):
    return [v.numpy().copy() for v in model.trainable_variables]


def moved(before, variables):
    return [not np.array_equal(b, v.numpy()) for b, v in zip(before, variables)]


def test_builders_follow_the_article():
    encoder = kl.build_encoder()
    assert [l.units for l in encoder.layers if isinstance(l, keras.layers.Dense)] == [1000, 1000, 2]
    assert encoder.output_shape == (None, 2)
    variational = kl.build_encoder(latent_dim=15, variational=True)
    assert {"z_mean", "z_log_var"} <= {l.name for l in variational.layers}
    assert variational.output_shape == (None, 15)
    assert kl.build_decoder(output_shape=(32, 32, 3)).output_shape == (None, 32, 32, 3)
    assert kl.build_code_discriminator().output_shape == (None, 1)
    with pytest.raises(ValueError, match="input_shape: expected"):
        kl.build_encoder(input_shape=(28, 28))


def test_encoder_dropout_shifts_and_rotations_act_in_training_alone(images, tmp_path):
    encoder = kl.build_encoder(
        images.shape[1:], latent_dim=3, hidden_units=(16, 16), num_classes=4,
        dropout=0.5, random_shift=3, random_rotation=20, seed=0,
    )
    random = ("random_rotation", "random_shift", "encoder_dropout_0", "encoder_dropout_1")
    assert [l.name for l in encoder.layers if l.name in random] == list(random)
    shift = encoder.get_layer("random_shift")
    moved = keras.ops.convert_to_numpy(shift(images, training=True))
    assert not np.allclose(moved, images)
    # A translation with zero fill adds no ink; it loses some at the borders only.
    assert np.all(moved.sum(axis=(1, 2, 3)) <= images.sum(axis=(1, 2, 3)) + 1e-3)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(shift(images, training=False)), images)
    turn = encoder.get_layer("random_rotation")
    assert not np.allclose(keras.ops.convert_to_numpy(turn(images, training=True)), images)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(turn(images, training=False)), images)
    first, second = (keras.ops.convert_to_numpy(encoder(images, training=True)[0]) for _ in "ab")
    assert not np.allclose(first, second)
    np.testing.assert_allclose(*(encoder.predict(images, verbose=0)[0] for _ in "ab"))
    # Each layer on its own reaches the encoder's training pass.
    for alone in ({"random_shift": 3}, {"random_rotation": 20}, {"dropout": 0.5}):
        one = kl.build_encoder(images.shape[1:], latent_dim=3, hidden_units=(16,), seed=0, **alone)
        assert not np.allclose(*(keras.ops.convert_to_numpy(one(images, training=True)) for _ in "ab"))
    loaded = assert_saved_model_round_trip(
        encoder, images, tmp_path, lambda m: np.concatenate(m.predict(images, verbose=0), 1)
    )
    for name in random:
        assert loaded.get_layer(name).get_config() == encoder.get_layer(name).get_config()
    for wrong in (
        {"dropout": 1.0}, {"dropout": None}, {"random_shift": 28}, {"random_shift": -1},
        {"random_rotation": 200}, {"random_rotation": "15"},
    ):
        with pytest.raises(ValueError, match=f"{next(iter(wrong))}: expected"):
            kl.build_encoder(**wrong)


def test_training_lowers_reconstruction_and_moves_q_toward_p(mnist_subset):
    (x, _), (xt, _) = mnist_subset
    keras.utils.set_random_seed(0)  # its weights, not the worker's stream: no test order
    model = make_aae(units=(256, 256), prior="mixture")
    model.compile()
    draws = keras.ops.convert_to_numpy(model.prior.sample(len(xt), seed=1))
    recon_before = model.evaluate(xt, batch_size=250, verbose=0, return_dict=True)["recon_loss"]
    distance_before = evaluation.energy_distance(model.encode(xt), draws)
    model.fit(x, batch_size=100, epochs=-(-32000 // len(x)), verbose=0)  # >= 320 steps
    recon_after = model.evaluate(xt, batch_size=250, verbose=0, return_dict=True)["recon_loss"]
    distance_after = evaluation.energy_distance(model.encode(xt), draws)
    assert recon_after < 0.8 * recon_before
    assert distance_after < distance_before


@pytest.mark.parametrize("schedule", ["paper", "joint"])
def test_each_update_moves_only_its_own_network(images, schedule):
    model = make_aae(schedule=schedule)
    model.compile()
    x = tf.constant(images)
    networks = {"encoder": model.encoder, "decoder": model.decoder, "discriminator": model.discriminator}
    codes = model.encoder(x)
    updates = {  # each update's role, loss, input and the networks it may move
        "reconstruction": ("autoencoder_optimizer", model.reconstruction_loss, x,
                           {"encoder", "decoder"}),
        "discriminator": ("discriminator_optimizer", model.discriminator_loss, codes,
                          {"discriminator"}),
        "regularization": ("generator_optimizer", model.regularization_loss, x,
                           {"discriminator", "encoder"}),
        "joint": ("autoencoder_optimizer", model.joint_loss, x,
                  {"discriminator", "encoder", "decoder"}),
    }
    for update, (role, loss, inputs, owners) in updates.items():
        if schedule == "joint" and update == "regularization":
            continue
        before = {name: snapshot(net) for name, net in networks.items()}
        model.update(role, loss, inputs, None)
        for name, net in networks.items():
            changed = moved(before[name], net.trainable_variables)
            if name in owners:
                assert all(changed), f"{update} left {name} in place"
            else:
                assert not any(changed), f"{update} moved {name}"


def test_regularization_phase_equals_a_discriminator_then_a_generator_step(images):
    """Sharing one encoder pass between the two steps keeps the paper's math."""
    x = tf.constant(images)
    shared, separate = make_aae(), make_aae()
    separate.set_weights(shared.get_weights())
    for model in (shared, separate):
        model.compile(**{role: keras.optimizers.SGD(0.1) for role in model.optimizer_roles()})
    before = shared.get_weights()
    shared.update("generator_optimizer", shared.regularization_loss, x, None)
    separate.update(
        "discriminator_optimizer", separate.discriminator_loss, separate.encoder(x), None
    )
    with tf.GradientTape() as tape:  # the generator step on a fresh encoder pass
        loss = keras.ops.mean(separate.generator_loss(separate.encoder(x), None))
    variables = separate.encoder.trainable_variables
    separate.generator_optimizer.apply(tape.gradient(loss, variables), variables)
    for a, b in zip(shared.get_weights(), separate.get_weights()):
        np.testing.assert_allclose(a, b, atol=1e-6)
    assert sum(not np.allclose(a, b) for a, b in zip(before, shared.get_weights())) == len(
        shared.encoder.weights + shared.discriminator.weights
    )


def test_compiled_optimizers_are_bound_to_their_networks():
    model = make_aae()
    model.compile()
    assert (
        model.discriminator_optimizer.built
        and model.generator_optimizer.built
        and model.autoencoder_optimizer.built
    )
    assert model.optimizer is None  # no unused Keras default beside them
    shared = keras.optimizers.Adam()
    with pytest.raises(ValueError, match="separate optimizer"):
        make_aae().compile(autoencoder_optimizer=shared, discriminator_optimizer=shared)
    with pytest.raises(ValueError, match="generator_optimizer"):
        make_aae(schedule="joint").compile(generator_optimizer=keras.optimizers.Adam())
    with pytest.raises(ValueError, match="optimizer"):
        make_aae().compile(optimizer="adam")


def test_fit_returns_the_metrics_and_joint_schedule_trains(images):
    model = make_aae(schedule="joint", reconstruction="mae")
    model.compile()
    history = model.fit(images, batch_size=8, epochs=2, verbose=0)
    assert set(history.history) == {"recon_loss", "d_loss", "g_loss", "d_accuracy"}
    assert model.discriminator_optimizer.iterations.numpy() == 8
    assert model.autoencoder_optimizer.iterations.numpy() == 8


def test_fit_on_dataset_of_other_size_and_channels():
    rng = np.random.default_rng(0)
    x = rng.uniform(size=(40, 32, 24, 3)).astype("float32")
    y = rng.integers(0, 5, 40)
    model = make_aae(image_shape=(32, 24, 3), latent_dim=3, prior="uniform")
    model.compile()
    with pytest.warns(UserWarning, match="labels are not used"):
        history = model.fit(kl.data.make_dataset(x, y, batch_size=10, seed=0), epochs=2, verbose=0)
    assert np.isfinite(history.history["recon_loss"]).all()
    assert model.predict(x[:4], verbose=0).shape == (4, 32, 24, 3)
    assert model.encode(x[:4]).shape == (4, 3)
    assert model.sample(6, seed=0).shape == (6, 32, 24, 3)


def test_saved_model_round_trip(images, tmp_path):
    model = make_aae(prior="mixture")
    model.compile(discriminator_optimizer=keras.optimizers.RMSprop(1e-3))
    model.fit(images, batch_size=16, epochs=1, verbose=0)
    loaded = assert_saved_model_round_trip(model, images, tmp_path)
    assert loaded.compiled
    assert isinstance(loaded.discriminator_optimizer, keras.optimizers.RMSprop)
    assert loaded.discriminator_optimizer.iterations.numpy() == 2
    assert loaded.prior.get_config() == model.prior.get_config()
    loaded.fit(images, batch_size=16, epochs=1, verbose=0)  # training resumes
    assert loaded.generator_optimizer.iterations.numpy() == 4


def test_config_round_trip():
    model = make_aae(prior=kl.priors.SwissRoll(), schedule="joint", reconstruction="mse")
    restored = kl.AdversarialAutoencoder.from_config(model.get_config())
    assert restored.schedule == "joint" and isinstance(restored.prior, kl.priors.SwissRoll)
    assert restored.encoder.get_config() == model.encoder.get_config()
    assert_config_round_trip(model.prior)


def test_bad_input_raises_before_training(images):
    model = make_aae()
    model.compile()
    with pytest.raises(ValueError, match="x: expected images shaped"):
        model.fit(images[..., 0], epochs=1, verbose=0)
    with pytest.raises(ValueError, match="x: contains NaN"):
        model.fit(np.full_like(images, np.nan), epochs=1, verbose=0)
    with pytest.raises(ValueError, match=r"x: expected images of shape \(28, 28, 1\)"):
        model.fit(np.zeros((4, 32, 32, 1), "float32"), epochs=1, verbose=0)
    assert model.autoencoder_optimizer.iterations.numpy() == 0
    with pytest.raises(ValueError, match="prior: expected one of"):
        make_aae(prior="cauchy")
    with pytest.raises(ValueError, match="prior: expected a prior over codes of size 2"):
        make_aae(prior=kl.priors.Gaussian(dim=5))
    with pytest.raises(ValueError, match="schedule"):
        make_aae(schedule="alternating")
    with pytest.raises(ValueError, match=r"decoder: expected inputs of sizes \[2\]"):
        kl.AdversarialAutoencoder(
            kl.build_encoder(latent_dim=2, hidden_units=(8,)),
            kl.build_decoder(latent_dim=3, hidden_units=(8,)),
            kl.build_code_discriminator(latent_dim=2, hidden_units=(8,)),
        )


def test_gradient_penalty_is_the_squared_slope_at_prior_draws():
    # A discriminator without hidden layers is linear: its slope is its kernel everywhere.
    model = kl.AdversarialAutoencoder(
        kl.build_encoder(hidden_units=(8,)), kl.build_decoder(hidden_units=(8,)),
        kl.build_code_discriminator(hidden_units=()), gradient_penalty=2.0, seed=0,
    )
    model.compile()
    z = tf.constant(np.random.default_rng(0).normal(size=(5, 2)).astype("float32"))
    _, gradients = model.real_logits(z, None)
    kernel = model.discriminator.get_layer("logit").kernel.numpy()
    # gamma / 2 * |dD/dz|^2 with gamma 2: the squared slope itself.
    penalty = kl.losses.r1_penalty(gradients, model.gradient_penalty)
    np.testing.assert_allclose(penalty.numpy(), [np.sum(kernel**2)] * 5, rtol=1e-5)
    before = snapshot(model.discriminator)
    model.update(
        "discriminator_optimizer", model.discriminator_loss,
        model.encoder(tf.zeros((5, 28, 28, 1))), None,
    )
    assert all(moved(before, model.discriminator.trainable_variables))
    history = model.fit(np.zeros((8, 28, 28, 1), "float32"), batch_size=4, epochs=1, verbose=0)
    assert np.isfinite(history.history["d_loss"]).all()
    restored = kl.AdversarialAutoencoder.from_config(model.get_config())
    assert restored.gradient_penalty == 2.0
    assert make_aae().real_logits(z, None)[1] is None  # off by default
    with pytest.raises(ValueError, match="gradient_penalty: expected a number >= 0"):
        make_aae(gradient_penalty=-1.0)


def test_input_noise_reaches_the_encoder_and_not_the_target(images):
    model = make_aae(input_noise=0.3)
    model.compile()
    x = tf.constant(images)
    noise = model.noisy(x).numpy() - images
    assert noise.std() == pytest.approx(0.3, rel=0.05) and abs(noise.mean()) < 0.01
    assert not np.array_equal(model.noisy(x).numpy(), model.noisy(x).numpy())  # fresh draws
    # Every update encodes noisy(x) and reconstructs the clean x: with noisy(x)
    # replaced by blank images, the tracked loss is that of decoding a blank's code.
    model.noisy = lambda x: tf.zeros_like(x)
    blank = model.decoder(model.encoder(tf.zeros_like(x)))
    expected = kl.losses.reconstruction_loss(images, blank, model.reconstruction)
    model.update("autoencoder_optimizer", model.reconstruction_loss, x, None)
    assert float(model.results()["recon_loss"]) == pytest.approx(
        float(np.mean(expected)), rel=1e-4
    )
    plain = make_aae()
    assert plain.noisy(x) is x  # off by default
    restored = kl.AdversarialAutoencoder.from_config(make_aae(input_noise=0.3).get_config())
    assert restored.input_noise == 0.3
    with pytest.raises(ValueError, match="input_noise: expected a number >= 0"):
        make_aae(input_noise=-1.0)
