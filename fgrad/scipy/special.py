"""fgrad.scipy.special: differentiable counterparts of scipy.special functions.

On plain (untraced) inputs every function returns exactly what scipy returns;
on tracers it records a row of the rule table (``special.<name>``), so every
transform applies, to any order.  scipy is needed to evaluate them (imported on
first use).  When fgrad.scipy is imported with scipy installed, scipy's own
ufuncs also dispatch to these functions: ``scipy.special.erf(tracer)`` works.

Example:
    >>> import fgrad
    >>> from fgrad.scipy.special import logsumexp
    >>> fgrad.grad(logsumexp)(fgrad.numpy.array([0.0, 0.0]))
    array([0.5, 0.5])
"""

import inspect

import numpy as np

from .. import numpy as fnp
from ..core import NUMPY_UFUNCS, Tracer, concrete
from ..primitives import special as _rows
from ..tree import tree_leaves


def _traced(*xs):
    return any(isinstance(x, Tracer) for x in tree_leaves(list(xs)))

# --------------------------------------------------------------------------
# Plain wrappers: one row each, the same name and arguments as in scipy.special.
# Each is generated from this table (parameters, summary, example); the functions
# that do more than call their row are written out below.
# --------------------------------------------------------------------------

_WRAPPERS = {  # name: (parameters, summary, example after the two usual imports)
    "erf": ("z", "Error function (``scipy.special.erf``); complex inputs too.", ">>> round(float(fgrad.grad(erf)(0.0)), 6)  # 2 / sqrt(pi)\n1.128379"),
    "erfc": ("x", "Complementary error function ``1 - erf(x)`` (``scipy.special.erfc``).", ">>> round(float(fgrad.grad(erfc)(0.0)), 6)\n-1.128379"),
    "erfcx": ("x", "Scaled complementary error function ``exp(x**2) erfc(x)`` (``scipy.special.erfcx``).", ">>> round(float(fgrad.grad(erfcx)(0.0)), 6)\n-1.128379"),
    "erfinv": ("y", "Inverse of erf (``scipy.special.erfinv``).", ">>> round(float(fgrad.grad(erfinv)(0.0)), 6)  # sqrt(pi) / 2\n0.886227"),
    "erfcinv": ("y", "Inverse of erfc (``scipy.special.erfcinv``).", ">>> round(float(fgrad.grad(erfcinv)(1.0)), 6)\n-0.886227"),
    "ndtr": ("x", "Standard normal CDF (``scipy.special.ndtr``).", ">>> round(float(fgrad.grad(ndtr)(0.0)), 6)  # the density at 0\n0.398942"),
    "ndtri": ("y", "Inverse of the standard normal CDF (``scipy.special.ndtri``).", ">>> round(float(fgrad.grad(ndtri)(0.5)), 6)  # sqrt(2 pi)\n2.506628"),
    "log_ndtr": ("x", "Log of the standard normal CDF, accurate far in the left tail (``scipy.special.log_ndtr``).", ">>> round(float(fgrad.grad(log_ndtr)(-30.0)), 3)  # ~ -x in the tail, no overflow\n30.033"),
    "expit": ("x", "Logistic sigmoid ``1 / (1 + exp(-x))`` (``scipy.special.expit``).", ">>> float(fgrad.grad(expit)(0.0))\n0.25"),
    "logit": ("x", "Log-odds ``log(x / (1 - x))`` (``scipy.special.logit``).", ">>> float(fgrad.grad(logit)(0.5))\n4.0"),
    "log_expit": ("x", "``log(expit(x))`` without overflow (``scipy.special.log_expit``).", ">>> float(fgrad.grad(log_expit)(-1000.0))\n1.0"),
    "gammaln": ("x", "Log of the absolute value of the gamma function (``scipy.special.gammaln``).", ">>> round(float(fgrad.grad(gammaln)(1.0)), 6)  # digamma(1) = -Euler's gamma\n-0.577216"),
    "digamma": ("x", "The digamma function, derivative of gammaln (``scipy.special.digamma``, ``psi``).", ">>> round(float(fgrad.grad(digamma)(1.0)), 6)  # pi**2 / 6\n1.644934"),
    "polygamma": ("n x", "The n-th derivative of digamma (``scipy.special.polygamma``); ``n`` is an integer.", ">>> round(float(fgrad.grad(lambda x: polygamma(0, x))(1.0)), 6)\n1.644934"),
    "gamma": ("z", "The gamma function (``scipy.special.gamma``).", ">>> round(float(fgrad.grad(gamma)(1.0)), 6)\n-0.577216"),
    "rgamma": ("z", "The reciprocal of the gamma function (``scipy.special.rgamma``).", ">>> round(float(fgrad.grad(rgamma)(1.0)), 6)\n0.577216"),
    "beta": ("a b", "The beta function ``Gamma(a) Gamma(b) / Gamma(a + b)`` (``scipy.special.beta``).", ">>> float(fgrad.grad(beta)(1.0, 1.0))\n-1.0"),
    "betaln": ("a b", "Log of the absolute value of the beta function (``scipy.special.betaln``).", ">>> float(fgrad.grad(betaln, argnums=1)(1.0, 1.0))\n-1.0"),
    "gammainc": ("a x", "Regularised lower incomplete gamma function (``scipy.special.gammainc``).\n\nDifferentiable in both arguments, to any order.  The derivatives in the shape\n``a`` have no closed form: they are computed by the series (``x < a + 1``) or\nthe continued fraction (otherwise) that give the function itself, carried out\non Taylor polynomials in ``a``.", ">>> round(float(fgrad.grad(gammainc, argnums=1)(1.0, 0.0)), 6)  # = exp(-x) for a = 1\n1.0\n>>> round(float(fgrad.grad(gammainc)(1.0, 2.0)), 6)  # in a\n-0.220825"),
    "gammaincc": ("a x", "Regularised upper incomplete gamma function (``scipy.special.gammaincc``).\n\nDifferentiable in both arguments, to any order (in ``a`` as for ``gammainc``,\nnegated: ``gammaincc = 1 - gammainc``).", ">>> round(float(fgrad.grad(gammaincc, argnums=1)(1.0, 0.0)), 6)\n-1.0"),
    "betainc": ("a b x", "Regularised incomplete beta function (``scipy.special.betainc``).\n\nDifferentiable in ``x`` only.", ">>> float(fgrad.grad(betainc, argnums=2)(1.0, 1.0, 0.5))  # the uniform density\n1.0"),
    "stdtr": ("df t", "Student's t CDF (``scipy.special.stdtr``); differentiable in ``t`` only.", ">>> round(float(fgrad.grad(stdtr, argnums=1)(1.0, 0.0)), 6)  # Cauchy density 1/pi\n0.31831"),
    "betaincc": ("a b x", "Regularised upper incomplete beta function ``1 - betainc`` (``scipy.special.betaincc``).\n\nComputed directly (accurate where betainc is close to 1); differentiable in ``x`` only.", ">>> float(fgrad.grad(betaincc, argnums=2)(1.0, 1.0, 0.5))  # minus the uniform density\n-1.0"),
    "gammaincinv": ("a y", "Inverse of gammainc in ``x``: ``gammainc(a, gammaincinv(a, y)) == y``\n(``scipy.special.gammaincinv``).\n\nDifferentiable in ``y`` (``dx/dy = Gamma(a) exp(x) x**(1 - a)``) and in ``a``\n(``dx/da = -(d gammainc / da) / (d gammainc / dx)``), to any order.", ">>> round(float(gammaincinv(1.0, 0.5)), 6)  # a = 1: -log(1 - y)\n0.693147\n>>> round(float(fgrad.grad(gammaincinv, argnums=1)(1.0, 0.5)), 12)  # 1 / (1 - y)\n2.0"),
    "gammainccinv": ("a y", "Inverse of gammaincc in ``x``: ``gammaincc(a, gammainccinv(a, y)) == y``\n(``scipy.special.gammainccinv``); differentiable in ``a`` and ``y``, to any order.", ">>> round(float(gammainccinv(1.0, 0.5)), 6)  # a = 1: -log(y)\n0.693147\n>>> round(float(fgrad.grad(gammainccinv, argnums=1)(1.0, 0.5)), 12)  # -1 / y\n-2.0"),
    "betaincinv": ("a b y", "Inverse of betainc in ``x``: ``betainc(a, b, betaincinv(a, b, y)) == y``\n(``scipy.special.betaincinv``).\n\nDifferentiable in ``y`` (``dx/dy = B(a, b) x**(1 - a) (1 - x)**(1 - b)``); not in\n``a`` or ``b``: those derivatives raise a TypeError.", ">>> float(betaincinv(2.0, 1.0, 0.25))  # betainc(2, 1, x) = x**2\n0.5\n>>> float(fgrad.grad(betaincinv, argnums=2)(2.0, 1.0, 0.25))  # 1 / (2 x)\n1.0"),
    "betainccinv": ("a b y", "Inverse of betaincc in ``x``: ``betaincc(a, b, betainccinv(a, b, y)) == y``\n(``scipy.special.betainccinv``); differentiable in ``y`` only.", ">>> float(betainccinv(2.0, 1.0, 0.75))  # betaincc(2, 1, x) = 1 - x**2\n0.5\n>>> float(fgrad.grad(betainccinv, argnums=2)(2.0, 1.0, 0.75))  # -1 / (2 x)\n-1.0"),
    "stdtrit": ("df p", "Inverse of Student's t CDF in ``t``: ``stdtr(df, stdtrit(df, p)) == p``\n(``scipy.special.stdtrit``).\n\nDifferentiable in ``p`` (``dt/dp = 1 / pdf(t; df)``); not in ``df``: that\nderivative raises a TypeError.", ">>> import fgrad, math\n>>> from fgrad.scipy.special import stdtrit\n>>> round(float(stdtrit(1.0, 0.5)), 12) + 0.0  # the median (scipy 1.15 gives 8e-17)\n0.0\n>>> math.isclose(fgrad.grad(stdtrit, argnums=1)(1.0, 0.5), math.pi)  # Cauchy: 1 / pdf(0)\nTrue"),
    "xlogy": ("x y", "``x * log(y)``, and 0 where ``x == 0`` (``scipy.special.xlogy``).", ">>> float(fgrad.grad(xlogy, argnums=1)(0.0, 0.0))  # 0, not NaN, at x == 0\n0.0"),
    "xlog1py": ("x y", "``x * log1p(y)``, and 0 where ``x == 0`` (``scipy.special.xlog1py``).", ">>> float(fgrad.grad(xlog1py, argnums=1)(2.0, 1.0))\n1.0"),
    "entr": ("x", "Elementwise entropy ``-x log(x)`` (``scipy.special.entr``).", ">>> float(fgrad.grad(entr)(1.0))\n-1.0"),
    "rel_entr": ("x y", "Elementwise relative entropy ``x log(x / y)`` (``scipy.special.rel_entr``).", ">>> float(fgrad.grad(rel_entr)(1.0, 1.0))\n1.0"),
    "kl_div": ("x y", "Elementwise ``x log(x / y) - x + y`` (``scipy.special.kl_div``).", ">>> fgrad.grad(kl_div, argnums=(0, 1))(1.0, 2.0)[1]\nnp.float64(0.5)"),
    "loggamma": ("x", "Principal branch of log-gamma (``scipy.special.loggamma``); derivatives for real ``x``.", ">>> round(float(fgrad.grad(loggamma)(1.0)), 6)\n-0.577216"),
    "exp1": ("x", "Exponential integral ``E1(x)`` (``scipy.special.exp1``).", ">>> round(float(fgrad.grad(exp1)(1.0)), 6)  # -exp(-x) / x\n-0.367879"),
    "expi": ("x", "Exponential integral ``Ei(x)`` (``scipy.special.expi``).", ">>> round(float(fgrad.grad(expi)(1.0)), 6)  # exp(x) / x\n2.718282"),
    "expn": ("n x", "Generalised exponential integral ``E_n(x)`` (``scipy.special.expn``); ``n`` an integer.", ">>> import fgrad\n>>> from fgrad.scipy.special import expn, exp1\n>>> bool(fgrad.grad(expn, argnums=1)(2, 1.0) == -exp1(1.0))\nTrue"),
    "dawsn": ("x", "Dawson's integral (``scipy.special.dawsn``).", ">>> float(fgrad.grad(dawsn)(0.0))\n1.0"),
    "i0": ("x", "Modified Bessel function of the first kind, order 0 (``scipy.special.i0``).", ">>> float(fgrad.grad(i0)(0.0))\n0.0"),
    "i1": ("x", "Modified Bessel function of the first kind, order 1 (``scipy.special.i1``).", ">>> float(fgrad.grad(i1)(0.0))\n0.5"),
    "i0e": ("x", "Exponentially scaled ``exp(-|x|) i0(x)`` (``scipy.special.i0e``).", ">>> round(float(fgrad.grad(i0e)(1.0)), 6)  # i1e(1) - i0e(1)\n-0.257849"),
    "i1e": ("x", "Exponentially scaled ``exp(-|x|) i1(x)`` (``scipy.special.i1e``).", ">>> float(fgrad.grad(i1e)(0.0))\n0.5"),
    "iv": ("v x", "Modified Bessel function of the first kind, real order ``v`` (``scipy.special.iv``).\n\nDifferentiable in ``x`` (not in the order ``v``).", ">>> import fgrad\n>>> from fgrad.scipy.special import iv, i1\n>>> bool(abs(fgrad.grad(iv, argnums=1)(0.0, 0.7) - i1(0.7)) < 1e-12)\nTrue"),
    "ive": ("v x", "Exponentially scaled ``iv(v, x) exp(-|x|)`` (``scipy.special.ive``); differentiable in ``x``.", ">>> import fgrad\n>>> from fgrad.scipy.special import ive, i0e\n>>> bool(abs(fgrad.grad(ive, argnums=1)(0.0, 0.7) - fgrad.grad(i0e)(0.7)) < 1e-12)\nTrue"),
    "kv": ("v x", "Modified Bessel function of the second kind (``scipy.special.kv``); differentiable in ``x``.", ">>> bool(abs(fgrad.grad(kv, argnums=1)(0.0, 0.7) + kv(1.0, 0.7)) < 1e-12)  # K0' = -K1\nTrue"),
    "kve": ("v x", "Exponentially scaled ``kv(v, x) exp(x)`` (``scipy.special.kve``); differentiable in ``x``.", ">>> bool(abs(fgrad.grad(kve, argnums=1)(0.0, 0.7) - kve(0.0, 0.7) + kve(1.0, 0.7)) < 1e-12)\nTrue"),
    "j0": ("x", "Bessel function of the first kind, order 0 (``scipy.special.j0``).", ">>> import fgrad\n>>> from fgrad.scipy.special import j0, j1\n>>> bool(fgrad.grad(j0)(1.3) == -j1(1.3))\nTrue"),
    "j1": ("x", "Bessel function of the first kind, order 1 (``scipy.special.j1``).", ">>> float(fgrad.grad(j1)(0.0))\n0.5"),
    "y0": ("x", "Bessel function of the second kind, order 0 (``scipy.special.y0``).", ">>> import fgrad\n>>> from fgrad.scipy.special import y0, y1\n>>> bool(fgrad.grad(y0)(1.3) == -y1(1.3))\nTrue"),
    "y1": ("x", "Bessel function of the second kind, order 1 (``scipy.special.y1``).", ">>> import fgrad\n>>> from fgrad.scipy.special import y0, y1\n>>> bool(abs(fgrad.grad(y1)(1.3) - (y0(1.3) - y1(1.3) / 1.3)) < 1e-12)\nTrue"),
    "jv": ("v x", "Bessel function of the first kind, real order (``scipy.special.jv``); differentiable in ``x``.", ">>> import fgrad\n>>> from fgrad.scipy.special import jv, j1\n>>> bool(abs(fgrad.grad(jv, argnums=1)(0.0, 1.3) + j1(1.3)) < 1e-12)\nTrue"),
    "yv": ("v x", "Bessel function of the second kind, real order (``scipy.special.yv``); differentiable in ``x``.", ">>> import fgrad\n>>> from fgrad.scipy.special import yv, y1\n>>> bool(abs(fgrad.grad(yv, argnums=1)(0.0, 1.3) + y1(1.3)) < 1e-12)\nTrue"),
    "jn": ("n x", "Bessel function of the first kind of integer order (``scipy.special.jn``, scipy's alias of ``jv``).\n\nDifferentiable in ``x``: ``(jn(n - 1, x) - jn(n + 1, x)) / 2``; the order is not\ndifferentiated (asking raises a TypeError naming it).", ">>> import fgrad\n>>> from fgrad.scipy.special import jn, j1\n>>> bool(abs(fgrad.grad(jn, argnums=1)(0, 1.3) + j1(1.3)) < 1e-12)\nTrue"),
    "yn": ("n x", "Bessel function of the second kind of integer order (``scipy.special.yn``).\n\nDifferentiable in ``x``: ``(yn(n - 1, x) - yn(n + 1, x)) / 2``; ``n`` is an integer\n(its derivative raises a TypeError).", ">>> import fgrad\n>>> from fgrad.scipy.special import yn, y1\n>>> bool(abs(fgrad.grad(yn, argnums=1)(0, 1.3) + y1(1.3)) < 1e-12)\nTrue"),
    "gammasgn": ("x", "Sign of the gamma function (``scipy.special.gammasgn``).\n\nPiecewise constant (it jumps at the poles 0, -1, -2, ...), so its derivative is\nzero wherever it is defined, and fgrad gives zero everywhere.", ">>> float(gammasgn(-0.5)), float(fgrad.grad(lambda x: gammasgn(x) * x)(-0.5))\n(-1.0, -1.0)"),
    "spence": ("z", "Spence's function (dilogarithm) as scipy defines it,\n``spence(z) = integral from 1 to z of log(t) / (1 - t) dt`` (``scipy.special.spence``).\n\nDifferentiable to any order: ``spence'(z) = log(z) / (1 - z)`` (``-1`` at ``z = 1``),\nreal ``z >= 0`` and complex ``z`` off the cut ``z < 0``.", ">>> round(float(fgrad.grad(spence)(2.0)), 6)  # log(2) / (1 - 2)\n-0.693147"),
    "owens_t": ("h a", "Owen's T function ``T(h, a)`` (``scipy.special.owens_t``); differentiable in both.\n\n``dT/dh = -exp(-h**2/2) erf(a h / sqrt(2)) / (2 sqrt(2 pi))`` and\n``dT/da = exp(-h**2 (1 + a**2) / 2) / (2 pi (1 + a**2))``.", ">>> import fgrad, math\n>>> from fgrad.scipy.special import owens_t\n>>> math.isclose(fgrad.grad(owens_t, argnums=1)(0.0, 1.0), 1 / (4 * math.pi))\nTrue"),
    "hyp1f1": ("a b x", "Confluent hypergeometric function ``1F1(a; b; x)`` (``scipy.special.hyp1f1``).\n\nDifferentiable in ``x`` (``(a / b) 1F1(a + 1; b + 1; x)``, to any order, complex\n``x`` too); not in ``a`` or ``b``: those derivatives raise a TypeError.", ">>> import fgrad, math\n>>> from fgrad.scipy.special import hyp1f1\n>>> math.isclose(fgrad.grad(hyp1f1, argnums=2)(1.5, 1.5, 0.3), math.exp(0.3))\nTrue"),
    "hyp2f1": ("a b c z", "Gauss hypergeometric function ``2F1(a, b; c; z)`` (``scipy.special.hyp2f1``).\n\nDifferentiable in ``z`` (``(a b / c) 2F1(a + 1, b + 1; c + 1; z)``, to any order,\nfor ``|z| < 1`` and complex ``z``); not in ``a``, ``b`` or ``c`` (TypeError).", ">>> import fgrad, math\n>>> from fgrad.scipy.special import hyp2f1\n>>> # 2F1(1, 1; 2; z) = -log(1 - z) / z\n>>> math.isclose(hyp2f1(1.0, 1.0, 2.0, 0.5), 2 * math.log(2))\nTrue\n>>> math.isclose(fgrad.grad(hyp2f1, argnums=3)(1.0, 1.0, 1.0, 0.5), 4.0)  # 1 / (1 - z)**2\nTrue"),
    "wofz": ("z", "The Faddeeva function ``w(z) = exp(-z**2) erfc(-i z)`` (``scipy.special.wofz``).\n\nComplex-valued (also for real ``z``, like scipy), entire, with\n``w'(z) = -2 z w(z) + 2i / sqrt(pi)``.", ">>> import fgrad, math\n>>> from fgrad.scipy.special import wofz\n>>> complex(wofz(0.0))\n(1+0j)\n>>> _, dw = fgrad.jvp(wofz, (0.0,), (1.0,))\n>>> math.isclose(complex(dw).imag, 2 / math.sqrt(math.pi))\nTrue"),
}


