"""Inference: the engine equals pgmpy VariableElimination; evidence is validated where it enters."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pgmpy.factors.discrete import TabularCPD
from pgmpy.models import DiscreteBayesianNetwork

from twitchcause import model
from twitchcause.model import EvidenceError, ImpossibleEvidenceError
from twitchcause.model.engine import compile_network
from twitchcause.model.reference import ReferenceInference
from twitchcause.priors import load_priors

VARIABLES = {name: v.states for name, v in load_priors().variables.items()}


@pytest.fixture(scope="module")
def m(loaded_model):
    return loaded_model


@pytest.fixture(scope="module")
def reference(m):
    """pgmpy VariableElimination on the model's network (built once per module)."""
    return ReferenceInference(m.network, m.causes)


# each variable absent or in a random state
evidence_strategy = st.fixed_dictionaries(
    {name: st.one_of(st.none(), st.sampled_from(states)) for name, states in VARIABLES.items()}
).map(lambda d: {k: v for k, v in d.items() if v is not None})


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(evidence=evidence_strategy)
def test_engine_equals_variable_elimination(m, reference, evidence):
    fast = m.posterior(evidence)
    one_case = m.infer(evidence).posterior  # products over the halves of the causes (model.factored)
    slow = reference.posterior(evidence)
    assert list(fast) == list(one_case) == list(m.causes)
    for cause in m.causes:
        assert fast[cause] == pytest.approx(slow[cause], abs=1e-9), cause
        assert one_case[cause] == pytest.approx(slow[cause], abs=1e-9), cause


@settings(max_examples=300, deadline=None)
@given(evidence=evidence_strategy)
def test_posteriors_are_probabilities(m, evidence):
    r = m.infer(evidence)
    values = list(r.posterior.values())
    assert len(values) == 12
    assert all(math.isfinite(p) and 0.0 <= p <= 1.0 for p in values)


def test_reference_posterior_of_the_api(m, reference):
    evidence = {"caffeine_intake": "high", "sleep": "short", "twitch_site": "calf", "weakness": "no"}
    slow = m.reference_posterior(evidence)
    fast = m.infer(evidence).posterior
    assert set(slow) == set(m.causes)
    for cause in m.causes:
        assert fast[cause] == pytest.approx(slow[cause], abs=1e-9)


def test_prior_equals_variable_elimination_without_evidence(m, reference):
    slow = reference.posterior({})
    for cause in m.causes:
        assert m.prior[cause] == pytest.approx(slow[cause], abs=1e-9)


def test_every_variable_answered_equals_variable_elimination(m, reference):
    evidence = {name: states[0] for name, states in VARIABLES.items()}
    fast, slow = m.posterior(evidence), reference.posterior(evidence)
    for cause in m.causes:
        assert fast[cause] == pytest.approx(slow[cause], abs=1e-9)


def test_evidence_order_does_not_matter(m):
    evidence = {"caffeine_intake": "high", "timing": "at_night", "urge_to_move": "yes", "diabetes": "no"}
    backwards = dict(reversed(list(evidence.items())))
    assert m.posterior(evidence) == m.posterior(backwards)


def test_result_to_dict_is_json_ready(m):
    import json

    r = m.infer({"caffeine_intake": "high"})
    d = json.loads(json.dumps(r.to_dict()))
    assert set(d["posterior"]) == set(m.causes) == set(d["prior"])
    assert d["escalation"]["level"] == "self_care"
    assert d["ranking"] == sorted(m.causes, key=lambda c: -r.posterior[c])


# -- impossible evidence ---------------------------------------------------------------------
def impossible_network():
    """E (exposure, P(E=yes) = 0) -> C (cause) -> F, with F=yes impossible when C is absent and C never present.

    C: P(C=yes | E=no) = 0, P(C=yes | E=yes) = 0.5.  F: P(F=yes | C=no) = 0, P(F=yes | C=yes) = 0.9.
    So E=yes has probability 0 and F=yes has probability 0.
    """
    network = DiscreteBayesianNetwork([("E", "C"), ("C", "F")])
    yn = ["no", "yes"]
    network.add_cpds(
        TabularCPD("E", 2, [[1.0], [0.0]], state_names={"E": yn}),
        TabularCPD("C", 2, [[1.0, 0.5], [0.0, 0.5]], evidence=["E"], evidence_card=[2], state_names={"C": yn, "E": yn}),
        TabularCPD("F", 2, [[1.0, 0.1], [0.0, 0.9]], evidence=["C"], evidence_card=[2], state_names={"F": yn, "C": yn}),
    )
    assert network.check_model()
    return network


