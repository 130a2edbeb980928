"""The notebooks run top to bottom in a fresh kernel, and are kept in git without outputs."""

from __future__ import annotations

import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOK_DIR = Path(__file__).resolve().parents[1] / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("[0-9][0-9]_*.ipynb"))
CELL_TIMEOUT = 300  # seconds, per cell; the slowest cell (learning from 10,000 cases) takes a few


def test_the_four_notebooks_are_there():
    assert [p.stem for p in NOTEBOOKS] == [
        "01_where_priors_come_from",
        "02_sensitivity",
        "03_tune_and_save",
        "04_learn_from_cases",
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


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_top_to_bottom(path, tmp_path, monkeypatch):
    monkeypatch.setenv("TWITCHCAUSE_NOTEBOOK_OUTPUT", str(tmp_path))  # saved folders go there, not into the tree
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb, timeout=CELL_TIMEOUT, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOK_DIR)}}
    )
    start = time.perf_counter()
    client.execute()  # raises CellExecutionError, naming the cell, on any error
    print(f"{path.name}: {time.perf_counter() - start:.1f} s")
    errors = [
        out for cell in nb.cells if cell.cell_type == "code" for out in cell.outputs if out.output_type == "error"
    ]
    assert not errors


def test_example_cases_are_valid_evidence():
    """The cases notebooks fall back on when the shared folder is absent."""
    import json

    from twitchcause import model

    cases = json.loads((NOTEBOOK_DIR / "example_cases.json").read_text(encoding="utf-8"))
    m = model.load()
    assert len(cases) >= 5
    for name, evidence in cases.items():
        assert m.parse(evidence) == evidence, name