def _docstring(name, summary, example):
    """``summary``, then ``example`` after ``import fgrad`` and the import of ``name``."""
    if not example.startswith(">>> import"):
        example = f">>> import fgrad\n>>> from fgrad.scipy.special import {name}\n{example}"
    head, *rest = summary.split("\n")
    return ("".join([head] + [f"\n    {line}" if line else "\n" for line in rest]) + "\n\n    Example:\n"
            + "".join(f"        {line}\n" for line in example.split("\n")))


def _derivatives(row, params, summary):
    """A sentence saying in which arguments the row has derivatives, read from the row
    (empty when the summary already says so)."""
    prim = getattr(row, "primitive", None)
    if prim is None or "ifferentiab" in summary or "derivative" in summary:
        return ""
    names = params.split()
    if prim.nondiff:
        return "Not differentiable: on traced values the result is a constant."
    rules = prim.jvp if isinstance(prim.jvp, (list, tuple)) else [prim.jvp]
    have = [names[i] for i, r in enumerate(rules) if r is not None and i < len(names)]
    lack = [names[i] for i, r in enumerate(rules) if r is None and i < len(names)]
    text = ("Differentiable in " + ", ".join(f"``{p}``" for p in have)
            + " (forward and reverse mode; docs/coverage.md lists the orders tested)"
            if have else "Not differentiable")
    if lack:
        reasons = [prim.no_derivative.get(names.index(p)) for p in lack]
        text += "; not in " + ", ".join(f"``{p}``" for p in lack) + (
            f" ({'; '.join(r for r in reasons if r)})" if any(reasons) else "") + (
            ", where asking for the derivative raises a TypeError")
    return text + "."


