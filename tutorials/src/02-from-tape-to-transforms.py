# %% [markdown]
# # 2. From the tape to transforms
#
# PyTorch records operations on a *tape* as they happen: tensors flagged with `requires_grad` remember
# the operation that produced them (`grad_fn`), `backward()` plays the tape back and *adds* results into
# the `.grad` attribute of the leaves.  fgrad (like JAX, HIPS autograd and MindSpore's functional `grad`)
# turns this around: the function is the unit, and a transform returns its derivative as another
# function.
#
# This notebook takes every tape idiom used in the seed documents and shows it next to its functional
# form: PyTorch's code on the left, fgrad's on the right, each with its result.  fgrad's results are
# checked against the numbers the seeds recorded from PyTorch; where PyTorch is installed (the stored
# outputs were made with PyTorch 2.13, CPU build) the tape column runs too and both are checked to
# agree.  The code that runs and compares the two columns lives in `side_by_side.py`, next to this
# notebook; the cells that call it are collapsed, so what you read is the table.
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
# | `y.clone()`, `copy.deepcopy(y)` | `fnp.copy(y)`, `copy.deepcopy(y)`: copies that keep the derivative |
# | `x.data *= 100` | call the function with a different value: inputs are never mutated |
# | `y[0] = ...` (in-place assembly) | `fnp.stack([...])` or `y.at[0].set(...)` |
# | `y.view(2, 2)` | `fnp.reshape(y, (2, 2))` / `y.reshape(2, 2)` |
# | MindSpore `grad(fn, grad_position=(0, 1))` | `fgrad.grad(fn, argnums=(0, 1))` |
# | MindSpore `grad(fn, grad_position, weights)` | put the weights in a pytree argument and differentiate it |
# | MindSpore `grad(fn, has_aux=True)` | `fgrad.grad(fn, has_aux=True)` |

# %%
import copy

import numpy as np
from side_by_side import side_by_side, status, torch  # torch: None if not installed

import fgrad
import fgrad.numpy as fnp

status()

# %% [markdown]
# ## `requires_grad` and `backward()`: out = mean(3 (x + 2)²) at x = ones(2, 2)
#
# The first example of seed 001 builds `y = x + 2`, `z = y * y * 3`, `out = z.mean()` from a leaf `x`
# created with `requires_grad=True`, calls `out.backward()` and finds `x.grad` filled with 4.5
# ($\partial o / \partial x_i = \frac{6}{4}(x_i + 2) = 4.5$ at $x_i = 1$).  The function itself can be
# written once for both libraries:

# %%
def out_fn(x):
    y = x + 2
    z = y * y * 3
    return z.mean()

# %% [markdown]
# In fgrad nothing is flagged: `grad` is applied to the function.  Which arguments are differentiated
# is chosen by `argnums` (the first, by default), not by a flag on the array.

# %% tags=["hide-input"]
def tape():
    x = torch.ones(2, 2, requires_grad=True)
    out = out_fn(x)
    out.backward()
    return x.grad


def functional():
    x = fnp.ones((2, 2))
    return fgrad.grad(out_fn)(x)


side_by_side("d out / dx", tape, functional, [[4.5, 4.5], [4.5, 4.5]])

# %% [markdown]
# ## `.grad` accumulates; `zero_()`
#
# Seed 001 then calls `x.sum().backward()` on the same `x`: the tape *adds* the new gradient (ones) to
# the old one, giving 5.5, and only after `x.grad.data.zero_()` does a third call give 1.  In fgrad a
# gradient is a return value, so the second gradient is simply 1; the 5.5 appears only if you ask for
# the sum.

# %% tags=["hide-input"]
def tape():
    x = torch.ones(2, 2, requires_grad=True)
    out_fn(x).backward()
    x.sum().backward()  # no x.grad.zero_() in between: added to x.grad
    return x.grad


def functional():
    x = fnp.ones((2, 2))
    g_out = fgrad.grad(out_fn)(x)
    g_sum = fgrad.grad(lambda x: x.sum())(x)  # a fresh gradient: ones
    return g_out + g_sum  # accumulated only when you ask for it


side_by_side("two backward() calls without zero_()", tape, functional, 5.5 * np.ones((2, 2)))

# %% tags=["hide-input"]
def tape():
    x = torch.ones(2, 2, requires_grad=True)
    out_fn(x).backward()
    x.grad.zero_()
    x.sum().backward()
    return x.grad


def functional():
    return fgrad.grad(lambda x: x.sum())(fnp.ones((2, 2)))  # nothing to reset


