"""Posteriors of many coded cases as products of factors, the causes split in two halves.

Every block of the engine (see :mod:`.engine`) is a table over the few
causes it depends on (its scope). The causes are split in
two halves A and B so that as few blocks as possible span both; then, for a
chunk of cases, the blocks within A multiply into one short vector per case
(2**|A| entries), those within B into another, their outer product is the
joint, and only the blocks that span both are multiplied at full length, and
only for the cases that answer them. Marginals are sums over one half of the
joint. No exponential is taken per case: the factors are exponentiated once.

Every step works row by row, so a case gets the same digits in any chunk or
partition. Against the single-case path digits may differ in the last place
(products in another order). A case whose product would underflow, or whose
evidence is impossible, is redone by the engine in log space.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from .engine import CHUNK, Engine

# Joint weights are products of factors of at most 1; a case whose weights sum below this is redone by the
# engine in log space rather than lose digits to underflow (the largest weight is then at least this over
# 4,096, still some fifty orders of magnitude above the smallest normal double).
SMALLEST_WEIGHT = 1e-250


def halves(scopes: list[frozenset[int]], causes: int) -> tuple[list[int], list[int]]:
    """Halves A and B that cost the fewest multiplications per case.

    A block within a half costs that half's length; a block spanning both
    costs the joint's length (rows answering nothing in it skip it, gathering
    the others costs about as much again). Every split is costed at once on
    bit masks (a one-case command computes it at start-up); the first of the
    cheapest, in order of size then of the causes, is chosen.
    """
    candidates = [half for size in range(1, causes // 2 + 1) for half in itertools.combinations(range(causes), size)]
    masks = np.array([sum(1 << c for c in half) for half in candidates], dtype=np.int64)[:, None]
    sizes = np.array([len(half) for half in candidates])[:, None]
    scope_masks = np.array([sum(1 << c for c in scope) for scope in scopes], dtype=np.int64)[None, :]
    within_a = (scope_masks & ~masks) == 0
    within_b = (scope_masks & masks) == 0
    cost = np.where(within_a, 2.0**sizes, np.where(within_b, 2.0 ** (causes - sizes), 2.0**causes)).sum(axis=1)
    a = list(candidates[int(np.argmin(cost))])
    return a, [c for c in range(causes) if c not in a]


def joint_index(causes: list[int]) -> np.ndarray:
    """For each index over the causes listed (bit k = causes[k]), the engine's joint index."""
    local = np.arange(2 ** len(causes))
    index = np.zeros(len(local), dtype=np.int64)
    for k, cause in enumerate(causes):
        index |= ((local >> k) & 1) << cause
    return index


@dataclass(frozen=True)
class _Factor:
    half: str  # "a", "b" or "both"
    table: np.ndarray  # (patterns, entries of its half), probabilities; rows as Engine.patterns numbers them
    neutral: bool  # its all-unknown row is all ones: cases that answer nothing in it skip it


