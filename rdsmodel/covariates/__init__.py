"""Recruit-covariate (homophily) model: who a recruiter brings in.

The Bayesian inheritance model of ``docs/covariate-model.md``: per categorical
field ``P(c | p) = rho 1[c = p] + (1 - rho) pi(c)`` (optionally ``rho`` by
recruiter level, optionally a latent community class carried along edges)
or, per field on request (``transitions="matrix"``/``"auto"``), a full
transition matrix ``P(c | p) = T[p, c]`` with exact conjugate Dirichlet rows;
numeric fields as normal regressions on the recruiter's value; fitted in PyMC
from transition counts; turned into the numpy :class:`InheritanceOffspring`
law (``sample`` and exact ``laplace``) the planners use; and summarised by the
homophily report.

Importing this package does not import PyMC (only ``build``/``fit`` do).
"""

import rdsmodel.pytensor_setup  # noqa: F401 (first: configures PyTensor before it is imported)

from .fields import MISSING_LABEL, FieldSpec
from .model import CovariateModel
from .offspring import InheritanceOffspring
from .params import InheritanceParams
from .priors import DEFAULT_PRIORS
from .report import homophily_diagnostics, homophily_section, homophily_summary, plot_homophily

__all__ = [
    "DEFAULT_PRIORS",
    "MISSING_LABEL",
    "CovariateModel",
    "FieldSpec",
    "InheritanceOffspring",
    "InheritanceParams",
    "homophily_diagnostics",
    "homophily_section",
    "homophily_summary",
    "plot_homophily",
]
