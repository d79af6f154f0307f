# %% [markdown]
# # 2. From the tape to transforms
#
# PyTorch records operations on a *tape* as they happen: tensors flagged with `requires_grad` remember
# the operation that produced them (`grad_fn`), `backward()` plays the tape back and *adds* results into
# the `.grad` attribute of the leaves.  fgrad (like JAX, HIPS autograd and MindSpore's functional `grad`)
# turns this around: the function is the unit, and a transform returns its derivative as another
# function.
#
# This notebook takes every tape idiom used in the seed documents and shows its functional
# equivalent, with the seeds' numbers.  Where PyTorch is installed, the tape version runs too and the
# notebook asserts that both agree; where it is not, the numbers recorded in the seeds are shown and
# the fgrad results are checked against them.
#
# | tape idiom (PyTorch) | fgrad |
# |---|---|
# | `torch.ones(2, 2, requires_grad=True)`, `x.requires_grad_(True)` | choose what to differentiate with `argnums` |
# | `out.backward()`, then read `x.grad` | `fgrad.grad(f)(x)` returns the gradient |
# | `.grad` accumulates; `x.grad.zero_()` | nothing accumulates; add gradients explicitly when wanted |
# | `y.backward(v)` for non-scalar `y` | `fgrad.vjp(f, x)` then `f_vjp(v)` |
# | `backward(retain_graph=True)` | call `f_vjp` as often as needed |
# | `y.grad_fn`, `x.is_leaf` | `fgrad.make_graph(f)(x)`: every primitive, its inputs and values |
# | `with torch.no_grad():` | `fgrad.stop_gradient(...)`, or just call `f` outside any transform |
# | `y.detach()` | `fgrad.stop_gradient(y)` |
# | `x.data *= 100` | call the function with a different value: inputs are never mutated |
# | `y[0] = ...` (in-place assembly) | `fnp.stack([...])` or `y.at[0].set(...)` |
# | `y.view(2, 2)` | `fnp.reshape(y, (2, 2))` / `y.reshape(2, 2)` |
# | MindSpore `grad(fn, grad_position=(0, 1))` | `fgrad.grad(fn, argnums=(0, 1))` |
# | MindSpore `grad(fn, grad_position, weights)` | put the weights in a pytree argument and differentiate it |
# | MindSpore `grad(fn, has_aux=True)` | `fgrad.grad(fn, has_aux=True)` |

# %%
import numpy as np

import fgrad
import fgrad.numpy as fnp

try:
    import torch
except ImportError:
    torch = None

if torch is None:
    print("PyTorch is not installed here, so the tape versions are not run. The expected numbers "
          "below are the ones the seed documents recorded from PyTorch; fgrad's results are "
          "checked against them.")
else:
    print(f"PyTorch {torch.__version__} is installed: each tape version runs too, and its numbers "
          "are checked against fgrad's.")


def compare(name, fgrad_value, expected, tape=None, atol=1e-6):
    """Check fgrad's result against the expected numbers (the seed's), and against PyTorch's
    tape when PyTorch is installed."""
    fgrad_value = np.asarray(fgrad_value, dtype=float)
    assert np.allclose(fgrad_value, expected, rtol=1e-4, atol=atol), (name, fgrad_value, expected)
    line = f"{name}\n  fgrad:    {np.round(fgrad_value, 4).tolist()}\n  expected: {np.round(expected, 4).tolist()}"
    if torch is not None and tape is not None:
        tape_value = np.asarray(tape(), dtype=float)
        assert np.allclose(tape_value, fgrad_value, rtol=1e-5, atol=1e-6), (name, tape_value)
        line += f"\n  PyTorch tape, run here: {np.round(tape_value, 4).tolist()}"
    print(line)


# %% [markdown]
# ## `requires_grad` and `backward()`: out = mean(3 (x + 2)²) at x = ones(2, 2)
#
# The first example of seed 001 builds `y = x + 2`, `z = y * y * 3`, `out = z.mean()` from a leaf `x`
# created with `requires_grad=True`, calls `out.backward()` and finds `x.grad` filled with 4.5
# ($\partial o / \partial x_i = \frac{6}{4}(x_i + 2) = 4.5$ at $x_i = 1$).
#
# In fgrad nothing is flagged: the function is written once and `grad` is applied to it.  Which
# arguments are differentiated is chosen by `argnums` (the first, by default), not by a flag on the
# array.

# %%
def out_fn(x):
    y = x + 2
    z = y * y * 3
    return z.mean()


