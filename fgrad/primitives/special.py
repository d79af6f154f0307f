"""Rows of the rule table: scipy functions (scipy.special, and scipy.linalg's
solve_triangular and expm).

scipy is optional: it is imported lazily, the first time one of these
implementations runs, so ``import fgrad`` never imports scipy and fgrad works
without it.  Calling one of these functions without scipy raises an ImportError
that says how to install it.  The public, scipy-shaped functions are in
:mod:`fgrad.scipy`; the rows here are named ``special.<name>`` and
``scipy.linalg.<name>`` in the table, so they never collide with numpy's rows.

Every rule is written with fgrad.numpy, so derivatives of any order are traced.
Where scipy offers no formula for a derivative (e.g. ``gammainc`` in its shape
parameter ``a``) the rule is ``None``: differentiating with respect to that
argument raises a TypeError naming it, never a silent zero.
"""

import importlib
import inspect
import math

import numpy as np

from .. import shapes as _shp
from ..core import PRIMITIVES, concrete, defelementwise, defprim, is_duck_array, ndim_of, shape_of
from . import elementwise as _ew
from . import products as _pr
from . import reductions as _rd
from . import shape as _sh
from .reductions import _example_axis, expand_reduced

# --- why a derivative is refused -----------------------------------------------------------
# A row's ``no_derivative`` maps an argument position without a rule to the reason, which
# the TypeError for that derivative and the coverage page (fgrad/_coverage.py) show.

_SHAPES = ("the derivative in the shape parameters has no closed form and scipy offers no "
           "formula; fgrad has no numerical rule for it yet")
_ORDER = ("the derivative in the order of a Bessel function has no closed form in general; "
          "fgrad has no numerical rule for it yet")
_HYP = ("the derivatives in the parameters of a hypergeometric function have no closed form "
        "in general; fgrad has no numerical rule for them yet")
_INTEGER = "it is an integer order: the function is defined at integers only"

__all__ = []

_SCIPY = {}


def scipy_module(name="special"):
    """``scipy.<name>``, imported on first use, with a helpful error if scipy is missing."""
    mod = _SCIPY.get(name)
    if mod is None:
        try:
            mod = importlib.import_module(f"scipy.{name}")
        except ImportError as err:  # pragma: no cover - exercised in a subprocess test
            raise ImportError(
                f"this fgrad function wraps scipy.{name}, but scipy is not installed. "
                "Install it with `pip install scipy` (or `pip install fgrad[scipy]`)."
            ) from err
        _SCIPY[name] = mod
    return mod


def scipy_version():
    """The installed scipy's ``(major, minor)``, read once from ``scipy.__version__``."""
    known = _SCIPY.get("version")
    if known is None:
        scipy_module("special")  # the ImportError that says how to install scipy
        release = importlib.import_module("scipy").__version__
        known = _SCIPY["version"] = tuple(int(part) for part in release.split(".")[:2])
    return known


def scipy_linalg_batches():
    """Whether the installed scipy.linalg takes stacks of matrices (scipy >= 1.16).

    Older scipy rejects arrays with leading axes, and fgrad's rows then loop over
    those axes themselves (:func:`over_stacks`)."""
    known = _SCIPY.get("linalg batches")
    if known is None:
        known = _SCIPY["linalg batches"] = scipy_version() >= (1, 16)
    return known


def over_stacks(impl, cores):
    """``impl`` (a scipy.linalg function of matrices) on stacks of them, on any scipy.

    ``cores`` gives each array argument's core dimensions: 2 for a matrix, or
    ``"1|2"`` for a right-hand side (a vector when 1-D, else a matrix), scipy's
    convention.  Leading axes broadcast.  Where the installed scipy batches
    (>= 1.16) the call goes straight to it; older scipy gets one call per matrix,
    the same loop scipy >= 1.16 runs.  The choice depends on the scipy version
    only, never on the values."""

    def run(*args, **params):
        if scipy_linalg_batches():
            return impl(*args, **params)
        args = [np.asarray(a) for a in args]
        ndims = [(2 if a.ndim >= 2 else 1) if core == "1|2" else core
                 for a, core in zip(args, cores)]
        leads = [a.shape[:a.ndim - k] for a, k in zip(args, ndims)]
        if not any(leads):
            return impl(*args, **params)
        lead = np.broadcast_shapes(*leads)
        args = [np.broadcast_to(a, lead + a.shape[a.ndim - k:]) for a, k in zip(args, ndims)]
        outs = [impl(*[a[i] for a in args], **params) for i in np.ndindex(*lead)]
        out = np.stack(outs)
        return out.reshape(lead + out.shape[1:])

    run.__name__ = getattr(impl, "__name__", "impl")
    return run


def _sc(name, module="special"):
    """A lazy implementation: ``scipy.<module>.<name>`` looked up at call time."""

    def impl(*args, **params):
        return getattr(scipy_module(module), name)(*args, **params)

    impl.__name__ = name
    impl.__qualname__ = name
    impl.__doc__ = f"``scipy.{module}.{name}`` (imported lazily)."
    return impl


_SQRT_PI = math.sqrt(math.pi)
_SQRT_2PI = math.sqrt(2.0 * math.pi)
_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)


def _elementwise(name, *partials, test=None, reads=None, no_derivative=None):
    return defelementwise(f"special.{name}", _sc(name), *partials, test=test, reads=reads,
                          no_derivative=no_derivative)


# --- error function and the normal distribution --------------------------------

erf = _elementwise(
    "erf", lambda ans, x: _ew.multiply(2.0 / _SQRT_PI, _ew.exp(_ew.negative(_ew.square(x)))),
    test={"complex": True},
    reads=(0,),
)
erfc = _elementwise(
    "erfc", lambda ans, x: _ew.multiply(-2.0 / _SQRT_PI, _ew.exp(_ew.negative(_ew.square(x)))),
    test={"complex": True},
    reads=(0,),
)
erfcx = _elementwise(  # exp(x^2) erfc(x): d = 2 x erfcx(x) - 2/sqrt(pi)
    "erfcx", lambda ans, x: _ew.subtract(_ew.multiply(_ew.multiply(2.0, x), ans), 2.0 / _SQRT_PI),
    reads=("ans", 0),
)
erfinv = _elementwise(
    "erfinv", lambda ans, x: _ew.multiply(_SQRT_PI / 2.0, _ew.exp(_ew.square(ans))),
    test={"domain": [(-0.9, 0.9)]},
    reads=("ans",),
)
erfcinv = _elementwise(
    "erfcinv", lambda ans, x: _ew.multiply(-_SQRT_PI / 2.0, _ew.exp(_ew.square(ans))),
    test={"domain": [(0.1, 1.9)]},
    reads=("ans",),
)


def _normal_density(x):
    return _ew.exp(_ew.subtract(_ew.multiply(-0.5, _ew.square(x)), _HALF_LOG_2PI))


ndtr = _elementwise("ndtr", lambda ans, x: _normal_density(x), reads=(0,))
ndtri = _elementwise(
    "ndtri", lambda ans, x: _ew.multiply(_SQRT_2PI, _ew.exp(_ew.multiply(0.5, _ew.square(ans)))),
    test={"domain": [(0.05, 0.95)]},
    reads=("ans",),
)
# d log(Phi(x)) = phi(x) / Phi(x) = exp(-x^2/2 - log(2 pi)/2 - log_ndtr(x)): stable in the tail
log_ndtr = _elementwise(
    "log_ndtr",
    lambda ans, x: _ew.exp(_ew.subtract(
        _ew.subtract(_ew.multiply(-0.5, _ew.square(x)), _HALF_LOG_2PI), ans)),
    test={"domain": [(-4.0, 2.0)]},
    reads=("ans", 0),
)


# --- the multivariate normal cdf (Genz's quasi-Monte-Carlo method, in scipy) ------------------

_MVN_COV = ("the derivative of the multivariate normal cdf in its covariance has no closed form; "
            "fgrad differentiates it in x (and mean) only")


def mvn_cdf_takes_rng():
    """Whether the installed scipy's ``multivariate_normal.cdf`` takes ``rng`` (a seed)."""
    known = _SCIPY.get("mvn rng")
    if known is None:
        cdf = scipy_module("stats").multivariate_normal.cdf
        known = _SCIPY["mvn rng"] = "rng" in inspect.signature(cdf).parameters
    return known


def _mvn_cdf_impl(d, cov, maxpts=None, abseps=1e-5, releps=1e-5, seed=0):
    """P(X <= d) for X ~ N(0, cov), last axis the dimension (>= 2); leading axes broadcast.

    scipy estimates it by quasi-Monte-Carlo; each point gets its own generator seeded
    with ``seed`` (scipy >= 1.16), so the value is a deterministic function of (d, cov),
    the same for a point alone or in a batch."""
    d, cov = np.asarray(d, np.float64), np.asarray(cov, np.float64)
    n = d.shape[-1]
    lead = np.broadcast_shapes(d.shape[:-1], cov.shape[:-2])
    d, cov = np.broadcast_to(d, lead + (n,)), np.broadcast_to(cov, lead + (n, n))
    gen = scipy_module("stats").multivariate_normal
    out = np.empty(lead)
    for i in np.ndindex(*lead):
        # a seed where the installed scipy takes one (its cdf's `rng`); older scipy draws
        # its own random numbers, so there the estimate varies between calls (~abseps)
        seeded = {"rng": np.random.default_rng(seed)} if mvn_cdf_takes_rng() else {}
        out[i] = gen.cdf(d[i], np.zeros(n), cov[i], allow_singular=True, maxpts=maxpts,
                         abseps=abseps, releps=releps, **seeded)
    return out


