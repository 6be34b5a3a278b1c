import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from keras_latent import data  # noqa: E402
from keras_latent.models.multi_optimizer_model import MultiOptimizerModel  # noqa: E402

DEFAULT_JIT_COMPILE = MultiOptimizerModel.default_jit_compile


@pytest.fixture(scope="session")
def mnist_subset():
    """4000 MNIST training and 1000 test digits; scikit-learn's digits without MNIST."""
    try:
        (x, y), (xt, yt) = data.load_mnist()
    except data.DatasetUnavailableError:
        (x, y), (xt, yt) = data.load_digits()
    return (x[:4000], y[:4000]), (xt[:1000], yt[:1000])


@pytest.fixture(scope="session", autouse=True)
def no_xla():
    """Models train without XLA in tests: XLA compiles each small model for seconds
    to run it for a few steps. Session-wide, so that module fixtures' models are
    compiled without it too; subprocesses keep the package's default."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(MultiOptimizerModel, "default_jit_compile", lambda self: False)
        yield


@pytest.fixture(autouse=True)
def xla_default_when_marked(request, monkeypatch, no_xla):
    """A test marked `xla` (one of XLA's default) gets the package's default back."""
    if request.node.get_closest_marker("xla") is not None:
        monkeypatch.setattr(MultiOptimizerModel, "default_jit_compile", DEFAULT_JIT_COMPILE)


@pytest.fixture
def images():
    rng = np.random.default_rng(0)
    return rng.uniform(size=(32, 28, 28, 1)).astype("float32")


def pytest_collection_modifyitems(items):
    # The tests whose data is MNIST when it is on the machine (`.ci/run` runs them
    # again with $KERAS_LATENT_DATA_DIR): those that read `mnist_subset`, and those
    # marked by hand (the reproductions' quick runs).
    for item in items:
        if "mnist_subset" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.mnist)
