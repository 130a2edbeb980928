"""Follow-up over days: one person, many check-ins, one posterior over what drives their twitching.

A diary is a list of check-ins: a date, the answers true then ("not sure"
allowed), the changes of ``changes.yaml`` made since the check-in before (a
change is taken as made right after that check-in), and how the twitch is now
compared with the first check-in (``followup.yaml``'s ``twitch_now``).

The model. The causes at work when the diary starts, ``D`` (the engine's
joint state over the 12 causes), are this person's *drivers* and are shared by
every check-in: the first check-in's exposures and findings weigh ``D``
exactly as the single-moment network does. An exposure answered only at a
later check-in, and not changed before, is read as true from the start; a
change names an exposure that was risky then. Each check-in's findings are its
own: an answer given again at a later check-in is evidence again, about the causes
still at work then (so a check-in should give what is true of the twitch now). At
a later check-in ``t`` each
driver is still at work (``W_t``) unless it has settled; a driver ``c`` with a
trigger removed by a change in effect settles with probability
``q = settles * share * (1 - 2**(-days / half_life_days))``: ``settles`` and
``half_life_days`` from ``followup.yaml``; ``share`` the chance that the
removed triggers were what set ``c`` off, by the twin network of the noisy-OR
(:mod:`.counterfactual`); ``days`` since the latest change that touched it.
The findings of check-in ``t`` depend on ``W_t`` through the network's own
tables, and how the twitch is now on which drivers settled (all, some, none,
or no listed driver). Whether a driver has settled is drawn afresh at each
check-in given ``D`` (settling is not carried from one check-in to the next), so
``sum over W`` of ``P(W | D) P(findings | W)`` is the Kronecker product of one
2 x 2 matrix per cause applied to the findings' likelihood over the 4096 joint
states: exact, and milliseconds for a diary. pgmpy's variable elimination on
the unrolled network (:mod:`.followup_reference`) is the reference; :mod:`.followup_report`
says what a diary shows (what helped, what next, the level).

Examples
--------
>>> from twitchcause import model
>>> m = model.load()
>>> diary = [
...     {"date": "2026-03-01", "answers": {"caffeine_intake": "high", "sleep": "short"}},
...     {"date": "2026-03-04", "changes": ["caffeine_intake"], "twitch": "gone"},
... ]
>>> result = m.follow_up(diary)
>>> max(result.drivers, key=result.drivers.get)
'caffeine'
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from .counterfactual import _Cause
from .engine import prior_and_deltas
from .errors import TwitchcauseError
from .evidence import NOT_SURE, parse_answers

if TYPE_CHECKING:
    from twitchcause.priors import Priors

    from .api import Model

SETTLED = ("all_settled", "some_settled", "none_settled", "no_listed_cause")


class DiaryError(TwitchcauseError):
    """A diary or check-in that cannot be read."""


# -- check-ins -------------------------------------------------------------------------
@dataclass(frozen=True)
class CheckIn:
    """One check-in of a diary, validated.

    Attributes
    ----------
    date : datetime.date
    answers : dict
        ``{variable: state}`` in the vocabulary's words, "not_sure" allowed.
    changes : tuple of str
        Exposures of ``changes.yaml`` whose action was taken since the check-in before.
    twitch : str or None
        How the twitch is now compared with the first check-in (``gone``, ``better``,
        ``same``, ``worse``, or "not_sure"); None when not said.
    """

    date: dt.date
    answers: dict[str, str] = field(default_factory=dict)
    changes: tuple[str, ...] = ()
    twitch: str | None = None

    @property
    def real(self) -> dict[str, str]:
        """The answers that are not "not sure"."""
        return {k: v for k, v in self.answers.items() if v != NOT_SURE}

    @property
    def not_sure(self) -> tuple[str, ...]:
        return tuple(sorted(k for k, v in self.answers.items() if v == NOT_SURE))

    def to_dict(self) -> dict:
        out: dict = {"date": self.date.isoformat(), "answers": dict(self.answers), "changes": list(self.changes)}
        if self.twitch is not None:
            out["twitch"] = self.twitch
        return out


CHECK_IN_KEYS = ("date", "answers", "changes", "twitch")


def parse_diary(model: Model, data: object) -> list[CheckIn]:
    """Validate a diary (a list of check-in mappings, or of :class:`CheckIn`), oldest first.

    Raises
    ------
    DiaryError
        One line naming the check-in and what is wrong.
    """
    if not isinstance(data, Sequence) or isinstance(data, (str, bytes)):
        raise DiaryError(f"a diary is a list of check-ins, got {type(data).__name__}")
    check_ins: list[CheckIn] = []
    for i, item in enumerate(data, 1):
        check_in = item if isinstance(item, CheckIn) else parse_check_in(model, item, f"check-in {i}")
        if check_ins and check_in.date < check_ins[-1].date:
            raise DiaryError(
                f"check-in {i}: date {check_in.date} is before the check-in before it ({check_ins[-1].date})"
            )
        if not check_ins and (check_in.changes or check_in.twitch is not None):
            what = "changes" if check_in.changes else "how the twitch is now"
            raise DiaryError(f"check-in {i}: the first check-in is what later ones compare with; give {what} later")
        check_ins.append(check_in)
    return check_ins


def parse_check_in(model: Model, data: object, where: str = "check-in") -> CheckIn:
    """One check-in from a JSON-like mapping; see :class:`CheckIn`. Raises :class:`DiaryError`."""
    from .evidence import suggestion

    if not isinstance(data, Mapping):
        raise DiaryError(f"{where}: expected a mapping with {', '.join(CHECK_IN_KEYS)}, got {type(data).__name__}")
    for key in data:
        if key not in CHECK_IN_KEYS:
            raise DiaryError(f"{where}: unknown key {str(key)[:40]!r}; expected {', '.join(CHECK_IN_KEYS)}")
    text = data.get("date")
    if text is None:
        raise DiaryError(f"{where}: no date; give one like 2026-03-01")
    try:
        date = text if isinstance(text, dt.date) else dt.date.fromisoformat(text)
    except (TypeError, ValueError):
        raise DiaryError(f"{where}: date {str(text)[:40]!r} is not a date like 2026-03-01") from None
    answers = data.get("answers") or {}
    if not isinstance(answers, Mapping):
        raise DiaryError(f"{where}: answers must be a mapping of variable to state, got {type(answers).__name__}")
    try:
        parsed, unsure = parse_answers(answers, (), model.variables)
    except TwitchcauseError as exc:
        raise DiaryError(f"{where}: {exc}") from None
    parsed.update(dict.fromkeys(unsure, NOT_SURE))
    changes = data.get("changes") or []
    if not isinstance(changes, Sequence) or isinstance(changes, (str, bytes)):
        raise DiaryError(f"{where}: changes must be a list of exposures of changes.yaml")
    known = model.priors.changes
    for name in changes:
        if name not in known:
            hint = suggestion(str(name), known)
            raise DiaryError(f"{where}: unknown change {str(name)[:40]!r}{hint}; expected one of {', '.join(known)}")
    for name in changes:
        if parsed.get(name) in known[name].risky:
            raise DiaryError(
                f"{where}: {name} is answered '{parsed[name]}', the answer the change '{known[name].action}' leaves"
            )
    twitch = data.get("twitch")
    states = model.priors.followup.twitch_states
    if twitch is not None and twitch != NOT_SURE and twitch not in states:
        raise DiaryError(f"{where}: twitch {str(twitch)[:40]!r} is not one of {', '.join(states)}, {NOT_SURE}")
    return CheckIn(date, parsed, tuple(dict.fromkeys(changes)), twitch)


# -- the diary, coded -------------------------------------------------------------------
@dataclass(frozen=True)
class Plan:
    """A diary coded for inference: the first check-in's evidence and each later one's settling."""

    baseline: dict[str, tuple[str, ...]]  # exposure -> the states it may have had at the start (one when answered)
    first_findings: dict[str, str]
    later: tuple[tuple[dict[str, str], np.ndarray, str | None], ...]  # (findings, q per cause, twitch) per check-in
    in_effect: tuple[dict[str, dt.date], ...]  # per check-in: change -> the date it took effect


def plan(priors: Priors, engine, check_ins: Sequence[CheckIn]) -> Plan:
    """Code a validated diary (see the module docstring for how answers and changes are read)."""
    exposures = set(priors.context)
    baseline: dict[str, tuple[str, ...]] = {}
    effect: dict[str, dt.date] = {}
    in_effect = []
    for i, check_in in enumerate(check_ins):
        for variable in check_in.changes:
            change = priors.changes[variable]
            baseline.setdefault(variable, tuple(change.risky))
            effect[variable] = check_ins[i - 1].date
        for variable, state in check_in.real.items():
            if variable not in exposures:
                continue
            if variable in effect and state in priors.changes[variable].risky:
                del effect[variable]  # back to the risky answer: the change is undone
            if variable not in effect:
                baseline.setdefault(variable, (state,))
        in_effect.append(dict(effect))
    findings = [{k: v for k, v in c.real.items() if k not in exposures} for c in check_ins]
    later = []
    for check_in, effect_now, found in zip(check_ins[1:], in_effect[1:], findings[1:]):
        q = settling(priors, engine, baseline, effect_now, check_in.date)
        twitch = check_in.twitch if check_in.twitch != NOT_SURE else None
        later.append((found, q, twitch))
    return Plan(baseline, findings[0] if findings else {}, tuple(later), tuple(in_effect))


def parents(engine, node: str) -> list[str]:
    """The parents of a node of the engine's own network (exposures and causes, for a cause)."""
    return list(engine.factors[node][0][1:])


