"""The "Describe it in your own words" box: plain functions first, then the page in real Chromium."""

# ruff: noqa: F811  (the browser fixtures come from test_app_browser and are arguments here)

from __future__ import annotations

import pytest
from dash import no_update
from dash.exceptions import PreventUpdate
from selenium.webdriver.common.by import By
from test_app_browser import (  # noqa: F401  (base_url, browser and clean_console are fixtures)
    DESKTOP,
    MAX_QUESTIONS,
    PHONE,
    alert_level,
    axe_violations,
    base_url,
    browser,
    case_in_link,
    clean_console,
    click,
    interview_question,
    open_page,
    screenshot,
    text,
    wait_for,
)

from twitchcause.app.callbacks import words_event, words_outputs
from twitchcause.app.case import infer_case, verdict
from twitchcause.app.layout import build_layout
from twitchcause.app.questions import START, shown_question
from twitchcause.app.state import NOT_SURE
from twitchcause.app.words import FROM_WORDS, read_words, words_mark

pytest.importorskip("negspacy", reason="the twitchcause[text] extra is not installed")

STORY = "Four energy drinks a day, my left calf has been flickering for two days, no cramps."
FOUND = {"caffeine_intake": "high", "twitch_site": "calf", "duration": "days", "intensity": "flicker", "cramps": "none"}
READ = {"type": "words", "action": "read"}


def words_of(component) -> str:
    """The text a component tree shows."""
    children = getattr(component, "children", component)
    if isinstance(children, list | tuple):
        return "".join(words_of(c) for c in children)
    return words_of(children) if hasattr(children, "children") else str(children or "")


def ids_in(component) -> list:
    """Every id in a component tree, in order."""
    found = [component.id] if getattr(component, "id", None) is not None else []
    children = getattr(component, "children", None)
    for child in children if isinstance(children, list | tuple) else [children]:
        if hasattr(child, "children") or getattr(child, "id", None) is not None:
            found += ids_in(child)
    return found


def test_the_box_comes_before_the_first_question(loaded_model):
    ids = [i for i in ids_in(build_layout(loaded_model, {})) if isinstance(i, str)]
    assert ids.index("words-section") < ids.index("interview-section") < ids.index("form-section")


def test_a_story_fills_its_answers_and_the_ones_given_win(loaded_model):
    reading = read_words(STORY, {}, loaded_model)
    assert reading.case == FOUND and reading.from_words == FOUND
    shown = words_of(reading.found)
    assert FROM_WORDS in shown and "\u201cenergy drinks\u201d" in shown
    given = read_words(STORY, {"caffeine_intake": "moderate", "weakness": NOT_SURE}, loaded_model)
    assert given.case["caffeine_intake"] == "moderate" and given.case["weakness"] == NOT_SURE
    assert "caffeine_intake" not in given.from_words
    again = read_words("Two coffees a day.", {**FOUND, "cramps": "brief"}, loaded_model, FOUND)
    assert again.case == {"caffeine_intake": "moderate", "cramps": "brief"}, "told again: the story's own answers go"


def test_an_uncertain_warning_sign_becomes_not_sure_and_someone_else_s_is_not_used(loaded_model):
    unsure = read_words("Maybe my leg is a bit weak.", {}, loaded_model)
    assert unsure.case.get("weakness") == NOT_SURE
    other = read_words("My mother had weakness but I do not.", {}, loaded_model)
    assert "weakness" not in other.case
    assert "\u201cweakness\u201d (Weakness): about someone else: not used" in words_of(other.found)
    past = read_words("I had sciatica years ago.", {}, loaded_model)
    assert past.case == {} and "in the past: not used" in words_of(past.found)


def test_a_story_that_cannot_be_read_leaves_the_case_and_says_why(loaded_model):
    reading = read_words("x" * 20_000, {"pain": "no"}, loaded_model)
    assert reading.case is None and reading.found and "x" * 50 not in words_of(reading.found)


def test_the_interview_then_asks_only_what_is_left_warning_signs_first(loaded_model):
    update, reading = words_event(READ, 1, STORY, {}, START, loaded_model)
    assert update.case == FOUND and "text" not in update.search and "energy" not in update.search
    asked = shown_question(update.case, update.interview, lambda c: loaded_model.next_question(c))
    assert asked not in FOUND and asked in verdict(infer_case(FOUND, loaded_model), FOUND, loaded_model).pending


