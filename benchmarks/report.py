"""Turn a benchmark run (run.py's JSON) into tables, target verdicts and the docs.

    python benchmarks/report.py benchmarks/results/latest.json          # print
    python benchmarks/report.py benchmarks/results/latest.json --docs   # rewrite docs

Every ratio is between medians measured in the same run.
"""

from __future__ import annotations

import json
import os
import sys

START, END = "<!-- results:start -->", "<!-- results:end -->"


def _cell(result, workload, size, lib, task):
    for g in result["groups"]:
        if g["workload"] == workload and g["size"] == size:
            for c in g["cells"]:
                if c["lib"] == lib and c["task"] == task:
                    return c
    return None


def _median(result, workload, size, lib, task):
    c = _cell(result, workload, size, lib, task)
    return c["median_s"] if c and c["status"] == "ok" else None


def _sizes(result, workload):
    return [g["size"] for g in result["groups"] if g["workload"] == workload]


def _ops(result, workload, size):
    for g in result["groups"]:
        if g["workload"] == workload and g["size"] == size:
            return g["ops"]
    return None


def _ratio(a, b):
    return None if a is None or not b else a / b


def _marginal_us(result, workload, lib, task):
    """Cost of one more primitive: (t(largest) - t(smallest)) / extra primitives."""
    sizes = _sizes(result, workload)
    if len(sizes) < 2:
        return None
    small, big = sizes[0], sizes[-1]
    a, b = _median(result, workload, small, lib, task), _median(result, workload, big, lib, task)
    extra = _ops(result, workload, big) - _ops(result, workload, small)
    return None if a is None or b is None or extra <= 0 else (b - a) / extra * 1e6


def _over_floor(result, workload, size, lib, task):
    return _ratio(_median(result, workload, size, lib, task),
                  _median(result, workload, size, "numpy", "fwd"))


def _memory(result, lib, how=None):
    """Peak memory of grad ÷ that of the numpy forward, measured the same way:
    tracemalloc where both have it (numpy-backed libraries), else the peak RSS."""
    for size in reversed(_sizes(result, "elementwise")):
        grad = (_cell(result, "elementwise", size, lib, "grad") or {}).get("memory")
        floor = (_cell(result, "elementwise", size, "numpy", "fwd") or {}).get("memory")
        if grad and floor:
            how = how or ("tracemalloc" if "tracemalloc" in grad else "rss")
            return _ratio(grad.get(how), floor.get(how))
    return None


def _worst_forward(result, lib):
    """The largest ``fwd`` time ÷ numpy's ``fwd`` over every workload and size both ran."""
    worst = None
    for g in result["groups"]:
        r = _over_floor(result, g["workload"], g["size"], lib, "fwd")
        if r is not None and g["workload"] != "plain":
            worst = r if worst is None else max(worst, r)
    return worst


def _growth(result, lib):
    sizes = _sizes(result, "growth")
    if len(sizes) < 2:
        return None
    per_op = [_ratio(_median(result, "growth", s, lib, "grad"), _ops(result, "growth", s))
              for s in (sizes[0], sizes[-1])]
    return _ratio(per_op[1], per_op[0])


