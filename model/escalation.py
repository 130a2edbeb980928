"""Deterministic escalation: rules on the answers first, posterior thresholds second.

A rule that fires can only raise the level; probabilities never lower what a
red-flag rule decided. "Not sure" is read the safe way: a not-sure variable
matches every ``when`` condition (the rule fires, with a reason saying so) and
no ``unless`` condition (it never holds a rule back).

The rules are compiled once into boolean tables over state codes
(:class:`CompiledRules`), the one home of their logic: a single case, a batch
and the what-ifs of ask-next all look their codes up in the same tables.
A code is a state's index in its variable's states, :data:`UNKNOWN` (-1) when
unanswered and :data:`NOT_SURE_CODE` (-2) when answered "not sure".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from twitchcause.priors import Priors

UNKNOWN = -1
NOT_SURE_CODE = -2
_SHIFT = 2  # a code's column in the tables: code + 2 (not sure, unknown, then the states)
# Cases looked up at once (cases x rules x variables booleans, about 1 MB)
_CHUNK = 8192


@dataclass(frozen=True)
class Reason:
    """One rule that fired: its id, the level it asks for, and why.

    ``not_sure`` is True when the rule fired only because a variable it names
    was answered "not sure"; ``message`` then says so.
    """

    rule: str
    level: str
    message: str
    source: str
    quote: str
    not_sure: bool = False

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Escalation:
    """The level, every reason that fired (most urgent first) and the rule questions still open.

    ``pending``: the variables named by rules that are neither answered nor not
    sure and whose answer could still call for a level above what the rules
    give now (warning signs first). A level is a verdict only when
    :attr:`settled`.
    """

    level: str
    reasons: tuple[Reason, ...]
    pending: tuple[str, ...] = ()

    @property
    def settled(self) -> bool:
        return not self.pending

    def to_dict(self) -> dict:
        return {
            "level": self.level,
            "reasons": [r.to_dict() for r in self.reasons],
            "pending": list(self.pending),
            "settled": self.settled,
        }


class CompiledRules:
    """The escalation rules as tables over state codes, built once per priors.

    Attributes
    ----------
    variables : tuple of str
        The variables the rules name, in vocabulary order (the columns of a code matrix).
    levels : ndarray
        Each rule's level as its rank (index in ``priors.levels``).
    """

    def __init__(self, priors: Priors):
        rules = priors.escalation.rules
        order = {level: i for i, level in enumerate(priors.levels)}
        named = {name for rule in rules for name in (*rule.when, *rule.unless)}
        self.priors = priors
        self.rules = tuple(rules)
        self.variables = tuple(name for name in priors.variables if name in named)
        self.levels = np.array([order[rule.level] for rule in rules], dtype=np.int64)
        width = _SHIFT + max(len(priors.variables[name].states) for name in self.variables)
        shape = (len(rules), len(self.variables), width)
        self._holds = np.ones(shape, dtype=bool)  # the `when` condition on this variable holds at this code
        self._could = np.ones(shape, dtype=bool)  # ... holds or may still hold (unknown)
        self._blocks = np.zeros(shape, dtype=bool)  # the `unless` condition holds
        self._names_when = np.zeros(shape[:2], dtype=bool)
        for r, rule in enumerate(rules):
            for name, states in rule.when.items():
                v = self.variables.index(name)
                listed = self._columns(name, states)
                self._holds[r, v] = False
                self._holds[r, v, listed] = True
                self._holds[r, v, NOT_SURE_CODE + _SHIFT] = True
                self._could[r, v] = self._holds[r, v]
                self._could[r, v, UNKNOWN + _SHIFT] = True
                self._names_when[r, v] = True
            for name, states in rule.unless.items():
                self._blocks[r, self.variables.index(name), self._columns(name, states)] = True
        self._columns_of = np.arange(len(self.variables))
        thresholds = priors.escalation.posterior_thresholds
        self.thresholds = tuple(thresholds)
        self._threshold_causes = np.array([list(priors.causes).index(t.cause) for t in thresholds], dtype=np.int64)
        self._threshold_cuts = np.array([priors.threshold(t) for t in thresholds], dtype=float)
        self._threshold_levels = np.array([order[t.level] for t in thresholds], dtype=np.int64)
        warning = [r for r in range(len(rules)) if self.levels[r] == len(priors.levels) - 1]
        self.red_flags = tuple(dict.fromkeys(name for r in warning for name in rules[r].when if name in self.variables))

    def _columns(self, name: str, states: Iterable[str]) -> list[int]:
        known = self.priors.variables[name].states
        return [known.index(s) + _SHIFT for s in states if s in known]

    # -- codes -------------------------------------------------------------------
    def encode(self, evidence: Mapping[str, str], not_sure: Iterable[str] = ()) -> np.ndarray:
        """One case's codes over :attr:`variables` (validated answers and not-sure names)."""
        unsure = set(not_sure)
        codes = np.full(len(self.variables), UNKNOWN, dtype=np.int64)
        for v, name in enumerate(self.variables):
            if name in unsure:
                codes[v] = NOT_SURE_CODE
            elif name in evidence:
                codes[v] = self.priors.variables[name].states.index(evidence[name])
        return codes

    def columns(self, codes: Mapping[str, np.ndarray], cases: int) -> np.ndarray:
        """Codes (cases x :attr:`variables`) from ``{variable: codes}``; a variable missing is unanswered."""
        out = np.full((cases, len(self.variables)), UNKNOWN, dtype=np.int64)
        for v, name in enumerate(self.variables):
            if name in codes:
                column = np.asarray(codes[name])
                out[:, v] = np.where((column < 0) & (column != NOT_SURE_CODE), UNKNOWN, column)
        return out

    # -- the rules ---------------------------------------------------------------
    def fires(self, codes: np.ndarray) -> np.ndarray:
        """Which rules fire (cases x rules) on codes (cases x :attr:`variables`), not-sure read safely."""
        codes = np.atleast_2d(codes)
        out = np.empty((len(codes), len(self.rules)), dtype=bool)
        for start in range(0, len(codes), _CHUNK):
            column = codes[start : start + _CHUNK] + _SHIFT
            holds = self._holds[:, self._columns_of, column].all(axis=-1)  # (rules, cases)
            blocked = self._blocks[:, self._columns_of, column].any(axis=-1)
            out[start : start + _CHUNK] = (holds & ~blocked).T
        return out

    def rule_ranks(self, codes: np.ndarray) -> np.ndarray:
        """The rank the rules alone give each case (cases,)."""
        fired = self.fires(codes)
        return np.where(fired, self.levels, 0).max(axis=1, initial=0)

    def posterior_ranks(self, posterior: np.ndarray) -> np.ndarray:
        """The rank the posterior thresholds give each case, from P(cause) (cases x causes)."""
        posterior = np.atleast_2d(posterior)
        passed = posterior[:, self._threshold_causes] > self._threshold_cuts
        return np.where(passed, self._threshold_levels, 0).max(axis=1, initial=0)

    def ranks(self, codes: np.ndarray, posterior: np.ndarray) -> np.ndarray:
        """The escalation rank of each case: rules and posterior thresholds together."""
        return np.maximum(self.rule_ranks(codes), self.posterior_ranks(posterior))

    def rank(self, evidence: Mapping[str, str], posterior: Mapping[str, float], not_sure: Iterable[str] = ()) -> int:
        """One case's escalation rank (index in ``priors.levels``), without the reasons."""
        matrix = np.array([[posterior[c] for c in self.priors.causes]])
        return int(self.ranks(self.encode(evidence, not_sure), matrix)[0])

    def pending(self, codes: np.ndarray) -> tuple[str, ...]:
        """One case's open rule questions: unanswered variables of rules that could still raise its rules' rank.

        Ordered by the level they could call for (warning signs first), then by
        the rules' order.
        """
        column = codes + _SHIFT
        fired = self.fires(codes)[0]
        now = int(np.where(fired, self.levels, 0).max(initial=0))
        could = self._could[:, self._columns_of, column].all(axis=-1) & ~self._blocks[:, self._columns_of, column].any(
            axis=-1
        )
        open_rules = np.flatnonzero(could & ~fired & (self.levels > now))
        if not len(open_rules):
            return ()
        open_rules = open_rules[np.argsort(-self.levels[open_rules], kind="stable")]
        asked = self._names_when[open_rules] & (codes == UNKNOWN)[None, :]
        return tuple(dict.fromkeys(self.variables[v] for r, v in zip(*np.nonzero(asked))))

    def unless_that_matter(self, codes: np.ndarray) -> tuple[str, ...]:
        """Unanswered ``unless`` variables whose answer could hold back a fired rule and so lower the level."""
        fired = self.fires(codes)[0]
        out = []
        for r in np.flatnonzero(fired).tolist():
            others = self.levels[np.flatnonzero(fired)[np.flatnonzero(fired) != r]]
            if others.size and others.max() >= self.levels[r]:
                continue
            for name in self.rules[r].unless:
                if codes[self.variables.index(name)] == UNKNOWN:
                    out.append(name)
        return tuple(dict.fromkeys(out))

    def escalate(
        self, evidence: Mapping[str, str], posterior: Mapping[str, float], not_sure: Iterable[str] = ()
    ) -> Escalation:
        """The level for one case, every reason that fired (most urgent first) and its open rule questions."""
        codes = self.encode(evidence, not_sure)
        fired, plainly = self.fires(np.vstack([codes, np.where(codes == NOT_SURE_CODE, UNKNOWN, codes)]))
        reasons = [
            Reason(
                rule.id,
                rule.level,
                rule.message if plainly[r] else rule.if_not_sure,
                rule.source,
                rule.quote,
                not plainly[r],
            )
            for r, rule in enumerate(self.rules)
            if fired[r]
        ]
        passed = self.posterior_ranks(np.array([[posterior[c] for c in self.priors.causes]]))
        if passed[0]:
            reasons += [
                Reason(t.id, t.level, t.message, t.source, t.quote)
                for t, cut in zip(self.thresholds, self._threshold_cuts)
                if posterior[t.cause] > cut
            ]
        order = {level: i for i, level in enumerate(self.priors.levels)}
        reasons.sort(key=lambda r: -order[r.level])
        level = reasons[0].level if reasons else self.priors.levels[0]
        return Escalation(level, tuple(reasons), self.pending(codes))


