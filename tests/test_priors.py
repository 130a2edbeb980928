"""The priors folder: the packaged one loads and is grounded; each kind of broken file is rejected.

Every broken case copies the packaged folder, breaks one thing and checks that
loading fails with a message naming the file and the entry, in the form
``<folder>/<file>: <entry>: <problem>``.
"""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
from pathlib import Path

import pytest
import yaml

from twitchcause import priors
from twitchcause.cli import main
from twitchcause.priors import PriorsError, load_priors

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_Dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


@pytest.fixture()
def folder(tmp_path) -> Path:
    """A private copy of the packaged priors folder (YAML files only)."""
    target = tmp_path / "priors"
    target.mkdir()
    for path in priors.DEFAULT_DIR.glob("*.yaml"):
        shutil.copy(path, target / path.name)
    return target


@functools.cache
def _packaged(name: str) -> str:
    """A packaged priors file parsed once, kept as JSON text."""
    # the JSON round trip undoes YAML anchors, so a change touches one entry only
    return json.dumps(yaml.load((priors.DEFAULT_DIR / name).read_text(encoding="utf-8"), Loader=_Loader))


def edit(folder: Path, name: str, change) -> None:
    """Take the packaged ``name``, let ``change`` mutate it in place, write it into ``folder``."""
    data = json.loads(_packaged(name))
    change(data)
    text = yaml.dump(data, Dumper=_Dumper, allow_unicode=True, sort_keys=False)
    (folder / name).write_text(text, encoding="utf-8")


def problem(folder: Path, name: str, entry: str, message: str) -> str:
    """A regex for one problem line: file, entry, then the message (literal; ``...`` skips text)."""
    return re.escape(f"{folder / name}: {entry}: ") + ".*".join(re.escape(part) for part in message.split("..."))


def assign(*keys_and_value):
    """A change setting data[k1][k2]...[kn] = value."""
    *keys, value = keys_and_value

    def change(data):
        for key in keys[:-1]:
            data = data[key]
        data[keys[-1]] = value

    return change


def delete(*keys):
    def change(data):
        for key in keys[:-1]:
            data = data[key]
        del data[keys[-1]]

    return change


ASSUMED = "a test assumption"
LONG_QUOTE = " ".join(["word"] * 26)

