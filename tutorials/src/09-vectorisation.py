# %% [markdown]
# # 9. Vectorisation: many derivatives in one pass
#
# The earlier notebooks took one derivative at a time: one gradient, one vector-Jacobian product, one
# Jacobian.  Real work often wants many at once: a gradient *per training example* (for clipping or
# for measuring how noisy a gradient is), a Jacobian applied to a whole matrix of directions, the
# curvature along many vectors.  A Python loop over them works, but each pass pays Python's and the
# library's fixed costs again, and numpy gets many small products where it could do one large one.
#
# This notebook introduces one more transform, `fgrad.vmap`, and composes it with the ones from
# notebooks 3 and 4 (`grad`, `jvp`, `vjp`, `jacfwd`, `jacrev`, `hessian`), plus two new ones,
# `linearize` and `hvp`.  Every result is checked against a plain loop or a closed form, and every
# section measures what the batched form saves.  Timings depend on the machine, so they are printed,
# never asserted.

# %%
import time

import numpy as np

import fgrad
import fgrad.numpy as fnp


def best_time(fn, repeat=5, number=3):
    """The fastest of `repeat` runs of `number` calls, in seconds per call."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        best = min(best, (time.perf_counter() - start) / number)
    return best


# %% [markdown]
# ## `vmap`: write the function for one example, run it on a batch
#
# `fgrad.vmap(f)` takes a function written for *one* example and returns a function of a whole
# batch: the inputs get an extra axis (the first, by default), `f` runs once on the whole batch,
# and the results come back stacked along a new first axis.  Inside `f` a batched value looks like
# one example (its `shape` leaves the batch axis out), so the function's code does not change.
# `in_axes` says which axis of each argument is the batch axis, or `None` for an argument that is
# the same for every example.
#
# The simplest case is a matrix times a batch of vectors.  Written for one vector, `A @ v` is a
# matrix-vector product; `vmap` turns it into *one* matrix-matrix product for the whole batch:

# %%
rng = np.random.default_rng(1)  # each cell draws its own data: it can run again
A = rng.standard_normal((200, 300))
V = rng.standard_normal((500, 300))  # 500 vectors of length 300, one per row

batched = fgrad.vmap(lambda v: A @ v)(V)
looped = np.stack([A @ v for v in V])
print("batched result:", batched.shape)
assert batched.shape == (500, 200)
assert np.allclose(batched, looped, rtol=1e-12, atol=1e-12)
assert np.allclose(batched, V @ A.T, rtol=1e-12, atol=1e-12)

# %% tags=["variable-output"]
t_loop = best_time(lambda: np.stack([A @ v for v in V]))
t_vmap = best_time(lambda: fgrad.vmap(lambda v: A @ v)(V))
t_gemm = best_time(lambda: V @ A.T)
print(f"loop of 500 matrix-vector products: {t_loop * 1e3:7.2f} ms")
print(f"vmap(lambda v: A @ v):              {t_vmap * 1e3:7.2f} ms")
print(f"one matrix-matrix product V @ A.T:  {t_gemm * 1e3:7.2f} ms")

# %% [markdown]
# Under `vmap`, fgrad folds the batch axis into the product: the 500 matrix-vector products become the
# single matrix-matrix product `A @ V.T`, and the cost is that product's plus a few microseconds of
# bookkeeping, far below the loop.  The same happens inside every transform below, which is what
# makes them fast.
#
# ## Per-example gradients
#
# Take logistic regression with weights `w`, one example `(x, y)` with label `y` in {0, 1}, and the
# per-example loss $\ell(w; x, y) = \log(1 + e^{z}) - y z$ with $z = w \cdot x$.  `fgrad.grad(loss)`
# is the gradient for *one* example; mapping it over the examples (and not over `w`, hence
# `in_axes=(None, 0, 0)`) gives one gradient per example.  Its closed form is
# $\nabla_w \ell = (\sigma(z) - y)\,x$, with $\sigma$ the logistic function.

# %%
rng = np.random.default_rng(2)
n_examples, n_features = 256, 50
X = rng.standard_normal((n_examples, n_features))
y = (rng.random(n_examples) < 0.5).astype(float)
w = 0.1 * rng.standard_normal(n_features)


def loss(w, x, y):
    z = fnp.dot(w, x)
    return fnp.logaddexp(0.0, z) - y * z


per_example = fgrad.vmap(fgrad.grad(loss), in_axes=(None, 0, 0))(w, X, y)
loop = np.stack([fgrad.grad(loss)(w, X[i], y[i]) for i in range(n_examples)])
closed_form = (1 / (1 + np.exp(-X @ w)) - y)[:, None] * X

print("per-example gradients:", per_example.shape)
assert per_example.shape == (n_examples, n_features)
assert np.allclose(per_example, loop, rtol=1e-12, atol=1e-14)
assert np.allclose(per_example, closed_form, rtol=1e-10, atol=1e-12)

# %% [markdown]
# Their mean is the gradient of the mean loss, as linearity says; the per-example ones carry more:
# for instance how much they disagree, or each example's own norm (differentially private training
# clips every example's gradient to a maximum norm before averaging).

# %%
mean_loss = lambda w: fnp.mean(fgrad.vmap(loss, in_axes=(None, 0, 0))(w, X, y))  # noqa: E731
assert np.allclose(per_example.mean(axis=0), fgrad.grad(mean_loss)(w), rtol=1e-12, atol=1e-14)
norms = np.linalg.norm(per_example, axis=1)
print(f"per-example gradient norms: min {norms.min():.3f}, median {np.median(norms):.3f}, "
      f"max {norms.max():.3f}")
clipped = per_example * np.minimum(1.0, 1.0 / norms)[:, None]  # every norm at most 1
assert np.all(np.linalg.norm(clipped, axis=1) <= 1 + 1e-12)

# %% tags=["variable-output"]
t_loop = best_time(lambda: [fgrad.grad(loss)(w, X[i], y[i]) for i in range(n_examples)], number=1)
t_vmap = best_time(lambda: fgrad.vmap(fgrad.grad(loss), in_axes=(None, 0, 0))(w, X, y))
print(f"Python loop of {n_examples} grad calls: {t_loop * 1e3:7.2f} ms")
print(f"vmap(grad(loss)):                {t_vmap * 1e3:7.2f} ms   ({t_loop / t_vmap:.0f}x faster)")

# %% [markdown]
# The loop pays the fixed cost of a `grad` call (tracing set-up, the backward pass, the checks on
# inputs and outputs) 256 times; `vmap(grad(loss))` pays it once and hands numpy whole batches.
#
# ## Jacobian-matrix and matrix-Jacobian products
#
# Recall from notebook 4: for $f:\mathbb{R}^n \to \mathbb{R}^m$ with Jacobian $J$ (shape $m \times n$)
# at $x$, `fgrad.jvp(f, (x,), (u,))` returns $f(x)$ and $J u$ (forward mode, one direction $u$ in the
# input space), and `fgrad.vjp(f, x)` returns $f(x)$ and a function $v \mapsto v^\top J$ (reverse
# mode, one weighting $v$ of the outputs).  Mapping them over a batch of directions gives
# $J M$ for a matrix $M$ of $k$ columns and $M^\top J$ for $k$ rows, without ever forming $J$:

# %%
rng = np.random.default_rng(3)
n, m, k = 120, 80, 10
B = rng.standard_normal((m, n)) / np.sqrt(n)


def f(x):
    return fnp.tanh(B @ x) * fnp.sum(x ** 2)


x0 = rng.standard_normal(n)
J = fgrad.jacrev(f)(x0)  # the whole Jacobian, only to check against
assert J.shape == (m, n)

M_in = rng.standard_normal((n, k))  # k directions in the input space, as columns
JM = fgrad.vmap(lambda u: fgrad.jvp(f, (x0,), (u,))[1], in_axes=1, out_axes=1)(M_in)
assert JM.shape == (m, k)
assert np.allclose(JM, J @ M_in, rtol=1e-10, atol=1e-10)

M_out = rng.standard_normal((k, m))  # k weightings of the outputs, as rows
_, f_vjp = fgrad.vjp(f, x0)
MJ = fgrad.vmap(lambda v: f_vjp(v)[0])(M_out)
assert MJ.shape == (k, n)
assert np.allclose(MJ, M_out @ J, rtol=1e-10, atol=1e-10)
print("J M:", JM.shape, "  Mᵀ J:", MJ.shape)

# %% [markdown]
# `in_axes=1, out_axes=1` map over the *columns* of `M_in` and put the results back as columns.
# The vjp ran `f` once; the ten cotangents then went through its backward pass together.
#
# ## `linearize`: run the function once, apply its linear map many times
#
# `jvp` evaluates `f` and its derivative together, so ten calls of `jvp` run `f` ten times.
# `fgrad.linearize(f, x)` runs `f` once, records the tangent computation with the values it needs,
# and returns `f(x)` and the linear map $u \mapsto J u$; calling that map does only the derivative
# work.  It composes with `vmap` too:

# %%
out, f_lin = fgrad.linearize(f, x0)
assert np.allclose(out, f(x0))
u = M_in[:, 0]
assert np.allclose(f_lin(u), fgrad.jvp(f, (x0,), (u,))[1], rtol=1e-12, atol=1e-12)
JM_lin = fgrad.vmap(f_lin, in_axes=1, out_axes=1)(M_in)
assert np.allclose(JM_lin, JM, rtol=1e-12, atol=1e-12)

# %% tags=["variable-output"]
t_jvps = best_time(lambda: [fgrad.jvp(f, (x0,), (M_in[:, j],))[1] for j in range(k)])
t_lin = best_time(lambda: [f_lin(M_in[:, j]) for j in range(k)])
t_lin_vmap = best_time(lambda: fgrad.vmap(f_lin, in_axes=1, out_axes=1)(M_in))
print(f"{k} jvp calls:                 {t_jvps * 1e3:6.3f} ms")
print(f"{k} calls of the linearized f: {t_lin * 1e3:6.3f} ms")
print(f"vmap of the linearized f:     {t_lin_vmap * 1e3:6.3f} ms")

# %% [markdown]
# ## Hessian-vector products
#
# For a scalar function $g$, the Hessian $H$ ($n \times n$) costs $n$ derivative passes to form.
# Often only its action on a vector is needed (Newton-CG, the curvature along a direction, the
# largest eigenvalues by power iteration).  `fgrad.hvp(g, (x,), (v,))` computes $H v$ as the
# forward-mode derivative of the gradient along $v$ (forward over reverse) for a small multiple of
# one gradient's cost, whatever $n$ is; `fgrad.hessian(g)` builds the whole matrix.  Mapped over a
# batch of vectors, `hvp` gives $H V$:

# %%
rng = np.random.default_rng(4)
C = rng.standard_normal((150, n)) / np.sqrt(n)
d = rng.standard_normal(n) / np.sqrt(n)


def g(x):
    return fnp.sum(fnp.tanh(C @ x) ** 2) + 0.5 * fnp.sum(x ** 2) + 2.0 * fnp.dot(d, x) ** 2


H = fgrad.hessian(g)(x0)
assert H.shape == (n, n) and np.allclose(H, H.T, rtol=1e-10, atol=1e-12)
t_ = np.tanh(C @ x0)
H_closed = (C.T @ ((2 * (1 - t_ ** 2) * (1 - 3 * t_ ** 2))[:, None] * C) + np.eye(n)
            + 4.0 * np.outer(d, d))
assert np.allclose(H, H_closed, rtol=1e-10, atol=1e-10)

v = rng.standard_normal(n)
assert np.allclose(fgrad.hvp(g, (x0,), (v,)), H @ v, rtol=1e-10, atol=1e-10)
Vs = rng.standard_normal((k, n))
HV = fgrad.vmap(lambda v: fgrad.hvp(g, (x0,), (v,)))(Vs)
assert np.allclose(HV, Vs @ H, rtol=1e-10, atol=1e-10)  # rows H v_j (H is symmetric)

# %% [markdown]
# Power iteration needs only products $H v$: repeatedly applying $H$ to a vector and normalising
# turns it towards the eigenvector of the largest eigenvalue (here $g$'s last term makes that one
# stand out, so a hundred steps suffice).  Its estimate matches numpy's eigenvalue solver on the
# full matrix.

# %%
v = np.ones(n) / np.sqrt(n)
for _ in range(100):
    Hv = fgrad.hvp(g, (x0,), (v,))
    v = Hv / np.linalg.norm(Hv)
lam = v @ fgrad.hvp(g, (x0,), (v,))
top = np.linalg.eigvalsh(H)[-2:]
print(f"largest eigenvalue: power iteration {lam:.8f}, numpy {top[-1]:.8f} "
      f"(the next one: {top[0]:.4f})")
assert np.isclose(lam, top[-1], rtol=1e-8)

# %% tags=["variable-output"]
t_grad = best_time(lambda: fgrad.grad(g)(x0))
t_hvp = best_time(lambda: fgrad.hvp(g, (x0,), (v,)))
t_hess = best_time(lambda: fgrad.hessian(g)(x0))
print(f"grad:    {t_grad * 1e3:6.3f} ms")
print(f"hvp:     {t_hvp * 1e3:6.3f} ms  ({t_hvp / t_grad:.1f} x grad)")
print(f"hessian: {t_hess * 1e3:6.3f} ms  ({t_hess / t_grad:.1f} x grad, n = {n})")

# %% [markdown]
# ## `jacfwd` or `jacrev`? It depends on the shape
#
# `jacfwd` builds the Jacobian from one jvp per *input* (its columns), `jacrev` from one vjp per
# *output* (its rows); both push all of them through `vmap` in one pass, so the number of
# directions becomes the batch size.  For $f:\mathbb{R}^n \to \mathbb{R}^m$, forward mode carries a
# batch of $n$ tangents through every operation and reverse mode a batch of $m$ cotangents (plus
# one forward pass it records).  So a **tall** Jacobian ($m \gg n$: few inputs, many outputs)
# favours `jacfwd`, and a **wide** one ($m \ll n$: many inputs, few outputs, a loss being the
# extreme) favours `jacrev`.

# %%
def make(m, n, rng):
    W1 = rng.standard_normal((m, n)) / np.sqrt(n)
    return lambda x: fnp.sin(W1 @ fnp.tanh(x)) * 2.0


shapes = {"tall (m = 1000, n = 10)": (1000, 10), "wide (m = 10, n = 1000)": (10, 1000),
          "square (m = n = 200)": (200, 200)}
functions = {}
rng = np.random.default_rng(5)
for name, (m_, n_) in shapes.items():
    h, xh = make(m_, n_, rng), rng.standard_normal(n_)
    J_fwd, J_rev = fgrad.jacfwd(h)(xh), fgrad.jacrev(h)(xh)
    assert J_fwd.shape == J_rev.shape == (m_, n_)
    assert np.allclose(J_fwd, J_rev, rtol=1e-10, atol=1e-12)
    functions[name] = (h, xh)
print("jacfwd and jacrev agree on all three shapes")

# %% tags=["variable-output"]
for name, (h, xh) in functions.items():
    t_fwd = best_time(lambda: fgrad.jacfwd(h)(xh), repeat=3, number=1)
    t_rev = best_time(lambda: fgrad.jacrev(h)(xh), repeat=3, number=1)
    faster = "jacfwd" if t_fwd < t_rev else "jacrev"
    print(f"{name:<24} jacfwd {t_fwd * 1e3:7.2f} ms   jacrev {t_rev * 1e3:7.2f} ms"
          f"   ({faster} faster, {max(t_fwd, t_rev) / min(t_fwd, t_rev):.1f}x)")

# %% [markdown]
# For a square Jacobian neither mode has the advantage of batch size, and the two are close.
# `fgrad.hessian` is `jacfwd(jacrev(g))`: reverse mode for the wide inner gradient (one output),
# then forward mode over its $n$ outputs.
#
# ## Summary
#
# | to compute | write | cost |
# |---|---|---|
# | one gradient per example | `vmap(grad(loss), in_axes=(None, 0, 0))` | one batched pass, not one call per example |
# | $J M$ for $k$ input directions | `vmap(lambda u: jvp(f, (x,), (u,))[1], in_axes=1, out_axes=1)` | one batched forward-mode pass |
# | $M^\top J$ for $k$ output weightings | `out, f_vjp = vjp(f, x)`, then `vmap(f_vjp)` | one forward pass, one batched backward pass |
# | many $J u$ at the same point | `out, f_lin = linearize(f, x)`, then `f_lin(u)` or `vmap(f_lin)` | `f` runs once |
# | $H v$ | `hvp(g, (x,), (v,))`, `vmap` for many $v$ | a small multiple of one gradient |
# | the whole Jacobian | `jacfwd` when tall ($m \gg n$), `jacrev` when wide ($m \ll n$) | $n$ (or $m$) directions in one batched pass |