def mvn_cdf(d, cov, **params):
    """The cdf of N(0, cov) at ``d`` (last axis the dimension): ``ndtr`` in one dimension,
    the row ``special.mvn_cdf`` in more."""
    if np.shape(concrete(d))[-1] == 1:
        return ndtr(_ew.divide(d[..., 0], _ew.sqrt(cov[..., 0, 0])))
    return mvn_cdf_row(d, cov, **params)


def _mvn_cdf_grad(d, cov, **params):
    # d/dd_i Phi_n(d; S) = phi(d_i; S_ii) Phi_{n-1}(d_-i - S_-i,i d_i / S_ii; S_-i,-i - S_-i,i S_i,-i / S_ii)
    # (condition on X_i = d_i); the conditional cdf is this function again, so every order works
    n = np.shape(concrete(d))[-1]
    idx = np.arange(n)
    others = np.array([[j for j in range(n) if j != i] for i in range(n)])  # (n, n - 1)
    diag = cov[..., idx, idx]
    dens = _ew.divide(_ew.exp(_ew.multiply(-0.5, _ew.divide(_ew.square(d), diag))),
                      _ew.multiply(_SQRT_2PI, _ew.sqrt(diag)))
    col = cov[..., others, idx[:, None]]  # S[others[i, k], i]: (..., n, n - 1)
    cond_d = _ew.subtract(d[..., others],
                          _ew.multiply(col, _ew.divide(d, diag)[..., :, None]))
    sub = cov[..., others[:, :, None], others[:, None, :]]  # (..., n, n - 1, n - 1)
    cond_cov = _ew.subtract(sub, _ew.divide(_ew.multiply(col[..., :, :, None], col[..., :, None, :]),
                                            diag[..., :, None, None]))
    return _ew.multiply(dens, mvn_cdf(cond_d, cond_cov, **params))


def _mvn_cdf_batch(args, dims, **params):
    # the batch axis first, the other argument given a length-1 one; leading axes broadcast
    (d, cov), (dd, dc) = args, dims
    r_d = ndim_of(d) - (dd is not None) - 1
    r_c = ndim_of(cov) - (dc is not None) - 2
    lead = max(r_d, r_c)
    new = []
    for a, k, r in ((d, dd, r_d), (cov, dc, r_c)):
        a = _sh.moveaxis(a, k, 0) if k is not None else _sh.expand_dims(a, 0)
        shape = shape_of(a)
        new.append(_sh.reshape(a, shape[:1] + (1,) * (lead - r) + shape[1:]))
    return mvn_cdf_row(*new, **params), 0


def _make_mvn_cdf(rng, shape):
    m = rng.uniform(-0.5, 0.5, (2, 2))
    return (rng.uniform(-1.0, 1.0, (3, 2)), m @ m.T + np.eye(2)), {}


def _mvn_cdf_shape(d, cov, **params):
    return np.broadcast_shapes(_shp.shape(d)[:-1], _shp.shape(cov)[:-2]), np.dtype(np.float64)


mvn_cdf_row = defprim(
    "special.mvn_cdf", _mvn_cdf_impl,
    jvp=[lambda t, ans, d, cov, **params: _rd.sum(
        _ew.multiply(t, _mvn_cdf_grad(d, cov, **params)), axis=-1), None],
    vjp=[lambda g, ans, d, cov, **params: _ew.multiply(
        _sh.expand_dims(g, -1), _mvn_cdf_grad(d, cov, **params)), None],
    batch=_mvn_cdf_batch,
    test={"make": _make_mvn_cdf, "float32": False},
    reads=[(0, 1), ()],
    no_derivative={1: _MVN_COV},
    shape=_mvn_cdf_shape,
)

# --- logistic ----------------------------------------------------------------------

expit = _elementwise("expit", lambda ans, x: _ew.multiply(ans, _ew.subtract(1.0, ans)), reads=("ans",))
logit = _elementwise(
    "logit", lambda ans, x: _ew.reciprocal(_ew.multiply(x, _ew.subtract(1.0, x))),
    test={"domain": [(0.05, 0.95)]},
    reads=(0,),
)
# log(expit(x)): d = 1 - expit(x) = expit(-x), never overflows
log_expit = _elementwise("log_expit", lambda ans, x: expit(_ew.negative(x)), reads=(0,))


def _softplus_impl(x):
    sc = scipy_module()
    if hasattr(sc, "softplus"):  # scipy >= 1.15
        return sc.softplus(x)
    return np.logaddexp(0.0, x)  # pragma: no cover


# log(1 + exp(x)): d = expit(x)
softplus = defelementwise("special.softplus", _softplus_impl, lambda ans, x: expit(x), reads=(0,))

# --- gamma family ------------------------------------------------------------------

polygamma = defelementwise(
    "special.polygamma", _sc("polygamma"),
    None,
    lambda ans, n, x: polygamma(_ew.add(n, 1), x),
    test={"make": lambda rng, shape: (
        (rng.integers(0, 3, size=shape), rng.uniform(0.5, 3.0, size=shape)), {})},
        reads=(0, 1),
    no_derivative={0: _INTEGER},
)
digamma = _elementwise(
    "digamma", lambda ans, x: polygamma(1, x), test={"domain": [(0.5, 3.0)]},
    reads=(0,),
)
gammaln = _elementwise("gammaln", lambda ans, x: digamma(x), test={"domain": [(0.5, 3.0)]}, reads=(0,))
gamma = _elementwise(
    "gamma", lambda ans, x: _ew.multiply(ans, digamma(x)), test={"domain": [(0.5, 3.0)]},
    reads=("ans", 0),
)
rgamma = _elementwise(
    "rgamma", lambda ans, x: _ew.negative(_ew.multiply(ans, digamma(x))),
    test={"domain": [(0.5, 3.0)]},
    reads=("ans", 0),
)


def _digamma_diff(a, b):
    return _ew.subtract(digamma(a), digamma(_ew.add(a, b)))


betaln = _elementwise(
    "betaln",
    lambda ans, a, b: _digamma_diff(a, b),
    lambda ans, a, b: _digamma_diff(b, a),
    test={"domain": [(0.5, 3.0), (0.5, 3.0)]},
    reads=(0, 1),
)
beta = _elementwise(
    "beta",
    lambda ans, a, b: _ew.multiply(ans, _digamma_diff(a, b)),
    lambda ans, a, b: _ew.multiply(ans, _digamma_diff(b, a)),
    test={"domain": [(0.5, 3.0), (0.5, 3.0)]},
    reads=("ans", 0, 1),
)


def _zeta_impl(x, q):
    return scipy_module().zeta(x, q)


# Hurwitz zeta(x, q): d/dq = -x zeta(x + 1, q).  scipy has no derivative in x:
# d^n/dx^n zeta(x, q) = sum_k (-log(k + q))^n (k + q)^-x is computed here by the
# Euler-Maclaurin formula for zeta itself, on Taylor polynomials in x (jets, as for
# gammainc below): sum_{k<N} (k + q)^-x + u^(1-x) / (x - 1) + u^-x / 2
# + sum_j B_2j / (2j)! x (x + 1) ... (x + 2j - 2) u^(-x-2j+1), with u = N + q.
_BERNOULLI_2J = [1 / 6, -1 / 30, 1 / 42, -1 / 30, 5 / 66, -691 / 2730, 7 / 6, -3617 / 510,
                 43867 / 798, -174611 / 330, 854513 / 138, -236364091 / 2730]


def _zeta_jet(x, q, n):
    """Jet in x (coefficients d^k zeta / dx^k / k!, k <= n) of zeta(x, q), 1-d inputs."""
    # N terms summed directly, so that u = N + q is large beside x (the correction
    # terms then shrink like ((x + 2j) / (2 pi u))^2j)
    terms = np.ceil(np.maximum(0.0, 2.0 * np.abs(x) + 25.0 - q)).astype(int)
    total = np.zeros((n + 1,) + x.shape)

    def power(x, log_base, shift=0.0):  # jet of base^-(x + shift)
        e = np.zeros((n + 1,) + x.shape)
        e[0] = -(x + shift) * log_base
        if n:
            e[1] = -log_base
        return _jet_exp(e)

    for k in range(int(terms.max(initial=0))):
        live = k < terms
        total[:, live] += power(x[live], np.log(k + q[live]))
    u = terms + q
    log_u = np.log(u)
    xm1 = _jet_var(x, n, -1.0)
    total += _jet_div(power(x, log_u, -1.0), xm1)  # u^(1-x) / (x - 1)
    total += 0.5 * power(x, log_u)
    rising = _jet_var(x, n)  # x (x + 1) ... (x + 2j - 2), the rising factorial
    for j, b in enumerate(_BERNOULLI_2J, start=1):
        if j > 1:
            rising = _jet_mul(rising, _jet_mul(_jet_var(x, n, 2.0 * j - 3.0),
                                               _jet_var(x, n, 2.0 * j - 2.0)))
        total += (b / math.factorial(2 * j)) * _jet_mul(rising, power(x, log_u, 2.0 * j - 1.0))
    return total


