"""fgrad.scipy.stats: behaviour the distribution base classes give every distribution
(values and derivatives off the support, scipy's keyword arguments)."""

import math

import numpy as np
import pytest

import fgrad
from fgrad.scipy import stats

ss = pytest.importorskip("scipy.stats")

# (distribution, shape parameters, a point below the support)
_BELOW = [
    ("expon", (), -1.0), ("gamma", (2.5,), -1.0), ("chi2", (3.0,), -1.0),
    ("weibull_min", (1.5,), -1.0), ("lognorm", (0.7,), -1.0), ("pareto", (2.0,), 0.5),
    ("beta", (2.0, 3.0), -0.5), ("uniform", (), -0.5), ("truncnorm", (-1.0, 2.0), -1.5),
]


@pytest.mark.parametrize("name,shapes,x", _BELOW)
@pytest.mark.parametrize("method", ["logpdf", "cdf", "logcdf", "sf", "logsf"])
def test_off_the_support_scipys_values_and_zero_derivatives(name, shapes, x, method):
    dist = getattr(stats, name)
    want = getattr(getattr(ss, name), method)(x, *shapes)
    got = fgrad.grad(lambda x_, loc, scale: getattr(dist, method)(x_, *shapes, loc, scale),
                     argnums=(0, 1, 2))
    vals = fgrad.value_and_grad(
        lambda x_: getattr(dist, method)(x_, *shapes, 0.0, 1.0))(x)[0]
    assert float(vals) == float(want)
    for d in got(x, 0.0, 1.0):  # the point, loc and scale
        assert float(d) == 0.0


@pytest.mark.parametrize("name,shapes", [("binom", (5, 0.3)), ("poisson", (2.5,)),
                                         ("geom", (0.4,)), ("nbinom", (3.0, 0.4)),
                                         ("bernoulli", (0.3,))])
@pytest.mark.parametrize("method", ["cdf", "logcdf", "sf", "logsf"])
def test_counts_below_the_support_zero_derivative_in_the_probability(name, shapes, method):
    dist = getattr(stats, name)
    k = -1.0
    want = getattr(getattr(ss, name), method)(k, *shapes)
    f = lambda p: getattr(dist, method)(k, *shapes[:-1], p)  # noqa: E731
    value, d = fgrad.value_and_grad(f)(shapes[-1])
    assert float(value) == float(want) and float(d) == 0.0


def test_methods_take_scipys_keywords_under_a_trace():
    # d/dscale gamma.logpdf(x, a, scale=s) = -a/s + x/s**2
    d = fgrad.grad(lambda s: stats.gamma.logpdf(x=2.0, a=3.0, scale=s))(2.0)
    assert math.isclose(d, -3.0 / 2.0 + 2.0 / 4.0)
    d = fgrad.grad(lambda m: stats.poisson.logpmf(3, mu=m, loc=1))(2.0)  # (k - loc)/mu - 1
    assert math.isclose(d, 0.0)
    with pytest.raises(TypeError, match="'a'"):
        fgrad.grad(lambda x: stats.gamma.logpdf(x))(1.0)
    with pytest.raises(TypeError, match="shape"):
        fgrad.grad(lambda x: stats.norm.logpdf(x, shape=2.0))(1.0)


def test_signatures_and_docstrings_of_derived_methods():
    import inspect

    assert list(inspect.signature(stats.t.sf).parameters) == ["x", "df", "loc", "scale"]
    assert list(inspect.signature(stats.binom.pmf).parameters) == ["k", "n", "p", "loc"]
    for name in stats.__all__:
        for method, member in vars(getattr(stats, name)).items():
            if not method.startswith("_"):
                assert ">>>" in (member.__func__.__doc__ or ""), f"{name}.{method}"
    assert np.isnan(stats.norm.ppf(1.5)) and float(fgrad.grad(stats.norm.cdf)(0.0)) > 0
