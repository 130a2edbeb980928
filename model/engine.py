"""Exact inference compiled to numpy over the joint states of the hidden causes.

The network has three layers: exposures (observable roots), causes (hidden)
and findings (observable, with causes as parents). With 12 binary causes the
joint cause state fits on one axis of 2**12 = 4096 entries (bit i of a joint
index is the state of cause i).

Evidence is looked up in *blocks*, each a table over the few causes it
depends on (its *scope*):

* a finding's block holds ``log P(finding = state | its parent causes)``;
* exposures are grouped: the causes that share an exposure are joined
  (union-find), and each group's block holds, for every pattern of its
  exposures (each one observed in some state, or unknown), the log of the
  exposures' prior times the causes' CPDs with the unknown exposures summed
  out exactly.

A block's last pattern is "all unknown". A case is the prior over joint
states (every block's all-unknown row) times, for each block it answers, that
block's factor: the answered row over the all-unknown row, at most 1. Blocks
are stored in their local form (patterns x 2**len(scope)) and expanded onto
the 4096 joint states on first use. A case, alone or in a batch, adds the log
rows of the blocks it answers in block order, adds the prior, subtracts its
largest entry and exponentiates once, so nothing underflows and it gets the
same digits either way; what-ifs (ask-next) multiply local factors on the
small tables. The numbers are the network's CPDs (compiled from the priors'
tables or from a pgmpy network), so the engine is the network's own model.
"""

from __future__ import annotations

import hashlib
import importlib
import itertools
import math
import sys
import threading
import types
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Protocol

import numpy as np

from .errors import ImpossibleEvidenceError, impossible_message

UNKNOWN = -1
# Cases weighed at once in a batch (256 x 4096 doubles, 8 MB); 64 to 512 measured within 10% of each other.
CHUNK = 256


@lru_cache(maxsize=256)
def local_index(scope: tuple[int, ...], n_causes: int) -> np.ndarray:
    """For every joint state (``2**n_causes``), its column in a table over ``scope``.

    Local bit k is the state of cause ``scope[k]``; the result is read-only
    and shared by every block with the same scope.
    """
    joint = np.arange(2**n_causes)
    index = np.zeros(2**n_causes, dtype=np.intp)
    for k, cause in enumerate(scope):
        index |= ((joint >> cause) & 1) << k
    index.flags.writeable = False
    return index


@dataclass(frozen=True)
class Block:
    """A group of evidence variables looked up together, as a table over the causes it depends on.

    Attributes
    ----------
    variables : tuple of str
        Evidence variables of the block; a pattern's digits, most significant first.
    radices : tuple of int
        Each variable's number of states + 1 (its last code is "unknown").
    scope : tuple of int
        Indices (into the engine's causes, ascending) of the causes the table depends on.
    table : ndarray
        ``(patterns, 2**len(scope))``, log space: row = pattern of the variables'
        codes (mixed radix over ``radices``; the last row is all unknown),
        column = local state of the scope (bit k = state of cause ``scope[k]``).
    nodes : tuple of str
        The network nodes whose tables the block is compiled from.
    """

    variables: tuple[str, ...]
    radices: tuple[int, ...]
    scope: tuple[int, ...]
    table: np.ndarray
    nodes: tuple[str, ...] = ()

    @property
    def patterns(self) -> int:
        return self.table.shape[0]

    def local_index(self, n_causes: int) -> np.ndarray:
        """Column of :attr:`table` for every joint state of ``n_causes`` causes."""
        return local_index(self.scope, n_causes)

    def expanded(self, n_causes: int) -> np.ndarray:
        """:attr:`table` over the joint states: ``(patterns, 2**n_causes)``."""
        return self.table[:, self.local_index(n_causes)]


def prior_and_deltas(
    tables: Sequence[np.ndarray], locals_: Sequence[np.ndarray], n_causes: int
) -> tuple[np.ndarray, list[np.ndarray]]:
    """The prior over the joint states and each block as its change from its all-unknown row (log space).

    ``tables`` are the blocks' tables, ``(patterns, local states)``, or the
    tables of several draws stacked, ``(draws, patterns, local states)``
    (:mod:`twitchcause.model.uncertainty`): the one place both read a block.
    The prior is the sum of every block's all-unknown row over the joint
    states; a change is 0 where the all-unknown row is -inf (that state is
    impossible whatever is answered).
    """
    base = np.zeros((*tables[0].shape[:-2], 2**n_causes)) if tables else np.zeros(2**n_causes)
    for table, local in zip(tables, locals_):
        unknown = table[..., -1, :]
        if unknown.any():  # a finding's all-unknown row is log 1 = 0: nothing to add
            base += unknown[..., local]
    return base, deltas_of(tables)