def _zeta_dx_impl(x, q, n=1):
    """``d^n zeta(x, q) / dx^n`` (n >= 1), elementwise, in numpy."""
    n = int(n)
    dtype = np.result_type(np.asarray(x).dtype, np.asarray(q).dtype, np.float16)
    x, q = np.broadcast_arrays(np.asarray(x, dtype=float), np.asarray(q, dtype=float))
    out = np.full(x.shape, np.nan)
    ok = (x > 1.0) & (q > 0.0) & np.isfinite(x) & np.isfinite(q)
    # the pole at x = 1: zeta ~ 1 / (x - 1), whose n-th derivative is (-1)^n n! / (x - 1)^(n+1)
    out[(x == 1.0) & (q > 0.0)] = -np.inf if n % 2 else np.inf
    if ok.any():
        out[ok] = math.factorial(n) * _zeta_jet(x[ok], q[ok], n)[n]
    return out.astype(dtype, copy=False)[()]


def _zeta_dx_dq(x, q, n):
    # d/dq d^n/dx^n zeta = d^n/dx^n (-x zeta(x + 1, q)) = -x z_n(x + 1) - n z_(n-1)(x + 1)
    x1 = _ew.add(x, 1.0)
    lower = zeta(x1, q) if n == 1 else zeta_dx(x1, q, n=n - 1)
    return _ew.negative(_ew.add(_ew.multiply(x, zeta_dx(x1, q, n=n)),
                                _ew.multiply(float(n), lower)))


zeta_dx = defprim(
    "special.zeta_dx", _zeta_dx_impl,
    jvp=[lambda t, ans, x, q, *, n=1: _ew.multiply(t, zeta_dx(x, q, n=int(n) + 1)),
         lambda t, ans, x, q, *, n=1: _ew.multiply(t, _zeta_dx_dq(x, q, int(n)))],
    vjp=[lambda g, ans, x, q, *, n=1: _ew.multiply(g, zeta_dx(x, q, n=int(n) + 1)),
         lambda g, ans, x, q, *, n=1: _ew.multiply(g, _zeta_dx_dq(x, q, int(n)))],
    batch="elementwise",
    test={"domain": [(1.5, 4.0), (0.5, 2.0)], "params": [{"n": 1}, {"n": 2}]},
    reads=(0, 1),
)

zeta = defelementwise(
    "special.zeta", _zeta_impl,
    lambda ans, x, q: zeta_dx(x, q, n=1),
    lambda ans, x, q: _ew.negative(_ew.multiply(x, zeta(_ew.add(x, 1.0), q))),
    test={"domain": [(1.5, 4.0), (0.5, 2.0)]},
    reads=(0, 1),
)


# Regularised incomplete gamma and beta functions: derivatives in x only (the
# derivative in the shape parameters has no closed form in scipy).
def _gammainc_dx(ans, a, x):
    # x^(a-1) e^(-x) / Gamma(a), in log space
    return _ew.exp(_ew.subtract(_ew.subtract(xlogy(_ew.subtract(a, 1.0), x), x), gammaln(a)))


# --- derivatives of gammainc in its shape parameter a ------------------------------
# scipy has no formula for d^n P(a, x) / da^n, so it is computed here in numpy by
# Taylor arithmetic in a: the series (x < a + 1) and the continued fraction for
# Q = 1 - P (x >= a + 1) that compute P itself are evaluated on truncated Taylor
# polynomials in a ("jets", arrays of coefficients f^(k)(a) / k!, k = 0..n), so the
# n-th coefficient times n! is the n-th derivative of that approximation.  Both
# converge for the derivatives as for the value (the approach of Moore (1982),
# also used by TensorFlow's and JAX's igamma gradients).  The row
# ``special.gammainc_da`` (d^n P / da^n) has derivative rules of its own: in a,
# the same row with n + 1; in x, d^n/da^n of the density x^(a-1) e^(-x) / Gamma(a),
# written with fgrad functions (complete Bell polynomials of its log's derivatives).

_JET_EPS = 1e-16  # a relative change below this ends a sum (about half an ulp)
_JET_MAX_TERMS = 100_000


def _jet_mul(f, g):
    n = f.shape[0]
    out = np.zeros(np.broadcast_shapes(f.shape, g.shape))
    for k in range(n):
        for j in range(k + 1):
            out[k] += f[j] * g[k - j]
    return out


def _jet_div(f, g):
    f, g = np.broadcast_arrays(f, g)
    out = np.zeros(f.shape)
    for k in range(f.shape[0]):
        acc = f[k].copy()
        for j in range(1, k + 1):
            acc -= g[j] * out[k - j]
        out[k] = acc / g[0]
    return out


def _jet_exp(f):
    out = np.zeros(f.shape)
    out[0] = np.exp(f[0])
    for k in range(1, f.shape[0]):
        for j in range(1, k + 1):
            out[k] += j * f[j] * out[k - j]
        out[k] /= k
    return out


def _jet_gammaln(a, n):
    """The Taylor coefficients of gammaln at ``a``: psi^(k-1)(a) / k!."""
    sc = scipy_module()
    out = np.zeros((n + 1,) + a.shape)
    out[0] = sc.gammaln(a)
    for k in range(1, n + 1):
        out[k] = sc.polygamma(k - 1, a) / math.factorial(k)
    return out


def _jet_const(value, n, shape):
    out = np.zeros((n + 1,) + shape)
    out[0] = value
    return out


def _jet_var(a, n, shift=0.0):
    """The jet of ``a + shift`` as a function of a: (a + shift, 1, 0, ...)."""
    out = np.zeros((n + 1,) + a.shape)
    out[0] = a + shift
    if n:
        out[1] = 1.0
    return out


def _igamma_series(a, x, n):
    """Jet of P(a, x) = x^a e^-x / Gamma(a + 1) sum_k x^k / ((a+1)...(a+k)), for 1-d
    ``a`` and ``x``; elements leave the loop as their sums converge."""
    logx = np.log(x)
    pre = -_jet_gammaln(a + 1.0, n)
    pre[0] += a * logx - x
    if n:
        pre[1] += logx
    total = _jet_const(1.0, n, a.shape)
    term, active = total.copy(), np.arange(a.size)
    for k in range(1, _JET_MAX_TERMS):
        term = _jet_div(term * x[active], _jet_var(a[active], n, float(k)))
        now = total[:, active] + term
        total[:, active] = now
        done = np.all(np.abs(term) <= _JET_EPS * (np.abs(now) + np.abs(now[0])), axis=0)
        if done.any():
            active, term = active[~done], term[:, ~done]
            if not active.size:
                break
    else:  # pragma: no cover - a beyond about 1e9
        total[:, active] = np.nan
    return _jet_mul(_jet_exp(pre), total)


def _igammac_fraction(a, x, n):
    """Jet of Q(a, x) = x^a e^-x / Gamma(a) / (x + 1 - a - 1 (1 - a) / (x + 3 - a - ...)),
    by the modified Lentz algorithm, for 1-d ``a`` and ``x``; elements leave the loop
    as their fractions converge."""
    tiny = 1e-300
    logx = np.log(x)
    pre = -_jet_gammaln(a, n)
    pre[0] += a * logx - x
    if n:
        pre[1] += logx
    one = _jet_const(1.0, n, a.shape)
    minus_a = -_jet_var(a, n)
    b = minus_a.copy()
    b[0] += x + 1.0
    c = _jet_const(1.0 / tiny, n, a.shape)
    d = _jet_div(one, b)
    out = d.copy()
    h, active = d, np.arange(a.size)
    for i in range(1, _JET_MAX_TERMS):
        an = -i * minus_a  # -i (i - a) = i a - i^2
        an[0] -= i * i
        b = b.copy()
        b[0] += 2.0
        d = _jet_mul(an, d) + b
        d[0] = np.where(np.abs(d[0]) < tiny, tiny, d[0])
        c = b + _jet_div(an, c)
        c[0] = np.where(np.abs(c[0]) < tiny, tiny, c[0])
        d = _jet_div(one[:, :1], d)
        previous, h = h, _jet_mul(h, _jet_mul(d, c))
        out[:, active] = h
        done = np.all(np.abs(h - previous) <= _JET_EPS * (np.abs(h) + np.abs(h[0])), axis=0)
        if done.any():
            keep = ~done
            active = active[keep]
            if not active.size:
                break
            minus_a, b, c, d, h = (v[:, keep] for v in (minus_a, b, c, d, h))
    else:  # pragma: no cover - x beyond about 1e9
        out[:, active] = np.nan
    return _jet_mul(_jet_exp(pre), out)


