r"""Default priors of the count model, merged with the user's, as plain JSON-able data.

A prior is a dict naming a PyMC distribution and its keyword arguments::

    {"dist": "Normal", "mu": 0.0, "sigma": 1.0}

===========  ==========================================  ===============================================
parameter    default                                     meaning
===========  ==========================================  ===============================================
``b0``       ``Normal(mu=log mean recruits, sigma=1.5)``  log mean capacity at the covariate means
``beta``     ``Normal(0, 1)``                            per standardised numeric / centred dummy term
``sigma_u``  ``HalfNormal(0.5)``                         sd of the group effects :math:`u_g`
``phi``      ``LogNormal(mu=0.5, sigma=1.5)``            NB dispersion (Var = mu + mu^2/phi)
``psi``      ``Beta(1, 1)``                              zero-inflation / hurdle zero probability
===========  ==========================================  ===============================================

``b0``'s ``mu`` is data-driven: ``"auto"`` resolves to
:math:`\log \max(\bar y, 0.1)`, the log mean redeemed count of the fitted
respondents (a slight underestimate of the capacity mean because of
censoring, well inside the prior's spread). The group effects are
:math:`u_g \sim N(0, \sigma_u)` i.i.d. (how they are sampled:
:func:`rdsmodel.count.inputs.group_centring`).

User overrides beat data-driven values, which beat the defaults. An override
naming a ``dist`` replaces the whole spec; one without only updates the
arguments (``{"b0": {"sigma": 1.0}}``). Priors the compiled kernel knows
(:data:`KERNEL_PRIORS`) keep the fast sampler; any other PyMC distribution is
accepted and sampled through the generic PyMC graph.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

import numpy as np

from rdsmodel.errors import ModelError

__all__ = [
    "DEFAULT_PRIORS",
    "KERNEL_PRIORS",
    "kernel_prior_table",
    "make_prior",
    "make_prior_dist",
    "resolve_priors",
]

DEFAULT_PRIORS: dict[str, dict[str, Any]] = {
    "b0": {"dist": "Normal", "mu": "auto", "sigma": 1.5},
    "beta": {"dist": "Normal", "mu": 0.0, "sigma": 1.0},
    "sigma_u": {"dist": "HalfNormal", "sigma": 0.5},
    "phi": {"dist": "LogNormal", "mu": 0.5, "sigma": 1.5},
    "psi": {"dist": "Beta", "alpha": 1.0, "beta": 1.0},
}

#: Distributions the compiled kernel implements: name -> (code, support, argument names).
KERNEL_PRIORS: dict[str, tuple[int, str, tuple[str, ...]]] = {
    "Normal": (0, "real", ("mu", "sigma")),
    "StudentT": (1, "real", ("nu", "mu", "sigma")),
    "Cauchy": (2, "real", ("alpha", "beta")),
    "HalfNormal": (3, "positive", ("sigma",)),
    "Exponential": (4, "positive", ("lam",)),
    "HalfStudentT": (5, "positive", ("nu", "sigma")),
    "HalfCauchy": (6, "positive", ("beta",)),
    "Gamma": (7, "positive", ("alpha", "beta")),
    "InverseGamma": (8, "positive", ("alpha", "beta")),
    "LogNormal": (9, "positive", ("mu", "sigma")),
    "Beta": (10, "unit", ("alpha", "beta")),
}

_SUPPORT = {"b0": "real", "beta": "real", "sigma_u": "positive", "phi": "positive", "psi": "unit"}
_DEFAULT_ARGS = {"StudentT": {"mu": 0.0}, "Normal": {"mu": 0.0}}


def resolve_priors(
    user: Mapping[str, Mapping[str, Any]] | None, *, log_mean: float, names: tuple[str, ...]
) -> dict[str, dict[str, Any]]:
    """Merge user priors over the defaults and resolve data-driven values.

    Parameters
    ----------
    user : mapping, optional
        ``{parameter: spec}`` overrides.
    log_mean : float
        Log of the mean redeemed count, used where a spec says ``"auto"``.
    names : tuple of str
        The parameters the model has (e.g. no ``psi`` for ``nb``).

    Returns
    -------
    dict
        ``{parameter: spec}`` with numbers only, ready to be stored with a fit.

    Raises
    ------
    ValueError
        For an unknown parameter, an unknown distribution or a non-numeric argument.
    """
    import pymc as pm

    user = dict(user or {})
    unknown = sorted(set(user) - set(DEFAULT_PRIORS))
    if unknown:
        raise ModelError(
            f"unknown prior parameter(s) {', '.join(unknown)}; known: {', '.join(DEFAULT_PRIORS)}"
        )
    out: dict[str, dict[str, Any]] = {}
    for name in names:
        spec = copy.deepcopy(DEFAULT_PRIORS[name])
        override = dict(user.get(name, {}))
        if "dist" in override:
            spec = {"dist": override.pop("dist")}
        spec.update(override)
        dist = spec["dist"]
        if not isinstance(dist, str) or not hasattr(pm, dist):
            raise ModelError(f"prior for {name}: unknown PyMC distribution {dist!r}")
        for key, value in list(spec.items()):
            if key == "dist":
                continue
            if value == "auto":
                spec[key] = float(log_mean)
            elif isinstance(value, (int, float, np.number)) and not isinstance(value, bool):
                spec[key] = float(value)
            else:
                raise ModelError(f"prior for {name}: argument {key}={value!r} must be a number")
        out[name] = spec
    return out


def make_prior(name: str, spec: Mapping[str, Any], **kwargs):
    """Create the PyMC random variable ``name`` from ``spec`` inside the current model."""
    import pymc as pm

    args = {k: v for k, v in spec.items() if k != "dist"}
    return getattr(pm, spec["dist"])(name, **args, **kwargs)


def make_prior_dist(spec: Mapping[str, Any], **kwargs):
    """The unnamed PyMC distribution (``.dist``) of ``spec``."""
    import pymc as pm

    args = {k: v for k, v in spec.items() if k != "dist"}
    return getattr(pm, spec["dist"]).dist(**args, **kwargs)


def kernel_prior_table(priors: Mapping[str, Mapping[str, Any]]) -> dict[str, np.ndarray] | None:
    """Encode priors for the compiled kernel, or ``None`` if one is not supported there.

    Each parameter becomes ``[code, a1, a2, a3]`` with the distribution's
    arguments in :data:`KERNEL_PRIORS` order (missing optional ones filled
    with their PyMC defaults).
    """
    table = {}
    for name, spec in priors.items():
        dist = spec["dist"]
        if dist not in KERNEL_PRIORS:
            return None
        code, support, argnames = KERNEL_PRIORS[dist]
        if support != _SUPPORT[name]:
            return None
        given = {k: v for k, v in spec.items() if k != "dist"}
        given = {**_DEFAULT_ARGS.get(dist, {}), **given}
        if set(given) != set(argnames):
            return None  # another parameterisation (e.g. Gamma(mu, sigma)): leave it to PyMC
        row = np.zeros(4)
        row[0] = code
        row[1 : 1 + len(argnames)] = [given[a] for a in argnames]
        table[name] = row
    return table
