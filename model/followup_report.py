"""What a diary says: drivers with intervals, did each change help, what to try next, and the level.

:func:`follow_up` reads a diary with the exact inference of :mod:`.followup` and adds the
documents' time rules of ``followup.yaml`` (the twitch persisting or worse despite the changes
made) to what the latest check-in alone calls for; the level is never below the latter.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np

from .escalation import Reason
from .followup import (
    NOT_SURE,
    BlockRows,
    CheckIn,
    DiaryError,
    Plan,
    _check_in_log_likelihood,
    driver_log_posterior,
    driver_posteriors,
    marginals,
    parents,
    parse_diary,
    plan,
    settling,
)

if TYPE_CHECKING:
    from twitchcause.priors import Priors

    from .api import Model


@dataclass(frozen=True)
class ChangeOutcome:
    """Did a change help? The twitch before and after it, the drivers it feeds, and what was predicted."""

    variable: str
    action: str
    made_after: dt.date  # the check-in after which the change was made
    causes: tuple[str, ...]  # the causes it takes a trigger from
    twitch_before: str | None
    twitch_after: str | None
    days: int  # from the change to the latest check-in since
    driver_before: float  # P(one of ``causes`` is a driver) from the check-ins up to the change
    driver_now: float  # the same from the whole diary
    predicted: dict[str, tuple[float, float]]  # cause -> (P at work, P at work had it been changed) then
    summary: str

    def to_dict(self) -> dict:
        return {
            "variable": self.variable,
            "action": self.action,
            "made_after": self.made_after.isoformat(),
            "causes": list(self.causes),
            "twitch_before": self.twitch_before,
            "twitch_after": self.twitch_after,
            "days": self.days,
            "driver_before": self.driver_before,
            "driver_now": self.driver_now,
            "predicted": {c: {"before": b, "after": a} for c, (b, a) in self.predicted.items()},
            "summary": self.summary,
        }


@dataclass(frozen=True)
class NextChange:
    """A change not yet made, and how much its result at the next check-in would tell about the drivers."""

    variable: str
    action: str
    information_bits: float  # mutual information between the drivers and how the twitch will be
    twitch: dict[str, float]  # predicted P(how the twitch is then)
    source: str
    quote: str

    def to_dict(self) -> dict:
        return {
            "variable": self.variable,
            "action": self.action,
            "information_bits": self.information_bits,
            "twitch": dict(self.twitch),
            "source": self.source,
            "quote": self.quote,
        }


@dataclass(frozen=True)
class TimelineRow:
    """One check-in for a doctor: when, what was changed, how the twitch was, what moved, the top driver then."""

    date: dt.date
    day: int  # days since the first check-in
    changes: tuple[str, ...]  # the actions taken since the check-in before
    twitch: str | None
    moved: dict[str, tuple[str | None, str]]  # variable -> (answer before, answer now), new or changed answers
    top: str  # the most probable driver after this check-in
    p_top: float

    def to_dict(self) -> dict:
        return {
            "date": self.date.isoformat(),
            "day": self.day,
            "changes": list(self.changes),
            "twitch": self.twitch,
            "moved": {v: {"before": b, "now": a} for v, (b, a) in self.moved.items()},
            "top": self.top,
            "p_top": self.p_top,
        }


def timeline(model: Model, check_ins: Sequence[CheckIn], posteriors: np.ndarray) -> list[TimelineRow]:
    """The diary as a doctor reads it, from the drivers' posterior after each check-in (:func:`driver_posteriors`)."""
    by_check_in = marginals(model, posteriors)
    known: dict[str, str] = {}
    rows = []
    for check_in, now in zip(check_ins, by_check_in):
        moved = {v: (known.get(v), s) for v, s in check_in.answers.items() if known.get(v) != s}
        known.update(check_in.answers)
        top = int(np.argmax(now[:-1]))
        rows.append(
            TimelineRow(
                check_in.date,
                (check_in.date - check_ins[0].date).days,
                tuple(model.priors.changes[v].action for v in check_in.changes),
                check_in.twitch,
                moved,
                model.causes[top],
                float(now[top]),
            )
        )
    return rows


