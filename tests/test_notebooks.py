"""The notebooks run top to bottom in a fresh kernel, are kept in git without outputs, and draw readable figures.

Each notebook runs once per test module (the ``executed`` fixture). The figure
checks read the plotly figures it drew; the browser test opens its HTML export
in headless Chromium and saves a screenshot of every figure and table to
``tests/artifacts/notebooks/`` (with the HTML export itself), which is how the
figures are looked at without Jupyter.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOK_DIR = Path(__file__).resolve().parents[1] / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("[0-9][0-9]_*.ipynb"))
ARTIFACTS = Path(__file__).resolve().parent / "artifacts" / "notebooks"
CELL_TIMEOUT = 300  # seconds, per cell; the slowest cell (repeated simulations in notebook 4) takes several
PLOTLY = "application/vnd.plotly.v1+json"
NOTEBOOK_WIDTH = 950  # px: what a figure must fit (a JupyterLab window on a laptop)
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
CHROMIUM_FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run")
WINDOW = (1100, 1700)  # leaves an output area just under 1,000 px wide, and room for the tallest figure


def test_the_notebooks_are_there():
    assert [p.stem for p in NOTEBOOKS] == [
        "01_where_priors_come_from",
        "02_sensitivity",
        "03_tune_and_save",
        "04_learn_from_cases",
        "05_one_case",
        "06_follow_up",
    ]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_stored_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    with_outputs = [
        i
        for i, cell in enumerate(nb.cells)
        if cell.cell_type == "code" and (cell.outputs or cell.execution_count is not None)
    ]
    assert not with_outputs, (
        f"{path.name}: cells {with_outputs} hold outputs; run nbstripout on it (see notebooks/README.md)"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_opens_with_its_purpose_and_closes_with_what_to_look_at(path):
    nb = nbformat.read(path, as_version=4)
    assert nb.cells[0].cell_type == "markdown" and "What this notebook is for" in nb.cells[0].source
    assert nb.cells[-1].cell_type == "markdown" and "What to look at" in nb.cells[-1].source


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    """``executed(path)``: the notebook run top to bottom in a fresh kernel (once per module)."""
    done: dict[Path, nbformat.NotebookNode] = {}
    output = tmp_path_factory.mktemp("notebook-output")

    def run(path: Path) -> nbformat.NotebookNode:
        if path not in done:
            nb = nbformat.read(path, as_version=4)
            client = NotebookClient(
                nb, timeout=CELL_TIMEOUT, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOK_DIR)}}
            )
            with pytest.MonkeyPatch.context() as patch:
                patch.setenv("TWITCHCAUSE_NOTEBOOK_OUTPUT", str(output / path.stem))  # not into the tree
                start = time.perf_counter()
                client.execute()  # raises CellExecutionError, naming the cell, on any error
                print(f"{path.name}: {time.perf_counter() - start:.1f} s")
            done[path] = nb
        return done[path]

    return run


def outputs(nb):
    return [out for cell in nb.cells if cell.cell_type == "code" for out in cell.outputs]


def figures(nb) -> list[dict]:
    return [out["data"][PLOTLY] for out in outputs(nb) if "data" in out and PLOTLY in out["data"]]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_top_to_bottom_without_errors_or_warnings(path, executed):
    nb = executed(path)
    assert not [out for out in outputs(nb) if out.output_type == "error"]
    stderr = [out.text for out in outputs(nb) if out.output_type == "stream" and out.name == "stderr"]
    assert not stderr, f"{path.name} wrote to stderr (progress bars belong in widgets, warnings silenced by name)"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_figures_are_readable(path, executed):
    """Every figure has a title, fits a 950 px notebook, names its colour scales and tells its series apart."""
    drawn = figures(executed(path))
    assert drawn, f"{path.name} draws no figure"
    for k, fig in enumerate(drawn):
        layout, where = fig.get("layout", {}), f"{path.name}, figure {k}"
        title = layout.get("title", {})
        assert title.get("text") if isinstance(title, dict) else title, f"{where} has no title"
        margin = layout.get("margin", {})
        assert margin.get("l", 80) + margin.get("r", 80) <= NOTEBOOK_WIDTH / 3, f"{where}: margins {margin} too wide"
        assert not layout.get("width") or layout["width"] <= NOTEBOOK_WIDTH, f"{where} is wider than a notebook"
        for trace in fig.get("data", []):
            if trace.get("type") in ("heatmap", "contour") or trace.get("marker", {}).get("showscale"):
                colorbar = trace.get("colorbar") or trace.get("marker", {}).get("colorbar", {})
                assert colorbar.get("title", {}).get("text"), f"{where}: a colour scale without a title"
        named = {t.get("name") for t in fig.get("data", []) if t.get("name") and t.get("showlegend", True)}
        if len(named) > 1:
            assert layout.get("showlegend", True), f"{where} hides the legend of {sorted(named)}"


@pytest.fixture(scope="module")
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not shutil.which(p)]
    if missing:
        pytest.fail(f"{', '.join(missing)} not installed; run: bash tests/install_browser.sh")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (*CHROMIUM_FLAGS, f"--window-size={WINDOW[0]},{WINDOW[1]}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    yield driver
    driver.quit()


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_figures_render_in_the_html_export_and_are_saved_as_screenshots(path, executed, browser):
    from nbconvert import HTMLExporter
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    nb = executed(path)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for old in ARTIFACTS.glob(f"{path.stem}-*.png"):
        old.unlink()
    page = ARTIFACTS / f"{path.stem}.html"
    page.write_text(HTMLExporter().from_notebook_node(nb)[0], encoding="utf-8")
    browser.get_log("browser")
    browser.get(page.as_uri())
    expected = len(figures(nb))
    WebDriverWait(browser, 30).until(
        lambda d: len(d.find_elements(By.CSS_SELECTOR, ".js-plotly-plot .main-svg")) >= expected,
        message=f"waited for {expected} figures to draw",
    )
    plots = browser.find_elements(By.CSS_SELECTOR, ".js-plotly-plot")
    assert len(plots) == expected
    for k, plot in enumerate(plots):
        browser.execute_script("arguments[0].scrollIntoView()", plot)
        # _size holds the margins as drawn, after the labels pushed them (automargin)
        width, plotted, room = browser.execute_script(
            "const l = arguments[0]._fullLayout;"
            "return [l.width, l._size.w, arguments[0].parentElement.getBoundingClientRect().width]",
            plot,
        )
        assert width <= room + 1, f"{path.name}, figure {k} overflows its output area"
        assert plotted >= 0.5 * width, f"{path.name}, figure {k}: labels and margins take half the width"
        shot = ARTIFACTS / f"{path.stem}-figure-{k + 1}.png"
        assert plot.screenshot(str(shot)) and shot.stat().st_size > 5_000
    tables = browser.find_elements(By.CSS_SELECTOR, "table.dataTable")
    for k, table in enumerate(tables):
        container = table.find_element(By.XPATH, "./ancestor::div[contains(@class, 'dt-container')][1]")
        browser.execute_script("arguments[0].scrollIntoView()", container)
        assert container.find_elements(By.CSS_SELECTOR, "input"), "an interactive table has a search box"
        container.screenshot(str(ARTIFACTS / f"{path.stem}-table-{k + 1}.png"))
    # The export links MathJax, require.js and the widget manager from a CDN, which an offline
    # machine cannot reach; anything else in the console is a real error.
    errors = [
        entry
        for entry in browser.get_log("browser")
        if entry["level"] == "SEVERE" and not (entry["source"] == "network" and "https://" in entry["message"])
    ]
    assert not errors, json.dumps(errors, indent=1)


def test_example_cases_are_valid_evidence():
    """The cases notebooks fall back on when the shared folder is absent."""
    from twitchcause import model

    cases = json.loads((NOTEBOOK_DIR / "example_cases.json").read_text(encoding="utf-8"))
    m = model.load()
    assert len(cases) >= 5
    for name, evidence in cases.items():
        assert m.parse(evidence) == evidence, name
