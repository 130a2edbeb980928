"""The network in the files other Bayesian-network tools open: BIF, XMLBIF and Hugin NET, by pgmpy's writers.

GeNIe/SMILE, pyAgrum, SamIam, Hugin and bnlearn read at least one of them.
Every number is written in full (the shortest text that reads back as the same
double), so a reader that parses doubles gets the network's own numbers; the
file replaces its target atomically (:func:`twitchcause.files.atomic_write`)
and only ever a regular file.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import numpy as np

from .files import atomic_write
from .model import Model, TwitchcauseError

FORMATS = ("bif", "xmlbif", "net")
SUFFIXES = {"bif": ".bif", "xmlbif": ".xml", "net": ".net"}


def network_text(model: Model, format: str) -> str:
    """The network of ``model`` as the text of a ``format`` file (one of :data:`FORMATS`).

    Examples
    --------
    >>> from twitchcause import load
    >>> network_text(load(), "bif").splitlines()[0]
    'network twitchcause {'
    """
    from pgmpy.readwrite import BIFWriter, XMLBIFWriter

    network = model.network.copy()
    network.name = "twitchcause"
    if format == "bif":
        return str(BIFWriter(network))
    if format == "xmlbif":
        return str(XMLBIFWriter(network))
    if format == "net":
        return str(_full_precision_net_writer()(network))
    raise TwitchcauseError(f"unknown network format '{format}'; expected one of {', '.join(FORMATS)}")


def export_network(model: Model, format: str, target: str | Path) -> Path:
    """Write the network of ``model`` to ``target`` as a ``format`` file; the path written.

    A symlink to a regular file is followed (the file it points to is
    replaced, the link kept, as a shell's ``>`` does); a folder, a device or a
    FIFO is refused, and a write that fails leaves ``target`` as it was.

    Raises
    ------
    TwitchcauseError
        For an unknown format, a target that is not a regular file or has no folder, or a failed write.
    """
    text = network_text(model, format)
    path = Path(os.path.realpath(target))
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        mode = None
    except OSError as exc:
        raise TwitchcauseError(f"{target}: cannot be checked ({exc.strerror or exc})") from None
    if mode is not None and stat.S_ISDIR(mode):
        raise TwitchcauseError(f"{target}: is a folder; expected the path of the network file")
    if mode is not None and not stat.S_ISREG(mode):
        raise TwitchcauseError(f"{target}: is not a regular file; export writes only regular files")
    if not path.parent.is_dir():
        raise TwitchcauseError(f"{path.parent}: no such folder for the network file {path.name}")
    try:
        atomic_write(path, text)
    except OSError as exc:
        raise TwitchcauseError(f"{target}: cannot be written ({exc.strerror or exc})") from None
    return path


def _number(value: float) -> str:
    """The shortest positional text that reads back as ``value`` ("1.0", not "1.", which GeNIe refuses)."""
    return np.format_float_positional(float(value), unique=True, trim="0")


def _full_precision_net_writer():
    """pgmpy's NETWriter, its tables written in full instead of to 8 decimals (rows then sum to 1 exactly)."""
    from pgmpy.readwrite import NETWriter

    class FullPrecisionNETWriter(NETWriter):
        def net_cpd(self, var_name):
            # the node's own states on the last axis, as NETWriter lays them out
            table = np.moveaxis(np.asarray(self.tables[var_name], dtype=float), 0, -1)

            def nested(values) -> str:
                if values.ndim == 1:
                    return "(" + " ".join(_number(v) for v in values) + ")"
                return "(" + "\n ".join(nested(v) for v in values) + ")"

            return nested(table)

    return FullPrecisionNETWriter
