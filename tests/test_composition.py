"""Every ordered pair of grad, jvp, vjp, vmap, linearize and checkpoint, on a set of
functions.

Each transform ``T`` turns a function of one array into a function of one array
(``grad`` and ``vjp`` contract the output with a fixed weight, ``jvp`` and
``linearize`` push a fixed tangent).  For a pair ``(outer, inner)`` the test
compares ``outer(inner(f))`` computed by fgrad with the *reference* of the outer
transform applied to fgrad's ``inner(f)``: central finite differences for
grad/vjp/jvp/linearize, a Python loop over the examples for vmap, the plain
function for checkpoint.  The inner transforms are checked the same way by the
pairs with ``checkpoint`` (whose reference is the identity) as outer transform.
"""

import itertools
import zlib

import numpy as np
import pytest

import fgrad
import fgrad.numpy as fnp

BATCH = 2


def const(shape, salt):
    """A fixed array for a shape (the same in fgrad's and the reference computation)."""
    seed = zlib.crc32(repr((tuple(shape), salt)).encode())
    return np.random.default_rng(seed).uniform(0.5, 1.5, size=shape)


# --- the functions --------------------------------------------------------------------------

W1 = const((4, 3), "W1") - 1.0
B1 = const((4,), "b1") - 1.0
W2 = const((2, 4), "W2") - 1.0


def elementwise(x):
    return fnp.sin(x) * fnp.exp(-(x ** 2)) + x ** 3 / 3.0


def mlp(x):
    return W2 @ fnp.tanh(W1 @ x + B1)


def reductions(x):
    scaled = x / fnp.sqrt(fnp.sum(x ** 2) + 1.0)
    return fnp.concatenate([scaled, fnp.cumsum(x)[::-1], fnp.stack([fnp.max(x) * fnp.mean(x)])])


def indexing(x):
    m = fnp.outer(x, fnp.cos(x))
    picked = m[np.array([0, 2, 2]), np.array([1, 0, 2])]
    updated = fnp.at(picked)[np.array([0, 0])].add(x[1])
    return fnp.log(fnp.sum(fnp.exp(updated))) * x[::-1]


FUNCTIONS = [elementwise, mlp, reductions, indexing]


# --- the transforms: fgrad's version and the reference -----------------------------------


def fd_directional(g, x, v, eps=1e-6):
    return (np.asarray(g(x + eps * v)) - np.asarray(g(x - eps * v))) / (2 * eps)


def fd_gradient(s, x, eps=1e-6):
    out = np.zeros(np.shape(x))
    for i in np.ndindex(*np.shape(x)):
        e = np.zeros(np.shape(x))
        e[i] = eps
        out[i] = (float(s(x + e)) - float(s(x - e))) / (2 * eps)
    return out


def t_grad(f):
    def contracted(x):
        y = f(x)
        return fnp.sum(y * const(np.shape(y), "w"))

    return fgrad.grad(contracted)


def r_grad(f):
    def contracted(x):
        y = np.asarray(f(x))
        return np.sum(y * const(np.shape(y), "w"))

    return lambda x: fd_gradient(contracted, x)


def t_vjp(f):
    def g(x):
        out, f_vjp = fgrad.vjp(f, x)
        return f_vjp(const(np.shape(out), "u"))[0]

    return g


def r_vjp(f):
    def g(x):
        u = const(np.shape(f(x)), "u")
        return fd_gradient(lambda y: np.sum(np.asarray(f(y)) * u), x)

    return g


def t_jvp(f):
    return lambda x: fgrad.jvp(f, (x,), (const(np.shape(x), "v"),))[1]


def r_jvp(f):
    return lambda x: fd_directional(f, x, const(np.shape(x), "v"))


def t_linearize(f):
    return lambda x: fgrad.linearize(f, x)[1](const(np.shape(x), "v"))


def t_vmap(f):
    return fgrad.vmap(f)


def r_vmap(f):
    return lambda xs: np.stack([np.asarray(f(x)) for x in xs])


def t_checkpoint(f):
    return fgrad.checkpoint(f)


TRANSFORMS = {
    "grad": (t_grad, r_grad),
    "jvp": (t_jvp, r_jvp),
    "vjp": (t_vjp, r_vjp),
    "vmap": (t_vmap, r_vmap),
    "linearize": (t_linearize, r_jvp),
    "checkpoint": (t_checkpoint, lambda f: f),
}

PAIRS = list(itertools.product(TRANSFORMS, repeat=2))


def point(n_vmaps, salt):
    shape = (BATCH,) * n_vmaps + (3,)
    return const(shape, salt) * np.where(const(shape, salt + "s") > 1.0, 1.0, -1.0)


@pytest.mark.parametrize("f", FUNCTIONS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("outer,inner", PAIRS, ids=["-".join(p) for p in PAIRS])
def test_pair_matches_reference(outer, inner, f):
    t_outer, r_outer = TRANSFORMS[outer]
    t_inner, _ = TRANSFORMS[inner]
    x = point((outer == "vmap") + (inner == "vmap"), f.__name__)
    got = t_outer(t_inner(f))(x)
    want = r_outer(t_inner(f))(x)
    numerical = outer in ("grad", "jvp", "vjp", "linearize")
    rtol, atol = (1e-6, 1e-7) if numerical else (1e-12, 1e-13)
    assert np.shape(got) == np.shape(want)
    np.testing.assert_allclose(got, want, rtol=rtol, atol=atol)


@pytest.mark.parametrize("f", FUNCTIONS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("name", list(TRANSFORMS))
def test_single_transform_matches_reference(name, f):
    t, r = TRANSFORMS[name]
    x = point(name == "vmap", f.__name__)
    rtol = 1e-6 if name in ("grad", "jvp", "vjp", "linearize") else 1e-12
    np.testing.assert_allclose(t(f)(x), r(f)(x), rtol=rtol, atol=1e-7)


def test_triple_compositions():
    """Three deep: per-example Hessian-vector products through a checkpoint."""
    f = fgrad.checkpoint(mlp)
    xs, vs = point(1, "xs"), point(1, "vs")
    s = lambda x: fnp.sum(f(x) ** 2)
    got = fgrad.vmap(lambda x, v: fgrad.hvp(s, (x,), (v,)))(xs, vs)
    want = np.stack([fgrad.hessian(lambda y: fnp.sum(mlp(y) ** 2))(x) @ v
                     for x, v in zip(xs, vs)])
    np.testing.assert_allclose(got, want, rtol=1e-10)
    lin = lambda x: fgrad.linearize(fgrad.grad(s), x)[1](const((3,), "t"))
    np.testing.assert_allclose(fgrad.vmap(lin)(xs),
                               np.stack([fgrad.hvp(s, (x,), (const((3,), "t"),)) for x in xs]),
                               rtol=1e-10)