def settling(priors: Priors, engine, baseline, effect: Mapping[str, dt.date], date: dt.date) -> np.ndarray:
    """P(driver has settled by ``date``) for each cause, given the changes in effect."""
    follow = priors.followup
    q = np.zeros(len(engine.causes))
    for i, cause in enumerate(engine.causes):
        if cause not in follow.settles:
            continue
        removed = [v for v in parents(engine, cause) if v in effect]
        if not removed:
            continue
        days = (date - max(effect[v] for v in removed)).days
        share = removed_share(engine, cause, baseline, {v: priors.changes[v].safer for v in removed})
        q[i] = follow.settles[cause] * share * (1.0 - 2.0 ** (-days / follow.half_life_days[cause]))
    return q


def _parent_values(engine, cause: str, baseline) -> list[tuple[float, dict]]:
    """Every assignment of the cause's parents with its probability at the start (answers fixed).

    The numbers are the engine's own tables: an exposure's prior, a cause parent's noisy-OR.
    """
    choices = []
    for parent in parents(engine, cause):
        if parent in engine.causes:  # a cause parent: on with its own chance at the start
            node = _Cause(engine, parent)
            p_on = 1.0 - sum(w * node.stays_off(v) for w, v in _parent_values(engine, parent, baseline))
            choices.append([(1.0 - p_on, (parent, 0)), (p_on, (parent, 1))])
        else:
            states = engine.states[parent]
            allowed = baseline.get(parent, states)
            weights = np.array([engine.factors[parent][1][states.index(s)] for s in allowed])
            choices.append([(w / weights.sum(), (parent, s)) for w, s in zip(weights, allowed)])
    return [(math.prod(w for w, _ in combo), dict(v for _, v in combo)) for combo in itertools.product(*choices)]


