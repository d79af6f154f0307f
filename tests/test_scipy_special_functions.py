"""owens_t, lambertw, hyp1f1, hyp2f1, wofz, comb and factorial (fgrad.scipy.special).

Values are compared with scipy, on plain inputs (identical) and under forward and
reverse mode; derivatives with closed forms evaluated by scipy, with finite
differences and the other mode (check_grads, order 2), and the parameters scipy
cannot differentiate must raise a TypeError naming them.
"""

import math

import numpy as np
import pytest

sc = pytest.importorskip("scipy.special")

import fgrad  # noqa: E402
import fgrad.numpy as fnp  # noqa: E402
from fgrad.batching import vmap  # noqa: E402
from fgrad.scipy import special as fsp  # noqa: E402

RNG = np.random.default_rng(2024)
H = RNG.uniform(-2.0, 2.0, size=6)
AS = RNG.uniform(-2.0, 2.0, size=6)
PA = RNG.uniform(0.5, 2.0, size=6)
PB = RNG.uniform(0.5, 2.0, size=6)
PC = RNG.uniform(0.5, 2.0, size=6)
X = RNG.uniform(-1.5, 1.5, size=6)
ZD = RNG.uniform(-0.7, 0.7, size=6)  # inside the unit disc, for hyp2f1
ZW = RNG.uniform(-0.3, 3.0, size=6)  # k = 0 real branch: z > -1/e
ZC = RNG.uniform(-1.5, 1.5, size=6) + 1j * RNG.uniform(-1.5, 1.5, size=6)


def _traced_values(f, x):
    fwd, _ = fgrad.jvp(f, (x,), (np.ones_like(x),))
    rev, _ = fgrad.vjp(f, x)
    return fwd, rev


CASES = [
    # (name, fgrad function of one array, scipy function of it, point)
    ("owens_t_h", lambda h: fsp.owens_t(h, AS), lambda h: sc.owens_t(h, AS), H),
    ("owens_t_a", lambda a: fsp.owens_t(H, a), lambda a: sc.owens_t(H, a), AS),
    ("lambertw", fsp.lambertw, sc.lambertw, ZW),
    ("lambertw_k-1", lambda z: fsp.lambertw(z, k=-1), lambda z: sc.lambertw(z, -1),
     RNG.uniform(-0.35, -0.05, size=6)),
    ("lambertw_complex", fsp.lambertw, sc.lambertw, ZC),
    ("hyp1f1", lambda x: fsp.hyp1f1(PA, PB, x), lambda x: sc.hyp1f1(PA, PB, x), X),
    ("hyp1f1_complex", lambda x: fsp.hyp1f1(PA, PB, x), lambda x: sc.hyp1f1(PA, PB, x),
     X + 0.5j * RNG.uniform(-1, 1, size=6)),
    ("hyp2f1", lambda z: fsp.hyp2f1(PA, PB, PC, z), lambda z: sc.hyp2f1(PA, PB, PC, z), ZD),
    ("hyp2f1_complex", lambda z: fsp.hyp2f1(PA, PB, PC, z),
     lambda z: sc.hyp2f1(PA, PB, PC, z), ZD + 0.2j * RNG.uniform(-1, 1, size=6)),
    ("wofz", fsp.wofz, sc.wofz, X),
    ("wofz_complex", fsp.wofz, sc.wofz, ZC),
    ("factorial", fsp.factorial, sc.factorial, np.array([-2.5, -1.0, 0.0, 0.5, 3.0, 7.2])),
    ("factorial_complex", lambda n: fsp.factorial(n, extend="complex"),
     lambda n: sc.factorial(n, extend="complex"), np.array([-2.5, -1.0, 0.0, 0.5, 3.0, 7.2])),
]
IDS = [c[0] for c in CASES]


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_values_equal_scipy(case):
    _, f, want_f, x = case
    want = want_f(x)
    got = f(x)
    assert np.result_type(got) == np.result_type(want)
    np.testing.assert_array_equal(got, want)  # plain inputs: scipy's own result
    for got in _traced_values(f, x):
        assert np.result_type(got) == np.result_type(want)
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=0)


