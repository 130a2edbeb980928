"""How the posteriors and the escalation respond to each prior, swept across its band.

Every number written in ``priors/`` is moved, one at a time, to the low and
the high end of a band, and a set of cases is re-run:

* a word of the verbal scale moves across that word's ``band`` in
  ``scale.yaml`` (the plausible range of its Mosteller & Youtz anchor);
* an explicit ``p`` has no band of its own: its odds are divided and
  multiplied by :data:`ODDS_FACTOR` (a documented relative band that stays
  inside (0, 1));
* when a swept state shares its distribution with a ``rest`` state, the rest
  absorbs the change; a band end that would leave the rest below
  :data:`MIN_REST` stops there and the swing is marked ``capped``.

A change moves exactly one node's table, so :class:`Sweep` asks the engine for
itself with that one table replaced (:meth:`Engine.with_table` recompiles only
the node's block, a few milliseconds): the full sweep of every prior over a
set of cases takes seconds.

Examples
--------
>>> from twitchcause.priors import load_priors
>>> p = load_priors()
>>> sweep = Sweep(p, {"coffee": {"caffeine_intake": "high"}})
>>> table = sweep.run(swings(p)[:4])
>>> sorted(table.side.unique())
['high', 'low']
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from twitchcause.priors import Number, Priors, iter_entries, rebalance, tune_number

from .engine import compile_factors
from .escalation import escalate
from .evidence import parse_evidence
from .network import factors as node_factors
from .network import node_table, node_tables

ODDS_FACTOR = 2.0
MIN_REST = 1e-3
SIDES = ("low", "high")
WHY = "sensitivity sweep"


@dataclass(frozen=True)
class Swing:
    """One written number and the band it is swept across."""

    key: str
    path: str
    value: float
    low: float
    high: float
    word: str | None
    capped: bool

    @property
    def name(self) -> str:
        """``"file: entry path"``, as :func:`priors.numbers_of` names numbers."""
        return f"{self.key}: {self.path}"

    @property
    def node(self) -> str | None:
        """The network node whose table holds the number (None for an escalation threshold)."""
        return None if self.key == "escalation" else self.path.split(" -> ")[0]


def _odds_band(p: float, factor: float) -> tuple[float, float]:
    odds = p / (1.0 - p)
    return (odds / factor) / (1 + odds / factor), (odds * factor) / (1 + odds * factor)


def _room(priors: Priors, key: str, path: str) -> float | None:
    """Most a state may take while each derived state of its distribution keeps :data:`MIN_REST`; None if none.

    A ``rest`` state takes all that is left; ``background`` states share it in fixed proportions, so the
    smallest of them sets the room.
    """
    parts = path.split(" -> ")
    if key == "context":
        numbers = priors.context[parts[0]]
    elif key == "findings":
        spec = priors.findings[parts[0]]
        numbers = spec.leak if parts[1] == "leak" else spec.causes[parts[1]]
    else:
        return None
    if all(n.entry is not None for n in numbers.values()):
        return None
    others = sum(n.value for s, n in numbers.items() if n.entry is not None and s != parts[-1])
    derived = [n.value for n in numbers.values() if n.entry is None]
    smallest_share = min(derived) / sum(derived)
    return 1.0 - others - MIN_REST / smallest_share


def swings(priors: Priors, odds_factor: float = ODDS_FACTOR) -> list[Swing]:
    """Every written number of ``priors`` with the band it is swept across.

    Parameters
    ----------
    priors : Priors
    odds_factor : float
        The relative band of an explicit ``p``: odds divided and multiplied by it.

    Returns
    -------
    list of Swing
        In the order of :func:`priors.iter_entries`.
    """
    out = []
    words = priors.scale.words
    for name, entry in iter_entries(priors):
        key, path = name.file, name.path
        if entry.word is not None:
            value, (low, high) = words[entry.word].p, words[entry.word].band
        else:
            value, (low, high) = entry.p, _odds_band(entry.p, odds_factor)
        room = _room(priors, key, path)
        capped = room is not None and high > room
        out.append(Swing(key, path, value, low, min(high, room) if capped else high, entry.word, capped))
    return out


def _rebalanced(
    numbers: Mapping[str, Number], state: str, value: float, leak: Mapping[str, Number] | None = None
) -> dict[str, Number]:
    """A distribution with ``state`` set to ``value`` and its derived states recomputed (see ``priors.rebalance``)."""
    return rebalance({s: (Number(value, n.entry) if s == state else n) for s, n in numbers.items()}, leak)


def with_value(priors: Priors, key: str, path: str, value: float) -> Priors:
    """``priors`` with one written number set to ``value``, its ``rest`` state absorbing the change.

    A fast what-if for sweeps: only the resolved number changes (the entry
    keeps its word and grounds, and the folder is not re-validated), so the
    result is for computing, not for saving; use :func:`priors.tune_number`
    to make a change to keep. An escalation threshold goes through
    ``tune_number``, as thresholds are read from the files.
    """
    parts = path.split(" -> ")
    if key == "context":
        return replace(
            priors, context={**priors.context, parts[0]: _rebalanced(priors.context[parts[0]], parts[1], value)}
        )
    if key == "causes":
        spec = priors.cause_priors[parts[0]]
        if parts[1] == "leak":
            spec = replace(spec, leak=Number(value, spec.leak.entry))
        else:
            links = dict(spec.links)
            links[parts[1]] = {**links[parts[1]], parts[2]: Number(value, links[parts[1]][parts[2]].entry)}
            spec = replace(spec, links=links)
        return replace(priors, cause_priors={**priors.cause_priors, parts[0]: spec})
    if key == "findings":
        spec = priors.findings[parts[0]]
        if parts[1] == "leak":
            leak = _rebalanced(spec.leak, parts[2], value)
            causes = {cause: rebalance(dict(numbers), leak) for cause, numbers in spec.causes.items()}
            spec = replace(spec, leak=leak, causes=causes)
        else:
            row = _rebalanced(spec.causes[parts[1]], parts[2], value, spec.leak)
            spec = replace(spec, causes={**spec.causes, parts[1]: row})
        return replace(priors, findings={**priors.findings, parts[0]: spec})
    return tune_number(priors, key, path, value, why=WHY)


class Sweep:
    """A set of cases re-run with one prior changed at a time.

    Parameters
    ----------
    priors : Priors
        The priors every swing starts from.
    cases : mapping of str to mapping
        ``{case name: evidence}``; evidence in the vocabulary's words.

    Raises
    ------
    EvidenceError
        For a case with a variable or state outside the vocabulary.
    """

    def __init__(self, priors: Priors, cases: Mapping[str, Mapping[str, str]]):
        self.priors = priors
        self.causes = tuple(priors.causes)
        self.states = {name: v.states for name, v in priors.variables.items()}
        self.case_names = list(cases)
        self.cases = [parse_evidence(evidence, priors.variables) for evidence in cases.values()]
        self.engine = compile_factors(node_factors(node_tables(priors)), self.causes, self.states)
        self.codes = np.array([self.engine.encode(case) for case in self.cases]).reshape(len(self.cases), -1)
        self.base = self.outcome(self.engine.posterior_codes(self.codes), priors)

    def posteriors_with(self, priors: Priors, node: str | None) -> np.ndarray:
        """Posteriors (cases x causes) under ``priors``, which differ from the sweep's only in ``node``.

        Only that node's block is recompiled (see :meth:`Engine.with_table`),
        so this takes a few milliseconds.
        """
        if node is None:
            return self.base[0]
        return self.engine.with_table(node, node_table(priors, node).values).posterior_codes(self.codes)

    def outcome(self, posteriors: np.ndarray, priors: Priors) -> tuple[np.ndarray, list[str], list[str]]:
        """Posteriors (cases x causes), escalation level and top cause of every case."""
        levels = [
            escalate(priors, case, dict(zip(self.causes, row))).level
            for case, row in zip(self.cases, posteriors.tolist())
        ]
        tops = [self.causes[i] for i in posteriors.argmax(axis=1)]
        return posteriors, levels, tops

    def run(self, swings: Sequence[Swing], progress: Callable[[Iterable], Iterable] | None = None) -> pd.DataFrame:
        """Every swing at both ends of its band, on every case.

        Parameters
        ----------
        swings : sequence of Swing
            For instance :func:`swings` of the sweep's priors.
        progress : callable, optional
            Wraps the iteration over swings, e.g. ``tqdm.tqdm``.

        Returns
        -------
        pandas.DataFrame
            One row per swing, side (``low``/``high``) and case: ``entry``, ``key``,
            ``path``, ``word``, ``value``, ``side``, ``swept``, ``capped``, ``case``,
            ``top``, ``level``, ``top_changed``, ``level_changed``, ``max_shift``
            (largest absolute posterior change over the causes) and one
            ``posterior_<cause>`` column per cause.
        """
        base_post, base_levels, base_tops = self.base
        rows, posteriors = [], []
        for swing in progress(swings) if progress else swings:
            for side in SIDES:
                swept = swing.low if side == "low" else swing.high
                changed = with_value(self.priors, swing.key, swing.path, swept)
                post, levels, tops = self.outcome(self.posteriors_with(changed, swing.node), changed)
                shifts = np.abs(post - base_post).max(axis=1)
                for i, name in enumerate(self.case_names):
                    rows.append(
                        (
                            swing.name,
                            swing.key,
                            swing.path,
                            swing.word,
                            swing.value,
                            side,
                            swept,
                            swing.capped,
                            name,
                            tops[i],
                            levels[i],
                            tops[i] != base_tops[i],
                            levels[i] != base_levels[i],
                            float(shifts[i]),
                        )
                    )
                posteriors.append(post)
        columns = [
            "entry",
            "key",
            "path",
            "word",
            "value",
            "side",
            "swept",
            "capped",
            "case",
            "top",
            "level",
            "top_changed",
            "level_changed",
            "max_shift",
        ]
        table = pd.DataFrame(rows, columns=columns)
        if posteriors:
            stacked = np.vstack(posteriors)
            for j, cause in enumerate(self.causes):
                table[f"posterior_{cause}"] = stacked[:, j]
        return table

    def baseline(self) -> pd.DataFrame:
        """The cases under the sweep's priors: top cause, level and posteriors."""
        post, levels, tops = self.base
        table = pd.DataFrame({"case": self.case_names, "top": tops, "level": levels})
        for j, cause in enumerate(self.causes):
            table[f"posterior_{cause}"] = post[:, j]
        return table