def deltas_of(tables: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Each block as its change from its all-unknown row (log space), as :func:`prior_and_deltas` gives it,
    without the prior over the joint states (for the draws, a sum of 64 x 4,096 per block)."""
    deltas = []
    for table in tables:
        unknown = table[..., -1:, :]
        with np.errstate(invalid="ignore"):
            deltas.append(np.where(np.isfinite(unknown), table - unknown, 0.0))
    return deltas


def _log(values: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return np.log(values)


class Engine:
    """Posterior of every cause in one pass, exact; see the module docstring.

    Parameters
    ----------
    causes : sequence of str
        Hidden binary variables, states ordered (absent, present).
    states : mapping of str to sequence of str
        Every evidence variable with its states.
    blocks : sequence of Block
        Each evidence variable in exactly one block.
    factors : mapping, optional
        The node tables the blocks were compiled from (see :func:`compile_factors`);
        needed only by :meth:`with_table`.

    Attributes
    ----------
    presence : ndarray
        ``(joint states, causes)``: 1 where the cause is present.
    base : ndarray
        ``log P(causes = j)`` for every joint state j (no evidence).
    """

    def __init__(
        self,
        causes: Sequence[str],
        states: Mapping[str, Sequence[str]],
        blocks: Sequence[Block],
        factors: Factors | None = None,
    ):
        self.causes = tuple(causes)
        self.states = {name: tuple(s) for name, s in states.items()}
        self.variables = tuple(self.states)
        self.blocks = tuple(blocks)
        self.factors = factors
        n = len(self.causes)
        joint = np.arange(2**n)
        self.presence = ((joint[:, None] >> np.arange(n)[None, :]) & 1).astype(float)
        # P(cause present) for each cause, then P(no listed cause) = the all-absent joint state 0
        self._presence_rows = np.ascontiguousarray(np.vstack([self.presence.T, (joint == 0)[None, :]]))
        self._var_index = {name: i for i, name in enumerate(self.variables)}
        # pattern of block b = codes (unknown -> radix - 1) @ place[:, b]: the one way a case finds its rows
        self._place = np.zeros((len(self.variables), len(self.blocks)), dtype=np.int64)
        self._unknown_code = np.zeros(len(self.variables), dtype=np.int64)
        self._block_of = np.zeros(len(self.variables), dtype=np.int64)
        for b, block in enumerate(self.blocks):
            for k, name in enumerate(block.variables):
                i = self._var_index[name]
                self._place[i, b] = int(np.prod(block.radices[k + 1 :]))
                self._unknown_code[i] = block.radices[k] - 1
                self._block_of[i] = b
        self._all_unknown = np.array([block.patterns - 1 for block in self.blocks], dtype=np.int64)
        self._local = [block.local_index(n) for block in self.blocks]
        self.base, self._deltas = prior_and_deltas([block.table for block in self.blocks], self._local, n)
        self._offsets = np.cumsum([0] + [block.patterns for block in self.blocks])
        self._rows: np.ndarray | None = None  # every block's deltas over the joint, stacked; filled on first use
        self._expanded = np.zeros(len(self.blocks), dtype=bool)
        self._expanding = threading.Lock()
        # for what-ifs: each block's factors on its local table, and the row step of each state of each variable
        self._local_factors = [np.exp(delta) for delta in self._deltas]
        self._state_steps = [
            (np.arange(len(self.states[name])) - self._unknown_code[i]) * self._place[i, self._block_of[i]]
            for i, name in enumerate(self.variables)
        ]
        self._presence_and_one = np.hstack([self.presence, np.ones((len(joint), 1))])
        self._thread_scratch = threading.local()

    # -- the one expansion cache ----------------------------------------------
    def joint_rows(self, blocks: Sequence[int]) -> np.ndarray:
        """Every block's change from its all-unknown row over the joint, stacked: (all patterns, joint states).

        Log space; block ``b``'s patterns are rows ``offsets[b]:offsets[b + 1]``.
        Only the rows of ``blocks`` are guaranteed filled: blocks are expanded
        on first use (a command-line query needs only the few it answers) and
        kept; the matrix is allocated once and untouched pages cost no memory.
        """
        missing = [b for b in blocks if not self._expanded[b]]
        if missing or self._rows is None:
            with self._expanding:
                if self._rows is None:
                    self._rows = np.empty((int(self._offsets[-1]), len(self.base)))
                for b in missing:
                    np.take(
                        self._deltas[b], self._local[b], axis=1, out=self._rows[self._offsets[b] : self._offsets[b + 1]]
                    )
                    self._expanded[b] = True
        return self._rows

    # -- encoding --------------------------------------------------------------
    def encode(self, evidence: Mapping[str, str]) -> np.ndarray:
        """State codes of validated evidence in variable order; UNKNOWN where not given."""
        codes = np.full(len(self.variables), UNKNOWN, dtype=np.int64)
        for name, state in evidence.items():
            codes[self._var_index[name]] = self.states[name].index(state)
        return codes

    def patterns(self, codes: np.ndarray) -> np.ndarray:
        """The row of every block each case looks up: codes ``(..., variables)`` -> ``(..., blocks)``.

        A block none of whose variables is answered gives its last (all-unknown) row.
        """
        codes = np.asarray(codes)
        digits = np.where(codes == UNKNOWN, self._unknown_code, codes)
        return digits @ self._place

    # -- inference -------------------------------------------------------------
    def weights(self, codes: np.ndarray, evidence: Mapping[str, str] | str = "") -> tuple[np.ndarray, np.ndarray]:
        """Joint weights of coded cases and their log scale: ``P(causes = j, evidence) = w[j] * exp(scale)``.

        Codes ``(variables,)`` give weights ``(joint states,)`` and a scale;
        codes ``(cases, variables)`` give ``(cases, joint states)`` and a scale
        per case; each case's largest weight is 1. In log space: the answered
        rows are summed in block order, the prior added, the largest
        subtracted and the result exponentiated, so nothing underflows and a
        case gets the same digits alone or in any batch. (Multiplying cached
        factors in probability space saves the exponential, about a third of
        a single query, but needs a second path for products that underflow;
        a batch sums its rows with one sparse product, faster than selecting
        rows case by case.) ``evidence`` only names the case in the error.

        Raises
        ------
        ImpossibleEvidenceError
            When some case has probability zero.
        """
        codes = np.asarray(codes)
        patterns = self.patterns(codes)
        answered = patterns != self._all_unknown
        if codes.ndim == 1:
            blocks = np.flatnonzero(answered).tolist()
            rows = self.joint_rows(blocks)
            log_joint = np.zeros(len(self.base))
            for row in (self._offsets[blocks] + patterns[blocks]).tolist():
                log_joint += rows[row]
            log_joint += self.base
            top = float(log_joint.max())
            if not math.isfinite(top):
                raise ImpossibleEvidenceError(impossible_message(evidence))
            log_joint -= top
            return np.exp(log_joint, out=log_joint), top
        else:
            from scipy.sparse import csr_matrix

            cases, blocks = np.nonzero(answered)  # row-major: each case's blocks in ascending order
            rows = self.joint_rows(np.unique(blocks).tolist())
            indicator = csr_matrix(
                (np.ones(len(cases)), (cases, self._offsets[blocks] + patterns[cases, blocks])),
                shape=(len(patterns), len(rows)),
            )
            log_joint = np.asarray(indicator @ rows)
            log_joint += self.base
            top = log_joint.max(axis=-1, keepdims=True)
        if not np.all(np.isfinite(top)):
            raise ImpossibleEvidenceError(impossible_message(evidence))
        log_joint -= top
        return np.exp(log_joint, out=log_joint), top[:, 0]

    def joint_posterior(self, evidence: Mapping[str, str]) -> tuple[np.ndarray, float]:
        """Posterior over joint cause states and ``log P(evidence)`` for one case."""
        weights, scale = self.weights(self.encode(evidence), evidence)
        mass = weights.sum()
        return weights / mass, float(scale + np.log(mass))

    def posterior(self, evidence: Mapping[str, str]) -> dict[str, float]:
        """``{cause: P(cause present | evidence)}`` for validated evidence."""
        return self.posterior_and_none(evidence)[0]

    def posterior_and_none(self, evidence: Mapping[str, str]) -> tuple[dict[str, float], float]:
        """``{cause: P(cause present | evidence)}`` and P(no listed cause present | evidence)."""
        weights, _ = self.weights(self.encode(evidence), evidence)
        *marginals, none = self.project(weights).tolist()
        return dict(zip(self.causes, marginals)), none

    def posterior_codes(self, codes: np.ndarray, chunk: int = CHUNK) -> np.ndarray:
        """P(cause present | evidence) for coded cases: (cases, causes); see :meth:`marginals_codes`."""
        return self.marginals_codes(codes, chunk)[:, :-1]

    def marginals_codes(self, codes: np.ndarray, chunk: int = CHUNK) -> np.ndarray:
        """P(cause present | evidence) for coded cases, then P(no listed cause): (cases, causes + 1).

        The same arithmetic as one case (:meth:`weights`), ``chunk`` cases at a
        time: a case gets the same digits alone or in any chunk.
        """
        codes = np.atleast_2d(codes)
        out = np.empty((len(codes), len(self.causes) + 1))
        for start in range(0, len(codes), chunk):
            weights, _ = self.weights(codes[start : start + chunk])
            out[start : start + chunk] = self.project(weights)
        return out

    def project(self, weights: np.ndarray) -> np.ndarray:
        """Normalised P(cause present) for each cause, then P(no listed cause), from joint weights (last axis).

        "No listed cause" is the joint state with every cause absent (index 0):
        twitching the network leaves to its leaks.

        A batch is projected as a stack of the same matrix-vector products as a
        single case, so a case gets the same digits alone, in a batch, or in any
        chunk (a matrix-matrix product would add in another order).
        """
        if weights.ndim == 1:
            marginal = self._presence_rows @ weights
        else:
            marginal = np.matmul(self._presence_rows[None], weights[:, :, None])[..., 0]
        return marginal / weights.sum(axis=-1, keepdims=True)

    # -- what-ifs for explanations and next questions ---------------------------
    def without_each(self, codes: Sequence[int]) -> tuple[list[str], np.ndarray]:
        """For each answered variable, the joint weights with that one answer left out (see :meth:`weights`)."""
        codes = np.asarray(codes)
        answered = np.flatnonzero(codes != UNKNOWN)
        if not len(answered):
            return [], np.zeros((0, len(self.base)))
        reduced = np.repeat(codes[None, :], len(answered), axis=0)
        reduced[np.arange(len(answered)), answered] = UNKNOWN
        return [self.variables[i] for i in answered.tolist()], self.weights(reduced)[0]

    def after_each_answer(
        self, codes: np.ndarray, evidence: Mapping[str, str] | str = ""
    ) -> tuple[np.ndarray, list[tuple[str, str]], np.ndarray, np.ndarray]:
        """What every possible next answer would give.

        Returns
        -------
        now : ndarray
            P(cause present | evidence), (causes,).
        pairs : list of (variable, state)
            Every state of every unanswered variable, in variable order.
        p_answer : ndarray
            P(answer | evidence) for each pair.
        after : ndarray
            P(cause present | evidence, answer), (pairs, causes); where an
            answer is impossible its row is the current posterior.

        Notes
        -----
        An answer multiplies the joint by its block's factor over the block's
        current row, a ratio that depends on the block's scope only. So the
        joint posterior times each cause's presence (the masses, joint x
        causes + 1) is first summed onto each small scope by one product with
        a fixed 0/1 matrix; each answer is then its local ratio times its
        scope's sums. A block over many causes (where that matrix would be
        larger than the few answers) has its ratios expanded onto the joint
        instead, into a buffer kept per thread: freeing megabytes on every
        call made the C library hand them back to the system and fault them in
        again on the next (about 1,500 page faults a call).
        """
        codes = np.asarray(codes)
        joint, _ = self.weights(codes, evidence)
        joint /= joint.sum()
        what_if = self._what_if
        scratch = self._scratch()
        masses = np.multiply(self._presence_and_one, joint[:, None], out=scratch.masses)
        now = masses[:, :-1].sum(axis=0)
        patterns = self.patterns(codes)
        asked = codes[what_if.pair_variable] == UNKNOWN  # per pair of the whole vocabulary
        if not asked.any():
            return now, [], np.zeros(0), np.zeros((0, len(self.causes)))
        answered = scratch.answered
        small = asked[what_if.small_pairs]
        if small.any():
            pairs = what_if.small_pairs[small]
            before = what_if.row_offset[pairs] + patterns[what_if.pair_block[pairs]]
            after_rows, before_rows = what_if.factors[before + what_if.pair_step[pairs]], what_if.factors[before]
            ratio = np.divide(after_rows, before_rows, out=np.zeros_like(after_rows), where=before_rows > 0)
            by_scope = what_if.scope_sums(joint)
            local_sums = by_scope[what_if.scope_rows[what_if.pair_scope[pairs]]]  # (pairs, local states, causes + 1)
            answered[pairs] = np.einsum("pl,plc->pc", ratio, local_sums)
        expanded = scratch.expanded
        for i in what_if.large_variables:
            if codes[i] != UNKNOWN:
                continue
            b = int(self._block_of[i])
            factors = self._local_factors[b]
            before = int(patterns[b])
            after_rows = factors[before + self._state_steps[i]]
            # where the current row is 0 the joint is already 0; any finite factor will do there
            ratio = np.divide(after_rows, factors[before], out=np.zeros_like(after_rows), where=factors[before] > 0)
            rows = what_if.variable_pairs[i]
            np.take(ratio, self._local[b], axis=1, out=expanded[: len(ratio)], mode="clip")
            answered[rows] = expanded[: len(ratio)] @ masses
        keep = np.flatnonzero(asked)
        chosen = answered[keep]
        p_answer = chosen[:, -1]
        possible = p_answer > 0
        after = np.where(possible[:, None], chosen[:, :-1] / np.where(possible, p_answer, 1.0)[:, None], now)
        return now, [what_if.pairs[k] for k in keep.tolist()], p_answer, after

    @cached_property
    def _what_if(self) -> _WhatIf:
        return _WhatIf(self)

    def _scratch(self):
        """Buffers for :meth:`after_each_answer`, one set per thread, kept for the engine's life."""
        scratch = self._thread_scratch
        if not hasattr(scratch, "masses"):
            scratch.masses = np.empty((len(self.base), len(self.causes) + 1))
            scratch.expanded = np.empty((max(len(s) for s in self.states.values()), len(self.base)))
            scratch.answered = np.empty((len(self._what_if.pairs), len(self.causes) + 1))
        return scratch

    def with_table(self, node: str, table: np.ndarray) -> Engine:
        """This engine with one node's table replaced (same parents, same axes); only its block is recompiled.

        Parameters
        ----------
        node : str
            A node of the network (exposure, cause or finding).
        table : ndarray
            Its new table, axes ``(node, *parents)`` as in :func:`compile_factors`.

        Raises
        ------
        ValueError
            When the engine was not compiled from factors, the node is unknown,
            or the table's shape differs.
        """
        if self.factors is None:
            raise ValueError("this engine was loaded from arrays; compile it from factors to replace a table")
        if node not in self.factors:
            raise ValueError(f"'{node}' is not a node of this engine")
        names, old = self.factors[node]
        table = np.asarray(table, dtype=float)
        if table.shape != np.shape(old):
            raise ValueError(f"table of '{node}' has shape {table.shape}, expected {np.shape(old)}")
        factors = {**self.factors, node: (names, table)}
        b = next(b for b, block in enumerate(self.blocks) if node in block.nodes)
        old_block = self.blocks[b]
        if old_block.variables and old_block.variables[0] in factors and _parents(factors, old_block.variables[0]):
            block = _finding_block(factors, old_block.variables[0], self.causes, self.states)
        else:
            group = [c for c in old_block.nodes if c in self.causes]
            block = _exposure_block(factors, group, self.causes, self.states)
        engine = Engine(self.causes, self.states, self.blocks[:b] + (block,) + self.blocks[b + 1 :], factors)
        return engine

    # -- persistence -----------------------------------------------------------
    def fits(self, causes: Sequence[str], states: Mapping[str, Sequence[str]]) -> bool:
        """Whether this engine speaks of exactly these causes and variables (a check on a stored engine)."""
        n = len(self.causes)
        return (
            self.causes == tuple(causes)
            and self.states == {k: tuple(v) for k, v in states.items()}
            and all(
                b.table.shape == (int(np.prod(b.radices)), 2 ** len(b.scope))
                and list(b.scope) == sorted(set(b.scope))
                and all(0 <= c < n for c in b.scope)
                for b in self.blocks
            )
        )

    def to_arrays(self) -> dict[str, np.ndarray]:
        """The engine as a few arrays: the blocks' tables, radices and scopes each end to end, and the node
        tables likewise. Reading an ``.npz`` member costs a zip entry and a header parse (some 50 us): one per
        block and node was most of a quick start's reading of its snapshot."""
        arrays = {
            "causes": np.array(self.causes),
            "variables": np.array(self.variables),
            "states": np.array(["\t".join(self.states[v]) for v in self.variables]),
            "block_variables": np.array(["\t".join(b.variables) for b in self.blocks]),
            "block_nodes": np.array(["\t".join(b.nodes) for b in self.blocks]),
            "tables": np.concatenate([b.table.ravel() for b in self.blocks]) if self.blocks else np.zeros(0),
            "radices": np.array([r for b in self.blocks for r in b.radices], dtype=np.int64),
            "scopes": np.array([c for b in self.blocks for c in b.scope], dtype=np.int64),
            "scope_sizes": np.array([len(b.scope) for b in self.blocks], dtype=np.int64),
        }
        if self.factors is not None:  # the node tables, so a stored engine answers what would help from them too
            values = [np.asarray(v, dtype=float) for _, v in self.factors.values()]
            arrays["factor_nodes"] = np.array(["\t".join(names) for names, _ in self.factors.values()])
            arrays["factors"] = np.concatenate([v.ravel() for v in values]) if values else np.zeros(0)
            arrays["factor_ndims"] = np.array([v.ndim for v in values], dtype=np.int64)
            arrays["factor_dims"] = np.array([d for v in values for d in v.shape], dtype=np.int64)
        return arrays

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, np.ndarray]) -> Engine:
        """The engine :meth:`to_arrays` stored; ValueError or KeyError for arrays that do not make one."""
        variables = [str(v) for v in arrays["variables"]]
        states = {v: str(s).split("\t") for v, s in zip(variables, arrays["states"])}

        def names(text) -> tuple[str, ...]:
            return tuple(str(text).split("\t")) if str(text) else ()

        block_variables = [names(text) for text in arrays["block_variables"]]
        block_nodes = [names(text) for text in arrays["block_nodes"]]
        radices = _pieces(arrays["radices"], [len(v) for v in block_variables])
        scopes = _pieces(arrays["scopes"], arrays["scope_sizes"].tolist())
        shapes = [(math.prod(r), 2 ** len(c)) for r, c in zip(radices, scopes)]
        tables = _pieces(np.asarray(arrays["tables"], dtype=float), [math.prod(shape) for shape in shapes])
        blocks = [
            Block(v, tuple(r.tolist()), tuple(c.tolist()), table.reshape(shape), nodes)
            for v, r, c, table, shape, nodes in zip(
                block_variables, radices, scopes, tables, shapes, block_nodes, strict=True
            )
        ]
        factors = None
        if "factor_nodes" in arrays:
            ndims = arrays["factor_ndims"].tolist()
            factor_shapes = [tuple(d) for d in _pieces(arrays["factor_dims"], ndims)]
            values = _pieces(np.asarray(arrays["factors"], dtype=float), [math.prod(shape) for shape in factor_shapes])
            factors = {}
            for text, value, shape in zip(arrays["factor_nodes"], values, factor_shapes, strict=True):
                node_and_parents = names(text)
                factors[node_and_parents[0]] = (list(node_and_parents), value.reshape(shape))
        return cls([str(c) for c in arrays["causes"]], states, blocks, factors)