def _gammainc_da_impl(a, x, n=1):
    """``d^n P(a, x) / da^n`` (n >= 1), elementwise, in numpy."""
    n = int(n)
    dtype = np.result_type(np.asarray(a).dtype, np.asarray(x).dtype, np.float16)
    a, x = np.broadcast_arrays(np.asarray(a, dtype=float), np.asarray(x, dtype=float))
    out = np.full(a.shape, np.nan)
    ok = (a > 0) & (x >= 0)
    # P is 0 at x = 0 and 1 at x = inf for every a > 0: no change in a
    out[ok & ((x == 0) | np.isinf(x))] = 0.0
    inner = ok & (x > 0) & np.isfinite(x) & np.isfinite(a)
    series = inner & (x < a + 1.0)
    fraction = inner & ~series
    scale = math.factorial(n)
    if series.any():
        out[series] = scale * _igamma_series(a[series], x[series], n)[n]
    if fraction.any():  # from Q = 1 - P: the derivatives of P are minus those of Q
        out[fraction] = -scale * _igammac_fraction(a[fraction], x[fraction], n)[n]
    return out.astype(dtype, copy=False)[()]


def _bell(derivs):
    """The complete Bell polynomial Y_n of ``derivs = [h', h'', ...]``: d^n e^h / e^h,
    by Y_(m+1) = sum_i C(m, i) Y_(m-i) h^(i+1)."""
    y = [1.0]
    for m in range(len(derivs)):
        total = None
        for i in range(m + 1):
            term = _ew.multiply(_ew.multiply(float(math.comb(m, i)), y[m - i]), derivs[i])
            total = term if total is None else _ew.add(total, term)
        y.append(total)
    return y[-1]


def _gammainc_da_dx(ans, a, x, n=1):
    # d^n/da^n of the density e^h, h = (a - 1) log x - x - gammaln(a):
    # h' = log x - psi(a), h^(k) = -psi^(k-1)(a) for k >= 2
    derivs = [_ew.subtract(_ew.log(x), digamma(a))]
    derivs += [_ew.negative(polygamma(k - 1, a)) for k in range(2, int(n) + 1)]
    return _ew.multiply(_gammainc_dx(None, a, x), _bell(derivs))


gammainc_da = defprim(
    "special.gammainc_da", _gammainc_da_impl,
    jvp=[lambda t, ans, a, x, *, n=1: _ew.multiply(t, gammainc_da(a, x, n=int(n) + 1)),
         lambda t, ans, a, x, *, n=1: _ew.multiply(t, _gammainc_da_dx(ans, a, x, n))],
    vjp=[lambda g, ans, a, x, *, n=1: _ew.multiply(g, gammainc_da(a, x, n=int(n) + 1)),
         lambda g, ans, a, x, *, n=1: _ew.multiply(g, _gammainc_da_dx(ans, a, x, n))],
    batch="elementwise",
    test={"domain": [(0.5, 3.0), (0.2, 5.0)], "params": [{"n": 1}, {"n": 2}]},
    reads=[(0, 1), ("ans", 0, 1)],
)

gammainc = _elementwise(
    "gammainc",
    lambda ans, a, x: gammainc_da(a, x, n=1),
    _gammainc_dx,
    test={"domain": [(0.5, 3.0), (0.2, 3.0)]},
    reads=(0, 1),
)
gammaincc = _elementwise(
    "gammaincc",
    lambda ans, a, x: _ew.negative(gammainc_da(a, x, n=1)),
    lambda ans, a, x: _ew.negative(_gammainc_dx(ans, a, x)),
    test={"domain": [(0.5, 3.0), (0.2, 3.0)]},
    reads=("ans", 0, 1),
)


def _betainc_dx(ans, a, b, x):
    # x^(a-1) (1-x)^(b-1) / B(a, b), in log space
    return _ew.exp(_ew.subtract(
        _ew.add(xlogy(_ew.subtract(a, 1.0), x), xlog1py(_ew.subtract(b, 1.0), _ew.negative(x))),
        betaln(a, b)))


betainc = _elementwise(
    "betainc", None, None, _betainc_dx,
    test={"domain": [(0.5, 3.0), (0.5, 3.0), (0.1, 0.9)]},
    reads=(0, 1, 2),
    no_derivative={0: _SHAPES, 1: _SHAPES},
)


def _stdtr_dt(ans, df, t):
    # Student's t density
    half = _ew.multiply(0.5, _ew.add(df, 1.0))
    log_c = _ew.subtract(
        _ew.subtract(gammaln(half), gammaln(_ew.multiply(0.5, df))),
        _ew.multiply(0.5, _ew.log(_ew.multiply(math.pi, df))))
    return _ew.exp(_ew.subtract(log_c, _ew.multiply(half, _ew.log1p(_ew.divide(_ew.square(t), df)))))


stdtr = _elementwise(
    "stdtr", None, _stdtr_dt, test={"domain": [(1.0, 10.0), (-2.0, 2.0)]}, reads=(0, 1),
    no_derivative={0: "fgrad has no rule for the derivative in the degrees of freedom "
                         "(no closed form; scipy offers no formula)"})

# upper regularised incomplete beta 1 - betainc, computed directly (accurate near 1)
betaincc = _elementwise(
    "betaincc", None, None, lambda ans, a, b, x: _ew.negative(_betainc_dx(ans, a, b, x)),
    test={"domain": [(0.5, 3.0), (0.5, 3.0), (0.1, 0.9)]},
    reads=("ans", 0, 1, 2),
    no_derivative={0: _SHAPES, 1: _SHAPES},
)

# --- inverses of the distribution functions ----------------------------------------------
# x = F^-1(y) with F(x) = y: the implicit function theorem gives dx/dy = 1 / F'(x), and
# F' is the density above, evaluated at the answer.  The rules read ``ans``, so second
# derivatives differentiate through the row itself.  In a shape parameter,
# dx/da = -(dF/da) / (dF/dx): given for gammaincinv (gammainc has dF/da); betainc and
# stdtr have no derivative in their shapes, so neither do their inverses.


def _gammaincinv_dy(ans, a, y):
    # Gamma(a) e^x x^(1 - a) = 1 / (x^(a-1) e^(-x) / Gamma(a)), in log space
    return _ew.exp(_ew.add(_ew.subtract(gammaln(a), xlogy(_ew.subtract(a, 1.0), ans)), ans))


def _gammaincinv_da(ans, a, y):
    # P(a, x) = y (or Q(a, x) = y) along a: dx/da = -(dP/da) / (dP/dx), the same for Q
    return _ew.negative(_ew.multiply(gammainc_da(a, ans, n=1), _gammaincinv_dy(ans, a, y)))


gammaincinv = _elementwise(
    "gammaincinv", _gammaincinv_da, _gammaincinv_dy,
    test={"domain": [(0.5, 3.0), (0.05, 0.95)]},
    reads=("ans", 0, 1),
)
gammainccinv = _elementwise(  # gammaincc = 1 - gammainc: the same density, negated
    "gammainccinv", _gammaincinv_da, lambda ans, a, y: _ew.negative(_gammaincinv_dy(ans, a, y)),
    test={"domain": [(0.5, 3.0), (0.05, 0.95)]},
    reads=("ans", 0, 1),
)


def _betaincinv_dy(ans, a, b, y):
    # B(a, b) x^(1 - a) (1 - x)^(1 - b), in log space
    return _ew.exp(_ew.subtract(
        betaln(a, b),
        _ew.add(xlogy(_ew.subtract(a, 1.0), ans), xlog1py(_ew.subtract(b, 1.0), _ew.negative(ans)))))


betaincinv = _elementwise(
    "betaincinv", None, None, _betaincinv_dy,
    test={"domain": [(0.5, 3.0), (0.5, 3.0), (0.05, 0.95)]},
    reads=("ans", 0, 1),
    no_derivative={0: _SHAPES, 1: _SHAPES},
)
betainccinv = _elementwise(
    "betainccinv", None, None, lambda ans, a, b, y: _ew.negative(_betaincinv_dy(ans, a, b, y)),
    test={"domain": [(0.5, 3.0), (0.5, 3.0), (0.05, 0.95)]},
    reads=("ans", 0, 1, 2),
    no_derivative={0: _SHAPES, 1: _SHAPES},
)


def _stdtrit_dp(ans, df, p):
    # 1 / t_pdf(t; df) = exp(half log1p(t^2 / df) - log_c)
    half = _ew.multiply(0.5, _ew.add(df, 1.0))
    log_c = _ew.subtract(
        _ew.subtract(gammaln(half), gammaln(_ew.multiply(0.5, df))),
        _ew.multiply(0.5, _ew.log(_ew.multiply(math.pi, df))))
    return _ew.exp(_ew.subtract(_ew.multiply(half, _ew.log1p(_ew.divide(_ew.square(ans), df))), log_c))


stdtrit = _elementwise(
    "stdtrit", None, _stdtrit_dp, test={"domain": [(1.0, 10.0), (0.05, 0.95)]},
    reads=("ans", 0),
    no_derivative={0: "fgrad has no rule for the derivative in the degrees of freedom "
                           "(stdtr has none)"})


def _poisson_quantile(name):

    def impl(q, mu, loc=0):
        return getattr(scipy_module("stats").poisson, name)(q, mu, loc)

    impl.__name__ = impl.__qualname__ = f"poisson_{name}"
    impl.__doc__ = f"``scipy.stats.poisson.{name}`` (imported lazily)."
    return impl


