"""Charts on pages: a plotly figure becomes a placeholder that ``/static/charts.js`` draws.

The page carries the figure as JSON in a ``data-figure`` attribute and no script of its own; the
shared layout's ``charts.js`` loads plotly.js and then draws, so the drawing can never run before
plotly exists (the bug of inline ``Plotly.newPlot`` calls), and pages need no ``'unsafe-inline'``
in their Content-Security-Policy. A figure without any non-zero value shows "No data yet".
"""

from __future__ import annotations

import json
from typing import Any

from markupsafe import Markup

from safezone.web import i18n


def has_data(figure: Any) -> bool:
    """Whether any trace of ``figure`` holds a non-zero value (bar and line charts: ``y``;
    maps such as choropleths: ``z``)."""
    for trace in figure.data:
        values = next(
            (v for v in (getattr(trace, "y", None), getattr(trace, "z", None)) if v is not None),
            (),
        )
        if any(value for value in values):
            return True
    return False


#: Plotly's map traces fetch a world base map from its CDN; an empty local one stands in (our
#: maps draw only the units' own boundaries).
MAP_CONFIG = {"topojsonURL": "/static/topojson/"}


def chart(figure: Any, *, chart_id: str, config: dict[str, Any] | None = None) -> Markup:
    """The HTML for ``figure``: a placeholder with the figure's JSON, or a "no data" notice.

    ``chart_id`` becomes the element id (tests and styles find the chart by it); ``config``
    goes to ``Plotly.newPlot`` (``MAP_CONFIG`` for maps).
    """
    if not has_data(figure):
        return Markup('<p class="chart-empty" id="{}" data-testid="chart-empty">{}</p>').format(
            chart_id, i18n.gettext("No data yet: the chart appears once there are numbers to show.")
        )
    # The legend goes above the plot, in a row: on a 360 px phone a legend at the side leaves
    # the bars a third of the width.
    figure.update_layout(
        legend={"orientation": "h", "x": 0, "y": 1.06, "xanchor": "left", "yanchor": "bottom"},
        margin={"t": 90},
    )
    # autoescape of the attribute value keeps the JSON inert (no "</script>" tricks possible).
    return Markup('<div class="chart" id="{}" data-figure="{}" data-failed="{}"></div>').format(
        chart_id,
        figure.to_json() if not config else _with_config(figure.to_json(), config),
        i18n.gettext("The chart could not be drawn; the table below has the same numbers."),
    )


def _with_config(figure_json: str, config: dict[str, Any]) -> str:
    data = json.loads(figure_json)
    data["config"] = config
    return json.dumps(data)
