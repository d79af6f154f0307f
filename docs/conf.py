"""Sphinx configuration for fgrad's documentation site.

Build it with (from the repository root):

    python -m sphinx -W --keep-going -b html docs docs/_build/html

The tutorial notebooks are rendered with the outputs stored in them (they are
re-run and compared by tests/test_tutorials.py, so they are current); the API
reference is generated from the docstrings of every public name; the guide
pages are the Markdown files in docs/.  See docs/building-the-docs.md.
"""

import hashlib
import importlib
import importlib.util
import inspect
import json
import re
import shutil
import sys
import types
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

import fgrad  # noqa: E402

project = "fgrad"
author = "the fgrad authors"
copyright = "the fgrad authors"
release = version = fgrad.__version__

extensions = [
    "myst_nb",  # Markdown pages (MyST) and Jupyter notebooks
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",  # Google-style "Args:" / "Returns:" / "Example:" sections
    "sphinx.ext.mathjax",
]

# docs/notebooks is a link to ../tutorials; only the .ipynb files there are pages
exclude_patterns = [
    "_build", "Thumbs.db", ".DS_Store", "**.ipynb_checkpoints",
    "notebooks/src", "notebooks/build.py", "notebooks/README.md",
]
source_suffix = {".md": "myst-nb", ".ipynb": "myst-nb"}

# notebooks are stored with their outputs, kept current by tests/test_tutorials.py
nb_execution_mode = "off"
nb_merge_streams = True
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence"]
myst_heading_anchors = 3

autodoc_member_order = "bysource"
autodoc_typehints = "none"
napoleon_google_docstring = True
napoleon_numpy_docstring = False

html_theme = "furo"
html_title = f"fgrad {release}"
html_static_path = ["_static"]
html_css_files = ["fgrad.css"]  # long code lines wrap instead of scrolling sideways

# every cross-reference must resolve (with -W an unresolved one fails the build); short names in
# docstrings are looked up among the documented objects by _resolve_short_name below
nitpicky = True
#: Names that docstrings mention for contributors but that have no entry on the site: internal
#: helpers and classes, and the rule table itself (described in the design notes).
nitpick_ignore = [
    ("py:data", "PRIMITIVES"),
    ("py:func", "_scalar_shortcut"),
    ("py:class", "fgrad.autodiff.IndexedCotangent"),
    ("py:class", "fgrad.autodiff.ReverseTrace"),
    # scipy's own classes, named in the signatures fgrad mirrors (the build is offline: no
    # intersphinx inventory of scipy's site)
    ("py:class", "scipy.optimize.Bounds"),
    ("py:class", "scipy.optimize.NonlinearConstraint"),
    ("py:class", "scipy.optimize.LinearConstraint"),
]

# MathJax is served by the site itself (copied from the django-static-mathjax package of the docs
# extra into _static/mathjax by _copy_mathjax), so the mathematics renders offline too
mathjax_path = "mathjax/tex-chtml.js"

# --------------------------------------------------------------------------
# generated parts: the list of guide pages and the API reference
# --------------------------------------------------------------------------

#: Guide pages written alongside the code (docs/*.md), in reading order.  Any
#: other Markdown page found in docs/ is added after them, so a new page is
#: never left out of the site.
GUIDES = ["design", "sharp-bits", "complex", "adding-a-primitive", "staging", "performance", "optimization",
          "coverage"]
OWN_PAGES = {"index", "tutorials", "api", "api-numpy", "api-scipy", "building-the-docs"}


def guide_pages():
    present = {p.stem for p in HERE.glob("*.md")} - OWN_PAGES
    return [g for g in GUIDES if g in present] + sorted(present - set(GUIDES))


#: Sphinx roles in a docstring's first line (``:func:`solve```), which Markdown tables show
#: raw: the summary keeps their text as code.
_ROLE = re.compile(r":(?:py:)?(?:func|class|meth|mod|data|attr|obj|exc):`~?([^`<]+?)(?:\s*<[^>]*>)?`")


def _first_line(obj):
    doc = inspect.getdoc(obj) or ""
    if not doc.strip():
        return ""
    # the first sentence, which may run over several lines of the docstring
    paragraph = " ".join(doc.strip().split("\n\n")[0].split())
    if len(paragraph) > 200 and ". " in paragraph[40:]:  # long: its first sentence
        paragraph = paragraph[:paragraph.index(". ", 40) + 1]
    return _ROLE.sub(lambda m: f"``{m.group(1)}``", paragraph)