def _poisson_shape(name):
    impl = _poisson_quantile(name)

    def rule(*args, **params):
        return (np.broadcast_shapes(*[_shp.shape(a) for a in args]),
                _shp.dtype_on_tiny(impl, args, params))

    return rule


def _softmax_shape(x, axis=None):
    return _shp.shape(x), _shp.dtype_on_tiny(lambda t: scipy_module().softmax(t, axis=axis), [x])


def _log_softmax_shape(x, axis=None):
    return _shp.shape(x), _shp.dtype_on_tiny(
        lambda t: scipy_module().log_softmax(t, axis=axis), [x])


def _broadcasting_batch(name):
    """A batching rule for row ``name`` when it broadcasts all its arguments like a ufunc:
    batch axes to the front, per-example ranks aligned, unbatched arguments as they are."""

    def rule(args, dims, **params):
        nds = [np.ndim(x) - (d is not None) for x, d in zip(args, dims)]
        nd = max(nds)
        new = []
        for x, d, k in zip(args, dims, nds):
            if d is not None:
                x = _sh.moveaxis(x, d, 0)
                x = _sh.reshape(x, np.shape(x)[:1] + (1,) * (nd - k) + np.shape(x)[1:])
            new.append(x)
        return PRIMITIVES[name].fn(*new, **params), 0

    return rule


# Quantiles of the Poisson distribution are integers, piecewise constant in q and mu:
# rows with no derivative (like floor), so they still trace and batch.
poisson_ppf = defprim("scipy.stats.poisson.ppf", _poisson_quantile("ppf"), nondiff=True,
                      batch=_broadcasting_batch("scipy.stats.poisson.ppf"),
    shape=_poisson_shape("ppf"),
)
poisson_isf = defprim("scipy.stats.poisson.isf", _poisson_quantile("isf"), nondiff=True,
                      batch=_broadcasting_batch("scipy.stats.poisson.isf"),
    shape=_poisson_shape("isf"),
)

# --- x log y and entropy ---------------------------------------------------------------


def _safe_ratio(x, y):
    # x / y, and 0 where x == 0 (so xlogy(0, 0) has a finite derivative in y)
    zero = _ew.equal(x, 0)
    return _ew.where(zero, 0.0, _ew.divide(x, _ew.where(zero, 1.0, y)))


xlogy = _elementwise(
    "xlogy",
    lambda ans, x, y: _ew.log(y),
    lambda ans, x, y: _safe_ratio(x, y),
    test={"domain": [(-1.5, 1.5), (0.2, 2.0)]},
    reads=[(1,), (0, 1)],
)
xlog1py = _elementwise(
    "xlog1py",
    lambda ans, x, y: _ew.log1p(y),
    lambda ans, x, y: _safe_ratio(x, _ew.add(y, 1.0)),
    test={"domain": [(-1.5, 1.5), (-0.7, 2.0)]},
    reads=[(1,), (0, 1)],
)
entr = _elementwise(
    "entr", lambda ans, x: _ew.negative(_ew.add(_ew.log(x), 1.0)), test={"domain": [(0.1, 2.0)]},
    reads=(0,),
)

# x log(x / y): d/dx = log(x / y) + 1, d/dy = -x / y
rel_entr = _elementwise(
    "rel_entr",
    lambda ans, x, y: _ew.add(_ew.log(_ew.divide(x, y)), 1.0),
    lambda ans, x, y: _ew.negative(_safe_ratio(x, y)),
    test={"domain": [(0.2, 2.0), (0.2, 2.0)]},
    reads=(0, 1),
)

# --- modified Bessel functions ------------------------------------------------------------


def _i1_d(i0x, i1x, x):
    # I1'(x) = I0(x) - I1(x)/x, with the limit 1/2 at x == 0
    zero = _ew.equal(x, 0)
    return _ew.where(zero, 0.5, _ew.subtract(i0x, _ew.divide(i1x, _ew.where(zero, 1.0, x))))


i0 = _elementwise("i0", lambda ans, x: i1(x), reads=(0,))
i1 = _elementwise("i1", lambda ans, x: _i1_d(i0(x), ans, x), reads=("ans", 0))
# exponentially scaled: i0e = exp(-|x|) i0 (a kink at 0), i1e = exp(-|x|) i1
i0e = _elementwise(
    "i0e", lambda ans, x: _ew.subtract(i1e(x), _ew.multiply(_ew.sign(x), ans)),
    test={"avoid": 0.0},
    reads=("ans", 0),
)
i1e = _elementwise(
    "i1e", lambda ans, x: _ew.subtract(_i1_d(i0e(x), ans, x), _ew.multiply(_ew.sign(x), ans)),
    test={"avoid": 0.0},
    reads=("ans", 0),
)

# x log(x / y) - x + y: d/dx = log(x / y), d/dy = 1 - x / y
kl_div = _elementwise(
    "kl_div",
    lambda ans, x, y: _ew.log(_ew.divide(x, y)),
    lambda ans, x, y: _ew.subtract(1.0, _safe_ratio(x, y)),
    test={"domain": [(0.2, 2.0), (0.2, 2.0)]},
    reads=(0, 1),
)
loggamma = _elementwise(  # real arguments: the same derivative as gammaln
    "loggamma", lambda ans, x: digamma(x), test={"domain": [(0.5, 3.0)]},
    reads=(0,),
)

# --- exponential integrals and Dawson's integral -----------------------------------------

exp1 = _elementwise(  # E1'(x) = -exp(-x) / x
    "exp1", lambda ans, x: _ew.negative(_ew.divide(_ew.exp(_ew.negative(x)), x)),
    test={"domain": [(0.2, 3.0)]},
    reads=(0,),
)
expi = _elementwise(  # Ei'(x) = exp(x) / x
    "expi", lambda ans, x: _ew.divide(_ew.exp(x), x), test={"domain": [(0.2, 3.0)]},
    reads=(0,),
)


def _expn_dx(ans, n, x):
    # E_n' = -E_{n-1} for n >= 1; E_0(x) = exp(-x) / x has E_0' = -exp(-x) (x + 1) / x^2
    n_ok = _ew.greater_equal(n, 1)
    higher = _ew.negative(expn(_ew.subtract(_ew.where(n_ok, n, 1), 1), x))
    e0 = _ew.negative(_ew.divide(_ew.multiply(_ew.exp(_ew.negative(x)), _ew.add(x, 1.0)),
                                 _ew.square(x)))
    return _ew.where(n_ok, higher, e0)


expn = defelementwise(
    "special.expn", _sc("expn"), None, _expn_dx,
    test={"make": lambda rng, shape: (
        (rng.integers(0, 4, size=shape), rng.uniform(0.3, 3.0, size=shape)), {})},
        reads=(0, 1),
    no_derivative={0: _INTEGER},
)
def _spence_dx(ans, z):
    # scipy's spence(z) = int_1^z log(t) / (1 - t) dt, so spence'(z) = log(z) / (1 - z)
    # = -log1p(w) / w with w = z - 1; near w = 0 its Taylor polynomial (error < 1e-16
    # for |w| < 1e-3), so the value at z = 1 (-1) and every derivative there are right
    w = _ew.subtract(z, 1.0)
    near = _ew.less(_ew.absolute(w), 1e-3)
    poly = _ew.negative(_ew.add(1.0, _ew.multiply(w, _ew.add(-0.5, _ew.multiply(w, _ew.add(
        1.0 / 3.0, _ew.multiply(w, _ew.add(-0.25, _ew.multiply(w, 0.2)))))))))
    safe = _ew.where(near, 1.0, w)
    return _ew.where(near, poly, _ew.negative(_ew.divide(_ew.log1p(safe), safe)))


spence = _elementwise(
    "spence", _spence_dx, test={"domain": [(0.2, 3.0)], "complex": True}, reads=(0,),
)
# the sign of the gamma function: piecewise constant, so its derivative is zero
gammasgn = defprim("special.gammasgn", _sc("gammasgn"), nondiff=True, batch="elementwise")
dawsn = _elementwise(  # D'(x) = 1 - 2 x D(x)
    "dawsn", lambda ans, x: _ew.subtract(1.0, _ew.multiply(_ew.multiply(2.0, x), ans)),
    reads=("ans", 0),
)

# --- Bessel functions of the first and second kind ----------------------------------------


def _bessel_d1(f0x, f1x, x):
    # F1'(x) = F0(x) - F1(x) / x for J1, Y1 (and I1); J1'(0) = 1/2
    zero = _ew.equal(x, 0)
    return _ew.where(zero, 0.5, _ew.subtract(f0x, _ew.divide(f1x, _ew.where(zero, 1.0, x))))


j0 = _elementwise("j0", lambda ans, x: _ew.negative(j1(x)), reads=(0,))
j1 = _elementwise("j1", lambda ans, x: _bessel_d1(j0(x), ans, x), reads=("ans", 0))
y0 = _elementwise("y0", lambda ans, x: _ew.negative(y1(x)), test={"domain": [(0.5, 3.0)]}, reads=(0,))
y1 = _elementwise(
    "y1", lambda ans, x: _bessel_d1(y0(x), ans, x), test={"domain": [(0.5, 3.0)]},
    reads=("ans", 0),
)


def _order_pair(f, v, x):
    return f(_ew.subtract(v, 1.0), x), f(_ew.add(v, 1.0), x)


