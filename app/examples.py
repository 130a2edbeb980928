"""Example cases, read from ``examples.yaml`` and checked against the model once."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from twitchcause.model import TwitchcauseError

EXAMPLES_FILE = Path(__file__).resolve().parent / "examples.yaml"


@dataclass(frozen=True)
class Example:
    name: str
    label: str
    story: str
    evidence: dict[str, str]


def load_examples(model, path: Path = EXAMPLES_FILE) -> dict[str, Example]:
    """``{name: Example}`` in file order, every answer validated by ``model.parse``.

    Raises
    ------
    TwitchcauseError
        Naming the file and example when an entry is malformed or its answers
        do not fit the model (e.g. a priors folder with another vocabulary).
    """
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    examples = {}
    for name, entry in data.items():
        if not isinstance(entry, dict) or set(entry) != {"label", "story", "evidence"}:
            raise TwitchcauseError(
                f"{path}: {name}: expected the keys label, story and evidence, "
                f"got {', '.join(entry) if isinstance(entry, dict) else type(entry).__name__}"
            )
        try:
            evidence = model.parse(entry["evidence"])
        except ValueError as error:
            raise TwitchcauseError(f"{path}: {name}: {error}") from error
        examples[name] = Example(name, str(entry["label"]), " ".join(str(entry["story"]).split()), evidence)
    return examples
