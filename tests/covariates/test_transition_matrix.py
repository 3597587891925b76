"""Full transition matrices for categorical fields (``CovariateModel(transitions=...)``).

The studies here come from a small generator written in this file (not the
toolkit's simulator): a recruiter at level ``p`` brings in recruits whose
``TYPE`` is drawn from row ``p`` of a known matrix with a *type rule* (A
recruits C), which the inheritance mixture cannot represent.
"""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pandas as pd
import pytest

from rdsmodel.covariates import CovariateModel, FieldSpec, InheritanceOffspring, homophily_summary
from rdsmodel.covariates.params import InheritanceParams, pair_log_likelihood
from rdsmodel.covariates.transitions import (
    AUTO_MAX_LEVELS,
    AUTO_MIN_RECRUITS,
    CategoricalCounts,
    choose_matrix_fields,
    draw_transition_posterior,
    encode_pairs,
    matrix_prior,
)
from rdsmodel.data import RecruitmentData
from rdsmodel.errors import ModelError
from rdsmodel.laws.inheritance import laplace_matrix, sample_transition

LEVELS = ["A", "B", "C", "D"]
#: A recruits C (a type rule), B and D mostly their own kind, C anyone.
T_TRUE = np.array(
    [
        [0.05, 0.05, 0.85, 0.05],
        [0.05, 0.80, 0.10, 0.05],
        [0.20, 0.30, 0.30, 0.20],
        [0.10, 0.10, 0.10, 0.70],
    ]
)


def generate_study(
    n: int,
    rng: np.random.Generator,
    *,
    T: np.ndarray = T_TRUE,
    seeds: int = 12,
    mean_recruits: float = 1.4,
    missing_rate: float = 0.04,
) -> pd.DataFrame:
    """A field table grown breadth-first: ``TYPE`` from ``T[parent]``, ``SEX`` copied w.p. 0.6 else uniform."""
    rows = []
    queue = []
    for i in range(seeds):
        rows.append(
            {
                "id": f"s{i}",
                "recruiter_id": None,
                "TYPE": LEVELS[rng.integers(4)],
                "SEX": ["F", "M"][rng.integers(2)],
            }
        )
        queue.append(i)
    head = 0
    while len(rows) < n and head < len(queue):
        parent = rows[queue[head]]
        k = min(3, max(1 if head < seeds else 0, rng.poisson(mean_recruits)))
        for _ in range(min(k, n - len(rows))):
            p = LEVELS.index(parent["TYPE"])
            sex = parent["SEX"] if rng.random() < 0.6 else ["F", "M"][rng.integers(2)]
            rows.append(
                {
                    "id": f"r{len(rows)}",
                    "recruiter_id": parent["id"],
                    "TYPE": LEVELS[rng.choice(4, p=T[p])],
                    "SEX": sex,
                }
            )
            queue.append(len(rows) - 1)
        head += 1
    table = pd.DataFrame(rows)
    table["coupons_issued"] = 3
    for name in ("TYPE", "SEX"):
        col = table[name].astype(object)
        col[rng.random(len(col)) < missing_rate] = None
        table[name] = col
    return table[["id", "recruiter_id", "coupons_issued", "TYPE", "SEX"]]


@pytest.fixture(scope="module")
def study() -> RecruitmentData:
    table = generate_study(1500, np.random.default_rng(21))
    return RecruitmentData.from_frame(table, categorical=["TYPE", "SEX"])


@pytest.fixture(scope="module")
def fitted(study) -> CovariateModel:
    model = CovariateModel(study, transitions={"TYPE": "matrix"})
    model.fit(draws=250, tune=250, chains=2, seed=5)
    return model


def _type_counts(model: CovariateModel) -> np.ndarray:
    k = model.categorical_fields.index("TYPE")
    return model.counts.transitions[k, :4, :4]


# -- the law (numpy) ----------------------------------------------------------------------------
def test_laplace_matrix_is_the_row_sum():
    rng = np.random.default_rng(0)
    T = rng.dirichlet(np.ones(4), size=(3, 4))  # (S, K, K)
    e = rng.random((2, 4))  # (J, K)
    got = laplace_matrix(T, e)  # (S, J, K)
    want = np.einsum("spc,jc->sjp", T, e)
    np.testing.assert_allclose(got, want, rtol=1e-14)


