"""Answers kept per case: a bounded LRU cache in front of a function of a validated case.

A case is a small dict ``{variable: state}``; validated by the model, it is in
vocabulary order, so its items are a canonical key. Each cache belongs to the
function it wraps, which answers from one model: the priors are part of the key
by construction. Cached answers are shared between requests, so callers never
change them.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

# Answers kept per cache in each worker process: a JSON API answer is 2-8 KB (8 with every
# question in "next"), so at most 35 MB.
CACHE_SIZE = 4096
# A page's answer is a tree of Dash components, about 110 KB in memory (a worker grew 108 MB per
# 1,000 unique cases): its caches keep the cases a person goes back and forth between, the examples
# and shared links, not every case ever seen (about 30 MB each).
PAGE_CACHE_SIZE = 256


def per_case(function: Callable, maxsize: int = CACHE_SIZE) -> Callable:
    """``function(evidence, *rest)`` cached per ``(evidence, *rest)``; ``evidence`` must be validated
    (every valid case has one order) and ``rest`` hashable.

    Examples
    --------
    >>> calls = []
    >>> double = per_case(lambda evidence, n: calls.append(n) or {k: v * n for k, v in evidence.items()})
    >>> double({"a": "x"}, 2), double({"a": "x"}, 2), len(calls)
    ({'a': 'xx'}, {'a': 'xx'}, 1)
    """
    cached = lru_cache(maxsize=maxsize)(lambda items, *rest: function(dict(items), *rest))

    def answer(evidence: dict, *rest):
        return cached(tuple(evidence.items()), *rest)

    answer.cache_info = cached.cache_info
    return answer
