"""The offspring law: exact ``laplace`` against Monte Carlo from ``sample``, encoding, shapes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rdsmodel.covariates import FieldSpec, InheritanceOffspring, InheritanceParams

REPLICATES = 20_000


def _parents() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "SEX": pd.array(["F", "M", "T", None, "F", "M"], dtype="string"),
            "RACE": pd.array(["a", "d", None, "b", "c", "a"], dtype="string"),
            "age": [25.0, 40.0, 31.0, 55.0, np.nan, 19.0],
        }
    )


def _monte_carlo(
    law: InheritanceOffspring,
    H: np.ndarray,
    parents: pd.DataFrame,
    sample,
    seed: int,
    class_probs: np.ndarray | None = None,
):
    """Mean and standard error of exp(-h_j(X')) over independent recruits of each parent."""
    reps = parents.loc[parents.index.repeat(REPLICATES)].reset_index(drop=True)
    if class_probs is not None:
        class_probs = np.repeat(class_probs, REPLICATES, axis=0)
    kids = law.sample(
        reps,
        np.ones(len(reps), dtype=np.int64),
        np.random.default_rng(seed),
        sample=sample,
        class_probs=class_probs,
    )
    codes = law.encode(kids)
    assert (codes >= 0).all() or any(s.missing_level for s in law.fields)
    f = np.arange(codes.shape[1])
    value = np.exp(-H[:, f[None, :], codes].sum(axis=2))  # (J, recruits)
    value = value.reshape(H.shape[0], len(parents), REPLICATES)
    mean = value.mean(axis=2).T
    se = value.std(axis=2, ddof=1).T / np.sqrt(REPLICATES)
    return mean, se


def _check(exact: np.ndarray, mean: np.ndarray, se: np.ndarray) -> None:
    z = (exact - mean) / np.maximum(se, 1e-12)
    # 6 parents x 5 features: the largest of 30 |z| exceeds 4.5 with probability ~2e-4.
    assert np.abs(z).max() < 4.5, np.abs(z).max()
    assert np.mean(z**2) < 3.0


def _random_H(law: InheritanceOffspring, rng: np.random.Generator, J: int = 5) -> np.ndarray:
    H = rng.exponential(0.8, (J, len(law.fields), law.max_levels + 1))
    H[0] = 0.0  # exp(0) = 1 exactly
    H[1, 0, 0] = 60.0  # a near-zero factor
    return H


def test_laplace_matches_monte_carlo(mixed_law):
    rng = np.random.default_rng(1)
    H = _random_H(mixed_law, rng)
    exact = mixed_law.laplace(H, _parents())
    assert exact.shape == (6, 5)
    np.testing.assert_allclose(exact[:, 0], 1.0, rtol=1e-12)
    mean, se = _monte_carlo(mixed_law, H, _parents(), None, seed=2)
    _check(exact, mean, se)


@pytest.fixture(scope="module")
def posterior_law(age_spec) -> InheritanceOffspring:
    """Three 'posterior samples' with rho varying by recruiter level."""
    rng = np.random.default_rng(4)
    fields = [
        FieldSpec.categorical("SEX", ["F", "M", "T"]),
        FieldSpec.categorical("RACE", list("abcd")),
        age_spec,
    ]
    S, L = 3, 4
    rho = rng.uniform(0.1, 0.9, (S, 2, L))
    pi = np.zeros((S, 1, 2, L))
    pi[:, 0, 0, :3] = rng.dirichlet(np.ones(3), S)
    pi[:, 0, 1, :] = rng.dirichlet(np.ones(4), S)
    params = InheritanceParams(
        rho=rho,
        pi=pi,
        class_weight=np.ones((S, 1)),
        class_rho=np.zeros(S),
        intercept=rng.normal(1.7, 0.1, (S, 1)),
        slope=rng.uniform(0.3, 0.6, (S, 1)),
        sigma=rng.uniform(0.15, 0.3, (S, 1)),
    )
    return InheritanceOffspring(fields, params, numeric_bins=4)


def test_laplace_posterior_samples(posterior_law):
    rng = np.random.default_rng(5)
    H = _random_H(posterior_law, rng)
    parents = _parents()
    every = posterior_law.laplace(H, parents, sample="all")
    assert every.shape == (3, 6, 5)
    some = posterior_law.laplace(H, parents, sample=np.array([2, 0]))
    np.testing.assert_allclose(some, every[[2, 0]], rtol=1e-12)
    one = posterior_law.laplace(H, parents, sample=1)
    np.testing.assert_allclose(one, every[1], rtol=1e-12)
    mean, se = _monte_carlo(posterior_law, H, parents, 1, seed=6)
    _check(one, mean, se)
    at_mean = posterior_law.laplace(H, parents)
    plug = InheritanceOffspring(posterior_law.fields, posterior_law.params.mean(), numeric_bins=4)
    np.testing.assert_allclose(at_mean, plug.laplace(H, parents, sample=0), rtol=1e-12)


def test_laplace_latent_classes_matches_monte_carlo(age_spec):
    fields = [
        FieldSpec.categorical("SEX", ["F", "M", "T"]),
        FieldSpec.categorical("RACE", list("abcd")),
        age_spec,
    ]
    law = InheritanceOffspring.from_values(
        fields,
        rho={"SEX": 0.4, "RACE": [0.2, 0.5, 0.7, 0.9]},
        numeric={"age": (1.7, 0.5, 0.2)},
        class_weight=[0.6, 0.4],
        class_rho=0.8,
        class_pi={
            "SEX": [[0.8, 0.15, 0.05], [0.1, 0.3, 0.6]],
            "RACE": [[0.7, 0.1, 0.1, 0.1], [0.05, 0.05, 0.2, 0.7]],
        },
    )
    assert law.n_classes == 2
    q = law.class_probabilities(_parents())
    assert q.shape == (6, 2) and np.allclose(q.sum(axis=1), 1.0)
    rng = np.random.default_rng(7)
    H = _random_H(law, rng)
    exact = law.laplace(H, _parents())
    mean, se = _monte_carlo(law, H, _parents(), None, seed=8)
    _check(exact, mean, se)
    # Given classes: one-hot recruiters' classes change the answer, and agree with MC too.
    onehot = np.eye(2)[[0, 1, 0, 1, 0, 1]]
    given = law.laplace(H, _parents(), class_probs=onehot)
    assert not np.allclose(given, exact)
    mean, se = _monte_carlo(law, H, _parents(), None, seed=9, class_probs=onehot)
    _check(given, mean, se)


def test_missing_as_level_offspring():
    fields = [
        FieldSpec.categorical("SEX", ["F", "M"], missing_level=True),
        FieldSpec.categorical("RACE", list("ab")),
    ]
    law = InheritanceOffspring.from_values(
        fields, rho={"SEX": 0.5, "RACE": 0.3}, pi={"SEX": [0.4, 0.4, 0.2], "RACE": [0.5, 0.5]}
    )
    parents = pd.DataFrame({"SEX": pd.array([None, "F"], dtype="string"), "RACE": ["a", None]})
    codes = law.encode(parents)
    assert codes.tolist() == [[2, 0], [0, -1]]
    H = _random_H(law, np.random.default_rng(9))
    mean, se = _monte_carlo(law, H, parents, None, seed=10)
    _check(law.laplace(H, parents), mean, se)
    kids = law.sample(parents, np.array([400, 0]), np.random.default_rng(0))
    assert kids["SEX"].isna().mean() == pytest.approx(0.5 + 0.5 * 0.2, abs=0.07)


def test_sample_frame_and_encoding(mixed_law):
    parents = _parents()
    kids = mixed_law.sample(parents, np.array([0, 3, 1, 2, 0, 4]), np.random.default_rng(3))
    assert kids.columns.tolist() == ["parent", "SEX", "RACE", "age"]
    assert kids["parent"].tolist() == [1, 1, 1, 2, 3, 3, 5, 5, 5, 5]
    assert str(kids["SEX"].dtype) == "string" and kids["age"].dtype == np.float64
    assert kids[["SEX", "RACE", "age"]].notna().all().all()
    again = mixed_law.sample(parents, np.array([0, 3, 1, 2, 0, 4]), np.random.default_rng(3))
    pd.testing.assert_frame_equal(kids, again)
    codes = mixed_law.encode(kids)
    decoded = mixed_law.decode(codes)
    assert decoded["SEX"].tolist() == kids["SEX"].tolist()
    assert mixed_law.level_labels[2][0].startswith("<") and len(mixed_law.level_labels[2]) == 5
    assert mixed_law.n_levels == [3, 4, 5]


def test_bad_inputs(mixed_law):
    parents = _parents()
    with pytest.raises(ValueError, match="H must have shape"):
        mixed_law.laplace(np.zeros((2, 3, 2)), parents)
    with pytest.raises(ValueError, match="nonnegative"):
        mixed_law.laplace(-np.ones((2, 3, 5)), parents)
    with pytest.raises(ValueError, match="not among its levels"):
        mixed_law.laplace(np.zeros((2, 3, 5)), parents.assign(SEX="X"))
    with pytest.raises(ValueError, match="parents lack"):
        mixed_law.laplace(np.zeros((2, 3, 5)), parents.drop(columns="age"))
    with pytest.raises(ValueError, match="n_children"):
        mixed_law.sample(parents, np.array([1, 2]), np.random.default_rng(0))
    with pytest.raises(ValueError, match="out of range"):
        mixed_law.laplace(np.zeros((2, 3, 5)), parents, sample=5)
