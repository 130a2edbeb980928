"""Diaries of check-ins on this computer: one SQLite file, and the ``twitchcause diary`` commands.

The file is ``diaries.sqlite3`` in the user data folder (platformdirs;
``TWITCHCAUSE_DATA_DIR`` moves it). It runs in WAL mode with full syncs, and
every command that writes does so in one transaction, so a process killed at
any moment leaves the file as it was before the check-in it was adding, or with
it, never in between. ``PRAGMA user_version`` is the schema version; older
files are migrated step by step when opened, and a file from a newer
twitchcause is refused, untouched. Export and import speak the JSON the
dashboard keeps too: ``{"format": "twitchcause-diary", "version": 1, "name",
"check_ins": [...]}``.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
import sys
from contextlib import contextmanager
from pathlib import Path

from .diary_commands import add_parser
from .files import atomic_write, read_regular
from .model import DISCLAIMER, TwitchcauseError, diary_format
from .model.followup import DiaryError

FILE_NAME = "diaries.sqlite3"
SCHEMA_VERSION = 2
FORMAT, FORMAT_VERSION = diary_format.FORMAT, diary_format.FORMAT_VERSION
IMPORT_LIMIT, MAX_CHECK_INS, MAX_NAME = diary_format.IMPORT_LIMIT, diary_format.MAX_CHECK_INS, diary_format.MAX_NAME
BUSY_TIMEOUT_MS = 5000  # another twitchcause writing at the same moment: wait for it
BAR_WIDTH = 24

# MIGRATIONS[v] takes a file from schema v to v + 1, inside one transaction.
MIGRATIONS = {
    0: [
        "CREATE TABLE diaries (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, created TEXT NOT NULL)",
        """CREATE TABLE check_ins (
            id INTEGER PRIMARY KEY,
            diary INTEGER NOT NULL REFERENCES diaries(id) ON DELETE CASCADE,
            position INTEGER NOT NULL,
            body TEXT NOT NULL,
            UNIQUE (diary, position)
        )""",
    ],
    1: ["ALTER TABLE check_ins ADD COLUMN recorded TEXT NOT NULL DEFAULT ''"],  # when it was written down
}


class DiaryStoreError(TwitchcauseError):
    """The diary file or a diary in it cannot be used as asked."""


def data_dir() -> Path:
    if os.environ.get("TWITCHCAUSE_DATA_DIR"):
        return Path(os.environ["TWITCHCAUSE_DATA_DIR"])
    from platformdirs import user_data_dir

    return Path(user_data_dir("twitchcause", appauthor=False))


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


class Store:
    """The diaries file, opened (and migrated) on creation; use as a context manager."""

    def __init__(self, path: str | Path | None = None):
        self.path = Path(path) if path is not None else data_dir() / FILE_NAME
        try:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)  # health notes: this user's only
            os.close(os.open(self.path, os.O_CREAT | os.O_RDONLY | os.O_CLOEXEC, 0o600))
            self.db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
        except (OSError, sqlite3.Error) as exc:
            raise DiaryStoreError(f"{self.path}: cannot be opened ({exc})") from None
        try:
            self._prepare()
        except sqlite3.DatabaseError as exc:
            self.db.close()
            raise DiaryStoreError(f"{self.path}: not a twitchcause diary file ({exc}); it was left untouched") from None
        except DiaryStoreError:
            self.db.close()
            raise

    def _prepare(self) -> None:
        version = self.db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise DiaryStoreError(
                f"{self.path}: written by a newer twitchcause (diary schema {version}; this one reads up to "
                f"{SCHEMA_VERSION}); upgrade twitchcause to read it"
            )
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.execute("PRAGMA foreign_keys=ON")
        self.db.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        if version < SCHEMA_VERSION:
            with self.transaction():
                version = self.db.execute("PRAGMA user_version").fetchone()[0]  # another process may have migrated
                for step in range(version, SCHEMA_VERSION):
                    for statement in MIGRATIONS[step]:
                        self.db.execute(statement)
                self.db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.db.close()

    @contextmanager
    def transaction(self):
        """One write transaction, taken at once (another writer waits for it), committed or rolled back whole."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    # -- diaries ---------------------------------------------------------------------------
    def _id(self, name: str) -> int:
        row = self.db.execute("SELECT id FROM diaries WHERE name = ?", (name,)).fetchone()
        if row is None:
            names = [n for (n,) in self.db.execute("SELECT name FROM diaries ORDER BY name")]
            known = f"; diaries here: {', '.join(names)}" if names else "; none yet (twitchcause diary new NAME)"
            raise DiaryStoreError(f"no diary named {name!r}{known}")
        return row[0]

    def names(self) -> list[str]:
        return [n for (n,) in self.db.execute("SELECT name FROM diaries ORDER BY name")]

    def create(self, name: str, check_ins: list[dict] = ()) -> None:
        name = valid_name(name)
        with self.transaction():
            if self.db.execute("SELECT 1 FROM diaries WHERE name = ?", (name,)).fetchone():
                raise DiaryStoreError(f"a diary named {name!r} exists already; choose another name or delete it first")
            diary = self.db.execute("INSERT INTO diaries (name, created) VALUES (?, ?)", (name, _now())).lastrowid
            for position, check_in in enumerate(check_ins):
                self._insert(diary, position, check_in)

    def _insert(self, diary: int, position: int, check_in: dict) -> None:
        body = json.dumps(check_in, sort_keys=True)
        self.db.execute(
            "INSERT INTO check_ins (diary, position, body, recorded) VALUES (?, ?, ?, ?)",
            (diary, position, body, _now()),
        )

    def check_ins(self, name: str) -> list[dict]:
        diary = self._id(name)
        rows = self.db.execute("SELECT body FROM check_ins WHERE diary = ? ORDER BY position", (diary,))
        return [json.loads(body) for (body,) in rows]

    def add(self, name: str, check_in: dict, validate) -> dict:
        """Append ``check_in`` as ``validate(every check-in)`` gives it back (the last one), and return that."""
        with self.transaction():
            diary = self._id(name)
            existing = self.check_ins(name)
            check_in = validate([*existing, check_in])[-1]
            self._insert(diary, len(existing), check_in)
        return {"check_in": len(existing) + 1, **check_in}

    def delete(self, name: str) -> None:
        with self.transaction():
            self.db.execute("DELETE FROM diaries WHERE id = ?", (self._id(name),))