def _wrapper(name, params, summary, example):
    """``name(*params)``: the row ``special.<name>``, with its own signature and docstring."""
    row = getattr(_rows, name)
    extra = _derivatives(row, params, summary)
    doc = _docstring(name, summary + (f"\n\n{extra}" if extra else ""), example)
    sig = inspect.Signature([inspect.Parameter(p, inspect.Parameter.POSITIONAL_OR_KEYWORD)
                             for p in params.split()])
    n = len(sig.parameters)

    def wrapper(*args, **kwargs):
        if kwargs or len(args) != n:
            try:
                args = sig.bind(*args, **kwargs).args
            except TypeError as err:
                raise TypeError(
                    f"fgrad.scipy.special.{name}{sig}: {err}. It takes these arguments only "
                    "(scipy's out=, where=, dtype= ... are not supported: use the returned "
                    "value and fnp.astype)") from None
        return row(*args)

    wrapper.__name__ = wrapper.__qualname__ = name
    wrapper.__module__, wrapper.__doc__, wrapper.__signature__ = __name__, doc, sig
    return wrapper


_GENERATED = {name: _wrapper(name, *spec) for name, spec in _WRAPPERS.items()}
globals().update(_GENERATED)
psi = _GENERATED["digamma"]

__all__ = [*_WRAPPERS, "psi", "softplus", "multigammaln", "zeta", "logsumexp", "softmax",
           "log_softmax", "lambertw", "comb", "factorial"]



