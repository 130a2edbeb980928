"""The dashboard in headless Chromium: weight, Lighthouse, axe-core and click-to-bars latency, as figures.

Starts the app on a free port (a fresh process: nothing cached), then prints

- first load: bytes transferred and requests, cache cleared (budget 350 KB);
- Lighthouse performance and accessibility, desktop and mobile, three runs each
  (budget: accessibility 100, performance 100 desktop and >= 90 mobile);
- axe-core violations on the empty page, mid-interview and a result (budget 0);
- click to updated bars: from the click on a form answer to the bars redrawn
  with its numbers, for 10 answers of one random case never seen before (each
  step a new case: nothing is cached), median and all (budget 100 ms median).

Needs Chromium, chromedriver, axe-core and Lighthouse (``bash tests/install_browser.sh``).
Run: ``python benchmarks/dashboard.py [--runs 3] [--seed 7]``; the last line sums it up.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
TOOLS = Path(os.environ.get("TWITCHCAUSE_NODE_DIR", Path.home() / ".cache" / "twitchcause-node"))
AXE = TOOLS / "node_modules" / "axe-core" / "axe.min.js"
LIGHTHOUSE = TOOLS / "node_modules" / ".bin" / "lighthouse"
BUDGET = {"first_load_kb": 350, "click_to_bars_ms": 100, "mobile_performance": 90}
ANSWERS = 10
SERVE = "from twitchcause.app.server import create_app; create_app().run(port={port}, debug=False)"

# Timed inside the page: the click on an answer to the first change of the bars.
CLICK_TO_BARS = """
const [selector, done] = arguments;
const bars = document.getElementById('result-causes');
let start;
const observer = new MutationObserver(() => { observer.disconnect(); done(performance.now() - start); });
observer.observe(bars, {childList: true, subtree: true, attributes: true, characterData: true});
start = performance.now();
document.querySelector(selector).click();
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server() -> tuple[subprocess.Popen, str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-c", SERVE.format(port=port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}/"
    for _ in range(240):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return process, url
        except OSError:
            time.sleep(0.25)
    process.kill()
    raise SystemExit("dashboard: the app did not start")


def browser(width: int = 1366, height: int = 900) -> webdriver.Chrome:
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        options.add_argument(flag)
    options.add_argument(f"--window-size={width},{height}")
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)


def wait_for(driver, condition, what: str):
    return WebDriverWait(driver, 30).until(condition, message=f"waited for {what}")


def drawn(driver) -> bool:
    return bool(driver.find_elements(By.CSS_SELECTOR, "#escalation-alert")) and bool(
        driver.find_elements(By.CSS_SELECTOR, "#interview fieldset, #interview-question")
    )


def first_load(driver, url: str) -> tuple[int, int]:
    driver.execute_cdp_cmd("Network.enable", {})
    driver.execute_cdp_cmd("Network.clearBrowserCache", {})
    driver.get(url)
    wait_for(driver, drawn, "the page")
    time.sleep(1)
    return driver.execute_script(
        "const all = [...performance.getEntriesByType('navigation'), ...performance.getEntriesByType('resource')];"
        "return [all.reduce((s, e) => s + e.transferSize, 0), all.length]"
    )


def axe(driver) -> list[str]:
    driver.execute_script(AXE.read_text(encoding="utf-8"))
    return driver.execute_async_script(
        "const done = arguments[0]; axe.run(document).then(r => done(r.violations.map("
        "v => v.id + ' (' + v.nodes.length + ' nodes, first ' + v.nodes[0].target.join(' ') + ')')))"
    )


def axe_pages(driver, url: str) -> dict[str, list[str]]:
    found = {}
    driver.get(url)
    wait_for(driver, drawn, "the empty page")
    found["empty"] = axe(driver)
    driver.get(url + "?weakness=no&muscle_wasting=no")
    wait_for(driver, lambda d: drawn(d) and d.find_elements(By.CSS_SELECTOR, "[data-question]"), "the form")
    driver.find_element(By.CSS_SELECTOR, "[data-action=interview]").click()
    wait_for(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "#interview fieldset"), "the interview")
    found["mid_interview"] = axe(driver)
    driver.get(url + "?weakness=yes&caffeine_intake=high&sleep=short&muscle_wasting=no&walking_difficulty=no")
    wait_for(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "#causes .why p"), "the results and their details")
    found["results"] = axe(driver)
    return found


