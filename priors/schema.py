"""Pydantic models of the priors files: the shape each YAML file must have.

Only the shape of single entries is checked here; what needs the whole folder
(known words, known sources, vocabulary states, sums) is checked in
:mod:`priors.loader`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, RootModel, Tag, field_validator, model_validator

MAX_QUOTE_WORDS = 25
REST = "rest"
BACKGROUND = "background"  # a finding row's state the documents do not speak of: keeps the leak's proportions
DERIVED = (REST, BACKGROUND)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Learned(_Strict):
    """Provenance of a number estimated from cases rather than read from a word."""

    cases: int = Field(ge=0)
    estimator: str


class Reconciliation(_Strict):
    """Another document's words on the same number, and the reading chosen between them and why."""

    source: str
    quote: str
    reading: str = Field(min_length=1)

    @field_validator("quote")
    @classmethod
    def _short(cls, quote: str) -> str:
        if len(quote.split()) > MAX_QUOTE_WORDS:
            raise ValueError(f"quote has {len(quote.split())} words; at most {MAX_QUOTE_WORDS}")
        return quote


class Entry(_Strict):
    """One probability: a word of the scale or an explicit number, with its grounds.

    Grounds are either a document (``source`` + verbatim ``quote``) or an
    ``assumption`` sentence saying why the documents could not be used.
    Where another document says otherwise, ``reconciles`` quotes it and
    gives the reading chosen.
    """

    word: str | None = None
    p: float | None = None
    source: str | None = None
    quote: str | None = None
    assumption: str | None = None
    learned: Learned | None = None
    tuned: str | None = None
    reconciles: Reconciliation | None = None

    @model_validator(mode="after")
    def _one_value_and_grounds(self) -> Entry:
        if (self.word is None) == (self.p is None):
            raise ValueError("give exactly one of 'word' (from scale.yaml) or 'p' (a number)")
        if self.p is not None and not 0.0 < self.p < 1.0:
            raise ValueError(f"probability {self.p} is outside (0, 1)")
        _check_grounds(self.source, self.quote, self.assumption)
        return self


def _check_grounds(source: str | None, quote: str | None, assumption: str | None) -> None:
    """Grounds are a document (``source`` + a short verbatim ``quote``) or an ``assumption``, not both."""
    cited = source is not None or quote is not None
    if cited and (source is None or quote is None):
        raise ValueError("a citation needs both 'source' and 'quote'")
    if cited == (assumption is not None):
        raise ValueError("give either 'source' + 'quote' or 'assumption', not both or neither")
    if quote is not None and len(quote.split()) > MAX_QUOTE_WORDS:
        raise ValueError(f"quote has {len(quote.split())} words; at most {MAX_QUOTE_WORDS}")
    if assumption is not None and not assumption.strip():
        raise ValueError("assumption is empty")


REST_TAG, ENTRY_TAG = "<rest>", "<entry>"  # which branch a value is checked against; never shown in a message


def _rest_or_entry(value: Any) -> str:
    """A text can only be a derived state (``rest``, ``background``); anything else is checked as an entry."""
    return REST_TAG if isinstance(value, str) else ENTRY_TAG


DistributionEntry = Annotated[
    Annotated[Literal["rest", "background"], Tag(REST_TAG)] | Annotated[Entry, Tag(ENTRY_TAG)],
    Discriminator(_rest_or_entry),
]
Distribution = dict[str, DistributionEntry]


class ScaleWord(_Strict):
    p: float = Field(gt=0.0, lt=1.0)
    band: tuple[float, float]
    anchor: str

    @model_validator(mode="after")
    def _band_holds_p(self) -> ScaleWord:
        low, high = self.band
        if not 0.0 < low <= self.p <= high < 1.0:
            raise ValueError(f"band [{low}, {high}] must lie in (0, 1) and hold p = {self.p}")
        return self


class Convention(_Strict):
    name: str
    reference: str


class ScaleFile(_Strict):
    convention: Convention
    words: dict[str, ScaleWord]


class Source(_Strict):
    title: str
    file: str


class SourcesFile(RootModel[dict[str, Source]]):
    pass


class ContextFile(RootModel[dict[str, Distribution]]):
    pass


class CauseSpec(_Strict):
    terms: list[str] = Field(min_length=1)  # what the documents call the cause; a quote shared by causes names each
    leak: Entry
    links: dict[str, dict[str, Entry]] = Field(default_factory=dict)


