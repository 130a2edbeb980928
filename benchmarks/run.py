"""Speed of twitchcause against pgmpy's VariableElimination, and of its cold start against numpy's, in one run.

Every figure is checked before it is timed (a speed-up of wrong answers means
nothing) and given as a ratio to a reference measured in the same run, so the
figures travel between machines. BLAS runs on one thread (set before numpy is
imported): a small product gains nothing from more, and spinning threads would
be counted against the engine.

- single: ``Model.infer`` (posterior of every cause, escalation included) against
  VE's posterior of every cause, on random evidence (each variable answered with
  probability 0.3, fixed seed);
- next: ``Model.ask_next`` over every unasked question, with the gains and
  P(level rises) checked, and the order, against the same computed with VE;
- batch: ``twitchcause.batch.run_batch`` from a CSV file to a CSV file, end to
  end (reading, coding, posteriors, escalation, writing), in cases per CPU-second
  and against VE per case (and Parquet to Parquet when pyarrow is installed);
- cli cold start: ``twitchcause infer ... --json`` against ``python -c "import
  numpy"``, both as whole processes, in turn, after a warm-up run of each;
- the dashboard and the JSON API under load: ``benchmarks/load.py``, run as a
  subprocess when present (its last line is appended).

Run with ``make bench``; the last line sums it up::

    single_x=.. next_x=.. batch_x=.. batch_cases_per_cpu_s=.. cli_cold_vs_numpy=.. api_repeat_vs_healthz=..
    api_unique_vs_healthz=.. api_unique_lean_vs_healthz=.. dash_repeat_vs_healthz=.. dash_unique_vs_healthz=..
    dash_floor_vs_healthz=.. api_unique_p99_ms=..
"""

from __future__ import annotations

import os

for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS"):
    os.environ[_name] = "1"

import argparse  # noqa: E402
import csv  # noqa: E402
import re  # noqa: E402
import resource  # noqa: E402
import shutil  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from contextlib import nullcontext  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

import twitchcause  # noqa: E402
from twitchcause.batch import run_batch  # noqa: E402
from twitchcause.model.ask_next import red_flag_variables, summed_entropy  # noqa: E402
from twitchcause.model.escalation import compiled_rules  # noqa: E402

HERE = Path(__file__).resolve().parent
LOAD_SCRIPT = HERE / "load.py"
LOAD_FIELDS = (
    "api_repeat_vs_healthz",
    "api_unique_vs_healthz",
    "api_unique_lean_vs_healthz",
    "dash_repeat_vs_healthz",
    "dash_unique_vs_healthz",
    "dash_floor_vs_healthz",
    "api_unique_p99_ms",
)
TOLERANCE = 1e-9
TARGETS = {"single_us": 60, "next_ms": 2.0, "next_x": 250, "cli_cold_vs_numpy": 2.5}


def one_blas_thread():
    """Hold BLAS to one thread even when numpy was imported before this module set the environment."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return nullcontext()
    return threadpool_limits(limits=1)


def random_evidence(m, rng: np.random.Generator, share_observed: float) -> dict[str, str]:
    return {name: str(rng.choice(v.states)) for name, v in m.variables.items() if rng.random() < share_observed}


def seconds_per_call(function, cases, repeat: int) -> float:
    """Median over ``repeat`` passes of the CPU time per case."""
    times = []
    for _ in range(repeat):
        start = time.process_time()
        for case in cases:
            function(case)
        times.append((time.process_time() - start) / len(cases))
    return statistics.median(times)


class VariableEliminationSide:
    """The same questions answered with pgmpy's VariableElimination."""

    def __init__(self, m):
        from pgmpy.inference import VariableElimination

        self.m = m
        self.ve = VariableElimination(m.network)

    def posterior(self, evidence) -> list[float]:
        factors = self.ve.query(list(self.m.causes), evidence=evidence, joint=False, show_progress=False)
        return [float(factors[c].get_value(**{c: "yes"})) for c in self.m.causes]

    def ask_next(self, evidence) -> list[tuple[str, float, float, bool]]:
        """(variable, information gain, P(level rises), red flag) for every unasked variable, ranked."""
        priors = self.m.priors
        now = self.posterior(evidence)
        rank_now = compiled_rules(priors).rank(evidence, dict(zip(self.m.causes, now)))
        flags = set(red_flag_variables(priors))
        out = []
        for name, variable in self.m.variables.items():
            if name in evidence:
                continue
            answer = self.ve.query([name], evidence=evidence, show_progress=False)
            gain, rises = float(summed_entropy(np.array(now))), 0.0
            for state in variable.states:
                p = float(answer.get_value(**{name: state}))
                if p <= 0:
                    continue
                after = self.posterior({**evidence, name: state})
                gain -= p * float(summed_entropy(np.array(after)))
                if compiled_rules(priors).rank({**evidence, name: state}, dict(zip(self.m.causes, after))) > rank_now:
                    rises += p
            out.append((name, max(gain, 0.0), min(rises, 1.0), name in flags))
        out.sort(key=lambda q: (not q[3], -q[1], q[0]))
        return out


