"""The name of one number of a priors folder: a file key and a path in that file.

``EntryName("findings", ("cramps", "overexertion", "brief"))`` is written
``findings: cramps -> overexertion -> brief``. It *is* that text (a ``str``),
so a dictionary keyed by names (:func:`priors.numbers_of`) can be indexed by
either, and it knows its parts, so nothing else splits or joins the text.

Examples
--------
>>> name = EntryName.parse("findings: cramps -> overexertion -> brief")
>>> name.file, name.parts, name.path
('findings', ('cramps', 'overexertion', 'brief'), 'cramps -> overexertion -> brief')
>>> name == "findings: cramps -> overexertion -> brief"
True
>>> EntryName.of("causes", "caffeine -> leak") == EntryName("causes", ("caffeine", "leak"))
True
"""

from __future__ import annotations

from collections.abc import Sequence

SEPARATOR = " -> "
FILE_MARK = ": "


class EntryName(str):
    """``file: a -> b -> c``, the name of one number; immutable, equal to its text.

    Parameters
    ----------
    file : str
        The file key: ``context``, ``causes``, ``findings`` or ``escalation``
        (``scale`` for a word of the verbal scale).
    parts : sequence of str
        The keys leading to the number inside that file.

    Raises
    ------
    ValueError
        For an empty file key or path, or a part that holds the separator.
    """

    __slots__ = ()

    def __new__(cls, file: str, parts: Sequence[str]) -> EntryName:
        parts = tuple(str(p) for p in parts)
        if not file or FILE_MARK in file or SEPARATOR in file:
            raise ValueError(f"'{file}' is not a file key")
        if not parts or any(not p or SEPARATOR in p for p in parts):
            raise ValueError(f"{parts!r} is not an entry path; expected parts joined by '{SEPARATOR}'")
        return super().__new__(cls, f"{file}{FILE_MARK}{SEPARATOR.join(parts)}")

    def __getnewargs__(self) -> tuple[str, tuple[str, ...]]:  # copy and pickle rebuild from the parts
        return self.file, self.parts

    @classmethod
    def parse(cls, text: str) -> EntryName:
        """Read ``"file: a -> b -> c"``.

        Raises
        ------
        ValueError
            When ``text`` has no ``file: `` prefix or an empty part.
        """
        if isinstance(text, EntryName):
            return text
        file, mark, path = str(text).partition(FILE_MARK)
        if not mark:
            raise ValueError(f"'{text}' is not an entry name; expected 'file: a{SEPARATOR}b', as numbers_of names them")
        return cls(file, path.split(SEPARATOR))

    @classmethod
    def of(cls, name: str | tuple[str, str | Sequence[str]], path: str | Sequence[str] | None = None) -> EntryName:
        """A name from what the public functions accept.

        ``of(name)`` for an EntryName or its text; ``of((file, path))`` or
        ``of(file, path)`` where ``path`` is ``"a -> b"`` or a sequence of parts.
        """
        if path is None and isinstance(name, tuple) and len(name) == 2:
            name, path = name
        if path is None:
            return cls.parse(name)
        parts = path.split(SEPARATOR) if isinstance(path, str) else path
        return cls(str(name), parts)

    @property
    def file(self) -> str:
        return self.partition(FILE_MARK)[0]

    @property
    def path(self) -> str:
        """The parts joined: ``"a -> b -> c"``."""
        return self.partition(FILE_MARK)[2]

    @property
    def parts(self) -> tuple[str, ...]:
        return tuple(self.path.split(SEPARATOR))

    @property
    def node(self) -> str | None:
        """The network node whose table holds the number (None for an escalation threshold or a word)."""
        return self.parts[0] if self.file in ("context", "causes", "findings") else None

    @property
    def owner(self) -> EntryName | None:
        """The name of the distribution (or link set) the number belongs to; None for a one-part path."""
        parts = self.parts
        return EntryName(self.file, parts[:-1]) if len(parts) > 1 else None

    def child(self, part: str) -> EntryName:
        return EntryName(self.file, (*self.parts, part))

    def __repr__(self) -> str:
        return f"EntryName({str(self)!r})"
