"""Learning the numbers of ``priors/`` from cases, with their uncertainty.

The priors are parametrised: a noisy-OR per cause, a noisy-MAX or a product
per finding (:mod:`model.cpd`), not full tables. Learning goes the other way
round in two steps:

1. :func:`learn_tables` learns every node's full table from fully observed
   cases with pgmpy's ``DiscreteBayesianEstimator``, the document priors as
   Dirichlet pseudo-counts (``ess`` x the document table, column by column),
   and keeps each column's Dirichlet posterior;
2. :func:`read_numbers` reads the parametrised numbers back off a table: the
   inverse of the node's combination rule, which uses only the columns that
   identify the numbers (no parent at work, one parent at work).

:func:`learned_numbers` and :func:`learned_intervals` do both for every node
and name the results as ``priors/`` names its entries; the intervals come from
draws of the tables' Dirichlet posteriors, each read back the same way.

Each combination rule has one inverse here, registered under the rule's
class name with :func:`inverse_of`; a new rule in :mod:`model.cpd` needs its
own (the tests check that every rule there has one and round-trips exactly).

Examples
--------
>>> from twitchcause.model import cpd
>>> rule = cpd.noisy_or(0.1, {"caffeine_intake": {"high": 0.6}})
>>> parents = [("caffeine_intake", ("none", "moderate", "high"))]
>>> read = read_numbers(rule, rule.table(parents), parents, ("no", "yes"))
>>> round(read.leak, 12), round(read.by_parent["caffeine_intake"]["high"], 12)
(0.1, 0.6)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from twitchcause.priors import EntryName, Priors, iter_entries

from .network import combination_rules, node_tables, states_of

Parents = Sequence[tuple[str, Sequence[str]]]


@dataclass(frozen=True)
class Numbers:
    """A node's parametrised numbers, as a combination rule takes them.

    ``leak`` is the child's behaviour with no parent at work: a float for a
    noisy-OR (P(yes)), ``{state: p}`` for a distribution (a root node's whole
    distribution). ``by_parent`` is ``{parent: {state: value}}``: a noisy-OR's
    link for each parent state, or a finding's distribution for each cause.
    """

    leak: float | dict[str, float]
    by_parent: dict[str, dict[str, float]]


Inverse = Callable[[object, np.ndarray, Parents, Sequence[str], float], Numbers]
INVERSES: dict[str, Inverse] = {}


def inverse_of(rule_name: str) -> Callable[[Inverse], Inverse]:
    """Register the function that reads the numbers of :mod:`model.cpd`'s rule ``rule_name`` back off a table.

    The function gets ``(rule, tables, parents, states, floor)``, where
    ``tables`` carries a last axis of many tables at once (axes: child state,
    *parents, table), and returns :class:`Numbers` whose values are arrays
    along that axis.
    """

    def register(function: Inverse) -> Inverse:
        INVERSES[rule_name] = function
        return function

    return register


def read_numbers(rule, table: np.ndarray, parents: Parents, states: Sequence[str], floor: float = 0.0) -> Numbers:
    """The numbers of a rule of ``rule``'s kind that would give ``table``.

    Parameters
    ----------
    rule : a combination rule of :mod:`model.cpd`
        The template: its kind and structure (which parent states push) are
        kept; its numbers are not used.
    table : numpy.ndarray
        A full table, axes ``(child state, *parents)``, e.g. a learned one.
    parents : sequence of (name, states)
        The parents in the table's axis order.
    states : sequence of str
        The child's states, in the table's first axis order.
    floor : float
        The smallest probability a read number may take. Estimation noise can
        push a ratio or a difference outside a probability; such values are
        clipped to ``[floor, 1 - floor]`` (a distribution: negative states set
        to 0, then mixed with ``floor`` in every state). With ``floor=0`` an
        exact table is read back exactly.

    Returns
    -------
    Numbers

    Raises
    ------
    TypeError
        For a rule kind with no registered inverse.
    """
    numbers = _read_many(rule, np.asarray(table, dtype=float)[..., None], parents, states, floor)
    as_float = lambda d: {k: float(v[0]) for k, v in d.items()}
    leak = float(numbers.leak[0]) if isinstance(numbers.leak, np.ndarray) else as_float(numbers.leak)
    return Numbers(leak, {p: as_float(d) for p, d in numbers.by_parent.items()})


def _read_many(rule, tables: np.ndarray, parents: Parents, states: Sequence[str], floor: float) -> Numbers:
    inverse = INVERSES.get(type(rule).__name__)
    if inverse is None:
        raise TypeError(f"no inverse registered for combination rule {type(rule).__name__}")
    return inverse(rule, tables, parents, list(states), floor)


def _distribution(values: np.ndarray, floor: float) -> np.ndarray:
    """``values`` (states first) made distributions whose every state holds at least ``floor``.

    Unchanged if they are distributions already and ``floor`` is 0.
    """
    values = np.clip(values, 0.0, None)
    return floor + (1.0 - floor * len(values)) * values / values.sum(axis=0)


def _column(tables: np.ndarray, base: Sequence[int], parent: int | None = None, state: int = 0) -> np.ndarray:
    """The child's distribution with every parent in its ``base`` state, or only ``parent`` moved to ``state``."""
    index = list(base)
    if parent is not None:
        index[parent] = state
    return tables[(slice(None), *index)]


