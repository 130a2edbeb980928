"""Uncertainty from the words: every posterior over random draws of the priors within their bands.

The documents give words, not numbers, and each word of the verbal scale has a
plausible band (``scale.yaml``). A *draw* gives every written number a value in
its band: a triangular distribution from the band's low end through the word's
value to its high end (an explicit ``p``, tuned or learned, has its odds
multiplied or divided by up to ``odds_factor``); states derived from the
others (``rest``, ``background``) follow. Each number is drawn on its own:
the same word in two sentences may mean a little more in one and a little less
in the other.

An :class:`Ensemble` holds one compiled engine per draw, stacked block by block,
and evaluates a case on all of them at once; a result's interval is the central
``level`` share of its posterior over the draws (``uncertainty.yaml``).
:func:`robustness` asks a coarser question of a set of cases: how often does each
keep its top cause and its top three when every number moves at random?

Examples
--------
>>> from twitchcause import model
>>> m = model.load()
>>> r = m.infer({"caffeine_intake": "high"})
>>> low, high = r.interval["caffeine"]
>>> bool(low < high), r.interval["caffeine"].holds_posterior
(True, True)
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np

from .engine import Engine, code_digest, deltas_of, prior_and_deltas
from .factored import halves, joint_index

if TYPE_CHECKING:
    from twitchcause.priors import Number, Priors

# The priors loader (pydantic, YAML) is imported by the functions that draw priors, not by Ensemble:
# a command-line query restores an ensemble and reads intervals without it (twitchcause.snapshot).

# A draw's joint sums to at least this in single precision (its factors scaled to a largest entry of 1),
# else the case is weighed in log space: far above the smallest normal float32 (1e-38).
SMALLEST_TOTAL = 1e-30


# -- drawing priors --------------------------------------------------------------------
@dataclass(frozen=True)
class Draw:
    """How numbers are drawn: within their word bands, or (``spread``) each moved by up to that share."""

    spread: float | None
    odds_factor: float
    min_derived: float


def _drawn(number: Number, priors: Priors, rng: np.random.Generator, how: Draw) -> float:
    if how.spread is not None:
        value = number.value * rng.uniform(1.0 - how.spread, 1.0 + how.spread)
    elif number.entry is not None and number.entry.word is not None:
        word = priors.scale.words[number.entry.word]
        value = rng.triangular(word.band[0], word.p, word.band[1])
    else:
        log_odds = np.log(number.value / (1.0 - number.value))
        shift = np.log(how.odds_factor)
        value = 1.0 / (1.0 + np.exp(-rng.triangular(log_odds - shift, log_odds, log_odds + shift)))
    return float(np.clip(value, how.min_derived, 1.0 - how.min_derived))


def _drawn_distribution(
    numbers: Mapping[str, Number], priors: Priors, rng: np.random.Generator, how: Draw, leak=None
) -> dict[str, Number]:
    """A distribution with its given states drawn and its derived states following them."""
    from twitchcause.priors import Number, rebalance

    given = {s: _drawn(n, priors, rng, how) for s, n in numbers.items() if n.derived is None}
    derived = len(numbers) - len(given)
    room = 1.0 - how.min_derived * derived if derived else 1.0
    total = sum(given.values())
    if total > room or not derived:  # a draw past the sum: shrink the given states to leave room
        given = {s: v * room / total for s, v in given.items()}
    drawn = {s: Number(given[s], n.entry) if s in given else n for s, n in numbers.items()}
    return rebalance(drawn, leak)


def resample(priors: Priors, rng: np.random.Generator, how: Draw) -> Priors:
    """``priors`` with every network number drawn anew (for computing, not for saving; not re-validated)."""
    from twitchcause.priors import Number

    context = {name: _drawn_distribution(numbers, priors, rng, how) for name, numbers in priors.context.items()}
    cause_priors = {
        cause: replace(
            spec,
            leak=Number(_drawn(spec.leak, priors, rng, how), spec.leak.entry),
            links={
                parent: {s: Number(_drawn(n, priors, rng, how), n.entry) for s, n in links.items()}
                for parent, links in spec.links.items()
            },
        )
        for cause, spec in priors.cause_priors.items()
    }
    findings = {}
    for name, spec in priors.findings.items():
        leak = _drawn_distribution(spec.leak, priors, rng, how)
        rows = {c: _drawn_distribution(numbers, priors, rng, how, leak) for c, numbers in spec.causes.items()}
        findings[name] = replace(spec, leak=leak, causes=rows)
    return replace(priors, context=context, cause_priors=cause_priors, findings=findings)


def draw_of(priors: Priors, spread: float | None = None) -> Draw:
    settings = priors.uncertainty
    return Draw(spread, settings.odds_factor.value, settings.min_derived.value)


def compiled(priors: Priors) -> Engine:
    from .network import compile_engine

    return compile_engine(priors)


# -- many engines at once --------------------------------------------------------------
class Ensemble:
    """One engine per draw of the priors, evaluated together.

    Parameters
    ----------
    engine : Engine
        The engine of the priors themselves: the draws share its structure
        (blocks, scopes, patterns), and it encodes the cases.
    tables : sequence of ndarray
        Per block, the draws' local tables stacked: ``(draws, patterns, 2**len(scope))``, log space.
    """

    def __init__(self, engine: Engine, tables: Sequence[np.ndarray]):
        self.engine = engine
        n = len(engine.causes)
        self._local = [block.local_index(n) for block in engine.blocks]
        self._unknown = np.array([block.patterns - 1 for block in engine.blocks])
        self.tables = [np.asarray(t, dtype=float) for t in tables]
        self.draws = self.tables[0].shape[0] if self.tables else 0
        # the engine's own reading of a block; the prior over the joint states, for the log-space way only,
        # waits for its first use (:attr:`_base`).
        # An interval needs a few digits, not sixteen: single precision halves the memory each case reads.
        self._deltas = [delta.astype(np.float32) for delta in deltas_of(self.tables)]
        # In probability space, the joint laid out as (half A, half B) of the causes: the batch's halves
        # (:func:`.factored.halves`), over which only three findings span both. A block within a half is, per
        # pattern, a factor over that half's states (its change from the all-unknown row, at most 1); the
        # all-unknown rows of the blocks within a half make that half's prior. A block over both halves is
        # its own row over its few causes. Every row is scaled to a largest entry of 1: a constant per draw,
        # which no posterior sees.
        self._a, self._b = halves([frozenset(block.scope) for block in engine.blocks], n)
        to_a, to_b = joint_index(self._a), joint_index(self._b)
        prior = {"a": np.ones((self.draws, len(to_a))), "b": np.ones((self.draws, len(to_b)))}
        self._layout: list[tuple[str, object]] = []
        for block, table, local in zip(engine.blocks, self.tables, self._local):
            on_a, on_b = local[to_a], local[to_b]  # the block's column from the causes of each half alone
            if set(block.scope) <= set(self._a) or set(block.scope) <= set(self._b):
                half, columns = ("a", on_a) if set(block.scope) <= set(self._a) else ("b", on_b)
                prior[half] *= np.exp(table[:, -1, :])[:, columns]
                self._layout.append((half, columns))
            else:
                self._layout.append(("both", _Spanning(table, on_a, on_b)))
        self._prior_a, self._prior_b = (_scaled(p).astype(np.float32) for p in prior.values())
        self._always = [b for b, (half, _) in enumerate(self._layout) if half == "both" and self.tables[b][:, -1].any()]
        self._ratios = [_scaled(np.exp(delta)) for delta in self._deltas]
        bits = lambda causes: (np.arange(2 ** len(causes))[:, None] >> np.arange(len(causes))) & 1  # noqa: E731
        self._presence_a, self._presence_b = bits(self._a).astype(np.float32), bits(self._b).astype(np.float32)
        self._laid_out: dict[tuple[int, int], np.ndarray] = {}  # see _factor

    @classmethod
    def build(cls, priors: Priors, engine: Engine, draws: int, seed: int, spread: float | None = None) -> Ensemble:
        """Draw ``draws`` priors (``seed`` fixed) and compile each; see :func:`resample`."""
        rng = np.random.default_rng(seed)
        how = draw_of(priors, spread)
        stacks: list[list[np.ndarray]] = [[] for _ in engine.blocks]
        for _ in range(draws):
            drawn = compiled(resample(priors, rng, how))
            for stack, block, reference in zip(stacks, drawn.blocks, engine.blocks):
                if (block.variables, block.scope) != (reference.variables, reference.scope):
                    raise ValueError("a drawn engine does not have the structure of the engine it varies")
                stack.append(block.table)
        return cls(engine, [np.stack(stack) for stack in stacks])

    def marginals(self, codes: np.ndarray) -> np.ndarray:
        """P(cause present) for each cause, then P(no listed cause), under every draw: ``(draws, causes + 1)``.

        Each draw's joint is ``a[i] b[j] S[i, j]``: ``a`` the prior of half A
        of the causes times the answered blocks within it (16 states), ``b``
        the same for half B (256), and ``S`` the product of the blocks over
        both halves that the case reads (often none, at most three). The joint
        is never formed for one such block: its sums over each half are taken
        on the block's own few causes; for two or more, ``S`` is laid over the
        joint and the sums are ``a * (S @ b)`` and ``b * (a @ S)``. A case whose
        product would underflow in single precision is weighed in log space.
        """
        patterns = self.engine.patterns(np.asarray(codes))
        a, b = self._prior_a.copy(), self._prior_b.copy()
        spanning = []
        for k in sorted({*np.flatnonzero(patterns != self._unknown).tolist(), *self._always}):
            half = self._layout[k][0]
            if half == "both":
                spanning.append((k, int(patterns[k])))
            else:
                (a if half == "a" else b)[...] *= self._factor(k, int(patterns[k]))
        a /= a.max(axis=1, keepdims=True)  # a largest entry of 1 per draw: long products stay in range
        b /= b.max(axis=1, keepdims=True)
        if not spanning:
            by_a, by_b = a * b.sum(axis=1, keepdims=True), b * a.sum(axis=1, keepdims=True)
            none = a[:, 0] * b[:, 0]
        elif len(spanning) == 1:
            k, pattern = spanning[0]
            by_a, by_b, none = self._layout[k][1].sums(pattern, a, b)
        else:
            joint = np.prod([self._factor(k, pattern) for k, pattern in spanning], axis=0)
            by_a = a * np.matmul(joint, b[:, :, None])[:, :, 0]
            by_b = b * np.matmul(a[:, None, :], joint)[:, 0, :]
            none = a[:, 0] * b[:, 0] * joint[:, 0, 0]
        total = by_a.sum(axis=1, keepdims=True)
        if not np.all(total > SMALLEST_TOTAL):
            return self._marginals_in_log_space(patterns)
        out = np.empty((self.draws, len(self.engine.causes) + 1))
        out[:, self._a] = by_a @ self._presence_a
        out[:, self._b] = by_b @ self._presence_b
        out[:, -1] = none  # every cause absent: state 0 of both halves
        return out / total

    def _factor(self, k: int, pattern: int) -> np.ndarray:
        """Block ``k``'s factor for row ``pattern`` over the states of its half, or over the joint
        ``(draws, 16, 256)`` for a block over both; laid out on first use and kept, as the engine keeps
        its expanded rows (64 kB a row of half B, 1 MB a row over the joint)."""
        found = self._laid_out.get((k, pattern))
        if found is None:
            half, columns = self._layout[k]
            if half == "both":
                found = columns.over_joint(pattern)
            else:
                found = np.ascontiguousarray(self._ratios[k][:, pattern, :][:, columns])
            self._laid_out[(k, pattern)] = found
        return found

    @cached_property
    def _base(self) -> np.ndarray:
        """The prior over the joint states of every draw, log space, single precision: read by the log-space
        way alone (a case that would underflow), so computed on its first use rather than at every start."""
        return prior_and_deltas(self.tables, self._local, len(self.engine.causes))[0].astype(np.float32)

    def _marginals_in_log_space(self, patterns: np.ndarray) -> np.ndarray:
        """:meth:`marginals` of a case whose weights would underflow: its rows summed in log space."""
        log_joint = self._base.copy()
        for b in np.flatnonzero(patterns != self._unknown).tolist():
            log_joint += self._deltas[b][:, patterns[b], :][:, self._local[b]]
        log_joint -= log_joint.max(axis=1, keepdims=True)
        weights = np.exp(log_joint, out=log_joint)
        readout = np.hstack([self.engine.presence, (np.arange(len(self.engine.base)) == 0)[:, None]])
        return (weights @ readout) / weights.sum(axis=1, keepdims=True)

    def interval(self, codes: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
        """The central ``level`` share of each cause's posterior (then of P(no listed cause)) over the draws.

        Quantiles by linear interpolation between order statistics (as ``np.quantile``'s default).
        """
        tail = (1.0 - level) / 2.0
        ordered = np.sort(self.marginals(codes), axis=0)
        last = len(ordered) - 1

        def at(q: float) -> np.ndarray:
            position = q * last
            below = int(np.floor(position))
            above = min(below + 1, last)
            return ordered[below] + (position - below) * (ordered[above] - ordered[below])

        return at(tail), at(1.0 - tail)

    def to_arrays(self) -> dict[str, np.ndarray]:
        """The draws' tables end to end, one array (an ``.npz`` member each cost its reading a zip entry and a
        header parse); their shapes are the engine's blocks' with the draws in front."""
        return {"draw_tables": np.concatenate([table.ravel() for table in self.tables]) if self.tables else np.zeros(0)}

    @classmethod
    def from_arrays(cls, engine: Engine, arrays: Mapping[str, np.ndarray]) -> Ensemble:
        flat = np.asarray(arrays["draw_tables"], dtype=float)
        per_draw = sum(block.table.size for block in engine.blocks)
        if flat.ndim != 1 or not per_draw or len(flat) % per_draw or not len(flat):
            raise ValueError("stored draws do not fit the engine")
        draws, tables, start = len(flat) // per_draw, [], 0
        for block in engine.blocks:
            stop = start + draws * block.table.size
            tables.append(flat[start:stop].reshape(draws, *block.table.shape))
            start = stop
        return cls(engine, tables)


def _scaled(values: np.ndarray) -> np.ndarray:
    """``values`` over their largest entry along the last axis (rows of zeros stay zeros), single precision."""
    largest = values.max(axis=-1, keepdims=True)
    return np.divide(values, largest, out=np.zeros_like(values), where=largest > 0).astype(np.float32)


class _Spanning:
    """A block over causes of both halves, in the draws: its rows over its own causes of each half."""

    def __init__(self, table: np.ndarray, on_a: np.ndarray, on_b: np.ndarray):
        # its local state is the OR of the columns the causes of each half give alone
        local_a, self.of_a = np.unique(on_a, return_inverse=True)
        local_b, self.of_b = np.unique(on_b, return_inverse=True)
        self.rows = _scaled(np.exp(table))[:, :, local_a[:, None] | local_b[None, :]]  # (draws, patterns, |a|, |b|)
        self.sum_a = (self.of_a[:, None] == np.arange(len(local_a))).astype(np.float32)  # (16, its states of A)
        self.sum_b = (self.of_b[:, None] == np.arange(len(local_b))).astype(np.float32)  # (256, its states of B)

    def sums(self, pattern: int, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The joint ``a[i] b[j] row[i, j]`` summed over half B, over half A, and its state 0, on its own causes."""
        row = self.rows[:, pattern]
        over_b = np.matmul(row, (b @ self.sum_b)[:, :, None])[:, :, 0]  # (draws, its states of A)
        over_a = np.matmul((a @ self.sum_a)[:, None, :], row)[:, 0, :]  # (draws, its states of B)
        return (
            a * over_b[:, self.of_a],
            b * over_a[:, self.of_b],
            a[:, 0] * b[:, 0] * row[:, self.of_a[0], self.of_b[0]],
        )

    def over_joint(self, pattern: int) -> np.ndarray:
        """Row ``pattern`` laid over the joint: ``(draws, 16, 256)``."""
        return np.ascontiguousarray(self.rows[:, pattern][:, self.of_a][:, :, self.of_b])


