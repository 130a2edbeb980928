"""A person's own words read as mentions of the vocabulary's answers, each with how it was said.

The reader is a blank spaCy English pipeline (nothing is downloaded): a
sentencizer, an entity ruler holding the phrases of ``priors/text.yaml``
(matched on spaCy's normal forms, so "can't" is "cannot"), and negspacy's
``negex`` once per way of saying something: ``negated`` with the
``en_clinical`` termset plus the data's words, and ``uncertain``,
``other_person``, ``hypothetical`` and ``historical`` each with its own termset
of the data, marking mentions in an extension of that name. A mention is
affirmed when none of them marks it; when several do, the first of
:data:`PRECEDENCE` names it ("my mother had no weakness" is about the mother).

Only affirmed and negated mentions become proposed answers, and the safe way:
a negated mention gives the variable's ``negated`` state (never one that raises
the level); a red flag (a variable an escalation rule names) said uncertainly
is "not sure"; when mentions disagree, a state that raises the level wins.
spaCy is the ``twitchcause[text]`` extra and is imported only here, on first use.

Examples
--------
>>> from twitchcause import model
>>> m = model.load()
>>> mentions = m.read_text("Four cups of coffee a day, no cramps, and my mother had weakness but I do not.")
>>> [(x.variable, x.state, x.how) for x in mentions]
[('caffeine_intake', 'high', 'affirmed'), ('cramps', None, 'negated'), ('weakness', 'yes', 'other_person')]
>>> m.text_answers(mentions)
{'caffeine_intake': 'high', 'cramps': 'none'}
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .errors import ImpossibleEvidenceError, TwitchcauseError
from .evidence import NOT_SURE

if TYPE_CHECKING:
    from twitchcause.priors import schema

AFFIRMED = "affirmed"
PRECEDENCE = ("other_person", "hypothetical", "historical", "uncertain", "negated")
HOWS = (AFFIRMED, "negated", "uncertain", "other_person", "hypothetical", "historical")
MAX_TEXT_CHARS = 10_000  # a description is a few sentences; a longer text is not one and only costs time
SLIPS_KEPT = 4096  # typed words whose slip is remembered: far more than the words people use about a twitch
NEEDS_EXTRA = "reading text needs the text extra: pip install 'twitchcause[text]'"


@dataclass(frozen=True)
class Mention:
    """One phrase of the text that names a variable (and a state, or None when only the variable is named).

    ``start`` and ``end`` are character offsets (``text == story[start:end]``);
    ``how`` is one of :data:`HOWS`.
    """

    variable: str
    state: str | None
    text: str
    start: int
    end: int
    how: str
    distance: int = field(default=0, compare=False, repr=False)  # words to the twitch, for near-twitch variables

    def to_dict(self) -> dict:
        return {
            "variable": self.variable,
            "state": self.state,
            "text": self.text,
            "start": self.start,
            "end": self.end,
            "how": self.how,
        }


class TextReader:
    """The pipeline built from ``text.yaml`` for one vocabulary; :meth:`read` gives the mentions of a text."""

    def __init__(self, spec: schema.TextFile):
        try:
            import spacy
            from negspacy.negation import Negex  # noqa: F401  (registers the "negex" pipe)
            from negspacy.termsets import termset
            from spacy.matcher import Matcher
            from spacy.matcher.levenshtein import levenshtein
        except ImportError:
            raise TwitchcauseError(NEEDS_EXTRA) from None
        self.spec = spec
        self._distance = levenshtein
        words = spec.count_words
        self._number = re.compile(r"^(\d+(\.\d+)?|" + "|".join(map(re.escape, words.numbers)) + ")$")
        nlp = self.nlp = spacy.blank("en")
        nlp.add_pipe("sentencizer")
        ruler = nlp.add_pipe("entity_ruler")
        self._meanings: list[tuple[tuple[tuple[str, str | None], ...], schema.TextCount | None]] = []
        said_as = []  # (phrase, meanings, count)
        for name, said in spec.variables.items():
            for state, phrases in said.phrases.items():
                for phrase in phrases:
                    text, also = (phrase, {}) if isinstance(phrase, str) else (phrase.say, phrase.also)
                    said_as.append((text, ((name, state), *also.items()), None))
            said_as += [(phrase, ((name, None),), None) for phrase in said.mentioned]
        for count in spec.counts:
            said_as += [(phrase, ((count.variable, None),), count) for phrase in count.patterns]
        self._lexicon = {
            token.norm_
            for phrase in [p for p, _, _ in said_as] + list(spec.twitch_words)
            for word in phrase.split()
            for token in nlp.tokenizer(word)
            if token.is_alpha
        }
        self._slips = {}  # {typed word: the known word it is a slip of, or None}
        ruler.add_patterns([self._pattern(*args) for args in said_as])
        clinical = {key: list(terms) for key, terms in termset("en_clinical").get_patterns().items()}
        for how in ("negated", *PRECEDENCE[:-1]):
            terms = getattr(spec.termsets, how)
            base = clinical if how == "negated" else {key: [] for key in clinical}
            config = {
                "pseudo_negations": base["pseudo_negations"] + terms.pseudo,
                "preceding_negations": base["preceding_negations"] + terms.preceding,
                "following_negations": base["following_negations"] + terms.following,
                "termination": base["termination"] + terms.termination,
            }
            nlp.add_pipe("negex", name=how, config={"neg_termset": config, "extension_name": how})
        self._twitch = Matcher(nlp.vocab)
        self._twitch.add("twitch", [self._tokens(word) for word in spec.twitch_words])

    # -- phrases to token patterns ----------------------------------------------------------
    def _pattern(self, phrase: str, meanings, count) -> dict:
        self._meanings.append((tuple(meanings), count))
        return {"label": "MENTION", "id": str(len(self._meanings) - 1), "pattern": self._tokens(phrase)}

    def _tokens(self, phrase: str) -> list[dict]:
        words = self.spec.count_words
        tokens: list[dict] = []
        for word in phrase.split():
            if word == "~":
                tokens.append(
                    {"IS_PUNCT": False, "NORM": {"NOT_IN": list(self.spec.gap_never)}, "OP": f"{{0,{self.spec.gap}}}"}
                )
            elif word == "@":
                tokens.append({"NORM": {"IN": list(self.spec.pronouns)}})
            elif word == "#":
                number = {"NORM": {"REGEX": self._number.pattern}}
                tokens += [
                    {"NORM": {"IN": [*words.shifts, *words.fillers]}, "OP": "*"},
                    number,
                    {**number, "OP": "?"},
                    {"NORM": "of", "OP": "?"},
                ]
            elif word.endswith("*"):
                tokens.append({"NORM": {"REGEX": "^" + re.escape(word[:-1].lower())}})
            else:
                tokens += [{"NORM": token.norm_} for token in self.nlp.tokenizer(word)]
        return tokens

    def _slip_of(self, typed: str) -> str | None:
        """The known word ``typed`` is a typing slip of ("cofee": coffee), or None.

        A word of ``fuzzy.one_slip`` letters allows one slip, of ``fuzzy.two_slips`` two; a
        slip never turns one known word into another ("ankle" is no slip of "ankles").
        """
        if typed not in self._slips:
            if len(self._slips) >= SLIPS_KEPT:
                del self._slips[next(iter(self._slips))]  # the oldest: the words people type most come back
            fuzzy = self.spec.fuzzy
            found = None
            if typed.isalpha() and typed not in self._lexicon and len(typed) >= fuzzy.one_slip - 1:
                best = None
                for known in self._lexicon:
                    allowed = 2 if len(known) >= fuzzy.two_slips else 1 if len(known) >= fuzzy.one_slip else 0
                    if allowed and abs(len(known) - len(typed)) <= allowed:
                        distance = self._distance(typed, known)
                        if distance <= allowed and (best is None or (distance, known) < best):
                            best = (distance, known)
                found = best[1] if best else None
            self._slips[typed] = found
        return self._slips[typed]

    # -- reading -------------------------------------------------------------------------------
    def read(self, text: str) -> list[Mention]:
        # The words of a story live in spaCy's string store only while it is read: a server reading
        # stories for months would otherwise keep every word ever typed.
        with self.nlp.memory_zone():
            return self._read(text)

    def _read(self, text: str) -> list[Mention]:
        doc = self.nlp.make_doc(text)
        for token in doc:
            known = self._slip_of(token.norm_)
            if known is not None:
                token.norm_ = known
        for _, pipe in self.nlp.pipeline:
            doc = pipe(doc)
        twitch_at = sorted({i for _, start, end in self._twitch(doc) for i in range(start, end)})
        mentions = []
        for span in doc.ents:
            meanings, count = self._meanings[int(span.ent_id_)]
            how = next((h for h in PRECEDENCE if span._.get(h)), AFFIRMED)
            sentence = span.sent
            near = [  # words between the mention and each word for the twitch in its sentence
                span.start - i if i < span.start else max(0, i - span.end + 1)
                for i in twitch_at
                if sentence.start <= i < sentence.end
            ]
            said = self.spec.variables.get(meanings[0][0])  # the phrase's own variable decides for its also
            distance = 0
            if said is not None and said.near_twitch is not None:
                distance = min(near, default=None)
                if distance is None or distance > said.near_twitch:
                    continue  # not about the twitch: "swollen ankles", "the toes catch on the kerb"
            for variable, state in meanings:
                if count is not None:
                    state = self._counted(span, count)
                mentions.append(Mention(variable, state, span.text, span.start_char, span.end_char, how, distance))
        return mentions

    def _counted(self, span, count: schema.TextCount) -> str:
        """The state of a count phrase: its number ("a few": few; after any shift) against the count's bounds."""
        words = self.spec.count_words
        value, shift = None, 0.0
        for token in span:
            word = token.norm_
            if self._number.match(word):
                value = float(word) if word[0].isdigit() else words.numbers[word]
            elif value is not None:
                break  # the count is the first run of number words, read by its last
            else:
                shift = words.shifts.get(word, shift)
        value = (value or 0.0) + shift
        return next(s.state for s in count.states if s.below is None or value < s.below)