# --- logistic ------------------------------------------------------------------------


def softplus(x, **kwargs):
    """``log(1 + exp(x))`` computed stably (``scipy.special.softplus``, scipy >= 1.15).

    Differentiable in ``x``, with derivative ``expit(x)``.  scipy's ufunc keywords
    (``out=``, ``dtype=`` ...) reach scipy on plain inputs; on traced values they are
    refused with a TypeError (use the returned value).

    Example:
        >>> import fgrad
        >>> from fgrad.scipy.special import softplus
        >>> float(fgrad.grad(softplus)(0.0))
        0.5
    """
    if kwargs and not _traced(x):
        return _rows.scipy_module().softplus(x, **kwargs)
    if kwargs:
        raise TypeError(
            f"fgrad.scipy.special.softplus does not take {', '.join(k + '=' for k in kwargs)} on "
            "traced values: use the returned value (cast it with fnp.astype for a dtype)")
    return _rows.softplus(x)


# --- gamma family -----------------------------------------------------------------------


def multigammaln(a, d):
    """Log of the multivariate gamma function of dimension ``d`` (``scipy.special.multigammaln``).

    Differentiable in ``a`` (a sum of ``gammaln`` terms); ``d`` is an integer, a constant.

    Example:
        >>> import fgrad
        >>> from fgrad.scipy.special import multigammaln, digamma
        >>> bool(abs(fgrad.grad(multigammaln)(2.0, 1) - digamma(2.0)) < 1e-12)
        True
    """
    if not _traced(a):
        return _rows.scipy_module().multigammaln(a, d)
    d = int(d)
    ca = concrete(a)  # the check needs values, which a vmapped argument does not have
    if isinstance(ca, (np.ndarray, np.generic, float, int)) and np.any(ca <= 0.5 * (d - 1)):
        raise ValueError(
            f"multigammaln needs a > (d - 1) / 2 = {0.5 * (d - 1)}, got a = {concrete(a)}")
    out = 0.25 * d * (d - 1) * np.log(np.pi)
    for j in range(d):
        out = fnp.add(out, _rows.gammaln(fnp.subtract(a, 0.5 * j)))
    return out


