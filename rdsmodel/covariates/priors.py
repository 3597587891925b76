"""Default priors of the covariate model, as data.

Every prior is a small dict of a PyMC distribution's parameters; the user's
``priors`` argument is merged over :data:`DEFAULT_PRIORS` key by key (a partial
dict such as ``{"rho": {"alpha": 2.0, "beta": 2.0}}`` changes only what it
names) and the merged dict is stored with the fit.

=================  =========================  ===================================================
key                distribution               meaning
=================  =========================  ===================================================
``rho``            Beta(alpha, beta)          inheritance probability of each field (default
                                              Beta(1, 1): uniform, so the posterior is driven
                                              by the counts)
``pi``             Dirichlet(concentration)   non-inherited level law of each field (symmetric)
``rho_mu``         Normal(mu, sigma)          ``rho_by_level``: field mean of ``logit rho`` (the
                                              default N(0, 1.5) is close to uniform on ``rho``)
``rho_sigma``      HalfNormal(sigma)          ``rho_by_level``: spread of ``logit rho`` across
                                              recruiter levels (partial pooling)
``class_weight``   Dirichlet(concentration)   latent classes: law of non-inherited classes
``class_rho``      Beta(alpha, beta)          latent classes: probability of keeping the class
``class_pi``       Dirichlet(concentration)   latent classes: class-specific level laws
``intercept``      Normal(mu, sigma)          numeric fields, standardised scale
``slope``          Normal(mu, sigma)          numeric fields, standardised scale
``sigma``          HalfNormal(sigma)          numeric fields, standardised residual sd
=================  =========================  ===================================================
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

__all__ = ["DEFAULT_PRIORS", "merge_priors"]

DEFAULT_PRIORS: dict[str, dict[str, float]] = {
    "rho": {"alpha": 1.0, "beta": 1.0},
    "pi": {"concentration": 1.0},
    "rho_mu": {"mu": 0.0, "sigma": 1.5},
    "rho_sigma": {"sigma": 1.0},
    "class_weight": {"concentration": 1.0},
    "class_rho": {"alpha": 1.0, "beta": 1.0},
    "class_pi": {"concentration": 1.0},
    "intercept": {"mu": 0.0, "sigma": 1.0},
    "slope": {"mu": 0.0, "sigma": 1.0},
    "sigma": {"sigma": 1.0},
}


def merge_priors(priors: Mapping[str, Mapping[str, float]] | None) -> dict[str, dict[str, float]]:
    """Merge user priors over :data:`DEFAULT_PRIORS`.

    Raises
    ------
    ValueError
        On an unknown prior or parameter name, or a non-positive scale.
    """
    merged = copy.deepcopy(DEFAULT_PRIORS)
    for key, params in (priors or {}).items():
        if key not in merged:
            raise ValueError(f"unknown prior {key!r}; known priors: {sorted(merged)}")
        if not isinstance(params, Mapping):
            raise ValueError(f"prior {key!r} must be a dict of parameters, e.g. {merged[key]}")
        for name, value in params.items():
            if name not in merged[key]:
                raise ValueError(
                    f"prior {key!r} has no parameter {name!r}; parameters: {sorted(merged[key])}"
                )
            value = float(value)
            if name != "mu" and not value > 0:
                raise ValueError(f"prior {key!r}: {name} must be positive, got {value}")
            merged[key][name] = value
    return merged


def as_jsonable(priors: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, float]]:
    """Plain-float copy of a priors dict."""
    return {k: {n: float(v) for n, v in p.items()} for k, p in priors.items()}
