"""The pgmpy network: its shape, its tables, posteriors worked out by hand, and directions."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from pgmpy.factors.discrete import TabularCPD
from pgmpy.models import DiscreteBayesianNetwork

from twitchcause.model import cpd
from twitchcause.model.engine import compile_network
from twitchcause.model.reference import ReferenceInference

CAUSE_STATES = ("no", "yes")


@pytest.fixture(scope="module")
def m(loaded_model):
    return loaded_model


@pytest.fixture(scope="module")
def network(m):
    return m.network


# -- shape ------------------------------------------------------------------------------------
def test_network_is_a_checked_pgmpy_network(network):
    assert isinstance(network, DiscreteBayesianNetwork)
    assert network.check_model() is True


def test_network_holds_every_cause_and_variable_with_vocabulary_states(m, network):
    vocabulary = m.priors.raw["vocabulary"]
    assert len(vocabulary.causes) == 12 and len(vocabulary.evidence) == 32
    assert set(network.nodes()) == set(vocabulary.causes) | set(vocabulary.evidence)
    for cause in vocabulary.causes:
        assert tuple(network.get_cpds(cause).state_names[cause]) == CAUSE_STATES, cause
    for name, spec in vocabulary.evidence.items():
        assert tuple(network.get_cpds(name).state_names[name]) == tuple(spec.states), name


def test_every_column_of_every_cpd_sums_to_one(network):
    for table in network.get_cpds():
        values = table.get_values()
        assert np.all(values > 0.0) and np.all(values < 1.0 + 1e-12), table.variable
        np.testing.assert_allclose(values.sum(axis=0), 1.0, atol=1e-12, err_msg=table.variable)


@pytest.mark.parametrize(
    ("parent", "child"),
    [
        ("heavy_sweating", "dehydration"),
        ("fluid_intake", "dehydration"),
        ("dehydration", "electrolyte_imbalance"),
        ("medication_type", "electrolyte_imbalance"),
        ("medication_type", "medication"),
        ("diet_quality", "nutrient_deficiency"),
        ("diabetes", "neuropathy"),
        ("back_problem", "neuropathy"),
        ("thyroid_disorder", "underlying_condition"),
        ("caffeine_intake", "caffeine"),
        ("restless_legs", "urge_to_move"),
        ("underlying_condition", "weakness"),
        ("nerve_compression", "relieved_when_pressure_removed"),
    ],
)
def test_mechanisms_of_the_documents_are_edges(network, parent, child):
    assert (parent, child) in network.edges()


def test_three_layers(m, network):
    """Exposures are roots; causes depend on exposures or causes; findings on causes only."""
    causes = set(m.causes)
    for name in m.priors.context:
        assert network.get_parents(name) == [], name
    for cause in causes:
        assert set(network.get_parents(cause)) <= causes | set(m.priors.context), cause
    for name in m.priors.findings:
        assert network.get_parents(name), name
        assert set(network.get_parents(name)) <= causes, name


def test_restless_legs_has_no_parents(network):
    assert network.get_parents("restless_legs") == []


# -- every name and state of the vocabulary is accepted ------------------------------------------
def _all_states():
    from twitchcause.priors import load_priors

    p = load_priors()
    return [(name, state) for name, v in p.variables.items() for state in v.states]


@pytest.mark.parametrize(("name", "state"), _all_states())
def test_every_vocabulary_state_is_accepted(m, name, state):
    r = m.infer({name: state})
    assert r.evidence == {name: state}
    assert set(r.posterior) == set(m.causes)
    assert all(0.0 <= p <= 1.0 for p in r.posterior.values())


def test_all_variables_answered_at_once(m):
    evidence = {name: v.states[-1] for name, v in m.variables.items()}
    r = m.infer(evidence)
    assert r.evidence == evidence
    assert all(np.isfinite(p) and 0.0 <= p <= 1.0 for p in r.posterior.values())


# -- the combination rules on one or two parents, by hand ------------------------------------------
def test_noisy_or_by_hand():
    rule = cpd.noisy_or(0.1, {"a": {"yes": 0.5}, "b": {"mid": 0.1, "high": 0.2}})
    # nothing pushes: only the leak, P(yes) = 0.1
    np.testing.assert_allclose(rule({"a": "no", "b": "low"}), [0.9, 0.1])
    # a=yes alone: 1 - (1 - 0.1)(1 - 0.5) = 0.55
    np.testing.assert_allclose(rule({"a": "yes", "b": "low"}), [0.45, 0.55])
    # a=yes and b=high: 1 - 0.9 * 0.5 * 0.8 = 0.64
    np.testing.assert_allclose(rule({"a": "yes", "b": "high"}), [0.36, 0.64])
    # b=mid alone: 1 - 0.9 * 0.9 = 0.19
    np.testing.assert_allclose(rule({"a": "no", "b": "mid"}), [0.81, 0.19])


def test_noisy_max_by_hand():
    leak = np.array([0.7, 0.2, 0.1])
    rule = cpd.noisy_max(leak, {"c": np.array([0.5, 0.3, 0.2]), "d": np.array([0.9, 0.05, 0.05])}, "yes")
    np.testing.assert_allclose(rule({"c": "no", "d": "no"}), leak)
    # P(child <= k) multiply: leak CDF (0.7, 0.9, 1) * c CDF (0.5, 0.8, 1) = (0.35, 0.72, 1)
    # so P = (0.35, 0.72 - 0.35, 1 - 0.72) = (0.35, 0.37, 0.28)
    np.testing.assert_allclose(rule({"c": "yes", "d": "no"}), [0.35, 0.37, 0.28])
    # with d as well: (0.35, 0.72, 1) * (0.9, 0.95, 1) = (0.315, 0.684, 1) -> (0.315, 0.369, 0.316)
    np.testing.assert_allclose(rule({"c": "yes", "d": "yes"}), [0.315, 0.369, 0.316])


def test_noisy_max_binary_is_noisy_or():
    # a yes/no finding: leak P(yes) = 0.2, c pushes yes with 0.6: P(yes | c) = 1 - 0.8 * 0.4 = 0.68
    rule = cpd.noisy_max(np.array([0.8, 0.2]), {"c": np.array([0.4, 0.6])}, "yes")
    np.testing.assert_allclose(rule({"c": "yes"}), [0.32, 0.68])


def test_product_by_hand():
    rule = cpd.product(np.array([0.6, 0.4]), {"c1": np.array([0.2, 0.8]), "c2": np.array([0.5, 0.5])}, "yes")
    np.testing.assert_allclose(rule({"c1": "no", "c2": "no"}), [0.6, 0.4])
    # one active cause shows exactly its own row
    np.testing.assert_allclose(rule({"c1": "yes", "c2": "no"}), [0.2, 0.8])
    # both: 0.6 * (0.2/0.6) * (0.5/0.6) = 1/6 and 0.4 * (0.8/0.4) * (0.5/0.4) = 1.0, renormalised
    np.testing.assert_allclose(rule({"c1": "yes", "c2": "yes"}), [1 / 7, 6 / 7])


def test_tabular_cpd_puts_each_configuration_in_its_column():
    rule = cpd.noisy_or(0.1, {"a": {"yes": 0.5}, "b": {"mid": 0.1, "high": 0.2}})
    parents = [("a", ("no", "yes")), ("b", ("low", "mid", "high"))]
    table = cpd.tabular_cpd("x", CAUSE_STATES, parents, rule)
    assert isinstance(table, TabularCPD)
    for a, b in itertools.product(("no", "yes"), ("low", "mid", "high")):
        expected = rule({"a": a, "b": b})
        got = [table.get_value(x=state, a=a, b=b) for state in CAUSE_STATES]
        np.testing.assert_allclose(got, expected, err_msg=f"a={a}, b={b}")


def tiny_network():
    """E -> C1 -> F <- C2, built with the project's rules, and the numbers to check by hand.

    E: exposure, P(E=yes) = 0.3. C1: noisy-OR, leak 0.1, E=yes pushes with 0.5.
    C2: no parents, leak 0.2. F: yes/no, leak P(yes) = 0.2, C1 pushes 0.6, C2 pushes 0.5.
    """
    yn = ("no", "yes")
    cpds = [
        TabularCPD("E", 2, [[0.7], [0.3]], state_names={"E": list(yn)}),
        cpd.tabular_cpd("C1", yn, [("E", yn)], cpd.noisy_or(0.1, {"E": {"yes": 0.5}})),
        cpd.tabular_cpd("C2", yn, [], cpd.noisy_or(0.2, {})),
        cpd.tabular_cpd(
            "F",
            yn,
            [("C1", yn), ("C2", yn)],
            cpd.noisy_max(np.array([0.8, 0.2]), {"C1": np.array([0.4, 0.6]), "C2": np.array([0.5, 0.5])}, "yes"),
        ),
    ]
    network = DiscreteBayesianNetwork([("E", "C1"), ("C1", "F"), ("C2", "F")])
    network.add_cpds(*cpds)
    assert network.check_model()
    return network


# Worked by hand (Bayes' rule).
# P(C1 = yes | E) = 0.1 (E = no), 1 - 0.9 * 0.5 = 0.55 (E = yes)
# P(C1 = yes) = 0.7 * 0.1 + 0.3 * 0.55 = 0.235;  P(C2 = yes) = 0.2
# P(F = yes | C1, C2): (0,0) 0.2; (1,0) 1 - 0.8*0.4 = 0.68; (0,1) 1 - 0.8*0.5 = 0.6; (1,1) 1 - 0.8*0.4*0.5 = 0.84
# joint with F = yes: (0,0) 0.765*0.8*0.2 = 0.1224; (1,0) 0.235*0.8*0.68 = 0.12784;
#                     (0,1) 0.765*0.2*0.6 = 0.0918; (1,1) 0.235*0.2*0.84 = 0.03948; sum P(F=yes) = 0.38152
# P(C1 | F=yes) = (0.12784 + 0.03948) / 0.38152;  P(C2 | F=yes) = (0.0918 + 0.03948) / 0.38152
# with E = yes as well: P(C1=yes | E=yes) = 0.55, the same sums with 0.55 / 0.45 in place of 0.235 / 0.765:
#   (1,0) 0.55*0.8*0.68 = 0.2992; (1,1) 0.55*0.2*0.84 = 0.0924; (0,0) 0.45*0.8*0.2 = 0.072; (0,1) 0.45*0.2*0.6 = 0.054
#   P(C1 | E=yes, F=yes) = 0.3916 / 0.5176;  P(C2 | E=yes, F=yes) = 0.1464 / 0.5176
HAND = [
    ({}, {"C1": 0.235, "C2": 0.2}),
    ({"E": "yes"}, {"C1": 0.55, "C2": 0.2}),
    ({"F": "yes"}, {"C1": 0.16732 / 0.38152, "C2": 0.13128 / 0.38152}),
    ({"E": "yes", "F": "yes"}, {"C1": 0.3916 / 0.5176, "C2": 0.1464 / 0.5176}),
    # F = no: joint (0,0) 0.765*0.8*0.8 = 0.4896; (1,0) 0.235*0.8*0.32 = 0.06016;
    #         (0,1) 0.765*0.2*0.4 = 0.0612; (1,1) 0.235*0.2*0.16 = 0.00752; sum 0.61848 (= 1 - 0.38152)
    ({"F": "no"}, {"C1": 0.06768 / 0.61848, "C2": 0.06872 / 0.61848}),
]


@pytest.mark.parametrize(("evidence", "expected"), HAND, ids=[str(e) for e, _ in HAND])
def test_tiny_network_by_hand(evidence, expected):
    network = tiny_network()
    engine = compile_network(network, ["C1", "C2"], {"E": ("no", "yes"), "F": ("no", "yes")})
    reference = ReferenceInference(network, ["C1", "C2"])
    for cause, p in expected.items():
        assert engine.posterior(evidence)[cause] == pytest.approx(p, abs=1e-12), ("engine", cause)
        assert reference.posterior(evidence)[cause] == pytest.approx(p, abs=1e-12), ("pgmpy", cause)


# -- the full network, by hand -----------------------------------------------------------------
def test_prior_of_a_cause_without_parents_is_its_leak(m):
    spec = m.priors.cause_priors["restless_legs"]
    assert spec.links == {}
    scale = m.priors.scale.words
    assert m.prior["restless_legs"] == pytest.approx(scale[spec.leak.word].p, abs=1e-12)


def test_caffeine_prior_by_hand(m):
    """P(caffeine) = sum_s P(caffeine_intake = s) * (1 - (1 - leak)(1 - link_s))."""
    p = m.priors
    scale = p.scale.words
    leak = scale[p.raw["causes"].root["caffeine"].leak.word].p
    links = p.raw["causes"].root["caffeine"].links["caffeine_intake"]
    # none: occasionally (0.20), high: occasionally (0.20), moderate: the rest (0.60)
    intake = {"none": scale["occasionally"].p, "high": scale["occasionally"].p}
    intake["moderate"] = 1.0 - intake["none"] - intake["high"]
    link = {"none": 0.0, "moderate": scale[links["moderate"].word].p, "high": scale[links["high"].word].p}
    expected = sum(intake[s] * (1.0 - (1.0 - leak) * (1.0 - link[s])) for s in intake)
    # with today's scale: 0.2 * 0.01 + 0.6 * (1 - 0.99 * 0.8) + 0.2 * (1 - 0.99 * 0.4) = 0.2476
    assert m.prior["caffeine"] == pytest.approx(expected, abs=1e-12)
    # answered: the exposure is fixed, P = 1 - (1 - leak)(1 - link_high)
    assert m.infer({"caffeine_intake": "high"}).posterior["caffeine"] == pytest.approx(
        1.0 - (1.0 - leak) * (1.0 - link["high"]), abs=1e-12
    )
    assert m.infer({"caffeine_intake": "none"}).posterior["caffeine"] == pytest.approx(leak, abs=1e-12)


def test_every_cause_prior_by_enumeration(m):
    """The prior of each cause, by summing its noisy-OR over its parents' states.

    Exposures are independent roots; a cause parent (dehydration for
    electrolyte imbalance) is enumerated with its own exposures.
    """
    p = m.priors

    def prob_yes(cause, assignment):
        spec = p.cause_priors[cause]
        off = 1.0 - spec.leak.value
        for parent, links in spec.links.items():
            state = assignment[parent]
            if state in links:
                off *= 1.0 - links[state].value
        return 1.0 - off

    for cause in m.causes:
        causes_above = [c for c in p.cause_priors[cause].links if c in p.causes]
        exposures = sorted({x for c in [cause, *causes_above] for x in p.cause_priors[c].links if x in p.context})
        total = 0.0
        for combo in itertools.product(*(p.variables[x].states for x in exposures)):
            a = dict(zip(exposures, combo))
            weight = float(np.prod([p.context[x][s].value for x, s in a.items()]))
            inner = 0.0
            for states in itertools.product(CAUSE_STATES, repeat=len(causes_above)):
                b = {**a, **dict(zip(causes_above, states))}
                w = float(
                    np.prod(
                        [prob_yes(c, b) if s == "yes" else 1 - prob_yes(c, b) for c, s in zip(causes_above, states)]
                    )
                )
                inner += w * prob_yes(cause, b)
            total += weight * inner
        assert m.prior[cause] == pytest.approx(total, abs=1e-12), cause


def test_restless_legs_given_urge_to_move_by_hand(m):
    """Bayes' rule on the one finding whose only parent is restless_legs.

    P(urge = yes | RL) = 1 - (1 - leak)(1 - push) = 1 - 0.96 * 0.55 = 0.472; P(urge = yes | no RL) = 0.04
    P(RL | urge = yes) = 0.08 * 0.472 / (0.08 * 0.472 + 0.92 * 0.04) = 0.03776 / 0.07456
    """
    f = m.priors.findings["urge_to_move"]
    assert list(f.causes) == ["restless_legs"]
    prior = m.priors.cause_priors["restless_legs"].leak.value
    leak = f.leak["yes"].value
    given = 1.0 - (1.0 - leak) * (1.0 - f.causes["restless_legs"]["yes"].value)
    expected = prior * given / (prior * given + (1.0 - prior) * leak)
    assert m.infer({"urge_to_move": "yes"}).posterior["restless_legs"] == pytest.approx(expected, abs=1e-12)
    # with today's scale
    assert expected == pytest.approx(0.03776 / 0.07456, abs=1e-12)


# -- direction: evidence the documents tie to a cause raises it ----------------------------------
DIRECTION = [
    ("caffeine", {"caffeine_intake": "high"}),
    ("dehydration", {"fluid_intake": "low"}),
    ("dehydration", {"heavy_sweating": "yes"}),
    ("electrolyte_imbalance", {"medication_type": "diuretic"}),
    ("electrolyte_imbalance", {"heavy_sweating": "yes"}),
    ("electrolyte_imbalance", {"fluid_intake": "low"}),
    ("medication", {"medication_type": "diuretic"}),
    ("medication", {"medication_started_recently": "yes"}),
    ("nutrient_deficiency", {"diet_quality": "poor"}),
    ("stress", {"stress_level": "high"}),
    ("sleep_loss", {"sleep": "very_short"}),
    ("overexertion", {"recent_exercise": "strenuous"}),
    ("overexertion", {"timing": "after_exercise", "relieved_by_rest_or_stretching": "yes"}),
    ("nerve_compression", {"tight_footwear_or_position": "yes", "relieved_when_pressure_removed": "yes"}),
    ("nerve_compression", {"relieved_when_pressure_removed": "yes"}),
    ("neuropathy", {"diabetes": "yes", "numbness_tingling": "yes"}),
    ("neuropathy", {"back_problem": "yes"}),
    ("restless_legs", {"urge_to_move": "yes", "timing": "at_night"}),
    ("restless_legs", {"movements_during_sleep": "yes"}),
    ("underlying_condition", {"weakness": "yes"}),
    ("underlying_condition", {"muscle_wasting": "yes"}),
    ("underlying_condition", {"thyroid_disorder": "yes"}),
    ("underlying_condition", {"trend": "worsening"}),
]


@pytest.mark.parametrize(("cause", "evidence"), DIRECTION, ids=[f"{c}<-{e}" for c, e in DIRECTION])
def test_cause_rises_with_its_evidence(m, cause, evidence):
    r = m.infer(evidence)
    assert r.posterior[cause] > r.prior[cause]


@pytest.mark.parametrize(
    ("cause", "evidence"),
    [
        ("caffeine", {"caffeine_intake": "none"}),
        ("dehydration", {"fluid_intake": "adequate", "heavy_sweating": "no"}),
        ("nutrient_deficiency", {"diet_quality": "balanced"}),
        ("stress", {"stress_level": "low"}),
        ("sleep_loss", {"sleep": "adequate"}),
        ("overexertion", {"recent_exercise": "none", "prolonged_standing": "no", "tight_footwear_or_position": "no"}),
        ("medication", {"medication_type": "none"}),
        ("restless_legs", {"urge_to_move": "no"}),
        ("underlying_condition", {"weakness": "no", "muscle_wasting": "no", "walking_difficulty": "no"}),
    ],
)
def test_cause_falls_when_its_trigger_is_absent(m, cause, evidence):
    r = m.infer(evidence)
    assert r.posterior[cause] < r.prior[cause]


def test_urge_at_night_ranks_restless_legs_first(m):
    assert m.infer({"urge_to_move": "yes", "timing": "at_night"}).ranking[0] == "restless_legs"


def test_more_caffeine_more_caffeine_cause(m):
    levels = [m.infer({"caffeine_intake": s}).posterior["caffeine"] for s in ("none", "moderate", "high")]
    assert levels == sorted(levels) and levels[0] < levels[2]


@pytest.mark.parametrize(
    ("variable", "cause"),
    [
        ("weakness", "underlying_condition"),
        ("muscle_wasting", "underlying_condition"),
        ("urge_to_move", "restless_legs"),
        ("numbness_tingling", "neuropathy"),
        ("diabetes", "neuropathy"),
        ("heavy_sweating", "dehydration"),
    ],
)
def test_unknown_is_not_no(m, variable, cause):
    unknown = m.infer({}).posterior[cause]
    answered_no = m.infer({variable: "no"}).posterior[cause]
    assert unknown != pytest.approx(answered_no, abs=1e-6)
    assert answered_no < unknown
    # None and "" are unknown too
    assert m.infer({variable: None}).posterior[cause] == pytest.approx(unknown, abs=1e-15)
    assert m.infer({variable: ""}).posterior[cause] == pytest.approx(unknown, abs=1e-15)


def test_causes_are_not_exclusive(m):
    r = m.infer(
        {"fluid_intake": "low", "heavy_sweating": "yes", "recent_exercise": "strenuous", "timing": "after_exercise"}
    )
    assert r.posterior["dehydration"] > 0.5 and r.posterior["overexertion"] > 0.5
    assert sum(r.posterior.values()) > 1.0
