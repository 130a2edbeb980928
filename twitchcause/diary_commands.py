"""The ``twitchcause diary`` subcommands' arguments, apart from the diary store (:mod:`twitchcause.diary`).

Every command line builds the whole parser, so these are kept out of the store's
module: importing it brings SQLite and the diary's follow-up model, which
``twitchcause infer`` does not use. Each subcommand imports the store when it
runs.
"""

from __future__ import annotations


def _command(name: str):
    """``twitchcause.diary.<name>``, imported when the subcommand runs."""

    def run(args) -> int:
        from . import diary

        return getattr(diary, name)(args)

    run.__name__ = run.__qualname__ = name
    return run


def add_parser(sub, with_priors) -> None:
    """``twitchcause diary new|add|show|export|import|delete``."""
    diary = sub.add_parser("diary", help="keep a diary of check-ins and see what it shows over days")
    commands = diary.add_subparsers(dest="diary_command", required=True)

    def command(name, func, help, priors=False):
        p = commands.add_parser(name, help=help)
        if priors:
            with_priors(p)
        p.add_argument("--json", action="store_true", help="print JSON")
        p.set_defaults(func=_command(func))
        return p

    command("new", "cmd_new", "start a diary").add_argument("name", metavar="NAME")
    add = command("add", "cmd_add", "add a check-in", priors=True)
    add.add_argument("name", metavar="NAME")
    add.add_argument("evidence", nargs="*", metavar="VAR=STATE", help="answers true now, e.g. sleep=short")
    add.add_argument("--date", metavar="YYYY-MM-DD", help="default: today")
    add.add_argument("--changed", action="append", metavar="EXPOSURE", help="a change made since the last check-in")
    add.add_argument("--twitch", metavar="HOW", help="how it is now vs the first check-in: gone, better, same, worse")
    add.add_argument("--not-sure", action="append", metavar="VAR", help="a question you are not sure about")
    show = command("show", "cmd_show", "what the diary shows: drivers, what helped, what next, the level", priors=True)
    show.add_argument("name", metavar="NAME")
    export = command("export", "cmd_export", "write a diary as JSON (the dashboard's format)")
    export.add_argument("name", metavar="NAME")
    export.add_argument("-o", "--output", metavar="FILE", help="default: standard output")
    imported = command("import", "cmd_import", "read a diary exported here or from the dashboard", priors=True)
    imported.add_argument("file", metavar="FILE")
    imported.add_argument("--name", metavar="NAME", help="store it under this name")
    command("delete", "cmd_delete", "delete a diary").add_argument("name", metavar="NAME")