def unseen_case(driver, seed: int) -> list[tuple[str, str]]:
    """``ANSWERS`` (question, answer) pairs of a random case, in a random order."""
    rng = random.Random(seed)
    names = driver.execute_script(
        "return [...document.querySelectorAll('[data-question]')].map(f => "
        "[f.dataset.question, [...f.querySelectorAll('[data-answer]')].map(b => b.dataset.answer).filter(v => v)])"
    )
    return [(name, rng.choice(states)) for name, states in rng.sample(names, ANSWERS)]


def click_to_bars(driver, url: str, seed: int) -> list[float]:
    driver.get(url)
    wait_for(driver, lambda d: drawn(d) and d.find_elements(By.CSS_SELECTOR, "[data-question]"), "the form")
    timings = []
    for name, state in unseen_case(driver, seed):
        selector = f"[data-question={name}] [data-answer='{state}']"
        driver.execute_script("document.querySelector(arguments[0]).scrollIntoView({block: 'center'})", selector)
        timings.append(driver.execute_async_script(CLICK_TO_BARS, selector))
        time.sleep(0.3)  # the details follow the bars; let them land before the next answer
    return timings


def lighthouse(url: str, form_factor: str) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        report = Path(folder) / "report.json"
        subprocess.run(
            [
                str(LIGHTHOUSE),
                url,
                *(["--preset=desktop"] if form_factor == "desktop" else []),
                "--only-categories=performance,accessibility",
                "--output=json",
                f"--output-path={report}",
                "--quiet",
                "--chrome-flags=--headless=new --no-sandbox --disable-gpu",
            ],
            check=True,
            env={**os.environ, "CHROME_PATH": CHROMIUM},
            timeout=240,
        )
        data = json.loads(report.read_text())
    audits = data["audits"]
    return {
        "performance": round(data["categories"]["performance"]["score"] * 100),
        "accessibility": round(data["categories"]["accessibility"]["score"] * 100),
        "tbt_ms": round(audits["total-blocking-time"]["numericValue"]),
        "lcp_ms": round(audits["largest-contentful-paint"]["numericValue"]),
        "cls": round(audits["cumulative-layout-shift"]["numericValue"], 3),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="Lighthouse runs per form factor")
    parser.add_argument("--seed", type=int, default=int(time.time()), help="seed of the unseen case")
    args = parser.parse_args(argv)
    missing = [str(p) for p in (Path(CHROMIUM), Path(CHROMEDRIVER), AXE, LIGHTHOUSE) if not p.exists()]
    if missing:
        raise SystemExit(f"dashboard: missing {', '.join(missing)}; run: bash tests/install_browser.sh")
    process, url = start_server()
    summary = {}
    try:
        driver = browser()
        try:
            size, requests = first_load(driver, url)
            summary["first_load_kb"] = round(size / 1024, 1)
            print(f"first load: {size:,} bytes in {requests} requests (budget {BUDGET['first_load_kb']} KB)")
            timings = click_to_bars(driver, url, args.seed)
            summary["click_to_bars_ms"] = round(statistics.median(timings), 1)
            print(
                f"click to bars, {ANSWERS} answers of an unseen case (seed {args.seed}): "
                f"median {statistics.median(timings):.1f} ms, all {[round(t, 1) for t in timings]}"
            )
            violations = axe_pages(driver, url)
            for page, found in violations.items():
                print(f"axe-core, {page}: {len(found)} violations {found if found else ''}")
            summary["axe_violations"] = sum(len(v) for v in violations.values())
        finally:
            driver.quit()
        for form_factor in ("desktop", "mobile"):
            runs = [lighthouse(url, form_factor) for _ in range(args.runs)]
            for i, run in enumerate(runs, 1):
                print(f"lighthouse {form_factor} run {i}: {run}")
            summary[f"{form_factor}_performance"] = min(r["performance"] for r in runs)
            summary[f"{form_factor}_accessibility"] = min(r["accessibility"] for r in runs)
    finally:
        process.terminate()
        process.wait(timeout=30)
    print(" ".join(f"{k}={v}" for k, v in summary.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
