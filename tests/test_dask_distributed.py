"""The dask losses of test_dask.py on a dask.distributed cluster of two worker
processes (loopback only): tracing sends nothing to the cluster, and the computed
gradients equal numpy's.
"""

import numpy as np
import pytest

import fgrad

pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")

import dask  # noqa: E402
import dask.array as da  # noqa: E402


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
        dashboard_address=None, silence_logs=40,
    )
    client = distributed.Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


def _transitions(client):
    """How many task transitions the scheduler has made: unchanged means no work."""
    return client.run_on_scheduler(lambda dask_scheduler: dask_scheduler.transition_counter)


def logistic(w, X, y):
    z = X @ w
    return np.mean(np.logaddexp(0.0, z) - y * z)


def least_squares(w, X, y):
    r = X @ w - y
    return np.mean(r ** 2) + 0.01 * np.sum(w ** 2)


@pytest.mark.parametrize("loss", [logistic, least_squares], ids=lambda f: f.__name__)
def test_gradients_on_a_cluster_equal_numpy(client, loss):
    rng = np.random.default_rng(3)
    Xn = rng.standard_normal((20_000, 5))
    yn = (rng.random(20_000) < 0.4).astype(float)
    X, y = da.from_array(Xn, chunks=(2_500, 5)), da.from_array(yn, chunks=2_500)
    w = rng.standard_normal(5) * 0.2

    before = _transitions(client)
    value, g = fgrad.value_and_grad(loss)(w, X, y)
    h = fgrad.hessian(loss)(w, X, y)
    assert _transitions(client) == before, "tracing ran tasks on the cluster"
    assert isinstance(g, da.Array) and isinstance(h, da.Array)

    value, g, h = dask.compute(value, g, h)  # one round trip for all three
    want_value, want_g = fgrad.value_and_grad(loss)(w, Xn, yn)
    np.testing.assert_allclose(value, want_value, rtol=1e-12)
    np.testing.assert_allclose(g, want_g, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(h, fgrad.hessian(loss)(w, Xn, yn), rtol=1e-10, atol=1e-14)