_COMPILED: dict[int, tuple[object, CompiledRules]] = {}


def compiled_rules(priors: Priors) -> CompiledRules:
    """The priors' rules compiled (once per rules object)."""
    key = id(priors.escalation)
    found = _COMPILED.get(key)
    if found is None or found[0] is not priors.escalation or found[1].priors is not priors:
        if len(_COMPILED) > 32:
            _COMPILED.clear()
        found = (priors.escalation, CompiledRules(priors))
        _COMPILED[key] = found
    return found[1]


def escalate(
    priors: Priors, evidence: Mapping[str, str], posterior: Mapping[str, float], not_sure: Iterable[str] = ()
) -> Escalation:
    """The level for a case, every reason that fired (most urgent first) and the rule questions still open."""
    return compiled_rules(priors).escalate(evidence, posterior, not_sure)


def level_ranks(
    priors: Priors, codes: Mapping[str, np.ndarray], posterior: Mapping[str, np.ndarray], cases: int
) -> np.ndarray:
    """The escalation rank of many cases at once (for batches).

    ``codes[name]`` holds each case's state of ``name`` as its index in the
    variable's states, :data:`UNKNOWN` when unanswered and :data:`NOT_SURE_CODE`
    when not sure; a variable missing from ``codes`` is unanswered in every
    case. ``posterior[cause]`` holds each case's P(cause present). Returns the
    ranks (index in ``priors.levels``).
    """
    rules = compiled_rules(priors)
    matrix = np.column_stack([np.asarray(posterior[c], dtype=float) for c in priors.causes]) if cases else None
    if not cases:
        return np.zeros(0, dtype=np.int64)
    return rules.ranks(rules.columns(codes, cases), matrix)
