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
from functools import lru_cache
from typing import NamedTuple

import numpy as np

from .engine import CHUNK, Engine

# Joint weights are products of factors of at most 1; a case whose weights sum below this is redone by the
# engine in log space rather than lose digits to underflow (the largest weight is then at least this over
# 4,096, still some fifty orders of magnitude above the smallest normal double).
SMALLEST_WEIGHT = 1e-250

_product = np.multiply.reduce  # over the first axis: the product of a stack of rows


def halves(scopes: list[frozenset[int]], causes: int) -> tuple[list[int], list[int]]:
    """Halves A and B that cost the fewest multiplications per case; see :func:`_halves`.

    Computed once per set of scopes: the batch, the single case and the
    draws' ensemble (:mod:`.uncertainty`) of one engine all ask, and a
    command-line query pays for each at start-up.
    """
    a, b = _halves(tuple(scopes), causes)
    return list(a), list(b)


@lru_cache(maxsize=16)
def _halves(scopes: tuple[frozenset[int], ...], causes: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
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
    a = candidates[int(np.argmin(cost))]
    return a, tuple(c for c in range(causes) if c not in a)


def joint_index(causes: list[int]) -> np.ndarray:
    """For each index over the causes listed (bit k = causes[k]), the engine's joint index."""
    local = np.arange(2 ** len(causes))
    index = np.zeros(len(local), dtype=np.int64)
    for k, cause in enumerate(causes):
        index |= ((local >> k) & 1) << cause
    return index


class _Factor(NamedTuple):  # a named tuple, not a dataclass: defined at import without compiling methods
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
    """One case's marginals as one product of rows, read off by a few small matrix products.

    The causes of half B that some block over both halves reads (``Bs``) are
    laid out as B's high bits, the others (``Br``) as its low bits, so a
    case's joint is ``S[i, s] b[s, r]`` over (A, Bs, Br): ``b`` the product of
    the blocks within B, ``S`` that of the blocks within A (the same for every
    ``s``) and of those over both. Every block's change from its all-unknown
    row is compiled once onto ``[b | S]`` (ones where it does not reach), and
    the all-unknown rows of all of them into row 0 (the prior). A case
    multiplies row 0 and its answered rows (one gather, one product); the sums
    over A, Br and Bs pass through ``s`` alone (``S`` summed onto it from A's
    side, ``b`` from Br's), so no joint of 4,096 states is formed and no
    branch depends on which blocks a case reads. Against the engine's
    log-space path digits may differ in the last place.
    """

    def __init__(self, engine: Engine):
        self.engine = engine
        n = len(engine.causes)
        scopes = [frozenset(block.scope) for block in engine.blocks]
        a, b = halves(scopes, n)
        spanned = {c for scope in scopes if not (scope <= set(a) or scope <= set(b)) for c in scope if c in b}
        rest, shared = [c for c in b if c not in spanned], [c for c in b if c in spanned]
        self.a, self.b = a, rest + shared
        self._a_size, self._s_size, self._b_size = 2 ** len(a), 2 ** len(shared), 2 ** len(self.b)
        # the engine's joint index of each entry of b (over B) and of S (over A x Bs, the Br causes absent)
        on_b = joint_index(self.b)
        on_s = (joint_index(a)[:, None] | joint_index(shared)[None, :]).ravel()
        width = self._b_size + self._a_size * self._s_size
        rows = [np.ones((1, width))]
        self._row_base = []  # each block's all-unknown row in the stack
        for block, scope in zip(engine.blocks, scopes):
            values = np.exp(block.table)  # (patterns, local states), probabilities
            unknown = values[-1]
            change = np.divide(values, unknown, out=np.ones_like(values), where=unknown > 0)
            part, columns = (slice(0, self._b_size), on_b) if scope <= set(b) else (slice(self._b_size, width), on_s)
            local = block.local_index(n)[columns]
            rows[0][0, part] *= unknown[local]
            table = np.ones((block.patterns, width))
            table[:, part] = change[:, local]
            self._row_base.append(sum(map(len, rows)) + block.patterns - 1)
            rows.append(table)
        self._rows = np.vstack(rows)

        def bits(causes: list[int]) -> np.ndarray:  # (states, causes): 1 where the cause is present
            states = np.arange(2 ** len(causes))
            return ((states[:, None] >> np.arange(len(causes))) & 1).astype(float)

        # b (Bs x Br) @ this, times the mask below: per state of Bs, the sums of Br's causes, the sum over Br,
        # and that sum again where each cause of Bs is present
        self._by_rest = np.hstack([bits(rest), np.ones((len(bits(rest)), 1 + len(shared)))])
        self._shared_mask = np.hstack([np.ones((self._s_size, len(rest) + 1)), bits(shared)])
        # this @ S (A x Bs): the sums of A's causes over A, then the sum over A
        self._a_sums = np.ascontiguousarray(np.hstack([bits(a), np.ones((self._a_size, 1))]).T)
        # their product is (|A| + 1) x (|Br| + 1 + |Bs|): where each cause's sum lands, and the total
        columns = len(rest) + 1 + len(shared)
        flat = {cause: k * columns + len(rest) for k, cause in enumerate(a)}
        flat |= {cause: len(a) * columns + k for k, cause in enumerate(rest)}
        flat |= {cause: len(a) * columns + len(rest) + 1 + k for k, cause in enumerate(shared)}
        self._gather, self._total = [flat[c] for c in range(n)], len(a) * columns + len(rest)
        # each answer's block and step from the all-unknown row (the engine's own pattern numbering), keyed by
        # the (variable, state) pair as a case's items give it; an answer alone in its block, most of them,
        # gives its row itself (block -1)
        self._steps = {}
        unknown_rows = np.array([block.patterns - 1 for block in engine.blocks])
        for i, name in enumerate(engine.variables):
            codes = np.full((len(engine.states[name]), len(engine.variables)), -1)
            codes[:, i] = np.arange(len(engine.states[name]))
            moved = engine.patterns(codes) - unknown_rows  # (states, blocks): the variable's block moves
            k = int(np.flatnonzero(moved.any(axis=0))[0])
            alone = len(engine.blocks[k].variables) == 1
            self._steps |= {
                (name, state): (-1, self._row_base[k] + int(moved[s, k])) if alone else (k, int(moved[s, k]))
                for s, state in enumerate(engine.states[name])
            }

    def marginals(self, evidence: Mapping[str, str]) -> list[float] | None:
        """P(cause present) for each cause, then P(no listed cause), for one case's validated answers.

        None when the product would underflow (the caller weighs the case in log space).
        """
        steps, base = self._steps, self._row_base
        rows = [0]  # the prior, then each answered block's row
        shared = {}  # a block of several variables: its all-unknown row moved by each of its answers' steps
        for answer in evidence.items():
            k, step = steps[answer]
            if k < 0:
                rows.append(step)
            else:
                shared[k] = shared.get(k, base[k]) + step
        if shared:
            rows += shared.values()
        # numpy's call overhead, not the arithmetic, is most of a case's time here: the ufunc's reduce and the
        # arrays' own dot cost a microsecond or so less than .prod and @ on these few hundred numbers
        product = _product(self._rows.take(rows, axis=0))
        b_size = self._b_size
        on_shared = product[:b_size].reshape(self._s_size, -1).dot(self._by_rest)
        on_shared *= self._shared_mask  # (Bs, Br's sums | the sum over Br | Bs's sums)
        from_a = self._a_sums.dot(product[b_size:].reshape(self._a_size, self._s_size))  # (A's sums | the sum, Bs)
        sums = from_a.dot(on_shared).ravel().tolist()
        total = sums[self._total]
        if not total > SMALLEST_WEIGHT:
            return None
        return [sums[k] / total for k in self._gather] + [float(product[0] * product[b_size]) / total]
