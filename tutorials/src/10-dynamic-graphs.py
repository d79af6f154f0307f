# ruff: noqa: B018  (a bare expression at the end of a cell is how a notebook displays it)
# %% [markdown]
# # 10. Dynamic graphs
#
# PyTorch calls its graphs *dynamic*: the tape is recorded while your Python code runs, so a `while`
# loop that runs three times records three operations and an `if` records only the branch it took.
# fgrad works the same way.  `fgrad.grad(f)` runs `f` on tracers, and whatever Python does with the
# values (loop, branch, call a helper) decides which primitives are recorded, afresh at every call.
#
# This notebook makes that visible with `fgrad.make_graph`, which runs a function once and returns
# the graph of that one call (notebook 3 introduced it), and then answers the dependency-graph
# exercises of the *Dive into Deep Learning* (d2l 1.0) autograd chapter with it.

# %%
import numpy as np

import fgrad
import fgrad.numpy as fnp

# %% [markdown]
# ## One function, two graphs
#
# The chapter's control-flow function (the MindSpore port in seed 002) doubles its input until the norm reaches
# 1000, and multiplies by 100 when the result is negative (written with `fnp.sum(b)` where the
# chapter has `b.sum()`, so that it also runs on a plain Python float):

# %%
def f(a):
    b = a * 2
    while fnp.linalg.norm(b) < 1000:
        b = b * 2
    if fnp.sum(b) > 0:
        c = b
    else:
        c = 100 * b
    return c

# %% [markdown]
# At `a = 0.3` the loop doubles eleven times and the `if` keeps `b`; at `a = -40` it doubles four
# times and the `else` branch runs.  `make_graph` records every primitive of each call, including the
# loop tests (`norm`, `<`) and the branch test (`sum`, `>`):

# %%
graph_pos = fgrad.make_graph(f)(0.3)
graph_neg = fgrad.make_graph(f)(-40.0)
print(graph_neg)

# %% [markdown]
# The tests produce booleans: no derivative flows through them, and nothing the output depends on
# comes out of them.  `prune=True` leaves out what the output does not depend on, so what remains is
# the chain the derivative follows:

# %%
small_pos = fgrad.make_graph(f, prune=True)(0.3)
small_neg = fgrad.make_graph(f, prune=True)(-40.0)
print(small_pos)
print()
print(small_neg)

# %%
small_neg

# %%
def ops(graph):
    return [node.expression() for node in graph.primitives]


assert ops(small_pos) == ["a * 2"] + [f"v{k} * 2" for k in range(1, 12)]  # 1 + 11 doublings
assert ops(small_neg) == ["a * 2"] + [f"v{k} * 2" for k in range(1, 5)] + ["100 * v5"]
assert len(graph_pos.primitives) == 38 and len(graph_neg.primitives) == 18
assert float(graph_pos.value) == 0.3 * 2**12 and float(graph_neg.value) == -40 * 2**5 * 100

# %% [markdown]
# Two inputs, two different programs.  On each piece `f` is linear, `f(a) = k·a`, and the slope `k`
# is the product of the factors on the pruned chain: $2^{12} = 4096$ for `a = 0.3`, and
# $2^5 \cdot 100 = 3200$ for `a = -40`.  `Graph.replay` runs a recorded graph on another input (more
# on it below); run on `1`, the chain gives its slope.  And the slope is the gradient:

# %%
for a0, small in ((0.3, small_pos), (-40.0, small_neg)):
    slope = small.replay(1.0)
    print(f"a = {a0:5}: slope of the chain {slope:6}, grad(f)(a) = {fgrad.grad(f)(a0)}")
    assert fgrad.grad(f)(a0) == slope
assert small_pos.replay(1.0) == 4096 and small_neg.replay(1.0) == 3200

# %% [markdown]
# The gradient's own graph is the smallest possible.  The backward pass multiplies the seed `1` by
# the same constant factors, none of which depends on `a`, so it records no primitive: the graph of
# `grad(f)` is the forward pass (38 primitives, as above) and a constant output, and pruned it is
# only the number:

# %%
grad_graph = fgrad.make_graph(fgrad.grad(f))(0.3)
print(grad_graph.prune())
assert len(grad_graph.primitives) == len(graph_pos.primitives) == 38
assert grad_graph.prune().primitives == [] and grad_graph.value == 4096