def test_sample_transition_follows_the_rows():
    rng = np.random.default_rng(1)
    n = 40_000
    for p in range(4):
        codes = sample_transition(np.full(n, p), T_TRUE, rng)
        freq = np.bincount(codes, minlength=4) / n
        se = np.sqrt(T_TRUE[p] * (1 - T_TRUE[p]) / n)
        assert np.all(np.abs(freq - T_TRUE[p]) < 5 * se + 1e-12), (p, freq)
    assert sample_transition(np.zeros(0, dtype=int), T_TRUE, rng).shape == (0,)


@pytest.fixture(scope="module")
def law() -> InheritanceOffspring:
    fields = [FieldSpec.categorical("TYPE", LEVELS), FieldSpec.categorical("SEX", ["F", "M"])]
    return InheritanceOffspring.from_values(
        fields,
        rho={"SEX": 0.6},
        pi={"TYPE": [0.4, 0.3, 0.2, 0.1], "SEX": [0.5, 0.5]},
        transition={"TYPE": T_TRUE},
    )


def test_offspring_sampling_matches_T(law):
    n = 30_000
    parents = pd.DataFrame({"TYPE": LEVELS, "SEX": ["F", "M", "F", "M"]})
    kids = law.sample(parents, np.full(4, n), np.random.default_rng(3))
    codes = law.encode(kids)[:, 0]
    for p in range(4):
        freq = np.bincount(codes[kids["parent"].to_numpy() == p], minlength=4) / n
        se = np.sqrt(T_TRUE[p] * (1 - T_TRUE[p]) / n)
        assert np.all(np.abs(freq - T_TRUE[p]) < 5 * se), (p, freq)
    # A missing recruiter value: the recruiters' population law q = pi, so m(c) = sum_p q(p) T[p, c].
    many = pd.DataFrame({"TYPE": [None] * n, "SEX": ["F"] * n})
    kids = law.sample(many, np.ones(n, dtype=np.int64), np.random.default_rng(4))
    m = np.array([0.4, 0.3, 0.2, 0.1]) @ T_TRUE
    freq = np.bincount(law.encode(kids)[:, 0], minlength=4) / n
    assert np.all(np.abs(freq - m) < 5 * np.sqrt(m * (1 - m) / n))


def test_laplace_equals_monte_carlo(law):
    rng = np.random.default_rng(5)
    H = rng.exponential(1.0, (3, 2, 4))
    parents = pd.DataFrame({"TYPE": ["A", "B", "C", "D", "A"], "SEX": ["F", "M", "M", "F", None]})
    exact = law.laplace(H, parents)  # (person, J)
    n = 40_000
    kids = law.sample(parents.iloc[:4], np.full(4, n), np.random.default_rng(6))
    codes = law.encode(kids)
    E = np.exp(-H)
    values = E[:, 0, codes[:, 0]] * E[:, 1, codes[:, 1]]  # (J, kids)
    owner = kids["parent"].to_numpy()
    for i in range(4):
        v = values[:, owner == i]
        mc, se = v.mean(axis=1), v.std(axis=1) / np.sqrt(n)
        assert np.all(np.abs(mc - exact[i]) < 5 * se + 1e-12), (i, mc, exact[i])
    # The matrix field's factor is exactly sum_c T[p, c] exp(-H[j, 0, c]).
    sex = law.laplace(H * np.array([0.0, 1.0])[None, :, None], parents)
    type_only = law.laplace(H * np.array([1.0, 0.0])[None, :, None], parents)
    np.testing.assert_allclose(type_only[:4], (E[:, 0] @ T_TRUE.T).T[[0, 1, 2, 3]], rtol=1e-13)
    np.testing.assert_allclose(exact, type_only * sex, rtol=1e-13)