def removed_share(engine, cause: str, baseline, changed: Mapping[str, str]) -> float:
    """P(the cause would be off with ``changed`` exposures | it was on at the start): the twin network.

    A cause parent (dehydration for an electrolyte imbalance) keeps its value in both worlds.
    """
    node = _Cause(engine, cause)
    on = off_after = 0.0
    for weight, values in _parent_values(engine, cause, baseline):
        p_on = 1.0 - node.stays_off(values)
        on += weight * p_on
        off_after += weight * p_on * node.off_after(1, values, {**values, **changed})
    return off_after / on if on > 0 else 0.0


# -- exact inference over the drivers ----------------------------------------------------
class BlockRows:
    """Every block's rows over the joint cause states per draw, as changes from its all-unknown row.

    ``base`` is log P(causes) (every block's all-unknown row): ``(draws, 2**n)``. The model's own
    engine (one draw) keeps its rows expanded (``Engine.joint_rows``); an ensemble's stacked tables
    (per block ``(draws, patterns, local)``) are expanded on use.
    """

    def __init__(self, engine, stacks=None):
        self.engine = engine
        self.stacks = stacks
        if stacks is None:
            self.base = engine.base[None]
            return
        locals_ = [block.local_index(len(engine.causes)) for block in engine.blocks]
        base, deltas = prior_and_deltas(stacks, locals_, len(engine.causes))
        # an interval needs a few digits, not sixteen: single precision halves what each check-in reads
        self.base, self._deltas = base.astype(np.float32), [d.astype(np.float32) for d in deltas]

    def row(self, b: int, patterns: Sequence[int]) -> np.ndarray:
        """log of the summed factors of block ``b``'s ``patterns`` (one pattern, or the states allowed)."""
        engine = self.engine
        if self.stacks is None:
            rows = engine.joint_rows([b])[engine._offsets[b] + np.asarray(patterns)]
            return (rows[0] if len(rows) == 1 else np.logaddexp.reduce(rows, axis=0))[None]
        summed = np.logaddexp.reduce(self._deltas[b][:, list(patterns), :], axis=1)
        return summed[:, engine.blocks[b].local_index(len(engine.causes))]


