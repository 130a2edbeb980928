"""Safe triage: "not sure" read the safe way for the level, the interview's policy, earned verdicts.

The replay answers each public case as a person would through the interview
(``../shared/tools/interview_replay.py`` does the same from outside): a question
the case answers gets its answer; a rule question the case leaves out gets its
least worrying state (the case's level assumes it fired no rule); any other
question is answered "not sure".
"""

from __future__ import annotations

import json
import statistics

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from twitchcause.model import NOT_SURE, EvidenceError

LEVELS = ("self_care", "see_doctor", "see_doctor_promptly")
RED_FLAGS = ("weakness", "muscle_wasting", "walking_difficulty")
MOST_QUESTIONS = 32  # every variable once: the interview can never ask more


def rule_variables(m) -> set[str]:
    return {name for rule in m.priors.escalation.rules for name in (*rule.when, *rule.unless)}


def replay(m, truth: dict[str, str]) -> tuple[dict[str, str], list[str]]:
    """The answers and not-sures an interview collects from a person whose full answers are ``truth``."""
    answers: dict[str, str] = {}
    not_sure: list[str] = []
    rules = rule_variables(m)
    for _ in range(MOST_QUESTIONS + 1):
        question = m.next_question(answers, not_sure=tuple(not_sure))
        if question is None:
            return answers, not_sure
        name = question.variable
        assert name not in answers and name not in not_sure, f"{name} asked twice"
        if name in truth:
            answers[name] = truth[name]
        elif name in rules:
            answers[name] = m.variables[name].states[0]
        else:
            not_sure.append(name)
    raise AssertionError("the interview did not stop")


@pytest.fixture(scope="module")
def public_cases(shared_dir):
    return json.loads((shared_dir / "vignettes" / "public.json").read_text())


def test_every_public_case_ends_at_its_level_through_the_interview(loaded_model, public_cases):
    asked, wrong = [], []
    for case in public_cases:
        answers, not_sure = replay(loaded_model, case["evidence"])
        result = loaded_model.infer(answers, not_sure=not_sure)
        asked.append(len(answers) + len(not_sure))
        if result.escalation.level != case["expect"]["escalation"]:
            wrong.append(f"{case['id']}: {result.escalation.level}, expected {case['expect']['escalation']}")
        assert result.escalation.settled, case["id"]
    assert wrong == []
    print(f"\nquestions through the interview: median {statistics.median(asked)}, max {max(asked)}")


def test_red_flags_are_asked_first(loaded_model):
    first = []
    answers: dict[str, str] = {}
    for _ in RED_FLAGS:
        question = loaded_model.next_question(answers)
        assert question.why == "warning_sign" and question.red_flag
        first.append(question.variable)
        answers[question.variable] = "no"
    assert sorted(first) == sorted(RED_FLAGS)


def test_no_stop_while_a_rule_question_could_raise_the_level(loaded_model):
    # A worried runner: months, worse, widespread, numb and painful; the interview must not end at self-care
    truth = {
        "duration": "months",
        "trend": "worsening",
        "spread": "widespread",
        "numbness_tingling": "yes",
        "pain": "yes",
        "recent_exercise": "strenuous",
    }
    answers, not_sure = replay(loaded_model, truth)
    result = loaded_model.infer(answers, not_sure=not_sure)
    assert result.escalation.level == "see_doctor" and result.escalation.settled
    assert any(reason.rule in {"persisting", "worsening", "widespread"} for reason in result.escalation.reasons)


def test_a_not_sure_question_is_never_asked_again(loaded_model):
    not_sure = []
    for _ in range(MOST_QUESTIONS):
        question = loaded_model.next_question({}, not_sure=tuple(not_sure))
        if question is None:
            break
        assert question.variable not in not_sure
        not_sure.append(question.variable)
    assert loaded_model.next_question({}, not_sure=tuple(not_sure)) is None


def test_not_sure_on_weakness_fires_its_rule_and_says_so(loaded_model):
    result = loaded_model.infer({"caffeine_intake": "high"}, not_sure=["weakness"])
    assert result.escalation.level == "see_doctor_promptly"
    reason = next(r for r in result.escalation.reasons if r.rule == "weakness")
    assert reason.not_sure and "not sure" in reason.message.lower()
    assert result.evidence == {"caffeine_intake": "high"}
    assert result.not_sure == ("weakness",)


def test_not_sure_is_unknown_for_the_causes(loaded_model):
    given_not_sure = loaded_model.infer({"caffeine_intake": "high", "sleep": NOT_SURE, "weakness": "not_sure"})
    left_out = loaded_model.infer({"caffeine_intake": "high"})
    assert given_not_sure.posterior == left_out.posterior
    assert given_not_sure.not_sure == ("sleep", "weakness")
    assert given_not_sure.escalation.level == "see_doctor_promptly"


def test_a_value_and_the_list_mean_the_same(loaded_model):
    a = loaded_model.infer({"pain": "not_sure"})
    b = loaded_model.infer({}, not_sure=("pain",))
    assert a.to_dict() == b.to_dict()
    assert a.to_dict()["not_sure"] == ["pain"]
    assert a.to_dict()["escalation"]["reasons"][0]["not_sure"] is True


