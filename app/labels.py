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
