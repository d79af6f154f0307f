"""The benchmark workloads, each written once against the interface in libs.py.

A workload has a name, a description, the sizes of a full and of a quick run,
and:

    data(size)            numpy float64 inputs, the same numbers for every library
    tasks(L, size)        {task: (make, keys)}: make() returns the function that is
                          timed, called as fn(*(data[k] for k in keys)); "fwd" is
                          the plain evaluation (the only task numpy runs)
    check(task, size, data, out)
                          None when ``out`` (converted to numpy) is right, else what
                          is wrong; the right answer is computed with numpy alone
                          (closed forms, hand-written backpropagation, or central
                          differences of the numpy forward)
    ops(size)             primitives in one forward evaluation (for "per op" figures)

Every library's answer is checked against the reference before its time counts.
"""

from __future__ import annotations

import math
import zlib

import numpy as onp
from libs import leaves, tree_map


def _rng(name, size):
    return onp.random.default_rng(zlib.crc32(f"{name}/{size}".encode()))


def softmax_cross_entropy(np, z, onehot):
    """Mean cross-entropy of logits z (batch, classes), with the max shift."""
    m = np.max(z, axis=1, keepdims=True)
    lse = np.log(np.sum(np.exp(z - m), axis=1, keepdims=True)) + m
    return np.mean(lse - np.sum(z * onehot, axis=1, keepdims=True))


def close(out, ref, rtol):
    """None if every array of ``out`` is within ``rtol`` (relative to the largest
    entry of the matching ``ref`` array) of ``ref``, else a message."""
    got, want = leaves(out), leaves(ref)
    if len(got) != len(want):
        return f"{len(got)} arrays where {len(want)} were expected"
    worst = 0.0
    for g, w in zip(got, want):
        g, w = onp.asarray(g, dtype=onp.float64), onp.asarray(w, dtype=onp.float64)
        if g.shape != w.shape:
            return f"shape {g.shape}, expected {w.shape}"
        if not onp.all(onp.isfinite(g)):
            return "non-finite values"
        scale = max(float(onp.max(onp.abs(w))) if w.size else 0.0, 1e-300)
        worst = max(worst, float(onp.max(onp.abs(g - w))) / scale if w.size else 0.0)
    return None if worst <= rtol else f"relative error {worst:.1e} > {rtol:.0e}"


def check_by_differences(f, params, grad, seed=0, eps=1e-6, rtol=1e-6):
    """Check a gradient pytree of scalar ``f`` by central differences along two unit
    directions: a random one and the gradient's own (where a wrong gradient shows)."""
    grad = tree_map(lambda g: onp.asarray(g, dtype=onp.float64), grad)
    if leaves(grad) and [onp.shape(g) for g in leaves(grad)] != [
            onp.shape(p) for p in leaves(params)]:
        return "gradient shapes differ from the parameters'"
    dot = lambda a, b: sum(float(onp.vdot(x, y)) for x, y in zip(leaves(a), leaves(b)))
    rng = onp.random.default_rng(seed)
    directions = [tree_map(lambda p: rng.standard_normal(onp.shape(p)), params), grad]
    for d in directions:
        norm = math.sqrt(dot(d, d))
        if norm == 0:
            continue
        d = tree_map(lambda v: v / norm, d)
        up = f(tree_map(lambda p, v: p + eps * v, params, d))
        down = f(tree_map(lambda p, v: p - eps * v, params, d))
        fd, ad = (up - down) / (2 * eps), dot(grad, d)
        if abs(fd - ad) > rtol * max(abs(fd), abs(ad)) + 1e-8:
            return f"directional derivative {ad:.10g}, central difference {fd:.10g}"
    return None


class Workload:
    name = ""
    description = ""
    sizes = ()
    quick = ()
    smoke = ()
    memory = False
    only = None  # a tuple of library names when the workload is not for every library

    def ops(self, size):
        return None

    def label(self, size):
        return str(size)


