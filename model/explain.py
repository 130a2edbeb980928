"""Why a cause is ranked where it is: the signed weight of each answer.

The contribution of an answer to a cause is the change in that cause's
log-odds when that answer alone is removed from the evidence:
``logit P(cause | all answers) - logit P(cause | all answers but this one)``.
Positive supports the cause, negative conflicts with it, zero is neutral.
Contributions are exact (no sampling) but not additive: answers that share a
path through the network can share credit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass

import numpy as np

from .engine import Engine

NEUTRAL_TOLERANCE = 1e-9  # below floating-point noise of a log-odds difference


@dataclass(frozen=True)
class Contribution:
    variable: str
    state: str
    question: str
    contribution: float

    @property
    def direction(self) -> str:
        if self.contribution > NEUTRAL_TOLERANCE:
            return "supports"
        if self.contribution < -NEUTRAL_TOLERANCE:
            return "conflicts"
        return "neutral"

    def to_dict(self) -> dict:
        return {**asdict(self), "direction": self.direction}


def log_odds(engine: Engine, weights: np.ndarray, cause: str) -> np.ndarray:
    """``log P(cause present, e) - log P(cause absent, e)`` from joint weights (last axis; any scale)."""
    present = engine.presence[:, engine.causes.index(cause)]
    with np.errstate(divide="ignore"):
        return np.log(weights @ present) - np.log(weights @ (1.0 - present))


def explain(
    engine: Engine, evidence: Mapping[str, str], cause: str, questions: Mapping[str, str]
) -> list[Contribution]:
    """Each answer's contribution to ``cause``, largest magnitude first."""
    codes = engine.encode(evidence)
    full, _ = engine.weights(codes, evidence)  # raises on impossible evidence
    names, without = engine.without_each(codes)
    if not names:
        return []
    with np.errstate(invalid="ignore"):
        change = log_odds(engine, full, cause) - log_odds(engine, without, cause)
    items = [Contribution(name, evidence[name], questions[name], float(c)) for name, c in zip(names, change)]
    return sorted(items, key=lambda item: (-abs(item.contribution), item.variable))
