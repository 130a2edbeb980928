"""Speed of the compiled engine against pgmpy (and pyAgrum when installed), in one run.

Both sides get the same random evidence; figures are medians over repetitions,
and every speed is also given as a ratio to pgmpy's VariableElimination in the
same run, so the figures travel between machines. Run with ``make bench``.
The last line sums it up:

    single_x=.. next_x=.. batch_x=.. batch_cases_per_s=.. cli_cold_s=..
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np

warnings.filterwarnings("ignore")

from twitchcause import model  # noqa: E402
from twitchcause.model.ask_next import summed_entropy  # noqa: E402

TARGETS = {
    "single_ms": 0.1,
    "single_x": 20,
    "agrum_x": 30,
    "next_ms": 5.0,
    "next_x": 50,
    "batch_x": 50,
    "cli_cold_s": 0.5,
}


def random_evidence(m: model.Model, rng: np.random.Generator, share_observed: float) -> dict[str, str]:
    return {name: str(rng.choice(v.states)) for name, v in m.variables.items() if rng.random() < share_observed}


def median_seconds(function, cases, repeat: int) -> float:
    """Median over ``repeat`` passes of the mean time per case."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        for case in cases:
            function(case)
        times.append((time.perf_counter() - start) / len(cases))
    return statistics.median(times)


class VariableEliminationSide:
    """The same questions answered with pgmpy's VariableElimination."""

    def __init__(self, m: model.Model):
        from pgmpy.inference import VariableElimination

        self.m = m
        self.ve = VariableElimination(m.network)

    def posterior(self, evidence):
        factors = self.ve.query(list(self.m.causes), evidence=evidence, joint=False, show_progress=False)
        return [factors[c].get_value(**{c: "yes"}) for c in self.m.causes]

    def ask_next(self, evidence):
        now = summed_entropy(np.array(self.posterior(evidence)))
        gains = {}
        for name, variable in self.m.variables.items():
            if name in evidence:
                continue
            answer = self.ve.query([name], evidence=evidence, show_progress=False)
            after = sum(
                answer.get_value(**{name: s}) * summed_entropy(np.array(self.posterior({**evidence, name: s})))
                for s in variable.states
            )
            gains[name] = now - after
        return gains


class AgrumSide:
    """pyAgrum's LazyPropagation on the same network (optional extra)."""

    def __init__(self, m: model.Model):
        import pyagrum as gum

        self.m = m
        bn = gum.BayesNet("twitchcause")
        for node in m.network.nodes():
            states = m.network.get_cpds(node).state_names[node]
            bn.add(gum.LabelizedVariable(node, node, [str(s) for s in states]))
        for parent, child in m.network.edges():
            bn.addArc(parent, child)
        for cpd in m.network.get_cpds():
            potential = bn.cpt(cpd.variable)
            order = [list(cpd.variables).index(name) for name in reversed(potential.names)]
            potential.fillWith(np.transpose(cpd.values, order).flatten().tolist())
        self.bn = bn
        self.engine = gum.LazyPropagation(bn)

    def posterior(self, evidence):
        self.engine.setEvidence(evidence)
        self.engine.makeInference()
        return [self.engine.posterior(c)[1] for c in self.m.causes]


def check_agreement(name: str, ours, theirs, tolerance: float = 1e-9) -> None:
    """Stop the run when the two sides disagree: a speed-up of wrong answers means nothing."""
    ours, theirs = np.asarray(ours, dtype=float), np.asarray(theirs, dtype=float)
    if ours.shape != theirs.shape or not np.allclose(ours, theirs, atol=tolerance, rtol=0):
        raise SystemExit(f"benchmark stopped: {name} disagrees with the reference")


