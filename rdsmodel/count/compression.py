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

Open coupon windows under ``open_windows="delay"`` (see
:mod:`rdsmodel.count.delay`) are compressed the same way: respondents sharing
the pattern, the coupons ``k``, the redemptions so far ``y`` and the
redemption probability :math:`G(\tau)` of their (day-binned) time since the
interview form one *open type* ``q`` with count ``open_count[q]`` and a weight
row ``open_weight[q, c]`` (the binomial factors, column ``k`` for
:math:`P(C \ge k)`):

.. math::
    \ell_{\text{open}} = \sum_q \text{open\_count}_q \log\Big(
        \sum_{c<k_q} W_{qc} P(C = c \mid \eta_{p_q}) + W_{qk_q} P(C \ge k_q \mid \eta_{p_q})\Big).

The *outcomes* (distinct ``(pattern, value, censored)`` triples, and one per
open type) index the pointwise log-likelihood used for LOO: respondents with
the same outcome have identical log-likelihood draws.
"""

from __future__ import annotations

from dataclasses import dataclass, field

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
    open_pattern, open_k, open_y, open_count : numpy.ndarray
        ``(Q,)`` pattern, coupons, redemptions so far and respondents of each open type.
    open_g : numpy.ndarray
        ``(Q,)`` redemption probability :math:`G(\tau)` of each open type.
    open_weight : numpy.ndarray
        ``(Q, K + 1)`` binomial factors (:func:`rdsmodel.count.delay.open_weights`).
    outcome_open : numpy.ndarray
        ``(O,)`` open type of each outcome, ``-1`` for closed outcomes.
    row_open : numpy.ndarray
        ``(n,)`` whether each respondent is an open row.
    row_g : numpy.ndarray
        ``(n,)`` :math:`G(\tau)` of each respondent (1 for closed rows).
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
    open_pattern: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    open_k: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    open_y: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    open_count: np.ndarray = field(default_factory=lambda: np.zeros(0))
    open_g: np.ndarray = field(default_factory=lambda: np.zeros(0))
    open_weight: np.ndarray = field(default_factory=lambda: np.zeros((0, 1)))
    outcome_open: np.ndarray | None = None
    row_open: np.ndarray | None = None
    row_g: np.ndarray | None = None

    @property
    def n_open(self) -> int:
        """Number of open types."""
        return len(self.open_pattern)

    @property
    def kmax(self) -> int:
        """Largest count or bound on the grid."""
        return self.exact.shape[1] - 1

    @property
    def n_patterns(self) -> int:
        """Number of distinct (design row, group) patterns."""
        return self.exact.shape[0]


def compress(
    design: np.ndarray,
    group: np.ndarray,
    y: np.ndarray,
    censor_at: np.ndarray,
    *,
    open_rows: np.ndarray | None = None,
    coupons: np.ndarray | None = None,
    g: np.ndarray | None = None,
) -> Cells:
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
        ``(n,)`` censoring bounds, all ``>= 1`` on closed rows (ignored on open rows).
    open_rows : numpy.ndarray, optional
        ``(n,)`` bool: rows whose window is open and which enter through the
        redemption delay (needs ``coupons`` and ``g``).
    coupons : numpy.ndarray, optional
        ``(n,)`` coupons issued (used on open rows, ``>= 1``).
    g : numpy.ndarray, optional
        ``(n,)`` redemption probability :math:`G(\\tau)` by the cut-off (used on open rows).

    Returns
    -------
    Cells
    """
    from rdsmodel.count.delay import open_weights

    design = np.asarray(design, dtype=float)
    group = np.asarray(group, dtype=np.int64)
    n = len(np.asarray(y))
    is_open = np.zeros(n, dtype=bool) if open_rows is None else np.asarray(open_rows, dtype=bool)
    if is_open.any() and (coupons is None or g is None):
        raise ValueError("open rows need their coupons and redemption probabilities g")
    k_open = np.zeros(n, dtype=np.int64) if coupons is None else np.asarray(coupons, dtype=np.int64)
    g_row = np.ones(n) if g is None else np.where(is_open, np.asarray(g, dtype=float), 1.0)
    censor_at = np.where(is_open, k_open, np.asarray(censor_at, dtype=np.int64))
    y = np.minimum(np.asarray(y, dtype=np.int64), censor_at)
    if design.ndim != 2 or design.shape[0] != n or group.shape != (n,) or censor_at.shape != (n,):
        raise ValueError("design, group, y and censor_at must describe the same respondents")
    if n and censor_at.min() < 1:
        raise ValueError(
            "compress() expects censoring bounds >= 1 (rows at 0 carry no information)"
        )
    key = np.column_stack([design, group.astype(float)])
    unique, pattern = np.unique(key, axis=0, return_inverse=True)
    pattern = pattern.reshape(-1)
    kmax = int(censor_at.max()) if n else 0
    n_pat = unique.shape[0]
    closed = ~is_open
    censored = closed & (y >= censor_at)
    exact_rows = closed & ~censored
    exact = np.zeros((n_pat, kmax + 1))
    cens = np.zeros((n_pat, kmax + 1))
    np.add.at(exact, (pattern[exact_rows], y[exact_rows]), 1.0)
    np.add.at(cens, (pattern[censored], censor_at[censored]), 1.0)
    # open types: (pattern, k, y, g)
    okey_open = np.column_stack([pattern[is_open], k_open[is_open], y[is_open], g_row[is_open]])
    types, open_type, open_count = np.unique(
        okey_open, axis=0, return_inverse=True, return_counts=True
    )
    open_type = open_type.reshape(-1)
    types = types.reshape(-1, 4)
    open_k = types[:, 1].astype(np.int64)
    open_y = types[:, 2].astype(np.int64)
    open_g = types[:, 3]
    # outcomes: closed (pattern, y, censored, -1) and open (pattern, y, 2, type)
    kind = np.where(is_open, 2, censored.astype(np.int64))
    type_of_row = np.full(n, -1, dtype=np.int64)
    type_of_row[is_open] = open_type
    okey = np.column_stack([pattern, y, kind, type_of_row])
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
        outcome_censored=outcomes[:, 2] == 1,
        outcome_weight=weight.astype(np.int64),
        open_pattern=types[:, 0].astype(np.int64),
        open_k=open_k,
        open_y=open_y,
        open_count=open_count.astype(float),
        open_g=open_g,
        open_weight=open_weights(open_k, open_y, open_g, kmax),
        outcome_open=outcomes[:, 3].astype(np.int64),
        row_open=is_open,
        row_g=g_row,
    )