def _resting(parents: Parents, pushes: Callable[[str, str], bool]) -> list[int]:
    """For each parent, the index of its first state that pushes nothing (the column where no parent is at work)."""
    base = []
    for name, states in parents:
        resting = [i for i, state in enumerate(states) if not pushes(name, state)]
        if not resting:
            raise ValueError(f"parent '{name}' has no state without an effect: the leak cannot be read off the table")
        base.append(resting[0])
    return base


@inverse_of("fixed")
def _read_fixed(rule, tables, parents, states, floor) -> Numbers:
    return Numbers(dict(zip(states, _distribution(tables, floor))), {})


@inverse_of("noisy_or")
def _read_noisy_or(rule, tables, parents, states, floor) -> Numbers:
    # P(no | only parent p in s) = (1 - leak) (1 - link_p,s)
    base = _resting(parents, lambda name, state: state in rule.links.get(name, {}))
    leak = np.clip(_column(tables, base)[1], floor, 1.0 - floor)
    by_parent = {}
    for k, (name, parent_states) in enumerate(parents):
        links = {}
        for s, state in enumerate(parent_states):
            if state in rule.links.get(name, {}):
                stays_off = _column(tables, base, k, s)[0] / (1.0 - leak)
                links[state] = np.clip(1.0 - stays_off, floor, 1.0 - floor)
        by_parent[name] = links
    return Numbers(leak, by_parent)


def _read_by_active_cause(rule, tables, parents, states, floor, read_one) -> Numbers:
    """Leak from the column with no cause active; each cause's numbers from the column where only it is."""
    base = _resting(parents, lambda name, state: state == rule.active_state)
    leak = _distribution(_column(tables, base), floor)
    by_parent = {}
    for k, (name, parent_states) in enumerate(parents):
        column = _column(tables, base, k, list(parent_states).index(rule.active_state))
        by_parent[name] = dict(zip(states, read_one(column, leak)))
    return Numbers(dict(zip(states, leak)), by_parent)


def _nondecreasing(values: np.ndarray) -> np.ndarray:
    """The least-squares nondecreasing fit along axis 0 (pool adjacent violators), for each column.

    Averaging a violating pair, rather than raising the lower value to the
    higher, keeps a noisy cumulative distribution's error from turning into a
    one-sided shift of the states it bounds.
    """
    out = values.copy()
    for j in np.flatnonzero((np.diff(values, axis=0) < 0).any(axis=0)):
        blocks: list[list[float]] = []  # [mean, count] of pooled runs
        for v in values[:, j]:
            blocks.append([v, 1])
            while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
                (v2, c2), (v1, c1) = blocks.pop(), blocks.pop()
                blocks.append([(v1 * c1 + v2 * c2) / (c1 + c2), c1 + c2])
        out[:, j] = np.repeat([b[0] for b in blocks], [b[1] for b in blocks])
    return out


