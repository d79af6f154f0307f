"""The documentation site: it builds with warnings as errors, and reaches everything.

The build is the documented command (docs/building-the-docs.md), run into a
temporary folder.  The code on the landing page and on the sharp-bits page is
executed here, and every public name must have a docstring with an example and
a place in the API reference.
"""

import inspect
import json
import re
import subprocess
import sys
import types
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

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


def _conf():
    sys.path.insert(0, str(DOCS))
    try:
        import conf
    finally:
        sys.path.remove(str(DOCS))
    return conf


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
    conf = _conf()
    pages = conf.guide_pages()
    assert "sharp-bits" in pages and "design" in pages
    present = {p.stem for p in DOCS.glob("*.md")} - conf.OWN_PAGES
    assert set(pages) == present


# --------------------------------------------------------------------------
# links, pictures, scripts: everything the built pages point at is there
# --------------------------------------------------------------------------

#: (tag, attribute) pairs that point at another file, and whether that file must be part of the
#: site (a script, stylesheet or picture from the network would not show offline).
_REFERENCES = {("a", "href"): False, ("link", "href"): True, ("img", "src"): True,
               ("script", "src"): True, ("source", "src"): True, ("iframe", "src"): True}


class _Page(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.ids, self.refs = set(), []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for key in ("id", "name") if tag == "a" else ("id",):
            if attrs.get(key):
                self.ids.add(attrs[key])
        for (t, attr), must_be_local in _REFERENCES.items():
            if tag == t and attrs.get(attr):
                self.refs.append((tag, attrs[attr], must_be_local))


def broken_references(site):
    """Every link, picture, script or stylesheet of the HTML pages under ``site`` that does not
    resolve: a missing file, a missing ``#anchor``, or a resource loaded from the network."""
    site = Path(site)
    pages = {}

    def parse(path):
        if path not in pages:
            pages[path] = page = _Page()
            page.feed(path.read_text(encoding="utf-8"))
        return pages[path]

    problems = []
    for html in sorted(site.rglob("*.html")):
        where = html.relative_to(site)
        for tag, url, must_be_local in parse(html).refs:
            parts = urlsplit(url)
            if parts.scheme or parts.netloc:
                if must_be_local and parts.scheme != "data":
                    problems.append(f"{where}: <{tag}> loads {url} from the network")
                continue
            target = (html.parent / unquote(parts.path)).resolve() if parts.path else html
            if target.is_dir():
                target = target / "index.html"
            if not target.is_file():
                problems.append(f"{where}: <{tag}> points at a missing file: {url}")
            elif (parts.fragment and target.suffix == ".html"
                  and unquote(parts.fragment) not in parse(target).ids):
                problems.append(f"{where}: <{tag}> points at a missing anchor: {url}")
    return problems


def test_no_broken_links_pictures_or_scripts(site):
    pages = list(site.rglob("*.html"))
    assert len(pages) > 20
    assert sum(len(_parsed(page).refs) for page in pages) > 1000  # the checker reads them all
    problems = broken_references(site)
    assert not problems, "\n".join(problems[:50])


def test_the_link_checker_finds_broken_pages(tmp_path):
    (tmp_path / "_static").mkdir()
    (tmp_path / "_static" / "here.js").write_text("")
    (tmp_path / "other.html").write_text('<h1 id="top">other</h1>')
    (tmp_path / "index.html").write_text(
        '<a href="other.html#top">fine</a> <a href="#mine" id="mine">fine</a>'
        '<a href="https://example.org/">a link out is fine</a>'
        '<script src="_static/here.js"></script>'
        '<a href="missing.html">1</a> <a href="other.html#nowhere">2</a> <a href="#gone">3</a>'
        '<img src="_images/missing.svg"> <script src="_static/missing.js"></script>'
        '<script src="https://cdn.example.org/mathjax.js"></script>'
        '<link rel="stylesheet" href="_static/missing.css">')
    problems = broken_references(tmp_path)
    for bad in ("missing.html", "other.html#nowhere", "#gone", "_images/missing.svg",
                "_static/missing.js", "https://cdn.example.org/mathjax.js", "_static/missing.css"):
        assert sum(bad in p for p in problems) == 1, (bad, problems)
    assert len(problems) == 7


def test_mathematics_renders_offline(site):
    """MathJax is served by the site itself, and every page with mathematics loads that copy."""
    mathjax = site / "_static" / "mathjax"
    assert "MathJax" in (mathjax / "tex-chtml.js").read_text(encoding="utf-8")[:20000]
    assert list((mathjax / "output" / "chtml" / "fonts" / "woff-v2").glob("*.woff"))
    with_math = [p for p in site.rglob("*.html") if 'class="math' in p.read_text(encoding="utf-8")]
    assert len(with_math) >= 5  # the tutorials, the sharp bits ...
    for page in with_math:
        scripts = [url for tag, url, _ in _parsed(page).refs if tag == "script"]
        assert any(urlsplit(u).path.endswith("_static/mathjax/tex-chtml.js") for u in scripts), page
        assert not [u for u in scripts if urlsplit(u).scheme], (page, scripts)


def _parsed(path):
    page = _Page()
    page.feed(path.read_text(encoding="utf-8"))
    return page


def test_code_wraps_instead_of_scrolling_sideways(site):
    css = (site / "_static" / "fgrad.css").read_text(encoding="utf-8")
    assert re.search(r"pre\s*\{[^}]*white-space:\s*pre-wrap", css)
    for page in ("index.html", "api.html", "notebooks/01-autodiff-functionally.html"):
        links = [url for tag, url, _ in _parsed(site / page).refs if tag == "link"]
        assert any("_static/fgrad.css" in u for u in links), page


def test_the_landing_page_shows_the_graph_picture(site):
    images = [url for tag, url, _ in _parsed(site / "index.html").refs if tag == "img"]
    assert "_static/quickstart-graph.svg" in images
    svg = (site / "_static" / "quickstart-graph.svg").read_text(encoding="utf-8")
    assert "<svg" in svg and "v5" in svg


def test_the_checked_in_graph_picture_is_current():
    """docs/_static/quickstart-graph.svg (used where Graphviz is missing) was drawn from the
    make_graph call on the landing page as fgrad draws it now."""
    conf = _conf()
    stamp = conf.graph_stamp(conf.quickstart_graph().picture().dot)
    assert f"dot source {stamp}" in conf.GRAPH_PICTURE.read_text(encoding="utf-8"), (
        "the landing page's picture is out of date with fgrad.make_graph: redraw it with "
        "`python docs/conf.py` (needs Graphviz's dot)")


def test_the_tutorials_index_summarises_every_notebook(site):
    html = (site / "tutorials.html").read_text(encoding="utf-8")
    sections = [s.split("</section>")[0] for s in html.split("<h2>")[1:]]
    for path in sorted((ROOT / "tutorials").glob("[0-9][0-9]-*.ipynb")):
        section = [s for s in sections if f'href="notebooks/{path.stem}.html"' in s]
        assert len(section) == 1, f"{path.name} has no entry on the tutorials index"
        paragraph = re.search(r"<p>(.*?)</p>", section[0], re.S)
        assert paragraph and len(re.sub(r"<[^>]+>", "", paragraph.group(1))) > 80, path.name


def test_a_new_notebook_is_summarised_from_its_first_markdown_cell(tmp_path):
    def md(text):
        return {"cell_type": "markdown", "metadata": {}, "source": text}

    notebook = {"cells": [md("# 12. Something new\n\nIt starts like this,\n\n$$x^2$$\n\n"
                             "and goes on here:\n\n```python\ncode()\n```\n\nNot this."),
                          md("## Nor this")], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    path = tmp_path / "12-something-new.ipynb"
    path.write_text(json.dumps(notebook), encoding="utf-8")
    title, summary = _conf().notebook_entry(path)
    assert title == "12. Something new"
    assert summary == "It starts like this,\n\n$$x^2$$\n\nand goes on here."


def test_each_tutorial_page_offers_its_notebook_for_download(site):
    for path in sorted((ROOT / "tutorials").glob("[0-9][0-9]-*.ipynb")):
        page = site / "notebooks" / f"{path.stem}.html"
        links = [url for tag, url, _ in _parsed(page).refs if tag == "a"]
        assert path.name in links, f"{page.name} has no download link for {path.name}"
        assert (site / "notebooks" / path.name).read_bytes() == path.read_bytes()


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
