# %% [markdown]
# # 1. Automatic differentiation, functionally
#
# This notebook follows the "automatic differentiation" chapter of *Dive into Deep Learning* (the
# PyTorch notes and the MindSpore port in the seed documents) step by step, in fgrad's functional style.
#
# The one idea to carry through: **in fgrad a derivative is a function**.  There is no tensor that
# remembers how it was computed, no `.grad` slot to fill and no `backward()` call.  You write a plain
# Python function `f`, and `fgrad.grad(f)` is another plain function that returns the gradient.  Most
# of the differences from PyTorch below follow from that single change.

# %%
import time

import matplotlib.pyplot as plt
import numpy as np

import fgrad
import fgrad.numpy as fnp  # numpy's API, differentiable

# %% [markdown]
# ## A simple example: y = 2xᵀx
#
# The chapter differentiates $y = 2\mathbf{x}^\top\mathbf{x}$ with respect to a column vector
# $\mathbf{x}$.  By the product rule the gradient is $4\mathbf{x}$.
#
# In PyTorch one first marks `x` with `requires_grad_(True)` so that the tape has somewhere to store
# the gradient, computes `y`, calls `y.backward()` and reads `x.grad`.  In fgrad `x` is an ordinary
# array; the function is what we differentiate.

# %%
x = fnp.arange(4.0)


def y(x):
    return 2 * fnp.dot(x, x)


print("y(x)      =", y(x))
print("grad(y)(x) =", fgrad.grad(y)(x))

# %%
assert y(x) == 28.0
assert np.array_equal(fgrad.grad(y)(x), 4 * x)  # the seed's check: x.grad == 4 * x

# %% [markdown]
# `fgrad.grad(y)` returns a new function; nothing was stored anywhere.  `fgrad.value_and_grad` gives
# both numbers from one evaluation, which is what a training loop wants.

# %%
value, g = fgrad.value_and_grad(y)(x)
print(value, g)

# %% [markdown]
# ## A second function: nothing to zero
#
# In PyTorch, gradients *accumulate* into `x.grad`, so before differentiating another function of `x`
# one calls `x.grad.zero_()`; forgetting it silently adds the old gradient to the new one (the seed
# shows `[1, 1, 1, 1]` turning into `[2, 2, 2, 2]` after a second `backward()`).
#
# fgrad has no accumulator to reset.  Each call of a gradient function traces the function afresh and
# returns a new array, so calling it twice gives the same answer twice.

# %%
grad_sum = fgrad.grad(lambda x: x.sum())
first, second = grad_sum(x), grad_sum(x)
print(first, second)
assert np.array_equal(first, np.ones(4)) and np.array_equal(second, np.ones(4))

# %% [markdown]
# Accumulation is still available when you *want* it (summing the gradients of several mini-batches,
# for instance): it is ordinary addition, written where it happens.

# %%
accumulated = first + second
print(accumulated)  # what PyTorch's x.grad holds after two backward() calls without zero_()
assert np.array_equal(accumulated, [2.0, 2.0, 2.0, 2.0])

# %% [markdown]
# ## Non-scalar outputs
#
# For $\mathbf{y} = \mathbf{x} \odot \mathbf{x}$ the derivative is a Jacobian matrix.  PyTorch asks for
# a vector in `y.backward(v)` and returns $\mathbf{v}^\top J$; passing ones gives the gradient of
# `y.sum()`.  fgrad keeps the two apart: `grad` is for scalar functions, and refuses otherwise with a
# message that says what to use instead.

# %%
def square(x):
    return x * x


try:
    fgrad.grad(square)(x)
except TypeError as err:
    print("TypeError:", err)

# %% [markdown]
# The honest name for `backward(v)` is a **vector-Jacobian product**.  `fgrad.vjp` evaluates the
# function and returns a function that maps `v` to $\mathbf{v}^\top J$.  With `v = ones` it equals the
# gradient of the sum, as in the seed: `[0, 2, 4, 6]`.

# %%
out, square_vjp = fgrad.vjp(square, x)
(vjp_ones,) = square_vjp(fnp.ones(4))
grad_of_sum = fgrad.grad(lambda x: square(x).sum())(x)
print(vjp_ones, grad_of_sum)
assert np.array_equal(vjp_ones, [0.0, 2.0, 4.0, 6.0])
assert np.array_equal(vjp_ones, grad_of_sum)

