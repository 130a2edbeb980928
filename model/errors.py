"""The errors twitchcause raises for bad input; the CLI turns each into one line."""

from collections.abc import Mapping

from twitchcause.priors import PriorsError


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


__all__ = ["EvidenceError", "ImpossibleEvidenceError", "PriorsError", "TwitchcauseError", "UnknownCauseError"]