def raising_states(priors) -> dict[str, set[str]]:
    """``{variable: states}`` that an escalation rule fires on: the red flags of a text."""
    found: dict[str, set[str]] = {}
    for rule in priors.escalation.rules:
        for name, states in rule.when.items():
            found.setdefault(name, set()).update(states)
    return found


def proposed_answers(mentions: list[Mention], priors) -> dict[str, str]:
    """``{variable: state}`` from the affirmed and negated mentions (and "not sure" for an uncertain red flag).

    Per variable: an affirmed state that raises the level; else "not sure" when a
    red flag is said uncertainly; else the affirmed state (the nearest to the twitch
    for near-twitch variables, else the last in the vocabulary's order); else, when
    it is only ever negated, the variable's ``negated`` state.
    """
    raising = raising_states(priors)
    said = priors.text.variables
    answers = {}
    for name, variable in priors.variables.items():
        found = [m for m in mentions if m.variable == name]
        if not found:
            continue
        stated = [m for m in found if m.how == AFFIRMED and m.state is not None]
        flags = raising.get(name, set())
        alarming = [m for m in stated if m.state in flags]
        spec = said.get(name)
        near = spec is not None and spec.near_twitch is not None
        if any(_may_raise(m, flags) for m in found) and not alarming:
            answers[name] = NOT_SURE
        elif stated:
            order = variable.states.index
            best = min(alarming or stated, key=lambda m: (m.distance if near else 0, -order(m.state)))
            answers[name] = best.state
        elif spec is not None and spec.negated and any(m.how == "negated" for m in found):
            if not any(m.how == AFFIRMED for m in found):  # "no energy drinks, just coffee" says nothing of none
                answers[name] = spec.negated
    return answers


