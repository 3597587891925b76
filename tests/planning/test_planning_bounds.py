"""Misspecification bounds: validity on random instances (brute force), tightness, reports.

Single round: realised loss <= tightened bound <= two-term form <= paper's form,
always (hypothesis). Multi-round: the realised loss of a plan made with the
estimated laws, scored under the true laws by exact dynamic programming, never
exceeds the tightened multi-round bound -- in the population surrogate world
(heterogeneous frontier, i.i.d. later recruits, gamma up to 1) and in a
two-type world where the comparator knows each recruit's type.
"""

from __future__ import annotations

import functools
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from planning_helpers import allocations, nb_curves, random_curves, value
from reference_dp import evaluate_policy, reference_q_values
from scipy import stats

from planning import (
    BoundReport,
    Estimate,
    frontier_tv_from_samples,
    greedy_allocation,
    heterogeneity_tv,
    multi_round_bound,
    ppc_tv,
    single_round_bound,
    single_round_report,
    surrogate_table,
    transition_tv_from_samples,
)
from planning.bounds import (
    multi_round_report,
    population_error,
    single_round_terms,
    tightened_multi_round_bound,
    tightened_single_round_bound,
    truncated_tv,
)
from planning.curves import pmf_from_survival, tv_distance


def perturb(rng, curves, scale):
    noisy = np.clip(curves + rng.normal(0, scale, curves.shape), 0, 1)
    return np.minimum.accumulate(noisy, axis=-1)


# ------------------------------------------------------------------ single round


@settings(max_examples=300, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 7),
    length=st.integers(1, 6),
    budget=st.integers(0, 14),
    scale=st.sampled_from([0.01, 0.1, 0.3, 1.0]),
    ties=st.booleans(),
    capped=st.booleans(),
    weighted=st.booleans(),
)
def test_single_round_loss_le_tightened_le_paper(
    seed, n, length, budget, scale, ties, capped, weighted
):
    rng = np.random.default_rng(seed)
    true = random_curves(rng, (n, length), ties=ties)
    hat = perturb(rng, true, scale)
    if ties:
        hat = np.round(hat * 4) / 4
    caps = rng.integers(0, length + 1, n) if capped else None
    weights = rng.random(n) * 2 if weighted else None
    plan = greedy_allocation(hat, budget, caps=caps, weights=weights)
    spend = int(plan.sum())
    best = greedy_allocation(true, spend, caps=caps, weights=weights)
    loss = value(true, best, weights) - value(true, plan, weights)
    terms = single_round_terms(hat, plan, np.abs(true - hat), caps, weights)
    paper = single_round_bound(true, hat, spend, weights)
    assert terms.plan_is_greedy
    assert loss >= -1e-12
    assert loss <= terms.total[0] + 1e-12
    assert terms.total[0] <= terms.two_term[0] + 1e-12
    assert terms.two_term[0] <= paper + 1e-12
    assert terms.paper[0] == pytest.approx(paper, abs=1e-12)
    parts = terms.passed_over[0] + terms.own[0] + terms.margin[0]
    assert parts == pytest.approx(terms.total[0], abs=1e-12)
    assert terms.margin[0] <= 1e-12


@settings(max_examples=200, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 5),
    length=st.integers(1, 4),
    budget=st.integers(0, 10),
    scale=st.sampled_from([0.05, 0.3, 1.0]),
)
def test_exchange_form_holds_for_any_plan(seed, n, length, budget, scale):
    """A plan that is not the greedy on S^ (e.g. robust): the exchange form still bounds its loss."""
    rng = np.random.default_rng(seed)
    true = random_curves(rng, (n, length))
    hat = perturb(rng, true, scale)
    caps = np.full(n, length)
    options = [k for k in allocations(n, budget, caps) if k.sum() == min(budget, n * length)]
    plan = options[int(rng.integers(len(options)))]
    spend = int(plan.sum())
    loss = value(true, greedy_allocation(true, spend)) - value(true, plan)
    terms = single_round_terms(hat, plan, np.abs(true - hat))
    assert loss <= terms.total[0] + 1e-12
    if not terms.plan_is_greedy:
        assert terms.total[0] == terms.exchange[0]


