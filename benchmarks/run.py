#!/usr/bin/env python3
"""fgrad's benchmark: the same workloads on fgrad and its peers, in one process.

    python benchmarks/run.py                    # full run (about 10 minutes)
    python benchmarks/run.py --quick            # smaller sizes, fewer rounds (~2 min)
    python benchmarks/run.py --libs numpy,fgrad --workloads mlp,rnn
    python benchmarks/run.py --docs             # full run, then rewrite docs/performance.md
    python benchmarks/run.py --smoke            # tiny sizes, fgrad and numpy: a self-test

Method: one pinned CPU, one BLAS thread, float64.  For each workload size every
(library, task) pair is warmed up and its answer checked against numpy (closed
forms, hand-written backpropagation or central differences) before any time is
taken; a wrong answer is reported and never timed.  Then the pairs are timed in
interleaved rounds (the order rotates every round), each sample being a batch of
calls long enough to time reliably, and a cell is the median of the samples.
Peak memory is measured in a fresh child process per workload size.  Only
ratios from the same run are meaningful on a shared machine.  See README.md.
"""

from __future__ import annotations

import argparse
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
THREADS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
           "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS", "BLIS_NUM_THREADS")


def parse(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--libs", help="comma list (default: every importable library; numpy "
                   "always runs, it is the floor)")
    p.add_argument("--workloads", help="comma list of NAME or NAME:SIZE+SIZE")
    p.add_argument("--quick", action="store_true", help="smaller sizes and fewer rounds")
    p.add_argument("--smoke", action="store_true",
                   help="tiny sizes, numpy and fgrad only, one round: checks the answers")
    p.add_argument("--rounds", type=int, help="timed rounds (default 9, quick 5)")
    p.add_argument("--sample", type=float, help="seconds per timed sample (default 0.05)")
    p.add_argument("--clock", choices=("cpu", "wall"), default="cpu",
                   help="cpu: CPU time of this process (default; robust to other load on a "
                   "shared machine), wall: elapsed time")
    p.add_argument("--budget", type=float, default=10.0,
                   help="cap on the seconds spent timing one cell (default 10)")
    p.add_argument("--json", default=os.path.join(HERE, "results", "latest.json"),
                   help="where to write every sample (default: %(default)s)")
    p.add_argument("--docs", action="store_true",
                   help="after the run, regenerate docs/performance.md and its plot")
    p.add_argument("--no-memory", action="store_true", help="skip the peak-memory pass")
    p.add_argument("--cpu", type=int, help="the CPU to pin to (default: the last one)")
    p.add_argument("--list", action="store_true", help="list the workloads and exit")
    p.add_argument("--memory-child", help=argparse.SUPPRESS)
    return p.parse_args(argv)


def pin(cpu):
    """One thread, one CPU: must run before numpy (or torch, jax) is imported."""
    for var in THREADS:
        os.environ[var] = "1"
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "")
                               + " --xla_cpu_multi_thread_eigen=false").strip()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if not hasattr(os, "sched_setaffinity"):
        return None
    allowed = sorted(os.sched_getaffinity(0))
    cpu = allowed[-1] if cpu is None else cpu
    try:
        os.sched_setaffinity(0, {cpu})
    except OSError:
        return None
    return cpu


# ------------------------------------------------------------------------------
# after pin(): numpy and the libraries may be imported
# ------------------------------------------------------------------------------


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def load_libs(names):
    from libs import LIBS

    loaded, missing = {}, {}
    for name in names:
        try:
            loaded[name] = LIBS[name]()
        except Exception as e:  # not installed, or broken: a missing column
            missing[name] = f"{type(e).__name__}: {e}".splitlines()[0][:160]
    return loaded, missing