@pytest.mark.parametrize("case", [c for c in CASES if not c[0].startswith("factorial")],
                         ids=[i for i in IDS if not i.startswith("factorial")])
def test_check_grads_order_2(case):
    _, f, _, x = case
    fgrad.check_grads(f, (x,), order=2, atol=1e-5, rtol=1e-5)


def test_comb_values_under_a_trace():
    n = np.array([0.0, 1.0, 5.0, 10.0, 7.5, 3.0, 40.0, -1.0, 2.0])
    k = np.array([0.0, 1.0, 2.0, 3.0, 2.5, 4.0, 17.0, 0.0, -1.0])
    want = sc.comb(n, k)
    np.testing.assert_array_equal(fsp.comb(n, k), want)
    # exp(gammaln(...)) under a trace, scipy's binom on plain inputs: a few ulps of
    # rounding in the log-gamma sums, so not bit-identical
    for got in _traced_values(lambda n: fsp.comb(n, k), n):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=0)
    rn, rk = np.array([1.0, 0.5, 3.0, 2.0, 0.0]), np.array([0.0, 2.0, 4.0, 1.5, 0.0])
    want = sc.comb(rn, rk, repetition=True)
    for got in _traced_values(lambda n: fsp.comb(n, rk, repetition=True), rn):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=0)


def test_comb_and_factorial_derivatives():
    n, k = np.array([5.0, 7.5, 3.0]), np.array([2.0, 2.5, 0.0])
    c = sc.comb(n, k)
    dn = fgrad.vmap(fgrad.grad(fsp.comb, argnums=0))(n, k)
    dk = fgrad.vmap(fgrad.grad(fsp.comb, argnums=1))(n, k)
    np.testing.assert_allclose(dn, c * (sc.digamma(n + 1) - sc.digamma(n - k + 1)), rtol=1e-12)
    np.testing.assert_allclose(dk, c * (sc.digamma(n - k + 1) - sc.digamma(k + 1)), rtol=1e-12)
    k = np.array([2.0, 2.5, 1.0])  # away from the edges of the support (k = 0, k = N)
    fgrad.check_grads(fsp.comb, (n, k), order=2, atol=1e-5, rtol=1e-5)
    fgrad.check_grads(lambda n, k: fsp.comb(n, k, repetition=True), (n, k + 0.5), order=2,
                      atol=1e-5, rtol=1e-5)
    # outside the support the value is the constant 0: a zero derivative, never NaN
    g = fgrad.grad(lambda n: fnp.sum(fsp.comb(n, np.array([4.0, 1.0, -1.0]))))(
        np.array([3.0, -2.0, 2.0]))
    np.testing.assert_array_equal(g, 0.0)
    x = np.array([0.5, 3.0, 7.2])
    np.testing.assert_allclose(fgrad.vmap(fgrad.grad(fsp.factorial))(x),
                               sc.gamma(x + 1) * sc.digamma(x + 1), rtol=1e-12)
    fgrad.check_grads(fsp.factorial, (x,), order=2, atol=1e-5, rtol=1e-5)
    np.testing.assert_array_equal(fgrad.grad(lambda n: fnp.sum(fsp.factorial(n)))(
        np.array([-2.5, -0.5])), 0.0)