@inverse_of("noisy_max")
def _read_noisy_max(rule, tables, parents, states, floor) -> Numbers:
    # P(child <= k | only c active) = F_leak(k) F_c(k), so F_c is a ratio of cumulative distributions
    def one(column, leak):
        cumulative = np.clip(np.cumsum(column, axis=0) / np.cumsum(leak, axis=0), 0.0, 1.0)
        cumulative[-1] = 1.0
        return _distribution(np.diff(_nondecreasing(cumulative), axis=0, prepend=0.0), floor)

    return _read_by_active_cause(rule, tables, parents, states, floor, one)


@inverse_of("product")
def _read_product(rule, tables, parents, states, floor) -> Numbers:
    # only c active: leak x pattern_c / leak, normalised, is pattern_c itself
    return _read_by_active_cause(
        rule, tables, parents, states, floor, lambda column, leak: _distribution(column, floor)
    )


# -- every node of a priors folder ------------------------------------------------
def entry_values(priors: Priors, node: str, numbers: Numbers) -> dict[EntryName, float]:
    """``{name: value}`` of one node's numbers, named as ``priors/`` names its entries."""
    if node in priors.context:
        return {EntryName("context", (node, state)): p for state, p in numbers.leak.items()}
    if node in priors.causes:
        values = {EntryName("causes", (node, "leak")): numbers.leak}
        for parent, links in numbers.by_parent.items():
            values.update({EntryName("causes", (node, parent, state)): v for state, v in links.items()})
        return values
    values = {}
    for owner, distribution in [("leak", numbers.leak), *numbers.by_parent.items()]:
        values.update({EntryName("findings", (node, owner, state)): p for state, p in distribution.items()})
    return values


def learned_numbers(priors: Priors, tables: Mapping[str, np.ndarray], floor: float = 0.0) -> dict[EntryName, float]:
    """Every number written in ``priors/``, read off full tables (axes: node, *parents in the model's order).

    ``rest`` states stay ``rest`` (they are left out) and escalation thresholds,
    which are decisions rather than probabilities of the network, are not read.
    """
    many = _read_all(priors, {node: np.asarray(t, dtype=float)[..., None] for node, t in tables.items()}, floor)
    return {k: float(v[0]) for k, v in many.items()}


def _read_all(priors: Priors, tables: Mapping[str, np.ndarray], floor: float) -> dict[EntryName, np.ndarray]:
    """:func:`learned_numbers` of many sets of tables at once (each table with a last axis over the sets)."""
    written = {name for name, _ in iter_entries(priors) if name.file != "escalation"}
    values = {}
    for node, (states, parent_names, rule) in combination_rules(priors).items():
        parents = [(p, states_of(priors, p)) for p in parent_names]
        values.update(entry_values(priors, node, _read_many(rule, tables[node], parents, states, floor)))
    return {k: v for k, v in values.items() if k in written}