class Cell:
    """One (library, task) pair of a workload size."""

    def __init__(self, lib, task):
        self.lib, self.task = lib, task
        self.status = "ok"  # ok | wrong | error | n/a
        self.note = ""
        self.call = None
        self.number = 1
        self.samples = []
        self.first_s = None
        self.memory = None

    @property
    def median(self):
        if not self.samples or self.status != "ok":
            return None
        s = sorted(self.samples)
        n = len(s)
        return s[n // 2] if n % 2 else 0.5 * (s[n // 2 - 1] + s[n // 2])

    def json(self):
        return {"lib": self.lib, "task": self.task, "status": self.status, "note": self.note,
                "median_s": self.median, "samples_s": self.samples, "number": self.number,
                "first_call_s": self.first_s, "memory": self.memory}


def make_cells(workload, size, libs, data):
    """Build every cell's thunk (a call with no arguments, blocking on the result)."""
    from libs import Missing, tree_map

    cells = []
    for name, L in libs.items():
        if workload.only and name not in workload.only:
            continue
        try:
            tasks = workload.tasks(L, size)
            args = tree_map(L.array, data)
        except Exception as e:
            c = Cell(name, "fwd")
            c.status, c.note = "error", f"set-up: {type(e).__name__}: {e}"[:200]
            cells.append(c)
            continue
        for task, (make, keys) in tasks.items():
            if task != "fwd" and not L.differentiates:
                continue
            c = Cell(name, task)
            cells.append(c)
            try:
                fn = L.wrap(make())
                call_args = [args[k] for k in keys]
                c.call = lambda fn=fn, a=call_args, L=L: L.ready(fn(*a))
            except Missing as e:
                c.status, c.note = "n/a", f"no {e}"
            except Exception as e:
                c.status, c.note = "error", f"{type(e).__name__}: {e}"[:200]
    return cells


def clock(opts):
    import time

    return time.process_time if opts.clock == "cpu" else time.perf_counter


def warm_and_check(workload, size, data, cells, libs, opts):
    """First calls, the correctness check, and the batch size of each sample."""
    from libs import tree_map

    now = clock(opts)
    for c in cells:
        if c.call is None:
            continue
        try:
            t0 = now()
            out = c.call()
            c.first_s = now() - t0
            out = tree_map(libs[c.lib].numpy, out) if c.lib != "numpy" else out
            problem = workload.check(c.task, size, data, out)
            if problem is None and c.lib != "numpy":
                problem = _dtype_problem(out)
            if problem is not None:
                c.status, c.note, c.call = "wrong", problem, None
                log(f"   WRONG {c.lib} {c.task}: {problem}")
                continue
            c.call()  # (a jitted cell compiles its program on this first replay)
            t0 = now()
            c.call()  # the sample's size comes from a warm call
            once = max(now() - t0, 1e-7)
            c.number = max(1, min(100_000, round(opts.sample / once)))
        except Exception as e:
            c.status, c.note, c.call = "error", f"{type(e).__name__}: {e}"[:200], None
            log(f"   ERROR {c.lib} {c.task}: {c.note}")


def _dtype_problem(out):
    import numpy as np
    from libs import leaves

    for leaf in leaves(out):
        if np.asarray(leaf).dtype != np.float64:
            return f"result dtype {np.asarray(leaf).dtype}, expected float64"
    return None


def time_cells(cells, opts):
    """Interleaved rounds: every round times each cell once, in a rotated order."""
    import gc

    now = clock(opts)
    live = [c for c in cells if c.call is not None]
    if not live:
        return
    rounds = {id(c): max(3, min(opts.rounds, int(opts.budget / max(
        c.number * (c.first_s or 1e-6), 1e-9)))) for c in live}
    gc.collect()
    gc.freeze()  # what exists now is never garbage: keep the collector off it
    for r in range(max(rounds.values())):
        k = r % len(live)
        for c in live[k:] + live[:k]:
            if len(c.samples) >= rounds[id(c)]:
                continue
            gc.collect()
            t0 = now()
            for _ in range(c.number):
                c.call()
            c.samples.append((now() - t0) / c.number)
    gc.unfreeze()


# ------------------------------------------------------------------------------
# peak memory, in a child process
# ------------------------------------------------------------------------------


def _rss_now_and_peak():
    now = peak = None
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                now = int(line.split()[1]) * 1024
            elif line.startswith("VmHWM:"):
                peak = int(line.split()[1]) * 1024
    return now, peak


def peak_memory(call, numpy_arrays):
    """Extra bytes at the peak of one call (the best of two calls): the peak
    resident set size for every library, and for numpy-backed ones also
    tracemalloc's peak (it sees every numpy buffer, nothing else)."""
    import gc
    import tracemalloc

    found = {}
    for _ in range(2):
        gc.collect()
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # reset the high-water mark of the resident set
        base, _ = _rss_now_and_peak()
        out = call()
        rss = _rss_now_and_peak()[1] - base
        del out
        found["rss"] = min(found.get("rss", rss), rss)
        if numpy_arrays:
            gc.collect()
            tracemalloc.start()
            base = tracemalloc.get_traced_memory()[0]
            out = call()
            peak = tracemalloc.get_traced_memory()[1] - base
            tracemalloc.stop()
            del out
            found["tracemalloc"] = min(found.get("tracemalloc", peak), peak)
    return {k: int(v) for k, v in found.items()}


def memory_child(spec):
    import json

    from workloads import WORKLOADS

    w = WORKLOADS[spec["workload"]]
    libs, _ = load_libs(spec["libs"])
    data = w.data(spec["size"])
    cells = [c for c in make_cells(w, spec["size"], libs, data)
             if c.task in ("fwd", "grad") and c.call is not None]
    result = {}
    for c in cells:
        try:
            c.call()
            c.call()
            result.setdefault(c.lib, {})[c.task] = peak_memory(c.call, libs[c.lib].numpy_arrays)
        except Exception as e:
            result.setdefault(c.lib, {})[c.task] = {"error": f"{type(e).__name__}: {e}"[:200]}
    print("MEMORY " + json.dumps(result), flush=True)


def measure_memory(workload, size, cells, opts):
    import json
    import subprocess

    libs = sorted({c.lib for c in cells if c.status == "ok" and c.task in ("fwd", "grad")})
    spec = json.dumps({"workload": workload.name, "size": size, "libs": libs})
    cmd = [sys.executable, os.path.abspath(__file__), "--memory-child", spec]
    if opts.pinned is not None:
        cmd += ["--cpu", str(opts.pinned)]
    # every allocation of 64 KiB or more gets its own mapping and is returned to the
    # system when freed, so the resident-set peak of one call is visible
    env = dict(os.environ, MALLOC_MMAP_THRESHOLD_="65536")
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
    for line in proc.stdout.splitlines():
        if line.startswith("MEMORY "):
            found = json.loads(line[7:])
            for c in cells:
                m = found.get(c.lib, {}).get(c.task)
                if m and "error" not in m:
                    c.memory = m
            return
    log(f"   memory pass failed: {proc.stderr.strip()[-300:]}")


# ------------------------------------------------------------------------------
# the run
# ------------------------------------------------------------------------------


def select(opts):
    from workloads import WORKLOADS

    chosen = []
    for spec in (opts.workloads.split(",") if opts.workloads else list(WORKLOADS)):
        name, _, sizes = spec.strip().partition(":")
        if name not in WORKLOADS:
            sys.exit(f"unknown workload {name!r}; the workloads are: {', '.join(WORKLOADS)}")
        w = WORKLOADS[name]
        default = w.smoke if opts.smoke else (w.quick if opts.quick else w.sizes)
        if sizes:
            kind = type(default[0])
            chosen.append((w, tuple(kind(s) for s in sizes.split("+"))))
        else:
            chosen.append((w, tuple(default)))
    return chosen


def machine():
    import platform

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
            "platform": platform.platform()}


