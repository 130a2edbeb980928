"""One BLAS thread for numpy in the project's own processes (the command line, the server's workers).

The model's products are small (a few thousand states by a few dozen columns): a
second thread never pays for itself, and on a busy machine BLAS threads fight
each other and every other process for the cores (a unique dashboard case took
three times as long on a loaded 2-core machine). The limit must be set before
numpy is imported; a value the environment already holds is kept. A library
import (``import twitchcause``) leaves the caller's threads alone.
"""

from __future__ import annotations

import os

VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS")


def one_blas_thread() -> None:
    """Ask numpy's BLAS for one thread (before numpy is imported), unless the environment says otherwise."""
    for name in VARIABLES:
        os.environ.setdefault(name, "1")


__all__ = ["VARIABLES", "one_blas_thread"]
