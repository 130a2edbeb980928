"""The dashboard's logic without a browser: link parsing, the numbers of a case, the words shown."""

from __future__ import annotations

import json
import statistics
import time
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from benchmarks.load import callback_request, main_callback_request
from twitchcause.app import callbacks, questions
from twitchcause.app.callbacks import apply_event
from twitchcause.app.case import case_from_link, infer_case, split_case, stored_case, verdict
from twitchcause.app.examples import load_examples
from twitchcause.app.labels import percent_range
from twitchcause.app.layout import build_layout
from twitchcause.app.security import MAX_BODY_BYTES, OTHER_REQUEST_BYTES
from twitchcause.app.server import create_app
from twitchcause.app.state import MAX_QUERY_LENGTH, MAX_SHOWN_CHARACTERS, NOT_SURE, parse_query, to_query
from twitchcause.app.views import (
    advice_view,
    case_view,
    details_view,
    help_sentences,
    lead_view,
    safety_net_view,
    summary_view,
    why_sentences,
    why_view,
)
from twitchcause.model import TwitchcauseError

# The budget for a callback's server time.
CALLBACK_BUDGET_SECONDS = 0.050


@pytest.fixture(scope="module")
def m(loaded_model):
    return loaded_model


@pytest.fixture(scope="module")
def examples(m):
    return load_examples(m)


@pytest.fixture(scope="module")
def dash_app():
    return create_app()


def texts(component) -> str:
    """Every string inside a Dash component tree, joined (what a person would read)."""
    if component is None:
        return ""
    if isinstance(component, (str, int, float)):
        return str(component)
    if isinstance(component, (list, tuple)):
        return " ".join(texts(c) for c in component)
    return texts(getattr(component, "children", None))


def find(component, predicate) -> list:
    """Every component in the tree for which ``predicate`` is true."""
    found = []
    if isinstance(component, (list, tuple)):
        for child in component:
            found.extend(find(child, predicate))
        return found
    if component is None or isinstance(component, (str, int, float)):
        return found
    if predicate(component):
        found.append(component)
    found.extend(find(getattr(component, "children", None), predicate))
    return found


def evidence_strategy(m):
    return st.dictionaries(st.sampled_from(list(m.variables)), st.none(), max_size=len(m.variables)).flatmap(
        lambda chosen: st.fixed_dictionaries(
            {name: st.sampled_from([*m.variables[name].states, NOT_SURE]) for name in chosen}
        )
    )


# -- the link -------------------------------------------------------------------------------------


def test_a_case_survives_the_round_trip_through_the_link(m):
    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(evidence_strategy(m))
    def check(evidence):
        assert parse_query(to_query(evidence, m.variables), m.variables) == (evidence, [])

    check()


def test_the_link_lists_answers_in_vocabulary_order_and_is_empty_without_answers(m):
    assert to_query({"sleep": "short", "caffeine_intake": "high"}, m.variables) == "?caffeine_intake=high&sleep=short"
    assert to_query({}, m.variables) == ""


def test_an_unknown_question_is_ignored_with_a_notice_naming_the_closest_one(m):
    evidence, notices = parse_query("?caffeine_intake=high&cafeine_intake=none", m.variables)
    assert evidence == {"caffeine_intake": "high"}
    assert notices == ["Ignored 'cafeine_intake': not a question of this tool (did you mean 'caffeine_intake'?)."]


def test_an_unknown_answer_is_ignored_with_a_notice_listing_the_valid_ones(m):
    evidence, notices = parse_query("?sleep=shrt&weakness=yes", m.variables)
    assert evidence == {"weakness": "yes"}
    assert notices == [
        "Ignored 'sleep=shrt': expected one of adequate, short, very_short, not_sure (did you mean 'short'?)."
    ]


def test_an_empty_answer_means_not_answered_and_is_not_a_problem(m):
    assert parse_query("?sleep=&weakness=no", m.variables) == ({"weakness": "no"}, [])


def test_a_question_answered_twice_differently_is_left_unanswered(m):
    evidence, notices = parse_query("?weakness=no&sleep=short&weakness=yes&weakness=no", m.variables)
    assert evidence == {"sleep": "short"}
    assert notices == ["Ignored 'weakness': the link answers it twice, differently; answer it again below."]


