# ruff: noqa: B018  (a bare expression at the end of a cell is how a notebook displays it)
# %% [markdown]
# # 3. Forward and reverse mode
#
# Seed 003 (after Baydin et al.'s survey *Automatic Differentiation in Machine Learning*) explains the
# two modes of automatic differentiation on one small function,
#
# $$f(x_1, x_2) = \ln x_1 + x_1 x_2 - \sin x_2 \quad\text{at}\quad (x_1, x_2) = (2, 5),$$
#
# with three tables: the *primal trace* (the evaluation, one elementary operation per line), the
# *tangent trace* of forward mode and the *adjoint trace* of reverse mode.  Here fgrad produces all
# three from the traced graph of the function: nothing in the tables below is typed by hand.

# %%
import time
import tracemalloc

import matplotlib.pyplot as plt
import numpy as np

import fgrad
import fgrad.numpy as fnp


def f(x1, x2):
    return fnp.log(x1) + x1 * x2 - fnp.sin(x2)

# %% [markdown]
# ## The primal trace
#
# `fgrad.make_graph(f)(2.0, 5.0)` runs `f` once and records every primitive: its inputs and its
# value.  The inputs are named after f's parameters and the intermediate values `v1 ... v5`.

# %%
graph = fgrad.make_graph(f)(2.0, 5.0)
print(graph)

# %%
graph.primal_trace()

# %% [markdown]
# The same graph as a picture (inputs in blue, the output in yellow; drawn with Graphviz when its
# `dot` program is installed, shown as a listing otherwise):

# %%
graph

# %%
assert [n.op for n in graph.primitives] == ["log", "multiply", "add", "sin", "subtract"]
assert np.isclose(graph.value, np.log(2) + 10 - np.sin(5))  # 11.652

# %% [markdown]
# ## Forward mode: the tangent trace
#
# Forward mode carries, next to each value $v_i$, its derivative $\dot v_i$ with respect to one chosen
# input direction.  Seeding $\dot x_1 = 1, \dot x_2 = 0$ gives $\partial f/\partial x_1$.  Each line
# applies the jvp rule of one primitive (the same rules `fgrad.jvp` uses) to the tangents of its inputs:

# %%
tangents = graph.tangent_trace(1.0, 0.0)
tangents

# %%
tangents.picture()

# %% [markdown]
# The last tangent is $\partial f / \partial x_1 = 1/x_1 + x_2 = 5.5$, and it is exactly what `fgrad.jvp`
# returns.  The other partial derivative needs a second forward pass, seeded with $(0, 1)$:

# %%
value, df_dx1 = fgrad.jvp(f, (2.0, 5.0), (1.0, 0.0))
_, df_dx2 = fgrad.jvp(f, (2.0, 5.0), (0.0, 1.0))
print(f"f = {value:.3f}, df/dx1 = {df_dx1:.3f}, df/dx2 = {df_dx2:.3f}")
assert np.isclose(tangents["v5"], 5.5) and np.isclose(df_dx1, 5.5)
assert np.isclose(graph.tangent_trace(0.0, 1.0)["v5"], df_dx2)
assert np.isclose(df_dx2, 2 - np.cos(5))  # 1.716

# %% [markdown]
# ## Reverse mode: the adjoint trace
#
# Reverse mode runs the primal trace first, keeping the values the rules will need, then walks the
# graph backwards carrying adjoints $\bar v_i = \partial y / \partial v_i$, starting from $\bar y = 1$.
# A value used twice ($x_1$ and $x_2$ both feed two operations) receives one contribution per use,
# which are added up (the `+=` lines).  One backward pass gives *both* partial derivatives.

# %%
adjoints = graph.adjoint_trace()
adjoints

# %%
adjoints.picture()

# %%
g1, g2 = fgrad.grad(f, argnums=(0, 1))(2.0, 5.0)
print(f"x̄1 = {adjoints['x1']:.4f} (grad: {g1:.4f}),  x̄2 = {adjoints['x2']:.4f} (grad: {g2:.4f})")
assert np.isclose(adjoints["x1"], 5.5) and np.isclose(adjoints["x2"], 2 - np.cos(5))
assert np.isclose(g1, adjoints["x1"]) and np.isclose(g2, adjoints["x2"])

# %% [markdown]
# The backward pass is itself made of primitives.  The graph of `fgrad.grad(f)` shows the primal
# trace followed by the adjoint computations (the `cos`, the division by $x_1$, the products and sums):

# %%
grad_graph = fgrad.make_graph(fgrad.grad(f, argnums=(0, 1)))(2.0, 5.0)
print(grad_graph)
assert len(grad_graph.primitives) > len(graph.primitives)