class ScalarChain(Workload):
    name = "scalar_chain"
    description = ("x = sin(x) * 1.0001 + 1e-5, N times in a Python loop on a 0-d float64: "
                   "3 primitives per step whose arithmetic is negligible, so the time per "
                   "primitive is the library's own overhead.")
    sizes, quick, smoke = (10, 1000), (10, 200), (3, 6)

    def label(self, n):
        return f"N={n}"

    def ops(self, n):
        return 3 * n

    @staticmethod
    def f(np, x, n):
        for _ in range(n):
            x = np.sin(x) * 1.0001 + 1e-5
        return x

    def data(self, n):
        return {"x": onp.array(0.1)}

    def tasks(self, L, n):
        f = lambda x: self.f(L.np, x, n)
        return {"fwd": (lambda: f, ["x"]), "grad": (lambda: L.grad(f), ["x"])}

    def check(self, task, n, data, out):
        x, d = float(data["x"]), 1.0
        for _ in range(n):
            d *= math.cos(x) * 1.0001
            x = math.sin(x) * 1.0001 + 1e-5
        return close(out, x if task == "fwd" else d, 1e-12)


class GradCall(Workload):
    name = "grad_call"
    description = ("grad of f(x) = x * 2.0 at a Python float: the fixed cost of one call of "
                   "a gradient (tracing set-up, one primitive, backward, result).")
    sizes = quick = smoke = ("x*2",)

    def data(self, size):
        return {"x": 0.3}

    def tasks(self, L, size):
        f = lambda x: x * 2.0
        return {"fwd": (lambda: f, ["x"]), "grad": (lambda: L.grad(f), ["x"])}

    def check(self, task, size, data, out):
        return close(out, 0.6 if task == "fwd" else 2.0, 1e-15)


class MLP(Workload):
    name = "mlp"
    description = ("tanh MLP, mean softmax cross-entropy, gradient with respect to a dict "
                   "of 6 weight arrays. grad / numpy forward is the cheap-gradient ratio: "
                   "large batches measure arithmetic, small ones overhead.")
    CONFIGS = {"small": ((10, 32, 32, 4), 8), "large": ((784, 256, 256, 10), 128),
               "tiny": ((3, 4, 4, 2), 2)}
    sizes, quick, smoke = ("small", "large"), ("small", "large"), ("tiny",)

    def label(self, size):
        dims, batch = self.CONFIGS[size]
        return "-".join(map(str, dims)) + f" b{batch}"

    @staticmethod
    def loss(np, p, x, y):
        h = np.tanh(x @ p["W1"] + p["b1"])
        h = np.tanh(h @ p["W2"] + p["b2"])
        return softmax_cross_entropy(np, h @ p["W3"] + p["b3"], y)

    def data(self, size):
        dims, batch = self.CONFIGS[size]
        rng = _rng(self.name, size)
        p = {}
        for i, (a, b) in enumerate(zip(dims[:-1], dims[1:]), start=1):
            p[f"W{i}"] = rng.standard_normal((a, b)) / math.sqrt(a)
            p[f"b{i}"] = 0.1 * rng.standard_normal(b)
        x = rng.standard_normal((batch, dims[0]))
        y = onp.eye(dims[-1])[rng.integers(0, dims[-1], batch)]
        return {"params": p, "x": x, "y": y}

    def tasks(self, L, size):
        f = lambda p, x, y: self.loss(L.np, p, x, y)
        keys = ["params", "x", "y"]
        return {"fwd": (lambda: f, keys), "grad": (lambda: L.grad(f), keys),
                "value_and_grad": (lambda: L.value_and_grad(f), keys)}

    def check(self, task, size, data, out):
        value = self.loss(onp, data["params"], data["x"], data["y"])
        if task == "fwd":
            return close(out, value, 1e-12)
        grad = self._exact_grad(data)
        return close(out, (value, grad) if task == "value_and_grad" else grad, 1e-9)

    @staticmethod
    def _exact_grad(data):
        # hand-written backpropagation in numpy: the reference gradient
        p, x, y = data["params"], data["x"], data["y"]
        h1 = onp.tanh(x @ p["W1"] + p["b1"])
        h2 = onp.tanh(h1 @ p["W2"] + p["b2"])
        z = h2 @ p["W3"] + p["b3"]
        s = onp.exp(z - z.max(axis=1, keepdims=True))
        s /= s.sum(axis=1, keepdims=True)
        dz = (s - y) / len(x)
        dh2 = dz @ p["W3"].T * (1 - h2 ** 2)
        dh1 = dh2 @ p["W2"].T * (1 - h1 ** 2)
        return {"W1": x.T @ dh1, "b1": dh1.sum(0), "W2": h1.T @ dh2, "b2": dh2.sum(0),
                "W3": h2.T @ dz, "b3": dz.sum(0)}


