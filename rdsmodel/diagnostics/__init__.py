"""ArviZ diagnostics of fitted posteriors, with verdicts, readable messages and figures.

``diagnose(idata)`` returns a :class:`Diagnostics` report with sections

================ ======================================================================
``convergence``  R-hat, bulk and tail ESS, MCSE per parameter
``sampler``      divergences, energy BFMI, tree depth
``loo``          PSIS-LOO with Pareto k (exact for compressed log-likelihoods)
``ppc``          redeemed counts per coupon level (table, rootogram), randomised PIT
================ ======================================================================

and an overall verdict ``ok`` / ``warn`` / ``fail`` under documented
:class:`Thresholds`. Other models add their own :class:`Section` (see
:mod:`rdsmodel.diagnostics.report`). ``compare_families`` ranks count
families by LOO. See ``docs/diagnostics.md``.
"""

from rdsmodel.diagnostics.compare import FamilyComparison, compare_families, recommend
from rdsmodel.diagnostics.convergence import convergence_section, parameter_table, sampler_section
from rdsmodel.diagnostics.diagnose import diagnose
from rdsmodel.diagnostics.loo import loo, loo_section
from rdsmodel.diagnostics.ppc import (
    pit_histogram,
    pit_test,
    ppc_section,
    ppc_table,
    randomized_pit,
    rootogram,
)
from rdsmodel.diagnostics.report import STATUSES, Check, Diagnostics, Section, jsonable, worst
from rdsmodel.diagnostics.thresholds import Thresholds

__all__ = [
    "STATUSES",
    "Check",
    "Diagnostics",
    "FamilyComparison",
    "Section",
    "Thresholds",
    "compare_families",
    "convergence_section",
    "diagnose",
    "jsonable",
    "loo",
    "loo_section",
    "parameter_table",
    "pit_histogram",
    "pit_test",
    "ppc_section",
    "ppc_table",
    "randomized_pit",
    "recommend",
    "rootogram",
    "sampler_section",
    "worst",
]