def test_a_question_given_twice_alike_is_kept(m):
    assert parse_query("?sleep=short&sleep=short", m.variables) == ({"sleep": "short"}, [])


def test_a_link_longer_than_any_case_is_ignored_whole(m):
    search = "?sleep=short&caffeine_intake=" + "h" * MAX_QUERY_LENGTH
    evidence, notices = parse_query(search, m.variables)
    assert evidence == {}
    assert len(notices) == 1 and "characters long" in notices[0]


def test_a_long_bad_value_is_echoed_shortened(m):
    evidence, notices = parse_query("?sleep=" + "x" * 500, m.variables)
    assert evidence == {}
    assert len(notices) == 1 and "x" * MAX_SHOWN_CHARACTERS + "..." in notices[0]
    assert "x" * (MAX_SHOWN_CHARACTERS + 1) not in notices[0]


@pytest.mark.parametrize(
    "garbage",
    [
        "%%%",
        "?&&&==",
        "?=",
        "?%00=%ff%fe",
        "?sleep",
        "?a=b=c",
        "?\u00e9=\u2603",
        "?sleep=short;weakness=yes",
        "?" + quote("<script>alert(1)</script>"),
    ],
)
def test_garbage_never_breaks_parsing_and_never_reaches_the_model(m, garbage):
    evidence, notices = parse_query(garbage, m.variables)
    assert m.parse(evidence) == evidence
    assert all(isinstance(n, str) and n.isprintable() for n in notices)


def test_any_text_at_all_parses_to_valid_evidence(m):
    @settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(st.text(max_size=300))
    def check(search):
        evidence, notices = parse_query(search, m.variables)
        assert m.parse(evidence) == evidence
        assert all(len(n) < 400 for n in notices)

    check()


# -- the case and what the model says ------------------------------------------------------------


def test_on_page_load_the_case_comes_from_the_link_with_its_notices(m):
    update = case_from_link("?weakness=yes&bogus=1", m)
    assert update.evidence == {"weakness": "yes"}
    assert update.notices == ["Ignored 'bogus': not a question of this tool."]


@pytest.mark.parametrize("store", [None, [], "weakness=yes", 42, {"weakness": ["yes"]}, {"sleep": "forever"}])
def test_a_store_that_is_not_a_case_counts_as_no_answers(m, store):
    assert stored_case(store, m) == {}
    assert texts(case_view(stored_case(store, m), m)["alert"]) == texts(case_view({}, m)["alert"])


def test_tampered_answers_from_the_browser_are_dropped(m):
    assert stored_case({"sleep": "forever", "caffeine_intake": "high", "not_a_question": "yes"}, m) == {
        "caffeine_intake": "high"
    }


def test_not_sure_is_an_answer_to_every_question_and_reaches_the_model_as_such(m):
    case = stored_case({name: NOT_SURE for name in m.variables}, m)
    assert len(case) == len(m.variables)
    answers, not_sure = split_case({"weakness": NOT_SURE, "sleep": "short"})
    assert answers == {"sleep": "short"} and not_sure == ("weakness",)
    assert infer_case({"weakness": NOT_SURE, "sleep": "short"}, m).evidence == {"sleep": "short"}


def test_an_empty_page_shows_no_verdict_and_names_the_warning_signs_left(m):
    view = case_view({}, m)
    shown = texts(view["alert"])
    assert "No verdict yet" in shown and "Self-care" not in shown
    pending = verdict(infer_case({}, m), {}, m).pending
    assert set(pending[:3]) == set(m.red_flags), "warning signs first"
    assert f"Not yet: {len(pending)} warning-sign questions left: weakness, muscle shrinking" in shown
    assert view["pending"] == set(pending)
    assert f"{len(pending)} warning-sign questions left" in texts(lead_view(verdict(infer_case({}, m), {}, m), m))


def test_questions_still_open_are_named_in_plain_words_not_by_variable(m):
    case = {"weakness": "no", "muscle_wasting": "no", "walking_difficulty": "no"}
    v = verdict(infer_case(case, m), case, m)
    assert "numbness_tingling" in v.pending
    shown = texts(lead_view(v, m))
    assert "numbness or pins-and-needles" in shown and "numbness tingling" not in shown
    names = m.display["question_names"]
    assert set(names) == set(m.variables) and all(names.values())