def test_single_round_bounds_are_tight_and_never_double_count():
    true = np.array([[0.0], [1.0]])
    hat = np.array([[0.5], [0.5]])  # the tie goes to person 0
    loss = value(true, greedy_allocation(true, 1)) - value(true, greedy_allocation(hat, 1))
    assert loss == pytest.approx(1.0)
    assert single_round_bound(true, hat, 1) == pytest.approx(loss)
    assert tightened_single_round_bound(true, hat, budget=1) == pytest.approx(loss)
    # levels beyond the budget do not count; samples broadcast
    assert single_round_bound(np.array([[0.5, 0.4]]), np.array([[0.5, 0.0]]), 1) == 0.0
    per_sample = single_round_bound(np.stack([true, hat]), hat, 1)
    np.testing.assert_allclose(per_sample, [1.0, 0.0])
    # one person, one coupon: |f - f^|(k*) + |f - f^|(k^) without cancelling would be 2|Delta|
    one = single_round_terms(np.array([[0.5]]), [1], np.array([[0.3]]))
    assert one.two_term[0] == pytest.approx(0.3) and one.total[0] == 0.0
    # a clear decision beats an error smaller than its margin
    clear = single_round_terms(np.array([[0.9], [0.1]]), [1, 0], 0.3)
    assert clear.total[0] == 0.0 < clear.paper[0]
    close = single_round_terms(np.array([[0.55], [0.45]]), [1, 0], 0.3)
    assert close.total[0] == pytest.approx(0.6 - 0.1)  # (0.45+0.3) - (0.55-0.3)
    assert close.margin[0] == pytest.approx(-0.1)


def test_single_round_report_estimates_and_verdicts():
    rng = np.random.default_rng(7)
    samples = nb_curves(rng, 50, 12, 6)
    plan = greedy_allocation(samples.mean(axis=0), 10)
    report = single_round_report(samples, 10)
    terms = single_round_terms(samples.mean(axis=0), plan, np.abs(samples - samples.mean(0)))
    assert report.total == pytest.approx(np.quantile(terms.total, 0.9, method="higher"))
    assert report.paper_total == pytest.approx(np.quantile(terms.paper, 0.9, method="higher"))
    assert report.total <= report.paper_total
    assert sum(p.value for p in report.parts) == pytest.approx(report.total)
    assert "posterior quantile" in report.parts[0].method
    assert report.informative is (report.total <= report.plan_value)
    data = report.to_dict()
    assert {"total", "parts", "informative", "paper_total"} <= set(data)
    json.dumps(data, allow_nan=False)
    assert BoundReport.from_dict(data).to_dict() == data
    # a plan value below the bound: the words say it does not inform and name a part
    small = single_round_report(samples, 10, plan_value=report.total / 2)
    assert small.informative is False
    assert "Does not inform" in small.verdict and "dominates" in small.verdict
    assert "Does not inform" in small.text()
    # PPC check: the tightened form at the PPC distance, beside the paper's n * s * TV
    checked = single_round_report(samples, 10, ppc=Estimate(0.05, "ppc"))
    tight, paper = (c.value for c in checked.checks)
    assert tight <= paper == pytest.approx(12 * 6 * 0.05)
    # a robust-style plan that is not the plug-in greedy: only the exchange form
    other = plan.copy()
    top = int(np.argmax(other))
    other[top] -= 1
    other[int(np.argmin(other))] += 1
    robust = single_round_report(samples, 10, allocation=other)
    assert "does not maximise" in robust.verdict
    # old dictionaries (without the verdict keys) still load
    legacy = {key: data[key] for key in ("kind", "total", "parts", "finite", "message")}
    assert BoundReport.from_dict(legacy).informative is None


# ------------------------------------------------------------------ multi-round helpers


def _score(curves, k, table, left, gamma):
    """Round-1 recruits plus gamma E[table(left, N)] for a frontier with its own laws."""
    pmf = pmf_from_survival(curves)
    poly = np.ones(1)
    for i in np.flatnonzero(k):
        poly = np.convolve(poly, np.r_[pmf[i, : k[i]], curves[i, k[i] - 1]])
    later = sum(poly[m] * table[left, min(m, left)] for m in range(poly.size))
    return value(curves, k) + gamma * later


def _random_law(rng, size):
    return rng.dirichlet(np.ones(size) * rng.uniform(0.3, 2.0))


def _surrogate_world_loss(true_front, est_front, true_pop, est_pop, gamma, budget, caps):
    """Exact loss of the plan made with estimated laws: round 1 over every allocation,
    later rounds the estimated table's spends, all scored under the true laws."""
    u_true = surrogate_table(true_pop, budget, gamma)
    u_est = surrogate_table(est_pop, budget, gamma)
    policy = np.argmax(reference_q_values(est_pop, budget, gamma, u_est), axis=2)
    v_policy = evaluate_policy(true_pop, budget, gamma, policy)
    options = list(allocations(true_front.shape[0], budget, caps))
    plan = max(options, key=lambda k: _score(est_front, k, u_est, budget - int(k.sum()), gamma))
    optimum = max(_score(true_front, k, u_true, budget - int(k.sum()), gamma) for k in options)
    realised = _score(true_front, plan, v_policy, budget - int(plan.sum()), gamma)
    return optimum - realised, plan, u_est


