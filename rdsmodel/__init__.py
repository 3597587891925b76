"""Peer-referral recruitment: field data, Bayesian models and diagnostics.

The data layer is imported eagerly; the PyMC models live in
:mod:`rdsmodel.count` and :mod:`rdsmodel.covariates` and are imported on demand
(PyMC is slow to import). Every error a user can fix derives from
:class:`RdsplanError` (:mod:`rdsmodel.errors`).
"""

from rdsmodel.data import (
    CovariateSchema,
    DataValidationError,
    ReadingOptions,
    RecruitmentData,
    read_table,
    resolve_reading,
)
from rdsmodel.errors import (
    DataError,
    MissingFileError,
    ModelError,
    RdsplanError,
    StudyMismatchError,
)
from rdsmodel.persistence import package_version

__version__ = package_version()

__all__ = [
    "CovariateSchema",
    "DataError",
    "DataValidationError",
    "MissingFileError",
    "ModelError",
    "RdsplanError",
    "ReadingOptions",
    "RecruitmentData",
    "StudyMismatchError",
    "__version__",
    "read_table",
    "resolve_reading",
]