def zeta(x, q=None):
    """Riemann zeta ``zeta(x)`` or Hurwitz zeta ``zeta(x, q)`` (``scipy.special.zeta``).

    Differentiable in both arguments, to any order: in ``q``,
    ``d/dq zeta(x, q) = -x zeta(x + 1, q)``; in ``x``,
    ``d/dx zeta(x, q) = -sum_k log(k + q) / (k + q)^x``, computed by the
    Euler-Maclaurin formula (``x > 1``; nan elsewhere, as scipy's Hurwitz zeta).

    Example:
        >>> import fgrad
        >>> from fgrad.scipy.special import zeta
        >>> round(float(fgrad.grad(zeta, argnums=1)(2.0, 1.0)), 6)  # -2 zeta(3)
        -2.404114
        >>> round(float(fgrad.grad(zeta)(2.0)), 6)  # zeta'(2)
        -0.937548
    """
    if not _traced(x, q):
        return _rows.scipy_module().zeta(x, q)
    return _rows.zeta(x, 1.0 if q is None else q)




# --- logsumexp and softmax ---------------------------------------------------------------------


def logsumexp(a, axis=None, b=None, keepdims=False, return_sign=False):
    """``log(sum(b * exp(a)))`` over ``axis``, computed stably (``scipy.special.logsumexp``).

    Differentiable in ``a`` and in the weights ``b``; with ``return_sign=True``
    returns ``(log|s|, sign(s))`` (the sign is a constant).  The derivative is the
    softmax ``b * exp(a - logsumexp(a))``, which never overflows.

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> from fgrad.scipy.special import logsumexp
        >>> fgrad.grad(logsumexp)(fnp.array([1000.0, 1000.0]))
        array([0.5, 0.5])
    """
    if not _traced(a, b):
        return _rows.scipy_module().logsumexp(
            a, axis=axis, b=b, keepdims=keepdims, return_sign=return_sign)
    if keepdims and not np.ndim(concrete(a)) and not np.ndim(concrete(b)):
        # scipy keeps a 0-d input's "reduced axis" as shape (1,); the rows reduce to 0-d
        # and the shape is added here, so every rule sees numpy's keepdims semantics
        out = logsumexp(a, axis=axis, b=b, return_sign=return_sign)
        if return_sign:
            return tuple(fnp.reshape(o, (1,)) for o in out)
        return fnp.reshape(out, (1,))
    if b is None:
        out = _rows.logsumexp_row(a, axis=axis, keepdims=keepdims)
    else:
        shape = np.broadcast_shapes(np.shape(concrete(a)), np.shape(concrete(b)))
        a, b = fnp.broadcast_to(a, shape), fnp.broadcast_to(b, shape)
        out = _rows.logsumexp_b_row(a, b, axis=axis, keepdims=keepdims, return_sign=return_sign)
    if not return_sign:
        return out
    # the sign is a constant: computed on values cut from the derivative (works under vmap)
    a0, out0 = fnp.stop_gradient(a), fnp.stop_gradient(out)
    w = fnp.exp(fnp.subtract(a0, _rows._expand(out0, a0, axis, keepdims)))
    if b is not None:
        w = fnp.multiply(fnp.stop_gradient(b), w)
    sign = fnp.sign(fnp.sum(w, axis=axis, keepdims=keepdims))
    return out, fnp.where(fnp.equal(out0, -np.inf), 0.0, sign)


