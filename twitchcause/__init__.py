"""twitchcause: Bayesian estimation of the causes of leg, foot and toe twitching.

>>> import twitchcause
>>> m = twitchcause.load()
>>> m.infer({"weakness": "yes"}).escalation.level
'see_doctor_promptly'

The parts: :mod:`twitchcause.priors` (the numbers, as data),
:mod:`twitchcause.model` (the network and its inference),
:mod:`twitchcause.app` (the dashboard) and the ``twitchcause`` command line.
Names are imported on first use, so ``twitchcause --version`` stays quick.
"""

from __future__ import annotations

from importlib import import_module

_FROM_MODEL = (
    "DISCLAIMER",
    "EvidenceError",
    "ImpossibleEvidenceError",
    "Model",
    "PriorsError",
    "Result",
    "TwitchcauseError",
    "UnknownCauseError",
)


def load(priors_dir=None, *, cache: bool = True):
    """Load and validate a priors folder (the packaged one by default) into a :class:`Model`.

    The compiled engine is kept in the on-disk cache (:mod:`twitchcause.cache`)
    unless ``cache`` is False or ``TWITCHCAUSE_NO_CACHE=1``.

    Raises
    ------
    PriorsError
        Naming each file, entry and problem.
    """
    from .cache import default_store
    from .model import load as load_model

    return load_model(priors_dir, engine_store=default_store() if cache else None)


def _installed_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("twitchcause")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "0+unknown"


def __getattr__(name: str):
    if name in _FROM_MODEL:
        return getattr(import_module(".model", __name__), name)
    if name == "__version__":  # read from the installed metadata on first use (20 ms of imports a query skips)
        globals()["__version__"] = _installed_version()
        return globals()["__version__"]
    raise AttributeError(f"module 'twitchcause' has no attribute {name!r}")


__all__ = ["__version__", "load", *_FROM_MODEL]
