"""The one place that turns priors into pgmpy TabularCPDs.

pgmpy lays a CPD out as one column per joint state of the parents, the first
parent varying slowest. :func:`tabular_cpd` is the only code that knows that
order; the combination rules below give one column for one parent state.
"""
from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence

import numpy as np
from pgmpy.factors.discrete import TabularCPD

from priors import Number

Column = Callable[[Mapping[str, str]], np.ndarray]


def tabular_cpd(variable: str, states: Sequence[str], parents: Sequence[tuple[str, Sequence[str]]],
                column: Column) -> TabularCPD:
    """Build the CPD of ``variable`` by asking ``column`` for each parent configuration.

    ``column`` maps ``{parent: state}`` to the distribution over ``states``.
    """
    names = [name for name, _ in parents]
    columns = [column(dict(zip(names, combo)))
               for combo in itertools.product(*(parent_states for _, parent_states in parents))]
    values = np.column_stack(columns) if columns else np.zeros((len(states), 1))
    state_names = {variable: list(states), **{name: list(s) for name, s in parents}}
    return TabularCPD(variable, len(states), values,
                      evidence=names or None, evidence_card=[len(s) for _, s in parents] or None,
                      state_names=state_names)


def distribution(numbers: Mapping[str, Number], states: Sequence[str]) -> np.ndarray:
    return np.array([numbers[state].value for state in states])


def noisy_or(leak: float, links: Mapping[str, Mapping[str, float]]) -> Column:
    """P(no), P(yes) of a binary child: each parent state sets it off independently.

    ``links[parent][state]`` is the chance that state alone sets the child off;
    a state without a link (a parent's first state) has no effect.
    """
    def column(config: Mapping[str, str]) -> np.ndarray:
        stays_off = 1.0 - leak
        for parent, state in config.items():
            stays_off *= 1.0 - links[parent].get(state, 0.0)
        return np.array([stays_off, 1.0 - stays_off])
    return column


def noisy_max(leak: np.ndarray, pushes: Mapping[str, np.ndarray], active_state: str) -> Column:
    """Ordered child: the highest of the states pushed by the leak and each active parent.

    P(child <= k) is the product of the cumulative distributions of the leak and
    of every parent in ``active_state``.
    """
    def column(config: Mapping[str, str]) -> np.ndarray:
        cumulative = np.cumsum(leak)
        for parent, state in config.items():
            if state == active_state:
                cumulative = cumulative * np.cumsum(pushes[parent])
        cumulative[-1] = 1.0
        return np.diff(cumulative, prepend=0.0)
    return column


def mixture(leak: np.ndarray, patterns: Mapping[str, np.ndarray], active_state: str) -> Column:
    """Unordered child: the pattern of the leak or of one active parent, each equally likely."""
    def column(config: Mapping[str, str]) -> np.ndarray:
        active = [patterns[parent] for parent, state in config.items() if state == active_state]
        return (leak + sum(active, np.zeros_like(leak))) / (1 + len(active))
    return column