def _pieces(flat: np.ndarray, sizes: Sequence[int]) -> list[np.ndarray]:
    """``flat`` cut into consecutive pieces of ``sizes`` (views); ValueError unless they take all of it."""
    flat = np.asarray(flat)
    if flat.ndim != 1 or any(size < 0 for size in sizes) or sum(sizes) != len(flat):
        raise ValueError("stored arrays do not fit together")
    ends = itertools.accumulate(sizes)
    return [flat[end - size : end] for size, end in zip(sizes, ends)]


# Scopes of at most this many local states are summed onto by a fixed 0/1 matrix in ask-next;
# larger ones (a finding over many causes) have their few answers expanded onto the joint instead.
SMALL_SCOPE = 16


class _WhatIf:
    """Fixed tables for :meth:`Engine.after_each_answer`: every (variable, state) pair of the vocabulary."""

    def __init__(self, engine: Engine):
        self.pairs: list[tuple[str, str]] = []
        pair_variable, pair_block, pair_step = [], [], []
        self.variable_pairs: dict[int, np.ndarray] = {}
        for i, name in enumerate(engine.variables):
            start = len(self.pairs)
            self.pairs += [(name, state) for state in engine.states[name]]
            self.variable_pairs[i] = np.arange(start, len(self.pairs))
            pair_variable += [i] * len(engine.states[name])
            pair_block += [int(engine._block_of[i])] * len(engine.states[name])
            pair_step += engine._state_steps[i].tolist()
        self.pair_variable = np.array(pair_variable, dtype=np.intp)
        self.pair_block = np.array(pair_block, dtype=np.intp)
        self.pair_step = np.array(pair_step, dtype=np.intp)
        small_blocks = [b for b, block in enumerate(engine.blocks) if 2 ** len(block.scope) <= SMALL_SCOPE]
        is_small = np.isin(self.pair_block, small_blocks)
        self.small_pairs = np.flatnonzero(is_small)
        self.large_variables = sorted({int(v) for v in self.pair_variable[~is_small]})
        # each small block's local factors, padded to SMALL_SCOPE columns, stacked; a pair's rows start at row_offset
        n = len(engine.causes)
        self.factors = np.zeros((sum(engine.blocks[b].patterns for b in small_blocks) + 1, SMALL_SCOPE))
        offsets = {}
        start = 0
        for b in small_blocks:
            table = engine._local_factors[b]
            self.factors[start : start + len(table), : table.shape[1]] = table
            offsets[b] = start
            start += len(table)
        self.row_offset = np.array([offsets.get(b, 0) for b in self.pair_block], dtype=np.intp)
        # Summing the masses onto each small scope, in two steps: the joint index is (high causes, low
        # causes); first onto the low causes of each scope (one product for every distinct low part), then
        # onto its high causes. About a quarter of the arithmetic of one 0/1 row per local state of every scope.
        self.low_bits = n // 2
        high = 2 ** (n - self.low_bits)
        low = 2**self.low_bits
        self.low_major = (np.arange(low)[:, None] + low * np.arange(high)[None, :]).ravel()  # joint of (low, high)
        self.presence_low_major = engine._presence_and_one[self.low_major]

        def indicator(scope, bits):
            return (local_index(scope, bits)[None, :] == np.arange(2 ** len(scope))[:, None]).astype(float)

        scopes = sorted({engine.blocks[b].scope for b in small_blocks}, key=lambda s: (self._split(s), s))
        index = {scope: k for k, scope in enumerate(scopes)}
        low_parts = sorted({self._split(s)[0] for s in scopes})
        self.low_sums = np.vstack([indicator(part, self.low_bits) for part in low_parts] or [np.zeros((0, low))])
        low_start = np.cumsum([0] + [2 ** len(part) for part in low_parts])
        self.groups = []  # per low part: its rows in low_sums, 0/1 rows over the high causes, its rows in the sums
        rows, start = [], 0
        for k, part in enumerate(low_parts):
            members = [s for s in scopes if self._split(s)[0] == part]
            highs = np.vstack(
                [indicator(tuple(c - self.low_bits for c in self._split(s)[1]), n - self.low_bits) for s in members]
            )
            size = sum(2 ** len(s) for s in members)
            self.groups.append((int(low_start[k]), 2 ** len(part), highs, start, start + size))
            for s in members:
                rows.append(list(range(start, start + 2 ** len(s))) + [-1] * (SMALL_SCOPE - 2 ** len(s)))
                start += 2 ** len(s)
        self.sums_rows = start
        self.scope_rows = np.array(rows, dtype=np.intp).reshape(len(scopes), SMALL_SCOPE)  # -1: a zero row
        self.pair_scope = np.array([index.get(engine.blocks[b].scope, 0) for b in self.pair_block], dtype=np.intp)

    def _split(self, scope: tuple[int, ...]) -> tuple[tuple[int, ...], tuple[int, ...]]:
        return tuple(c for c in scope if c < self.low_bits), tuple(c for c in scope if c >= self.low_bits)

    def scope_sums(self, joint: np.ndarray) -> np.ndarray:
        """The masses (joint posterior times each cause's presence, then 1) summed onto each small scope.

        Rows as :attr:`scope_rows` gives them, then a row of zeros.
        """
        low, width = 2**self.low_bits, self.presence_low_major.shape[1]
        masses = (self.presence_low_major * joint[self.low_major][:, None]).reshape(low, -1)
        on_low = self.low_sums @ masses  # (rows of every low part, high states x (causes + 1))
        sums = np.zeros((self.sums_rows + 1, width))
        for low_start, low_size, highs, start, stop in self.groups:
            part = on_low[low_start : low_start + low_size].reshape(low_size, -1, width).transpose(1, 0, 2)
            sums[start:stop] = (highs @ part.reshape(part.shape[0], -1)).reshape(-1, width)
        return sums