# %% [markdown]
# ## When each mode wins
#
# For $f: \mathbb{R}^n \to \mathbb{R}^m$, one forward pass (a jvp) gives one *column* of the Jacobian,
# one reverse pass (a vjp) gives one *row*.  So `jacfwd` needs $n$ passes and `jacrev` needs $m$ (plus
# one evaluation): forward mode wins for few inputs and many outputs, reverse mode for many inputs and
# few outputs (a loss function of many parameters: $m = 1$, hence backpropagation).
#
# A deterministic way to see it is to count the work with `make_graph`.  With `chunk_size=1` each
# Jacobian is built one pass at a time, and the number of primitives it runs grows with the number of
# passes.  By default fgrad pushes all the unit vectors through one *vectorised* pass (`vmap`): the
# number of primitives stays the same, but each works on n (or m) times more numbers, so we also count
# the elements computed.

# %%
def layer(n, m, seed=0):
    rng = np.random.default_rng(seed)
    W1 = rng.normal(size=(8, n)) / np.sqrt(n)
    W2 = rng.normal(size=(m, 8)) / np.sqrt(8)

    def net(x):
        return fnp.tanh(W2 @ fnp.tanh(W1 @ x))

    return net


def work(jac, n, m, **options):
    g = fgrad.make_graph(jac(layer(n, m), **options))(np.ones(n))
    return len(g.primitives), sum(np.size(node.value) for node in g.primitives)


sizes = [1, 2, 4, 8, 16, 32]
one_pass = {(mode, vary): [work(jac, *((k, 4) if vary == "n" else (4, k)), chunk_size=1)[0]
                           for k in sizes]
            for mode, jac in (("jacfwd", fgrad.jacfwd), ("jacrev", fgrad.jacrev)) for vary in "nm"}
batched = {(mode, vary): [work(jac, *((k, 4) if vary == "n" else (4, k)))[1] for k in sizes]
           for mode, jac in (("jacfwd", fgrad.jacfwd), ("jacrev", fgrad.jacrev)) for vary in "nm"}
print("primitives run, one pass at a time (chunk_size=1), for sizes", sizes)
for key, counts in one_pass.items():
    print(f"  {key[0]}, {key[1]} varies: {counts}")
print("elements computed, vectorised passes (default)")
for key, counts in batched.items():
    print(f"  {key[0]}, {key[1]} varies: {counts}")

# one pass per input for jacfwd, per output for jacrev
assert one_pass["jacfwd", "n"][-1] > 16 * one_pass["jacfwd", "n"][0]
assert one_pass["jacrev", "n"][-1] == one_pass["jacrev", "n"][0]
assert one_pass["jacrev", "m"][-1] > 16 * one_pass["jacrev", "m"][0]
assert one_pass["jacfwd", "m"][-1] == one_pass["jacfwd", "m"][0]
# batched: the same asymmetry in the amount of arithmetic
assert batched["jacfwd", "n"][-1] > batched["jacrev", "n"][-1]
assert batched["jacrev", "m"][-1] > batched["jacfwd", "m"][-1]

# %% [markdown]
# And the wall-clock cost, measured when the notebook runs (best of several repeats), for the
# vectorised default (solid) and one pass at a time (dashed):

# %% tags=["variable-output"]
def best_time(fn, x, repeat=5):
    fn(x)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn(x)
        times.append(time.perf_counter() - start)
    return min(times)


def timings(vary, **options):
    out = {"jacfwd": [], "jacrev": []}
    for k in sizes:
        n, m = (k, 4) if vary == "n" else (4, k)
        net = layer(n, m)
        for name, jac in (("jacfwd", fgrad.jacfwd), ("jacrev", fgrad.jacrev)):
            out[name].append(best_time(jac(net, **options), np.ones(n)) * 1e3)
    return out


fig, axes = plt.subplots(1, 2, figsize=(10, 3.4), sharey=True)
for ax, vary in zip(axes, ("n", "m")):
    for options, style in (({}, "-"), ({"chunk_size": 1}, "--")):
        t = timings(vary, **options)
        label = " (one pass at a time)" if options else ""
        ax.plot(sizes, t["jacfwd"], "o" + style, color="tab:blue", label="jacfwd" + label)
        ax.plot(sizes, t["jacrev"], "s" + style, color="tab:orange", label="jacrev" + label)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    fixed = "m = 4 outputs" if vary == "n" else "n = 4 inputs"
    ax.set_title(f"{fixed}, {vary} varies")
    ax.set_xlabel(vary)
    ax.grid(alpha=0.3)
axes[0].set_ylabel("time per Jacobian (ms)")
axes[0].legend(fontsize=8)
plt.tight_layout()
plt.show()

