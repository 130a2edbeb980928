"""Remove outputs and execution counts from the notebooks, so that git holds only their source.

Run it before committing a notebook you have executed::

    .venv/bin/python notebooks/strip_outputs.py            # every notebook of this folder
    .venv/bin/python notebooks/strip_outputs.py --check    # exit 1 if any notebook holds outputs
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat

HERE = Path(__file__).resolve().parent


def strip(path: Path) -> bool:
    """Strip one notebook in place; return True when it held outputs."""
    nb = nbformat.read(path, as_version=4)
    dirty = False
    for cell in nb.cells:
        if cell.cell_type == "code" and (cell.outputs or cell.execution_count is not None):
            cell.outputs, cell.execution_count, dirty = [], None, True
        if cell.metadata.pop("execution", None) is not None:
            dirty = True
    if nb.metadata.pop("widgets", None) is not None:
        dirty = True
    if dirty:
        nbformat.write(nb, path)
    return dirty


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: every notebook beside this script")
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if a notebook holds outputs")
    args = parser.parse_args(argv)
    paths = args.notebooks or sorted(HERE.glob("*.ipynb"))
    held = []
    for path in paths:
        if args.check:
            nb = nbformat.read(path, as_version=4)
            if any(c.cell_type == "code" and (c.outputs or c.execution_count is not None) for c in nb.cells):
                held.append(path)
        elif strip(path):
            held.append(path)
    for path in held:
        print(f"{path}: {'holds outputs' if args.check else 'outputs removed'}")
    return 1 if args.check and held else 0


if __name__ == "__main__":
    sys.exit(main())
