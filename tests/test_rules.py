"""One home for the escalation rules: a single case, a batch and ask-next's what-ifs agree.

The reference below reads ``escalation.yaml`` literally, rule by rule, in plain
Python: a rule fires when every ``when`` variable has a listed state or is not
sure, and no ``unless`` variable has a listed state (unknown and not sure never
hold a rule back). No pgmpy: posteriors are drawn at random.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from twitchcause.model import NOT_SURE
from twitchcause.model.ask_next import ranks_after_answers
from twitchcause.model.escalation import NOT_SURE_CODE, UNKNOWN, compiled_rules, escalate, level_ranks
from twitchcause.priors import load_priors

PRIORS = load_priors()
ORDER = {level: i for i, level in enumerate(PRIORS.levels)}


def reference_fires(rule, evidence: dict[str, str], not_sure: set[str]) -> bool:
    meets = all(name in not_sure or evidence.get(name) in states for name, states in rule.when.items())
    held_back = any(evidence.get(name) in states for name, states in rule.unless.items())
    return meets and not held_back


def reference_rank(evidence, not_sure, posterior) -> int:
    by_rules = [ORDER[r.level] for r in PRIORS.escalation.rules if reference_fires(r, evidence, not_sure)]
    by_posterior = [
        ORDER[t.level] for t in PRIORS.escalation.posterior_thresholds if posterior[t.cause] > PRIORS.threshold(t)
    ]
    return max([0, *by_rules, *by_posterior])


def cases():
    """A case: answers (some not sure) and a posterior drawn at random."""
    answer = {name: st.sampled_from((*v.states, NOT_SURE)) for name, v in PRIORS.variables.items()}
    posterior = st.fixed_dictionaries({cause: st.floats(0, 1) for cause in PRIORS.causes})
    return st.tuples(st.fixed_dictionaries({}, optional=answer), posterior)


def split(answers: dict[str, str]) -> tuple[dict[str, str], set[str]]:
    return {n: s for n, s in answers.items() if s != NOT_SURE}, {n for n, s in answers.items() if s == NOT_SURE}


@settings(max_examples=150, deadline=None)
@given(case=cases())
def test_one_case_matches_the_rules_read_literally(case):
    answers, posterior = case
    evidence, not_sure = split(answers)
    esc = escalate(PRIORS, evidence, posterior, not_sure)
    assert ORDER[esc.level] == reference_rank(evidence, not_sure, posterior)
    fired = [r.id for r in PRIORS.escalation.rules if reference_fires(r, evidence, not_sure)]
    by_rule = {reason.rule: reason for reason in esc.reasons}
    assert sorted(set(by_rule) & {r.id for r in PRIORS.escalation.rules}) == sorted(fired)
    for rule in PRIORS.escalation.rules:
        if rule.id in by_rule:
            only_by_not_sure = not reference_fires(rule, evidence, set())
            assert by_rule[rule.id].not_sure == only_by_not_sure
            assert by_rule[rule.id].message == (rule.if_not_sure if only_by_not_sure else rule.message)


@settings(max_examples=60, deadline=None)
@given(batch=st.lists(cases(), min_size=1, max_size=8))
def test_a_batch_matches_one_case_at_a_time(batch):
    codes = {
        name: np.array(
            [
                NOT_SURE_CODE
                if answers.get(name) == NOT_SURE
                else v.states.index(answers[name])
                if name in answers
                else UNKNOWN
                for answers, _ in batch
            ]
        )
        for name, v in PRIORS.variables.items()
    }
    posterior = {cause: np.array([p[cause] for _, p in batch]) for cause in PRIORS.causes}
    ranks = level_ranks(PRIORS, codes, posterior, len(batch))
    assert ranks.tolist() == [reference_rank(*split(answers), p) for answers, p in batch]


@settings(max_examples=60, deadline=None)
@given(case=cases(), data=st.data())
def test_what_ifs_match_each_answer_given_in_turn(case, data):
    answers, _ = case
    evidence, not_sure = split(answers)
    open_names = [n for n in PRIORS.variables if n not in answers]
    pairs = [(n, s) for n in open_names for s in PRIORS.variables[n].states]
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    marginals = rng.random((len(pairs), len(PRIORS.causes)))
    codes = compiled_rules(PRIORS).encode(evidence, not_sure)
    got = ranks_after_answers(PRIORS, codes, pairs, marginals)
    expected = [
        reference_rank({**evidence, n: s}, not_sure, dict(zip(PRIORS.causes, row)))
        for (n, s), row in zip(pairs, marginals.tolist())
    ]
    assert got.tolist() == expected


@settings(max_examples=150, deadline=None)
@given(case=cases())
def test_pending_names_exactly_the_rule_questions_that_could_raise_the_rules_level(case):
    answers, _ = case
    evidence, not_sure = split(answers)
    pending = escalate(PRIORS, evidence, dict.fromkeys(PRIORS.causes, 0.0), not_sure).pending
    now = reference_rank(evidence, not_sure, dict.fromkeys(PRIORS.causes, 0.0))
    expected = set()
    for name in {n for r in PRIORS.escalation.rules for n in r.when} - set(answers):
        # could some answer to this question (the others still open taken at their worst) fire a higher rule?
        for state in PRIORS.variables[name].states:
            unanswered = set(PRIORS.variables) - set(answers) - {name}
            if (
                reference_rank({**evidence, name: state}, not_sure | unanswered, dict.fromkeys(PRIORS.causes, 0.0))
                > now
            ):
                if any(
                    name in r.when
                    and ORDER[r.level] > now
                    and reference_fires(r, {**evidence, name: state}, not_sure | unanswered)
                    for r in PRIORS.escalation.rules
                ):
                    expected.add(name)
    assert set(pending) == expected
    levels_of = [max(ORDER[r.level] for r in PRIORS.escalation.rules if name in r.when) for name in pending]
    assert levels_of == sorted(levels_of, reverse=True)  # warning signs first
