"""The dashboard in real headless Chromium (Debian's chromium + chromium-driver).

One server and one browser serve the whole module; every test checks that the
browser console stayed clean. `bash tests/install_browser.sh` installs Chromium,
axe-core and Lighthouse. Screenshots go to /tmp/shots/ (``TWITCHCAUSE_SHOTS``),
measured figures to tests/artifacts/. Speed is measured by benchmarks/dashboard.py.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import threading
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.common.print_page_options import PrintOptions
from selenium.webdriver.support.ui import WebDriverWait
from werkzeug.serving import WSGIRequestHandler, make_server

from twitchcause.app.case import infer_case, verdict
from twitchcause.app.server import create_app
from twitchcause.app.state import NOT_SURE

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
    "--force-prefers-reduced-motion",
    "--hide-scrollbars",
)
DESKTOP = (1366, 900)
PHONE = (390, 844)
WAIT_SECONDS = 30
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
SHOTS = Path(os.environ.get("TWITCHCAUSE_SHOTS", "/tmp/shots"))
TOOLS = Path(os.environ.get("TWITCHCAUSE_NODE_DIR", Path.home() / ".cache" / "twitchcause-node"))
AXE = TOOLS / "node_modules" / "axe-core" / "axe.min.js"
# Generous: benchmarks/dashboard.py measures against the 350 KB budget; this catches a page that doubled.
FIRST_LOAD_BOUND_BYTES = 700_000
A4_PAGES = 2
MAX_QUESTIONS = 40
# One public case per level, replayed through the interview.
REPLAYED = {
    "see_doctor_promptly": "v-tripping-thin-calf",
    "see_doctor": "v-diabetic-tingling-soles",
    "self_care": "v-deadline-energy-drinks",
}


class QuietHandler(WSGIRequestHandler):
    def log_request(self, *args, **kwargs) -> None:
        pass


@pytest.fixture(scope="module")
def base_url(loaded_model):
    server = make_server("127.0.0.1", 0, create_app(loaded_model).server, threaded=True, request_handler=QuietHandler)
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
    options.add_argument(f"--window-size={DESKTOP[0]},{DESKTOP[1]}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    yield driver
    driver.quit()


@pytest.fixture(autouse=True)
def clean_console(browser):
    """Every test ends with an empty browser console: no errors, no warnings."""
    browser.set_window_size(*DESKTOP)
    browser.get_log("browser")
    yield
    assert browser.get_log("browser") == []


@pytest.fixture(scope="module")
def public_cases(repo_dir):
    """The public vignettes, beside the main checkout (a worktree's git folder is in it)."""
    common = subprocess.run(
        ["git", "rev-parse", "--path-format=absolute", "--git-common-dir"], cwd=repo_dir, capture_output=True, text=True
    ).stdout.strip()
    for shared in (repo_dir.parent / "shared", Path(common).parent.parent / "shared"):
        path = shared / "vignettes" / "public.json"
        if path.exists():
            return {c["id"]: c for c in json.loads(path.read_text())}
    pytest.skip("the shared vignettes are absent")


def measured(name: str, value) -> None:
    """Keep a figure in tests/artifacts/measurements.json (and print it with -s)."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / "measurements.json"
    figures = json.loads(path.read_text()) if path.exists() else {}
    figures[name] = value
    path.write_text(json.dumps(figures, indent=2) + "\n")
    print(f"{name}: {value}")


def screenshot(browser, name: str) -> None:
    """The whole page, as tall as it is, at the window's width."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    width = browser.get_window_size()["width"]
    height = browser.execute_script("return document.documentElement.scrollHeight")
    browser.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": min(height, 6000), "deviceScaleFactor": 1, "mobile": width < 500},
    )
    try:
        assert browser.save_screenshot(str(SHOTS / f"{name}.png"))
    finally:
        browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def wait_for(browser, condition, what: str):
    return WebDriverWait(browser, WAIT_SECONDS).until(condition, message=f"waited for {what}")