class EngineStore(Protocol):
    """Somewhere compiled engines are kept between runs, by key (see :func:`engine_key`)."""

    def load(self, key: str) -> Mapping[str, np.ndarray] | None:
        """The arrays stored under ``key``, or None (missing, unreadable or not what was stored)."""

    def save(self, key: str, arrays: Mapping[str, np.ndarray]) -> None:
        """Keep ``arrays`` under ``key``; failing to keep them is not an error."""


def _code_parts(code: types.CodeType):
    """What a code object computes: its bytecode, names and constants (nested code too), in a stable form."""
    yield code.co_code
    yield repr((code.co_names, code.co_varnames, code.co_freevars, code.co_cellvars)).encode()
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            yield from _code_parts(const)
        elif isinstance(const, frozenset):  # a set literal: its order changes with the hash seed
            yield repr(sorted(map(repr, const))).encode()
        else:
            yield repr(const).encode()


def _functions_of(obj):
    """The plain functions behind a module member: itself, what it wraps, or a class's methods and properties."""
    if isinstance(obj, type):
        for member in vars(obj).values():
            yield from _functions_of(member)
    elif isinstance(obj, (classmethod, staticmethod)):
        yield from _functions_of(obj.__func__)
    elif isinstance(obj, property):
        yield from (f for f in (obj.fget, obj.fset, obj.fdel) if f is not None)
    elif isinstance(obj, cached_property):
        yield obj.func
    elif isinstance(obj, types.FunctionType):
        yield obj
    elif hasattr(obj, "__wrapped__"):  # functools.lru_cache
        yield from _functions_of(obj.__wrapped__)


