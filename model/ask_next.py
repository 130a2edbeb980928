"""Which question to ask next: the interview's policy.

For each unanswered variable, the expected information gain is the current
sum of the twelve causes' binary entropies minus its expectation over the
variable's answers, weighted by how likely each answer is given what is known
(in bits). Separately, the chance that the answer would raise the escalation
level. Unanswered red-flag questions (those of the most urgent rules) always
come first.

:func:`next_question` is the interview: first every rule question that could
still raise the level (warning signs first), then the most informative question
until the gain falls below ``display.yaml``'s ``interview.stop_below_bits``. A
question answered or answered "not sure" is never asked again, and an ``unless``
question that could only hold back a rule that fired is not asked at all: the
interview never goes looking for the answer that would excuse a call for a
doctor (a person can still give it in the form).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, replace
from typing import TYPE_CHECKING, Literal

import numpy as np

if TYPE_CHECKING:
    from twitchcause.priors import Priors

from .engine import Engine
from .escalation import compiled_rules

Why = Literal["warning_sign", "level", "information"]


@dataclass(frozen=True)
class NextQuestion:
    """A question to ask, with what it would tell and why it comes now.

    ``why``: ``"warning_sign"`` (a red-flag question), ``"level"`` (its answer
    could change the level the rules give) or ``"information"`` (it tells the
    most about the causes).
    """

    variable: str
    question: str
    information_gain: float
    p_escalation_rises: float
    red_flag: bool
    why: Why = "information"

    def to_dict(self) -> dict:
        return asdict(self)


def red_flag_variables(priors: Priors) -> list[str]:
    """Variables whose answer alone can fire a rule of the most urgent level."""
    return list(compiled_rules(priors).red_flags)


def summed_entropy(marginals: np.ndarray) -> np.ndarray:
    """Sum over causes of the binary entropy (bits), along the last axis."""
    p = np.clip(marginals, 0.0, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = -(np.where(p > 0, p * np.log2(p), 0.0) + np.where(p < 1, (1 - p) * np.log2(1 - p), 0.0))
    return terms.sum(axis=-1)


def ranks_after_answers(priors: Priors, codes: np.ndarray, pairs, marginals: np.ndarray) -> np.ndarray:
    """The escalation rank after each ``(variable, state)`` answer, all at once.

    ``codes``: the case's rule codes (:meth:`CompiledRules.encode`, not-sure
    included); ``marginals``: P(cause | evidence, answer), (pairs, causes).
    """
    rules = compiled_rules(priors)
    after = np.repeat(codes[None, :], len(pairs), axis=0)
    column = {name: v for v, name in enumerate(rules.variables)}
    for k, (name, state) in enumerate(pairs):
        if name in column:
            after[k, column[name]] = priors.variables[name].states.index(state)
    return rules.ranks(after, marginals)


def ask_next(
    engine: Engine, priors: Priors, evidence: Mapping[str, str], n: int | None = None, not_sure: Iterable[str] = ()
) -> list[NextQuestion]:
    """Questions neither answered nor not sure, ranked: red flags first, then by information gain."""
    unsure = set(not_sure)
    current, pairs, p_answer, marginals = engine.after_each_answer(engine.encode(evidence), evidence)
    keep = [k for k, (name, _) in enumerate(pairs) if name not in unsure]
    if not keep:
        return []
    pairs = [pairs[k] for k in keep]
    p_answer, marginals = p_answer[keep], marginals[keep]
    rules = compiled_rules(priors)
    codes = rules.encode(evidence, unsure)
    rank_now = int(rules.ranks(codes, current)[0])
    rises_level = ranks_after_answers(priors, codes, pairs, marginals) > rank_now
    entropy_now = float(summed_entropy(current))
    names = [name for name, _ in pairs]
    starts = [k for k, name in enumerate(names) if k == 0 or name != names[k - 1]]  # pairs come variable by variable
    expected_after = np.add.reduceat(p_answer * summed_entropy(marginals), starts)
    rises = np.add.reduceat(np.where(rises_level, p_answer, 0.0), starts)
    flags = set(rules.red_flags)
    deciding = set(rules.pending(codes)) | set(rules.unless_that_matter(codes))
    ranked = [
        NextQuestion(
            names[k],
            priors.variables[names[k]].question,
            max(entropy_now - after, 0.0),
            min(p, 1.0),
            names[k] in flags,
            "warning_sign" if names[k] in flags else "level" if names[k] in deciding else "information",
        )
        for k, after, p in zip(starts, expected_after.tolist(), rises.tolist())
    ]
    ranked.sort(key=lambda q: (not q.red_flag, -q.information_gain, q.variable))
    return ranked if n is None else ranked[:n]


def next_question(
    engine: Engine, priors: Priors, evidence: Mapping[str, str], not_sure: Iterable[str] = ()
) -> NextQuestion | None:
    """The interview's next question, or None when it is done (see the module docstring)."""
    unsure = tuple(not_sure)
    ranked = ask_next(engine, priors, evidence, None, unsure)
    if not ranked:
        return None
    rules = compiled_rules(priors)
    codes = rules.encode(evidence, unsure)
    by_name = {q.variable: q for q in ranked}
    for name in rules.pending(codes):
        return by_name[name]
    excusing = set(rules.unless_that_matter(codes))
    informative = [q for q in ranked if q.variable not in excusing]
    if not informative:
        return None
    best = max(informative, key=lambda q: q.information_gain)
    if best.information_gain < priors.display["interview"]["stop_below_bits"]:
        return None
    return replace(best, why="information")