# name -> (description, function of (result, lib))
METRICS = {
    "prim_us": ("µs per primitive under grad (scalar chain, marginal)",
                lambda r, lib: _marginal_us(r, "scalar_chain", lib, "grad")),
    "call_us": ("µs per grad call of a scalar function (x * 2.0)",
                lambda r, lib: _median(r, "grad_call", "x*2", lib, "grad") and
                _median(r, "grad_call", "x*2", lib, "grad") * 1e6),
    "rnn_us": ("µs per op under grad, Python-loop RNN (marginal)",
               lambda r, lib: _marginal_us(r, "rnn", lib, "grad")),
    "mlp_large": ("MLP 784-256-256-10 b128: grad ÷ numpy forward",
                  lambda r, lib: _over_floor(r, "mlp", "large", lib, "grad")),
    "mlp_small": ("MLP 10-32-32-4 b8: grad ÷ numpy forward",
                  lambda r, lib: _over_floor(r, "mlp", "small", lib, "grad")),
    "hvp": ("Hessian-vector product ÷ grad (n = 100)",
            lambda r, lib: _ratio(_median(r, "hvp", 100, lib, "hvp"),
                                  _median(r, "hvp", 100, lib, "grad"))),
    "jacfwd10": ("jacfwd ÷ numpy forward (n = 10)",
                 lambda r, lib: _over_floor(r, "jacobian", 10, lib, "jacfwd")),
    "jacrev10": ("jacrev ÷ numpy forward (n = 10)",
                 lambda r, lib: _over_floor(r, "jacobian", 10, lib, "jacrev")),
    "jacfwd100": ("jacfwd ÷ numpy forward (n = 100)",
                  lambda r, lib: _over_floor(r, "jacobian", 100, lib, "jacfwd")),
    "jacrev100": ("jacrev ÷ numpy forward (n = 100)",
                  lambda r, lib: _over_floor(r, "jacobian", 100, lib, "jacrev")),
    "memory": ("peak memory of grad ÷ numpy forward (20-op chain, largest n)",
               _memory),
    "memory_rss": ("the same, by peak resident set size (every library)",
                   lambda r, lib: _memory(r, lib, "rss")),
    "nested4": ("4th derivative (grad nested 4 times) ÷ numpy forward",
                lambda r, lib: _over_floor(r, "nested", 0.7, lib, "d4")),
    "plain": ("fgrad.numpy on plain 16×16 arrays ÷ numpy (same calls)",
              lambda r, lib: _over_floor(r, "plain", 16, lib, "fwd")),
    "plain128": ("the same on 128×128 arrays",
                 lambda r, lib: _over_floor(r, "plain", 128, lib, "fwd")),
    "prim_ratio": ("grad's marginal cost per primitive ÷ numpy forward's (scalar chain)",
                   lambda r, lib: _ratio(_marginal_us(r, "scalar_chain", lib, "grad"),
                                         _marginal_us(r, "scalar_chain", "numpy", "fwd"))),
    "rnn_scan": ("RNN of 1,000 steps with lax.scan: grad per step ÷ numpy forward per step",
                 lambda r, lib: _over_floor(r, "rnn1000_scan", 1000, lib, "grad")),
    "fwd_max": ("forward pass ÷ numpy's: the worst workload (fgrad-jit: jit(f))",
                lambda r, lib: _worst_forward(r, lib)),
    "growth": ("per-op cost at 100k ops ÷ at 1k ops (scalar chain under grad)",
               _growth),
}


def _targets(m):
    """(metric, target text, verdict) for fgrad, from the metrics of one run."""
    f = {k: v.get("fgrad") for k, v in m.items()}
    ag = {k: v.get("autograd") for k, v in m.items()}
    to = {k: v.get("torch") for k, v in m.items()}

    def verdict(ok):
        return "–" if ok is None else ("met" if ok else "MISSED")

    def both(x, limit_a, limit_b):
        if x is None or (limit_a is None and limit_b is None):
            return None
        return (limit_a is None or x <= limit_a) and (limit_b is None or x < limit_b)

    third = lambda v: None if v is None else v / 3
    rows = [
        ("prim_us", "≤ autograd ÷ 3 and < torch", both(f["prim_us"], third(ag["prim_us"]),
                                                       to["prim_us"])),
        ("call_us", "≤ autograd ÷ 3", both(f["call_us"], third(ag["call_us"]), None)),
        ("rnn_us", "< torch", both(f["rnn_us"], None, to["rnn_us"])),
        ("mlp_large", "≤ 2.8", None if f["mlp_large"] is None else f["mlp_large"] <= 2.8),
        ("mlp_small", "≤ 6", None if f["mlp_small"] is None else f["mlp_small"] <= 6),
        ("hvp", "≤ 2.5", None if f["hvp"] is None else f["hvp"] <= 2.5),
        ("memory", "≤ 3", None if f["memory"] is None else f["memory"] <= 3),
        ("plain", "≤ 1.2", None if f["plain"] is None else f["plain"] <= 1.2),
        ("growth", "≤ 1.5", None if f["growth"] is None else f["growth"] <= 1.5),
    ]
    return [(k, text, verdict(ok)) for k, text, ok in rows]


