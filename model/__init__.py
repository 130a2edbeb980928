"""twitchcause: Bayesian estimation of the causes of leg, foot and toe twitching.

``model.load()`` gives a :class:`Model`; ``Model.infer(evidence)`` gives the
posterior of each cause and the escalation. Importing this package does not
import pgmpy; the network is built when first needed.
"""

from .api import DISCLAIMER, NOT_SURE, SECTIONS, Model, Result, load
from .errors import (
    EvidenceError,
    ImpossibleEvidenceError,
    TwitchcauseError,
    UnknownCauseError,
)


def __getattr__(name: str):
    # PriorsError comes with the priors loader (pydantic, YAML), imported on first use: see errors.py
    if name == "PriorsError":
        from .errors import PriorsError

        return PriorsError
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "DISCLAIMER",
    "EvidenceError",
    "NOT_SURE",
    "ImpossibleEvidenceError",
    "Model",
    "PriorsError",
    "Result",
    "SECTIONS",
    "TwitchcauseError",
    "UnknownCauseError",
    "load",
]