def main(argv=None):
    opts = parse(argv)
    opts.pinned = pin(opts.cpu)
    sys.path.insert(0, HERE)
    sys.path.insert(0, ROOT)  # the fgrad of this checkout, even if another is installed
    if opts.memory_child:
        import json

        memory_child(json.loads(opts.memory_child))
        return 0

    import datetime
    import json
    import time
    import warnings

    warnings.filterwarnings("ignore")
    from libs import LIBS
    from workloads import WORKLOADS

    if opts.list:
        for w in WORKLOADS.values():
            print(f"{w.name}: sizes {list(w.sizes)}, quick {list(w.quick)}\n    {w.description}")
        return 0
    if opts.smoke:
        opts.libs = opts.libs or "numpy,fgrad"
        opts.rounds, opts.sample, opts.no_memory = 1, 1e-4, True
    opts.rounds = opts.rounds or (5 if opts.quick else 9)
    opts.sample = opts.sample or (0.02 if opts.quick else 0.05)
    names = opts.libs.split(",") if opts.libs else list(LIBS)
    names = [n for n in LIBS if n in set(names) | {"numpy"}]
    unknown = set(opts.libs.split(",") if opts.libs else ()) - set(LIBS)
    if unknown:
        sys.exit(f"unknown libraries {sorted(unknown)}; choose from {', '.join(LIBS)}")
    libs, missing = load_libs(names)
    for name, why in missing.items():
        log(f"library {name} is not available: {why}")
    started = time.perf_counter()
    groups = []
    for w, sizes in select(opts):
        for size in sizes:
            log(f"== {w.name} {w.label(size)}")
            data = w.data(size)
            cells = make_cells(w, size, libs, data)
            warm_and_check(w, size, data, cells, libs, opts)
            time_cells(cells, opts)
            if w.memory and not opts.no_memory:
                measure_memory(w, size, cells, opts)
            for c in cells:
                c.call = None
            groups.append({"workload": w.name, "size": size, "label": w.label(size),
                           "ops": w.ops(size), "cells": [c.json() for c in cells]})
    meta = {"date": datetime.datetime.now().isoformat(timespec="seconds"),
            "argv": sys.argv[1:] if argv is None else list(argv), "quick": opts.quick,
            "smoke": opts.smoke, "pinned_cpu": opts.pinned, "rounds": opts.rounds,
            "sample_s": opts.sample, "clock": opts.clock, "seconds": time.perf_counter() - started,
            "load_average": os.getloadavg(), "machine": machine(),
            "versions": {n: L.version() for n, L in libs.items()}, "missing": missing,
            "libs": [n for n in names if n in libs]}
    result = {"meta": meta, "groups": groups}
    import report

    result["metrics"] = report.metrics(result)
    print(report.text(result))
    if opts.json:
        os.makedirs(os.path.dirname(os.path.abspath(opts.json)), exist_ok=True)
        with open(opts.json, "w") as f:
            json.dump(result, f, indent=1)
        log(f"results written to {opts.json}")
    if opts.docs:
        report.write_docs(result, os.path.join(ROOT, "docs"))
        log("docs/performance.md and docs/performance.png regenerated")
    bad = [c for g in groups for c in g["cells"] if c["status"] in ("wrong", "error")]
    return 1 if any(c["lib"] == "fgrad" or c["status"] == "wrong" for c in bad) else 0


if __name__ == "__main__":
    sys.exit(main())
