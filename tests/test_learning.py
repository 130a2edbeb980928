"""Reading numbers back off tables (the inverse of each combination rule) and learning tables from cases."""

from __future__ import annotations

import inspect

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from twitchcause.model import cpd, learning
from twitchcause.model.network import node_tables
from twitchcause.priors import iter_entries, load_priors, numbers_of

ORDERED = ("none", "brief", "painful")


@pytest.fixture(scope="module")
def priors():
    return load_priors()


def probability():
    return st.floats(0.01, 0.99)


@st.composite
def distributions(draw, n=3):
    weights = np.array(draw(st.lists(st.floats(0.05, 1.0), min_size=n, max_size=n)))
    return weights / weights.sum()


@st.composite
def parent_lists(draw, states=(("no", "yes"), ("none", "moderate", "high"))):
    """1 to 3 parents, each with its states; the first state of each is the one without an effect."""
    count = draw(st.integers(1, 3))
    return [(f"p{i}", draw(st.sampled_from(states))) for i in range(count)]


RULES = [
    obj
    for obj in vars(cpd).values()
    if isinstance(obj, type) and obj.__module__ == cpd.__name__ and hasattr(obj, "table")
]
# rules of a finding: a leak, one distribution per cause, and the cause state that is "at work"
FINDING_RULES = [rule for rule in RULES if "active_state" in inspect.signature(rule).parameters]


def test_every_combination_rule_has_an_inverse():
    assert RULES and FINDING_RULES
    assert [r.__name__ for r in RULES if r.__name__ not in learning.INVERSES] == []


@settings(max_examples=60, deadline=None)
@given(parents=parent_lists(), leak=probability(), data=st.data())
def test_noisy_or_round_trip(parents, leak, data):
    links = {name: {s: data.draw(probability()) for s in states[1:]} for name, states in parents}
    rule = cpd.noisy_or(leak, links)
    read = learning.read_numbers(rule, rule.table(parents), parents, ("no", "yes"))
    assert read.leak == pytest.approx(leak, abs=1e-12)
    assert read.by_parent.keys() == links.keys()
    for name in links:
        assert read.by_parent[name] == pytest.approx(links[name], abs=1e-12)


@pytest.mark.parametrize("rule_type", FINDING_RULES, ids=lambda r: r.__name__)
@settings(max_examples=40, deadline=None)
@given(parents=parent_lists(states=(("no", "yes"),)), leak=distributions(), data=st.data())
def test_finding_rules_round_trip(rule_type, parents, leak, data):
    by_cause = {name: data.draw(distributions()) for name, _ in parents}
    rule = rule_type(leak, by_cause, "yes")
    read = learning.read_numbers(rule, rule.table(parents), parents, ORDERED)
    assert list(read.leak.values()) == pytest.approx(list(leak), abs=1e-12)
    for name, numbers in by_cause.items():
        assert list(read.by_parent[name].values()) == pytest.approx(list(numbers), abs=1e-12)
        assert list(read.by_parent[name]) == list(ORDERED)


def test_fixed_round_trip():
    rule = cpd.fixed(np.array([0.5, 0.3, 0.2]))
    assert learning.read_numbers(rule, rule.table([]), [], ORDERED).leak == pytest.approx(
        {"none": 0.5, "brief": 0.3, "painful": 0.2}
    )


def test_noisy_or_link_is_read_from_the_column_where_only_that_parent_pushes():
    # Worked by hand: leak 0.1, link 0.5 -> P(yes | parent pushes) = 1 - 0.9 * 0.5 = 0.55
    table = np.array([[0.9, 0.45], [0.1, 0.55]])
    read = learning.read_numbers(cpd.noisy_or(0.0, {"a": {"yes": 0.0}}), table, [("a", ("no", "yes"))], ("no", "yes"))
    assert read.leak == pytest.approx(0.1) and read.by_parent["a"]["yes"] == pytest.approx(0.5)


def test_noisy_numbers_are_clipped_to_the_floor_and_stay_distributions():
    # a learned column below the leak's cumulative: the ratio would step outside a distribution
    rule = cpd.noisy_max(np.array([0.6, 0.3, 0.1]), {"a": np.array([0.2, 0.4, 0.4])}, "yes")
    table = np.array([[0.6, 0.7], [0.3, 0.2], [0.1, 0.1]])  # F_column(none) 0.7 > F_leak(none) 0.6
    read = learning.read_numbers(rule, table, [("a", ("no", "yes"))], ORDERED, floor=1e-4)
    values = np.array(list(read.by_parent["a"].values()))
    assert values.min() >= 1e-4 * 0.99 and values.sum() == pytest.approx(1.0)