def code_digest(*module_names: str) -> str:
    """A hash of the code of these modules (every function and method) and their upper-case constants.

    A stored engine or ensemble is keyed by it, so changing how one is
    compiled or read gives another key on its own: there is no format number
    to remember to bump. It is computed from the loaded code (comments and
    line numbers do not count) and reads no files.
    """
    digest = hashlib.sha256(f"{sys.version_info[:2]}\0".encode())
    for module_name in module_names:
        module = importlib.import_module(module_name)
        for name, obj in sorted(vars(module).items()):
            if name.isupper() and isinstance(obj, (int, float, str, tuple)):
                digest.update(f"{module_name}.{name}={obj!r}\0".encode())
            elif getattr(obj, "__module__", None) == module_name:
                for function in _functions_of(obj):
                    digest.update(f"{module_name}.{function.__qualname__}\0".encode())
                    for part in _code_parts(function.__code__):
                        digest.update(part + b"\0")
    return digest.hexdigest()


def engine_key(tables: Mapping[str, object]) -> str:
    """A hash of the node tables an engine is compiled from, and of the code that compiles and reads it.

    The key covers the numbers themselves (every node's states, parents and
    table), so however a priors folder becomes numbers, other numbers give
    another key; and :func:`code_digest` of this module, so other code that
    compiles or reads engines gives another key too.
    """
    digest = hashlib.sha256(code_digest(__name__).encode() + b"\0")
    for node in sorted(tables):
        table = tables[node]
        values = np.ascontiguousarray(table.values, dtype="<f8")
        digest.update(repr((node, tuple(table.states), tuple(table.parents), values.shape)).encode() + b"\0")
        digest.update(values.tobytes())
    return digest.hexdigest()


