"""The ``twitchcause`` command line: infer, read, batch, schema, app, network export, priors check and diff, diary.

User errors print one line (per problem) on stderr and exit with status 2.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from contextlib import contextmanager

from .threads import one_blas_thread

one_blas_thread()  # before numpy is imported (by the model, below)

from . import load  # noqa: E402
from .files import read_regular  # noqa: E402
from .model import DISCLAIMER, Model, Result, TwitchcauseError  # noqa: E402

# The priors loader (pydantic, YAML) and the package metadata are imported where they are needed, so that
# `infer` restored from a snapshot (twitchcause.snapshot) starts without them.

EXIT_USAGE = 2
EXIT_OUTPUT = 1  # the answer could not be written (a full disk, say): not the user's input at fault
CASES_FILE_LIMIT = 16 * 2**20  # a file of sample cases; far more than any set of cases needs
EVIDENCE_FILE_LIMIT = 1 << 20  # bytes; a case is a few dozen answers
BAR_WIDTH = 24
NONE_LABEL = "none_identified"  # the result's name for "no listed cause is contributing"


def _parse_assignments(items: list[str]) -> dict[str, str]:
    evidence = {}
    for item in items:
        name, sep, state = item.partition("=")
        name, state = name.strip(), state.strip()
        if not sep or not name:
            raise TwitchcauseError(f"evidence '{item}' is not VAR=STATE (for example caffeine_intake=high)")
        if name in evidence:
            raise TwitchcauseError(f"evidence '{name}' is given twice ({evidence[name]!r} and {state!r}); give it once")
        evidence[name] = state
    return evidence


def _unique_keys(pairs):
    found = {}
    for key, value in pairs:
        if key in found:
            raise TwitchcauseError(f"evidence '{key}' is given twice ({found[key]!r} and {value!r}); give it once")
        found[key] = value
    return found


def _read_json_file(path: str, limit: int):
    try:
        text = read_regular(path, limit).decode("utf-8-sig")
        data = json.loads(text, object_pairs_hook=_unique_keys)
    except FileNotFoundError:
        raise TwitchcauseError(f"{path}: no such file") from None
    except OSError as exc:
        raise TwitchcauseError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise TwitchcauseError(f"{path}: not valid JSON ({exc})") from None
    except RecursionError:
        raise TwitchcauseError(f"{path}: not valid JSON (nested too deeply)") from None
    return data


def _read_evidence_file(path: str) -> dict[str, str]:
    data = _read_json_file(path, EVIDENCE_FILE_LIMIT)
    if not isinstance(data, dict):
        raise TwitchcauseError(f"{path}: expected a JSON object {{variable: state}}, got {type(data).__name__}")
    return data


def _merge_answers(from_file: dict, from_arguments: dict[str, str]) -> dict:
    for name, state in from_arguments.items():
        if name in from_file:
            raise TwitchcauseError(
                f"evidence '{name}' is given twice ({from_file[name]!r} in the file and {state!r}); give it once"
            )
    return from_file | from_arguments


def one_line(text: str) -> str:
    """``text`` with control characters and line breaks escaped, so one message stays one line."""
    if text.isprintable():
        return text
    return "".join(
        ch if ch.isprintable() else ch.encode("unicode_escape", "backslashreplace").decode("ascii") for ch in text
    )


def format_table(result: Result, model: Model) -> str:
    width = max(len(c) for c in model.causes)
    level = f"{model.priors.uncertainty.level.value:.0%} interval"
    header = f"{'cause':<{width}}  {'prior':>6}  {'posterior':>9}  {level:>15}"
    lines = [header, "-" * (len(header) + 2 + BAR_WIDTH)]
    for cause in result.ranking:
        p = result.posterior[cause]
        low, high = result.interval[cause]
        bar = "#" * round(p * BAR_WIDTH)
        lines.append(
            f"{cause:<{width}}  {result.prior[cause]:>6.1%}  {p:>9.1%}  {f'{low:.0%} - {high:.0%}':>15}  {bar}"
        )
    none, none_prior = result.none_identified, model.prior_none_identified
    lines += ["", f"{NONE_LABEL:<{width}}  {none_prior:>6.1%}  {none:>9.1%}  {'':>15}  {'#' * round(none * BAR_WIDTH)}"]
    esc = result.escalation
    lines += ["", f"escalation: {esc.level} - {model.priors.level_descriptions[esc.level]}"]
    for reason in esc.reasons:
        lines.append(f"  - [{reason.rule}] {reason.message} (source: {reason.source})")
    if result.not_sure:
        lines.append(f"not sure: {', '.join(result.not_sure)}")
    if not esc.settled:
        lines.append(f"not yet a verdict: {len(esc.pending)} warning-sign questions left: {', '.join(esc.pending)}")
    for item in result.serious_causes:
        lines.append(f"{item['cause']}: {item['text']}")
    lines += ["", "see a doctor if:"] + [
        f"  - {item['condition']} (source: {item['source']})" for item in result.safety_net
    ]
    lines += ["", f"priors: {model.priors.directory} (fingerprint {model.priors.fingerprint})"]
    return "\n".join(lines)


def _read_cases(path: str) -> dict[str, dict]:
    """Cases in the sample-case format: a list of {"id", "evidence", ...} or an object {name: evidence}."""
    data = _read_json_file(path, CASES_FILE_LIMIT)
    if isinstance(data, dict):
        cases = data
    elif isinstance(data, list) and all(isinstance(c, dict) and "evidence" in c for c in data):
        cases = {str(c.get("id", f"case {i + 1}")): c["evidence"] for i, c in enumerate(data)}
    else:
        raise TwitchcauseError(f"{path}: expected a list of cases with an 'evidence' object, or {{name: evidence}}")
    for name, evidence in cases.items():
        if not isinstance(evidence, dict):
            raise TwitchcauseError(f"{path}: case '{name}': evidence must be an object {{variable: state}}")
    if not cases:
        raise TwitchcauseError(f"{path}: no cases")
    return cases


def cmd_robustness(args) -> int:
    cases = _read_cases(args.cases)
    model = load(args.priors)
    stability = model.robustness(cases, draws=args.draws, spread=args.spread)
    draws = args.draws or model.priors.uncertainty.robustness_draws.value
    how = (
        f"every number moved by up to {args.spread:.0%}"
        if args.spread is not None
        else "every number within its word's band"
    )
    if args.json:
        print(json.dumps({"draws": draws, "spread": args.spread, "cases": [s.to_dict() for s in stability]}, indent=2))
        return 0
    width = max(len(s.case) for s in stability)
    print(f"{draws} draws, {how}")
    print(f"{'case':<{width}}  {'top cause':<22}  {'top held':>8}  {'top 3 held':>10}  {'margin':>6}")
    for s in stability:
        print(f"{s.case:<{width}}  {s.top:<22}  {s.top_held:>8.0%}  {s.top3_held:>10.0%}  {s.margin:>6.2f}")
    held = [s.top_held for s in stability]
    weakest = min(stability, key=lambda s: s.top_held)
    print(
        f"overall: top cause held in {sum(held) / len(held):.0%} of case-draws; "
        f"{sum(h >= 0.9 for h in held)} of {len(held)} cases keep it in at least 90% of draws; "
        f"weakest {weakest.case} ({weakest.top_held:.0%})"
    )
    return 0


def format_help(items) -> str:
    lines = []
    for item in items:
        causes = ", ".join(f"{c} {item.before[c]:.0%} -> {item.after[c]:.0%}" for c in item.causes)
        lines.append(
            f"  {item.variable}={item.state} -> {item.change_to}: {item.action}: {causes} (source: {item.source})"
        )
    return "\n".join(lines)


def format_explanation(items) -> str:
    if not items:
        return "  (no answers given)"
    width = max(len(f"{i.variable}={i.state}") for i in items)
    return "\n".join(
        f"  {f'{i.variable}={i.state}':<{width}}  {i.contribution:+8.3f}  {i.direction:<9}  {i.question}" for i in items
    )


def format_questions(questions) -> str:
    if not questions:
        return "  (every question is answered)"
    width = max(len(q.variable) for q in questions)
    lines = [f"  {'variable':<{width}}  {'gain (bits)':>11}  {'P(level rises)':>14}  question"]
    for q in questions:
        flag = " [red flag]" if q.red_flag else ""
        lines.append(
            f"  {q.variable:<{width}}  {q.information_gain:>11.3f}  {q.p_escalation_rises:>14.1%}  {q.question}{flag}"
        )
    return "\n".join(lines)


def _sections(text: str | None) -> list[str] | None:
    """``--include posterior,escalation`` as a list of names (checked by the model), None when not given."""
    if text is None:
        return None
    return [name.strip() for name in text.split(",") if name.strip()]


def format_mentions(mentions, answers: dict[str, str]) -> str:
    """The mentions of a text, one a line, then the answers they propose."""
    if not mentions:
        return "  (nothing in the text names an answer)"
    width = max(len(m.text) for m in mentions)
    lines = [
        f"  {one_line(m.text):<{width}}  {m.variable}={m.state if m.state is not None else '?'}  ({m.how})"
        for m in mentions
    ]
    proposed = ", ".join(f"{name}={state}" for name, state in answers.items()) or "(none)"
    return "\n".join([*lines, "", f"proposed answers: {proposed}"])


def cmd_read(args) -> int:
    model = load(args.priors)
    mentions = model.read_text(args.text)
    answers = model.text_answers(mentions)
    if args.json:
        print(json.dumps({"mentions": [m.to_dict() for m in mentions], "answers": answers}, indent=2))
        return 0
    print(format_mentions(mentions, answers))
    print(f"\n{DISCLAIMER}")
    return 0


def cmd_infer(args) -> int:
    from_file = _read_evidence_file(args.evidence_file) if args.evidence_file else {}
    evidence = _merge_answers(from_file, _parse_assignments(args.evidence))
    if args.next is not None and args.next < 0:
        raise TwitchcauseError(f"--next takes a count of questions (0 or more), got {args.next}")
    include = _sections(args.include)
    if include is not None and not args.json:
        raise TwitchcauseError("--include works with --json (the table shows every section)")
    from .snapshot import load_for_inference

    model = load_for_inference(args.priors)
    not_sure = tuple(args.not_sure or ())
    from_text = None
    if args.text is not None:  # explicit answers win, and the text never lowers the level they call for
        mentions = model.read_text(args.text)
        given = model.parse_answers(evidence, not_sure)
        evidence, not_sure = model.text_answers(mentions, evidence, not_sure), ()
        explicit = {*given[0], *given[1]}
        from_text = {name: state for name, state in evidence.items() if name not in explicit}
        from_text = {"mentions": [m.to_dict() for m in mentions], "answers": from_text}
    if args.json:
        report = model.report(evidence, explain=args.explain, next=args.next, not_sure=not_sure, include=include)
        print(json.dumps({**report, "from_text": from_text} if from_text is not None else report, indent=2))
        return 0
    if from_text is not None:
        words = ", ".join(f"{name}={state}" for name, state in from_text["answers"].items()) or "(none)"
        print(f"from your words: {words}\n")
    result = model.infer(evidence, not_sure)
    explanation = model.explain(result.evidence, args.explain) if args.explain else None
    questions = model.ask_next(result.evidence, args.next, result.not_sure) if args.next is not None else None
    print(format_table(result, model))
    helps = model.what_would_help(result.evidence)
    if helps:
        print("\nwhat would help (for you, had the answer been the safer one):")
        print(format_help(helps))
    if explanation is not None:
        print(f"\nwhy {args.explain} (change in log-odds when the answer alone is removed):")
        print(format_explanation(explanation))
    if questions is not None:
        print("\nwhat to ask next:")
        print(format_questions(questions))
    print(f"\n{DISCLAIMER}")
    return 0


@contextmanager
def _termination_as_exit():
    """SIGTERM and SIGHUP end the run through Python's exits, so temporary files are removed on the way."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum, frame):
        raise SystemExit(128 + signum)

    previous = {signum: signal.signal(signum, stop) for signum in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def cmd_batch(args) -> int:
    from .batch import run_batch

    model = load(args.priors)
    chunking = {} if args.chunk_rows is None else {"chunk_rows": args.chunk_rows}
    with _termination_as_exit():
        if args.dask:
            return _batch_on_dask(args, model)
        summary = run_batch(model, args.input, args.output, skip_bad_rows=args.skip_bad_rows, **chunking)
    message = f"{summary.rows} rows -> {args.output}"
    if summary.rejected:
        message += f"; {summary.rejected} bad rows -> {summary.rejected_path}"
    print(one_line(message), file=sys.stderr)
    return 0


def _batch_on_dask(args, model) -> int:
    from .distributed import run_dask

    if args.skip_bad_rows:
        raise TwitchcauseError("--skip-bad-rows works without --dask only; a bad row stops a Dask run")
    if args.workers is not None and args.workers < 1:
        raise TwitchcauseError(f"--workers takes a count of 1 or more, got {args.workers}")
    rows = run_dask(model, args.input, args.output, args.dask, priors_dir=args.priors, workers=args.workers)
    print(one_line(f"{rows} rows -> {args.output} (a folder of Parquet parts)"), file=sys.stderr)
    return 0


def cmd_schema(args) -> int:
    model = load(args.priors)
    schema = model.schema()
    if args.json:
        print(json.dumps(schema, indent=2))
        return 0
    print("causes:")
    for cause, info in schema["causes"].items():
        print(f"  {cause}: {info['description']}")
    print("\nevidence variables:")
    for name, info in schema["evidence"].items():
        print(f"  {name}: {info['question']}\n      states: {', '.join(info['states'])}")
    print(f"\nany variable may also be answered {schema['not_sure']['answer']}: {schema['not_sure']['meaning']}")
    print("\nescalation levels:")
    for level, text in schema["escalation_levels"].items():
        print(f"  {level}: {text}")
    print(f"\n{DISCLAIMER}")
    return 0


def cmd_priors_check(args) -> int:
    from .priors import PriorsError, check_quotes, iter_citations, iter_entries, load_priors

    directory = args.directory
    try:
        priors = load_priors(directory)
    except PriorsError as exc:
        for problem in exc.shown:
            print(one_line(problem), file=sys.stderr)
        return EXIT_USAGE
    problems = []
    if args.documents:
        problems = check_quotes(priors, args.documents)
        for problem in problems:
            print(one_line(problem), file=sys.stderr)
    if problems:
        return EXIT_USAGE
    numbers = sum(1 for _ in iter_entries(priors))
    quotes = sum(1 for _ in iter_citations(priors))
    checked = f"; {quotes} quotes found verbatim in {args.documents}" if args.documents else ""
    print(
        f"{priors.directory}: ok: {numbers} numbers, {len(priors.variables)} variables, "
        f"{len(priors.causes)} causes, {len(priors.escalation.rules)} rules{checked}"
    )
    return 0


def cmd_priors_diff(args) -> int:
    from .priors import changes, load_priors

    a, b = load_priors(args.a), load_priors(args.b)
    moved = changes.diff(a, b)
    if args.json:
        sides = {side: {"folder": str(p.directory), "fingerprint": p.fingerprint} for side, p in (("a", a), ("b", b))}
        print(json.dumps({**sides, "changes": [c.to_dict() for c in moved]}, indent=2))
    else:
        print(changes.table(moved))
    return 0


def cmd_network_export(args) -> int:
    from .export import export_network

    path = export_network(load(args.priors), args.format, args.file)
    print(one_line(f"network ({args.format}) -> {path}"), file=sys.stderr)
    return 0


def cmd_app(args) -> int:
    from twitchcause.app.server import serve

    serve(load(args.priors), host=args.host, port=args.port, debug=args.debug)
    return 0


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"port {text!r} is not a number") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port {port} is outside 1-65535")
    return port