def test_a_red_flag_turns_the_alert_red_on_the_first_answer(m):
    view = case_view({"weakness": "yes"}, m)
    alert = view["alert"]
    assert "level-see_doctor_promptly" in alert.className and "alert-danger" in alert.className
    assert "See a doctor promptly" in texts(alert)
    assert "Weakness with twitching needs a medical evaluation soon." in texts(alert)
    assert "\u26a0" in texts(alert)  # the level reads without its colour too


def test_no_verdict_below_what_the_unanswered_questions_could_call_for(m):
    # Whatever the answers, "Self-care" shows only once nothing is pending.
    for case in ({"caffeine_intake": "high", "sleep": "short", "stress_level": "high", "diet_quality": "poor"}, {}):
        v = verdict(infer_case(case, m), case, m)
        assert v.pending and v.level != "self_care"
        assert "Self-care" not in texts(case_view(case, m)["alert"])


def test_self_care_shows_once_nothing_is_pending(m, examples):
    case = examples["after_hard_run"].evidence
    v = verdict(infer_case(case, m), case, m)
    if v.pending:  # the model still has questions that could raise the level: no verdict yet
        assert v.level != "self_care"
    else:
        assert v.level == "self_care" and "Self-care" in texts(case_view(case, m)["alert"])


def test_reassurance_never_sits_beside_a_red_flag(m, examples):
    case = examples["red_flag"].evidence
    view = case_view(case, m)
    shown = texts(view["causes"]) + texts(view["lead"])
    assert "No clear cause" not in shown and "harmless" not in shown
    result = infer_case(case, m)
    advice = texts(advice_view(result, verdict(result, case, m), m))
    assert "See a doctor first" in advice
    assert not any(item.text in advice for items in m.priors.advice.values() for item in items)


def test_no_clear_cause_is_called_harmless_only_beside_a_settled_self_care(m):
    calm = {n: m.variables[n].states[0] for r in m.priors.escalation.rules for n in (*r.when, *r.unless)}
    for case in (calm, {"weakness": "no"}):
        v = verdict(infer_case(case, m), case, m)
        shown = texts(case_view(case, m)["causes"])
        assert ("No clear cause" in shown) == (v.settled and v.level == "self_care")
    assert verdict(infer_case(calm, m), calm, m).level == "self_care"


def test_serious_causes_are_said_in_plain_words_not_disease_names(m):
    case = {"diabetes": "yes", "numbness_tingling": "yes", "back_problem": "yes"}
    view = case_view(case, m)
    rows = {li.key: texts(li) for li in find(view["causes"], lambda c: getattr(c, "key", None) in m.causes)}
    for cause in ("neuropathy", "underlying_condition"):
        assert "not a diagnosis" in rows[cause]
    assert "Parkinson" not in texts(view["causes"]) and "sciatica" not in texts(view["causes"])
    notes = infer_case(case, m).serious_causes
    assert notes and all(n["text"] in texts(view["causes"]) for n in notes)


def test_every_bar_shows_its_percent_and_interval_formatted_in_python(m, examples):
    case = examples["coffee_exam_week"].evidence
    result = m.infer(case)
    rows = find(case_view(case, m)["causes"], lambda c: getattr(c, "key", None) in m.causes)
    assert [r.key for r in rows] == result.ranking
    top = texts(rows[0])
    assert f"{result.posterior[result.ranking[0]]:.0%}" in top and "\u2013" in top
    low, high = result.interval[result.ranking[0]]
    assert f"90% interval: {percent_range(low, high)}" in top  # in the details too: a phone shows it there


def test_a_bar_is_one_element_holding_its_chance_its_interval_and_the_chance_before_any_answer():
    from twitchcause.app.case import CauseRow
    from twitchcause.app.views import bar_view

    bar = bar_view(CauseRow("stress", 0.42, 0.1, "possible", (0.3, 0.55)))
    assert bar.style == {"--p": "42.0%", "--low": "30.0%", "--band": "25.0%", "--before": "10.0%"}
    assert not getattr(bar, "children", None) and bar.className == "bar"


def test_the_result_leads_with_what_to_do_and_when(m):
    case = {"weakness": "yes"}
    v = verdict(infer_case(case, m), case, m)
    look = m.display["levels"]["see_doctor_promptly"]
    shown = texts(lead_view(v, m))
    heading, when, do = look["heading"], look["time_frame"]["text"], look["what_to_do"]["text"]
    assert shown.index(heading) < shown.index(when) < shown.index(do) < shown.index("Weakness with twitching")
    assert when in texts(case_view(case, m)["alert"])