# -- compiling ------------------------------------------------------------------
Factors = Mapping[str, tuple[Sequence[str], np.ndarray]]


def _parents(factors: Factors, node: str) -> list[str]:
    return list(factors[node][0][1:])


def _groups(causes: Sequence[str], exposures: Sequence[str], factors: Factors) -> list[list[str]]:
    """Causes joined when they share an exposure parent (union-find)."""
    leader = {c: c for c in causes}

    def find(c: str) -> str:
        while leader[c] != c:
            leader[c] = leader[leader[c]]
            c = leader[c]
        return c

    for exposure in exposures:
        children = [c for c in causes if exposure in _parents(factors, c)]
        for other in children[1:]:
            leader[find(other)] = find(children[0])
    groups: dict[str, list[str]] = {}
    for c in causes:
        groups.setdefault(find(c), []).append(c)
    return list(groups.values())


def _exposure_block(factors: Factors, group: list[str], causes: Sequence[str], states) -> Block:
    causes = list(causes)
    exposures = sorted({p for c in group for p in _parents(factors, c) if p not in causes}, key=list(states).index)
    scope = sorted(
        {causes.index(c) for c in group} | {causes.index(p) for c in group for p in _parents(factors, c) if p in causes}
    )
    nodes = list(exposures) + group
    radices = tuple(len(states[x]) + 1 for x in exposures)
    local = np.zeros((int(np.prod(radices)) if radices else 1, 2 ** len(scope)))
    for pattern, codes in enumerate(itertools.product(*(range(r) for r in radices))):
        choices = [range(len(states[x])) if code == len(states[x]) else [code] for x, code in zip(exposures, codes)]
        for local_state in range(2 ** len(scope)):
            assignment = {causes[c]: (local_state >> k) & 1 for k, c in enumerate(scope)}
            total = 0.0
            for exposure_states in itertools.product(*choices):
                assignment.update(zip(exposures, exposure_states))
                product = 1.0
                for node in nodes:
                    names, values = factors[node]
                    product *= values[tuple(assignment[n] for n in names)]
                total += product
            local[pattern, local_state] = total
    return Block(tuple(exposures), radices, tuple(scope), _log(local), tuple(nodes))