def ensemble_key(priors: Priors, engine_key: str) -> str:
    """A hash of what an ensemble is drawn from: the numbers, their words and bands, the settings,
    and the code that draws, compiles and reads them (:func:`~twitchcause.model.engine.code_digest`
    of this module and of the priors' loader, whose ``rebalance`` fills each drawn distribution)."""
    from twitchcause.priors import iter_entries

    code = code_digest(__name__, "twitchcause.priors.loader")
    digest = hashlib.sha256(f"{code}\0{engine_key}\0".encode())
    digest.update(priors.scale.model_dump_json().encode())
    digest.update(priors.uncertainty.model_dump_json().encode())
    digest.update(json.dumps([(str(name), entry.word, entry.p) for name, entry in iter_entries(priors)]).encode())
    return digest.hexdigest()


# -- how robust a set of cases is ------------------------------------------------------
@dataclass(frozen=True)
class Stability:
    """How often one case keeps its top cause and its top three over random draws of the priors."""

    case: str
    top: str
    top3: tuple[str, ...]
    top_held: float
    top3_held: float
    margin: float  # posterior of the top cause minus that of the second, under the priors themselves

    def to_dict(self) -> dict:
        return {
            "case": self.case,
            "top": self.top,
            "top3": list(self.top3),
            "top_held": self.top_held,
            "top3_held": self.top3_held,
            "margin": self.margin,
        }


