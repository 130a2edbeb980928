"""Exact inference compiled to numpy over the joint states of the hidden causes.

The network has three layers: exposures (observable roots), causes (hidden)
and findings (observable, with causes as parents). With 12 binary causes the
joint cause state fits on one axis of 2**12 = 4096 entries, and every piece
of evidence becomes a row of log-probabilities over that axis:

* a finding contributes ``log P(finding = state | causes)``;
* exposures are grouped into *blocks*: the causes that share an exposure are
  joined (union-find), and for each block a table holds, for every pattern
  of its exposures (each one observed in some state, or unknown), the log of
  the exposures' prior times the causes' CPDs with the unknown exposures
  summed out exactly.

A case is then the sum of one row per block and per finding. One case is read
in probability space, the prior times one factor row per answered block (no
exponential per query), falling back to the log rows with a max shift for the
rare case whose product would underflow; a batch sums its log rows with one
sparse matrix product and exponentiates once per chunk. The numbers are the network's CPDs (compiled from the priors'
tables or from a pgmpy network), so the engine is the network's own model.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Protocol

import numpy as np

from .errors import ImpossibleEvidenceError, impossible_message

UNKNOWN = -1
# Bump when the compiled layout or arithmetic changes: a stored engine of another format is never used.
ENGINE_FORMAT = "engine-v2"
# Joint weights are products of factors of at most 1; below this a case is redone in log space
# rather than lose digits to underflow (a few hundred orders of magnitude above the smallest double).
SMALLEST_WEIGHT = 1e-250


@dataclass(frozen=True)
class Block:
    """A group of evidence variables whose rows are looked up together."""

    variables: tuple[str, ...]
    radices: tuple[int, ...]  # number of states + 1 (the last code is "unknown")
    table: np.ndarray  # (patterns, joint cause states), log space


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

    Notes
    -----
    Each block's table is stored as its change from the block's all-unknown
    row, stacked into one matrix of rows; ``base`` is the log prior over joint
    cause states. A case is ``base`` plus the rows of the blocks it answers.
    """

    def __init__(self, causes: Sequence[str], states: Mapping[str, Sequence[str]], blocks: Sequence[Block]):
        self.causes = tuple(causes)
        self.states = {name: tuple(s) for name, s in states.items()}
        self.variables = tuple(self.states)
        self.blocks = tuple(blocks)
        joint = np.arange(2 ** len(self.causes))
        # bit i of a joint index is the state of cause i (cause 0 is the lowest bit)
        self.presence = ((joint[:, None] >> np.arange(len(self.causes))[None, :]) & 1).astype(float)
        none_present = (joint == 0).astype(float)[None, :]
        self._presence_rows = np.ascontiguousarray(np.vstack([self.presence.T, none_present]))
        self._var_index = {name: i for i, name in enumerate(self.variables)}
        self._block_of = {}  # variable -> (block number, position in block)
        for b, block in enumerate(self.blocks):
            for k, name in enumerate(block.variables):
                self._block_of[name] = (b, k)
        self._place = [
            np.array([int(np.prod(block.radices[k + 1 :])) for k in range(len(block.radices))], dtype=np.int64)
            for block in self.blocks
        ]
        self._offsets = [int(x) for x in np.cumsum([0] + [block.table.shape[0] for block in self.blocks])]
        self._slots = []  # per variable: (block, place value of its digit, its unknown code)
        for name in self.variables:
            b, k = self._block_of[name]
            self._slots.append((b, int(self._place[b][k]), self.blocks[b].radices[k] - 1))
        unknown_rows = np.array([block.table[-1] for block in self.blocks])
        self.base = unknown_rows.sum(axis=0)
        with np.errstate(invalid="ignore"):
            deltas = [
                np.where(np.isfinite(block.table[-1]), block.table - block.table[-1], 0.0) for block in self.blocks
            ]
        self.rows = np.vstack(deltas)
        self._factors_made: dict[int, np.ndarray] = {}
        self._zero_rows = {int(self._offsets[b + 1] - 1) for b in range(len(self.blocks))}  # all-unknown rows

    @cached_property
    def _row_factors(self) -> np.ndarray:
        """``exp(rows)``: each answer as a factor on the joint (all at most 1: an answer only narrows)."""
        return np.exp(self.rows)

    def _factor(self, row: int) -> np.ndarray:
        """One row of :attr:`_row_factors`, made on first use (a command line run needs only a few)."""
        factor = self._factors_made.get(row)
        if factor is None:
            factor = self._factors_made[row] = np.exp(self.rows[row])
        return factor

    @cached_property
    def _base_weights(self) -> np.ndarray:
        """The prior over joint cause states, scaled to a maximum of 1."""
        return np.exp(self.base - self.base.max())

    # -- encoding --------------------------------------------------------------
    def encode(self, evidence: Mapping[str, str]) -> np.ndarray:
        """State codes of validated evidence in variable order; UNKNOWN where not given."""
        codes = np.full(len(self.variables), UNKNOWN, dtype=np.int64)
        for name, state in evidence.items():
            codes[self._var_index[name]] = self.states[name].index(state)
        return codes

    def answered_rows(self, codes: Sequence[int]) -> list[int]:
        """Global row of each block that the case answers (blocks left unknown add nothing)."""
        rows: dict[int, int] = {}
        for i in np.flatnonzero(np.asarray(codes) != UNKNOWN).tolist():
            b, step, unknown_code = self._slots[i]
            # each block's last row is all-unknown; an answer moves down from it by (unknown - code) steps
            rows[b] = rows.get(b, self._offsets[b + 1] - 1) - (unknown_code - int(codes[i])) * step
        return sorted(rows.values())  # ascending, the order the batch path adds them in

    def answered_row(self, codes: Sequence[int], b: int) -> int:
        """Global row of block ``b`` for the case (its all-unknown row when nothing in it is answered)."""
        row = self._offsets[b + 1] - 1
        for name in self.blocks[b].variables:
            i = self._var_index[name]
            if codes[i] != UNKNOWN:
                _, step, unknown_code = self._slots[i]
                row -= (unknown_code - int(codes[i])) * step
        return row

    def answered_by_block(self, codes: np.ndarray):
        """For each block some case answers: (block, those cases, the global row of each)."""
        codes = np.atleast_2d(codes)
        for b, block in enumerate(self.blocks):
            if not block.variables:
                continue
            columns = [self._var_index[name] for name in block.variables]
            radices = np.array(block.radices)
            digits = np.where(codes[:, columns] == UNKNOWN, radices - 1, codes[:, columns])
            answered = np.flatnonzero((digits != radices - 1).any(axis=1))
            if len(answered):
                yield b, answered, self._offsets[b] + digits[answered] @ self._place[b]

    # -- inference -------------------------------------------------------------
    def log_joint(self, codes: Sequence[int]) -> np.ndarray:
        """``log P(causes = j, evidence)`` for every joint state j of one case."""
        rows = self.answered_rows(codes)
        return self.base + self.rows[rows].sum(axis=0) if rows else self.base.copy()

    @staticmethod
    def normalise(log_joint: np.ndarray, evidence: Mapping[str, str] | str = "") -> tuple[np.ndarray, np.ndarray]:
        """Posterior over joint states and ``log P(evidence)``, per case (last axis)."""
        top = log_joint.max(axis=-1, keepdims=True)
        if not np.all(np.isfinite(top)):
            raise ImpossibleEvidenceError(impossible_message(evidence))
        weights = np.exp(log_joint - top)
        mass = weights.sum(axis=-1, keepdims=True)
        return weights / mass, (top + np.log(mass))[..., 0]

    def joint_posterior(self, evidence: Mapping[str, str]) -> tuple[np.ndarray, float]:
        """Posterior over joint cause states and ``log P(evidence)`` for one case."""
        log_joint = self.log_joint(self.encode(evidence))
        joint, log_evidence = self.normalise(log_joint, evidence)
        return joint, float(log_evidence)

    def posterior(self, evidence: Mapping[str, str]) -> dict[str, float]:
        """``{cause: P(cause present | evidence)}`` for validated evidence."""
        return self.posterior_and_none(evidence)[0]

    def posterior_and_none(self, evidence: Mapping[str, str]) -> tuple[dict[str, float], float]:
        """``{cause: P(cause present | evidence)}`` and P(no listed cause present | evidence)."""
        codes = self.encode(evidence)
        weights = self._base_weights.copy()
        for row in self.answered_rows(codes):
            weights *= self._factor(row)
        if not weights.max() > SMALLEST_WEIGHT:
            weights = self._weights_in_log_space(codes, evidence)
        *marginals, none = self.project(weights).tolist()
        return dict(zip(self.causes, marginals)), none

    def posterior_codes(self, codes: np.ndarray, chunk: int = 256) -> np.ndarray:
        """P(cause present | evidence) for coded cases: (cases, causes); see :meth:`marginals_codes`."""
        return self.marginals_codes(codes, chunk)[:, :-1]

    def marginals_codes(self, codes: np.ndarray, chunk: int = 256) -> np.ndarray:
        """P(cause present | evidence) for coded cases, then P(no listed cause): (cases, causes + 1).

        In log space: the answered rows of each case are summed by one sparse
        matrix product, then shifted and exponentiated in place, in chunks small
        enough to stay in cache. Every step is row by row in a fixed order, so a
        case gets the same digits in any chunk; against :meth:`posterior` (which
        multiplies factors instead) digits may differ in the last place.
        """
        codes = np.atleast_2d(codes)
        out = np.empty((len(codes), len(self.causes) + 1))
        for start in range(0, len(codes), chunk):
            log_joint = self.row_indicator(codes[start : start + chunk]) @ self.rows
            log_joint += self.base
            top = log_joint.max(axis=1, keepdims=True)
            if not np.all(np.isfinite(top)):
                self.normalise(log_joint)  # raises the impossible-evidence error
            log_joint -= top
            np.exp(log_joint, out=log_joint)
            out[start : start + chunk] = self.project(log_joint)
        return out

    def row_indicator(self, codes: np.ndarray):
        """Sparse (cases x rows) matrix of the rows each case answers, in ascending order."""
        from scipy.sparse import csr_matrix

        codes = np.atleast_2d(codes)
        found = list(self.answered_by_block(codes))
        case_ids = np.concatenate([cases for _, cases, _ in found]) if found else np.zeros(0, dtype=np.int64)
        row_ids = np.concatenate([rows for _, _, rows in found]) if found else np.zeros(0, dtype=np.int64)
        return csr_matrix((np.ones(len(case_ids)), (case_ids, row_ids)), shape=(len(codes), len(self.rows)))

    def _weights_in_log_space(self, codes: Sequence[int], evidence: Mapping[str, str] | str = "") -> np.ndarray:
        """Joint weights scaled to a maximum of 1, for evidence whose product would underflow."""
        log_joint = self.log_joint(codes)
        top = log_joint.max()
        if not np.isfinite(top):
            self.normalise(log_joint, evidence)  # raises the impossible-evidence error
        return np.exp(log_joint - top)

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

    # -- what-if rows for explanations and next questions -----------------------
    def without_each(self, codes: Sequence[int]) -> tuple[list[str], np.ndarray]:
        """For each answered variable, the log joint with that one answer left out."""
        names, joints = [], []
        for name in self.variables:
            if codes[self._var_index[name]] == UNKNOWN:
                continue
            reduced = np.array(codes, copy=True)
            reduced[self._var_index[name]] = UNKNOWN
            names.append(name)
            joints.append(self.log_joint(reduced))
        return names, np.array(joints).reshape(len(names), len(self.base))

    def answer_factors(self, codes: Sequence[int]) -> tuple[list[tuple[str, str]], np.ndarray]:
        """For each state of each unanswered variable, the factor the joint is multiplied by if given.

        ``P(causes, evidence + answer) = P(causes, evidence) * factor``; the factors
        are read off rows exponentiated once at start-up, so no logarithm or
        exponential is taken per question.
        """
        pairs, before_rows, after_rows = [], [], []
        for i in np.flatnonzero(np.asarray(codes) == UNKNOWN).tolist():
            name = self.variables[i]
            b, step, unknown_code = self._slots[i]
            before = self.answered_row(codes, b)
            for s, state in enumerate(self.states[name]):
                pairs.append((name, state))
                before_rows.append(before)
                after_rows.append(before - (unknown_code - s) * step)
        if not pairs:
            return [], np.zeros((0, len(self.base)))
        factors = self._row_factors[after_rows]
        shared = [i for i, row in enumerate(before_rows) if row not in self._zero_rows]
        if shared:
            before = self._row_factors[[before_rows[i] for i in shared]]
            # where the current evidence is impossible the joint is zero; any finite factor will do
            factors[shared] = np.divide(factors[shared], before, out=np.zeros_like(before), where=before > 0)
        return pairs, factors

    # -- persistence -----------------------------------------------------------
    def fits(self, causes: Sequence[str], states: Mapping[str, Sequence[str]]) -> bool:
        """Whether this engine speaks of exactly these causes and variables (a check on a stored engine)."""
        return (
            self.causes == tuple(causes)
            and self.states == {k: tuple(v) for k, v in states.items()}
            and all(b.table.shape[1] == 2 ** len(self.causes) for b in self.blocks)
        )

    def to_arrays(self) -> dict[str, np.ndarray]:
        arrays = {
            "causes": np.array(self.causes),
            "variables": np.array(self.variables),
            "states": np.array(["\t".join(self.states[v]) for v in self.variables]),
            "block_variables": np.array(["\t".join(b.variables) for b in self.blocks]),
        }
        for i, block in enumerate(self.blocks):
            arrays[f"table_{i}"] = block.table
            arrays[f"radices_{i}"] = np.array(block.radices)
        return arrays

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, np.ndarray]) -> Engine:
        variables = [str(v) for v in arrays["variables"]]
        states = {v: str(s).split("\t") for v, s in zip(variables, arrays["states"])}
        blocks = [
            Block(
                tuple(str(names).split("\t")) if str(names) else (),
                tuple(int(r) for r in arrays[f"radices_{i}"]),
                np.asarray(arrays[f"table_{i}"], dtype=float),
            )
            for i, names in enumerate(arrays["block_variables"])
        ]
        return cls([str(c) for c in arrays["causes"]], states, blocks)


