"""What would help: counterfactual effects of changing one risky answer, given everything answered.

For an exposure answered in a risky state (``changes.yaml``), the question is
not "how likely would the causes be for someone who answered the safer
state" (an intervention on a new person) but "for this person, with all they
told us, how likely would the causes it feeds still be at work had the
exposure been the safer one?" That is a counterfactual, computed on the twin
network of the noisy-ORs (Richens, Lee & Johri, Nature Communications 11,
3923, 2020, whose "expected disablement" ranks treatments by how many active
causes they would switch off).

A noisy-OR cause is ``c = L or U_1 or U_2 ...``: a leak ``L`` and, for every
parent in a state with an effect, a latent switch ``U`` that is on with that
state's link probability. The factual answers fix which switches were in
play and whether ``c`` was on; in the counterfactual world the same switches
stay as they were (conditioned on the factual ``c``), the changed exposure's
switch is replaced by the one of its safer state (fresh, as it was never in
play), and a cause parent such as dehydration passes on its own
counterfactual value. Only the causes in the changed exposure's block (the
causes sharing exposures with it) can change; the rest of the network weighs
each factual state of that block through the evidence.

Examples
--------
>>> from twitchcause import model
>>> m = model.load()
>>> help = m.what_would_help({"caffeine_intake": "high", "sleep": "adequate"})
>>> help[0].variable, help[0].change_to
('caffeine_intake', 'none')
>>> help[0].after["caffeine"] < help[0].before["caffeine"]
True
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .engine import Engine

if TYPE_CHECKING:
    from twitchcause.priors import Priors


@dataclass(frozen=True)
class Help:
    """One change and what it would do: P(cause at work) before and after, for the causes it can switch off."""

    variable: str
    state: str
    change_to: str
    action: str
    causes: tuple[str, ...]
    before: dict[str, float]
    after: dict[str, float]
    expected_drop: float  # expected number of active causes the change would switch off
    none_identified_after: float
    source: str
    quote: str

    def to_dict(self) -> dict:
        return {
            "variable": self.variable,
            "state": self.state,
            "change_to": self.change_to,
            "action": self.action,
            "causes": list(self.causes),
            "before": dict(self.before),
            "after": dict(self.after),
            "expected_drop": self.expected_drop,
            "none_identified_after": self.none_identified_after,
            "source": self.source,
            "quote": self.quote,
        }


def _p_off(p) -> float:
    """P(every switch off) for switches on with probabilities ``p`` (short lists: plain floats, no numpy)."""
    return math.prod(1.0 - x for x in p)


class _Cause:
    """One noisy-OR cause of a block, read off the engine's own table of it: its leak and each parent state's link.

    The leak is P(on) with every parent in its first state; a parent state's
    link is what that state alone adds. The table must be a noisy-OR of these
    (the counterfactual's latent switches are a noisy-OR's); another table is
    an error, not a silent approximation.
    """

    def __init__(self, engine: Engine, name: str):
        names, table = engine.factors[name]
        parents = list(names[1:])
        stays_off = np.asarray(table[0], dtype=float)
        first = (0,) * len(parents)
        self.name = name
        self.leak = 1.0 - float(stays_off[first])
        self.states = {p: engine.states.get(p) for p in parents}  # None for a cause parent: absent, present
        self.links: dict[str, list[float]] = {}  # per parent, the link of each state by its index
        rebuilt = np.full(stays_off.shape, 1.0 - self.leak)
        for axis, parent in enumerate(parents):
            along = np.array([stays_off[first[:axis] + (k,) + first[axis + 1 :]] for k in range(stays_off.shape[axis])])
            link = 1.0 - along / (1.0 - self.leak) if self.leak < 1.0 else np.zeros(len(along))
            self.links[parent] = link.tolist()
            shape = [1] * len(parents)
            shape[axis] = len(link)
            rebuilt = rebuilt * (1.0 - link).reshape(shape)
        links = np.concatenate([[self.leak], *self.links.values()])
        if np.any(links < -1e-12) or np.any(links > 1.0) or not np.allclose(rebuilt, stays_off, rtol=0.0, atol=1e-12):
            raise ValueError(f"the table of '{name}' is not a noisy-OR of its parents; what would help needs one")

    def stays_off(self, values: Mapping[str, object]) -> float:
        """P(c = 0) given its parents' values (exposure states, cause parents as 0/1)."""
        return _p_off([self.leak, *(self._link(p, values[p]) for p in self.links)])

    def _link(self, parent: str, value) -> float:
        """The link of a parent's value: an exposure's state, or a cause parent's 0/1."""
        return self.links[parent][self.states[parent].index(value) if isinstance(value, str) else value]

    def off_after(self, was_on: int, factual: Mapping[str, object], counterfactual: Mapping[str, object]) -> float:
        """P(c' = 0) given the factual c and parents, and the counterfactual parents (twin network)."""
        shared, only_factual, fresh = [self.leak], [], []
        for parent in self.links:
            before, after = factual[parent], counterfactual[parent]
            link_before, link_after = self._link(parent, before), self._link(parent, after)
            if before == after:
                shared.append(link_before)  # the same switch in both worlds
            else:  # another state (or a cause parent that changed): a switch of each world's own
                only_factual.append(link_before)
                fresh.append(link_after)
        if not was_on:
            return _p_off(fresh)  # every switch in play was off; only the new ones can turn c on
        on = 1.0 - _p_off(shared + only_factual)
        if on <= 0.0:
            return _p_off(fresh)
        return _p_off(shared) * (1.0 - _p_off(only_factual)) / on * _p_off(fresh)