def test_every_result_carries_the_safety_net_after_the_causes(m, examples):
    # The phone reaches the bars first, then "See a doctor if"; the same for every case, built once.
    net = safety_net_view(m)
    for item in m.safety_net:
        assert item["condition"] in texts(net) and item["quote"] in texts(net)
    for case in (e.evidence for e in examples.values()):
        view = case_view(case, m)
        ids = [getattr(part, "id", None) for part in view["causes"]]
        assert view["causes"][-1] is net and ids.index("causes") < ids.index("safety-net")
        assert m.safety_net[0]["condition"] not in texts(view["lead"])  # said once, not twice


def test_not_sure_about_a_warning_sign_is_read_the_safe_way_and_said(m):
    case = {"weakness": NOT_SURE}
    v = verdict(infer_case(case, m), case, m)
    assert v.level == "see_doctor_promptly" and v.reasons[0]["not_sure"]
    assert "not sure" in texts(case_view(case, m)["alert"]).lower()


def test_the_summary_for_a_doctor_lists_answers_not_sure_and_questions_never_asked(m):
    from datetime import date

    case = {"weakness": "yes", "pain": NOT_SURE, "caffeine_intake": "high"}
    result = infer_case(case, m)
    shown = texts(summary_view(case, result, verdict(result, case, m), [], m, today=date(2026, 11, 29)))
    assert "2026-11-29" in shown and "See a doctor promptly" in shown and "Weakness with twitching" in shown
    answers, never = shown.split("never asked")
    assert m.variables["weakness"].question in answers and m.variables["caffeine_intake"].question in answers
    assert "Answered \u201cnot sure\u201d " + m.variables["pain"].question in shown
    assert m.variables["numbness_tingling"].question in never and m.variables["weakness"].question not in never
    assert m.variables["sleep"].question not in shown  # neither answered nor a rule question
    assert "informs, it does not diagnose" in shown


# -- the interview and the form ------------------------------------------------------------------


def test_the_interview_asks_what_the_model_returns_warning_signs_first(m):
    asked = []
    case, interview = {}, dict(questions.START)
    ask = lambda c: callbacks.next_question(c, m)  # noqa: E731
    while (name := questions.shown_question(case, interview, ask)) is not None and len(asked) < 40:
        assert name not in asked, "a question is asked once"
        asked.append(name)
        case = {**case, name: m.variables[name].states[0]}
        interview = questions.step("answer", interview, case, name)
    assert set(asked[:3]) == set(m.red_flags)
    assert len(asked) < 40


def test_a_question_answered_not_sure_is_not_asked_again(m):
    case = {"weakness": NOT_SURE}
    question = callbacks.next_question(case, m)
    assert question is not None and question.variable != "weakness"


def test_every_interview_question_offers_not_sure_and_marks_the_answer_chosen(m):
    view = questions.interview_view({"weakness": "no"}, questions.START, "weakness", m)
    buttons = find(view, lambda c: isinstance(getattr(c, "id", None), dict) and c.id.get("type") == "choice")
    assert [b.children for b in buttons] == ["No", "Yes", "Not sure"]
    assert [b.id["state"] for b in buttons] == ["no", "yes", NOT_SURE]
    assert [getattr(b, "aria-pressed") for b in buttons] == ["true", "false", "false"]


def test_back_steps_through_answers_from_a_link_then_the_interview_and_forward_again(m):
    case = {"caffeine_intake": "high", "weakness": "no"}
    interview = questions.step("answer", questions.START, case, "weakness")
    ask = lambda c: callbacks.next_question(c, m)  # noqa: E731
    interview = questions.step("back", interview, case)
    assert questions.shown_question(case, interview, ask) == "weakness"
    interview = questions.step("back", interview, case)
    assert questions.shown_question(case, interview, ask) == "caffeine_intake"
    interview = questions.step("answer", interview, case, "caffeine_intake")
    assert questions.shown_question(case, interview, ask) == "weakness"
    assert interview["focus"] == 4, "each step moves the focus"


