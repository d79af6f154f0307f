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
OWN_PAGES = {"index", "tutorials", "api", "building-the-docs"}


def guide_pages():
    present = {p.stem for p in HERE.glob("*.md")} - OWN_PAGES
    return [g for g in GUIDES if g in present] + sorted(present - set(GUIDES))


def _first_line(obj):
    doc = inspect.getdoc(obj) or ""
    return doc.strip().splitlines()[0] if doc.strip() else ""


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


def _namespace_table(title, module_name, upstream):
    module = sys.modules[module_name]
    names = sorted(n for n in getattr(module, "__all__", dir(module))
                   if not n.startswith("_") and callable(getattr(module, n, None))
                   and not isinstance(getattr(module, n), type))
    see = (" See [the coverage page](coverage.md) for the derivative orders tested."
           if (HERE / "coverage.md").exists() else "")
    lines = [f"### `{module_name}`", "",
             f"{title} Each name behaves like `{upstream}.<name>` on plain arrays and is "
             f"differentiable on traced ones.{see}", "", "| name | summary |", "|---|---|"]
    for n in names:
        summary = _first_line(getattr(module, n)).replace("|", "\\|")
        lines.append(f"| `{n}` | {summary} |")
    return lines + [""]


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
    lines += _namespace_table("numpy's API.", "fgrad.numpy", "numpy")
    for sub, upstream in (("linalg", "numpy.linalg"), ("fft", "numpy.fft")):
        if hasattr(fgrad.numpy, sub):
            lines += _namespace_table(f"{upstream}'s API.", f"fgrad.numpy.{sub}", upstream)
    try:
        import fgrad.scipy as fscipy
    except ImportError:  # pragma: no cover
        fscipy = None
    for sub in SCIPY_NAMESPACES:
        mod = getattr(fscipy, sub, None) if fscipy is not None else None
        if mod is None:
            mod = _optional_module(f"fgrad.scipy.{sub}")
            if mod is None:
                continue
        if getattr(mod, "__all__", None):
            lines += _namespace_table(f"scipy.{sub}'s API.", mod.__name__, f"scipy.{sub}")
    return "\n".join(lines)


def _fill_in(app, docname, source):
    if docname == "index":
        source[0] = source[0].replace("<!-- GUIDES -->", "\n".join(guide_pages()))
    elif docname == "api":
        source[0] = source[0].replace("<!-- API REFERENCE -->", api_reference())


def setup(app):
    app.connect("source-read", _fill_in)
    return {"parallel_read_safe": True}