class _BlockTables:
    """One block's twin-network tables for every change of an exposure in it, over every full assignment
    of the block's exposures (mixed radix, the first exposure most significant): the factual probability
    of each state of the block's scope, and each change's probability of each counterfactual state."""

    def __init__(self, engine: Engine, b: int, changes: Mapping[str, object]):
        block = engine.blocks[b]
        n = len(engine.causes)
        self.b = b
        self.local = block.local_index(n)
        scope = [engine.causes[i] for i in block.scope]
        group = [c for c in scope if c in block.nodes]  # causes whose tables this block holds; others stay as they are
        causes = {c: _Cause(engine, c) for c in group}
        order = _topological(group, causes)
        self.exposures = list(block.variables)
        self.states = [engine.states[x] for x in self.exposures]
        self.context = [  # each exposure's prior, read off the engine's own table of it
            np.asarray(engine.factors[x][1], dtype=float) for x in self.exposures
        ]
        size = 2 ** len(scope)
        on = [{c: (g >> k) & 1 for k, c in enumerate(scope)} for g in range(size)]
        self.on = np.array([[on[g][c] for c in group] for g in range(size)], dtype=float)  # (scope states, group)
        self.alone = np.array([sum(((g >> k) & 1) << block.scope[k] for k in range(len(scope))) for g in range(size)])
        assignments = [dict(zip(self.exposures, combo)) for combo in itertools.product(*self.states)]
        self.factual = np.zeros((len(assignments), size))
        for a, values in enumerate(assignments):
            for g in range(size):
                p_g = 1.0
                for c in group:
                    off = causes[c].stays_off({**values, **on[g]})
                    p_g *= (1.0 - off) if on[g][c] else off
                self.factual[a, g] = p_g
        self.group = group
        self.changes = {}  # variable -> (change, the causes it feeds, (assignments, scope states, scope states after))
        for variable, change in changes.items():
            after = np.zeros((len(assignments), size, size))
            for a, values in enumerate(assignments):
                counterfactual_exposures = {**values, variable: change.safer}
                for g in range(size):
                    if self.factual[a, g] == 0.0:
                        continue
                    factual = {**values, **on[g]}
                    for g_after in range(size):
                        if any(on[g_after][c] != on[g][c] for c in scope if c not in group):
                            continue
                        counterfactual = {**counterfactual_exposures, **on[g_after]}
                        p = 1.0
                        for c in order:
                            off = causes[c].off_after(on[g][c], factual, counterfactual)
                            p *= (1.0 - off) if on[g_after][c] else off
                            if p == 0.0:
                                break
                        after[a, g, g_after] = p
            fed: list[str] = []  # the causes the exposure feeds, directly or through a cause it feeds
            for c in order:
                if variable in causes[c].links or any(q in fed for q in causes[c].links):
                    fed.append(c)
            self.changes[variable] = (change, fed, after)

    def assignment_weights(self, evidence: Mapping[str, str]) -> np.ndarray:
        """P(the block's unanswered exposures take each full assignment), 0 where it contradicts an answer."""
        weights = np.ones(1)
        for x, states, prior in zip(self.exposures, self.states, self.context):
            answered = evidence.get(x)
            factor = prior if answered is None else (np.arange(len(states)) == states.index(answered)).astype(float)
            weights = np.multiply.outer(weights, factor).ravel()
        return weights


