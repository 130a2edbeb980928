"""The dashboard's logic without a browser: link parsing, the numbers of a case, the words shown."""

from __future__ import annotations

import json
import statistics
import time
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from benchmarks.load import main_callback_request
from twitchcause.app.case import case_from_link, case_view, earned, interval_numbers, stored_case
from twitchcause.app.examples import load_examples
from twitchcause.app.layout import build_layout, page_data
from twitchcause.app.server import create_app
from twitchcause.app.state import MAX_QUERY_LENGTH, MAX_SHOWN_CHARACTERS, parse_query, to_query
from twitchcause.app.views import advice_view, help_sentences, summary_view, why_sentences, why_view
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
        lambda chosen: st.fixed_dictionaries({name: st.sampled_from(m.variables[name].states) for name in chosen})
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
    assert notices == ["Ignored 'sleep=shrt': expected one of adequate, short, very_short (did you mean 'short'?)."]


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


# -- the case and its numbers ---------------------------------------------------------------------


def test_on_page_load_the_case_comes_from_the_link_with_its_notices(m):
    update = case_from_link("?weakness=yes&bogus=1", m)
    assert update.evidence == {"weakness": "yes"}
    assert update.notices == ["Ignored 'bogus': not a question of this tool."]


@pytest.mark.parametrize("store", [None, [], "weakness=yes", 42, {"weakness": ["yes"]}, {"sleep": "forever"}])
def test_a_store_that_is_not_a_case_counts_as_no_answers(m, store):
    assert stored_case(store, m) == {}
    assert case_view(store, m) == case_view({}, m)


def test_tampered_answers_from_the_browser_are_dropped(m):
    assert stored_case({"sleep": "forever", "caffeine_intake": "high", "not_a_question": "yes"}, m) == {
        "caffeine_intake": "high"
    }


def test_an_empty_page_earns_no_verdict(m):
    view = case_view({}, m)
    assert view["earned"] is False
    assert view["alert"] == {"level": None, "reasons": []}
    assert view["answered"] == 0


def test_a_red_flag_turns_the_alert_red_on_the_first_answer(m):
    view = case_view({"weakness": "yes"}, m)
    assert view["earned"] is False
    assert view["alert"]["level"] == "see_doctor_promptly"
    [reason] = view["alert"]["reasons"]
    assert reason["message"] == "Weakness with twitching needs a medical evaluation soon."
    assert reason["source"] == m.priors.sources["ankle"].title


def test_an_amber_rule_shows_at_once_with_only_the_reasons_that_fired(m):
    view = case_view({"numbness_tingling": "yes"}, m)
    assert view["alert"]["level"] == "see_doctor"
    assert [r["rule"] for r in view["alert"]["reasons"]] == ["numbness_tingling"]


def test_self_care_is_shown_once_the_warning_signs_are_answered(m):
    flags = {flag: "no" for flag in m.red_flags}
    assert not earned({"weakness": "no"}, m)
    assert earned(flags, m)
    assert case_view(flags, m)["alert"]["level"] == "self_care"
    enough = int(m.display["interview"]["earned_after_answers"])
    few = dict(
        list({"caffeine_intake": "high", "sleep": "short", "stress_level": "high", "diet_quality": "poor"}.items())[
            :enough
        ]
    )
    assert earned(few, m)


def test_the_numbers_list_every_cause_most_likely_first_with_a_word(m, examples):
    evidence = examples["after_hard_run"].evidence
    view = case_view(evidence, m)
    result = m.infer(evidence)
    assert [c[0] for c in view["causes"]] == result.ranking
    words = {w["word"] for w in m.display["probability_words"]}
    for cause, p, prior, word in view["causes"]:
        assert p == result.posterior[cause] and prior == result.prior[cause]
        assert word in words
    assert view["causes"][0][3] == "likely"
    assert view["none"] == [result.none_identified, m.prior_none_identified]
    json.dumps(view)  # the browser receives it as JSON


def test_the_next_questions_are_the_ask_next_ranking_warning_signs_first(m):
    view = case_view({"caffeine_intake": "high"}, m)
    ranked = m.ask_next({"caffeine_intake": "high"})
    assert [q[0] for q in view["next"]] == [q.variable for q in ranked]
    assert {q[0] for q in view["next"][:3]} == set(m.red_flags) and all(q[2] for q in view["next"][:3])
    assert "caffeine_intake" not in [q[0] for q in view["next"]]


# -- the words under the results ------------------------------------------------------------------


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
    result = m.infer({})
    assert "Answer a few questions" in texts(why_view({}, "", result, m))


