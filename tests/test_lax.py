"""fgrad.lax: structured control flow against Python-loop references, in every mode."""

import functools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fgrad
import fgrad.numpy as fnp
from fgrad import lax

RNG = np.random.default_rng(0)
XS = np.linspace(0.1, 1.0, 5)


def close(a, b, tol=1e-9):
    la, lb = fgrad.tree.tree_leaves(a), fgrad.tree.tree_leaves(b)
    if len(la) != len(lb):  # an array against a list of its entries
        la, lb = [np.asarray(a, dtype=float)], [np.asarray(b, dtype=float)]
    for x, y in zip(la, lb):
        np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=tol, atol=tol)


def loop_scan(f, init, xs, length=None, reverse=False):
    """The reference: scan as a Python loop."""
    n = length if xs is None else len(fgrad.tree.tree_leaves(xs)[0])
    order = range(n - 1, -1, -1) if reverse else range(n)
    carry, ys = init, [None] * n
    for t in order:
        x = None if xs is None else fgrad.tree.tree_map(lambda a, t=t: a[t], xs)
        carry, ys[t] = f(carry, x)
    if not n:
        return carry, None
    return carry, fgrad.tree.tree_map(lambda *a: fnp.stack(a), *ys)


def loop_while(cond_fun, body_fun, val):
    while cond_fun(val):
        val = body_fun(val)
    return val


# --------------------------------------------------------------------------
# scan: values
# --------------------------------------------------------------------------


def rnn_step(w):
    return lambda c, x: (fnp.sin(c * w + x), c * x + w)


def test_scan_values_against_a_loop():
    out = lax.scan(rnn_step(0.7), 0.3, XS)
    ref = loop_scan(rnn_step(0.7), 0.3, XS)
    close(out, ref)
    assert out[1].shape == (5,)


def test_scan_reverse_against_a_loop():
    close(lax.scan(rnn_step(0.7), 0.3, XS, reverse=True),
          loop_scan(rnn_step(0.7), 0.3, XS, reverse=True))


def test_scan_pytrees():
    def f(c, x):
        return ({"a": c["a"] * x["u"] + x["v"][0], "n": c["n"] + 1},
                (c["a"] * 2.0, [x["v"]]))

    xs = {"u": XS, "v": RNG.normal(size=(5, 3))}
    init = {"a": np.ones(3), "n": 0}
    out = lax.scan(f, init, xs)
    close(out, loop_scan(f, init, xs))
    assert out[0]["n"] == 5 and out[0]["n"].dtype.kind == "i"


def test_scan_xs_none_with_length():
    carry, ys = lax.scan(lambda c, _: (c * 2, c), 1, None, length=4)
    assert carry == 16 and ys.tolist() == [1, 2, 4, 8]
    carry, ys = lax.scan(lambda c, x: (c + 1.0, None), 0.0, None, length=3)
    assert carry == 3.0 and ys is None


def test_scan_of_length_zero_keeps_the_carry_and_gives_empty_ys():
    carry, ys = lax.scan(lambda c, x: (c + x, c * x), 2.0, np.zeros((0,)))
    assert carry == 2.0 and ys.shape == (0,)
    g = fgrad.grad(lambda c: lax.scan(lambda c, x: (c * x, c), c, np.zeros(0))[0])(2.0)
    assert g == 1.0


def test_scan_does_not_write_into_the_callers_arrays():
    init = np.zeros(3)

    def f(c, x):
        c += x  # rebinds, as under every transform
        return c, c

    lax.scan(f, init, np.ones((2, 3)))
    assert not init.any()


def test_scan_int_and_bool_carry_travel_exactly():
    carry, _ = lax.scan(lambda c, x: ((c[0] + 3, ~c[1], c[2] * x), None),
                        (2 ** 40, np.bool_(True), 1.0), XS)
    assert carry[0] == 2 ** 40 + 15 and carry[1] == np.bool_(False)


# --------------------------------------------------------------------------
# scan: derivatives
# --------------------------------------------------------------------------


def scan_loss(w, c0, xs, reverse=False, scan=lax.scan):
    carry, ys = (scan(rnn_step(w), c0, xs, reverse=reverse) if scan is lax.scan
                 else loop_scan(rnn_step(w), c0, xs, reverse=reverse))
    return carry + fnp.sum(ys ** 2)


@pytest.mark.parametrize("reverse", [False, True])
def test_scan_check_grads_every_argument(reverse):
    f = functools.partial(scan_loss, reverse=reverse)
    fgrad.check_grads(f, (0.7, 0.3, XS), order=2, modes=("fwd", "rev"))


@pytest.mark.parametrize("reverse", [False, True])
def test_scan_derivatives_equal_the_loops(reverse):
    args = (0.7, 0.3, XS)
    for t in (fgrad.grad, fgrad.jacfwd, fgrad.hessian):
        for argnums in (0, 1, 2):
            got = t(functools.partial(scan_loss, reverse=reverse), argnums=argnums)(*args)
            want = t(functools.partial(scan_loss, reverse=reverse, scan=None),
                     argnums=argnums)(*args)
            close(got, want)


def test_scan_closure_only_value_grad_jvp_hessian_vmap():
    # the value w reaches the body only through its closure
    def f(w):
        return lax.scan(lambda c, x: (c * w + x, c), 0.0, XS)[0]

    def ref(w):
        return loop_scan(lambda c, x: (c * w + x, c), 0.0, XS)[0]

    w = 1.3
    close(fgrad.grad(f)(w), fgrad.grad(ref)(w))
    close(fgrad.jvp(f, (w,), (1.0,)), fgrad.jvp(ref, (w,), (1.0,)))
    close(fgrad.hessian(f)(w), fgrad.hessian(ref)(w))
    close(fgrad.grad(fgrad.grad(fgrad.grad(f)))(w), fgrad.grad(fgrad.grad(fgrad.grad(ref)))(w))
    ws = np.array([0.5, 1.0, 1.5])
    close(fgrad.vmap(f)(ws), [ref(v) for v in ws])
    close(fgrad.vmap(fgrad.grad(f))(ws), [fgrad.grad(ref)(v) for v in ws])
    close(fgrad.grad(lambda ws: fnp.sum(fgrad.vmap(f)(ws) ** 2))(ws),
          fgrad.grad(lambda ws: fnp.sum(fgrad.vmap(ref)(ws) ** 2))(ws))
    assert fgrad.grad(f)(w) != 0.0