side_by_side("after x.grad.zero_()", tape, functional, np.ones((2, 2)))

# %% [markdown]
# ## `grad_fn` and `is_leaf`: looking at the graph
#
# A tape tensor records the function that created it (`out.grad_fn` is `<MeanBackward0>`, and walking
# `next_functions` back gives the whole tape; `x.grad_fn` is `None` because `x` is a leaf).  In fgrad
# arrays carry no history; the history belongs to a *call*.  `fgrad.make_graph(f)(x)` runs `f` once and
# returns its graph: the inputs (the leaves) and one line per primitive with its inputs and value.

# %% tags=["hide-input"]
def tape():
    x = torch.ones(2, 2, requires_grad=True)
    out = out_fn(x)
    ops, node = [], out.grad_fn
    while node is not None and node.next_functions:  # walk the tape back
        ops.append(type(node).__name__)
        node = node.next_functions[0][0]
    return ops[::-1], x.is_leaf


def functional():
    graph = fgrad.make_graph(out_fn)(fnp.ones((2, 2)))
    return [n.op for n in graph.primitives], [n.name for n in graph.inputs]


side_by_side("the recorded operations, and the leaves", tape, functional,
             agree=lambda t, f: ([name.removesuffix("Backward0").lower() for name in t[0]]
                                 == ["add", "mul", "mul", "mean"] and t[1]
                                 and f[0] == ["add", "multiply", "multiply", "mean"]))

# %%
graph = fgrad.make_graph(out_fn)(fnp.ones((2, 2)))
print(graph)
assert [n.op for n in graph.primitives] == ["add", "multiply", "multiply", "mean"]
assert [n.name for n in graph.inputs] == ["x"]  # the only leaf

# %% [markdown]
# ## `backward(v)` after `view`: [2, .2, .02, .002]
#
# With `x = [1, 2, 3, 4]`, `y = 2x` and `z = y.view(2, 2)`, `z` is not a scalar, so `z.backward(v)` needs
# a weight `v` of z's shape.  With `v = [[1, .1], [.01, .001]]` the gradient is `2v`, flattened back to
# x's shape.  `view` is `reshape`, and `backward(v)` is a vector-Jacobian product: `fgrad.vjp` returns
# the value and a function that maps any `v` to it.

# %% tags=["hide-input"]
def tape():
    x = torch.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
    z = (2 * x).view(2, 2)
    z.backward(torch.tensor([[1.0, 0.1], [0.01, 0.001]]))
    return x.grad


def functional():
    x = fnp.array([1.0, 2.0, 3.0, 4.0])
    z, z_vjp = fgrad.vjp(lambda x: (2 * x).reshape(2, 2), x)
    (g,) = z_vjp(fnp.array([[1.0, 0.1], [0.01, 0.001]]))
    return g


side_by_side("z.backward(v)", tape, functional, [2.0, 0.2, 0.02, 0.002])

# %% [markdown]
# ## `y.backward()` on a value that is not a scalar
#
# Without a weight `v`, `backward()` works only for a scalar: for a vector there is no single
# gradient.  fgrad's `grad` refuses the same way, and says what to use instead.

# %% tags=["hide-input"]
def tape():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    y2 = x**3
    y2.backward()  # y2 has two elements
    return x.grad


def functional():
    return fgrad.grad(lambda x: x**3)(fnp.array([1.0, 2.0]))


side_by_side("backward() on a vector", tape, functional, tape_raises=RuntimeError,
             fgrad_raises=TypeError)

# %% tags=["hide-input"]
def tape():
    x = torch.tensor([1.0, 2.0], requires_grad=True)
    (x**3).backward(torch.ones(2))  # the weights made explicit
    return x.grad


def functional():
    y2, y2_vjp = fgrad.vjp(lambda x: x**3, fnp.array([1.0, 2.0]))
    (g,) = y2_vjp(fnp.ones(2))  # or fgrad.grad(lambda x: (x**3).sum())
    return g


side_by_side("... with weights: 3x²", tape, functional, [3.0, 12.0])

# %% [markdown]
# ## `retain_graph=True`, and `t.backward(z)`: l = (x + y) · z
#
# Seed 001's second experiment: `t = x + y`, `l = t·z`.  `l.backward(retain_graph=True)` gives
# `x.grad = y.grad = z` and `z.grad = t`; then, after zeroing, `t.backward(z)` gives `x.grad = z` again,
# because z is exactly $\partial l / \partial t$.  These are the values the seed printed:

# %%
xs = np.array([-0.6103, 0.2401, -0.5577])
ys = np.array([0.9066, 0.2731, 1.2899])
zs = np.array([1.3269, -2.0241, -0.8399])
t_printed = np.array([0.2963, 0.5132, 0.7323])  # the seed's t = x + y


def l_fn(x, y, z):
    return ((x + y) * z).sum()


print("l =", round(float(l_fn(xs, ys, zs)), 4))

# %% [markdown]
# In fgrad, `argnums=(0, 1, 2)` differentiates all three arguments at once:

# %% tags=["hide-input"]
def tape():
    x, y, z = (torch.tensor(v, requires_grad=True) for v in (xs, ys, zs))
    l_fn(x, y, z).backward(retain_graph=True)
    return x.grad, y.grad, z.grad


def functional():
    return fgrad.grad(l_fn, argnums=(0, 1, 2))(xs, ys, zs)


side_by_side("dl/dx, dl/dy, dl/dz = z, z, x + y", tape, functional, [zs, zs, t_printed], atol=2e-4)

# %% [markdown]
# The comparison with the seed's `z.grad` needs a tolerance of 2·10⁻⁴: the third element of `x + y`
# computed from the printed values is 0.7322, while the seed printed 0.7323.  Nothing is wrong: the
# seed printed every number rounded to 4 decimals.  Each printed `x` and `y` is within 0.00005 of the
# true one, so the true sum lies within 0.0001 of 0.7322; and the printed 0.7323 says the true sum is
# within 0.00005 of 0.7323.  Both hold when the true sum is between 0.73225 and 0.7323 (say
# x₃ = −0.55767, y₃ = 1.28993), so the seed's numbers are consistent:

# %%
from_xy = np.round(xs + ys, 4)
low, high = xs + ys - 1e-4, xs + ys + 1e-4  # where the true x + y can be
print("x + y from the printed x, y:", from_xy, "  printed t:", t_printed)
assert from_xy[2] == 0.7322 and np.array_equal(from_xy[:2], t_printed[:2])
overlap = np.minimum(high, t_printed + 5e-5) - np.maximum(low, t_printed - 5e-5)
print("width of the interval both allow:", np.round(overlap, 5))
assert np.all(overlap > -1e-12)  # they overlap: both printouts are roundings of one true sum
x3, y3 = -0.55767, 1.28993  # true values that print as the seed's
assert (round(x3, 4), round(y3, 4), round(x3 + y3, 4)) == (xs[2], ys[2], t_printed[2])

# %% [markdown]
# `t.backward(z)` is the vjp of `t(x, y) = x + y` with cotangent `z`.  The tape must be told to keep the
# graph for a second pass (`retain_graph=True`); the vjp function holds what it needs, so "retaining
# the graph" means nothing more than calling it again:

# %% tags=["hide-input"]
def tape():
    x, y = (torch.tensor(v, requires_grad=True) for v in (xs, ys))
    t = x + y
    t.backward(torch.tensor(zs), retain_graph=True)
    t.backward(torch.tensor(zs))  # a second pass: kept, and added to x.grad
    return x.grad


def functional():
    t, t_vjp = fgrad.vjp(lambda x, y: x + y, xs, ys)
    gx, _ = t_vjp(zs)   # t.backward(z)
    gx2, _ = t_vjp(zs)  # and again: nothing to retain
    return gx + gx2


side_by_side("t.backward(z) twice", tape, functional, 2 * zs)

# %% [markdown]
# Without `retain_graph=True` the second pass fails: the first one freed the values the tape had saved
# (here `x`, for the derivative of `x * x`).  seed 002's exercise 2 asks exactly this: *run the backward
# function twice in a row; what happens?*

# %% tags=["hide-input"]
def tape():
    x = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    l = (x * x).sum()
    l.backward()
    l.backward()  # the saved x was freed by the first call
    return x.grad


def functional():
    l, l_vjp = fgrad.vjp(lambda x: (x * x).sum(), fnp.array([1.0, 2.0, 3.0]))
    (g1,) = l_vjp(1.0)
    (g2,) = l_vjp(1.0)  # as often as needed
    return g1, g2


side_by_side("backward() twice without retain_graph", tape, functional,
             [[2.0, 4.0, 6.0], [2.0, 4.0, 6.0]], tape_raises=RuntimeError)

