"""Documented thresholds behind every diagnostic verdict.

=======================  ========  ========  =============================================
threshold                warn      fail      applied to
=======================  ========  ========  =============================================
``rhat``                 > 1.01    > 1.05    largest rank-normalised split R-hat
``ess``                  < 400     < 100     smallest bulk and smallest tail ESS
``divergences``          > 0       > 1 %     divergent transitions (share of all draws)
``bfmi``                 < 0.3               energy BFMI of any chain
``treedepth``            > 1 %               share of draws that hit the maximum tree depth
``pareto_k``             > 0.7               any PSIS-LOO Pareto shape
``pit_pvalue``           < 0.001             KS test of the randomised PIT against uniform
``ppc_outside``          > 10 %              share of (coupon level, count) cells whose
                                             observed count is outside the 99 % predictive
                                             interval
=======================  ========  ========  =============================================

The verdict of a section is its worst check, the overall verdict the worst
section: ``ok`` < ``warn`` < ``fail``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["Thresholds"]


@dataclass(frozen=True)
class Thresholds:
    """Warn/fail limits of the diagnostics (see the module docstring)."""

    rhat_warn: float = 1.01
    rhat_fail: float = 1.05
    ess_warn: float = 400.0
    ess_fail: float = 100.0
    divergences_warn: int = 0
    divergences_fail_share: float = 0.01
    bfmi_warn: float = 0.3
    treedepth_warn_share: float = 0.01
    pareto_k_warn: float = 0.7
    pit_pvalue_warn: float = 0.001
    ppc_interval: float = 0.99
    ppc_outside_warn_share: float = 0.10

    def to_dict(self) -> dict[str, Any]:
        """The thresholds as a JSON-able dict."""
        return asdict(self)

    @classmethod
    def with_overrides(cls, overrides: dict[str, Any] | None) -> Thresholds:
        """Defaults with some values replaced; unknown names raise ``ValueError``."""
        overrides = dict(overrides or {})
        unknown = sorted(set(overrides) - set(cls.__dataclass_fields__))
        if unknown:
            raise ValueError(f"unknown threshold(s) {', '.join(unknown)}")
        return cls(**overrides)
