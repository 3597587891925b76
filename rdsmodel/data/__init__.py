"""Field data: read, validate and describe peer-referral recruitment tables.

The entry points are the readers (:func:`read_table` and the per-format
:func:`read_canonical`, :func:`read_rds`, :func:`read_coupons`) and
:meth:`RecruitmentData.from_frame`; all return a validated
:class:`RecruitmentData` or raise :class:`DataValidationError` listing every
problem. :func:`describe` gives the descriptive summary of a study. The
formats, options and every error and warning are documented in
``docs/field-data.md``.
"""

from rdsmodel.data.describe import StudySummary, describe
from rdsmodel.data.readers import FORMATS, read_canonical, read_coupons, read_rds, read_table
from rdsmodel.data.recruitment import RecruitmentData
from rdsmodel.data.schema import CovariateField, CovariateSchema, infer_schema
from rdsmodel.data.validation import DataValidationError, Problem

__all__ = [
    "FORMATS",
    "CovariateField",
    "CovariateSchema",
    "DataValidationError",
    "Problem",
    "RecruitmentData",
    "StudySummary",
    "describe",
    "infer_schema",
    "read_canonical",
    "read_coupons",
    "read_rds",
    "read_table",
]
