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


def _log_sum(log_values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    chosen = np.where(mask, log_values, -np.inf)
    top = chosen.max(axis=-1, keepdims=True)
    safe_top = np.where(np.isfinite(top), top, 0.0)
    with np.errstate(divide="ignore"):
        return (safe_top + np.log(np.exp(chosen - safe_top).sum(axis=-1, keepdims=True)))[..., 0]


def log_odds(engine: Engine, log_joint: np.ndarray, cause: str) -> np.ndarray:
    """``log P(cause present, e) - log P(cause absent, e)`` along the last axis."""
    present = engine.presence[:, engine.causes.index(cause)].astype(bool)
    return _log_sum(log_joint, present) - _log_sum(log_joint, ~present)


def explain(
    engine: Engine, evidence: Mapping[str, str], cause: str, questions: Mapping[str, str]
) -> list[Contribution]:
    """Each answer's contribution to ``cause``, largest magnitude first."""
    codes = engine.encode(evidence)
    full = engine.log_joint(codes)
    engine.normalise(full, evidence)  # raises on impossible evidence
    names, without = engine.without_each(codes)
    if not names:
        return []
    change = log_odds(engine, full, cause) - log_odds(engine, without, cause)
    items = [Contribution(name, evidence[name], questions[name], float(c)) for name, c in zip(names, change)]
    return sorted(items, key=lambda item: (-abs(item.contribution), item.variable))
