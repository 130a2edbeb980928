"""The numbers of the twitchcause network, as data, and their loader.

The YAML files beside this module hold every probability of the network, each
tied to a word of the verbal scale and to the document phrase (or stated
assumption) it rests on. :func:`load_priors` validates a folder of them whole.
"""

from .changes import Change, diff
from .loader import (
    DEFAULT_DIR,
    Number,
    Priors,
    PriorsError,
    Variable,
    check_quotes,
    closest,
    did_you_mean,
    iter_citations,
    iter_entries,
    load_priors,
    numbers_of,
    rebalance,
    resolved_numbers,
)
from .names import EntryName
from .saving import save_priors
from .tuning import learn, tune, tune_number, tune_word

__all__ = [
    "Change",
    "DEFAULT_DIR",
    "EntryName",
    "Number",
    "Priors",
    "PriorsError",
    "Variable",
    "check_quotes",
    "closest",
    "did_you_mean",
    "diff",
    "iter_citations",
    "iter_entries",
    "learn",
    "load_priors",
    "numbers_of",
    "rebalance",
    "resolved_numbers",
    "save_priors",
    "tune",
    "tune_number",
    "tune_word",
]
