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
from twitchcause.model.engine import compile_factors, compile_network
from twitchcause.model.errors import ImpossibleEvidenceError
from twitchcause.model.network import build_network, factors, node_tables
from twitchcause.model.reference import ReferenceInference


def evidence_strategy(variables):
    """Each variable absent or one of its states."""
    return st.fixed_dictionaries({}, optional={name: st.sampled_from(v.states) for name, v in variables.items()})


@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_batch_path_gives_the_single_path_digits(loaded_model, data):
    cases = data.draw(st.lists(evidence_strategy(loaded_model.variables), min_size=1, max_size=6))
    engine = loaded_model.engine
    batch = engine.marginals_codes(np.array([engine.encode(case) for case in cases]), chunk=4)
    for row, case in zip(batch, cases):
        single, none = engine.posterior_and_none(case)
        assert row.tolist() == [single[c] for c in engine.causes] + [none]


def test_each_block_is_its_nodes_table_over_its_scope(loaded_model):
    """A finding's local table, expanded onto the joint, is its CPD read at each joint state's parent bits."""
    engine = loaded_model.engine
    tables = factors(node_tables(loaded_model.priors))
    n = len(engine.causes)
    joint = np.arange(2**n)
    for block in engine.blocks:
        assert block.table.shape == (int(np.prod(block.radices)), 2 ** len(block.scope))
        assert list(block.scope) == sorted(block.scope)
        if block.nodes != block.variables:  # an exposure group: checked against pgmpy in test_inference
            continue
        names, values = tables[block.variables[0]]
        assert sorted(engine.causes.index(p) for p in names[1:]) == list(block.scope)
        bits = tuple((joint >> engine.causes.index(p)) & 1 for p in names[1:])
        expected = np.log(np.vstack([values[(s, *bits)] for s in range(values.shape[0])] + [np.ones(len(joint))]))
        np.testing.assert_allclose(block.expanded(n), expected, rtol=1e-15, atol=0)
        assert (block.local_index(n) < 2 ** len(block.scope)).all()


@pytest.mark.parametrize("node", ["caffeine_intake", "dehydration", "restless_legs", "twitch_site", "duration"])
def test_an_engine_with_one_table_replaced_equals_one_compiled_with_it(loaded_model, node):
    tables = factors(node_tables(loaded_model.priors))
    names, values = tables[node]
    changed = values[::-1].copy()  # another distribution in every column (still sums to 1)
    states = {name: v.states for name, v in loaded_model.variables.items()}
    compiled = compile_factors({**tables, node: (names, changed)}, loaded_model.causes, states)
    replaced = loaded_model.compile().with_table(node, changed)
    for a, b in zip(replaced.blocks, compiled.blocks):
        assert (a.variables, a.scope, a.nodes) == (b.variables, b.scope, b.nodes)
        np.testing.assert_array_equal(a.table, b.table)
    case = {"caffeine_intake": "high", "twitch_site": "calf", "duration": "weeks", "sleep": "short"}
    assert replaced.posterior(case) == compiled.posterior(case)


def test_replacing_a_table_checks_its_shape_and_node(loaded_model):
    engine = loaded_model.compile()
    with pytest.raises(ValueError, match="table of 'caffeine_intake' has shape"):
        engine.with_table("caffeine_intake", np.ones(5))
    with pytest.raises(ValueError, match="'coffee' is not a node"):
        engine.with_table("coffee", np.ones(3))


def test_a_stored_engine_round_trips_in_its_local_form(loaded_model):
    engine = loaded_model.compile()
    arrays = engine.to_arrays()
    assert sum(a.nbytes for a in arrays.values()) < 2**20  # local tables, not 200 rows of 4096 joint states
    again = type(engine).from_arrays(arrays)
    assert again.fits(engine.causes, engine.states)
    case = {"weakness": "yes", "diabetes": "yes", "spread": "both_legs"}
    assert again.posterior(case) == engine.posterior(case)


