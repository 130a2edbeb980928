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

import numpy as np

from priors import Priors

from .engine import Engine
from .escalation import level_rank


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


def ask_next(engine: Engine, priors: Priors, evidence: Mapping[str, str], n: int | None = None) -> list[NextQuestion]:
    """Unanswered variables ranked: red flags first, then by information gain."""
    codes = engine.encode(evidence)
    joint, _ = engine.normalise(engine.log_joint(codes), ", ".join(f"{k}={v}" for k, v in evidence.items()))
    current = joint @ engine.presence
    pairs, deltas = engine.answer_deltas(codes)
    if not pairs:
        return []
    weights = joint * np.exp(deltas)
    p_answer = weights.sum(axis=1)
    marginals = (weights / np.where(p_answer > 0, p_answer, 1.0)[:, None]) @ engine.presence
    entropy_after = summed_entropy(marginals)
    entropy_now = float(summed_entropy(current))

    rank_now = level_rank(priors, evidence, dict(zip(engine.causes, current)))
    gain: dict[str, float] = {}
    rises: dict[str, float] = {}
    for (name, state), p, after, marginal in zip(pairs, p_answer.tolist(), entropy_after.tolist(), marginals):
        gain[name] = gain.get(name, entropy_now) - p * after
        rank = level_rank(priors, {**evidence, name: state}, dict(zip(engine.causes, marginal.tolist())))
        rises[name] = rises.get(name, 0.0) + (p if rank > rank_now else 0.0)
    flags = set(red_flag_variables(priors))
    ranked = [NextQuestion(name, priors.variables[name].question, max(float(gain[name]), 0.0), min(float(rises[name]), 1.0),
                           name in flags) for name in gain]
    ranked.sort(key=lambda q: (not q.red_flag, -q.information_gain, q.variable))
    return ranked if n is None else ranked[:n]
