"""Plotly figures as plain dicts (quick to build and to send; no validation pass).

The figures only draw numbers the model returned; they compute none.
"""

from __future__ import annotations

from .labels import percent, readable, state_label

POSTERIOR_COLOUR = "#0d6efd"
PRIOR_COLOUR = "#212529"
SUPPORT_COLOUR = "#198754"
CONFLICT_COLOUR = "#dc3545"
NEUTRAL_COLOUR = "#adb5bd"
DIRECTION_LOOK = {
    "supports": (SUPPORT_COLOUR, "supports"),
    "conflicts": (CONFLICT_COLOUR, "speaks against"),
    "neutral": (NEUTRAL_COLOUR, "makes no difference"),
}
ROW_HEIGHT_PX = 34
CHART_MARGIN_PX = 70
# Room right of a full bar for its percentage label.
PROBABILITY_AXIS_END = 1.15
# The explanation axis is symmetric around "no effect" and never narrower than this (log-odds).
EXPLANATION_MIN_REACH = 0.5
EXPLANATION_PADDING = 1.1
FONT = {"family": "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif", "size": 13}


def causes_figure(result, descriptions: dict[str, str]) -> dict:
    """Horizontal bars of every cause's posterior, most probable on top, prior as a tick.

    Parameters
    ----------
    result : model.Result
    descriptions : dict
        ``{cause: plain-language description}``, from ``Model.schema()``.
    """
    causes = result.ranking
    names = [readable(c) for c in causes]
    posterior = [result.posterior[c] for c in causes]
    prior = [result.prior[c] for c in causes]
    hover = [[descriptions[c], percent(result.prior[c])] for c in causes]
    bars = {
        "type": "bar",
        "orientation": "h",
        "name": "with your answers",
        "x": posterior,
        "y": names,
        "text": [percent(p) for p in posterior],
        "textposition": "outside",
        "cliponaxis": False,
        "customdata": hover,
        "marker": {"color": POSTERIOR_COLOUR},
        "hovertemplate": "<b>%{y}</b>: %{text}<br>%{customdata[0]}<br>"
        "before any answer: %{customdata[1]}<extra></extra>",
    }
    ticks = {
        "type": "scatter",
        "mode": "markers",
        "name": "before any answer",
        "x": prior,
        "y": names,
        "customdata": hover,
        "marker": {"symbol": "line-ns", "size": ROW_HEIGHT_PX * 0.7, "line": {"width": 3, "color": PRIOR_COLOUR}},
        "hovertemplate": "<b>%{y}</b> before any answer: %{customdata[1]}<extra></extra>",
    }
    return {
        "data": [bars, ticks],
        "layout": {
            "height": ROW_HEIGHT_PX * len(causes) + CHART_MARGIN_PX,
            "margin": {"l": 8, "r": 8, "t": 8, "b": 40},
            "xaxis": {
                "range": [0, PROBABILITY_AXIS_END],
                "tickformat": ".0%",
                "fixedrange": True,
                "tickvals": [0, 0.25, 0.5, 0.75, 1],
                "gridcolor": "#e9ecef",
                "zeroline": False,
            },
            "yaxis": {"autorange": "reversed", "automargin": True, "fixedrange": True},
            "bargap": 0.35,
            "legend": {"orientation": "h", "x": 0, "y": -0.06, "yanchor": "top"},
            "plot_bgcolor": "white",
            "paper_bgcolor": "white",
            "font": FONT,
            "hoverlabel": {"align": "left"},
        },
    }


def explanation_figure(contributions, variables) -> dict:
    """Bars of each answer's pull on one cause: right supports it, left speaks against it.

    Parameters
    ----------
    contributions : list of model Contribution
        ``variable``, ``state``, ``question``, ``contribution`` (signed change in
        the cause's log-odds) and ``direction``, as ``Model.explain`` returns them.
    variables : dict
        ``Model.variables``, for the state labels.
    """
    items = list(contributions)
    # Short labels keep the bars wide on a phone; the question and full answer are in the hover.
    labels = [f"{readable(c.variable)}: {readable(c.state)}" for c in items]
    values = [c.contribution for c in items]
    reach = max([abs(v) for v in values] + [EXPLANATION_MIN_REACH]) * EXPLANATION_PADDING
    bars = {
        "type": "bar",
        "orientation": "h",
        "x": values,
        "y": labels,
        "marker": {"color": [DIRECTION_LOOK[c.direction][0] for c in items]},
        "customdata": [
            [c.question, state_label(variables[c.variable], c.state), DIRECTION_LOOK[c.direction][1]] for c in items
        ],
        "hovertemplate": "<b>%{customdata[0]}</b><br>%{customdata[1]}<br>%{customdata[2]} "
        "(log-odds %{x:+.2f})<extra></extra>",
    }
    return {
        "data": [bars],
        "layout": {
            "height": ROW_HEIGHT_PX * max(len(items), 1) + CHART_MARGIN_PX,
            "margin": {"l": 8, "r": 8, "t": 8, "b": 40},
            "xaxis": {
                "title": {"text": "\u2190 against \u00b7 for \u2192"},
                "showticklabels": False,
                "range": [-reach, reach],
                "zeroline": True,
                "zerolinecolor": PRIOR_COLOUR,
                "zerolinewidth": 2,
                "fixedrange": True,
                "showgrid": False,
            },
            "yaxis": {"autorange": "reversed", "automargin": True, "fixedrange": True},
            "showlegend": False,
            "plot_bgcolor": "white",
            "paper_bgcolor": "white",
            "font": FONT,
            "hoverlabel": {"align": "left"},
        },
    }
