"""The WSGI entry point for production servers, with the project's gunicorn settings.

    gunicorn -c python:twitchcause.app.gunicorn_conf twitchcause.app.wsgi:server

(:mod:`twitchcause.app.gunicorn_conf`: threaded workers that a slow client does not hold, the
model compiled once before forking, 127.0.0.1:8050 unless ``--bind`` says otherwise.) The
priors folder is the packaged one, or the folder named by the ``TWITCHCAUSE_PRIORS``
environment variable; a folder that does not load stops the server with its problems, one line
each, and the exit status gunicorn reads as a worker that cannot boot (so it stops rather than
starting worker after worker).
"""

import os
import sys

from twitchcause.threads import one_blas_thread

# Each gunicorn worker is a process; numpy's BLAS would otherwise start a thread per core in
# every worker, and the workers' threads fight over the cores: with 2 workers on 2 cores that
# cost two thirds of the throughput.
one_blas_thread()

from gunicorn.arbiter import Arbiter  # noqa: E402

from twitchcause import load  # noqa: E402  (after the thread limits above)
from twitchcause.model import TwitchcauseError  # noqa: E402

from .server import create_app  # noqa: E402

try:
    server = create_app(load(os.environ.get("TWITCHCAUSE_PRIORS") or None)).server
except (TwitchcauseError, ValueError) as exc:  # PriorsError is a ValueError
    for problem in getattr(exc, "shown", None) or [" ".join(str(exc).split())]:  # PriorsError's are one line each
        print(f"twitchcause: error: {problem}", file=sys.stderr, flush=True)
    raise SystemExit(Arbiter.WORKER_BOOT_ERROR) from None
