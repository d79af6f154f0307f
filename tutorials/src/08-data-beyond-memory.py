# %% [markdown]
# # 8. Gradients over data that does not fit in memory
#
# The gradient of a loss over a data set is a sum over its rows, so nothing about it needs all the
# rows in memory at once: it can be computed chunk by chunk, or on many machines.
# [Dask](https://docs.dask.org/en/stable/array.html) arrays are numpy arrays cut into chunks, with
# every operation recorded as a task graph and run later, chunk by chunk, by a scheduler on one machine
# or on a cluster.
#
# fgrad traces plain numpy code through numpy's dispatch protocols (NEP 13 and NEP 18), and a dask
# array answers those protocols too.  So the loss below is ordinary numpy code, and
# `fgrad.value_and_grad` of it over a dask array returns a **lazy** value and gradient: task graphs,
# built from the data's shapes and dtypes alone, without reading a single row.  One `dask.compute` per
# optimiser step then runs the forward and backward pass together, chunk by chunk.
#
# (Dask is installed by the `dask` extra: `pip install -e ".[dask]"`; `bash scripts/setup.sh` installs
# everything.  This notebook runs on 400,000 rows so that it builds in seconds; the same code was run on
# 10⁸ rows — 8 GB of features, generated chunk by chunk and never held in memory — and the numbers from
# that run are at the end.)

# %%
import os

import dask
import dask.array as da
import matplotlib.pyplot as plt
import numpy as np
import scipy.optimize
from dask.callbacks import Callback
from dask.diagnostics import ProgressBar

import fgrad

