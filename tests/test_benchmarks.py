"""The benchmark script runs and prints its summary line (speed itself is not asserted here)."""

from __future__ import annotations

import re
import runpy
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "run.py"


def test_benchmark_smoke_run_prints_the_summary_line(capsys):
    main = runpy.run_path(str(SCRIPT))["main"]
    assert main(["--cases", "6", "--batch", "40", "--quick"]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert re.fullmatch(
        r"single_x=\d+ next_x=\d+ batch_x=\d+ batch_cases_per_s=\d+ cli_cold_s=[\d.]+"
        r"( agrum_x=\d+)?",
        last,
    ), last
