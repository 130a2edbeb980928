"""Reading a person's own words: short phrases one a line, the sample stories scored, safety, the data, the doors.

Every phrase is first person, as the people who type into the tool write; the
phrase data is general (priors/text.yaml), not the sample stories' words.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter

import pytest
from cli_helpers import one_error_line, run
from hypothesis import given, settings
from hypothesis import strategies as st
from test_priors import assign, edit, folder, problem  # noqa: F401  (folder is a fixture)

from twitchcause.model.text import HOWS, MAX_TEXT_CHARS, NEEDS_EXTRA, NOT_SURE, proposed_answers
from twitchcause.priors import PriorsError, load_priors

pytest.importorskip("negspacy", reason="the twitchcause[text] extra is not installed")

# (what a person writes, the answers it proposes) -- exactly these, nothing more
PHRASES = [
    # negation
    ("I don't drink coffee.", {"caffeine_intake": "none"}),
    ("No cramps at all.", {"cramps": "none"}),
    ("No numbness or tingling.", {"numbness_tingling": "no"}),
    ("I have no weakness.", {"weakness": "no"}),
    ("There is no pain.", {"pain": "no"}),
    ("I'm not on any medication.", {"medication_type": "none"}),
    ("I haven't been sweating much.", {"heavy_sweating": "no"}),
    ("Stretching doesn't help.", {"relieved_by_rest_or_stretching": "no"}),
    ("I can walk fine, no tripping.", {"walking_difficulty": "no"}),
    ("Not diabetic.", {"diabetes": "no"}),
    ("My mother had weakness but I do not.", {}),
    ("No energy drinks, just coffee.", {}),
    # someone else
    ("My dad has MS and diabetes.", {}),
    ("My mum has restless legs.", {}),
    ("My sister had muscle wasting.", {}),
    ("My wife says I kick in my sleep.", {"movements_during_sleep": "yes", "timing": "at_night"}),
    ("Family history of thyroid problems.", {}),
    # hypothetical
    ("If it gets worse I'll see a doctor.", {}),
    ("I'm worried about weakness.", {}),
    ("What if I get foot drop?", {}),
    ("In case it spreads to my arms.", {}),
    # historical
    ("I had sciatica years ago.", {}),
    ("I used to have a slipped disc.", {}),
    ("I had a thyroid problem as a child.", {}),
    # uncertain
    ("Maybe a bit numb.", {"numbness_tingling": "not_sure"}),
    ("I think my leg might be weaker.", {"weakness": "not_sure"}),
    ("Not sure if there's any weakness.", {"weakness": "not_sure"}),
    ("Perhaps I've been sweating more.", {}),
    # quantities
    ("I drink four cups of coffee a day.", {"caffeine_intake": "high"}),
    ("One coffee a day.", {"caffeine_intake": "moderate"}),
    ("Two energy drinks a day.", {"caffeine_intake": "high"}),
    ("I sleep about 8 hours a night.", {"sleep": "adequate"}),
    ("I've been getting 6 hours of sleep.", {"sleep": "short"}),
    ("Less than five hours of sleep lately.", {"sleep": "very_short"}),
    ("My calf has been twitching for three weeks.", {"twitch_site": "calf", "duration": "weeks"}),
    ("It started since Monday.", {"duration": "days"}),
    ("My thigh has twitched for two days.", {"twitch_site": "thigh", "duration": "days"}),
    ("It's been going on for months.", {"duration": "months"}),
    ("Twitching in both legs.", {"twitch_site": "whole_leg", "spread": "both_legs"}),
    ("It twitches all over, even my arms.", {"spread": "widespread"}),
    ("It twitches several times a day.", {"frequency": "frequent"}),
    ("More than 3 coffees a day.", {"caffeine_intake": "high"}),
    ("I've had it for a couple of weeks.", {"duration": "weeks"}),
    ("My calf has been flickering for two days.", {"twitch_site": "calf", "intensity": "flicker", "duration": "days"}),
    ("It's been 2 months.", {"duration": "months"}),
    ("My work boots are too tight.", {"tight_footwear_or_position": "yes"}),
    # misspellings a phone keyboard makes
    ("I drink a lot of cofee.", {"caffeine_intake": "high"}),
    ("My calf keeps twiching.", {"twitch_site": "calf"}),
    ("Some numbnes in my foot.", {"numbness_tingling": "yes"}),
    ("I have diabetis.", {"diabetes": "yes"}),
    ("Tinglng in my toes.", {"numbness_tingling": "yes"}),
    # plain affirmed
    ("My left calf twitches when I sit down.", {"twitch_site": "calf", "timing": "at_rest"}),
    ("It wakes me up at night.", {"sleep_disrupted": "yes", "timing": "at_night"}),
    (
        "I get an urge to move my legs; it twitches in the evening.",
        {"urge_to_move": "yes", "timing": "at_rest", "twitch_site": "whole_leg", "spread": "both_legs"},
    ),
    ("It stops when I take my shoes off.", {"relieved_when_pressure_removed": "yes"}),
    ("I ran a marathon yesterday.", {"recent_exercise": "strenuous"}),
    ("I've been really stressed at work.", {"stress_level": "high"}),
    (
        "I started a new antidepressant last week.",
        {"medication_type": "antidepressant", "medication_started_recently": "yes"},
    ),
    ("It's getting worse.", {"trend": "worsening"}),
    ("I can't stand on my toes on that side.", {"weakness": "yes"}),
]


@pytest.mark.parametrize(("text", "answers"), PHRASES, ids=[p[0] for p in PHRASES])
def test_a_short_phrase_proposes_exactly_its_answers(loaded_model, text, answers):
    assert proposed_answers(loaded_model.read_text(text), loaded_model.priors) == answers


def test_plain_negex_would_read_the_mother_s_weakness_as_present_this_does_not(loaded_model):
    mentions = loaded_model.read_text("My mother had weakness but I do not")
    assert [(m.variable, m.state, m.how) for m in mentions] == [("weakness", "yes", "other_person")]
    assert "weakness" not in loaded_model.text_answers(mentions)


def test_a_mention_is_its_span_of_the_text(loaded_model):
    text = "Four energy drinks a day; my left calf has been flickering for two days, no cramps, my dad has MS."
    mentions = loaded_model.read_text(text)
    assert mentions and all(text[m.start : m.end] == m.text and m.how in HOWS for m in mentions)
    assert {m.variable for m in mentions} >= {"caffeine_intake", "twitch_site", "duration", "cramps"}


# -- safety: a warning sign said any way but plainly is never "yes" -----------------------------------
WAYS = {
    "negated": "I have no {}.",
    "other_person": "My dad has {}.",
    "hypothetical": "If I get {}, I will call.",
    "historical": "I had {} years ago.",
    "uncertain": "Maybe some {}?",
}
RED_FLAGS = {
    "weakness": "weakness",
    "muscle_wasting": "muscle wasting",
    "walking_difficulty": "trouble walking",
    "numbness_tingling": "numbness",
    "pain": "pain",
    "cramps": "painful cramps",
    "trend": "worsening",
    "medication_started_recently": "new medication",
    "sleep_disrupted": "waking up",
}


@pytest.mark.parametrize("how", WAYS)
@pytest.mark.parametrize("variable", RED_FLAGS)
def test_a_warning_sign_not_said_plainly_never_raises_the_level(loaded_model, variable, how):
    mentions = loaded_model.read_text(WAYS[how].format(RED_FLAGS[variable]))
    assert [(m.variable, m.how) for m in mentions if m.variable == variable] == [(variable, how)]
    answer = loaded_model.text_answers(mentions).get(variable)
    raising = {s for rule in loaded_model.priors.escalation.rules for s in rule.when.get(variable, [])}
    assert answer not in raising
    assert answer == {"uncertain": NOT_SURE}.get(how, answer if how == "negated" else None)


def test_no_trigger_word_of_the_data_lets_a_warning_sign_through(loaded_model):
    """Every trigger of every termset, before or after a warning sign, keeps it from reading "yes"."""
    raising = {v: {s for rule in loaded_model.priors.escalation.rules for s in rule.when.get(v, [])} for v in RED_FLAGS}
    termsets = loaded_model.priors.text.termsets
    through = []
    for how in ("negated", "uncertain", "other_person", "hypothetical", "historical"):
        terms = getattr(termsets, how)
        texts = [f"{t} {{}}" for t in terms.preceding] + [f"{{}} {t}" for t in terms.following]
        for template in texts:
            for variable, phrase in RED_FLAGS.items():
                text = template.format(phrase)
                answer = loaded_model.text_answers(loaded_model.read_text(text)).get(variable)
                if answer in raising[variable]:
                    through.append(f"{how}: {text!r} -> {variable}={answer}")
    assert through == []


def test_explicit_answers_win_over_the_text(loaded_model):
    mentions = loaded_model.read_text("Four cups of coffee a day and my calf twitches.")
    answers = loaded_model.text_answers(mentions, {"caffeine_intake": "none"})
    assert answers == {"caffeine_intake": "none", "twitch_site": "calf"}


def test_an_explicit_not_sure_wins_over_the_text_like_an_answer(loaded_model):
    mentions = loaded_model.read_text("My calf twitches and I have weakness.")
    assert loaded_model.text_answers(mentions, not_sure=["weakness"]) == {"weakness": NOT_SURE, "twitch_site": "calf"}
    mentions = loaded_model.read_text("My calf twitches, maybe my leg is weaker.")
    assert loaded_model.text_answers(mentions) == {"weakness": NOT_SURE, "twitch_site": "calf"}
    assert loaded_model.text_answers(mentions, {"weakness": "no"}) == {"weakness": "no", "twitch_site": "calf"}


def test_the_text_never_lowers_the_level_an_explicit_answer_raised(loaded_model):
    # the rule of a disturbed sleep yields to an occasional twitch ("unless"); the text may not use that
    explicit = {"sleep_disrupted": "yes"}
    assert loaded_model.infer(explicit).escalation.level == "see_doctor"
    mentions = loaded_model.read_text("It twitches now and then in my calf.")
    assert proposed_answers(mentions, loaded_model.priors)["frequency"] == "occasional"
    answers = loaded_model.text_answers(mentions, explicit)
    assert answers == {"sleep_disrupted": "yes", "twitch_site": "calf"}
    assert loaded_model.infer(answers).escalation.level == "see_doctor"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (42, "the text must be a string, got int"),
        ("x" * (MAX_TEXT_CHARS + 1), f"the text has {MAX_TEXT_CHARS + 1:,} characters; a description is at most"),
    ],
)
def test_bad_text_is_one_clear_error(loaded_model, text, message):
    with pytest.raises(ValueError, match=message):
        loaded_model.read_text(text)


def test_empty_text_has_no_mentions(loaded_model):
    assert loaded_model.read_text("  ") == []


# -- the sample stories ------------------------------------------------------------------------
def _why_missed(mentions, variable: str, answers: dict) -> tuple[str, str]:
    """(the kind of miss, the detail) for a pair of a case's evidence the story's answers lack."""
    said = [m for m in mentions if m.variable == variable]
    if variable in answers:
        return "read otherwise", f"read as {answers[variable]}"
    if not said:
        return "named by no phrase of the story", "no phrase of the story names it"
    if all(m.state is None for m in said):
        return "named without a state", "named without a state: " + ", ".join(repr(m.text) for m in said)
    return "not said plainly", "said as " + ", ".join(sorted({m.how for m in said}))


def test_the_sample_stories_propose_their_cases_answers(loaded_model, shared_dir):
    """Precision and recall over (variable, state) pairs of every story's proposed answers against its evidence.

    The evidence of a sample case also holds what its writer assumed and the story does not say
    ("weakness: no" for a story that never speaks of strength): such pairs count as missed.
    """
    cases = json.loads((shared_dir / "vignettes" / "public.json").read_text(encoding="utf-8"))
    found = wrong = missed = 0
    notes, reasons = [], Counter()
    for case in cases:
        mentions = loaded_model.read_text(case["story"])
        answers = loaded_model.text_answers(mentions)
        got, want = set(answers.items()), set(case["evidence"].items())
        found, wrong, missed = found + len(got & want), wrong + len(got - want), missed + len(want - got)
        for variable, state in sorted(got - want):
            notes.append(f"  {case['id']}: proposed {variable}={state}, the case has {case['evidence'].get(variable)}")
        for variable, state in sorted(want - got):
            kind, why = _why_missed(mentions, variable, answers)
            reasons[kind] += 1
            notes.append(f"  {case['id']}: missed {variable}={state}: {why}")
    precision, recall = found / (found + wrong), found / (found + missed)
    summary = ", ".join(f"{n} {why}" for why, n in reasons.most_common())
    with pytest.MonkeyPatch.context():
        print(
            f"\nown words on {len(cases)} sample stories: precision {precision:.2f} ({found} of {found + wrong}), "
            f"recall {recall:.2f} ({found} of {found + missed}); missed: {summary}",
            *notes,
            sep="\n",
        )
    assert precision >= 0.9
    assert recall >= 0.6  # the samples' evidence holds unsaid assumptions; see the note for each miss


# -- the data: text.yaml is checked on load, one line per problem -----------------------------------
BROKEN_TEXT = [
    (assign("variables", "cafeine", {"phrases": {}}), "variables -> cafeine", "not an evidence variable"),
    (assign("variables", "cramps", "phrases", {"mild": ["mild cramp"]}), "variables -> cramps", "unknown state 'mild'"),
    (assign("variables", "weakness", "negated", "yes"), "variables -> weakness", "negated: 'yes' raises the level"),
    (assign("variables", "pain", "said", ["ow"]), "variables -> pain -> said", "Extra inputs are not permitted"),
    (
        assign("variables", "calf", {"phrases": {}}),
        "variables -> calf",
        "not an evidence variable",
    ),
    (
        assign("counts", 0, "patterns", ["cups of coffee"]),
        "counts -> 0",
        "pattern 'cups of coffee' has no count (#)",
    ),
    (
        assign("counts", 0, "states", [{"state": "high"}, {"state": "moderate", "below": 4}]),
        "counts -> 0",
        "every state but the last needs 'below'",
    ),
    (
        assign("variables", "twitch_site", "phrases", "calf", [{"say": "calves", "also": {"spread": "two_legs"}}]),
        "variables -> twitch_site",
        "unknown state 'two_legs'",
    ),
    (assign("termsets", "unsure", {}), "termsets -> unsure", "Extra inputs are not permitted"),
]


@pytest.mark.parametrize(("change", "entry", "message"), BROKEN_TEXT, ids=[b[2][:40] for b in BROKEN_TEXT])
def test_a_broken_text_file_is_rejected_naming_the_entry(folder, change, entry, message):  # noqa: F811
    edit(folder, "text.yaml", change)
    with pytest.raises(PriorsError, match=problem(folder, "text.yaml", entry, message)):
        load_priors(folder)


# -- the doors: the command line and the JSON API -----------------------------------------------------
STORY = "Four energy drinks a day, my calf twitches, no cramps, and my mother had weakness."


def test_read_json_gives_the_mentions_and_answers(capsys):
    status, out, _ = run(capsys, "read", STORY, "--json")
    assert status == 0
    data = json.loads(out)
    assert data["answers"] == {"caffeine_intake": "high", "twitch_site": "calf", "cramps": "none"}
    assert {"variable", "state", "text", "start", "end", "how"} == set(data["mentions"][0])
    assert ("weakness", "other_person") in [(m["variable"], m["how"]) for m in data["mentions"]]


def test_read_prints_one_mention_a_line_the_answers_and_the_disclaimer(capsys):
    status, out, _ = run(capsys, "read", STORY)
    assert status == 0
    assert "energy drinks  caffeine_intake=high  (affirmed)" in out
    assert "proposed answers: caffeine_intake=high, twitch_site=calf, cramps=none" in out
    assert "does not diagnose" in out


def test_infer_text_uses_the_answers_and_explicit_ones_win(capsys):
    status, out, _ = run(capsys, "infer", "--text", STORY, "caffeine_intake=none", "--json")
    assert status == 0
    report = json.loads(out)
    assert report["evidence"] == {"caffeine_intake": "none", "twitch_site": "calf", "cramps": "none"}
    assert report["from_text"]["answers"] == {"twitch_site": "calf", "cramps": "none"}
    status, out, _ = run(capsys, "infer", "--text", "I have weakness and my calf twitches")
    assert status == 0 and "from your words: twitch_site=calf, weakness=yes" in out
    assert "escalation: see_doctor_promptly" in out


def test_reading_without_the_text_extra_is_one_line_naming_it(repo_dir):
    code = "import sys; sys.modules['spacy'] = None; from twitchcause.cli import main; sys.exit(main(['read', 'x']))"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=repo_dir)
    assert proc.returncode == 2
    assert one_error_line(proc.stderr) == NEEDS_EXTRA


@pytest.fixture(scope="module")
def client(loaded_model):
    from twitchcause.app.server import create_app

    return create_app(loaded_model).server.test_client()


def test_the_read_api_answers_the_mentions(client, capsys):
    response = client.post("/api/v1/read", json={"text": STORY})
    assert response.status_code == 200
    status, out, _ = run(capsys, "read", STORY, "--json")
    assert response.get_json() == json.loads(out)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('{"text": 3}', '"text" must be a string (a description in your own words), got 3'),
        ('{"story": "x"}', "unknown field 'story'; expected text"),
        ("[1]", 'the body must be a JSON object {"text": "..."}, got list'),
        ("{", "the body is not JSON"),
        (json.dumps({"text": "x" * (MAX_TEXT_CHARS + 1)}), "a description is at most"),
    ],
)
def test_the_read_api_rejects_a_bad_body_in_one_line(client, body, message):
    response = client.post("/api/v1/read", data=body, content_type="application/json")
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert message in error and "\n" not in error


def test_infer_text_reads_an_uncertain_warning_sign_as_not_sure(capsys):
    status, out, _ = run(capsys, "infer", "--text", "My calf twitches and maybe my leg is weaker.", "--json")
    assert status == 0
    report = json.loads(out)
    assert report["not_sure"] == ["weakness"]
    assert any(reason["not_sure"] for reason in report["escalation"]["reasons"])


# -- any text: spans, states and safety hold whatever is typed ---------------------------------------
WORDS = [
    "my",
    "calf",
    "no",
    "not",
    "maybe",
    "if",
    "dad",
    "mother",
    "weakness",
    "numb",
    "cofee",
    "4",
    "cups",
    "for",
    "three",
    "weeks",
    "twitches",
    "years",
    "ago",
    "but",
    "I",
    "do",
    ",",
    ".",
    "?",
    "pain",
    "both",
    "legs",
    "painful",
    "cramps",
    "trouble",
    "walking",
    "sleep",
    "under",
    "five",
    "hours",
    "energy",
    "drinks",
    "worse",
]


@settings(max_examples=60, deadline=None)
@given(st.one_of(st.lists(st.sampled_from(WORDS), max_size=30).map(" ".join), st.text(max_size=200)))
def test_any_text_gives_spans_of_itself_and_answers_of_the_vocabulary(loaded_model, text):
    mentions = loaded_model.read_text(text)
    variables = loaded_model.variables
    for m in mentions:
        assert text[m.start : m.end] == m.text and m.how in HOWS
        assert m.state is None or m.state in variables[m.variable].states
    raising = {v: set() for v in variables}
    for rule in loaded_model.priors.escalation.rules:
        for name, states in rule.when.items():
            raising[name].update(states)
    for name, state in loaded_model.text_answers(mentions).items():
        assert state in variables[name].states or (state == NOT_SURE and raising[name])
        if state in raising[name]:  # a level is raised only by a plain mention of that very state
            assert any(m.variable == name and m.state == state and m.how == "affirmed" for m in mentions)


def test_reading_many_different_stories_keeps_memory_bounded(loaded_model):
    # A server reads stories for months: neither spaCy's string store nor the typing-slip cache may
    # grow with every new word a person types.
    from twitchcause.model.text import SLIPS_KEPT

    reader = loaded_model._text_reader
    loaded_model.read_text("my calf twitches after coffee")  # the first reading fills what every reading needs
    strings = len(reader.nlp.vocab.strings)
    for i in range(SLIPS_KEPT + 200):
        loaded_model.read_text(f"my calf twitches, word{i}x zq{i}y, after cofee{i}")
    assert len(reader.nlp.vocab.strings) == strings
    assert len(reader._slips) <= SLIPS_KEPT
    assert "caffeine_intake" in {m.variable for m in loaded_model.read_text("my calf twitches after cofee")}
