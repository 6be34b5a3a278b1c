"""The shared base: a toy two-network model written on it in a few lines."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_latent as kl
from keras_latent import losses
from keras_latent.models.multi_optimizer_model import Loss, MultiOptimizerModel
from tests.helpers import run_in_fresh_process


@keras.saving.register_keras_serializable(package="keras_latent_tests")
class ToyAutoencoder(MultiOptimizerModel):
    """Encoder and decoder, each stepped by its own optimizer on the same error."""

    def __init__(self, encoder, decoder, **kwargs):
        super().__init__(**kwargs)
        self.encoder, self.decoder = encoder, decoder
        self.add_trackers("encoder_loss", "decoder_loss")
        self.built = True

    @property
    def image_shape(self):
        return tuple(self.encoder.input_shape[1:])

    def optimizer_roles(self):
        return {
            "encoder_optimizer": self.encoder.trainable_variables,
            "decoder_optimizer": self.decoder.trainable_variables,
        }

    def error(self, x, tracker):
        """The reconstruction error, tracked as `tracker`."""
        error = losses.reconstruction_loss(x, self.call(x, training=True), "mse")
        return Loss(error, metrics={tracker: error})

    def train_step(self, x):
        self.update("encoder_optimizer", self.error, x, "encoder_loss")
        self.update("decoder_optimizer", self.error, x, "decoder_loss")
        return self.results()

    def call(self, x, training=False):
        return self.decoder(self.encoder(x, training=training), training=training)

    def get_config(self):
        return {
            **super().get_config(),
            "encoder": keras.saving.serialize_keras_object(self.encoder),
            "decoder": keras.saving.serialize_keras_object(self.decoder),
        }


def toy(seed=0):
    return ToyAutoencoder(
        kl.build_encoder((8, 8, 1), latent_dim=4, hidden_units=(16,)),
        kl.build_decoder((8, 8, 1), latent_dim=4, hidden_units=(16,)),
        seed=seed,
    )


@pytest.fixture
def small_images():
    # Four fixed patterns: an autoencoder can learn them (noise it could not).
    rng = np.random.default_rng(0)
    patterns = rng.uniform(size=(4, 8, 8, 1)).astype("float32")
    return patterns[rng.integers(0, 4, 64)]


def test_toy_model_trains_and_each_role_moves_only_its_network(small_images):
    model = toy()
    model.compile(encoder_optimizer=keras.optimizers.Adam(1e-2))
    assert isinstance(model.decoder_optimizer, keras.optimizers.Adam)  # the default
    history = model.fit(small_images, batch_size=16, epochs=20, verbose=0).history
    assert set(history) == {"encoder_loss", "decoder_loss"}
    assert history["decoder_loss"][-1] < 0.8 * history["decoder_loss"][0]
    x = tf.constant(small_images[:16])
    for role, network, other in (
        ("encoder_optimizer", model.encoder, model.decoder),
        ("decoder_optimizer", model.decoder, model.encoder),
    ):
        before = [v.numpy().copy() for v in model.trainable_variables]
        model.update(role, model.error, x, role.replace("optimizer", "loss"))
        after = dict(zip([id(v) for v in model.trainable_variables],
                         [not np.array_equal(b, v.numpy())
                          for b, v in zip(before, model.trainable_variables)]))
        assert all(after[id(v)] for v in network.trainable_variables), role
        assert not any(after[id(v)] for v in other.trainable_variables), role


def sgd_toy(images):
    """`(model, its decoder's variables, per-example error of 8 images)`, SGD(1)."""
    model = toy()
    model.compile(encoder_optimizer=keras.optimizers.SGD(1.0),
                  decoder_optimizer=keras.optimizers.SGD(1.0))
    x = tf.constant(images[:8])
    return model, model.decoder.trainable_variables, lambda: losses.reconstruction_loss(
        x, model(x), "mse")


def test_update_is_a_step_down_the_global_mean(small_images):
    """The per-example shares give the gradient of the plain batch mean."""
    model, variables, error = sgd_toy(small_images)

    with tf.GradientTape() as tape:
        mean = keras.ops.mean(error())
    expected = [v.numpy() - g.numpy() for v, g in zip(variables, tape.gradient(mean, variables))]
    model.update("decoder_optimizer", lambda: Loss(error()))
    for want, v in zip(expected, variables):
        np.testing.assert_allclose(v.numpy(), want, rtol=1e-5, atol=1e-7)
    # A list of terms: each its own (weighted) mean, added.
    weights = tf.constant([1.0, 0.0] * 4)
    with tf.GradientTape() as tape:
        values = error()
        total = 3.0 * keras.ops.mean(values) + keras.ops.sum(values * weights) / 4.0
    expected = [v.numpy() - g.numpy() for v, g in zip(variables, tape.gradient(total, variables))]

    def terms(term_weights):
        values = error()
        return Loss([3.0 * values, values], weights=term_weights)

    model.update("decoder_optimizer", terms, [None, weights])
    for want, v in zip(expected, variables):
        np.testing.assert_allclose(v.numpy(), want, rtol=1e-5, atol=1e-7)
    with pytest.raises(ValueError, match="weights: expected a list of 2"):
        model.update("decoder_optimizer", terms, weights)


def test_loss_plus_adds_every_row_terms_to_a_weighted_loss(small_images):
    model, variables, error = sgd_toy(small_images)
    weights = tf.constant([1.0, 0.0] * 4)

    with tf.GradientTape() as tape:
        values = error()
        total = 3.0 * keras.ops.mean(values) + keras.ops.sum(values * weights) / 4.0
    expected = [v.numpy() - g.numpy() for v, g in zip(variables, tape.gradient(total, variables))]

    def plus():
        values = error()
        return Loss(values, weights, {"encoder_loss": values}, outputs="y").plus(
            [3.0 * values], {"decoder_loss": values})

    loss = plus()
    assert loss.weights == [weights, None] and set(loss.metrics) == {"encoder_loss", "decoder_loss"}
    assert loss.outputs == "y"
    model.update("decoder_optimizer", plus)
    for want, v in zip(expected, variables):
        np.testing.assert_allclose(v.numpy(), want, rtol=1e-5, atol=1e-7)
    # A list of terms keeps its weights, one each.
    assert Loss([values, values]).plus([values]).weights == [None] * 3
    assert Loss([values, values], [weights, None]).plus([values]).weights == [weights, None, None]
    with pytest.raises(ValueError, match="weights: expected None or one entry per term"):
        Loss([values, values], weights).plus([values])
    with pytest.raises(ValueError, match=r"metrics: \['encoder_loss'\] are tracked already"):
        loss.plus([values], {"encoder_loss": values})


def test_compile_errors_name_the_roles():
    model = toy()
    with pytest.raises(ValueError, match="encoder_optimizer, decoder_optimizer"):
        model.compile(optimizer="adam")
    with pytest.raises(ValueError, match="generator_optimizer: .*encoder_optimizer, decoder_optimizer"):
        model.compile(generator_optimizer=keras.optimizers.Adam())
    shared = keras.optimizers.Adam()
    with pytest.raises(ValueError, match="separate optimizer"):
        model.compile(encoder_optimizer=shared, decoder_optimizer=shared)
    with pytest.raises(ValueError, match="x: expected images of shape"):
        model.compile()
        model.fit(np.zeros((4, 28, 28, 1), "float32"), verbose=0)


def test_config_chains_to_keras():
    model = toy(seed=3)
    config = model.get_config()
    assert {"name", "trainable", "dtype", "seed"} <= set(config)
    restored = ToyAutoencoder.from_config(config)
    assert restored.seed == 3 and restored.encoder.get_config() == model.encoder.get_config()


def test_saved_toy_loads_compiled_in_a_fresh_process(small_images, tmp_path):
    model = toy()
    model.compile(decoder_optimizer=keras.optimizers.RMSprop(1e-3))
    model.fit(small_images, batch_size=16, epochs=1, verbose=0)  # 4 steps
    model.save(tmp_path / "toy.keras")
    np.save(tmp_path / "x.npy", small_images[:8])
    np.save(tmp_path / "y.npy", model.predict(small_images[:8], verbose=0))
    script = f"""
        import numpy as np, keras
        from tests.models.test_multi_optimizer_model import ToyAutoencoder
        model = keras.saving.load_model({str(tmp_path / "toy.keras")!r})
        assert model.compiled
        assert type(model.decoder_optimizer).__name__ == "RMSprop"
        assert model.encoder_optimizer.iterations.numpy() == 4
        assert model.decoder_optimizer.iterations.numpy() == 4
        x = np.load({str(tmp_path / "x.npy")!r})
        np.testing.assert_allclose(model.predict(x, verbose=0),
                                   np.load({str(tmp_path / "y.npy")!r}), rtol=1e-5, atol=1e-6)
        model.fit(x, batch_size=8, epochs=1, verbose=0)
        assert model.decoder_optimizer.iterations.numpy() == 5
        print("loaded")
    """
    assert "loaded" in run_in_fresh_process(script, shared=False)  # imports this module
