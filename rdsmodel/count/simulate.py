r"""Simulate recruitment studies from the count model (for tests, calibration and benchmarks).

A study grows wave by wave from seeds: every respondent who receives ``k``
coupons has a capacity :math:`C` drawn from the family with
:math:`\log\mu = b_0 + \sum_f \text{effect}_f(x_f) + u_g` and brings
:math:`\min(C, k)` recruits, who inherit the group and draw their own
covariates. Once ``n_fit`` respondents hold coupons, the rest of the last
wave and all of their recruits form the frontier (no coupons yet). With
``open_last_wave=True`` the last wave given coupons was interviewed just
before the cut-off: their windows are open and only part of their recruits
(each with probability ``arrived``) have come in so far.

The result is a canonical field table (feed it to
:meth:`rdsmodel.data.RecruitmentData.from_frame`) plus the true parameters.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from rdsmodel.count.families import get_family, random_capacity

__all__ = ["SimulatedStudy", "simulate_study"]


@dataclass
class SimulatedStudy:
    """A simulated field table and the truth behind it.

    Attributes
    ----------
    frame : pandas.DataFrame
        Canonical columns ``id, recruiter_id, coupons_issued, group`` (if
        groups), covariates, and ``interview_time`` with open windows.
    truth : dict
        ``b0`` (log mean at reference levels and numeric 0), ``effects``
        (``{"field[level]": log rate ratio vs the first level, "numeric": slope}``),
        ``sigma_u``, ``u`` (per group), ``phi``, ``psi``.
    options : dict
        Keyword arguments for ``RecruitmentData.from_frame`` (group column,
        coupon window, cut-off).
    """

    frame: pd.DataFrame
    truth: dict[str, Any]
    options: dict[str, Any] = field(default_factory=dict)

    def data(self):
        """The study as :class:`rdsmodel.data.RecruitmentData`."""
        from rdsmodel.data import RecruitmentData

        return RecruitmentData.from_frame(self.frame, **self.options)


def simulate_study(
    n_fit: int,
    *,
    family: str = "nb",
    b0: float = 0.3,
    categorical: Mapping[str, Sequence[float]] | None = None,
    level_probs: Mapping[str, Sequence[float]] | None = None,
    numeric: Mapping[str, float] | None = None,
    n_groups: int = 20,
    sigma_u: float = 0.3,
    phi: float = 2.0,
    psi: float = 0.2,
    coupons: Sequence[int] = (2, 3),
    seeds: int | None = None,
    open_last_wave: bool = False,
    arrived: float = 0.5,
    seed: int = 0,
) -> SimulatedStudy:
    """Simulate a recruitment study with ``n_fit`` respondents holding coupons.

    Parameters
    ----------
    n_fit : int
        Respondents given coupons.
    family : str
        Capacity family.
    b0 : float
        Log mean capacity at the first level of every categorical covariate,
        numeric covariates at 0, group effect 0.
    categorical : mapping, optional
        ``{name: [effect of level 0 (must be 0), effect of level 1, ...]}``;
        levels are named ``"L0", "L1", ...``.
    level_probs : mapping, optional
        ``{name: probabilities of the levels}`` (default decreasing, so level
        ``L0`` is the most frequent and becomes the model's reference).
    numeric : mapping, optional
        ``{name: slope}`` for standard-normal numeric covariates.
    n_groups : int
        Groups (0 for none).
    sigma_u : float
        Standard deviation of group effects.
    phi, psi : float
        Dispersion and zero probability (used by the families that have them).
    coupons : sequence of int
        Coupon levels, drawn uniformly per respondent.
    seeds : int, optional
        Number of seeds (default ``max(5, n_fit // 5)``).
    open_last_wave : bool
        Leave the last wave's coupon windows open (see module docstring).
    arrived : float
        With open windows, probability that each recruit has arrived by the cut-off.
    seed : int
        Random seed.

    Returns
    -------
    SimulatedStudy
    """
    fam = get_family(family)
    rng = np.random.default_rng(seed)
    categorical = dict(categorical or {})
    numeric = dict(numeric or {})
    probs = {}
    for name, eff in categorical.items():
        if eff[0] != 0:
            raise ValueError(f"the first level of {name!r} is the reference: its effect must be 0")
        given = (level_probs or {}).get(name)
        p = np.asarray(given if given is not None else np.arange(len(eff), 0, -1), dtype=float)
        probs[name] = p / p.sum()
    u = rng.normal(0.0, sigma_u, n_groups) if n_groups else np.zeros(1)
    coupons = np.asarray(coupons, dtype=np.int64)
    n_seeds = int(seeds or max(5, n_fit // 5))

    def people(n: int) -> dict[str, np.ndarray]:
        cols: dict[str, np.ndarray] = {}
        for name, p in probs.items():
            cols[name] = rng.choice(len(p), size=n, p=p)
        for name in numeric:
            cols[name] = rng.standard_normal(n)
        return cols

    def log_mean(cols: Mapping[str, np.ndarray], grp: np.ndarray) -> np.ndarray:
        m = len(grp)
        eta = np.full(m, b0) + u[grp]
        for name, eff in categorical.items():
            eta += np.asarray(eff, dtype=float)[cols[name][:m]]
        for name, slope in numeric.items():
            eta += slope * cols[name][:m]
        return eta

    next_id = 0
    fitted = 0
    wave = 0

    def new_block(n, grp, parents, wave):
        nonlocal next_id
        cols = people(n)
        block = {
            "id": np.char.add("r", np.arange(next_id, next_id + n).astype(str)),
            "recruiter_id": parents,
            "_group": grp,
            "_wave": np.full(n, wave),
        }
        block.update(cols)
        next_id += n
        return block

    current = new_block(
        n_seeds, rng.integers(0, max(n_groups, 1), n_seeds), np.full(n_seeds, None, dtype=object), 0
    )
    done: list[dict] = []
    while fitted < n_fit:
        n = len(current["id"])
        if n == 0:  # the tree died out: plant new seeds
            current = new_block(
                n_seeds,
                rng.integers(0, max(n_groups, 1), n_seeds),
                np.full(n_seeds, None, dtype=object),
                wave,
            )
            n = n_seeds
        take = min(n, n_fit - fitted)
        k = np.full(n, -1, dtype=np.int64)
        k[:take] = rng.choice(coupons, size=take)
        eta = log_mean(current, current["_group"][:take])
        cap = random_capacity(fam, eta, phi, psi, rng=rng)
        y = np.minimum(cap, k[:take])
        last = fitted + take >= n_fit
        if last and open_last_wave:
            y = rng.binomial(y, arrived)
        current["coupons_issued"] = k
        current["_open"] = np.full(n, last and open_last_wave)
        done.append(current)
        fitted += take
        parents = np.repeat(current["id"][:take], y)
        grp = np.repeat(current["_group"][:take], y)
        wave += 1
        current = new_block(len(parents), grp, parents.astype(object), wave)
    current["coupons_issued"] = np.full(len(current["id"]), -1)
    current["_open"] = np.zeros(len(current["id"]), dtype=bool)
    done.append(current)
    frame = pd.concat([pd.DataFrame(b) for b in done], ignore_index=True)
    frame["coupons_issued"] = (
        frame["coupons_issued"].astype("Int64").mask(frame["coupons_issued"] < 0)
    )
    for name in categorical:
        frame[name] = np.char.add("L", frame[name].to_numpy().astype(str))
    options: dict[str, Any] = {}
    if n_groups:
        frame["group"] = np.char.add("g", frame["_group"].to_numpy().astype(str))
        options["group_col"] = "group"
    if open_last_wave:
        base = pd.Timestamp("2024-01-01")
        days = frame["_wave"].to_numpy() * 14.0
        last_wave = frame.loc[frame["_open"], "_wave"].max()
        cutoff = base + pd.Timedelta(days=float(last_wave) * 14 + 3)
        # recruits of the open wave arrived during the 3 days before the cut-off
        days = np.where(frame["_wave"].to_numpy() > last_wave, float(last_wave) * 14 + 2, days)
        frame["interview_time"] = base + pd.to_timedelta(days, unit="D")
        options.update(coupon_window=7, cutoff=cutoff)
    frame = frame.drop(columns=["_group", "_wave", "_open"])
    truth = {
        "b0": b0,
        "effects": {
            **{
                f"{n}[L{j}]": float(e)
                for n, eff in categorical.items()
                for j, e in enumerate(eff)
                if j
            },
            **{n: float(s) for n, s in numeric.items()},
        },
        "sigma_u": sigma_u if n_groups else None,
        "u": dict(
            zip(
                np.char.add("g", np.arange(n_groups).astype(str)).tolist(), u.tolist(), strict=False
            )
        )
        if n_groups
        else None,
        "phi": phi if fam.has_phi else None,
        "psi": psi if fam.has_psi else None,
    }
    return SimulatedStudy(frame=frame, truth=truth, options=options)
