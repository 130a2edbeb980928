"""Explanations and ask-next, checked against brute force with pgmpy."""

from __future__ import annotations

import math
import warnings

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pgmpy.inference import VariableElimination

from twitchcause import model
from twitchcause.model.ask_next import red_flag_variables, summed_entropy

CASE = {
    "heavy_sweating": "yes",
    "fluid_intake": "low",
    "twitch_site": "calf",
    "cramps": "brief",
    "caffeine_intake": "none",
    "weakness": "no",
}


def logit(p: float) -> float:
    return math.log(p) - math.log1p(-p)


def test_contribution_is_the_change_in_log_odds_when_the_answer_is_removed(loaded_model):
    items = loaded_model.explain(CASE, "dehydration")
    assert {i.variable for i in items} == set(CASE)
    full = logit(loaded_model.reference_posterior(CASE)["dehydration"])
    for item in items:
        without = {k: v for k, v in CASE.items() if k != item.variable}
        expected = full - logit(loaded_model.reference_posterior(without)["dehydration"])
        assert item.contribution == pytest.approx(expected, abs=1e-9)
        assert item.state == CASE[item.variable]
        assert item.question == loaded_model.variables[item.variable].question


def test_explanation_signs_follow_the_documents(loaded_model):
    by_variable = {i.variable: i for i in loaded_model.explain(CASE, "dehydration")}
    assert by_variable["fluid_intake"].direction == "supports"
    assert by_variable["heavy_sweating"].direction == "supports"
    assert by_variable["caffeine_intake"].direction == "neutral"  # no path from caffeine intake to dehydration
    items = loaded_model.explain({"recent_exercise": "none", "relieved_by_rest_or_stretching": "no"}, "overexertion")
    assert all(i.direction == "conflicts" for i in items)


def test_explanation_is_sorted_by_magnitude_and_json_ready(loaded_model):
    items = loaded_model.explain(CASE, "electrolyte_imbalance")
    magnitudes = [abs(i.contribution) for i in items]
    assert magnitudes == sorted(magnitudes, reverse=True)
    assert set(items[0].to_dict()) == {"variable", "state", "question", "contribution", "direction"}


def test_explaining_an_unknown_cause_names_the_closest(loaded_model):
    with pytest.raises(
        model.UnknownCauseError, match="unknown cause 'dehydratoin' \\(did you mean 'dehydration'\\?\\)"
    ):
        loaded_model.explain(CASE, "dehydratoin")


def test_explanation_of_no_answers_is_empty(loaded_model):
    assert loaded_model.explain({}, "caffeine") == []


def _brute_force_gain(m, evidence, variable):
    """Expected drop of the summed cause entropies, by VariableElimination."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        answer = VariableElimination(m.network).query([variable], evidence=evidence, show_progress=False)
    now = summed_entropy([m.reference_posterior(evidence)[c] for c in m.causes])
    expected_after = 0.0
    for state in m.variables[variable].states:
        p = answer.get_value(**{variable: state})
        after = m.reference_posterior({**evidence, variable: state})
        expected_after += p * summed_entropy([after[c] for c in m.causes])
    return now - expected_after


@pytest.mark.parametrize("variable", ["stress_level", "urge_to_move", "medication_type", "duration"])
def test_information_gain_equals_brute_force(loaded_model, variable):
    evidence = {"heavy_sweating": "yes", "twitch_site": "calf", "weakness": "no"}
    ranked = {q.variable: q for q in loaded_model.ask_next(evidence)}
    assert ranked[variable].information_gain == pytest.approx(
        _brute_force_gain(loaded_model, evidence, variable), abs=1e-9
    )


def test_probability_that_the_level_rises_equals_brute_force(loaded_model):
    evidence = {"caffeine_intake": "high", "twitch_site": "calf"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        answer = VariableElimination(loaded_model.network).query(["duration"], evidence=evidence, show_progress=False)
    expected = sum(answer.get_value(duration=s) for s in ("weeks", "months"))  # the persisting rule
    ranked = {q.variable: q for q in loaded_model.ask_next(evidence)}
    assert ranked["duration"].p_escalation_rises == pytest.approx(expected, abs=1e-9)


def test_unasked_red_flags_come_first_then_gain(loaded_model):
    flags = set(red_flag_variables(loaded_model.priors))
    assert flags == {"weakness", "muscle_wasting", "walking_difficulty"}
    ranked = loaded_model.ask_next({"caffeine_intake": "high"})
    assert {q.variable for q in ranked[:3]} == flags
    rest = [q.information_gain for q in ranked[3:]]
    assert rest == sorted(rest, reverse=True)
    answered = loaded_model.ask_next({"weakness": "no", "muscle_wasting": "no"}, n=2)
    assert answered[0].variable == "walking_difficulty"


def test_ask_next_lists_only_unanswered_variables_and_respects_n(loaded_model):
    ranked = loaded_model.ask_next(CASE)
    assert {q.variable for q in ranked} == set(loaded_model.variables) - set(CASE)
    assert len(loaded_model.ask_next(CASE, n=3)) == 3
    assert loaded_model.ask_next({name: v.states[0] for name, v in loaded_model.variables.items()}) == []


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_next_question_figures_are_probabilities_and_gains_non_negative(loaded_model, data):
    evidence = data.draw(
        st.fixed_dictionaries({}, optional={n: st.sampled_from(v.states) for n, v in loaded_model.variables.items()})
    )
    for q in loaded_model.ask_next(evidence):
        assert q.information_gain >= 0.0
        assert 0.0 <= q.p_escalation_rises <= 1.0 + 1e-12
