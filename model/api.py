"""The Python API: load the model once, ask it about many cases.

Examples
--------
>>> from twitchcause import model
>>> m = model.load()
>>> r = m.infer({"caffeine_intake": "high", "weakness": "no"})
>>> r.ranking[0]
'caffeine'
>>> r.posterior["caffeine"] > r.prior["caffeine"]
True
>>> r.escalation.level
'self_care'
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .engine import Engine, EngineStore, engine_key
from .errors import ImpossibleEvidenceError, TwitchcauseError, UnknownCauseError
from .escalation import Escalation, escalate
from .evidence import NOT_SURE, AnswerReader

if TYPE_CHECKING:
    from twitchcause.priors import Priors

# The parts of a report (:meth:`Model.report`) a caller may ask for; every one by default.
# "explanation" and "next" also need their argument (the cause to explain, the count of questions).
SECTIONS = ("posterior", "escalation", "interval", "what_would_help", "explanation", "next")

DISCLAIMER = (
    "twitchcause informs, it does not diagnose: it weighs the causes that health articles describe. "
    "See a doctor for weakness, muscle wasting, trouble walking, or anything that worries you."
)


class Interval(tuple):
    """``(low, high)``: a posterior's central interval over the draws, as the draws give it.

    ``holds_posterior`` says whether the posterior of the numbers as written
    lies within it. The draws are not centred on the written numbers (a word's
    band is seldom symmetric about its value), so a posterior can sit in a
    tail of its own draws; the interval says so rather than stretching to
    hold it.
    """

    def __new__(cls, low: float, high: float, posterior: float):
        interval = super().__new__(cls, (low, high))
        interval.posterior = posterior
        return interval

    def __getnewargs__(self) -> tuple[float, float, float]:  # so that a copy or a pickle keeps the posterior
        return (self[0], self[1], self.posterior)

    @property
    def low(self) -> float:
        return self[0]

    @property
    def high(self) -> float:
        return self[1]

    @property
    def holds_posterior(self) -> bool:
        return self[0] <= self.posterior <= self[1]


@dataclass(frozen=True, init=False)
class Result:
    """What the model says about one case.

    Attributes
    ----------
    evidence : dict
        The answered variables, validated (not the not-sure ones).
    posterior, prior : dict
        P(cause contributing) given the evidence, and given nothing.
    escalation : Escalation
        Level and every reason that fired.
    none_identified : float
        P(no listed cause is contributing | evidence): twitching with no clear
        cause, which the documents call common and usually harmless.
    not_sure : tuple of str
        The variables answered "not sure", sorted: unknown for the causes,
        read the safe way for the level.
    safety_net : tuple of dict
        ``{condition, source, quote}``: the documents' "see a doctor if" conditions,
        the same for every result.
    serious_causes : tuple of dict
        ``{cause, text, source, quote}`` (or ``assumption``) for each serious cause
        whose posterior reaches ``display.yaml``'s ``serious_causes.shown_from``:
        what it means in plain words (a reason for a doctor to look, not a diagnosis).
    interval : dict
        ``{cause: Interval(low, high)}``, the 90% interval of each posterior
        over the plausible values of the words it rests on: the draws' own
        quantiles, never widened to hold the posterior. An interval's
        ``holds_posterior`` is False where the posterior of the numbers as
        written sits in a tail of its own draws (computed on first use; see
        :mod:`twitchcause.model.uncertainty`).
    """

    evidence: dict[str, str]
    posterior: dict[str, float]
    prior: dict[str, float]
    escalation: Escalation
    none_identified: float
    not_sure: tuple[str, ...] = ()
    safety_net: tuple[dict, ...] = ()
    serious_causes: tuple[dict, ...] = ()
    interval_of: Callable[[], dict[str, Interval]] | None = field(default=None, repr=False, compare=False)

    def __init__(
        self,
        evidence: dict[str, str],
        posterior: dict[str, float],
        prior: dict[str, float],
        escalation: Escalation,
        none_identified: float,
        not_sure: tuple[str, ...] = (),
        safety_net: tuple[dict, ...] = (),
        serious_causes: tuple[dict, ...] = (),
        interval_of: Callable[[], dict[str, Interval]] | None = None,
    ):
        # the fields set in one step: the frozen dataclass's own __init__ sets each through object.__setattr__,
        # a twentieth of a one-case query
        self.__dict__.update(
            evidence=evidence,
            posterior=posterior,
            prior=prior,
            escalation=escalation,
            none_identified=none_identified,
            not_sure=not_sure,
            safety_net=safety_net,
            serious_causes=serious_causes,
            interval_of=interval_of,
        )

    @cached_property
    def interval(self) -> dict[str, Interval]:
        """``{cause: Interval(low, high)}``: each posterior's interval over draws of the priors within their bands."""
        if self.interval_of is None:
            return {cause: Interval(p, p, p) for cause, p in self.posterior.items()}
        return self.interval_of()

    @property
    def outside_interval(self) -> tuple[str, ...]:
        """The causes whose posterior lies outside its own interval (see :class:`Interval`)."""
        return tuple(cause for cause, bounds in self.interval.items() if not bounds.holds_posterior)

    @property
    def ranking(self) -> list[str]:
        """Causes from most to least probable."""
        return sorted(self.posterior, key=lambda c: -self.posterior[c])

    def to_dict(self, extras: Mapping[str, object] | None = None, sections: tuple[str, ...] = SECTIONS) -> dict:
        """A JSON-ready dict: posterior, interval, prior, escalation, ranking (those of ``sections``), evidence,
        any ``extras``, disclaimer.

        ``"posterior"`` brings ``posterior``, ``none_identified``, ``prior``,
        ``serious_causes`` and ``ranking``; ``"interval"`` the intervals and
        whether each posterior lies outside its own; ``"escalation"`` the
        escalation and the safety net. A section left out is not computed (the
        interval's draws).
        """
        out: dict = {}
        if "posterior" in sections:
            out["posterior"] = dict(self.posterior)
        if "interval" in sections:
            out["interval"] = {cause: list(bounds) for cause, bounds in self.interval.items()}
            out["posterior_outside_interval"] = {cause: not b.holds_posterior for cause, b in self.interval.items()}
        if "posterior" in sections:
            out |= {"none_identified": self.none_identified, "prior": dict(self.prior)}
        if "escalation" in sections:
            out["escalation"] = self.escalation.to_dict()
        if "posterior" in sections:
            out["serious_causes"] = [dict(item) for item in self.serious_causes]
        if "escalation" in sections:
            out["safety_net"] = [dict(item) for item in self.safety_net]
        if "posterior" in sections:
            out["ranking"] = self.ranking
        out |= {"evidence": dict(self.evidence), "not_sure": list(self.not_sure)}
        return out | {**(extras or {}), "disclaimer": DISCLAIMER}