def softmax(x, axis=None):
    """``exp(x) / sum(exp(x))`` over ``axis`` (``scipy.special.softmax``; all axes by default).

    Differentiable in ``x``; ``axis`` is a constant.

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> from fgrad.scipy.special import softmax
        >>> fgrad.jacrev(softmax)(fnp.zeros(2))
        array([[ 0.25, -0.25],
               [-0.25,  0.25]])
    """
    return _rows.softmax_row(x, axis=axis)


def log_softmax(x, axis=None):
    """``x - logsumexp(x)`` over ``axis``, computed stably (``scipy.special.log_softmax``).

    Differentiable in ``x``; ``axis`` is a constant.

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> from fgrad.scipy.special import log_softmax
        >>> fgrad.grad(lambda x: log_softmax(x)[0])(fnp.array([0.0, 0.0]))
        array([ 0.5, -0.5])
    """
    return _rows.log_softmax_row(x, axis=axis)


# --- Owen's T, Lambert W, hypergeometric functions, Faddeeva, comb, factorial ----------------


def lambertw(z, k=0, tol=1e-8):
    """Branch ``k`` of the Lambert W function, ``W(z) exp(W(z)) = z``
    (``scipy.special.lambertw``).

    Like scipy, the result is complex even for real ``z``.  ``dW/dz = W / (z (1 + W))``
    (1 at ``z = 0``), written as ``exp(-W) / (1 + W)``: differentiable in ``z``;
    ``k`` and ``tol`` are static (not differentiable).
    For a real ``z``, ``grad`` of a real function of the result (e.g. its real part)
    is real.

    Example:
        >>> import fgrad, fgrad.numpy as fnp
        >>> from fgrad.scipy.special import lambertw
        >>> complex(lambertw(0.0))
        0j
        >>> float(fgrad.grad(lambda z: fnp.real(lambertw(z)))(0.0))
        1.0
    """
    if _traced(k, tol):
        raise TypeError(
            "lambertw: the branch k and the tolerance tol are static parameters and cannot be "
            "traced; pass plain numbers (the derivative is taken with respect to z only)")
    if not _traced(z):
        return _rows.scipy_module().lambertw(z, k, tol)
    if np.ndim(k) or np.ndim(tol):
        raise ValueError(
            "lambertw: under a transform k and tol must be scalars; call it once per branch")
    return _rows.lambertw(z, k=int(k), tol=float(tol))


