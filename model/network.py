"""The Bayesian network: exposures -> causes -> findings, built from the priors.

Exposures (context.yaml) are root nodes. Each cause is present or absent and
depends on its exposures (and on other causes) through a noisy-OR. Each
finding depends on the causes the documents tie to it, through a noisy-MAX
(a severity, or a yes/no symptom) or a product of each cause's ratio to the leak
(a pattern such as site, spread, timing, duration or trend; see ``cpd.product``).

:func:`node_tables` gives every node's conditional table as numpy (no pgmpy
needed, which keeps start-up fast); :func:`build_network` turns the same
tables into a checked pgmpy ``DiscreteBayesianNetwork``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from twitchcause.priors import Priors

from . import cpd

CAUSE_STATES = ("no", "yes")
ABSENT, PRESENT = CAUSE_STATES


@dataclass(frozen=True)
class NodeTable:
    """A node's states, its parents with their states, and its table (axes: node, *parents)."""

    states: tuple[str, ...]
    parents: tuple[tuple[str, tuple[str, ...]], ...]
    values: np.ndarray


def states_of(priors: Priors, name: str) -> tuple[str, ...]:
    return CAUSE_STATES if name in priors.causes else priors.variables[name].states


def combination_rules(priors: Priors) -> dict[str, tuple[tuple[str, ...], list[str], object]]:
    """``{node: (states, parent names, rule)}`` for every node of the network."""
    rules = {}
    for name, numbers in priors.context.items():
        states = priors.variables[name].states
        rules[name] = (states, [], cpd.fixed(cpd.distribution(numbers, states)))
    for cause, spec in priors.cause_priors.items():
        links = {p: {s: n.value for s, n in by_state.items()} for p, by_state in spec.links.items()}
        rules[cause] = (CAUSE_STATES, list(spec.links), cpd.noisy_or(spec.leak.value, links))
    for finding, spec in priors.findings.items():
        states = priors.variables[finding].states
        leak = cpd.distribution(spec.leak, states)
        by_cause = {c: cpd.distribution(numbers, states) for c, numbers in spec.causes.items()}
        combine = cpd.noisy_max if spec.combine == "noisy_max" else cpd.product
        rules[finding] = (states, list(spec.causes), combine(leak, by_cause, PRESENT))
    return rules


def node_table(priors: Priors, node: str, rule_spec=None) -> NodeTable:
    states, parent_names, rule = rule_spec or combination_rules(priors)[node]
    parents = tuple((p, states_of(priors, p)) for p in parent_names)
    return NodeTable(tuple(states), parents, rule.table(parents))


def node_tables(priors: Priors) -> dict[str, NodeTable]:
    """Every node's conditional table, computed from the priors."""
    return {node: node_table(priors, node, spec) for node, spec in combination_rules(priors).items()}


def factors(tables: dict[str, NodeTable]) -> dict[str, tuple[list[str], np.ndarray]]:
    """``{node: ([node, *parents], table)}``: the form the engine compiles."""
    return {node: ([node, *(p for p, _ in t.parents)], t.values) for node, t in tables.items()}


def compile_engine(priors: Priors, tables: dict[str, NodeTable] | None = None):
    """The fast engine of ``priors`` (:mod:`twitchcause.model.engine`), from their node tables."""
    from .engine import compile_factors

    tables = tables if tables is not None else node_tables(priors)
    states = {name: v.states for name, v in priors.variables.items()}
    return compile_factors(factors(tables), tuple(priors.causes), states)


def build_network(priors: Priors, tables: dict[str, NodeTable] | None = None):
    """A checked pgmpy network holding every cause and evidence variable."""
    from pgmpy.models import DiscreteBayesianNetwork

    tables = tables or node_tables(priors)
    edges = [(parent, node) for node, table in tables.items() for parent, _ in table.parents]
    network = DiscreteBayesianNetwork(edges)
    network.add_nodes_from(list(priors.variables) + list(priors.causes))
    network.add_cpds(*(cpd.tabular_cpd(node, t.states, t.parents, t.values) for node, t in tables.items()))
    network.check_model()
    return network