def test_no_advice_before_a_cause_is_likely(m):
    assert "none is likely yet" in texts(advice_view(m.infer({}), {}, m))


def test_advice_for_a_likely_cause_comes_with_its_quote_and_source(m, examples):
    evidence = examples["after_hard_run"].evidence
    shown = texts(advice_view(m.infer(evidence), evidence, m))
    first = m.priors.advice["overexertion"][0]
    assert first.text in shown and first.quote in shown and m.priors.sources[first.source].title in shown


def test_what_would_help_is_a_list_of_sentences(m, examples):
    sentences = help_sentences(examples["coffee_exam_week"].evidence, m)
    assert sentences and all(isinstance(s, str) and "\u2192" in s for s in sentences)
    assert any(s.startswith(m.priors.changes["caffeine_intake"].action) for s in sentences)


def test_the_summary_for_a_doctor_holds_the_answers_the_reasons_and_the_date(m, examples):
    from datetime import date

    evidence = examples["red_flag"].evidence
    shown = texts(summary_view(evidence, m.infer(evidence), m, today=date(2026, 11, 29)))
    assert "2026-11-29" in shown
    assert "See a doctor promptly" in shown and "Weakness with twitching" in shown
    assert m.variables["weakness"].question in shown
    assert m.variables["caffeine_intake"].question not in shown  # only the answers given
    assert "No clear cause" in shown and "informs, it does not diagnose" in shown


# -- examples and the page ------------------------------------------------------------------------


def test_each_example_tells_its_story(m, examples):
    story = {name: m.infer(example.evidence) for name, example in examples.items()}
    assert story["after_hard_run"].ranking[0] == "overexertion"
    assert "caffeine" in story["coffee_exam_week"].ranking[:3]
    assert story["new_diuretic"].ranking[0] == "medication"
    assert story["restless_evenings"].ranking[0] == "restless_legs"
    assert story["red_flag"].escalation.level == "see_doctor_promptly"
    assert story["after_hard_run"].escalation.level == "self_care"


def test_a_bad_example_file_names_the_file_and_the_example(m, tmp_path):
    path = tmp_path / "examples.yaml"
    path.write_text("oops:\n  label: x\n  story: y\n  evidence: {sleep: lots}\n", encoding="utf-8")
    with pytest.raises(TwitchcauseError, match=r"examples.yaml: oops: evidence 'sleep' has no state 'lots'"):
        load_examples(m, path)
    path.write_text("oops:\n  label: x\n", encoding="utf-8")
    with pytest.raises(TwitchcauseError, match=r"examples.yaml: oops: expected the keys label, story and evidence"):
        load_examples(m, path)


def test_the_page_names_every_question_and_says_it_informs(m, examples):
    shown = texts(build_layout(m, examples))
    assert "informs, it does not diagnose" in shown
    assert "One question at a time" in shown and "All questions" in shown


def test_intervals_are_the_models_and_name_their_case(m, examples):
    evidence = examples["coffee_exam_week"].evidence
    result = m.infer(evidence)
    numbers = interval_numbers(evidence, result)
    assert numbers["case"] == evidence
    assert numbers["interval"] == {cause: list(bounds) for cause, bounds in m.interval(evidence).items()}
    for low, high in numbers["interval"].values():
        assert 0 <= low <= high <= 1
    json.dumps(numbers)


def test_the_page_data_carries_every_question_cause_and_example(m, examples):
    data = page_data(m, examples)
    assert list(data["variables"]) == list(m.variables)
    grouped = [n for g in data["groups"] for n in g["variables"]]
    assert sorted(grouped) == sorted(m.variables) and len(grouped) == len(set(grouped))
    assert {n for n, v in data["variables"].items() if v["flag"]} == set(m.red_flags)
    assert list(data["causes"]) == list(m.causes)
    assert data["examples"]["red_flag"] == examples["red_flag"].evidence
    assert data["no_clear_cause"]["source"] == m.priors.sources[m.display["no_clear_cause"]["source"]].title
    json.dumps(data)


# -- the running app, without a browser -----------------------------------------------------------


def post_main_callback(dash_app, evidence):
    client = dash_app.server.test_client()
    response = client.post("/_dash-update-component", json=main_callback_request(dash_app, evidence))
    assert response.status_code == 200, response.data[:500]
    return json.loads(response.data)["response"]


def test_the_main_callback_answers_numbers_over_http(dash_app, m):
    view = post_main_callback(dash_app, {"weakness": "yes"})["view"]["data"]
    assert view["alert"]["level"] == "see_doctor_promptly"
    assert len(view["causes"]) == 12
    assert view == json.loads(json.dumps(case_view({"weakness": "yes"}, m)))


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