def test_laplace_per_posterior_sample_is_vectorised():
    rng = np.random.default_rng(7)
    S = 6
    T = rng.dirichlet(np.ones(4), size=(S, 1, 4))  # (S, F=1, K, K)
    q = rng.dirichlet(np.ones(4), size=S)
    params = InheritanceParams(
        rho=np.einsum("sfpp->sfp", T),
        pi=q[:, None, None, :],
        class_weight=np.ones((S, 1)),
        class_rho=np.zeros(S),
        intercept=np.zeros((S, 0)),
        slope=np.zeros((S, 0)),
        sigma=np.zeros((S, 0)),
        transition=T,
        matrix_fields=(0,),
    )
    off = InheritanceOffspring([FieldSpec.categorical("TYPE", LEVELS)], params)
    H = rng.exponential(1.0, (2, 1, 4))
    parents = pd.DataFrame({"TYPE": ["A", None, "D"]})
    got = off.laplace(H, parents, sample="all")  # (S, person, J)
    E = np.exp(-H[:, 0])  # (J, K)
    by_level = np.einsum("spc,jc->spj", T[:, 0], E)
    want = np.stack([by_level[:, 0], np.einsum("sp,spj->sj", q, by_level), by_level[:, 3]], axis=1)
    np.testing.assert_allclose(got, want, rtol=1e-13)
    np.testing.assert_allclose(off.laplace(H, parents, sample=2), want[2], rtol=1e-13)
    # sample=None: the posterior-mean T and q
    mean_by_level = np.einsum("pc,jc->pj", T[:, 0].mean(0), E)
    mean_missing = q.mean(0) @ mean_by_level
    np.testing.assert_allclose(
        off.laplace(H, parents),
        np.stack([mean_by_level[0], mean_missing, mean_by_level[3]]),
        rtol=1e-13,
    )


def test_pair_log_likelihood_uses_the_matrix(law):
    parents = pd.DataFrame({"TYPE": ["A", "C", None, "B"], "SEX": ["F", "M", "F", None]})
    recruits = pd.DataFrame({"TYPE": ["C", "A", "B", None], "SEX": ["F", "F", "M", "M"]})
    fields = law.fields
    ll = pair_log_likelihood(law.params, encode_pairs(parents, recruits, fields), fields)[0]
    q = np.array([0.4, 0.3, 0.2, 0.1])
    sex = {("F", "F"): 0.6 + 0.4 * 0.5, ("M", "F"): 0.4 * 0.5, ("F", "M"): 0.2}
    want = [
        np.log(T_TRUE[0, 2]) + np.log(sex[("F", "F")]),
        np.log(T_TRUE[2, 0]) + np.log(sex[("M", "F")]),
        np.log(q @ T_TRUE[:, 1]) + np.log(sex[("F", "M")]),
        np.log(0.5),  # recruit TYPE missing: no term; SEX recruiter missing: m = pi
    ]
    np.testing.assert_allclose(ll, want, rtol=1e-12)


# -- the conjugate posterior ------------------------------------------------------------------
def test_matrix_prior_is_centred_on_the_pooled_recruits():
    N = np.array([[3.0, 0.0, 1.0], [0.0, 5.0, 0.0], [0.0, 0.0, 0.0]])
    alpha = matrix_prior(N, 2.0)
    m = (N.sum(axis=0) + 1.0) / (N.sum() + 3)
    np.testing.assert_allclose(alpha, np.tile(2.0 * m, (3, 1)))
    np.testing.assert_allclose(alpha.sum(axis=1), 2.0)


def test_conjugate_posterior_mean_is_prior_plus_counts_over_the_row_total():
    N = np.zeros((1, 5, 5))
    N[0, :3, :3] = [[10, 0, 30], [2, 2, 2], [0, 0, 0]]
    T, q = draw_transition_posterior(N, [3], 1.5, np.random.default_rng(8), 60_000)
    assert np.isnan(T[:, 0, 3:]).all() and np.isnan(T[:, 0, :, 3:]).all()
    alpha = matrix_prior(N[0, :3, :3], 1.5) + N[0, :3, :3]
    want = alpha / alpha.sum(axis=1, keepdims=True)
    a0 = alpha.sum(axis=1, keepdims=True)
    sd = np.sqrt(want * (1 - want) / (a0 + 1))
    np.testing.assert_array_less(np.abs(T[:, 0, :3, :3].mean(0) - want), 5 * sd / np.sqrt(60_000))
    np.testing.assert_allclose(T[:, 0, :3, :3].sum(axis=2), 1.0)
    qa = 1.0 + N[0, :3, :3].sum(axis=1)
    np.testing.assert_allclose(q[:, 0, :3].mean(0), qa / qa.sum(), atol=5e-3)