def _finding_block(factors: Factors, finding: str, causes: Sequence[str], states) -> Block:
    names, values = factors[finding]
    causes = list(causes)
    parents = [causes.index(p) for p in names[1:]]
    scope = tuple(sorted(parents))
    local_state = np.arange(2 ** len(scope))
    # the table's parent axes in its own order, read off each local state's bits
    parent_bits = tuple((local_state >> scope.index(p)) & 1 for p in parents)
    rows = [np.asarray(values[(s, *parent_bits)], dtype=float) for s in range(len(states[finding]))]
    rows.append(np.ones(len(local_state)))  # unknown: the finding sums out to 1
    return Block((finding,), (len(states[finding]) + 1,), scope, _log(np.array(rows)), (finding,))


def compile_factors(factors: Factors, causes: Sequence[str], states: Mapping[str, Sequence[str]]) -> Engine:
    """Compile a three-layer network (exposures -> causes -> findings) given as factors.

    ``factors[node]`` is ``([node, *parents], table)`` with the table's axes in
    that order and states indexed as in ``states`` (causes: absent, present).

    Raises
    ------
    ValueError
        If the network does not have that shape.
    """
    causes = list(causes)
    exposures = [v for v in states if not _parents(factors, v)]
    findings = [v for v in states if _parents(factors, v)]
    for finding in findings:
        if not set(_parents(factors, finding)) <= set(causes):
            raise ValueError(f"evidence variable '{finding}' has a parent that is not a cause")
    for cause in causes:
        if not set(_parents(factors, cause)) <= set(causes) | set(exposures):
            raise ValueError(f"cause '{cause}' has a parent that is neither a cause nor an exposure")
    blocks = [_exposure_block(factors, group, causes, states) for group in _groups(causes, exposures, factors)]
    blocks += [_finding_block(factors, f, causes, states) for f in findings]
    return Engine(causes, states, blocks, dict(factors))


def compile_network(network, causes: Sequence[str], states: Mapping[str, Sequence[str]]) -> Engine:
    """Compile a pgmpy network of the three-layer shape; see :func:`compile_factors`.

    Cause states must be ordered (absent, present) and every node's state
    names in the order of ``states``.
    """
    factors = {}
    for cpd in network.get_cpds():
        order = states.get(cpd.variable) if cpd.variable in states else None
        if order is not None and list(cpd.state_names[cpd.variable]) != list(order):
            raise ValueError(
                f"states of '{cpd.variable}' in the network are {cpd.state_names[cpd.variable]}, expected {list(order)}"
            )
        factors[cpd.variable] = (list(cpd.variables), np.asarray(cpd.values, dtype=float))
    return compile_factors(factors, causes, states)