@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_what_each_next_answer_gives_equals_asking_with_it(loaded_model, data):
    evidence = data.draw(evidence_strategy(loaded_model.variables))
    engine = loaded_model.engine
    now, pairs, p_answer, after = engine.after_each_answer(engine.encode(evidence))
    assert now.tolist() == pytest.approx([engine.posterior(evidence)[c] for c in engine.causes], abs=1e-12)
    assert {name for name, _ in pairs} == set(loaded_model.variables) - set(evidence)
    _, log_evidence = engine.joint_posterior(evidence)
    for (name, state), p, row in zip(pairs, p_answer, after):
        answered = {**evidence, name: state}
        try:
            _, log_both = engine.joint_posterior(answered)
        except model.ImpossibleEvidenceError:
            assert p == 0.0
            continue
        assert p == pytest.approx(np.exp(log_both - log_evidence), abs=1e-12)
        assert row.tolist() == pytest.approx([engine.posterior(answered)[c] for c in engine.causes], abs=1e-12)


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


def test_evidence_whose_probability_underflows_a_double_is_answered_exactly():
    """One cause (prior 1/2) and 40 findings, each seen with P = 1e-10 without it and 2e-10 with it.

    P(evidence) is about 1e-400, below the smallest double, but Bayes' rule only
    needs the ratio: odds = 1 * 2**40, so P(cause | all 40 seen) = 2**40 / (2**40 + 1).
    """
    findings = [f"f{i}" for i in range(40)]
    factors = {"c": (["c"], np.array([0.5, 0.5]))}
    for f in findings:
        factors[f] = ([f, "c"], np.array([[1 - 1e-10, 1 - 2e-10], [1e-10, 2e-10]]))
    engine = compile_factors(factors, ["c"], {f: ("no", "yes") for f in findings})
    case = {f: "yes" for f in findings}
    assert engine.posterior(case)["c"] == pytest.approx(2**40 / (2**40 + 1), rel=1e-12)
    assert engine.posterior_codes(engine.encode(case)[None, :])[0, 0] == engine.posterior(case)["c"]
    _, log_evidence = engine.joint_posterior(case)
    assert log_evidence == pytest.approx(np.log(0.5) + 40 * np.log(1e-10) + np.log1p(2.0**40), rel=1e-12)


def _module_of(name: str, source: str):
    import sys
    import types

    module = types.ModuleType(name)
    exec(compile(source, f"<{name}>", "exec"), module.__dict__)
    for obj in list(vars(module).values()):
        if callable(obj):
            obj.__module__ = name
    sys.modules[name] = module
    return name


def test_the_cache_key_follows_the_code_not_a_format_number():
    """Changing what a function computes gives another key; moving it down a line or adding a comment does not."""
    import sys

    from twitchcause.model.engine import code_digest

    try:
        plain = code_digest(_module_of("_k1", "def f(x):\n    return x + 1\n"))
        commented = code_digest(_module_of("_k1", "\n# a comment\ndef f(x):\n    return x + 1  # why\n"))
        changed = code_digest(_module_of("_k1", "def f(x):\n    return x + 2\n"))
        constant = code_digest(_module_of("_k1", "CHUNK = 3\ndef f(x):\n    return x + 1\n"))
        in_a_set = code_digest(_module_of("_k1", "def f(x):\n    return x in {'a', 'b', 'c'}\n"))
    finally:
        sys.modules.pop("_k1", None)
    assert plain == commented
    assert len({plain, changed, constant, in_a_set}) == 4
    assert code_digest("twitchcause.model.engine") == code_digest("twitchcause.model.engine")


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_one_case_as_products_over_the_halves_equals_the_log_space_path(loaded_model, data):
    """Model.infer's path (FactoredCase): the engine's posterior to 1e-12, whatever blocks over both halves it reads."""
    from twitchcause.model.factored import FactoredCase

    engine = loaded_model.engine
    case = data.draw(evidence_strategy(loaded_model.variables))
    try:
        single, none = engine.posterior_and_none(case)
    except ImpossibleEvidenceError:
        return
    factored = FactoredCase(engine).marginals(case)
    assert factored == pytest.approx([single[c] for c in engine.causes] + [none], abs=1e-12, rel=1e-12)
    assert loaded_model.infer(case).posterior == pytest.approx(single, abs=1e-12)


def test_a_product_that_would_underflow_is_weighed_in_log_space():
    from twitchcause.model import Model
    from twitchcause.model.factored import FactoredCase

    findings = [f"f{i}" for i in range(400)]  # 400 answers of 1e-10 each: far below the smallest double
    factors = {"c": (["c"], np.array([0.5, 0.5])), "d": (["d"], np.array([0.5, 0.5]))}
    for f in findings:
        factors[f] = ([f, "c"], np.array([[1 - 1e-10, 1 - 2e-10], [1e-10, 2e-10]]))
    engine = compile_factors(factors, ["c", "d"], {f: ("no", "yes") for f in findings})
    case = {f: "yes" for f in findings}
    assert FactoredCase(engine).marginals(case) is None
    assert engine.posterior(case)["c"] == pytest.approx(1.0, abs=1e-12)  # 2**400 to 1
    model = Model.__new__(Model)
    model._engine = engine
    assert model._posterior_and_none(case)[0] == engine.posterior(case)


