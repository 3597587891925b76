r"""Robust single-round allocation over posterior samples (cvxpy MIP).

For posterior sample ``d`` the plan ``k`` yields

.. math:: f_d(k) = \sum_i w_i \sum_{l \le k_i} S_{di}(l).

The robust plan maximises a risk measure ``rho`` (mean, CVaR, worst case;
:mod:`planning.risk`) of ``(f_1(k), ..., f_D(k))``:

.. math:: \max_z\; \rho\big(A z\big) \quad \text{s.t.}\quad
          \sum_{il} z_{il} \le s,\; z_{i,l+1} \le z_{il},\; z_{il} \in \{0, 1\},

with ``k_i = sum_l z_il`` and ``A[d, (i, l)] = w_di S_di(l)``: the weights
``w_di = E[w(X') | x_i]`` under sample ``d`` (priority subgroups,
:mod:`planning.priorities`) may differ by sample, so the risk is taken over
the samples of the *weighted* objective. Variables exist only for
``l <= min(cap_i, L, s)``.

Coverage constraints
--------------------
"At least ``N_c`` recruits from subgroup ``G_c``" enters as

.. math:: \rho\big(G_c z\big) \ge N_c, \qquad
          G_c[d, (i, l)] = P_d(X' \in G_c \mid x_i)\, S_{di}(l),

the same risk measure applied to the per-sample expected recruits in the
subgroup (concave, so the constraint is convex; for CVaR it says that over
the worst ``alpha`` share of samples the subgroup still gets ``N_c`` on
average). Before solving, each constraint alone is checked: the largest
``rho(G_c z)`` any plan with the budget and caps reaches is itself a robust
allocation (of the curves ``P_d(G_c) S_d``); a request above it is refused
with that number (:class:`CoverageInfeasibleError`), as is a set of
constraints that cannot hold together. With coverage the mean risk is solved
by the MIP too (the greedy ignores the constraints), and trimming by
dominance needs ``s`` coupons that beat the coupon in every sample on the
objective (strictly) *and* on every constraint's coefficients: swapping then
loses neither value nor coverage. (Every trimmed coupon keeps ``s`` such
dominators among the kept ones: a trimmed dominator's own dominators dominate
the coupon too, and have larger values.)

Solution strategy
-----------------
1. Mean risk: the objective is linear in ``S`` so the exact greedy on the
   posterior-mean curves is optimal; no solver is called.
2. Trimming: coupon ``(i, l)`` is dropped when no sample gives it value, or
   when at least ``s`` other coupons are worth more than it in *every*
   sample (``min_d A[d, jm] > max_d A[d, il]``): an optimal plan never needs
   it (swap it for an unused dominating coupon). Dropped coupons form a
   suffix of each person's levels, so prefixes stay feasible.
3. The LP relaxation is solved first; it is usually integral or has only a
   handful of fractional ``z``. Integral variables are then fixed and a tiny
   MIP over the fractional ones is solved. Its value is certified against
   the LP bound; if the relative gap exceeds ``mip_rel_gap`` the full MIP is
   solved (with ``time_limit``).
4. Budget left over (coupons of zero value in every sample) is handed out
   by the greedy on the mean curves, which never lowers any ``f_d``.

The price of robustness is the posterior-expected value of the mean-optimal
(greedy) plan minus that of the robust plan, ``>= 0``.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from planning.curves import as_survival_samples
from planning.errors import PlanningError
from planning.greedy import (
    _check_budget,
    _check_caps,
    _check_weights,
    _take_top,
    allocation_values,
    greedy_order,
)
from planning.risk import Mean, RiskMeasure, parse_risk

__all__ = [
    "CoverageConstraint",
    "CoverageInfeasibleError",
    "RobustResult",
    "SolverUnavailableError",
    "robust_allocation",
]

#: MIP-capable solvers tried in this order when none is named.
MIP_SOLVERS = ("HIGHS", "SCIP", "GUROBI", "CPLEX", "MOSEK", "CBC", "GLPK_MI")


class SolverUnavailableError(RuntimeError):
    """The optimisation solver is missing or failed; the message says what to do."""


class CoverageInfeasibleError(PlanningError):
    """No plan within the budget and caps meets the coverage constraints; the message says how far."""


@dataclass(frozen=True)
class CoverageConstraint:
    """At least ``minimum`` recruits from a subgroup, under the planner's risk measure.

    Attributes
    ----------
    label : str
        The subgroup (``SEX=F``).
    probabilities : numpy.ndarray
        ``(sample, person)`` or ``(person,)``: ``P(X' in G | x_i)`` per sample.
    minimum : float
        Expected recruits in the subgroup this round.
    """

    label: str
    probabilities: np.ndarray
    minimum: float


@dataclass
class RobustResult:
    """Outcome of :func:`robust_allocation`.

    Attributes
    ----------
    allocation
        ``(person,)`` int coupons of the robust plan.
    objective
        Risk measure of the per-sample values of ``allocation``.
    sample_values
        ``(sample,)`` per-sample value ``f_d(allocation)``.
    mean_allocation, mean_value
        The mean-optimal (greedy on posterior-mean curves) plan and its
        posterior-expected value.
    price_of_robustness
        ``mean_value - mean(sample_values)``, ``>= 0``: expected recruits
        (weighted, if weights were given) given up for robustness (and for
        the coverage constraints, if any).
    status
        ``"optimal"`` (exact greedy or MIP proven within ``mip_rel_gap``),
        ``"time_limit"`` (best plan found in time, see ``gap``).
    gap
        Relative gap between the LP/MIP bound and ``objective`` (0 if exact).
    risk
        Text of the risk measure.
    solve_seconds
        Wall time spent in the solver.
    coverage
        Per coverage constraint: ``subgroup``, ``minimum``, ``achieved`` (its
        risk measure at the plan), ``mean`` and ``attainable`` (the most any
        plan reaches).
    """

    allocation: np.ndarray
    objective: float
    sample_values: np.ndarray
    mean_allocation: np.ndarray
    mean_value: float
    price_of_robustness: float
    status: str
    risk: str
    gap: float = 0.0
    solve_seconds: float = 0.0
    info: dict[str, Any] = field(default_factory=dict)
    coverage: list[dict[str, Any]] = field(default_factory=list)


_BANNER_DONE = False


def _quiet_highs_banner() -> None:
    """Construct the process's first HiGHS instance with standard output sent to the null device.

    HiGHS prints its copyright banner on standard output once per process,
    from C++, which would corrupt ``rdsplan plan --json``; later instances
    print nothing.
    """
    global _BANNER_DONE
    if _BANNER_DONE:
        return
    _BANNER_DONE = True
    try:
        import highspy
    except ImportError:  # pragma: no cover - cvxpy may drive HiGHS through scipy
        return
    import os
    import sys

    sys.stdout.flush()
    try:
        saved = os.dup(1)
    except OSError:  # pragma: no cover - no file descriptor 1
        highspy.Highs()
        return
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 1)
        highspy.Highs()
    finally:
        os.dup2(saved, 1)
        os.close(saved)


def _pick_solver(solver: str | None) -> str:
    try:
        import cvxpy as cp
    except ImportError as exc:  # pragma: no cover - cvxpy is a dependency
        raise SolverUnavailableError(
            "robust planning needs cvxpy; install it with `pip install cvxpy highspy`"
        ) from exc
    installed = set(cp.installed_solvers())
    if solver is not None:
        name = solver.upper()
        if name not in installed:
            raise SolverUnavailableError(
                f"solver {solver!r} is not installed (installed: {', '.join(sorted(installed))}); "
                "install highspy (`pip install highspy`) or pass solver=None"
            )
        if name == "HIGHS":
            _quiet_highs_banner()
        return name
    for name in MIP_SOLVERS:
        if name in installed:
            if name == "HIGHS":
                _quiet_highs_banner()
            return name
    raise SolverUnavailableError(
        "no mixed-integer solver is available to cvxpy; install one with `pip install highspy`"
    )


def _solve(
    problem: Any, solver: str, time_limit: float | None, gap: float, allow_infeasible: bool = False
) -> str:
    """Solve a cvxpy problem; return its status or raise SolverUnavailableError.

    With ``allow_infeasible`` an infeasible program returns ``"infeasible"``.
    """
    import cvxpy as cp

    options: dict[str, Any] = {}
    if solver == "HIGHS":
        if time_limit is not None:
            options["time_limit"] = float(time_limit)
        options["mip_rel_gap"] = float(gap)
    try:
        with warnings.catch_warnings(), np.errstate(invalid="ignore"):
            warnings.simplefilter("ignore")
            problem.solve(solver=solver, **options)
    except cp.error.SolverError as exc:
        raise SolverUnavailableError(
            f"the {solver} solver failed on the robust allocation program ({exc}); "
            "try risk='mean' (exact greedy) or another solver"
        ) from None
    status = str(problem.status)
    if allow_infeasible and status in {"infeasible", "infeasible_inaccurate"}:
        return "infeasible"
    if status not in {"optimal", "optimal_inaccurate", "user_limit"}:
        raise SolverUnavailableError(
            f"the {solver} solver returned status {status!r} for the robust allocation "
            "program; try risk='mean' (exact greedy), a larger time_limit or another solver"
        )
    return status


def _fill(
    curves_mean: np.ndarray,
    allocation: np.ndarray,
    budget: int,
    caps: np.ndarray,
    weights: np.ndarray | None,
) -> np.ndarray:
    """Hand out unspent budget greedily on the mean curves, above the current plan."""
    left = int(min(budget, int(caps.sum())) - allocation.sum())
    if left <= 0:
        return allocation
    n, length = curves_mean.shape
    values = curves_mean if weights is None else curves_mean * weights[:, None]
    levels = np.arange(length)[None, :]
    free = (levels >= allocation[:, None]) & (levels < caps[:, None])
    masked = np.where(free, values, -1.0)
    chosen = _take_top(masked, left)
    extra = np.bincount(chosen // length, minlength=n)
    return allocation + extra


def _split_weights(
    weights: Any, n_samples: int, n: int
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """``(per-person weights, per-sample weights)``: one of them (or both) ``None``.

    ``(person,)`` weights keep the historical path (weights applied to the
    mean curves); ``(sample, person)`` (or ``(1, person)``) weights are
    multiplied into the curves sample by sample.
    """
    if weights is None:
        return None, None
    arr = np.asarray(weights, dtype=np.float64)
    if arr.ndim <= 1:
        return _check_weights(arr, n), None
    if arr.ndim != 2 or arr.shape[1] != n or arr.shape[0] not in (1, n_samples):
        raise ValueError(
            f"weights must be (person,), (1, person) or (sample, person) = ({n_samples}, {n}); "
            f"got {arr.shape}"
        )
    if not np.all(np.isfinite(arr)) or np.any(arr < 0):
        raise ValueError("weights must be finite and non-negative")
    return None, np.broadcast_to(arr, (n_samples, n))


def robust_allocation(
    survival_samples: Any,
    budget: int,
    risk: str | RiskMeasure = "cvar:0.1",
    caps: Any = None,
    weights: Any = None,
    solver: str | None = None,
    time_limit: float | None = 60.0,
    mip_rel_gap: float = 1e-3,
    coverage: Any = (),
) -> RobustResult:
    r"""Coupon allocation maximising a risk measure over posterior samples.

    Solves the mixed-integer program of the module docstring with cvxpy.

    Parameters
    ----------
    survival_samples
        ``(sample, person, L)`` survival curves (numpy or DataArray with dims
        ``sample``, ``person``, ``ell``); a 2-D array is one sample.
    budget
        Coupons to hand out. As in :func:`planning.greedy_allocation`, budget
        beyond the total capacity is left unspent.
    risk
        A :mod:`planning.risk` measure or its text: ``"mean"``,
        ``"cvar:0.1"``, ``"worst"``. ``"mean"`` uses the exact greedy.
    caps
        Per-person caps, as in the greedy.
    weights
        Recruit weights: ``(person,)`` as in the greedy, or ``(sample, person)``
        (``E[w(X') | x_i]`` under each posterior sample): the risk is then
        taken over the samples of ``sum_i w_di sum_{l<=k_i} S_di(l)``.
    solver
        cvxpy solver name; default: HiGHS if installed, else another
        MIP-capable solver.
    time_limit
        Seconds allowed for the full MIP (only reached if the LP-based
        rounding is not certified optimal). The best plan found is returned
        with ``status="time_limit"``.
    mip_rel_gap
        Relative optimality gap accepted as optimal: 0.1% of the objective by
        default, far inside the Monte Carlo error of a few hundred posterior
        samples. Use 0 to insist on proven optimality (may take much longer).
    coverage
        :class:`CoverageConstraint` s: at least ``minimum`` recruits from each
        subgroup under the same risk measure (module docstring).

    Returns
    -------
    RobustResult

    Raises
    ------
    SolverUnavailableError
        No MIP solver, or the solver failed; the message says what to try.
    CoverageInfeasibleError
        No plan meets the coverage constraints (the message gives what each
        can reach).

    Examples
    --------
    >>> import numpy as np
    >>> from planning import robust_allocation
    >>> S = np.array([[[0.9, 0.2], [0.5, 0.5]], [[0.1, 0.0], [0.5, 0.5]]])
    >>> res = robust_allocation(S, 2, "worst")
    >>> res.allocation.tolist(), round(res.objective, 3)
    ([0, 2], 1.0)
    """
    budget = _check_budget(budget)
    measure = parse_risk(risk)
    curves = as_survival_samples(survival_samples, "survival_samples")
    n_samples, n, length = curves.shape
    caps_arr = _check_caps(caps, n, length)
    w, w_samples = _split_weights(weights, n_samples, n)
    # value curves A[d, i, l] / w_i: the weighted objective with per-sample weights
    samples = curves if w_samples is None else curves * w_samples[..., None]
    mean_curves = samples.mean(axis=0)
    if not 0.0 <= mip_rel_gap < 1.0:
        raise ValueError(f"mip_rel_gap must be in [0, 1); got {mip_rel_gap}")
    constraints = _coverage_curves(coverage, curves)

    def values_of(allocation: np.ndarray) -> np.ndarray:
        per_person = allocation_values(samples, allocation)  # (sample, person)
        if w is not None:
            per_person = per_person * w
        return per_person.sum(axis=1)

    person, _, _ = greedy_order(mean_curves, budget, caps_arr, w)
    mean_alloc = np.bincount(person, minlength=n).astype(np.int64)
    mean_values = values_of(mean_alloc)
    mean_value = float(mean_values.mean())
    spend = int(min(budget, int(caps_arr.sum())))
    attainable = [
        robust_allocation(
            g,
            spend,
            measure,
            caps_arr,
            solver=solver,
            time_limit=time_limit,
            mip_rel_gap=mip_rel_gap,
        ).objective
        for _, g, _ in constraints
    ]

    def result(alloc: np.ndarray, status: str, gap: float, seconds: float, **info: Any):
        vals = values_of(alloc)
        price = max(0.0, mean_value - float(vals.mean()))
        reached = []
        for (label, g, minimum), top in zip(constraints, attainable, strict=True):
            per_sample = allocation_values(g, alloc).sum(axis=1)
            reached.append(
                {
                    "subgroup": label,
                    "minimum": minimum,
                    "achieved": float(measure.evaluate(per_sample)),
                    "mean": float(per_sample.mean()),
                    "attainable": float(top),
                }
            )
        return RobustResult(
            allocation=alloc.astype(np.int64),
            objective=float(measure.evaluate(vals)),
            sample_values=vals,
            mean_allocation=mean_alloc,
            mean_value=mean_value,
            price_of_robustness=price,
            status=status,
            risk=str(measure),
            gap=gap,
            solve_seconds=seconds,
            info=dict(info),
            coverage=reached,
        )

    short = [
        f"{label}: at most {top:.2f} (asked {minimum:g})"
        for (label, _, minimum), top in zip(constraints, attainable, strict=True)
        if top < minimum * (1.0 - mip_rel_gap) - 1e-9
    ]
    if short:
        raise CoverageInfeasibleError(
            f"the coverage cannot be met with {spend} coupon(s) and these caps (expected recruits "
            f"under {measure}): "
            + "; ".join(short)
            + ". Lower the coverage, raise the budget or the coupons per person"
        )
    if not constraints and (isinstance(measure, Mean) or spend == 0 or n_samples == 1):
        return result(mean_alloc, "optimal", 0.0, 0.0, method="greedy")
    if spend == 0:  # every minimum is 0 here
        return result(np.zeros(n, dtype=np.int64), "optimal", 0.0, 0.0, method="nothing to spend")

    solver_name = _pick_solver(solver)
    alloc, status, gap, seconds, info = _solve_mip(
        samples, w, caps_arr, spend, measure, solver_name, time_limit, mip_rel_gap, constraints
    )
    alloc = _fill(mean_curves, alloc, spend, caps_arr, w)
    return result(alloc, status, gap, seconds, **info)


def _coverage_curves(coverage: Any, curves: np.ndarray) -> list[tuple[str, np.ndarray, float]]:
    """``(label, P_d(G) S_d (sample, person, L), minimum)`` per constraint."""
    out = []
    n_samples, n, _ = curves.shape
    for item in coverage or ():
        if not isinstance(item, CoverageConstraint):
            raise TypeError(f"coverage takes CoverageConstraint objects, got {type(item).__name__}")
        probs = np.asarray(item.probabilities, dtype=np.float64)
        if probs.ndim == 1:
            probs = probs[None]
        if probs.shape not in ((1, n), (n_samples, n)) or np.any(probs < 0) or np.any(probs > 1):
            raise ValueError(
                f"coverage {item.label}: probabilities must be in [0, 1] with shape ({n},) or "
                f"({n_samples}, {n}); got {probs.shape}"
            )
        minimum = float(item.minimum)
        if not np.isfinite(minimum) or minimum < 0:
            raise ValueError(f"coverage {item.label}: the minimum must be a number >= 0")
        out.append((item.label, curves * probs[..., None], minimum))
    return out


def _dominated(
    allowed: np.ndarray,
    low: np.ndarray,
    high: np.ndarray,
    cover_low: list[np.ndarray],
    cover_high: list[np.ndarray],
    spend: int,
    chunk_pairs: int = 4_000_000,
) -> np.ndarray:
    """``(person, width)`` coupons with ``spend`` allowed coupons better in every sample and criterion.

    Better: objective ``low > high`` (strict, so no two coupons trim each
    other) and every constraint's ``low >= high``. Only coupons below the
    ``spend``-th largest objective ``low`` can qualify.
    """
    out = np.zeros(allowed.shape, dtype=bool)
    pool = np.flatnonzero(allowed.ravel())
    if pool.size <= spend:
        return out
    lows = low.ravel()[pool]
    threshold = np.partition(lows, lows.size - spend)[lows.size - spend]
    cand = pool[high.ravel()[pool] < threshold]
    if cand.size == 0:
        return out
    c_low = [c.ravel()[pool] for c in cover_low]
    step = max(1, chunk_pairs // pool.size)
    flat = out.ravel()
    for lo in range(0, cand.size, step):
        part = cand[lo : lo + step]
        better = lows[None, :] > high.ravel()[part][:, None]
        for cl, ch in zip(c_low, cover_high, strict=True):
            better &= cl[None, :] >= ch.ravel()[part][:, None]
        flat[part] = better.sum(axis=1) >= spend
    return out


def _solve_mip(
    samples: np.ndarray,
    weights: np.ndarray | None,
    caps: np.ndarray,
    spend: int,
    measure: RiskMeasure,
    solver: str,
    time_limit: float | None,
    mip_rel_gap: float,
    constraints: list[tuple[str, np.ndarray, float]] = (),
) -> tuple[np.ndarray, str, float, float, dict[str, Any]]:
    import cvxpy as cp
    import scipy.sparse as sp

    n_samples, n, length = samples.shape
    width = int(min(length, spend, caps.max()))
    values = samples[:, :, :width]
    values = np.minimum.accumulate(values, axis=2)  # exact monotonicity
    if weights is not None:
        values = values * weights[None, :, None]
    high = values.max(axis=0)
    low = values.min(axis=0)
    allowed = np.arange(width)[None, :] < caps[:, None]
    covers = [np.minimum.accumulate(g[:, :, :width], axis=2) for _, g, _ in constraints]
    if covers:
        # dominance in value and in every subgroup's coefficients (module docstring)
        reach = np.max([c.max(axis=0) for c in covers], axis=0)
        keep = allowed & ((high > 1e-15) | (reach > 1e-15))
        keep &= ~_dominated(
            allowed,
            low,
            high,
            [c.min(axis=0) for c in covers],
            [c.max(axis=0) for c in covers],
            spend,
        )
    else:
        # Dominance trimming (module docstring, step 2).
        low_allowed = np.where(allowed, low, -np.inf).ravel()
        threshold = np.partition(low_allowed, low_allowed.size - spend)[low_allowed.size - spend]
        keep = allowed & (high > 1e-15) & (high >= threshold)
    flat = np.flatnonzero(keep.ravel())
    n_vars = flat.size
    info: dict[str, Any] = {"method": "lp-integral", "variables": int(n_vars), "solver": solver}
    if n_vars == 0:
        return np.zeros(n, dtype=np.int64), "optimal", 0.0, 0.0, info
    owner = flat // width
    coef = values.reshape(n_samples, -1)[:, flat]  # (sample, vars)
    cover_coef = [c.reshape(n_samples, -1)[:, flat] for c in covers]
    minimums = [minimum for _, _, minimum in constraints]
    # z_{i,l+1} <= z_{i,l}: kept levels of a person are consecutive from l=1.
    link = np.flatnonzero(owner[1:] == owner[:-1])
    rows = np.arange(link.size)
    mono = sp.csr_matrix(
        (
            np.r_[np.ones(link.size), -np.ones(link.size)],
            (np.r_[rows, rows], np.r_[link + 1, link]),
        ),
        shape=(link.size, n_vars),
    )

    def build(z: Any, extra: list[Any]) -> Any:
        constraints_ = [cp.sum(z) <= spend, *extra]
        if link.size:
            constraints_.append(mono @ z <= 0)
        constraints_ += [
            measure.expression(g @ z) >= m for g, m in zip(cover_coef, minimums, strict=True)
        ]
        return cp.Problem(cp.Maximize(measure.expression(coef @ z)), constraints_)

    def infeasible() -> CoverageInfeasibleError:
        labels = ", ".join(f"{label} >= {minimum:g}" for label, _, minimum in constraints)
        return CoverageInfeasibleError(
            f"the coverage constraints {labels} cannot all be met together with {spend} coupon(s) "
            f"and these caps (each alone can); lower one of them or raise the budget"
        )

    # only coverage constraints can make the programs infeasible
    maybe: dict[str, Any] = {"allow_infeasible": True} if covers else {}
    started = time.perf_counter()
    # LP relaxation: a bound and usually an (almost) integral point.
    z_lp = cp.Variable(n_vars)
    lp = build(z_lp, [z_lp >= 0, z_lp <= 1])
    if _solve(lp, solver, time_limit, mip_rel_gap, **maybe) == "infeasible":
        raise infeasible()
    bound = float(lp.value)
    z_val = np.clip(np.asarray(z_lp.value, dtype=np.float64), 0.0, 1.0)
    fractional = (z_val > 1e-7) & (z_val < 1 - 1e-7)
    info["lp_fractional"] = int(fractional.sum())

    def to_alloc(z: np.ndarray) -> np.ndarray:
        z = np.round(z).astype(np.int64)
        return np.bincount(owner, weights=z, minlength=n).astype(np.int64)

    def objective_of(z: np.ndarray) -> float:
        return float(measure.evaluate(coef @ np.round(z)))

    def rel_gap(value: float) -> float:
        return max(0.0, bound - value) / max(abs(bound), 1e-12)

    def feasible(z: Any) -> bool:
        if z is None:
            return False
        z = np.asarray(z, dtype=np.float64)
        if z.shape != (n_vars,) or not np.all(np.isfinite(z)):
            return False
        zr = np.round(z)
        ok = np.all(np.abs(z - zr) < 1e-6) and zr.sum() <= spend
        ok = ok and all(
            float(measure.evaluate(g @ zr)) >= m - 1e-6 * max(1.0, m)
            for g, m in zip(cover_coef, minimums, strict=True)
        )
        return bool(ok and (not link.size or np.all(zr[link + 1] <= zr[link])))

    incumbent: np.ndarray | None = None
    if not fractional.any():
        incumbent = z_val
    else:
        # Fix the integral LP variables, branch only on the fractional ones.
        ones = np.flatnonzero(z_val >= 1 - 1e-7)
        zeros = np.flatnonzero(z_val <= 1e-7)
        z_fix = cp.Variable(n_vars, boolean=True)
        extra = []
        if ones.size:
            extra.append(z_fix[ones] == 1)
        if zeros.size:
            extra.append(z_fix[zeros] == 0)
        fixed = _solve(build(z_fix, extra), solver, time_limit, 0.0, **maybe)
        if fixed != "infeasible" and feasible(z_fix.value):
            incumbent = np.asarray(z_fix.value, dtype=np.float64)
            info["method"] = "lp+fixed-mip"
    if incumbent is not None and feasible(incumbent):
        value = objective_of(incumbent)
        if rel_gap(value) <= mip_rel_gap + 1e-9:
            return (
                to_alloc(incumbent),
                "optimal",
                rel_gap(value),
                time.perf_counter() - started,
                info,
            )
    else:
        incumbent = None
    # Full MIP.
    z_mip = cp.Variable(n_vars, boolean=True)
    status = _solve(build(z_mip, []), solver, time_limit, mip_rel_gap, **maybe)
    if status == "infeasible":
        raise infeasible()
    info["method"] = "full-mip"
    candidates = [z for z in (z_mip.value, incumbent) if feasible(z)]
    if not candidates:
        raise SolverUnavailableError(
            f"the {solver} solver found no feasible plan within the time limit "
            f"({time_limit} s); raise time_limit or use risk='mean'"
        )
    best = max(candidates, key=objective_of)
    final = "optimal" if status == "optimal" else "time_limit"
    return to_alloc(best), final, rel_gap(objective_of(best)), time.perf_counter() - started, info