def test_fitted_posterior_is_the_conjugate_one(fitted):
    post = fitted.idata.posterior
    assert list(post["matrix_field"].values) == ["TYPE"]
    T = post["transition"].sel(matrix_field="TYPE").values.reshape(-1, 4, 4)
    N = _type_counts(fitted)
    alpha = matrix_prior(N, fitted.transition_prior) + N
    want = alpha / alpha.sum(axis=1, keepdims=True)
    sd = np.sqrt(want * (1 - want) / (alpha.sum(axis=1, keepdims=True) + 1))
    np.testing.assert_array_less(np.abs(T.mean(0) - want), 5 * sd / np.sqrt(len(T)) + 1e-12)
    # Pairs whose recruiter value is missing exist, and do not inform T (only N does).
    k = fitted.categorical_fields.index("TYPE")
    assert fitted.counts.parent_missing[k].sum() > 0
    # Same seed, same draws.
    again = CovariateModel(fitted.data, transitions={"TYPE": "matrix"})
    again.fit(draws=250, tune=250, chains=2, seed=5)
    np.testing.assert_array_equal(again.idata.posterior["transition"].values, post["transition"])


def test_recovers_a_type_rule(fitted):
    T = fitted.idata.posterior["transition"].sel(matrix_field="TYPE").values.reshape(-1, 4, 4)
    mean, sd = T.mean(0), T.std(0)
    assert np.all(np.abs(mean - T_TRUE) < np.maximum(4 * sd, 0.02)), mean.round(3)
    params = fitted.parameters()
    k = fitted.categorical_fields.index("TYPE")
    np.testing.assert_allclose(params.kernel()[:, k, :4, :4].mean(0), mean, rtol=1e-12)
    # The mixture fitted to the same pairs (kept in the posterior) cannot send A to C.
    rho = fitted.idata.posterior["rho"].sel(field="TYPE").values.ravel()
    pi_c = fitted.idata.posterior["pi"].sel(field="TYPE").values.reshape(-1, 4)[:, 2]
    assert ((1 - rho) * pi_c).mean() < 0.6 < mean[0, 2]
    off = fitted.offspring()
    parents = pd.DataFrame({"TYPE": ["A"] * 20_000, "SEX": ["F"] * 20_000})
    kids = off.sample(parents, np.ones(20_000, dtype=np.int64), np.random.default_rng(9))
    assert abs((kids["TYPE"] == "C").mean() - 0.85) < 0.05


def test_homophily_report_shows_the_stay_probability(fitted):
    summary = homophily_summary(fitted.idata).set_index("field")
    assert summary.loc["TYPE", "law"] == "matrix" and summary.loc["SEX", "law"] == "mixture"
    w = np.asarray(fitted.config["recruiter_level_weights"])[0, :4]
    T = fitted.idata.posterior["transition"].sel(matrix_field="TYPE").values.reshape(-1, 4, 4)
    stay = (np.einsum("spp->sp", T) * w).sum(axis=1)
    assert summary.loc["TYPE", "mean"] == pytest.approx(stay.mean(), rel=1e-12)


# -- persistence ---------------------------------------------------------------------------------
def test_save_load_round_trip(fitted, study, tmp_path):
    path = fitted.save(tmp_path / "posterior.covariates.nc")
    loaded = CovariateModel.load(path)
    assert loaded.matrix_fields == ["TYPE"]
    assert loaded.transitions == {"TYPE": "matrix"}
    assert loaded.config == json.loads(json.dumps(fitted.config))
    a, b = loaded.offspring().params, fitted.offspring().params
    assert a.matrix_fields == b.matrix_fields == (0,)
    np.testing.assert_array_equal(a.transition, b.transition)
    H = np.random.default_rng(2).exponential(1.0, (3, 2, 4))
    frontier = study.table[["TYPE", "SEX"]].head(12)
    np.testing.assert_allclose(
        loaded.offspring().laplace(H, frontier, sample="all"),
        fitted.offspring().laplace(H, frontier, sample="all"),
        rtol=1e-12,
    )
    pd.testing.assert_frame_equal(homophily_summary(loaded.idata), homophily_summary(fitted.idata))


