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
# ## Four ways to a derivative
#
# The seed starts by sorting the ways to get a derivative into four:
#
# * **by hand**: work out $\partial f/\partial x_1 = 1/x_1 + x_2$ on paper and code it;
# * **numerical differentiation**: finite differences,
#   $\partial f/\partial x_i \approx (f(\mathbf x + h\mathbf e_i) - f(\mathbf x))/h$ for a small step $h$
#   (the seed writes $\mathbf x - h\mathbf e_i$ in the numerator, a sign slip);
# * **symbolic differentiation**: apply rules such as $(fg)' = f'g + fg'$ to the *expression*, as a
#   computer algebra system does; the result is a formula, which can grow much larger than the
#   function (a product of $n$ factors has a derivative of $n$ terms of $n - 1$ factors each);
# * **automatic differentiation**: apply the same rules, but to *numbers*, one elementary operation at
#   a time, as the function runs.  No formula is built and no step size is chosen; the result is as
#   exact as the evaluation itself.
#
# Automatic differentiation is often mistaken for the numerical kind, because it too gives numbers.
# The difference shows in the error.  A forward difference has two: *truncation*, from the curvature
# the straight line ignores, about $\frac h2 |f''|$; and *rounding*, because $f$ is computed with a
# relative error near the machine epsilon $\varepsilon = 2.2\cdot10^{-16}$ and dividing by $h$
# magnifies it, about $\varepsilon |f| / h$.  The first shrinks with $h$, the second grows, and
# their sum is smallest near $h \approx \sqrt{\varepsilon} \approx 1.5\cdot10^{-8}$ (times a factor
# of order one, $2\sqrt{|f| / |f''|}$).  fgrad's derivative is the reference:

# %%
exact = fgrad.grad(f)(2.0, 5.0)
print("fgrad:", repr(float(exact)), "  by hand, 1/x1 + x2:", 1 / 2.0 + 5.0)
assert exact == 1 / 2.0 + 5.0  # to the last bit

# %% tags=["variable-output"]
eps = np.finfo(float).eps
steps = 10.0 ** -np.arange(1.0, 16.01, 0.25)
forward = np.array([(f(2.0 + h, 5.0) - f(2.0, 5.0)) / h for h in steps])
central = np.array([(f(2.0 + h, 5.0) - f(2.0 - h, 5.0)) / (2 * h) for h in steps])
err_fwd, err_cen = np.abs(forward - exact), np.abs(central - exact)
value, curvature = abs(f(2.0, 5.0)), 1 / 2.0**2  # |f|, |d²f/dx1²| = 1/x1²

fig, ax = plt.subplots(figsize=(7, 3.8))
ax.loglog(steps, err_fwd, "o-", ms=3, label="forward difference")
ax.loglog(steps, err_cen, "s-", ms=3, label="central difference")
ax.loglog(steps, curvature / 2 * steps, "k--", lw=1, label="truncation, h |f''| / 2")
ax.loglog(steps, eps * value / steps, "k:", lw=1, label="rounding, ε |f| / h")
ax.axvline(np.sqrt(eps), color="gray", lw=0.8)
ax.text(np.sqrt(eps) * 1.3, 1e-12, "h = √ε", color="gray")
ax.set_ylim(1e-13, 1e1)
ax.set_xlabel("step h")
ax.set_ylabel("error against fgrad.grad")
ax.set_title("finite differences of ∂f/∂x1 at (2, 5)")
ax.legend(fontsize=8)
ax.grid(alpha=0.3)
plt.tight_layout()
plt.show()

best = steps[np.argmin(err_fwd)]
print(f"forward: smallest error {err_fwd.min():.1e} at h = {best:.0e};  "
      f"central: {err_cen.min():.1e} at h = {steps[np.argmin(err_cen)]:.0e}")
print(f"at h = 0.1: error {err_fwd[0]:.4f}, truncation estimate {curvature / 2 * 0.1:.4f};  "
      f"at h = 1e-14: error {err_fwd[steps == 1e-14][0]:.2f}")
# the two regimes, and the optimum between them, as stated above
assert np.isclose(err_fwd[0], curvature / 2 * 0.1, rtol=0.05)          # truncation
assert np.allclose(err_fwd[steps >= 1e-5], curvature / 2 * steps[steps >= 1e-5], rtol=0.05)
assert np.all(err_fwd[steps <= 1e-12] > 1e-4)                          # rounding
assert 1e-9 <= best <= 1e-6 and 1e-10 < err_fwd.min() < 1e-7           # near √ε: half the digits
assert err_cen.min() < err_fwd.min() / 10                               # central: h² truncation

# %% [markdown]
# Left of the optimum rounding dominates (the error grows like $1/h$, and at $h = 10^{-16}$ the step
# is lost entirely: $2 + h = 2$); right of it truncation does (the error falls like $h$).  Even at the
# best step, a forward difference keeps only about half of the 16 digits; a central difference,
# whose truncation error falls like $h^2$, keeps about two thirds.  That is why `fgrad.check_grads`
# compares rules with central differences *with a tolerance*, while the derivative fgrad computes
# needs none.
#
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
# A deterministic way to see it is to count the work with `make_graph`.  `jacfwd` and `jacrev` take a
# `chunk_size=` option: how many unit vectors go through one pass.  With `chunk_size=1` each Jacobian
# is built one pass at a time, the textbook algorithm, and the number of primitives it runs grows with
# the number of passes.  By default fgrad pushes all the unit vectors through one *vectorised* pass
# instead: it uses `fgrad.vmap`, the transform that turns a function of one input into a function of
# a whole batch of inputs, evaluated together with array operations (notebook 9 is about it).  Then
# the number of primitives stays the same, but each works on n (or m) times more numbers, so we also
# count the elements computed.

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
# We measure both on a chain of $n$ `sin` operations applied to a vector of 15,000 numbers (120 kB
# per array).  Memory is the peak of numpy's allocations, seen by `tracemalloc`:

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


x0 = np.linspace(0.0, 1.0, 15_000)
lengths = [10, 20, 40, 80, 160]
mem_rev = [peak_bytes(fgrad.grad(chain(n)), x0) / 1e6 for n in lengths]
mem_fwd = [peak_bytes(lambda x, n=n: fgrad.jvp(chain(n), (x,), (x,)), x0) / 1e6 for n in lengths]
print("peak MB, reverse:", np.round(mem_rev, 1))
print("peak MB, forward:", np.round(mem_fwd, 1))
# reverse: grows linearly (one saved array of 120 kB per operation); forward: flat
assert mem_rev[-1] > 8 * mem_rev[0]
assert mem_fwd[-1] < 1.5 * mem_fwd[0]
slope = np.polyfit(lengths, mem_rev, 1)[0] * 1e6 / x0.nbytes
print(f"reverse mode keeps {slope:.2f} arrays of x's size per operation")
assert abs(slope - 1) < 0.05

# %% [markdown]
# Exactly one array per `sin`: the value its derivative $\cos v$ needs.  (On arrays of 128 KiB and
# more, fgrad's reverse mode may instead recompute an occasional cheap value in the backward pass,
# spending at most a quarter of the forward pass's work on it, which lowers this slope a little; see
# *Performance* in the docs.)

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
