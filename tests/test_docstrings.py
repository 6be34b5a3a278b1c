"""The examples in the public docstrings run and print what they show."""

import doctest

import pytest

import keras_latent
from keras_latent import (
    callbacks,
    checkpoints,
    checks,
    data,
    evaluation,
    layers,
    losses,
    plotting,
    priors,
)
from keras_latent.models import checked_inputs, classifier_terms, multi_optimizer_model
from keras_latent.models.aae import (
    adversarial_autoencoder,
    semi_supervised_adversarial_autoencoder,
    supervised_adversarial_autoencoder,
)
from keras_latent.models.cvae_gan import builders as cvae_gan_builders
from keras_latent.models.cvae_gan import cvae_gan
from keras_latent.models.disentangling_ae import builders as disentangling_builders
from keras_latent.models.disentangling_ae import disentangling_autoencoder
from keras_latent.models.info_gan import builders as info_gan_builders
from keras_latent.models.info_gan import info_gan
from keras_latent.models.vae_gan import builders as vae_gan_builders
from keras_latent.models.vae_gan import conditional_vae
from keras_latent.models.vae_gan import vae_gan


@pytest.mark.parametrize(
    "module",
    [
        checks, data, priors, layers, losses, plotting, evaluation, callbacks, checkpoints,
        multi_optimizer_model, checked_inputs, classifier_terms,
        adversarial_autoencoder,
        supervised_adversarial_autoencoder, semi_supervised_adversarial_autoencoder,
        disentangling_builders, disentangling_autoencoder, info_gan_builders, info_gan,
        vae_gan_builders, conditional_vae, vae_gan, cvae_gan_builders, cvae_gan,
        keras_latent,
    ],
    ids=lambda m: m.__name__,
)
def test_docstring_examples(module, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    tests = [t for t in finder.find(module, module.__name__) if t.examples]
    assert tests, f"{module.__name__} has no docstring example"
    for test in tests:
        runner.run(test)
    assert runner.failures == 0
