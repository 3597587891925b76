r"""Sufficient-statistic compression of respondents into patterns and count matrices.

Respondents sharing a design row and a group share the linear predictor
:math:`\eta_p`; call such a class a *pattern* :math:`p`. Each respondent's
observation is either an exact redeemed count :math:`y < \text{censor\_at}`
(uncensored) or the event :math:`C \ge \text{censor\_at}` (censored). The
log-likelihood therefore only depends on two dense count matrices of shape
``(patterns, K + 1)``, with :math:`K` the largest bound:

* ``exact[p, y]``: respondents of pattern ``p`` with exact count ``y``;
* ``censored[p, k]``: respondents of pattern ``p`` censored at ``k``;

.. math::
    \ell = \sum_p \sum_{y} \text{exact}_{py} \log P(C = y \mid \eta_p)
         + \sum_p \sum_{k \ge 1} \text{censored}_{pk} \log P(C \ge k \mid \eta_p).

Rows with ``censor_at = 0`` contribute :math:`\log P(C \ge 0) = 0` and are left
out of the fit. A large study thus costs what its distinct patterns cost: with
categorical covariates and 20 groups, tens of thousands of respondents reduce
to a few hundred patterns.

The *outcomes* (distinct ``(pattern, value, censored)`` triples) index the
pointwise log-likelihood used for LOO: respondents with the same outcome have
identical log-likelihood draws.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Cells", "compress"]


@dataclass(frozen=True)
class Cells:
    """Compressed observations.

    Attributes
    ----------
    design : numpy.ndarray
        ``(P, q)`` design row of each pattern.
    group : numpy.ndarray
        ``(P,)`` group index of each pattern (0 when the model has no groups).
    exact : numpy.ndarray
        ``(P, K + 1)`` counts of exact observations by value.
    censored : numpy.ndarray
        ``(P, K + 1)`` counts of censored observations by bound.
    pattern : numpy.ndarray
        ``(n,)`` pattern of each respondent.
    outcome : numpy.ndarray
        ``(n,)`` outcome index of each respondent.
    outcome_pattern, outcome_value, outcome_censored : numpy.ndarray
        ``(O,)`` description of each distinct outcome.
    outcome_weight : numpy.ndarray
        ``(O,)`` number of respondents with each outcome.
    """

    design: np.ndarray
    group: np.ndarray
    exact: np.ndarray
    censored: np.ndarray
    pattern: np.ndarray
    outcome: np.ndarray
    outcome_pattern: np.ndarray
    outcome_value: np.ndarray
    outcome_censored: np.ndarray
    outcome_weight: np.ndarray

    @property
    def kmax(self) -> int:
        """Largest count or bound on the grid."""
        return self.exact.shape[1] - 1

    @property
    def n_patterns(self) -> int:
        """Number of distinct (design row, group) patterns."""
        return self.exact.shape[0]


def compress(design: np.ndarray, group: np.ndarray, y: np.ndarray, censor_at: np.ndarray) -> Cells:
    """Compress respondents into patterns and count matrices.

    Parameters
    ----------
    design : numpy.ndarray
        ``(n, q)`` design rows.
    group : numpy.ndarray
        ``(n,)`` non-negative group indices.
    y : numpy.ndarray
        ``(n,)`` redeemed counts (``n_recruits``); values above ``censor_at``
        are treated as censored at ``censor_at``.
    censor_at : numpy.ndarray
        ``(n,)`` censoring bounds, all ``>= 1``.

    Returns
    -------
    Cells
    """
    design = np.asarray(design, dtype=float)
    group = np.asarray(group, dtype=np.int64)
    censor_at = np.asarray(censor_at, dtype=np.int64)
    y = np.minimum(np.asarray(y, dtype=np.int64), censor_at)
    n = len(y)
    if design.ndim != 2 or design.shape[0] != n or group.shape != (n,) or censor_at.shape != (n,):
        raise ValueError("design, group, y and censor_at must describe the same respondents")
    if n and censor_at.min() < 1:
        raise ValueError("compress() expects censoring bounds >= 1 (rows at 0 carry no information)")
    key = np.column_stack([design, group.astype(float)])
    unique, pattern = np.unique(key, axis=0, return_inverse=True)
    pattern = pattern.reshape(-1)
    kmax = int(censor_at.max()) if n else 0
    n_pat = unique.shape[0]
    censored = y >= censor_at
    exact = np.zeros((n_pat, kmax + 1))
    cens = np.zeros((n_pat, kmax + 1))
    np.add.at(exact, (pattern[~censored], y[~censored]), 1.0)
    np.add.at(cens, (pattern[censored], censor_at[censored]), 1.0)
    okey = np.column_stack([pattern, y, censored.astype(np.int64)])
    outcomes, outcome, weight = np.unique(okey, axis=0, return_inverse=True, return_counts=True)
    return Cells(
        design=unique[:, :-1],
        group=unique[:, -1].astype(np.int64),
        exact=exact,
        censored=cens,
        pattern=pattern,
        outcome=outcome.reshape(-1),
        outcome_pattern=outcomes[:, 0],
        outcome_value=outcomes[:, 1],
        outcome_censored=outcomes[:, 2].astype(bool),
        outcome_weight=weight.astype(np.int64),
    )