x = fnp.ones((2, 2))
g_out = fgrad.grad(out_fn)(x)
print(g_out)


def tape_out():
    xt = torch.ones(2, 2, requires_grad=True)
    out = (3 * (xt + 2) ** 2).mean()
    out.backward()
    return xt.grad


compare("d out / dx", g_out, [[4.5, 4.5], [4.5, 4.5]], tape_out)

# %% [markdown]
# ## `.grad` accumulates; `zero_()`
#
# Seed 001 then calls `x.sum().backward()` on the same `x`: the tape *adds* the new gradient (ones) to
# the old one, giving 5.5, and only after `x.grad.data.zero_()` does a third call give 1.  In fgrad a
# gradient is a return value, so the second gradient is simply 1; the 5.5 appears only if you ask for
# the sum.

# %%
g_sum = fgrad.grad(lambda x: x.sum())(x)
compare("grad of x.sum(), fresh", g_sum, np.ones((2, 2)))


def tape_accumulated():
    xt = torch.ones(2, 2, requires_grad=True)
    (3 * (xt + 2) ** 2).mean().backward()
    xt.sum().backward()  # no zero_() in between: the gradients add up
    return xt.grad


compare("accumulated on purpose: g_out + g_sum", g_out + g_sum, 5.5 * np.ones((2, 2)),
        tape_accumulated)

# %% [markdown]
# ## `grad_fn` and `is_leaf`: looking at the graph
#
# A tape tensor records the function that created it (`y.grad_fn` is `<AddBackward0>`, `x.grad_fn` is
# `None` because `x` is a leaf).  In fgrad arrays carry no history; the history belongs to a *call*.
# `fgrad.make_graph(f)(x)` runs `f` once and returns its graph: inputs (the leaves) and one line per
# primitive with its inputs and value.

# %%
graph = fgrad.make_graph(out_fn)(x)
print(graph)
assert [n.op for n in graph.primitives] == ["add", "multiply", "multiply", "mean"]
assert [n.name for n in graph.inputs] == ["x"]  # the only leaf

# %% [markdown]
# ## `backward(v)` after `view`: [2, .2, .02, .002]
#
# With `x = [1, 2, 3, 4]`, `y = 2x` and `z = y.view(2, 2)`, `z` is not a scalar, so `z.backward(v)` needs
# a weight `v` of z's shape.  With `v = [[1, .1], [.01, .001]]` the gradient is `2v`, flattened back to
# x's shape.  `view` is `reshape`, and `backward(v)` is a vector-Jacobian product.

# %%
def z_fn(x):
    return fnp.reshape(2 * x, (2, 2))


x4 = fnp.array([1.0, 2.0, 3.0, 4.0])
v = fnp.array([[1.0, 0.1], [0.01, 0.001]])
z, z_vjp = fgrad.vjp(z_fn, x4)
print(z)
(g_v,) = z_vjp(v)


def tape_view(weights):
    def run():
        xt = torch.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
        (2 * xt).view(2, 2).backward(torch.tensor(weights))
        return xt.grad

    return run


compare("z.backward(v)", g_v, [2.0, 0.2, 0.02, 0.002], tape_view([[1.0, 0.1], [0.01, 0.001]]))
(g_h,) = z_vjp(fnp.ones((2, 2)))
compare("z.backward(ones)", g_h, [2.0, 2.0, 2.0, 2.0], tape_view([[1.0, 1.0], [1.0, 1.0]]))

# %% [markdown]
# ## `retain_graph=True`, and `t.backward(z)`: l = (x + y) · z
#
# Seed 001's second experiment: `t = x + y`, `l = t.dot(z)`.  `l.backward(retain_graph=True)` gives
# `x.grad = y.grad = z` and `z.grad = t`; then, after zeroing, `t.backward(z)` gives `x.grad = z` again,
# because z is exactly $\partial l / \partial t$.  In fgrad: `argnums=(0, 1, 2)` differentiates all
# three at once; the second experiment is the vjp of `t(x, y) = x + y` with cotangent `z`.  The vjp
# function holds what it needs, so "retaining the graph" means nothing more than calling it again.

# %%
xs = fnp.array([-0.6103, 0.2401, -0.5577])  # the values printed in the seed
ys = fnp.array([0.9066, 0.2731, 1.2899])
zs = fnp.array([1.3269, -2.0241, -0.8399])


def l_fn(x, y, z):
    return fnp.dot(x + y, z)