#: issue 15's targets for fgrad.jit (the fgrad-jit column: each measured call in one jit)
JIT_TARGETS = {"prim_ratio": 4.0, "mlp_small": 2.5, "mlp_large": 1.9, "rnn_scan": 4.0,
               "fwd_max": 1.2}


def _jit_targets(m):
    out = {}
    for key, limit in JIT_TARGETS.items():
        x = m.get(key, {}).get("fgrad-jit")
        out[key] = (f"≤ {limit:g}", "–" if x is None else ("met" if x <= limit else "MISSED"))
    return out


def metrics(result):
    libs = result["meta"]["libs"]
    return {name: {lib: fn(result, lib) for lib in libs} for name, (_, fn) in METRICS.items()}


def _fmt(x):
    if x is None:
        return "–"
    if x >= 100:
        return f"{x:.0f}"
    if x >= 10:
        return f"{x:.1f}"
    return f"{x:.2f}"


def _time(s):
    if s is None:
        return None
    for unit, k in (("s", 1), ("ms", 1e3), ("µs", 1e6), ("ns", 1e9)):
        if s * k >= 1 or unit == "ns":
            return f"{s * k:.3g}{unit}"


def metrics_table(result, markdown=True):
    m = result.get("metrics") or metrics(result)
    libs = [lib for lib in result["meta"]["libs"] if any(m[k].get(lib) is not None for k in m)]
    targets = {k: (t, v) for k, t, v in _targets(m)}
    jit = _jit_targets(m) if "fgrad-jit" in libs else {}
    head = ["measure"] + libs + ["fgrad target", "verdict"]
    if jit:
        head += ["fgrad-jit target", "verdict"]
    rows = []
    for key, (desc, _) in METRICS.items():
        if all(m[key].get(lib) is None for lib in libs):
            continue
        t, v = targets.get(key, ("", ""))
        rows.append([desc] + [_fmt(m[key].get(lib)) for lib in libs] + [t, v]
                    + (list(jit.get(key, ("", ""))) if jit else []))
    return _table(head, rows, markdown)


def cells_table(result, markdown=False):
    libs = result["meta"]["libs"]
    head = ["workload", "task"] + libs
    rows = []
    for g in result["groups"]:
        tasks = list(dict.fromkeys(c["task"] for c in g["cells"]))
        floor = next((c["median_s"] for c in g["cells"]
                      if c["lib"] == "numpy" and c["task"] == "fwd"), None)
        for i, task in enumerate(tasks):
            row = [f"{g['workload']} {g['label']}" if i == 0 else "", task]
            for lib in libs:
                c = next((c for c in g["cells"] if c["lib"] == lib and c["task"] == task), None)
                if c is None:
                    row.append("")
                elif c["status"] != "ok":
                    row.append(c["status"].upper() if c["status"] != "n/a" else "n/a")
                else:
                    s = _time(c["median_s"]) or "–"
                    if floor and not (lib == "numpy" and task == "fwd"):
                        s += f" ({_fmt(c['median_s'] / floor)}×)"
                    row.append(s)
            rows.append(row)
    return _table(head, rows, markdown)


def _table(head, rows, markdown):
    if markdown:
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        lines += ["| " + " | ".join(r) + " |" for r in rows]
        return "\n".join(lines)
    widths = [max(len(str(x)) for x in col) for col in zip(head, *rows)]
    fmt = lambda r: "  ".join(str(x).ljust(w) for x, w in zip(r, widths)).rstrip()
    return "\n".join([fmt(head), "-" * len(fmt(head))] + [fmt(r) for r in rows])


def _header(result):
    meta = result["meta"]
    mach = meta["machine"]
    return (f"{meta['date']}  {mach['cpu']} ({mach['cores']} cores, pinned to CPU "
            f"{meta['pinned_cpu']}, one thread), {meta.get('clock', 'wall')} time, "
            f"Python {mach['python']}, load average "
            f"{meta['load_average'][0]:.1f}; versions: "
            + ", ".join(f"{k} {v}" for k, v in meta["versions"].items()))