# -- learning the tables -------------------------------------------------------------
@dataclass(frozen=True)
class Learned:
    """Every node's learned table and its Dirichlet posterior (axes: node, *parents in the model's order).

    ``concentration`` holds each column's posterior Dirichlet parameters
    (document pseudo-counts plus counted cases); ``tables`` the posterior
    means, as ``DiscreteBayesianEstimator`` gives them.
    """

    tables: dict[str, np.ndarray]
    concentration: dict[str, np.ndarray]
    cases: int
    ess: float

    def draws(self, n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """``n`` tables per node drawn from the posterior (each column its own Dirichlet), along a last axis."""
        out = {}
        for node, alpha in self.concentration.items():
            gamma = rng.standard_gamma(np.repeat(alpha[..., None], n, axis=-1))
            out[node] = gamma / gamma.sum(axis=0)
        return out


def _relaid(values: np.ndarray, from_parents: Sequence[str], to_parents: Sequence[str], cards) -> np.ndarray:
    """A table (node x columns, ``from_parents`` varying first slowest) as an array with axes (node, *to_parents)."""
    shaped = np.reshape(values, [np.shape(values)[0], *(cards[p] for p in from_parents)])
    return np.transpose(shaped, [0, *(1 + list(from_parents).index(p) for p in to_parents)])


def _check_cases(cases: pd.DataFrame, states: Mapping[str, Sequence[str]]) -> None:
    missing = [node for node in states if node not in cases.columns]
    if missing:
        raise ValueError(f"cases lack the column(s) {', '.join(missing)}: every node must be observed")
    for node, allowed in states.items():
        unknown = sorted({str(s) for s in cases[node].unique()} - set(allowed))
        if unknown:
            raise ValueError(
                f"cases: column '{node}' has state(s) {', '.join(unknown)}; expected one of {', '.join(allowed)}"
            )


def learn_tables(priors: Priors, cases: pd.DataFrame, ess: float) -> Learned:
    """Learn every node's table from fully observed cases, the document priors as Dirichlet pseudo-counts.

    Parameters
    ----------
    priors : Priors
        The document priors: each column's pseudo-counts are ``ess`` times the
        document table's column.
    cases : pandas.DataFrame
        One column per node (every exposure, cause and finding), the
        vocabulary's states (``no``/``yes`` for causes).
    ess : float
        Equivalent sample size: how many cases' worth of weight each column
        of a table gets from the documents.

    Returns
    -------
    Learned

    Raises
    ------
    ValueError
        For a node missing from ``cases``, a state outside the node's states, or
        an ``ess`` that is not positive (a column without cases would have no
        distribution).
    """
    from pgmpy.models import DiscreteBayesianNetwork
    from pgmpy.parameter_estimator import DiscreteBayesianEstimator

    if not ess > 0:
        raise ValueError(f"ess must be a positive number of cases' worth, got {ess}")
    tables = node_tables(priors)
    _check_cases(cases, {node: t.states for node, t in tables.items()})
    cards = {node: len(t.states) for node, t in tables.items()}
    order = {node: [p for p, _ in t.parents] for node, t in tables.items()}
    pgmpy_order = {node: sorted(ps) for node, ps in order.items()}  # pgmpy sorts a table's parents by name
    pseudo = {  # the document tables laid out as pgmpy lays out what it learns
        node: ess * _relaid(t.values, order[node], pgmpy_order[node], cards).reshape(cards[node], -1)
        for node, t in tables.items()
    }
    network = DiscreteBayesianNetwork([(p, node) for node, ps in order.items() for p in ps])
    network.add_nodes_from(tables)
    estimator = DiscreteBayesianEstimator(
        state_names={node: list(t.states) for node, t in tables.items()},
        prior_type="dirichlet",
        pseudo_counts=pseudo,
    ).fit(network, cases[list(tables)])
    codes = {node: pd.Categorical(cases[node], categories=t.states).codes for node, t in tables.items()}
    means, concentration = {}, {}
    for fitted in estimator.parameters_:
        node = fitted.variable
        means[node] = _relaid(fitted.get_values(), fitted.variables[1:], order[node], cards)
        shape = [cards[p] for p in order[node]]
        column = np.ravel_multi_index([codes[p] for p in order[node]], shape) if shape else np.zeros(len(cases), int)
        cases_in_column = np.bincount(column, minlength=int(np.prod(shape))).reshape(shape)
        # a column's posterior is Dirichlet(counts + pseudo-counts); its mean times its total gives them back
        concentration[node] = means[node] * (cases_in_column + ess)
    return Learned(means, concentration, len(cases), ess)


def learned_intervals(
    priors: Priors, learned: Learned, level: float = 0.9, draws: int = 200, seed: int = 0, floor: float = 1e-4
) -> pd.DataFrame:
    """Posterior interval of every learned number: tables drawn from their Dirichlet posteriors, each read back.

    Returns
    -------
    pandas.DataFrame
        Indexed by entry name (``number``): ``learned`` (read off the posterior-mean
        tables), ``low`` and ``high`` (the central ``level`` interval of the
        numbers read off the drawn tables).
    """
    drawn = _read_all(priors, learned.draws(draws, np.random.default_rng(seed)), floor)
    tail = (1 - level) / 2
    out = pd.DataFrame(
        {
            "learned": pd.Series(learned_numbers(priors, learned.tables, floor)),
            "low": pd.Series({k: float(np.quantile(v, tail)) for k, v in drawn.items()}),
            "high": pd.Series({k: float(np.quantile(v, 1 - tail)) for k, v in drawn.items()}),
        }
    )
    out.index.name = "number"
    return out
