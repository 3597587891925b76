"""Referral capacity: a Bayesian hierarchical censored-count model, fast.

Capacity ``C_i`` (how many peers person ``i`` would bring if coupons were not
limiting) follows a count family with a log-linear mean on the recruiter's
covariates and group effects; we observe ``min(C_i, censor_at_i)``. Modules:

================ ======================================================================
``families``     log-pmf / log-survival grids (PyTensor and numpy), random draws
``priors``       default priors as data, merged with the user's
``design``       dummies, standardisation, centring, group index
``inputs``       covariate choice, usable rows, data-chosen group parametrisation
``compression``  respondents -> patterns x count matrices (sufficient statistics)
``likelihood``   the PyMC model; pointwise log-likelihood in numpy
``kernel``       compiled (numba) log posterior and gradient on compressed data
``sampling``     nutpie on the kernel / nutpie on PyMC / PyMC NUTS; run check, remedy
``pointwise``    log_likelihood, posterior_predictive, observed and constant data of a fit
``predict``      survival curves, pmfs, redeemed-count draws (numpy)
``model``        :class:`CountModel`
``simulate``     studies simulated from the model (tests, calibration, benchmarks)
================ ======================================================================

See ``docs/count-model.md``.
"""

import rdsmodel.pytensor_setup  # noqa: F401 (first: configures PyTensor before it is imported)
from rdsmodel.count.compression import Cells, compress
from rdsmodel.count.design import DesignSpec
from rdsmodel.count.families import FAMILIES, Family, get_family, logpmf_grid, logsurv_grid
from rdsmodel.count.model import DEFAULT_CONFIG, OPEN_WINDOWS, CountModel
from rdsmodel.count.priors import DEFAULT_PRIORS

__all__ = [
    "DEFAULT_CONFIG",
    "DEFAULT_PRIORS",
    "FAMILIES",
    "OPEN_WINDOWS",
    "Cells",
    "CountModel",
    "DesignSpec",
    "Family",
    "compress",
    "get_family",
    "logpmf_grid",
    "logsurv_grid",
]
