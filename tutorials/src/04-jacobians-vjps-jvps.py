# %% [markdown]
# # 4. Jacobians, VJPs and JVPs
#
# Seed 001 asks why PyTorch's `y.backward()` needs an argument of y's shape when `y` is not a scalar,
# and answers with a *projection*: for $\mathbf{y} = f(\mathbf{x})$ with Jacobian
# $J_{ij} = \partial y_i / \partial x_j$, `y.backward(v)` computes $\mathbf{v}^\top J$, the gradient of
# the scalar $l = \sum_i v_i y_i$.  The weights `v` project the rows of the Jacobian onto one vector.
#
# fgrad names these products for what they are:
#
# * `fgrad.vjp(f, x)` returns `f(x)` and a function `v -> vᵀJ` (**v**ector-**J**acobian **p**roduct,
#   reverse mode; this is `backward(v)`);
# * `fgrad.jvp(f, (x,), (u,))` returns `f(x)` and `J u` (**J**acobian-**v**ector **p**roduct, forward
#   mode);
# * `fgrad.jacrev` / `fgrad.jacfwd` build the whole Jacobian from one or the other, and
#   `fgrad.hessian` is `jacfwd(jacrev(f))`.

# %%
import time

import numpy as np

import fgrad
import fgrad.numpy as fnp

# %% [markdown]
# ## The projection view: Y = X²
#
# For elementwise $y_i = x_i^2$ the Jacobian is diagonal, $J = \mathrm{diag}(2x)$.  The seed projects it
# on $v = (1, 1, 1)$ at $x = (-1.5383, -0.2821, -0.2916)$ and gets $(-3.0765, -0.5643, -0.5832)$.

# %%
x = fnp.array([-1.5383, -0.2821, -0.2916])
J = fgrad.jacrev(lambda x: x**2)(x)
print("J =\n", J)
y, y_vjp = fgrad.vjp(lambda x: x**2, x)
(proj,) = y_vjp(fnp.ones(3))
print("vᵀJ with v = ones:", proj)
assert np.allclose(J, np.diag(2 * x))
assert np.allclose(proj, [-3.0765, -0.5643, -0.5832], atol=2e-4)  # the seed's numbers
assert np.allclose(proj, fnp.ones(3) @ J)

# %% [markdown]
# Any other weighting projects differently, and the vjp function can be called with as many as needed.
# The forward-mode product goes the other way, $J u$, a weighted sum of the Jacobian's *columns*:

# %%
v = fnp.array([1.0, 0.1, 0.01])
u = fnp.array([0.5, -1.0, 2.0])
(vJ,) = y_vjp(v)
_, Ju = fgrad.jvp(lambda x: x**2, (x,), (u,))
print("vᵀJ =", vJ, "   J u =", Ju)
assert np.allclose(vJ, v @ J) and np.allclose(Ju, J @ u)

# %% [markdown]
# ## The (5, 18, 34) example
#
# Seed 001's three component functions,
#
# $$y_1 = x_1^2 + 2x_2 + x_3,\quad y_2 = x_1 + x_2^3 + x_3^2,\quad y_3 = 2x_1 + x_2^2 + x_3^3,$$
#
# have the Jacobian
# $J = \begin{pmatrix} 2x_1 & 2 & 1 \\ 1 & 3x_2^2 & 2x_3 \\ 2 & 2x_2 & 3x_3^2 \end{pmatrix}$, and the
# projection on $v = (1, 1, 1)$ at $(1, 2, 3)$ is $(5, 18, 34)$.

# %%
def F(x):
    x1, x2, x3 = x[0], x[1], x[2]
    return fnp.stack([x1**2 + 2 * x2 + x3, x1 + x2**3 + x3**2, 2 * x1 + x2**2 + x3**3])


x0 = fnp.array([1.0, 2.0, 3.0])
J_rev, J_fwd = fgrad.jacrev(F)(x0), fgrad.jacfwd(F)(x0)
J_hand = np.array([[2 * 1, 2, 1], [1, 3 * 2**2, 2 * 3], [2, 2 * 2, 3 * 3**2]], dtype=float)
print(J_rev)
assert np.array_equal(J_rev, J_hand) and np.array_equal(J_fwd, J_hand)

_, F_vjp = fgrad.vjp(F, x0)
(vjp_ones,) = F_vjp(fnp.ones(3))
print("vᵀJ =", vjp_ones)
assert np.array_equal(vjp_ones, [5.0, 18.0, 34.0])

# %% [markdown]
# `jacrev` builds $J$ one row at a time, one vjp with each unit vector $e_i$; `jacfwd` one column at a
# time, one jvp with each $e_j$.  Doing it by hand shows there is nothing more to them:

# %%
rows = np.stack([F_vjp(e)[0] for e in np.eye(3)])
cols = np.stack([fgrad.jvp(F, (x0,), (e,))[1] for e in np.eye(3)], axis=1)
assert np.array_equal(rows, J_hand) and np.array_equal(cols, J_hand)