def test_a_noisy_cumulative_that_falls_is_pooled_not_raised():
    # F_column / F_leak = (0.8, 0.7, 1): the violating pair is averaged to (0.75, 0.75)
    rule = cpd.noisy_max(np.array([0.5, 0.3, 0.2]), {"a": np.array([0.5, 0.3, 0.2])}, "yes")
    table = np.array([[0.5, 0.4], [0.3, 0.16], [0.2, 0.44]])
    read = learning.read_numbers(rule, table, [("a", ("no", "yes"))], ORDERED)
    assert list(read.by_parent["a"].values()) == pytest.approx([0.75, 0.0, 0.25])


def test_a_parent_whose_every_state_pushes_is_refused():
    rule = cpd.noisy_or(0.1, {"a": {"no": 0.2, "yes": 0.3}})
    with pytest.raises(ValueError, match="parent 'a' has no state without an effect"):
        learning.read_numbers(rule, rule.table([("a", ("no", "yes"))]), [("a", ("no", "yes"))], ("no", "yes"))


def test_an_unregistered_rule_is_named():
    class made_up:
        pass

    with pytest.raises(TypeError, match="no inverse registered for combination rule made_up"):
        learning.read_numbers(made_up(), np.ones((2, 2)) / 2, [("a", ("no", "yes"))], ("no", "yes"))


def test_the_document_tables_give_back_every_written_number(priors):
    tables = {node: t.values for node, t in node_tables(priors).items()}
    read = learning.learned_numbers(priors, tables)
    numbers = numbers_of(priors)
    written = {name for name, _ in iter_entries(priors) if name.file != "escalation"}
    assert set(read) == written
    for name, value in read.items():
        assert value == pytest.approx(numbers[name], abs=1e-12), name


@pytest.fixture(scope="module")
def simulated(priors):
    from pgmpy.sampling import BayesianModelSampling

    from twitchcause.model.network import build_network

    return BayesianModelSampling(build_network(priors)).forward_sample(
        size=2_000, seed=7, show_progress=False, n_jobs=1
    )


def test_no_cases_learn_the_document_tables(priors, simulated):
    learned = learning.learn_tables(priors, simulated.iloc[:0], ess=10)
    for node, table in node_tables(priors).items():
        assert learned.tables[node] == pytest.approx(table.values, abs=1e-12), node
        assert learned.concentration[node].sum(axis=0) == pytest.approx(10.0)


def test_learned_tables_are_the_dirichlet_posterior_means(priors, simulated):
    """Posterior mean of a column = (counts + ess x document column) / (cases in the column + ess), by hand."""
    learned = learning.learn_tables(priors, simulated, ess=20)
    doc = node_tables(priors)["caffeine"]
    assert [p for p, _ in doc.parents] == ["caffeine_intake"]
    for s, state in enumerate(doc.parents[0][1]):
        column = simulated[simulated["caffeine_intake"] == state]["caffeine"]
        expected = ((column == "yes").sum() + 20 * doc.values[1, s]) / (len(column) + 20)
        assert learned.tables["caffeine"][1, s] == pytest.approx(expected, abs=1e-12)
        assert learned.concentration["caffeine"][:, s].sum() == pytest.approx(len(column) + 20)


def test_parents_are_laid_out_in_the_model_order_whatever_pgmpy_sorts(priors, simulated):
    learned = learning.learn_tables(priors, simulated, ess=1e6)  # the documents dominate: the tables barely move
    for node, table in node_tables(priors).items():
        assert learned.tables[node] == pytest.approx(table.values, abs=1e-2), node


def test_intervals_hold_the_learned_number_and_narrow_with_cases(priors, simulated):
    small = learning.learned_intervals(priors, learning.learn_tables(priors, simulated.iloc[:200], ess=10), draws=100)
    large = learning.learned_intervals(priors, learning.learn_tables(priors, simulated, ess=10), draws=100)
    assert list(small.columns) == ["learned", "low", "high"]
    assert ((small["low"] <= small["high"]) & small.notna().all(axis=1)).all()
    assert (large["high"] - large["low"]).median() < (small["high"] - small["low"]).median()


def test_draws_are_tables(priors, simulated):
    learned = learning.learn_tables(priors, simulated.iloc[:100], ess=10)
    drawn = learned.draws(3, np.random.default_rng(0))
    assert drawn.keys() == learned.tables.keys()
    for node, tables in drawn.items():
        assert tables.shape == (*learned.tables[node].shape, 3)
        assert tables.sum(axis=0) == pytest.approx(np.ones(tables.shape[1:]))


def test_cases_with_a_state_outside_the_vocabulary_are_refused(priors, simulated):
    bad = simulated.iloc[:10].copy()
    bad.loc[bad.index[0], "caffeine_intake"] = "lots"
    with pytest.raises(ValueError, match="caffeine_intake"):
        learning.learn_tables(priors, pd.DataFrame(bad), ess=10)


@pytest.mark.parametrize("ess", [0, -1.0, float("nan")])
def test_an_ess_that_is_not_positive_is_refused(priors, simulated, ess):
    with pytest.raises(ValueError, match="ess must be a positive number of cases' worth"):
        learning.learn_tables(priors, simulated.iloc[:10], ess=ess)