# (file, change, entry named in the message, the message) -- one line per broken input
BROKEN = [
    (
        "causes.yaml",
        assign(
            "caffeine",
            "links",
            "caffeine_intake",
            "high",
            {"word": "may", "assumption": ASSUMED, "reconciles": {"source": "ankel", "quote": "q", "reading": "r"}},
        ),
        "caffeine -> caffeine_intake -> high",
        "source 'ankel' is not in sources.yaml; expected one of ... (did you mean 'ankle'?)",
    ),
    (
        "causes.yaml",
        assign(
            "caffeine",
            "links",
            "caffeine_intake",
            "high",
            {"word": "may", "assumption": ASSUMED, "reconciles": {"source": "ankle", "quote": "q", "reading": ""}},
        ),
        "caffeine -> links -> caffeine_intake -> high -> reconciles -> reading",
        "String should have at least 1 character",
    ),
    (
        "causes.yaml",
        assign("caffeine", "links", "caffeine_intake", "high", {"p": 1.3, "assumption": ASSUMED}),
        "caffeine -> links -> caffeine_intake -> high",
        "probability 1.3 is outside (0, 1)",
    ),
    (
        "context.yaml",
        assign("caffeine_intake", "high", {"p": 0, "assumption": ASSUMED}),
        "caffeine_intake -> high",
        "probability 0.0 is outside (0, 1)",
    ),
    (
        "findings.yaml",
        assign("pain", "causes", "neuropathy", "yes", {"p": -0.2, "assumption": ASSUMED}),
        "pain -> causes -> neuropathy -> yes",
        "probability -0.2 is outside (0, 1)",
    ),
    (
        "causes.yaml",
        assign("caffeine", "leak", {"p": 1.0, "assumption": ASSUMED}),
        "caffeine -> leak",
        "probability 1.0 is outside (0, 1)",
    ),
    (
        "causes.yaml",
        assign("caffeine", "leak", {"word": "rare", "p": 0.1, "assumption": ASSUMED}),
        "caffeine -> leak",
        "give exactly one of 'word' (from scale.yaml) or 'p' (a number)",
    ),
    (
        "causes.yaml",
        assign("caffeine", "leak", {"assumption": ASSUMED}),
        "caffeine -> leak",
        "give exactly one of 'word' (from scale.yaml) or 'p' (a number)",
    ),
    (
        "causes.yaml",
        assign("caffeine", "links", "caffeine_intake", "high", {"word": "frequnt", "assumption": ASSUMED}),
        "caffeine -> caffeine_intake -> high",
        "word 'frequnt' is not in scale.yaml; expected one of almost_always, ... almost_never (did you mean 'frequent'?)",
    ),
    (
        "causes.yaml",
        assign(
            "caffeine",
            "links",
            "caffeine_intake",
            "high",
            {"word": "frequent", "source": "ankel", "quote": "a frequent cause"},
        ),
        "caffeine -> caffeine_intake -> high",
        "source 'ankel' is not in sources.yaml; expected one of ankle, ankle_small, calf, legs, toe "
        "(did you mean 'ankle'?)",
    ),
    (
        "findings.yaml",
        assign("pain", "causes", "neuropathy", "yes", {"word": "may"}),
        "pain -> causes -> neuropathy -> yes",
        "give either 'source' + 'quote' or 'assumption', not both or neither",
    ),
    (
        "findings.yaml",
        assign(
            "pain",
            "causes",
            "neuropathy",
            "yes",
            {"word": "may", "source": "ankle", "quote": "numbness, pain, or tingling", "assumption": ASSUMED},
        ),
        "pain -> causes -> neuropathy -> yes",
        "give either 'source' + 'quote' or 'assumption', not both or neither",
    ),
    (
        "findings.yaml",
        assign("pain", "causes", "neuropathy", "yes", {"word": "may", "source": "ankle"}),
        "pain -> causes -> neuropathy -> yes",
        "a citation needs both 'source' and 'quote'",
    ),
    (
        "findings.yaml",
        assign("pain", "causes", "neuropathy", "yes", {"word": "may", "quote": "numbness, pain"}),
        "pain -> causes -> neuropathy -> yes",
        "a citation needs both 'source' and 'quote'",
    ),
    (
        "findings.yaml",
        assign("pain", "causes", "neuropathy", "yes", {"word": "may", "source": "ankle", "quote": LONG_QUOTE}),
        "pain -> causes -> neuropathy -> yes",
        "quote has 26 words; at most 25",
    ),
    (
        "causes.yaml",
        assign("caffeine", "leak", {"word": "rare", "assumption": "   "}),
        "caffeine -> leak",
        "assumption is empty",
    ),
    (
        "context.yaml",
        delete("caffeine_intake", "high"),
        "caffeine_intake",
        "state(s) high not covered; every state needs a number or 'rest'",
    ),
    (
        "findings.yaml",
        delete("weakness", "causes", "neuropathy", "no"),
        "weakness -> neuropathy",
        "state(s) no not covered; every state needs a number or 'rest'",
    ),
    (
        "context.yaml",
        assign("caffeine_intake", "hgh", {"word": "rare", "assumption": ASSUMED}),
        "caffeine_intake",
        "unknown state 'hgh'; expected one of none, moderate, high (did you mean 'high'?)",
    ),
    (
        "findings.yaml",
        assign("spread", "leak", "everywhere", "rest"),
        "spread -> leak",
        "unknown state 'everywhere'; expected one of one_spot, one_leg, both_legs, widespread",
    ),
    (
        "context.yaml",
        assign("caffeine_intake", "none", "rest"),
        "caffeine_intake",
        "only one state may be 'rest', got none, moderate",
    ),
    (
        "context.yaml",
        assign(
            "fluid_intake",
            {"adequate": {"p": 0.7, "assumption": ASSUMED}, "low": {"p": 0.3 + 1e-8, "assumption": ASSUMED}},
        ),
        "fluid_intake",
        "probabilities sum to 1.00000001, expected 1 (within 1e-09)",
    ),
    (
        "context.yaml",
        assign(
            "fluid_intake", {"adequate": {"p": 0.7, "assumption": ASSUMED}, "low": {"p": 0.2, "assumption": ASSUMED}}
        ),
        "fluid_intake",
        "probabilities sum to 0.9, expected 1 (within 1e-09)",
    ),
    (
        "context.yaml",
        assign(
            "caffeine_intake",
            {
                "none": {"word": "likely", "assumption": ASSUMED},
                "moderate": "rest",
                "high": {"word": "likely", "assumption": ASSUMED},
            },
        ),
        "caffeine_intake",
        "the given states sum to 1.4, leaving nothing for 'rest' (moderate)",
    ),
    ("causes.yaml", assign("caffeine", "lnks", {}), "caffeine -> lnks", "Extra inputs are not permitted"),
    (
        "causes.yaml",
        assign("caffeine", "leak", "wrod", "rare"),
        "caffeine -> leak -> wrod",
        "Extra inputs are not permitted",
    ),
    (
        "findings.yaml",
        assign("pain", "combine", "noisy_min"),
        "pain -> combine",
        "Input should be 'noisy_max' or 'product'",
    ),
    (
        "escalation.yaml",
        assign("rules", 0, "severity", "high"),
        "rules -> 0 -> severity",
        "Extra inputs are not permitted",
    ),
    (
        "scale.yaml",
        assign("words", "frequent", "band", [0.7, 0.8]),
        "words -> frequent",
        "band [0.7, 0.8] must lie in (0, 1) and hold p = 0.6",
    ),
    (
        "causes.yaml",
        lambda d: d.__setitem__("cafeine", d.pop("caffeine")),
        "cafeine",
        "not a cause of vocabulary.yaml (did you mean 'caffeine'?)",
    ),
    ("causes.yaml", delete("caffeine"), "caffeine", "cause of vocabulary.yaml has no entry"),
    (
        "context.yaml",
        lambda d: d.__setitem__("caffeine_intak", d.pop("caffeine_intake")),
        "caffeine_intak",
        "not an evidence variable of vocabulary.yaml (did you mean 'caffeine_intake'?)",
    ),
    (
        "findings.yaml",
        lambda d: d.__setitem__("cramp", d.pop("cramps")),
        "cramp",
        "not an evidence variable of vocabulary.yaml (did you mean 'cramps'?)",
    ),
    (
        "findings.yaml",
        lambda d: d["pain"]["causes"].__setitem__("neuropthy", d["pain"]["causes"].pop("neuropathy")),
        "pain -> neuropthy",
        "not a cause (did you mean 'neuropathy'?)",
    ),
    (
        "causes.yaml",
        delete("caffeine", "links", "caffeine_intake", "moderate"),
        "caffeine -> caffeine_intake",
        "state 'moderate' has no link probability (only the first state, 'none', has no effect)",
    ),
    (
        "causes.yaml",
        assign("caffeine", "links", "caffeine_intake", "none", {"word": "rare", "assumption": ASSUMED}),
        "caffeine -> caffeine_intake",
        "unknown state 'none'; expected one of moderate, high",
    ),
    (
        "causes.yaml",
        assign("caffeine", "links", "coffee_intake", {"yes": {"word": "rare", "assumption": ASSUMED}}),
        "caffeine -> coffee_intake",
        "a parent must be an exposure of context.yaml or another cause",
    ),
    (
        "causes.yaml",
        assign("dehydration", "links", "electrolyte_imbalance", {"yes": {"word": "can", "assumption": ASSUMED}}),
        "dehydration",
        "causes form a cycle: dehydration -> electrolyte_imbalance -> dehydration",
    ),
    (
        "escalation.yaml",
        assign("rules", 0, "level", "see_doctor_soon"),
        "weakness",
        "unknown level 'see_doctor_soon'; expected one of self_care, see_doctor, see_doctor_promptly",
    ),
    (
        "escalation.yaml",
        assign("rules", 0, "when", {"weaknes": ["yes"]}),
        "weakness -> when -> weaknes",
        "not an evidence variable (did you mean 'weakness'?)",
    ),
    (
        "escalation.yaml",
        assign("rules", 0, "when", {"weakness": ["yse"]}),
        "weakness -> when -> weakness",
        "unknown state 'yse'; expected one of no, yes (did you mean 'yes'?)",
    ),
    (
        "escalation.yaml",
        assign("rules", 10, "unless", {"frequency": ["ocasional"]}),
        "sleep_disrupted -> unless -> frequency",
        "unknown state 'ocasional'",
    ),
    (
        "escalation.yaml",
        assign("rules", 0, "when", {}),
        "rules -> 0 -> when",
        "a rule needs at least one condition under 'when'",
    ),
    ("escalation.yaml", assign("rules", 3, "id", "weakness"), "weakness", "rule id is used twice"),
    ("escalation.yaml", assign("rules", 0, "source", "ankel"), "weakness", "source 'ankel' is not in sources.yaml"),
    (
        "escalation.yaml",
        assign("posterior_thresholds", 0, "cause", "neuropthy"),
        "neuropathy_likely",
        "unknown cause 'neuropthy' (did you mean 'neuropathy'?)",
    ),
    (
        "escalation.yaml",
        assign("posterior_thresholds", 0, "threshold", {"p": 1.5, "assumption": ASSUMED}),
        "posterior_thresholds -> 0 -> threshold",
        "probability 1.5 is outside (0, 1)",
    ),
    ("sources.yaml", assign("ankle", "url", "https://example.org"), "ankle -> url", "Extra inputs are not permitted"),
    (
        "vocabulary.yaml",
        assign("evidence", "caffeine_intake", "choices", ["none"]),
        "evidence -> caffeine_intake -> choices",
        "Extra inputs are not permitted",
    ),
    (
        "display.yaml",
        assign("question_groups", 0, "variables", 0, "cafeine"),
        "question_groups",
        "'cafeine' is not a question (did you mean 'caffeine_intake'?)",
    ),
    (
        "display.yaml",
        assign("question_groups", 1, "variables", 0, "caffeine_intake"),
        "question_groups",
        "'caffeine_intake' is in more than one group",
    ),
    (
        "display.yaml",
        delete("question_names", "pain"),
        "question_names",
        "question 'pain' has no name",
    ),
    (
        "display.yaml",
        assign("question_names", "pian", "pain"),
        "question_names",
        "'pian' is not a question (did you mean 'pain'?)",
    ),
    (
        "display.yaml",
        delete("levels", "see_doctor"),
        "levels",
        "expected one entry per escalation level: self_care, see_doctor, see_doctor_promptly",
    ),
    (
        "display.yaml",
        delete("probability_words", 1, "at_least"),
        "probability_words -> possible",
        "every word but the last needs 'at_least'",
    ),
    (
        "display.yaml",
        assign("probability_words", 1, "at_least", {"word": "likely", "assumption": ASSUMED}),
        "probability_words",
        "cuts must fall from the first word to the last",
    ),
    (
        "display.yaml",
        assign("probability_words", 0, "at_least", {"word": "likley", "assumption": ASSUMED}),
        "probability_words -> likely",
        "word 'likley' is not in scale.yaml",
    ),
    (
        "display.yaml",
        assign("no_clear_cause", "source", "ankel"),
        "no_clear_cause",
        "source 'ankel' is not in sources.yaml",
    ),
    (
        "display.yaml",
        assign("interview", "stop_below_bits", "value", 0),
        "interview -> stop_below_bits -> value",
        "Input should be greater than 0",
    ),
    (
        "display.yaml",
        delete("levels", "see_doctor", "time_frame", "assumption"),
        "levels -> see_doctor -> time_frame",
        "give either 'source' + 'quote' or 'assumption', not both or neither",
    ),
    (
        "display.yaml",
        delete("levels", "self_care", "what_to_do", "quote"),
        "levels -> self_care -> what_to_do",
        "a citation needs both 'source' and 'quote'",
    ),
    (
        "display.yaml",
        assign("safety_net", 0, "source", "ankel"),
        "safety_net -> 0",
        "source 'ankel' is not in sources.yaml",
    ),
    (
        "display.yaml",
        assign("safety_net", []),
        "safety_net",
        "List should have at least 1 item",
    ),
    (
        "display.yaml",
        assign("serious_causes", "causes", "neuropaty", {"text": "x", "assumption": ASSUMED}),
        "serious_causes -> neuropaty",
        "unknown cause 'neuropaty' (did you mean 'neuropathy'?)",
    ),
    (
        "escalation.yaml",
        delete("rules", 0, "if_not_sure"),
        "rules -> 0 -> if_not_sure",
        "Field required",
    ),
]