def test_scan_closure_derived_values_and_containers():
    # the body computes with the closed-over matrix alone (W.T), holds it in a dict,
    # a default argument, a helper function and a functools.partial
    W0 = RNG.normal(size=(3, 3)) / 3

    def make(W, how):
        params = {"W": W}

        def helper(h):
            return params["W"].T @ h

        if how == "dict":
            return lambda h, x: (fnp.tanh(params["W"].T @ h + x), fnp.sum(h))
        if how == "default":
            return lambda h, x, W=W: (fnp.tanh(W.T @ h + x), fnp.sum(h))
        if how == "helper":
            return lambda h, x: (fnp.tanh(helper(h) + x), fnp.sum(h))
        return functools.partial(lambda W, h, x: (fnp.tanh(W.T @ h + x), fnp.sum(h)), W)

    xs = RNG.normal(size=(4, 3))
    for how in ("dict", "default", "helper", "partial"):
        def f(W, scan=lax.scan, how=how):
            body = make(W, how)
            c, ys = scan(body, np.ones(3), xs) if scan else loop_scan(body, np.ones(3), xs)
            return fnp.sum(c) + fnp.sum(ys)

        close(fgrad.grad(f)(W0), fgrad.grad(lambda W: f(W, None))(W0))
        close(fgrad.jacfwd(f)(W0), fgrad.jacfwd(lambda W: f(W, None))(W0))


def test_a_traced_value_reached_through_an_attribute_raises():
    class Model:
        pass

    m = Model()

    def f(w):
        m.w = w
        return lax.scan(lambda c, x: (c * m.w + x, c), 0.0, XS)[0]

    def g(w):
        m.w = w
        return lax.cond(True, lambda x: x * m.w, lambda x: x, 2.0)

    def h(w):
        m.w = w
        return lax.while_loop(lambda c: c < 3.0, lambda c: c + m.w, 0.0)

    for fun in (f, g, h):
        for transform in (lambda fun: fgrad.jvp(fun, (1.0,), (1.0,)),
                          lambda fun: fgrad.vmap(fun)(np.ones(2)),
                          lambda fun: fgrad.grad(fun)(1.0)):
            with pytest.raises(TypeError, match="derivative would be lost|reverse mode"):
                transform(fun)


def test_nested_scans():
    def f(w):
        def inner(c, x):
            return lax.scan(lambda d, y: (d * w + y * x, d), c, XS)[0], c

        return lax.scan(inner, 0.5, XS)[0]

    def ref(w):
        def inner(c, x):
            return loop_scan(lambda d, y: (d * w + y * x, d), c, XS)[0], c

        return loop_scan(inner, 0.5, XS)[0]

    close(f(0.4), ref(0.4))
    close(fgrad.grad(f)(0.4), fgrad.grad(ref)(0.4))
    close(fgrad.hessian(f)(0.4), fgrad.hessian(ref)(0.4))


def test_checkpoint_inside_the_body():
    cell = fgrad.checkpoint(lambda w, h, x: fnp.tanh(w * h + x))

    def f(w):
        return lax.scan(lambda h, x: (cell(w, h, x), h), 0.1, XS)

    def ref(w):
        return loop_scan(lambda h, x: (fnp.tanh(w * h + x), h), 0.1, XS)

    loss = lambda g: (lambda w: g(w)[0] + fnp.sum(g(w)[1]))  # noqa: E731
    close(fgrad.grad(loss(f))(0.8), fgrad.grad(loss(ref))(0.8))
    close(fgrad.hessian(loss(f))(0.8), fgrad.hessian(loss(ref))(0.8))


def test_scan_reverse_mode_is_a_loop_with_memory_of_the_carries():
    # grad through 1,000 steps: the peak does not grow with the intermediates of a step
    import tracemalloc

    T, n = 1000, 32
    W = RNG.normal(size=(n, n)) / np.sqrt(n)
    xs = RNG.normal(size=(T, n))

    def loss(W, depth):
        def cell(h, x):
            a = fnp.tanh(W @ h + x)
            for _ in range(depth - 1):
                a = fnp.tanh(W @ a)
            return a, None

        return fnp.sum(lax.scan(cell, np.zeros(n), xs)[0])

    peaks = []
    for depth in (1, 4):
        tracemalloc.start()
        fgrad.grad(loss)(W, depth)
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    state = T * n * 8
    assert peaks[1] < 1.3 * peaks[0] + 200_000, peaks
    assert peaks[0] < 8 * state, (peaks, state)


# --------------------------------------------------------------------------
# scan: vmap
# --------------------------------------------------------------------------


@pytest.mark.parametrize("which", ["init", "xs", "closure", "all"])
def test_vmap_scan_against_a_loop_over_examples(which):
    B = 3
    inits = RNG.normal(size=B)
    xss = RNG.normal(size=(B, 5))
    ws = RNG.normal(size=B)

    def run(c0, xs, w, scan=lax.scan):
        body = rnn_step(w)
        c, ys = scan(body, c0, xs) if scan else loop_scan(body, c0, xs)
        return c, ys

    args = {"init": (inits, XS, 0.7), "xs": (0.3, xss, 0.7), "closure": (0.3, XS, ws),
            "all": (inits, xss, ws)}[which]
    axes = tuple(0 if np.ndim(a) and (which in ("all",) or a is not XS) else None
                 for a in args)
    got = fgrad.vmap(run, in_axes=axes)(*args)
    per = [run(*[a[b] if ax == 0 else a for a, ax in zip(args, axes)], scan=None)
           for b in range(B)]
    close(got[0], [p[0] for p in per])
    close(got[1], [p[1] for p in per])
    # and derivatives of the batched scan, both ways round
    loss = lambda *a: fnp.sum(fgrad.vmap(run, in_axes=axes)(*a)[1] ** 2)  # noqa: E731
    ref = lambda *a: fnp.sum(fnp.stack([  # noqa: E731
        run(*[x[b] if ax == 0 else x for x, ax in zip(a, axes)], scan=None)[1]
        for b in range(B)]) ** 2)
    close(fgrad.grad(loss, argnums=(0, 1, 2))(*args), fgrad.grad(ref, argnums=(0, 1, 2))(*args))


def test_vmap_scan_with_a_carry_that_becomes_batched():
    # the carry starts unbatched and the body mixes in a batched value
    def f(w):
        return lax.scan(lambda c, x: (c + w * x, c), 0.0, XS)

    ws = np.array([1.0, 2.0])
    got = fgrad.vmap(f)(ws)
    close(got[0], [f(w)[0] for w in ws])
    close(got[1], np.stack([f(w)[1] for w in ws]))


def test_vmap_of_grad_of_scan():
    f = lambda w: scan_loss(w, 0.3, XS)  # noqa: E731
    ws = np.array([0.2, 0.7])
    close(fgrad.vmap(fgrad.grad(f))(ws), [fgrad.grad(f)(w) for w in ws])
    close(fgrad.vmap(fgrad.hessian(f))(ws), [fgrad.hessian(f)(w) for w in ws])


@settings(max_examples=15, deadline=None)
@given(st.integers(0, 6), st.integers(1, 3), st.booleans())
def test_scan_hypothesis_lengths_and_shapes(length, n, reverse):
    rng = np.random.default_rng(length * 10 + n)
    xs = rng.normal(size=(length, n))
    W = rng.normal(size=(n, n)) / 2

    def body(h, x):
        return fnp.tanh(W @ h + x), fnp.sum(h * x)

    def loss(h0, scan=lax.scan):
        c, ys = (scan(body, h0, xs, reverse=reverse) if scan
                 else loop_scan(body, h0, xs, reverse=reverse))
        return fnp.sum(c) + (fnp.sum(ys) if length else 0.0)

    h0 = rng.normal(size=n)
    close(loss(h0), loss(h0, None))
    close(fgrad.grad(loss)(h0), fgrad.grad(lambda h: loss(h, None))(h0))
    close(fgrad.jacfwd(loss)(h0), fgrad.grad(lambda h: loss(h, None))(h0))


