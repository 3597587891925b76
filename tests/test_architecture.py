"""The import rules of DESIGN.md's three layers, checked on the source and at run time.

* the planners (``planning`` outside ``planning.app`` and ``planning.simulation``)
  import neither PyMC nor ``rdsmodel``;
* the simulator imports no PyMC (it may use ``rdsmodel``'s numpy laws, not its models);
* only the application layer imports the models (``rdsmodel.count``, ``rdsmodel.covariates``);
* ``rdsmodel`` never imports ``planning`` (data flows one way).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PYMC = ("pymc", "pytensor", "nutpie", "numba", "arviz")
MODELS = ("rdsmodel.count", "rdsmodel.covariates", "rdsmodel.diagnostics")


def imported_modules(path: Path) -> set[str]:
    """Every module named by an import statement in ``path`` (at any depth)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def layer(path: Path) -> str:
    parts = path.relative_to(ROOT).parts
    if parts[0] == "rdsmodel":
        return "models"
    if parts[:2] == ("planning", "app"):
        return "application"
    if parts[:2] == ("planning", "simulation"):
        return "simulation"
    return "planners"


def starts(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


SOURCES = sorted(p for pkg in ("rdsmodel", "planning") for p in (ROOT / pkg).rglob("*.py"))


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_layer_imports(path):
    kind = layer(path)
    names = imported_modules(path)
    if kind == "planners":
        bad = {n for n in names if starts(n, PYMC) or starts(n, ("rdsmodel",))}
    elif kind == "simulation":
        bad = {n for n in names if starts(n, PYMC) or starts(n, MODELS)}
    elif kind == "models":
        bad = {n for n in names if starts(n, ("planning",))}
    else:
        bad = set()
    assert not bad, f"{path.relative_to(ROOT)} ({kind}) imports {sorted(bad)}"


def test_the_rules_catch_a_violation(tmp_path):
    """The checker itself: a planner importing PyMC is found."""
    fake = tmp_path / "planner.py"
    fake.write_text("def f():\n    import pymc\n    from rdsmodel.count import CountModel\n")
    assert {"pymc", "rdsmodel.count"} <= imported_modules(fake)


def test_planners_and_simulator_load_without_pymc():
    """At run time too: importing the planners and the simulator pulls in no PyMC."""
    code = (
        "import sys, planning, planning.planners, planning.simulation; "
        f"bad = sorted(m for m in sys.modules if m.split('.')[0] in {PYMC!r}); print(bad); "
        "assert not bad, bad"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