def check(name: str, ours, theirs, tolerance: float = TOLERANCE) -> None:
    """Stop the run when the two sides disagree."""
    ours, theirs = np.asarray(ours, dtype=float), np.asarray(theirs, dtype=float)
    if ours.shape != theirs.shape or not np.allclose(ours, theirs, atol=tolerance, rtol=0):
        raise SystemExit(f"benchmark stopped: {name} disagrees with the reference")


def check_ask_next(m, ve: VariableEliminationSide, evidence) -> None:
    """Same questions, gains and P(level rises) as VE, in an order VE's figures agree with."""
    ours = m.ask_next(evidence)
    theirs = {q[0]: q for q in ve.ask_next(evidence)}
    if sorted(q.variable for q in ours) != sorted(theirs):
        raise SystemExit("benchmark stopped: ask-next lists other questions than the reference")
    check("ask-next's information gain", [q.information_gain for q in ours], [theirs[q.variable][1] for q in ours])
    check("ask-next's P(level rises)", [q.p_escalation_rises for q in ours], [theirs[q.variable][2] for q in ours])
    keys = [(not theirs[q.variable][3], -theirs[q.variable][1]) for q in ours]
    for (flag_a, gain_a), (flag_b, gain_b) in zip(keys, keys[1:]):
        if flag_a > flag_b or (flag_a == flag_b and gain_a > gain_b + TOLERANCE):
            raise SystemExit("benchmark stopped: ask-next's order disagrees with the reference")


