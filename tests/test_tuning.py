"""Tuning priors and saving them: new validated folders, atomic writes, the CLI reads them."""

from __future__ import annotations

import dataclasses
import difflib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from twitchcause import files, model
from twitchcause.cli import main
from twitchcause.priors import (
    Change,
    EntryName,
    PriorsError,
    diff,
    iter_entries,
    learn,
    load_priors,
    loader,
    numbers_of,
    resolved_numbers,
    save_priors,
    saving,
    tune,
    tune_number,
    tune_word,
)

URGE = ("findings", "urge_to_move -> restless_legs -> yes")


# -- entry names ----------------------------------------------------------------------
def test_an_entry_name_is_its_text_and_knows_its_parts():
    name = EntryName("findings", ("urge_to_move", "restless_legs", "yes"))
    assert name == "findings: urge_to_move -> restless_legs -> yes" == str(name)
    assert EntryName.parse(str(name)) == name == EntryName.of(URGE) == EntryName.of(*URGE)
    assert (name.file, name.parts, name.path, name.node) == ("findings", name.parts, URGE[1], "urge_to_move")
    assert name.owner == "findings: urge_to_move -> restless_legs" and name.owner.child("yes") == name
    assert EntryName("escalation", ("neuropathy_likely", "threshold")).node is None
    assert {name: 1}["findings: urge_to_move -> restless_legs -> yes"] == 1
    import copy
    import pickle

    assert pickle.loads(pickle.dumps(name)).parts == copy.deepcopy(name).parts == name.parts


@pytest.mark.parametrize(
    "text, message",
    [
        ("urge_to_move -> restless_legs", "is not an entry name; expected 'file: a -> b'"),
        ("findings: ", "is not an entry path"),
        ("findings: a ->  -> b", "is not an entry path"),
    ],
)
def test_a_malformed_entry_name_is_one_clear_line(text, message):
    with pytest.raises(ValueError, match=message):
        EntryName.parse(text)


def test_tuning_takes_a_name_its_text_or_file_and_path(base):
    by_pair = tune(base, {URGE: 0.5}, why="t")
    for name in (EntryName.of(URGE), f"{URGE[0]}: {URGE[1]}"):
        assert numbers_of(tune(base, {name: 0.5}, why="t")) == numbers_of(by_pair)
    assert numbers_of(tune_number(base, URGE[0], URGE[1].split(" -> "), 0.5, why="t")) == numbers_of(by_pair)
    with pytest.raises(PriorsError, match="is not an entry name"):
        tune(base, {"urge_to_move -> restless_legs -> yes": 0.5}, why="t")


