"""twitchcause: Bayesian estimation of the causes of leg, foot and toe twitching.

``model.load()`` gives a :class:`Model`; ``Model.infer(evidence)`` gives the
posterior of each cause and the escalation. Importing this package does not
import pgmpy; the network is built when first needed.
"""

from .api import DISCLAIMER, Model, Result, load
from .errors import (
    EvidenceError,
    ImpossibleEvidenceError,
    PriorsError,
    TwitchcauseError,
    UnknownCauseError,
)

__all__ = [
    "DISCLAIMER",
    "EvidenceError",
    "ImpossibleEvidenceError",
    "Model",
    "PriorsError",
    "Result",
    "TwitchcauseError",
    "UnknownCauseError",
    "load",
]
