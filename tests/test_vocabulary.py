"""The vocabulary: the project's copy is the shared contract, and every interface speaks it."""

from __future__ import annotations

import re

import pytest
import yaml

from twitchcause import priors

PROJECT = priors.DEFAULT_DIR / "vocabulary.yaml"


def parse(path):
    return yaml.safe_load(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def vocabulary():
    return parse(PROJECT)


def test_project_copy_equals_the_shared_vocabulary(shared_dir):
    shared = shared_dir / "spec" / "vocabulary.yaml"
    if not shared.exists():
        pytest.skip(f"{shared} is absent")
    assert parse(PROJECT) == parse(shared)


def test_shared_vocabulary_order_is_kept(shared_dir, vocabulary):
    shared = parse(shared_dir / "spec" / "vocabulary.yaml")
    assert list(vocabulary["causes"]) == list(shared["causes"])
    assert list(vocabulary["evidence"]) == list(shared["evidence"])
    for name, spec in shared["evidence"].items():
        assert list(vocabulary["evidence"][name]["states"]) == list(spec["states"]), name
    assert list(vocabulary["escalation_levels"]) == list(shared["escalation_levels"])


def test_vocabulary_sizes(vocabulary):
    assert len(vocabulary["causes"]) == 12
    assert len(vocabulary["evidence"]) == 32
    assert list(vocabulary["escalation_levels"]) == ["self_care", "see_doctor", "see_doctor_promptly"]


def test_names_and_states_are_identifiers(vocabulary):
    names = list(vocabulary["causes"]) + list(vocabulary["evidence"])
    states = [s for spec in vocabulary["evidence"].values() for s in spec["states"]]
    for word in names + states + list(vocabulary["escalation_levels"]):
        assert isinstance(word, str) and re.fullmatch(r"[a-z][a-z0-9_]*", word), word
    assert not set(vocabulary["causes"]) & set(vocabulary["evidence"])


def test_yes_no_states_stay_text(vocabulary):
    # YAML 1.1 reads a bare yes/no as a boolean; the states must be the words
    assert list(vocabulary["evidence"]["weakness"]["states"]) == ["no", "yes"]


def test_loaded_priors_follow_the_vocabulary(vocabulary):
    p = priors.load_priors()
    assert list(p.causes) == list(vocabulary["causes"])
    assert list(p.variables) == list(vocabulary["evidence"])
    for name, spec in vocabulary["evidence"].items():
        assert p.variables[name].states == tuple(spec["states"]), name
        assert p.variables[name].question == spec["question"], name
    assert p.levels == tuple(vocabulary["escalation_levels"])


def test_model_schema_follows_the_vocabulary(loaded_model, vocabulary):
    schema = loaded_model.schema()
    assert {c: d["description"] for c, d in schema["causes"].items()} == vocabulary["causes"]
    assert {n: v["states"] for n, v in schema["evidence"].items()} == {
        n: list(s["states"]) for n, s in vocabulary["evidence"].items()
    }
    assert schema["escalation_levels"] == vocabulary["escalation_levels"]


def test_escalation_rules_speak_the_vocabulary(vocabulary):
    rules = parse(priors.DEFAULT_DIR / "escalation.yaml")
    for rule in rules["rules"]:
        assert rule["level"] in vocabulary["escalation_levels"], rule["id"]
        for part in ("when", "unless"):
            for name, states in rule.get(part, {}).items():
                assert name in vocabulary["evidence"], (rule["id"], name)
                assert set(states) <= set(vocabulary["evidence"][name]["states"]), (rule["id"], name)
    for threshold in rules["posterior_thresholds"]:
        assert threshold["cause"] in vocabulary["causes"]