# --------------------------------------------------------------------------
# fori_loop
# --------------------------------------------------------------------------


def test_fori_loop_static_bounds_is_a_scan():
    assert lax.fori_loop(0, 4, lambda i, v: v + i, 0) == 6
    assert lax.fori_loop(3, 1, lambda i, v: v + i, 5) == 5  # empty range
    f = lambda x: lax.fori_loop(1, 4, lambda i, v: fnp.sin(v * x) + i, x)  # noqa: E731

    def ref(x):
        v = x
        for i in range(1, 4):
            v = fnp.sin(v * x) + i
        return v

    close(f(0.6), ref(0.6))
    fgrad.check_grads(f, (0.6,), order=2, modes=("fwd", "rev"))
    close(fgrad.hessian(f)(0.6), fgrad.hessian(ref)(0.6))


def test_fori_loop_closure_only_value():
    def f(w):
        return lax.fori_loop(0, 3, lambda i, v: v * w + i, 1.0)

    def ref(w):
        v = 1.0
        for i in range(3):
            v = v * w + i
        return v

    for t in (fgrad.grad, fgrad.jacfwd, fgrad.hessian):
        close(t(f)(1.5), t(ref)(1.5))
    close(fgrad.vmap(f)(np.array([1.0, 2.0])), [ref(1.0), ref(2.0)])


def test_fori_loop_traced_bounds_under_vmap_forward_mode_and_reverse_error():
    ns = np.array([0, 2, 5])

    def f(x, n):
        return lax.fori_loop(0, n, lambda i, v: v * x + 1.0, 1.0)

    def ref(x, n):
        v = 1.0
        for _ in range(n):
            v = v * x + 1.0
        return v

    close(fgrad.vmap(f, in_axes=(None, 0))(1.5, ns), [ref(1.5, n) for n in ns])
    got = fgrad.jvp(lambda x: fgrad.vmap(f, in_axes=(None, 0))(x, ns), (1.5,), (1.0,))
    want = [fgrad.jvp(lambda x, n=n: ref(x, n), (1.5,), (1.0,))[1] for n in ns]
    close(got[1], want)
    close(fgrad.vmap(fgrad.jacfwd(f), in_axes=(None, 0))(1.5, ns),
          [fgrad.grad(ref)(1.5, n) for n in ns])
    with pytest.raises(TypeError, match="static bounds"):
        fgrad.grad(lambda x: fnp.sum(fgrad.vmap(f, in_axes=(None, 0))(x, ns)))(1.5)


def test_fori_loop_bad_bounds():
    with pytest.raises(TypeError, match="lower must be an integer"):
        lax.fori_loop(0.5, 3, lambda i, v: v, 1.0)
    with pytest.raises(TypeError, match="upper must be a scalar integer"):
        fgrad.vmap(lambda u: lax.fori_loop(0, u, lambda i, v: v, 1.0))(np.ones(2))


# --------------------------------------------------------------------------
# while_loop
# --------------------------------------------------------------------------


def test_while_loop_values():
    out = lax.while_loop(lambda c: c[0] < 5, lambda c: (c[0] + 1, c[1] * 2.0), (0, 1.0))
    assert out == (5, 32.0)
    assert lax.while_loop(lambda v: v > 10, lambda v: v + 1, 0) == 0  # never runs


def test_while_loop_forward_mode_against_a_loop():
    def f(x, y):
        return lax.while_loop(lambda c: c[1] < 50.0,
                              lambda c: (fnp.sin(c[0]) * y, c[1] + c[0] ** 2 + 1.0), (x, 0.0))

    def ref(x, y):
        return loop_while(lambda c: c[1] < 50.0,
                          lambda c: (fnp.sin(c[0]) * y, c[1] + c[0] ** 2 + 1.0), (x, 0.0))

    close(f(0.7, 2.0), ref(0.7, 2.0))
    for argnums in (0, 1, (0, 1)):
        close(fgrad.jacfwd(f, argnums=argnums)(0.7, 2.0),
              fgrad.jacfwd(ref, argnums=argnums)(0.7, 2.0))
    close(fgrad.jacfwd(fgrad.jacfwd(f))(0.7, 2.0), fgrad.jacfwd(fgrad.jacfwd(ref))(0.7, 2.0))
    fgrad.check_grads(f, (0.7, 2.0), order=2, modes=("fwd",))


def test_while_loop_reverse_mode_raises_clearly():
    f = lambda x: lax.while_loop(lambda v: v < 10.0, lambda v: v * x, 1.0)  # noqa: E731
    with pytest.raises(TypeError, match="reverse mode.*fori_loop with Python-int bounds"):
        fgrad.grad(f)(3.0)
    with pytest.raises(TypeError, match="reverse mode"):
        fgrad.vjp(lambda v: lax.while_loop(lambda v: v < 10.0, lambda v: v * 3.0, v), 1.0)


def test_while_loop_traced_value_in_cond_only_has_zero_gradient():
    # the threshold decides the trip count only: its derivative is zero almost everywhere
    f = lambda t: lax.while_loop(lambda v: v < t, lambda v: v * 2.0, 1.0)  # noqa: E731
    assert fgrad.grad(f)(10.0) == 0.0 and f(10.0) == 16.0


def test_while_loop_vmap_per_example_trip_counts():
    def f(x, limit):
        return lax.while_loop(lambda c: c[0] < limit, lambda c: (c[0] + c[1], c[1] * 1.5),
                              (x, 1.0))

    xs = np.array([0.0, 3.0, -2.0, 10.0])
    limits = np.array([5.0, 4.0, 20.0, 1.0])
    got = fgrad.vmap(f)(xs, limits)
    want = [loop_while(lambda c, lim=lim: c[0] < lim,
                       lambda c: (c[0] + c[1], c[1] * 1.5), (x, 1.0))
            for x, lim in zip(xs, limits)]
    close(got[0], [w[0] for w in want])
    close(got[1], [w[1] for w in want])
    # forward mode through the batched loop
    jac = fgrad.vmap(fgrad.jacfwd(lambda x, lim: f(x, lim)[0]))(xs, limits)
    for x, lim, j in zip(xs, limits, jac):
        ref = fgrad.jacfwd(lambda x, lim=lim: loop_while(
            lambda c: c[0] < lim, lambda c: (c[0] + c[1], c[1] * 1.5), (x, 1.0))[0])(x)
        close(j, ref)


def test_while_loop_closure_only_value_jvp_and_vmap():
    def f(w):
        return lax.while_loop(lambda c: c[0] < 4, lambda c: (c[0] + 1, c[1] * w + 1.0), (0, 1.0))[1]

    def ref(w):
        v = 1.0
        for _ in range(4):
            v = v * w + 1.0
        return v

    close(fgrad.jvp(f, (1.5,), (1.0,)), fgrad.jvp(ref, (1.5,), (1.0,)))
    close(fgrad.jacfwd(fgrad.jacfwd(f))(1.5), fgrad.hessian(ref)(1.5))
    close(fgrad.vmap(f)(np.array([1.0, 2.0])), [ref(1.0), ref(2.0)])