# derivatives in x only (the order v is a parameter of the function, not differentiated)
jv = _elementwise(
    "jv", None, lambda ans, v, x: _ew.multiply(0.5, _ew.subtract(*_order_pair(jv, v, x))),
    test={"domain": [(0.0, 2.0), (0.3, 3.0)]},
    reads=(0, 1),
    no_derivative={0: _ORDER},
)
yv = _elementwise(
    "yv", None, lambda ans, v, x: _ew.multiply(0.5, _ew.subtract(*_order_pair(yv, v, x))),
    test={"domain": [(0.0, 2.0), (0.5, 3.0)]},
    reads=(0, 1),
    no_derivative={0: _ORDER},
)
iv = _elementwise(
    "iv", None, lambda ans, v, x: _ew.multiply(0.5, _ew.add(*_order_pair(iv, v, x))),
    test={"domain": [(0.0, 2.0), (0.3, 3.0)]},
    reads=(0, 1),
    no_derivative={0: _ORDER},
)
kv = _elementwise(
    "kv", None, lambda ans, v, x: _ew.multiply(-0.5, _ew.add(*_order_pair(kv, v, x))),
    test={"domain": [(0.0, 2.0), (0.3, 3.0)]},
    reads=(0, 1),
    no_derivative={0: _ORDER},
)
# jn is scipy's own alias of jv (one ufunc): the same row
jn = jv


def _yn_dx(ans, n, x):
    # Y_n' = (Y_{n-1} - Y_{n+1}) / 2, integer n (scipy's yn takes negative n too)
    return _ew.multiply(0.5, _ew.subtract(yn(_ew.subtract(n, 1), x), yn(_ew.add(n, 1), x)))


yn = defelementwise(
    "special.yn", _sc("yn"), None, _yn_dx,
    test={"make": lambda rng, shape: (
        (rng.integers(0, 4, size=shape), rng.uniform(0.5, 3.0, size=shape)), {})},
    reads=(0, 1),
    no_derivative={0: _INTEGER},
)
# exponentially scaled: ive = iv exp(-|x|), kve = kv exp(x)
ive = _elementwise(
    "ive", None,
    lambda ans, v, x: _ew.subtract(_ew.multiply(0.5, _ew.add(*_order_pair(ive, v, x))),
                                   _ew.multiply(_ew.sign(x), ans)),
    test={"domain": [(0.0, 2.0), (0.3, 3.0)]},
    reads=("ans", 0, 1),
    no_derivative={0: _ORDER},
)
kve = _elementwise(
    "kve", None,
    lambda ans, v, x: _ew.add(_ew.multiply(-0.5, _ew.add(*_order_pair(kve, v, x))), ans),
    test={"domain": [(0.0, 2.0), (0.3, 3.0)]},
    reads=("ans", 0, 1),
    no_derivative={0: _ORDER},
)

# --- Owen's T, Lambert W, hypergeometric functions, Faddeeva ------------------------------


def _owens_t_impl(h, a):
    return scipy_module().owens_t(h, a)


def _owens_t_dh(ans, h, a):
    # -exp(-h^2/2) erf(a h / sqrt 2) / (2 sqrt(2 pi))
    return _ew.multiply(
        _ew.multiply(-0.5 / _SQRT_2PI, _ew.exp(_ew.multiply(-0.5, _ew.square(h)))),
        erf(_ew.multiply(_ew.multiply(a, h), 1.0 / math.sqrt(2.0))))


def _owens_t_da(ans, h, a):
    # exp(-h^2 (1 + a^2) / 2) / (2 pi (1 + a^2))
    one_a2 = _ew.add(1.0, _ew.square(a))
    return _ew.divide(_ew.exp(_ew.multiply(-0.5, _ew.multiply(_ew.square(h), one_a2))),
                      _ew.multiply(2.0 * math.pi, one_a2))


owens_t = defelementwise(
    "special.owens_t", _owens_t_impl, _owens_t_dh, _owens_t_da,
    test={"domain": [(-2.0, 2.0), (-2.0, 2.0)]},
    reads=(0, 1),
)


def _lambertw_impl(z, k=0, tol=1e-8):
    return scipy_module().lambertw(z, k, tol)


def _lambertw_d(ans):
    # W / (z (1 + W)) with z = W exp(W): exp(-W) / (1 + W), which is 1 at z = 0
    return _ew.divide(_ew.exp(_ew.negative(ans)), _ew.add(1.0, ans))


# W is holomorphic off its branch cuts, so both rules multiply by W'(z); for a real z
# the output is complex and the central cast keeps the real part of the cotangent.
lambertw = defprim(
    "special.lambertw", _lambertw_impl,
    jvp=[lambda t, ans, z, k=0, tol=1e-8: _ew.multiply(t, _lambertw_d(ans))],
    vjp=[lambda g, ans, z, k=0, tol=1e-8: _ew.multiply(g, _lambertw_d(ans))],
    batch="elementwise",
    # k = 0 off the cut (-inf, -1/e]: real part > -0.3, imaginary parts < 0.3
    test={"domain": [(-0.3, 3.0)], "complex": True},
    reads=("ans",),
)


def _hyp1f1_impl(a, b, x):
    return scipy_module().hyp1f1(a, b, x)


# d/dx 1F1(a; b; x) = (a / b) 1F1(a + 1; b + 1; x): the row calls itself, so every
# order works (complex x too: entire in x); scipy has no derivative in the parameters
# a and b (refused).
hyp1f1 = defelementwise(
    "special.hyp1f1", _hyp1f1_impl, None, None,
    lambda ans, a, b, x: _ew.multiply(_ew.divide(a, b),
                                      hyp1f1(_ew.add(a, 1.0), _ew.add(b, 1.0), x)),
    test={"domain": [(0.5, 2.0), (0.5, 2.0), (-1.5, 1.5)], "complex": True},
    reads=(0, 1, 2),
    no_derivative={0: _HYP, 1: _HYP},
)


def _hyp2f1_impl(a, b, c, z):
    return scipy_module().hyp2f1(a, b, c, z)


# d/dz 2F1(a, b; c; z) = (a b / c) 2F1(a + 1, b + 1; c + 1; z); a, b, c refused.
hyp2f1 = defelementwise(
    "special.hyp2f1", _hyp2f1_impl, None, None, None,
    lambda ans, a, b, c, z: _ew.multiply(
        _ew.divide(_ew.multiply(a, b), c),
        hyp2f1(_ew.add(a, 1.0), _ew.add(b, 1.0), _ew.add(c, 1.0), z)),
    test={"domain": [(0.5, 2.0), (0.5, 2.0), (0.5, 2.0), (-0.7, 0.7)], "complex": True},
    reads=(0, 1, 2, 3),
    no_derivative={0: _HYP, 1: _HYP, 2: _HYP},
)


def _wofz_impl(z):
    return scipy_module().wofz(z)


# Faddeeva w(z) = exp(-z^2) erfc(-i z), entire: w'(z) = -2 z w(z) + 2i / sqrt(pi).
# scipy computes it for complex z only (a real z gives a complex w).
wofz = defelementwise(
    "special.wofz", _wofz_impl,
    lambda ans, z: _ew.add(_ew.multiply(_ew.multiply(-2.0, z), ans), 2j / _SQRT_PI),
    test={"complex": True},
    reads=("ans", 0),
)

# --- reductions over an axis: logsumexp, softmax, log_softmax ---------------------------------


def _expand(ans, x, axis, keepdims):
    if keepdims and ndim_of(x) == 0:  # scipy keeps a 0-d input's reduced axis as shape (1,)
        return _sh.reshape(ans, ())
    return expand_reduced(ans, np.shape(concrete(x)), axis, keepdims, like=x)


def _lse_weights(ans, a, axis, keepdims):
    # exp(a - logsumexp(a)): the softmax weights, stable at large inputs
    return _ew.exp(_ew.subtract(a, _expand(ans, a, axis, keepdims)))


_REDUCE_PARAMS = [{}, {"axis": 0}, {"axis": -1, "keepdims": True}]

def _keepdims_0d(a, keepdims):
    # scipy's logsumexp gives a 0-d input's kept "axis" the shape (1,); the rows follow
    # numpy's reductions (0-d stays 0-d), as their batch rule and shape rule do, and
    # fgrad.scipy.special.logsumexp adds scipy's (1,) on top
    return keepdims and np.ndim(a) != 0


def _lse_impl(a, axis=None, keepdims=False):
    if is_duck_array(a):  # dask, cupy
        return _rd._logsumexp_impl(a, axis=axis, keepdims=keepdims)
    return scipy_module().logsumexp(a, axis=axis, keepdims=_keepdims_0d(a, keepdims))


logsumexp_row = defprim(
    "special.logsumexp", _lse_impl,
    jvp=[lambda t, ans, a, axis=None, keepdims=False: _rd.sum(
        _ew.multiply(t, _lse_weights(ans, a, axis, keepdims)), axis=axis, keepdims=keepdims)],
    vjp=[lambda g, ans, a, axis=None, keepdims=False: _ew.multiply(
        _expand(g, a, axis, keepdims), _lse_weights(ans, a, axis, keepdims))],
    batch="reduce",
    test={"params": _REDUCE_PARAMS, "domain": [(-3.0, 3.0)]},
    reads=("ans", 0, 1, 2),
    shape=_shp.reduction(_lse_impl),
)


