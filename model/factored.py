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
    the others costs about as much again).
    """
    everything = frozenset(range(causes))
    best = None
    for size in range(1, causes // 2 + 1):
        for half in itertools.combinations(range(causes), size):
            a, b = frozenset(half), everything - frozenset(half)
            cost = sum(2 ** len(a) if s <= a else 2 ** len(b) if s <= b else 2**causes for s in scopes)
            if best is None or cost < best[0]:
                best = (cost, sorted(a), sorted(b))
    return best[1], best[2]


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
