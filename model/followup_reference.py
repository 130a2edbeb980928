"""The follow-up model as one pgmpy network, unrolled over a diary's check-ins: the reference.

Nodes: the single-moment network (its findings are the first check-in's); an
indicator ``x is risky`` for an exposure a change says was risky but nobody
answered; for each later check-in ``k`` a copy ``c@k`` of every cause (still at
work: on only if ``c`` was, and then unless it settled, with the diary's
``q``), the check-in's findings over those copies with the network's own
tables, and how the twitch is now over two chains of ORs: ``left@k`` (some
cause still at work) and ``settled@k`` (some cause at the start has settled).
:func:`reference_drivers` runs pgmpy's VariableElimination on it;
:func:`twitchcause.model.followup.driver_log_posterior` must agree.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from . import cpd
from .followup import CheckIn, parse_diary, plan
from .network import CAUSE_STATES, PRESENT, node_tables

YES_NO = ("no", "yes")


def _deterministic(n_parents: int, on) -> np.ndarray:
    """A yes/no node that is ``on(parent states)`` for sure (axes: node, *parents)."""
    table = np.zeros((2,) + (2,) * n_parents)
    for states in np.ndindex(*(2,) * n_parents):
        table[(int(bool(on(*states))),) + states] = 1.0
    return table


def _any(*states) -> bool:
    return any(states)


def _settled(*states) -> bool:
    """(earlier settled,) cause at the start, cause still at work: settled if it was on and is off now."""
    *earlier, was, now = states
    return any(earlier) or (was and not now)


def unrolled_network(model, diary: Sequence[CheckIn | dict]):
    """The pgmpy network of a diary and the evidence it gives (see the module docstring)."""
    from pgmpy.models import DiscreteBayesianNetwork

    priors, engine = model.priors, model.engine
    check_ins = parse_diary(model, diary)
    coded = plan(priors, engine, check_ins)
    tables = node_tables(priors)
    cpds = [cpd.tabular_cpd(node, t.states, t.parents, t.values) for node, t in tables.items()]
    evidence = dict(coded.first_findings)
    for variable, allowed in coded.baseline.items():
        states = priors.variables[variable].states
        if len(allowed) == 1:
            evidence[variable] = allowed[0]
            continue
        name = f"{variable} is risky"
        table = np.array([[s not in allowed for s in states], [s in allowed for s in states]], dtype=float)
        cpds.append(cpd.tabular_cpd(name, YES_NO, [(variable, states)], table))
        evidence[name] = "yes"
    causes = list(priors.causes)
    given = priors.followup.twitch_given
    twitch_states = tuple(priors.followup.twitch_states)
    for k, (findings, q, twitch) in enumerate(coded.later, 2):
        for i, cause in enumerate(causes):
            table = np.array([[1.0, q[i]], [0.0, 1.0 - q[i]]])
            cpds.append(cpd.tabular_cpd(f"{cause}@{k}", CAUSE_STATES, [(cause, CAUSE_STATES)], table))
        for finding, state in findings.items():
            t = tables[finding]
            parents = [(f"{p}@{k}", s) for p, s in t.parents]
            cpds.append(cpd.tabular_cpd(f"{finding}@{k}", t.states, parents, t.values))
            evidence[f"{finding}@{k}"] = state
        if twitch is None:
            continue
        for j, cause in enumerate(causes):
            now = (f"{cause}@{k}", CAUSE_STATES)
            left_parents = [now] if j == 0 else [(f"left{j - 1}@{k}", YES_NO), now]
            cpds.append(cpd.tabular_cpd(f"left{j}@{k}", YES_NO, left_parents, _deterministic(len(left_parents), _any)))
            settled_parents = [(cause, CAUSE_STATES), now]
            if j:
                settled_parents.insert(0, (f"settled{j - 1}@{k}", YES_NO))
            table = _deterministic(len(settled_parents), _settled)
            cpds.append(cpd.tabular_cpd(f"settled{j}@{k}", YES_NO, settled_parents, table))
        last = len(causes) - 1
        by_class = {  # (some cause still at work, some cause settled) -> settled class
            (0, 0): "no_listed_cause",
            (0, 1): "all_settled",
            (1, 0): "none_settled",
            (1, 1): "some_settled",
        }
        table = np.zeros((len(twitch_states), 2, 2))
        for (left, settled), name in by_class.items():
            table[:, left, settled] = [given[name][s] for s in twitch_states]
        parents = [(f"left{last}@{k}", YES_NO), (f"settled{last}@{k}", YES_NO)]
        cpds.append(cpd.tabular_cpd(f"twitch@{k}", twitch_states, parents, table))
        evidence[f"twitch@{k}"] = twitch
    edges = [(parent, c.variable) for c in cpds for parent in c.variables[1:]]
    network = DiscreteBayesianNetwork(edges)
    network.add_nodes_from([c.variable for c in cpds])
    network.add_cpds(*cpds)
    network.check_model()
    return network, evidence


def reference_drivers(model, diary) -> dict[str, float]:
    """P(each cause is a driver | the diary) by pgmpy's VariableElimination on the unrolled network."""
    from pgmpy.inference import VariableElimination

    network, evidence = unrolled_network(model, diary)
    factors = VariableElimination(network).query(
        list(model.causes), evidence=evidence, joint=False, show_progress=False
    )
    return {c: float(factors[c].get_value(**{c: PRESENT})) for c in model.causes}


__all__ = ["reference_drivers", "unrolled_network"]