@pytest.mark.parametrize("data", [None, 3, {"order": "x", "back": -4, "done": "yes", "mode": "evil"}, {"back": 99}])
def test_an_interview_state_from_the_browser_is_made_valid(m, data):
    state = questions.clean_interview(data, {"weakness": "no"})
    assert state["order"] == [] and 0 <= state["back"] <= 1 and state["done"] is False and state["mode"] == "interview"


def test_every_form_question_is_a_group_of_answer_buttons_with_pattern_ids_and_not_sure(m):
    form = questions.form_questions({"sleep": "short"}, {"weakness"}, m)
    groups = find(form, lambda c: isinstance(getattr(c, "id", None), dict) and c.id.get("type") == "answers")
    assert [g.id["question"] for g in groups] == [
        n for group in m.display["question_groups"] for n in group["variables"]
    ]
    for g in groups:
        name = g.id["question"]
        assert [b.id for b in g.children] == [
            {"type": "answer", "question": name, "state": s} for s in [*m.variables[name].states, NOT_SURE, ""]
        ]
    [sleep] = [g for g in groups if g.id["question"] == "sleep"]
    pressed = {b.id["state"]: (getattr(b, "aria-pressed"), b.tabIndex) for b in sleep.children}
    assert pressed["short"] == ("true", "0") and pressed["adequate"] == ("false", "-1"), "one tab stop: the answer"
    [weakness] = [g for g in groups if g.id["question"] == "weakness"]
    assert getattr(weakness.children[-1], "aria-pressed") == "true", "nothing chosen: not answered"
    assert weakness.children[0].tabIndex == "0"
    marks = find(form, lambda c: isinstance(getattr(c, "id", None), dict) and c.id.get("type") == "mark")
    assert [k.id["question"] for k in marks if k.children is not None] == ["weakness"], "the pending one is marked"


def test_only_the_form_questions_whose_answer_changed_are_drawn_again(m):
    from dash import no_update

    ids = [{"id": {"type": "answers", "question": n}} for n in ("sleep", "weakness", "pain")]
    drawn = callbacks.form_answers(ids, {"sleep": "short", "pain": "no"}, {"sleep": "short", "weakness": "no"}, m)
    assert drawn[0] is no_update and drawn[1] is not no_update and drawn[2] is not no_update


def test_events_become_the_case_the_interview_and_the_address(m, examples):
    start = dict(questions.START)
    link = apply_event(None, None, {}, start, "?weakness=yes&bogus=1", m, examples)
    assert link.case == {"weakness": "yes"} and link.notices and link.search is None
    sleep = {"type": "answer", "question": "sleep", "state": "short"}
    form = apply_event(sleep, 1, link.case, start, "", m, examples)
    assert form.case == {"sleep": "short", "weakness": "yes"} and form.search == "?sleep=short&weakness=yes"
    assert form.notices == []
    cleared = apply_event({**sleep, "state": ""}, 2, form.case, start, "", m, examples)
    assert cleared.case == {"weakness": "yes"}
    choice = {"type": "choice", "question": "pain", "state": NOT_SURE}
    picked = apply_event(choice, 1, {}, start, "", m, examples)
    assert picked.case == {"pain": NOT_SURE} and picked.interview["order"] == ["pain"]
    example = apply_event({"type": "example", "name": "red_flag"}, 1, picked.case, picked.interview, "", m, examples)
    assert example.case == examples["red_flag"].evidence and example.interview["order"] == []
    back = apply_event({"type": "step", "action": "back"}, 1, picked.case, picked.interview, "", m, examples)
    assert back.case is None and back.interview["back"] == 1
    reset = apply_event({"type": "step", "action": "reset"}, 1, picked.case, picked.interview, "", m, examples)
    assert reset.case == {} and reset.search == ""


@pytest.mark.parametrize(
    "trigger",
    [{"type": "choice", "question": "pain", "state": "yes"}, {"type": "step", "action": "back"}, {"type": "x"}],
)
def test_a_button_just_drawn_is_not_a_click(m, examples, trigger):
    from dash.exceptions import PreventUpdate

    with pytest.raises(PreventUpdate):
        apply_event(trigger, None, {}, dict(questions.START), "", m, examples)


# -- the words one tap away ---------------------------------------------------------------------