@pytest.mark.parametrize(
    ("name", "change", "entry", "message"), BROKEN, ids=[f"{b[0]}:{b[2]}:{b[3][:40]}" for b in BROKEN]
)
def test_broken_file_is_rejected_naming_file_and_entry(folder, name, change, entry, message):
    edit(folder, name, change)
    with pytest.raises(PriorsError, match=problem(folder, name, entry, message)):
        load_priors(folder)


def test_packaged_priors_load():
    p = load_priors()
    assert len(p.causes) == 12
    assert len(p.variables) == 32
    assert p.levels == ("self_care", "see_doctor", "see_doctor_promptly")
    # every variable has its numbers in exactly one of the two files
    assert set(p.context) | set(p.findings) == set(p.variables)
    assert not set(p.context) & set(p.findings)


def test_a_copy_of_the_packaged_folder_loads(folder):
    # guards the broken-file tests: the copy itself must be valid
    assert load_priors(folder).causes == load_priors().causes


def test_sum_within_tolerance_is_accepted(folder):
    edit(
        folder,
        "context.yaml",
        assign(
            "fluid_intake",
            {"adequate": {"p": 0.7, "assumption": ASSUMED}, "low": {"p": 0.3 + 1e-11, "assumption": ASSUMED}},
        ),
    )
    assert load_priors(folder).context["fluid_intake"]["low"].value == pytest.approx(0.3)