# %% [markdown]
# ### The same in PyTorch
#
# PyTorch records the same chain.  Its tape is the graph of `grad_fn` objects hanging off the result;
# walking it from `d.grad_fn` counts the recorded operations.  (This cell is text, not code: this
# notebook does not need PyTorch.)
#
# ```python
# import torch
#
# def f(a):                       # the chapter's function, unchanged
#     b = a * 2
#     while b.norm() < 1000:
#         b = b * 2
#     if b.sum() > 0:
#         c = b
#     else:
#         c = 100 * b
#     return c
#
# def tape(t):
#     """The names of the backward nodes reachable from t.grad_fn."""
#     seen, todo = [], [t.grad_fn]
#     while todo:
#         node = todo.pop()
#         if node is not None and node not in seen:
#             seen.append(node)
#             todo.extend(parent for parent, _ in node.next_functions)
#     return [type(node).__name__ for node in seen]
#
# for value in (0.3, -40.0):
#     a = torch.tensor(value, requires_grad=True)
#     d = f(a)                    # records a new tape
#     d.backward()                # uses it, then frees the values it saved
#     print(value, a.grad.item(), tape(d).count("MulBackward0"))
# ```
#
# It prints the gradients 4096 and 3200 with 12 and 6 `MulBackward0` nodes: the pruned graphs above,
# one multiplication each.  The loop and branch tests are not on the tape either: `b.norm()` and
# `b.sum()` are recorded when they run, but nothing the result depends on comes out of them, so
# they are not reachable from `d.grad_fn` (pruning does the same here).
#
# | | PyTorch | fgrad |
# |---|---|---|
# | when the graph is recorded | every forward call, on tensors with `requires_grad` | every call of `grad(f)`, `vjp(f)`, `make_graph(f)` ... on tracers |
# | where it lives | `d.grad_fn` and its `next_functions` | inside the transform; `make_graph` hands you a copy |
# | after the backward pass | its saved values freed (unless `retain_graph=True`) | dropped when the transform returns |
# | a branch or loop on the data | records the path taken | records the path taken |

# %% [markdown]
# ## A recorded graph is the program of one call
#
# A graph can be run again on new inputs: `Graph.replay` evaluates the recorded primitives, and it is
# an ordinary function that fgrad can differentiate.  But it replays *that* call's path.  Replaying
# the graph recorded at `0.3` on `-40` doubles twelve times and never multiplies by 100:

# %%
print("f(-40)                      =", f(-40.0))
print("graph of f(0.3), at -40     =", small_pos.replay(-40.0))
print("its gradient                =", fgrad.grad(small_pos.replay)(-40.0))
assert small_pos.replay(-40.0) == -40.0 * 4096 != f(-40.0)
assert small_pos.replay(0.4) == f(0.4)  # 0.4 takes the path of 0.3 (11 doublings): same program
assert small_pos.replay(0.7) != f(0.7)  # 0.7 needs one doubling fewer

# %% [markdown]
# That is why both PyTorch and fgrad record the graph again at every call: it is the only way the
# derivative can follow whatever path the data chooses.  A library that compiles a function once
# (a static graph, or a trace that is kept and reused) must either refuse data-dependent Python
# control flow or recompile when the path changes.

# %% [markdown]
# ## The exercises of the d2l 1.0 autograd chapter, with `make_graph`
#
# The English d2l 1.0 chapter ends with eight exercises.  Besides the ones the MindSpore port in the
# seeds kept (notebook 1 answers those), they ask for the dependency graph of a function, the chain
# rule on its edges, and the two directions of evaluating it.  Here they are in our words, numbered as
# in d2l 1.0, the graph questions first.
#
# ### Exercise 5: the dependency graph of $f(x) = \log(x^2)\sin x + x^{-1}$
#
# *Write out the graph that leads from `x` to `f(x)`.*  `make_graph` writes it out for us, at `x = 2`:

# %%
def g(x):
    return fnp.log(x**2) * fnp.sin(x) + x**-1


graph = fgrad.make_graph(g)(2.0)
graph

# %%
assert [n.expression() for n in graph.primitives] == [
    "x ** 2", "log(v1)", "sin(x)", "v2 * v3", "x ** -1", "v4 + v5"]
assert np.isclose(graph.value, np.log(4) * np.sin(2) + 0.5)

# %% [markdown]
# `x` feeds three nodes (`x**2`, `sin`, `x**-1`), so three paths lead from `x` to `f`.
#
# ### Exercise 6: the chain rule, one term per edge
#
# *Compute df/dx with the chain rule and put each factor on the graph.*  Each edge of the graph
# carries one local derivative; `listing(derivatives=True)` prints them next to the nodes, read off
# the same rules that `fgrad.grad` uses:

# %%
print(graph.listing(derivatives=True))