def _no_exact(name):
    return TypeError(
        f"{name}(..., exact=True) computes exact integers, which have no derivative, and "
        "cannot take traced inputs; pass exact=False to differentiate (a floating point "
        "result through the gamma function), or call it on plain numbers outside the "
        "transformed function")


def _values_known(*xs):
    """The concrete values of ``xs``, or None under vmap (where there are none)."""
    vals = [concrete(x) for x in xs]
    ok = all(isinstance(v, (np.ndarray, np.generic, float, int)) for v in vals)
    return vals if ok else None


def _comb_repetition_by_gamma():
    """Whether the installed scipy's ``comb(N, k, repetition=True)`` is the gamma formula
    ``G(N + k) / (G(k + 1) G(N))`` (scipy >= 1.16: 0.375 at N = 0.5, k = 2) rather than
    ``comb(N + k - 1, k)`` (older scipy: 0 there).  Asked of scipy once, on constants."""
    known = _COMB_REPETITION.get("gamma")
    if known is None:
        probe = _rows.scipy_module().comb(0.5, 2.0, repetition=True)
        known = _COMB_REPETITION["gamma"] = bool(probe != 0)
    return known


_COMB_REPETITION = {}


def comb(N, k, *, exact=False, repetition=False):
    """The number of combinations of ``N`` things taken ``k`` at a time
    (``scipy.special.comb``), differentiable in ``N`` and ``k`` when ``exact=False``.

    Under a transform this is ``exp(gammaln(N + 1) - gammaln(k + 1) - gammaln(N - k + 1))``
    with scipy's conventions: 0 where ``k > N``, ``N < 0`` or ``k < 0`` (a constant there,
    so a zero derivative).  ``repetition=True`` follows the installed scipy: with
    scipy < 1.16 it is ``comb(N + k - 1, k)`` exactly (0 where ``N < 1``, as there); with
    newer scipy it is ``G(N + k) / (G(k + 1) G(N))``, and 1 where
    ``k == 0`` and ``N >= 0``; it is differentiable for ``N > 0`` and ``k >= 0``, and
    outside that region (where scipy's values come from limits of the gamma formula)
    it raises a ValueError, or gives NaN under vmap.  ``exact=True`` returns scipy's
    integers on plain inputs and refuses traced ones (TypeError).

    Example:
        >>> import fgrad, math
        >>> from fgrad.scipy.special import comb, digamma
        >>> float(comb(5, 2))
        10.0
        >>> d = fgrad.grad(comb)(5.0, 2.0)  # C(N, k) (digamma(N + 1) - digamma(N - k + 1))
        >>> math.isclose(d, 10 * (digamma(6.0) - digamma(4.0)))
        True
    """
    if not _traced(N, k):
        return _rows.scipy_module().comb(N, k, exact=exact, repetition=repetition)
    if exact:
        raise _no_exact("comb")
    if repetition and not _comb_repetition_by_gamma():  # scipy < 1.16: C(N + k - 1, k)
        return comb(fnp.subtract(fnp.add(N, k), 1.0), k)
    if repetition:
        one = fnp.logical_and(fnp.equal(k, 0), fnp.greater_equal(N, 0))
        ok = fnp.logical_and(fnp.greater(N, 0), fnp.greater_equal(k, 0))
        known = _values_known(N, k)
        if known is not None:
            cn, ck = known
            bad = ~(((ck == 0) & (cn >= 0)) | ((cn > 0) & (ck >= 0)))
            if np.any(bad):
                raise ValueError(
                    "comb(N, k, repetition=True) is differentiable for N > 0 and k >= 0, where "
                    "it equals the gamma-function formula; got values outside that region "
                    "(scipy takes limits there). Restrict N and k, or use fgrad.stop_gradient "
                    "on plain values")
        n_safe, k_safe = fnp.where(ok, N, 1.0), fnp.where(ok, k, 0.0)
        val = fnp.exp(fnp.subtract(
            fnp.subtract(_rows.gammaln(fnp.add(n_safe, k_safe)), _rows.gammaln(fnp.add(k_safe, 1.0))),
            _rows.gammaln(n_safe)))
        return fnp.where(one, 1.0, fnp.where(ok, val, np.nan))
    cond = fnp.logical_and(fnp.logical_and(fnp.less_equal(k, N), fnp.greater_equal(N, 0)),
                           fnp.greater_equal(k, 0))
    # safe values where the result is the constant 0, so no NaN leaks into derivatives
    n_safe, k_safe = fnp.where(cond, N, 0.0), fnp.where(cond, k, 0.0)
    val = fnp.exp(fnp.subtract(
        fnp.subtract(_rows.gammaln(fnp.add(n_safe, 1.0)), _rows.gammaln(fnp.add(k_safe, 1.0))),
        _rows.gammaln(fnp.add(fnp.subtract(n_safe, k_safe), 1.0))))
    return fnp.where(cond, val, 0.0)


