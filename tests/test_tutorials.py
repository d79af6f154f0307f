"""The tutorial notebooks: in sync with their sources, run cleanly, outputs current.

Each notebook runs top to bottom in a fresh kernel (nbclient).  The notebooks
assert the seeds' numbers, so a wrong gradient fails here, not only a crash.
The stored outputs must match a fresh run, except in cells tagged
``variable-output`` (timings and memory measurements).  Pictures are compared
by kind, not pixel by pixel; graph pictures are SVG where Graphviz is installed
and a listing where it is not, so they are compared through their text.

To refresh the stored notebooks after an edit: ``python tutorials/build.py``.
"""

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("tutorials_build", ROOT / "tutorials" / "build.py")
build = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(build)

SOURCES = build.sources()
REBUILD = "rebuild it with `python tutorials/build.py {stem}` and commit the .ipynb"


def test_the_tutorials_are_numbered_without_gaps():
    stems = [s.stem for s in SOURCES]
    assert len(stems) >= 8
    assert [s[:2] for s in stems] == [f"{k:02d}" for k in range(1, len(stems) + 1)], stems


def test_notebooks_match_their_sources():
    problems = build.check()
    assert not problems, "; ".join(problems) + " - " + REBUILD.format(stem="")


def _outputs(cell):
    """The comparable part of a code cell's outputs."""
    out = []
    for o in cell.get("outputs", []):
        kind = o["output_type"]
        if kind == "stream":
            out.append((kind, o["name"], o["text"]))
        elif kind in ("execute_result", "display_data"):
            data = o["data"]
            kinds = sorted(k for k in data if k not in ("image/svg+xml", "text/html"))
            out.append((kind, tuple(kinds), data.get("text/plain", "")))
        elif kind == "error":
            out.append((kind, o["ename"], o["evalue"]))
    # consecutive stream chunks may be split differently between runs
    merged = []
    for item in out:
        if merged and item[0] == "stream" and merged[-1][0] == "stream" and merged[-1][1] == item[1]:
            merged[-1] = ("stream", item[1], merged[-1][2] + item[2])
        else:
            merged.append(item)
    return merged


@pytest.mark.parametrize("src", SOURCES, ids=[s.stem for s in SOURCES])
def test_notebook_runs_and_its_stored_outputs_are_current(src):
    import nbformat

    path = build.notebook_path(src)
    assert path.exists(), f"{path.name} is missing: " + REBUILD.format(stem=src.stem[:2])
    stored = nbformat.read(str(path), as_version=4)
    fresh = build.execute(build.to_notebook(src))  # raises CellExecutionError on any failure

    stored_code = [c for c in stored.cells if c.cell_type == "code"]
    fresh_code = [c for c in fresh.cells if c.cell_type == "code"]
    assert len(stored_code) == len(fresh_code), REBUILD.format(stem=src.stem[:2])
    for k, (old, new) in enumerate(zip(stored_code, fresh_code, strict=True), start=1):
        assert old.get("execution_count") == k, (
            f"{path.name}: code cell {k} was not run in order when stored; "
            + REBUILD.format(stem=src.stem[:2]))
        assert not any(o["output_type"] == "error" for o in new.get("outputs", []))
        if build.VARIABLE in old.metadata.get("tags", []):
            continue
        assert _outputs(old) == _outputs(new), (
            f"{path.name}: the stored output of code cell {k} differs from a fresh run "
            f"(cell starts with {old.source.splitlines()[0]!r}); " + REBUILD.format(stem=src.stem[:2]))


def test_notebook_2_is_stored_from_a_run_with_pytorch():
    """Its tape column is what the notebook is for: the stored outputs (and so the site)
    must come from a run with PyTorch, even though the tests run it without."""
    import nbformat

    (src,) = [s for s in SOURCES if s.stem.startswith("02-")]
    stored = nbformat.read(str(build.notebook_path(src)), as_version=4)
    shown = [o.get("data", {}).get("text/html", "") for c in stored.cells if c.cell_type == "code"
             for o in c.get("outputs", [])]
    tables = [h for h in shown if "PyTorch (tape)" in h]
    how = ("rebuild it in a venv with fgrad[tutorials-torch] installed: "
           "`python tutorials/build.py 02` (see tutorials/README.md)")
    assert len(tables) >= 15, "notebook 2 shows fewer side-by-side tables than expected; " + how
    assert any("PyTorch 2.13.0" in h for h in shown), "notebook 2 was not stored with PyTorch; " + how
    assert not any("not installed" in h for h in tables), "a tape column was not run; " + how


def test_a_wrong_gradient_fails_a_notebook(tmp_path, monkeypatch):
    """The notebooks check numbers: a notebook whose assertion fails makes the run fail."""
    from nbclient.exceptions import CellExecutionError

    src = tmp_path / "99-broken.py"
    src.write_text("# %%\nimport fgrad\n# %%\nassert fgrad.grad(lambda x: x * x)(3.0) == 5.0\n")
    with pytest.raises(CellExecutionError, match="AssertionError"):
        build.execute(build.to_notebook(src))


def test_the_cell_parser():
    cells = build.parse(
        "# %% [markdown]\n# # Title\n#\n# text\n\n# %%\nx = 1\n\n"
        "# %% tags=[\"variable-output\"]\nprint(x)\n")
    assert cells == [("markdown", "# Title\n\ntext", []), ("code", "x = 1", []),
                     ("code", "print(x)", ["variable-output"])]
