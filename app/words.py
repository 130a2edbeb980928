"""Describe it in your own words: the box first on the page, what it found, and the marks on the form.

:func:`read_words` turns a story into answers under the ones already given
(:meth:`Model.text_answers`: those win, and the text never lowers their level;
an uncertain warning sign becomes "not sure"); the interview then asks only
what is still needed. The answers found are kept as ``{variable: state}`` in a
``dcc.Store`` (the story itself stays in the box: never in the address). Each
is listed with the words it came from and a "Change" button that puts its
question on screen; a form question whose answer is still the story's is
marked "from your words".
"""

from __future__ import annotations

from dataclasses import dataclass

from dash import dcc, html

from twitchcause.model import TwitchcauseError

from .case import split_case
from .labels import answer_label, readable
from .state import NOT_SURE

FROM_WORDS = "from your words"
NOT_USED = {  # how a mention was said, when it gave no answer
    "affirmed": "not used",
    "negated": "not used",
    "uncertain": "said as not sure: not used",
    "other_person": "about someone else: not used",
    "hypothetical": "a what-if: not used",
    "historical": "in the past: not used",
}
PLACEHOLDER = "e.g. Four energy drinks a day, my left calf has flickered for two days, no cramps."


def words_section() -> html.Section:
    """The box: a story, a button to read it, and what it found."""
    return html.Section(
        [
            html.H2("Describe it in your own words", className="h5", id="words-heading"),
            html.Label(
                "Optional: the answers found are filled in for you to check.",
                htmlFor="words-text",
                className="form-label small text-body-secondary",
            ),
            dcc.Textarea(id="words-text", placeholder=PLACEHOLDER, className="form-control mb-2", rows=2),
            html.Button(
                "Fill in the answers",
                id={"type": "words", "action": "read"},
                type="button",
                className="btn btn-primary btn-sm",
            ),
            html.Div(id="words-found", className="small mt-2", **{"aria-live": "polite"}),
        ],
        id="words-section",
        className="card card-body mb-3",
        **{"aria-labelledby": "words-heading"},
    )


@dataclass(frozen=True)
class WordsReading:
    """The case after reading a story (None: unchanged), the answers it gave, and the list to show."""

    case: dict[str, str] | None
    from_words: dict[str, str]
    found: list


def read_words(text, case: dict[str, str], model, earlier: dict | None = None) -> WordsReading:
    """The story ``text`` read into ``case``: the answers already there win, except those still as an
    ``earlier`` reading of the box gave them (a story told again replaces its own answers)."""
    earlier = earlier if isinstance(earlier, dict) else {}
    case = {name: state for name, state in case.items() if earlier.get(name) != state}
    try:
        mentions = model.read_text(text if isinstance(text, str) else "")
        answers, not_sure = split_case(case)
        merged = model.text_answers(mentions, answers, not_sure)
    except TwitchcauseError as exc:
        return WordsReading(None, {}, [html.P(str(exc), className="text-danger mb-0")])
    given = {name: state for name, state in merged.items() if name not in case}
    return WordsReading({**case, **given}, given, found_view(mentions, given, model))


def change_button(name: str, model) -> html.Button:
    return html.Button(
        "Change",
        id={"type": "words-change", "question": name},
        type="button",
        className="btn btn-link btn-sm p-0 ms-1 align-baseline",
        **{"aria-label": f"Change: {model.variables[name].question}", "data-question": name},
    )


def found_view(mentions, given: dict[str, str], model) -> list:
    """What the story gave, answer by answer with the words it came from, then what was read but not used."""
    if not mentions:
        return [html.P("Nothing in it matched a question: the questions below ask for it.", className="mb-0")]
    used = [
        html.Li(
            [
                html.Strong(f"{readable(name)}: {answer_label(model.variables[name], state, NOT_SURE)}"),
                f" \u2014 \u201c{', '.join(dict.fromkeys(m.text for m in mentions if m.variable == name))}\u201d",
                change_button(name, model),
            ],
            **{"data-question": name},
        )
        for name, state in given.items()
    ]
    unused = [
        html.Li(f"\u201c{m.text}\u201d ({readable(m.variable)}): {NOT_USED[m.how]}")
        for m in mentions
        if m.variable not in given
    ]
    parts = []
    if used:
        parts += [html.P(f"Filled in {FROM_WORDS}:", className="mb-1"), html.Ul(used, className="mb-1")]
    if unused:
        parts += [html.P("Read but not used as your answers:", className="mb-1"), html.Ul(unused, className="mb-0")]
    return parts


def words_mark(name: str, case: dict[str, str], from_words: dict[str, str]):
    """The mark on a form question whose answer is still the one the story gave."""
    if name in from_words and case.get(name) == from_words[name]:
        return html.Span(FROM_WORDS, className="badge text-bg-info ms-1")
    return None