def factorial(n, exact=False, extend="zero"):
    """``n!`` (``scipy.special.factorial``), differentiable when ``exact=False``.

    Under a transform this is ``gamma(n + 1)`` (scipy's value exactly), with scipy's
    conventions: 0 for ``n < 0`` (``extend="zero"``, a constant there), NaN at
    ``n == -1`` with ``extend="complex"``.  ``exact=True`` returns scipy's integers on
    plain inputs and refuses traced ones (TypeError).

    Example:
        >>> import fgrad, math
        >>> from fgrad.scipy.special import factorial
        >>> float(factorial(4.0))
        24.0
        >>> d = fgrad.grad(factorial)(4.0)  # 4! digamma(5)
        >>> math.isclose(d, 24 * (1 + 1 / 2 + 1 / 3 + 1 / 4 - 0.5772156649015329))
        True
    """
    if not _traced(n):
        return _rows.scipy_module().factorial(n, exact=exact, extend=extend)
    if exact:
        raise _no_exact("factorial")
    if extend not in ("zero", "complex"):
        raise ValueError(f"factorial: extend must be 'zero' or 'complex', got {extend!r}")
    if extend == "complex":
        out = _rows.gamma(fnp.add(n, 1.0))
        if np.result_type(concrete(n)).kind == "c":
            return out
        return fnp.where(fnp.equal(n, -1), np.nan, out)  # scipy: NaN, not inf, at -1
    if np.result_type(concrete(n)).kind == "c":
        raise ValueError(
            "factorial of complex numbers needs extend='complex' (scipy's rule; it also "
            "changes the values at negative n)")
    pos = fnp.greater_equal(n, 0)
    out = _rows.gamma(fnp.add(fnp.where(pos, n, 0.0), 1.0))
    return fnp.where(pos, out, fnp.where(fnp.isnan(n), np.nan, 0.0))


# --- scipy's own ufuncs dispatch here when they meet a tracer --------------------------------

_UFUNC_NAMES = [
    "erf", "erfc", "erfcx", "erfinv", "erfcinv", "ndtr", "ndtri", "log_ndtr", "expit",
    "logit", "log_expit", "gammaln", "digamma", "psi", "gamma", "rgamma", "beta", "betaln",
    "gammainc", "gammaincc", "betainc", "betaincc", "stdtr", "gammaincinv", "gammainccinv",
    "betaincinv", "betainccinv", "stdtrit", "xlogy", "xlog1py", "entr", "rel_entr",
    "i0", "i1", "i0e", "i1e", "kl_div", "loggamma", "exp1", "expi", "expn", "dawsn", "iv",
    "ive", "kv", "kve", "j0", "j1", "y0", "y1", "jv", "yv", "owens_t", "hyp1f1", "hyp2f1",
    "wofz", "yn", "gammasgn", "spence",
]


def _register_scipy_ufuncs():
    try:  # the one import inside a function: scipy is optional, fgrad.scipy loads without it
        import scipy.special as sc
    except ImportError:  # pragma: no cover - fgrad.scipy works without scipy until used
        return
    mine = globals()
    for name in _UFUNC_NAMES:
        theirs = getattr(sc, name, None)
        if isinstance(theirs, np.ufunc):
            NUMPY_UFUNCS[theirs] = mine[name]  # np-style calls on tracers reach these


_register_scipy_ufuncs()