def _lse_b_impl(a, b, axis=None, keepdims=False, return_sign=False):
    if is_duck_array(a) or is_duck_array(b):  # dask, cupy: numpy functions they implement
        m = np.max(a, axis=axis, keepdims=True)
        m = np.where(np.isfinite(m), m, 0)
        s = np.sum(np.multiply(b, np.exp(np.subtract(a, m))), axis=axis, keepdims=True)
        out = np.add(np.log(np.abs(s)), m)
        return out if keepdims else np.squeeze(out, axis=_rd._axes(axis, np.ndim(out)))
    keepdims = _keepdims_0d(np.broadcast(a, b), keepdims)
    out = scipy_module().logsumexp(a, axis=axis, b=b, keepdims=keepdims, return_sign=return_sign)
    return out[0] if return_sign else out


def _lse_b_weights(ans, a, b, axis, keepdims):
    # d ans / d a_i = b_i exp(a_i) / s with ans = log|s|: b_i exp(a_i - ans) sign(s)
    w = _ew.multiply(b, _lse_weights(ans, a, axis, keepdims))
    return _ew.multiply(w, _ew.sign(_rd.sum(w, axis=axis, keepdims=True)))


def _lse_b_db(ans, a, b, axis, keepdims):
    w = _lse_weights(ans, a, axis, keepdims)
    s = _ew.sign(_rd.sum(_ew.multiply(b, w), axis=axis, keepdims=True))
    return _ew.multiply(w, s)


def _lse_b_batch(args, dims, axis=None, keepdims=False, return_sign=False):
    # a and b have the same per-example shape (the public wrapper broadcasts them)
    size = next(np.shape(x)[d] for x, d in zip(args, dims) if d is not None)
    a, b = (_sh.moveaxis(x, d, 0) if d is not None
            else _sh.broadcast_to(x, (size,) + tuple(np.shape(x))) for x, d in zip(args, dims))
    nd = np.ndim(a) - 1
    if axis is None:
        out = logsumexp_b_row(_sh.reshape(a, (size, -1)), _sh.reshape(b, (size, -1)), axis=1,
                              return_sign=return_sign)
        return (_sh.reshape(out, (size,) + (1,) * nd) if keepdims else out), 0
    ax = (tuple(_example_axis(x, nd) + 1 for x in axis) if isinstance(axis, (tuple, list))
          else _example_axis(axis, nd) + 1)
    return logsumexp_b_row(a, b, axis=ax, keepdims=keepdims, return_sign=return_sign), 0


def _lse_b_shape(a, b, axis=None, keepdims=False, return_sign=False):
    s = np.broadcast_shapes(_shp.shape(a), _shp.shape(b))
    return _shp.reduced(s, axis, keepdims), _shp.dtype_on_tiny(
        lambda a, b: _lse_b_impl(a, b, axis=axis, keepdims=keepdims,
                                 return_sign=return_sign), [a, b])


def _solve_tri_shape(a, b, **params):
    sa, sb = _shp.shape(a), _shp.shape(b)
    k = 2 if len(sb) >= 2 else 1  # scipy: b is a vector when 1-d, else a matrix
    out = np.broadcast_shapes(sa[:-2], sb[:len(sb) - k]) + sb[len(sb) - k:]
    return out, _shp.dtype_on_tiny(lambda a, b: _solve_tri_impl(a, b, **params), [a, b])


logsumexp_b_row = defprim(
    "special.logsumexp_b", _lse_b_impl,
    jvp=[
        lambda t, ans, a, b, axis=None, keepdims=False, return_sign=False: _rd.sum(
            _ew.multiply(t, _lse_b_weights(ans, a, b, axis, keepdims)), axis=axis, keepdims=keepdims),
        lambda t, ans, a, b, axis=None, keepdims=False, return_sign=False: _rd.sum(
            _ew.multiply(t, _lse_b_db(ans, a, b, axis, keepdims)), axis=axis, keepdims=keepdims),
    ],
    vjp=[
        lambda g, ans, a, b, axis=None, keepdims=False, return_sign=False: _ew.multiply(
            _expand(g, a, axis, keepdims), _lse_b_weights(ans, a, b, axis, keepdims)),
        lambda g, ans, a, b, axis=None, keepdims=False, return_sign=False: _ew.multiply(
            _expand(g, a, axis, keepdims), _lse_b_db(ans, a, b, axis, keepdims)),
    ],
    batch=_lse_b_batch,
    test={
        "make": lambda rng, shape: (
            (rng.uniform(-3, 3, size=shape or (2,)), rng.uniform(0.5, 1.5, size=shape or (2,))),
            {"axis": -1}),
        "also": [lambda rng, shape: (
            # weights of both signs with a negative sum: only return_sign is finite
            (np.concatenate([rng.uniform(1, 2, size=(1,) + shape),
                             rng.uniform(-1, 0, size=(2,) + shape)]),
             np.broadcast_to(np.array([-2.0, 0.3, 0.4]).reshape((3,) + (1,) * len(shape)),
                             (3,) + shape).copy()),
            {"axis": 0, "return_sign": True})],
    },
    reads=("ans", 0, 1, 2, 3),
    shape=_lse_b_shape,
)




def _batch_axis_rule(name):
    """Batching rule for row ``name``, with an ``axis`` parameter and same-shape output."""

    def rule(args, dims, axis=None, **params):
        (x,), (d,) = args, dims
        x = _sh.moveaxis(x, d, 0)
        nd = np.ndim(x) - 1
        if axis is None:
            ax = tuple(range(1, nd + 1))
        elif isinstance(axis, (tuple, list)):
            ax = tuple(_example_axis(a, nd) + 1 for a in axis)
        elif nd == 0:
            # scipy accepts axis 0 / -1 of a 0-d array (a softmax over one value):
            # the row's impl on a 0-d stand-in decides, then nothing is reduced
            PRIMITIVES[name].impl(np.zeros((), concrete(x).dtype), axis=axis)
            ax = ()
        else:
            ax = _example_axis(axis, nd) + 1  # numpy's AxisError if out of range
        return PRIMITIVES[name].fn(x, axis=ax, **params), 0

    return rule


def _softmax_jvp(t, ans, x, axis=None):
    return _ew.multiply(ans, _ew.subtract(t, _rd.sum(_ew.multiply(ans, t), axis=axis, keepdims=True)))


softmax_row = defprim(
    "special.softmax",
    lambda x, axis=None: scipy_module().softmax(x, axis=axis),
    jvp=[_softmax_jvp],
    vjp=[_softmax_jvp],  # the Jacobian diag(s) - s s^T is symmetric
    test={"params": [{}, {"axis": 0}, {"axis": -1}], "domain": [(-3.0, 3.0)]},
    reads=("ans", 1),
    batch=_batch_axis_rule("special.softmax"),
    shape=_softmax_shape,
)

log_softmax_row = defprim(
    "special.log_softmax",
    lambda x, axis=None: scipy_module().log_softmax(x, axis=axis),
    jvp=[lambda t, ans, x, axis=None: _ew.subtract(
        t, _rd.sum(_ew.multiply(_ew.exp(ans), t), axis=axis, keepdims=True))],
    vjp=[lambda g, ans, x, axis=None: _ew.subtract(
        g, _ew.multiply(_ew.exp(ans), _rd.sum(g, axis=axis, keepdims=True)))],
    test={"params": [{}, {"axis": 0}, {"axis": -1}], "domain": [(-3.0, 3.0)]},
    reads=("ans", 1),
    batch=_batch_axis_rule("special.log_softmax"),
    shape=_log_softmax_shape,
)

# --- scipy.linalg: triangular solves and the matrix exponential ----------------------------


def _mT(x):
    return _sh.swapaxes(x, -1, -2)


def _tri_mask(n, lower, unit_diagonal):
    """The entries of ``a`` that scipy reads: one triangle, without the diagonal if unit."""
    k = -1 if unit_diagonal else 0
    return np.tril(np.ones((n, n)), k) if lower else np.triu(np.ones((n, n)), -k)


def _real_dtype(x):
    return np.finfo(np.result_type(x.dtype, np.float16)).dtype


def _as_matrix_rhs(b):
    return _sh.expand_dims(b, -1) if np.ndim(b) == 1 else b


def _solve_tri_2d(a, b, trans=0, lower=False, unit_diagonal=False):
    return scipy_module("linalg").solve_triangular(
        a, b, trans=trans, lower=lower, unit_diagonal=unit_diagonal)


_solve_tri_impl = over_stacks(_solve_tri_2d, (2, "1|2"))


def _op(m, trans):
    """op(m) for trans = 0 (m), 1 (m^T) or 2 (m^H)."""
    if trans == 0:
        return m
    return _mT(m) if trans == 1 else _ew.conjugate(_mT(m))


