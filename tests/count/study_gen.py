"""An independent generator of referral studies for the count-model tests (numpy only).

Deliberately written without the toolkit's simulator (``rdsmodel.count.simulate``)
or its count families: capacities are drawn with numpy's own negative binomial
(``numpy.random.Generator.negative_binomial(n=phi, p=phi / (phi + mu))``, a
gamma-Poisson mixture with mean ``mu`` and variance ``mu + mu^2 / phi``), so a
bug shared by the model and the simulator cannot hide.

A study: ``n_sites`` sites of unequal size (site shares from a Dirichlet with
concentration 1.5, every site at least 3% and two of the seeds), two binary covariates
``x1`` (P = 0.45) and ``x2`` (P = 0.3), site effects ``u_s ~ N(0, sigma_u)``,
coupons drawn uniformly from 2..5 per respondent, every coupon window closed.
Recruits inherit their recruiter's site. The table grows wave by wave until
``n`` respondents hold coupons; whoever is left without coupons is the
frontier.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

__all__ = ["Study", "make_study"]


@dataclass
class Study:
    """A generated table and the parameters behind it."""

    frame: pd.DataFrame
    b0: float  # log mean capacity at x1 = x2 = 0 (the "intercept" of the model when 0 is the reference)
    beta: dict[str, float]
    u: np.ndarray
    sigma_u: float
    phi: float
    psi: float | None
    sites: list[str] = field(default_factory=list)

    def data(self):
        from rdsmodel.data import RecruitmentData

        return RecruitmentData.from_frame(self.frame, group_col="site", categorical=["x1", "x2"])


def _capacity(rng, mu, phi, family, psi):
    if family == "poisson":
        return rng.poisson(mu)
    c = rng.negative_binomial(phi, phi / (phi + mu))
    if family == "zinb":
        return np.where(rng.random(len(mu)) < psi, 0, c)
    if family == "hurdle":
        # positive part: NB truncated at zero, by rejection
        pos = c.copy()
        bad = pos == 0
        while bad.any():
            pos[bad] = rng.negative_binomial(phi, (phi / (phi + mu))[bad])
            bad = pos == 0
        return np.where(rng.random(len(mu)) < psi, 0, pos)
    return c


def make_study(
    seed: int,
    *,
    n: int = 1500,
    n_sites: int = 5,
    sigma_u: float = 0.3,
    b0: float = 0.45,
    beta: tuple[float, float] = (0.3, -0.35),
    phi: float = 1.5,
    family: str = "nb",
    psi: float = 0.25,
    coupons: tuple[int, ...] = (2, 3, 4, 5),
    n_seeds: int | None = None,
    u: np.ndarray | None = None,
    wave_slope: float = 0.0,
) -> Study:
    """Generate one study (see the module docstring).

    ``wave_slope`` adds ``wave_slope * wave`` to the log mean, ``wave`` the
    respondent's distance from its seed (0 for seeds).
    """
    rng = np.random.default_rng(seed)
    share = rng.dirichlet(np.full(n_sites, 1.5))
    share = np.maximum(share, 0.03)
    share /= share.sum()
    u = rng.normal(0.0, sigma_u, n_sites) if u is None else np.asarray(u, dtype=float)
    n_seeds = n_seeds or max(10, n // 15)
    rows: list[dict] = []
    next_id = 0

    def new_people(sites, parents, depth=0):
        nonlocal next_id
        m = len(sites)
        out = {
            "id": [f"p{next_id + i}" for i in range(m)],
            "recruiter_id": list(parents),
            "site": sites,
            "_wave": np.broadcast_to(np.asarray(depth), (m,)).copy(),
            "x1": (rng.random(m) < 0.45).astype(int),
            "x2": (rng.random(m) < 0.30).astype(int),
        }
        next_id += m
        return out

    seed_sites = np.concatenate(
        [
            np.repeat(np.arange(n_sites), 2),
            rng.choice(n_sites, max(n_seeds - 2 * n_sites, 0), p=share),
        ]
    )
    current = new_people(rng.permutation(seed_sites), [None] * len(seed_sites))
    given = 0
    while True:
        m = len(current["id"])
        if m == 0:  # the tree died out: plant seeds again
            current = new_people(rng.choice(n_sites, n_seeds, p=share), [None] * n_seeds)
            m = n_seeds
        take = min(m, n - given)
        k = np.full(m, -1)
        k[:take] = rng.choice(coupons, take)
        s = np.asarray(current["site"][:take])
        mu = np.exp(
            b0
            + beta[0] * current["x1"][:take]
            + beta[1] * current["x2"][:take]
            + u[s]
            + wave_slope * current["_wave"][:take]
        )
        y = np.minimum(_capacity(rng, mu, phi, family, psi), k[:take])
        current["coupons_issued"] = k
        rows.append(current)
        given += take
        parents = np.repeat(np.asarray(current["id"][:take], dtype=object), y)
        sites = np.repeat(s, y)
        current = new_people(sites, parents, np.repeat(current["_wave"][:take] + 1, y))
        if given >= n:
            current["coupons_issued"] = np.full(len(current["id"]), -1)
            rows.append(current)
            break
    frame = pd.concat([pd.DataFrame(r) for r in rows], ignore_index=True)
    frame["coupons_issued"] = (
        frame["coupons_issued"].astype("Int64").mask(frame["coupons_issued"] < 0)
    )
    frame["site"] = [f"site{j}" for j in frame["site"]]
    frame["x1"] = frame["x1"].astype(str)
    frame["x2"] = frame["x2"].astype(str)
    frame = frame.drop(columns="_wave")
    return Study(
        frame=frame,
        b0=b0,
        beta={"x1[1]": beta[0], "x2[1]": beta[1]},
        u=u,
        sigma_u=sigma_u,
        phi=phi,
        psi=psi if family in ("zinb", "hurdle") else None,
        sites=[f"site{j}" for j in range(n_sites)],
    )