@dataclass(frozen=True)
class FollowUp:
    """What a diary says: each cause's probability of being this person's driver, what helped, what next."""

    check_ins: tuple[CheckIn, ...]
    drivers: dict[str, float]
    interval: dict[str, tuple[float, float]]
    none_identified: float  # P(no listed cause drives the twitching)
    changes: tuple[ChangeOutcome, ...]
    try_next: tuple[NextChange, ...]
    level: str
    reasons: tuple[Reason, ...]
    latest: object  # the latest check-in's Result (its answers alone)
    timeline: tuple[TimelineRow, ...] = ()

    @property
    def ranking(self) -> list[str]:
        return sorted(self.drivers, key=lambda c: -self.drivers[c])

    @property
    def pending(self) -> tuple[str, ...]:
        """The latest check-in's open rule questions: the level is a verdict only when there are none."""
        return self.latest.escalation.pending

    def to_dict(self) -> dict:
        from .api import DISCLAIMER

        return {
            "check_ins": [c.to_dict() for c in self.check_ins],
            "drivers": dict(self.drivers),
            "interval": {c: list(b) for c, b in self.interval.items()},
            "none_identified": self.none_identified,
            "ranking": self.ranking,
            "changes": [c.to_dict() for c in self.changes],
            "try_next": [n.to_dict() for n in self.try_next],
            "escalation": {
                "level": self.level,
                "reasons": [r.to_dict() for r in self.reasons],
                "pending": list(self.pending),
                "settled": not self.pending,
            },
            "timeline": [row.to_dict() for row in self.timeline],
            "latest": self.latest.to_dict(),
            "disclaimer": DISCLAIMER,
        }


def follow_up(model: Model, diary) -> FollowUp:
    """Read a diary (see :func:`parse_diary`) and say what it shows; see the module docstring."""
    check_ins = parse_diary(model, diary)
    if not check_ins:
        raise DiaryError("the diary has no check-in yet")
    engine, priors = model.engine, model.priors
    the_plan = plan(priors, engine, check_ins)
    posteriors = driver_posteriors(model, the_plan)  # after each check-in; the last is the whole diary's
    post = posteriors[-1]
    drivers = dict(zip(engine.causes, (post @ engine.presence).tolist()))
    drawn = np.exp(driver_log_posterior(model, the_plan, model.ensemble.tables)) @ engine.presence
    tail = (1.0 - priors.uncertainty.level.value) / 2.0
    low, high = np.quantile(drawn, [tail, 1.0 - tail], axis=0)
    interval = {c: (float(lo), float(hi)) for c, lo, hi in zip(engine.causes, low, high)}
    latest = check_ins[-1]
    told = {}  # what the diary itself says of the latest check-in's twitch, where that check-in does not
    lasted = duration_now(priors, check_ins)
    if lasted is not None:
        told["duration"] = lasted
    if latest.twitch is not None and len(check_ins) > 1 and "trend" not in latest.answers:
        told["trend"] = NOT_SURE if latest.twitch == NOT_SURE else priors.followup.twitch_as_trend[latest.twitch]
    # the latest check-in read with what the diary tells of it, and alone: the level is never below either
    result = model.infer(latest.real | told, not_sure=latest.not_sure)  # "not sure" read the safe way
    alone = model.infer(latest.real, not_sure=latest.not_sure) if told else result
    reasons = list(result.escalation.reasons)
    reasons += [r for r in alone.escalation.reasons if r.rule not in {k.rule for k in reasons}]
    reasons += diary_reasons(priors, check_ins, the_plan)
    order = {level: i for i, level in enumerate(priors.levels)}
    level = max([result.escalation.level, *(r.level for r in reasons)], key=order.__getitem__)
    reasons.sort(key=lambda r: -order[r.level])
    return FollowUp(
        check_ins=tuple(check_ins),
        drivers=drivers,
        interval=interval,
        none_identified=float(post[0]),
        changes=tuple(_outcomes(model, check_ins, the_plan, posteriors)),
        try_next=tuple(next_changes(model, check_ins, the_plan, post)),
        level=level,
        reasons=tuple(reasons),
        latest=result,
        timeline=tuple(timeline(model, check_ins, posteriors)),
    )


