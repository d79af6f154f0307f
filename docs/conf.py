"""Sphinx configuration for fgrad's documentation site.

Build it with (from the repository root):

    python -m sphinx -W --keep-going -b html docs docs/_build/html

The tutorial notebooks are rendered with the outputs stored in them (they are
re-run and compared by tests/test_tutorials.py, so they are current); the API
reference is generated from the docstrings of every public name; the guide
pages are the Markdown files in docs/.  See docs/building-the-docs.md.
"""

import importlib
import inspect
import re
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
html_static_path = []

# --------------------------------------------------------------------------
# generated parts: the list of guide pages and the API reference
# --------------------------------------------------------------------------

#: Guide pages written alongside the code (docs/*.md), in reading order.  Any
#: other Markdown page found in docs/ is added after them, so a new page is
#: never left out of the site.
GUIDES = ["design", "sharp-bits", "complex", "adding-a-primitive", "performance", "optimization",
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
                         "The transforms and tools, imported with `import fgrad`.")
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


def _fill_in(app, docname, source):
    if docname == "index":
        source[0] = source[0].replace("<!-- GUIDES -->", "\n".join(guide_pages()))
    elif docname == "api":
        source[0] = source[0].replace("<!-- API REFERENCE -->", api_reference())
    elif docname in DETAIL_PAGES:
        source[0] = source[0].replace("<!-- API DETAILS -->", detail_page(docname))


def setup(app):
    app.connect("source-read", _fill_in)
    return {"parallel_read_safe": True}
