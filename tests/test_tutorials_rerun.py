"""A reader may run a notebook's cells again, in any order they came: that must work.

Each code cell of every notebook runs twice in a row, and then the whole
notebook runs a second time in the same kernel.  A cell that registers something
once (a primitive, say), consumes an iterator, or depends on a later cell's state
fails here.
"""

import copy
import importlib.util
import os
from pathlib import Path

import pytest

if os.environ.get("FGRAD_SKIP_DOCS"):  # as tests/conftest.py does for the notebook tests
    pytest.skip("FGRAD_SKIP_DOCS: the notebooks are left out", allow_module_level=True)

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("tutorials_build", ROOT / "tutorials" / "build.py")
build = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(build)

SOURCES = build.sources()  # every notebook


def _twice(nb):
    code = [c for c in nb.cells if c.cell_type == "code"
            and build.VARIABLE not in c.metadata.get("tags", [])]  # timings: slow, not state
    cells = []
    for cell in nb.cells:
        cells.append(cell)
        if cell in code:
            cells.append(copy.deepcopy(cell))
    nb.cells = cells + [copy.deepcopy(c) for c in code]
    return nb


@pytest.mark.parametrize("src", SOURCES, ids=[s.stem for s in SOURCES])
def test_every_cell_can_be_run_again(src):
    build.execute(_twice(build.to_notebook(src)))  # raises CellExecutionError on a failure


def test_a_cell_that_cannot_run_twice_fails(tmp_path):
    from nbclient.exceptions import CellExecutionError

    src = tmp_path / "99-once.py"
    src.write_text("# %%\nseen = globals().setdefault('seen', set())\n"
                   "assert 'x' not in seen\nseen.add('x')\n")
    with pytest.raises(CellExecutionError, match="AssertionError"):
        build.execute(_twice(build.to_notebook(src)))