print("l =", round(float(l_fn(xs, ys, zs)), 4))
gx, gy, gz = fgrad.grad(l_fn, argnums=(0, 1, 2))(xs, ys, zs)
compare("dl/dx (= z)", gx, zs)
compare("dl/dy (= z)", gy, zs)
# the seed printed its inputs to 4 decimals, so x + y can differ in the last digit
compare("dl/dz (= t = x + y)", gz, [0.2963, 0.5132, 0.7323], atol=2e-4)

t, t_vjp = fgrad.vjp(lambda x, y: x + y, xs, ys)
gx_t, gy_t = t_vjp(zs)          # t.backward(z)
gx_t2, _ = t_vjp(zs)            # ... and again: no retain_graph needed
compare("t.backward(z): x.grad", gx_t, [1.3269, -2.0241, -0.8399])
assert np.array_equal(gx_t, gx_t2) and np.array_equal(gy_t, zs)

# %% [markdown]
# ## `torch.no_grad()`: 2, not 5
#
# Seed 001's third experiment computes `y1 = x**2`, then `y2 = x**3` inside `with torch.no_grad():`, and
# `y3 = y1 + y2`.  At `x = 1` the derivative of $x^2 + x^3$ would be 5, but the tape did not record
# `y2`, so `x.grad` is 2.  The functional spelling marks the value that must not carry a derivative:

# %%
def y3_fn(x):
    y1 = x**2
    y2 = fgrad.stop_gradient(x**3)  # "not recorded"
    return y1 + y2


def tape_no_grad():
    xt = torch.tensor(1.0, requires_grad=True)
    y1 = xt**2
    with torch.no_grad():
        y2 = xt**3
    (y1 + y2).backward()
    return xt.grad


compare("d y3 / dx with y2 under no_grad", fgrad.grad(y3_fn)(1.0), 2.0, tape_no_grad)
compare("without no_grad", fgrad.grad(lambda x: x**2 + x**3)(1.0), 5.0)
print("y3 =", y3_fn(1.0))

# %% [markdown]
# The other use of `no_grad` (seed 004) is evaluation: "don't spend memory recording a tape while
# predicting".  In fgrad nothing is recorded unless a transform is running: calling `f(x)` directly
# *is* the no-grad mode, and runs plain numpy.

# %%
plain = out_fn(x)
print(type(plain).__name__, plain)  # a numpy scalar: no tracer, no tape
assert isinstance(plain, np.floating)

# %% [markdown]
# ## `detach()`
#
# Seed 004: `y = x.detach()` has the same values but no gradient (`x.eq(y).all()` is true).
# `stop_gradient` is the same thing, usable at any point inside a function, at any derivative order.

# %%
def detach_demo(x):
    y = fgrad.stop_gradient(x)
    assert bool(fnp.all(fnp.equal(x, y)))  # same values
    return fnp.sum(x * y)                  # differentiates as sum(c * x) with c = x


g_detach = fgrad.grad(detach_demo)(x4)
compare("grad of sum(x * detach(x))", g_detach, [1.0, 2.0, 3.0, 4.0])

# %% [markdown]
# ## `.data` mutation
#
# Seed 001 changes a leaf's value behind the tape's back: `y = 2 * x`, then `x.data *= 100`, then
# `y.backward()` gives `x.grad = 2` while `x` now prints 100.  That works only because the derivative of
# `2x` does not depend on `x`; for any other function the tape would silently combine an old graph with
# a new value.  fgrad never mutates an input: to use another value you call the function with it, and
# the derivative always belongs to the value it was computed at.

# %%
double = fgrad.grad(lambda x: 2 * x)
print(double(1.0), double(100.0))
compare("d(2x)/dx after x.data *= 100", double(100.0), 2.0)

# %% [markdown]
# Writing into a traced array is refused with a message naming the fix:

# %%
def assign(x):
    x[0] = 100.0
    return x.sum()


try:
    fgrad.grad(assign)(x4)
except TypeError as err:
    print("TypeError:", err)

# %% [markdown]
# ## `y[0] = ...`: in-place assembly, and the projection (5, 18, 34)
#
# Seed 001 builds a vector `y` by assigning its elements from three scalar leaves,
# $y_1 = x_1^2 + 2x_2 + x_3$, $y_2 = x_1 + x_2^3 + x_3^2$, $y_3 = 2x_1 + x_2^2 + x_3^3$, then calls
# `y.backward(torch.ones(3))` at $(1, 2, 3)$ and reads $(5, 18, 34)$ from the three leaves: the column
# sums of the Jacobian.  Functionally the vector is assembled with `fnp.stack` (or with
# `y.at[i].set(...)`, the functional form of `y[i] = ...`, which returns a new array).

