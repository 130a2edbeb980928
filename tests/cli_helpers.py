"""Running the CLI in process, and reading a user error off stderr."""

from __future__ import annotations

from twitchcause.cli import main


def run(capsys, *argv):
    """Run the CLI in process: (exit status, stdout, stderr); a usage error's SystemExit gives its status."""
    try:
        status = main(list(argv))
    except SystemExit as exc:
        status = exc.code
    out, err = capsys.readouterr()
    return status, out, err


def one_error_line(err: str) -> str:
    """The single stderr line of a user error, without its prefix; fails on tracebacks or extra lines."""
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("twitchcause: error: "), err
    return lines[0].removeprefix("twitchcause: error: ")