# %% [markdown]
# One pass at a time (dashed), the picture is the textbook one: jacfwd's cost grows with the number of
# inputs, jacrev's with the number of outputs.  Vectorised (solid), both stay nearly flat at these small
# sizes, because the cost is dominated by the fixed overhead of tracing rather than by arithmetic; the
# elements counted above show where the arithmetic grows once the sizes are large.

# %% [markdown]
# ## Reverse mode costs O(n) time and O(n) memory
#
# Seed 000 states the costs of reverse mode for a graph of $n$ operations: time $O(n)$, like the
# evaluation itself, and memory $O(n)$, because the intermediate values needed by the backward pass
# must be kept until it runs.  Forward mode needs only $O(1)$ extra memory (each tangent is dropped as
# soon as the next one is computed), but one pass per input direction.
#
# We measure both on a chain of $n$ `sin` operations applied to a vector of 20,000 numbers.  Memory is
# the peak of numpy's allocations, seen by `tracemalloc`:

# %%
def chain(n):
    def f(x):
        for _ in range(n):
            x = fnp.sin(x)
        return fnp.sum(x)

    return f


def peak_bytes(fn, *args):
    tracemalloc.start()
    tracemalloc.reset_peak()
    fn(*args)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


x0 = np.linspace(0.0, 1.0, 20_000)
lengths = [10, 20, 40, 80, 160]
mem_rev = [peak_bytes(fgrad.grad(chain(n)), x0) / 1e6 for n in lengths]
mem_fwd = [peak_bytes(lambda x, n=n: fgrad.jvp(chain(n), (x,), (x,)), x0) / 1e6 for n in lengths]
print("peak MB, reverse:", np.round(mem_rev, 1))
print("peak MB, forward:", np.round(mem_fwd, 1))
# reverse: grows linearly (up to one saved array of 160 kB per operation); forward: flat
assert mem_rev[-1] > 8 * mem_rev[0]
assert mem_fwd[-1] < 1.5 * mem_fwd[0]
slope = np.polyfit(lengths, mem_rev, 1)[0] * 1e6 / x0.nbytes
print(f"reverse mode keeps about {slope:.2f} arrays of x's size per operation")
assert 0.5 < slope < 2.5

# %% [markdown]
# The slope is a little below one array per operation because, on large arrays (128 KiB and up),
# fgrad's reverse mode recomputes some cheap values in the backward pass instead of keeping them:
# here an occasional `sin` whose input is kept anyway.  It never spends more than a quarter of the
# forward pass's work on this, and the results are bit-identical.  Setting
# `fgrad.autodiff.REMAT_SHARE = 0` turns it off, and then the tape keeps exactly one array per `sin`:

# %%
fgrad.autodiff.REMAT_SHARE = 0
try:
    mem_keep = [peak_bytes(fgrad.grad(chain(n)), x0) / 1e6 for n in lengths]
finally:
    fgrad.autodiff.REMAT_SHARE = 0.25
slope_keep = np.polyfit(lengths, mem_keep, 1)[0] * 1e6 / x0.nbytes
print(f"without recomputation: {slope_keep:.2f} arrays per operation")
assert abs(slope_keep - 1) < 0.1 and slope_keep > slope

# %% tags=["variable-output"]
times_rev = [best_time(fgrad.grad(chain(n)), x0, repeat=3) * 1e3 for n in lengths]
times_eval = [best_time(chain(n), x0, repeat=3) * 1e3 for n in lengths]

fig, axes = plt.subplots(1, 2, figsize=(10, 3.4))
axes[0].plot(lengths, times_eval, "o-", label="evaluate f")
axes[0].plot(lengths, times_rev, "s-", label="grad(f)")
axes[0].set_xlabel("number of operations n")
axes[0].set_ylabel("time (ms)")
axes[0].set_title("time: O(n) for both")
axes[0].legend()
axes[1].plot(lengths, mem_rev, "s-", label="reverse (grad)")
axes[1].plot(lengths, mem_fwd, "o-", label="forward (jvp)")
axes[1].set_xlabel("number of operations n")
axes[1].set_ylabel("peak memory (MB)")
axes[1].set_title("memory: O(n) reverse, O(1) forward")
axes[1].legend()
for ax in axes:
    ax.grid(alpha=0.3)
plt.tight_layout()
plt.show()
print("time ratio grad / evaluation:", np.round(np.array(times_rev) / np.array(times_eval), 1))

# %% [markdown]
# ## Summary
#
# * The primal, tangent and adjoint traces are three readings of one graph; `make_graph` shows them.
# * `jvp` (forward) gives $J v$ for one direction $v$ per pass; `vjp` (reverse) gives $u^\top J$ for
#   one output weighting $u$ per pass.  The next notebook builds Jacobians, Hessians and
#   Hessian-vector products from these two.