def text(result):
    out = [_header(result), "",
           "Median time per call (× the numpy forward of the same workload):", "",
           cells_table(result), "", "Key measures (ratios from this run):", "",
           metrics_table(result, markdown=False)]
    bad = [(g, c) for g in result["groups"] for c in g["cells"]
           if c["status"] in ("wrong", "error")]
    for g, c in bad:
        out.append(f"{c['status'].upper()}: {c['lib']} {g['workload']} {g['label']} "
                   f"{c['task']}: {c['note']}")
    if result["meta"].get("missing"):
        out.append("not available: " + ", ".join(result["meta"]["missing"]))
    if not bad:
        out.append("every answer was checked against numpy before it was timed: all correct")
    return "\n".join(out)


def plot(result, path):
    """Per-primitive overhead and the MLP gradient ratio, per library, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    m = result.get("metrics") or metrics(result)
    libs = [lib for lib in result["meta"]["libs"] if lib != "numpy"]
    colours = {"fgrad": "#d62728"}
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    panels = [
        (axes[0], [("prim_us", "scalar chain"), ("rnn_us", "RNN loop")],
         "µs per operation under grad (log scale)", True),
        (axes[1], [("mlp_small", "MLP 10-32-32-4 b8"), ("mlp_large", "MLP 784-256-256-10 b128")],
         "MLP gradient ÷ numpy forward (log scale)", True),
    ]
    for ax, series, title, log in panels:
        width = 0.8 / len(series)
        for j, (key, label) in enumerate(series):
            xs = [i + (j - (len(series) - 1) / 2) * width for i in range(len(libs))]
            ys = [m[key].get(lib) or 0 for lib in libs]
            bars = ax.bar(xs, ys, width, label=label, alpha=0.55 + 0.45 * j / max(1, len(series) - 1),
                          color=[colours.get(lib, "#1f77b4") for lib in libs])
            for b, y in zip(bars, ys):
                if y:
                    ax.annotate(_fmt(y), (b.get_x() + b.get_width() / 2, y), ha="center",
                                va="bottom", fontsize=7)
        ax.set_xticks(range(len(libs)), libs, fontsize=8)
        ax.set_title(title, fontsize=9)
        if log:
            ax.set_yscale("log")
        ax.legend(fontsize=7)
    fig.suptitle(f"{result['meta']['machine']['cpu']}, one thread, float64 "
                 f"({result['meta']['date'][:10]})", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_docs(result, docs):
    """Replace the generated part of docs/performance.md and redraw the plot."""
    path = os.path.join(docs, "performance.md")
    with open(path) as f:
        doc = f.read()
    if START not in doc or END not in doc:
        raise ValueError(f"{path} has no {START} ... {END} section to regenerate")
    try:
        plot(result, os.path.join(docs, "performance.png"))
        picture = "![per-op overhead and MLP ratio per library](performance.png)\n\n"
    except ImportError:
        picture = "(matplotlib is not installed: no plot this time)\n\n"
    meta = result["meta"]
    argv, shown = list(meta["argv"]), []
    while argv:  # the command that reproduces the run, without where its files went
        a = argv.pop(0)
        if a == "--json":
            argv[:1] = []
        elif a != "--docs" and not a.startswith("--json="):
            shown.append(a)
    command = " ".join(["python benchmarks/run.py"] + shown)
    generated = (
        f"{START}\n"
        f"Generated by `{command}` on "
        f"{_header(result)}.\n\n"
        + picture
        + metrics_table(result) + "\n\n"
        "<details><summary>Every cell: median time per call (× the numpy forward)</summary>\n\n"
        + cells_table(result, markdown=True) + "\n\n</details>\n"
        f"{END}"
    )
    a, b = doc.index(START), doc.index(END) + len(END)
    with open(path, "w") as f:
        f.write(doc[:a] + generated + doc[b:])


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    with open(args[0] if args else os.path.join(os.path.dirname(__file__), "results",
                                                "latest.json")) as f:
        res = json.load(f)
    res["metrics"] = metrics(res)
    print(text(res))
    if "--docs" in sys.argv:
        write_docs(res, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(
            __file__))), "docs"))