ROWS = int(float(os.environ.get("FGRAD_TUTORIAL_ROWS", "4e5")))
CHUNK = max(ROWS // 8, 1)
FEATURES = 5

# %% [markdown]
# ## Data generated lazily
#
# A logistic-regression data set: features from a normal distribution, labels drawn with probability
# $\sigma(x^\top w_\text{true})$.  Both are dask arrays; nothing is generated yet: each chunk is made
# when a computation needs it, and dropped after.

# %%
rng = da.random.default_rng(0)
w_true = np.array([1.5, -2.0, 0.5, 0.0, 1.0])
X = rng.standard_normal((ROWS, FEATURES), chunks=(CHUNK, FEATURES))
y = (rng.random(ROWS, chunks=CHUNK) < 1 / (1 + np.exp(-(X @ w_true)))).astype(float)
print(X)
print(y)

# %% [markdown]
# ## The loss, in plain numpy
#
# The mean negative log-likelihood, with a small ridge penalty; `np.logaddexp(0, z)` is
# $\log(1 + e^z)$ without overflow.  Nothing here knows about dask or fgrad.

# %%
LAM = 1e-4


def loss(w, X, y):
    z = X @ w
    return np.mean(np.logaddexp(0.0, z) - y * z) + 0.5 * LAM * (w @ w)

# %% [markdown]
# ## A lazy gradient, built without touching the data
#
# `fgrad.value_and_grad(loss)(w, X, y)` traces the loss with `w` as a tracer.  Where the traced value
# meets the dask array, dask builds tasks; the backward pass adds the tasks of the gradient.  To check
# that this never computes anything, a dask `Callback` counts every computation started while it is
# active.

# %%
class CountComputes(Callback):
    def __init__(self):
        super().__init__()
        self.count = 0

    def _start(self, dsk):
        self.count += 1


w0 = np.zeros(FEATURES)
counter = CountComputes()
with counter:
    value, g = fgrad.value_and_grad(loss)(w0, X, y)
print("computations while tracing:", counter.count)
print("value:", type(value).__name__, value.shape, " gradient:", type(g).__name__, g.shape)
assert counter.count == 0 and isinstance(value, da.Array) and isinstance(g, da.Array)

# %% [markdown]
# The two graphs share the forward pass (`X @ w` and the elementwise work on it), so computing them
# together reads every chunk once.  Their size (tasks) grows with the number of chunks, not rows:

# %% tags=["variable-output"]
forward = dict(value.__dask_graph__())
both = {**forward, **dict(g.__dask_graph__())}
print(f"{X.numblocks[0]} chunks; tasks of the forward pass: {len(forward)}, "
      f"value and gradient together: {len(both)}")

# %% [markdown]
# ## Checked against the gradient written by hand
#
# Dask users write this gradient by hand today: $\nabla = X^\top(\sigma(Xw) - y)/n + \lambda w$.  Both
# are computed in one pass over the data and agree to rounding.

# %%
def hand_written_gradient(w, X, y):
    return X.T @ (1 / (1 + np.exp(-(X @ w))) - y) / X.shape[0] + LAM * w


w_test = np.linspace(-0.5, 0.5, FEATURES)
auto, by_hand = dask.compute(fgrad.grad(loss)(w_test, X, y), hand_written_gradient(w_test, X, y))
print("fgrad:      ", auto)
print("by hand:    ", by_hand)
np.testing.assert_allclose(auto, by_hand, rtol=1e-10, atol=1e-15)

# %% [markdown]
# ## Fitting with `scipy.optimize.minimize`: one pass over the data per step
#
# `minimize(..., jac=True)` wants a function returning the value and the gradient.  Ours builds both
# lazily with fgrad, then computes them with **one** `dask.compute`: a single pass over the chunks
# per evaluation.  Dask's `ProgressBar` shows each pass as it runs (its timings differ between runs).

# %% tags=["variable-output"]
history = []
passes = CountComputes()


def value_and_gradient(w):
    v, g = dask.compute(*fgrad.value_and_grad(loss)(w, X, y))
    history.append(float(v))
    return float(v), np.asarray(g)


with passes, ProgressBar(minimum=0.5):
    fit = scipy.optimize.minimize(value_and_gradient, w0, jac=True, method="L-BFGS-B",
                                  options={"gtol": 1e-8})

# %%
print(f"converged: {fit.success}, {fit.nfev} evaluations, {passes.count} passes over the data")
print("fitted w:", np.round(fit.x, 3))
print("true w:  ", w_true)
assert fit.success and passes.count == fit.nfev == len(history)
assert np.max(np.abs(fit.x - w_true)) < 0.05  # 400,000 rows pin the weights down to ~0.01

# %%
fig, ax = plt.subplots(figsize=(5, 3))
ax.plot(range(1, len(history) + 1), history, marker="o", ms=3)
ax.set_xlabel("evaluation (one pass over the data)")
ax.set_ylabel("loss")
ax.set_title(f"logistic regression on {ROWS:,} lazy rows")
ax.set_yscale("log")
plt.show()

# %% [markdown]
# ## On a cluster
#
# Nothing above depends on where the tasks run.  Started with a `dask.distributed` client, the same
# cells compute on its workers (`tests/test_dask_distributed.py` runs these losses on a cluster of two
# processes and gets the same numbers):
#
# ```python
# from dask.distributed import Client, LocalCluster
# client = Client(LocalCluster(n_workers=4))   # or Client("scheduler-address:8786")
# fit = scipy.optimize.minimize(value_and_gradient, w0, jac=True, method="L-BFGS-B")
# ```
#
# ## At 10⁸ rows
#
# The same fit on 10⁸ rows of 10 features, 10⁶ rows per chunk (8 GB of features, never in memory at
# once), from `python benchmarks/dask_glm.py --rows 1e8` on a 2-core machine — see
# `docs/backends.md` for the table and how the numbers were taken:
#
# - building the lazy value and gradient took **0.026 s** per step, **0.12 %** of the step;
# - one step (value and gradient, one pass over the data) took **21.5 s**, **1.05 ×** the 20.5 s of the
#   gradient written by hand on the same chunks (most of a step is generating the random data).
#
# ## What to keep in mind
#
# - Write the loss with numpy functions (`np.mean`, `@`, `np.logaddexp`...) or `fgrad.numpy`; both
#   reach dask.  `np.asarray(x)` or `float(x)` on a dask value computes it: keep those out of the loss.
# - Keep the parameters as numpy arrays and the data as dask arrays: the gradient comes back as a small
#   lazy array, computed together with the value.
# - Boolean indexing gives arrays of unknown length; fgrad asks for `.compute_chunk_sizes()` first.
