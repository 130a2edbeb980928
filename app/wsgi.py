"""The WSGI entry point for production servers.

    gunicorn --workers 4 --preload --bind 127.0.0.1:8050 app.wsgi:server

The priors folder is the packaged one, or the folder named by the
``TWITCHCAUSE_PRIORS`` environment variable.
"""
import os

from .server import create_app

server = create_app(os.environ.get("TWITCHCAUSE_PRIORS") or None).server
