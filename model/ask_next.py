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
    are re-run (for the few variables a rule names); posterior thresholds are
    compared for all answers at once.
    """
    order = {level: i for i, level in enumerate(priors.levels)}
    ranks = np.zeros(len(pairs), dtype=int)
    for rule in priors.escalation.posterior_thresholds:
        passed = marginals[:, engine.causes.index(rule.cause)] > priors.threshold(rule)
        ranks = np.maximum(ranks, np.where(passed, order[rule.level], 0))
    rules = priors.escalation.rules
    fired_now = [rule_fires(rule, evidence) for rule in rules]
    by_rules = np.full(len(pairs), max((order[r.level] for r, f in zip(rules, fired_now) if f), default=0))
    named = {name for r in rules for name in (*r.when, *r.unless)}
    for name in named & {name for name, _ in pairs}:
        naming = [name in r.when or name in r.unless for r in rules]
        others = max((order[r.level] for r, f, n in zip(rules, fired_now, naming) if f and not n), default=0)
        for k in [k for k, (variable, _) in enumerate(pairs) if variable == name]:
            answered = {**evidence, name: pairs[k][1]}
            by_rules[k] = max(
                [others, *(order[r.level] for r, n in zip(rules, naming) if n and rule_fires(r, answered))]
            )
    return np.maximum(ranks, by_rules).tolist()


def ask_next(engine: Engine, priors: Priors, evidence: Mapping[str, str], n: int | None = None) -> list[NextQuestion]:
    """Unanswered variables ranked: red flags first, then by information gain."""
    current, pairs, p_answer, marginals = engine.after_each_answer(engine.encode(evidence), evidence)
    if not pairs:
        return []
    entropy_now = float(summed_entropy(current))
    rank_now = level_rank(priors, evidence, dict(zip(engine.causes, current)))
    rises_level = np.array(_ranks_after_answers(engine, priors, evidence, pairs, marginals)) > rank_now
    names = [name for name, _ in pairs]
    starts = [k for k, name in enumerate(names) if k == 0 or name != names[k - 1]]  # pairs come variable by variable
    expected_after = np.add.reduceat(p_answer * summed_entropy(marginals), starts)
    rises = np.add.reduceat(np.where(rises_level, p_answer, 0.0), starts)
    flags = set(red_flag_variables(priors))
    ranked = [
        NextQuestion(
            names[k],
            priors.variables[names[k]].question,
            max(entropy_now - after, 0.0),
            min(p, 1.0),
            names[k] in flags,
        )
        for k, after, p in zip(starts, expected_after.tolist(), rises.tolist())
    ]
    ranked.sort(key=lambda q: (not q.red_flag, -q.information_gain, q.variable))
    return ranked if n is None else ranked[:n]