@pytest.mark.parametrize(
    ("evidence", "not_sure", "match"),
    [
        ({}, ["wekness"], r"unknown evidence variable 'wekness'.*did you mean 'weakness'"),
        ({"weakness": "no"}, ["weakness"], r"'weakness' is both answered \('no'\) and not sure"),
        ({}, "weakness", r"not_sure must be a list of variable names"),
        ({}, [3], r"not_sure must be a list of variable names"),
    ],
)
def test_bad_not_sure_is_one_clear_error(loaded_model, evidence, not_sure, match):
    with pytest.raises(EvidenceError, match=match):
        loaded_model.infer(evidence, not_sure=not_sure)


def test_a_fired_rule_is_never_talked_down_by_the_interview(loaded_model):
    # Disturbed sleep calls for a doctor unless the twitching is occasional. A person who says their
    # sleep is disturbed and never says how often keeps that advice: the interview does not go
    # looking for the answer that would excuse the rule (frequency's first, least worrying state).
    truth = {"sleep_disrupted": "yes", "weakness": "no", "muscle_wasting": "no", "walking_difficulty": "no"}
    answers, not_sure = replay(loaded_model, truth)
    assert "frequency" not in answers and "frequency" not in not_sure
    assert loaded_model.infer(answers, not_sure=not_sure).escalation.level == "see_doctor"
    # the rule's exception still holds when the person gives it (in the form, say)
    answers["frequency"] = "occasional"
    assert loaded_model.infer(answers, not_sure=not_sure).escalation.level == "self_care"


def test_pending_names_the_unanswered_warning_signs_first(loaded_model):
    esc = loaded_model.infer({"caffeine_intake": "high"}).escalation
    assert not esc.settled
    assert set(esc.pending[:3]) == set(RED_FLAGS)
    assert esc.to_dict()["pending"] == list(esc.pending) and esc.to_dict()["settled"] is False
    fired = loaded_model.infer({"weakness": "yes"}).escalation
    assert fired.level == "see_doctor_promptly" and fired.settled and fired.pending == ()


def partial_answers(m):
    """Random partial answers: each variable left out, answered, or not sure."""
    choices = {name: st.sampled_from((*v.states, NOT_SURE)) for name, v in m.variables.items()}
    return st.fixed_dictionaries({}, optional=choices)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_a_settled_level_no_completion_changes(loaded_model, data):
    m = loaded_model
    answers = data.draw(partial_answers(m))
    esc = m.infer(answers).escalation
    rules = rule_variables(m)
    if not esc.settled:
        assert esc.pending and set(esc.pending) <= rules
        assert all(name not in answers for name in esc.pending)
        return
    open_questions = [name for name in m.variables if name not in answers and name not in rules]
    completion = data.draw(
        st.fixed_dictionaries({name: st.sampled_from(m.variables[name].states) for name in open_questions})
    )
    assert m.infer({**answers, **completion}).escalation.level == esc.level


def test_each_level_says_what_to_do_and_when_with_its_grounds(loaded_model):
    levels = loaded_model.display["levels"]
    assert list(levels) == list(LEVELS)
    for level, look in levels.items():
        assert look["heading"] and look["colour"]
        for part in ("heading_grounds", "time_frame", "what_to_do"):
            grounds = look[part]
            assert ("quote" in grounds and "source" in grounds) != ("assumption" in grounds), (level, part)
        assert look["time_frame"]["text"] and look["what_to_do"]["text"]
    assert levels["see_doctor_promptly"]["colour"] == "danger"


def test_every_result_carries_the_documents_safety_net(loaded_model, shared_dir):
    net = loaded_model.safety_net
    seeds = " ".join(
        " ".join(path.read_text(encoding="utf-8").split()) for path in (shared_dir / "seeds").glob("*.txt")
    )
    for item in net:
        assert set(item) == {"condition", "source", "quote"}
        assert " ".join(item["quote"].split()) in seeds
    quotes = " ".join(item["quote"] for item in net)
    for words in (
        "more than a day or so",
        "several weeks",
        "more frequent",
        "weakness",
        "wasting",
        "difficulty walking",
    ):
        assert words in quotes
    for evidence in ({}, {"weakness": "yes"}, {"caffeine_intake": "high", "weakness": "no"}):
        assert loaded_model.infer(evidence).to_dict()["safety_net"] == net


def test_a_likely_serious_cause_is_said_in_plain_words(loaded_model):
    likely = loaded_model.infer({"diabetes": "yes", "back_problem": "yes"})
    assert likely.posterior["neuropathy"] >= loaded_model.display["serious_causes"]["shown_from"]
    [item] = likely.to_dict()["serious_causes"]
    assert item["cause"] == "neuropathy" and "not a diagnosis" in item["text"]
    assert loaded_model.infer({"caffeine_intake": "high"}).to_dict()["serious_causes"] == []


def test_why_says_what_the_question_is_for(loaded_model):
    m = loaded_model
    answers = dict.fromkeys(RED_FLAGS, "no")
    question = m.next_question(answers)
    assert question.why == "level" and not question.red_flag
    rules = {name for rule in m.priors.escalation.rules for name in rule.when}
    answers |= {name: m.variables[name].states[0] for name in rules}
    question = m.next_question(answers)
    assert question is None or question.why == "information"
    assert m.infer(answers).escalation.settled