IMPOSSIBLE = [{"F": "yes"}, {"E": "yes"}, {"E": "no", "F": "yes"}]


@pytest.mark.parametrize("evidence", IMPOSSIBLE, ids=str)
def test_impossible_evidence_is_an_error_in_the_engine(evidence):
    engine = compile_network(impossible_network(), ["C"], {"E": ("no", "yes"), "F": ("no", "yes")})
    given = ", ".join(f"{k}={v}" for k, v in evidence.items())
    with pytest.raises(
        ImpossibleEvidenceError,
        match=re.escape(f"the network gives this evidence probability zero, so no posterior exists: {given}"),
    ):
        engine.posterior(evidence)


@pytest.mark.parametrize(
    "evidence",
    [
        {"F": "yes"},
        # pgmpy prunes an observed root, so this zero never reaches its normalisation
        {"E": "yes"},
        {"E": "no", "F": "yes"},
    ],
    ids=str,
)
def test_impossible_evidence_is_an_error_in_pgmpy_reference(evidence):
    reference = ReferenceInference(impossible_network(), ["C"])
    with pytest.raises(ImpossibleEvidenceError, match="probability zero, so no posterior exists"):
        reference.posterior(evidence)


def test_possible_evidence_in_a_network_with_zeros():
    # P(C=yes | E=no) = 0 and E is always no, so C is always absent, and F=no is certain
    engine = compile_network(impossible_network(), ["C"], {"E": ("no", "yes"), "F": ("no", "yes")})
    reference = ReferenceInference(impossible_network(), ["C"])
    for evidence in ({}, {"F": "no"}, {"E": "no"}):
        assert engine.posterior(evidence) == {"C": 0.0}
        assert reference.posterior(evidence)["C"] == pytest.approx(0.0, abs=1e-15)


def test_impossible_evidence_is_an_error_not_nan():
    engine = compile_network(impossible_network(), ["C"], {"E": ("no", "yes"), "F": ("no", "yes")})
    codes = np.array([engine.encode({"F": "no"}), engine.encode({"F": "yes"})])
    with pytest.raises(ImpossibleEvidenceError):
        engine.posterior_codes(codes)


# -- evidence errors ---------------------------------------------------------------------------
STATES = "none, moderate, high"

BAD_EVIDENCE = [
    (
        {"caffiene_intake": "high"},
        "unknown evidence variable 'caffiene_intake' (did you mean 'caffeine_intake'?); "
        "expected one of caffeine_intake, fluid_intake, ",
    ),
    ({"sleeep": "short"}, "unknown evidence variable 'sleeep' (did you mean 'sleep'?)"),
    ({"zzz": "yes"}, "unknown evidence variable 'zzz'; expected one of caffeine_intake, "),
    (
        {"caffeine_intake": "hgh"},
        f"evidence 'caffeine_intake' has no state 'hgh'; expected one of {STATES} (did you mean 'high'?)",
    ),
    ({"caffeine_intake": "lots"}, f"evidence 'caffeine_intake' has no state 'lots'; expected one of {STATES}"),
    ({"weakness": "ye"}, "evidence 'weakness' has no state 'ye'; expected one of no, yes (did you mean 'yes'?)"),
    (
        {"twitch_site": "foot arch"},
        "evidence 'twitch_site' has no state 'foot arch'; expected one of toe, foot_arch, "
        "ankle, calf, thigh, whole_leg (did you mean 'foot_arch'?)",
    ),
    (
        {"caffeine_intake": 3},
        f"evidence 'caffeine_intake' must be a state name (text), got 3; expected one of {STATES}",
    ),
    ({"weakness": True}, "evidence 'weakness' must be a state name (text), got True; expected one of no, yes"),
    ({"caffeine_intake": ["high"]}, "evidence 'caffeine_intake' must be a state name (text), got ['high']"),
    (["caffeine_intake=high"], "evidence must be a mapping of variable to state, got list"),
    ("caffeine_intake=high", "evidence must be a mapping of variable to state, got str"),
]


