"""Speed of the follow-up inference against pgmpy's VariableElimination on the unrolled network, in one run.

Each diary's drivers are checked against pgmpy before anything is timed. The
figures: the exact follow-up inference on diaries of two check-ins against VE
on the same diaries unrolled (:mod:`twitchcause.model.followup_reference`), as
a ratio measured in the same run; and how many seven-check-in diaries a second
``Model.follow_up`` reads in full (drivers, intervals, what helped, what next,
the level) and the drivers alone (as notebook 6 does).

Run with ``python benchmarks/followup.py``; the last line sums it up::

    followup_vs_ve_x=.. diaries_per_s=.. drivers_only_per_s=..
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import twitchcause
from twitchcause.model import followup
from twitchcause.model.followup_reference import reference_drivers

TOLERANCE = 1e-9


def drivers(m, diary) -> np.ndarray:
    return followup.driver_marginals(m, followup.plan(m.priors, m.engine, followup.parse_diary(m, diary)))[:-1]


def per_second(function, items) -> float:
    start = time.perf_counter()
    for item in items:
        function(item)
    return len(items) / (time.perf_counter() - start)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--diaries", type=int, default=200, help="seven-check-in diaries to read")
    parser.add_argument("--reference", type=int, default=6, help="two-check-in diaries checked and timed against VE")
    args = parser.parse_args(argv)
    m = twitchcause.load()
    _ = m.engine, m.ensemble
    rng = np.random.default_rng(20261202)
    short = [diary[:2] for _, diary in followup.simulate(m, args.reference, 2, rng)]
    for diary in short:  # keep the few answers a person would give; VE's time grows with every finding
        diary[0]["answers"] = dict(list(diary[0]["answers"].items())[:8])
    for diary in short:
        ours, theirs = drivers(m, diary), reference_drivers(m, diary)
        gap = max(abs(a - theirs[c]) for a, c in zip(ours, m.causes))
        if gap > TOLERANCE:
            raise SystemExit(f"follow-up disagrees with VE by {gap:.2e} on {diary}")
    ve_rate = per_second(lambda d: reference_drivers(m, d), short)
    ours_rate = per_second(lambda d: drivers(m, d), short * 20)
    long = [diary for _, diary in followup.simulate(m, args.diaries, 7, rng)]
    full_rate = per_second(m.follow_up, long)
    drivers_rate = per_second(
        lambda d: followup.driver_marginals_by_check_in(
            m, followup.plan(m.priors, m.engine, followup.parse_diary(m, d))
        ),
        long,
    )
    print(f"two check-ins: {1e3 / ours_rate:.2f} ms a diary, VE on the unrolled network {1e3 / ve_rate:.0f} ms")
    print(f"seven check-ins: follow_up {1e3 / full_rate:.1f} ms a diary, drivers alone {1e3 / drivers_rate:.1f} ms")
    summary = {"followup_vs_ve_x": ours_rate / ve_rate, "diaries_per_s": full_rate, "drivers_only_per_s": drivers_rate}
    print(" ".join(f"{name}={value:.0f}" for name, value in summary.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