def _may_raise(mention: Mention, flags: set[str]) -> bool:
    """An uncertain mention of a red flag that names no state or a state that raises the level."""
    return bool(flags) and mention.how == "uncertain" and (mention.state is None or mention.state in flags)


def with_explicit(model, proposed: Mapping[str, str], explicit: Mapping[str, object] | None) -> dict:
    """The explicit answers, plus each proposed answer that keeps the level at least theirs.

    Explicit answers win; a text answer that would lower the level the explicit
    answers call for (through a rule's ``unless`` or a cause's threshold) is left out.
    """
    answers = dict(explicit or {})
    levels = model.priors.levels
    floor = levels.index(model.infer(answers).escalation.level)
    for name, state in proposed.items():
        if name in answers:
            continue
        trial = {**answers, name: state}
        try:
            level = model.infer(trial).escalation.level
        except ImpossibleEvidenceError:
            continue
        if levels.index(level) >= floor:
            answers = trial
    return answers


def read(reader: TextReader, text: object) -> list[Mention]:
    """Validate ``text`` where it enters and read it."""
    if not isinstance(text, str):
        raise TwitchcauseError(f"the text must be a string, got {type(text).__name__}")
    if len(text) > MAX_TEXT_CHARS:
        raise TwitchcauseError(f"the text has {len(text):,} characters; a description is at most {MAX_TEXT_CHARS:,}")
    return reader.read(text) if text.strip() else []


__all__ = ["HOWS", "NOT_SURE", "Mention", "TextReader", "proposed_answers", "raising_states", "with_explicit"]
