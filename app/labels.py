"""Words shown to people: names made readable, probabilities as percentages."""

from __future__ import annotations


def readable(name: str) -> str:
    """``electrolyte_imbalance`` -> ``Electrolyte imbalance``."""
    words = name.replace("_", " ")
    return words[:1].upper() + words[1:]


def state_label(variable, state: str) -> str:
    """The vocabulary's label of a state, capitalised (``yes`` -> ``Yes``)."""
    return readable(variable.state_labels.get(state, state))


def percent(p: float) -> str:
    """A probability as a whole percentage that never rounds a possibility away."""
    text = f"{p:.0%}"
    if text == "0%" and p > 0:
        return "<1%"
    if text == "100%" and p < 1:
        return ">99%"
    return text


def probability_word(p: float, words: list[dict]) -> str:
    """The plain word for ``p``: the first of ``words`` (highest first, ``{word, at_least}``) it reaches."""
    return next((w["word"] for w in words if p >= w["at_least"]), words[-1]["word"])


def percent_range(low: float, high: float) -> str:
    """``(45-78%)`` with an en dash, both ends as :func:`percent` writes them."""
    return f"{percent(low).rstrip('%')}\u2013{percent(high)}"


# The answer a person gives when they do not know (its value is ``state.NOT_SURE``).
NOT_SURE_LABEL = "Not sure"
# A mark beside each level's heading, by its colour, so the level reads without colour too.
LEVEL_ICONS = {"danger": "\u26a0", "warning": "!", "success": "\u2713", "info": "i", "secondary": "?"}


def answer_label(variable, state: str, not_sure: str) -> str:
    """The label of an answer, "Not sure" included."""
    return NOT_SURE_LABEL if state == not_sure else state_label(variable, state)


def text_of(value) -> str:
    """A display entry's words: a plain string, or the ``text`` of ``{text, source, quote}``."""
    return value.get("text", "") if isinstance(value, dict) else str(value or "")


def names_list(names: list[str]) -> str:
    """``a, b and c``."""
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1] if names else ""