# --------------------------------------------------------------------------
# cond and switch
# --------------------------------------------------------------------------


def test_cond_runs_only_the_branch_taken():
    ran = []

    def t(x):
        ran.append("t")
        return x + 1.0

    def e(x):
        ran.append("e")
        return x - 1.0

    assert lax.cond(True, t, e, 1.0) == 2.0 and lax.cond(0, t, e, 1.0) == 0.0
    assert ran == ["t", "e"]


def test_cond_derivative_never_sees_the_other_branchs_nans():
    def safe_log(x):
        return lax.cond(x > 0, fnp.log, lambda x: fnp.zeros_like(x), x)

    with np.errstate(all="raise"):
        assert fgrad.grad(safe_log)(-1.0) == 0.0
        assert fgrad.grad(safe_log)(2.0) == 0.5
        assert fgrad.hessian(safe_log)(2.0) == -0.25
        assert fgrad.jacfwd(safe_log)(-1.0) == 0.0


def test_cond_check_grads_and_pytrees():
    def f(x, y):
        out = lax.cond(x > y, lambda a, b: {"p": a * b, "q": (fnp.sin(a),)},
                       lambda a, b: {"p": a - b, "q": (fnp.cos(b),)}, x, y)
        return out["p"] + out["q"][0]

    for args in ((2.0, 1.0), (1.0, 2.0)):
        fgrad.check_grads(f, args, order=2, modes=("fwd", "rev"))


def test_cond_closure_only_value():
    def f(w, x):
        return lax.cond(x > 0, lambda x: x * w ** 2, lambda x: x + w, x)

    def ref(w, x):
        return x * w ** 2 if x > 0 else x + w

    for x in (2.0, -2.0):
        for t in (fgrad.grad, fgrad.jacfwd, fgrad.hessian):
            close(t(f)(1.5, x), t(ref)(1.5, x))
    ws = np.array([1.0, 2.0])
    close(fgrad.vmap(f, in_axes=(0, None))(ws, 2.0), [ref(w, 2.0) for w in ws])


def test_switch_clamps_the_index():
    branches = [lambda x: x + 1.0, lambda x: x * 10.0, lambda x: -x]
    assert [float(lax.switch(i, branches, 2.0)) for i in (-5, 0, 1, 2, 9)] == [
        3.0, 3.0, 20.0, -2.0, -2.0]


def test_switch_derivatives_and_closure():
    def f(w, i):
        return lax.switch(i, [lambda x: fnp.sin(x * w), lambda x: x * w ** 3, fnp.exp], w)

    def ref(w, i):
        return [lambda x: fnp.sin(x * w), lambda x: x * w ** 3, fnp.exp][min(max(i, 0), 2)](w)

    for i in (-1, 0, 1, 2, 3):
        for t in (fgrad.grad, fgrad.jacfwd, fgrad.hessian):
            close(t(f)(0.7, i), t(ref)(0.7, i))
        fgrad.check_grads(lambda w, i=i: f(w, i), (0.7,), order=2, modes=("fwd", "rev"))
        ws = np.array([0.3, 0.9])
        close(fgrad.vmap(lambda w, i=i: f(w, i))(ws), [ref(w, i) for w in ws])
        close(fgrad.vmap(fgrad.grad(lambda w, i=i: f(w, i)))(ws),
              [fgrad.grad(ref)(w, i) for w in ws])


def test_vmap_cond_batched_predicate_selects_per_example():
    def f(x):
        return lax.cond(x > 0, lambda x: fnp.sqrt(x), lambda x: x ** 2, x)

    def ref(x):
        return fnp.sqrt(x) if x > 0 else x ** 2

    xs = np.array([4.0, -3.0, 0.25, -0.5])
    close(fgrad.vmap(f)(xs), [ref(x) for x in xs])
    # grad inside vmap: each example differentiates its own branch only
    close(fgrad.vmap(fgrad.grad(f))(xs), [fgrad.grad(ref)(x) for x in xs])
    close(fgrad.vmap(fgrad.jacfwd(f))(xs), [fgrad.grad(ref)(x) for x in xs])

    # grad outside vmap: both branches ran on every example (where), so take branches
    # finite everywhere (see the sharp bits on NaN in the branch not selected)
    def g(x):
        return lax.cond(x > 0, lambda x: fnp.sin(x) * x, lambda x: x ** 3, x)

    def gref(x):
        return fnp.sin(x) * x if x > 0 else x ** 3

    close(fgrad.grad(lambda xs: fnp.sum(fgrad.vmap(g)(xs)))(xs),
          [fgrad.grad(gref)(x) for x in xs])
    close(fgrad.jacfwd(fgrad.vmap(g))(xs), np.diag([fgrad.grad(gref)(x) for x in xs]))


def test_vmap_cond_unbatched_predicate_runs_one_branch():
    ran = []

    def t(x):
        ran.append("t")
        return x * 2.0

    def e(x):
        ran.append("e")
        return x * 3.0

    got = fgrad.vmap(lambda x: lax.cond(True, t, e, x))(np.arange(3.0))
    close(got, np.arange(3.0) * 2.0)
    assert ran == ["t"]


def test_vmap_switch_batched_index_against_a_loop():
    branches = [fnp.sin, fnp.cos, lambda x: x * x]

    def f(i, x):
        return lax.switch(i, branches, x)

    idx, xs = np.array([0, 1, 2, 7, -3]), np.linspace(0.1, 0.5, 5)
    close(fgrad.vmap(f)(idx, xs), [f(i, x) for i, x in zip(idx, xs)])
    close(fgrad.vmap(fgrad.grad(f, argnums=1))(idx, xs),
          [fgrad.grad(f, argnums=1)(i, x) for i, x in zip(idx, xs)])


# --------------------------------------------------------------------------
# per-argument forward rules (what replays of recorded rows use)
# --------------------------------------------------------------------------


def _captured_call(prim, fun, x):
    """The leaves and parameters of the application of ``prim`` that ``grad(fun)(x)``
    records (reverse mode calls ``prim.call`` on plain values)."""
    seen = {}
    original = prim.call

    def spy(*leaves, _call, **params):
        seen.setdefault("args", (leaves, _call))
        return original(*leaves, _call=_call, **params)

    prim.call = spy
    try:
        fgrad.grad(fun)(x)
    finally:
        prim.call = original
    return seen["args"]


