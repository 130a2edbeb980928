"""The WSGI entry point for production servers.

    gunicorn --workers 4 --preload --bind 127.0.0.1:8050 twitchcause.app.wsgi:server

The priors folder is the packaged one, or the folder named by the
``TWITCHCAUSE_PRIORS`` environment variable.
"""

import os

# Each gunicorn worker is a process that serves one request at a time. numpy's BLAS would
# otherwise start a thread per core in every worker, and the workers' threads fight over the
# cores: with 2 workers on 2 cores that cost two thirds of the throughput. Must precede numpy.
for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

from twitchcause import load  # noqa: E402  (after the thread limits above)

from .server import create_app  # noqa: E402

server = create_app(load(os.environ.get("TWITCHCAUSE_PRIORS") or None)).server