def test_rest_takes_one_minus_the_others():
    p = load_priors()
    caffeine = p.context["caffeine_intake"]
    # none and high are "occasionally" (0.20); moderate is the rest
    assert caffeine["none"].value == pytest.approx(0.20)
    assert caffeine["high"].value == pytest.approx(0.20)
    assert caffeine["moderate"].value == pytest.approx(0.60)
    assert caffeine["moderate"].entry is None


def test_retuning_a_word_moves_every_number_on_it(folder):
    edit(folder, "scale.yaml", assign("words", "may", {"p": 0.5, "band": [0.3, 0.6], "anchor": "x"}))
    p = load_priors(folder)
    assert p.cause_priors["caffeine"].links["caffeine_intake"]["high"].value == 0.5
    assert p.cause_priors["dehydration"].links["fluid_intake"]["low"].value == 0.5


def test_every_distribution_sums_to_one():
    p = load_priors()
    dists = list(p.context.items())
    for name, finding in p.findings.items():
        dists += [(f"{name} -> leak", finding.leak)]
        dists += [(f"{name} -> {c}", d) for c, d in finding.causes.items()]
    for where, dist in dists:
        assert sum(n.value for n in dist.values()) == pytest.approx(1.0, abs=1e-9), where
        assert all(0.0 < n.value < 1.0 for n in dist.values()), where


