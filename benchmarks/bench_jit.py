"""fgrad.jit against eager fgrad and plain numpy (issue 15's targets), fgrad only.

    python benchmarks/bench_jit.py            # ~1 minute

Measures, each as the minimum over repeats of a batch of calls (one thread):

* scalar chain (x = sin(x) * 1.0001 + 1e-5, 3 primitives per step): marginal cost
  per primitive of ``jit(grad(f))`` and ``jit(f)`` between N=100 and N=1000 steps,
  against numpy's forward;
* MLP 10-32-32-4, batch 8: ``jit(grad(loss))`` and ``jit(loss)`` / numpy forward;
* the first (tracing) call of ``jit(grad(f))`` / one eager ``grad`` call (MLP);
* the fixed overhead of a cache hit: ``jit(lambda x: x)`` minus a Python identity.
"""

import os
import sys
import timeit

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import numpy as np  # noqa: E402

import fgrad  # noqa: E402
import fgrad.numpy as fnp  # noqa: E402


def best(fn, seconds=0.2, repeat=7):
    n = 1
    while True:
        t = timeit.timeit(fn, number=n)
        if t > seconds / 10:
            break
        n *= 4
    n = max(1, int(n * seconds / 10 / max(t, 1e-9)))
    return min(timeit.repeat(fn, number=n, repeat=repeat)) / n


def chain(np_, x, n):
    for _ in range(n):
        x = np_.sin(x) * 1.0001 + 1e-5
    return x


def mlp_loss(np_, p, x, y):
    h = np_.tanh(x @ p["w1"] + p["b1"])
    h = np_.tanh(h @ p["w2"] + p["b2"])
    out = h @ p["w3"] + p["b3"]
    return np_.mean((out - y) ** 2)


def main():
    rows = []
    x0 = np.array(0.3)
    per = {}
    for n in (100, 1000):
        t_np = best(lambda: chain(np, x0, n))
        jg = fgrad.jit(fgrad.grad(lambda x: chain(fnp, x, n)))
        jf = fgrad.jit(lambda x: chain(fnp, x, n))
        jg(x0), jf(x0)
        per[n] = (t_np, best(lambda: jg(x0)), best(lambda: jf(x0)))
    ops = 3 * (1000 - 100)
    m_np, m_g, m_f = ((per[1000][i] - per[100][i]) / ops for i in range(3))
    rows.append(("scalar chain: numpy forward, us per primitive (marginal)", m_np * 1e6, ""))
    rows.append(("scalar chain: jit(grad) / numpy forward per primitive", m_g / m_np, "<= 4"))
    rows.append(("scalar chain: jit(f) / numpy forward per primitive", m_f / m_np, "<= 1.2"))

    rng = np.random.default_rng(0)
    sizes = [10, 32, 32, 4]
    p = {}
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:]), 1):
        p[f"w{i}"] = rng.standard_normal((a, b)) / np.sqrt(a)
        p[f"b{i}"] = rng.standard_normal(b) * 0.1
    x, y = rng.standard_normal((8, 10)), rng.standard_normal((8, 4))
    t_np = best(lambda: mlp_loss(np, p, x, y))

    def loss(p, x, y):
        return mlp_loss(fnp, p, x, y)

    jg, jf = fgrad.jit(fgrad.grad(loss)), fgrad.jit(loss)
    jg(p, x, y), jf(p, x, y)
    rows.append(("MLP 10-32-32-4 b8: numpy forward, us", t_np * 1e6, ""))
    rows.append(("MLP: jit(grad) / numpy forward", best(lambda: jg(p, x, y)) / t_np, "<= 2.5"))
    rows.append(("MLP: jit(f) / numpy forward", best(lambda: jf(p, x, y)) / t_np, "<= 1.2"))
    rows.append(("MLP: eager grad / numpy forward",
                 best(lambda: fgrad.grad(loss)(p, x, y)) / t_np, ""))

    def first_call():
        fgrad.jit(fgrad.grad(loss))(p, x, y)

    t_first = best(first_call, seconds=0.5, repeat=5)
    t_eager = best(lambda: fgrad.grad(loss)(p, x, y))
    rows.append(("MLP: first jit(grad) call / one eager grad", t_first / t_eager, "<= 3"))

    a = np.ones(3)
    ident = fgrad.jit(lambda x: x)
    ident(a)

    def plain(x):
        return x

    rows.append(("cache hit fixed overhead (1 array), us",
                 (best(lambda: ident(a)) - best(lambda: plain(a))) * 1e6, "<= 5"))
    pa = {"w": a, "b": a}
    ident2 = fgrad.jit(lambda p, x: x)
    ident2(pa, a)
    rows.append(("cache hit fixed overhead (dict of 2 + 1 array), us",
                 (best(lambda: ident2(pa, a)) - best(lambda: plain(a))) * 1e6, "<= 5"))

    width = max(len(r[0]) for r in rows)
    for name, value, target in rows:
        print(f"{name:<{width}}  {value:8.2f}  {target}")


if __name__ == "__main__":
    main()
