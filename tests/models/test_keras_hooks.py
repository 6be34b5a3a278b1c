"""Where the base leans on Keras: its XLA default, branch by branch, and the private
Keras methods it overrides or calls, which a Keras release could drop or rename."""

import warnings

import keras
import pytest
import tensorflow as tf

import keras_latent as kl
from keras_latent.models import multi_optimizer_model
from tests import families


def test_every_private_keras_hook_the_base_uses_still_exists():
    for name in multi_optimizer_model.KERAS_HOOKS:
        assert callable(getattr(keras.Model, name, None)), (
            f"keras.Model.{name} is gone in Keras {keras.__version__}: "
            "MultiOptimizerModel and distribute.step_function rely on it; see setup.cfg's "
            "bounds."
        )
    # The override really is Keras' hook, not a method of our own that Keras never calls.
    overridden = [
        name for name in multi_optimizer_model.KERAS_HOOKS
        if name in vars(multi_optimizer_model.MultiOptimizerModel)
    ]
    assert overridden == ["_maybe_symbolic_build"]


@pytest.mark.xla
def test_a_dense_model_compiles_with_xla():
    assert families.aae().default_jit_compile() is True


@pytest.mark.xla
def test_a_convolutional_model_uses_xla_only_with_a_gpu():
    gpu = bool(tf.config.list_physical_devices("GPU"))
    assert families.info_gan().default_jit_compile() is gpu


@pytest.mark.xla
def test_a_layer_xla_cannot_compile_turns_it_off_without_a_warning():
    model = kl.AdversarialAutoencoder(
        kl.build_encoder(latent_dim=2, hidden_units=(8,), random_shift=2),
        kl.build_decoder(latent_dim=2, hidden_units=(8,)),
        kl.build_code_discriminator(latent_dim=2, hidden_units=(8,)),
    )
    assert model.default_jit_compile() is False
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # Keras warns when asked for XLA it cannot give
        model.compile()
    assert model.jit_compile is False


@pytest.mark.xla
def test_under_a_strategy_xla_is_left_to_keras():
    with tf.distribute.OneDeviceStrategy("/cpu:0").scope():
        model = families.aae()
        assert model.default_jit_compile() == "auto"


@pytest.mark.parametrize("name", multi_optimizer_model.KERAS_HOOKS)
def test_the_hooks_are_named_in_setup_cfg_bounds(name):
    # The bounds that make these private names safe to use: keras and tensorflow
    # both capped at the versions tested.
    import configparser
    import os

    config = configparser.ConfigParser()
    config.read(os.path.join(os.path.dirname(__file__), "..", "..", "setup.cfg"))
    requires = config["options"]["install_requires"]
    for package in ("keras", "tensorflow"):
        line = next(l for l in requires.splitlines() if l.strip().startswith(package + ">"))
        assert "<" in line, f"setup.cfg: {package} has no upper bound, yet {name} is private"