def shown(browser, css: str) -> bool:
    return (
        bool(browser.find_elements(By.CSS_SELECTOR, css)) and browser.find_element(By.CSS_SELECTOR, css).is_displayed()
    )


def open_page(browser, base_url, query: str = "", form: bool = False) -> None:
    """Open the page (with the case ``query``), and switch to every question if ``form``."""
    browser.get(base_url + "/" + query)
    wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#interview-question"), "the page to draw")
    if query:
        wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#causes"), "the results")
    if form:
        browser.find_element(By.CSS_SELECTOR, "[data-action=form]").click()
        wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "[data-question]"), "the form")


def alert_level(browser) -> str:
    classes = browser.find_element(By.ID, "escalation-alert").get_attribute("class")
    return re.search(r"level-(\w+)", classes).group(1)


def case_in_link(browser) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(browser.current_url).query))


def interview_question(browser) -> str | None:
    return browser.execute_script(
        "const f = document.querySelector('#interview fieldset'); return f ? f.dataset.variable : null"
    )


def focused(browser) -> str:
    return browser.execute_script("const a = document.activeElement; return a.id || a.dataset.answer || a.tagName")


def click(browser, element) -> None:
    """Click like a person: the element scrolled to the middle of the screen, clear of the sticky alert."""
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", element)
    element.click()


def answer(browser, variable: str, state: str) -> None:
    """Answer a question of the full form as a person does: click the answer."""
    button = browser.find_element(By.CSS_SELECTOR, f"[data-question={variable}] [data-answer='{state}']")
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", button)
    button.click()
    wait_for(browser, lambda d: case_in_link(d).get(variable, "") == state, f"{variable}={state} in the link")


def results_shown(browser) -> bool:
    return "results-waiting" not in browser.find_element(By.ID, "results").get_attribute("class")


def text(browser, element_id: str) -> str:
    """What a person reads in an element (read in the page: never stale while Dash redraws it)."""
    return browser.execute_script(
        "const e = document.getElementById(arguments[0]); return e ? e.innerText : ''", element_id
    )


def top(browser, css: str) -> float:
    return browser.execute_script(f"return document.querySelector({css!r}).getBoundingClientRect().top")