class Counterfactuals:
    """What would help, compiled once for an engine and its priors (see :func:`what_would_help`)."""

    def __init__(self, engine: Engine, priors: Priors):
        if engine.factors is None:
            raise ValueError("this engine carries no node tables; what would help reads the causes' tables")
        self.engine = engine
        self.by_block: dict[int, dict[str, object]] = {}
        for variable, change in priors.changes.items():
            b = next(i for i, block in enumerate(engine.blocks) if variable in block.variables)
            self.by_block.setdefault(b, {})[variable] = change
        self.block_of = {variable: b for b, changes in self.by_block.items() for variable in changes}
        self._blocks: dict[int, _BlockTables] = {}  # compiled on first use: a one-case command needs one or two

    def tables(self, b: int) -> _BlockTables:
        """Block ``b``'s twin-network tables, compiled on first use and kept."""
        found = self._blocks.get(b)
        if found is None:
            found = self._blocks[b] = _BlockTables(self.engine, b, self.by_block[b])
        return found

    def what_would_help(self, evidence: Mapping[str, str]) -> list[Help]:
        """Every change that applies to ``evidence`` (validated), most active causes switched off first."""
        risky = {}
        for variable, b in self.block_of.items():
            if evidence.get(variable) in self.by_block[b][variable].risky:
                risky.setdefault(b, []).append(variable)
        if not risky:
            return []
        engine = self.engine
        codes = engine.encode(evidence)
        patterns = engine.patterns(codes)
        # log P(causes, evidence) over the joint, as the engine weighs the case; each block with a risky
        # answer then taken out (a joint state the weights underflow holds under e**-745 of the rest too)
        weights, scale = engine.weights(codes, evidence)
        with np.errstate(divide="ignore"):
            total = np.log(weights) + scale
        out = []
        for b, variables in risky.items():
            tables = self.tables(b)
            rest_weights = self._rest(patterns, total, b, tables.local, evidence)
            rest = np.bincount(tables.local, weights=rest_weights, minlength=tables.factual.shape[1])
            rest_alone = rest_weights[tables.alone]  # every cause outside the scope absent
            factual = tables.assignment_weights(evidence)[:, None] * tables.factual  # (assignments, scope states)
            weighted, weighted_alone = factual * rest, factual * rest_alone
            mass = weighted.sum()
            before = weighted.sum(axis=0) @ tables.on / mass
            for variable in variables:
                change, fed, after_states = tables.changes[variable]
                after = np.einsum("ag,agh->h", weighted, after_states) @ tables.on / mass
                none_after = np.einsum("ag,ag->", weighted_alone, after_states[:, :, 0]) / mass
                index = {c: k for k, c in enumerate(tables.group)}
                out.append(
                    Help(
                        variable=variable,
                        state=evidence[variable],
                        change_to=change.safer,
                        action=change.action,
                        causes=tuple(fed),
                        before={c: float(before[index[c]]) for c in fed},
                        after={c: float(after[index[c]]) for c in fed},
                        expected_drop=float((before - after).sum()),
                        none_identified_after=float(none_after),
                        source=change.source,
                        quote=change.quote,
                    )
                )
        return sorted(out, key=lambda h: (-h.expected_drop, h.variable))

    def _rest(self, patterns: np.ndarray, total: np.ndarray, b: int, local: np.ndarray, evidence) -> np.ndarray:
        """The rest of the network without block ``b``, as weights over the joint (largest 1)."""
        engine = self.engine
        n = len(engine.causes)
        own = engine.blocks[b].table[patterns[b]][local]
        if np.all(np.isfinite(own)):
            rest = total - own
        else:  # a zero in the block's own row: subtracting -inf would give nan, so add the others up
            rest = np.zeros(2**n)
            for other, block in enumerate(engine.blocks):
                if other != b:
                    rest += block.table[patterns[other]][block.local_index(n)]
        top = rest.max()
        if not np.isfinite(top):
            from .errors import ImpossibleEvidenceError, impossible_message

            raise ImpossibleEvidenceError(impossible_message(evidence))
        return np.exp(rest - top)


def what_would_help(engine: Engine, priors: Priors, evidence: Mapping[str, str]) -> list[Help]:
    """Every change of ``changes.yaml`` that applies to ``evidence``, most active causes switched off first.

    Every number comes from ``engine``'s own tables (``Engine.factors``), the
    ones its posteriors are computed from; ``priors`` gives only the changes.
    Compiles the tables each time; :class:`Counterfactuals` keeps them for many cases.

    Raises
    ------
    ValueError
        When the engine carries no node tables, or a cause's table is not a noisy-OR.
    """
    return Counterfactuals(engine, priors).what_would_help(evidence)


def _topological(group: list[str], causes: Mapping[str, _Cause]) -> list[str]:
    done: list[str] = []
    while len(done) < len(group):
        for c in group:
            if c not in done and all(q in done or q not in group for q in causes[c].links):
                done.append(c)
    return done


__all__ = ["Counterfactuals", "Help", "what_would_help"]
