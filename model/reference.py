"""pgmpy's VariableElimination: the reference every fast path is tested against."""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence

from pgmpy.inference import VariableElimination
from pgmpy.models import DiscreteBayesianNetwork

from .errors import ImpossibleEvidenceError, impossible_message
from .network import PRESENT


class ReferenceInference:
    """Posterior of each cause by exact variable elimination in pgmpy."""

    def __init__(self, network: DiscreteBayesianNetwork, causes: Sequence[str]):
        self.network = network
        self.causes = list(causes)
        self._ve = VariableElimination(network)
        self._has_zeros = any((cpd.values == 0).any() for cpd in network.get_cpds())

    def posterior(self, evidence: Mapping[str, str]) -> dict[str, float]:
        """``{cause: P(cause present | evidence)}``; raises on impossible evidence."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # 0/0 on impossible evidence, checked below
            factors = self._ve.query(self.causes, evidence=dict(evidence), joint=False, show_progress=False)
        posterior = {cause: float(factors[cause].get_value(**{cause: PRESENT})) for cause in self.causes}
        if not all(math.isfinite(p) for p in posterior.values()) or not self._possible(evidence):
            raise ImpossibleEvidenceError(impossible_message(evidence))
        return posterior

    def _possible(self, evidence: Mapping[str, str]) -> bool:
        """P(evidence) > 0, by the chain rule; only needed when some CPD holds a zero.

        pgmpy prunes observed nodes it does not need, so a zero on an observed
        root never reaches the normalisation and no NaN shows it.
        """
        if not self._has_zeros:
            return True
        given: dict[str, str] = {}
        for name, state in evidence.items():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                factor = (
                    self._ve.query([name], evidence=given, show_progress=False)
                    if given
                    else self._ve.query([name], show_progress=False)
                )
            probability = factor.get_value(**{name: state})
            if not probability > 0:
                return False
            given[name] = state
        return True
