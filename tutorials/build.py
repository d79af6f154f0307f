"""Build the tutorial notebooks from their sources, with outputs.

The notebooks are written as plain Python files in ``tutorials/src/`` (the
"percent" cell format that Jupytext, VS Code and Spyder understand: ``# %%``
opens a code cell, ``# %% [markdown]`` a text cell whose lines start with
``#``).  This script turns each source into ``tutorials/NN-name.ipynb``, runs
it top to bottom in a fresh kernel, and stores the outputs (pictures
included), so the notebooks read well on a code host and in the docs.

    python tutorials/build.py            # rebuild every notebook
    python tutorials/build.py 03         # rebuild the notebooks whose name contains 03
    python tutorials/build.py --check    # only check that sources and notebooks agree

tests/test_tutorials.py runs every notebook again and fails when a stored
notebook is out of date with its source or its outputs.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SRC = HERE / "src"
ROOT = HERE.parent

#: Cells tagged with this carry measurements (timings, memory): their outputs
#: differ from run to run and are not compared by the tests.
VARIABLE = "variable-output"

#: Cells tagged with this show their output with the code collapsed (the site's
#: "show code cell source" toggle; JupyterLab's collapsed input).
HIDE_INPUT = "hide-input"

_CELL = re.compile(r"^# %%(?P<md> \[markdown\])?(?:\s+tags=\[(?P<tags>[^\]]*)\])?\s*$")


def sources():
    """The notebook sources, in order."""
    return sorted(SRC.glob("[0-9][0-9]-*.py"))


def notebook_path(src):
    return HERE / (Path(src).stem + ".ipynb")


def parse(text):
    """Split a percent-format source into ``(kind, source, tags)`` cells."""
    cells, kind, tags, lines = [], None, [], []

    def flush():
        if kind is None:
            return
        body = lines[:]
        while body and not body[-1].strip():
            body.pop()
        while body and not body[0].strip():
            body.pop(0)
        if kind == "markdown":
            body = [re.sub(r"^# ?", "", ln) if ln.startswith("#") else ln for ln in body]
        cells.append((kind, "\n".join(body), tags))

    for line in text.splitlines():
        m = _CELL.match(line)
        if m:
            flush()
            kind = "markdown" if m.group("md") else "code"
            tags = [t.strip().strip("'\"") for t in (m.group("tags") or "").split(",") if t.strip()]
            lines = []
        elif kind is not None:
            lines.append(line)
    flush()
    return cells


def to_notebook(src):
    """The (unexecuted) notebook for a source file."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    for kind, body, tags in parse(Path(src).read_text(encoding="utf-8")):
        cell = (nbformat.v4.new_markdown_cell(body) if kind == "markdown"
                else nbformat.v4.new_code_cell(body))
        if tags:
            cell.metadata["tags"] = tags
        if HIDE_INPUT in tags:  # collapsed in Jupyter too, not only on the site
            cell.metadata["jupyter"] = {"source_hidden": True}
        cell.pop("id", None)
        nb.cells.append(cell)
    return nb


def execute(nb, timeout=600):
    """Run a notebook top to bottom in a fresh kernel, in the tutorials folder."""
    from nbclient import NotebookClient

    env_path = os.environ.get("PYTHONPATH", "")
    if str(ROOT) not in env_path.split(os.pathsep):  # fgrad importable without installing it
        os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (env_path, str(ROOT)) if p)
    os.environ.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            kernel_manager_class=_this_python_kernel_manager(),
                            resources={"metadata": {"path": str(HERE)}})
    client.execute()
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        cell.pop("id", None)
    return nb


def _this_python_kernel_manager():
    """A kernel manager that starts the kernel with *this* Python interpreter.

    A "python3" kernel spec usually says just ``python``, found on the PATH,
    which may be another interpreter than the one running the build or the
    tests (a virtual environment that is not activated, say).
    """
    from jupyter_client.kernelspec import KernelSpec
    from jupyter_client.manager import AsyncKernelManager

    class ThisPythonKernelManager(AsyncKernelManager):
        @property
        def kernel_spec(self):
            return KernelSpec(
                argv=[sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                display_name="Python 3", language="python", resource_dir=str(HERE))

    return ThisPythonKernelManager


def cell_sources(nb):
    return [(c.cell_type, c.source, list(c.metadata.get("tags", []))) for c in nb.cells]


def build(src):
    import nbformat

    nb = execute(to_notebook(src))
    nb.nbformat_minor = 4
    path = notebook_path(src)
    nbformat.write(nb, str(path))
    return path


def check():
    import nbformat

    bad = []
    for src in sources():
        path = notebook_path(src)
        if not path.exists():
            bad.append(f"{path.name} is missing")
            continue
        stored = nbformat.read(str(path), as_version=4)
        if cell_sources(stored) != cell_sources(to_notebook(src)):
            bad.append(f"{path.name} differs from src/{src.name}")
    return bad


def main(argv):
    if "--check" in argv:
        bad = check()
        for b in bad:
            print(b)
        return 1 if bad else 0
    wanted = [a for a in argv if not a.startswith("-")]
    for src in sources():
        if wanted and not any(w in src.name for w in wanted):
            continue
        print(f"building {notebook_path(src).name} ...", flush=True)
        build(src)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