@pytest.fixture(scope="module")
def base():
    return load_priors()


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` with its bytes."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "twitchcause", *args], capture_output=True, text=True, timeout=120)


# -- round trip -----------------------------------------------------------------
def test_saved_folder_loads_back_to_the_same_files_and_numbers(base, tmp_path):
    saved = save_priors(base, tmp_path / "copy")
    assert numbers_of(saved) == numbers_of(base)
    assert all(saved.raw[key] == base.raw[key] for key in base.raw)
    assert saved.directory == (tmp_path / "copy").resolve()


def test_saving_a_saved_folder_writes_the_same_text(base, tmp_path):
    first = save_priors(base, tmp_path / "a")
    save_priors(first, tmp_path / "b")
    assert snapshot(tmp_path / "a") == snapshot(tmp_path / "b")


def changed_lines(before: Path, after: Path) -> dict[str, list[str]]:
    """``{file name: the removed and added lines}`` for every file that differs."""
    out = {}
    for path in sorted(after.iterdir()):
        old = (before / path.name).read_text(encoding="utf-8").splitlines()
        new = path.read_text(encoding="utf-8").splitlines()
        diff = [line for line in difflib.unified_diff(old, new, lineterm="", n=0) if line[:1] in "+-"]
        if diff:
            out[path.name] = [line for line in diff if line[:3] not in ("---", "+++")]
    return out


def test_saving_an_unchanged_folder_writes_every_file_byte_for_byte(base, tmp_path):
    save_priors(base, tmp_path / "copy")
    assert snapshot(tmp_path / "copy") == {
        path.name: path.read_bytes() for path in base.directory.glob("*.yaml") if path.name in base.texts
    }


def test_tuning_one_number_changes_its_line_only(base, tmp_path):
    name = EntryName("findings", ("cramps", "overexertion", "brief"))
    save_priors(tune_number(base, name.file, name.path, 0.5, why="exercise cramps read as common"), tmp_path / "t")
    diff = changed_lines(base.directory, tmp_path / "t")
    assert list(diff) == ["findings.yaml"] and len(diff["findings.yaml"]) == 2
    removed, added = diff["findings.yaml"]
    entry = base.findings["cramps"].causes["overexertion"]["brief"].entry
    assert removed.startswith("-      brief: {word: ") and added.startswith("+      brief: {p: 0.5, ")
    assert added.endswith(', tuned: "exercise cramps read as common"}') and entry.assumption in added


def test_a_tuned_word_changes_its_scale_line_only(base, tmp_path):
    save_priors(tune_word(base, "rare", 0.05, why="read higher"), tmp_path / "t")
    old_line = next(line for line in base.texts["scale.yaml"].splitlines() if line.lstrip().startswith("rare:"))
    new_line = old_line.replace("p: 0.04", "p: 0.05").replace('"rarely"', '"rarely [tuned: read higher]"')
    assert changed_lines(base.directory, tmp_path / "t") == {"scale.yaml": [f"-{old_line}", f"+{new_line}"]}


def test_learned_numbers_are_written_on_their_own_lines(base, tmp_path):
    learned = learn(base, {URGE: 0.6, ("context", "sleep -> short"): 0.35}, cases=1000, estimator="counts")
    diff = changed_lines(base.directory, save_priors(learned, tmp_path / "t").directory)
    assert sorted(diff) == ["context.yaml", "findings.yaml"]
    assert all(len(lines) == 2 for lines in diff.values())
    assert diff["context.yaml"][1].endswith(", learned: {cases: 1000, estimator: counts}}")


@pytest.fixture(scope="module")
def aliased(base, tmp_path_factory) -> Path:
    """The packaged folder with the first three causes of a finding sharing one block through a YAML alias."""
    folder = tmp_path_factory.mktemp("aliased")
    for name in base.texts:
        (folder / name).write_text(base.texts[name], encoding="utf-8")
    findings = yaml.safe_load(base.texts["findings.yaml"])
    spec = next(spec for spec in findings.values() if len(spec["causes"]) >= 3)
    first, *others = list(spec["causes"])[:3]
    for cause in others:
        spec["causes"][cause] = spec["causes"][first]
    (folder / "findings.yaml").write_text(
        "# shared blocks\n" + yaml.safe_dump(findings, sort_keys=False, width=1000, default_flow_style=None)
    )
    assert (folder / "findings.yaml").read_text().count("*id001") == 2
    return folder


@pytest.mark.parametrize("which", [0, 1, 2], ids=["anchor holder", "first alias", "last alias"])
def test_a_tuned_entry_reached_through_an_alias_changes_for_its_owner_only(aliased, tmp_path, which):
    folder = load_priors(aliased)
    finding, spec = next((n, s) for n, s in folder.findings.items() if len(s.causes) >= 3)
    causes = list(spec.causes)[:3]
    state, number = next((s, n) for s, n in spec.causes[causes[which]].items() if n.entry is not None)
    name, value = (
        EntryName("findings", (finding, causes[which], state)),
        number.value / 2,
    )  # the rest takes the other half
    tuned = tune_number(folder, name.file, name.path, value, why="test")
    saved = save_priors(tuned, tmp_path / "t")
    assert numbers_of(saved) == numbers_of(tuned)
    for cause in causes:
        assert (saved.findings[finding].causes[cause][state].value == value) == (cause == causes[which])
    text = (tmp_path / "t" / "findings.yaml").read_text()
    assert text.count("&id001") == 1 and text.count("*id001") == 1  # the two untouched owners still share
    changed = changed_lines(aliased, tmp_path / "t")["findings.yaml"]
    assert sum(line.startswith("+") and f"p: {value}" in line for line in changed) == 1
    assert len(changed) <= 2 + 2 * (len(spec.causes[causes[0]]) + 1)  # one copied block at most


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_tuned_numbers_save_to_the_same_numbers_changing_only_their_lines(aliased, tmp_path, data):
    folder = load_priors(aliased)
    numbers = resolved_numbers(folder)
    with_room = {n.owner for n, number in numbers.items() if number.derived is not None}
    tunable = [n for n in numbers if numbers[n].entry is not None and (n.owner in with_room or n.file == "causes")]
    chosen = data.draw(st.lists(st.sampled_from(tunable), min_size=1, max_size=6, unique=True))
    words = data.draw(st.lists(st.booleans(), min_size=len(chosen), max_size=len(chosen)))
    changes = {n: ("very_rare" if word else numbers[n].value / 2) for n, word in zip(chosen, words)}
    tuned = tune(folder, changes, why="property")
    target = tmp_path / f"t{data.draw(st.integers(0, 10**9))}"
    saved = save_priors(tuned, target)
    assert numbers_of(saved) == numbers_of(tuned) and saved.raw == tuned.raw
    diff_lines = changed_lines(aliased, target)
    assert set(diff_lines) == {f"{n.file}.yaml" for n in chosen}
    added = [line for lines in diff_lines.values() for line in lines if line.startswith("+")]
    assert sum("tuned: property}" in line for line in added) == len(chosen)


def test_saved_files_stay_readable(base, tmp_path):
    save_priors(base, tmp_path / "copy")
    findings = (tmp_path / "copy" / "findings.yaml").read_text(encoding="utf-8")
    original = (base.directory / "findings.yaml").read_text(encoding="utf-8")
    # one line per entry, `rest` states kept as `rest`, the explanatory header kept
    assert "    brief: {word: often, assumption: " in findings
    assert findings.count(": rest\n") >= original.count(": rest\n")
    assert findings.startswith("# What each cause does to what a person notices.")


def test_only_priors_files_are_written(base, tmp_path):
    save_priors(base, tmp_path / "copy")
    assert sorted(os.listdir(tmp_path)) == ["copy"]  # no staging or retired folders left behind
    assert sorted(os.listdir(tmp_path / "copy")) == sorted(
        name for key, (name, _) in loader.FILES.items() if key != "advice" or base.advice
    )


# -- changing numbers ---------------------------------------------------------------
def test_a_changed_number_is_tuned_and_keeps_its_citation(base):
    tuned = tune_number(base, *URGE, 0.3, why="urge is less typical than read")
    number = tuned.findings["urge_to_move"].causes["restless_legs"]["yes"]
    old = base.findings["urge_to_move"].causes["restless_legs"]["yes"]
    assert number.value == 0.3 and number.entry.p == 0.3 and number.entry.word is None
    assert number.entry.tuned == "urge is less typical than read"
    assert (number.entry.source, number.entry.quote) == (old.entry.source, old.entry.quote)
    assert tuned.findings["urge_to_move"].causes["restless_legs"]["no"].value == pytest.approx(0.7)
    assert old.value == 0.45  # the old Priors is untouched


def test_a_number_can_move_to_another_word(base):
    tuned = tune_number(base, "causes", "caffeine -> caffeine_intake -> high", "likely", why="test")
    assert tuned.cause_priors["caffeine"].links["caffeine_intake"]["high"].value == 0.70
    changed = {k for k, v in numbers_of(tuned).items() if numbers_of(base)[k] != v}
    assert changed == {"causes: caffeine -> caffeine_intake -> high"}


def test_a_finding_number_moves_exactly_the_posteriors_that_use_it(base):
    before, after = model.Model(base), model.Model(tune_number(base, *URGE, 0.3, why="test"))
    # the finding observed: restless legs moves, and only through that evidence
    asked = {"urge_to_move": "yes", "timing": "at_night"}
    assert after.posterior(asked)["restless_legs"] < before.posterior(asked)["restless_legs"] - 0.01
    # the finding not observed: it sums out, so nothing moves, not even the prior
    other = {"caffeine_intake": "high", "timing": "at_night", "duration": "weeks"}
    assert after.posterior(other) == pytest.approx(before.posterior(other), abs=1e-12)
    assert after.prior == pytest.approx(before.prior, abs=1e-12)


def test_an_exposure_number_moves_the_prior_of_its_causes_only(base):
    before = model.Model(base)
    after = model.Model(tune_number(base, "context", "caffeine_intake -> high", 0.5, why="test"))
    assert after.prior["caffeine"] > before.prior["caffeine"] + 0.05
    others = [c for c in base.causes if c != "caffeine"]
    assert [after.prior[c] for c in others] == pytest.approx([before.prior[c] for c in others], abs=1e-12)
    # once the exposure is answered, its prior frequency no longer matters
    answered = {"caffeine_intake": "high", "urge_to_move": "no"}
    assert after.posterior(answered) == pytest.approx(before.posterior(answered), abs=1e-12)


def test_a_threshold_moves_the_escalation_not_the_posterior(base):
    case = {"numbness_tingling": "yes", "weakness": "no", "duration": "days"}
    before = model.Model(base).infer(case)
    threshold = before.posterior["neuropathy"] / 2
    after = model.Model(tune_number(base, "escalation", "neuropathy_likely -> threshold", threshold, why="test")).infer(
        case
    )
    assert after.posterior == before.posterior
    assert "neuropathy_likely" in [r.rule for r in after.escalation.reasons]
    assert "neuropathy_likely" not in [r.rule for r in before.escalation.reasons]


def test_several_numbers_of_one_distribution_move_together(base):
    # one at a time, raising `brief` first would leave nothing for `none`
    changes = {
        ("findings", "cramps -> overexertion -> brief"): 0.9,
        ("findings", "cramps -> overexertion -> painful_sustained"): 0.05,
    }
    with pytest.raises(PriorsError):
        tune_number(
            tune_number(base, "findings", "cramps -> overexertion -> painful_sustained", 0.5, why="t"),
            "findings",
            "cramps -> overexertion -> brief",
            0.9,
            why="t",
        )
    tuned = tune(base, changes, why="together")
    assert tuned.findings["cramps"].causes["overexertion"]["none"].value == pytest.approx(0.05)


def test_a_scale_word_moves_every_number_resting_on_it(base):
    tuned = tune_word(base, "seldom", 0.09, why="seldom read higher")
    assert tuned.scale.words["seldom"].p == 0.09 and "[tuned: seldom read higher]" in tuned.scale.words["seldom"].anchor
    resting = {name for name, e in iter_entries(base) if e.word == "seldom"}
    changed = {name for name, v in numbers_of(tuned).items() if numbers_of(base)[name] != v}
    assert resting <= changed
    # the rest: only derived states, of a distribution holding a `seldom` entry or (`background`
    # states) of a cause row whose finding's leak holds one
    owners = {r.owner for r in resting}
    for name in changed - resting:
        leak = EntryName(name.file, (*name.parts[:-2], "leak"))
        assert name.owner in owners or leak in owners, name
    assert base.scale.words["seldom"].p == 0.08


def test_learned_numbers_carry_cases_and_estimator(base):
    learned = learn(base, {URGE: 0.6, ("context", "sleep -> short"): 0.35}, cases=1000, estimator="test estimator")
    entry = learned.findings["urge_to_move"].causes["restless_legs"]["yes"].entry
    assert entry.p == 0.6 and entry.learned.cases == 1000 and entry.learned.estimator == "test estimator"
    assert entry.quote == base.findings["urge_to_move"].causes["restless_legs"]["yes"].entry.quote
    assert learned.context["sleep"]["short"].entry.assumption == base.context["sleep"]["short"].entry.assumption


# -- invalid changes ----------------------------------------------------------------
@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            ("findings", "cramps -> overexertion -> brief", 1.3),
            r"findings\.yaml: cramps -> overexertion -> brief: probability 1\.3 is outside \(0, 1\)",
        ),
        (
            ("findings", "cramps -> overexertion -> painful_sustained", 0.5),
            r"findings\.yaml: cramps -> overexertion: the given states sum to 1\.1, leaving nothing for 'rest' \(none\)",
        ),
        (
            ("findings", "cramps -> overexertion -> brief", "rarely"),
            r"findings\.yaml: cramps -> overexertion -> brief: word 'rarely' is not in scale\.yaml.*did you mean 'rare'",
        ),
        (
            ("findings", "cramps -> overexertn -> brief", 0.3),
            r"findings\.yaml: cramps -> overexertn -> brief: no 'overexertn' under 'cramps'.*did you mean 'overexertion'",
        ),
        (
            ("findings", "cramps -> overexertion -> none", 0.3),
            r"findings\.yaml: cramps -> overexertion -> none: this state is 'rest'",
        ),
        (
            ("causes", "caffeine -> caffeine_intake -> hgh", 0.3),
            r"causes\.yaml: caffeine -> caffeine_intake -> hgh: no 'hgh'.*did you mean 'high'",
        ),
        (("causes", "caffeine", 0.3), r"causes\.yaml: caffeine: does not name one number"),
        (("context", "sleep -> short", 0.0), r"context\.yaml: sleep -> short: probability 0\.0 is outside"),
        (
            ("escalation", "neuropathy_likly -> threshold", 0.3),
            r"escalation\.yaml: neuropathy_likly -> threshold: no posterior threshold.*did you mean 'neuropathy_likely'",
        ),
        (("scale", "rare", 0.3), r"'scale' is not a file of numbers; expected one of context, causes, findings"),
    ],
)
def test_an_invalid_change_names_file_and_entry_and_writes_nothing(base, tmp_path, change, message):
    saved = save_priors(base, tmp_path / "kept")
    before = snapshot(tmp_path)
    with pytest.raises(PriorsError, match=message):
        tune_number(saved, *change, why="test")
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize(
    ("word", "p", "band", "message"),
    [
        (
            "rare",
            0.2,
            None,
            r"scale\.yaml: words -> rare: band \[0\.01, 0\.07\] must lie in \(0, 1\) and hold p = 0\.2",
        ),
        ("rarely", 0.05, None, r"scale\.yaml: rarely: not a word of the scale.*did you mean 'rare'"),
        ("common", 0.55, None, r"findings\.yaml: twitch_site -> leak: the given states sum to 1\.05"),
    ],
)
def test_an_invalid_word_change_names_the_word(base, word, p, band, message):
    with pytest.raises(PriorsError, match=message):
        tune_word(base, word, p, why="test", band=band)


def test_an_empty_reason_is_refused(base):
    with pytest.raises(PriorsError, match="needs a reason"):
        tune_number(base, *URGE, 0.5, why=" ")


# -- atomic saving ------------------------------------------------------------------
def test_saving_invalid_priors_writes_nothing(base, tmp_path):
    save_priors(base, tmp_path / "kept")
    before = snapshot(tmp_path)
    scale = base.scale.model_copy(update={"words": {k: v for k, v in base.scale.words.items() if k != "rare"}})
    broken = dataclasses.replace(base, raw={**base.raw, "scale": scale})
    with pytest.raises(PriorsError, match=r"word 'rare' is not in scale\.yaml"):
        save_priors(broken, tmp_path / "kept")
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("failing_call", [1, 2])
def test_a_failure_mid_save_leaves_the_old_folder_intact(base, tmp_path, monkeypatch, failing_call):
    old = save_priors(base, tmp_path / "priors")
    before = snapshot(tmp_path)
    real_rename, calls = os.rename, []

    def flaky_rename(src, dst):  # 1: moving the old folder aside; 2: moving the new one in
        calls.append((src, dst))
        if len(calls) == failing_call:
            raise OSError(28, "No space left on device")
        return real_rename(src, dst)

    monkeypatch.setattr(files.os, "rename", flaky_rename)
    monkeypatch.setattr(files, "_exchange", lambda a, b: False)  # a file system without renameat2's exchange
    with pytest.raises(PriorsError, match=r"priors: cannot be written \(No space left on device\)$"):
        save_priors(tune_number(base, *URGE, 0.5, why="test"), tmp_path / "priors")
    monkeypatch.undo()
    assert snapshot(tmp_path) == before
    assert numbers_of(load_priors(tmp_path / "priors")) == numbers_of(old)


def test_a_failure_while_writing_files_leaves_the_old_folder_intact(base, tmp_path, monkeypatch):
    save_priors(base, tmp_path / "priors")
    before = snapshot(tmp_path)
    real_write, written = saving._write, []

    def flaky_write(path, text):
        written.append(path.name)
        if len(written) == 3:
            raise OSError(28, "No space left on device")
        return real_write(path, text)

    monkeypatch.setattr(saving, "_write", flaky_write)
    with pytest.raises(PriorsError, match="cannot be written"):
        save_priors(tune_word(base, "rare", 0.05, why="test"), tmp_path / "priors")
    monkeypatch.undo()
    assert snapshot(tmp_path) == before


def test_an_unwritable_target_is_one_priors_error(base, tmp_path):
    (tmp_path / "a_file").write_text("not a folder")
    with pytest.raises(PriorsError, match=r"a_file/priors: cannot be written \(.*a_file is not a folder\)$"):
        save_priors(base, tmp_path / "a_file" / "priors")


def test_saved_folders_get_ordinary_permissions(base, tmp_path):
    umask = os.umask(0o022)
    os.umask(umask)
    save_priors(base, tmp_path / "priors")
    assert (tmp_path / "priors").stat().st_mode & 0o777 == 0o777 & ~umask
    assert (tmp_path / "priors" / "scale.yaml").stat().st_mode & 0o777 == 0o666 & ~umask


def test_a_swap_cut_between_its_renames_is_named_by_a_load_and_finished_by_the_next_save(base, tmp_path):
    save_priors(base, tmp_path / "priors")
    os.rename(tmp_path / "priors", tmp_path / ".priors.old-0123456789ab")  # the old folder moved aside
    (tmp_path / ".priors.saving-ba9876543210").mkdir()  # and a new one half written
    (tmp_path / ".priors.saving-ba9876543210" / "scale.yaml").write_text("words: {")
    before = sorted(os.listdir(tmp_path))
    with pytest.raises(PriorsError) as caught:  # a load only reads: it says what happened and changes nothing
        load_priors(tmp_path / "priors")
    assert str(caught.value) == (
        f"{tmp_path / 'priors'}: missing; a save was cut short and left the previous folder as "
        f"{tmp_path / '.priors.old-0123456789ab'}; saving again puts it back"
    )
    assert main(["priors", "check", str(tmp_path / "priors")]) == 2
    assert sorted(os.listdir(tmp_path)) == before
    save_priors(tune_number(base, *URGE, 0.5, why="test"), tmp_path / "priors")
    assert sorted(os.listdir(tmp_path)) == ["priors"]


def test_a_first_save_cut_short_leaves_nothing_after_the_next_one(base, tmp_path):
    (tmp_path / ".priors.saving-0123456789ab").mkdir()  # a first save killed while writing
    save_priors(base, tmp_path / "priors")
    assert sorted(os.listdir(tmp_path)) == ["priors"]


def _save_until_killed(priors_list, target: Path) -> None:
    """In a forked child: save the given folders in turn until killed."""
    try:
        while True:
            for priors in priors_list:
                save_priors(priors, target)
    finally:
        os._exit(0)


def test_a_save_killed_at_any_moment_leaves_a_complete_folder(base, tmp_path):
    import random
    import signal
    import time

    tuned = tune_word(tune_number(base, *URGE, 0.5, why="test"), "rare", 0.05, why="test")
    target = tmp_path / "priors"
    save_priors(base, target)
    versions = {tuple(numbers_of(base).items()), tuple(numbers_of(tuned).items())}
    chance = random.Random(12)
    for _ in range(8):
        child = os.fork()
        if child == 0:
            _save_until_killed([tuned, base], target)
        time.sleep(chance.uniform(0.0, 0.25))
        os.kill(child, signal.SIGKILL)
        os.waitpid(child, 0)
        assert tuple(numbers_of(load_priors(target)).items()) in versions
    save_priors(base, target)
    assert sorted(os.listdir(tmp_path)) == ["priors"]  # what the killed saves left is gone


def _fingerprints_saved_by(children: int, priors_list, target: Path, seconds: float) -> list[int]:
    """Fork ``children`` processes that each save the folders in turn for ``seconds``; their exit statuses."""
    import time

    pids = []
    for _ in range(children):
        pid = os.fork()
        if pid == 0:
            status = 0
            try:
                end = time.monotonic() + seconds
                while time.monotonic() < end:
                    for priors in priors_list:
                        save_priors(priors, target)
            except BaseException:
                status = 1
            finally:
                os._exit(status)
        pids.append(pid)
    return pids


@pytest.mark.parametrize("swap", ["exchange", "two renames"])
def test_a_load_during_saves_sees_one_whole_version_never_a_mix(base, tmp_path, monkeypatch, swap):
    import time

    if swap == "two renames":  # a file system without renameat2's exchange; the forked saver inherits it
        monkeypatch.setattr(files, "_exchange", lambda a, b: False)

    tuned = tune_word(tune_number(base, *URGE, 0.5, why="test"), "rare", 0.05, why="test")  # scale and findings
    target = tmp_path / "priors"
    save_priors(base, target)
    versions = {base.fingerprint, tuned.fingerprint}
    pids = _fingerprints_saved_by(1, [tuned, base], target, 3.0)
    seen, loads = set(), 0
    end = time.monotonic() + 3.0
    while time.monotonic() < end:
        seen.add(load_priors(target).fingerprint)  # a PriorsError ("file is missing") fails the test too
        loads += 1
    assert all(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0 for pid in pids)
    assert seen <= versions, f"{len(seen - versions)} mixed versions in {loads} loads"


def test_concurrent_savers_each_succeed_and_leave_one_whole_folder(base, tmp_path):
    tuned = tune_number(base, *URGE, 0.5, why="test")
    target = tmp_path / "priors"
    pids = _fingerprints_saved_by(2, [tuned, base], target, 3.0)
    statuses = [os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) for pid in pids]
    assert statuses == [0, 0]  # a save whose staging folder the other removed would fail
    assert load_priors(target).fingerprint in {base.fingerprint, tuned.fingerprint}
    assert sorted(os.listdir(tmp_path)) == ["priors"]


def test_a_folder_with_other_files_is_never_replaced(base, tmp_path):
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "todo.txt").write_text("keep me")
    with pytest.raises(PriorsError, match=r"holds files that are not priors files \(todo\.txt\)"):
        save_priors(base, tmp_path / "notes")
    assert (tmp_path / "notes" / "todo.txt").read_text() == "keep me"
    with pytest.raises(PriorsError, match=r"holds files that are not priors files \(.*loader\.py"):
        save_priors(base, base.directory)


def test_a_save_replaces_an_existing_priors_folder(base, tmp_path):
    save_priors(base, tmp_path / "priors")
    tuned = save_priors(tune_number(base, *URGE, 0.5, why="test"), tmp_path / "priors")
    assert load_priors(tmp_path / "priors").findings["urge_to_move"].causes["restless_legs"]["yes"].value == 0.5
    assert numbers_of(tuned) != numbers_of(base)


# -- what moved between two folders ---------------------------------------------------
def test_diff_lists_a_tuned_word_and_exactly_the_numbers_that_moved(base, tmp_path):
    saved = save_priors(tune_word(base, "rare", 0.05, why="read higher"), tmp_path / "saved")
    moved = {name for name, value in numbers_of(saved).items() if numbers_of(base)[name] != value}
    changes = diff(base, saved)
    assert changes[0] == Change(
        EntryName("scale", ("rare",)), 0.04, 0.05, "rare", "rare", "scale", "tuned: read higher"
    )
    assert {c.name for c in changes[1:]} == moved
    assert all(c.old == numbers_of(base)[c.name] and c.new == numbers_of(saved)[c.name] for c in changes[1:])


def test_diff_of_one_tuned_number_names_its_word_source_and_reason(base):
    name = EntryName.of(URGE)
    changes = diff(base, tune_number(base, *URGE, 0.5, why="less typical"))
    entry = base.findings["urge_to_move"].causes["restless_legs"]["yes"].entry
    tuned = next(c for c in changes if c.name == name)
    assert (tuned.old_word, tuned.new_word, tuned.new, tuned.note) == (entry.word, "p", 0.5, "tuned: less typical")
    assert tuned.source == (entry.source or "assumption")
    assert {c.name.owner for c in changes} == {name.owner}  # the number and its distribution's derived states


def test_priors_diff_in_the_cli_prints_only_the_numbers_that_moved(base, tmp_path, capsys):
    saved = save_priors(tune_word(base, "rare", 0.05, why="read higher"), tmp_path / "saved")
    assert main(["priors", "diff", str(base.directory), str(tmp_path / "saved")]) == 0
    header, *rows = capsys.readouterr().out.splitlines()
    assert header.split() == ["file", "entry", "word", "old", "->", "new", "source"]
    assert len(rows) == len(diff(base, saved)) and rows[0].split()[:5] == ["scale", "rare", "rare", "0.04", "->"]
    assert main(["priors", "diff", str(base.directory), str(tmp_path / "saved"), "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["a"] == {"folder": str(base.directory), "fingerprint": base.fingerprint}
    assert shown["b"]["fingerprint"] == saved.fingerprint != base.fingerprint
    assert [c["file"] + ": " + c["entry"] for c in shown["changes"]] == [str(c.name) for c in diff(base, saved)]
    save_priors(base, tmp_path / "copy")
    assert main(["priors", "diff", str(base.directory), str(tmp_path / "copy")]) == 0
    assert capsys.readouterr().out == "no number moved\n"


def test_the_fingerprint_follows_the_numbers_not_the_text(base, tmp_path):
    copy = tmp_path / "copy"
    save_priors(base, copy)
    (copy / "scale.yaml").write_text("# a new comment\n" + (copy / "scale.yaml").read_text())
    assert load_priors(copy).fingerprint == base.fingerprint
    assert tune_number(base, *URGE, 0.5, why="t").fingerprint != base.fingerprint


# -- the saved folder in the command line -------------------------------------------
def test_a_tuned_folder_passes_the_check_and_loads_in_the_cli(base, tmp_path, repo_dir):
    tuned = tune_word(tune_number(base, *URGE, 0.5, why="test"), "rare", 0.05, why="test")
    folder = tmp_path / "tuned"
    save_priors(tuned, folder)
    seeds = repo_dir.parent / "shared" / "seeds"
    check = cli("priors", "check", str(folder), *(["--documents", str(seeds)] if seeds.is_dir() else []))
    assert check.returncode == 0, check.stderr
    assert f"{folder.resolve()}: ok" in check.stdout
    evidence = {"urge_to_move": "yes", "timing": "at_night"}
    result = cli("infer", "--priors", str(folder), "--json", *(f"{k}={v}" for k, v in evidence.items()))
    assert result.returncode == 0, result.stderr
    posterior = json.loads(result.stdout)["posterior"]
    assert posterior == pytest.approx(model.Model(tuned).posterior(evidence), abs=1e-12)
    assert posterior["restless_legs"] != pytest.approx(model.Model(base).posterior(evidence)["restless_legs"])


# -- sensitivity sweeps (model/sensitivity.py, built on the tuning API) ---------------
def test_swings_cover_every_number_with_its_band(base):
    from twitchcause.model.sensitivity import MIN_REST, ODDS_FACTOR, swings

    found = {s.name: s for s in swings(base)}
    assert set(found) == {name for name, _ in iter_entries(base)}
    seldom = found["causes: restless_legs -> leak"]
    assert (seldom.low, seldom.value, seldom.high) == (0.04, 0.08, 0.12)  # the band of 'seldom'
    threshold = found["escalation: neuropathy_likely -> threshold"]  # p = 0.5: odds 1 / 2 and 1 * 2
    assert (threshold.low, threshold.high) == pytest.approx((1 / (1 + ODDS_FACTOR), ODDS_FACTOR / (1 + ODDS_FACTOR)))
    capped = [s for s in swings(base) if s.capped]
    assert capped, "some band ends leave no room for a rest state"
    for s in capped:
        tuned = tune_number(base, s.key, s.path, s.high, why="test")  # still a valid folder
        written = {name for name, _ in iter_entries(tuned)}
        owner = EntryName(s.key, s.path.split(" -> ")).owner
        rest = [v for name, v in numbers_of(tuned).items() if name.owner == owner and name not in written]
        assert min(rest) == pytest.approx(MIN_REST)


def test_a_sweep_recomputes_exactly_what_a_tuned_model_gives(base):
    from twitchcause.model.sensitivity import Sweep, swings, with_value

    cases = {
        "coffee": {"caffeine_intake": "high", "stress_level": "moderate", "twitch_site": "calf"},
        "legs at night": {"urge_to_move": "yes", "timing": "at_night", "heavy_sweating": "yes"},
        "nothing": {},
    }
    sweep = Sweep(base, cases)
    for s in swings(base)[::9]:
        for value in (s.low, s.high):
            fast = sweep.posteriors_with(with_value(base, s.key, s.path, value), s.node)
            slow = model.Model(tune_number(base, s.key, s.path, value, why="test")).engine.posterior_codes(sweep.codes)
            assert fast == pytest.approx(slow, abs=1e-12), s.name


def test_hinges_rank_decisions_first_then_shifts(base):
    from twitchcause.model.sensitivity import Sweep, hinges, swings

    chosen = [
        s
        for s in swings(base)
        if s.name
        in {
            "causes: caffeine -> caffeine_intake -> high",
            "findings: weakness -> leak -> yes",
            "escalation: neuropathy_likely -> threshold",
        }
    ]
    case = {"diabetes": "yes"}  # P(neuropathy) near 0.5, no red flag
    table = Sweep(base, {"nerves": case}).run(chosen)
    assert len(table) == 2 * len(chosen)
    ranked = hinges(table)
    # the threshold flips the level of a case near it; the caffeine link cannot move an unanswered-caffeine case much
    assert ranked.entry.iloc[0] == "escalation: neuropathy_likely -> threshold"
    assert ranked.decisions.iloc[0] >= 1
    assert list(ranked.decisions) == sorted(ranked.decisions, reverse=True)