class FactoredBatch:
    """Marginals of coded cases, see the module docstring; built once per engine."""

    def __init__(self, engine: Engine):
        self.engine = engine
        n = len(engine.causes)
        scopes = [frozenset(block.scope) for block in engine.blocks]
        self.a, self.b = halves(scopes, n)
        low = len(self.b)
        joint = np.arange(2**n)
        # a chunk's joint is laid out as (A index, B index); this maps it to the engine's order
        as_engine = joint_index(self.a)[joint >> low] | joint_index(self.b)[joint & ((1 << low) - 1)]
        to_a, to_b = joint_index(self.a), joint_index(self.b)
        self.factors = []
        for block, scope in zip(engine.blocks, scopes):
            values = np.exp(block.expanded(n))
            if scope <= set(self.a):
                half, table = "a", values[:, to_a]
            elif scope <= set(self.b):
                half, table = "b", values[:, to_b]
            else:
                half, table = "both", values[:, as_engine]
            self.factors.append(_Factor(half, np.ascontiguousarray(table), bool(np.all(values[-1] == 1.0))))
        self._scratch = threading.local()
        presence = engine.presence[as_engine]  # (joint, causes) in the chunk's layout
        self._a_presence = np.ascontiguousarray(presence[:: 2**low, self.a].T)  # (|A|, 2**|A|)
        self._b_presence = np.ascontiguousarray(presence[: 2**low, self.b].T)  # (|B|, 2**|B|)

    def marginals(self, codes: np.ndarray) -> np.ndarray:
        """P(cause present | evidence) for each coded case, then P(no listed cause): (cases, causes + 1).

        ``codes`` is (cases, variables) in the engine's variable order, UNKNOWN where not answered.

        Raises
        ------
        ImpossibleEvidenceError
            For a case the network gives probability zero.
        """
        codes = np.atleast_2d(codes)
        patterns = self.engine.patterns(codes)  # (cases, blocks): the row each case reads in each block
        out = np.empty((len(codes), len(self.engine.causes) + 1))
        for start in range(0, len(codes), CHUNK):
            stop = start + CHUNK
            out[start:stop] = self._chunk(patterns[start:stop], codes[start:stop])
        return out

    def _buffers(self, cases: int) -> dict[str, np.ndarray]:
        """Arrays for one chunk, kept per thread for the engine's life.

        Allocating them per chunk made the C library map and unmap them each
        time wherever its thresholds are fixed (Dask workers fix them), at a
        page fault per 4 kB.
        """
        scratch = self._scratch
        if not hasattr(scratch, "arrays"):
            joint, half_a, half_b = len(self.engine.base), 2 ** len(self.a), 2 ** len(self.b)
            sizes = {"joint": joint, "picked": joint, "taken": joint, "a": half_a, "a_taken": half_a}
            sizes |= {"b": half_b, "b_taken": half_b}
            scratch.arrays = {name: np.empty((CHUNK, size)) for name, size in sizes.items()}
        return {name: array[:cases] for name, array in scratch.arrays.items()}

    def _chunk(self, patterns: np.ndarray, codes: np.ndarray) -> np.ndarray:
        cases = len(codes)
        buffers = self._buffers(cases)
        a, b, joint, picked, taken = (buffers[k] for k in ("a", "b", "joint", "picked", "taken"))
        a.fill(1.0)
        b.fill(1.0)
        spanning = []
        for factor, rows in zip(self.factors, patterns.T):
            if factor.half == "both":
                spanning.append((factor, rows))
                continue
            half, half_taken = (a, buffers["a_taken"]) if factor.half == "a" else (b, buffers["b_taken"])
            half *= np.take(factor.table, rows, axis=0, out=half_taken, mode="clip")  # rows are valid: no buffer
        np.multiply(a[:, :, None], b[:, None, :], out=joint.reshape(cases, len(a[0]), len(b[0])))
        for factor, rows in spanning:
            if factor.neutral:
                answered = np.flatnonzero(rows != len(factor.table) - 1)
                k = len(answered)
                np.take(joint, answered, axis=0, out=picked[:k], mode="clip")
                np.take(factor.table, rows[answered], axis=0, out=taken[:k], mode="clip")
                joint[answered] = np.multiply(picked[:k], taken[:k], out=picked[:k])
            else:
                np.take(factor.table, rows, axis=0, out=taken, mode="clip")
                joint *= taken
        grid = joint.reshape(cases, len(a[0]), len(b[0]))
        by_a = grid.sum(axis=2)  # (cases, 2**|A|)
        by_b = grid.sum(axis=1)  # (cases, 2**|B|)
        total = by_a.sum(axis=1)
        out = np.empty((cases, len(self.engine.causes) + 1))
        out[:, self.a] = np.matmul(self._a_presence[None], by_a[:, :, None])[..., 0]
        out[:, self.b] = np.matmul(self._b_presence[None], by_b[:, :, None])[..., 0]
        out[:, -1] = joint[:, 0]  # every cause absent: index 0 in any layout
        out /= total[:, None]
        redo = np.flatnonzero(~(total > SMALLEST_WEIGHT))  # the sum, not the largest: one pass fewer
        if len(redo):
            out[redo] = self.engine.marginals_codes(codes[redo])
        return out


