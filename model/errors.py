"""The errors twitchcause raises for bad input; the CLI turns each into one line."""

from collections.abc import Mapping


class TwitchcauseError(ValueError):
    """Base of every error caused by what a user gave."""


class EvidenceError(TwitchcauseError):
    """An unknown evidence variable or state."""


class ImpossibleEvidenceError(TwitchcauseError):
    """Evidence to which the network gives probability zero."""


def impossible_message(evidence: "Mapping[str, str] | str" = "") -> str:
    """The message of :class:`ImpossibleEvidenceError`, naming the evidence when given."""
    given = evidence if isinstance(evidence, str) else ", ".join(f"{k}={v}" for k, v in evidence.items())
    return "the network gives this evidence probability zero, so no posterior exists" + (f": {given}" if given else "")


class UnknownCauseError(TwitchcauseError):
    """A cause name that is not in the vocabulary."""


def __getattr__(name: str):
    # PriorsError belongs to the priors loader; importing it on first use keeps pydantic out of a quick start
    if name == "PriorsError":
        from twitchcause.priors import PriorsError

        return PriorsError
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["EvidenceError", "ImpossibleEvidenceError", "PriorsError", "TwitchcauseError", "UnknownCauseError"]  # noqa: F822
