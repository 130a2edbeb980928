"""The errors twitchcause raises for bad input; the CLI turns each into one line."""
from priors import PriorsError


class TwitchcauseError(ValueError):
    """Base of every error caused by what a user gave."""


class EvidenceError(TwitchcauseError):
    """An unknown evidence variable or state."""


class ImpossibleEvidenceError(TwitchcauseError):
    """Evidence to which the network gives probability zero."""


class UnknownCauseError(TwitchcauseError):
    """A cause name that is not in the vocabulary."""


__all__ = ["EvidenceError", "ImpossibleEvidenceError", "PriorsError", "TwitchcauseError", "UnknownCauseError"]
