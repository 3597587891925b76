"""Priorities: E[w(X') | x] exact against Monte Carlo, tables and overlaps, subgroups, clear errors.

*Monte Carlo setup*: the covariate model's offspring law
(``rdsmodel.covariates.InheritanceOffspring``) with two posterior samples,
two latent classes, a numeric field beside the categorical ones and a
frontier member with a missing value; 40,000 recruits drawn per frontier
member and sample with ``offspring.sample`` (one recruit per copy of the
recruiter, since the law draws a recruiter's latent class and missing values
once for all its recruits) and their realised weights
(:meth:`Priority.weight_of`) averaged. The exact expectation must lie within
4.5 Monte Carlo standard errors of the average (for 40+ comparisons at
once the chance of a false alarm is below 0.1%). The same against the
simulator's true law (``planning.simulation.offspring.OffspringLaw``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from planning.errors import PlanningError
from planning.priorities import (
    MAX_CELLS,
    Coverage,
    Pattern,
    Priority,
    law_layout,
    offspring_samples,
    subgroup_probabilities,
)
from planning.simulation.offspring import CategoricalTransition, LogNormalRegression, OffspringLaw
from rdsmodel.covariates.fields import FieldSpec
from rdsmodel.covariates.offspring import InheritanceOffspring
from rdsmodel.covariates.params import InheritanceParams

DRAWS = 40_000
Z_TOL = 4.5


def covariate_law() -> InheritanceOffspring:
    """Two posterior samples, two latent classes, SEX and DRUG categorical, AGE numeric."""
    fields = [
        FieldSpec.categorical("SEX", ["F", "M"]),
        FieldSpec.categorical("DRUG", ["yes", "no", "maybe"]),
        FieldSpec.numeric("AGE", np.linspace(18, 60, 50)),
    ]
    first = InheritanceOffspring.from_values(
        fields,
        rho={"SEX": [0.7, 0.5], "DRUG": 0.3},
        numeric={"AGE": (0.5, 0.85, 0.2)},
        class_weight=[0.6, 0.4],
        class_rho=0.5,
        class_pi={"SEX": [[0.3, 0.7], [0.1, 0.9]], "DRUG": [[0.2, 0.5, 0.3], [0.6, 0.2, 0.2]]},
    )
    second = InheritanceOffspring.from_values(
        fields,
        rho={"SEX": 0.4, "DRUG": [0.1, 0.6, 0.2]},
        numeric={"AGE": (0.3, 0.9, 0.3)},
        class_weight=[0.3, 0.7],
        class_rho=0.2,
        class_pi={"SEX": [[0.5, 0.5], [0.2, 0.8]], "DRUG": [[0.4, 0.4, 0.2], [0.1, 0.3, 0.6]]},
    )
    # the two laws' draws stacked as samples (fields that are not per-sample arrays kept)
    params = InheritanceParams(
        **{
            k: np.concatenate([getattr(first.params, k), getattr(second.params, k)])
            if isinstance(getattr(first.params, k), np.ndarray)
            else getattr(first.params, k)
            for k in InheritanceParams.__dataclass_fields__
        }
    )
    return InheritanceOffspring(fields, params)


FRONTIER = pd.DataFrame(
    {
        "SEX": ["F", "M", "F", None],
        "DRUG": ["yes", "no", "maybe", "yes"],
        "AGE": [25.0, 40.0, np.nan, 33.0],
    }
)


def monte_carlo(law, weight_of, samples):
    """Per sample and frontier member: mean and standard error of the realised weights."""
    rng = np.random.default_rng(42)
    mean = np.empty((len(samples), len(FRONTIER)))
    se = np.empty_like(mean)
    # one recruit per copy of each recruiter: the law draws a recruiter's latent class and
    # missing values once for all its recruits, so many recruits of one row would share them
    parents = FRONTIER.loc[np.repeat(np.arange(len(FRONTIER)), DRAWS)].reset_index(drop=True)
    owner = np.repeat(np.arange(len(FRONTIER)), DRAWS)
    for row, d in enumerate(samples):
        recruits = law.sample(parents, np.ones(len(parents), dtype=np.int64), rng, sample=d)
        w = weight_of(recruits)
        for i in range(len(FRONTIER)):
            wi = w[owner[recruits["parent"].to_numpy()] == i]
            mean[row, i], se[row, i] = wi.mean(), wi.std() / np.sqrt(wi.size)
    return mean, se


PRIORITIES = {
    "factors": Priority.parse("SEX=F:3,DRUG=yes:2,DRUG=maybe:0.5"),
    "zero factor": Priority.parse("SEX=M:0,DRUG=yes|maybe:4"),
    "table first": Priority.from_table("SEX,DRUG,weight\nF,yes,5\nF,,3\n,yes|maybe,2\nM,no,0\n"),
    "table max": Priority.from_table("SEX,DRUG,weight\n,yes,2\nF,,3\n", rule="max", default=0.5),
}


@pytest.mark.parametrize("name", sorted(PRIORITIES))
def test_expected_weights_equal_monte_carlo_from_the_covariate_model(name):
    priority, law = PRIORITIES[name], covariate_law()
    exact = priority.expected_weights(law, FRONTIER, samples=2)
    assert exact.shape == (2, len(FRONTIER))
    mean, se = monte_carlo(law, priority.weight_of, [0, 1])
    z = np.abs(exact - mean) / np.maximum(se, 1e-12)
    assert z.max() < Z_TOL, (exact, mean, se)
    plug_in = priority.expected_weights(law, FRONTIER)  # posterior-mean law
    assert plug_in.shape == (len(FRONTIER),) and np.all(plug_in >= 0)


def test_subgroup_probabilities_equal_monte_carlo():
    law = covariate_law()
    groups = [
        Pattern.parse("SEX=F"),
        Pattern.parse("SEX=F&DRUG=yes|maybe"),
        Pattern.parse("DRUG=no"),
    ]
    exact = subgroup_probabilities(groups, law, FRONTIER, 2)
    for j, group in enumerate(groups):
        mean, se = monte_carlo(law, lambda r, g=group: g.matches(r).astype(float), [0, 1])
        assert (np.abs(exact[..., j] - mean) / np.maximum(se, 1e-12)).max() < Z_TOL


def test_expected_weights_under_the_simulators_true_law():
    law = OffspringLaw(
        [
            CategoricalTransition.inheritance("SEX", ["F", "M"], 0.7, [0.15, 0.85]),
            LogNormalRegression.stationary("SIZE", 10.0, 0.5),
            CategoricalTransition.inheritance("DRUG", ["yes", "no"], 0.4),
        ]
    )
    frontier = pd.DataFrame(
        {"SEX": ["F", "M", "M"], "SIZE": [5.0, 12.0, 20.0], "DRUG": ["yes", "no", "yes"]}
    )
    priority = Priority.parse("SEX=F:5,DRUG=yes:2")
    exact = priority.expected_weights(law, frontier, samples=3)
    assert exact.shape == (3, 3) and np.all(
        exact == exact[0]
    )  # a true law has no posterior samples
    # by hand: E[5^1[F]] E[2^1[yes]] with P(F | F) = 0.7 + 0.3 * 0.15, P(yes | yes) = 0.4 + 0.6 * 0.5
    p_f = np.array([0.7 + 0.3 * 0.15, 0.3 * 0.15, 0.3 * 0.15])
    p_yes = np.array([0.7, 0.3, 0.7])
    np.testing.assert_allclose(exact[0], (1 + 4 * p_f) * (1 + p_yes), rtol=1e-12)
    with pytest.raises(PlanningError, match="SIZE is a numeric covariate"):
        Priority.parse("SIZE=5:2").expected_weights(law, frontier)


def test_a_zero_factor_gives_exactly_the_other_levels_probability():
    law = covariate_law()
    weights = Priority.parse("SEX=F:0").expected_weights(law, FRONTIER, samples=2)
    men = subgroup_probabilities([Pattern.parse("SEX=M")], law, FRONTIER, 2)[..., 0]
    np.testing.assert_allclose(weights, men, atol=1e-12)
    nobody = Priority.parse("SEX=F:0,SEX=M:0").expected_weights(law, FRONTIER, samples=2)
    assert np.all(nobody == 0.0)


def test_overlapping_rows_follow_the_rule():
    recruits = pd.DataFrame({"SEX": ["F", "F", "M", "M"], "DRUG": ["yes", "no", "yes", "no"]})
    table = "SEX,DRUG,weight\nF,,5\n,yes,2\n"
    first = Priority.from_table(table)
    reversed_ = Priority.from_table("SEX,DRUG,weight\n,yes,2\nF,,5\n")
    maximum = Priority.from_table(table, rule="max")
    assert first.weight_of(recruits).tolist() == [5, 5, 2, 1]  # a woman who uses: the first row, 5
    assert reversed_.weight_of(recruits).tolist() == [2, 5, 2, 1]  # ... now the first row says 2
    assert maximum.weight_of(recruits).tolist() == [5, 5, 2, 1]
    layout = law_layout(covariate_law())
    cells, weights, _ = reversed_.cell_weights(layout)
    assert dict(zip(cells, weights.tolist(), strict=True))[(0, 0)] == 2.0  # (F, yes)


def test_layout_offspring_samples_and_round_trip():
    law = covariate_law()
    layout = law_layout(law)
    assert layout.names == ("SEX", "DRUG", "AGE") and layout.levels[2] is None
    assert offspring_samples(law, 5).tolist() == [0, 1, 0, 1, 0]
    for priority in PRIORITIES.values():
        again = Priority.from_dict(priority.to_dict())
        np.testing.assert_allclose(
            again.expected_weights(law, FRONTIER, 2), priority.expected_weights(law, FRONTIER, 2)
        )
    assert [g.label for g in PRIORITIES["factors"].subgroups] == ["SEX=F", "DRUG=yes", "DRUG=maybe"]
    assert [g.label for g in PRIORITIES["table first"].subgroups] == [
        "SEX=F&DRUG=yes",
        "SEX=F",
        "DRUG=yes|maybe",
        "SEX=M&DRUG=no",
    ]
    assert PRIORITIES["factors"].max_weight == 6.0


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("SEX=F", "cannot read 'SEX=F'; write FIELD=LEVEL:FACTOR"),
        ("SEX:3", "cannot read 'SEX:3'"),
        ("SEX=F:-1", "must be a finite number >= 0"),
        ("SEX=F:lots", "cannot read the weight 'lots' of SEX=F"),
        ("SEX=F:inf", "must be a finite number >= 0"),
        ("SEX=F:2,SEX=F:3", "SEX=F is given twice"),
        ("", "no priorities given"),
    ],
)
def test_unreadable_priorities_say_what_to_write(text, message):
    with pytest.raises(PlanningError, match=message.replace("(", r"\(")):
        Priority.parse(text)


@pytest.mark.parametrize(
    ("priority", "message"),
    [
        (
            Priority.parse("SEXX=F:3"),
            "--priority: unknown covariate 'SEXX'; the covariate model has SEX, DRUG$",
        ),
        (
            Priority.parse("SEX=W:3"),
            "--priority: covariate SEX has no level 'W'; its levels are F, M$",
        ),
        (Priority.parse("AGE=30:2"), "--priority: AGE is a numeric covariate"),
        (
            Priority.from_table("SEX,DRUG,weight\nF,often,2\n", origin="--priority-file p.csv"),
            "--priority-file p.csv: covariate DRUG has no level 'often'; its levels are yes, no, maybe",
        ),
    ],
)
def test_unknown_fields_and_levels_are_named(priority, message):
    with pytest.raises(PlanningError, match=message):
        priority.expected_weights(covariate_law(), FRONTIER)


def test_priorities_without_a_covariate_model_are_refused():
    with pytest.raises(PlanningError, match="need the recruit-covariate model"):
        Priority.parse("SEX=F:2").expected_weights(None, FRONTIER)


@pytest.mark.parametrize(
    ("table", "message"),
    [
        (
            "SEX,DRUG\nF,yes\n",
            "needs a 'weight' column beside the covariate columns; it has SEX, DRUG",
        ),
        ("SEX,weight\nF,2\nM,many\n", "cannot read the weight 'many' of row 3"),
        ("SEX,weight\nF,2,3\n", "row 2 has 3 cells but the header has 2"),
        ("SEX,weight\n", "the priority table has no rows"),
        ("SEX,SEX,weight\nF,F,1\n", "names a column twice"),
    ],
)
def test_bad_priority_tables_are_refused_naming_the_row(table, message):
    with pytest.raises(PlanningError, match=message):
        Priority.from_table(table)


def test_priority_file_and_comments(tmp_path):
    path = tmp_path / "priorities.csv"
    path.write_text("# women who use first\nSEX,DRUG,weight\nF,yes,5\n\nF,*,3\n", encoding="utf-8")
    priority = Priority.from_table(path)
    assert priority.origin == f"--priority-file {path}"
    assert [r.weight for r in priority.rows] == [5.0, 3.0]
    with pytest.raises(PlanningError, match="cannot read the priority table"):
        Priority.from_table(tmp_path / "missing.csv")


def test_too_many_cells_are_refused():
    fields = [FieldSpec.categorical(f"F{k}", [f"L{j}" for j in range(9)]) for k in range(4)]
    law = InheritanceOffspring.from_values(fields, rho={f.name: 0.5 for f in fields})
    table = ",".join(f.name for f in fields) + ",weight\n" + "L0,L0,L0,L0,2\n"
    frontier = pd.DataFrame({f.name: ["L0"] for f in fields})
    assert 9**4 > MAX_CELLS
    with pytest.raises(PlanningError, match="level combinations number 6561"):
        Priority.from_table(table).expected_weights(law, frontier)


def test_coverage_requests():
    parsed = Coverage.parse("SEX=F:10, SEX=M&DRUG=yes|maybe:2.5")
    assert [str(c) for c in parsed] == ["SEX=F:10", "SEX=M&DRUG=yes|maybe:2.5"]
    assert Coverage.parse(parsed) == parsed
    for text, message in [
        ("SEX=F", "write SUBGROUP:N"),
        ("SEX:3", "write FIELD=LEVEL"),
        ("SEX=F:-2", ">= 0"),
        ("SEX=F:1,SEX=F:2", "given twice"),
        ("SEX=F&SEX=M:1", "named twice"),
    ]:
        with pytest.raises(PlanningError, match=message):
            Coverage.parse(text)
