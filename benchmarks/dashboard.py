"""The dashboard in headless Chromium: weight, Lighthouse, axe-core and click-to-bars latency, as figures.

Starts the app on a free port (a fresh process: nothing cached), then prints

- first load: bytes transferred and requests, cache cleared (budget 350 KB);
- Lighthouse performance and accessibility, desktop and mobile, three runs each
  (budget: accessibility 100, performance 100 desktop and >= 90 mobile);
- axe-core violations on the empty page, mid-interview and a result (budget 0);
- click to updated bars: from the click on a form answer to the bars redrawn
  with its numbers, for 10 answers of one random case never seen before (each
  step a new case: nothing is cached), median and all (budget 100 ms median).

The machine's other load moves these figures a lot (Lighthouse's total blocking time most), so
each is also given against a reference measured in the same run: click to bars against a bare
request from the page (``fetch('/healthz')``), and with ``--reference DIR`` (another checkout with
its own ``.venv``, the main branch say) that checkout's page: its first load and Lighthouse scores,
run in turn with this one's.

Needs Chromium, chromedriver, axe-core and Lighthouse (``bash tests/install_browser.sh``).
Run: ``python benchmarks/dashboard.py [--runs 3] [--seed 7] [--reference ../main]``; the last line
sums it up.
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
SERVE = "import sys; from twitchcause.cli import main; sys.exit(main(['app', '--port', '{port}']))"  # as `make app`

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


def start_server(checkout: Path | None = None) -> tuple[subprocess.Popen, str]:
    """This checkout's app (or ``checkout``'s, with its own .venv) on a free port, started fresh."""
    port = free_port()
    python = str(checkout / ".venv" / "bin" / "python") if checkout else sys.executable
    process = subprocess.Popen(
        [python, "-c", SERVE.format(port=port)], cwd=checkout, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
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


def bare_requests(driver, url: str, count: int = 10) -> float:
    """Median time of a bare request from the page (``GET /healthz``): the round trip's floor."""
    return driver.execute_async_script(
        """
        const [url, count, done] = arguments; const times = [];
        (async () => {
          for (let i = 0; i < count; i++) {
            const start = performance.now(); await (await fetch(url, {cache: 'no-store'})).text();
            times.push(performance.now() - start);
          }
          times.sort((a, b) => a - b); done(times[Math.floor(times.length / 2)]);
        })();
        """,
        url + "healthz",
        count,
    )


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
    wait_for(driver, drawn, "the page")
    driver.find_element(By.CSS_SELECTOR, "[data-action=form]").click()
    wait_for(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "[data-question]"), "the form")
    timings = []
    for name, state in unseen_case(driver, seed):
        selector = f"[data-question={name}] [data-answer='{state}']"
        driver.execute_script("document.querySelector(arguments[0]).scrollIntoView({block: 'center'})", selector)
        timings.append(driver.execute_async_script(CLICK_TO_BARS, selector))
        time.sleep(0.3)  # the details follow the bars; let them land before the next answer
    return timings


def lighthouse(url: str, form_factor: str, tries: int = 2) -> dict:
    """One Lighthouse run's scores; a run Lighthouse itself fails (NO_NAVSTART, say) is run again."""
    for attempt in range(1, tries + 1):
        try:
            return lighthouse_once(url, form_factor)
        except subprocess.CalledProcessError:
            if attempt == tries:
                raise SystemExit(f"dashboard: lighthouse failed {tries} times on {url} ({form_factor})") from None


def lighthouse_once(url: str, form_factor: str) -> dict:
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
    parser.add_argument("--reference", type=Path, help="another checkout (with .venv) whose page is the reference")
    args = parser.parse_args(argv)
    missing = [str(p) for p in (Path(CHROMIUM), Path(CHROMEDRIVER), AXE, LIGHTHOUSE) if not p.exists()]
    if missing:
        raise SystemExit(f"dashboard: missing {', '.join(missing)}; run: bash tests/install_browser.sh")
    process, url = start_server()
    reference = start_server(args.reference.resolve()) if args.reference else None
    summary = {}
    try:
        driver = browser()
        try:
            size, requests = first_load(driver, url)
            summary["first_load_kb"] = round(size / 1024, 1)
            print(f"first load: {size:,} bytes in {requests} requests (budget {BUDGET['first_load_kb']} KB)")
            if reference:
                size_ref, _ = first_load(driver, reference[1])
                summary["first_load_kb_reference"] = round(size_ref / 1024, 1)
                print(f"first load of the reference: {size_ref:,} bytes")
            timings = click_to_bars(driver, url, args.seed)
            bare = bare_requests(driver, url)
            median = statistics.median(timings)
            summary["click_to_bars_ms"] = round(median, 1)
            summary["click_to_bars_vs_bare_request"] = round(median / bare, 1)
            print(
                f"click to bars, {ANSWERS} answers of an unseen case (seed {args.seed}): "
                f"median {median:.1f} ms ({median / bare:.1f}x a bare request's {bare:.1f} ms), "
                f"all {[round(t, 1) for t in timings]}"
            )
            violations = axe_pages(driver, url)
            for page, found in violations.items():
                print(f"axe-core, {page}: {len(found)} violations {found if found else ''}")
            summary["axe_violations"] = sum(len(v) for v in violations.values())
        finally:
            driver.quit()
        for form_factor in ("desktop", "mobile"):
            runs, references = [], []
            for i in range(1, args.runs + 1):  # in turn with the reference: the same load falls on both
                runs.append(lighthouse(url, form_factor))
                print(f"lighthouse {form_factor} run {i}: {runs[-1]}")
                if reference:
                    references.append(lighthouse(reference[1], form_factor))
                    print(f"lighthouse {form_factor} run {i}, reference: {references[-1]}")
            summary[f"{form_factor}_performance"] = min(r["performance"] for r in runs)
            summary[f"{form_factor}_accessibility"] = min(r["accessibility"] for r in runs)
            if references:
                summary[f"{form_factor}_performance_reference"] = min(r["performance"] for r in references)
    finally:
        for started in (process, reference[0] if reference else None):
            if started:
                started.terminate()
                started.wait(timeout=30)
    print(" ".join(f"{k}={v}" for k, v in summary.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
