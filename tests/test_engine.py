"""The compiled engine: its paths agree, it compiles what pgmpy holds, and impossible evidence is an error.

Agreement with pgmpy's VariableElimination on random evidence is in test_inference.py.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pgmpy.factors.discrete import TabularCPD
from pgmpy.models import DiscreteBayesianNetwork

from twitchcause import model
from twitchcause.model.engine import compile_network
from twitchcause.model.network import build_network, factors, node_tables
from twitchcause.model.reference import ReferenceInference


def evidence_strategy(variables):
    """Each variable absent or one of its states."""
    return st.fixed_dictionaries({}, optional={name: st.sampled_from(v.states) for name, v in variables.items()})


@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_batch_path_equals_single_path(loaded_model, data):
    cases = data.draw(st.lists(evidence_strategy(loaded_model.variables), min_size=1, max_size=6))
    engine = loaded_model.engine
    batch = engine.posterior_codes(np.array([engine.encode(case) for case in cases]), chunk=4)
    for row, case in zip(batch, cases):
        single = engine.posterior(case)
        assert row.tolist() == pytest.approx([single[c] for c in engine.causes], abs=1e-12)


def test_engine_compiled_from_priors_equals_engine_compiled_from_pgmpy(loaded_model):
    states = {name: v.states for name, v in loaded_model.variables.items()}
    from_network = compile_network(loaded_model.network, loaded_model.causes, states)
    from_priors = loaded_model.compile()
    for a, b in zip(from_network.blocks, from_priors.blocks):
        assert a.variables == b.variables
        np.testing.assert_allclose(a.table, b.table, rtol=1e-12, atol=0)


def test_vectorised_tables_equal_pgmpy_cpds(loaded_model):
    for node, (names, values) in factors(node_tables(loaded_model.priors)).items():
        cpd = loaded_model.network.get_cpds(node)
        assert list(cpd.variables) == names
        np.testing.assert_allclose(cpd.values, values, atol=1e-15)


def _two_node_network(zero_when_absent: bool):
    """cause -> finding, where the finding is impossible without the cause."""
    network = DiscreteBayesianNetwork([("cause", "finding")])
    names = {"cause": ["no", "yes"], "finding": ["no", "yes"]}
    network.add_cpds(
        TabularCPD("cause", 2, [[1.0], [0.0]], state_names={"cause": names["cause"]}),
        TabularCPD(
            "finding",
            2,
            [[1.0, 0.5], [0.0 if zero_when_absent else 0.1, 0.5]],
            evidence=["cause"],
            evidence_card=[2],
            state_names=names,
        ),
    )
    return network


def test_impossible_evidence_is_an_error_on_both_paths():
    network = _two_node_network(zero_when_absent=True)
    engine = compile_network(network, ["cause"], {"finding": ("no", "yes")})
    with pytest.raises(model.ImpossibleEvidenceError, match="probability zero.*finding=yes"):
        engine.posterior({"finding": "yes"})
    with pytest.raises(model.ImpossibleEvidenceError, match="probability zero"):
        engine.posterior_codes(np.array([[1]]))
    with pytest.raises(model.ImpossibleEvidenceError, match="probability zero"):
        ReferenceInference(network, ["cause"]).posterior({"finding": "yes"})


def test_possible_evidence_on_a_network_with_zeros_is_answered():
    engine = compile_network(_two_node_network(zero_when_absent=True), ["cause"], {"finding": ("no", "yes")})
    assert engine.posterior({"finding": "no"}) == {"cause": 0.0}


def test_compiling_rejects_a_network_of_another_shape(loaded_model):
    network = DiscreteBayesianNetwork([("a", "b")])
    network.add_cpds(
        TabularCPD("a", 2, [[0.5], [0.5]]),
        TabularCPD("b", 2, [[0.5, 0.5], [0.5, 0.5]], evidence=["a"], evidence_card=[2]),
    )
    with pytest.raises(ValueError, match="has a parent that is not a cause"):
        compile_network(network, [], {"a": (0, 1), "b": (0, 1)})


def test_rebuilt_network_is_deterministic(loaded_model):
    again = build_network(loaded_model.priors)
    for cpd in loaded_model.network.get_cpds():
        np.testing.assert_array_equal(cpd.values, again.get_cpds(cpd.variable).values)


def test_log_space_fallback_gives_the_same_posteriors(loaded_model, monkeypatch):
    import twitchcause.model.engine as engine_module

    engine = loaded_model.engine
    cases = [{}, {"caffeine_intake": "high", "weakness": "no"}, {"urge_to_move": "yes", "timing": "at_night"}]
    usual = [engine.posterior(case) for case in cases]
    monkeypatch.setattr(engine_module, "SMALLEST_WEIGHT", 2.0)  # every case now takes the log-space path
    for case, expected in zip(cases, usual):
        assert engine.posterior(case) == pytest.approx(expected, abs=1e-12)