_ENSEMBLE_ROWS: dict[int, BlockRows] = {}  # an ensemble's rows, read once per stack of tables (it is kept)
KEPT_ENSEMBLES = 2  # each holds its draws' rows, a few MB


def ensemble_rows(engine, stacks) -> BlockRows:
    """:class:`BlockRows` of an ensemble's stacked tables, read once and kept while those tables live."""
    rows = _ENSEMBLE_ROWS.get(id(stacks))
    if rows is None or rows.stacks is not stacks or rows.engine is not engine:
        if len(_ENSEMBLE_ROWS) >= KEPT_ENSEMBLES:  # a process that loads other priors keeps the latest few
            _ENSEMBLE_ROWS.pop(next(iter(_ENSEMBLE_ROWS)))
        rows = _ENSEMBLE_ROWS[id(stacks)] = BlockRows(engine, stacks)
    return rows


def _finding_rows(rows: BlockRows, findings: Mapping[str, str]) -> np.ndarray:
    """log P(findings | causes at work) over the joint states, per draw: ``(draws, 2**n)``."""
    engine = rows.engine
    patterns = engine.patterns(engine.encode(findings))
    out = np.zeros_like(rows.base)
    for b in np.flatnonzero(patterns != engine._all_unknown):
        out += rows.row(b, [patterns[b]])
    return out


def _baseline_prior(rows: BlockRows, baseline, findings) -> np.ndarray:
    """log P(D, the start's exposures (each within its allowed states), the first findings): ``(draws, 2**n)``."""
    engine = rows.engine
    out = rows.base.copy()
    for b, block in enumerate(engine.blocks):
        if not set(block.variables) & set(baseline):
            continue  # a finding's block (below), or exposures none of which is answered
        allowed = [
            [engine.states[v].index(s) for s in baseline[v]] if v in baseline else [block.radices[k] - 1]
            for k, v in enumerate(block.variables)
        ]
        place = [int(np.prod(block.radices[k + 1 :])) for k in range(len(block.variables))]
        out += rows.row(b, [sum(c * p for c, p in zip(combo, place)) for combo in itertools.product(*allowed)])
    return out + _finding_rows(rows, findings)