def test_files_without_the_option_load_as_mixtures(study, tmp_path):
    import arviz as az

    model = CovariateModel(study)
    model.fit(draws=100, tune=100, chains=2, seed=3)
    path = model.save(tmp_path / "new.nc")
    idata = az.from_netcdf(str(path))
    init = json.loads(idata.posterior.attrs["rdsplan_init"])
    assert init["transitions"] == "mixture"
    for key in ("transitions", "transition_prior"):  # as written before the option existed
        del init[key]
    idata.posterior.attrs["rdsplan_init"] = json.dumps(init)
    idata.to_netcdf(str(tmp_path / "old.nc"))
    old = CovariateModel.load(tmp_path / "old.nc")
    assert old.transitions == "mixture" and old.matrix_fields == []
    assert "transitions" not in old.config and old.offspring().params.transition is None
    H = np.random.default_rng(3).exponential(1.0, (2, 2, 4))
    frontier = study.table[["TYPE", "SEX"]].head(8)
    np.testing.assert_array_equal(
        old.offspring().laplace(H, frontier, sample="all"),
        model.offspring().laplace(H, frontier, sample="all"),
    )


# -- the default is unchanged ----------------------------------------------------------------
def _digest(a) -> str:
    return hashlib.sha256(np.ascontiguousarray(np.asarray(a)).tobytes()).hexdigest()[:16]


def test_mixture_law_is_bit_for_bit_as_before_the_option():
    """Digests computed with the code before full matrices existed (commit 599a7f3), same inputs.

    Exact float equality: run on the platform the digests were made on
    (Linux x86-64, the project's venv); a different BLAS may change last bits.
    """
    fields = [
        FieldSpec.categorical("SEX", ["F", "M", "T"]),
        FieldSpec.categorical("RACE", list("abcd")),
    ]
    rng = np.random.default_rng(5)
    S = 7
    rho = rng.random((S, 2, 4))
    pi = rng.dirichlet(np.ones(4), size=(S, 1, 2))
    pi[:, :, 0, 3] = 0
    pi[:, :, 0] /= pi[:, :, 0].sum(-1, keepdims=True)
    params = InheritanceParams(
        rho=rho,
        pi=pi,
        class_weight=np.ones((S, 1)),
        class_rho=np.zeros(S),
        intercept=np.zeros((S, 0)),
        slope=np.zeros((S, 0)),
        sigma=np.zeros((S, 0)),
    )
    law = InheritanceOffspring(fields, params)
    parents = pd.DataFrame({"SEX": ["F", "M", None, "T", "F"], "RACE": ["a", None, "c", "d", "b"]})
    H = rng.random((3, 2, 4))
    n = np.array([3, 0, 2, 5, 1])
    recruits = pd.DataFrame({"SEX": ["M", "F", "T", None, "F"], "RACE": ["b", "a", None, "d", "a"]})
    got = {
        "laplace_mean": _digest(law.laplace(H, parents)),
        "laplace_all": _digest(law.laplace(H, parents, sample="all")),
        "laplace_one": _digest(law.laplace(H, parents, sample=3)),
        "sample_codes": _digest(
            law.encode(law.sample(parents, n, np.random.default_rng(9), sample=2))
        ),
        "sample_mean_codes": _digest(law.encode(law.sample(parents, n, np.random.default_rng(9)))),
        "pair_loglik": _digest(
            pair_log_likelihood(params, encode_pairs(parents, recruits, fields), fields)
        ),
    }
    assert got == {
        "laplace_mean": "9c92f39572ebdc97",
        "laplace_all": "8038fd4f52b2098f",
        "laplace_one": "2df9bdbcf0bb1b7f",
        "sample_codes": "dd4ee3364cdca6da",
        "sample_mean_codes": "a2bfa7d26db9fee8",
        "pair_loglik": "2c70b3a8dc09ba74",
    }


def test_default_fit_equals_mixture_and_auto_without_matrix_fields():
    table = generate_study(25, np.random.default_rng(30))  # too few pairs for "auto" to pick TYPE
    data = RecruitmentData.from_frame(table, categorical=["TYPE", "SEX"])
    fits = {}
    for name, setting in (("default", None), ("auto", "auto")):
        model = (
            CovariateModel(data) if setting is None else CovariateModel(data, transitions=setting)
        )
        if setting == "auto":
            assert model.matrix_fields == []
        model.fit(draws=60, tune=60, chains=2, seed=11)
        fits[name] = model
    a, b = fits["default"].idata, fits["auto"].idata
    for group in ("posterior", "log_likelihood", "posterior_predictive", "observed_data"):
        x, y = getattr(a, group), getattr(b, group)
        assert sorted(x.data_vars) == sorted(y.data_vars)
        for var in x.data_vars:
            np.testing.assert_array_equal(x[var].values, y[var].values)
    assert "transitions" not in fits["default"].config  # the stored configuration is as before


