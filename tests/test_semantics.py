"""Each answer moves each cause the way that cause's own row says, and silence moves nothing.

For every finding, state and cause: answering that state alone (all else
unknown) raises the cause's posterior exactly when the cause alone makes the
state more likely than no cause does, lowers it when less likely, and leaves
it where it was when the documents tie the cause to the finding not at all.
"""

from __future__ import annotations

import numpy as np
import pytest

from twitchcause import model
from twitchcause.model.network import PRESENT, node_tables

TOLERANCE = 1e-9


def _alone_and_none(table, cause):
    """P(finding | only ``cause`` active) and P(finding | no cause active), over the finding's states."""
    names = [name for name, _ in table.parents]
    index_none = tuple(0 for _ in names)
    values_none = table.values[(slice(None), *index_none)]
    if cause not in names:
        return values_none, values_none
    alone = tuple(states.index(PRESENT) if name == cause else 0 for name, states in table.parents)
    return table.values[(slice(None), *alone)], values_none


def _cases():
    m = model.load()
    for finding in m.priors.findings:
        for s, state in enumerate(m.variables[finding].states):
            for cause in m.causes:
                yield finding, s, state, cause


@pytest.fixture(scope="module")
def tables(loaded_model):
    return node_tables(loaded_model.priors)


@pytest.mark.parametrize("finding,s,state,cause", list(_cases()), ids=lambda v: str(v))
def test_an_answer_moves_a_cause_the_way_its_own_row_says(loaded_model, tables, finding, s, state, cause):
    alone, none = _alone_and_none(tables[finding], cause)
    parents = [name for name, _ in tables[finding].parents]
    if cause not in parents:
        # Silence: the table gives likelihood ratio 1. The posterior may still move a little, only
        # through causes that share an exposure with a parent (strenuous exercise feeds overexertion
        # and, through sweating, dehydration), which is the network's own correlation, not evidence.
        assert np.array_equal(alone, none)
        return
    expected = np.sign(alone[s] - none[s]) if abs(alone[s] - none[s]) > TOLERANCE else 0.0
    moved = loaded_model.posterior({finding: state})[cause] - loaded_model.prior[cause]
    if expected == 0.0:
        return
    assert np.sign(moved) == expected, (
        f"{finding}={state} moves {cause} by {moved:+.4f}, but its row gives "
        f"P({state} | {cause} alone) = {alone[s]:.3f} against {none[s]:.3f} with no cause"
    )


LIFESTYLE_ABSENT = {
    "caffeine_intake": "none",
    "fluid_intake": "adequate",
    "heavy_sweating": "no",
    "diet_quality": "balanced",
    "stress_level": "low",
    "sleep": "adequate",
    "recent_exercise": "none",
    "prolonged_standing": "no",
    "tight_footwear_or_position": "no",
    "medication_type": "none",
}
KNOWN = [
    ({"diabetes": "yes"}, "neuropathy"),
    ({"back_problem": "yes"}, "neuropathy"),
    ({"thyroid_disorder": "yes"}, "underlying_condition"),
    ({"diet_quality": "poor"}, "nutrient_deficiency"),
]


@pytest.mark.parametrize(("condition", "cause"), KNOWN, ids=lambda v: str(v))
def test_a_known_trigger_leads_unless_a_finding_points_elsewhere(loaded_model, tables, condition, cause):
    """With every other trigger answered absent, the cause of the one trigger present stays ahead of each
    other cause, for any one finding answered, unless that answer is evidence for the other cause."""
    for finding in loaded_model.priors.findings:
        for s, state in enumerate(loaded_model.variables[finding].states):
            posterior = loaded_model.posterior({**LIFESTYLE_ABSENT, **condition, finding: state})
            for other in loaded_model.causes:
                if other == cause:
                    continue
                alone, none = _alone_and_none(tables[finding], other)
                if alone[s] > none[s]:
                    continue  # the answer counts for the other cause: it may overtake
                assert posterior[cause] > posterior[other], (condition, finding, state, other)
