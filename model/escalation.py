"""Deterministic escalation: rules on the answers first, posterior thresholds second.

A rule that fires can only raise the level; probabilities never lower what a
red-flag rule decided.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from twitchcause.priors import Priors


@dataclass(frozen=True)
class Reason:
    """One rule that fired: its id, the level it asks for, and why."""

    rule: str
    level: str
    message: str
    source: str
    quote: str

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Escalation:
    level: str
    reasons: tuple[Reason, ...]

    def to_dict(self) -> dict:
        return {"level": self.level, "reasons": [r.to_dict() for r in self.reasons]}


def _matches(condition: Mapping[str, list[str]], evidence: Mapping[str, str]) -> bool:
    return all(evidence.get(name) in states for name, states in condition.items())


def rule_fires(rule, evidence: Mapping[str, str]) -> bool:
    """Whether ``rule`` fires on ``evidence``: every ``when`` condition holds and no ``unless`` condition does.

    An unanswered variable never matches.
    """
    return _matches(rule.when, evidence) and not any(
        evidence.get(name) in states for name, states in rule.unless.items()
    )


def rule_reasons(priors: Priors, evidence: Mapping[str, str]) -> list[Reason]:
    """The deterministic rules that fire on ``evidence`` (no probability involved)."""
    return [
        Reason(rule.id, rule.level, rule.message, rule.source, rule.quote)
        for rule in priors.escalation.rules
        if rule_fires(rule, evidence)
    ]


def _passed_thresholds(priors: Priors, posterior: Mapping[str, float]) -> list:
    return [rule for rule in priors.escalation.posterior_thresholds if posterior[rule.cause] > priors.threshold(rule)]


def rule_rank(priors: Priors, evidence: Mapping[str, str]) -> int:
    """Rank (index in ``priors.levels``) the deterministic rules alone give ``evidence``."""
    order = {level: i for i, level in enumerate(priors.levels)}
    return max((order[rule.level] for rule in priors.escalation.rules if rule_fires(rule, evidence)), default=0)


def level_rank(priors: Priors, evidence: Mapping[str, str], posterior: Mapping[str, float]) -> int:
    """Rank (index in ``priors.levels``) of the level :func:`escalate` gives, without the reasons."""
    order = {level: i for i, level in enumerate(priors.levels)}
    by_posterior = max((order[rule.level] for rule in _passed_thresholds(priors, posterior)), default=0)
    return max(rule_rank(priors, evidence), by_posterior)


def escalate(priors: Priors, evidence: Mapping[str, str], posterior: Mapping[str, float]) -> Escalation:
    """The level for a case and every reason that fired, most urgent first."""
    reasons = rule_reasons(priors, evidence)
    reasons += [
        Reason(rule.id, rule.level, rule.message, rule.source, rule.quote)
        for rule in _passed_thresholds(priors, posterior)
    ]
    order = {level: i for i, level in enumerate(priors.levels)}
    reasons.sort(key=lambda r: -order[r.level])
    level = reasons[0].level if reasons else priors.levels[0]
    return Escalation(level, tuple(reasons))


def level_ranks(
    priors: Priors, codes: Mapping[str, np.ndarray], posterior: Mapping[str, np.ndarray], cases: int
) -> np.ndarray:
    """:func:`level_rank` of many cases at once, column by column (for batches).

    ``codes[name]`` holds each case's state of ``name`` as its index in the
    variable's states, negative when unanswered; a variable missing from
    ``codes`` is unanswered in every case. ``posterior[cause]`` holds each
    case's P(cause present). Returns the ranks (index in ``priors.levels``).
    """
    order = {level: i for i, level in enumerate(priors.levels)}

    def holds(name: str, states: list[str]) -> np.ndarray:
        column = codes.get(name)
        if column is None:
            return np.zeros(cases, dtype=bool)
        known = priors.variables[name].states
        return np.isin(column, [known.index(s) for s in states if s in known])

    ranks = np.zeros(cases, dtype=np.int64)
    for rule in priors.escalation.rules:
        fires = np.ones(cases, dtype=bool)
        for name, states in rule.when.items():
            fires &= holds(name, states)
        for name, states in rule.unless.items():
            fires &= ~holds(name, states)
        ranks[fires] = np.maximum(ranks[fires], order[rule.level])
    for rule in priors.escalation.posterior_thresholds:
        passed = np.asarray(posterior[rule.cause]) > priors.threshold(rule)
        ranks[passed] = np.maximum(ranks[passed], order[rule.level])
    return ranks
