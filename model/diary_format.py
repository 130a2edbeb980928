"""The diary's export JSON, read and written without files: the command line and the dashboard share it.

``{"format": "twitchcause-diary", "version": 1, "name": ..., "check_ins": [{"date", "answers",
"changes", "twitch"}, ...]}``. :func:`parse_export` refuses anything else in one line
(:class:`DiaryError`); the caller adds where the text came from.
"""

from __future__ import annotations

import json

from .followup import DiaryError, parse_diary

FORMAT = "twitchcause-diary"
FORMAT_VERSION = 1
IMPORT_LIMIT = 4 * 2**20  # bytes; a year of daily check-ins is well under 1 MB
MAX_CHECK_INS = 5000
MAX_NAME = 64


def valid_name(name: object) -> str:
    if not isinstance(name, str) or not name.strip():
        raise DiaryError("a diary name must be a non-empty text")
    if len(name) > MAX_NAME or not name.isprintable():
        shown = name[:MAX_NAME].encode("unicode_escape").decode("ascii")
        raise DiaryError(f"diary name {shown!r} must be at most {MAX_NAME} printable characters")
    return name.strip()


def exported(name: str, check_ins: list[dict]) -> dict:
    return {"format": FORMAT, "version": FORMAT_VERSION, "name": name, "check_ins": check_ins}


def _no_duplicates(pairs):
    found = {}
    for key, value in pairs:
        if key in found:
            raise DiaryError(f"key {key[:40]!r} is given twice in one object")
        found[key] = value
    return found


def load_export(raw: bytes) -> object:
    """The JSON of an export file's bytes (at most ``IMPORT_LIMIT``), duplicate keys refused."""
    if len(raw) > IMPORT_LIMIT:
        raise DiaryError(f"{len(raw):,} bytes; a diary file is at most {IMPORT_LIMIT:,}")
    try:
        return json.loads(raw.decode("utf-8-sig"), object_pairs_hook=_no_duplicates)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DiaryError(f"not valid JSON ({exc})") from None
    except RecursionError:
        raise DiaryError("not valid JSON (nested too deeply)") from None


def parse_export(model, data: object) -> tuple[str, list[dict]]:
    """The name and validated check-ins (as dicts) of an exported diary's JSON value."""
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise DiaryError(f'not a twitchcause diary (expected an object with "format": "{FORMAT}")')
    version = data.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise DiaryError(f"version {str(version)[:20]!r} is not a diary format version")
    if version > FORMAT_VERSION:
        raise DiaryError(
            f"written by a newer twitchcause (diary format {version}; this one reads up to {FORMAT_VERSION})"
        )
    extra = sorted(set(data) - {"format", "version", "name", "check_ins"})
    if extra:
        raise DiaryError(f"unknown key {str(extra[0])[:40]!r}; expected format, version, name, check_ins")
    check_ins = data.get("check_ins")
    if not isinstance(check_ins, list):
        raise DiaryError("check_ins must be a list of check-ins")
    if len(check_ins) > MAX_CHECK_INS:
        raise DiaryError(f"{len(check_ins):,} check-ins; at most {MAX_CHECK_INS:,}")
    name = valid_name(data.get("name"))
    return name, [c.to_dict() for c in parse_diary(model, check_ins)]