# %% [markdown]
# Multiplying along each path from `x` to `f` and adding the three paths is the chain rule:
#
# $$\frac{df}{dx} = \underbrace{1 \cdot v_3 \cdot \tfrac{1}{v_1} \cdot 2x}_{\text{through } x^2}
# + \underbrace{1 \cdot v_2 \cdot \cos x}_{\text{through } \sin}
# + \underbrace{1 \cdot (-x^{-2})}_{\text{through } x^{-1}}
# = \frac{2\sin x}{x} + \log(x^2)\cos x - \frac{1}{x^2}.$$

# %%
x0 = 2.0
by_hand = 2 * np.sin(x0) / x0 + np.log(x0**2) * np.cos(x0) - 1 / x0**2
paths = {"through x**2": np.sin(x0) * (1 / x0**2) * 2 * x0,
         "through sin": np.log(x0**2) * np.cos(x0),
         "through x**-1": -(x0**-2)}
for name, value in paths.items():
    print(f"{name:14s} {value: .6f}")
print(f"{'sum':14s} {sum(paths.values()): .6f}   grad: {fgrad.grad(g)(x0): .6f}")
assert np.isclose(sum(paths.values()), by_hand)
assert np.isclose(fgrad.grad(g)(x0), by_hand)

# each path's product is the product of the local derivatives on its edges in the graph
local = {(t.wrt, t.node): float(t.local) for t in graph.tangent_trace(1.0).edge_terms.values()}
assert np.isclose(local["x", "v1"] * local["v1", "v2"] * local["v2", "v4"] * local["v4", "v6"],
                  paths["through x**2"])
assert np.isclose(local["x", "v3"] * local["v3", "v4"] * local["v4", "v6"], paths["through sin"])
assert np.isclose(local["x", "v5"] * local["v5", "v6"], paths["through x**-1"])

# %% [markdown]
# ### Exercise 7: from `x` to `f`, and from `f` back to `x`
#
# *Evaluate the derivative once forwards and once backwards.*  The tangent trace goes from `x` to `f`:
# every node's tangent is its local derivatives times the tangents flowing in (forward mode).

# %%
forward = graph.tangent_trace(1.0)
forward

# %%
forward.picture()

# %% [markdown]
# The adjoint trace goes from `f` back to `x`: every edge passes the adjoint of its node times the local
# derivative to the node's argument, and `x` adds up what its three uses send back (reverse mode).

# %%
backward = graph.adjoint_trace()
backward

# %%
backward.picture()

# %%
print(f"forward: {float(forward['v6']):.6f}, backward: {float(backward['x']):.6f}, "
      f"by hand: {by_hand:.6f}")
assert np.isclose(forward["v6"], by_hand) and np.isclose(backward["x"], by_hand)
# the same local derivatives appear in both directions, edge by edge
assert forward.edge_terms.keys() == backward.edge_terms.keys()
for edge, term in forward.edge_terms.items():
    assert term.derivative == backward.edge_terms[edge].derivative
    assert term.local == backward.edge_terms[edge].local

# %% [markdown]
# ### Exercise 8: when forward, when backward?
#
# *Think of the intermediate data, parallelism and the sizes involved.*  One forward pass gives the
# derivative of every output along one input direction; one backward pass gives the derivative of
# one output with respect to every input.  For a function from $\mathbb{R}^n$ to $\mathbb{R}^m$ the full
# Jacobian therefore takes $n$ forward passes or $m$ backward passes.  Counting the primitives that
# `jacfwd` and `jacrev` run shows it (notebook 3 measures the time as well):

# %%
W = np.linspace(-1.0, 1.0, 16).reshape(8, 2)


def tall(x):   # R^2 -> R^8: few inputs, many outputs
    return fnp.tanh(W @ x)


def loss(y):   # R^8 -> R: many inputs, one output
    return fnp.sum(fnp.tanh(y) ** 2)


def work(transform, fun, x):
    return len(fgrad.make_graph(transform(fun, chunk_size=1))(x).primitives)


counts = {}
for name, fun, x in (("tall", tall, np.ones(2)), ("loss", loss, np.ones(8))):
    for t in (fgrad.jacfwd, fgrad.jacrev):
        counts[name, t.__name__] = work(t, fun, x)
        print(f"{t.__name__:7s} of {name}: {counts[name, t.__name__]:3d} primitives")
assert counts["tall", "jacfwd"] < counts["tall", "jacrev"]  # 2 inputs: forwards wins
assert counts["loss", "jacrev"] < counts["loss", "jacfwd"]  # 1 output: backwards wins
assert np.allclose(fgrad.jacfwd(tall)(np.ones(2)), fgrad.jacrev(tall)(np.ones(2)))
assert np.allclose(fgrad.jacfwd(loss)(np.ones(8)), fgrad.jacrev(loss)(np.ones(8)))