@pytest.mark.parametrize(("evidence", "message"), BAD_EVIDENCE, ids=[m for _, m in BAD_EVIDENCE])
def test_bad_evidence_is_rejected_with_the_valid_choices(m, evidence, message):
    with pytest.raises(EvidenceError, match=re.escape(message)):
        m.infer(evidence)
    with pytest.raises(EvidenceError, match=re.escape(message)):
        m.posterior(evidence)


def test_evidence_error_is_a_value_error():
    assert issubclass(EvidenceError, ValueError)
    assert issubclass(ImpossibleEvidenceError, ValueError)


@pytest.mark.parametrize("blank", [None, "", "   "])
def test_none_and_empty_are_unknown(m, blank):
    r = m.infer({"caffeine_intake": blank, "weakness": "no"})
    assert r.evidence == {"weakness": "no"}
    assert r.posterior == m.infer({"weakness": "no"}).posterior


def test_no_evidence_is_the_prior(m):
    assert m.infer().posterior == pytest.approx(m.prior, abs=1e-12)
    assert m.infer(None).posterior == pytest.approx(m.prior, abs=1e-12)
    assert m.infer({}).prior == m.prior


def test_surrounding_spaces_are_ignored(m):
    assert m.infer({"caffeine_intake": " high "}).evidence == {"caffeine_intake": "high"}


def test_load_another_priors_folder_is_independent(tmp_path):
    import shutil

    from twitchcause import priors

    folder = tmp_path / "p"
    shutil.copytree(priors.DEFAULT_DIR, folder, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    text = (folder / "causes.yaml").read_text(encoding="utf-8")
    # restless legs: leak 'seldom' (0.08) -> 'rare' (0.04); its prior follows
    text = text.replace(
        'leak: {word: seldom, assumption: "The documents name restless',
        'leak: {word: rare, assumption: "The documents name restless',
    )
    (folder / "causes.yaml").write_text(text, encoding="utf-8")
    other = model.load(folder)
    assert other.prior["restless_legs"] == pytest.approx(other.priors.scale.words["rare"].p, abs=1e-12)
    assert other.prior["restless_legs"] != pytest.approx(model.load().prior["restless_legs"])


def test_none_identified_is_the_all_absent_joint_state(loaded_model):
    """P(no listed cause | answers) equals pgmpy's joint probability of every cause absent."""
    from pgmpy.inference import VariableElimination

    evidence = {"caffeine_intake": "none", "sleep": "adequate", "twitch_site": "calf", "duration": "hours"}
    result = loaded_model.infer(evidence)
    joint = VariableElimination(loaded_model.network).query(
        list(loaded_model.causes), evidence=evidence, joint=True, show_progress=False
    )
    absent = joint.get_value(**{c: "no" for c in loaded_model.causes})
    assert result.none_identified == pytest.approx(absent, abs=1e-9)
    assert result.to_dict()["none_identified"] == result.none_identified


# answers as a caller may send them: states in the vocabulary's words, with spaces, blank, not sure, wrong or not text
ANY_ANSWER = st.dictionaries(
    st.sampled_from([*VARIABLES, "sleeep", "zzz"]),
    st.one_of(
        st.sampled_from([s for states in VARIABLES.values() for s in states]),
        st.sampled_from(["", " ", " high ", "not_sure", " not_sure", "hgh", None, 3, True]),
    ),
    max_size=12,
)


@settings(max_examples=300, deadline=None)
@given(evidence=ANY_ANSWER, not_sure=st.one_of(st.just(()), st.lists(st.sampled_from([*VARIABLES, "zzz"]), max_size=2)))
def test_the_models_reader_answers_as_parse_answers(m, evidence, not_sure):
    """Model.parse_answers (one sort when the answers are in the vocabulary's words) equals the checked path,
    error messages included, and keeps the vocabulary's order."""
    from twitchcause.model.evidence import parse_answers

    try:
        expected = parse_answers(evidence, not_sure, m.variables)
    except EvidenceError as error:
        with pytest.raises(EvidenceError) as raised:
            m.parse_answers(evidence, not_sure)
        assert str(raised.value) == str(error)
        return
    got = m.parse_answers(evidence, not_sure)
    assert got == expected
    assert list(got[0]) == list(expected[0]) == [name for name in m.variables if name in got[0]]
    assert all(type(state) is str for state in got[0].values())