def duration_now(priors: Priors, check_ins: Sequence[CheckIn]) -> str | None:
    """How long the twitch has lasted at the latest check-in, when it does not say and the diary tells more.

    The latest check-in that gave ``duration`` (else the first check-in, from no time at all),
    advanced by the days since (``followup.yaml``'s ``duration_from_days``); None when the latest
    check-in answers it, the twitch is gone, or the days say no more than was answered.
    """
    latest = check_ins[-1]
    if "duration" in latest.answers or latest.twitch == "gone":
        return None
    states = priors.variables["duration"].states
    bounds = priors.followup.duration_from_days
    said = next((c for c in reversed(check_ins) if c.real.get("duration") in states), None)
    start, answered = (said.date, said.real["duration"]) if said else (check_ins[0].date, states[0])
    days = bounds.get(answered, 0.0) + (latest.date - start).days
    now = max((s for s in bounds if days >= bounds[s]), key=bounds.get, default=states[0])
    return now if states.index(now) > states.index(answered) else None


def _fed(model: Model, variable: str) -> tuple[str, ...]:
    """The causes a change of ``variable`` can settle: those it is a parent of."""
    return tuple(c for c in model.priors.followup.settles if variable in parents(model.engine, c))


def _share_with(post: np.ndarray, presence: np.ndarray, causes: Sequence[str], names) -> float:
    """P(at least one of ``names`` is a driver) under the joint posterior ``post``."""
    columns = [causes.index(c) for c in names]
    return float(post @ (presence[:, columns].sum(axis=1) > 0)) if columns else 0.0


def _outcomes(model: Model, check_ins, the_plan: Plan, posteriors: np.ndarray) -> list[ChangeOutcome]:
    engine, priors = model.engine, model.priors
    out = []
    for i, check_in in enumerate(check_ins):
        for variable in check_in.changes:
            before = check_ins[i - 1]
            causes = _fed(model, variable)
            after = [c for k, c in enumerate(check_ins) if k >= i and variable in the_plan.in_effect[k]]
            said = [c for c in after if c.twitch not in (None, NOT_SURE)]
            last = said[-1] if said else (after or [check_in])[-1]
            earlier = posteriors[i - 1]
            evidence = {**{k: v[0] for k, v in the_plan.baseline.items() if len(v) == 1}, **before.real}
            help_ = next((h for h in model.what_would_help(evidence) if h.variable == variable), None)
            predicted = {c: (h_b, help_.after[c]) for c, h_b in help_.before.items()} if help_ else {}
            outcome = ChangeOutcome(
                variable=variable,
                action=priors.changes[variable].action,
                made_after=before.date,
                causes=causes,
                twitch_before=before.twitch if before.twitch != NOT_SURE else None,
                twitch_after=last.twitch if last.twitch != NOT_SURE else None,
                days=(last.date - before.date).days,
                driver_before=_share_with(earlier, engine.presence, engine.causes, causes),
                driver_now=_share_with(posteriors[-1], engine.presence, engine.causes, causes),
                predicted=predicted,
                summary="",
            )
            out.append(_with_summary(outcome))
    return out


def _with_summary(o: ChangeOutcome) -> ChangeOutcome:
    """ "Did it help?" in words, from the numbers of the outcome."""
    names = " or ".join(c.replace("_", " ") for c in o.causes) or "no cause it feeds"
    moved = f"{names} is now {o.driver_now:.0%} likely to be a driver (it was {o.driver_before:.0%} before the change)"
    if o.predicted:
        cause, (was, would) = max(o.predicted.items(), key=lambda kv: kv[1][0] - kv[1][1])
        moved += (
            f"; from the answers of the check-in before it alone, the change was predicted to take"
            f" {cause.replace('_', ' ')} from {was:.0%} to {would:.0%}"
        )
    later = f"{o.days} day{'s' * (o.days != 1)} later"
    if o.twitch_after in ("gone", "better") and o.driver_now > o.driver_before:
        verdict = f"It seems to have helped: {later} the twitch is {o.twitch_after}"
    elif o.twitch_after in ("gone", "better"):
        verdict = f"{later} the twitch is {o.twitch_after}, but other causes explain that better"
    elif o.twitch_after in ("same", "worse"):
        verdict = f"No sign it helped yet: {later} the twitch is {o.twitch_after}"
    else:
        verdict = "Not known yet: say how the twitch is now at the next check-in"
    return replace(o, summary=f"{o.action}. {verdict}; {moved}.")