def _documenter(obj):
    if inspect.isclass(obj):
        return "autoclass"
    if inspect.isfunction(obj) or inspect.isbuiltin(obj) or callable(obj):
        return "autofunction"
    return "autodata"


def _api_section(title, module_name, names, intro="", members=False):
    lines = [f"## {title}", ""]
    if intro:
        lines += [intro, ""]
    lines += ["```{eval-rst}"]
    for name in names:
        obj = getattr(sys.modules[module_name], name)
        directive = _documenter(obj)
        lines.append(f".. {directive}:: {module_name}.{name}")
        if directive == "autoclass" and members:
            lines.append("   :members:")
        lines.append("")
    lines += ["```", ""]
    return lines


def _is_distribution(obj):
    """A class of fgrad.scipy.stats used as a namespace of functions (``norm.logpdf``)."""
    return isinstance(obj, type) and getattr(obj, "__module__", "").startswith("fgrad.scipy.stats")


def namespace_entries(module_name):
    """``[(name, object)]`` of one numpy/scipy-compatible namespace, as its API table lists
    them: the public functions (numpy's types and dtype classes left out), and for the
    distributions of ``fgrad.scipy.stats`` each method (``norm.logpdf``).

    tests/test_api_reference.py uses the same selection, so an empty table fails there.
    """
    module = sys.modules.get(module_name) or importlib.import_module(module_name)
    entries = []
    for n in sorted(getattr(module, "__all__", dir(module))):
        obj = getattr(module, n, None)
        if n.startswith("_") or obj is None or isinstance(obj, types.ModuleType):
            continue
        if _is_distribution(obj):
            entries += [(f"{n}.{m}", getattr(obj, m)) for m in sorted(vars(obj))
                        if not m.startswith("_") and callable(getattr(obj, m))]
        elif callable(obj) and not isinstance(obj, type):
            entries.append((n, obj))
    return entries


#: The pages with every docstring of the numpy- and scipy-compatible namespaces.
DETAIL_PAGES = {"api-numpy": "numpy", "api-scipy": "scipy"}


def _namespace_table(title, module_name, upstream):
    see = (" See [the coverage page](coverage.md) for the derivative orders tested."
           if (HERE / "coverage.md").exists() else "")
    lines = [f"### `{module_name}`", "",
             f"{title} Each name behaves like `{upstream}.<name>` on plain arrays and is "
             f"differentiable on traced ones; the name links to its full docstring (what it "
             f"differentiates, what it refuses, an example).{see}", "",
             "| name | summary |", "|---|---|"]
    for n, obj in namespace_entries(module_name):
        summary = _first_line(obj).replace("|", "\\|")
        lines.append(f"| {{py:obj}}`{n} <{module_name}.{n}>` | {summary} |")
    return lines + [""]


def _detail_section(module_name):
    module = sys.modules.get(module_name) or importlib.import_module(module_name)
    lines = [f"## `{module_name}`", "", "```{eval-rst}"]
    for n in sorted(getattr(module, "__all__", dir(module))):
        obj = getattr(module, n, None)
        if n.startswith("_") or obj is None or isinstance(obj, types.ModuleType):
            continue
        if _is_distribution(obj):
            lines += [f".. autoclass:: {module_name}.{n}", "   :members:", ""]
        elif callable(obj) and not isinstance(obj, type):
            lines += [f".. autofunction:: {module_name}.{n}", ""]
    return lines + ["```", ""]


#: Modules of tools beside the transforms, documented name by name when present.
TOOL_MODULES = [
    ("fgrad.tree_util", "pytrees with JAX's names"),
    ("fgrad.flatten_util", "flat vectors and pytrees"),
    ("fgrad.optimizers", "gradient transformations"),
    ("fgrad.lax", "structured control flow"),
]
#: fgrad.scipy namespaces, listed in the reference table by table when present.
SCIPY_NAMESPACES = ("special", "stats", "linalg", "signal", "integrate", "sparse",
                    "sparse.linalg", "optimize")


def _optional_module(name):
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


