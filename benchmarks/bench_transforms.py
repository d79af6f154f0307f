"""Benchmarks of the transforms beyond autograd: vmap, batched Jacobians, checkpoint.

Run ``python benchmarks/bench_transforms.py`` (``--quick`` for a smaller run).
Prints, for each workload, the fgrad way, the Python-loop way and their ratio:

* per-example gradients of an MLP: ``vmap(grad(loss))`` against a Python loop
  of ``grad(loss)`` over the batch;
* Jacobians: ``jacrev``/``jacfwd`` (vmapped vjps/jvps) against one vjp/jvp per
  row/column (the autograd way), and ``chunk_size`` in between;
* ``checkpoint``: peak memory (tracemalloc) and time of the gradient of a deep
  chain, with and without checkpointed blocks.

Times are the best of several repeats (one process, whatever BLAS threads numpy
uses); memory is the peak of Python/numpy allocations during one gradient.
"""

from __future__ import annotations

import argparse
import time
import tracemalloc

import numpy as np

import fgrad
import fgrad.api
import fgrad.numpy as fnp


def best(fn, repeat=5, number=1):
    fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        times.append((time.perf_counter() - start) / number)
    return min(times)


def peak_bytes(fn):
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        fn()
        return tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()


def mlp_loss(params, x, y):
    h = x
    for W, b in params[:-1]:
        h = fnp.tanh(h @ W + b)
    W, b = params[-1]
    logits = h @ W + b
    m = fnp.max(logits)
    logz = fnp.log(fnp.sum(fnp.exp(logits - m))) + m
    return logz - fnp.sum(logits * y)


def per_example_gradients(sizes, batch, repeat):
    rng = np.random.default_rng(0)
    params = [(rng.standard_normal((a, b)) / np.sqrt(a), np.zeros(b))
              for a, b in zip(sizes[:-1], sizes[1:])]
    xs = rng.standard_normal((batch, sizes[0]))
    ys = np.eye(sizes[-1])[rng.integers(0, sizes[-1], batch)]
    g = fgrad.grad(mlp_loss)
    batched = fgrad.vmap(g, in_axes=(None, 0, 0))

    def loop():
        return [g(params, x, y) for x, y in zip(xs, ys)]

    got, want = batched(params, xs, ys), loop()
    for k, (W, b) in enumerate(got):
        np.testing.assert_allclose(W, np.stack([w[k][0] for w in want]), rtol=1e-8, atol=1e-12)
        np.testing.assert_allclose(b, np.stack([w[k][1] for w in want]), rtol=1e-8, atol=1e-12)
    t_vmap = best(lambda: batched(params, xs, ys), repeat)
    t_loop = best(loop, max(2, repeat // 2))
    name = "-".join(map(str, sizes))
    print(f"per-example gradients, MLP {name}, batch {batch}: vmap(grad) {t_vmap * 1e3:8.2f} ms"
          f" | loop of grad {t_loop * 1e3:8.2f} ms | loop / vmap = {t_loop / t_vmap:6.1f}x")
    return t_loop / t_vmap


def jacobians(n, repeat):
    rng = np.random.default_rng(1)
    W1 = rng.standard_normal((n, n)) / np.sqrt(n)
    W2 = rng.standard_normal((n, n)) / np.sqrt(n)
    f = lambda x: fnp.tanh(W2 @ fnp.sin(W1 @ x)) * fnp.sum(x ** 2)
    x = rng.standard_normal(n)
    ratios = {}
    for name, jac in (("jacrev", fgrad.jacrev), ("jacfwd", fgrad.jacfwd)):
        J = jac(f)(x)
        t_batched = best(lambda jac=jac: jac(f)(x), repeat)
        t_chunk = best(lambda jac=jac: jac(f, chunk_size=max(1, n // 4))(x), repeat)
        fgrad.api._BATCHED_JACOBIANS = False
        try:
            np.testing.assert_allclose(jac(f)(x), J, rtol=1e-10, atol=1e-12)
            t_rows = best(lambda jac=jac: jac(f)(x), max(2, repeat // 2))
        finally:
            fgrad.api._BATCHED_JACOBIANS = True
        ratios[name] = t_rows / t_batched
        print(f"{name} of R^{n} -> R^{n}: vmapped {t_batched * 1e3:8.2f} ms | chunk_size={n // 4}"
              f" {t_chunk * 1e3:8.2f} ms | one pass per row {t_rows * 1e3:8.2f} ms |"
              f" rows / vmapped = {t_rows / t_batched:6.1f}x")
    return ratios


def checkpoint_memory(n, blocks, depth, repeat):
    def block(x):
        for _ in range(depth):
            x = fnp.sin(x) * 1.01
        return x

    ck = fgrad.checkpoint(block)

    def chain(b):
        def f(x):
            for _ in range(blocks):
                x = b(x)
            return fnp.sum(x)
        return f

    x = np.linspace(0.1, 1.0, n)
    g_plain, g_ck = fgrad.grad(chain(block)), fgrad.grad(chain(ck))
    np.testing.assert_array_equal(g_plain(x), g_ck(x))
    m_fwd = peak_bytes(lambda: chain(block)(x))
    m_plain, m_ck = peak_bytes(lambda: g_plain(x)), peak_bytes(lambda: g_ck(x))
    t_plain, t_ck = best(lambda: g_plain(x), repeat), best(lambda: g_ck(x), repeat)
    print(f"checkpoint, {blocks} blocks x {depth} ops on {n} float64: peak memory of grad"
          f" {m_plain / 1e6:7.1f} MB plain | {m_ck / 1e6:7.1f} MB checkpointed |"
          f" forward alone {m_fwd / 1e6:5.1f} MB | saving {m_plain / m_ck:4.1f}x;"
          f" time {t_plain * 1e3:.1f} ms -> {t_ck * 1e3:.1f} ms ({t_ck / t_plain:.2f}x)")
    return m_plain / m_ck


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes, fewer repeats")
    args = parser.parse_args(argv)
    repeat = 3 if args.quick else 7
    per_example_gradients((64, 128, 128, 10), 128, repeat)
    if not args.quick:
        per_example_gradients((256, 256, 256, 10), 128, 3)
    per_example_gradients((10, 32, 32, 4), 128, repeat)
    jacobians(50 if args.quick else 200, repeat)
    checkpoint_memory(50_000 if args.quick else 200_000, 10, 10, 3)


if __name__ == "__main__":
    main()