class HVP(Workload):
    name = "hvp"
    description = ("f(x) = sum(tanh(A @ x) ** 2) + logsumexp(x); Hessian-vector product "
                   "as the jvp of grad (forward over reverse). Theory: a small constant "
                   "times the cost of grad.")
    sizes, quick, smoke = (100, 1000), (100,), (4,)

    def label(self, n):
        return f"n={n}"

    @staticmethod
    def f(np, x, a):
        m = np.max(x)
        return np.sum(np.tanh(a @ x) ** 2) + np.log(np.sum(np.exp(x - m))) + m

    def data(self, n):
        rng = _rng(self.name, n)
        return {"x": rng.standard_normal(n), "v": rng.standard_normal(n),
                "a": rng.standard_normal((n, n)) / math.sqrt(n)}

    def tasks(self, L, n):
        f = lambda x, a: self.f(L.np, x, a)
        return {"fwd": (lambda: f, ["x", "a"]), "grad": (lambda: L.grad(f), ["x", "a"]),
                "hvp": (lambda: (lambda x, v, a: L.hvp(lambda y: f(y, a), x, v)),
                        ["x", "v", "a"])}

    def check(self, task, n, data, out):
        x, v, a = data["x"], data["v"], data["a"]
        if task == "fwd":
            return close(out, self.f(onp, x, a), 1e-12)
        t = onp.tanh(a @ x)
        s = onp.exp(x - x.max())
        s /= s.sum()
        if task == "grad":
            return close(out, a.T @ (2 * t * (1 - t ** 2)) + s, 1e-10)
        c = 2 * (1 - t ** 2) * (1 - 3 * t ** 2)
        return close(out, a.T @ (c * (a @ v)) + s * v - s * (s @ v), 1e-9)


class Jacobian(Workload):
    name = "jacobian"
    description = ("f(x) = tanh(A @ x) * x + sin(x), R^n -> R^n; the full n x n Jacobian by "
                   "jacfwd and by jacrev.")
    sizes, quick, smoke = (10, 100), (10, 100), (3,)

    def label(self, n):
        return f"n={n}"

    @staticmethod
    def f(np, x, a):
        return np.tanh(a @ x) * x + np.sin(x)

    def data(self, n):
        rng = _rng(self.name, n)
        return {"x": rng.standard_normal(n), "a": rng.standard_normal((n, n)) / math.sqrt(n)}

    def tasks(self, L, n):
        f = lambda x, a: self.f(L.np, x, a)
        return {"fwd": (lambda: f, ["x", "a"]),
                "jacfwd": (lambda: (lambda x, a: L.jacfwd(lambda y: f(y, a))(x)), ["x", "a"]),
                "jacrev": (lambda: (lambda x, a: L.jacrev(lambda y: f(y, a))(x)), ["x", "a"])}

    def check(self, task, n, data, out):
        x, a = data["x"], data["a"]
        if task == "fwd":
            return close(out, self.f(onp, x, a), 1e-12)
        t = onp.tanh(a @ x)
        return close(out, ((1 - t ** 2) * x)[:, None] * a + onp.diag(t + onp.cos(x)), 1e-10)


def _rnn_params(rng, H, D, C):
    """The weights of the RNN workloads: recurrent W, input U, bias b, readout V."""
    return {"W": 0.9 * rng.standard_normal((H, H)) / math.sqrt(H),
            "U": rng.standard_normal((D, H)) / math.sqrt(D),
            "b": 0.1 * rng.standard_normal(H), "V": rng.standard_normal((H, C)) / math.sqrt(H)}