def test_missing_file_is_named(folder):
    (folder / "sources.yaml").unlink()
    with pytest.raises(PriorsError, match=re.escape(f"{folder / 'sources.yaml'}: file is missing")):
        load_priors(folder)


def test_invalid_yaml_is_named(folder):
    (folder / "causes.yaml").write_text("caffeine: [unclosed\n", encoding="utf-8")
    with pytest.raises(PriorsError, match=re.escape(f"{folder / 'causes.yaml'}: not valid YAML")):
        load_priors(folder)


def test_not_a_folder(tmp_path):
    with pytest.raises(PriorsError, match=re.escape(f"{tmp_path / 'nowhere'}: not a folder of priors files")):
        load_priors(tmp_path / "nowhere")


def test_variable_without_numbers_is_named(folder):
    edit(folder, "context.yaml", delete("back_problem"))
    with pytest.raises(PriorsError, match=re.escape(f"{folder}: variable 'back_problem' has no priors")):
        load_priors(folder)


def test_every_problem_is_reported_at_once(folder):
    edit(folder, "causes.yaml", assign("caffeine", "leak", {"p": 1.3, "assumption": ASSUMED}))
    edit(folder, "scale.yaml", assign("words", "rare", "band", [0.1, 0.2]))
    with pytest.raises(PriorsError) as info:
        load_priors(folder)
    assert len(info.value.problems) == 2
    assert all(line.startswith(str(folder)) for line in info.value.problems)


