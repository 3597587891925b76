"""Peer-referral recruitment: field data, Bayesian models and diagnostics.

The data layer is imported eagerly; the PyMC models live in
:mod:`rdsmodel.count` and :mod:`rdsmodel.covariates` and are imported on demand
(PyMC is slow to import).
"""

from rdsmodel.data import CovariateSchema, DataValidationError, RecruitmentData, read_table
from rdsmodel.persistence import package_version

__version__ = package_version()

__all__ = ["CovariateSchema", "DataValidationError", "RecruitmentData", "__version__", "read_table"]