class RNN(Workload):
    name = "rnn"
    description = ("Elman RNN (hidden 32, input 8, batch 4) unrolled T steps in a Python "
                   "loop, 5 small operations per step, cross-entropy on the last state; "
                   "gradient with respect to a dict of 4 weights. Measures the cost of "
                   "recording many small array operations.")
    sizes, quick, smoke = (50, 200), (50, 200), (2,)
    H, D, B, C = 32, 8, 4, 4

    def label(self, t):
        return f"T={t}"

    def ops(self, t):
        return 5 * t + 12

    @staticmethod
    def loss(np, p, xs, h, y):
        for x in xs:
            h = np.tanh(h @ p["W"] + x @ p["U"] + p["b"])
        return softmax_cross_entropy(np, h @ p["V"], y)

    def data(self, t):
        rng = _rng(self.name, t)
        H, D, B, C = self.H, self.D, self.B, self.C
        p = _rnn_params(rng, H, D, C)
        return {"params": p, "xs": [rng.standard_normal((B, D)) for _ in range(t)],
                "h": onp.zeros((B, H)), "y": onp.eye(C)[rng.integers(0, C, B)]}

    def tasks(self, L, t):
        f = lambda p, xs, h, y: self.loss(L.np, p, xs, h, y)
        keys = ["params", "xs", "h", "y"]
        return {"fwd": (lambda: f, keys), "grad": (lambda: L.grad(f), keys)}

    def check(self, task, t, data, out):
        f = lambda p: self.loss(onp, p, data["xs"], data["h"], data["y"])
        if task == "fwd":
            return close(out, f(data["params"]), 1e-12)
        if not isinstance(out, dict) or sorted(out) != sorted(data["params"]):
            return "the gradient is not a dict with the parameters' keys"
        return check_by_differences(f, data["params"], out)


class TanhRNN(Workload):
    name = "rnn1000"
    description = ("tanh RNN (hidden 64, input 16, batch 8) over T = 1,000 steps of one "
                   "(T, 8, 16) input array, cross-entropy on the last state; gradient with "
                   "respect to a dict of 4 weights. The target workload of issue 15 "
                   "(jit(grad) per step against the numpy forward per step, peak memory "
                   "O(steps x state)). Written as a Python loop; rnn1000_scan is the "
                   "same network written with lax.scan.")
    sizes = quick = (1000,)
    smoke = (3,)
    memory = True
    H, D, B, C = 64, 16, 8, 4

    def label(self, t):
        return f"T={t}"

    def ops(self, t):
        return 5 * t + 12

    @staticmethod
    def loss(np, p, xs, h, y):
        for t in range(xs.shape[0]):
            h = np.tanh(h @ p["W"] + xs[t] @ p["U"] + p["b"])
        return softmax_cross_entropy(np, h @ p["V"], y)

    def data(self, t):
        rng = _rng(self.name, t)
        H, D, B, C = self.H, self.D, self.B, self.C
        p = _rnn_params(rng, H, D, C)
        return {"params": p, "xs": rng.standard_normal((t, B, D)),
                "h": onp.zeros((B, H)), "y": onp.eye(C)[rng.integers(0, C, B)]}

    tasks = RNN.tasks
    check = RNN.check


class TanhRNNScan(TanhRNN):
    name = "rnn1000_scan"
    description = ("the same tanh RNN over T = 1,000 steps, its loop written as lax.scan in "
                   "the libraries that have one (fgrad, JAX: one primitive whose body is "
                   "traced once; the reverse pass is a loop keeping one state per step); "
                   "numpy, autograd and torch run the Python loop (numpy's forward is the "
                   "floor)")
    only = ("numpy", "fgrad", "fgrad-jit", "jax", "jax-jit")

    def tasks(self, L, t):
        np, scan = L.np, L.scan

        def f(p, xs, h, y):
            if scan is None:
                return self.loss(np, p, xs, h, y)

            def step(h, x):
                return np.tanh(h @ p["W"] + x @ p["U"] + p["b"]), None

            h, _ = scan(step, h, xs)
            return softmax_cross_entropy(np, h @ p["V"], y)

        keys = ["params", "xs", "h", "y"]
        return {"fwd": (lambda: f, keys), "grad": (lambda: L.grad(f), keys)}


class ElementwiseChain(Workload):
    name = "elementwise"
    description = ("20 elementwise operations on an n-vector, then sum; grad. Overhead is "
                   "negligible at this size: the time shows memory traffic and the peak "
                   "memory shows how many n-sized intermediates are alive at once.")
    sizes, quick, smoke = (100_000, 1_000_000), (100_000,), (50,)
    memory = True

    def label(self, n):
        return f"n=1e{round(math.log10(n))}" if n == 10 ** round(math.log10(n)) else f"n={n}"

    def ops(self, n):
        return 21

    @staticmethod
    def chain(np, x):
        y = np.tanh(np.sin(x) * 1.5 + 0.25)
        y = np.log(np.exp(-(y * y)) + 1.0)
        y = np.cos(np.sqrt(y + 1.0)) * x
        y = np.tanh(y / (x * x + 1.0)) - 0.5
        return np.exp(y * 0.9)

    def f(self, np, x):
        return np.sum(self.chain(np, x))

    def data(self, n):
        return {"x": _rng(self.name, n).uniform(-1.0, 1.0, n)}

    def tasks(self, L, n):
        f = lambda x: self.f(L.np, x)
        return {"fwd": (lambda: f, ["x"]), "grad": (lambda: L.grad(f), ["x"])}

    def check(self, task, n, data, out):
        x = data["x"]
        if task == "fwd":
            return close(out, self.f(onp, x), 1e-11)
        # a sum of one scalar map applied elementwise: its gradient is elementwise, so
        # central differences of all the elements at once give it (to ~1e-9)
        h = 1e-6
        return close(out, (self.chain(onp, x + h) - self.chain(onp, x - h)) / (2 * h), 1e-6)


