"""Sphinx configuration of the rdsplan documentation.

Build (warnings are errors, as in CI)::

    pip install -e ".[docs]"
    python -m sphinx -W --keep-going -b html docs docs/_build/html

The pages are MyST Markdown; the API reference is generated from the
numpydoc docstrings (``api/``), the CLI reference from the argparse parsers
(``_ext/cli_reference.py``). Nothing is fetched over the network at build time
(no intersphinx, no notebook execution).
"""

from __future__ import annotations

import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(DOCS / "_ext"))
sys.path.insert(0, str(ROOT))  # the packages import from the checkout even without `pip install -e`

from rdsmodel.persistence import package_version  # noqa: E402

project = "rdsplan"
author = "the rdsplan developers"
copyright = "the rdsplan developers"
release = package_version()
version = release

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "cli_reference",  # _ext/cli_reference.py: the rdsplan command line from its parsers
    "optional_pages",  # _ext/optional_pages.py: toctrees over pages still being written; case-study reports
]

source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
root_doc = "index"
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store", "README.md"]
templates_path = ["_templates"]
# A code block Pygments cannot lex (a JSON example with "..." in it) is still shown, as plain text;
# that is not worth failing the build over. Every other warning is an error.
suppress_warnings = ["misc.highlighting_failure"]

# -- MyST ------------------------------------------------------------------------------------------
myst_enable_extensions = ["colon_fence", "deflist", "dollarmath", "amsmath"]
myst_heading_anchors = 3  # links such as field-data.md#reading-options

# -- API reference: autodoc + autosummary + numpydoc -------------------------------------------------
autosummary_generate = True
autosummary_ignore_module_all = (
    False  # a package's __all__ is its public API, imported names included
)
autosummary_imported_members = False
autodoc_default_options = {"members": True, "member-order": "bysource"}
autodoc_typehints = "none"  # the numpydoc Parameters sections say the types
autodoc_mock_imports: list[str] = []
numpydoc_show_class_members = False  # the class template lists members itself
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
numpydoc_validation_checks: set[str] = set()

# -- HTML --------------------------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"rdsplan {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc"],
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
}
html_static_path: list[str] = []
html_show_sourcelink = False


def setup(app):
    """Plain-text highlighting for ``csv`` blocks (Pygments has no CSV lexer; GitHub renders them)."""
    from pygments.lexers.special import TextLexer

    app.add_lexer("csv", TextLexer)
