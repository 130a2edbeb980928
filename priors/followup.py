"""The follow-up numbers (``followup.yaml``): how causes settle, what "how is it now" says, time rules.

Checked with the rest of the folder by :func:`priors.load_priors`; the model
reads them as :attr:`Priors.followup`.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import schema
from .names import EntryName

SETTLED_CLASSES = ("all_settled", "some_settled", "none_settled", "no_listed_cause")


@dataclass(frozen=True)
class Followup:
    """``followup.yaml`` resolved: words read off the scale, ``rest`` states filled in."""

    settles: dict[str, float]  # cause -> P(it stops once the person's triggers of it are gone)
    half_life_days: dict[str, float]
    twitch_states: dict[str, str]  # state -> label
    twitch_given: dict[str, dict[str, float]]  # settled class -> state -> P(how the twitch is now)
    twitch_as_trend: dict[str, str]  # how the twitch is now -> the state of `trend` it means
    duration_from_days: dict[str, float]  # state of `duration` -> the least days it stands for
    next_check_in_days: float
    rules: tuple[schema.DiaryRule, ...]


def check_followup(check, raw: dict, variables, causes, levels) -> None:
    """Add every cross-file problem of ``followup.yaml`` to ``check`` (a loader ``_Checker``)."""
    followup: schema.FollowupFile = raw["followup"]
    changes = raw["changes"].root
    for cause, spec in followup.settling.items():
        where = EntryName("followup", ("settling", cause))
        if cause not in causes:
            check.add(where, f"not a cause{check.suggest(cause, causes)}")
            continue
        spec_of_cause = raw["causes"].root.get(cause)
        if spec_of_cause is not None and not set(spec_of_cause.links) & set(changes):
            check.add(where, "no change of changes.yaml takes away a trigger of this cause, so it never settles")
        check.entry(where.child("settles"), spec.settles)
    states = tuple(followup.twitch_now.states)
    for name in SETTLED_CLASSES:
        where = EntryName("followup", ("twitch_now", name))
        if name not in followup.twitch_now.given:
            check.add(where, "missing; every settled class needs a distribution")
            continue
        check.distribution(where, followup.twitch_now.given[name], states)
    where = EntryName("followup", ("twitch_as_trend",))
    check.states(where, followup.twitch_as_trend, states)
    check.states(where, followup.twitch_as_trend.values(), variables["trend"].states)
    missing = [s for s in states if s not in followup.twitch_as_trend]
    if missing:
        check.add(where, f"state(s) {', '.join(missing)} of twitch_now have no trend")
    durations = variables["duration"].states
    where = EntryName("followup", ("duration_from_days",))
    check.states(where, followup.duration_from_days, durations[1:])
    days = [followup.duration_from_days[s].value for s in durations[1:] if s in followup.duration_from_days]
    if len(days) != len(durations) - 1 or days != sorted(days):
        check.add(where, f"give each of {', '.join(durations[1:])} its least number of days, in increasing order")
    for rule in followup.rules:
        where = EntryName("followup", ("rules", rule.id))
        if rule.level not in levels:
            check.add(where, f"unknown level '{rule.level}'; expected one of {', '.join(levels)}")
        if rule.source not in raw["sources"].root:
            check.add(where, f"source '{rule.source}' is not in sources.yaml")
        for variable in rule.changes_among:
            if variable not in changes:
                check.add(where, f"'{variable}' is not a change of changes.yaml{check.suggest(variable, changes)}")
        check.states(where, rule.twitch, states)
        for variable in rule.rose:
            if variable not in variables:
                check.add(where, f"'{variable}' is not an evidence variable{check.suggest(variable, variables)}")


def resolve_followup(followup: schema.FollowupFile, resolve, value) -> Followup:
    """``followup.yaml``'s numbers; ``resolve``/``value`` are the loader's for distributions and entries."""
    states = tuple(followup.twitch_now.states)
    return Followup(
        settles={cause: value(spec.settles) for cause, spec in followup.settling.items()},
        half_life_days={cause: spec.half_life_days.value for cause, spec in followup.settling.items()},
        twitch_states=dict(followup.twitch_now.states),
        twitch_given={
            name: {s: n.value for s, n in resolve(dist, states).items()}
            for name, dist in followup.twitch_now.given.items()
        },
        twitch_as_trend=dict(followup.twitch_as_trend),
        duration_from_days={s: setting.value for s, setting in followup.duration_from_days.items()},
        next_check_in_days=followup.next_check_in_days.value,
        rules=tuple(followup.rules),
    )


def followup_citations(raw: schema.FollowupFile):
    """Yield ``(EntryName, source id, quote)`` for every quoted citation of ``followup.yaml``."""
    for cause, spec in raw.settling.items():
        if spec.settles.source is not None:
            yield EntryName("followup", ("settling", cause, "settles")), spec.settles.source, spec.settles.quote
    for rule in raw.rules:
        yield EntryName("followup", ("rules", rule.id)), rule.source, rule.quote
