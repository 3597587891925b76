"""The documentation builds with warnings as errors, and its example field files read as documented.

The build is marked ``docs`` (left out of the default run): ``python -m pytest -m docs``.
It needs the ``docs`` extra (``pip install -e ".[docs]"``) and is skipped with the
reason when Sphinx is missing. The example files are checked in the default run
(no Sphinx needed), so a change of a reader cannot leave the docs' examples invalid.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"
EXAMPLES = DOCS / "examples"

_MISSING = [
    name
    for name in ("sphinx", "myst_parser", "numpydoc", "pydata_sphinx_theme")
    if importlib.util.find_spec(name) is None
]
needs_sphinx = pytest.mark.skipif(
    bool(_MISSING),
    reason=f"the docs extra is not installed (missing {', '.join(_MISSING)}): pip install -e '.[docs]'",
)


@pytest.mark.docs
@needs_sphinx
def test_docs_build_without_warnings(tmp_path):
    """``sphinx -W --keep-going -b html`` from a fresh environment: every warning fails the test."""
    out = tmp_path / "html"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "sphinx",
            "-W",
            "--keep-going",
            "-E",
            "-q",
            "-b",
            "html",
            "-d",
            str(tmp_path / "doctrees"),
            str(DOCS),
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, f"sphinx failed:\n{result.stderr[-6000:]}"
    for page in (
        "index",
        "getting-started",
        "field-data",
        "field-data-examples",
        "modelling",
        "planning-guide",
        "case-studies",
        "cli",
        "api/index",
    ):
        assert (out / f"{page}.html").is_file(), page
    cli = (out / "cli.html").read_text(encoding="utf-8")
    assert "rdsplan plan" in cli and "--budget" in cli


# -- the example files of docs/field-data-examples.md, read with the options the page gives ---------
EXAMPLE_READS = {
    "study.csv": {"group_col": "site", "coupon_window": 14, "cutoff": "2024-03-30"},
    "faux.csv": {"format": "rds", "max_coupons": 3},
    "redcap_export.csv": {
        "format": "coupons",
        "id_col": "record_id",
        "redeemed_col": "redeemed_coupon",
        "exclude_columns": ["issued_count"],
        "time_col": "interview_date",
    },
    "nyc.rdsat": {"format": "rdsat", "group_col": "site"},
}


@pytest.mark.parametrize("name", sorted(EXAMPLE_READS))
def test_example_files_read_as_documented(name):
    from rdsmodel.data import read_table

    data = read_table(EXAMPLES / name, **EXAMPLE_READS[name])
    assert data.warnings == []
    assert len(data.table) >= 10
    assert (data.table["recruiter_id"].isna()).sum() >= 1  # seeds found
    page = (DOCS / "field-data-examples.md").read_text(encoding="utf-8")
    assert f"examples/{name}" in page
