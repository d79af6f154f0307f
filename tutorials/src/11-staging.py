# %% [markdown]
# # 11. Staging: when tracing once pays
#
# Every transform in the earlier notebooks runs your Python function again on each call.  Tracers
# record each operation, find the trace it belongs to and append to a tape.  That is what makes
# Python's `if` and `while` work on data, and it is why PyTorch's tape is also rebuilt at every
# forward pass.  But each operation then costs several microseconds of Python on top of numpy's own
# work.  For a function made of many small operations, called many times (a small model trained step
# by step, an ODE's right-hand side, a recurrent network), that bookkeeping is most of the time.
#
# `fgrad.jit` records the operations of one call as a **program**, a flat list of primitive
# applications.  Later calls run the program's generated numpy code instead of your Python function.
# This notebook shows what a program looks like, what a jitted function may and may not do, and
# measures when tracing once pays off.  The staging guide of the documentation (`docs/staging.md`) has
# the details.

# %%
import time

import matplotlib.pyplot as plt
import numpy as np

import fgrad
import fgrad.numpy as fnp
from fgrad import lax


def best_time(fn, repeat=5, number=20):
    """The fastest of `repeat` runs of `number` calls, in seconds per call."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        best = min(best, (time.perf_counter() - start) / number)
    return best


# %% [markdown]
# ## A program you can print
#
# `fgrad.make_program(f)(*args)` traces `f` once and returns its program.  Each line applies one row
# of fgrad's rule table (`tanh`, `multiply`, `sum` ...) and gives the shape and dtype of the value
# it makes (`f64[3]` is a float64 vector of length 3).  Constants appear inline.

# %%
def loss(w, x):
    return fnp.sum(fnp.tanh(x @ w) ** 2)


w = np.array([0.1, -0.2, 0.3])
x = np.arange(6.0).reshape(2, 3) / 6
print(fgrad.make_program(loss)(w, x))

# %% [markdown]
# The program of `grad(loss)` holds the forward pass and the backward pass.  The backward pass is
# the chain rule of notebooks 3 and 4, written out: each primitive's local derivative, multiplied by
# the cotangent flowing back.

# %%
print(fgrad.make_program(fgrad.grad(loss))(w, x))

# %% [markdown]
# ## `jit`: trace on the first call, replay after
#
# `fgrad.jit(f)` returns a function that traces `f` on its first call.  That first call also
# computes the result.  Later calls with arguments of the same structure, shapes and dtypes replay
# the program.  A new shape traces again.  `cache_info()` counts the traces.

# %%
grad_loss = fgrad.jit(fgrad.grad(loss))
g_eager = fgrad.grad(loss)(w, x)
assert np.array_equal(grad_loss(w, x), g_eager)          # the tracing call
assert np.array_equal(grad_loss(w, x), g_eager)          # a replay: the same numbers, to the bit
w2 = np.array([1.0, 2.0, -3.0])
assert np.array_equal(grad_loss(w2, x), fgrad.grad(loss)(w2, x))   # new values: no new trace
grad_loss(np.ones(3), np.ones((5, 3)))                   # a new shape: traced again
print(grad_loss.cache_info())
assert grad_loss.cache_info()["traces"] == 2

# %% [markdown]
# ## Shapes are known, values are not
#
# A program must be right for every input of its signature, so inside a jitted function the values
# are unknown.  Shapes are known, so `x.shape` and shape arithmetic work.  Python control flow on a
# value cannot be recorded.  Notebook 10's function with a data-dependent `while` loop raises a
# `ConcretizationError` that says what to do instead.

# %%
def relu_sum(x):
    if fnp.sum(x) > 0:          # a Python `if` on a traced value
        return fnp.sum(x)
    return 0.0


try:
    fgrad.jit(relu_sum)(np.ones(3))
except fgrad.staging.ConcretizationError as err:
    print(type(err).__name__ + ":", str(err)[:300], "...")

# %% [markdown]
# There are three ways out, one for each kind of decision:
#
# - The value is a **setting**, not data (a flag, a size, a mode): mark the argument static.  Its
#   value becomes part of the cache key, and each new value traces again.
# - The choice is **per element**: compute both sides and choose with `fnp.where`.
# - The choice is about **the whole computation**: `fgrad.lax.cond`, `switch`, `while_loop`,
#   `fori_loop` and `scan` are recorded as one primitive each, with the decision made when the
#   program runs.

# %%
def power_sum(x, n):
    total = 0.0
    for k in range(1, n + 1):   # a Python loop over a static n: unrolled into the program
        total = total + fnp.sum(x ** k)
    return total


jitted = fgrad.jit(power_sum, static_argnums=1)
assert np.isclose(jitted(np.full(3, 0.5), 4), power_sum(np.full(3, 0.5), 4))


def relu_sum_cond(x):
    s = fnp.sum(x)
    return lax.cond(s > 0, lambda s: s, lambda s: 0.0 * s, s)


for v in (np.ones(3), -np.ones(3)):
    assert fgrad.jit(relu_sum_cond)(v) == relu_sum(v)
    assert fgrad.jit(fgrad.grad(relu_sum_cond))(v)[0] == (1.0 if v.sum() > 0 else 0.0)

# %% [markdown]
# ## When tracing once pays: cost per call as the program grows
#
# A chain of `n` small operations, `x → sin(x) · 1.01 → …`, on a vector of 8 numbers.  We time
# numpy itself, eager `grad` (which traces on every call), `jit(grad)`, and the first call of a new
# `jit(grad)` (the trace itself).  Timings depend on the machine, so they are printed, never
# asserted.

# %%
def chain(n):
    def f(x):
        for _ in range(n):
            x = fnp.sin(x) * 1.01
        return fnp.sum(x)
    return f


def chain_numpy(n):
    def f(x):
        for _ in range(n):
            x = np.sin(x) * 1.01
        return np.sum(x)
    return f


sizes = [1, 3, 10, 30, 100, 300]
v = np.linspace(0.1, 0.9, 8)
rows = []
for n in sizes:
    f, g = chain(n), fgrad.grad(chain(n))
    jg = fgrad.jit(g)
    assert np.array_equal(jg(v), g(v))
    jg(v)                                   # compiled on the first replay
    start = time.perf_counter()
    fgrad.jit(g)(v)
    first = time.perf_counter() - start
    rows.append((n, best_time(lambda: chain_numpy(n)(v)), best_time(lambda: g(v)),
                 best_time(lambda: jg(v)), first))

# %% tags=["variable-output"]
print(f"{'n':>5} {'numpy fwd':>10} {'eager grad':>11} {'jit(grad)':>10} {'first call':>11}   (µs per call)")
for n, t_np, t_eager, t_jit, t_first in rows:
    print(f"{n:5d} {t_np * 1e6:10.1f} {t_eager * 1e6:11.1f} {t_jit * 1e6:10.1f} {t_first * 1e6:11.1f}")
n_big = rows[-1]
print(f"\nat n = {n_big[0]}: eager grad costs {n_big[2] / n_big[1]:.1f}x numpy's forward pass, "
      f"jit(grad) {n_big[3] / n_big[1]:.1f}x; the first call costs {n_big[4] / n_big[2]:.1f} eager grad calls")

fig, ax = plt.subplots(figsize=(6, 4))
ns = [r[0] for r in rows]
for i, label in [(1, "numpy forward"), (2, "eager grad"), (3, "jit(grad), replay"), (4, "jit(grad), first call")]:
    ax.loglog(ns, [r[i] * 1e6 for r in rows], "o-", label=label)
ax.set_xlabel("operations in the chain")
ax.set_ylabel("µs per call")
ax.set_title("Cost per call: tracing every time vs replaying")
ax.legend()
plt.show()

# %% [markdown]
# The curves tell the story.  Eager `grad` costs a fixed amount per call plus a few microseconds per
# operation.  `jit(grad)` replays both passes, so its cost per operation is a small multiple of numpy's
# forward cost per operation: the backward pass is itself a few numpy calls per operation.  The first
# call traces and compiles, costing a few eager calls.  So `jit` pays as soon as a function is called
# more than a handful of times with the same shapes.
#
# Why does `jit(grad)` not go *below* numpy, as JAX's `jit` does?  JAX hands the program to a compiler
# (XLA), which fuses chains of elementwise operations into one loop.  A staged fgrad program still makes
# one numpy call per primitive, each allocating its result and making a full pass over memory.  numpy
# cannot fuse two calls.  `fgrad.jit` removes Python's cost, never numpy's.
#
# ## A recurrent network with `lax.scan`
#
# A loop over time steps written as a Python `for` unrolls into the program: a program of a 1,000-step
# RNN would have thousands of lines.  `lax.scan(step, init, xs)` is one primitive whose body is traced
# once and replayed at every step.  Its reverse pass is a loop too.  The derivative of one step is
# staged once and split in two: a forward step that also saves what the backward step will read (for
# this body, the state `h` it started from and `1 - tanh²`), and a backward step that reads it.  The
# reverse loop then runs only the backward steps (for a batched state, a weight's gradient `h.T @ δ`
# summed over the steps is even made by one matrix product after the loop).  So memory grows as
# steps × state, not steps × every intermediate (a body whose saved values would be much larger
# than its state re-runs each step instead).

# %%
def rnn_loss(W, xs, h0):
    def step(h, x):
        h = fnp.tanh(W @ h + x)
        return h, fnp.sum(h * h)
    h, per_step = lax.scan(step, h0, xs)
    return fnp.mean(per_step)


def rnn_loss_loop(W, xs, h0):          # the same, as a Python loop
    h, total = h0, 0.0
    for x in xs:
        h = fnp.tanh(W @ h + x)
        total = total + fnp.sum(h * h)
    return total / len(xs)


rng = np.random.default_rng(0)
hidden, steps = 32, 1000
W = rng.normal(size=(hidden, hidden)) * 0.9 / np.sqrt(hidden)
xs = rng.normal(size=(steps, hidden)) * 0.5
h0 = np.zeros(hidden)

g_scan = fgrad.grad(rnn_loss)(W, xs, h0)
g_loop = fgrad.grad(rnn_loss_loop)(W, xs, h0)
jit_grad_rnn = fgrad.jit(fgrad.grad(rnn_loss))
assert np.allclose(g_scan, g_loop, rtol=1e-10, atol=1e-12)
assert np.allclose(jit_grad_rnn(W, xs, h0), g_loop, rtol=1e-10, atol=1e-12)

# %% [markdown]
# Checked against central differences in two entries of `W`, the gradient agrees to about 1e-8.

# %%
for i, j in [(0, 1), (5, 7)]:
    E = np.zeros_like(W)
    E[i, j] = 1e-6
    fd = (rnn_loss(W + E, xs, h0) - rnn_loss(W - E, xs, h0)) / 2e-6
    assert abs(fd - g_scan[i, j]) < 1e-7 * max(1.0, abs(fd)), (fd, g_scan[i, j])

# %% tags=["variable-output"]
def numpy_forward():
    h, total = h0, 0.0
    for x in xs:
        h = np.tanh(W @ h + x)
        total = total + np.sum(h * h)
    return total / len(xs)


t_np = best_time(numpy_forward, number=3)
t_loop = best_time(lambda: fgrad.grad(rnn_loss_loop)(W, xs, h0), number=1)
t_scan = best_time(lambda: fgrad.grad(rnn_loss)(W, xs, h0), number=1)
t_jit = best_time(lambda: jit_grad_rnn(W, xs, h0), number=3)
for label, t in [("numpy forward", t_np), ("eager grad, Python loop", t_loop),
                 ("eager grad, lax.scan", t_scan), ("jit(grad), lax.scan", t_jit)]:
    print(f"{label:26s} {t / steps * 1e6:7.1f} µs per step   ({t / t_np:5.1f}x numpy's forward)")

# %% [markdown]
# ## What to remember
#
# - `jit` traces once per signature (the structure, shapes and dtypes of the arguments, and the
#   values of the static ones) and replays the program on later calls.  The results equal eager
#   results.
# - Inside a jitted function values are unknown: use static arguments, `fnp.where` or `fgrad.lax`
#   instead of Python's `if` and `while` on data.
# - `jit(grad(f))` stages the forward and the backward pass together.  Put `jit` outermost.
# - It pays for functions of many small operations called many times.  It cannot make numpy's own
#   work cheaper, because numpy does not fuse operations.
