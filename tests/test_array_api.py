"""The array API namespace of traced values (fgrad.numpy.array_api): the standard's names
and signatures, values against numpy, derivatives (check_grads, both modes), and
array-API consumers differentiating unchanged: array_api_compat users (skipped when
it is not installed) and scipy under SCIPY_ARRAY_API=1 (in a subprocess, since the
variable is read when scipy is imported)."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from numpy_checks import loop, same

import fgrad
import fgrad.numpy as fnp
import fgrad.numpy.array_api as xp_module

ROOT = Path(__file__).resolve().parent.parent

# the standard's names (2024.12), by section
STANDARD = """e inf nan newaxis pi
bool int8 int16 int32 int64 uint8 uint16 uint32 uint64 float32 float64 complex64 complex128
arange asarray empty empty_like eye from_dlpack full full_like linspace meshgrid ones ones_like
tril triu zeros zeros_like
astype can_cast finfo iinfo isdtype result_type
abs acos acosh add asin asinh atan atan2 atanh bitwise_and bitwise_left_shift bitwise_invert
bitwise_or bitwise_right_shift bitwise_xor ceil clip conj copysign cos cosh divide equal exp expm1
floor floor_divide greater greater_equal hypot imag isfinite isinf isnan less less_equal log log1p
log2 log10 logaddexp logical_and logical_not logical_or logical_xor maximum minimum multiply
negative nextafter not_equal positive pow real reciprocal remainder round sign signbit sin sinh
square sqrt subtract tan tanh trunc
take take_along_axis
matmul matrix_transpose tensordot vecdot
broadcast_arrays broadcast_to concat expand_dims flip moveaxis permute_dims repeat reshape roll
squeeze stack tile unstack
argmax argmin count_nonzero nonzero searchsorted where
unique_all unique_counts unique_inverse unique_values
argsort sort
cumulative_sum cumulative_prod max mean min prod std sum var
all any diff
__array_namespace_info__ __array_api_version__""".split()
LINALG = """cholesky cross det diagonal eigh eigvalsh inv matmul matrix_norm matrix_power
matrix_rank matrix_transpose outer pinv qr slogdet solve svd svdvals tensordot trace vecdot
vector_norm""".split()
FFT = """fft ifft fftn ifftn rfft irfft rfftn irfftn hfft ihfft fftfreq rfftfreq fftshift
ifftshift""".split()

rng = np.random.default_rng(0)
x3 = rng.normal(size=3)
m34 = rng.normal(size=(3, 4))


def test_traced_values_give_the_namespace():
    seen = []

    def f(v):
        seen.append(v.__array_namespace__())
        seen.append(v.__array_namespace__(api_version="2023.12"))
        assert v.device == "cpu" and v.to_device("cpu") is v
        assert v.mT.shape == (4, 3)
        return fnp.sum(v)

    fgrad.grad(f)(m34)
    fgrad.jvp(f, (m34,), (m34,))
    fgrad.vmap(f)(np.stack([m34, m34]))
    assert seen and all(ns is xp_module for ns in seen)
    assert xp_module.__array_api_version__ == "2024.12"


def test_unknown_versions_and_devices_are_refused():
    def f(v):
        v.__array_namespace__(api_version="2019.01")

    with pytest.raises(ValueError, match="array API versions"):
        fgrad.grad(f)(1.0)
    with pytest.raises(ValueError, match="one device"):
        fgrad.grad(lambda v: v.to_device("cuda:0"))(1.0)
    with pytest.raises(ValueError, match="one device"):
        xp_module.zeros(3, device="gpu")


def test_every_standard_name_is_there():
    missing = [n for n in STANDARD if not hasattr(xp_module, n)]
    missing += ["linalg." + n for n in LINALG if not hasattr(xp_module.linalg, n)]
    missing += ["fft." + n for n in FFT if not hasattr(xp_module.fft, n)]
    assert not missing, missing


def test_dtypes_and_inspection():
    xp = xp_module
    assert np.dtype(xp.float64) == np.float64 and np.dtype(xp.bool) == np.bool_
    assert xp.isdtype(xp.float32, "real floating") and not xp.isdtype(xp.int8, "real floating")
    info = xp.__array_namespace_info__()
    assert info.default_device() == "cpu" and info.devices() == ["cpu"]
    assert info.default_dtypes()["real floating"] == np.float64
    assert set(info.dtypes(kind="real floating")) == {"float32", "float64"}
    assert len(info.dtypes()) == 13
    assert info.capabilities()["boolean indexing"]


# (standard call, numpy reference): one argument, a float matrix
ELEMENTWISE_AND_REDUCTIONS = {
    "acos": (lambda xp, x: xp.acos(x / 4), lambda x: np.arccos(x / 4)),
    "asinh": (lambda xp, x: xp.asinh(x), np.arcsinh),
    "atan2": (lambda xp, x: xp.atan2(x, x * x + 1), lambda x: np.arctan2(x, x * x + 1)),
    "pow": (lambda xp, x: xp.pow(x * x + 1, 1.5), lambda x: (x * x + 1) ** 1.5),
    "hypot": (lambda xp, x: xp.hypot(x, 2.0), lambda x: np.hypot(x, 2.0)),
    "logaddexp": (lambda xp, x: xp.logaddexp(x, -x), lambda x: np.logaddexp(x, -x)),
    "clip": (lambda xp, x: xp.clip(x, min=-0.5, max=0.5), lambda x: np.clip(x, -0.5, 0.5)),
    "clip neither": (lambda xp, x: xp.clip(x), lambda x: x),
    "concat": (lambda xp, x: xp.concat([x, 2 * x], axis=1), lambda x: np.concatenate([x, 2 * x], 1)),
    "concat None": (lambda xp, x: xp.concat([x, x[0]], axis=None),
                    lambda x: np.concatenate([x, x[0]], axis=None)),
    "permute_dims": (lambda xp, x: xp.permute_dims(x, (1, 0)), lambda x: x.T),
    "matrix_transpose": (lambda xp, x: xp.matrix_transpose(x), lambda x: x.T),
    "expand_dims": (lambda xp, x: xp.expand_dims(x, axis=1), lambda x: x[:, None]),
    "squeeze": (lambda xp, x: xp.squeeze(x[:1], axis=0), lambda x: x[0]),
    "reshape": (lambda xp, x: xp.reshape(x, (4, 3)), lambda x: x.reshape(4, 3)),
    "flip": (lambda xp, x: xp.flip(x, axis=1), lambda x: x[:, ::-1]),
    "roll": (lambda xp, x: xp.roll(x, 1, axis=0), lambda x: np.roll(x, 1, 0)),
    "tile": (lambda xp, x: xp.tile(x, (2, 1)), lambda x: np.tile(x, (2, 1))),
    "repeat": (lambda xp, x: xp.repeat(x, 2, axis=1), lambda x: np.repeat(x, 2, 1)),
    "unstack": (lambda xp, x: xp.stack(xp.unstack(x, axis=1)[::-1], axis=0),
                lambda x: np.stack([x[:, i] for i in range(3, -1, -1)])),
    "take": (lambda xp, x: xp.take(x, np.array([2, 0]), axis=1), lambda x: x[:, [2, 0]]),
    "take_along_axis": (lambda xp, x: xp.take_along_axis(x, xp.argsort(x, axis=1), axis=1),
                        lambda x: np.sort(x, 1)),
    "sort": (lambda xp, x: xp.sort(x, axis=0), lambda x: np.sort(x, 0)),
    "sort descending": (lambda xp, x: xp.sort(x, axis=1, descending=True),
                        lambda x: np.sort(x, 1)[:, ::-1]),
    "sum dtype keepdims": (lambda xp, x: xp.sum(x, axis=1, keepdims=True),
                           lambda x: x.sum(1, keepdims=True)),
    "prod": (lambda xp, x: xp.prod(x, axis=0), lambda x: x.prod(0)),
    "max": (lambda xp, x: xp.max(x, axis=1), lambda x: x.max(1)),
    "min": (lambda xp, x: xp.min(x), lambda x: x.min()),
    "mean": (lambda xp, x: xp.mean(x, axis=(0, 1)), lambda x: x.mean()),
    "std correction": (lambda xp, x: xp.std(x, axis=1, correction=1), lambda x: x.std(1, ddof=1)),
    "var": (lambda xp, x: xp.var(x, axis=0, keepdims=True), lambda x: x.var(0, keepdims=True)),
    "cumulative_sum": (lambda xp, x: xp.cumulative_sum(x, axis=1, include_initial=True),
                       lambda x: np.concatenate([np.zeros((3, 1)), np.cumsum(x, 1)], 1)),
    "cumulative_prod": (lambda xp, x: xp.cumulative_prod(x, axis=0), lambda x: np.cumprod(x, 0)),
    "diff": (lambda xp, x: xp.diff(x, axis=0, prepend=x[:1]),
             lambda x: np.diff(x, axis=0, prepend=x[:1])),
    "tensordot": (lambda xp, x: xp.tensordot(x, x, axes=([1], [1])), lambda x: x @ x.T),
    "vecdot": (lambda xp, x: xp.vecdot(x, x * 2, axis=0), lambda x: (2 * x * x).sum(0)),
    "matmul": (lambda xp, x: xp.matmul(x, xp.matrix_transpose(x)), lambda x: x @ x.T),
    "where": (lambda xp, x: xp.where(x > 0, x, xp.square(x)), lambda x: np.where(x > 0, x, x * x)),
    "astype": (lambda xp, x: xp.real(xp.astype(x, xp.complex128) * (1 + 2j)),
               lambda x: (x.astype(np.complex128) * (1 + 2j)).real),
    "astype float32": (lambda xp, x: xp.astype(x, xp.float32), lambda x: x.astype(np.float32)),
    "asarray": (lambda xp, x: xp.asarray(x, dtype=xp.float32), lambda x: x.astype(np.float32)),
    "tril": (lambda xp, x: xp.tril(x, k=1), lambda x: np.tril(x, 1)),
    "unique_values": (lambda xp, x: xp.unique_values(xp.round(x)), lambda x: np.unique(np.round(x))),
    "linalg.vector_norm": (lambda xp, x: xp.linalg.vector_norm(x, axis=1, ord=3),
                           lambda x: (np.abs(x) ** 3).sum(1) ** (1 / 3)),
    "linalg.matrix_norm": (lambda xp, x: xp.linalg.matrix_norm(x), lambda x: np.linalg.norm(x)),
    "linalg.svdvals": (lambda xp, x: xp.linalg.svdvals(x), lambda x: np.linalg.svd(x)[1]),
    "linalg.diagonal": (lambda xp, x: xp.linalg.diagonal(x, offset=1), lambda x: np.diagonal(x, 1)),
    "linalg.vecdot": (lambda xp, x: xp.linalg.vecdot(x, x), lambda x: (x * x).sum(-1)),
    "fft.rfft": (lambda xp, x: xp.real(xp.fft.rfft(x, axis=0)), lambda x: np.fft.rfft(x, axis=0).real),
}


@pytest.mark.parametrize("name", list(ELEMENTWISE_AND_REDUCTIONS))
def test_standard_functions_on_traced_values(name):
    call, ref = ELEMENTWISE_AND_REDUCTIONS[name]

    def f(x):
        # (a traced value's namespace is this module; numpy's arrays, which check_grads
        # also passes, have numpy's, which is not the standard everywhere)
        assert not fgrad.core.is_tracer(x) or x.__array_namespace__() is xp_module
        return call(xp_module, x)

    got, _ = fgrad.vjp(f, m34)
    np.testing.assert_allclose(got, ref(m34), rtol=1e-12, atol=1e-12)
    assert got.dtype == np.asarray(ref(m34)).dtype
    # (rounded values: derivative zero, finite differences too; float32 results: too coarse
    # for central differences in float64 arguments)
    if name not in ("unique_values", "astype float32", "asarray"):
        fgrad.check_grads(f, (m34,), order=2, modes=("fwd", "rev"))
    np.testing.assert_allclose(call(xp_module, m34), got, rtol=1e-14, atol=1e-15)


def test_set_functions_and_argsort():
    xp = xp_module
    v = np.array([3.0, 1.0, 3.0, 2.0, 1.0])
    r = fgrad.vjp(lambda x: (x.__array_namespace__().unique_all(x).values, x)[0], v)[0]
    same(r, np.unique(v))
    res = xp.unique_all(v)
    u, idx, inv, cnt = np.unique(v, return_index=True, return_inverse=True, return_counts=True)
    same(res.values, u), same(res.indices, idx), same(res.inverse_indices, inv)
    same(res.counts, cnt)
    same(xp.unique_counts(v).counts, cnt)
    same(xp.unique_inverse(v.reshape(1, 5)).inverse_indices, inv.reshape(1, 5))
    # descending and stable: equal values keep their order
    same(xp.argsort(v, descending=True), np.array([0, 2, 3, 1, 4]))
    same(xp.argsort(v), np.argsort(v, stable=True))

    def f(x):
        order = xp.argsort(x, descending=True)
        return fnp.take(x, order) * fnp.arange(5.0)

    fgrad.check_grads(f, (v + np.arange(5) * 0.01,), order=2, modes=("fwd", "rev"))


def test_creation_functions_follow_the_standard():
    xp = xp_module
    same(xp.zeros((2,), dtype=xp.float32), np.zeros(2, np.float32))
    same(xp.full((2,), 3.0), np.full(2, 3.0))
    same(xp.arange(1, 7, 2), np.arange(1, 7, 2))
    same(xp.eye(2, 3, k=1), np.eye(2, 3, 1))
    same(xp.linspace(0.0, 1.0, 5, endpoint=False), np.linspace(0, 1, 5, endpoint=False))

    def f(x):
        z = xp.zeros_like(x) + xp.ones_like(x, dtype=xp.float64) + xp.full_like(x, 2.0)
        assert not fgrad.core.is_tracer(z)  # constants
        return xp.sum(z * x) + xp.sum(xp.linspace(x[0], x[1], 3))

    fgrad.check_grads(f, (x3,), order=2, modes=("fwd", "rev"))
    with pytest.raises(ValueError, match="copy=False"):
        fgrad.grad(lambda x: x.__array_namespace__().asarray(x, dtype=np.float32, copy=False))(1.0)
    a = np.ones(2)
    assert xp.asarray(a, copy=False) is a and xp.asarray(a, copy=True) is not a
    assert xp.astype(a, np.float64, copy=False) is a and xp.astype(a, np.float64) is not a


def generic_standardize(x):
    """Library code written for the standard: only the namespace of its argument
    (numpy's arrays, which check_grads passes too, are given this namespace as well)."""
    xp = x.__array_namespace__() if fgrad.core.is_tracer(x) else xp_module
    mu = xp.mean(x, axis=-1, keepdims=True)
    sd = xp.std(x, axis=-1, correction=1, keepdims=True)
    z = (x - mu) / sd
    return xp.sum(xp.pow(z, 3) * xp.exp(-xp.abs(z)))


def test_generic_code_matches_plain_fgrad_and_vmap():
    def plain(x):
        z = (x - fnp.mean(x, -1, keepdims=True)) / fnp.std(x, -1, ddof=1, keepdims=True)
        return fnp.sum(z ** 3 * fnp.exp(-fnp.abs(z)))

    np.testing.assert_allclose(fgrad.grad(generic_standardize)(x3 * 3),
                               fgrad.grad(plain)(x3 * 3), rtol=1e-12)
    fgrad.check_grads(generic_standardize, (m34,), order=2, modes=("fwd", "rev"))
    got = fgrad.vmap(fgrad.grad(generic_standardize))(m34)
    np.testing.assert_allclose(got, loop(fgrad.grad(plain), m34), rtol=1e-12)


# --- array_api_compat users ------------------------------------------------------------------


def test_array_api_compat_finds_the_namespace():
    compat = pytest.importorskip("array_api_compat")

    def f(x):
        xp = compat.array_namespace(x)
        assert xp is xp_module or not fgrad.core.is_tracer(x)  # numpy's arrays: compat numpy
        return xp.sum(xp.sin(x) * xp.linalg.vector_norm(x))

    def plain(x):
        return fnp.sum(fnp.sin(x) * fnp.linalg.norm(x))

    np.testing.assert_allclose(fgrad.grad(f)(x3), fgrad.grad(plain)(x3), rtol=1e-12)
    fgrad.check_grads(f, (x3,), order=2, modes=("fwd", "rev"))
    assert compat.array_namespace(x3) is not xp_module  # plain arrays keep numpy's
    assert compat.device(x3) == "cpu"
    fgrad.grad(lambda x: (compat.device(x) == "cpu" or 1 / 0, fnp.sum(x))[1])(x3)
    assert fgrad.vjp(lambda x: (compat.is_array_api_obj(x) or 1 / 0, x)[1], x3)


# --- scipy under SCIPY_ARRAY_API=1 --------------------------------------------------------------

#: scipy functions written for the array API that differentiate with fgrad tracers
#: (measured with scipy 1.17; see the sharp-bits notes for the ones that do not)
SCIPY_WORKS = {
    "special.softmax": "sps.softmax(x)[0]",
    "special.xlogy": "sps.xlogy(x, x * x + 1).sum()",
    "stats.moment": "st.moment(x, order=3)",
    "stats.skew": "st.skew(x)",
    "stats.kurtosis": "st.kurtosis(x)",
    "stats.gmean": "st.gmean(x * x + 1)",
    "stats.hmean": "st.hmean(x * x + 1)",
    "stats.pmean": "st.pmean(x * x + 1, 2.5)",
    "stats.sem": "st.sem(x)",
    "stats.tvar": "st.tvar(x)",
    "stats.tstd": "st.tstd(x)",
    "stats.zmap": "st.zmap(x, x * 2)[0]",
    "stats.circmean": "st.circmean(x)",
    "stats.circvar": "st.circvar(x)",
    "stats.circstd": "st.circstd(x)",
    "stats.gstd": "st.gstd(x * x + 1)",
    "stats.describe": "st.describe(x).variance",
    "stats.trim_mean": "st.trim_mean(x, 0.1)",
    "integrate.trapezoid": "si.trapezoid(x * x)",
    "integrate.cumulative_trapezoid": "si.cumulative_trapezoid(x * x)[-1]",
    "fft.fft": "sfft.fft(x * x).real.sum()",
    "fft.rfft": "abs(sfft.rfft(x)).sum()",
}
#: the plain fgrad version of some of them, for the derivative
SCIPY_PLAIN = {
    "special.softmax": "fnp.exp(x[0]) / fnp.sum(fnp.exp(x))",
    "stats.moment": "fnp.mean((x - fnp.mean(x)) ** 3)",
    "stats.gmean": "fnp.exp(fnp.mean(fnp.log(x * x + 1)))",
    "stats.tvar": "fnp.var(x, ddof=1)",
    "integrate.trapezoid": "fnp.sum((x[1:] ** 2 + x[:-1] ** 2) / 2)",
}
#: known not to work, each for a reason the notes give: they must fail with a TypeError
SCIPY_REFUSED = {
    "special.logsumexp": "sps.logsumexp(x)",  # writes into an array (xpx.at on non-JAX)
    "stats.zscore": "st.zscore(x)[0]",  # the same
    "stats.variation": "st.variation(x + 3)",  # mixes numpy constants with tracers
    "special.erf": "sps.erf(x).sum()",  # scipy's ufuncs convert to numpy
}

SCRIPT = """
import json, sys, numpy as np, fgrad, fgrad.numpy as fnp
import scipy, scipy.special as sps, scipy.stats as st, scipy.integrate as si, scipy.fft as sfft
works, plain, refused = json.loads(sys.argv[1])
x0 = np.array([0.3, -1.2, 2.0, 0.7, 1.1])
out = {"scipy": scipy.__version__}
for name, expr in works.items():
    f = eval("lambda x: " + expr)
    try:
        got, _ = fgrad.vjp(f, x0)
        np.testing.assert_allclose(got, f(x0), rtol=1e-12, atol=1e-14)
        fgrad.check_grads(f, (x0,), order=2, modes=("fwd", "rev"))
        if name in plain:
            ref = eval("lambda x: " + plain[name])
            np.testing.assert_allclose(fgrad.grad(f)(x0), fgrad.grad(ref)(x0), rtol=1e-10)
        out[name] = "ok"
    except Exception as e:
        kind = "TypeError" if isinstance(e, TypeError) else type(e).__name__
        out[name] = f"{kind}: {e}"[:300]
for name, expr in refused.items():
    f = eval("lambda x: " + expr)
    try:
        fgrad.grad(f)(x0)
        out[name] = "works"
    except TypeError:  # a clear refusal (TracerConversionError is one too)
        out[name] = "TypeError"
    except Exception as e:
        out[name] = type(e).__name__
print(json.dumps(out))
"""


def test_scipy_array_api_functions_differentiate():
    pytest.importorskip("scipy")
    env = dict(os.environ, SCIPY_ARRAY_API="1",
               PYTHONPATH=os.pathsep.join([str(ROOT)] + sys.path))
    res = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(SCRIPT),
         json.dumps([SCIPY_WORKS, SCIPY_PLAIN, SCIPY_REFUSED])],
        env=env, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    out = json.loads(res.stdout.strip().splitlines()[-1])
    version = tuple(int(p) for p in out.pop("scipy").split(".")[:2])
    for name in SCIPY_REFUSED:  # a clear TypeError (or, with a newer scipy, working)
        assert out[name] in ("TypeError", "works"), (name, out[name])
    failed = {n: out[n] for n in SCIPY_WORKS if out[n] != "ok"}
    if version >= (1, 17):
        assert not failed, failed
    else:  # older scipy supports fewer functions over an unknown namespace
        assert all(v.startswith("TypeError") for v in failed.values()), failed