class _Parser(argparse.ArgumentParser):
    """argparse with its usage errors as one line, like every other error of the command."""

    def error(self, message):
        self.exit(EXIT_USAGE, f"twitchcause: error: {one_line(message)} (see '{self.prog} --help')\n")


class _Version(argparse.Action):
    """``--version``, reading the installed metadata only when asked."""

    def __call__(self, parser, namespace, values, option_string=None):
        from . import __version__

        print(f"{parser.prog} {__version__}")
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="twitchcause", description=("Estimate the likely causes of leg, foot and toe twitching. " + DISCLAIMER)
    )
    parser.add_argument("--version", action=_Version, nargs=0, help="show the version and exit")
    sub = parser.add_subparsers(dest="command", required=True)

    def with_priors(p):
        p.add_argument("--priors", metavar="DIR", help="priors folder (default: the packaged one)")
        return p

    infer = with_priors(sub.add_parser("infer", help="posterior of each cause for one case"))
    infer.add_argument("evidence", nargs="*", metavar="VAR=STATE", help="answers, e.g. caffeine_intake=high")
    infer.add_argument("--evidence-file", metavar="CASE.json", help="a JSON object {variable: state}")
    infer.add_argument(
        "--not-sure",
        action="append",
        metavar="VAR",
        help="a question answered 'not sure' (repeatable; the same as VAR=not_sure)",
    )
    infer.add_argument("--json", action="store_true", help="print JSON instead of a table")
    infer.add_argument("--explain", metavar="CAUSE", help="each answer's contribution to CAUSE")
    infer.add_argument("--next", type=int, metavar="N", help="the N most useful unanswered questions")
    infer.add_argument(
        "--include",
        metavar="SECTIONS",
        help="with --json: the sections to compute, comma-separated, of "
        "posterior, escalation, interval, what_would_help, explanation, next (default: all)",
    )
    infer.add_argument(
        "--text", metavar="TEXT", help="also the answers a description in your own words gives (answers given win)"
    )
    infer.set_defaults(func=cmd_infer)

    read = with_priors(sub.add_parser("read", help="the answers a description in your own words gives"))
    read.add_argument("text", metavar="TEXT", help='e.g. "four coffees a day, my calf twitches, no cramps"')
    read.add_argument("--json", action="store_true", help='print {"mentions": [...], "answers": {...}}')
    read.set_defaults(func=cmd_read)

    robust = with_priors(sub.add_parser("robustness", help="how often each case keeps its top cause as numbers move"))
    robust.add_argument(
        "cases", metavar="CASES.json", help="sample-case format: [{id, evidence}, ...] or {name: evidence}"
    )
    robust.add_argument("--draws", type=int, metavar="N", help="random draws of the priors (default: uncertainty.yaml)")
    robust.add_argument(
        "--spread",
        type=float,
        metavar="S",
        help="move every number by up to this share (e.g. 0.35); default: every number within its word's band",
    )
    robust.add_argument("--json", action="store_true")
    robust.set_defaults(func=cmd_robustness)

    batch = with_priors(sub.add_parser("batch", help="one case per row of a CSV or Parquet file"))
    batch.add_argument("input", metavar="IN", help="a .csv or .parquet file (with --dask, also a glob)")
    batch.add_argument("-o", "--output", required=True, metavar="OUT", help=".csv or .parquet (with --dask: a folder)")
    batch.add_argument(
        "--skip-bad-rows", action="store_true", help="write rows with a bad cell to OUT.rejected.csv and go on"
    )
    batch.add_argument(
        "--dask", metavar="SCHEDULER", help="score on a Dask cluster: its address (tcp://host:8786) or 'local'"
    )
    batch.add_argument("--workers", type=int, metavar="N", help="worker processes of --dask local (default: cores)")
    batch.add_argument("--chunk-rows", type=int, help=argparse.SUPPRESS)  # default: run_batch's
    batch.set_defaults(func=cmd_batch)

    schema = with_priors(sub.add_parser("schema", help="causes, evidence variables and levels"))
    schema.add_argument("--json", action="store_true")
    schema.set_defaults(func=cmd_schema)

    app = with_priors(sub.add_parser("app", help="serve the dashboard"))
    app.add_argument("--host", default="127.0.0.1")
    app.add_argument("--port", type=_port, default=8050)
    app.add_argument("--debug", action="store_true")
    app.set_defaults(func=cmd_app)

    network = sub.add_parser("network", help="the Bayesian network in other tools' formats")
    network_sub = network.add_subparsers(dest="network_command", required=True)
    export = with_priors(network_sub.add_parser("export", help="write the network as BIF, XMLBIF or Hugin NET"))
    export.add_argument("--format", required=True, choices=("bif", "xmlbif", "net"), help="the file format")
    export.add_argument("file", metavar="FILE", help="the file to write (replaced atomically)")
    export.set_defaults(func=cmd_network_export)

    priors = sub.add_parser("priors", help="work with priors folders")
    priors_sub = priors.add_subparsers(dest="priors_command", required=True)
    check = priors_sub.add_parser("check", help="validate a priors folder")
    check.add_argument("directory", nargs="?", metavar="DIR", help="default: the packaged priors")
    check.add_argument("--documents", metavar="DIR", help="also check every quote verbatim against these texts")
    check.set_defaults(func=cmd_priors_check)
    moved = priors_sub.add_parser("diff", help="the numbers that differ between two priors folders")
    moved.add_argument("a", metavar="A", help="the folder before, e.g. priors/")
    moved.add_argument("b", metavar="B", help="the folder after, e.g. a saved tuned folder")
    moved.add_argument("--json", action="store_true", help="JSON with both folders' fingerprints")
    moved.set_defaults(func=cmd_priors_diff)

    from .diary_commands import add_parser as add_diary_parser  # not the store: SQLite, the follow-up model

    add_diary_parser(sub, with_priors)
    return parser


def _report(message: str) -> None:
    print(f"twitchcause: error: {one_line(message)}", file=sys.stderr)


def _quiet_stdout() -> None:
    """Point stdout at the null device, so the interpreter's last flush cannot fail on a closed pipe."""
    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # stdout is not a real file (captured in process)
        pass


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        status = args.func(args)
        sys.stdout.flush()  # a full disk or closed pipe shows here, not in the interpreter's exit
        return status
    except TwitchcauseError as exc:
        _report(str(exc))
    except UnicodeEncodeError as exc:  # a name no file system can hold (a lone surrogate, say)
        _report(f"{exc.object[exc.start : exc.end]!a} in an argument cannot be encoded as a file name on this system")
    except ValueError as exc:
        from .priors import PriorsError

        if not isinstance(exc, PriorsError):
            raise
        for problem in exc.shown:
            _report(problem)
    except KeyboardInterrupt:
        _report("interrupted")
        return 128 + signal.SIGINT
    except BrokenPipeError:  # the reader stopped early (`| head`): nothing to say
        _quiet_stdout()
        return 0
    except OSError as exc:  # writing the answer failed
        _quiet_stdout()
        _report(f"cannot write the output ({exc.strerror or exc})")
        return EXIT_OUTPUT
    return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