def test_why_says_in_words_what_speaks_for_the_cause_and_shows_no_log_odds(m):
    evidence = {"caffeine_intake": "high", "sleep": "adequate"}
    result = m.infer(evidence)
    sentences = why_sentences(evidence, "caffeine", result, m)
    assert sentences[0].startswith("Your answer \u201c") and "makes caffeine" in sentences[0]
    assert sentences[0].endswith("more likely.")
    shown = texts(why_view(evidence, "caffeine", result, m))
    assert "log" not in shown.lower()


def test_why_compares_when_an_answer_points_to_the_rival_cause(m, examples):
    evidence = examples["after_hard_run"].evidence
    result = m.infer(evidence)
    second = result.ranking[1]
    sentences = why_sentences(evidence, second, result, m)
    assert any(f"points more to {result.ranking[0].replace('_', ' ')} than to" in s for s in sentences)


def test_why_without_answers_gives_a_hint(m):
    assert "Answer a few questions" in texts(why_view({}, "caffeine", m.infer({}), m))


def test_the_details_hold_why_for_every_cause_help_advice_and_summary(m, examples):
    details = details_view(examples["coffee_exam_week"].evidence, m)
    assert set(details["why"]) == set(m.causes)
    assert m.priors.changes["caffeine_intake"].action in texts(details["help"])
    assert "summary for your doctor" in texts(details["summary"])


def test_no_advice_before_a_cause_is_likely(m):
    result = m.infer({})
    assert "none is likely yet" in texts(advice_view(result, verdict(result, {}, m), m))


def test_advice_for_a_likely_cause_comes_with_its_quote_and_source(m, examples):
    evidence = examples["after_hard_run"].evidence
    result = m.infer(evidence)
    shown = texts(advice_view(result, verdict(result, evidence, m), m))
    first = m.priors.advice["overexertion"][0]
    assert first.text in shown and first.quote in shown and m.priors.sources[first.source].title in shown


def test_what_would_help_is_a_list_of_sentences(m, examples):
    sentences = help_sentences(examples["coffee_exam_week"].evidence, m)
    assert sentences and all(isinstance(s, str) and "\u2192" in s for s in sentences)
    assert any(s.startswith(m.priors.changes["caffeine_intake"].action) for s in sentences)


# -- examples and the page ------------------------------------------------------------------------


def test_each_example_tells_its_story(m, examples):
    story = {name: m.infer(example.evidence) for name, example in examples.items()}
    assert story["after_hard_run"].ranking[0] == "overexertion"
    assert "caffeine" in story["coffee_exam_week"].ranking[:3]
    assert story["new_diuretic"].ranking[0] == "medication"
    assert story["restless_evenings"].ranking[0] == "restless_legs"
    assert story["red_flag"].escalation.level == "see_doctor_promptly"


def test_a_bad_example_file_names_the_file_and_the_example(m, tmp_path):
    path = tmp_path / "examples.yaml"
    path.write_text("oops:\n  label: x\n  story: y\n  evidence: {sleep: lots}\n", encoding="utf-8")
    with pytest.raises(TwitchcauseError, match=r"examples.yaml: oops: evidence 'sleep' has no state 'lots'"):
        load_examples(m, path)
    path.write_text("oops:\n  label: x\n", encoding="utf-8")
    with pytest.raises(TwitchcauseError, match=r"examples.yaml: oops: expected the keys label, story and evidence"):
        load_examples(m, path)


def test_the_page_names_both_ways_to_answer_and_says_it_informs(m, examples):
    shown = texts(build_layout(m, examples))
    assert "informs, it does not diagnose" in shown
    assert "One question at a time" in shown and "All questions" in shown


# dcc's components whose script arrives only once one is drawn (dash/dcc/async-*.js): one on the page
# as loaded costs a second request and a second render of the whole page before it is usable.
LAZY_COMPONENTS = {
    *("Upload", "Graph", "Dropdown", "Slider", "RangeSlider", "DatePickerSingle", "DatePickerRange", "Markdown"),
}


def component_types(component) -> set[str]:
    if isinstance(component, (list, tuple)):
        return set().union(*(component_types(c) for c in component))
    if not hasattr(component, "_type"):
        return set()
    return {component._type} | component_types(getattr(component, "children", None))


def test_the_page_as_loaded_draws_no_component_that_brings_its_own_script(m, examples):
    assert not component_types(build_layout(m, examples)) & LAZY_COMPONENTS


