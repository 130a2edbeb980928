"""One import root: every module is importable under ``twitchcause`` only, and its doctests run."""

from __future__ import annotations

import doctest
import importlib
import pkgutil
import subprocess
import sys

import pytest

import twitchcause

PARTS = ("twitchcause", "twitchcause.model", "twitchcause.priors", "twitchcause.app")


def _modules() -> list[str]:
    names = []
    for part in PARTS:
        package = importlib.import_module(part)
        names.append(part)
        names += [
            f"{part}.{info.name}"
            for info in pkgutil.iter_modules(package.__path__)
            if info.name not in ("__main__", "wsgi") and not info.ispkg
        ]
    return sorted(set(names))


@pytest.mark.parametrize("name", _modules())
def test_doctests(name):
    module = importlib.import_module(name)
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    for test in finder.find(module, name):
        runner.run(test)
    assert runner.failures == 0, f"{runner.failures} doctest failure(s) in {name} (run with -s to see them)"


def test_generic_top_level_names_are_not_importable(tmp_path):
    code = (
        "import importlib.util, twitchcause; "
        "print([n for n in ('model', 'priors', 'app') if importlib.util.find_spec(n)])"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_a_users_own_model_module_does_not_shadow_the_package(tmp_path):
    (tmp_path / "model.py").write_text("VALUE = 1\n")
    (tmp_path / "app.py").write_text("VALUE = 2\n")
    code = "import twitchcause; print(twitchcause.load().infer({'weakness': 'yes'}).escalation.level)"
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "see_doctor_promptly"


def test_version_and_module_entry_point(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "twitchcause", "--version"], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == f"twitchcause {twitchcause.__version__}"
    assert twitchcause.__version__ != "0+unknown"


def test_the_computing_layers_never_import_upward():
    """priors <- model <- app <- shell: model imports neither dash nor the app, priors nothing above it;
    spaCy (the text extra) only when a text is read."""
    code = (
        "import sys, twitchcause.model, twitchcause.priors; "
        "print(sorted(m for m in sys.modules if m.startswith(('dash', 'twitchcause.app', 'twitchcause.cli', "
        "'pgmpy', 'spacy', 'negspacy', 'thinc'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_infer_without_a_text_never_imports_spacy(tmp_path):
    """``twitchcause infer`` keeps its quick start: the text extra is imported by ``--text`` and ``read`` only."""
    code = (
        "import sys; from twitchcause.cli import main; status = main(['infer', 'weakness=yes', '--json']); "
        "print(sorted(m for m in sys.modules if m.startswith(('spacy', 'negspacy', 'thinc'))), file=sys.stderr)"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True)
    assert out.stderr.strip() == "[]"


def test_the_app_reads_the_priors_only_through_the_model():
    """The dashboard imports nothing of ``twitchcause.priors``: it shows what the model's public API gives."""
    import ast
    from pathlib import Path

    app = Path(importlib.import_module("twitchcause.app").__file__).parent
    for path in app.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.ImportFrom):
                names = [node.module or ""] + [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            assert not any(n.startswith("twitchcause.priors") for n in names), path.name
            if isinstance(node, ast.ImportFrom) and node.module == "twitchcause":
                assert "priors" not in [a.name for a in node.names], path.name