def robustness(
    priors: Priors, cases: Mapping[str, Mapping[str, str]], draws: int, spread: float | None, seed: int
) -> list[Stability]:
    """For each case, the share of ``draws`` random priors under which its top cause and top three hold.

    Parameters
    ----------
    cases : mapping
        ``{name: validated evidence}``.
    spread : float or None
        Move every number by up to this share either way (uniformly); None
        draws every number within its word's band instead.
    """
    engine = compiled(priors)
    codes = np.array([engine.encode(evidence) for evidence in cases.values()]).reshape(len(cases), -1)
    nominal = engine.posterior_codes(codes)
    order = np.argsort(-nominal, axis=1, kind="stable")
    tops, top3s = order[:, 0], np.sort(order[:, :3], axis=1)
    rng = np.random.default_rng(seed)
    how = draw_of(priors, spread)
    top_held = np.zeros(len(cases))
    top3_held = np.zeros(len(cases))
    for _ in range(draws):
        drawn = compiled(resample(priors, rng, how)).posterior_codes(codes)
        drawn_order = np.argsort(-drawn, axis=1, kind="stable")
        top_held += drawn_order[:, 0] == tops
        top3_held += (np.sort(drawn_order[:, :3], axis=1) == top3s).all(axis=1)
    causes = engine.causes
    out = []
    for i, name in enumerate(cases):
        ranked = nominal[i][order[i]]
        out.append(
            Stability(
                case=name,
                top=causes[tops[i]],
                top3=tuple(causes[j] for j in order[i, :3]),
                top_held=float(top_held[i] / draws),
                top3_held=float(top3_held[i] / draws),
                margin=float(ranked[0] - ranked[1]),
            )
        )
    return out


__all__ = ["Draw", "Ensemble", "Stability", "ensemble_key", "resample", "robustness"]
