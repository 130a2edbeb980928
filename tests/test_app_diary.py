"""The diary section's plain functions: check-ins kept as the command line's export JSON, read by the model."""

from __future__ import annotations

import base64
import json
from datetime import date, timedelta

import pytest
from dash import no_update

from twitchcause.app.diary import (
    again_check_in,
    diary_event,
    export_text,
    follow_up_view,
    imported,
    open_changes,
    read_stored,
    saved_check_in,
    with_check_in,
)
from twitchcause.model import diary_format
from twitchcause.model.followup import DiaryError

FIRST = {"caffeine_intake": "high", "sleep": "adequate", "stress_level": "low", "trend": "stable"}


def texts(component) -> str:
    if isinstance(component, (list, tuple)):
        return " ".join(texts(c) for c in component)
    if isinstance(component, str):
        return component
    children = getattr(component, "children", None)
    return texts(children) if children is not None else ""


def upload(data) -> str:
    raw = data if isinstance(data, bytes) else json.dumps(data).encode()
    return "data:application/json;base64," + base64.b64encode(raw).decode()


@pytest.fixture(scope="module")
def two_days(loaded_model):
    stored = with_check_in(None, saved_check_in(FIRST, "2026-03-01"), loaded_model)
    _, check_ins = read_stored(stored, loaded_model)
    again = again_check_in(check_ins, ["caffeine_intake"], "gone", "2026-03-05", loaded_model)
    return with_check_in(stored, again, loaded_model)


def test_check_in_again_asks_only_what_changed_and_carries_the_rest(loaded_model, two_days):
    first, second = two_days["check_ins"]
    assert second["changes"] == ["caffeine_intake"] and second["twitch"] == "gone"
    assert second["answers"] == {"caffeine_intake": "none", "sleep": "adequate", "stress_level": "low"}
    assert "caffeine_intake" in open_changes([first], loaded_model)
    assert "sleep" not in open_changes([first], loaded_model), "sleep already adequate: nothing to change"


def test_the_stored_diary_is_the_command_lines_export(loaded_model, two_days):
    assert (
        diary_format.parse_export(loaded_model, json.loads(export_text(two_days, loaded_model)))[1]
        == (two_days["check_ins"])
    )
    assert json.loads(export_text(two_days, loaded_model))["format"] == "twitchcause-diary"
    assert imported(upload(two_days), loaded_model) == two_days


def test_the_result_names_what_helped_and_keeps_the_latest_level(loaded_model, two_days):
    shown = texts(follow_up_view(two_days, loaded_model))
    result = loaded_model.follow_up(two_days["check_ins"])
    assert result.changes and result.changes[0].summary in shown
    assert "Switching to decaffeinated" in shown or "decaf" in shown.lower()
    latest = loaded_model.infer(two_days["check_ins"][-1]["answers"])
    order = list(loaded_model.priors.levels)
    assert order.index(result.level) >= order.index(latest.escalation.level)


@pytest.mark.parametrize(
    "bad, message",
    [
        (b"not json", "not valid JSON"),
        ({"format": "other"}, "not a twitchcause diary"),
        ({"format": "twitchcause-diary", "version": 9, "name": "x", "check_ins": []}, "newer twitchcause"),
        (b'{"format": "twitchcause-diary", "format": "twitchcause-diary"}', "given twice"),
        ({"format": "twitchcause-diary", "version": 1, "name": "x", "check_ins": [{"date": "nope"}]}, "not a date"),
        ({"format": "twitchcause-diary", "version": 1, "name": "a\x00b", "check_ins": []}, "printable"),
    ],
)
def test_a_bad_file_gets_one_line_and_keeps_the_diary(loaded_model, two_days, bad, message):
    diary, said = diary_event("diary-file", None, upload(bad), "bad.json", two_days, {}, [], None, loaded_model)
    assert diary is no_update and message in said and "\n" not in said and said.startswith("Not saved: bad.json: ")


def test_a_check_in_again_needs_a_first_one_and_how_the_twitch_is(loaded_model, two_days):
    with pytest.raises(DiaryError, match="first check-in"):
        again_check_in([], [], "gone", "2026-03-01", loaded_model)
    request = {"action": "diary-again-save", "date": "2026-03-06"}
    diary, said = diary_event("diary-request", request, None, None, two_days, {}, [], None, loaded_model)
    assert diary is no_update and "how the twitch is now" in said


def test_a_check_in_dated_before_the_last_is_refused(loaded_model, two_days):
    request = {"action": "diary-save", "date": "2026-02-01"}
    diary, said = diary_event("diary-request", request, None, None, two_days, FIRST, [], None, loaded_model)
    assert diary is no_update and "before the check-in before it" in said


def test_clear_forgets_the_diary(loaded_model, two_days):
    assert diary_event("diary-clear", None, None, None, two_days, {}, [], None, loaded_model)[0] is None


@pytest.mark.parametrize(
    "request_data", [[1, 2], "diary-save", {"action": "diary-save"}, {"action": 3, "date": "2026-03-06"}, {"date": 7}]
)
def test_a_check_in_request_the_page_did_not_make_changes_nothing(loaded_model, two_days, request_data):
    from dash.exceptions import PreventUpdate

    with pytest.raises(PreventUpdate):
        diary_event("diary-request", request_data, None, None, two_days, FIRST, [], None, loaded_model)


def test_a_full_browser_diary_takes_no_further_check_in_and_says_what_to_do(loaded_model):
    from twitchcause.app.diary import BROWSER_CHECK_INS

    days = [(date(2026, 1, 1) + timedelta(days=i)).isoformat() for i in range(BROWSER_CHECK_INS + 1)]
    full = diary_format.exported("me", [saved_check_in(FIRST, d) for d in days[:-1]])
    with pytest.raises(DiaryError, match=f"at most {BROWSER_CHECK_INS} check-ins.*export"):
        with_check_in(full, saved_check_in(FIRST, days[-1]), loaded_model)
    over = diary_format.exported("me", [saved_check_in(FIRST, d) for d in days])
    with pytest.raises(DiaryError, match=f"at most {BROWSER_CHECK_INS} check-ins"):
        imported(upload(over), loaded_model)


@pytest.mark.parametrize("contents", [5, ["data:,x"], {"a": 1}, True])
def test_a_file_the_browser_did_not_read_as_text_gets_one_line_and_keeps_the_diary(loaded_model, two_days, contents):
    diary, said = diary_event("diary-file", None, contents, "bad.json", two_days, {}, [], None, loaded_model)
    assert diary is no_update and said == "Not saved: bad.json: the file could not be read"