def api_reference():
    import fgrad.core
    import fgrad.graph
    import fgrad.testing
    import fgrad.tree

    top = [n for n in fgrad.__all__ if not isinstance(getattr(fgrad, n), types.ModuleType)]
    lines = _api_section("fgrad", "fgrad", top,
                         "The transforms and tools, imported with `import fgrad`.", members=True)
    lines += _api_section("fgrad.graph: graph inspection", "fgrad.graph",
                          [n for n in fgrad.graph.__all__ if n != "make_graph"], members=True)
    lines += _api_section("fgrad.tree: pytrees", "fgrad.tree", fgrad.tree.__all__)
    for module_name, title in TOOL_MODULES:
        module = _optional_module(module_name)
        if module is not None and getattr(module, "__all__", None):
            lines += _api_section(f"{module_name}: {title}", module_name, module.__all__,
                                  members=True)
    lines += _api_section(
        "fgrad.core: primitives and traces", "fgrad.core",
        [n for n in fgrad.core.__all__ if n not in fgrad.__all__ and n != "PRIMITIVES"],
        "The rule table and the tracing machinery; see the design notes.")
    lines += ["## Numpy-compatible namespaces", ""]
    for module_name, title, upstream in numpy_namespaces():
        lines += _namespace_table(title, module_name, upstream)
    lines += ["## Scipy-compatible namespaces", ""]
    for module_name, title, upstream in scipy_namespaces():
        lines += _namespace_table(title, module_name, upstream)
    return "\n".join(lines)


def numpy_namespaces():
    """``[(module name, title, upstream)]`` of fgrad.numpy and its submodules."""
    out = [("fgrad.numpy", "numpy's API.", "numpy")]
    for sub, upstream in (("linalg", "numpy.linalg"), ("fft", "numpy.fft")):
        if hasattr(fgrad.numpy, sub):
            out.append((f"fgrad.numpy.{sub}", f"{upstream}'s API.", upstream))
    return out


def scipy_namespaces():
    """``[(module name, title, upstream)]`` of the fgrad.scipy namespaces that exist and
    have ``__all__``."""
    out = []
    for sub in SCIPY_NAMESPACES:
        mod = _optional_module(f"fgrad.scipy.{sub}")
        names = getattr(mod, "__all__", None) if mod is not None else None
        if names and not all(isinstance(getattr(mod, n), types.ModuleType) for n in names):
            # (a package of namespaces only, fgrad.scipy.sparse: its namespaces have tables)
            out.append((mod.__name__, f"scipy.{sub}'s API.", f"scipy.{sub}"))
    return out


def detail_page(page):
    """The body of ``api-numpy`` or ``api-scipy``: every docstring of those namespaces."""
    spaces = numpy_namespaces() if DETAIL_PAGES[page] == "numpy" else scipy_namespaces()
    lines = []
    for module_name, _, _ in spaces:
        lines += _detail_section(module_name)
    return "\n".join(lines)


# --------------------------------------------------------------------------
# the tutorials index: one entry per notebook, from the notebook itself
# --------------------------------------------------------------------------

NOTEBOOKS = ROOT / "tutorials"

#: Summaries written here for the notebooks whose opening paragraph does not summarise them; every
#: other notebook is summarised by the opening paragraph(s) of its first Markdown cell.
SUMMARIES = {
    "03-forward-and-reverse-mode": (
        "The two modes of automatic differentiation on one small function, after Baydin et al.'s "
        "survey: $f(x_1, x_2) = \\ln x_1 + x_1 x_2 - \\sin x_2$ at $(2, 5)$ with its primal, "
        "tangent and adjoint traces, all produced by fgrad from the function's graph; then when "
        "each mode wins, and the time and memory reverse mode costs, measured."),
    "05-your-own-primitives": (
        "PyTorch's `torch.autograd.Function` (a forward that saves tensors for a backward) done "
        "three ways in fgrad: a row of the rule table with `fgrad.core.defprim`, "
        "`fgrad.custom_vjp` and `fgrad.custom_jvp`, each tested with `fgrad.check_grads`; then a "
        "numerically stable `log(1 + exp(x))`, and which of the three to use when."),
}


def notebooks():
    """The tutorial notebooks, in order (``NN-name.ipynb``)."""
    return sorted(NOTEBOOKS.glob("[0-9][0-9]-*.ipynb"))