# %% [markdown]
# ## `torch.no_grad()`: 2, not 5
#
# Seed 001's third experiment computes `y1 = x**2`, then `y2 = x**3` inside `with torch.no_grad():`, and
# `y3 = y1 + y2`.  At `x = 1` the derivative of $x^2 + x^3$ would be 5, but the tape did not record
# `y2`, so `x.grad` is 2.  The functional spelling marks the value that must not carry a derivative:

# %% tags=["hide-input"]
def tape():
    x = torch.tensor(1.0, requires_grad=True)
    y1 = x**2
    with torch.no_grad():
        y2 = x**3
    (y1 + y2).backward()
    return x.grad


def functional():
    def y3(x):
        y1 = x**2
        y2 = fgrad.stop_gradient(x**3)  # "not recorded"
        return y1 + y2

    return fgrad.grad(y3)(1.0)


side_by_side("d y3 / dx with y2 under no_grad", tape, functional, 2.0)

# %% [markdown]
# Seed 001 then calls `y2.backward()`, which fails: `y2` was computed under `no_grad`, so the tape
# holds nothing to play back.  The functional counterpart is the value marked with `stop_gradient`:
# it does not depend on `x` as far as differentiation is concerned, so its derivative is simply zero,
# as for any constant; nothing fails.

# %% tags=["hide-input"]
def tape():
    x = torch.tensor(1.0, requires_grad=True)
    with torch.no_grad():
        y2 = x**3
    y2.backward()  # y2 was not recorded
    return x.grad


def functional():
    return fgrad.grad(lambda x: fgrad.stop_gradient(x**3))(1.0)


side_by_side("y2.backward() for an unrecorded y2", tape, functional, 0.0,
             tape_raises=RuntimeError)

# %% [markdown]
# The other use of `no_grad` (seed 004) is evaluation: "don't spend memory recording a tape while
# predicting".  In fgrad nothing is recorded unless a transform is running: calling `f(x)` directly
# *is* the no-grad mode, and runs plain numpy.

# %%
plain = out_fn(fnp.ones((2, 2)))
print(type(plain).__name__, plain)  # a numpy scalar: no tracer, no tape
assert isinstance(plain, np.floating)

# %% [markdown]
# ## `detach()`
#
# Seed 004: `y = x.detach()` has the same values but no gradient (`x.eq(y).all()` is true).
# `stop_gradient` is the same thing, usable at any point inside a function, at any derivative order.

# %% tags=["hide-input"]
def tape():
    x = torch.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
    y = x.detach()
    assert bool(x.eq(y).all())  # same values
    (x * y).sum().backward()    # differentiates as sum(c * x), c = x
    return x.grad


def functional():
    def detach_demo(x):
        y = fgrad.stop_gradient(x)
        assert bool(fnp.all(x == y))  # same values
        return (x * y).sum()          # differentiates as sum(c * x), c = x

    return fgrad.grad(detach_demo)(fnp.array([1.0, 2.0, 3.0, 4.0]))


side_by_side("grad of sum(x * detach(x))", tape, functional, [1.0, 2.0, 3.0, 4.0])

# %% [markdown]
# ## Why `deepcopy` is not `detach`
#
# Seed 002, porting d2l to MindSpore, looks for `detach` and tries `u = copy.deepcopy(y)` with
# `y = x * x`, then differentiates `z = u * x`: it hopes for `u` (= x²) and gets 3x², equal to `u`
# only at `x = 0`.  A copy has the same value *and depends on `x` in the same way*: copying is the
# identity function, whose derivative is 1, so the derivative flows through it.  Detaching is a
# different function: the same value, but declared to have derivative 0.
#
# PyTorch refuses `deepcopy` of a recorded tensor altogether; fgrad treats `copy.deepcopy` of a traced
# value as `fnp.copy`, a copy that keeps the derivative:

# %% tags=["hide-input"]
def tape():
    x = torch.arange(4.0, requires_grad=True)
    y = x * x
    u = copy.deepcopy(y)  # seed 002's attempt to detach
    return u


def functional():
    def z(x):
        y = x * x
        u = copy.deepcopy(y)  # a copy: still x * x
        return (u * x).sum()

    return fgrad.grad(z)(fnp.arange(4.0))  # 3x², not x²


side_by_side("deepcopy of a recorded value", tape, functional, [0.0, 3.0, 12.0, 27.0],
             tape_raises=RuntimeError)

# %% [markdown]
# The copy that stays on the tape is `clone()` in PyTorch and `fnp.copy` in fgrad (3x²); the one that
# does not is `detach()` and `fgrad.stop_gradient` (x²):

