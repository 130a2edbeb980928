"""The Bayesian network: exposures -> causes -> findings, built from the priors.

Exposures (context.yaml) are root nodes. Each cause is present or absent and
depends on its exposures (and on other causes) through a noisy-OR. Each
finding depends on the causes the documents tie to it, through a noisy-MAX
(ordered states) or an equal-weight mixture (unordered states).
"""
from __future__ import annotations

from pgmpy.models import DiscreteBayesianNetwork

from priors import Priors

from . import cpd

CAUSE_STATES = ("no", "yes")
ABSENT, PRESENT = CAUSE_STATES


def cause_parents(priors: Priors, cause: str) -> list[str]:
    return list(priors.cause_priors[cause].links)


def finding_parents(priors: Priors, finding: str) -> list[str]:
    return list(priors.findings[finding].causes)


def _states(priors: Priors, name: str) -> tuple[str, ...]:
    return CAUSE_STATES if name in priors.causes else priors.variables[name].states


def build_network(priors: Priors) -> DiscreteBayesianNetwork:
    """A checked pgmpy network holding every cause and evidence variable."""
    edges = [(parent, cause) for cause in priors.causes for parent in cause_parents(priors, cause)]
    edges += [(cause, finding) for finding in priors.findings for cause in finding_parents(priors, finding)]
    network = DiscreteBayesianNetwork(edges)
    network.add_nodes_from(list(priors.variables) + list(priors.causes))

    cpds = []
    for name, numbers in priors.context.items():
        states = priors.variables[name].states
        cpds.append(cpd.tabular_cpd(name, states, [], lambda _, n=numbers, s=states: cpd.distribution(n, s)))
    for cause, spec in priors.cause_priors.items():
        links = {p: {s: n.value for s, n in by_state.items()} for p, by_state in spec.links.items()}
        parents = [(p, _states(priors, p)) for p in spec.links]
        cpds.append(cpd.tabular_cpd(cause, CAUSE_STATES, parents, cpd.noisy_or(spec.leak.value, links)))
    for finding, spec in priors.findings.items():
        states = priors.variables[finding].states
        leak = cpd.distribution(spec.leak, states)
        by_cause = {c: cpd.distribution(numbers, states) for c, numbers in spec.causes.items()}
        combine = cpd.noisy_max if spec.combine == "noisy_max" else cpd.mixture
        parents = [(c, CAUSE_STATES) for c in spec.causes]
        cpds.append(cpd.tabular_cpd(finding, states, parents, combine(leak, by_cause, PRESENT)))
    network.add_cpds(*cpds)
    network.check_model()
    return network