def _is_prose(block):
    return bool(block) and not block.startswith(("```", "|", "* ", "- ", "#", "<", ">")) \
        and not re.match(r"\d+\. ", block)


def notebook_entry(path):
    """``(title, summary)`` of a notebook, from its first Markdown cell.

    The title is the cell's first heading; the summary is its opening paragraph, joined with the
    next block (prose or display mathematics) while the text so far ends with a comma, a colon or
    display mathematics.  ``SUMMARIES`` overrides it.
    """
    cells = json.loads(Path(path).read_text(encoding="utf-8"))["cells"]
    text = next(("".join(c["source"]) for c in cells if c["cell_type"] == "markdown"), "")
    blocks = [b.strip() for b in re.split(r"\n\s*\n", text) if b.strip()]
    title = next((b.splitlines()[0].lstrip("#").strip() for b in blocks if b.startswith("#")),
                 Path(path).stem)
    body = [b for b in blocks if not b.startswith("#")]
    summary = []
    for block in body:
        if not summary:
            if _is_prose(block):
                summary.append(block)
            continue
        if summary[-1].endswith((",", ":", "$$")) and (_is_prose(block) or block.startswith("$$")):
            summary.append(block)  # a sentence going on after a comma, a colon or mathematics
        else:
            break
    stem = Path(path).stem
    text = SUMMARIES.get(stem) or "\n\n".join(summary)
    if text.endswith(":"):
        text = text[:-1] + "."
    return title, text


def tutorials_index():
    lines = []
    for path in notebooks():
        title, summary = notebook_entry(path)
        lines += [f"## {{doc}}`{title} <notebooks/{path.stem}>`", "", summary, ""]
    return "\n".join(lines)


# --------------------------------------------------------------------------
# the landing page's picture: the graph of the quickstart's last call, drawn by fgrad
# --------------------------------------------------------------------------

#: The picture, checked in for builds on machines without Graphviz; a build on a machine with
#: Graphviz's ``dot`` draws it afresh into the site.  ``python docs/conf.py`` redraws the
#: checked-in copy (tests/test_docs.py fails when it is out of date with fgrad's make_graph).
GRAPH_PICTURE = HERE / "_static" / "quickstart-graph.svg"


def quickstart_graph():
    """The ``fgrad.make_graph(...)(...)`` call printed by the landing page's quickstart."""
    import fgrad.numpy as fnp

    text = (HERE / "index.md").read_text(encoding="utf-8")
    calls = re.findall(r"^print\((fgrad\.make_graph\(.*\))\)$", text, re.M)
    if len(calls) != 1:
        raise RuntimeError("docs/index.md should print exactly one fgrad.make_graph(...)(...) "
                           f"call for the landing page's picture; found {len(calls)}")
    return eval(calls[0], {"fgrad": fgrad, "fnp": fnp})  # our own page's code, run by the tests


def graph_stamp(dot_source):
    return hashlib.sha256(dot_source.encode()).hexdigest()[:16]


def draw_quickstart_graph():
    """The landing page's picture as SVG text, stamped with the hash of its Graphviz source."""
    picture = quickstart_graph().picture()
    return (f"<!-- drawn by docs/conf.py from the make_graph call in docs/index.md; "
            f"dot source {graph_stamp(picture.dot)} -->\n" + picture.svg())


def _draw_graph_into_site(app):
    from fgrad.graph import dot_available

    if dot_available():
        (Path(app.outdir) / "_static" / GRAPH_PICTURE.name).write_text(
            draw_quickstart_graph(), encoding="utf-8")


# --------------------------------------------------------------------------
# MathJax, from the docs extra's django-static-mathjax package
# --------------------------------------------------------------------------

#: The parts of MathJax's es5 distribution the site needs: the TeX-to-HTML component, and what it
#: loads on demand (TeX extensions, fonts, the menu and its accessibility tools).
MATHJAX_PARTS = ("tex-chtml.js", "input", "output", "ui", "a11y", "sre", "adaptors")


def mathjax_source():
    """The folder holding MathJax's es5 distribution, from an installed package."""
    spec = importlib.util.find_spec("mathjax")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        es5 = Path(folder) / "static" / "mathjax" / "es5"
        if (es5 / "tex-chtml.js").is_file():
            return es5
    from sphinx.errors import ConfigError

    raise ConfigError(
        "MathJax is served by the site itself, from the django-static-mathjax package, which is "
        "not installed: pip install -e \".[docs]\" (see docs/building-the-docs.md)")


