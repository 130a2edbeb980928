"""The dashboard in real headless Chromium (Debian's chromium + chromium-driver).

One server and one browser serve the whole module; every test checks that the
browser console stayed clean. `bash tests/install_browser.sh` installs Chromium.
"""

from __future__ import annotations

import shutil
import threading
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait
from werkzeug.serving import WSGIRequestHandler, make_server

from twitchcause.app.layout import answer_id, dom_id
from twitchcause.app.server import create_app

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
CHROMIUM_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-extensions",
    # Bootstrap scrolls smoothly unless motion is reduced; a click must not race the scroll.
    "--force-prefers-reduced-motion",
)
LAPTOP = (1366, 768)
PHONE = (390, 844)
WAIT_SECONDS = 15
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"


class QuietHandler(WSGIRequestHandler):
    def log_request(self, *args, **kwargs) -> None:
        pass


@pytest.fixture(scope="module")
def base_url():
    server = make_server("127.0.0.1", 0, create_app().server, threaded=True, request_handler=QuietHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()


@pytest.fixture(scope="module")
def browser():
    missing = [path for path in (CHROMIUM, CHROMEDRIVER) if not shutil.which(path)]
    if missing:
        pytest.fail(f"{', '.join(missing)} not installed; run: bash tests/install_browser.sh")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--window-size={LAPTOP[0]},{LAPTOP[1]}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    yield driver
    driver.quit()


@pytest.fixture(autouse=True)
def clean_console(browser):
    """Every test ends with an empty browser console: no errors, no warnings."""
    browser.get_log("browser")
    yield
    assert browser.get_log("browser") == []


def open_page(browser, base_url, query: str = "") -> None:
    browser.get(base_url + "/" + query)
    wait_for(
        browser,
        lambda d: (
            d.find_elements(By.CSS_SELECTOR, "#escalation-alert")
            and d.find_elements(By.CSS_SELECTOR, "#cause-summary li")
            and d.find_elements(By.CSS_SELECTOR, "#ask-next li")
        ),
        "the page to render",
    )


def wait_for(browser, condition, what: str):
    return WebDriverWait(browser, WAIT_SECONDS).until(condition, message=f"waited for {what}")


def ranking(browser) -> list[str]:
    """The causes as the page lists them, most likely first (from the chart's text version)."""
    return browser.execute_script(
        "return [...document.querySelectorAll('#cause-summary li')].map(li => li.dataset.cause)"
    )


def bar_labels(browser) -> list[str]:
    """The percentage labels drawn on the chart's bars."""
    return browser.execute_script(
        "return [...document.querySelectorAll('#causes-graph .bartext')].map(t => t.textContent)"
    )


def alert(browser):
    return browser.find_element(By.ID, "escalation-alert")


def alert_class(browser) -> str:
    """The alert's classes, read in one step (the alert is redrawn on every answer)."""
    return browser.execute_script("const a = document.getElementById('escalation-alert'); return a ? a.className : ''")


def question(browser, variable: str) -> Select:
    # A pattern-matching id is JSON (with double quotes), which By.ID's CSS translation rejects.
    return Select(browser.find_element(By.XPATH, f"//select[@id='{dom_id(answer_id(variable))}']"))


def query_of(browser) -> str:
    return urlsplit(browser.current_url).query


def test_answering_questions_changes_the_chart_and_the_link(browser, base_url, loaded_model):
    open_page(browser, base_url)
    before, labels_before = ranking(browser), bar_labels(browser)
    assert len(before) == len(labels_before) == 12
    question(browser, "urge_to_move").select_by_value("yes")
    question(browser, "timing").select_by_value("at_night")
    expected = loaded_model.infer({"urge_to_move": "yes", "timing": "at_night"}).ranking
    assert expected[0] == "restless_legs" and expected != before
    wait_for(browser, lambda d: ranking(d) == expected, "the chart of both answers")
    assert bar_labels(browser) != labels_before
    wait_for(browser, lambda d: query_of(d) == "timing=at_night&urge_to_move=yes", "the link to hold the case")


def test_a_red_flag_shows_the_prompt_alert_with_its_reason_and_stays_in_view(browser, base_url, loaded_model):
    open_page(browser, base_url, "?caffeine_intake=high")
    assert "alert-success" in alert_class(browser)
    first_asked = browser.find_element(By.CSS_SELECTOR, "#ask-next li")
    assert first_asked.get_attribute("data-variable") == "weakness"
    first_asked.find_element(By.XPATH, ".//button[normalize-space()='Yes']").click()
    wait_for(browser, lambda d: "alert-danger" in alert_class(d), "the red alert")
    shown = alert(browser).text
    assert "See a doctor promptly" in shown
    assert "Weakness with twitching needs a medical evaluation soon." in shown
    assert loaded_model.priors.sources["ankle"].title in shown
    assert question(browser, "weakness").first_selected_option.get_attribute("value") == "yes"
    browser.execute_script("window.scrollTo(0, document.body.scrollHeight)")
    box = browser.execute_script(
        "const r = document.getElementById('escalation-alert').getBoundingClientRect();"
        "return [r.top, r.bottom, window.innerHeight]"
    )
    assert 0 <= box[0] and box[1] <= box[2], "the alert must stay on screen after scrolling to the bottom"


def test_a_shared_link_reproduces_the_case(browser, base_url):
    open_page(browser, base_url)
    browser.find_element(By.XPATH, "//button[normalize-space()='Coffee-heavy exam week']").click()
    wait_for(browser, lambda d: "caffeine_intake=high" in query_of(d), "the example in the link")
    question(browser, "weakness").select_by_value("yes")
    wait_for(browser, lambda d: "weakness=yes" in query_of(d), "the answer in the link")
    wait_for(browser, lambda d: "alert-danger" in alert_class(d), "the red alert")
    shared, chart, shown = browser.current_url, ranking(browser), alert(browser).text

    browser.get("about:blank")
    browser.get(shared)
    wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#escalation-alert.alert-danger"), "the alert")
    wait_for(browser, lambda d: ranking(d) == chart, "the same chart")
    assert alert(browser).text == shown
    assert question(browser, "caffeine_intake").first_selected_option.get_attribute("value") == "high"
    assert not [e for e in browser.find_elements(By.ID, "url-notice") if e.is_displayed()]


def test_bad_link_parameters_show_a_notice_and_the_rest_still_works(browser, base_url):
    open_page(browser, base_url, "?cafeine_intake=high&sleep=forever&weakness=yes&%00%ff=" + "z" * 300)
    notice = wait_for(browser, lambda d: d.find_element(By.ID, "url-notice"), "the notice")
    shown = notice.text
    assert "Ignored 'cafeine_intake'" in shown and "did you mean 'caffeine_intake'?" in shown
    assert "Ignored 'sleep=forever'" in shown
    assert "z" * 300 not in shown
    assert "alert-danger" in alert_class(browser)  # weakness=yes was kept
    assert question(browser, "sleep").first_selected_option.get_attribute("value") == ""


def test_a_link_too_long_for_any_case_is_ignored_with_a_notice(browser, base_url):
    open_page(browser, base_url, "?weakness=yes&x=" + "a" * 5000)
    assert "characters long" in browser.find_element(By.ID, "url-notice").text
    assert "alert-success" in alert_class(browser)


def test_reset_clears_the_case_and_the_link(browser, base_url):
    open_page(browser, base_url, "?weakness=yes&sleep=short")
    browser.find_element(By.ID, "reset").click()
    wait_for(browser, lambda d: "alert-success" in alert_class(d), "the self-care alert")
    wait_for(browser, lambda d: query_of(d) == "", "an empty link")
    assert question(browser, "sleep").first_selected_option.get_attribute("value") == ""


def test_clearing_one_answer_and_going_back(browser, base_url):
    open_page(browser, base_url, "?sleep=short&weakness=yes")
    question(browser, "weakness").select_by_index(1)  # the visible "not answered" option
    wait_for(browser, lambda d: query_of(d) == "sleep=short", "the cleared answer to leave the link")
    wait_for(browser, lambda d: "alert-danger" not in alert_class(d), "the red alert to go")
    browser.back()
    wait_for(browser, lambda d: "alert-danger" in alert_class(d), "the case before to return")
    assert question(browser, "weakness").first_selected_option.get_attribute("value") == "yes"


def test_why_explains_the_chosen_cause_with_advice_and_sources(browser, base_url, loaded_model):
    open_page(browser, base_url, "?caffeine_intake=high&sleep=very_short")
    Select(browser.find_element(By.ID, "why-cause")).select_by_value("sleep_loss")
    wait_for(browser, lambda d: d.find_element(By.ID, "why-heading").text.startswith("Sleep loss"), "the heading")
    wait_for(
        browser,
        lambda d: d.find_elements(By.CSS_SELECTOR, "#why-graph .bartext, #why-graph .bars path"),
        "the why chart",
    )
    advice = browser.find_element(By.ID, "why-advice").text
    first = loaded_model.priors.advice["sleep_loss"][0]
    assert first.text in advice and loaded_model.priors.sources[first.source].title in advice


def test_every_question_has_a_label_a_keyboard_can_reach(browser, base_url, loaded_model):
    open_page(browser, base_url)
    labelled = browser.execute_script(
        "return [...document.querySelectorAll('#questions select')].filter("
        "s => document.querySelector(`label[for='${CSS.escape(s.id)}']`)).length"
    )
    assert labelled == len(loaded_model.variables) == 32
    label = browser.find_element(By.CSS_SELECTOR, f"label[for='{dom_id(answer_id('sleep'))}']")
    label.click()
    assert browser.switch_to.active_element.get_attribute("id") == dom_id(answer_id("sleep"))
    assert "informs, it does not diagnose" in browser.find_element(By.TAG_NAME, "footer").text


def test_phone_width_screenshot(browser, base_url):
    browser.set_window_size(*PHONE)
    try:
        open_page(browser, base_url, "?twitch_site=ankle&duration=weeks&trend=worsening&weakness=yes")
        width = browser.execute_script("return [document.documentElement.scrollWidth, window.innerWidth]")
        assert width[0] <= width[1], "nothing may overflow sideways on a phone"
        top = browser.execute_script("return document.getElementById('escalation-alert').getBoundingClientRect().top")
        assert top < PHONE[1] / 3, "the alert sits near the top of the first screen"
        ARTIFACTS.mkdir(exist_ok=True)
        shot = ARTIFACTS / "dashboard-phone.png"
        assert browser.save_screenshot(str(shot))
        assert shot.stat().st_size > 10_000
    finally:
        browser.set_window_size(*LAPTOP)
