"""Batch through the command line, end to end: cases per CPU-second and peak memory.

Writes ``--rows`` random cases (a fixed seed; each variable answered with
probability 0.3, else an empty cell) to a CSV file, runs ``twitchcause batch``
on it in child processes (CSV out, then Parquet out) and reads their CPU time
and peak resident memory from the operating system. ``--reference DIR`` also
times another build of the package (DIR holds its ``twitchcause`` folder with
``model``, ``priors`` and ``app`` inside, as installed) on the same file, for a
before/after ratio in one run; children run in the scratch folder, so a source
tree in the working directory cannot shadow either build. ``--dask local`` (or
a scheduler address) also runs the file through Dask: per core, the CPU of the
client, the scheduler and every worker, start-up included, against the single
process writing Parquet too. The last line sums it up:

    batch_rows=.. batch_cases_per_cpu_s=.. batch_peak_rss_mb=.. parquet_cases_per_cpu_s=..
    [reference_cases_per_cpu_s=.. batch_vs_reference=..] [dask_cases_per_cpu_s=.. dask_vs_single=..]

Run with ``python benchmarks/batch_scale.py --rows 1000000 [--reference DIR] [--dask local]``.
"""

from __future__ import annotations

import argparse
import csv
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

CLI = [sys.executable, "-m", "twitchcause"]


def write_cases(path: Path, rows: int, seed: int = 20261129, share: float = 0.3) -> Path:
    """``rows`` random cases over every evidence variable, the same for the same seed."""
    from twitchcause import model

    m = model.load()
    names = list(m.variables)
    rng = np.random.default_rng(seed)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(names)
        for start in range(0, rows, 50_000):
            n = min(50_000, rows - start)
            columns = []
            for name in names:
                states = np.array(("",) + m.variables[name].states, dtype=object)
                answered = rng.random(n) < share
                picks = rng.integers(1, len(states), n)
                columns.append(states[np.where(answered, picks, 0)])
            writer.writerows(zip(*columns))
    return path


def run_child(argv: list[str], cwd: Path | None = None, pythonpath: str | None = None) -> tuple[float, float, float]:
    """Run one command to the end: (CPU seconds, wall seconds, peak RSS in MB).

    CPU counts the child and every process it waited for (a local Dask
    cluster's workers included); peak RSS is the largest single process's.
    """
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    proc = subprocess.run(argv, env=env, cwd=cwd)
    wall = time.perf_counter() - start
    if proc.returncode:
        raise SystemExit(f"{' '.join(argv)} failed with status {proc.returncode}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, wall, after.ru_maxrss / 1024


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=20261129)
    parser.add_argument("--folder", type=Path, help="where to keep the files (default: a temporary folder)")
    parser.add_argument("--dask", metavar="ADDRESS", help="also run through Dask (local or a scheduler address)")
    parser.add_argument("--workers", type=int, default=2, help="workers of --dask local")
    parser.add_argument("--reference", metavar="DIR", help="another build of the package to time on the same file")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as scratch:
        folder = args.folder or Path(scratch)
        source = folder / f"cases-{args.rows}-{args.seed}.csv"
        if not source.exists():
            write_cases(source, args.rows, args.seed)
        cpu, wall, rss = run_child([*CLI, "batch", str(source), "-o", str(folder / "out.csv")], cwd=folder)
        single = args.rows / cpu
        print(f"single process, CSV: {args.rows:,} rows, {cpu:.1f} s CPU, {wall:.1f} s wall, peak RSS {rss:.0f} MB")
        summary = f"batch_rows={args.rows} batch_cases_per_cpu_s={single:.0f} batch_peak_rss_mb={rss:.0f}"
        cpu, wall, _ = run_child([*CLI, "batch", str(source), "-o", str(folder / "out.parquet")], cwd=folder)
        parquet = args.rows / cpu
        print(f"single process, CSV in, Parquet out: {cpu:.1f} s CPU, {wall:.1f} s wall")
        summary += f" parquet_cases_per_cpu_s={parquet:.0f}"
        if args.reference:
            command = [*CLI, "batch", str(source), "-o", str(folder / "reference.csv")]
            cpu, wall, _ = run_child(command, cwd=folder, pythonpath=args.reference)
            print(f"reference build, CSV: {cpu:.1f} s CPU, {wall:.1f} s wall")
            summary += (
                f" reference_cases_per_cpu_s={args.rows / cpu:.0f} batch_vs_reference={single * cpu / args.rows:.2f}"
            )
        if args.dask:
            out = folder / "out-dask"
            command = [*CLI, "batch", str(source), "-o", str(out), "--dask", args.dask, "--workers", str(args.workers)]
            cpu, wall, _ = run_child(command, cwd=folder)
            print(
                f"dask {args.dask}, {args.workers} workers: {cpu:.1f} s CPU (client and workers), {wall:.1f} s wall, "
                f"{args.rows / cpu:.0f} cases per CPU-second (start-up included)"
            )
            # against the single process writing the same format
            summary += f" dask_cases_per_cpu_s={args.rows / cpu:.0f} dask_vs_single={args.rows / cpu / parquet:.2f}"
        print(summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