def _copy_mathjax(app):
    es5 = mathjax_source()
    target = Path(app.outdir) / "_static" / "mathjax"
    for part in MATHJAX_PARTS:
        src = es5 / part
        if src.is_dir():
            shutil.copytree(src, target / part, dirs_exist_ok=True)
        else:
            target.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, target / part)
    shutil.copy2(es5.parent / "LICENSE", target / "LICENSE")


# --------------------------------------------------------------------------
# download links for the notebooks
# --------------------------------------------------------------------------

def _notebook_download_link(app, pagename, templatename, context, doctree):
    if not pagename.startswith("notebooks/") or "body" not in context:
        return
    name = pagename.split("/", 1)[1] + ".ipynb"
    if not (NOTEBOOKS / name).is_file():
        return
    link = (f'<p class="fgrad-download">Download this notebook: '
            f'<a class="reference download" href="{name}" download="{name}">'
            f'<code class="docutils literal notranslate"><span class="pre">{name}</span></code></a>'
            ' (it runs after <code class="docutils literal notranslate"><span class="pre">'
            'pip install -e ".[tutorials]"</span></code> in a clone of the repository)</p>')
    body = context["body"]
    end = body.find("</h1>")
    context["body"] = body[:end + 5] + link + body[end + 5:] if end >= 0 else link + body


def _copy_notebooks(app):
    folder = Path(app.outdir) / "notebooks"
    folder.mkdir(exist_ok=True)
    for path in notebooks():
        shutil.copy2(path, folder / path.name)


def _build_finished(app, exception):
    if exception is None and app.builder.format == "html":
        _copy_mathjax(app)
        _copy_notebooks(app)
        _draw_graph_into_site(app)


# --------------------------------------------------------------------------
# short names in docstrings (``:class:`Graph```) link to the documented object
# --------------------------------------------------------------------------

def _resolve_short_name(app, env, node, contnode):
    """Link a Python cross-reference that Sphinx did not resolve to the one documented object
    whose dotted name ends with it (``Graph`` -> ``fgrad.graph.Graph``)."""
    if node.get("refdomain") != "py":
        return None
    target = node.get("reftarget", "")
    domain = env.get_domain("py")
    matches = [name for name in domain.objects
               if name == target or name.endswith("." + target)]
    if len({(domain.objects[m].docname, domain.objects[m].node_id) for m in matches}) != 1:
        return None  # unknown, or ambiguous: Sphinx reports it
    from sphinx.util.nodes import make_refnode

    obj = domain.objects[matches[0]]
    return make_refnode(app.builder, node["refdoc"], obj.docname, obj.node_id, contnode,
                        matches[0])


def _fill_in(app, docname, source):
    if docname == "index":
        source[0] = source[0].replace("<!-- GUIDES -->", "\n".join(guide_pages()))
    elif docname == "api":
        source[0] = source[0].replace("<!-- API REFERENCE -->", api_reference())
    elif docname in DETAIL_PAGES:
        source[0] = source[0].replace("<!-- API DETAILS -->", detail_page(docname))
    elif docname == "tutorials":
        source[0] = source[0].replace("<!-- NOTEBOOKS -->", tutorials_index())


def _always_reread(app, env, added, changed, removed):
    # these pages are generated from other files (the notebooks, the guide pages, the docstrings)
    return [d for d in ("index", "tutorials", "api", *DETAIL_PAGES) if d in env.found_docs]


def setup(app):
    app.connect("config-inited", lambda app, config: mathjax_source())  # fail early, clearly
    app.connect("source-read", _fill_in)
    app.connect("env-get-outdated", _always_reread)
    app.connect("html-page-context", _notebook_download_link)
    app.connect("missing-reference", _resolve_short_name)
    app.connect("build-finished", _build_finished)
    return {"parallel_read_safe": True}


if __name__ == "__main__":  # python docs/conf.py: redraw the landing page's picture
    GRAPH_PICTURE.write_text(draw_quickstart_graph(), encoding="utf-8")
    print(f"wrote {GRAPH_PICTURE.relative_to(ROOT)}")