def cli_cold_start(repeat: int) -> float:
    command = shutil.which("twitchcause") or str(Path(sys.executable).with_name("twitchcause"))
    args = [command, "infer", "caffeine_intake=high", "sleep=short", "twitch_site=calf", "--json"]
    subprocess.run(args, check=True, capture_output=True)  # warms the engine cache and the OS file cache
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(args, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=200, help="random cases for single queries")
    parser.add_argument("--batch", type=int, default=10_000, help="cases in the batch")
    parser.add_argument("--seed", type=int, default=20261121)
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (for a smoke run)")
    args = parser.parse_args(argv)
    repeat = 3 if args.quick else 7
    rng = np.random.default_rng(args.seed)

    m = model.load()
    engine = m.engine
    ve = VariableEliminationSide(m)
    cases = [random_evidence(m, rng, 0.3) for _ in range(args.cases)]
    for case in cases[:20]:  # same answers before timing anything
        check_agreement("the single posterior", [m.posterior(case)[c] for c in m.causes], ve.posterior(case))
    gains = ve.ask_next(cases[0])
    ours = {q.variable: q.information_gain for q in m.ask_next(cases[0])}
    check_agreement("ask-next", [ours[v] for v in gains], list(gains.values()))

    rows = []
    single = median_seconds(m.posterior, cases, repeat)
    single_ve = median_seconds(ve.posterior, cases[:50], max(1, repeat // 2))
    rows.append(("all-cause posterior, one case", single, single_ve))
    agrum_x = None
    try:
        agrum = AgrumSide(m)
    except ImportError:
        agrum = None
    if agrum is not None:
        check_agreement("pyAgrum's posterior", agrum.posterior(cases[0]), ve.posterior(cases[0]))
        single_agrum = median_seconds(agrum.posterior, cases, repeat)
        agrum_x = single_agrum / single
        rows.append(("  pyAgrum LazyPropagation, one case", single, single_agrum))

    next_cases = cases[:30]
    ask = median_seconds(m.ask_next, next_cases, repeat)
    ask_ve = median_seconds(ve.ask_next, next_cases[:3], 1)
    rows.append(("ask-next over every unasked variable", ask, ask_ve))

    batch_cases = [random_evidence(m, rng, 0.3) for _ in range(args.batch)]
    codes = np.array([engine.encode(case) for case in batch_cases])
    check_agreement(
        "the batch posterior", engine.posterior_codes(codes[:10]), [ve.posterior(case) for case in batch_cases[:10]]
    )
    batch_times = []
    for _ in range(max(1, repeat // 2)):
        start = time.perf_counter()
        engine.posterior_codes(codes)
        batch_times.append(time.perf_counter() - start)
    batch_per_case = statistics.median(batch_times) / len(codes)
    rows.append((f"batch of {len(codes):,} cases, per case", batch_per_case, single_ve))
    cold = cli_cold_start(3 if args.quick else 5)

    print(f"{'measure':<42} {'engine':>12} {'reference':>12} {'ratio':>8}")
    for name, ours, theirs in rows:
        print(f"{name:<42} {ours * 1e3:>9.3f} ms {theirs * 1e3:>9.3f} ms {theirs / ours:>7.0f}x")
    print(f"{'twitchcause infer --json, cold start':<42} {cold:>10.3f} s")
    print(
        f"targets: single <= {TARGETS['single_ms']} ms and >= {TARGETS['single_x']}x VE, "
        f">= {TARGETS['agrum_x']}x pyAgrum; next <= {TARGETS['next_ms']} ms and >= {TARGETS['next_x']}x; "
        f"batch >= {TARGETS['batch_x']}x; cold start <= {TARGETS['cli_cold_s']} s"
    )
    summary = (
        f"single_x={single_ve / single:.0f} next_x={ask_ve / ask:.0f} batch_x={single_ve / batch_per_case:.0f} "
        f"batch_cases_per_s={1 / batch_per_case:.0f} cli_cold_s={cold:.2f}"
    )
    if agrum_x is not None:
        summary += f" agrum_x={agrum_x:.0f}"
    print(summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
