"""Bar charts as SVG for the PDF reports (drawn as vectors by WeasyPrint, no browser needed).

The web pages draw with plotly; a PDF needs a static image, and a small SVG writer keeps the
report fast and dependency-free.
"""

from __future__ import annotations

from collections.abc import Sequence
from xml.sax.saxutils import escape

from markupsafe import Markup

BAR = "#0d47a1"
TARGET = "#b71c1c"
GRID = "#cccccc"


def _pct(value: float) -> str:
    return f"{value * 100:.0f}%"


def bars_svg(
    items: Sequence[tuple[str, float, float | None]],
    *,
    title: str,
    horizontal: bool = False,
    width: int = 640,
    legend: tuple[str, str] = ("Tỷ lệ", "Mục tiêu"),
) -> Markup:
    """Bars of shares in [0, 1] (``label, share, target``), with a target mark per bar."""
    if not items:
        return Markup("")
    top = max([1.0] + [max(share, target or 0) for _, share, target in items])
    parts: list[str] = []
    if horizontal:
        row, left, right = 18, 170, 50
        height = 40 + row * len(items)
        span = width - left - right
        for index, (label, share, target) in enumerate(items):
            row_top = 30 + index * row
            length = span * min(share, top) / top
            parts.append(
                f'<text x="{left - 6}" y="{row_top + 12}" text-anchor="end" font-size="10">'
                f"{escape(label[:28])}</text>"
                f'<rect x="{left}" y="{row_top + 2}" width="{length:.1f}" height="{row - 5}" '
                f'fill="{BAR}"/><text x="{left + length + 4:.1f}" y="{row_top + 12}" '
                f'font-size="9">{_pct(share)}</text>'
            )
            if target:
                mark = left + span * target / top
                parts.append(
                    f'<line x1="{mark:.1f}" x2="{mark:.1f}" y1="{row_top}" '
                    f'y2="{row_top + row - 1}" stroke="{TARGET}" stroke-width="2"/>'
                )
    else:
        height, bottom, base_left = 260, 40, 50
        plot = height - 30 - bottom
        slot = (width - base_left - 10) / len(items)
        for tick in (0.0, 0.25, 0.5, 0.75, 1.0):
            y = 30 + plot * (1 - tick * 1.0 / top)
            parts.append(
                f'<line x1="{base_left}" x2="{width - 10}" y1="{y:.1f}" y2="{y:.1f}" '
                f'stroke="{GRID}"/><text x="{base_left - 4}" y="{y + 3:.1f}" '
                f'text-anchor="end" font-size="9">{_pct(tick)}</text>'
            )
        for index, (label, share, target) in enumerate(items):
            x = base_left + index * slot + slot * 0.2
            bar_height = plot * min(share, top) / top
            parts.append(
                f'<rect x="{x:.1f}" y="{30 + plot - bar_height:.1f}" width="{slot * 0.6:.1f}" '
                f'height="{bar_height:.1f}" fill="{BAR}"/>'
                f'<text x="{x + slot * 0.3:.1f}" y="{25 + plot - bar_height:.1f}" '
                f'text-anchor="middle" font-size="10">{_pct(share)}</text>'
                f'<text x="{x + slot * 0.3:.1f}" y="{height - bottom + 16}" '
                f'text-anchor="middle" font-size="10">{escape(label[:20])}</text>'
            )
            if target:
                y = 30 + plot * (1 - target / top)
                parts.append(
                    f'<line x1="{x - 4:.1f}" x2="{x + slot * 0.6 + 4:.1f}" y1="{y:.1f}" '
                    f'y2="{y:.1f}" stroke="{TARGET}" stroke-width="2.5"/>'
                )
    key = (
        f'<text x="10" y="16" font-size="12" font-weight="bold">{escape(title)}</text>'
        f'<rect x="{width - 170}" y="6" width="10" height="10" fill="{BAR}"/>'
        f'<text x="{width - 156}" y="15" font-size="9">{escape(legend[0])}</text>'
        f'<line x1="{width - 100}" x2="{width - 86}" y1="11" y2="11" stroke="{TARGET}" '
        f'stroke-width="2.5"/><text x="{width - 82}" y="15" font-size="9">'
        f"{escape(legend[1])}</text>"
    )
    svg = (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="100%" role="img" aria-label="{escape(title)}">{key}{"".join(parts)}</svg>'
    )
    return Markup(svg)  # noqa: S704 - built here from escaped labels and numbers