def test_exact_and_out_of_region_refused():
    assert fsp.comb(10, 3, exact=True) == 120 and isinstance(fsp.comb(10, 3, exact=True), int)
    assert fsp.factorial(5, exact=True) == 120
    with pytest.raises(TypeError, match="exact=True.*no derivative.*exact=False"):
        fgrad.grad(lambda n: fsp.comb(n, 2.0, exact=True))(5.0)
    with pytest.raises(TypeError, match="factorial.*exact=False"):
        fgrad.grad(lambda n: fsp.factorial(n, exact=True))(5.0)
    if fsp._comb_repetition_by_gamma():  # scipy >= 1.16: a limit of the gamma formula there
        with pytest.raises(ValueError, match="N > 0 and k >= 0"):
            fgrad.grad(lambda n: fsp.comb(n, 1.0, repetition=True))(-2.0)
    else:  # older scipy: comb(N + k - 1, k), the constant 0 there
        val, slope = fgrad.value_and_grad(lambda n: fsp.comb(n, 1.0, repetition=True))(-2.0)
        assert val == sc.comb(-2.0, 1.0, repetition=True) == 0.0 and slope == 0.0
    with pytest.raises(ValueError, match="extend='complex'"):
        fgrad.jvp(fsp.factorial, (np.array(1.0 + 1j),), (np.array(1.0 + 0j),))
    with pytest.raises(TypeError, match="static"):
        fgrad.grad(lambda k: fnp.real(fsp.lambertw(1.0, k=k)))(0.0)


# --- closed forms --------------------------------------------------------------------------


def test_owens_t_derivatives_are_the_formulas():
    dh = fgrad.vmap(fgrad.grad(fsp.owens_t, argnums=0))(H, AS)
    da = fgrad.vmap(fgrad.grad(fsp.owens_t, argnums=1))(H, AS)
    want_h = -np.exp(-H**2 / 2) * sc.erf(AS * H / math.sqrt(2)) / (2 * math.sqrt(2 * math.pi))
    want_a = np.exp(-H**2 * (1 + AS**2) / 2) / (2 * math.pi * (1 + AS**2))
    np.testing.assert_allclose(dh, want_h, rtol=1e-12)
    np.testing.assert_allclose(da, want_a, rtol=1e-12)
    # and against central differences of scipy's own function
    eps = 1e-6
    np.testing.assert_allclose(
        dh, (sc.owens_t(H + eps, AS) - sc.owens_t(H - eps, AS)) / (2 * eps), rtol=1e-6, atol=1e-9)


def test_hyp1f1_with_equal_parameters_is_exp():
    a = np.array([0.7, 1.3, 2.0])
    x = np.array([-1.0, 0.3, 1.2])
    f = lambda x: fsp.hyp1f1(a, a, x)  # noqa: E731
    np.testing.assert_allclose(f(x), np.exp(x), rtol=1e-12)
    d1 = fgrad.vmap(fgrad.grad(lambda a, x: fsp.hyp1f1(a, a, x), argnums=1))(a, x)
    np.testing.assert_allclose(d1, np.exp(x), rtol=1e-12)
    d2 = fgrad.vmap(fgrad.grad(fgrad.grad(lambda a, x: fsp.hyp1f1(a, a, x), argnums=1),
                               argnums=1))(a, x)
    np.testing.assert_allclose(d2, np.exp(x), rtol=1e-11)


def test_hyp2f1_log_closed_form():
    z = np.array([-0.6, 0.2, 0.5])
    d = fgrad.vmap(fgrad.grad(lambda z: fsp.hyp2f1(1.0, 1.0, 2.0, z)))(z)
    # d/dz (-log(1 - z) / z) = 1 / (z (1 - z)) + log(1 - z) / z**2
    np.testing.assert_allclose(d, 1 / (z * (1 - z)) + np.log1p(-z) / z**2, rtol=1e-12)


def test_lambertw_inverse_and_derivative():
    x = np.array([-0.9, -0.2, 0.0, 0.5, 2.0])
    w_of = lambda x: fnp.real(fsp.lambertw(fnp.multiply(x, fnp.exp(x))))  # noqa: E731
    np.testing.assert_allclose(w_of(x), x, rtol=1e-12, atol=1e-15)  # W(x e^x) = x
    np.testing.assert_allclose(fgrad.vmap(fgrad.grad(w_of))(x), 1.0, rtol=1e-10)
    np.testing.assert_allclose(fgrad.vmap(fgrad.grad(fgrad.grad(w_of)))(x), 0.0, atol=1e-9)
    z = np.array([0.0, 0.3, 1.0, 4.0])
    w = sc.lambertw(z).real
    dw = fgrad.vmap(fgrad.grad(lambda z: fnp.real(fsp.lambertw(z))))(z)
    want = np.where(z == 0, 1.0, w / np.where(z == 0, 1.0, z * (1 + w)))
    np.testing.assert_allclose(dw, want, rtol=1e-12)
    assert dw.dtype == np.float64  # a real input gets a real cotangent
    # complex z: holomorphic, the derivative is W'(z) = W / (z (1 + W))
    _, t = fgrad.jvp(fsp.lambertw, (ZC,), (np.ones_like(ZC),))
    wc = sc.lambertw(ZC)
    np.testing.assert_allclose(t, wc / (ZC * (1 + wc)), rtol=1e-12)