def valid_name(name: object) -> str:
    try:
        return diary_format.valid_name(name)
    except DiaryError as exc:
        raise DiaryStoreError(str(exc)) from None


# -- the JSON that export writes and import reads (model/diary_format.py, shared with the dashboard)
exported = diary_format.exported


def read_export(path: str, model) -> tuple[str, list[dict]]:
    """The name and validated check-ins of an exported diary file. Raises :class:`DiaryStoreError` (one line)."""
    try:
        raw = read_regular(path, IMPORT_LIMIT)
    except FileNotFoundError:
        raise DiaryStoreError(f"{path}: no such file") from None
    except OSError as exc:
        raise DiaryStoreError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    try:
        return diary_format.parse_export(model, diary_format.load_export(raw))
    except DiaryError as exc:
        raise DiaryStoreError(f"{path}: {exc}") from None


# -- the commands -----------------------------------------------------------------------------
def _model(args):
    from . import load

    return load(args.priors)


def _validator(model):
    from .model.followup import parse_diary

    return lambda check_ins: [c.to_dict() for c in parse_diary(model, check_ins)]


def _print(args, data: dict, text: str) -> None:
    print(json.dumps(data, indent=2) if args.json else text)


def cmd_new(args) -> int:
    with Store() as store:
        store.create(args.name)
    _print(args, {"diary": valid_name(args.name), "check_ins": 0}, f"diary {args.name!r} created")
    return 0


def cmd_add(args) -> int:
    from .cli import _parse_assignments

    answers = _parse_assignments(args.evidence)
    for name in args.not_sure or []:
        answers[name] = "not_sure"
    date = args.date or dt.date.today().isoformat()
    check_in = {"date": date, "answers": answers, "changes": list(args.changed or [])}
    if args.twitch:
        check_in["twitch"] = args.twitch
    model = _model(args)
    with Store() as store:
        added = store.add(args.name, check_in, _validator(model))
        result = model.follow_up(store.check_ins(args.name))
    # the level is the product: shown at once, whatever else the person looks at later
    level = f"escalation now: {result.level} - {model.priors.level_descriptions[result.level]}"
    lines = [f"check-in {added['check_in']} added to {args.name!r}", level]
    lines += [f"  - [{r.rule}] {r.message} (source: {r.source})" for r in result.reasons]
    escalation = result.to_dict()["escalation"]
    _print(args, {"diary": args.name, **added, "escalation": escalation}, "\n".join(lines))
    return 0