# -- choosing ----------------------------------------------------------------------------------
def test_auto_rule():
    specs = [
        FieldSpec.categorical("few", ["a", "b", "c"]),
        FieldSpec.categorical("many", [f"l{i}" for i in range(AUTO_MAX_LEVELS + 1)]),
        FieldSpec.categorical("sparse", ["a", "b", "c", "d"]),
        FieldSpec.categorical("empty_row", ["a", "b"]),
    ]
    L = AUTO_MAX_LEVELS + 1
    N = np.zeros((4, L, L))
    N[0, :3, :3] = AUTO_MIN_RECRUITS  # 9 * MIN pairs >= 3 * MIN
    N[1, :L, :L] = AUTO_MIN_RECRUITS  # enough pairs but too many levels
    N[2, 0, :4] = [AUTO_MIN_RECRUITS - 1, AUTO_MIN_RECRUITS, 0, 0]  # 2 MIN - 1 < 4 MIN pairs
    N[3, 0, :2] = [AUTO_MIN_RECRUITS, AUTO_MIN_RECRUITS]  # level b never recruits: still picked
    counts = CategoricalCounts(N, np.zeros((4, L)))
    assert choose_matrix_fields(specs, counts, "auto") == ["few", "empty_row"]
    assert choose_matrix_fields(specs, counts, "auto", latent_classes=2) == []
    assert choose_matrix_fields(specs, counts, "mixture") == []
    assert choose_matrix_fields(specs, counts, "matrix") == ["few", "many", "sparse", "empty_row"]
    assert choose_matrix_fields(specs, counts, {"sparse": "matrix", "few": "mixture"}) == ["sparse"]
    with pytest.raises(ValueError, match="latent classes"):
        choose_matrix_fields(specs, counts, "matrix", latent_classes=2)
    with pytest.raises(ValueError, match="unknown"):
        choose_matrix_fields(specs, counts, {"nope": "matrix"})
    with pytest.raises(ValueError, match="must be"):
        choose_matrix_fields(specs, counts, "full")


def test_auto_on_a_study(study):
    model = CovariateModel(study, transitions="auto")
    assert model.matrix_fields == ["TYPE", "SEX"]  # 4 and 2 levels, over 1,400 pairs
    with pytest.raises(ModelError, match="latent classes"):
        CovariateModel(study, transitions="matrix", latent_classes=2)
    assert CovariateModel(study, transitions="auto", latent_classes=2).matrix_fields == []
    with pytest.raises(ModelError, match="transition_prior"):
        CovariateModel(study, transitions="matrix", transition_prior=0.0)


# -- wiring ----------------------------------------------------------------------------------------
def test_fit_settings_and_the_command_line_pass_the_option(study, monkeypatch):
    from planning.app import workflows
    from planning.app.cli import build_parser
    from planning.app.cli.fit import fit_settings

    args = build_parser().parse_args(["fit", "study.csv", "-o", "p.nc"])
    assert fit_settings(args).covariate_transitions == "mixture"
    args = build_parser().parse_args(["fit", "study.csv", "-o", "p.nc", "--transitions", "auto"])
    assert fit_settings(args).covariate_transitions == "auto"

    seen = {}

    class Stop(Exception):
        pass

    def spy(self, *args, **kwargs):  # the covariate model's fit: record the choice and stop
        seen["matrix_fields"] = list(self.matrix_fields)
        raise Stop

    class Count:  # stands in for the count model: nothing to fit
        n_observations = n_cells = 0

        def __init__(self, *args, **kwargs):
            self.idata, self.fit_notes = None, []

        def fit(self, **kwargs):
            pass

    monkeypatch.setattr(CovariateModel, "fit", spy)
    monkeypatch.setattr("rdsmodel.count.CountModel", Count)
    monkeypatch.setattr(workflows, "_check_complete", lambda *a, **k: None)
    with pytest.raises(Stop):
        workflows.fit_study(study, workflows.FitSettings(covariate_transitions="auto"))
    assert seen["matrix_fields"] == ["TYPE", "SEX"]