def test_wofz_derivative_formula():
    _, t = fgrad.jvp(fsp.wofz, (ZC,), (np.ones_like(ZC),))
    want = -2 * ZC * sc.wofz(ZC) + 2j / math.sqrt(math.pi)
    np.testing.assert_allclose(t, want, rtol=1e-12)
    eps = 1e-6  # and central differences of scipy along the imaginary direction
    fd = (sc.wofz(ZC + 1j * eps) - sc.wofz(ZC - 1j * eps)) / (2j * eps)
    np.testing.assert_allclose(t, fd, rtol=1e-6)
    # a real input: grad of the imaginary part is Im(w'(x)) = -2 x Im(w(x)) + 2/sqrt(pi)
    g = fgrad.vmap(fgrad.grad(lambda x: fnp.imag(fsp.wofz(x))))(X)
    np.testing.assert_allclose(g, -2 * X * sc.wofz(X).imag + 2 / math.sqrt(math.pi), rtol=1e-12)


# --- refusals, dispatch, vmap ------------------------------------------------------------------


@pytest.mark.parametrize("argnum,name", [(0, "a"), (1, "b")])
def test_hyp1f1_parameters_refused(argnum, name):
    with pytest.raises(TypeError, match=rf"special\.hyp1f1.*argument {argnum} \(`{name}`\)"):
        fgrad.grad(fsp.hyp1f1, argnums=argnum)(1.0, 2.0, 0.5)


@pytest.mark.parametrize("argnum,name", [(0, "a"), (1, "b"), (2, "c")])
def test_hyp2f1_parameters_refused(argnum, name):
    with pytest.raises(TypeError, match=rf"special\.hyp2f1.*argument {argnum} \(`{name}`\)"):
        fgrad.grad(fsp.hyp2f1, argnums=argnum)(1.0, 2.0, 3.0, 0.5)
    with pytest.raises(TypeError, match=rf"special\.hyp2f1.*argument {argnum}"):
        fgrad.jvp(lambda p: fsp.hyp2f1(*[p if i == argnum else v for i, v in
                                         enumerate((1.0, 2.0, 3.0))], 0.5), (1.5,), (1.0,))


def test_scipy_ufuncs_dispatch_to_fgrad():
    g = fgrad.grad(lambda h: sc.owens_t(h, 0.5))(0.3)
    assert math.isclose(g, fgrad.grad(fsp.owens_t)(0.3, 0.5))
    g = fgrad.grad(lambda x: sc.hyp1f1(1.0, 1.0, x))(0.4)
    assert math.isclose(g, math.exp(0.4), rel_tol=1e-12)
    g = fgrad.grad(lambda x: fnp.real(sc.wofz(x)))(0.4)
    assert math.isclose(g, (-2 * 0.4 * sc.wofz(0.4)).real, rel_tol=1e-12)


def test_vmap_matches_a_loop():
    got = vmap(lambda z: fsp.lambertw(z))(ZW)
    np.testing.assert_array_equal(got, sc.lambertw(ZW))
    got = vmap(fgrad.grad(lambda x: fsp.hyp2f1(1.5, 0.5, 1.2, x)))(ZD)
    want = [fgrad.grad(lambda x: fsp.hyp2f1(1.5, 0.5, 1.2, x))(z) for z in ZD]
    np.testing.assert_allclose(got, want, rtol=1e-14)