# %%
def y_stack(x1, x2, x3):
    return fnp.stack([x1**2 + 2 * x2 + x3, x1 + x2**3 + x3**2, 2 * x1 + x2**2 + x3**3])


def y_at(x1, x2, x3):
    y = fnp.zeros(3)  # a plain array; fnp.at(y) is y.at for arrays that are not traced
    y = fnp.at(y)[0].set(x1**2 + 2 * x2 + x3)
    y = y.at[1].set(x1 + x2**3 + x3**2)  # y is traced now, so y.at works
    return y.at[2].set(2 * x1 + x2**2 + x3**3)


def tape_assembly():
    x1, x2, x3 = (torch.tensor(v, requires_grad=True) for v in (1.0, 2.0, 3.0))
    y = torch.zeros(3)
    y[0] = x1**2 + 2 * x2 + x3
    y[1] = x1 + x2**3 + x3**2
    y[2] = 2 * x1 + x2**2 + x3**3
    y.backward(torch.ones(3))
    return [x1.grad, x2.grad, x3.grad]


for build in (y_stack, y_at):
    out, build_vjp = fgrad.vjp(build, 1.0, 2.0, 3.0)
    compare(f"{build.__name__}: vjp with ones", build_vjp(fnp.ones(3)), [5.0, 18.0, 34.0],
            tape_assembly)

# %% [markdown]
# ## `requires_grad_()` on a computed tensor
#
# Seed 004 computes `a = (3a) / (a - 1)` from random numbers, *then* switches on `requires_grad_` and
# differentiates `b = (a * a).sum()`.  Differentiating "from here on" is simply a function of the
# intermediate value: its gradient is `2a`.

# %%
rng = np.random.default_rng(4)
a0 = rng.normal(size=(2, 2))
a = (a0 * 3) / (a0 - 1)
g_b = fgrad.grad(lambda a: (a * a).sum())(a)
assert np.allclose(g_b, 2 * a)
print(g_b)

# %% [markdown]
# ## MindSpore's functional `grad`: `grad_position`, `weights`, `has_aux`
#
# The MindSpore port (seed 002) already uses a functional `grad(fn, grad_position=0)`.  Its options map
# one to one:
#
# * `grad_position=(0, 1)` is `argnums=(0, 1)`: a tuple of gradients comes back.
# * `weights=`: MindSpore differentiates with respect to `Parameter` objects held by a network.  In a
#   functional library parameters are just another argument; a dict (or any pytree) of arrays works,
#   and the gradient comes back with the same structure.
# * `has_aux=True`: the function returns `(value, aux)`; only `value` is differentiated and `aux` comes
#   back untouched.

# %%
def loss(w, b, x, y):
    pred = fnp.dot(x, w) + b
    return fnp.mean((pred - y) ** 2)


X = fnp.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
Y = fnp.array([1.0, 2.0, 3.0])
w, b = fnp.array([0.1, -0.2]), 0.5

gw, gb = fgrad.grad(loss, argnums=(0, 1))(w, b, X, Y)   # grad_position=(0, 1)
print(gw, gb)


def loss_params(params, x, y):                            # weights as a pytree
    return loss(params["w"], params["b"], x, y)


g_params = fgrad.grad(loss_params)({"w": w, "b": b}, X, Y)
print(g_params)
assert np.allclose(g_params["w"], gw) and np.isclose(g_params["b"], gb)


def loss_aux(w, b, x, y):                                 # has_aux=True
    pred = fnp.dot(x, w) + b
    return fnp.mean((pred - y) ** 2), {"predictions": pred}


gw_aux, aux = fgrad.grad(loss_aux, has_aux=True)(w, b, X, Y)
print(gw_aux, aux["predictions"])
assert np.allclose(gw_aux, gw)
# the gradient by hand: 2/n * X^T (Xw + b - y)
assert np.allclose(gw, 2 / 3 * X.T @ (X @ w + b - Y))

# %% [markdown]
# ## What changed, in one sentence
#
# Every piece of tape state (`requires_grad`, `.grad`, `grad_fn`, retained graphs, `no_grad` mode,
# `.data`) was a way to answer "which values should be differentiated, and where should the result go?".
# A transform answers both by its signature: `argnums` says which inputs, and the result is the return
# value.