@settings(max_examples=150, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    budget=st.integers(1, 7),
    n=st.integers(1, 3),
    length=st.integers(1, 3),
    gamma=st.sampled_from([0.1, 0.5, 0.8, 0.95, 1.0]),
    scale=st.sampled_from([0.02, 0.1, 0.3]),
    capped=st.booleans(),
)
def test_multi_round_loss_never_exceeds_tightened_bound(
    seed, budget, n, length, gamma, scale, capped
):
    rng = np.random.default_rng(seed)
    size = int(rng.integers(2, 5))
    true_pop = _random_law(rng, size)
    est_pop = np.clip(true_pop + rng.normal(0, scale, size), 0, None) + 1e-3
    est_pop /= est_pop.sum()
    true_front = random_curves(rng, (n, length), ties=seed % 3 == 0)
    est_front = perturb(rng, true_front, scale)
    caps = rng.integers(0, length + 1, n) if capped else np.full(n, length)
    loss, plan, u_est = _surrogate_world_loss(
        true_front, est_front, true_pop, est_pop, gamma, budget, caps
    )
    assert loss >= -1e-9
    plain = tightened_multi_round_bound(
        true_front, est_front, plan, true_pop, est_pop, gamma, budget, caps=caps
    )
    ranged = tightened_multi_round_bound(
        true_front, est_front, plan, true_pop, est_pop, gamma, budget, caps=caps, table=u_est
    )
    assert loss <= ranged.total[0] + 1e-9
    assert ranged.total[0] <= plain.total[0] + 1e-9
    assert np.isfinite(plain.total[0])  # finite at gamma = 1 too
    np.testing.assert_allclose(
        ranged.total, ranged.frontier + ranged.transition + ranged.heterogeneity
    )


def _two_type_value(laws, weights, budget, gamma):
    """Exact optimum when later recruits are of two types with their own laws, and the
    planner sees each recruit's type (any allocation, per state (coupons left, counts))."""
    size = budget + 2
    law = [np.r_[x, np.zeros(size)][:size] for x in laws]
    surv = [1 - np.cumsum(x) for x in law]

    def truncated(x, k):
        return np.r_[x[:k], 1 - x[:k].sum()]

    def multisets(count, total, largest=None):
        largest = total if largest is None else largest
        if count == 0:
            yield ()
            return
        for first in range(min(total, largest), -1, -1):
            for rest in multisets(count - 1, total - first, first):
                yield (first, *rest)

    def next_counts(poly):
        for m in range(1, len(poly)):
            for a in range(m + 1):
                yield poly[m] * stats.binom.pmf(a, m, weights[0]), (a, m - a)

    @functools.lru_cache(None)
    def v(left, counts):
        if left == 0 or sum(counts) == 0:
            return 0.0
        best = 0.0
        for first in multisets(counts[0], left):
            for second in multisets(counts[1], left - sum(first)):
                spend = sum(first) + sum(second)
                poly, now = np.ones(1), 0.0
                for t, group in enumerate((first, second)):
                    for k in group:
                        if k:
                            poly = np.convolve(poly, truncated(law[t], k))
                            now += surv[t][:k].sum()
                later = sum(p * v(left - spend, c) for p, c in next_counts(poly)) if spend else 0.0
                best = max(best, now + gamma * later)
        return best

    def score(curves, k):
        pmf = pmf_from_survival(curves)
        poly = np.ones(1)
        for i in np.flatnonzero(k):
            poly = np.convolve(poly, np.r_[pmf[i, : k[i]], curves[i, k[i] - 1]])
        left = budget - int(k.sum())
        return value(curves, k) + gamma * sum(p * v(left, c) for p, c in next_counts(poly))

    return score