class EngineStore(Protocol):
    """Somewhere compiled engines are kept between runs, by key (see :func:`engine_key`)."""

    def load(self, key: str) -> Mapping[str, np.ndarray] | None:
        """The arrays stored under ``key``, or None (missing, unreadable or not what was stored)."""

    def save(self, key: str, arrays: Mapping[str, np.ndarray]) -> None:
        """Keep ``arrays`` under ``key``; failing to keep them is not an error."""


def engine_key(tables: Mapping[str, object]) -> str:
    """A hash of the node tables an engine is compiled from, and of :data:`ENGINE_FORMAT`.

    The key covers the numbers themselves (every node's states, parents and
    table), so however a priors folder becomes numbers, other numbers give
    another key.
    """
    digest = hashlib.sha256(ENGINE_FORMAT.encode() + b"\0")
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
    exposures = sorted({p for c in group for p in _parents(factors, c) if p not in causes}, key=list(states).index)
    scope = sorted(set(group) | {p for c in group for p in _parents(factors, c) if p in causes}, key=list(causes).index)
    nodes = list(exposures) + group
    radices = tuple(len(states[x]) + 1 for x in exposures)
    local = np.zeros((int(np.prod(radices)) if radices else 1, 2 ** len(scope)))
    for pattern, codes in enumerate(itertools.product(*(range(r) for r in radices))):
        choices = [range(len(states[x])) if code == len(states[x]) else [code] for x, code in zip(exposures, codes)]
        for local_state in range(2 ** len(scope)):
            assignment = {c: (local_state >> k) & 1 for k, c in enumerate(scope)}
            total = 0.0
            for exposure_states in itertools.product(*choices):
                assignment.update(zip(exposures, exposure_states))
                product = 1.0
                for node in nodes:
                    names, values = factors[node]
                    product *= values[tuple(assignment[n] for n in names)]
                total += product
            local[pattern, local_state] = total
    joint = np.arange(2 ** len(causes))
    local_index = np.zeros_like(joint)
    for k, c in enumerate(scope):
        local_index |= ((joint >> list(causes).index(c)) & 1) << k
    return Block(tuple(exposures), radices, _log(local[:, local_index]))


def _finding_block(factors: Factors, finding: str, causes: Sequence[str], states) -> Block:
    names, values = factors[finding]
    joint = np.arange(2 ** len(causes))
    parent_bits = tuple((joint >> list(causes).index(p)) & 1 for p in names[1:])
    rows = [values[(s, *parent_bits)] for s in range(len(states[finding]))]
    rows.append(np.ones(len(joint)))  # unknown: the finding sums out to 1
    return Block((finding,), (len(states[finding]) + 1,), _log(np.array(rows)))


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
    return Engine(causes, states, blocks)


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