def _twitch_given_d(model: Model, q: np.ndarray) -> np.ndarray:
    """P(how the twitch is | D) for every joint state, ``(2**n, states)``: a check-in with no finding."""
    rows = BlockRows(model.engine)
    states = model.priors.followup.twitch_states
    return np.stack([np.exp(_check_in_log_likelihood(rows, model.priors, {}, q, s)[0]) for s in states], axis=1)


def _entropy(p: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return -np.where(p > 0, p * np.log2(p), 0.0).sum(axis=-1)


def next_changes(model: Model, check_ins, the_plan: Plan, post) -> list[NextChange]:
    """Each change not in effect whose exposure is risky now, by what its result would tell (bits)."""
    engine, priors = model.engine, model.priors
    effect = dict(the_plan.in_effect[-1])
    latest = check_ins[-1].date
    now = {**{k: v[0] for k, v in the_plan.baseline.items() if len(v) == 1}}
    for check_in in check_ins:
        now.update({k: v for k, v in check_in.real.items() if k in priors.changes})
    for variable in effect:
        now[variable] = priors.changes[variable].safer
    when = latest + dt.timedelta(days=priors.followup.next_check_in_days)
    out = []
    for variable, change in priors.changes.items():
        if variable in effect or now.get(variable) not in change.risky:
            continue
        q = settling(priors, engine, the_plan.baseline, {**effect, variable: latest}, when)
        table = _twitch_given_d(model, q)
        predicted = post @ table
        bits = float(_entropy(predicted) - post @ _entropy(table))
        states = list(priors.followup.twitch_states)
        out.append(
            NextChange(
                variable, change.action, bits, dict(zip(states, predicted.tolist())), change.source, change.quote
            )
        )
    return sorted(out, key=lambda c: (-c.information_bits, c.variable))


# -- the documents' time rules over a diary ------------------------------------------------
def diary_reasons(priors: Priors, check_ins: Sequence[CheckIn], the_plan: Plan) -> list[Reason]:
    """The rules of ``followup.yaml`` that fire at the latest check-in (no probability involved).

    A "not sure" about how the twitch is now is read the safe way: as still there.
    """
    latest, first = check_ins[-1], check_ins[0]
    effect = the_plan.in_effect[-1]
    out = []
    for rule in priors.followup.rules:
        counted = [v for v in effect if not rule.changes_among or v in rule.changes_among]
        if len(counted) < rule.changes_at_least:
            continue
        if (latest.date - min(effect[v] for v in counted)).days < rule.after_days.value:
            continue
        unsure = latest.twitch == NOT_SURE
        rose = [v for v in rule.rose if _rank(priors, latest.real, v) > _rank(priors, first.real, v) >= 0]
        if latest.twitch in rule.twitch or unsure or rose:
            only_not_sure = unsure and not rose
            message = rule.message
            if only_not_sure:
                message = f"You were not sure how the twitch is now; read as still there. {message}"
            out.append(Reason(rule.id, rule.level, message, rule.source, rule.quote, only_not_sure))
    return out


def _rank(priors: Priors, answers: Mapping[str, str], variable: str) -> int:
    """The answer's place among the variable's ordered states, -1 when not answered."""
    state = answers.get(variable)
    return priors.variables[variable].states.index(state) if state in priors.variables[variable].states else -1


__all__ = [
    "ChangeOutcome",
    "FollowUp",
    "NextChange",
    "TimelineRow",
    "timeline",
    "diary_reasons",
    "duration_now",
    "follow_up",
    "next_changes",
]