@pytest.mark.parametrize("case", ["scan", "reverse scan", "switch", "while"])
def test_per_argument_jvp_rules_against_finite_differences(case):
    # a replay of recorded rows (fgrad.jit, make_graph) differentiates a primitive one
    # argument at a time with its per-argument jvp rules: each must be right alone
    from fgrad.autodiff import ForwardTrace, ForwardTracer

    prim, fun = {
        "scan": (lax._SCAN, lambda w: lax.scan(
            lambda c, x: (fnp.sin(c * w + x), (c * x, c > 0)), 0.3, XS)[0]),
        "reverse scan": (lax._SCAN, lambda w: lax.scan(
            lambda c, x: (fnp.sin(c * w + x), c * x), 0.3, XS, reverse=True)[0]),
        "switch": (lax._SWITCH, lambda w: lax.switch(
            1, [fnp.sin, lambda x: (x * w) ** 2, fnp.cos], w)),
        "while": (lax._WHILE, lambda t: lax.while_loop(
            lambda v: v < t, lambda v: v * 1.7 + 0.1, 0.5)),
    }[case]
    leaves, call = _captured_call(prim, fun, 0.7 if case != "while" else 3.0)
    rng = np.random.default_rng(1)
    for i, leaf in enumerate(leaves):
        if np.asarray(leaf).dtype.kind != "f":
            continue
        t = rng.normal(size=np.shape(leaf))
        trace = ForwardTrace()
        try:
            args = [ForwardTracer(v, trace, t) if k == i else v for k, v in enumerate(leaves)]
            out = trace.process(prim, args, {"_call": call})
        finally:
            trace.alive = False
        eps = 1e-6
        shifted = [list(leaves), list(leaves)]
        shifted[0][i] = leaf + eps * t
        shifted[1][i] = leaf - eps * t
        fd = (prim.impl(*shifted[0], _call=call) - prim.impl(*shifted[1], _call=call)) / (2 * eps)
        close(out.tangent, fd, tol=1e-6)


# --------------------------------------------------------------------------
# errors
# --------------------------------------------------------------------------


def test_carry_that_changes_shape_or_dtype_raises():
    with pytest.raises(TypeError, match="must keep shape"):
        lax.scan(lambda c, x: (fnp.stack([c, c]), None), 0.0, XS)
    with pytest.raises(TypeError, match=r"dtype.*e\.g\. 0\.0 instead of 0"):
        lax.scan(lambda c, x: (c + x, None), 0, XS)
    with pytest.raises(TypeError, match="structure"):
        lax.scan(lambda c, x: ((c, c), None), 0.0, XS)
    with pytest.raises(TypeError, match="must keep shape"):
        lax.while_loop(lambda c: c.sum() < 3, lambda c: fnp.concatenate([c, c]), np.ones(1))
    with pytest.raises(TypeError, match="must return a pair"):
        lax.scan(lambda c, x: c, 0.0, XS)


def test_the_body_is_staged_once_per_scan():
    """As in JAX, a long scan traces its body once (fgrad.jit) and replays it: Python side
    effects in the body happen once per scan, not once per step."""
    from fgrad.lax import _STAGE_MIN_LENGTH

    steps = []

    def f(c, x):
        steps.append(1)
        return c + x, c * x

    xs = np.arange(float(_STAGE_MIN_LENGTH + 4))
    c, ys = lax.scan(f, 0.0, xs)
    assert len(steps) == 1
    want_c, want_ys = 0.0, []
    for x in xs:
        want_ys.append(want_c * x)
        want_c = want_c + x
    assert c == want_c and list(ys) == want_ys


def test_ys_that_change_between_steps_raise():
    steps = []

    def f(c, x):
        steps.append(1)
        return c + 1, fnp.zeros(len(steps))

    # with NaN debugging on, nothing is staged: the body runs (and is checked) every step
    with fgrad.debug_nans(), pytest.raises(TypeError, match="changes from one step to the next"):
        lax.scan(f, 0, None, length=3)


def test_bad_scan_arguments():
    with pytest.raises(ValueError, match="give length="):
        lax.scan(lambda c, x: (c, x), 0.0, None)
    with pytest.raises(ValueError, match="does not match"):
        lax.scan(lambda c, x: (c, x), 0.0, XS, length=3)
    with pytest.raises(ValueError, match="different leading lengths"):
        lax.scan(lambda c, x: (c, x), 0.0, (XS, np.ones(2)))
    with pytest.raises(ValueError, match="leading axis"):
        lax.scan(lambda c, x: (c, x), 0.0, 1.0)
    with pytest.raises(TypeError, match="must be a function"):
        lax.scan(3, 0.0, XS)
    with pytest.raises(TypeError, match="not a number"):
        lax.scan(lambda c, x: (c, x), "a", XS)
    with pytest.raises(TypeError, match="unroll"):
        lax.scan(lambda c, x: (c, x), 0.0, XS, unroll=0)


def test_mismatched_branch_outputs_raise():
    # both branches run under vmap with a batched predicate: compared there
    with pytest.raises(TypeError, match="branches return different"):
        fgrad.vmap(lambda x: lax.cond(x > 0, lambda x: x, lambda x: fnp.stack([x, x]), x))(
            np.ones(3))
    with pytest.raises(TypeError, match="branches return different"):
        fgrad.vmap(lambda x: lax.cond(x > 0, lambda x: x, lambda x: (x,), x))(np.ones(3))
    with pytest.raises(TypeError, match="branches return different"):
        fgrad.vmap(lambda i: lax.switch(i, [lambda: 1.0, lambda: np.float32(1.0)]))(
            np.arange(2))


def test_bad_predicate_and_index():
    with pytest.raises(TypeError, match="pred must be a scalar"):
        lax.cond(np.array([True, False]), lambda: 1.0, lambda: 2.0)
    with pytest.raises(TypeError, match="index must be an integer"):
        lax.switch(1.5, [lambda: 1.0, lambda: 2.0])
    with pytest.raises(TypeError, match="index must be a scalar"):
        lax.switch(np.arange(2), [lambda: 1.0, lambda: 2.0])
    with pytest.raises(TypeError, match="scalar boolean"):
        lax.while_loop(lambda c: c < np.ones(2), lambda c: c + 1.0, 0.0)
    with pytest.raises(ValueError, match="at least one branch"):
        lax.switch(0, [], 1.0)


def test_scan_complex_and_real_leaves_together():
    def body(c, x, w):
        return (c[0] * (1j * w) + x, c[1] * w), fnp.abs(c[0]) ** 2

    def f(w, scan=lax.scan):
        step = functools.partial(lambda w, c, x: body(c, x, w), w)
        (z, r), ys = (scan(step, (1.0 + 0j, 1.0), XS) if scan
                      else loop_scan(step, (1.0 + 0j, 1.0), XS))
        return fnp.real(z) + r + fnp.sum(ys)

    for t in (fgrad.grad, fgrad.jacfwd, fgrad.hessian):
        close(t(f)(0.7), t(lambda w: f(w, None))(0.7))
    # a complex value closed over: fgrad's convention for grad of a real function of z
    g = lambda z: fnp.real(lax.scan(lambda c, x: (c * z + x, None), 1.0 + 0j, XS)[0])  # noqa: E731
    gref = lambda z: fnp.real(loop_scan(lambda c, x: (c * z + x, None), 1.0 + 0j, XS)[0])  # noqa: E731
    close(fgrad.grad(g)(0.5 + 0.2j), fgrad.grad(gref)(0.5 + 0.2j))