class Nested(Workload):
    name = "nested"
    description = ("f(x) = exp(x / 2) * sin(2x) + tanh(x) at a 0-d float64; grad nested "
                   "1 to 4 times (d1..d4): each level differentiates the previous one's "
                   "whole computation.")
    sizes = quick = smoke = (0.7,)

    def label(self, x):
        return f"x={x}"

    @staticmethod
    def f(np, x):
        return np.exp(0.5 * x) * np.sin(2.0 * x) + np.tanh(x)

    def data(self, x):
        return {"x": onp.array(x)}

    def tasks(self, L, x):
        f = lambda x: self.f(L.np, x)

        def nested(k):
            def make():
                g = f
                for _ in range(k):
                    g = L.grad(g)
                return g

            return make

        tasks = {"fwd": (lambda: f, ["x"])}
        for k in (1, 2, 4):
            tasks[f"d{k}"] = (nested(k), ["x"])
        return tasks

    def check(self, task, x, data, out):
        k = 0 if task == "fwd" else int(task[1:])
        x = float(data["x"])
        a = complex(0.5, 2.0)  # k-th derivative of exp(x/2) sin(2x) = Im(a^k e^(a x))
        first = (a ** k * complex(math.exp(0.5 * x) * math.cos(2 * x),
                                  math.exp(0.5 * x) * math.sin(2 * x))).imag
        t = math.tanh(x)
        s = 1 - t * t
        tanh_k = {0: t, 1: s, 2: -2 * t * s, 4: 8 * t * s * (2 - 3 * t * t)}[k]
        return close(out, first + tanh_k, 1e-11)


class Growth(Workload):
    name = "growth"
    description = ("The scalar chain at 1,000 and at 100,002 primitives (fgrad only): the "
                   "cost per primitive must not grow with the length of the tape.")
    sizes = quick = (333, 33334)
    smoke = (3, 30)
    only = ("numpy", "fgrad")

    def label(self, n):
        return f"{3 * n} ops"

    def ops(self, n):
        return 3 * n

    f = staticmethod(ScalarChain.f)
    data = ScalarChain.data
    tasks = ScalarChain.tasks
    check = ScalarChain.check


class PlainCalls(Workload):
    name = "plain"
    description = ("fgrad.numpy called on plain numpy arrays (no tracer anywhere) against "
                   "the same numpy calls: a mix of ufuncs, reductions, matmul and shape "
                   "functions on small arrays, where overhead shows most.")
    sizes = quick = (16, 128)
    smoke = (16,)
    only = ("numpy", "fgrad")

    def label(self, n):
        return f"{n}x{n}"

    @staticmethod
    def f(np, a, b):
        c = np.tanh(a @ b + 1.0) * 0.5 - a
        d = np.exp(-c * c) / (np.sqrt(b * b + 1.0) + 1.0)
        return np.sum(d, axis=0) + np.max(c, axis=1) - np.mean(d)

    def data(self, n):
        rng = _rng(self.name, n)
        return {"a": rng.standard_normal((n, n)), "b": rng.standard_normal((n, n))}

    def tasks(self, L, n):
        return {"fwd": (lambda: (lambda a, b: self.f(L.np, a, b)), ["a", "b"])}

    def check(self, task, n, data, out):
        return close(out, self.f(onp, data["a"], data["b"]), 0.0)  # exactly numpy's


WORKLOADS = {w.name: w for w in (ScalarChain(), GradCall(), MLP(), HVP(), Jacobian(), RNN(),
                                 TanhRNN(), TanhRNNScan(), ElementwiseChain(), Nested(), Growth(),
                                 PlainCalls())}
