"""Which unanswered question would tell the most about the causes.

For each unanswered variable, the expected information gain is the current
sum of the twelve causes' binary entropies minus its expectation over the
variable's answers, weighted by how likely each answer is given what is known
(in bits). Separately, the chance that the answer would raise the escalation
level. Unanswered red-flag questions (those of the most urgent rules) always
come first.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from twitchcause.priors import Priors

from .engine import Engine
from .escalation import level_rank, rule_fires


@dataclass(frozen=True)
class NextQuestion:
    variable: str
    question: str
    information_gain: float
    p_escalation_rises: float
    red_flag: bool

    def to_dict(self) -> dict:
        return asdict(self)


def red_flag_variables(priors: Priors) -> list[str]:
    """Variables whose answer alone can fire a rule of the most urgent level."""
    top = priors.levels[-1]
    return [name for rule in priors.escalation.rules if rule.level == top for name in rule.when]


def summed_entropy(marginals: np.ndarray) -> np.ndarray:
    """Sum over causes of the binary entropy (bits), along the last axis."""
    p = np.clip(marginals, 0.0, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = -(np.where(p > 0, p * np.log2(p), 0.0) + np.where(p < 1, (1 - p) * np.log2(1 - p), 0.0))
    return terms.sum(axis=-1)


def _ranks_after_answers(engine: Engine, priors: Priors, evidence: Mapping[str, str], pairs, marginals) -> list[int]:
    """The escalation rank after each answer: the same as :func:`level_rank`, computed in bulk.

    An answer can only change the rules that name its variable, so only those
    are re-run; posterior thresholds are compared for all answers at once.
    """
    order = {level: i for i, level in enumerate(priors.levels)}
    by_threshold = np.zeros(len(pairs), dtype=int)
    for rule in priors.escalation.posterior_thresholds:
        passed = marginals[:, engine.causes.index(rule.cause)] > priors.threshold(rule)
        by_threshold = np.maximum(by_threshold, np.where(passed, order[rule.level], 0))
    rules = priors.escalation.rules
    fired_now = [rule_fires(rule, evidence) for rule in rules]
    by_variable: dict[str, tuple[int, list]] = {}  # variable -> (rank of the rules it cannot change, its rules)
    by_rules = []
    for name, state in pairs:
        if name not in by_variable:
            names_it = [name in r.when or name in r.unless for r in rules]
            naming = [r for r, named in zip(rules, names_it) if named]
            others = max(
                (order[r.level] for r, f, named in zip(rules, fired_now, names_it) if f and not named), default=0
            )
            by_variable[name] = (others, naming)
        others, naming = by_variable[name]
        answered = {**evidence, name: state} if naming else evidence
        by_rules.append(max([others, *(order[r.level] for r in naming if rule_fires(r, answered))]))
    return [max(r, t) for r, t in zip(by_rules, by_threshold.tolist())]


def ask_next(engine: Engine, priors: Priors, evidence: Mapping[str, str], n: int | None = None) -> list[NextQuestion]:
    """Unanswered variables ranked: red flags first, then by information gain."""
    current, pairs, p_answer, marginals = engine.after_each_answer(engine.encode(evidence), evidence)
    if not pairs:
        return []
    entropy_after = summed_entropy(marginals)
    entropy_now = float(summed_entropy(current))

    rank_now = level_rank(priors, evidence, dict(zip(engine.causes, current)))
    ranks = _ranks_after_answers(engine, priors, evidence, pairs, marginals)
    gain: dict[str, float] = {}
    rises: dict[str, float] = {}
    for (name, _), p, after, rank in zip(pairs, p_answer.tolist(), entropy_after.tolist(), ranks):
        gain[name] = gain.get(name, entropy_now) - p * after
        rises[name] = rises.get(name, 0.0) + (p if rank > rank_now else 0.0)
    flags = set(red_flag_variables(priors))
    ranked = [
        NextQuestion(
            name,
            priors.variables[name].question,
            max(float(gain[name]), 0.0),
            min(float(rises[name]), 1.0),
            name in flags,
        )
        for name in gain
    ]
    ranked.sort(key=lambda q: (not q.red_flag, -q.information_gain, q.variable))
    return ranked if n is None else ranked[:n]