def hinges(table: pd.DataFrame) -> pd.DataFrame:
    """Rank the priors by how much the results of the cases hinge on them.

    A prior ranks first by how many (case, band end) pairs change a decision
    (the top cause or the escalation level), then by the sum over cases of
    the largest posterior shift at either end of its band.

    Parameters
    ----------
    table : pandas.DataFrame
        The result of :meth:`Sweep.run`.

    Returns
    -------
    pandas.DataFrame
        One row per prior, most decisive first: ``entry``, ``word``, ``value``,
        ``low``, ``high``, ``top_changes``, ``level_changes``, ``decisions``,
        ``shift`` (summed largest posterior shift) and ``cases_moved`` (cases
        whose largest shift exceeds 0.05).
    """
    per_case = table.groupby(["entry", "case"], sort=False).agg(
        top_changes=("top_changed", "sum"), level_changes=("level_changed", "sum"), shift=("max_shift", "max")
    )
    per_case["moved"] = per_case["shift"] > 0.05
    ranked = per_case.groupby(level="entry", sort=False).agg(
        top_changes=("top_changes", "sum"),
        level_changes=("level_changes", "sum"),
        shift=("shift", "sum"),
        cases_moved=("moved", "sum"),
    )
    bands = table.pivot_table(index="entry", columns="side", values="swept", aggfunc="first")
    info = table.groupby("entry", sort=False)[["word", "value"]].first()
    ranked = ranked.join(info).join(bands.rename(columns={"low": "low", "high": "high"}))
    ranked["decisions"] = ranked["top_changes"] + ranked["level_changes"]
    ranked = ranked.sort_values(["decisions", "shift"], ascending=False).reset_index()
    return ranked[
        ["entry", "word", "value", "low", "high", "top_changes", "level_changes", "decisions", "shift", "cases_moved"]
    ]


__all__ = ["MIN_REST", "ODDS_FACTOR", "Sweep", "Swing", "hinges", "swings", "with_value"]
