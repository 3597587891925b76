r"""Which policies an evaluation plays, by name, and how each is built.

A policy is written ``name`` or ``name:value``, where ``name`` is a planner of
:data:`planning.PLANNERS` and ``value`` its main setting:

================== ============================================================
policy             planner and setting
================== ============================================================
``gfp``            GFP with a surrogate trained for each ``gamma`` by fitted
                   value iteration on rollouts of the planning models
                   (``gfp:fallback``: the covariate-blind surrogate of the
                   population DP, no training)
``dp``             population surrogate DP (Pan et al.)
``thompson``       Thompson sampling over the posterior
``fitted_q``       fitted-Q baseline trained for each ``gamma``
``greedy``         exact single-round greedy, the round's limit spent
``greedy_fixed:F`` greedy spending ``F`` of the total budget a round
``greedy_remaining:F`` greedy spending ``F`` of the remaining budget
``constant:K``     ``K`` coupons each (3: standard RDS)
``random``         random coupons
``oracle``         the hindsight upper bound: what a planner that knew every
                   realised capacity of the episode could at most recruit
                   (:func:`planning.simulation.hindsight.hindsight_rounds`;
                   a bound, not a policy)
``robust:RISK``    risk-averse single round (cvxpy; slow)
================== ============================================================

``all`` is the full comparison set (:data:`ALL_POLICIES`). Policies without
a ``gamma`` are played once and scored at every ``gamma``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

from planning.errors import PlanningError

__all__ = ["ALL_POLICIES", "DEFAULT_POLICIES", "PolicySpec", "parse_policies"]

#: The full comparison set of the issue (``--policies all``).
ALL_POLICIES = (
    "gfp",
    "dp",
    "thompson",
    "fitted_q",
    "greedy",
    "greedy_fixed:0.1",
    "greedy_fixed:0.2",
    "greedy_fixed:0.3",
    "greedy_fixed:0.5",
    "greedy_fixed:1.0",
    "greedy_remaining:0.2",
    "constant:2",
    "constant:3",
    "constant:5",
    "constant:10",
    "random",
    "oracle",
)
#: What ``rdsplan evaluate`` plays when no ``--policies`` are given.
DEFAULT_POLICIES = ALL_POLICIES

#: The setting a ``name:value`` sets, and how the value is read.
_VALUE_SETTING = {
    "constant": ("k", int),
    "greedy_fixed": ("fraction", float),
    "greedy_remaining": ("fraction", float),
    "robust": ("risk", str),
    "random": ("max_coupons", int),
}
#: Planners trained per gamma before the episodes (their ``value`` picks the variant).
_TRAINED = {"gfp": "surrogate", "fitted_q": "model"}


@dataclass(frozen=True)
class PolicySpec:
    """One policy of an evaluation.

    Attributes
    ----------
    label : str
        As written (``constant:3``); the ``policy`` coordinate of the results.
    planner : str
        Name in :data:`planning.PLANNERS`.
    settings : dict
        Fixed settings of the planner.
    uses_gamma : bool
        Played once per ``gamma``: the planner has a ``gamma`` setting or is trained per ``gamma``.
    gamma_setting : bool
        The planner has a ``gamma`` setting.
    training : str or None
        ``"gfp"`` or ``"fitted_q"``: trained per ``gamma`` before the episodes.
    hindsight : bool
        Shown the realised capacities.
    """

    label: str
    planner: str
    settings: dict[str, Any] = field(default_factory=dict)
    uses_gamma: bool = False
    gamma_setting: bool = False
    training: str | None = None
    hindsight: bool = False

    def build(self, gamma: float | None = None, **extra: Any) -> Any:
        """The planner with its settings, ``gamma`` (if it takes one) and ``extra``."""
        from planning import make_planner

        settings = dict(self.settings)
        if self.gamma_setting and gamma is not None:
            settings["gamma"] = float(gamma)
        settings.update(extra)
        return make_planner(self.planner, **settings)


def _planner_fields(name: str) -> set[str]:
    import planning.baselines
    import planning.gfp  # noqa: F401  (registers GFP)
    from planning import PLANNERS

    try:
        cls = PLANNERS[name]
    except KeyError:
        raise PlanningError(
            f"unknown policy {name!r}; known: {', '.join(sorted(PLANNERS))} (or 'all')"
        ) from None
    return {f.name for f in fields(cls)}


def _one(text: str) -> PolicySpec:
    name, _, value = text.strip().partition(":")
    name = name.strip()
    value = value.strip()
    names = _planner_fields(name)
    settings: dict[str, Any] = {}
    training = None
    if name in _TRAINED:
        if value not in ("", "fallback"):
            raise PlanningError(f"policy {text!r}: write {name} (trained) or {name}:fallback")
        training = None if value == "fallback" else name
    elif value:
        if name not in _VALUE_SETTING:
            raise PlanningError(f"policy {text!r}: {name} takes no value")
        key, kind = _VALUE_SETTING[name]
        try:
            settings[key] = kind(value)
        except ValueError:
            raise PlanningError(f"policy {text!r}: {value!r} is not a valid {key}") from None
    elif name in ("greedy_fixed", "greedy_remaining"):
        raise PlanningError(f"policy {name} needs a fraction, e.g. {name}:0.2")
    if name == "dp":
        # One table per decision (per-sample tables cost D times more). The episode's
        # round cap reaches the DP's max_per_round through PlannerPolicy.for_settings.
        settings.update(tables="pooled")
    label = name if not value else f"{name}:{value}"
    return PolicySpec(
        label,
        name,
        settings,
        uses_gamma="gamma" in names or training is not None,
        gamma_setting="gamma" in names,
        training=training,
        hindsight=name == "oracle",
    )


def parse_policies(policies: str | Sequence[str] | None) -> list[PolicySpec]:
    """Policy specs from ``"gfp,dp,constant:3"``, a list of such names, ``"all"`` or ``None`` (default set).

    Raises
    ------
    planning.errors.PlanningError
        Naming the policy that is unknown or malformed, or a repeated one.
    """
    if policies is None:
        items: Iterable[str] = DEFAULT_POLICIES
    elif isinstance(policies, str):
        items = [p for p in policies.split(",") if p.strip()]
    else:
        items = list(policies)
    expanded: list[str] = []
    for item in items:
        expanded.extend(ALL_POLICIES if item.strip() == "all" else [item.strip()])
    if not expanded:
        raise PlanningError("--policies names no policy")
    specs = [_one(p) for p in expanded]
    labels = [s.label for s in specs]
    repeated = sorted({lb for lb in labels if labels.count(lb) > 1})
    if repeated:
        raise PlanningError(f"--policies names {', '.join(repeated)} more than once")
    return specs