class CausesFile(RootModel[dict[str, CauseSpec]]):
    pass


class FindingSpec(_Strict):
    combine: Literal["noisy_max", "product"]
    why: str = Field(min_length=1)  # why this combination rule suits this finding
    leak: Distribution
    causes: dict[str, Distribution]


class FindingsFile(RootModel[dict[str, FindingSpec]]):
    pass


class Rule(_Strict):
    id: str
    level: str
    when: dict[str, list[str]]
    unless: dict[str, list[str]] = Field(default_factory=dict)
    message: str
    if_not_sure: str  # the message when the rule fires only because a variable it names was answered "not sure"
    source: str
    quote: str
    reading: str | None = None  # how the rule keeps the quote's qualifiers, where the rule alone does not show it

    @field_validator("when")
    @classmethod
    def _not_empty(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        if not value:
            raise ValueError("a rule needs at least one condition under 'when'")
        return value

    @field_validator("when", "unless")
    @classmethod
    def _states_listed(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for name, states in value.items():
            if not states:
                raise ValueError(f"condition on '{name}' lists no state, so it could never match")
        return value


class Threshold(_Strict):
    id: str
    cause: str
    level: str
    threshold: Entry
    message: str
    source: str
    quote: str


class EscalationFile(_Strict):
    rules: list[Rule]
    posterior_thresholds: list[Threshold] = Field(default_factory=list)


class Advice(_Strict):
    text: str
    source: str
    quote: str


class Change(_Strict):
    """A change a person can make to one exposure: from any ``risky`` answer to the ``safer`` one."""

    risky: list[str] = Field(min_length=1)
    safer: str
    action: str
    source: str
    quote: str


class ChangesFile(RootModel[dict[str, Change]]):
    pass


class AdviceFile(RootModel[dict[str, list[Advice]]]):
    pass


class VariableSpec(_Strict):
    question: str
    states: dict[str, str]


class VocabularyFile(_Strict):
    causes: dict[str, str]
    evidence: dict[str, VariableSpec]
    escalation_levels: dict[str, str]


class ProbabilityWord(_Strict):
    """A word for a range of probabilities: from ``at_least`` up (the lowest word has no cut)."""

    word: str
    at_least: Entry | None = None


class Setting(_Strict):
    value: float = Field(gt=0.0)
    assumption: str


class Count(_Strict):
    value: int = Field(gt=0)
    assumption: str


class UncertaintyFile(_Strict):
    """How results carry the uncertainty of the words (``uncertainty.yaml``)."""

    draws: Count
    seed: Count
    level: Setting
    odds_factor: Setting
    min_derived: Setting
    robustness_draws: Count
    robustness_spread: Setting


class Interview(_Strict):
    stop_below_bits: Setting
    usual_length: Setting
    earned_after_answers: Setting


class QuestionGroup(_Strict):
    id: str
    heading: str
    variables: list[str]


class Grounds(_Strict):
    """Why a text says what it says: a document (``source`` + verbatim ``quote``) or an ``assumption``."""

    source: str | None = None
    quote: str | None = None
    assumption: str | None = None

    @model_validator(mode="after")
    def _quote_or_assumption(self) -> Grounds:
        _check_grounds(self.source, self.quote, self.assumption)
        return self


class Cited(Grounds):
    """A text a screen shows, with its grounds."""

    text: str = Field(min_length=1)


class LevelLook(_Strict):
    """How a level is shown: heading (with its grounds), colour, when to act and what to do."""

    heading: str
    heading_grounds: Grounds
    colour: Literal["success", "warning", "danger", "info", "secondary"]
    time_frame: Cited
    what_to_do: Cited


class SafetyNet(_Strict):
    """A change that would call for a doctor, in the documents' words ("come back if")."""

    condition: str = Field(min_length=1)
    source: str
    quote: str


class SeriousCauses(_Strict):
    """Plain words for a serious cause whose posterior reaches ``shown_from``."""

    shown_from: Entry
    causes: dict[str, Cited]


class DisplayFile(_Strict):
    """How the dashboard words and paces the model's numbers (``display.yaml``)."""

    probability_words: list[ProbabilityWord] = Field(min_length=2)
    strong_answer: Setting
    interview: Interview
    question_groups: list[QuestionGroup]
    question_names: dict[str, str]
    levels: dict[str, LevelLook]
    safety_net: list[SafetyNet] = Field(min_length=1)
    serious_causes: SeriousCauses
    no_clear_cause: Advice


class Settling(_Strict):
    """How a cause settles once the person's triggers of it are removed (``followup.yaml``)."""

    settles: Entry
    half_life_days: Setting


class TwitchNow(_Strict):
    states: dict[str, str]
    given: dict[Literal["all_settled", "some_settled", "none_settled", "no_listed_cause"], Distribution]


class DiaryRule(_Strict):
    """A time rule over a diary: the twitch persisting or worse despite the changes made."""

    id: str
    level: str
    changes_at_least: int = Field(ge=1)
    changes_among: list[str] = Field(default_factory=list)
    after_days: Setting
    twitch: list[str] = Field(min_length=1)
    rose: list[str] = Field(default_factory=list)
    message: str
    source: str
    quote: str


class FollowupFile(_Strict):
    settling: dict[str, Settling]
    twitch_now: TwitchNow
    twitch_as_trend: dict[str, str]
    duration_from_days: dict[str, Setting]
    next_check_in_days: Setting
    rules: list[DiaryRule]


# -- text.yaml: reading a person's own words -------------------------------------------------
class CountState(_Strict):
    """A count's state: the state of every count below ``below`` (the last state has no bound)."""

    state: str
    below: float | None = None


class TextCount(_Strict):
    """Phrases with a count (``#``) whose number decides the state: "four coffees a day", "for three weeks"."""

    variable: str
    patterns: list[str] = Field(min_length=1)
    states: list[CountState] = Field(min_length=1)

    @model_validator(mode="after")
    def _bounds_rise(self) -> TextCount:
        bounds = [s.below for s in self.states]
        if bounds[-1] is not None or any(b is None for b in bounds[:-1]):
            raise ValueError("every state but the last needs 'below'; the last takes every larger count")
        if any(not a < b for a, b in zip(bounds[:-2], bounds[1:-1])):
            raise ValueError("the 'below' bounds must rise from the first state to the last")
        return self


class Said(_Strict):
    """A phrase that also answers other variables: "both calves" is the calf and both legs."""

    say: str
    also: dict[str, str] = Field(min_length=1)


class TextVariable(_Strict):
    """How people say one evidence variable.

    ``phrases`` name a state; ``mentioned`` name the variable without one (an answer
    only when negated); ``negated`` is the answer a negated mention gives;
    ``near_twitch`` keeps only mentions at most that many words from a word for
    the twitch in their sentence, the nearest winning.
    """

    phrases: dict[str, list[str | Said]] = Field(default_factory=dict)
    mentioned: list[str] = Field(default_factory=list)
    negated: str | None = None
    near_twitch: int | None = Field(default=None, ge=1)


class Termset(_Strict):
    """Trigger words of one way of saying something (negex: before or after the mention, ending its scope)."""

    preceding: list[str] = Field(default_factory=list)
    following: list[str] = Field(default_factory=list)
    termination: list[str] = Field(default_factory=list)
    pseudo: list[str] = Field(default_factory=list)


class Termsets(_Strict):
    """``negated`` adds to negspacy's ``en_clinical`` termset; the others stand on their own."""

    negated: Termset
    uncertain: Termset
    other_person: Termset
    hypothetical: Termset
    historical: Termset


class Fuzzy(_Strict):
    """Words of at least ``one_slip`` letters also match with one typing slip, of ``two_slips`` with two."""

    one_slip: int = Field(ge=3)
    two_slips: int = Field(ge=4)


class CountWords(_Strict):
    """Words of a count: numbers by value, shifts ("under five": one less) and fillers ("about five")."""

    numbers: dict[str, float]
    shifts: dict[str, float]
    fillers: list[str]


class TextFile(_Strict):
    """Phrases per variable and state, counts, and the termsets that say how a mention was said."""

    fuzzy: Fuzzy
    gap: int = Field(ge=1)  # the most words a "~" in a phrase stands for
    gap_never: list[str] = Field(default_factory=list)  # words a "~" never stands for
    pronouns: list[str] = Field(min_length=1)  # what "@" in a phrase stands for
    twitch_words: list[str] = Field(min_length=1)
    count_words: CountWords
    variables: dict[str, TextVariable]
    counts: list[TextCount] = Field(default_factory=list)
    termsets: Termsets
