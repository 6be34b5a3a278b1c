import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from keras_latent import data  # noqa: E402


@pytest.fixture(scope="session")
def mnist_subset():
    """4000 MNIST training and 1000 test digits; scikit-learn's digits without MNIST."""
    try:
        (x, y), (xt, yt) = data.load_mnist()
    except data.DatasetUnavailableError:
        (x, y), (xt, yt) = data.load_digits()
    return (x[:4000], y[:4000]), (xt[:1000], yt[:1000])


@pytest.fixture(autouse=True)
def no_xla_by_default(request, monkeypatch):
    """Models train without XLA in tests, except in tests marked `xla`.

    XLA compiles each small model for seconds to run it for a few steps; the
    tests of what XLA changes (the default itself, pinned weights) are marked.
    Subprocesses keep the package's default.
    """
    if request.node.get_closest_marker("xla") is None:
        from keras_latent.models.multi_optimizer_model import MultiOptimizerModel

        monkeypatch.setattr(MultiOptimizerModel, "default_jit_compile", lambda self: False)


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