@pytest.mark.parametrize("seed", range(8))
def test_multi_round_bound_covers_a_comparator_that_knows_types(seed):
    rng = np.random.default_rng(200 + seed)
    budget, n, length = int(rng.integers(2, 5)), int(rng.integers(1, 3)), 2
    gamma = float(rng.choice([0.5, 0.9, 1.0]))
    if seed % 2:  # extreme types and no estimation error: only the heterogeneity part is left
        laws = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
        est_scale = 0.0
    else:
        laws = np.array([_random_law(rng, 3), _random_law(rng, 3)])
        est_scale = 0.1
    weights = rng.dirichlet([2.0, 2.0])
    pooled = weights @ laws
    est_pop = np.clip(pooled + rng.normal(0, est_scale, 3), 0, None) + 1e-3 * (est_scale > 0)
    est_pop /= est_pop.sum()
    true_front = random_curves(rng, (n, length))
    est_front = perturb(rng, true_front, est_scale) if est_scale else true_front.copy()
    u_est = surrogate_table(est_pop, budget, gamma)
    policy = np.argmax(reference_q_values(est_pop, budget, gamma, u_est), axis=2)
    v_policy = evaluate_policy(pooled, budget, gamma, policy)  # type-blind: pooled law suffices
    options = list(allocations(n, budget, np.full(n, length)))
    plan = max(options, key=lambda k: _score(est_front, k, u_est, budget - int(k.sum()), gamma))
    typed = _two_type_value(laws, weights, budget, gamma)
    optimum = max(typed(true_front, k) for k in options)
    realised = _score(true_front, plan, v_policy, budget - int(plan.sum()), gamma)
    loss = optimum - realised
    terms = tightened_multi_round_bound(
        true_front,
        est_front,
        plan,
        pooled,
        est_pop,
        gamma,
        budget,
        table=u_est,
        population_laws=(laws, weights),
    )
    assert loss <= terms.total[0] + 1e-9
    if seed % 2:
        assert terms.frontier[0] == pytest.approx(0.0) and terms.transition[0] == pytest.approx(0)
        assert terms.heterogeneity[0] > 0


def test_population_error_and_truncated_tv():
    rng = np.random.default_rng(3)
    p = _random_law(rng, 5)
    q = _random_law(rng, 5)
    tv = truncated_tv(p, q)
    for k in range(1, 5):
        lp = np.r_[p[:k], p[k:].sum()]
        lq = np.r_[q[:k], q[k:].sum()]
        assert tv[k - 1] == pytest.approx(float(tv_distance(lp, lq)))
    assert np.all(np.diff(tv) >= -1e-15)
    e = np.abs(np.cumsum(p)[:4] - np.cumsum(q)[:4])
    errors = population_error(e, tv, 0.9, 4)
    assert errors[0] == 0 and np.all(np.diff(errors) >= 0)
    np.testing.assert_array_equal(population_error(np.zeros(4), np.zeros(4), 0.9, 4), 0.0)


def test_multi_round_report_words_json_and_gamma_one():
    rng = np.random.default_rng(4)
    samples = nb_curves(rng, 40, 10, 5)
    means = rng.uniform(1.0, 2.0, 40)
    pooled = stats.nbinom.pmf(np.arange(30)[None], 2.0, (2.0 / (2.0 + means))[:, None])
    plan = greedy_allocation(samples.mean(axis=0), 6)
    report = multi_round_report(
        samples, plan, pooled, 0.8, 20, plan_value=1.0, ppc=Estimate(0.02, "ppc")
    )
    assert report.kind == "multi-round" and report.finite
    assert sum(p.value for p in report.parts) == pytest.approx(report.total)
    assert [p.name for p in report.parts] == ["frontier", "transition", "heterogeneity"]
    assert report.informative is False and "Does not inform" in report.verdict
    assert report.paper_total is not None and report.total < report.paper_total
    assert [c.name for c in report.checks] == ["same-form bound", "frontier (PPC)"]
    same_form = report.parts[0].value + report.parts[1].value
    assert report.checks[0].value == pytest.approx(same_form)
    between = multi_round_report(
        samples, plan, pooled, 0.8, 20, plan_value=(same_form + report.total) / 2
    )
    assert between.informative is False and "planner's own form" in between.verdict
    data = report.to_dict()
    json.dumps(data, allow_nan=False)
    assert BoundReport.from_dict(data).to_dict() == data
    unbounded = multi_round_report(samples, plan, pooled, 1.0, 20, plan_value=1e6)
    assert unbounded.paper_total is None and unbounded.total is not None
    assert unbounded.informative is True
    assert "no finite value at gamma = 1" in unbounded.message
    text = unbounded.text()
    assert "inf" not in text.replace("infinite", "").replace("informs", "").replace("inform", "")
    json.dumps(unbounded.to_dict(), allow_nan=False)
    # without the heterogeneity part it can only be smaller
    plain = multi_round_report(samples, plan, pooled, 0.8, 20, heterogeneity=False, table=None)
    assert plain.parts[2].value == 0.0 and plain.informative is None


