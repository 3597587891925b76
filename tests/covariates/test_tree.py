"""The latent-class tree likelihood (pruning recursion) equals brute-force enumeration."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from rdsmodel.covariates import CovariateModel
from rdsmodel.covariates.tree import RecruitmentForest, upward_pass
from rdsmodel.data import RecruitmentData


@pytest.fixture(scope="module")
def tiny_data() -> RecruitmentData:
    frame = pd.DataFrame(
        {
            "id": ["a", "b", "c", "d", "e", "f", "g", "h"],
            "recruiter_id": [None, "a", "a", "b", "d", None, "f", "f"],
            "coupons_issued": [3] * 8,
            "X": ["x", "x", "y", None, "y", "z", "z", "x"],
            "W": ["u", None, "v", "v", "u", "u", "v", "v"],
        }
    )
    return RecruitmentData.from_frame(frame, categorical=["X", "W"])


def _brute_force(forest, codes, rho, pz, w, crho, n_levels) -> np.ndarray:
    """Log-likelihood of each tree by enumerating every latent quantity, from the model's definition.

    Written from the documented model (docs/covariate-model.md), not from the
    production formulas. Latent quantities, all summed over explicitly:

    * the class ``z_u`` of every respondent: roots ``P(z) = w[z]``, recruits
      ``P(z' | z) = crho [z' = z] + (1 - crho) w[z']``;
    * every missing value ``x_{u,f}``: drawn from its law given the recruiter
      (``pz[z_u, f]`` for a root), so it sums out (``missing="marginalise"``
      drops the term);
    * for an edge whose recruiter's value of ``f`` is missing and recruit's is
      observed, the recruiter's level ``p`` drawn from the population law
      ``pibar[f, p] = sum_z w[z] pz[z, f, p]`` (the documented marginalisation),
      one draw per edge.

    A recruit's value of ``f`` given the recruiter's level ``p`` and its own class
    ``z`` is ``c`` with probability ``rho[f, p] [c = p] + (1 - rho[f, p]) pz[z, f, c]``.
    """
    Z, F, _ = pz.shape
    pibar = np.einsum("z,zfl->fl", w, pz)

    def child(f, p, z, c):
        return rho[f, p] * (c == p) + (1 - rho[f, p]) * pz[z, f, c]

    roots = forest.root_of()
    out = []
    for r in forest.roots:
        nodes = [int(u) for u in np.flatnonzero(roots == r)]
        # latent slots: ("z", u) for every node; ("x", u, f) for every missing value;
        # ("p", u, f) for every edge into u whose recruiter's value of f is missing (u's observed)
        slots = [("z", u) for u in nodes]
        for u in nodes:
            par = forest.parent[u]
            for f in range(F):
                if codes[u, f] < 0:
                    slots.append(("x", u, f))
                elif par >= 0 and codes[par, f] < 0:
                    slots.append(("p", u, f))
        ranges = [range(Z) if s[0] == "z" else range(n_levels[s[2]]) for s in slots]
        total = 0.0
        for values in itertools.product(*ranges):
            v = dict(zip(slots, values, strict=True))
            prob = 1.0
            for u in nodes:
                par = forest.parent[u]
                z = v[("z", u)]
                prob *= w[z] if par < 0 else crho * (z == v[("z", par)]) + (1 - crho) * w[z]
                for f in range(F):
                    c = codes[u, f] if codes[u, f] >= 0 else v[("x", u, f)]
                    if par < 0:
                        prob *= pz[z, f, c]
                    elif codes[par, f] >= 0:
                        prob *= child(f, codes[par, f], z, c)
                    elif codes[u, f] >= 0:
                        p = v[("p", u, f)]
                        prob *= pibar[f, p] * child(f, p, z, c)
                    else:  # both missing: the recruit's value sums out whatever the recruiter's
                        prob *= sum(pibar[f, p] * child(f, p, z, c) for p in range(n_levels[f]))
            total += prob
        out.append(np.log(total))
    return np.array(out)


@pytest.mark.parametrize("by_level", [False, True])
def test_tree_likelihood_matches_enumeration(tiny_data, by_level):
    model = CovariateModel(tiny_data, latent_classes=2, rho_by_level=by_level)
    pm_model = model.build()
    rng = np.random.default_rng(2)
    point = {k: v + rng.normal(0, 0.5, np.shape(v)) for k, v in pm_model.initial_point(0).items()}
    names = [
        "tree_loglik",
        "rho_level" if by_level else "rho",
        "class_pi",
        "class_weight",
        "class_rho",
    ]
    outs = pm_model.replace_rvs_by_values([pm_model[n] for n in names])
    fn = pm_model.compile_fn(
        outs, inputs=pm_model.value_vars, point_fn=False, on_unused_input="ignore"
    )
    tree_ll, rho, pz, w, crho = fn(*[point[v.name] for v in pm_model.value_vars])
    rho = rho if by_level else np.repeat(rho[:, None], pz.shape[2], axis=1)
    forest = model.forest
    n_levels = [len(f.levels) for f in model.fields if f.is_categorical]
    expected = _brute_force(forest, forest.codes, rho, pz, w, float(crho), n_levels)
    np.testing.assert_allclose(tree_ll, expected, rtol=1e-10, atol=1e-10)
    # The numpy backend of the pass agrees with the PyTensor one.
    n = len(forest.parent)
    log_e = np.log(rng.uniform(0.1, 1.0, (n, 2)))
    T = np.array([[0.7, 0.3], [0.2, 0.8]])
    w2 = np.array([0.4, 0.6])
    import pytensor.tensor as pt

    via_pt = upward_pass(
        forest, pt.as_tensor(log_e), pt.as_tensor(np.log(T)), pt.as_tensor(np.log(w2))
    ).eval()
    via_np = upward_pass(forest, log_e, np.log(T), np.log(w2), backend="numpy")
    np.testing.assert_allclose(via_pt, via_np, rtol=1e-12)


def test_forest_structure(tiny_data):
    forest = RecruitmentForest.from_table(tiny_data.table, CovariateModel(tiny_data).fields)
    assert forest.depth.tolist() == [0, 1, 1, 2, 3, 0, 1, 1]
    assert forest.roots.tolist() == [0, 5]
    assert [w.tolist() for w in forest.waves()] == [[0, 5], [1, 2, 6, 7], [3], [4]]