# %% [markdown]
# ## Detaching computation: `stop_gradient`
#
# The chapter computes `u = y.detach()` with `y = x * x`, then `z = u * x`, and finds that the gradient
# of `z.sum()` is `u`: the detached value is treated as a constant.  The MindSpore port struggled to
# express this (it tried `Parameter`, `deepcopy` and `requires_grad = False`, with mixed results).
# fgrad's spelling is `fgrad.stop_gradient`, which can be used anywhere inside the function:

# %%
def z_detached(x):
    u = fgrad.stop_gradient(x * x)  # same value as x * x, zero derivative
    return (u * x).sum()


def z_attached(x):
    u = x * x
    return (u * x).sum()  # = sum(x**3)


print("detached:", fgrad.grad(z_detached)(x))  # u = x*x, a constant
print("attached:", fgrad.grad(z_attached)(x))  # 3 x**2
assert np.array_equal(fgrad.grad(z_detached)(x), x * x)
assert np.array_equal(fgrad.grad(z_attached)(x), 3 * x * x)

# %% [markdown]
# And the gradient of `y = x * x` itself, through the part that was not detached, is still $2x$:

# %%
assert np.array_equal(fgrad.grad(lambda x: (x * x).sum())(x), 2 * x)

# %% [markdown]
# ## Gradients through Python control flow
#
# Because fgrad traces the function as it runs, `while` loops and `if` statements whose path depends
# on the input are no problem: the derivative is that of the path actually taken.  The chapter's
# function doubles its input until the norm exceeds 1000, then maybe multiplies by 100.  It is
# piecewise linear, `f(a) = k * a`, so the gradient must equal `f(a) / a`.

# %%
def f(a):
    b = a * 2
    while fnp.linalg.norm(b) < 1000:
        b = b * 2
    if b.sum() > 0:
        c = b
    else:
        c = 100 * b
    return c


rng = np.random.default_rng(0)
a = rng.normal(size=())  # a random scalar, like torch.randn(size=())
d_a = fgrad.grad(f)(a)
print(f"a = {a:.4f}, grad = {d_a}, f(a)/a = {f(a) / a}")
assert np.isclose(d_a, f(a) / a)

# %% [markdown]
# ## The exercises, answered
#
# The chapter (in the MindSpore port of seed 002) ends with five exercises; they are answered here with
# the chapter's numbers.  The English d2l 1.0 edition adds questions about dependency graphs, which
# notebook 10 answers.
#
# ### 1. Why is a second derivative more expensive than a first?
#
# A gradient function is itself a program: the forward pass plus the backward pass, built from the same
# primitives.  Differentiating it again differentiates that larger program.  `fgrad.make_graph(fn)(x)`
# runs `fn` once and returns the graph of every primitive it ran (notebooks 3 and 10 look at such graphs
# closely); counting its primitives makes the growth visible without a stopwatch.

# %%
def h(x):
    return fnp.sin(x) * fnp.exp(-x * x)


levels = {"f": h, "f'": fgrad.grad(h), "f''": fgrad.grad(fgrad.grad(h)),
          "f'''": fgrad.grad(fgrad.grad(fgrad.grad(h)))}
counts = {name: len(fgrad.make_graph(fn)(0.7).primitives) for name, fn in levels.items()}
print(counts)
assert counts["f"] < counts["f'"] < counts["f''"] < counts["f'''"]

# %% [markdown]
# The wall-clock cost grows the same way (the numbers below are measured when the notebook runs):

# %% tags=["variable-output"]
def seconds(fn, x, repeat=200):
    fn(x)
    start = time.perf_counter()
    for _ in range(repeat):
        fn(x)
    return (time.perf_counter() - start) / repeat


for name, fn in levels.items():
    print(f"{name:5s} {seconds(fn, 0.7) * 1e6:8.1f} µs per call")

# %% [markdown]
# ### 2. Running the backward pass twice
#
# In PyTorch a second `y.backward()` fails, because the tape is freed after the first one, unless
# `retain_graph=True` was passed (and then the results accumulate).  fgrad's `vjp` returns a function
# that keeps what it needs, so it can be called any number of times, with any cotangent, and each call
# returns a fresh result.

