"""Answers kept per case: a bounded LRU cache in front of a function of a validated case.

A case is a small dict ``{variable: state}``; validated by the model, it is in
vocabulary order, so its items are a canonical key. Each cache belongs to the
function it wraps, which answers from one model: the priors are part of the key
by construction. Cached answers are shared between requests, so callers never
change them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import lru_cache

from plotly.utils import PlotlyJSONEncoder

# Answers kept per cache in each worker process: a JSON API answer is 2-8 KB (8 with every
# question in "next"), so at most 35 MB.
CACHE_SIZE = 4096
# A page's answer is kept as the JSON text Dash sends (about 30 KB): its caches keep the cases a
# person goes back and forth between, the examples and shared links, not every case ever seen.
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


class PageEncoder(PlotlyJSONEncoder):
    """The encoder Dash sends components with, and sets as sorted lists (a page answer's open questions)."""

    def default(self, obj):
        return sorted(obj) if isinstance(obj, (set, frozenset)) else super().default(obj)


def per_case_page(function: Callable, maxsize: int = PAGE_CACHE_SIZE) -> Callable:
    """:func:`per_case` for a page's answers (components): each kept as one JSON string, and answered as
    plain dicts that Dash encodes without walking components again.

    A tree of components is a thousand objects: 256 kept trees made every full collection of the
    garbage collector walk a quarter of a million of them (over 100 ms, every request queued
    behind it waiting); a string is one object the collector never walks.

    Examples
    --------
    >>> from dash import html
    >>> page = per_case_page(lambda evidence: {"shown": html.P(evidence["a"]), "open": {"b", "a"}})
    >>> page({"a": "x"})
    {'shown': {'props': {'children': 'x'}, 'type': 'P', 'namespace': 'dash_html_components'}, 'open': ['a', 'b']}
    """
    kept = per_case(lambda evidence: json.dumps(function(evidence), cls=PageEncoder, separators=(",", ":")), maxsize)

    def answer(evidence: dict):
        return json.loads(kept(evidence))

    answer.cache_info = kept.cache_info
    return answer
