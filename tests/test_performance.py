"""What keeps a training step fast: no retracing, XLA, mixed precision.

Speed itself is measured in `benchmarks/`, never asserted here.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_latent as kl
from keras_latent import data
from tests import families


class CountingAAE(kl.AdversarialAutoencoder):
    """Counts how often `train_step` is traced (its Python body runs only then)."""

    traces = 0

    def train_step(self, batch):
        CountingAAE.traces += 1
        return super().train_step(batch)


def small_aae(cls=kl.AdversarialAutoencoder, **kwargs):
    return families.aae(cls=cls, **kwargs)


def test_fit_traces_the_train_step_once_for_all_epochs(images):
    CountingAAE.traces = 0
    model = small_aae(CountingAAE)
    model.compile()
    dataset = data.make_dataset(images, batch_size=8, drop_remainder=True)
    model.fit(dataset, epochs=1, verbose=0)
    after_one = CountingAAE.traces
    model.fit(dataset, epochs=3, verbose=0)
    assert CountingAAE.traces == after_one == 1
    # Arrays with a ragged last batch: at most one trace per batch shape.
    model.fit(images[:28], batch_size=8, epochs=3, verbose=0)
    assert CountingAAE.traces <= 3


def test_steps_per_execution_and_xla_train_and_survive_the_compile_config(images):
    model = small_aae()
    model.compile(jit_compile=True, steps_per_execution=2)
    history = model.fit(images, batch_size=8, epochs=2, verbose=0).history
    assert all(np.isfinite(v).all() for v in history.values())
    # The options survive a compile config round trip.
    assert model.get_compile_config()["steps_per_execution"] == 2


@pytest.mark.xla
def test_xla_is_on_by_default_and_off_under_a_strategy_or_when_asked():
    model = small_aae()
    model.compile()
    assert model.jit_compile is True
    # The default is not written into the compile config: a loaded model decides anew.
    assert "jit_compile" not in model.get_compile_config()
    model.compile(jit_compile=False)
    assert model.jit_compile is False
    with tf.distribute.MirroredStrategy(["/cpu:0"]).scope():
        model = small_aae()
        model.compile()
    assert model.jit_compile is False


@pytest.mark.xla
def test_convolutional_models_skip_xla_without_a_gpu():
    from tests import families

    model = families.info_gan()
    model.compile()
    on_gpu = bool(tf.config.list_physical_devices("GPU"))
    assert model.jit_compile is on_gpu
    model.compile(jit_compile=True)  # still the user's to ask for
    assert model.jit_compile is True


def conditional_aae():  # the one-hot label beside the 16-bit code in D's input
    return families.supervised_aae(conditional_discriminator=True, schedule="joint")


@pytest.mark.parametrize("make", [small_aae, conditional_aae])
@pytest.mark.parametrize("policy", ["mixed_bfloat16", "mixed_float16"])
def test_mixed_precision_computes_in_16_bits_with_float32_weights(images, policy, make):
    keras.mixed_precision.set_global_policy(policy)
    try:
        model = make()
        model.compile()
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert all(v.dtype == "float32" for v in model.trainable_variables)
    codes = model.encoder(images[:4])
    assert keras.backend.standardize_dtype(codes.dtype) == policy.split("_", 1)[1]
    scaled = policy == "mixed_float16"
    for role in model.optimizer_roles():
        optimizer = getattr(model, role)
        assert isinstance(optimizer, keras.optimizers.LossScaleOptimizer) == scaled
    before = model.encoder.get_weights()
    labels = np.arange(len(images)) % 10 if model.takes_y else None
    history = model.fit(images, labels, batch_size=8, epochs=1, verbose=0).history
    assert all(np.isfinite(v).all() for v in history.values())
    assert any(not np.array_equal(a, b) for a, b in zip(before, model.encoder.get_weights()))
