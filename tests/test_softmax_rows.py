"""vmap of scipy's softmax / log_softmax rows along an axis, on per-example arrays of
every rank, with the axes scipy accepts and refuses.

Found by tests/test_random_programs.py: scipy accepts ``axis=0`` on a 0-d array, but
under ``vmap`` (and in ``jacrev``, ``hessian``) the rows' batching rule raised
ZeroDivisionError; an out-of-range axis wrapped around and gave a silently wrong
result instead of numpy's AxisError.
"""

import numpy as np
import pytest

import fgrad
import fgrad.scipy.special as fss

ROWS = [fss.softmax, fss.log_softmax]


@pytest.mark.parametrize("f", ROWS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("axis", [0, -1])
def test_vmap_over_0d_examples_is_the_loop(f, axis):
    xs = np.array([0.3, -0.5, 1.25])
    want = np.stack([f(x, axis=axis) for x in xs])
    np.testing.assert_allclose(fgrad.vmap(lambda x: f(x, axis=axis))(xs), want)
    x = np.array(0.3)
    np.testing.assert_allclose(fgrad.jacrev(lambda x: f(x, axis=axis))(x),
                               fgrad.jacfwd(lambda x: f(x, axis=axis))(x))


@pytest.mark.parametrize("f", ROWS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("shape,axis", [((), 1), ((2, 3), 2), ((2, 3), -3), ((2, 3), (0, 2))])
def test_vmap_refuses_an_axis_scipy_refuses(f, shape, axis):
    x = np.arange(float(np.prod(shape))).reshape(shape)
    with pytest.raises(np.exceptions.AxisError):
        f(x, axis=axis)  # scipy's own verdict
    with pytest.raises(np.exceptions.AxisError):
        fgrad.vmap(lambda x: f(x, axis=axis))(np.stack([x, x + 1]))