class Model:
    """The twitchcause network with its priors, fast engine and rules.

    Use :func:`load` to make one. ``network`` is the pgmpy
    ``DiscreteBayesianNetwork`` (built on first use); inference runs on the
    compiled engine, which agrees with pgmpy's VariableElimination.
    """

    def __init__(self, priors: Priors, engine: Engine | None = None, engine_store: EngineStore | None = None):
        self.priors = priors
        self._engine = engine
        self._engine_store = engine_store
        self._reader: AnswerReader | None = None

    # -- the pieces ------------------------------------------------------------
    @property
    def causes(self) -> tuple[str, ...]:
        return tuple(self.priors.causes)

    @property
    def variables(self):
        return self.priors.variables

    @cached_property
    def network(self):
        """The pgmpy network (importing pgmpy on first use)."""
        from .network import build_network

        return build_network(self.priors)

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = self._stored_or_compiled()
        return self._engine

    def _stored_or_compiled(self) -> Engine:
        """The engine from the store when it holds one compiled from these very tables, else compiled."""
        from .network import compile_engine, node_tables

        tables = node_tables(self.priors)
        if self._engine_store is None:
            return compile_engine(self.priors, tables)
        key = engine_key(tables)
        arrays = self._engine_store.load(key)
        if arrays is not None:
            try:
                engine = Engine.from_arrays(arrays)
            except (KeyError, ValueError):
                engine = None
            if engine is not None and engine.fits(self.causes, self._states):
                return engine
        engine = compile_engine(self.priors, tables)
        self._engine_store.save(key, engine.to_arrays())
        return engine

    @property
    def _states(self) -> dict[str, tuple[str, ...]]:
        return {name: v.states for name, v in self.variables.items()}

    def compile(self) -> Engine:
        """Compile the engine from the priors (no cache, no pgmpy)."""
        from .network import compile_engine

        return compile_engine(self.priors)

    @cached_property
    def ensemble(self):
        """The engines of random draws of the priors within their bands (from the store when it has them)."""
        from .uncertainty import Ensemble, ensemble_key

        settings = self.priors.uncertainty
        draws, seed = settings.draws.value, settings.seed.value
        if self._engine_store is None:
            return Ensemble.build(self.priors, self.engine, draws, seed)
        from .network import node_tables

        key = ensemble_key(self.priors, engine_key(node_tables(self.priors)))
        arrays = self._engine_store.load(key)
        if arrays is not None:
            try:
                return Ensemble.from_arrays(self.engine, arrays)
            except (KeyError, ValueError):
                pass
        ensemble = Ensemble.build(self.priors, self.engine, draws, seed)
        self._engine_store.save(key, ensemble.to_arrays())
        return ensemble

    def interval(self, evidence: Mapping[str, object] | None) -> dict[str, Interval]:
        """``{cause: Interval(low, high)}``: the central interval (``uncertainty.yaml``'s level) of each
        posterior over random draws of every number within its word's band: the draws' own quantiles,
        each saying whether it holds the posterior of the numbers as written."""
        parsed = self.parse(evidence)
        return self._interval(parsed, self.engine.posterior(parsed))

    def _interval(self, parsed: dict[str, str], posterior: Mapping[str, float]) -> dict[str, Interval]:
        low, high = self.ensemble.interval(self.engine.encode(parsed), self.priors.uncertainty.level.value)
        return {cause: Interval(float(low[i]), float(high[i]), posterior[cause]) for i, cause in enumerate(self.causes)}

    def robustness(
        self, cases: Mapping[str, Mapping[str, object]], draws: int | None = None, spread: float | None = None
    ) -> list:
        """How often each case keeps its top cause and top three over random draws of every number.

        ``spread`` moves every number by up to that share either way; None draws
        every number within its word's band. See :func:`twitchcause.model.uncertainty.robustness`.
        """
        from .uncertainty import robustness

        settings = self.priors.uncertainty
        parsed = {name: self.parse(evidence) for name, evidence in cases.items()}
        if draws is not None and draws < 1:
            raise TwitchcauseError(f"draws must be at least 1, got {draws}")
        if spread is not None and not 0.0 <= spread < 1.0:
            raise TwitchcauseError(f"spread must be a share in [0, 1), got {spread}")
        return robustness(self.priors, parsed, draws or settings.robustness_draws.value, spread, settings.seed.value)

    @cached_property
    def _prior_and_none(self) -> tuple[dict[str, float], float]:
        return self.engine.posterior_and_none({})

    @property
    def prior(self) -> dict[str, float]:
        """P(cause contributing) before any answer."""
        return dict(self._prior_and_none[0])

    @property
    def prior_none_identified(self) -> float:
        """P(no listed cause is contributing) before any answer."""
        return self._prior_and_none[1]

    # -- asking ----------------------------------------------------------------
    def parse(self, evidence: Mapping[str, object] | None) -> dict[str, str]:
        """Validate evidence; see :func:`model.evidence.parse_evidence`."""
        return self.parse_answers(evidence)[0]

    def parse_answers(
        self, evidence: Mapping[str, object] | None, not_sure: Iterable[str] = ()
    ) -> tuple[dict[str, str], tuple[str, ...]]:
        """Validate answers and not-sure names; see :func:`model.evidence.parse_answers`."""
        reader = self._reader
        if reader is None or reader.variables is not self.priors.variables:
            reader = self._reader = AnswerReader(self.priors.variables)
        return reader.parse_answers(evidence, not_sure)

    def posterior(self, evidence: Mapping[str, object] | None) -> dict[str, float]:
        """``{cause: P(cause contributing | evidence)}``.

        Raises
        ------
        EvidenceError
            For a variable or state outside the vocabulary.
        ImpossibleEvidenceError
            When the network gives the evidence probability zero.
        """
        return self.engine.posterior(self.parse(evidence))

    def infer(self, evidence: Mapping[str, object] | None = None, not_sure: Iterable[str] = ()) -> Result:
        """Posterior, prior and escalation for one case.

        Parameters
        ----------
        evidence : mapping of str to str, optional
            ``{variable: state}`` in the vocabulary's words; a variable left out
            (or given as None or "") is unknown and is marginalised. A state of
            ``"not_sure"`` (:data:`NOT_SURE`) means the same as naming the
            variable in ``not_sure``.
        not_sure : iterable of str
            Variables answered "not sure": unknown for the causes; for the level
            read the safe way (a rule a not-sure answer could fire fires, its
            reason saying so).

        Returns
        -------
        Result

        Examples
        --------
        >>> from twitchcause import model
        >>> r = model.load().infer({"urge_to_move": "yes", "timing": "at_night"})
        >>> r.ranking[0]
        'restless_legs'
        >>> model.load().infer({"weakness": "yes"}).escalation.level
        'see_doctor_promptly'
        >>> r = model.load().infer({"caffeine_intake": "high"}, not_sure=["weakness"])
        >>> r.escalation.level, r.escalation.reasons[0].not_sure, r.not_sure
        ('see_doctor_promptly', True, ('weakness',))
        """
        parsed, unsure = self.parse_answers(evidence, not_sure)
        posterior, none_identified = self._posterior_and_none(parsed)
        return Result(
            parsed,
            posterior,
            dict(self._prior_and_none[0]),
            escalate(self.priors, parsed, posterior, unsure),
            none_identified,
            unsure,
            self._safety_net,
            self._serious_causes(posterior),
            lambda: self._interval(parsed, posterior),
        )

    def _posterior_and_none(self, parsed: dict[str, str]) -> tuple[dict[str, float], float]:
        """The posterior and P(no listed cause) of validated answers: as products of factors over the halves of
        the causes (:class:`~twitchcause.model.factored.FactoredCase`), in log space if those would underflow."""
        marginals = self._factored.marginals(parsed)
        if marginals is None:
            return self.engine.posterior_and_none(parsed)
        # zip stops at the last cause, before P(no listed cause): no copy of the list without it
        return dict(zip(self.engine.causes, marginals)), marginals[-1]

    @cached_property
    def _factored(self):
        from .factored import FactoredCase

        return FactoredCase(self.engine)

    def report(
        self,
        evidence: Mapping[str, object] | None,
        explain: str | None = None,
        next: int | None = None,
        not_sure: Iterable[str] = (),
        include: object = None,
    ) -> dict:
        """One case as a JSON-ready dict: what ``twitchcause infer --json`` prints and the JSON API answers.

        :meth:`Result.to_dict`, plus ``explanation`` (each answer's contribution
        to the cause ``explain``) and ``next`` (the ``next`` most useful
        unanswered questions) when asked for, ``what_would_help``, and
        ``priors``: the folder and the fingerprint of the numbers behind it.
        ``include`` names the sections to compute (see :meth:`sections`);
        every one by default.

        Raises
        ------
        EvidenceError, ImpossibleEvidenceError, UnknownCauseError, TwitchcauseError
            For bad evidence, an unknown cause, a negative count, an unknown
            section, or ``explain`` or ``next`` whose section ``include`` leaves out.

        Examples
        --------
        >>> from twitchcause import model
        >>> r = model.load().report({"caffeine_intake": "high"}, explain="caffeine", next=1)
        >>> r["ranking"][0], r["explanation"][0]["variable"], len(r["next"])
        ('caffeine', 'caffeine_intake', 1)
        >>> sorted(model.load().report({"weakness": "yes"}, include=["escalation"]))
        ['disclaimer', 'escalation', 'evidence', 'not_sure', 'priors', 'safety_net']
        """
        sections = self.sections(include)
        for section, argument, value in (("explanation", "explain", explain), ("next", "next", next)):
            if value is not None and section not in sections:
                raise TwitchcauseError(f'"{argument}" asks for "{section}", which include leaves out')
        result = self.infer(evidence, not_sure)
        extras = {}
        if explain is not None:
            extras["explanation"] = [item.to_dict() for item in self.explain(result.evidence, explain)]
        if next is not None:
            extras["next"] = [q.to_dict() for q in self.ask_next(result.evidence, next, result.not_sure)]
        if "what_would_help" in sections:
            extras["what_would_help"] = [h.to_dict() for h in self.what_would_help(result.evidence)]
        extras["priors"] = {"folder": str(self.priors.directory), "fingerprint": self._fingerprint}
        return result.to_dict(extras, sections)

    @cached_property
    def _fingerprint(self) -> str:
        """The priors' fingerprint, hashed once (a millisecond each time): like the engine, taken from the
        priors on first use."""
        return self.priors.fingerprint

    def sections(self, include: object = None) -> tuple[str, ...]:
        """The report sections ``include`` names, validated, in :data:`SECTIONS` order (every one for None).

        Raises
        ------
        TwitchcauseError
            For something other than a list of section names, an unknown name or one given twice.

        Examples
        --------
        >>> from twitchcause import model
        >>> model.load().sections(["escalation", "posterior"])
        ('posterior', 'escalation')
        """
        if include is None:
            return SECTIONS
        if isinstance(include, str) or not isinstance(include, Sequence):
            raise TwitchcauseError(
                f"include must be a list of sections ({', '.join(SECTIONS)}), got {type(include).__name__}"
            )
        seen = set()
        for name in include:
            if not isinstance(name, str) or name not in SECTIONS:
                shown = name[:40] if isinstance(name, str) else repr(name)[:40]
                from .evidence import suggestion

                hint = suggestion(name, SECTIONS) if isinstance(name, str) else ""
                raise TwitchcauseError(f"unknown section '{shown}'{hint}; expected one of {', '.join(SECTIONS)}")
            if name in seen:
                raise TwitchcauseError(f"section '{name}' is given twice; give it once")
            seen.add(name)
        return tuple(name for name in SECTIONS if name in seen)

    def what_would_help(self, evidence: Mapping[str, object] | None) -> list:
        """For each exposure answered in a risky state, what changing it would do, most helpful first.

        Each item gives P(cause at work) for the causes the exposure feeds, as it
        is and had the exposure been the safer state (a counterfactual for this
        person, given every answer), the expected number of active causes the
        change would switch off, and P(no listed cause) after it. See
        :mod:`twitchcause.model.counterfactual`.

        Examples
        --------
        >>> from twitchcause import model
        >>> items = model.load().what_would_help({"caffeine_intake": "high", "sleep": "short"})
        >>> [item.variable for item in items]
        ['caffeine_intake', 'sleep']
        """
        return self._counterfactuals.what_would_help(self.parse(evidence))

    @cached_property
    def _counterfactuals(self):
        """The twin-network tables of every change, compiled on first use."""
        from .counterfactual import Counterfactuals

        return Counterfactuals(self.engine, self.priors)

    def follow_up(self, diary):
        """What a diary of check-ins says: drivers with intervals, what helped, what next, the level.

        See :mod:`twitchcause.model.followup`; ``diary`` is a list of check-in mappings.
        """
        from .followup_report import follow_up

        return follow_up(self, diary)

    def explain(self, evidence: Mapping[str, object] | None, cause: str) -> list:
        """Each answer's signed contribution to ``cause``, largest first.

        The contribution is the change in the cause's log-odds when that answer
        alone is removed (see :mod:`model.explain`): positive supports the
        cause, negative conflicts with it.

        Raises
        ------
        UnknownCauseError
            For a cause outside the vocabulary.

        Examples
        --------
        >>> from twitchcause import model
        >>> items = model.load().explain({"caffeine_intake": "high", "sleep": "adequate"}, "caffeine")
        >>> [(i.variable, i.direction) for i in items]
        [('caffeine_intake', 'supports'), ('sleep', 'neutral')]
        """
        from .explain import explain

        self._check_cause(cause)
        questions = {name: v.question for name, v in self.variables.items()}
        return explain(self.engine, self.parse(evidence), cause, questions)

    def ask_next(
        self, evidence: Mapping[str, object] | None = None, n: int | None = None, not_sure: Iterable[str] = ()
    ) -> list:
        """Questions neither answered nor not sure, most useful first (red flags always first).

        Each carries the expected information gain about the causes (bits) and
        the probability that its answer raises the escalation level.

        Examples
        --------
        >>> from twitchcause import model
        >>> questions = model.load().ask_next({"caffeine_intake": "high"})
        >>> sorted(q.variable for q in questions[:3])
        ['muscle_wasting', 'walking_difficulty', 'weakness']
        >>> questions[3].variable, questions[3].red_flag
        ('timing', False)
        """
        from .ask_next import ask_next

        if n is not None and n < 0:
            raise TwitchcauseError(f"n must be a count of questions (0 or more), got {n}")
        parsed, unsure = self.parse_answers(evidence, not_sure)
        return ask_next(self.engine, self.priors, parsed, n, unsure)

    def next_question(self, answers: Mapping[str, object] | None = None, not_sure: Iterable[str] = ()):
        """The interview's next question (a ``NextQuestion``), or None when the interview is done.

        Every rule question that could still raise the level is asked first
        (warning signs first, ``why`` "warning_sign" or "level"), then the most
        informative question ("information") while its expected gain reaches
        ``display["interview"]["stop_below_bits"]``. A question answered or
        answered "not sure" is never asked again; an ``unless`` question that
        could only hold back a rule that fired is never asked.

        Examples
        --------
        >>> from twitchcause import model
        >>> m = model.load()
        >>> q = m.next_question({})
        >>> q.why, q.red_flag
        ('warning_sign', True)
        >>> m.next_question({"weakness": "no", "muscle_wasting": "no"}).variable
        'walking_difficulty'
        >>> m.next_question({"weakness": "no"}, not_sure=["muscle_wasting"]).why  # already urgent: no warning sign left
        'information'
        """
        from .ask_next import next_question

        parsed, unsure = self.parse_answers(answers, not_sure)
        return next_question(self.engine, self.priors, parsed, unsure)

    @cached_property
    def _safety_net(self) -> tuple[dict, ...]:
        return tuple(self.priors.display["safety_net"])

    @property
    def safety_net(self) -> list[dict]:
        """The documents' "see a doctor if" conditions, ``[{condition, source, quote}]``, shown with every result.

        Examples
        --------
        >>> from twitchcause import model
        >>> net = model.load().safety_net
        >>> any("more than a day or so" in item["quote"] for item in net)
        True
        """
        return [dict(item) for item in self._safety_net]

    def _serious_causes(self, posterior: Mapping[str, float]) -> tuple[dict, ...]:
        shown_from, items = self._serious_items
        return tuple([item.copy() for cause, item in items if posterior[cause] >= shown_from])

    @cached_property
    def _serious_items(self) -> tuple[float, tuple[tuple[str, dict], ...]]:
        """``display.yaml``'s serious causes as (shown_from, ((cause, {cause, text, ...}), ...)), merged once: a
        result gets copies of the items its posterior reaches."""
        serious = self.priors.display["serious_causes"]
        return serious["shown_from"], tuple(
            (cause, {"cause": cause, **text}) for cause, text in serious["causes"].items()
        )

    @property
    def red_flags(self) -> tuple[str, ...]:
        """Questions whose answer alone can call for the most urgent level (asked first)."""
        from .ask_next import red_flag_variables

        return tuple(red_flag_variables(self.priors))

    @property
    def display(self) -> dict:
        """How a screen words and paces the results (``priors/display.yaml``), as JSON-ready values.

        ``probability_words`` (``[{word, at_least}]``, highest first), ``strong_answer_odds``,
        ``interview`` (``stop_below_bits``, ``usual_length``, ``earned_after_answers``),
        ``question_groups``, ``question_names`` (``{variable: plain name}``), ``levels``
        (``{level: {heading, heading_grounds, colour, time_frame, what_to_do}}``, each text
        ``{text, source, quote}`` or ``{text, assumption}``), ``safety_net``
        (``[{condition, source, quote}]``), ``serious_causes`` (``{shown_from, causes: {cause: {text, ...}}}``)
        and ``no_clear_cause`` (``{text, source, quote}``).

        Examples
        --------
        >>> from twitchcause import model
        >>> [w["word"] for w in model.load().display["probability_words"]]
        ['likely', 'possible', 'unlikely']
        """
        return self.priors.display

    def read_text(self, text: str) -> list:
        """The mentions of answers in a person's own words, each with how it was said (:mod:`model.text`).

        Needs the ``twitchcause[text]`` extra (spaCy, negspacy); raises TwitchcauseError without it.
        """
        from .text import read

        return read(self._text_reader, text)

    def text_answers(
        self, mentions: list, answers: Mapping[str, object] | None = None, not_sure: Iterable[str] = ()
    ) -> dict[str, str]:
        """The answers ``mentions`` propose (:data:`NOT_SURE` for an uncertain warning sign), under the
        explicit ``answers`` and ``not_sure`` ones, which win and set the lowest level the text may leave."""
        from .text import proposed_answers, with_explicit

        proposed = proposed_answers(mentions, self.priors)
        if not answers and not not_sure:
            return proposed
        given, unsure = self.parse_answers(answers, not_sure)
        return with_explicit(self, proposed, {**given, **dict.fromkeys(unsure, NOT_SURE)})

    @cached_property
    def _text_reader(self):
        from .text import TextReader

        return TextReader(self.priors.text)

    def _check_cause(self, cause: str) -> None:
        if cause not in self.priors.causes:
            from twitchcause.priors import did_you_mean

            raise UnknownCauseError(
                f"unknown cause '{cause}'{did_you_mean(cause, self.causes)}; expected one of {', '.join(self.causes)}"
            )

    def infer_coded(self, codes: np.ndarray) -> np.ndarray:
        """Posteriors (cases x causes) for state codes from ``engine.encode``; for batches."""
        return self.engine.posterior_codes(codes)

    def marginals_coded(self, codes: np.ndarray) -> np.ndarray:
        """Posteriors then P(no listed cause): (cases x causes + 1), for state codes; for batches."""
        return self.engine.marginals_codes(codes)

    def reference_posterior(self, evidence: Mapping[str, object] | None) -> dict[str, float]:
        """The same posterior by pgmpy's VariableElimination (slow; the reference)."""
        from .reference import ReferenceInference

        return ReferenceInference(self.network, self.causes).posterior(self.parse(evidence))

    def schema(self) -> dict:
        """The vocabulary: causes, evidence variables with questions and states, the "not sure" answer, levels."""
        return {
            "causes": {c: {"description": d} for c, d in self.priors.causes.items()},
            "evidence": {
                name: {"question": v.question, "states": list(v.states), "state_labels": dict(v.state_labels)}
                for name, v in self.variables.items()
            },
            "not_sure": {
                "answer": NOT_SURE,
                "meaning": "unknown for the causes; for the level read the safe way "
                "(a rule it could fire fires, its reason saying so)",
            },
            "escalation_levels": dict(self.priors.level_descriptions),
        }


def load(priors_dir: str | Path | None = None, engine_store: EngineStore | None = None) -> Model:
    """Load and validate a priors folder (the packaged one by default) into a Model.

    ``engine_store`` keeps compiled engines between runs (``twitchcause.load``
    passes the on-disk cache); without it the engine is compiled on first use.

    Raises
    ------
    PriorsError
        Naming each file, entry and problem.

    Examples
    --------
    >>> from twitchcause import model
    >>> m = model.load()
    >>> len(m.causes), len(m.variables)
    (12, 32)
    """
    from twitchcause.priors import load_priors

    return Model(load_priors(priors_dir), engine_store=engine_store)


__all__ = ["DISCLAIMER", "NOT_SURE", "SECTIONS", "ImpossibleEvidenceError", "Interval", "Model", "Result", "load"]