def write_cases(path: Path, m, cases: list[dict[str, str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(list(m.variables))
        writer.writerows([case.get(name, "") for name in m.variables] for case in cases)


def time_batch(m, source: Path, target: Path) -> float:
    """CPU seconds of one run of the batch, file to file."""
    start = time.process_time()
    run_batch(m, source, target, progress=False)
    return time.process_time() - start


def check_batch_output(m, ve: VariableEliminationSide, target: Path, cases, rows: int = 10) -> None:
    import pandas as pd

    frame = pd.read_parquet(target) if target.suffix == ".parquet" else pd.read_csv(target, nrows=rows)
    ours = frame[[f"posterior_{c}" for c in m.causes]].to_numpy()[:rows]
    check(f"the batch posterior ({target.suffix})", ours, [ve.posterior(case) for case in cases[:rows]])


def minor_faults_per_call(function, case, calls: int) -> float:
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(calls):
        function(case)
    return (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / calls


def whole_process_seconds(args: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(args, check=True, capture_output=True)
    return time.perf_counter() - start


def cli_cold_start(runs: int) -> tuple[float, float]:
    """Median wall seconds of ``twitchcause infer ... --json`` and of ``python -c "import numpy"``, run in turn."""
    command = shutil.which("twitchcause") or str(Path(sys.executable).with_name("twitchcause"))
    infer = [command, "infer", "caffeine_intake=high", "sleep=short", "twitch_site=calf", "--json"]
    numpy_only = [sys.executable, "-c", "import numpy"]
    whole_process_seconds(infer)  # warms the engine cache and the OS file cache
    whole_process_seconds(numpy_only)
    ours, reference = [], []
    for _ in range(runs):
        ours.append(whole_process_seconds(infer))
        reference.append(whole_process_seconds(numpy_only))
    return statistics.median(ours), statistics.median(reference)


def load_figures(seconds: int) -> dict[str, str]:
    """The last line of ``benchmarks/load.py`` as fields, or ``n/a`` for each when it is missing or fails."""
    missing = dict.fromkeys(LOAD_FIELDS, "n/a")
    if not LOAD_SCRIPT.exists():
        return missing
    try:
        done = subprocess.run(
            [sys.executable, str(LOAD_SCRIPT), "--seconds", str(seconds)],
            capture_output=True,
            text=True,
            timeout=60 * 15,
        )
    except subprocess.TimeoutExpired:
        print("load: timed out", file=sys.stderr)
        return missing
    print(done.stdout, end="")
    lines = done.stdout.strip().splitlines()
    found = dict(re.findall(r"(\w+)=(\S+)", lines[-1])) if lines else {}
    if done.returncode != 0 or not all(field in found for field in LOAD_FIELDS):
        print(f"load: no figures (exit {done.returncode}): {done.stderr.strip()[-500:]}", file=sys.stderr)
        return missing
    return {field: found[field] for field in LOAD_FIELDS}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=200, help="random cases for single queries")
    parser.add_argument("--batch", type=int, default=20_000, help="rows in the batch file")
    parser.add_argument("--seed", type=int, default=20261121)
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (for a smoke run)")
    parser.add_argument("--no-load", action="store_true", help="skip benchmarks/load.py (its fields read n/a)")
    parser.add_argument("--load-seconds", type=int, default=10, help="per load scenario")
    args = parser.parse_args(argv)
    repeat = 3 if args.quick else 7
    rng = np.random.default_rng(args.seed)
    warnings.filterwarnings("ignore")

    with one_blas_thread():
        m = twitchcause.load()
        ve = VariableEliminationSide(m)
        cases = [random_evidence(m, rng, 0.3) for _ in range(args.cases)]
        for case in cases[:20]:
            result = m.infer(case)
            check("the single posterior", [result.posterior[c] for c in m.causes], ve.posterior(case))
        for case in cases[:2] if args.quick else cases[:3]:
            check_ask_next(m, ve, case)

        rows = []
        single = seconds_per_call(m.infer, cases, repeat)
        single_ve = seconds_per_call(ve.posterior, cases[:40], max(1, repeat // 3))
        rows.append(("one case: infer (escalation included)", single, single_ve))

        next_cases = cases[:30]
        for case in next_cases:
            m.ask_next(case)  # every block expanded once
        ask = seconds_per_call(m.ask_next, next_cases, repeat)
        ask_ve = seconds_per_call(ve.ask_next, next_cases[:2], 1)
        rows.append(("ask-next, every unasked question", ask, ask_ve))
        faults = minor_faults_per_call(m.ask_next, next_cases[0], 50)

        batch_cases = [random_evidence(m, rng, 0.3) for _ in range(args.batch)]
        with tempfile.TemporaryDirectory() as folder:
            source, target = Path(folder) / "cases.csv", Path(folder) / "out.csv"
            write_cases(source, m, batch_cases)
            run_batch(m, source, target, progress=False)  # the same work once before timing
            check_batch_output(m, ve, target, batch_cases)
            batch_cpu = statistics.median(time_batch(m, source, target) for _ in range(max(1, repeat // 3)))
            rows.append((f"batch CSV -> CSV, {args.batch:,} rows, per row", batch_cpu / args.batch, single_ve))
            parquet_cpu = None
            try:
                import pandas as pd
                import pyarrow  # noqa: F401
            except ImportError:
                pass
            else:
                pq_source, pq_target = Path(folder) / "cases.parquet", Path(folder) / "out.parquet"
                pd.read_csv(source, dtype=str, keep_default_na=False).to_parquet(pq_source)
                run_batch(m, pq_source, pq_target, progress=False)
                check_batch_output(m, ve, pq_target, batch_cases)
                parquet_cpu = statistics.median(time_batch(m, pq_source, pq_target) for _ in range(max(1, repeat // 3)))
                rows.append(("batch Parquet -> Parquet, per row", parquet_cpu / args.batch, single_ve))
    cold, numpy_cold = cli_cold_start(3 if args.quick else 7)

    print(f"{'measure (CPU time, one BLAS thread)':<44} {'ours':>12} {'VE':>12} {'ratio':>8}")
    for name, ours, theirs in rows:
        print(f"{name:<44} {ours * 1e3:>9.4f} ms {theirs * 1e3:>9.3f} ms {theirs / ours:>7.0f}x")
    print(f"{'  minor page faults per ask-next call':<44} {faults:>12.1f}")
    print(f"{'  batch cases per CPU-second (CSV)':<44} {args.batch / batch_cpu:>12,.0f}")
    if parquet_cpu is not None:
        print(f"{'  batch cases per CPU-second (Parquet)':<44} {args.batch / parquet_cpu:>12,.0f}")
    print(
        f"{'twitchcause infer --json, whole process':<44} {cold:>10.3f} s {numpy_cold:>10.3f} s "
        f"(python -c 'import numpy') {cold / numpy_cold:>5.2f}x"
    )
    print(
        f"targets: infer <= {TARGETS['single_us']} us; "
        f"ask-next <= {TARGETS['next_ms']} ms and >= {TARGETS['next_x']}x VE; "
        f"cold start <= {TARGETS['cli_cold_vs_numpy']}x numpy's"
    )
    load = dict.fromkeys(LOAD_FIELDS, "n/a") if args.no_load else load_figures(args.load_seconds)
    summary = (
        f"single_x={single_ve / single:.0f} next_x={ask_ve / ask:.0f} batch_x={single_ve * args.batch / batch_cpu:.0f} "
        f"batch_cases_per_cpu_s={args.batch / batch_cpu:.0f} cli_cold_vs_numpy={cold / numpy_cold:.2f} "
    )
    print(summary + " ".join(f"{field}={load[field]}" for field in LOAD_FIELDS))
    return 0


if __name__ == "__main__":
    sys.exit(main())