def cmd_show(args) -> int:
    model = _model(args)
    with Store() as store:
        check_ins = store.check_ins(args.name)
    if not check_ins:
        raise DiaryStoreError(f"diary {args.name!r} has no check-in yet (twitchcause diary add {args.name} ...)")
    result = model.follow_up(check_ins)
    _print(args, {"diary": args.name, **result.to_dict()}, format_follow_up(args.name, result, model))
    return 0


def cmd_export(args) -> int:
    with Store() as store:
        data = exported(args.name, store.check_ins(args.name))
        kept = [store.path, *(store.path.with_name(store.path.name + end) for end in ("-wal", "-shm", "-journal"))]
    if args.output not in (None, "-") and any(_same_file(args.output, path) for path in kept):
        raise DiaryStoreError(f"{args.output}: that is where the diaries are kept; export to another file")
    text = json.dumps(data, indent=2) + "\n"
    if args.output in (None, "-"):
        sys.stdout.write(text)
        return 0
    atomic_write(args.output, text)
    _print(args, {"diary": args.name, "exported": args.output}, f"diary {args.name!r} -> {args.output}")
    return 0


def _same_file(a: str | Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist
        return False


def cmd_import(args) -> int:
    model = _model(args)
    name, check_ins = read_export(args.file, model)
    name = valid_name(args.name) if args.name else name
    with Store() as store:
        store.create(name, check_ins)
    message = f"diary {name!r} imported: {len(check_ins)} check-ins"
    _print(args, {"diary": name, "check_ins": len(check_ins)}, message)
    return 0


def cmd_delete(args) -> int:
    with Store() as store:
        store.delete(args.name)
    _print(args, {"deleted": args.name}, f"diary {args.name!r} deleted")
    return 0


def format_follow_up(name: str, result, model) -> str:
    """What ``twitchcause diary show`` prints."""
    first, last = result.check_ins[0].date, result.check_ins[-1].date
    lines = [f"diary {name!r}: {len(result.check_ins)} check-ins, {first} to {last}", ""]
    width = max(len(c) for c in model.causes)
    level = f"{model.priors.uncertainty.level.value:.0%} interval"
    lines.append(f"{'what drives it':<{width}}  {'P':>5}  {level:>15}")
    for cause in result.ranking:
        p = result.drivers[cause]
        low, high = result.interval[cause]
        lines.append(f"{cause:<{width}}  {p:>5.0%}  {f'{low:.0%} - {high:.0%}':>15}  {'#' * round(p * BAR_WIDTH)}")
    lines.append(f"{'no listed cause':<{width}}  {result.none_identified:>5.0%}")
    lines += ["", "timeline (for a doctor):"]
    for row in result.timeline:
        said = [f"{v}={a}" if b is None else f"{v} {b} -> {a}" for v, (b, a) in row.moved.items()]
        parts = [*(f"changed: {c}" for c in row.changes), *([f"twitch {row.twitch}"] if row.twitch else []), *said]
        lines.append(f"  {row.date} (day {row.day}): {'; '.join(parts) or 'no answer'}; top {row.top} {row.p_top:.0%}")
    if result.changes:
        lines += ["", "did it help?"] + [f"  - {c.summary}" for c in result.changes]
    if result.try_next:
        lines += ["", "what to try next (the change whose result would tell most first):"]
        lines += [
            f"  - {c.action}: how the twitch is after it tells {c.information_bits:.2f} bits (source: {c.source})"
            for c in result.try_next
        ]
    lines += ["", f"escalation: {result.level} - {model.priors.level_descriptions[result.level]}"]
    lines += [f"  - [{r.rule}] {r.message} (source: {r.source})" for r in result.reasons]
    if result.pending:
        lines.append(
            f"not yet a verdict: {len(result.pending)} warning-sign questions left: {', '.join(result.pending)}"
        )
    lines += ["", DISCLAIMER]
    return "\n".join(lines)


__all__ = ["DiaryStoreError", "Store", "add_parser", "exported", "read_export"]