def test_first_load_is_light_and_shows_no_verdict(browser, base_url):
    browser.execute_cdp_cmd("Network.enable", {})
    browser.execute_cdp_cmd("Network.clearBrowserCache", {})
    open_page(browser, base_url)
    transferred = browser.execute_script(
        "const all = [...performance.getEntriesByType('navigation'), ...performance.getEntriesByType('resource')];"
        "return all.reduce((s, e) => s + e.transferSize, 0)"
    )
    measured("first_load_bytes", transferred)
    assert transferred <= FIRST_LOAD_BOUND_BYTES
    alert = browser.find_element(By.ID, "escalation").text
    assert alert_level(browser) == "none" and "No verdict yet" in alert and "Self-care" not in alert
    assert re.search(r"Not yet: \d+ warning-sign questions left: weakness, muscle shrinking", alert)
    assert browser.find_element(By.ID, "escalation").get_attribute("aria-live") == "polite"
    assert not results_shown(browser)
    screenshot(browser, "desktop-empty")
    assert not browser.find_elements(By.CSS_SELECTOR, "[data-question]"), "the form waits to be asked for"
    browser.set_window_size(*PHONE)
    open_page(browser, base_url)
    first = browser.find_element(By.CSS_SELECTOR, "#interview .choices button").rect
    assert first["y"] + first["height"] <= PHONE[1], "the first answer is on the first screen"
    width = browser.execute_script("return [document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1], "nothing may overflow sideways on a phone"
    screenshot(browser, "phone-empty")


def test_the_interview_by_keyboard_alone_with_focus_on_each_new_question(browser, base_url):
    browser.set_window_size(*PHONE)
    open_page(browser, base_url)
    body = browser.find_element(By.TAG_NAME, "body")
    for _ in range(30):  # Tab from the top of the page to the first answer
        body.send_keys(Keys.TAB) if focused(browser) == "BODY" else browser.switch_to.active_element.send_keys(Keys.TAB)
        if browser.execute_script("return !!document.activeElement.closest('#interview .choices')"):
            break
    asked = []
    for _ in range(MAX_QUESTIONS):
        name = interview_question(browser)
        if name is None:
            break
        assert name not in asked, "a question is asked once"
        asked.append(name)
        progress = browser.find_element(By.ID, "interview-progress").text
        assert progress.startswith(f"Question {len(asked)}, usually about ")
        if len(asked) == 4:
            screenshot(browser, "phone-mid-interview")
        if focused(browser) == "interview-question":
            browser.switch_to.active_element.send_keys(Keys.TAB)
        choice = browser.switch_to.active_element
        first = choice.get_attribute("data-answer")
        before = browser.current_url
        choice.send_keys(Keys.ARROW_DOWN)
        assert browser.switch_to.active_element.get_attribute("data-answer") != first, "the arrow moves"
        browser.switch_to.active_element.send_keys(Keys.ARROW_UP)
        assert browser.switch_to.active_element.get_attribute("data-answer") == first
        assert browser.current_url == before, "an arrow key answers nothing"
        browser.switch_to.active_element.send_keys(Keys.ENTER)
        wait_for(browser, lambda d, name=name: interview_question(d) != name, "the next question")
        wait_for(browser, lambda d: focused(d) == "interview-question", "the focus on the new question")
        assert case_in_link(browser)[name] == first
    assert asked and set(asked[:3]) == {"weakness", "muscle_wasting", "walking_difficulty"}
    assert len(asked) < MAX_QUESTIONS, "the interview stops by itself"
    wait_for(browser, lambda d: focused(d) == "interview-question", "the focus on the end of the interview")
    browser.switch_to.active_element.send_keys(Keys.TAB)
    assert browser.switch_to.active_element.text == "See your results"
    browser.switch_to.active_element.send_keys(Keys.ENTER)
    wait_for(browser, lambda d: focused(d) == "results-heading", "the focus on the results")
    assert results_shown(browser)
    assert top(browser, "#result-lead") < top(browser, "#causes") < top(browser, "#safety-net")
    # On a phone a bar's line is its name and chance; the interval is one tap away, in its details.
    first = browser.find_element(By.CSS_SELECTOR, "#causes .cause")
    assert not first.find_element(By.CSS_SELECTOR, ".cause-value .interval").is_displayed()
    first.find_element(By.CSS_SELECTOR, "summary").click()
    assert "90% interval" in first.find_element(By.CSS_SELECTOR, ".interval-more").text
    first.find_element(By.CSS_SELECTOR, "summary").click()
    screenshot(browser, "phone-results")
    # Back returns to the last question, with its answer marked.
    browser.find_element(By.CSS_SELECTOR, "#interview [data-action=back]").click()
    wait_for(browser, lambda d: interview_question(d) == asked[-1], "the last question again")
    assert browser.find_element(By.CSS_SELECTOR, "#interview [aria-pressed=true]")


def replay(browser, case: dict, rule_questions: set[str], model) -> dict[str, str]:
    """Answer the interview from ``case``: a rule question it leaves out gets its least worrying
    state, any other question "not sure" (as ../shared/tools/interview_replay.py does)."""
    for _ in range(MAX_QUESTIONS):
        name = interview_question(browser)
        if name is None:
            break
        state = case.get(name) or (model.variables[name].states[0] if name in rule_questions else NOT_SURE)
        browser.find_element(By.CSS_SELECTOR, f"#interview [data-answer='{state}']").click()
        wait_for(browser, lambda d, name=name: interview_question(d) != name, "the next question")
    return case_in_link(browser)


@pytest.mark.parametrize("level", list(REPLAYED))
def test_a_public_case_through_the_interview_ends_at_the_models_level(
    browser, base_url, public_cases, loaded_model, level
):
    vignette = public_cases[REPLAYED[level]]
    rules = {v for r in loaded_model.priors.escalation.rules for v in (*r.when, *r.unless)}
    browser.set_window_size(*PHONE)
    open_page(browser, base_url)
    answers = replay(browser, vignette["evidence"], rules, loaded_model)
    want = verdict(infer_case(answers, loaded_model), answers, loaded_model).level
    wait_for(browser, lambda d: alert_level(d) == want, f"the alert at the model's level {want}")
    assert want == vignette["expect"]["escalation"], "the model's interview reaches the case's own level"
    browser.find_element(By.CSS_SELECTOR, "#interview [data-action=results]").click()
    wait_for(browser, lambda d: focused(d) == "results-heading", "the results")
    wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#causes .why p"), "the details")
    if level == "see_doctor_promptly":
        assert alert_level(browser) == "see_doctor_promptly"
        alert = browser.find_element(By.ID, "escalation-alert")
        assert "See a doctor promptly" in alert.text and "\u26a0" in alert.text
        assert alert.value_of_css_property("background-color") == "rgba(165, 29, 45, 1)", "solid red"
        results = browser.find_element(By.ID, "results").text
        assert "No clear cause" not in results and "harmless" not in results, "no reassurance beside a red flag"
        browser.execute_script("window.scrollTo(0, 0)")
        assert top(browser, "#escalation-alert") < top(browser, "#answer-panel"), "first on screen"
        screenshot(browser, "phone-red-flag-results")
        browser.set_window_size(*DESKTOP)
        screenshot(browser, "desktop-red-flag-results")
    elif level == "self_care":
        screenshot(browser, "phone-self-care-results")


def test_in_the_form_arrow_keys_move_without_answering_and_space_answers(browser, base_url):
    open_page(browser, base_url, "?weakness=no", form=True)
    browser.execute_script(
        "const b = document.querySelector('[data-question=sleep] [data-answer]');"
        "b.scrollIntoView({block: 'center'}); b.focus()"
    )
    first = browser.switch_to.active_element
    before = browser.current_url
    first.send_keys(Keys.ARROW_RIGHT)
    assert browser.switch_to.active_element.get_attribute("data-answer") == "short"
    assert browser.current_url == before, "an arrow key answers nothing"
    browser.switch_to.active_element.send_keys(Keys.SPACE)
    wait_for(browser, lambda d: case_in_link(d).get("sleep") == "short", "the answer in the link")
    assert browser.switch_to.active_element.get_attribute("data-answer") == "short", "the focus stays"
    pressed = browser.execute_script(
        "const b = document.querySelector('[data-question=sleep] [aria-pressed=true]');"
        "return [b.dataset.answer, b.getAttribute('tabindex')]"
    )
    assert pressed == ["short", "0"], "the answer pressed, and the question's one tab stop"
    browser.back()
    wait_for(browser, lambda d: "sleep" not in case_in_link(d), "one step back in history")
    pressed_answer = "return document.querySelector('[data-question=sleep] [aria-pressed=true]').dataset.answer"
    wait_for(browser, lambda d: d.execute_script(pressed_answer) == "", "the form to follow the address")
    # Back to one question at a time: the interview follows the answers given in the form meanwhile.
    click(browser, browser.find_element(By.CSS_SELECTOR, "[data-action=interview]"))
    wait_for(browser, lambda d: interview_question(d) not in (None, "weakness"), "the interview again")


def test_a_red_flag_in_the_form_turns_the_alert_red_at_once_and_unanswered_rule_questions_are_marked(
    browser, base_url, loaded_model
):
    open_page(browser, base_url, form=True)
    marks = browser.find_elements(By.CSS_SELECTOR, "[data-question=weakness] .mark-slot .badge")
    assert marks and "not answered yet" in marks[0].text
    answer(browser, "weakness", "yes")
    wait_for(browser, lambda d: alert_level(d) == "see_doctor_promptly", "the red alert")
    alert = browser.find_element(By.ID, "escalation-alert")
    assert "See a doctor promptly" in alert.text
    assert "Weakness with twitching needs a medical evaluation soon." in alert.text
    lead = browser.find_element(By.ID, "result-lead")
    click(browser, lead.find_element(By.TAG_NAME, "summary"))
    assert loaded_model.priors.sources["ankle"].title in lead.text
    browser.execute_script("window.scrollTo(0, document.body.scrollHeight)")
    place = browser.execute_script(
        "const r = document.getElementById('escalation-alert').getBoundingClientRect(); return [r.top, r.bottom, innerHeight]"
    )
    assert 0 <= place[0] and place[1] <= place[2], "the alert stays in view"


def test_a_shared_link_reproduces_the_case_and_back_and_forward_step_through_it(browser, base_url):
    open_page(browser, base_url, form=True)
    browser.find_element(By.CSS_SELECTOR, "[data-example=coffee_exam_week]").click()
    wait_for(browser, lambda d: case_in_link(d).get("caffeine_intake") == "high", "the example in the link")
    answer(browser, "sleep", "very_short")
    shared = browser.current_url
    chart = text(browser, "causes")
    browser.back()
    wait_for(browser, lambda d: case_in_link(d).get("sleep") == "short", "the case before")
    wait_for(browser, lambda d: text(d, "causes") != chart, "the chart before")
    browser.forward()
    wait_for(browser, lambda d: text(d, "causes") == chart, "the chart again")
    browser.get(shared)
    wait_for(
        browser,
        lambda d: shown(d, "#causes") and text(d, "causes") == chart,
        "the same chart from the link",
    )
    assert not shown(browser, "#url-notice")


def test_bad_link_parameters_get_a_notice_until_the_address_is_clean(browser, base_url):
    open_page(browser, base_url, "?cafeine_intake=high&sleep=forever&weakness=yes&%00%ff=" + "z" * 300, form=True)
    notice = wait_for(browser, lambda d: shown(d, "#url-notice") and d.find_element(By.ID, "url-notice"), "the notice")
    assert "Ignored 'cafeine_intake'" in notice.text and "did you mean 'caffeine_intake'?" in notice.text
    assert "z" * 300 not in notice.text
    assert alert_level(browser) == "see_doctor_promptly"  # weakness=yes was kept
    answer(browser, "sleep", "short")
    wait_for(browser, lambda d: urlsplit(d.current_url).query == "sleep=short&weakness=yes", "a clean address")
    wait_for(browser, lambda d: not shown(d, "#url-notice"), "the notice to go")


def test_details_are_one_tap_away_why_in_words_and_what_would_help(browser, base_url, loaded_model):
    open_page(browser, base_url, "?recent_exercise=strenuous&heavy_sweating=yes&fluid_intake=low&weakness=no")
    wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#causes .why li"), "why in words")
    summary = browser.find_element(By.CSS_SELECTOR, "#causes .cause summary")
    summary.send_keys(Keys.ENTER)
    row = browser.find_element(By.CSS_SELECTOR, "#causes .cause")
    cause = row.get_attribute("data-cause")
    assert browser.execute_script("return document.querySelector('#causes .cause details').open")
    assert loaded_model.priors.causes[cause][1:] in row.text and "Your answer" in row.text
    assert "log" not in row.text.lower()
    click(browser, browser.find_element(By.CSS_SELECTOR, "#results details.more summary"))
    assert "would lower" in browser.find_element(By.ID, "help").text


def test_the_summary_for_a_doctor_lists_not_sure_and_prints_on_at_most_two_pages(browser, base_url):
    query = "?caffeine_intake=high&sleep=short&duration=weeks&trend=worsening&numbness_tingling=yes&pain=not_sure&weakness=yes"
    open_page(browser, base_url, query)
    wait_for(
        browser,
        lambda d: "not sure" in d.find_element(By.ID, "doctor-summary").get_attribute("textContent"),
        "the summary",
    )
    text = browser.find_element(By.ID, "doctor-summary").get_attribute("textContent")
    assert "Persistent pain in the area?" in text.split("Answered \u201cnot sure\u201d")[1].split("never asked")[0]
    options = PrintOptions()
    options.page_width, options.page_height = 21.0, 29.7
    pdf = base64.b64decode(browser.print_page(options))
    pages = len(re.findall(rb"/Type\s*/Page[^s]", pdf))
    measured("doctor_summary_pages", pages)
    assert 1 <= pages <= A4_PAGES


def axe_violations(browser) -> list:
    if not AXE.exists():
        pytest.fail(f"{AXE} missing; run: bash tests/install_browser.sh")
    browser.execute_script(AXE.read_text(encoding="utf-8"))
    return browser.execute_async_script(
        "const done = arguments[0]; axe.run(document).then(r => done(r.violations.map("
        "v => ({id: v.id, nodes: v.nodes.map(n => n.target.join(' '))}))))"
    )


@pytest.mark.parametrize("page", ["empty", "mid-interview", "results"])
def test_axe_finds_no_accessibility_violations(browser, base_url, page):
    if page == "empty":
        open_page(browser, base_url)
    elif page == "mid-interview":
        open_page(browser, base_url, "?weakness=no&muscle_wasting=no")
        wait_for(browser, lambda d: interview_question(d) == "walking_difficulty", "the third warning sign")
        screenshot(browser, "desktop-mid-interview")
    else:
        open_page(
            browser,
            base_url,
            "?caffeine_intake=high&sleep=short&weakness=no&muscle_wasting=no&walking_difficulty=no",
            form=True,
        )
        wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#causes .why li"), "the details")
        screenshot(browser, "desktop-results")
    assert axe_violations(browser) == []
    assert browser.execute_script("return document.documentElement.lang") == "en"
    assert len(browser.find_elements(By.TAG_NAME, "h1")) == 1


def lighthouse(url: str, form_factor: str) -> dict:
    cli = TOOLS / "node_modules" / ".bin" / "lighthouse"
    if not cli.exists():
        pytest.fail(f"{cli} missing; run: bash tests/install_browser.sh")
    preset = ["--preset=desktop"] if form_factor == "desktop" else []
    ARTIFACTS.mkdir(exist_ok=True)
    report = ARTIFACTS / f"lighthouse-{form_factor}.json"
    subprocess.run(
        [
            str(cli),
            url,
            *preset,
            "--only-categories=accessibility",
            "--output=json",
            f"--output-path={report}",
            "--quiet",
            "--chrome-flags=--headless=new --no-sandbox --disable-gpu",
        ],
        check=True,
        env={**os.environ, "CHROME_PATH": CHROMIUM},
        timeout=240,
    )
    return json.loads(report.read_text())


@pytest.mark.parametrize("form_factor", ["mobile", "desktop"])
def test_lighthouse_accessibility_is_full(base_url, form_factor):
    data = lighthouse(base_url + "/", form_factor)
    score = round(data["categories"]["accessibility"]["score"] * 100)
    measured(f"lighthouse_accessibility_{form_factor}", score)
    assert score == 100


def fix_clock(browser, day: str):
    """From the next page load on, the page's clock reads noon of ``day`` (the diary dates check-ins by it)."""
    script = (
        f"(() => {{ const fixed = new Date('{day}T12:00:00').getTime(); const Real = Date;"
        "class Fixed extends Real { constructor(...a) { super(...(a.length ? a : [fixed])); }"
        " static now() { return fixed; } }"
        "window.Date = Fixed; })();"
    )
    return browser.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": script})["identifier"]


def diary_text(browser) -> str:
    return text(browser, "diary-section")


def test_a_diary_over_two_days_names_what_helped_and_survives_export_clear_import(browser, base_url, tmp_path):
    browser.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(tmp_path)})
    clock = fix_clock(browser, "2026-03-01")
    try:
        open_page(browser, base_url, "?caffeine_intake=high&sleep=adequate&stress_level=low&weakness=no")
        browser.execute_script("localStorage.clear()")
        click(browser, browser.find_element(By.ID, "diary-save"))
        wait_for(browser, lambda d: "2026-03-01 (day 0): first check-in" in diary_text(d), "the first check-in")
        browser.execute_cdp_cmd("Page.removeScriptToEvaluateOnNewDocument", {"identifier": clock})
        clock = fix_clock(browser, "2026-03-02")
        open_page(browser, base_url)  # a day later, a fresh page: the diary is still in this browser
        wait_for(browser, lambda d: "first check-in" in diary_text(d), "the kept diary")
        again = browser.find_element(By.ID, "diary-again")
        click(browser, again.find_element(By.TAG_NAME, "summary"))
        # Only what changed: which changes were made and how the twitch is now.
        assert len(again.find_elements(By.TAG_NAME, "fieldset")) == 2
        assert not again.find_elements(By.CSS_SELECTOR, "[data-question]")
        click(browser, again.find_element(By.CSS_SELECTOR, "#diary-changes button[id*=caffeine_intake]"))
        click(browser, again.find_element(By.CSS_SELECTOR, "#diary-twitch button[id*=gone]"))
        click(browser, browser.find_element(By.ID, "diary-again-save"))
        wait_for(browser, lambda d: "It seems to have helped" in text(d, "diary-helped"), "what helped")
        assert "2026-03-02 (day 1)" in diary_text(browser) and "Switching to decaffeinated" in text(
            browser, "diary-helped"
        )
        kept = browser.execute_script("return JSON.parse(localStorage.getItem('diary')).check_ins.length")
        assert kept == 2
        screenshot(browser, "desktop-diary")
        violations = axe_violations(browser)
        Path("/tmp/diarydash_axe.json").write_text(json.dumps(violations))
        assert violations == []
        click(browser, browser.find_element(By.ID, "diary-export"))
        wait_for(browser, lambda d: list(tmp_path.glob("*.json")), "the download")
        exported = json.loads(next(tmp_path.glob("*.json")).read_text())
        assert exported["format"] == "twitchcause-diary" and len(exported["check_ins"]) == 2
        click(browser, browser.find_element(By.ID, "diary-clear"))
        wait_for(browser, lambda d: "No check-in yet" in diary_text(d), "the cleared diary")
        assert not browser.find_elements(By.CSS_SELECTOR, ".diary-upload")  # drawn once asked for
        click(browser, browser.find_element(By.ID, "diary-import-open"))
        upload = wait_for(
            browser, lambda d: d.find_elements(By.CSS_SELECTOR, ".diary-upload input[type=file]"), "import"
        )[0]
        assert wait_for(browser, lambda d: upload.get_attribute("aria-label"), "its name") == "Import a diary file"
        screenshot(browser, "desktop-diary-import")
        upload.send_keys(str(next(tmp_path.glob("*.json"))))
        wait_for(browser, lambda d: "It seems to have helped" in text(d, "diary-helped"), "the imported diary")
        assert "Imported 2 check-ins" in diary_text(browser)
        browser.set_window_size(*PHONE)
        width = browser.execute_script("return [document.documentElement.scrollWidth, window.innerWidth]")
        assert width[0] <= width[1], "nothing may overflow sideways on a phone"
        screenshot(browser, "phone-diary")
    finally:
        browser.execute_cdp_cmd("Page.removeScriptToEvaluateOnNewDocument", {"identifier": clock})
        browser.execute_script("localStorage.clear()")


def test_a_diary_file_too_large_for_the_page_is_refused_in_one_line_and_the_diary_kept(browser, base_url, tmp_path):
    # Past the server's door (1 MiB a request) the post would be refused 413, which the page cannot show.
    big = tmp_path / "huge-diary.json"
    big.write_text(json.dumps({"format": "twitchcause-diary", "padding": "x" * 1_100_000}))
    open_page(browser, base_url)
    browser.execute_script("localStorage.clear()")
    click(browser, browser.find_element(By.ID, "diary-import-open"))
    upload = wait_for(browser, lambda d: d.find_elements(By.CSS_SELECTOR, ".diary-upload input[type=file]"), "import")
    upload[0].send_keys(str(big))
    wait_for(browser, lambda d: "Not imported" in text(d, "diary-message"), "the one-line refusal")
    said = text(browser, "diary-message")
    assert "huge-diary.json" in said and "twitchcause diary import" in said
    assert "No check-in yet" in diary_text(browser)
