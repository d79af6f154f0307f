"""The documentation site: it builds with warnings as errors, and reaches everything.

The build is the documented command (docs/building-the-docs.md), run into a
temporary folder.  The code on the landing page and on the sharp-bits page is
executed here, and every public name must have a docstring with an example and
a place in the API reference.
"""

import inspect
import re
import subprocess
import sys
import types
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp("site")
    cmd = [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-b", "html", "-q",
           str(DOCS), str(out)]
    res = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert res.returncode == 0, (
        "the documentation build failed (warnings are errors); run\n  "
        + " ".join(cmd[:-1]) + " docs/_build/html\nto see it:\n" + res.stdout[-4000:]
        + res.stderr[-6000:])
    return out


def _links(html_file):
    return set(re.findall(r'href="([^"#]+)(?:#[^"]*)?"', html_file.read_text(encoding="utf-8")))


def test_the_index_reaches_every_tutorial_guide_and_the_api(site):
    index = site / "index.html"
    assert index.exists()
    links = _links(index)
    notebooks = sorted(p.stem for p in (ROOT / "tutorials").glob("[0-9][0-9]-*.ipynb"))
    assert len(notebooks) >= 8
    for stem in notebooks:
        assert f"notebooks/{stem}.html" in links, f"tutorial {stem} is not reachable from index"
        page = (site / "notebooks" / f"{stem}.html").read_text(encoding="utf-8")
        assert "output" in page  # rendered with its stored outputs
    for md in DOCS.glob("*.md"):
        assert (site / f"{md.stem}.html").exists(), f"docs/{md.name} was not built"
        if md.stem != "index":
            assert f"{md.stem}.html" in links, f"docs/{md.name} is not reachable from the index"
    assert "api.html" in links


def test_tutorial_pages_show_pictures(site):
    page3 = (site / "notebooks" / "03-forward-and-reverse-mode.html").read_text(encoding="utf-8")
    assert "<svg" in page3 or "apt-get install graphviz" in page3  # the graph, or its fallback
    assert ".png" in page3  # the measured plots
    page1 = (site / "notebooks" / "01-autodiff-functionally.html").read_text(encoding="utf-8")
    assert ".png" in page1 and "[ 0.  4.  8. 12.]" in page1


def _public(module, names, skip=()):
    return [(f"{module.__name__}.{n}", getattr(module, n)) for n in names
            if not isinstance(getattr(module, n), types.ModuleType) and n not in skip]


#: Tool modules whose every public name needs an example, when the module exists.
TOOL_MODULES = ("fgrad.tree_util", "fgrad.flatten_util", "fgrad.optimizers", "fgrad.lax")


def _api_names(with_tree=True):
    """The public names of fgrad, fgrad.graph, the tool modules (and fgrad.tree)."""
    import importlib

    import fgrad.graph
    import fgrad.tree

    names = _public(fgrad, fgrad.__all__) + _public(fgrad.graph, fgrad.graph.__all__,
                                                    skip=fgrad.__all__)
    for module_name in TOOL_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        names += _public(module, getattr(module, "__all__", ()))
    return names + _public(fgrad.tree, fgrad.tree.__all__) if with_tree else names


def test_every_public_name_is_in_the_api_reference(site):
    api = (site / "api.html").read_text(encoding="utf-8")
    missing = [name for name, _ in _api_names() if f'id="{name}"' not in api]
    assert not missing, f"not documented in the API reference: {missing}"
    for name in ("sin", "sum", "reshape", "matmul"):  # the numpy namespace is listed too,
        assert f'href="api-numpy.html#fgrad.numpy.{name}"' in api  # linked to its docstring


def test_every_public_name_has_a_docstring_with_an_example():
    missing = []
    for name, obj in _api_names(with_tree=False):
        doc = inspect.getdoc(obj) or ""
        if isinstance(obj, type) and issubclass(obj, Exception):
            if not doc:
                missing.append(name)
            continue
        if ">>>" not in doc:
            missing.append(name)
    assert not missing, f"public names without a doctest example in their docstring: {missing}"


def _python_blocks(path):
    return re.findall(r"```python\n(.*?)```", path.read_text(encoding="utf-8"), re.S)


@pytest.mark.parametrize("page", ["index.md", "sharp-bits.md", "optimization.md"])
def test_code_on_the_pages_runs(page, capsys):
    blocks = _python_blocks(DOCS / page)
    assert blocks, f"no python code found on docs/{page}"
    namespace = {"__name__": f"docs_{page}"}
    for block in blocks:  # the blocks of one page share a namespace, like a reader's session
        exec(compile(block, f"docs/{page}", "exec"), namespace)
    if page == "index.md":
        assert "v5 = v3 - v4" in capsys.readouterr().out


def test_guide_pages_are_picked_up_automatically():
    sys.path.insert(0, str(DOCS))
    try:
        import conf
    finally:
        sys.path.remove(str(DOCS))
    pages = conf.guide_pages()
    assert "sharp-bits" in pages and "design" in pages
    present = {p.stem for p in DOCS.glob("*.md")} - conf.OWN_PAGES
    assert set(pages) == present


def test_every_namespace_table_has_rows_linking_to_full_docstrings(site):
    """The tables of fgrad.numpy/fgrad.scipy on the built API page: none empty, every
    entry linked to its docstring on api-numpy/api-scipy, no raw Sphinx markup."""
    sys.path.insert(0, str(DOCS))
    try:
        import conf
    finally:
        sys.path.remove(str(DOCS))
    api = (site / "api.html").read_text(encoding="utf-8")
    assert ":func:`" not in api and ":class:`" not in api
    details = {page: (site / f"{page}.html").read_text(encoding="utf-8")
               for page in conf.DETAIL_PAGES}
    for module_name, _, _ in conf.numpy_namespaces() + conf.scipy_namespaces():
        page = "api-numpy" if module_name.startswith("fgrad.numpy") else "api-scipy"
        entries = conf.namespace_entries(module_name)
        assert entries, f"the table of {module_name} is empty"
        missing = [n for n, _ in entries
                   if f'href="{page}.html#{module_name}.{n}"' not in api
                   or f'id="{module_name}.{n}"' not in details[page]]
        assert not missing, f"{module_name}: not linked to a docstring on {page}: {missing}"
