r"""Generative Frontier Planning (GFP): a covariate-aware multi-round planner.

The value of having ``r`` coupons left and a frontier ``F`` (people awaiting
coupons, with covariates ``x``) is approximated by a soft coverage of ``J``
latent covariate types (Kong et al.):

.. math::

    V(r, F) = \sum_{j=1}^{J} w_j(r)\,\Big(1 - e^{-\sum_{x \in F} h_j(x)}\Big),
    \qquad h_j(x) = h_{0j} + \sum_f H_{j, f, x_f} \ge 0,
    \qquad w_j(r) \ge 0,\ \sum_j w_j(r) = r .

``H`` is additive over the (binned) levels of each covariate field (the
``H`` the offspring law's ``laplace`` takes) and ``h_0`` a per-type constant,
so ``V(r, \emptyset) = V(0, F) = 0`` and ``V <= r``: every future recruit
needs a coupon.

The deterministic backup
------------------------
With ``alpha_ij = E[exp(-h_j(X')) | x_i]`` (exact for the inheritance law:
``exp(-h_0j)`` times ``offspring.laplace(H, frontier)``) and person ``i``'s
capacity law (``P(C_i = c)``, ``S_i(k) = P(C_i >= k)``), giving ``k_i``
coupons makes ``min(C_i, k_i)`` recruits with i.i.d. covariates given
``x_i``, so

.. math::

    E\Big[1 - \prod_{x' \in F'} e^{-h_j(x')}\Big] = 1 - \prod_i \tau_{ij}(k_i),
    \qquad
    \tau_{ij}(k) = \sum_{c < k} P(C_i = c)\, \alpha_{ij}^c + S_i(k)\, \alpha_{ij}^k,

the truncated PGF of ``min(C_i, k)`` at ``alpha_ij`` (``tau_ij(0) = 1``).
A round that spends ``s`` coupons with allocation ``k`` scores

.. math::

    Q(r, F, k) = \sum_i \sum_{l \le k_i} S_i(l)
                 + \gamma \sum_j w_j(r - s) \Big(1 - \prod_i \tau_{ij}(k_i)\Big).

The greedy and its ratio update
-------------------------------
For a fixed ``s`` the weights ``c_j = gamma w_j(r - s)`` are fixed and ``Q``
is monotone with diminishing returns in ``k`` (``tau_ij`` is non-increasing
and convex in ``k``: ``tau(k) - tau(k+1) = S(k+1) alpha^k (1 - alpha)``
decreases in ``k``), so the marginal greedy is within ``1 - 1/e`` of the best
allocation of ``s`` coupons. Adding coupon ``k + 1`` to person ``i``
multiplies the product ``u_j = prod_i tau_ij(k_i)`` by
``beta_ij(k) = tau_ij(k+1) / tau_ij(k)``, so its marginal value is

.. math:: m_i = S_i(k_i + 1) + \sum_j c_j\, u_j\, (1 - \beta_{ij}(k_i)),

and each step changes ``u`` and one person's level only. The spend with the
best ``Q`` is played (ties to the smaller spend).

How it is fast
--------------
``w`` depends on ``r - s``, so every spend has its own greedy; they share no
prefix. All spends run *in one batch*: row ``s`` of a ``(spends, units)``
matrix holds upper bounds of the current marginals of spend ``s``'s greedy,
and one numpy step advances every row at once (no Python loop per coupon per
spend). Marginals only fall as ``u`` falls (diminishing returns), so stale
values are upper bounds and the greedy is *lazy*: a row evaluates its
largest bound exactly and takes it when it still beats the row's second
largest bound. When it does not, the row's 16 candidate units (its largest
bounds when last chosen) are evaluated exactly, then 16 new candidates, and
only then the whole row (one small matrix product per coupon level in use);
the best exact value that beats every remaining bound is the greedy's
choice, so each step of each row costs at most one such round. People with
identical curves, Laplace summaries and caps are merged into one *unit* with
a multiplicity: among identical people the greedy hands coupons out in turn
(lowest index first), so a unit's ``q`` coupons are an even split and its
next marginal is that of level ``q // m``. Homogeneous and few-type
frontiers therefore cost almost nothing. BLAS runs on one thread inside the
kernel (:func:`blas_threads`): its products are small. The same kernel runs
many frontiers at once (the fitting's Bellman targets, :func:`gfp_best`).

A decision for a frontier of 200 with 300 coupons left (301 spends, 32
types) takes about 0.13 s of CPU (``tests/benchmarks/bench_gfp.py``;
``docs/gfp.md``).

Weighted recruits (priority subgroups)
--------------------------------------
With recruit weights ``w_i = E[w(X') | x_i]`` (``PlanningInputs.weights``)
the immediate term counts weighted recruits, ``sum_i w_i sum_{l<=k_i} S_i(l)``
(the plug-in uses the posterior-mean value curves ``E_d[S_d w_d]``, scored
samples their own ``S_d w_d``), and the continuation is multiplied by the
pooled weight ``wbar`` (``PlanningInputs.pooled_weight``): the surrogate
counts future recruits, each worth ``wbar`` on average, as the population DP
does. Its soft coverage already values covariate types through ``h``; a
surrogate fitted on weighted rollouts would carry the priorities into the
types themselves. The greedy's marginal becomes
``w_i S_i(k_i + 1) + wbar sum_j c_j u_j (1 - beta_ij(k_i))``, still monotone
with diminishing returns.

Posterior samples
-----------------
By default (``samples=0``) the planner scores the plug-in model: the
posterior-mean curves and the Laplace summaries of the posterior-mean
offspring law. With ``samples > 0`` that many posterior samples are drawn
with the decision's generator, every spend's greedy allocation (still on the
plug-in model) is scored under each sample, ``Q_d(s)``, and the spend with
the best ``risk`` of ``(Q_1(s), ..., Q_D(s))`` (e.g. ``"cvar:0.1"``) is
played: the robust spend of DESIGN.md.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from planning.errors import PlanningError
from planning.inputs import PlanningInputs
from planning.planners import PLANNERS, Decision, check_round_cap
from planning.risk import parse_risk
from planning.serial import jsonable

__all__ = [
    "GFPPlanner",
    "GFPSurrogate",
    "SpendTable",
    "backup_tables",
    "blas_threads",
    "gfp_best",
    "gfp_spend_table",
    "q_values",
    "tau_at",
]

#: File format tag of a saved surrogate.
FORMAT = "rdsplan-gfp-surrogate"
_TINY = 1e-300
#: Bounds refreshed exactly when a row's largest bound fails (before refreshing the whole row).
REFRESH_TOP = 16
#: Coupon levels first tabulated per unit, and how much deeper a unit's table grows
#: when a greedy reaches its end (:class:`_Units`).
START_DEPTH = 8
DEEPEN = 4


# --------------------------------------------------------------------------- the surrogate
@dataclass(frozen=True, eq=False)
class GFPSurrogate:
    r"""The fitted value surrogate ``V(r, F)`` (see the module docstring).

    Attributes
    ----------
    H : numpy.ndarray
        ``(J, fields, levels)`` nonnegative weights of the covariate levels
        (the ``H`` of ``offspring.laplace``); ``fields = 0`` for a
        covariate-blind surrogate.
    h0 : numpy.ndarray
        ``(J,)`` nonnegative per-type constant of ``h_j``.
    weight_coef : numpy.ndarray
        ``(J, P)`` coefficients of the budget weights:
        ``w(r) = r softmax(weight_coef @ phi(r))`` with ``phi`` the ``P`` hat
        functions on ``log(1 + r) / log(1 + scale)`` (clipped to ``[0, 1]``).
    scale : float
        The largest budget the surrogate was fitted for; larger ``r`` reuse
        the weights' logits at ``scale`` (and still sum to ``r``).
    fields : tuple of str
        Covariate field names, the order of ``H``'s field axis.
    levels : tuple of int
        Levels (or bins) of each field.
    identity : str
        Identity of the posterior (or world) the surrogate was fitted for;
        the application reuses a saved surrogate only for the same identity.
    gamma : float or None
        Discount the surrogate was fitted with.
    info : dict
        How it was fitted: settings, seed, loss curve, seconds.
    """

    H: np.ndarray
    h0: np.ndarray
    weight_coef: np.ndarray
    scale: float
    fields: tuple[str, ...] = ()
    levels: tuple[int, ...] = ()
    identity: str = ""
    gamma: float | None = None
    info: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        H = np.asarray(self.H, dtype=np.float64)
        h0 = np.asarray(self.h0, dtype=np.float64)
        coef = np.asarray(self.weight_coef, dtype=np.float64)
        if H.ndim != 3:
            raise PlanningError(
                f"GFP surrogate: H must be (J, fields, levels), got shape {H.shape}"
            )
        J = H.shape[0]
        if h0.shape != (J,) or coef.ndim != 2 or coef.shape[0] != J or coef.shape[1] < 2:
            raise PlanningError(
                f"GFP surrogate: h0 must be ({J},) and weight_coef ({J}, P >= 2); "
                f"got {h0.shape} and {coef.shape}"
            )
        for name, arr in (("H", H), ("h0", h0), ("weight_coef", coef)):
            if not np.all(np.isfinite(arr)):
                raise PlanningError(f"GFP surrogate: {name} has NaN or infinite entries")
        if np.any(H < 0) or np.any(h0 < 0):
            raise PlanningError("GFP surrogate: h must be nonnegative (H and h0 >= 0)")
        if not float(self.scale) >= 1:
            raise PlanningError(f"GFP surrogate: scale must be >= 1, got {self.scale}")
        if len(self.fields) != H.shape[1] or len(self.levels) != H.shape[1]:
            raise PlanningError(
                f"GFP surrogate: {H.shape[1]} field(s) in H but fields={self.fields}, "
                f"levels={self.levels}"
            )
        if self.levels and max(self.levels) > H.shape[2]:
            raise PlanningError("GFP surrogate: H has fewer levels than a field needs")
        for name, arr in (("H", H), ("h0", h0), ("weight_coef", coef)):
            arr.flags.writeable = False
            object.__setattr__(self, name, arr)
        object.__setattr__(self, "fields", tuple(str(f) for f in self.fields))
        object.__setattr__(self, "levels", tuple(int(v) for v in self.levels))
        object.__setattr__(self, "scale", float(self.scale))

    # -- shape -------------------------------------------------------------------------------
    @property
    def n_types(self) -> int:
        """Latent types ``J``."""
        return self.H.shape[0]

    @property
    def n_fields(self) -> int:
        """Covariate fields of ``H``."""
        return self.H.shape[1]

    @property
    def n_knots(self) -> int:
        """Hat functions ``P`` of the budget weights."""
        return self.weight_coef.shape[1]

    # -- the surrogate -------------------------------------------------------------------------
    def basis(self, r: Any) -> np.ndarray:
        r"""Hat functions ``phi(r)``, shape ``(..., P)``: piecewise linear in ``log(1 + r)``."""
        r = np.maximum(np.asarray(r, dtype=np.float64), 0.0)
        return hat_basis(np.log1p(r) / np.log1p(self.scale), self.n_knots)

    def weights(self, r: Any) -> np.ndarray:
        r"""Budget weights ``w(r)``, shape ``(..., J)``: nonnegative, summing to ``max(r, 0)``."""
        r_arr = np.maximum(np.asarray(r, dtype=np.float64), 0.0)
        logits = self.basis(r_arr) @ self.weight_coef.T
        logits -= logits.max(axis=-1, keepdims=True)
        p = np.exp(logits)
        p /= p.sum(axis=-1, keepdims=True)
        return r_arr[..., None] * p

    def coverage(self, counts: np.ndarray, sizes: np.ndarray) -> np.ndarray:
        r"""``z_j = sum_{x in F} h_j(x)`` from level counts.

        Parameters
        ----------
        counts
            ``(..., fields, levels)`` how many frontier members have each
            level of each field (missing values counted nowhere).
        sizes
            ``(...,)`` frontier sizes.

        Returns
        -------
        numpy.ndarray
            ``(..., J)``.
        """
        counts = np.asarray(counts, dtype=np.float64)
        lead = counts.shape[:-2]
        flat = counts.reshape(*lead, -1)
        H = self.H[:, :, : counts.shape[-1]].reshape(self.n_types, -1)
        return flat @ H.T + np.asarray(sizes, dtype=np.float64)[..., None] * self.h0

    def value(self, r: Any, counts: np.ndarray, sizes: np.ndarray) -> np.ndarray:
        r"""``V(r, F)`` for frontiers given by level counts (see :meth:`coverage`)."""
        z = self.coverage(counts, sizes)
        return np.sum(self.weights(r) * -np.expm1(-z), axis=-1)

    def alpha(self, offspring: Any, frontier: Any, sample: Any = None) -> np.ndarray:
        r"""``alpha_ij = E[exp(-h_j(X')) | x_i]`` for the frontier's members.

        ``exp(-h0_j)`` times ``offspring.laplace(H, frontier, sample)``;
        without covariate fields ``exp(-h0_j)`` for everybody.

        Parameters
        ----------
        offspring
            Recruit-covariate law with ``laplace(H, parents, sample)``.
        frontier
            The frontier's covariates (what ``laplace`` takes), or the number
            of people for a covariate-blind surrogate.
        sample
            ``None`` (plug-in law) or an array of posterior sample indices.

        Returns
        -------
        numpy.ndarray
            ``(person, J)`` for ``sample=None``, else ``(sample, person, J)``.
        """
        base = np.exp(-self.h0)
        n = frontier if isinstance(frontier, int | np.integer) else len(frontier)
        if self.n_fields == 0:
            out = np.broadcast_to(base, (int(n), self.n_types))
            if sample is not None:
                out = np.broadcast_to(out, (np.size(sample), int(n), self.n_types))
            return np.array(out)
        if offspring is None or isinstance(frontier, int | np.integer):
            raise PlanningError(
                f"this GFP surrogate weighs the covariate field(s) {', '.join(self.fields)}: "
                "the planning inputs need the offspring law and the frontier's covariates"
            )
        index = None if sample is None else _offspring_samples(offspring, sample)
        try:
            lap = np.asarray(offspring.laplace(self.H, frontier, index), dtype=np.float64)
        except (ValueError, KeyError, TypeError) as err:
            raise PlanningError(
                f"the offspring law cannot score this GFP surrogate (fields {list(self.fields)}, "
                f"levels {list(self.levels)}): {err}"
            ) from None
        if sample is not None and lap.ndim == 2:  # a law without posterior samples
            lap = np.broadcast_to(lap, (np.size(sample), *lap.shape))
        return np.clip(lap, 0.0, 1.0) * base

    # -- persistence ---------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready description (floats round-trip exactly)."""
        return {
            "format": FORMAT,
            "version": 1,
            "identity": self.identity,
            "gamma": self.gamma,
            "scale": self.scale,
            "fields": list(self.fields),
            "levels": list(self.levels),
            "shape": list(self.H.shape),
            "H": self.H.ravel().tolist(),
            "h0": self.h0.tolist(),
            "weight_coef": self.weight_coef.tolist(),
            "info": jsonable(self.info),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GFPSurrogate:
        """Inverse of :meth:`to_dict`."""
        if data.get("format") != FORMAT:
            raise PlanningError(f"not a saved GFP surrogate (format {data.get('format')!r})")
        shape = tuple(int(v) for v in data["shape"])
        return cls(
            H=np.asarray(data["H"], dtype=np.float64).reshape(shape),
            h0=np.asarray(data["h0"], dtype=np.float64),
            weight_coef=np.asarray(data["weight_coef"], dtype=np.float64),
            scale=float(data["scale"]),
            fields=tuple(data["fields"]),
            levels=tuple(data["levels"]),
            identity=str(data.get("identity", "")),
            gamma=None if data.get("gamma") is None else float(data["gamma"]),
            info=dict(data.get("info", {})),
        )

    def to_json(self) -> str:
        """The surrogate as JSON text (the application writes it, atomically, beside the posterior)."""
        return json.dumps(self.to_dict())

    @classmethod
    def from_json(cls, text: str, identity: str | None = None) -> GFPSurrogate:
        """Inverse of :meth:`to_json`; with ``identity``, refuse one fitted for another posterior.

        Raises
        ------
        planning.errors.PlanningError
            Unreadable text, or an identity that differs.
        """
        try:
            surrogate = cls.from_dict(json.loads(text))
        except (ValueError, KeyError) as err:
            raise PlanningError(f"not a readable GFP surrogate: {err}") from None
        if identity is not None and surrogate.identity != identity:
            raise PlanningError(
                f"the GFP surrogate was fitted for {surrogate.identity!r}, not {identity!r}: "
                "refit it for this posterior"
            )
        return surrogate


def hat_basis(x: Any, knots: int) -> np.ndarray:
    """``knots`` piecewise-linear hat functions on ``[0, 1]`` (a partition of unity), ``(..., knots)``."""
    x = np.clip(np.asarray(x, dtype=np.float64), 0.0, 1.0)
    centres = np.linspace(0.0, 1.0, knots)
    return np.maximum(0.0, 1.0 - np.abs(x[..., None] - centres) * (knots - 1))


def _offspring_samples(offspring: Any, sample: Any) -> np.ndarray:
    """Posterior sample indices for the offspring law (wrapped if it has fewer samples)."""
    index = np.atleast_1d(np.asarray(sample, dtype=np.int64))
    count = getattr(offspring, "n_samples", None)
    if isinstance(count, int | np.integer) and count > 0:
        index = index % int(count)
    return index


# --------------------------------------------------------------------------- the backup
def backup_tables(
    survival: np.ndarray, pmf: np.ndarray, alpha: np.ndarray, depth: int
) -> np.ndarray:
    r"""``tau_ij(k)`` for ``k = 0..depth``, shape ``(..., person, depth + 1, J)``.

    ``tau_ij(k) = sum_{c<k} P(C_i = c) alpha_ij^c + S_i(k) alpha_ij^k`` by a
    cumulative sum over ``c``.

    Parameters
    ----------
    survival
        ``(..., person, L)`` with ``L >= depth``.
    pmf
        ``(..., person, L + 1)`` the matching law of ``min(C, L)``.
    alpha
        ``(..., person, J)`` Laplace summaries in ``[0, 1]``.
    depth
        Largest coupon count needed.
    """
    powers = _powers(alpha, depth)  # (..., n, depth+1, J): alpha^c, 0^0 = 1
    terms = pmf[..., :depth, None] * powers[..., :depth, :]
    below = np.concatenate([np.zeros_like(powers[..., :1, :]), np.cumsum(terms, axis=-2)], axis=-2)
    surv = np.concatenate([np.ones_like(survival[..., :1]), survival[..., :depth]], axis=-1)
    return below + surv[..., None] * powers


def _powers(alpha: np.ndarray, depth: int) -> np.ndarray:
    """``alpha^c`` for ``c = 0..depth`` along a new axis ``-2`` (cumulative products)."""
    out = np.empty((*alpha.shape[:-1], depth + 1, alpha.shape[-1]))
    out[..., 0, :] = 1.0
    if depth:
        out[..., 1:, :] = alpha[..., None, :]
        np.cumprod(out[..., 1:, :], axis=-2, out=out[..., 1:, :])
    return out


def tau_at(
    survival: np.ndarray, pmf: np.ndarray, alpha: np.ndarray, allocation: np.ndarray
) -> np.ndarray:
    r"""``tau_ij(k_i)`` of one allocation, computed directly, shape ``(..., person, J)``.

    Written independently of :func:`backup_tables` and of the greedy's ratio
    updates (a masked sum over ``c < k_i``); it is what claimed values are
    checked against.
    """
    k = np.asarray(allocation, dtype=np.int64)
    top = int(k.max()) if k.size else 0
    c = np.arange(top)
    total = alpha ** k[:, None]  # alpha^k_i, then S_i(k_i) alpha^k_i + sum_{c<k_i} P(c) alpha^c
    surv = np.concatenate([np.ones_like(survival[..., :1]), survival], axis=-1)
    s_k = np.take_along_axis(surv, np.broadcast_to(k, surv.shape[:-1])[..., None], axis=-1)
    total = total * s_k
    for level in c:  # one term per coupon level below the largest k
        mask = (k > level)[:, None]
        total = total + np.where(mask, pmf[..., level, None] * alpha**level, 0.0)
    return total


def q_values(
    survival: np.ndarray,
    pmf: np.ndarray,
    alpha: np.ndarray,
    allocation: np.ndarray,
    weights: np.ndarray,
    gamma: float,
    *,
    gains: np.ndarray | None = None,
    future_scale: Any = 1.0,
) -> np.ndarray:
    r"""``Q(r, F, k)`` of one allocation, directly (no incremental updates).

    ``sum_i sum_{l<=k_i} G_i(l) + gamma wbar sum_j w_j (1 - prod_i tau_ij(k_i))``,
    ``G = S`` unless recruit-weighted value curves ``gains`` are given and
    ``wbar`` the pooled weight ``future_scale`` (1 without priorities).

    Parameters
    ----------
    survival, pmf, alpha
        ``(..., person, L)``, ``(..., person, L + 1)``, ``(..., person, J)``.
    allocation
        ``(person,)`` coupons.
    weights
        ``(J,)`` ``w(r - s)``.
    gamma
        Discount.
    gains
        Optional value curves ``(..., person, L)``: ``S_i(l) w_i`` (recruit weights).
    future_scale
        Scalar or ``(...)`` pooled weight on the continuation.

    Returns
    -------
    numpy.ndarray
        Shape ``(...)``.
    """
    k = np.asarray(allocation, dtype=np.int64)
    value = survival if gains is None else gains
    cum = np.concatenate([np.zeros_like(value[..., :1]), np.cumsum(value, axis=-1)], axis=-1)
    now = np.take_along_axis(cum, np.broadcast_to(k, cum.shape[:-1])[..., None], axis=-1)[
        ..., 0
    ].sum(-1)
    if k.size == 0:
        return now
    product = np.prod(tau_at(survival, pmf, alpha, k), axis=-2)  # (..., J)
    return now + gamma * np.asarray(future_scale) * np.sum(weights * (1.0 - product), axis=-1)


# --------------------------------------------------------------------------- the batched greedy
_CONTROLLER: Any = None


def blas_threads(count: int | None = 1) -> Any:
    """Context limiting BLAS to ``count`` threads (``None``: unchanged).

    The kernel's matrix products are small (rows x J by J x people): one BLAS
    thread runs them several times faster than two that wait for each other
    on shared cores. Uses ``threadpoolctl`` (installed with PyMC) when it is
    importable, otherwise changes nothing.
    """
    global _CONTROLLER
    if count is None:
        return contextlib.nullcontext()
    if _CONTROLLER is None:
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:  # optional
            _CONTROLLER = False
        else:
            _CONTROLLER = ThreadpoolController()
    if _CONTROLLER is False:
        return contextlib.nullcontext()
    return _CONTROLLER.limit(limits=int(count), user_api="blas")


@dataclass
class _Units:
    """Per-unit tables of one or several frontiers (identical people merged), as deep as used.

    Unit ``u``'s coupon levels ``k = 0 .. deep[u] - 1`` are rows
    ``start[u] + k`` of flat tables (:meth:`at`): ``gain = S(k + 1)`` (or the
    value curve), ``drop[:, j] = 1 - beta_j(k)``. Every unit
    starts :data:`START_DEPTH` levels deep and :meth:`deepen` tabulates more
    levels of the units a greedy reaches (:data:`DEEPEN` times deeper, at
    most ``depth``): a level's numbers are the same at any depth (cumulative
    sums and products along ``k``), so the tables cost what the greedies use
    instead of ``units x depth x J`` (``depth`` is often the whole budget).

    ``caps[u]`` coupons each member may get (at most ``depth``), ``mult[u]``
    members. Units of problem ``p`` are ``offsets[p]:offsets[p+1]`` (in the
    order of their first member), its people ``people[p]:people[p+1]``;
    ``unit_of`` maps each person to its unit and ``rank`` is the person's
    position among its unit's members. A dummy unit (cap 0) is appended last.
    ``source`` holds each unit's first member's survival, pmf, Laplace
    summaries and value curves (``None`` without weights), to deepen from.
    """

    gain: np.ndarray
    drop: np.ndarray
    start: np.ndarray
    deep: np.ndarray
    used: int
    caps: np.ndarray
    mult: np.ndarray
    offsets: np.ndarray
    people: np.ndarray
    unit_of: np.ndarray
    rank: np.ndarray
    depth: int
    source: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]

    def at(self, unit: np.ndarray, level: np.ndarray) -> np.ndarray:
        """Flat table rows of ``(unit, level)`` (levels past a unit's table: its last row)."""
        return self.start[unit] + np.minimum(level, self.deep[unit] - 1)

    def deepen(self, unit: np.ndarray, level: np.ndarray) -> bool:
        """Tabulate ``unit[i]`` down to ``level[i]`` at least; whether any table grew."""
        short = level >= self.deep[unit]
        if not short.any():
            return False
        grow = np.unique(unit[short])
        target = int(
            min(self.depth, max(DEEPEN * int(self.deep[grow].max()), level[short].max() + 1))
        )
        S, Pm, A, G = self.source
        gain, drop = _level_tables(
            S[grow], Pm[grow], A[grow], None if G is None else G[grow], target
        )
        need = self.used + grow.size * target
        if need > self.gain.shape[0]:
            size = max(need, 2 * self.gain.shape[0])
            self.gain = np.concatenate([self.gain[: self.used], np.empty(size - self.used)])
            pad = np.empty((size - self.used, self.drop.shape[1]))
            self.drop = np.concatenate([self.drop[: self.used], pad])
        rows = slice(self.used, need)
        self.gain[rows] = gain.ravel()
        self.drop[rows] = drop.reshape(-1, drop.shape[-1])
        self.start[grow] = self.used + np.arange(grow.size) * target
        self.deep[grow] = target
        self.used = need
        return True


def _level_tables(
    S: np.ndarray, Pm: np.ndarray, A: np.ndarray, G: np.ndarray | None, depth: int
) -> tuple[np.ndarray, np.ndarray]:
    """``gain`` and ``drop = 1 - beta`` of levels ``0..depth-1``, ``(u, depth[, J])``."""
    tau = backup_tables(S, Pm, A, depth)  # (u, depth+1, J)
    powers = _powers(A, depth - 1)  # alpha^k, k < depth
    # 1 - beta(k) = (tau(k) - tau(k+1)) / tau(k) = S(k+1) alpha^k (1 - alpha) / tau(k)
    step = S[:, :depth, None] * powers * (1.0 - A[:, None, :])
    head = tau[:, :-1]
    drop = np.clip(np.where(head > _TINY, step / np.maximum(head, _TINY), 0.0), 0.0, 1.0)
    gain = S[:, :depth] if G is None else G[:, :depth]
    return gain, drop


def _unique_rows(key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(first index of each distinct row, group of each row)`` of a float matrix.

    Rows are grouped by a fixed random projection (a 1-D sort), checked
    exactly, and grouped by :func:`numpy.unique` on whole rows only if two
    different rows ever share a projection.
    """
    if key.shape[0] == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    weights = np.random.default_rng(12345).uniform(0.5, 1.5, key.shape[1])
    _, first, inverse = np.unique(key @ weights, return_index=True, return_inverse=True)
    inverse = np.ravel(inverse)
    if not np.array_equal(key, key[first][inverse]):
        _, first, inverse = np.unique(key, axis=0, return_index=True, return_inverse=True)
        inverse = np.ravel(inverse)
    return first, inverse


def _build_units(
    survival: np.ndarray,
    pmf: np.ndarray,
    alpha: np.ndarray,
    caps: np.ndarray,
    people: np.ndarray,
    depth: int,
    gains: np.ndarray | None = None,
) -> _Units:
    """Tables of the problems whose people are ``people[p]:people[p+1]`` of the stacked arrays.

    ``gains`` (``(N, L)`` value curves ``S w``, recruit weights) replace the
    immediate gains ``S(k + 1)``; the backup still uses ``survival``.
    ``depth``: the most coupons a member may get; the tables start
    :data:`START_DEPTH` levels deep (:class:`_Units`).
    """
    people = np.asarray(people, dtype=np.int64)
    N, J = alpha.shape
    P = people.size - 1
    owner = np.repeat(np.arange(P), np.diff(people))
    parts = [
        owner[:, None].astype(np.float64),
        survival[:, :depth],
        alpha,
        caps[:, None].astype(np.float64),
    ]
    if gains is not None:
        parts.append(gains[:, :depth])
    key = np.concatenate(parts, axis=1)
    first, inverse = _unique_rows(key)
    order = np.argsort(first, kind="stable")  # units by problem, then by first member
    first = first[order]
    relabel = np.empty_like(order)
    relabel[order] = np.arange(order.size)
    unit_of = relabel[inverse]
    mult = np.bincount(unit_of, minlength=first.size)
    by_unit = np.argsort(unit_of, kind="stable")
    starts = np.concatenate([[0], np.cumsum(mult)[:-1]]).astype(np.int64)
    rank = np.empty(N, dtype=np.int64)
    rank[by_unit] = np.arange(N) - np.repeat(starts, mult)
    offsets = np.searchsorted(owner[first], np.arange(P + 1)).astype(np.int64)
    source = (
        survival[first],
        pmf[first],
        alpha[first],
        None if gains is None else gains[first],
    )
    U = first.size
    level = max(1, min(int(depth), START_DEPTH))
    gain, drop = _level_tables(*source, level)
    used = U * level + 1  # the dummy's one row last: no gain, no drop
    size = 2 * used
    flat_gain, flat_drop = np.zeros(size), np.zeros((size, J))
    flat_gain[: U * level] = gain.ravel()
    flat_drop[: U * level] = drop.reshape(-1, J)
    return _Units(
        gain=flat_gain,
        drop=flat_drop,
        start=np.arange(U + 1, dtype=np.int64) * level,
        deep=np.append(np.full(U, level, dtype=np.int64), 1),
        used=used,
        caps=np.append(np.minimum(caps[first], depth), 0).astype(np.int64),
        mult=np.append(mult, 1).astype(np.int64),
        offsets=offsets,
        people=people,
        unit_of=unit_of,
        rank=rank,
        depth=max(1, int(depth)),
        source=source,
    )


def _lazy_greedy(
    units: _Units,
    problem: np.ndarray,
    spend: np.ndarray,
    coef: np.ndarray,
    upper: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Run one marginal greedy per row, all rows at once.

    Parameters
    ----------
    units
        Tables of the problems (deepened in place as the greedies go).
    problem, spend
        ``(R,)`` each row's problem and coupons to hand out (at most the
        problem's total capacity).
    coef
        ``(R, J)`` ``gamma w(r - s)`` of each row.
    upper
        Optional ``(R,)`` upper bounds of the rows' scores
        ``immediate + sum_j coef_j (1 - product_j)``. All rows advance one
        coupon per step, so a row of spend ``s`` is done after ``s`` steps;
        a row still running whose bound is below the best score of a done
        row of its problem (or ``0``, the score of spend ``0``) cannot have
        its problem's best score: it is dropped, with ``immediate = -inf``.

    Returns
    -------
    coupons : numpy.ndarray
        ``(R, max units)`` coupons per unit (columns beyond a problem's units are 0).
    immediate : numpy.ndarray
        ``(R,)`` expected recruits of the row's allocation (``-inf``: dropped).
    product : numpy.ndarray
        ``(R, J)`` ``u = prod_i tau_ij(k_i)``.
    """
    R, J = coef.shape
    dummy = units.caps.size - 1
    start = units.offsets[problem]
    width = units.offsets[problem + 1] - start
    n_max = int(width.max()) if R else 0
    cols = np.arange(n_max)
    index = np.where(cols[None, :] < width[:, None], start[:, None] + cols[None, :], dummy)

    # Exact first marginals (u = 1), in blocks of rows.
    bound = np.empty((R, n_max))
    step = max(1, 1_000_000 // max(1, n_max * J))
    for lo in range(0, R, step):
        at = units.start[index[lo : lo + step]]
        bound[lo : lo + step] = units.gain[at] + np.einsum(
            "rj,rnj->rn", coef[lo : lo + step], units.drop[at]
        )
    bound[units.caps[index] == 0] = -np.inf

    coupons = np.zeros((R, n_max), dtype=np.int64)
    immediate = np.zeros(R)
    product = np.ones((R, J))
    live = np.flatnonzero(spend > 0)
    # Working copies of the live rows (compacted now and then).
    B, K, U, C = bound[live], coupons[live], product[live], coef[live]
    imm, left, ix = immediate[live], spend[live].copy(), index[live]
    active = np.ones(live.size, dtype=bool)
    caps, mult = units.caps, units.mult
    n_cand = min(n_max, REFRESH_TOP)
    cand = _top(B, n_cand)  # per row: the units refreshed first when its bound fails

    if upper is not None:
        lower = np.full(int(problem.max(initial=0)) + 1, -np.inf)
        lower[problem[spend <= 0]] = 0.0

    def finish(rows: np.ndarray) -> None:
        coupons[live[rows]] = K[rows]
        immediate[live[rows]] = imm[rows]
        product[live[rows]] = U[rows]
        active[rows] = False
        if upper is None:
            return
        # Best scores of done rows per problem; running rows that cannot beat them stop here.
        score = imm[rows] + np.sum(C[rows] * (1.0 - U[rows]), axis=1)
        np.maximum.at(lower, problem[live[rows]], score)
        running = np.flatnonzero(active)
        beaten = running[upper[live[running]] < lower[problem[live[running]]]]
        if beaten.size:
            immediate[live[beaten]] = -np.inf
            active[beaten] = False

    while live.size:
        full = bool(active.all())
        ar = np.arange(active.size) if full else np.flatnonzero(active)
        view = B if full else B[ar]
        pick = np.arange(ar.size)
        best = view.argmax(axis=1)
        top = view[pick, best]
        view[pick, best] = -np.inf
        second = view.max(axis=1)
        flat = ar * B.shape[1] + best
        unit = np.take(ix, flat)
        row = units.at(unit, np.take(K, flat) // mult[unit])
        weights = C * U if full else C[ar] * U[ar]
        fresh = units.gain[row] + np.einsum("rj,rj->r", weights, units.drop[row])
        fresh = np.where(np.isfinite(top), fresh, -np.inf)
        np.put(B, flat, fresh)
        ok = np.isfinite(top)
        take = (fresh >= second) & ok
        acc, who = ar[take], best[take]
        miss = ar[~take & ok]
        if miss.size:  # loose bounds: refresh the row's candidates, new ones, or the whole row
            again, exact = _refresh_some(B, K, U, C, ix, miss, cand[miss], units)
            if not exact.all():
                rows = miss[~exact]
                cand[rows] = _top(B[rows], n_cand)
                again[~exact], exact[~exact] = _refresh_some(
                    B, K, U, C, ix, rows, cand[rows], units
                )
            if not exact.all():
                rows = miss[~exact]
                _refresh_rows(B, K, U, C, ix, rows, units)
                again[~exact] = B[rows].argmax(axis=1)
                cand[rows] = _top(B[rows], n_cand)
            acc, who = np.concatenate([acc, miss]), np.concatenate([who, again])
        if acc.size:
            flat = acc * B.shape[1] + who
            unit_a = np.take(ix, flat)
            given = np.take(K, flat)
            row_a = units.at(unit_a, given // mult[unit_a])
            imm[acc] += units.gain[row_a]
            U[acc] *= 1.0 - units.drop[row_a]
            given += 1
            np.put(K, flat, given)
            left[acc] -= 1
            room = given < caps[unit_a] * mult[unit_a]
            nxt = given // mult[unit_a]
            units.deepen(unit_a[room], nxt[room])
            row_a = units.at(unit_a, nxt)
            value = units.gain[row_a] + np.einsum("rj,rj->r", C[acc] * U[acc], units.drop[row_a])
            np.put(B, flat, np.where(room, value, -np.inf))
        stuck = ar[~ok]  # nothing left to give (not for valid spends)
        done = active & (left <= 0)
        done[stuck] = True
        if done.any():
            finish(np.flatnonzero(done))
            if active.sum() * 4 < active.size * 3 or not active.any():
                keep = np.flatnonzero(active)
                if keep.size == 0:
                    break
                live = live[keep]
                B, K, U, C, cand = B[keep], K[keep], U[keep], C[keep], cand[keep]
                imm, left, ix = imm[keep], left[keep], ix[keep]
                active = np.ones(keep.size, dtype=bool)
    return coupons, immediate, product


def _score_bounds(
    survival: np.ndarray,
    caps: np.ndarray,
    people: np.ndarray,
    smax: np.ndarray,
    problem: np.ndarray,
    spend: np.ndarray,
    coef: np.ndarray,
) -> np.ndarray:
    r"""Upper bounds of ``Q`` for rows ``(problem, spend)`` (:func:`_lazy_greedy`'s ``upper``).

    Any ``s`` coupons bring at most the sum of the ``s`` largest ``S_i(l)``
    (``l <= min(cap_i, smax)``) of the problem's people, and the continuation
    ``sum_j c_j (1 - u_j)`` is at most ``sum_j c_j`` (``0 <= u_j <= 1``). A
    slack covering rounding (``1e-9`` relative, and the worst case of the
    running sum of the ranked gains) keeps it a bound, so a row whose bound
    is below a score cannot have the best score.
    """
    P = people.size - 1
    owner = np.repeat(np.arange(P), np.diff(people))
    depth = int(min(survival.shape[1], smax.max(initial=1)))
    take = np.minimum(caps, smax[owner])  # levels of person i that any spend may use
    mask = np.arange(depth)[None, :] < take[:, None]
    gains = survival[:, :depth][mask]
    group = np.broadcast_to(owner[:, None], mask.shape)[mask]
    order = np.lexsort((-gains, group))
    ranked = np.cumsum(gains[order])
    count = np.bincount(group, minlength=P)
    begin = np.concatenate([[0], np.cumsum(count)[:-1]])
    base = np.concatenate([[0.0], ranked])  # base[begin[p] + s] - base[begin[p]]: top-s sum of p
    immediate = base[begin[problem] + np.minimum(spend, count[problem])] - base[begin[problem]]
    bound = immediate + coef.sum(axis=1)
    rounding = 4.0 * np.finfo(np.float64).eps * ranked.size * float(base[-1])
    return bound * (1.0 + 1e-9) + 1e-9 + rounding


def _top(B: np.ndarray, count: int) -> np.ndarray:
    """Columns of the ``count`` largest entries of each row (any order)."""
    if B.shape[1] <= count:
        return np.broadcast_to(np.arange(B.shape[1]), (B.shape[0], B.shape[1])).copy()
    return np.argpartition(-B, count - 1, axis=1)[:, :count]


def _refresh_some(B, K, U, C, ix, rows, cand, units: _Units) -> tuple[np.ndarray, np.ndarray]:
    """Exact marginals of the units ``cand`` (``(rows, count)``) of each of ``rows``.

    Returns each row's new argmax and whether it is exact (one of the
    refreshed entries: then it beats every remaining upper bound).
    """
    flat = rows[:, None] * B.shape[1] + cand  # entries of the (C-ordered) working arrays
    unit = np.take(ix, flat)
    coupons = np.take(K, flat)
    mult = units.mult[unit]
    at = units.at(unit, coupons // mult)
    value = units.gain[at] + np.einsum("kj,ktj->kt", C[rows] * U[rows], units.drop[at])
    np.put(B, flat, np.where(coupons < units.caps[unit] * mult, value, -np.inf))
    best = B[rows].argmax(axis=1)
    return best, np.any(cand == best[:, None], axis=1)


def _refresh_rows(B, K, U, C, ix, rows, units: _Units) -> None:
    """Exact marginals of every unit of ``rows`` (their lazy bounds grew loose).

    With one frontier (a decision) every row has the same units, and the
    continuation parts ``sum_j c_j u_j (1 - beta_ij(level))`` of every unit
    at every coupon level in use are one matrix product; several frontiers
    gather per entry.
    """
    unit = ix[rows]  # (r, n)
    level = np.minimum(K[rows] // units.mult[unit], units.deep[unit] - 1)
    weights = C[rows] * U[rows]
    if units.offsets.size == 2:
        n = int(units.offsets[1])
        top = int(level[:, :n].max()) + 1
        every_unit = np.arange(n)
        table = units.at(every_unit[:, None], np.arange(top)[None, :])  # (n, top)
        every = (weights @ units.drop[table].reshape(n * top, -1).T).reshape(rows.size, n, top)
        value = np.full(level.shape, -np.inf)
        value[:, :n] = (
            units.gain[units.start[every_unit] + level[:, :n]]
            + np.take_along_axis(every, level[:, :n, None], axis=2)[..., 0]
        )
    else:
        at = units.start[unit] + level
        value = units.gain[at] + np.einsum("rj,rnj->rn", weights, units.drop[at])
    room = K[rows] < units.caps[unit] * units.mult[unit]
    B[rows] = np.where(room, value, -np.inf)


def _expand(units: _Units, p: int, unit_coupons: np.ndarray) -> np.ndarray:
    """Per-person allocations ``(R, n)`` of problem ``p`` from its unit coupons ``(R, units)``.

    Even split within a unit, lower person index first (the greedy's tie-breaking).
    """
    lo, hi = units.people[p], units.people[p + 1]
    inverse = units.unit_of[lo:hi] - units.offsets[p]
    q = unit_coupons[:, inverse]
    m = units.mult[units.unit_of[lo:hi]]
    return q // m + (units.rank[lo:hi] < q % m).astype(np.int64)


# --------------------------------------------------------------------------- one decision
@dataclass
class SpendTable:
    """Every spend's greedy allocation and score for one frontier.

    Attributes
    ----------
    spends : numpy.ndarray
        ``(S,)`` spends ``0..smax``.
    allocations : numpy.ndarray
        ``(S, person)`` the greedy allocation of each spend.
    immediate : numpy.ndarray
        ``(S,)`` expected recruits this round.
    continuation : numpy.ndarray
        ``(S,)`` ``sum_j w_j(r - s) (1 - u_j)`` (undiscounted).
    scores : numpy.ndarray
        ``(S,)`` ``Q`` of each spend's allocation (from the greedy's own updates).
    """

    spends: np.ndarray
    allocations: np.ndarray
    immediate: np.ndarray
    continuation: np.ndarray
    scores: np.ndarray

    @property
    def best(self) -> int:
        """Index of the best spend (ties to the smaller spend)."""
        return int(np.argmax(self.scores))


def gfp_spend_table(
    surrogate: GFPSurrogate,
    survival: np.ndarray,
    pmf: np.ndarray,
    alpha: np.ndarray,
    caps: np.ndarray,
    remaining: int,
    gamma: float,
    max_spend: int | None = None,
    *,
    gains: np.ndarray | None = None,
    future_scale: float = 1.0,
) -> SpendTable:
    r"""The greedy allocation and score ``Q`` of every spend ``s = 0..smax``.

    Parameters
    ----------
    surrogate
        Gives ``w(r - s)``.
    survival, pmf, alpha, caps
        The frontier: ``(n, L)``, ``(n, L + 1)``, ``(n, J)``, ``(n,)``.
    remaining
        Coupons left, ``r``.
    gamma
        Discount.
    max_spend
        Largest spend considered (a per-round cap); default ``r``.
    gains
        Optional ``(n, L)`` value curves ``S_i(l) w_i`` (recruit weights) for
        the immediate term.
    future_scale
        Pooled weight ``wbar`` on the continuation (1 without priorities).
    """
    n, length = survival.shape
    caps = np.minimum(np.asarray(caps, dtype=np.int64), length)
    limit = remaining if max_spend is None else min(remaining, int(max_spend))
    smax = int(min(limit, int(caps.sum()))) if n else 0
    spends = np.arange(smax + 1)
    coef = gamma * surrogate.weights(remaining - spends)  # (S, J)
    if future_scale != 1.0:
        coef = coef * float(future_scale)
    if smax == 0:
        zero = np.zeros(1)
        return SpendTable(spends, np.zeros((1, n), dtype=np.int64), zero, zero.copy(), zero.copy())
    depth = max(1, int(min(length, caps.max(), smax)))
    units = _build_units(survival, pmf, alpha, caps, np.array([0, n]), depth, gains)
    with blas_threads(1):
        coupons, immediate, product = _lazy_greedy(
            units, np.zeros(spends.size, dtype=np.int64), spends, coef
        )
    n_units = units.offsets[1]
    allocations = _expand(units, 0, coupons[:, :n_units])
    continuation = np.sum(coef * (1.0 - product), axis=1) / gamma
    return SpendTable(
        spends, allocations, immediate, continuation, immediate + gamma * continuation
    )


def _sample_scores(
    surrogate: GFPSurrogate,
    table: SpendTable,
    survival: np.ndarray,
    pmf: np.ndarray,
    alpha: np.ndarray,
    remaining: int,
    gamma: float,
    gains: np.ndarray | None = None,
    future_scale: np.ndarray | None = None,
) -> np.ndarray:
    r"""``Q_d(s)`` of every spend's allocation under every sample, ``(D, S)``.

    ``log prod_i tau_dij(k_si)`` is a sparse one-hot product over the pairs
    ``(s, i)`` with ``k_si > 0``. ``gains`` (value curves ``S_d w_d``) and
    ``future_scale`` (``(D,)`` pooled weights) weight the recruits.
    """
    from scipy import sparse

    D, n, _ = survival.shape
    S = table.spends.size
    alloc = table.allocations
    depth = int(alloc.max()) if alloc.size else 0
    rows, people = np.nonzero(alloc)
    width = depth + 1
    onehot = sparse.csr_matrix(
        (np.ones(rows.size), (rows, people * width + alloc[rows, people])), shape=(S, n * width)
    )
    value = survival if gains is None else gains
    cum = np.concatenate([np.zeros((D, n, 1)), np.cumsum(value[..., :depth], axis=-1)], axis=-1)
    immediate = (onehot @ cum.transpose(1, 2, 0).reshape(n * width, D)).T  # (D, S)
    coef = gamma * surrogate.weights(remaining - table.spends)  # (S, J)
    J = coef.shape[1]
    out = np.empty((D, S))
    step = max(1, 4_000_000 // max(1, n * width * J))
    for lo in range(0, D, step):
        hi = min(D, lo + step)
        tau = backup_tables(survival[lo:hi], pmf[lo:hi], alpha[lo:hi], depth)  # (d, n, width, J)
        logt = np.log(np.maximum(tau, _TINY)).transpose(1, 2, 0, 3).reshape(n * width, -1)
        logu = (onehot @ logt).reshape(S, hi - lo, J).transpose(1, 0, 2)
        later = np.sum(coef * -np.expm1(logu), axis=-1)
        if future_scale is not None:
            later = later * future_scale[lo:hi, None]
        out[lo:hi] = immediate[lo:hi] + later
    return out


def gfp_best(
    surrogate: GFPSurrogate,
    survival: np.ndarray,
    pmf: np.ndarray,
    alpha: np.ndarray,
    caps: np.ndarray,
    offsets: np.ndarray,
    remaining: np.ndarray,
    limit: np.ndarray,
    gamma: float,
    *,
    allocations: bool = False,
    chunk_elements: int = 2_000_000,
) -> tuple[np.ndarray, np.ndarray, list[np.ndarray] | None]:
    r"""``max_s Q`` over every spend for many frontiers at once (the Bellman backup).

    Parameters
    ----------
    surrogate
        Gives ``w``.
    survival, pmf, alpha, caps
        All frontiers' people stacked: ``(N, L)``, ``(N, L + 1)``, ``(N, J)``, ``(N,)``.
    offsets
        ``(P + 1,)`` people of frontier ``p`` are ``offsets[p]:offsets[p+1]``.
    remaining, limit
        ``(P,)`` coupons left and the most this round may spend.
    gamma
        Discount.
    allocations
        Also return each frontier's best allocation.
    chunk_elements
        Memory knob: (rows x people) handled per kernel call.

    Returns
    -------
    values, spends : numpy.ndarray
        ``(P,)`` best ``Q`` and its spend (``0`` for an empty frontier).
    best : list of numpy.ndarray or None
        The allocations, with ``allocations=True``.
    """
    offsets = np.asarray(offsets, dtype=np.int64)
    P = offsets.size - 1
    length = survival.shape[1]
    caps = np.minimum(np.asarray(caps, dtype=np.int64), length)
    sizes = np.diff(offsets)
    owner = np.repeat(np.arange(P), sizes)
    capsum = np.bincount(owner, weights=caps, minlength=P).astype(np.int64)
    smax = np.minimum(
        np.minimum(np.asarray(remaining, dtype=np.int64), np.asarray(limit, dtype=np.int64)), capsum
    )
    values = np.zeros(P)
    spends = np.zeros(P, dtype=np.int64)
    best: list[np.ndarray] | None = (
        [np.zeros(int(n), dtype=np.int64) for n in sizes] if allocations else None
    )
    todo = np.flatnonzero(smax > 0)
    todo = todo[np.argsort(sizes[todo], kind="stable")]
    start = 0
    while start < todo.size:
        stop, cost = start, 0
        while stop < todo.size and (
            stop == start or (cost + (smax[todo[stop]] + 1)) * sizes[todo[stop]] <= chunk_elements
        ):
            cost += int(smax[todo[stop]] + 1)
            stop += 1
        chunk = todo[start:stop]
        start = stop
        depth = max(1, int(min(length, caps[np.isin(owner, chunk)].max(), smax[chunk].max())))
        people = np.concatenate([[0], np.cumsum(sizes[chunk])])
        sel = np.arange(people[-1]) + np.repeat(offsets[chunk] - people[:-1], sizes[chunk])
        counts = smax[chunk] + 1
        local = np.repeat(np.arange(chunk.size), counts)
        first = np.concatenate([[0], np.cumsum(counts)[:-1]])
        spend = np.arange(local.size) - np.repeat(first, counts)
        coef = gamma * surrogate.weights(remaining[chunk][local] - spend)
        units = _build_units(survival[sel], pmf[sel], alpha[sel], caps[sel], people, depth)
        upper = _score_bounds(survival[sel], caps[sel], people, smax[chunk], local, spend, coef)
        with blas_threads(1):
            coupons, immediate, product = _lazy_greedy(units, local, spend, coef, upper)
        scores = immediate + np.sum(coef * (1.0 - product), axis=1)
        # Each state's best spend (the first of equal scores: ties to the smaller spend).
        top = np.flatnonzero(scores == np.maximum.reduceat(scores, first)[local])
        rows = top[np.searchsorted(local[top], np.arange(chunk.size))]
        values[chunk], spends[chunk] = scores[rows], spend[rows]
        if best is not None:
            for q, p in enumerate(chunk):
                n_units = units.offsets[q + 1] - units.offsets[q]
                best[p] = _expand(units, q, coupons[rows[q] : rows[q] + 1, :n_units])[0]
    return values, spends, best


# --------------------------------------------------------------------------- the planner
_FALLBACK: OrderedDict[tuple, GFPSurrogate] = OrderedDict()
_FALLBACK_LOCK = threading.Lock()


def _population_surrogate(
    pooled: np.ndarray, budget: int, gamma: float, n_types: int
) -> GFPSurrogate:
    """Covariate-blind surrogate fitted to the population DP (cached per law, gamma and size).

    Fitted at the next power of two at or above the budget (at least 16), so
    that a decision never depends on which budgets were planned before.
    """
    from planning.gfp_fit import surrogate_from_population_dp

    size = max(16, 1 << max(0, int(budget) - 1).bit_length())
    key = (np.ascontiguousarray(pooled).tobytes(), float(gamma), int(n_types), size)
    with _FALLBACK_LOCK:
        cached = _FALLBACK.get(key)
        if cached is not None:
            _FALLBACK.move_to_end(key)
            return cached
    surrogate = surrogate_from_population_dp(pooled, size, gamma, n_types=n_types)
    with _FALLBACK_LOCK:
        _FALLBACK[key] = surrogate
        while len(_FALLBACK) > 16:
            _FALLBACK.popitem(last=False)
    return surrogate


def _check_budget(budget: Any) -> int:
    if isinstance(budget, bool) or int(budget) != budget or budget < 0:
        raise PlanningError(f"the budget must be a whole number >= 0, got {budget!r}")
    return int(budget)


@dataclass(frozen=True)
class GFPPlanner:
    r"""Generative Frontier Planning: every spend's marginal greedy, scored by the surrogate.

    ``Q(r, F, k) = sum_i sum_{l<=k_i} S_i(l) + gamma sum_j w_j(r - s)(1 - prod_i tau_ij(k_i))``
    (module docstring). The claimed value is ``Q`` of the returned allocation
    (plug-in model), or the ``risk`` of ``Q_d`` over the scored samples;
    :meth:`evaluate` recomputes it directly, not from the greedy's updates.

    Parameters
    ----------
    surrogate : GFPSurrogate or None
        The fitted surrogate (:func:`planning.gfp_fit.fit_surrogate`).
        ``None``: a covariate-blind surrogate fitted to the population DP
        table of the inputs' pooled law (cached), so that GFP runs on any
        inputs with a pooled law; it then differs from ``dp`` only in scoring
        each person's own capacity law exactly.
    gamma : float
        Discount in ``(0, 1]``; should be the surrogate's.
    samples : int
        ``0``: score the plug-in (posterior-mean) model. ``> 0``: score that
        many posterior samples (drawn with the decision's generator) and
        choose the spend by ``risk``.
    risk : str
        ``"mean"``, ``"cvar:ALPHA"`` or ``"worst"`` over scored samples.
    max_per_round : int or None
        Largest spend per round (a field team's cap).
    n_types : int
        ``J`` of the fallback surrogate (``surrogate=None``).
    """

    surrogate: GFPSurrogate | None = None
    gamma: float = 0.9
    samples: int = 0
    risk: str = "mean"
    max_per_round: int | None = None
    n_types: int = 32
    name: ClassVar[str] = "gfp"

    def __post_init__(self) -> None:
        if not 0.0 < float(self.gamma) <= 1.0:
            raise PlanningError(f"gamma must be in (0, 1], got {self.gamma}")
        if int(self.samples) != self.samples or self.samples < 0:
            raise PlanningError(f"samples must be a whole number >= 0, got {self.samples}")
        measure = parse_risk(self.risk)
        if self.samples == 0 and str(measure) != "mean":
            raise PlanningError(
                f"a {self.risk} spend needs posterior samples: set samples (e.g. 32) with risk"
            )
        check_round_cap(self.max_per_round)
        if self.surrogate is not None and not isinstance(self.surrogate, GFPSurrogate):
            raise PlanningError("surrogate must be a GFPSurrogate (planning.gfp_fit.fit_surrogate)")

    # -- pieces shared by decide and evaluate ----------------------------------------------------
    def _surrogate(self, inputs: PlanningInputs, budget: int) -> GFPSurrogate:
        if self.surrogate is not None:
            return self.surrogate
        return _population_surrogate(
            inputs.mean_pooled_pmf, budget, float(self.gamma), self.n_types
        )

    def _scored(self, inputs: PlanningInputs, rng: np.random.Generator) -> np.ndarray | None:
        if self.samples == 0:
            return None
        size = min(int(self.samples), inputs.n_samples)
        return np.sort(rng.choice(inputs.n_samples, size=size, replace=False))

    def _frontier(self, inputs: PlanningInputs, surrogate: GFPSurrogate) -> Any:
        if surrogate.n_fields == 0:
            return inputs.n_people
        if inputs.frontier is None:
            raise PlanningError(
                "this GFP surrogate weighs covariates: the planning inputs need the frontier's covariates"
            )
        return inputs.frontier

    def decide(self, inputs: PlanningInputs, budget: int, rng: np.random.Generator) -> Decision:
        budget = _check_budget(budget)
        surrogate = self._surrogate(inputs, budget)
        chosen = self._scored(inputs, rng)
        frontier = self._frontier(inputs, surrogate)
        gamma = float(self.gamma)
        pmf = inputs.pmf.mean(axis=0)
        alpha = surrogate.alpha(inputs.offspring, frontier)
        gains, scale = self._plugin_weights(inputs)
        table = gfp_spend_table(
            surrogate,
            inputs.mean_survival,
            pmf,
            alpha,
            inputs.caps,
            budget,
            gamma,
            self.max_per_round,
            gains=gains,
            future_scale=scale,
        )
        details: dict[str, Any] = {
            "gamma": gamma,
            "spend_scores": table.scores,
            "immediate": table.immediate,
            "continuation": table.continuation,
            "n_types": surrogate.n_types,
            "surrogate_identity": surrogate.identity,
            "fallback_surrogate": self.surrogate is None,
        }
        if chosen is None:
            best = table.best
            allocation = table.allocations[best].astype(np.int64)
            value = float(
                q_values(
                    inputs.mean_survival,
                    pmf,
                    alpha,
                    allocation,
                    surrogate.weights(budget - allocation.sum()),
                    gamma,
                    gains=gains,
                    future_scale=scale,
                )
            )
            sample_values = np.array([value])
        else:
            alphas = surrogate.alpha(inputs.offspring, frontier, chosen)
            survival, pmfs = inputs.survival[chosen], inputs.pmf[chosen]
            values, scales = self._sample_weights(inputs, chosen)
            scores = _sample_scores(
                surrogate, table, survival, pmfs, alphas, budget, gamma, values, scales
            )
            measure = parse_risk(self.risk)
            risk_scores = np.asarray(measure.evaluate(scores, axis=0))
            best = int(np.argmax(risk_scores))
            allocation = table.allocations[best].astype(np.int64)
            sample_values = q_values(
                survival,
                pmfs,
                alphas,
                allocation,
                surrogate.weights(budget - allocation.sum()),
                gamma,
                gains=values,
                future_scale=1.0 if scales is None else scales,
            )
            value = float(measure.evaluate(sample_values))
            details.update(
                scored_samples=len(chosen),
                risk=str(measure),
                spend_sample_scores=scores,
                spend_risk_scores=risk_scores,
            )
        details["remaining_after"] = budget - int(allocation.sum())
        return Decision(
            allocation, value, "multi", np.asarray(sample_values, dtype=np.float64), details
        )

    def evaluate(
        self, inputs: PlanningInputs, budget: int, allocation: np.ndarray, rng: np.random.Generator
    ) -> float:
        budget = _check_budget(budget)
        allocation = np.asarray(allocation, dtype=np.int64)
        spend = int(allocation.sum())
        if spend > budget:
            raise PlanningError(f"the allocation spends {spend} coupons but the budget is {budget}")
        surrogate = self._surrogate(inputs, budget)
        chosen = self._scored(inputs, rng)
        frontier = self._frontier(inputs, surrogate)
        weights = surrogate.weights(budget - spend)
        if chosen is None:
            alpha = surrogate.alpha(inputs.offspring, frontier)
            gains, scale = self._plugin_weights(inputs)
            return float(
                q_values(
                    inputs.mean_survival,
                    inputs.pmf.mean(axis=0),
                    alpha,
                    allocation,
                    weights,
                    float(self.gamma),
                    gains=gains,
                    future_scale=scale,
                )
            )
        alphas = surrogate.alpha(inputs.offspring, frontier, chosen)
        gains_d, scales = self._sample_weights(inputs, chosen)
        values = q_values(
            inputs.survival[chosen],
            inputs.pmf[chosen],
            alphas,
            allocation,
            weights,
            float(self.gamma),
            gains=gains_d,
            future_scale=1.0 if scales is None else scales,
        )
        return float(parse_risk(self.risk).evaluate(values))

    @staticmethod
    def _plugin_weights(inputs: PlanningInputs) -> tuple[np.ndarray | None, float]:
        """Plug-in value curves ``E_d[S_d w_d]`` and mean pooled weight (``None, 1.0`` without weights)."""
        gains = inputs.mean_values if inputs.weighted else None
        scale = 1.0 if inputs.pooled_weight is None else float(inputs.pooled_weight.mean())
        return gains, scale

    @staticmethod
    def _sample_weights(
        inputs: PlanningInputs, chosen: np.ndarray
    ) -> tuple[np.ndarray | None, np.ndarray | None]:
        """Scored samples' value curves ``S_d w_d`` and pooled weights (``None`` without weights)."""
        gains = inputs.values(chosen) if inputs.weighted else None
        scales = None if inputs.pooled_weight is None else inputs.future_weight(chosen)
        return gains, scales


PLANNERS[GFPPlanner.name] = GFPPlanner