def test_an_error_of_a_branch_run_again_in_the_backward_pass_is_its_own():
    runs = []

    def branch(x):
        runs.append(1)
        if len(runs) > 1:
            raise TypeError("the branch's own complaint")
        return x * 2.0

    with pytest.raises(TypeError, match="^the branch's own complaint$"):
        fgrad.grad(lambda x: lax.cond(True, branch, lambda x: x, x))(1.0)


def test_linearize_and_hvp_through_lax():
    f = lambda w: scan_loss(w, 0.3, XS)  # noqa: E731
    out, f_jvp = fgrad.linearize(f, 0.7)
    close(out, f(0.7))
    close(f_jvp(2.0), fgrad.jvp(f, (0.7,), (2.0,))[1])
    g = lambda x: lax.cond(x > 0, lambda x: fnp.sin(x) * x, lambda x: x ** 3, x)  # noqa: E731
    close(fgrad.hvp(g, (0.5,), (1.0,)), fgrad.hessian(g)(0.5))
    close(fgrad.hvp(f, (0.7,), (1.0,)), fgrad.hessian(f)(0.7))
    w = lambda x: lax.while_loop(lambda v: v < 10.0, lambda v: v * x, 1.0)  # noqa: E731
    s = lambda x: lax.switch(2, [fnp.sin, fnp.cos, lambda y: y * x], x)  # noqa: E731
    for fun in (w, s, g):
        out, f_jvp = fgrad.linearize(fun, 1.7)
        assert not isinstance(out, fgrad.core.Tracer)
        close(out, fun(1.7))
        close(f_jvp(0.5), fgrad.jvp(fun, (1.7,), (0.5,))[1])


def test_integers_too_large_to_travel_with_floats_raise():
    def f(w):
        return lax.scan(lambda c, x: ((c[0] + 1, c[1] * w), None), (2 ** 60, 1.0), XS)[0]

    assert f(1.0)[0] == 2 ** 60 + 5  # untraced, nothing is packed: exact
    with pytest.raises(ValueError, match="2\\*\\*53"):
        fgrad.grad(lambda w: f(w)[1])(1.0)
    with pytest.raises(ValueError, match="2\\*\\*53"):
        lax.while_loop(lambda c: c[0] < 2 ** 60 + 2, lambda c: (c[0] + 1, c[1]), (2 ** 60, 1.0))


@settings(max_examples=15, deadline=None)
@given(st.lists(st.floats(-3.0, 30.0), min_size=1, max_size=5), st.floats(1.1, 2.0))
def test_while_loop_vmap_hypothesis_trip_counts(limits, rate):
    limits = np.array(limits)

    def f(limit, x):
        return lax.while_loop(lambda c: c[1] < limit, lambda c: (c[0] + 1, c[1] * rate + x),
                              (0, 1.0))

    got = fgrad.vmap(f, in_axes=(0, None))(limits, 0.5)
    want = [loop_while(lambda c, lim=lim: c[1] < lim,
                       lambda c: (c[0] + 1, c[1] * rate + 0.5), (0, 1.0)) for lim in limits]
    assert got[0].tolist() == [w[0] for w in want]
    close(got[1], [w[1] for w in want])
    tangents = fgrad.jvp(lambda x: fgrad.vmap(f, in_axes=(0, None))(limits, x)[1], (0.5,), (1.0,))
    close(tangents[1], [fgrad.jvp(lambda x, lim=lim: loop_while(
        lambda c: c[1] < lim, lambda c: (c[0] + 1, c[1] * rate + x), (0, 1.0))[1],
        (0.5,), (1.0,))[1] for lim in limits])


def test_debug_nans_names_the_line_in_a_body():
    xs = np.array([1.0, 0.5, -1.0])
    with pytest.raises(FloatingPointError, match="'sqrt'.*\\n.*\\n.*test_lax.py"):
        with fgrad.debug_nans(), np.errstate(invalid="ignore"):
            fgrad.grad(lambda w: lax.scan(lambda c, x: (c + fnp.sqrt(x * w), c), 0.0, xs)[0])(1.0)


# --------------------------------------------------------------------------
# under fgrad.jit: the same numbers as eagerly, in every composition
# --------------------------------------------------------------------------

def _rnn(w, xs):  # a scan long enough to stage its body (and a short one below)
    def step(h, x):
        h = fnp.tanh(w * h + x)
        return h, h * h
    h, ys = lax.scan(step, 0.1, xs)
    return h + fnp.sum(ys)


def _short_reverse_scan(w, xs):
    c, ys = lax.scan(lambda c, x: (c * fnp.sin(w + x), c + x), 1.0, xs[:3], reverse=True)
    return c + fnp.sum(ys)


def _fori(w, xs):
    return lax.fori_loop(0, 20, lambda i, c: c * 0.9 + fnp.sin(w * i) * fnp.take(xs, i), 0.0)


def _cond(w, xs):
    s = fnp.sum(xs)
    return lax.cond(s > 0, lambda s: fnp.sin(w * s), lambda s: fnp.cos(w) * s, s)


def _switch(w, xs):
    i = fnp.argmax(xs[:3])
    return lax.switch(i, [lambda v: v * w, lambda v: fnp.exp(v * w), lambda v: v - w], xs[0])


JIT_CASES = {"scan": _rnn, "short reverse scan": _short_reverse_scan, "fori_loop": _fori,
             "cond": _cond, "switch": _switch}


