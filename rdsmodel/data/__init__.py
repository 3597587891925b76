"""Field data: read, validate and describe peer-referral recruitment tables.

The entry point is :func:`read_table`: a path (or a data frame) and
:class:`ReadingOptions` (the format and what the columns mean, in the user's
own column names), returning a validated :class:`RecruitmentData` whose
``reading`` holds the options used, or raising :class:`DataValidationError`
listing every problem. :func:`resolve_reading` rereads a study with the
options a posterior stored. :func:`describe` gives the descriptive summary of
a study. The formats, options and every error, warning and note are
documented in ``docs/field-data.md``.
"""

from rdsmodel.data.describe import StudySummary, describe
from rdsmodel.data.options import FLAGS, FORMATS, OVERRIDABLE, ReadingOptions, flag, resolve_reading
from rdsmodel.data.readers import read_canonical, read_coupons, read_rds, read_rdsat, read_table
from rdsmodel.data.recruitment import RecruitmentData
from rdsmodel.data.schema import CovariateField, CovariateSchema, infer_schema
from rdsmodel.data.validation import DataValidationError, Problem
from rdsmodel.errors import DataError

__all__ = [
    "FLAGS",
    "FORMATS",
    "OVERRIDABLE",
    "CovariateField",
    "CovariateSchema",
    "DataError",
    "DataValidationError",
    "Problem",
    "ReadingOptions",
    "RecruitmentData",
    "StudySummary",
    "describe",
    "flag",
    "infer_schema",
    "read_canonical",
    "read_coupons",
    "read_rds",
    "read_rdsat",
    "read_table",
    "resolve_reading",
]
