"""Follow-up over days: the diary model against pgmpy, the documents' scenarios, the time rules, bad diaries."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from twitchcause import model
from twitchcause.model import followup
from twitchcause.model.followup_reference import reference_drivers


@pytest.fixture(scope="module")
def m() -> model.Model:
    return model.load()


SHORT_DIARIES = {
    "caffeine cut, better, fewer twitches": [
        {"date": "2026-03-01", "answers": {"caffeine_intake": "high", "sleep": "short", "frequency": "frequent"}},
        {
            "date": "2026-03-04",
            "changes": ["caffeine_intake", "tight_footwear_or_position"],
            "twitch": "better",
            "answers": {"frequency": "occasional"},
        },
    ],
    "a change nobody answered before, then gone": [
        {"date": "2026-03-01", "answers": {"timing": "after_exercise", "cramps": "brief"}},
        {"date": "2026-03-02", "changes": ["recent_exercise"], "twitch": "same"},
        {"date": "2026-03-06", "twitch": "gone", "answers": {"intensity": "flicker"}},
    ],
    "sweating and water: the cause parent": [
        {"date": "2026-03-01", "answers": {"heavy_sweating": "yes", "fluid_intake": "low", "stress_level": "high"}},
        {"date": "2026-03-03", "changes": ["heavy_sweating", "fluid_intake"], "twitch": "worse"},
    ],
}


@pytest.mark.parametrize("name", sorted(SHORT_DIARIES))
def test_drivers_agree_with_pgmpy_on_the_unrolled_network(m, name):
    diary = SHORT_DIARIES[name]
    reference = reference_drivers(m, diary)
    coded = followup.plan(m.priors, m.engine, followup.parse_diary(m, diary))
    exact = dict(zip(m.causes, followup.driver_marginals(m, coded)))
    for cause in m.causes:
        assert exact[cause] == pytest.approx(reference[cause], abs=1e-9), cause


def test_a_diary_of_one_check_in_is_the_single_moment_posterior(m):
    answers = {"caffeine_intake": "high", "sleep": "short", "urge_to_move": "yes"}
    result = m.follow_up([{"date": "2026-03-01", "answers": answers}])
    single = m.infer(answers)
    for cause in m.causes:
        assert result.drivers[cause] == pytest.approx(single.posterior[cause], abs=1e-12)


def test_a_later_check_in_s_findings_are_evidence_about_the_causes_still_at_work(m):
    first = {"date": "2026-03-01", "answers": {"caffeine_intake": "high", "frequency": "frequent"}}
    plain = m.follow_up([first, {"date": "2026-03-04", "changes": ["caffeine_intake"], "twitch": "same"}])
    again = {
        "date": "2026-03-04",
        "changes": ["caffeine_intake"],
        "twitch": "same",
        "answers": {"frequency": "frequent"},
    }
    fewer = {**again, "answers": {"frequency": "occasional"}}
    # the same twitch still frequent says causes are still at work now (caffeine among them, not settled):
    # more likely than with nothing said; only occasional now says fewer are
    assert m.follow_up([first, again]).drivers["caffeine"] > plain.drivers["caffeine"]
    assert m.follow_up([first, fewer]).drivers["caffeine"] < plain.drivers["caffeine"]


def test_settling_by_hand(m):
    # caffeine's only trigger removed: the twin network's share is 1 - leak / P(on), with the leak
    # 'very_rare' (0.01) and high intake's link 'may' (0.45): 1 - 0.01 / (1 - 0.99 * 0.55) = 0.98112;
    # after 3 days with a 1-day half-life 7/8 of "often" (0.6) has happened
    check_ins = followup.parse_diary(
        m,
        [
            {"date": "2026-03-01", "answers": {"caffeine_intake": "high"}},
            {"date": "2026-03-04", "changes": ["caffeine_intake"]},
        ],
    )
    q = followup.plan(m.priors, m.engine, check_ins).later[0][1]
    share = 1 - 0.01 / (1 - 0.99 * 0.55)
    assert q[m.causes.index("caffeine")] == pytest.approx(0.6 * share * 7 / 8)
    assert np.count_nonzero(q) == 1


# -- the documents' scenarios -------------------------------------------------------------
def test_caffeine_cut_and_the_twitch_gone_names_caffeine(m):
    result = m.follow_up(
        [
            {
                "date": "2026-03-01",
                "answers": {"caffeine_intake": "high", "sleep": "short", "stress_level": "moderate"},
            },
            {"date": "2026-03-05", "changes": ["caffeine_intake"], "twitch": "gone"},
        ]
    )
    assert result.ranking[0] == "caffeine"
    assert result.drivers["caffeine"] >= 0.5  # "likely" in display.yaml's words
    before = m.infer({"caffeine_intake": "high", "sleep": "short", "stress_level": "moderate"}).posterior
    assert result.drivers["caffeine"] > before["caffeine"]
    assert result.drivers["sleep_loss"] < before["sleep_loss"]
    (cut,) = result.changes
    assert cut.variable == "caffeine_intake" and cut.twitch_after == "gone" and cut.days == 4
    assert cut.driver_now > cut.driver_before
    assert cut.predicted["caffeine"][1] < cut.predicted["caffeine"][0]
    assert cut.summary.startswith(f"{m.priors.changes['caffeine_intake'].action}. It seems to have helped")
    assert result.level == "self_care"


def test_weeks_of_the_same_twitch_despite_three_changes_sees_a_doctor(m):
    result = m.follow_up(
        [
            {"date": "2026-03-01", "answers": {"caffeine_intake": "high", "sleep": "short", "stress_level": "high"}},
            {"date": "2026-03-04", "changes": ["caffeine_intake", "sleep", "stress_level"], "twitch": "same"},
            {"date": "2026-03-25", "twitch": "same"},
        ]
    )
    assert result.level == "see_doctor"
    reason = next(r for r in result.reasons if r.rule == "persists_despite_changes")
    assert "despite addressing common causes" in reason.quote and reason.source == "ankle"
    assert [c.summary.split(". ")[1].startswith("No sign it helped yet") for c in result.changes] == [True] * 3


def test_worse_despite_self_care_sees_a_doctor_with_the_toe_article(m):
    result = m.follow_up(
        [
            {"date": "2026-03-01", "answers": {"caffeine_intake": "high"}},
            {"date": "2026-03-03", "changes": ["caffeine_intake"], "twitch": "worse"},
        ]
    )
    assert result.level == "see_doctor"
    reason = next(r for r in result.reasons if r.rule == "worse_despite_self_care")
    assert reason.source == "toe" and "increases in intensity despite self-care efforts" in reason.quote


def test_stronger_twitches_after_a_change_count_as_worse(m):
    diary = [
        {"date": "2026-03-01", "answers": {"sleep": "very_short", "intensity": "flicker"}},
        {"date": "2026-03-03", "changes": ["sleep"], "answers": {"intensity": "strong_jerks"}},
    ]
    assert "worse_despite_self_care" in [r.rule for r in m.follow_up(diary).reasons]
    diary[1]["answers"]["intensity"] = "flicker"
    assert "worse_despite_self_care" not in [r.rule for r in m.follow_up(diary).reasons]


def test_worse_without_any_change_is_the_worsening_trend(m):
    result = m.follow_up(
        [{"date": "2026-03-01", "answers": {"stress_level": "high"}}, {"date": "2026-03-03", "twitch": "worse"}]
    )
    assert result.level == "see_doctor" and result.latest.evidence["trend"] == "worsening"
    assert next(r for r in result.reasons if r.rule == "worsening").source == "toe"
    said = [{"date": "2026-03-01"}, {"date": "2026-03-03", "twitch": "worse", "answers": {"trend": "improving"}}]
    assert m.follow_up(said).latest.evidence["trend"] == "improving"  # an answer given wins


def test_what_the_diary_tells_never_lowers_what_the_latest_check_in_alone_calls_for(m):
    # constant twitching alone lifts a cause's posterior past its threshold; "gone" read as an
    # improving trend would lower it again: the level keeps the higher of the two readings
    answers = {"intensity": "flicker", "caffeine_intake": "none", "frequency": "constant", "fluid_intake": "adequate"}
    alone = m.infer(answers).escalation
    result = m.follow_up([{"date": "2026-01-01"}, {"date": "2026-01-01", "answers": answers, "twitch": "gone"}])
    assert result.level == alone.level != "self_care"
    assert {r.rule for r in alone.reasons} <= {r.rule for r in result.reasons}


def test_the_same_twitch_two_days_after_drinking_more_checks_minerals(m):
    diary = [
        {"date": "2026-03-01", "answers": {"fluid_intake": "low"}},
        {"date": "2026-03-02", "changes": ["fluid_intake"], "twitch": "same"},
    ]
    assert "minerals_after_a_day" not in [r.rule for r in m.follow_up(diary).reasons]  # one day: not yet
    diary[1]["date"] = "2026-03-03"
    reason = next(r for r in m.follow_up(diary).reasons if r.rule == "minerals_after_a_day")
    assert reason.source == "ankle_small" and "more than a day or so" in reason.quote


def test_weeks_in_the_diary_count_as_weeks_of_twitching_without_any_change(m):
    diary = [
        {"date": "2026-03-01", "answers": {"stress_level": "high", "duration": "days"}},
        {"date": "2026-03-15", "twitch": "same"},
    ]
    assert m.follow_up(diary).level == "self_care"  # 1 + 14 days: not yet "several weeks"
    diary[1]["date"] = "2026-03-21"  # 1 + 20 = 21 days
    result = m.follow_up(diary)
    assert result.level == "see_doctor" and result.latest.evidence["duration"] == "weeks"
    assert next(r for r in result.reasons if r.rule == "persisting").source == "ankle"
    diary[1]["twitch"] = "gone"
    assert m.follow_up(diary).level == "self_care"


def test_not_sure_how_the_twitch_is_reads_as_still_there_for_the_level(m):
    diary = [
        {"date": "2026-03-01", "answers": {"caffeine_intake": "high"}},
        {"date": "2026-03-03", "changes": ["caffeine_intake"], "twitch": "not_sure"},
    ]
    result = m.follow_up(diary)
    assert result.level == "see_doctor"
    assert any(r.not_sure and r.message.startswith("You were not sure how the twitch is now") for r in result.reasons)
    # ... and as unknown for the drivers
    diary[1].pop("twitch")
    assert m.follow_up(diary).drivers == pytest.approx(result.drivers)


def test_not_sure_about_a_warning_sign_at_the_latest_check_in_is_read_the_safe_way(m):
    diary = [
        {"date": "2026-03-01", "answers": {"caffeine_intake": "high", "weakness": "no"}},
        {"date": "2026-03-04", "changes": ["caffeine_intake"], "twitch": "gone", "answers": {"weakness": "not_sure"}},
    ]
    result = m.follow_up(diary)
    assert result.level == "see_doctor_promptly"
    reason = next(r for r in result.reasons if r.rule == "weakness")
    assert reason.not_sure and "not sure" in reason.message
    assert result.drivers == pytest.approx(m.follow_up([diary[0], {**diary[1], "answers": {}}]).drivers)


DATES = st.dates(min_value=dt.date(2026, 1, 1), max_value=dt.date(2026, 3, 1))


@st.composite
def diaries(draw, m):
    variables = list(m.variables)
    n = draw(st.integers(1, 4))
    start = draw(DATES)
    gaps = draw(st.lists(st.integers(0, 30), min_size=n, max_size=n))
    out, day = [], 0
    for i in range(n):
        day += gaps[i] if i else 0
        names = draw(st.lists(st.sampled_from(variables), max_size=4, unique=True))
        answers = {v: draw(st.sampled_from([*m.variables[v].states, "not_sure"])) for v in names}
        check_in = {"date": (start + dt.timedelta(days=day)).isoformat(), "answers": answers}
        if i:
            changes = draw(st.lists(st.sampled_from(list(m.priors.changes)), max_size=2, unique=True))
            check_in["changes"] = [c for c in changes if answers.get(c) not in m.priors.changes[c].risky]
            check_in["twitch"] = draw(st.sampled_from([None, "gone", "better", "same", "worse", "not_sure"]))
        out.append(check_in)
    return out


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_the_level_is_never_below_what_the_latest_check_in_alone_calls_for(m, data):
    diary = data.draw(diaries(m))
    result = m.follow_up(diary)
    order = {level: i for i, level in enumerate(m.priors.levels)}
    alone = m.infer(diary[-1]["answers"])  # "not sure" answers read the safe way
    assert order[result.level] >= order[alone.escalation.level]
    assert set(result.pending) <= set(alone.escalation.pending)  # the diary may answer how long it has lasted
    assert all(lo <= hi for lo, hi in result.interval.values())
    assert sum(result.drivers.values()) >= 1 - result.none_identified - 1e-9


def test_what_to_try_next_is_the_change_whose_result_would_tell_most(m):
    result = m.follow_up([{"date": "2026-03-01", "answers": {"caffeine_intake": "high", "sleep": "adequate"}}])
    assert [c.variable for c in result.try_next] == ["caffeine_intake"]
    result = m.follow_up([{"date": "2026-03-01", "answers": {"caffeine_intake": "high", "prolonged_standing": "yes"}}])
    bits = [c.information_bits for c in result.try_next]
    assert bits == sorted(bits, reverse=True) and all(b > 0 for b in bits)
    assert sum(result.try_next[0].twitch.values()) == pytest.approx(1.0)


def test_the_timeline_lists_each_check_in_with_what_moved(m):
    result = m.follow_up(SHORT_DIARIES["caffeine cut, better, fewer twitches"])
    first, second = result.timeline
    assert (first.day, first.changes, first.twitch) == (0, (), None)
    assert first.moved["caffeine_intake"] == (None, "high")
    assert second.day == 3 and second.twitch == "better" and second.moved == {"frequency": ("frequent", "occasional")}
    assert second.changes[0] == m.priors.changes["caffeine_intake"].action
    assert second.top == result.ranking[0] and second.p_top == pytest.approx(result.drivers[second.top])


def test_a_change_followed_by_relief_that_other_causes_explain_is_not_credited(m):
    result = m.follow_up(
        [
            {"date": "2026-03-01", "answers": {"caffeine_intake": "high", "sleep": "short", "frequency": "frequent"}},
            {"date": "2026-03-05", "changes": ["caffeine_intake"], "twitch": "better"},
            {"date": "2026-03-08", "changes": ["sleep"], "twitch": "gone"},
        ]
    )
    caffeine, sleep = result.changes
    assert caffeine.summary.split(". ")[1].startswith("It seems to have helped")
    assert sleep.driver_now < sleep.driver_before
    assert "but other causes explain that better" in sleep.summary


def test_the_diary_result_is_json_ready(m):
    import json

    result = m.follow_up(SHORT_DIARIES["caffeine cut, better, fewer twitches"])
    text = json.dumps(result.to_dict())
    assert '"drivers"' in text and '"disclaimer"' in text


BAD_DIARIES = [
    ("not a list", {"date": "2026-03-01"}, "a diary is a list of check-ins, got dict"),
    ("empty", [], "the diary has no check-in yet"),
    ("no date", [{"answers": {}}], "check-in 1: no date; give one like 2026-03-01"),
    ("bad date", [{"date": "yesterday"}], "check-in 1: date 'yesterday' is not a date like 2026-03-01"),
    ("unknown key", [{"date": "2026-03-01", "mood": "ok"}], "check-in 1: unknown key 'mood'"),
    ("answers not a mapping", [{"date": "2026-03-01", "answers": ["x"]}], "check-in 1: answers must be a mapping"),
    ("unknown variable", [{"date": "2026-03-01", "answers": {"cafeine": "high"}}], "did you mean 'caffeine_intake'"),
    ("unknown not-sure variable", [{"date": "2026-03-01", "answers": {"weaknes": "not_sure"}}], "'weaknes'"),
    ("bad state", [{"date": "2026-03-01", "answers": {"caffeine_intake": "hgh"}}], "has no state 'hgh'"),
    (
        "dates backwards",
        [{"date": "2026-03-02"}, {"date": "2026-03-01"}],
        "check-in 2: date 2026-03-01 is before the check-in before it",
    ),
    ("change first", [{"date": "2026-03-01", "changes": ["sleep"]}], "check-in 1: the first check-in is what later"),
    ("twitch first", [{"date": "2026-03-01", "twitch": "same"}], "give how the twitch is now later"),
    (
        "unknown change",
        [{"date": "2026-03-01"}, {"date": "2026-03-02", "changes": ["coffee"]}],
        "unknown change 'coffee'",
    ),
    ("changes not a list", [{"date": "2026-03-01"}, {"date": "2026-03-02", "changes": "sleep"}], "must be a list"),
    (
        "a change and its risky answer",
        [{"date": "2026-03-01"}, {"date": "2026-03-02", "changes": ["sleep"], "answers": {"sleep": "short"}}],
        "check-in 2: sleep is answered 'short', the answer the change 'Sleeping 7 hours or more' leaves",
    ),
    ("bad twitch", [{"date": "2026-03-01"}, {"date": "2026-03-02", "twitch": "fine"}], "twitch 'fine' is not one of"),
    ("check-in not a mapping", ["2026-03-01"], "check-in 1: expected a mapping"),
]


@pytest.mark.parametrize(("name", "diary", "message"), BAD_DIARIES, ids=[b[0] for b in BAD_DIARIES])
def test_a_bad_diary_is_one_line_naming_what_is_wrong(m, name, diary, message):
    with pytest.raises(followup.DiaryError) as caught:
        m.follow_up(diary)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_simulated_diaries_read_back_calibrated(m):
    """Diaries drawn from the model and read back by the exact inference: stated P(driver) holds."""
    simulated = followup.simulate(m, 300, 4, np.random.default_rng(7))
    stated, actual = [], []
    for drivers, diary in simulated:
        check_ins = followup.parse_diary(m, diary)
        assert [c.date for c in check_ins] == sorted(c.date for c in check_ins)
        marginals = followup.driver_marginals_by_check_in(m, followup.plan(m.priors, m.engine, check_ins))
        assert marginals[-1] == pytest.approx(
            followup.driver_marginals(m, followup.plan(m.priors, m.engine, check_ins))
        )
        stated.append(marginals[-1][:-1])
        actual.append(m.engine.presence[drivers])
    stated, actual = np.concatenate(stated), np.concatenate(actual)
    assert abs(stated.mean() - actual.mean()) < 0.02
    for low, high in [(0.0, 0.2), (0.2, 0.6), (0.6, 1.0)]:
        pick = (stated >= low) & (stated < high)
        assert abs(stated[pick].mean() - actual[pick].mean()) < 0.08, (low, high)


# -- followup.yaml: each kind of broken entry is one problem naming file and entry --------------
from test_priors import assign, delete, edit, folder, problem  # noqa: E402, F401  (the priors tests' helpers)

from twitchcause.priors import PriorsError, check_quotes, load_priors  # noqa: E402

BROKEN_FOLLOWUP = [
    (assign("settling", "caffeine", "settles", "word", "oftn"), "settling -> caffeine -> settles", "word 'oftn'"),
    (assign("settling", "caffeine", "halflife", 1), "settling -> caffeine -> halflife", "Extra inputs"),
    (
        assign(
            "settling",
            "medication",
            {"settles": {"word": "often", "assumption": "x"}, "half_life_days": {"value": 1, "assumption": "x"}},
        ),
        "settling -> medication",
        "no change of changes.yaml takes away a trigger of this cause",
    ),
    (
        assign(
            "settling",
            "cafeine",
            {"settles": {"word": "often", "assumption": "x"}, "half_life_days": {"value": 1, "assumption": "x"}},
        ),
        "settling -> cafeine",
        "not a cause (did you mean 'caffeine'?)",
    ),
    (
        assign("settling", "stress", "half_life_days", "value", 0),
        "settling -> stress -> half_life_days -> value",
        "Input should be greater than 0",
    ),
    (delete("twitch_now", "given", "all_settled"), "twitch_now -> all_settled", "missing"),
    (
        assign("twitch_now", "given", "some_settled", "gone", {"word": "likely", "assumption": "x"}),
        "twitch_now -> some_settled",
        "the given states sum to",
    ),
    (
        assign("duration_from_days", "weeks", "value", 0.5),
        "duration_from_days",
        "give each of days, weeks, months its least number of days, in increasing order",
    ),
    (
        assign("duration_from_days", "fortnights", {"value": 14, "assumption": "x"}),
        "duration_from_days",
        "unknown state 'fortnights'",
    ),
    (assign("twitch_as_trend", "worse", "faster"), "twitch_as_trend", "unknown state 'faster'"),
    (delete("twitch_as_trend", "same"), "twitch_as_trend", "state(s) same of twitch_now have no trend"),
    (assign("rules", 0, "level", "urgent"), "rules -> minerals_after_a_day", "unknown level 'urgent'"),
    (assign("rules", 0, "changes_among", ["coffee"]), "rules -> minerals_after_a_day", "'coffee' is not a change"),
    (assign("rules", 0, "twitch", ["fine"]), "rules -> minerals_after_a_day", "unknown state 'fine'"),
    (assign("rules", 2, "rose", ["loudness"]), "rules -> worse_despite_self_care", "'loudness' is not an evidence"),
    (assign("rules", 1, "source", "blog"), "rules -> persists_despite_changes", "source 'blog' is not in sources.yaml"),
    (
        assign("rules", 1, "changes_at_least", 0),
        "rules -> 1 -> changes_at_least",
        "Input should be greater than or equal to 1",
    ),
]


@pytest.mark.parametrize(
    ("change", "entry", "message"), BROKEN_FOLLOWUP, ids=[b[1] + ": " + b[2][:30] for b in BROKEN_FOLLOWUP]
)
def test_a_broken_followup_file_is_rejected_naming_the_entry(folder, change, entry, message):  # noqa: F811
    edit(folder, "followup.yaml", change)
    with pytest.raises(PriorsError, match=problem(folder, "followup.yaml", entry, message)):
        load_priors(folder)


def test_followup_quotes_are_checked_against_the_documents(folder, shared_dir):  # noqa: F811
    assert check_quotes(load_priors(), shared_dir / "seeds") == []
    edit(folder, "followup.yaml", assign("rules", 2, "quote", "If the twitching gets worse, see a doctor."))
    (found,) = check_quotes(load_priors(folder), shared_dir / "seeds")
    assert "followup.yaml: rules -> worse_despite_self_care: quote not found verbatim in 'toe'" in found


def test_the_follow_up_benchmark_checks_against_pgmpy_and_prints_its_summary(capsys):
    import re
    import runpy
    from pathlib import Path

    script = Path(__file__).resolve().parents[1] / "benchmarks" / "followup.py"
    assert runpy.run_path(str(script))["main"](["--diaries", "3", "--reference", "1"]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert re.fullmatch(r"followup_vs_ve_x=\d+ diaries_per_s=\d+ drivers_only_per_s=\d+", last), last
