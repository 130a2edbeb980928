"""The benchmark script runs, checks its answers and prints its summary line (speed itself is not asserted)."""

from __future__ import annotations

import re
import runpy
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "run.py"


def test_benchmark_smoke_run_prints_the_summary_line(capsys):
    main = runpy.run_path(str(SCRIPT))["main"]
    assert main(["--cases", "6", "--batch", "40", "--quick", "--no-load"]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert re.fullmatch(
        r"single_x=\d+ next_x=\d+ batch_x=\d+ batch_cases_per_cpu_s=\d+ cli_cold_vs_numpy=[\d.]+"
        r" api_repeat_vs_healthz=n/a api_unique_vs_healthz=n/a api_unique_lean_vs_healthz=n/a"
        r" dash_repeat_vs_healthz=n/a dash_unique_vs_healthz=n/a dash_floor_vs_healthz=n/a api_unique_p99_ms=n/a",
        last,
    ), last


def test_a_disagreeing_ask_next_stops_the_run(loaded_model, monkeypatch):
    import pytest

    namespace = runpy.run_path(str(SCRIPT))
    ve = namespace["VariableEliminationSide"](loaded_model)
    case = {"caffeine_intake": "high"}
    namespace["check_ask_next"](loaded_model, ve, case)  # agrees as it is
    right = ve.ask_next(case)
    swapped = [right[1], right[0], *right[2:]]  # two questions in the other order, figures unchanged
    monkeypatch.setattr(ve, "ask_next", lambda evidence: swapped)
    namespace["check_ask_next"](loaded_model, ve, case)  # order is judged on the figures, not the list
    wrong = [(name, gain, min(rises + 0.1, 1.0), flag) for name, gain, rises, flag in right]
    monkeypatch.setattr(ve, "ask_next", lambda evidence: wrong)
    with pytest.raises(SystemExit, match="P\\(level rises\\)"):
        namespace["check_ask_next"](loaded_model, ve, case)
