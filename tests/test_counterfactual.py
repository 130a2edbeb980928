"""What would help: the counterfactual against pgmpy on an explicit twin network."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest
from cli_helpers import run

from twitchcause import model
from twitchcause.model.cpd import tabular_cpd
from twitchcause.model.network import CAUSE_STATES, node_tables

OFF_ON = CAUSE_STATES  # ("no", "yes")


def _or_table(parents, is_on):
    """A deterministic table (axes: child, *parents) that is on exactly when ``is_on(values)``."""
    shape = [len(states) for _, states in parents]
    on = np.zeros(shape)
    for index in itertools.product(*(range(n) for n in shape)):
        values = {name: states[i] for (name, states), i in zip(parents, index)}
        on[index] = 1.0 if is_on(values) else 0.0
    return np.stack([1.0 - on, on])


def twin_network(m, variable, safer):
    """Exposures, every noisy-OR cause spelled out with its latent switches, findings on the factual causes,
    and a counterfactual copy of each cause the change can reach (``variable`` set to ``safer``)."""
    from pgmpy.models import DiscreteBayesianNetwork

    priors = m.priors
    tables = node_tables(priors)
    cpds, edges = [], []

    def add(node, states, parents, table):
        cpds.append(tabular_cpd(node, states, parents, table))
        edges.extend((p, node) for p, _ in parents)

    for x in priors.context:
        add(x, tables[x].states, [], tables[x].values)
    switches = {}
    for c, spec in priors.cause_priors.items():
        add(f"L_{c}", OFF_ON, [], np.array([1 - spec.leak.value, spec.leak.value]))
        switches[c] = []
        for parent, links in spec.links.items():
            for state, number in links.items():
                u = f"U_{c}_{parent}_{state}"
                add(u, OFF_ON, [], np.array([1 - number.value, number.value]))
                switches[c].append((u, parent, state))

    def states_of(name):
        return OFF_ON if name in priors.causes else priors.variables[name].states

    def cause_node(c, prefix, value_of):
        parents = [(f"L_{c}", OFF_ON)] + [(u, OFF_ON) for u, _, _ in switches[c]]
        parents += [(value_of(p), states_of(p)) for p in priors.cause_priors[c].links if value_of(p) is not None]
        sources = {p: value_of(p) for p in priors.cause_priors[c].links}

        def is_on(values):
            if values[f"L_{c}"] == "yes":
                return True
            for u, parent, state in switches[c]:
                value = safer if sources[parent] is None else values[sources[parent]]
                if value == state and values[u] == "yes":
                    return True
            return False

        add(f"{prefix}{c}", OFF_ON, parents, _or_table(parents, is_on))

    order = list(priors.causes)
    order.sort(key=lambda c: any(p in priors.causes for p in priors.cause_priors[c].links))  # parents first
    for c in order:
        cause_node(c, "", lambda p: p)
    reached = set()
    for c in order:
        links = priors.cause_priors[c].links
        if variable in links or any(q in reached for q in links):
            reached.add(c)
            cause_node(c, "cf_", lambda p: None if p == variable else (f"cf_{p}" if p in reached else p))
    for f in priors.findings:
        t = tables[f]
        add(f, t.states, list(t.parents), t.values)
    world = [f"cf_{c}" if c in reached else c for c in priors.causes]
    add(
        "any_after",
        OFF_ON,
        [(w, OFF_ON) for w in world],
        _or_table([(w, OFF_ON) for w in world], lambda v: "yes" in v.values()),
    )
    network = DiscreteBayesianNetwork(edges)
    network.add_cpds(*cpds)
    network.check_model()
    return network, reached


CASES = [
    {"caffeine_intake": "high", "sleep": "adequate", "twitch_site": "calf", "duration": "hours"},
    {"fluid_intake": "low", "heavy_sweating": "yes", "cramps": "brief", "timing": "after_exercise"},
    {"heavy_sweating": "yes", "medication_type": "diuretic", "frequency": "frequent"},
    {"stress_level": "high", "sleep": "very_short", "spread": "both_legs", "weakness": "no"},
]


@pytest.mark.parametrize("evidence", CASES, ids=lambda e: "+".join(sorted(e)))
def test_what_would_help_matches_the_twin_network(evidence):
    from pgmpy.inference import VariableElimination

    m = model.load()
    items = m.what_would_help(evidence)
    assert items, "each case answers a risky exposure"
    for item in items:
        network, reached = twin_network(m, item.variable, item.change_to)
        assert set(item.causes) == reached
        infer = VariableElimination(network)
        for cause in item.causes:
            factual = infer.query([cause], evidence=evidence, show_progress=False).get_value(**{cause: "yes"})
            after = infer.query([f"cf_{cause}"], evidence=evidence, show_progress=False).get_value(
                **{f"cf_{cause}": "yes"}
            )
            assert item.before[cause] == pytest.approx(factual, abs=1e-9), cause
            assert item.after[cause] == pytest.approx(after, abs=1e-9), cause
        none = infer.query(["any_after"], evidence=evidence, show_progress=False).get_value(any_after="no")
        assert item.none_identified_after == pytest.approx(none, abs=1e-9)


def test_changes_rank_by_the_active_causes_they_switch_off():
    items = model.load().what_would_help({"caffeine_intake": "high", "fluid_intake": "low", "sleep": "short"})
    drops = [item.expected_drop for item in items]
    assert drops == sorted(drops, reverse=True)
    assert {item.variable for item in items} == {"caffeine_intake", "fluid_intake", "sleep"}


def test_no_risky_answer_no_help():
    assert model.load().what_would_help({"caffeine_intake": "none", "twitch_site": "calf"}) == []


def test_a_safe_answer_is_never_a_change_and_unanswered_exposures_are_not_assumed():
    items = model.load().what_would_help({"fluid_intake": "low"})
    assert [item.variable for item in items] == ["fluid_intake"]


def test_infer_json_carries_what_would_help(capsys):
    status, out, _ = run(capsys, "infer", "caffeine_intake=high", "--json")
    item = json.loads(out)["what_would_help"][0]
    assert status == 0 and item["variable"] == "caffeine_intake" and item["change_to"] == "none"
    assert item["after"]["caffeine"] < item["before"]["caffeine"]


def test_what_would_help_reads_the_engines_own_tables(loaded_model):
    """An engine given another caffeine table by ``with_table`` answers what would help from that table:
    as the engine compiled from priors that hold the same numbers, not as the packaged priors."""
    from twitchcause.model.counterfactual import what_would_help
    from twitchcause.model.network import compile_engine
    from twitchcause.priors import tune_number

    m = loaded_model
    evidence = {"caffeine_intake": "moderate", "sleep": "adequate", "twitch_site": "calf"}
    tuned = tune_number(m.priors, "causes", "caffeine -> caffeine_intake -> moderate", 0.5, why="test")
    replaced = m.engine.with_table("caffeine", node_tables(tuned)["caffeine"].values)
    from_table = what_would_help(replaced, m.priors, evidence)[0]
    from_priors = what_would_help(compile_engine(tuned), tuned, evidence)[0]
    packaged = what_would_help(m.engine, m.priors, evidence)[0]
    assert from_table.variable == "caffeine_intake"
    assert from_table.before == pytest.approx(from_priors.before, abs=1e-12)
    assert from_table.after == pytest.approx(from_priors.after, abs=1e-12)
    assert from_table.before["caffeine"] > packaged.before["caffeine"] + 0.1
    assert from_table.before["caffeine"] == pytest.approx(replaced.posterior(evidence)["caffeine"], abs=1e-12)


def test_what_would_help_refuses_a_cause_table_that_is_not_a_noisy_or(loaded_model):
    from twitchcause.model.counterfactual import what_would_help

    names, table = loaded_model.engine.factors["caffeine"]
    table = np.array(table)
    table[:, 0] = [0.5, 0.5]  # without caffeine on half the time, with a moderate intake almost never: no noisy-OR
    table[:, 1] = [0.995, 0.005]
    engine = loaded_model.engine.with_table("caffeine", table)
    with pytest.raises(ValueError, match="table of 'caffeine' is not a noisy-OR"):
        what_would_help(engine, loaded_model.priors, {"caffeine_intake": "high"})


def test_a_stored_engine_answers_what_would_help_from_its_stored_tables(loaded_model):
    from twitchcause.model.counterfactual import what_would_help
    from twitchcause.model.engine import Engine

    evidence = {"caffeine_intake": "high", "fluid_intake": "low", "heavy_sweating": "yes"}
    restored = Engine.from_arrays(loaded_model.engine.to_arrays())
    assert what_would_help(restored, loaded_model.priors, evidence) == what_would_help(
        loaded_model.engine, loaded_model.priors, evidence
    )