# %% tags=["hide-input"]
def tape():
    x = torch.arange(4.0, requires_grad=True)
    y = x * x
    (y.clone() * x).sum().backward()
    g_clone, x.grad = x.grad, None
    (y.detach() * x).sum().backward()
    return g_clone, x.grad


def functional():
    def z_copy(x):
        return (fnp.copy(x * x) * x).sum()

    def z_stop(x):
        return (fgrad.stop_gradient(x * x) * x).sum()

    x = fnp.arange(4.0)
    return fgrad.grad(z_copy)(x), fgrad.grad(z_stop)(x)


side_by_side("a copy, and a detached value", tape, functional,
             [[0.0, 3.0, 12.0, 27.0], [0.0, 1.0, 4.0, 9.0]])

# %% [markdown]
# ## `.data` mutation
#
# Seed 001 changes a leaf's value behind the tape's back: `y = 2 * x`, then `x.data *= 100`, then
# `y.backward()` gives `x.grad = 2` while `x` now holds 100.  That is right only because the
# derivative of `2x` does not depend on `x`.  Otherwise the tape combines a graph recorded at `x = 1`
# with the new value, and what comes out depends on what each operation saved: `x**2` saved `x`
# itself, so its derivative uses the new value (200) while `y` still holds the old one (1); `exp`
# saved its output e¹, so its derivative is the one at the old value.  fgrad never mutates an input:
# to use another value you call the function with it, and the derivative always belongs to the value
# it was computed at.

# %% tags=["hide-input"]
def tape():
    x = torch.tensor(1.0, requires_grad=True)
    y_sq, y_exp = x**2, torch.exp(x)
    x.data *= 100  # behind the tape's back
    y_sq.backward()  # x**2 saved x: now 100
    g_sq, x.grad = x.grad, None
    y_exp.backward()  # exp saved its output, e**1
    return g_sq, x.grad


def functional():
    x = 100.0
    return fgrad.grad(lambda x: x**2)(x), fgrad.grad(fnp.exp)(x)


side_by_side("d(x²)/dx and d(eˣ)/dx after x.data *= 100", tape, functional,
             [200.0, np.exp(100.0)], rtol=1e-12,
             agree=lambda t, f: np.isclose(float(t[0]), 200.0) and np.isclose(float(t[1]), np.e),
             note="The columns differ on purpose: the tape's second number is the derivative "
                  "of exp at the old value 1.")

# %% [markdown]
# Writing into an array that is being differentiated is refused, by both:

# %% tags=["hide-input"]
def tape():
    x = torch.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
    x[0] = 100.0
    return x


def functional():
    def assign(x):
        x[0] = 100.0
        return x.sum()

    return fgrad.grad(assign)(fnp.array([1.0, 2.0, 3.0, 4.0]))


side_by_side("x[0] = 100 on a differentiated x", tape, functional, tape_raises=RuntimeError,
             fgrad_raises=TypeError)

# %% [markdown]
# ## `y[0] = ...`: in-place assembly, and the projection (5, 18, 34)
#
# Seed 001 builds a vector `y` by assigning its elements from three scalar leaves,
# $y_1 = x_1^2 + 2x_2 + x_3$, $y_2 = x_1 + x_2^3 + x_3^2$, $y_3 = 2x_1 + x_2^2 + x_3^3$, then calls
# `y.backward(torch.ones(3))` at $(1, 2, 3)$ and reads $(5, 18, 34)$ from the three leaves: the column
# sums of the Jacobian.  Functionally the vector is assembled with `fnp.stack`, or with
# `y.at[i].set(...)`, the functional form of `y[i] = ...`, which returns a new array:

# %%
def y_stack(x1, x2, x3):
    return fnp.stack([x1**2 + 2 * x2 + x3, x1 + x2**3 + x3**2, 2 * x1 + x2**2 + x3**3])


def y_at(x1, x2, x3):
    y = fnp.zeros(3)  # a plain array; fnp.at(y) is y.at for arrays that are not traced
    y = fnp.at(y)[0].set(x1**2 + 2 * x2 + x3)
    y = y.at[1].set(x1 + x2**3 + x3**2)  # y is traced now, so y.at works
    return y.at[2].set(2 * x1 + x2**2 + x3**3)


for build in (y_stack, y_at):
    _, build_vjp = fgrad.vjp(build, 1.0, 2.0, 3.0)
    assert np.allclose(build_vjp(fnp.ones(3)), [5.0, 18.0, 34.0]), build.__name__