def _solve_tri_transposed(a, g, trans, lower, unit_diagonal):
    """op(a)^{-T} g (no conjugation: the transpose of the real-linear map)."""
    if trans == 0:
        return solve_triangular_row(a, g, trans=1, lower=lower, unit_diagonal=unit_diagonal)
    if trans == 1:
        return solve_triangular_row(a, g, trans=0, lower=lower, unit_diagonal=unit_diagonal)
    return solve_triangular_row(_ew.conjugate(a), g, trans=0, lower=lower,
                                unit_diagonal=unit_diagonal)


def _solve_tri_jvp_a(t, ans, a, b, trans=0, lower=False, unit_diagonal=False):
    # d x = -op(a)^{-1} op(d a) x, with d a restricted to the triangle scipy reads
    t = _ew.multiply(t, _tri_mask(np.shape(a)[-1], lower, unit_diagonal).astype(_real_dtype(t)))
    x = _as_matrix_rhs(ans)
    dx = _ew.negative(solve_triangular_row(
        a, _pr.matmul(_op(t, trans), x), trans=trans, lower=lower, unit_diagonal=unit_diagonal))
    return _sh.squeeze(dx, -1) if np.ndim(ans) == 1 else dx


def _solve_tri_vjp_a(g, ans, a, b, trans=0, lower=False, unit_diagonal=False):
    gb = _as_matrix_rhs(_solve_tri_transposed(a, g, trans, lower, unit_diagonal))
    x = _as_matrix_rhs(ans)
    ga = _ew.negative(_pr.matmul(gb, _mT(x)))  # cotangent of op(a)
    if trans == 1:
        ga = _mT(ga)
    elif trans == 2:
        ga = _ew.conjugate(_mT(ga))
    return _ew.multiply(ga, _tri_mask(np.shape(a)[-1], lower, unit_diagonal).astype(_real_dtype(ga)))


def _solve_tri_batch(args, dims, trans=0, lower=False, unit_diagonal=False):
    a, b = args
    da, db = dims
    b_core = np.ndim(b) - (db is not None)
    a = a if da is None else _sh.moveaxis(a, da, 0)
    if db is not None:
        b = _sh.moveaxis(b, db, 0)
        if b_core == 1:
            b = _sh.expand_dims(b, -1)
    elif b_core == 1:
        b = _sh.expand_dims(b, -1)
    if da is not None and db is None:
        b = _sh.broadcast_to(b, (np.shape(a)[0],) + tuple(np.shape(b)))
    if db is not None and da is None:
        a = _sh.broadcast_to(a, (np.shape(b)[0],) + tuple(np.shape(a)))
    x = solve_triangular_row(a, b, trans=trans, lower=lower, unit_diagonal=unit_diagonal)
    return (_sh.squeeze(x, -1) if b_core == 1 else x), 0


def _make_triangular(rng, shape, lower=True):
    n = shape[-1] if shape else 2
    lead = shape[:-2] if len(shape) >= 2 else ()
    a = rng.uniform(-0.5, 0.5, size=lead + (n, n)) + 2.0 * np.eye(n)
    return np.tril(a) if lower else np.triu(a)


def _solve_tri_case(trans, lower, unit_diagonal, vector, batch=None):

    def make(rng, shape):
        a = _make_triangular(rng, shape, lower)
        if batch:
            a = np.stack([a] * batch) + 0.1 * rng.uniform(-1, 1, size=(batch,) + a.shape)
        n = a.shape[-1]
        # full matrices: the other triangle must be ignored, derivative included
        a = a + rng.uniform(-1, 1, size=a.shape) * (1 - _tri_mask(n, lower, False))
        b = rng.standard_normal((n,) if vector else a.shape[:-1] + (2,))
        return (a, b), {"trans": trans, "lower": lower, "unit_diagonal": unit_diagonal}

    return make


solve_triangular_row = defprim(
    "scipy.linalg.solve_triangular", _solve_tri_impl,
    jvp=[
        _solve_tri_jvp_a,
        lambda t, ans, a, b, trans=0, lower=False, unit_diagonal=False: solve_triangular_row(
            a, t, trans=trans, lower=lower, unit_diagonal=unit_diagonal),
    ],
    vjp=[
        _solve_tri_vjp_a,
        lambda g, ans, a, b, trans=0, lower=False, unit_diagonal=False: _solve_tri_transposed(
            a, g, trans, lower, unit_diagonal),
    ],
    batch=_solve_tri_batch,
    test={
        "make": _solve_tri_case(0, True, False, False),
        "also": [
            _solve_tri_case(1, True, False, True),
            _solve_tri_case(0, False, False, True),
            _solve_tri_case(1, False, True, False),
            _solve_tri_case(2, True, False, False),
            _solve_tri_case(0, True, False, False, batch=2),
        ],
        "complex": True,
    },
    reads=[("ans", 0, 2, 3, 4), (0, 2, 3, 4)],
    shape=_solve_tri_shape,
)


def _expm_frechet(a, e):
    """L(a, e), the derivative of expm at a in direction e, via expm of a block matrix:
    expm([[a, e], [0, a]]) = [[expm(a), L(a, e)], [0, expm(a)]]."""
    n = np.shape(a)[-1]
    zeros = np.zeros(np.shape(a), dtype=np.result_type(a.dtype, e.dtype))
    top = _sh.concatenate([a, e], axis=-1)
    bottom = _sh.concatenate([zeros, a], axis=-1)
    big = expm_row(_sh.concatenate([top, bottom], axis=-2))
    return big[..., :n, n:]


def _make_expm(rng, shape):
    n = shape[-1] if shape else 2
    lead = shape[:-2] if len(shape) >= 2 else ()
    return (rng.uniform(-1, 1, size=lead + (n, n)),), {}


expm_row = defprim(
    "scipy.linalg.expm", _sc("expm", "linalg"),
    jvp=[lambda t, ans, a: _expm_frechet(a, t)],
    # the transpose of E -> L(a, E) under sum(x * y) is G -> L(a^T, G)
    vjp=[lambda g, ans, a: _expm_frechet(_mT(a), g)],
    batch="leading",
    test={"make": _make_expm, "complex": True},
    reads=(0,),
    shape=_shp.leading(lambda a: a, _sc("expm", "linalg")),
)


def _tril(x, k=0):
    n = np.shape(x)[-1]
    return _ew.multiply(x, np.tril(np.ones((n, n)), k).astype(_real_dtype(x)))


def _triu(x, k=0):
    n = np.shape(x)[-1]
    return _ew.multiply(x, np.triu(np.ones((n, n)), k).astype(_real_dtype(x)))


def _phi(x):
    # the lower triangle with the diagonal halved (self-adjoint as a linear map)
    n = np.shape(x)[-1]
    return _ew.multiply(x, (np.tril(np.ones((n, n)), -1) + 0.5 * np.eye(n)).astype(_real_dtype(x)))


def _real_only(x):
    if np.result_type(x.dtype).kind == "c":
        raise NotImplementedError(
            "the derivative of scipy.linalg.cholesky is implemented for real matrices only; "
            "for complex Hermitian matrices define it with fgrad.custom_vjp"
        )


def _cholesky_jvp(t, ans, a, lower=False):
    # scipy reads one triangle of a: the matrix it factors is that triangle
    # mirrored, so the tangent is mirrored the same way before the usual
    # dL = L Phi(L^-1 dA L^-T).
    _real_only(t)
    if lower:
        low, dsym = ans, _ew.add(_tril(t), _mT(_tril(t, -1)))
    else:
        low, dsym = _mT(ans), _ew.add(_triu(t), _mT(_triu(t, 1)))
    y = solve_triangular_row(low, dsym, lower=True)
    x = _mT(solve_triangular_row(low, _mT(y), lower=True))
    dlow = _pr.matmul(low, _phi(x))
    return dlow if lower else _mT(dlow)


def _cholesky_vjp(g, ans, a, lower=False):
    _real_only(g)
    low, glow = (ans, g) if lower else (_mT(ans), _mT(g))
    p = _phi(_pr.matmul(_mT(low), glow))
    z = solve_triangular_row(low, p, trans=1, lower=True)
    sym = _mT(solve_triangular_row(low, _mT(z), trans=1, lower=True))
    if lower:
        return _ew.add(_tril(sym), _tril(_mT(sym), -1))
    return _ew.add(_triu(sym), _triu(_mT(sym), 1))


def _make_spd(lower):

    def make(rng, shape):
        n = shape[-1] if shape else 2
        lead = shape[:-2] if len(shape) >= 2 else ()
        b = rng.uniform(-1, 1, size=lead + (n, n))
        a = b @ np.swapaxes(b, -1, -2) + n * np.eye(n)
        # a perturbation of the triangle scipy ignores must not matter
        a = a + rng.uniform(-1, 1, size=a.shape) * (1 - _tri_mask(n, lower, False))
        return (a,), {"lower": lower}

    return make


cholesky_row = defprim(
    "scipy.linalg.cholesky",
    over_stacks(lambda a, lower=False: scipy_module("linalg").cholesky(a, lower=lower), (2,)),
    jvp=[_cholesky_jvp],
    vjp=[_cholesky_vjp],
    batch="leading",
    test={"make": _make_spd(True), "also": [_make_spd(False)]},
    reads=("ans", 1),
    shape=_shp.leading(lambda a, lower=False: a, lambda a, lower=False: scipy_module(
        "linalg").cholesky(a, lower=lower)),
)
