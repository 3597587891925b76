"""The numpy laws of the toolkit, each written once (never imports PyMC, PyTensor or numba).

=============== ===============================================================
module          holds
=============== ===============================================================
``capacity``    referral-capacity count families (Poisson, negative binomial,
                zero-inflated, hurdle): log-pmf and log-survival grids, pmfs,
                survival curves, means, draws; pmf to survival conversion
``inheritance`` the inheritance (homophily) law of a categorical covariate:
                transition matrices, draws, exact Laplace factors
=============== ===============================================================

The count and covariate models read their predictions from these modules, the
simulator (:mod:`planning.simulation`) its ground truth; the planners receive
arrays computed from them (they never import :mod:`rdsmodel`).
"""