def test_change_puts_the_question_on_screen_with_its_answer(loaded_model):
    update, _ = words_event({"type": "words-change", "question": "cramps"}, 1, "", FOUND, START, loaded_model)
    assert update.case is None and update.interview["mode"] == "interview"
    assert shown_question(FOUND, update.interview, lambda c: None) == "cramps"
    with pytest.raises(PreventUpdate):  # a button just drawn, not clicked
        words_event(READ, None, STORY, {}, START, loaded_model)
    assert words_event({"type": "step", "action": "back"}, 1, "", {}, START, loaded_model) is None


def test_the_mark_stays_while_the_answer_is_the_story_s():
    assert words_of(words_mark("cramps", {"cramps": "none"}, {"cramps": "none"})) == FROM_WORDS
    assert words_mark("cramps", {"cramps": "brief"}, {"cramps": "none"}) is None


def test_a_new_case_forgets_the_story_s_answers_another_answer_keeps_them():
    assert words_outputs(None, {"type": "step", "action": "reset"}) == ({}, [])
    assert words_outputs(None, {"type": "example", "name": "x"}) == ({}, [])
    assert words_outputs(None, {"type": "answer", "question": "pain", "state": "no"}) == (no_update, no_update)


# -- in the browser -----------------------------------------------------------------------------
def tell(browser, story: str) -> None:
    box = browser.find_element(By.ID, "words-text")
    click(browser, box)
    box.send_keys(story)
    click(browser, browser.find_element(By.CSS_SELECTOR, "#words-section button"))


@pytest.mark.parametrize("size", [DESKTOP, PHONE], ids=["1366", "390"])
def test_a_story_typed_in_the_box_fills_its_answers_and_the_interview_asks_the_rest(
    browser, base_url, loaded_model, size
):
    browser.set_window_size(*size)
    open_page(browser, base_url)
    first = browser.find_element(By.CSS_SELECTOR, "#answer-panel section")
    assert first.get_attribute("id") == "words-section", "the box comes first"
    tell(browser, STORY)
    wait_for(browser, lambda d: case_in_link(d) == FOUND, "the story's answers in the link")
    assert FROM_WORDS in text(browser, "words-found") and "energy" not in browser.current_url
    pending = verdict(infer_case(FOUND, loaded_model), FOUND, loaded_model).pending
    wait_for(browser, lambda d: interview_question(d) in pending, "a warning sign the story did not answer")
    screenshot(browser, f"words-{size[0]}")
    assert axe_violations(browser) == []
    asked = []
    for _ in range(MAX_QUESTIONS):  # the rest of the interview, the least worrying answer each time
        name = interview_question(browser)
        if name is None:
            break
        asked.append(name)
        click(browser, browser.find_elements(By.CSS_SELECTOR, "#interview [data-answer]")[0])
        wait_for(browser, lambda d, name=name: interview_question(d) != name, "the next question")
    assert asked and not set(asked) & set(FOUND), "the interview asks only what is left"
    answers = case_in_link(browser)
    assert FOUND.items() <= answers.items()
    want = verdict(infer_case(answers, loaded_model), answers, loaded_model)
    assert want.settled
    wait_for(browser, lambda d: alert_level(d) == want.level, f"the alert at the model's level {want.level}")
    if size == DESKTOP:  # one click changes an answer the story gave, and its form mark goes
        browser.find_element(By.CSS_SELECTOR, "[data-action=form]").click()
        mark = "[data-question=cramps] .mark-slot .badge"
        wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, mark), "the form's mark")
        assert browser.find_element(By.CSS_SELECTOR, mark).text == FROM_WORDS
        screenshot(browser, "words-1366-form")
        click(browser, browser.find_element(By.CSS_SELECTOR, "[data-question=cramps] [data-answer=brief]"))
        wait_for(browser, lambda d: case_in_link(d).get("cramps") == "brief", "the changed answer")
        wait_for(browser, lambda d: not d.find_elements(By.CSS_SELECTOR, mark), "the mark to go")
    else:  # "Change" beside an answer found puts its question on screen
        click(browser, browser.find_element(By.CSS_SELECTOR, "#words-found button[data-question=cramps]"))
        wait_for(browser, lambda d: interview_question(d) == "cramps", "the question to change")
        pressed = browser.find_element(By.CSS_SELECTOR, "#interview [aria-pressed=true]")
        assert pressed.get_attribute("data-answer") == "none"