# %% [markdown]
# (`chunk_size=1` asks for one pass per input or output direction, the textbook algorithm; by default
# fgrad pushes all directions through one batched pass.)
#
# The memory side shows in the adjoint trace above: the backward pass reads values of the forward
# pass (`v1`, `v2`, `v3`, `x`), so reverse mode must keep them until it gets there, while the tangent
# trace can forget each value as soon as the nodes that read it have run.  As for parallel work:
# the passes for different directions are independent in both modes (fgrad batches them when
# `chunk_size` is not set), but within one pass forward mode can compute each tangent as soon as its
# value is known, while the backward pass can only start after the whole forward pass.  So: backwards
# for a scalar loss of many parameters (training), forwards for few inputs and many outputs, or when
# memory is short.
#
# ### Exercise 1: why is the second derivative costlier?
#
# Because the first derivative is a program made of the forward pass *and* the backward pass, and the
# second derivative differentiates that whole program.  The pruned graphs of `g`, `g'`, `g''` and
# `g'''` grow:

# %%
sizes = {}
fn = g
for name in ("g", "g'", "g''", "g'''"):
    sizes[name] = len(fgrad.make_graph(fn, prune=True)(2.0).primitives)
    fn = fgrad.grad(fn)
print(sizes)
assert sizes["g"] < sizes["g'"] < sizes["g''"] < sizes["g'''"]
assert np.isclose(fgrad.make_graph(fgrad.grad(g), prune=True)(2.0).value, by_hand)

# %% [markdown]
# The graph of `g'` contains the values of `g`'s forward pass (which its backward pass reads) plus the
# backward pass; differentiating it again adds a backward pass over all of that.

# %%
fgrad.make_graph(fgrad.grad(g), prune=True)(2.0)

# %% [markdown]
# ### Exercise 2: running the backward pass twice
#
# In PyTorch, `d.backward()` a second time fails with "Trying to backward through the graph a second
# time", because the first call freed the values the tape saved.  A recorded fgrad graph is a value
# like any other, and so is the function `fgrad.vjp` returns: using it again gives the same numbers.

# %%
once, twice = graph.adjoint_trace(), graph.adjoint_trace()
_, g_vjp = fgrad.vjp(g, 2.0)
print(once["x"], twice["x"], g_vjp(1.0)[0], g_vjp(1.0)[0])
assert once["x"] == twice["x"] == g_vjp(1.0)[0] == g_vjp(1.0)[0]

# %% [markdown]
# ### Exercise 3: a vector or a matrix `a`
#
# With a vector `a` the control-flow function returns a vector, and a non-scalar output has no
# gradient: `fgrad.grad` refuses and says what to use instead.

# %%
a_vec = np.array([0.3, -0.2, 0.1])
try:
    fgrad.grad(f)(a_vec)
except TypeError as err:
    print("TypeError:", err)

# %% [markdown]
# The graph shows what changes and what does not: the loop tests the norm of the *whole* vector and
# the branch its sum, so every element goes through the same chain, now of array multiplications.

# %%
small_vec = fgrad.make_graph(f, prune=True)(a_vec)
print(small_vec)
k = small_vec.replay(np.ones(3))[0]   # the slope: the chain applied to ones
assert ops(small_vec) == ["a * 2"] + [f"v{j} * 2" for j in range(1, 12)]
assert np.array_equal(small_vec.value, k * a_vec) and k == 2**12

# %% [markdown]
# So the Jacobian is `k` times the identity, and what PyTorch's `d.backward(torch.ones_like(d))`
# computes, the gradient of the sum, is `k` in every position (a vector-Jacobian product with ones).
# `fgrad.jacrev` returns the whole Jacobian; a matrix `a` behaves the same way:

# %%
J = fgrad.jacrev(f)(a_vec)
print(J)
assert np.array_equal(J, k * np.eye(3))
assert np.array_equal(fgrad.grad(lambda a: f(a).sum())(a_vec), np.full(3, k))
a_mat = np.array([[0.5, -0.25], [0.125, 1.0]])
assert np.allclose(fgrad.grad(lambda a: f(a).sum())(a_mat), f(a_mat) / a_mat)

# %% [markdown]
# Exercise 4 (plotting `sin` and its derivative without writing `cos`) is answered in notebook 1, as
# its exercise 5.
#
# ## Summary
#
# * fgrad, like PyTorch, records the graph while the function runs, at every call: loops and branches
#   on the data are followed, and two inputs can give two different graphs.
# * `make_graph(f)(x)` hands you that graph; `prune=True` keeps what the output depends on;
#   `listing(derivatives=True)`, `tangent_trace` and `adjoint_trace` put the chain rule on its edges.
# * A recorded graph is the program of one call: `replay` runs it elsewhere only along the same path.