# -- priors check on the command line -----------------------------------------------------
def test_priors_check_ok_prints_a_summary(capsys):
    assert main(["priors", "check"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1
    assert re.fullmatch(r".*priors: ok: \d+ numbers, 32 variables, 12 causes, 11 rules", out[0])


def test_priors_check_broken_folder_prints_problem_lines(folder, capsys):
    edit(folder, "causes.yaml", assign("caffeine", "leak", {"p": 1.3, "assumption": ASSUMED}))
    edit(folder, "escalation.yaml", assign("rules", 0, "severity", "high"))
    assert main(["priors", "check", str(folder)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert sorted(captured.err.strip().splitlines()) == sorted(
        [
            f"{folder / 'causes.yaml'}: caffeine -> leak: probability 1.3 is outside (0, 1)",
            f"{folder / 'escalation.yaml'}: rules -> 0 -> severity: Extra inputs are not permitted",
        ]
    )


def test_priors_check_cross_file_problem(folder, capsys):
    edit(folder, "context.yaml", assign("caffeine_intake", "hgh", {"word": "rare", "assumption": ASSUMED}))
    assert main(["priors", "check", str(folder)]) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"{folder / 'context.yaml'}: caffeine_intake: unknown state 'hgh'; expected one of none, moderate, high "
        "(did you mean 'high'?)"
    ]


# -- grounding in the shared documents ------------------------------------------------------
def test_every_quote_is_verbatim_in_its_document(shared_dir):
    seeds = shared_dir / "seeds"
    if not seeds.is_dir():
        pytest.skip(f"seed documents {seeds} are absent")
    assert priors.check_quotes(load_priors(), seeds) == []


def test_a_paraphrased_quote_is_caught(folder, shared_dir):
    seeds = shared_dir / "seeds"
    if not seeds.is_dir():
        pytest.skip(f"seed documents {seeds} are absent")
    edit(
        folder,
        "causes.yaml",
        assign(
            "caffeine",
            "links",
            "caffeine_intake",
            "high",
            {"word": "frequent", "source": "ankle", "quote": "caffeine is a very frequent cause of muscle twitches"},
        ),
    )
    problems = priors.check_quotes(load_priors(folder), seeds)
    assert problems == [
        f"{folder / 'causes.yaml'}: caffeine -> caffeine_intake -> high: quote not found verbatim "
        "in 'ankle': \"caffeine is a very frequent cause of muscle twitches\""
    ]


def test_a_misquoted_reconciliation_is_caught(folder, shared_dir):
    seeds = shared_dir / "seeds"
    if not seeds.is_dir():
        pytest.skip(f"seed documents {seeds} are absent")
    other = {"source": "ankle", "quote": "caffeine is a very frequent cause", "reading": "a test reading"}
    edit(folder, "causes.yaml", assign("caffeine", "links", "caffeine_intake", "high", "reconciles", other))
    assert priors.check_quotes(load_priors(folder), seeds) == [
        f"{folder / 'causes.yaml'}: caffeine -> caffeine_intake -> high: quote not found verbatim "
        "in 'ankle': \"caffeine is a very frequent cause\""
    ]


# Words of a quote that a rule's `when` cannot check: the rule says in its `reading` how it keeps
# them (in its message or question) or why it does not wait for them.
QUALIFIERS = ("despite", "persistent", "significantly", "shortly", "chronic")


def unread_qualifiers(loaded) -> list[tuple[str, str]]:
    return [
        (rule.id, word)
        for rule in loaded.escalation.rules
        for word in QUALIFIERS
        if word in rule.quote.casefold() and word not in (rule.reading or "").casefold()
    ]


def test_a_rule_whose_quote_carries_a_qualifier_says_how_it_keeps_it():
    assert unread_qualifiers(load_priors()) == []


def test_a_rule_that_drops_its_reading_is_caught(folder):
    raw = yaml.safe_load((folder / "escalation.yaml").read_text())
    next(rule for rule in raw["rules"] if rule["id"] == "persisting").pop("reading")
    (folder / "escalation.yaml").write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False))
    assert unread_qualifiers(load_priors(folder)) == [("persisting", "despite")]


def test_priors_check_with_documents(shared_dir, capsys):
    seeds = shared_dir / "seeds"
    if not seeds.is_dir():
        pytest.skip(f"seed documents {seeds} are absent")
    assert main(["priors", "check", "--documents", str(seeds)]) == 0
    assert re.search(r"; \d+ quotes found verbatim in ", capsys.readouterr().out)


def test_sources_list_each_seed_document_once(shared_dir):
    seeds = shared_dir / "seeds"
    if not seeds.is_dir():
        pytest.skip(f"seed documents {seeds} are absent")
    files = [s.file for s in load_priors().sources.values()]
    assert sorted(files) == sorted(p.name for p in seeds.glob("*.txt"))


@pytest.mark.parametrize("name", ["causes.yaml", "scale.yaml"])
def test_empty_file_is_named(folder, name):
    (folder / name).write_text("", encoding="utf-8")
    with pytest.raises(PriorsError, match=re.escape(f"{folder / name}: file is empty")):
        load_priors(folder)


def test_top_level_list_is_named(folder):
    (folder / "causes.yaml").write_text("- caffeine\n", encoding="utf-8")
    with pytest.raises(
        PriorsError, match=re.escape(f"{folder / 'causes.yaml'}: (top level): Input should be a valid dictionary")
    ):
        load_priors(folder)


def test_priors_check_with_a_missing_documents_folder(capsys, tmp_path):
    status = main(["priors", "check", "--documents", str(tmp_path / "nowhere")])
    err = capsys.readouterr().err
    assert status == 2
    assert err.splitlines() == [f"{tmp_path / 'nowhere'}: not a folder of source documents"]


def test_a_key_given_twice_is_named(folder):
    text = (folder / "escalation.yaml").read_text(encoding="utf-8")
    (folder / "escalation.yaml").write_text(
        text.replace('when: {weakness: ["yes"]}', 'when: {weakness: ["yes"], weakness: ["no"]}'), encoding="utf-8"
    )
    with pytest.raises(
        PriorsError,
        match=re.escape(f"{folder / 'escalation.yaml'}: line ") + r"\d+: key 'weakness' is given twice in one mapping$",
    ):
        load_priors(folder)


def test_a_condition_without_states_is_named(folder):
    text = (folder / "escalation.yaml").read_text(encoding="utf-8")
    (folder / "escalation.yaml").write_text(
        text.replace('when: {weakness: ["yes"]}', "when: {weakness: []}"), encoding="utf-8"
    )
    with pytest.raises(
        PriorsError,
        match=re.escape(f"{folder / 'escalation.yaml'}: rules -> 0 -> when: ")
        + "condition on 'weakness' lists no state",
    ):
        load_priors(folder)


@pytest.mark.parametrize("content", [b"\xff\xfe not text", None], ids=["not utf-8", "a folder"])
def test_an_unreadable_file_is_named(folder, content):
    path = folder / "causes.yaml"
    path.unlink()
    if content is None:
        path.mkdir()
    else:
        path.write_bytes(content)
    with pytest.raises(PriorsError, match=re.escape(f"{path}: ")):
        load_priors(folder)


# -- hostile and clumsy files: one line each, quickly ----------------------------------
@pytest.mark.parametrize("key, kind", [("[a, b]", "list"), ("{a: 1}", "mapping")])
@pytest.mark.parametrize("name", sorted(name for name, _ in priors.loader.FILES.values()))
def test_a_list_or_mapping_key_is_one_line(folder, name, key, kind):
    path = folder / name
    path.write_text(path.read_text(encoding="utf-8") + f"? {key}\n: 1\n", encoding="utf-8")
    with pytest.raises(PriorsError) as caught:
        load_priors(folder)
    assert (
        str(caught.value)
        == f"{path}: line {len(path.read_text().splitlines()) - 1}: key {key} is a {kind}; expected a name"
    )


def test_an_unquoted_yes_key_is_named_as_written_with_a_hint(folder):
    path = folder / "findings.yaml"
    text = path.read_text(encoding="utf-8")
    line = next(i for i, line in enumerate(text.splitlines(), 1) if line.lstrip().startswith('"yes":'))
    path.write_text(text.replace('"yes":', "yes:", 1), encoding="utf-8")
    with pytest.raises(PriorsError) as caught:
        load_priors(folder)
    assert str(caught.value) == f'{path}: line {line}: key yes is read by YAML as true, not a name; quote it: "yes"'


@pytest.mark.parametrize(
    "written, message",
    [
        ("rset", "expected 'rest', 'background' or an entry such as {word: ..., source: ..., quote: ...}; got 'rset'"),
        ("0.3", "expected 'rest', 'background' or an entry such as {word: ..., source: ..., quote: ...}; got 0.3"),
        ("{wrd: rare, assumption: a guess}", "wrd: Extra inputs are not permitted"),
        ("{word: rare}", "give either 'source' + 'quote' or 'assumption', not both or neither"),
    ],
)
def test_a_bad_entry_of_a_distribution_says_what_is_wrong_with_it(folder, written, message):
    path = folder / "context.yaml"
    text = path.read_text(encoding="utf-8")
    variable, state = next(
        (n, s) for n, d in load_priors().raw["context"].root.items() for s, e in d.items() if e == "rest"
    )
    path.write_text(text.replace(f"  {state}: rest", f"  {state}: {written}", 1), encoding="utf-8")
    with pytest.raises(PriorsError) as caught:
        load_priors(folder)
    assert str(caught.value).startswith(f"{path}: {variable} -> {state}")
    assert str(caught.value).endswith(message) and "Input should be 'rest'" not in str(caught.value)


def test_thousands_of_problems_list_the_first_fifty_and_a_count(folder, capsys):
    path = folder / "context.yaml"
    path.write_text(path.read_text() + "".join(f"v{i}:\n  a: rest\n" for i in range(5000)), encoding="utf-8")
    with pytest.raises(PriorsError) as caught:
        load_priors(folder)
    lines = str(caught.value).splitlines()
    assert len(caught.value.problems) == 5000 and len(lines) == 51 and lines[-1] == "... and 4950 more problems"
    assert main(["priors", "check", str(folder)]) == 2
    assert capsys.readouterr().err.splitlines() == lines


def test_a_huge_file_is_refused_before_it_is_read(folder):
    path = folder / "context.yaml"
    path.write_text(path.read_text() + "# padding\n" * 200_000, encoding="utf-8")
    with pytest.raises(PriorsError, match=re.escape(f"{path}: larger than 1 MB; a priors file is far smaller") + "$"):
        load_priors(folder)


def test_a_fifo_in_place_of_a_file_is_named_not_waited_on(folder):
    path = folder / "scale.yaml"
    path.unlink()
    os.mkfifo(path)
    with pytest.raises(PriorsError, match=re.escape(f"{path}: not a regular file") + "$"):
        load_priors(folder)


def _alias_bomb(width: int) -> str:
    """``width`` findings, each of ``width`` causes, each of ``width`` states: every one an alias of one entry."""
    lines = ["s: &s {word: rare, assumption: a guess}", "c: &c"]
    lines += [f"  state{i}: *s" for i in range(width)]
    lines += ["f: &f"] + [f"  cause{i}: *c" for i in range(width)]
    lines += [f"finding{i}: {{combine: noisy_or, leak: *c, causes: *f}}" for i in range(width)]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("width", [70, 300])
def test_an_alias_bomb_is_refused_on_load_in_one_line(folder, width, capsys):
    path = folder / "findings.yaml"
    path.write_text(_alias_bomb(width), encoding="utf-8")
    expected = (
        re.escape(f"{path}: line ")
        + r"\d+"
        + re.escape(f": its aliases expand to more than {priors.loader.MAX_EXPANDED_NODES:,} values")
    )
    with pytest.raises(PriorsError, match=expected) as caught:
        load_priors(folder)
    assert len(caught.value.problems) == 1
    assert main(["priors", "check", str(folder)]) == 2
    assert re.match(expected, capsys.readouterr().err)


def test_an_alias_that_holds_itself_is_refused(folder):
    path = folder / "display.yaml"
    path.write_text("a: &a [1, *a]\n", encoding="utf-8")
    with pytest.raises(PriorsError, match=re.escape(f"{path}: line 1: an alias refers to the entry that holds it")):
        load_priors(folder)


def test_aliases_within_the_bound_still_load(folder):
    path = folder / "uncertainty.yaml"
    path.write_text(path.read_text(encoding="utf-8") + "\n" + _alias_bomb(3), encoding="utf-8")
    with pytest.raises(PriorsError) as caught:  # the bomb's own keys are not settings: validation reaches them
        load_priors(folder)
    assert "aliases expand" not in str(caught.value) and "Extra inputs" in str(caught.value)


@pytest.mark.parametrize(
    "value, message",
    [
        ("2024-02-30", "'2024-02-30' is not a valid timestamp (day is out of range for month); quote it if it is text"),
        ("!!bool maybe", "'maybe' is not a valid bool; quote it if it is text"),
        ("!!timestamp x", "'x' is not a valid timestamp; quote it if it is text"),
        (
            "!!float abc",
            "'abc' is not a valid float (could not convert string to float: 'abc'); quote it if it is text",
        ),
        ("9" * 4301, "the number 9999999999999999999999999999999999999... (4,301 characters) is too long to read"),
    ],
)
@pytest.mark.parametrize("command", ["check", "infer", "diff"])
def test_a_scalar_yaml_cannot_read_is_one_line_naming_its_line(folder, capsys, value, message, command):
    path = folder / "causes.yaml"
    lines = path.read_text(encoding="utf-8").splitlines()
    at = next(i for i, line in enumerate(lines) if "assumption:" in line)
    lines[at] = lines[at].replace("assumption:", f"assumption: {value}, note:", 1)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    argv = {
        "check": ["priors", "check", str(folder)],
        "infer": ["infer", "--priors", str(folder), "weakness=yes"],
        "diff": ["priors", "diff", str(priors.DEFAULT_DIR), str(folder)],
    }[command]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    assert f"{path}: line {at + 1}: {message}" in err


# -- what a priors folder may hold: its own regular files ----------------------------------------------
def test_a_priors_file_symlinked_elsewhere_is_refused_unread(folder, tmp_path, capsys):
    secret = tmp_path / "secret.txt"
    secret.write_text("root:$6$secret-hash:20228:0:99999:7:::\n", encoding="utf-8")
    (folder / "scale.yaml").unlink()
    (folder / "scale.yaml").symlink_to(secret)
    for argv in (["priors", "check", str(folder)], ["infer", "--priors", str(folder), "weakness=yes"]):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert "secret-hash" not in err and "20228" not in err
        assert f"{folder / 'scale.yaml'}: is a symbolic link; a priors file is read only as a file of its folder" in err


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/null"])
@pytest.mark.parametrize("command", ["check", "infer"])
def test_a_device_in_a_priors_folder_is_refused_without_reading_it(folder, capsys, device, command):
    import time

    (folder / "notes").symlink_to(device)
    argv = ["priors", "check", str(folder)] if command == "check" else ["infer", "--priors", str(folder), "pain=yes"]
    started = time.monotonic()
    assert main(argv) == 2
    assert time.monotonic() - started < 30
    err = capsys.readouterr().err
    assert (
        err.strip()
        .splitlines()[-1]
        .endswith(f"{folder / 'notes'}: is a device, FIFO or socket; a priors folder holds only its files")
    ), err


@pytest.mark.parametrize("kind", ["/dev/zero", "fifo", "outside", "absolute", "large"])
def test_a_document_path_is_read_only_inside_the_documents_folder_and_bounded(folder, tmp_path, capsys, kind):
    import time

    documents = tmp_path / "documents"
    documents.mkdir()
    (tmp_path / "outside.txt").write_text("secret text", encoding="utf-8")
    name = {
        "/dev/zero": "/dev/zero",
        "fifo": "pipe.txt",
        "outside": "../outside.txt",
        "absolute": "",
        "large": "big.txt",
    }[kind]
    if kind == "fifo":
        os.mkfifo(documents / name)
    if kind == "absolute":
        name = str(tmp_path / "outside.txt")
    if kind == "large":
        (documents / name).write_bytes(b"a" * (priors.loader.MAX_DOCUMENT_BYTES + 1))
    edit(folder, "sources.yaml", lambda data: data["ankle"].update(file=name))
    started = time.monotonic()
    assert main(["priors", "check", str(folder), "--documents", str(documents)]) == 2
    assert time.monotonic() - started < 30
    err = capsys.readouterr().err
    reason = {
        "/dev/zero": "outside the documents folder",
        "fifo": "not a regular file",
        "outside": "outside the documents folder",
        "absolute": "outside the documents folder",
        "large": f"larger than {priors.loader.MAX_DOCUMENT_BYTES:,} bytes",
    }[kind]
    first = err.splitlines()[0]
    assert first.startswith(f"{folder / 'sources.yaml'}: ankle: document {name}: {reason}"), first
    assert "Traceback" not in err