@pytest.mark.parametrize("name", sorted(JIT_CASES))
def test_lax_under_jit_equals_eager(name):
    f = JIT_CASES[name]
    rng = np.random.default_rng(3)
    w, xs = 0.7, rng.normal(size=24) * 0.5
    for fun, args in [(f, (w, xs)), (fgrad.grad(f), (w, xs)),
                      (fgrad.grad(f, argnums=1), (w, xs)),
                      (lambda w, xs: fgrad.jvp(lambda w: f(w, xs), (w,), (1.0,))[1], (w, xs)),
                      (fgrad.vmap(f, in_axes=(0, None)), (np.array([0.3, 0.7, -0.4]), xs))]:
        staged = fgrad.jit(fun)
        want = fun(*args)
        for _ in range(3):  # the tracing call, the compiling replay, a compiled replay
            np.testing.assert_allclose(staged(*args), want, rtol=1e-13, atol=1e-15)
    xs2 = -xs  # other values, same signature: the replay takes the other branch / path
    for fun in (f, fgrad.grad(f)):
        np.testing.assert_allclose(fgrad.jit(fun)(w, xs2), fun(w, xs2), rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("name", sorted(JIT_CASES))
def test_grad_of_a_jitted_lax_function_equals_eager(name):
    f = JIT_CASES[name]
    xs = np.random.default_rng(4).normal(size=24) * 0.5
    staged = fgrad.jit(f)
    staged(0.7, xs)  # cached: the program is replayed on grad's tracers below
    np.testing.assert_allclose(fgrad.grad(staged)(0.7, xs), fgrad.grad(f)(0.7, xs), rtol=1e-13)
    np.testing.assert_allclose(fgrad.hessian(staged)(0.7, xs), fgrad.hessian(f)(0.7, xs),
                               rtol=1e-12)


def test_while_loop_under_jit_forward_mode():
    def f(w):
        return lax.while_loop(lambda c: c[0] < 10, lambda c: (c[0] + 1, c[1] * w + 1.0),
                              (0, 1.0))[1]

    for fun in (f, lambda w: fgrad.jvp(f, (w,), (1.0,))[1]):
        assert fgrad.jit(fun)(0.9) == fun(0.9)
        assert fgrad.jit(fun)(1.1) == fun(1.1)


def test_a_staged_scan_leaves_out_the_stacked_carries_unless_reverse_mode_reads_them():
    xs = np.linspace(-1, 1, 40)
    fwd = fgrad.make_program(_rnn)(0.7, xs)
    back = fgrad.make_program(fgrad.grad(_rnn))(0.7, xs)
    scans = [e for e in fwd.eqns if e.prim.name == "lax.scan"]
    assert len(scans) == 1 and scans[0].params["_save"] is False
    # jit(grad): the forward scan keeps the residuals its backward steps read (as extra
    # ys), not the carries; the reverse scan keeps nothing of its own
    scans = [e for e in back.eqns if e.prim.name == "lax.scan"]
    assert [e.params["_save"] for e in scans] == [False, False]
    assert "forward step" in repr(scans[0].params["_call"])


def test_indexing_a_numpy_array_with_a_loop_index_says_to_use_take():
    xs = np.linspace(0.0, 1.0, 24)
    with pytest.raises(TypeError, match=r"fnp\.take\(xs, i\)"):
        lax.fori_loop(0, 20, lambda i, c: c + xs[i], 0.0)
    want = sum(xs[:20])
    assert np.isclose(lax.fori_loop(0, 20, lambda i, c: c + fnp.take(xs, i), 0.0), want)


# --------------------------------------------------------------------------
# scan under reverse mode: residuals saved by the forward steps, backward steps
# that do not run the forward step again
# --------------------------------------------------------------------------

T_LONG = 40  # long enough to stage the step (lax._STAGE_MIN_LENGTH)


def _tanh_rnn(W, U, b, xs, h0):
    def step(h, x):
        return fnp.tanh(h @ W + x @ U + b), fnp.sum(h * h)

    h, ys = lax.scan(step, h0, xs)
    return fnp.sum(h ** 3) + fnp.sum(fnp.sin(ys))


def _sigmoid_body(W, U, b, xs, h0):  # exp's vjp reads its output; a division
    def step(h, x):
        h = 1.0 / (1.0 + fnp.exp(-(W[0, 0] * h + x[0] @ U + b)))
        return h, h * x[1, 0]

    h, ys = lax.scan(step, h0[0], xs)
    return fnp.sum(h) + fnp.sum(ys ** 2)


def _matmul_body(W, U, b, xs, h0):  # the carry is a matrix, multiplied from both sides
    def step(m, x):
        m = fnp.tanh(W @ m @ W.T * 0.5 + b)
        return m, fnp.sum(x @ U * m[0])

    m, ys = lax.scan(step, W * 0.3, xs)
    return fnp.sum(m * m) + fnp.sum(ys)


def _reverse_body(W, U, b, xs, h0):
    def step(h, x):
        return fnp.sin(h @ W + x @ U) * fnp.cos(b), h[0] * x[1, 0]

    h, ys = lax.scan(step, h0, xs, reverse=True)
    return fnp.sum(fnp.log1p(h * h)) + fnp.sum(ys)


def _pytree_body(W, U, b, xs, h0):  # a dict carry with an integer counter, tuple xs/ys
    def step(c, x):
        a, n = c["a"], c["n"]
        a2 = fnp.tanh(a @ W + x[0] @ U) + x[1] * b
        return {"a": a2, "n": n + 1, "s": c["s"] + fnp.sum(a2)}, (a2[0], n)

    init = {"a": h0, "n": 0, "s": 0.0}
    c, (ys, ns) = lax.scan(step, init, (xs, xs[:, :, :1] * 0.5))
    return fnp.sum(c["a"]) * c["s"] + fnp.sum(ys ** 2)


def _no_xs_body(W, U, b, xs, h0):  # xs=None with length=
    def step(h, _):
        return fnp.tanh(h @ W + b), fnp.sum(h)

    h, ys = lax.scan(step, h0, None, length=T_LONG)
    return fnp.sum(h) + fnp.sum(ys * ys)


def _shared_weight_body(W, U, b, xs, h0):  # W twice: its cotangent sums two terms
    def step(h, x):
        a = fnp.tanh(h @ W + x @ U)
        return fnp.tanh(a @ W + b), fnp.sum(a * x[:, :1])

    h, ys = lax.scan(step, h0, xs)
    return fnp.sum(h * h) + fnp.sum(fnp.cos(ys))


RESIDUAL_BODIES = {"shared weight": _shared_weight_body, "tanh rnn": _tanh_rnn, "sigmoid": _sigmoid_body, "matmul": _matmul_body,
                   "reverse": _reverse_body, "pytree": _pytree_body, "no xs": _no_xs_body}


def _residual_args(seed=7):
    rng = np.random.default_rng(seed)
    H, D, B = 4, 3, 2
    return (rng.normal(size=(H, H)) * 0.4, rng.normal(size=(D, H)) * 0.5,
            rng.normal(size=H) * 0.3, rng.normal(size=(T_LONG, B, D)),
            rng.normal(size=(B, H)) * 0.5)


def _as_loop(f):
    """``f`` with lax.scan replaced by the Python loop (the eager reference)."""
    def run(*args):
        saved = lax.scan
        try:
            lax.scan = loop_scan
            return f(*args)
        finally:
            lax.scan = saved
    return run


def _scan_calls(f, args, argnums):
    prog = fgrad.make_program(fgrad.grad(f, argnums=argnums))(*args)
    return [e.params["_call"] for e in prog.eqns if e.prim.name == "lax.scan"]


@pytest.mark.parametrize("name", sorted(RESIDUAL_BODIES))
def test_scan_residual_gradients_equal_the_loop_and_differences(name):
    f = RESIDUAL_BODIES[name]
    args = _residual_args()
    argnums = (0, 1, 2, 3, 4)
    want = fgrad.grad(_as_loop(f), argnums=argnums)(*args)
    got = fgrad.grad(f, argnums=argnums)(*args)
    staged = fgrad.jit(fgrad.grad(f, argnums=argnums))
    for _ in range(3):  # the tracing call, the compiling replay, a compiled replay
        close(staged(*args), want, 1e-12)
    close(got, want, 1e-12)
    # central differences along a random direction of every argument
    rng = np.random.default_rng(1)
    dirs = [rng.normal(size=np.shape(a)) for a in args]
    eps = 1e-6
    plus = f(*[a + eps * d for a, d in zip(args, dirs)])
    minus = f(*[a - eps * d for a, d in zip(args, dirs)])
    slope = sum(float(np.sum(g * d)) for g, d in zip(got, dirs))
    assert np.isclose(slope, (plus - minus) / (2 * eps), rtol=1e-6, atol=1e-7)
    # the residual path was taken: the forward scan is the forward step with residuals
    calls = _scan_calls(f, args, argnums)
    assert len(calls) == 2 and "forward step" in repr(calls[0]), calls


def _step_rows(call, like):
    """The rows one step of a staged scan runs (its step traced on zeros)."""
    ins = [np.zeros(np.shape(a), np.result_type(a)) for a in like]
    k, c, xs = call.split(ins)
    prog = fgrad.make_program(lambda k, c, x: call.step(k, c, x))(k, c, [x[0] for x in xs])
    return [e.prim.name for e in prog.eqns]


def test_the_backward_steps_of_an_rnn_do_not_run_the_forward_step_again():
    W, U, b, xs, h0 = _residual_args()
    back = fgrad.make_program(fgrad.grad(_tanh_rnn, argnums=(0, 1, 2)))(W, U, b, xs, h0)
    scans = [e for e in back.eqns if e.prim.name == "lax.scan"]
    assert len(scans) == 2
    env = {v.id: np.zeros(v.shape, v.dtype) for v in back.inputs}
    for e in back.eqns:  # only shapes matter: zeros of each value's shape
        env[e.out.id] = np.zeros(e.out.shape, e.out.dtype)
    like = [[env[a.id] if hasattr(a, "id") else a.value for a in e.inputs] for e in scans]
    forward = _step_rows(scans[0].params["_call"], like[0])
    backward = _step_rows(scans[1].params["_call"], like[1])
    assert forward.count("tanh") == 1
    # the backward step reads tanh's output from the residuals: no tanh, and one matmul
    # (the carry's cotangent delta @ W.T); the weights' cotangents h.T @ delta and
    # x.T @ delta are made once after the reverse scan, from the stacked deltas
    assert "tanh" not in backward and backward.count("matmul") == 1, (backward, forward)
    after = [e.out.shape for e in back.eqns if e.prim.name == "matmul"]
    assert W.shape in after and U.shape in after, after
    # and the recomputing path (kept for large residuals) does run tanh again
    old = lax._RESIDUAL_FACTOR
    try:
        lax._RESIDUAL_FACTOR = -1
        calls = _scan_calls(_tanh_rnn, (W, U, b, xs, h0), (0, 1, 2))
    finally:
        lax._RESIDUAL_FACTOR = old
    assert "forward step" not in repr(calls[0])


def test_residual_and_recomputing_paths_agree_to_rounding(monkeypatch):
    for _, f in sorted(RESIDUAL_BODIES.items()):
        args = _residual_args(3)
        g = fgrad.grad(f, argnums=(0, 1, 2, 3, 4))
        fast = [g(*args), fgrad.jit(g)(*args)]
        monkeypatch.setattr(lax, "_RESIDUAL_FACTOR", -1)
        slow = [g(*args), fgrad.jit(g)(*args)]
        monkeypatch.setattr(lax, "_RESIDUAL_FACTOR", 3)
        for a, b in zip(fast, slow):
            close(a, b, 1e-13)


def test_large_residuals_and_checkpoint_keep_the_recomputing_path():
    rng = np.random.default_rng(5)
    n = 6
    v, xs = rng.normal(size=n), rng.normal(size=(T_LONG, n))

    def big(w):  # the step builds an n x n matrix from n-vectors: not kept per step
        def step(h, x):
            A = fnp.outer(h, x) * w
            return fnp.tanh(A @ v + x), None
        return fnp.sum(lax.scan(step, np.ones(n) * 0.1, xs)[0])

    def remat(w):  # checkpoint in the body asks for recomputation
        def step(h, x):
            return fgrad.checkpoint(lambda h, w, x: fnp.tanh(h * w + x))(h, w, x), None
        return fnp.sum(lax.scan(step, np.ones(n) * 0.1, xs)[0])

    for f in (big, remat):
        want = fgrad.grad(_as_loop(f))(0.7)
        assert np.isclose(fgrad.grad(f)(0.7), want, rtol=1e-12)
        assert np.isclose(fgrad.jit(fgrad.grad(f))(0.7), want, rtol=1e-12)
        calls = _scan_calls(f, (0.7,), 0)
        assert "forward step" not in repr(calls[0]), calls


@pytest.mark.parametrize("how", ["hessian", "jvp of grad", "vmap of grad", "grad of jit grad",
                                 "vjp called twice"])
def test_transforms_around_a_long_scan_under_reverse_mode(how):
    W, U, b, xs, h0 = _residual_args(11)

    def f(w):
        return _tanh_rnn(W * w, U, b, xs, h0)

    ref = _as_loop(f)
    if how == "hessian":
        close(fgrad.hessian(f)(0.9), fgrad.hessian(ref)(0.9), 1e-11)
    elif how == "jvp of grad":
        close(fgrad.jvp(fgrad.grad(f), (0.9,), (1.0,)),
              fgrad.jvp(fgrad.grad(ref), (0.9,), (1.0,)), 1e-11)
    elif how == "vmap of grad":
        ws = np.array([0.5, 0.9, 1.1])
        close(fgrad.vmap(fgrad.grad(f))(ws), [fgrad.grad(ref)(w) for w in ws], 1e-11)
    elif how == "grad of jit grad":
        staged = fgrad.jit(fgrad.grad(f))
        staged(0.9)  # cached: replayed on grad's tracers below
        close(fgrad.grad(staged)(0.9), fgrad.hessian(ref)(0.9), 1e-11)
        close(fgrad.vmap(staged)(np.array([0.9, 1.0])),
              [fgrad.grad(ref)(0.9), fgrad.grad(ref)(1.0)], 1e-11)
    else:  # the pullback of fgrad.vjp keeps the residuals for each call
        out, pull = fgrad.vjp(f, 0.9)
        _, pull_ref = fgrad.vjp(ref, 0.9)
        close(pull(1.0), pull_ref(1.0), 1e-12)
        close(pull(2.0), pull_ref(2.0), 1e-12)


def test_scan_residual_memory_grows_linearly_with_the_steps():
    import tracemalloc

    rng = np.random.default_rng(2)
    H, D, B = 32, 8, 4
    W, U = rng.normal(size=(H, H)) / np.sqrt(H), rng.normal(size=(D, H)) / np.sqrt(D)

    def loss(W, xs):
        h = lax.scan(lambda h, x: (fnp.tanh(h @ W + x @ U), None), np.zeros((B, H)), xs)[0]
        return fnp.sum(h * h)

    peaks = {}
    for T in (1000, 2000):
        xs = rng.normal(size=(T, B, D))
        g = fgrad.jit(fgrad.grad(loss))
        g(W, xs)
        g(W, xs)
        tracemalloc.start()
        g(W, xs)
        peaks[T] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    per_step = B * (H + D) * 8  # one step's carry and x, in bytes
    # two residuals of the carry's size per step (the carry, 1 - tanh**2), and the
    # cotangents of xs: about 3.6 x (carry + x) per step, nothing quadratic
    for T, peak in peaks.items():
        assert peak < 5 * T * per_step, (peaks, per_step)
    assert 1.6 < peaks[2000] / peaks[1000] < 2.4, peaks