def _through_settling(values: np.ndarray, q: np.ndarray) -> np.ndarray:
    """``sum over W of P(W | D) values[W]`` for every D: one 2 x 2 matrix per cause (``(draws, 2**n)``).

    Cause i is bit i of a joint index: viewed as ``(draws, high bits, 2, low bits)``, a D with the
    cause mixes its own entry (still at work) with the entry without it (settled).
    """
    n = len(q)
    out = values.copy()
    for i in np.flatnonzero(q):
        view = out.reshape(values.shape[0], 2 ** (n - 1 - i), 2, 2**i)
        view[:, :, 1, :] *= 1.0 - q[i]
        view[:, :, 1, :] += q[i] * view[:, :, 0, :]
    return out


def _none_and_all_settle(presence: np.ndarray, q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For every D: P(no driver settled) and P(every driver settled), products over the causes in D."""
    stays = np.exp(presence @ np.log1p(-q))  # q < 1: settles is a probability below 1
    never = presence @ (q == 0) > 0  # some driver that cannot settle
    settles = np.where(never, 0.0, np.exp(presence @ np.log(np.where(q > 0, q, 1.0))))
    return stays, settles


def _check_in_log_likelihood(rows: BlockRows, priors: Priors, findings, q, twitch) -> np.ndarray:
    """log P(check-in's findings and twitch | D) per draw: ``(draws, 2**n)``."""
    presence = rows.engine.presence
    log_l = _finding_rows(rows, findings)
    top = log_l.max(axis=1, keepdims=True)
    like = np.exp(log_l - top)
    total = _through_settling(like, q)
    if twitch is not None:
        given = priors.followup.twitch_given
        stays, settles = _none_and_all_settle(presence, q)
        all_left = stays * like
        none_left = settles * like[:, :1]
        some = np.maximum(total - all_left - none_left, 0.0)
        total = given["none_settled"][twitch] * all_left + given["all_settled"][twitch] * none_left
        total += given["some_settled"][twitch] * some
        total[:, 0] = given["no_listed_cause"][twitch] * like[:, 0]
    with np.errstate(divide="ignore"):
        return np.log(total) + top


def driver_log_posterior(model: Model, the_plan: Plan, stacks=None) -> np.ndarray:
    """Normalised log P(D | the whole diary) per draw: ``(draws, 2**n)``.

    ``stacks``: an ensemble's tables (see :class:`BlockRows`); the model's own engine by default.
    """
    rows = BlockRows(model.engine) if stacks is None else ensemble_rows(model.engine, stacks)
    log_post = _baseline_prior(rows, the_plan.baseline, the_plan.first_findings)
    for findings, q, twitch in the_plan.later:
        log_post += _check_in_log_likelihood(rows, model.priors, findings, q, twitch)
    return _normalised(log_post)


def _normalised(log_post: np.ndarray) -> np.ndarray:
    top = log_post.max(axis=-1, keepdims=True)
    if not np.all(np.isfinite(top)):
        from .errors import ImpossibleEvidenceError

        raise ImpossibleEvidenceError("the network gives this diary probability zero, so no posterior exists")
    log_post = log_post - top
    return log_post - np.log(np.exp(log_post).sum(axis=-1, keepdims=True))


def driver_posteriors(model: Model, the_plan: Plan) -> np.ndarray:
    """P(D | the first k check-ins) for k = 1, 2, ... in one pass, the model's own numbers: ``(check-ins, 2**n)``."""
    rows = BlockRows(model.engine)
    log_post = _baseline_prior(rows, the_plan.baseline, the_plan.first_findings)[0]
    out = [np.exp(_normalised(log_post))]
    for findings, q, twitch in the_plan.later:
        log_post = log_post + _check_in_log_likelihood(rows, model.priors, findings, q, twitch)[0]
        out.append(np.exp(_normalised(log_post)))
    return np.array(out)


def marginals(model: Model, posterior: np.ndarray) -> np.ndarray:
    """P(each cause is a driver), then P(no listed driver), from joint posteriors (last axis)."""
    return np.concatenate([posterior @ model.engine.presence, posterior[..., :1]], axis=-1)


def driver_marginals(model: Model, the_plan: Plan) -> np.ndarray:
    """P(each cause is a driver | the whole diary), then P(no listed driver), under the model's own numbers."""
    return marginals(model, np.exp(driver_log_posterior(model, the_plan))[0])


def driver_marginals_by_check_in(model: Model, the_plan: Plan) -> np.ndarray:
    """:func:`driver_marginals` after each check-in in turn: ``(check-ins, causes + 1)``, in one pass."""
    return marginals(model, driver_posteriors(model, the_plan))


def simulate(model: Model, diaries: int, check_ins: int, rng: np.random.Generator) -> list[tuple[int, list[dict]]]:
    """Diaries drawn from the model itself, with their true drivers (a joint index into the engine's states).

    Each person's exposures and drivers come from the priors; the first check-in answers every
    exposure and finding; each later one, ``next_check_in_days`` after the one before, makes one
    change of a risky exposure not changed yet (chosen at random) and reports how the twitch is and
    its frequency and intensity, drawn from the model given which drivers have settled.
    """
    engine, priors = model.engine, model.priors
    gap = dt.timedelta(days=priors.followup.next_check_in_days)
    order = _topological(engine)
    causes = {cause: _Cause(engine, cause) for cause in engine.causes}
    findings = [b for b in engine.blocks if b.variables and b.variables[0] in priors.findings]
    later_findings = {"frequency", "intensity"}
    twitch_states = list(priors.followup.twitch_states)
    n = len(engine.causes)
    start = dt.date(2026, 1, 1)
    out = []
    for _ in range(diaries):
        exposures = {x: str(rng.choice(engine.states[x], p=engine.factors[x][1])) for x in priors.context}
        on: dict[str, int] = {}
        for cause in order:
            off = causes[cause].stays_off({**exposures, **on})
            on[cause] = int(rng.random() >= off)
        drivers = sum(on[c] << i for i, c in enumerate(engine.causes))

        def answers_of(state: int, which) -> dict[str, str]:
            answers = {}
            for block in findings:
                name = block.variables[0]
                if which is None or name in which:
                    p = np.exp(block.table[:-1, block.local_index(n)[state]])
                    answers[name] = str(rng.choice(engine.states[name], p=p / p.sum()))
            return answers

        diary = [{"date": start.isoformat(), "answers": {**exposures, **answers_of(drivers, None)}}]
        risky = [x for x, change in priors.changes.items() if exposures[x] in change.risky]
        rng.shuffle(risky)
        baseline = {x: (s,) for x, s in exposures.items()}
        effect: dict[str, dt.date] = {}
        for k in range(1, check_ins):
            check_in = {"date": (start + k * gap).isoformat(), "changes": [risky.pop()] if risky else []}
            diary.append(check_in)
            effect.update({x: start + (k - 1) * gap for x in check_in["changes"]})  # as plan() reads a diary
            q = settling(priors, engine, baseline, effect, start + k * gap)
            still = drivers
            for i in np.flatnonzero(q):
                if (drivers >> i) & 1 and rng.random() < q[i]:
                    still &= ~(1 << i)
            settled_class = (
                "no_listed_cause"
                if drivers == 0
                else "all_settled"
                if still == 0
                else "none_settled"
                if still == drivers
                else "some_settled"
            )
            p = [priors.followup.twitch_given[settled_class][s] for s in twitch_states]
            check_in["twitch"] = str(rng.choice(twitch_states, p=p))
            check_in["answers"] = answers_of(still, later_findings)
        out.append((drivers, diary))
    return out


def _topological(engine) -> list[str]:
    done: list[str] = []
    while len(done) < len(engine.causes):
        for cause in engine.causes:
            if cause not in done and all(p in done or p not in engine.causes for p in parents(engine, cause)):
                done.append(cause)
    return done


__all__ = [
    "NOT_SURE",
    "CheckIn",
    "DiaryError",
    "Plan",
    "driver_log_posterior",
    "driver_marginals",
    "driver_posteriors",
    "driver_marginals_by_check_in",
    "parse_diary",
    "parents",
    "plan",
    "settling",
    "simulate",
]
