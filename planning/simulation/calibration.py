"""Published ICPSR 22140 homophily figures that calibrate the simulated worlds.

The package ships ``data/icpsr22140_homophily.json``, a verbatim copy of the
published summary figures (no raw data): for each of 17 categorical fields of
the HIV Transmission Network Metastudy dyad file, the number of levels ``K``,
the recruiter-recruit match rate and the inheritance probability

.. math::

    \\rho = \\frac{m - 1/K}{1 - 1/K},

i.e. the ``rho`` of ``P(child = c | parent = p) = rho 1[c = p] + (1 - rho) / K``.
It also holds the tunnel-vision scenario (boom-bust referral types on the
``LOCAL`` field) with the setting in which its budget binds
(:class:`BindingSetting`), and the setting of Pan et al. (2026).

Examples
--------
>>> from planning.simulation.calibration import load_calibration
>>> cal = load_calibration()
>>> len(cal.fields), cal.field("LOCAL").levels
(17, 4)
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from types import MappingProxyType
from typing import Any

__all__ = [
    "BindingSetting",
    "Calibration",
    "FieldCalibration",
    "TunnelVisionCalibration",
    "load_calibration",
]

_RESOURCE = "icpsr22140_homophily.json"


@dataclass(frozen=True)
class FieldCalibration:
    """Published homophily figures of one categorical field.

    Attributes
    ----------
    name : str
        Field name in the ICPSR dyad file (``"LOCAL"``, ``"RACE"``, ...).
    levels : int
        Number of levels ``K``.
    valid_pairs : int
        Recruiter-recruit pairs with both values observed.
    match_rate : float or None
        Observed ``P(recruit level == recruiter level)``; ``None`` when no pair
        was valid (``ORIENT``).
    inherit_prob : float
        ``rho`` in ``[0, 1]``.
    """

    name: str
    levels: int
    valid_pairs: int
    match_rate: float | None
    inherit_prob: float


@dataclass(frozen=True)
class BindingSetting:
    """The tunnel-vision setting in which the coupon budget binds (GFP authors' example).

    With the file's default rates type ``B`` is subcritical and every lineage
    dies out before the budget is spent, so no planner can show anything;
    here ``B`` is supercritical (rate 2) and a policy that keeps the ``B``
    lineage alive can use the whole budget.

    Attributes
    ----------
    poisson_rate_by_type : Mapping[str, float]
        Poisson rate of each type (``A`` 5, ``B`` 2, ``C`` 0.01).
    budget : int
        Coupons of an episode (100).
    initial_frontier : int
        People of the first frontier (10): half type ``A``, half type ``B``.
    max_coupons_per_round : int
        Most coupons handed out in one round (10).
    seed_type_fractions : Mapping[str, float]
        Type law of new seeds (``A`` 0.45, ``B`` 0.45, ``C`` 0.1).
    source : str
        Where the setting comes from.
    """

    poisson_rate_by_type: MappingProxyType
    budget: int
    initial_frontier: int
    max_coupons_per_round: int
    seed_type_fractions: MappingProxyType
    source: str


@dataclass(frozen=True)
class TunnelVisionCalibration:
    """The boom-bust referral-type scenario of the calibration file.

    Attributes
    ----------
    type_field : str
        Field that carries the referral type (``"LOCAL"``).
    poisson_rate_by_type : Mapping[str, float]
        Poisson referral-capacity rate of each type (``A``, ``B``, ``C``).
    offspring_type : Mapping[str, str]
        Type a recruit of each parent type takes with probability
        ``p_follow_transition``.
    p_follow_transition : float
        Probability of following the type rule; otherwise the child's type
        field is uniform over its levels.
    note : str
        Free text from the file.
    binding : BindingSetting or None
        The setting in which the budget binds (``binding_setting``), the
        ``tunnel`` scenario's default.
    """

    type_field: str
    poisson_rate_by_type: MappingProxyType
    offspring_type: MappingProxyType
    p_follow_transition: float
    note: str
    binding: BindingSetting | None = None


@dataclass(frozen=True)
class Calibration:
    """Everything in the shipped calibration file.

    Attributes
    ----------
    source : str
        Bibliographic source of the figures.
    copied_from : str
        Where the package copy comes from.
    definition : str
        How ``match_rate`` and ``inherit_prob`` are defined.
    fields : tuple of FieldCalibration
        The 17 categorical fields, in file order.
    tunnel_vision : TunnelVisionCalibration
        The tunnel-vision scenario.
    raw : Mapping[str, Any]
        The parsed JSON (read-only view), including the Pan et al. setting.
    """

    source: str
    copied_from: str
    definition: str
    fields: tuple[FieldCalibration, ...]
    tunnel_vision: TunnelVisionCalibration
    raw: MappingProxyType

    def field(self, name: str) -> FieldCalibration:
        """Return the figures of field ``name``.

        Raises
        ------
        KeyError
            If no field has that name; the message lists the known fields.
        """
        for entry in self.fields:
            if entry.name == name:
                return entry
        known = ", ".join(f.name for f in self.fields)
        raise KeyError(f"no calibrated field named {name!r}; known fields: {known}")

    @property
    def field_names(self) -> tuple[str, ...]:
        """Names of the calibrated fields, in file order."""
        return tuple(f.name for f in self.fields)


def _parse(raw: dict[str, Any]) -> Calibration:
    fields = tuple(
        FieldCalibration(
            name=str(f["name"]),
            levels=int(f["levels"]),
            valid_pairs=int(f["valid_pairs"]),
            match_rate=None if f["match_rate"] is None else float(f["match_rate"]),
            inherit_prob=float(f["inherit_prob"]),
        )
        for f in raw["fields"]
    )
    tv = raw["tunnel_vision_scenario"]
    binding = None
    if "binding_setting" in tv:
        bs = tv["binding_setting"]
        binding = BindingSetting(
            poisson_rate_by_type=MappingProxyType(
                {str(k): float(v) for k, v in bs["poisson_rate_by_type"].items()}
            ),
            budget=int(bs["budget"]),
            initial_frontier=int(bs["initial_frontier"]),
            max_coupons_per_round=int(bs["max_coupons_per_round"]),
            seed_type_fractions=MappingProxyType(
                {str(k): float(v) for k, v in bs["seed_pool_type_fractions"].items()}
            ),
            source=str(bs.get("source", "")),
        )
    tunnel = TunnelVisionCalibration(
        type_field="LOCAL",
        poisson_rate_by_type=MappingProxyType(
            {str(k): float(v) for k, v in tv["poisson_rate_by_type"].items()}
        ),
        offspring_type=MappingProxyType({str(k): str(v) for k, v in tv["offspring_type"].items()}),
        p_follow_transition=float(tv["p_follow_transition"]),
        note=str(tv.get("note", "")) + " " + str(tv.get("otherwise", "")),
        binding=binding,
    )
    return Calibration(
        source=str(raw["source"]),
        copied_from=str(raw.get("copied_from", "")),
        definition=str(raw["definition"]),
        fields=fields,
        tunnel_vision=tunnel,
        raw=MappingProxyType(raw),
    )


@lru_cache(maxsize=1)
def load_calibration() -> Calibration:
    """Load the ICPSR 22140 homophily figures shipped with the package.

    Returns
    -------
    Calibration
        The parsed, read-only figures (cached: every call returns the same
        object).
    """
    text = (
        resources.files("planning.simulation")
        .joinpath("data", _RESOURCE)
        .read_text(encoding="utf-8")
    )
    return _parse(json.loads(text))