# ------------------------------------------------------------------ paper's form (kept)


@pytest.mark.parametrize("seed", range(6))
def test_multi_round_bound_holds_for_the_population_dp(seed):
    """Plan with the DP on an estimated law, score under the true law, vs the true optimum."""
    rng = np.random.default_rng(seed)
    budget = 6
    for _ in range(4):
        size = int(rng.integers(2, 5))
        true = _random_law(rng, size)
        est = np.clip(true + rng.normal(0, rng.choice([0.02, 0.2]), size), 0, None)
        est /= est.sum()
        gamma = float(rng.choice([0.5, 0.7, 0.9]))
        optimum = surrogate_table(true, budget, gamma)
        est_table = surrogate_table(est, budget, gamma)
        policy = np.argmax(reference_q_values(est, budget, gamma, est_table), axis=2)
        realised = evaluate_policy(true, budget, gamma, policy)
        tv = float(tv_distance(np.r_[true, 0.0], np.r_[est, 0.0]))
        for r in range(1, budget + 1):
            for n in range(1, budget + 1):
                loss = optimum[r, n] - realised[r, n]
                assert loss >= -1e-9
                # the frontier is n members of the population: sum_i TV = n tv
                report = multi_round_bound(n * tv, tv, 0.0, gamma, r)
                assert loss <= report.total + 1e-9


def test_multi_round_parts_and_no_bound_at_gamma_one():
    report = multi_round_bound(0.5, 0.1, 0.2, 0.9, 10)
    c = 2 * 0.9 * 10 / 0.1
    parts = {p.name: p.value for p in report.parts}
    assert parts == pytest.approx(
        {"frontier": 2 * 1.9 * 10 * 0.5, "transition": c * 0.1, "heterogeneity": c * 10 * 0.2}
    )
    assert report.total == pytest.approx(sum(parts.values()))
    unbounded = multi_round_bound(Estimate(0.5, "spread"), 0.1, 0.2, 1.0, 10)
    assert not unbounded.finite and unbounded.total is None
    text = unbounded.text()
    assert "no finite bound" in text and "inf" not in text.replace("infinite", "")
    json.dumps(unbounded.to_dict(), allow_nan=False)
    assert unbounded.parts[0].method == "spread"
    with pytest.raises(ValueError, match="gamma"):
        multi_round_bound(0.1, 0.1, 0.1, 0.0, 3)
    with pytest.raises(ValueError, match="finite"):
        multi_round_bound(float("inf"), 0.1, 0.1, 0.5, 3)


def test_estimates_from_posterior_samples():
    rng = np.random.default_rng(7)
    samples = nb_curves(rng, 50, 8, 6)
    same = np.repeat(samples[:1], 5, axis=0)
    assert frontier_tv_from_samples(same).value == pytest.approx(0.0, abs=1e-12)
    spread = frontier_tv_from_samples(samples, quantile=0.9)
    assert spread.value > 0 and "90% posterior quantile" in spread.method
    assert frontier_tv_from_samples(samples, quantile=0.5).value <= spread.value
    pops = stats.poisson.pmf(np.arange(20)[None], rng.uniform(1, 2, (30, 1)))
    assert transition_tv_from_samples(pops).value > 0
    assert transition_tv_from_samples(pops[:1].repeat(3, 0)).value == pytest.approx(0, abs=1e-12)
    laws = pmf_from_survival(samples[0])
    assert heterogeneity_tv(laws).value > 0
    assert heterogeneity_tv(laws[:1].repeat(4, 0)).value == pytest.approx(0.0)


def test_ppc_estimate_separates_fit_from_misfit():
    rng = np.random.default_rng(8)
    rows = 400
    coupons = rng.integers(1, 4, rows)
    curves = np.repeat(nb_curves(rng, 20, 1, 5), rows, axis=1)  # everyone the same law
    law = pmf_from_survival(curves.mean(axis=0)[0])
    capacity = rng.choice(law.size, size=rows, p=law / law.sum())
    good = ppc_tv(np.minimum(capacity, coupons), coupons, curves, seed=1)
    bad = ppc_tv(np.zeros(rows, dtype=int), coupons, curves, seed=1)
    assert good.value < 0.05 < 0.3 < bad.value
    assert "posterior predictive" in bad.method
    with pytest.raises(ValueError, match="redeemed"):
        ppc_tv(coupons + 1, coupons, curves)
