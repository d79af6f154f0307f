"""The ``cumsum`` / ``cumprod`` rows themselves (not the public wrappers, which ravel
first): ``axis=None`` flattens, as in numpy, under every transform.

Found by tests/test_random_programs.py: the cumsum row's vjp raised on a (3, 1)
input, the cumprod row's gave a silently wrong gradient (a broadcast of the flat
cotangent against the input's shape).
"""

import numpy as np
import pytest

import fgrad
from fgrad.core import PRIMITIVES


@pytest.mark.parametrize("name", ["cumsum", "cumprod"])
@pytest.mark.parametrize("shape", [(3, 1), (2, 3), (1, 2, 2), ()])
def test_scan_row_axis_none_flattens_under_both_modes(name, shape):
    row = PRIMITIVES[name].fn
    x = np.random.default_rng(0).uniform(0.5, 1.5, size=shape)

    def f(x):
        return row(x, axis=None)

    assert f(x).shape == (x.size,)
    fgrad.check_grads(f, (x,), order=2)
    # the Jacobian both ways, against the flat input's (axis=0) one
    want = fgrad.jacfwd(lambda z: row(z, axis=0))(x.ravel()).reshape((x.size,) + shape)
    np.testing.assert_allclose(fgrad.jacrev(f)(x), want, rtol=1e-12)
    np.testing.assert_allclose(fgrad.jacfwd(f)(x), want, rtol=1e-12)


def test_cumprod_row_axis_none_gradient_is_the_flat_one():
    # sum(cumprod([1, 2, 3])) = 1 + x0 x1... : d/dx = [1 + x1 + x1 x2, x0 + x0 x2, x0 x1]
    x = np.array([[1.0], [2.0], [3.0]])
    g = fgrad.grad(lambda x: PRIMITIVES["cumprod"].fn(x, axis=None).sum())(x)
    np.testing.assert_allclose(g, [[9.0], [4.0], [2.0]])


@pytest.mark.parametrize("name", ["cumsum", "cumprod"])
def test_scan_row_axis_none_with_zeros(name):
    # cumprod's exact-at-zeros path, flattened too
    x = np.array([[0.7, 0.0], [1.3, 0.9]])
    fgrad.check_grads(lambda x: PRIMITIVES[name].fn(x, axis=None), (x,), order=2)