# %% [markdown]
# ## Shapes
#
# For an input of shape `T` and an output of shape `S` the Jacobian has shape `S + T`, whatever the
# mode; functions of several arguments give one block per argument with `argnums`.

# %%
A = np.arange(6.0).reshape(2, 3)


def g(W, b):
    return fnp.tanh(W @ A + b)  # (2, 2) @ (2, 3) + (3,) -> (2, 3)


W0, b0 = np.eye(2) * 0.1, np.zeros(3)
JW, Jb = fgrad.jacrev(g, argnums=(0, 1))(W0, b0)
print(JW.shape, Jb.shape)
assert JW.shape == (2, 3, 2, 2) and Jb.shape == (2, 3, 3)
assert np.allclose(JW, fgrad.jacfwd(g)(W0, b0))

# %% [markdown]
# ## Hessians
#
# The Hessian of a scalar function is the Jacobian of its gradient.  `fgrad.hessian` computes it as
# forward-over-reverse, `jacfwd(jacrev(f))`; the other three combinations give the same matrix.  For
# $\phi(x) = \sum_i y_i(x)$ (the sum of the three functions above) it is
# $\mathrm{diag}(2,\; 6x_2 + 2,\; 2 + 6x_3) = \mathrm{diag}(2, 14, 20)$ at $(1, 2, 3)$.

# %%
def phi(x):
    return F(x).sum()


H = fgrad.hessian(phi)(x0)
print(H)
assert np.array_equal(H, np.diag([2.0, 14.0, 20.0]))
for outer in (fgrad.jacfwd, fgrad.jacrev):
    for inner in (fgrad.jacfwd, fgrad.jacrev):
        assert np.allclose(outer(inner(phi))(x0), H)

# %% [markdown]
# ## Hessian-vector products
#
# Newton-type methods and curvature estimates need $H v$ for a few vectors $v$, not the $n \times n$
# matrix.  Forward-over-reverse gives it at the cost of a few gradients: differentiate the gradient
# function along $v$ with one jvp.
#
# $$H v = \frac{d}{d\epsilon} \nabla f(x + \epsilon v)\Big|_{\epsilon = 0}$$

# %%
def hvp(f, x, v):
    return fgrad.jvp(fgrad.grad(f), (x,), (v,))[1]


v = fnp.array([1.0, -1.0, 0.5])
print(hvp(phi, x0, v), H @ v)
assert np.allclose(hvp(phi, x0, v), H @ v)

# %% [markdown]
# The other orders work too (reverse-over-reverse: the gradient of $\nabla f \cdot v$), and agree:

# %%
def hvp_rev_rev(f, x, v):
    return fgrad.grad(lambda x: fnp.dot(fgrad.grad(f)(x), v))(x)


assert np.allclose(hvp_rev_rev(phi, x0, v), H @ v)

# %% [markdown]
# On a function of many variables the difference is large: the Hessian needs $n$ passes, the
# Hessian-vector product one.  Here is a smooth loss of $n = 300$ variables:

# %%
rng = np.random.default_rng(0)
n = 300
M = rng.normal(size=(n, n)) / np.sqrt(n)


def loss(x):
    return fnp.sum(fnp.log1p(fnp.exp(M @ x))) + 0.5 * fnp.dot(x, x)


xn, vn = rng.normal(size=n), rng.normal(size=n)
H_full = fgrad.hessian(loss)(xn)
assert np.allclose(hvp(loss, xn, vn), H_full @ vn)
assert np.allclose(H_full, H_full.T)
# by hand: H = Mᵀ diag(s (1 - s)) M + I with s = sigmoid(M x)
s = 1 / (1 + np.exp(-(M @ xn)))
assert np.allclose(H_full, M.T @ np.diag(s * (1 - s)) @ M + np.eye(n))

# %% tags=["variable-output"]
start = time.perf_counter()
fgrad.hessian(loss)(xn)
t_full = time.perf_counter() - start
start = time.perf_counter()
hvp(loss, xn, vn)
t_hvp = time.perf_counter() - start
print(f"full Hessian: {t_full * 1e3:.1f} ms;  one Hessian-vector product: {t_hvp * 1e3:.2f} ms")

# %% [markdown]
# ## Summary
#
# | question | tool | cost |
# |---|---|---|
# | gradient of a scalar loss | `grad`, `value_and_grad` | about one evaluation |
# | `backward(v)`: $v^\top J$ | `vjp(f, x)` then `f_vjp(v)` | one reverse pass per `v` |
# | directional derivative $J u$ | `jvp(f, (x,), (u,))` | one forward pass per `u` |
# | whole Jacobian | `jacrev` (few outputs), `jacfwd` (few inputs) | $m$ or $n$ passes |
# | Hessian | `hessian` = `jacfwd(jacrev(f))` | $n$ gradient-sized passes |
# | $H v$ | `jvp(grad(f), (x,), (v,))` | a few gradients |
