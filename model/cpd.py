"""The one place that turns priors into conditional probability tables.

A table has axes ``(child state, parent 1 state, parent 2 state, ...)``.
pgmpy lays a CPD out as one column per joint parent state, the first parent
varying slowest: that is this table reshaped in C order, and
:func:`tabular_cpd` is the only code that does it.

Each combination rule is a callable giving the child's distribution for one
parent configuration (the definition, easy to check by hand) and has a
``table`` method computing every column at once with numpy broadcasting.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from twitchcause.priors import Number

Parents = Sequence[tuple[str, Sequence[str]]]


def distribution(numbers: Mapping[str, Number], states: Sequence[str]) -> np.ndarray:
    return np.array([numbers[state].value for state in states])


def _along(vector: np.ndarray, axis: int, n_axes: int) -> np.ndarray:
    """``vector`` shaped to broadcast along ``axis`` of ``n_axes`` parent axes."""
    shape = [1] * n_axes
    shape[axis] = len(vector)
    return vector.reshape(shape)


class noisy_or:
    """P(no), P(yes) of a binary child: each parent state sets it off independently.

    ``links[parent][state]`` is the chance that state alone sets the child off;
    a state without a link (a parent's first state) has no effect; ``leak`` is
    the chance it is on with no parent pushing.
    """

    def __init__(self, leak: float, links: Mapping[str, Mapping[str, float]]):
        self.leak = leak
        self.links = links

    def __call__(self, config: Mapping[str, str]) -> np.ndarray:
        stays_off = 1.0 - self.leak
        for parent, state in config.items():
            stays_off *= 1.0 - self.links[parent].get(state, 0.0)
        return np.array([stays_off, 1.0 - stays_off])

    def table(self, parents: Parents) -> np.ndarray:
        stays_off = np.full([len(s) for _, s in parents], 1.0 - self.leak)
        for axis, (name, states) in enumerate(parents):
            link = np.array([self.links[name].get(state, 0.0) for state in states])
            stays_off = stays_off * _along(1.0 - link, axis, len(parents))
        return np.stack([stays_off, 1.0 - stays_off])


class noisy_max:
    """Ordered child: the highest of the states pushed by the leak and each active parent.

    P(child <= k) is the product of the cumulative distributions of the leak and
    of every parent in ``active_state``.
    """

    def __init__(self, leak: np.ndarray, pushes: Mapping[str, np.ndarray], active_state: str):
        self.leak = np.asarray(leak, dtype=float)
        self.pushes = pushes
        self.active_state = active_state

    def __call__(self, config: Mapping[str, str]) -> np.ndarray:
        cumulative = np.cumsum(self.leak)
        for parent, state in config.items():
            if state == self.active_state:
                cumulative = cumulative * np.cumsum(self.pushes[parent])
        cumulative[-1] = 1.0
        return np.diff(cumulative, prepend=0.0)

    def table(self, parents: Parents) -> np.ndarray:
        n = len(parents)
        cumulative = np.broadcast_to(np.cumsum(self.leak), [len(s) for _, s in parents] + [len(self.leak)]).copy()
        for axis, (name, states) in enumerate(parents):
            active = np.array([state == self.active_state for state in states])
            factor = np.where(active[:, None], np.cumsum(self.pushes[name])[None, :], 1.0)
            shape = [1] * n + [len(self.leak)]
            shape[axis] = len(states)
            cumulative = cumulative * factor.reshape(shape)
        cumulative[..., -1] = 1.0
        return np.moveaxis(np.diff(cumulative, axis=-1, prepend=0.0), -1, 0)


class product:
    """Unordered child: the leak's pattern reweighted by each active parent's ratio to the leak.

    ``P(child | active parents) ∝ leak × Π (pattern_c / leak)`` over the active
    parents: one active parent gives exactly its own pattern, none gives the
    leak, and several pool their evidence (a log-linear pool). A state an
    active parent makes likelier than the leak is never made less likely by it,
    whichever other parents are active, when it is that parent's most favoured
    state; so a cause's own row sets the direction of its evidence.
    """

    def __init__(self, leak: np.ndarray, patterns: Mapping[str, np.ndarray], active_state: str):
        self.leak = np.asarray(leak, dtype=float)
        self.patterns = patterns
        self.active_state = active_state

    def __call__(self, config: Mapping[str, str]) -> np.ndarray:
        weights = self.leak.copy()
        for parent, state in config.items():
            if state == self.active_state:
                weights = weights * self.patterns[parent] / self.leak
        return weights / weights.sum()

    def table(self, parents: Parents) -> np.ndarray:
        n = len(parents)
        weights = np.broadcast_to(self.leak, [len(s) for _, s in parents] + [len(self.leak)]).copy()
        for axis, (name, states) in enumerate(parents):
            active = np.array([state == self.active_state for state in states])
            ratio = np.where(active[:, None], (self.patterns[name] / self.leak)[None, :], 1.0)
            shape = [1] * n + [len(self.leak)]
            shape[axis] = len(states)
            weights = weights * ratio.reshape(shape)
        return np.moveaxis(weights / weights.sum(axis=-1, keepdims=True), -1, 0)


class fixed:
    """A root node's distribution (no parents)."""

    def __init__(self, probabilities: np.ndarray):
        self.probabilities = np.asarray(probabilities, dtype=float)

    def __call__(self, config: Mapping[str, str]) -> np.ndarray:
        return self.probabilities

    def table(self, parents: Parents) -> np.ndarray:
        return self.probabilities.copy()


def tabular_cpd(variable: str, states: Sequence[str], parents: Parents, table):
    """A pgmpy TabularCPD of ``variable`` from its table (axes: variable, *parents) or a combination rule."""
    from pgmpy.factors.discrete import TabularCPD

    table = table if isinstance(table, np.ndarray) else table.table(parents)
    names = [name for name, _ in parents]
    values = table.reshape(len(states), -1)
    state_names = {variable: list(states), **{name: list(s) for name, s in parents}}
    return TabularCPD(
        variable,
        len(states),
        values,
        evidence=names or None,
        evidence_card=[len(s) for _, s in parents] or None,
        state_names=state_names,
    )
