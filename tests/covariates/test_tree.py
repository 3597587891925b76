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
    frame = pd.DataFrame({
        "id": ["a", "b", "c", "d", "e", "f", "g", "h"],
        "recruiter_id": [None, "a", "a", "b", "d", None, "f", "f"],
        "coupons_issued": [3] * 8,
        "X": ["x", "x", "y", None, "y", "z", "z", "x"],
        "W": ["u", None, "v", "v", "u", "u", "v", "v"],
    })
    return RecruitmentData.from_frame(frame, categorical=["X", "W"])


def _brute_force(forest, codes, rho, pz, w, crho) -> np.ndarray:
    """Sum over every class assignment of every node, tree by tree."""
    Z, F, _ = pz.shape
    pibar = np.einsum("z,zfl->fl", w, pz)
    n = len(forest.parent)
    e = np.ones((n, Z))
    for u in range(n):
        for f in range(F):
            c = codes[u, f]
            if c < 0:
                continue
            par = forest.parent[u]
            if par < 0:
                e[u] *= pz[:, f, c]
                continue
            p = codes[par, f]
            if p < 0:
                e[u] *= pibar[f, c] * rho[f, c] + (1 - (pibar[f] * rho[f]).sum()) * pz[:, f, c]
            else:
                e[u] *= rho[f, p] * (c == p) + (1 - rho[f, p]) * pz[:, f, c]
    T = crho * np.eye(Z) + (1 - crho) * w[None, :]
    roots = forest.root_of()
    out = []
    for r in forest.roots:
        nodes = np.flatnonzero(roots == r)
        total = 0.0
        for zs in itertools.product(range(Z), repeat=len(nodes)):
            z = dict(zip(nodes, zs, strict=True))
            prob = 1.0
            for u in nodes:
                par = forest.parent[u]
                prob *= e[u, z[u]] * (w[z[u]] if par < 0 else T[z[par], z[u]])
            total += prob
        out.append(np.log(total))
    return np.array(out)


@pytest.mark.parametrize("by_level", [False, True])
def test_tree_likelihood_matches_enumeration(tiny_data, by_level):
    model = CovariateModel(tiny_data, latent_classes=2, rho_by_level=by_level)
    pm_model = model.build()
    rng = np.random.default_rng(2)
    point = {k: v + rng.normal(0, 0.5, np.shape(v)) for k, v in pm_model.initial_point(0).items()}
    names = ["tree_loglik", "rho_level" if by_level else "rho", "class_pi", "class_weight", "class_rho"]
    outs = pm_model.replace_rvs_by_values([pm_model[n] for n in names])
    fn = pm_model.compile_fn(outs, inputs=pm_model.value_vars, point_fn=False, on_unused_input="ignore")
    tree_ll, rho, pz, w, crho = fn(*[point[v.name] for v in pm_model.value_vars])
    rho = rho if by_level else np.repeat(rho[:, None], pz.shape[2], axis=1)
    forest = model.forest
    expected = _brute_force(forest, forest.codes, rho, pz, w, float(crho))
    np.testing.assert_allclose(tree_ll, expected, rtol=1e-10, atol=1e-10)
    # The numpy backend of the pass agrees with the PyTensor one.
    n = len(forest.parent)
    log_e = np.log(rng.uniform(0.1, 1.0, (n, 2)))
    T = np.array([[0.7, 0.3], [0.2, 0.8]])
    w2 = np.array([0.4, 0.6])
    import pytensor.tensor as pt

    via_pt = upward_pass(forest, pt.as_tensor(log_e), pt.as_tensor(np.log(T)), pt.as_tensor(np.log(w2))).eval()
    via_np = upward_pass(forest, log_e, np.log(T), np.log(w2), backend="numpy")
    np.testing.assert_allclose(via_pt, via_np, rtol=1e-12)


def test_forest_structure(tiny_data):
    forest = RecruitmentForest.from_table(tiny_data.table, CovariateModel(tiny_data).fields)
    assert forest.depth.tolist() == [0, 1, 1, 2, 3, 0, 1, 1]
    assert forest.roots.tolist() == [0, 5]
    assert [w.tolist() for w in forest.waves()] == [[0, 5], [1, 2, 6, 7], [3], [4]]