def test_the_diary_file_chooser_is_drawn_once_asked_for(dash_app):
    client = dash_app.server.test_client()
    [output] = [o for o in dash_app.callback_map if o.startswith("diary-import.")]
    body = callback_request(dash_app, output, {"diary-import-open.n_clicks": 1}, ["diary-import-open.n_clicks"])
    response = client.post("/_dash-update-component", json=body)
    drawn = json.loads(response.data)["response"]["diary-import"]["children"]
    chooser, limit = drawn
    assert chooser["type"] == "Upload" and chooser["props"]["id"] == {"type": "diary-upload", "index": 0}
    # With it, what the page can send: a larger file is refused in the browser, in words, naming the file.
    assert limit["props"]["data"]["bytes"] == MAX_BODY_BYTES - OTHER_REQUEST_BYTES
    assert "{file}" in limit["props"]["data"]["message"]
    body = callback_request(dash_app, output, {"diary-import-open.n_clicks": 2, "diary-import.children": drawn}, [])
    again = client.post("/_dash-update-component", json=body)
    assert "diary-import" not in json.loads(again.data)["response"]  # drawn once, kept as it is


def test_one_renderer_no_html_written_by_script_and_a_short_script(repo_dir):
    app_dir = repo_dir / "app"
    assert not [p for p in app_dir.rglob("*") if p.is_file() and "innerHTML" in p.read_text(errors="ignore")]
    scripts = list((app_dir / "assets").glob("*.js"))
    assert sum(len(p.read_text().splitlines()) for p in scripts) < 100


# -- the running app, without a browser -----------------------------------------------------------


def post_main_callback(dash_app, evidence):
    client = dash_app.server.test_client()
    response = client.post("/_dash-update-component", json=main_callback_request(dash_app, evidence))
    assert response.status_code == 200, response.data[:500]
    return json.loads(response.data)["response"]


def test_an_answer_brings_back_the_case_the_alert_the_bars_and_the_next_question_in_one_response(dash_app, m):
    # One round trip from a click to the new bars: the answer's own response draws them.
    response = post_main_callback(dash_app, {"weakness": "yes"})
    assert response["case"]["data"] == {"weakness": "yes", "muscle_wasting": "no"}
    assert "See a doctor promptly" in json.dumps(response["escalation"]["children"])
    assert json.dumps(response["result-causes"]["children"]).count('"cause"') >= 12
    asked = m.next_question({"weakness": "yes", "muscle_wasting": "no"}).variable
    assert f'"data-variable": "{asked}"' in json.dumps(response["interview"]["children"])
    assert response["drawn-case"]["data"] == response["case"]["data"]  # the details follow the bars


def test_the_details_are_computed_once_per_case(m, monkeypatch):
    computed = []
    view = callbacks.details_view
    monkeypatch.setattr(callbacks, "details_view", lambda case, model: computed.append(case) or view(case, model))
    app = create_app(m)
    client = app.server.test_client()
    [output] = [o for o, spec in app.callback_map.items() if "help.children" in o and "callback" in spec]
    body = callback_request(app, output, {"drawn-case.data": {"weakness": "no"}}, ["drawn-case.data"])
    for _ in range(2):
        assert client.post("/_dash-update-component", json=body).status_code == 200
    assert computed == [{"weakness": "no"}]


def test_responses_are_compressed(dash_app):
    response = dash_app.server.test_client().get("/", headers={"Accept-Encoding": "gzip"})
    assert response.headers.get("Content-Encoding") == "gzip"


def test_the_main_callback_keeps_well_within_its_time_budget(dash_app, examples):
    # CPU time of this thread, which serves the request: other processes on a busy machine
    # stretch the wall clock but not the work the callback does.
    client = dash_app.server.test_client()
    durations = []
    for example in list(examples.values()) * 4:
        start = time.thread_time()
        client.post("/_dash-update-component", json=main_callback_request(dash_app, example.evidence))
        durations.append(time.thread_time() - start)
    assert statistics.median(durations) < CALLBACK_BUDGET_SECONDS


def test_the_wsgi_module_exposes_a_flask_server(monkeypatch):
    import importlib
    import sys

    sys.modules.pop("twitchcause.app.wsgi", None)
    wsgi = importlib.import_module("twitchcause.app.wsgi")
    assert wsgi.server.test_client().get("/").status_code == 200
