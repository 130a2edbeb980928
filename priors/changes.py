"""What moved between two priors folders, number by number.

:func:`diff` compares the resolved numbers, not the text: a retuned word of
the scale shows as that word and every number resting on it (their ``rest``
states included), and nothing that kept its value is listed, whatever
happened to comments, quoting or layout. ``twitchcause priors diff A B``
prints it.

Examples
--------
>>> from twitchcause.priors import load_priors, tune_number
>>> base = load_priors()
>>> tuned = tune_number(base, "causes", "caffeine -> leak", 0.3, why="example")
>>> [str(change.name) for change in diff(base, tuned)]
['causes: caffeine -> leak']
>>> change = diff(base, tuned)[0]
>>> change.new, change.new_word, change.note
(0.3, 'p', 'tuned: example')
"""

from __future__ import annotations

from dataclasses import dataclass

from .loader import Number, Priors, resolved_numbers
from .names import EntryName
from .tuning import TUNED_MARK


@dataclass(frozen=True)
class Change:
    """One number (or word of the scale) that differs between two folders.

    ``old``/``new`` is None where the number exists on one side only. A
    word is the word of the scale the number rests on, ``p`` for an explicit
    number, ``rest``/``background`` for a state derived from its siblings.
    ``source`` is the new side's grounds (a source id or ``assumption``) and
    ``note`` why it moved (``tuned: ...``, ``learned from N cases``).
    """

    name: EntryName
    old: float | None
    new: float | None
    old_word: str | None
    new_word: str | None
    source: str | None
    note: str | None

    def to_dict(self) -> dict:
        return {
            "file": self.name.file,
            "entry": self.name.path,
            "word": {"old": self.old_word, "new": self.new_word},
            "old": self.old,
            "new": self.new,
            "source": self.source,
            "note": self.note,
        }


def _word(number: Number | None) -> str | None:
    if number is None:
        return None
    if number.entry is None:
        return number.derived
    return number.entry.word or "p"


def _grounds(number: Number | None) -> tuple[str | None, str | None]:
    entry = number.entry if number is not None else None
    if entry is None:
        return None, None
    note = f"tuned: {entry.tuned}" if entry.tuned else None
    if entry.learned is not None:
        note = f"learned from {entry.learned.cases} cases"
    return entry.source or "assumption", note


def diff(a: Priors, b: Priors) -> list[Change]:
    """Every word of the scale and every number whose value differs from ``a`` to ``b``.

    Parameters
    ----------
    a, b : Priors
        The folder before and after, e.g. ``load_priors()`` and a saved tuned folder.

    Returns
    -------
    list of Change
        Words of the scale first, then numbers in the order of ``b``
        (:func:`priors.numbers_of`), then numbers that only ``a`` has.
    """
    changes = []
    words_a, words_b = a.scale.words, b.scale.words
    for word in [*words_b, *(w for w in words_a if w not in words_b)]:
        old, new = words_a.get(word), words_b.get(word)
        if old is None or new is None or old.p != new.p:
            anchor = new.anchor if new is not None else None
            note = None
            if anchor and TUNED_MARK in anchor and (old is None or anchor != old.anchor):
                note = "tuned: " + anchor.split(TUNED_MARK, 1)[1].removesuffix("]")
            changes.append(
                Change(
                    EntryName("scale", (word,)),
                    old.p if old else None,
                    new.p if new else None,
                    word if old else None,
                    word if new else None,
                    "scale",
                    note,
                )
            )
    numbers_a, numbers_b = resolved_numbers(a), resolved_numbers(b)
    for name in [*numbers_b, *(n for n in numbers_a if n not in numbers_b)]:
        old, new = numbers_a.get(name), numbers_b.get(name)
        if old is not None and new is not None and old.value == new.value:
            continue
        source, note = _grounds(new if new is not None else old)
        changes.append(
            Change(
                name,
                old.value if old else None,
                new.value if new else None,
                _word(old),
                _word(new),
                source,
                note,
            )
        )
    return changes


def _value(value: float | None) -> str:
    return "-" if value is None else f"{value:.6g}"


def table(changes: list[Change]) -> str:
    """The changes as an aligned text table, one line per number (``no number moved`` when empty)."""
    if not changes:
        return "no number moved"
    rows = [("file", "entry", "word", "old -> new", "source")]
    for c in changes:
        words = c.new_word if c.old_word == c.new_word else f"{c.old_word or '-'} -> {c.new_word or '-'}"
        grounds = "; ".join(part for part in (c.source, c.note) if part) or "-"
        rows.append((c.name.file, c.name.path, words, f"{_value(c.old)} -> {_value(c.new)}", grounds))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths)) + "  " + row[4] for row in rows)


__all__ = ["Change", "diff", "table"]