class FactoredCase:
    """One coded case's marginals as products of factors over the same halves (see the module docstring).

    The blocks within a half give, per pattern, their change from the
    all-unknown row over that half's states; the all-unknown rows of all of
    them make the half's prior. A case multiplies its answered rows into each
    half (one gather and one product each), and the joint ``a[i] b[j] S[i, j]``
    is summed over each half without being formed when the case reads at most
    one block over both halves (on that block's own causes); two or more are
    laid over the joint (16 x 256). About a third of the log-space path's time.
    Against the engine's single path digits may differ in the last place.
    """

    def __init__(self, engine: Engine):
        self.engine = engine
        n = len(engine.causes)
        scopes = [frozenset(block.scope) for block in engine.blocks]
        self.a, self.b = halves(scopes, n)
        to_a, to_b = joint_index(self.a), joint_index(self.b)
        self._unknown = np.array([block.patterns - 1 for block in engine.blocks])
        prior = {"a": np.ones(len(to_a)), "b": np.ones(len(to_b))}
        changes: dict[str, list[np.ndarray]] = {"a": [], "b": []}
        start = {"a": 0, "b": 0}
        self._half = np.zeros(len(engine.blocks), dtype=np.int64)  # 0: half A, 1: half B, 2: both
        self._row_start = np.zeros(len(engine.blocks), dtype=np.int64)
        self._spanning: dict[int, tuple] = {}
        for k, (block, scope) in enumerate(zip(engine.blocks, scopes)):
            local = block.local_index(n)
            values = np.exp(block.table)  # (patterns, local states), probabilities
            if scope <= set(self.a) or scope <= set(self.b):
                half, columns = ("a", local[to_a]) if scope <= set(self.a) else ("b", local[to_b])
                unknown = values[-1]
                prior[half] *= unknown[columns]
                change = np.divide(values, unknown, out=np.ones_like(values), where=unknown > 0)
                changes[half].append(change[:, columns])
                self._half[k], self._row_start[k] = (0 if half == "a" else 1), start[half]
                start[half] += block.patterns
            else:
                local_a, of_a = np.unique(local[to_a], return_inverse=True)
                local_b, of_b = np.unique(local[to_b], return_inverse=True)
                rows = values[:, local_a[:, None] | local_b[None, :]]  # (patterns, its states of A, of B)
                sum_a = (of_a[:, None] == np.arange(len(local_a))).astype(float)
                sum_b = (of_b[:, None] == np.arange(len(local_b))).astype(float)
                self._spanning[k] = (rows, of_a, of_b, sum_a, sum_b, bool(np.all(values[-1] == 1.0)))
                self._half[k] = 2
        self._prior_a, self._prior_b = prior["a"], prior["b"]
        self._changes_a = np.vstack(changes["a"]) if changes["a"] else np.ones((1, len(to_a)))
        self._changes_b = np.vstack(changes["b"]) if changes["b"] else np.ones((1, len(to_b)))
        self._always = [k for k, spec in self._spanning.items() if not spec[-1]]  # their unknown row is not 1
        bits = lambda causes: ((np.arange(2 ** len(causes))[:, None] >> np.arange(len(causes))) & 1).astype(float)  # noqa: E731
        self._presence_a, self._presence_b = bits(self.a), bits(self.b)
        self._presence_a_and_one = np.hstack([self._presence_a, np.ones((len(to_a), 1))])
        self._presence_b_and_one = np.hstack([self._presence_b, np.ones((len(to_b), 1))])
        # the same as Python lists, read once per block by a case (cheaper than numpy's calls on 28 entries),
        # and each answer's block and step from the all-unknown row: the engine's own pattern numbering
        self._unknown_rows, self._halves, self._starts = (
            x.tolist() for x in (self._unknown, self._half, self._row_start)
        )
        self._steps = {}
        for i, name in enumerate(engine.variables):
            codes = np.full((len(engine.states[name]), len(engine.variables)), -1)
            codes[:, i] = np.arange(len(engine.states[name]))
            moved = engine.patterns(codes) - self._unknown  # (states, blocks): the variable's block moves
            k = int(np.flatnonzero(moved.any(axis=0))[0])
            self._steps[name] = {state: (k, int(moved[s, k])) for s, state in enumerate(engine.states[name])}

    def marginals(self, evidence: Mapping[str, str]) -> list[float] | None:
        """P(cause present) for each cause, then P(no listed cause), for one case's validated answers.

        None when the product would underflow (the caller weighs the case in log space).
        """
        patterns = list(self._unknown_rows)  # each block's row: all unknown, moved by each answer's step
        for name, state in evidence.items():
            k, step = self._steps[name][state]
            patterns[k] += step
        rows_a, rows_b, spanning = [], [], list(self._always)
        for k, pattern in enumerate(patterns):
            if pattern != self._unknown_rows[k]:
                half = self._halves[k]
                if half == 2:
                    if k not in self._always:
                        spanning.append(k)
                else:
                    (rows_a if half == 0 else rows_b).append(self._starts[k] + pattern)
        a, b = self._prior_a, self._prior_b
        if rows_a:
            a = a * self._changes_a[rows_a[0]]
            for row in rows_a[1:]:
                a *= self._changes_a[row]
        if rows_b:
            b = b * self._changes_b[rows_b[0]]
            for row in rows_b[1:]:
                b *= self._changes_b[row]
        if not spanning:  # the joint is a[i] b[j]: each half's sums, its last column the half's total
            *on_a, total_a = (a @ self._presence_a_and_one).tolist()
            *on_b, total_b = (b @ self._presence_b_and_one).tolist()
            total = total_a * total_b
            on_a, on_b = [p * total_b for p in on_a], [p * total_a for p in on_b]
            none = a[0] * b[0]
        else:
            if len(spanning) == 1:
                rows_of, of_a, of_b, sum_a, sum_b, _ = self._spanning[spanning[0]]
                row = rows_of[patterns[spanning[0]]]
                by_a = a * (row @ (b @ sum_b))[of_a]
                by_b = b * ((a @ sum_a) @ row)[of_b]
                none = a[0] * b[0] * row[of_a[0], of_b[0]]
            else:
                joint = np.outer(a, b)
                for k in spanning:
                    rows_of, of_a, of_b = self._spanning[k][:3]
                    joint *= rows_of[patterns[k]][of_a][:, of_b]
                by_a, by_b, none = joint.sum(axis=1), joint.sum(axis=0), joint[0, 0]
            *on_a, total = (by_a @ self._presence_a_and_one).tolist()
            on_b = (by_b @ self._presence_b).tolist()
        if not total > SMALLEST_WEIGHT:
            return None
        present = [0.0] * len(self.engine.causes)
        for i, p in zip(self.a, on_a):
            present[i] = p / total
        for i, p in zip(self.b, on_b):
            present[i] = p / total
        return [*present, float(none) / total]