# %%
out, f_vjp = fgrad.vjp(square, x)
once, twice = f_vjp(fnp.ones(4)), f_vjp(fnp.ones(4))
print(once, twice, f_vjp(fnp.arange(4.0)))
assert np.array_equal(once[0], twice[0])

# %% [markdown]
# ### 3. The control-flow example with a vector (or matrix) `a`
#
# Now `f(a)` is a vector, so there is no scalar gradient (`fgrad.grad` would refuse, as above).  Its
# derivative is a Jacobian matrix, which `fgrad.jacrev(f)` computes: it returns a function giving the
# whole Jacobian, one vector-Jacobian product per output (notebook 4 explains it).  The Jacobian is `k`
# times the identity (every element went through the same loop, because the loop tests the norm of the
# whole vector and the `if` its sum), and the gradient of the *sum*, what PyTorch's
# `d.backward(torch.ones_like(d))` computes, is `k` in every position, again equal to `f(a) / a`.

# %%
a_vec = rng.normal(size=3)
J = fgrad.jacrev(f)(a_vec)
k = f(a_vec) / a_vec
print("Jacobian:\n", J)
print("grad of sum:", fgrad.grad(lambda a: f(a).sum())(a_vec), " f(a)/a:", k)
assert np.allclose(J, k[0] * np.eye(3))
assert np.allclose(fgrad.grad(lambda a: f(a).sum())(a_vec), k)

a_mat = rng.normal(size=(2, 2))
assert np.allclose(fgrad.grad(lambda a: f(a).sum())(a_mat), f(a_mat) / a_mat)

# %% [markdown]
# ### 4. A new control-flow example
#
# Here is $e^x$ computed from its Taylor series, adding terms in a `while` loop until they are
# negligible.  The number of iterations depends on `x`.  The derivative of the truncated series is the
# series with one term fewer, so the gradient must again be (almost exactly) $e^x$.

# %%
def exp_series(x):
    term, total, n = 1.0, 1.0, 0
    while fnp.abs(term) > 1e-17 * fnp.abs(total):
        n += 1
        term = term * x / n
        total = total + term
    return total


for x0 in (-2.0, 0.5, 3.0):
    print(f"x = {x0:4}: series {exp_series(x0):.12g}, its derivative "
          f"{fgrad.grad(exp_series)(x0):.12g}, exp(x) {np.exp(x0):.12g}")
    assert np.isclose(fgrad.grad(exp_series)(x0), np.exp(x0), rtol=1e-13)

# %% [markdown]
# ### 5. Plotting sin(x) and its derivative
#
# The exercise asks for the derivative *without* writing $\cos x$.  `sin` acts elementwise, so the
# gradient of `sum(sin(x))` over a grid is the derivative at each grid point.  (The assertion afterwards
# compares with `cos`, only to check.)

# %%
xs = np.linspace(-2 * np.pi, 2 * np.pi, 200)
dsin = fgrad.grad(lambda x: fnp.sin(x).sum())(xs)

fig, ax = plt.subplots(figsize=(7, 3.2))
ax.plot(xs, np.sin(xs), label="f(x) = sin(x)")
ax.plot(xs, dsin, "--", label="df/dx from fgrad.grad")
ax.set_xlabel("x")
ax.legend(loc="upper right")
ax.grid(alpha=0.3)
plt.show()

assert np.allclose(dsin, np.cos(xs), atol=1e-15)

# %% [markdown]
# ## Summary
#
# | tape style (PyTorch) | functional style (fgrad) |
# |---|---|
# | `x.requires_grad_(True)`; `y.backward()`; read `x.grad` | `fgrad.grad(f)(x)` |
# | `x.grad.zero_()` before the next gradient | nothing: no state accumulates |
# | `y.backward(v)` for non-scalar `y` | `fgrad.vjp(f, x)[1](v)` |
# | `u = y.detach()` | `u = fgrad.stop_gradient(y)` inside `f` |
# | `retain_graph=True` to call `backward` again | call the `vjp` function again |
#
# The next notebook goes through every tape idiom in the seed documents, one by one.
