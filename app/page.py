"""The HTML page around the app: its language, its header, and only the scripts it runs.

Dash's default page wraps its scripts in an unlabelled ``<footer>``, has no
language, loads a polyfill bundle modern browsers do not need and the table
library the page never uses, and blocks the first paint on every script. Here
the scripts are deferred (run in order once the page is parsed), so the header,
with what the tool is and its disclaimer, paints before any script has run.
"""

from __future__ import annotations

import re
from html import escape

from twitchcause.model import DISCLAIMER

TAGLINE = "Why is my toe, foot or leg twitching?"
# Script bundles the page does not run: polyfills for old browsers, the table component.
UNUSED_SCRIPTS = ("/deps/polyfill@", "/dash_table/")
INDEX_STRING = f"""<!DOCTYPE html>
<html lang="en">
<head>
{{%metas%}}
<title>{{%title%}}</title>
{{%favicon%}}
{{%css%}}
</head>
<body>
<header class="site-header bg-dark text-white py-2">
<div class="container-lg"><h1 class="h6 mb-0"><span class="brand">twitchcause</span>
<span class="tagline">{TAGLINE}</span></h1>
<p class="small mb-0 header-note">{escape(DISCLAIMER)}</p></div>
</header>
{{%app_entry%}}
{{%config%}}
{{%scripts%}}
{{%renderer%}}
</body>
</html>"""
SCRIPT_TAG = re.compile(r'<script src="([^"]+)"></script>')


def page_scripts(scripts: str) -> str:
    """Dash's script tags without the unused bundles, each deferred."""

    def keep(match: re.Match) -> str:
        src = match.group(1)
        return "" if any(part in src for part in UNUSED_SCRIPTS) else f'<script defer src="{src}"></script>'

    return SCRIPT_TAG.sub(keep, scripts)


def prepare_page(app) -> None:
    """Give the Dash ``app`` this page; the renderer starts once the deferred scripts have run."""
    app.index_string = INDEX_STRING
    app.renderer = f'document.addEventListener("DOMContentLoaded", function () {{ {app.renderer} }});'
    interpolate = app.interpolate_index

    def interpolate_index(**parts):
        return interpolate(**{**parts, "scripts": page_scripts(parts.get("scripts", ""))})

    app.interpolate_index = interpolate_index