def _tangled_network(seed: int) -> DiscreteBayesianNetwork:
    """Four causes joined by shared exposures into one block over all of them, and findings over pairs.

    Whatever the halves, the exposure block spans both and its all-unknown row
    is not all ones: the case :class:`FactoredCase` folds into its prior.
    """
    rng = np.random.default_rng(seed)
    yn = ["no", "yes"]
    three = ["low", "mid", "high"]
    edges = [("e01", "c0"), ("e01", "c1"), ("e23", "c2"), ("e23", "c3"), ("e02", "c0"), ("e02", "c2")]
    edges += [("c0", "f0"), ("c1", "f0"), ("c1", "f1"), ("c3", "f1"), ("c2", "f2"), ("c0", "f3"), ("c3", "f3")]
    network = DiscreteBayesianNetwork(edges)

    def cpd(node, states, parents):
        cards = [2] * len(parents)
        columns = rng.dirichlet(np.ones(len(states)), size=int(np.prod(cards)) if cards else 1).T
        names = {node: states} | {p: (three if p.startswith("e") else yn) for p in parents}
        return TabularCPD(
            node, len(states), columns, evidence=parents or None, evidence_card=cards or None, state_names=names
        )

    cpds = [cpd(e, three, []) for e in ("e01", "e23", "e02")]
    for c, parents in {"c0": ["e01", "e02"], "c1": ["e01"], "c2": ["e23", "e02"], "c3": ["e23"]}.items():
        columns = rng.dirichlet(np.ones(2), size=9 if len(parents) == 2 else 3).T
        names = {c: yn} | {p: three for p in parents}
        cpds.append(TabularCPD(c, 2, columns, evidence=parents, evidence_card=[3] * len(parents), state_names=names))
    for f, parents in {"f0": ["c0", "c1"], "f1": ["c1", "c3"], "f2": ["c2"], "f3": ["c0", "c3"]}.items():
        cpds.append(cpd(f, ["a", "b", "c"], parents))
    network.add_cpds(*cpds)
    assert network.check_model()
    return network


TANGLED_STATES = {"e01": ("low", "mid", "high"), "e23": ("low", "mid", "high"), "e02": ("low", "mid", "high")}
TANGLED_STATES |= {f: ("a", "b", "c") for f in ("f0", "f1", "f2", "f3")}


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**16),
    evidence=st.fixed_dictionaries({}, optional={n: st.sampled_from(s) for n, s in TANGLED_STATES.items()}),
)
def test_one_case_as_products_equals_pgmpy_when_every_block_spans_the_halves(seed, evidence):
    """FactoredCase on a network whose exposure block spans both halves (its prior not all ones), against VE."""
    from twitchcause.model.factored import FactoredCase

    network = _tangled_network(seed)
    causes = ["c0", "c1", "c2", "c3"]
    engine = compile_network(network, causes, TANGLED_STATES)
    factored = FactoredCase(engine)
    assert any(not (set(b.scope) <= set(factored.a) or set(b.scope) <= set(factored.b)) for b in engine.blocks)
    marginals = factored.marginals(evidence)
    reference = ReferenceInference(network, causes).posterior(evidence)
    assert marginals[:-1] == pytest.approx([reference[c] for c in causes], abs=1e-12)
    assert marginals[-1] == pytest.approx(engine.posterior_and_none(evidence)[1], abs=1e-12)


def test_stored_arrays_that_do_not_fit_together_are_refused(loaded_model):
    """The blocks' and node tables are stored end to end; a piece too short or too long makes no engine."""
    arrays = loaded_model.engine.to_arrays()
    for name in ("tables", "radices", "scopes", "factors"):
        with pytest.raises(ValueError):
            type(loaded_model.engine).from_arrays({**arrays, name: arrays[name][:-1]})
    with pytest.raises(ValueError):
        type(loaded_model.engine).from_arrays({**arrays, "factor_nodes": arrays["factor_nodes"][:-1]})