# %% tags=["hide-input"]
def tape():
    x1, x2, x3 = (torch.tensor(v, requires_grad=True) for v in (1.0, 2.0, 3.0))
    y = torch.zeros(3)
    y[0] = x1**2 + 2 * x2 + x3
    y[1] = x1 + x2**3 + x3**2
    y[2] = 2 * x1 + x2**2 + x3**3
    y.backward(torch.ones(3))
    return x1.grad, x2.grad, x3.grad


def functional():
    y, y_vjp = fgrad.vjp(y_stack, 1.0, 2.0, 3.0)
    return y_vjp(fnp.ones(3))


side_by_side("y.backward(ones) for the assembled y", tape, functional, [5.0, 18.0, 34.0])

# %% [markdown]
# ## `requires_grad_()` on a computed tensor
#
# Seed 004 computes `a = (3a) / (a - 1)` from random numbers, *then* switches on `requires_grad_` and
# differentiates `b = (a * a).sum()`.  Differentiating "from here on" is simply a function of the
# intermediate value: its gradient is `2a`.

# %%
rng = np.random.default_rng(4)
a0 = rng.normal(size=(2, 2))
a = (a0 * 3) / (a0 - 1)  # computed before anything is differentiated

# %% tags=["hide-input"]
def tape():
    at = torch.tensor(a)  # no requires_grad yet
    at.requires_grad_(True)  # from here on
    b = (at * at).sum()
    b.backward()
    return at.grad


def functional():
    return fgrad.grad(lambda a: (a * a).sum())(a)


side_by_side("grad of (a * a).sum()", tape, functional, 2 * a)

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
# ## MindSpore's puzzle: `grad_a == f(a) / a` is False
#
# Seed 002 ports d2l's control-flow example (notebook 1 runs it): `f` doubles `a` until its norm
# passes 1000, then multiplies by 100 if the sum is negative, so `f(a) = k·a` and the gradient must be
# `k = f(a)/a`.  MindSpore printed 204800 for both, and `False` for `grad_a == f(a) / a`, which the
# author calls a strange phenomenon.  fgrad does the same for some inputs:

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


a = np.float64(-0.68)  # negative, so f multiplies by 100
grad_a = fgrad.grad(f)(a)
print(f"grad_a = {float(grad_a)!r}, f(a) / a = {float(f(a) / a)!r}, "
      f"grad_a == f(a) / a: {grad_a == f(a) / a}")
ulps = abs(f(a) / a - grad_a) / np.spacing(grad_a)
print(f"they differ by {ulps:.0f} unit in the last place, "
      f"a relative {abs(f(a) / a - grad_a) / grad_a:.1e}")
assert grad_a == 100 * 2**11 and f(a) / a != grad_a and np.isclose(grad_a, f(a) / a)

# %% [markdown]
# It is float rounding, not a wrong gradient.  Doubling is exact in binary floating point, so for
# positive `a`, `f(a) = 2ᵏ·a` exactly and `f(a) / a` is exactly 2ᵏ.  For negative `a`, `100 · (2ᵏ·a)` is
# rounded to the nearest float, and the division by `a` rounds once more; the two roundings do not
# always cancel, and the quotient can land one float away from 100·2ᵏ.  The gradient itself is the
# product of the local derivatives 2, 2, ..., 100: exact.  (MindSpore printed both as 204800 because
# a printout rounds to fewer digits than the float holds.)  So compare floats with a tolerance, as
# `np.isclose` does; a few machine epsilons (ε = 2.2·10⁻¹⁶) suffice here.  Over many random `a`:

# %%
samples = np.random.default_rng(0).normal(size=4000)
exact = np.array([fgrad.grad(f)(s) == f(s) / s for s in samples])
close = np.array([np.isclose(fgrad.grad(f)(s), f(s) / s, rtol=4 * np.finfo(float).eps, atol=0)
                  for s in samples])
negative = samples < 0
print(f"exactly equal: {exact[~negative].mean():.0%} of positive a, "
      f"{exact[negative].mean():.1%} of negative a")
print(f"equal within 4 machine epsilons: {close.mean():.0%}")
assert exact[~negative].all() and 0.08 < 1 - exact[negative].mean() < 0.16
assert close.all()

# %% [markdown]
# ## What changed, in one sentence
#
# Every piece of tape state (`requires_grad`, `.grad`, `grad_fn`, retained graphs, `no_grad` mode,
# `.data`) was a way to answer "which values should be differentiated, and where should the result go?".
# A transform answers both by its signature: `argnums` says which inputs, and the result is the return
# value.
