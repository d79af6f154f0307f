"""The work jit(grad) of a tanh MLP stages, equation by equation (issue 15's MLP targets).

The large-MLP target is bounded by its matrix products (see docs/performance.md): these
tests pin what the rest of the optimised program does, so that a rule or pass change
that adds work shows here and not only as a slower benchmark.  The gradient program
of a three-layer tanh MLP with a softmax cross-entropy must

* run exactly the products the gradient needs: three forward, five backward, none for
  the derivative of the data (whose cotangent nobody reads), counted in multiply-adds;
* feed the backward products transposed *views* (numpy hands them to BLAS as such);
* reuse the forward's tanh values (no second tanh) and write every elementwise
  equation on a (batch, hidden) array into a dead intermediate (``out=``);
* and give eager ``grad``'s values, bit for bit, on fresh inputs.
"""

import numpy as np
import pytest

import fgrad
import fgrad.numpy as fnp
from fgrad.jit import optimized
from fgrad.program import Var
from fgrad.tree import tree_leaves

B, D, H1, H2, C = 5, 7, 6, 4, 3  # all different: an array's shape says what it is


def _loss(p, x, y):
    h = fnp.tanh(x @ p["W1"] + p["b1"])
    h = fnp.tanh(h @ p["W2"] + p["b2"])
    z = h @ p["W3"] + p["b3"]
    m = fnp.max(z, axis=1, keepdims=True)
    lse = fnp.log(fnp.sum(fnp.exp(z - m), axis=1, keepdims=True)) + m
    return fnp.mean(lse - fnp.sum(z * y, axis=1, keepdims=True))


def _args(seed):
    rng = np.random.default_rng(seed)
    dims = (D, H1, H2, C)
    p = {}
    for i, (a, b) in enumerate(zip(dims[:-1], dims[1:]), start=1):
        p[f"W{i}"] = rng.standard_normal((a, b)) / np.sqrt(a)
        p[f"b{i}"] = 0.1 * rng.standard_normal(b)
    x = rng.standard_normal((B, D))
    y = np.eye(C)[rng.integers(0, C, B)]
    return p, x, y


@pytest.fixture(scope="module")
def program():
    args = _args(0)
    return optimized(fgrad.make_program(fgrad.grad(_loss))(*args), tree_leaves(args))


def _macs(e):
    (m, k), (k2, n) = e.inputs[0].shape, e.inputs[1].shape
    assert k == k2
    return m * n * k


def test_only_the_products_the_gradient_needs(program):
    products = [e for e in program.eqns if e.prim.name in ("matmul", "dot", "einsum",
                                                           "tensordot", "vecdot")]
    assert [e.prim.name for e in products] == ["matmul"] * 8
    forward = B * (D * H1 + H1 * H2 + H2 * C)
    # backward: dW3, dh2, dW2, dh1, dW1 -- and no dx, which costs B * D * H1 more
    backward = H2 * C * B + B * C * H2 + H1 * H2 * B + B * H2 * H1 + D * H1 * B
    assert sum(map(_macs, products)) == forward + backward
    assert not any(e.out.shape == (B, D) for e in program.eqns)  # no cotangent of x
    # the gradient's outputs are the last products: nothing after dW1 but bias sums
    assert [o.shape for o in program.outputs] == [(D, H1), (H1, H2), (H2, C), (H1,), (H2,), (C,)]


def test_backward_products_read_transposed_views(program):
    args = _args(1)
    leaves = tree_leaves(args)
    env = {v: x for v, x in zip(program.inputs, leaves)}
    transposes = 0
    for e in program.eqns:
        vals = [env[a] if type(a) is Var else a.value for a in e.inputs]
        env[e.out] = out = e.prim.call(*vals, **e.params)
        if e.prim.name == "transpose":
            transposes += 1
            assert out.base is not None and np.shares_memory(out, vals[0])  # no copy
    assert transposes == 5  # W3, h2, W2, h1, x


def test_elementwise_work_goes_into_dead_buffers(program):
    names = [e.prim.name for e in program.eqns]
    assert names.count("tanh") == 2  # the backward reuses the forward's tanh values
    plan = program.buffers
    hidden = [i for i, e in enumerate(program.eqns)
              if e.out.shape in ((B, H1), (B, H2)) and isinstance(e.prim.impl, np.ufunc)
              and e.prim.impl.signature is None]
    # forward: bias add, tanh (x2); backward: square, 1 - that, times the cotangent (x2)
    assert sorted(names[i] for i in hidden) == sorted(["add", "tanh"] * 2
                                                      + ["square", "subtract", "multiply"] * 2)
    assert all(i in plan for i in hidden)
    assert "out=" in program.source


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_jit_grad_equals_eager_grad(seed):
    g = fgrad.jit(fgrad.grad(_loss))
    g(*_args(0))  # traces; the calls below replay the compiled, optimised program
    args = _args(seed)
    copies = [np.copy(v) for v in tree_leaves(args)]
    got, want = g(*args), fgrad.grad(_loss)(*args)
    assert sorted(got) == sorted(want)
    for k in want:
        np.testing.assert_array_equal(got[k], want[k])
        assert got[k].flags.c_contiguous == want[k].flags.c_contiguous
    for v, c in zip(tree_leaves(args), copies):  # the caller's arrays are never written
        np.testing.assert_array_equal(v, c)
