"""The PDF engine: HTML + CSS templates printed by WeasyPrint with an embedded Debian font.

Why WeasyPrint (docs/campaign-materials.md): the templates are the same Jinja2 + CSS the web
pages use, pango shapes Vietnamese (stacked diacritics, ``ệ``, ``ữ``) correctly, fonts are
subset and embedded, SVG (QR codes, charts) is drawn as vectors, and it is BSD-licensed and
packaged by Debian and PyPI. The font is read from a Debian package's file, never downloaded.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

import segno
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from safezone.errors import FieldError, InvalidInput

#: Fonts with full Vietnamese coverage, first found wins: Noto Sans (fonts-noto-core), then
#: DejaVu Sans (fonts-dejavu-core, always present with fontconfig).
FONT_CANDIDATES: tuple[tuple[Path, Path], ...] = (
    (
        Path("/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf"),
        Path("/usr/share/fonts/truetype/noto/NotoSans-Bold.ttf"),
    ),
    (
        Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
        Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"),
    ),
)
PAPER_SIZES: tuple[str, ...] = ("A4", "A3")
FONT_FAMILY = "SafezonePrint"


class FontMissing(RuntimeError):
    """No font with Vietnamese coverage is installed (install fonts-noto-core)."""


@cache
def font_files() -> tuple[Path, Path]:
    """The regular and bold font files that are embedded in every PDF."""
    for regular, bold in FONT_CANDIDATES:
        if regular.is_file() and bold.is_file():
            return regular, bold
    raise FontMissing("no Vietnamese font: apt-get install fonts-noto-core (or fonts-dejavu-core)")


#: What printed Vietnamese (and English) needs: Latin with every Vietnamese letter, combining
#: marks, punctuation, the đồng and percent signs. Only these glyphs are kept (see below).
VIETNAMESE_RANGES: tuple[tuple[int, int], ...] = (
    (0x0020, 0x007E),
    (0x00A0, 0x024F),
    (0x0300, 0x036F),
    (0x1EA0, 0x1EF9),
    (0x2010, 0x2027),
    (0x2030, 0x203A),
    (0x20AB, 0x20AC),
    (0x2190, 0x2193),
    (0x2212, 0x2212),
)


@cache
def font_data_uri(path: Path) -> str:
    """The font at ``path`` cut down to :data:`VIETNAMESE_RANGES`, as a data: URI.

    Done once per process: the Debian font's full layout tables cost WeasyPrint half a second
    per document to subset, the cut-down font a few milliseconds. Shaping tables (GSUB/GPOS
    for the ranges kept) stay, so stacked diacritics are placed as before.
    """
    from fontTools import subset

    options = subset.Options()
    options.layout_features = ["ccmp", "locl", "mark", "mkmk", "liga"]
    options.name_IDs = ["*"]
    options.notdef_outline = True
    options.glyph_names = False
    font = subset.load_font(str(path), options)
    subsetter = subset.Subsetter(options)
    subsetter.populate(
        unicodes=[code for low, high in VIETNAMESE_RANGES for code in range(low, high + 1)]
    )
    subsetter.subset(font)
    buffer = io.BytesIO()
    font.save(buffer)
    return data_uri(buffer.getvalue(), "font/ttf")


def check_paper(paper: str, field: str = "paper") -> str:
    """``paper`` normalised to A4/A3, or InvalidInput naming ``field``."""
    value = paper.upper()
    if value not in PAPER_SIZES:
        raise InvalidInput(
            FieldError(
                field,
                "paper",
                f"Khổ giấy phải là A4 hoặc A3, không phải {paper!r}",
                f"Paper must be A4 or A3, not {paper!r}",
            )
        )
    return value


def qr_svg(url: str, *, scale: int = 4) -> Markup:
    """``url`` as an inline SVG QR code (error correction M, quiet zone kept)."""
    code = segno.make(url, error="m", micro=False)
    buffer = io.BytesIO()
    code.save(buffer, kind="svg", scale=scale, xmldecl=False, svgns=True, nl=False)
    return Markup(buffer.getvalue().decode())  # noqa: S704 - segno's own SVG, no user markup


def qr_png(url: str, *, scale: int = 8) -> bytes:
    """``url`` as a PNG QR code (what the tests decode, and the web page can offer)."""
    buffer = io.BytesIO()
    segno.make(url, error="m", micro=False).save(buffer, kind="png", scale=scale, border=4)
    return buffer.getvalue()


def data_uri(content: bytes, mime: str) -> str:
    """``content`` inline, for images inside a PDF template."""
    return f"data:{mime};base64,{base64.b64encode(content).decode()}"


def _percent(value: float | None) -> str:
    # Vietnamese writes 34,5%: comma decimals, no space before the sign.
    if value is None:
        return "–"
    text = f"{value * 100:.1f}".rstrip("0").rstrip(".")
    return text.replace(".", ",") + "%"


def _number(value: int | None) -> str:
    if value is None:
        return "–"
    return f"{value:,}".replace(",", ".")


def _date(value: dt.date | None) -> str:
    return "" if value is None else value.strftime("%d/%m/%Y")


@cache
def environment() -> Environment:
    """The Jinja environment of the print templates."""
    env = Environment(
        loader=PackageLoader("safezone.campaign.materials", "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["percent"] = _percent
    env.filters["number"] = _number
    env.filters["date"] = _date
    env.globals["qr"] = qr_svg
    return env


def render_html(template: str, context: Mapping[str, Any], *, paper: str = "A4") -> str:
    """The HTML of ``template`` (under ``materials/print/``) filled with ``context``."""
    regular, bold = font_files()
    values = dict(context)
    values.update(paper=check_paper(paper), font_family=FONT_FAMILY)
    values.update(font_regular=font_data_uri(regular), font_bold=font_data_uri(bold))
    return environment().get_template(f"materials/print/{template}").render(values)


def html_to_pdf(html: str) -> bytes:
    """Print ``html`` to PDF with WeasyPrint (fonts subset and embedded)."""
    from weasyprint import HTML
    from weasyprint.text.fonts import FontConfiguration
    from weasyprint.urls import URLFetcher

    # data: URIs only (fonts, QR codes, charts): printing reads no file and no network.
    fetcher = URLFetcher(allowed_protocols={"data"})
    pdf = HTML(string=html, base_url=None, url_fetcher=fetcher).write_pdf(
        font_config=FontConfiguration()
    )
    assert isinstance(pdf, bytes)
    return pdf


def render_pdf(template: str, context: Mapping[str, Any], *, paper: str = "A4") -> bytes:
    """``template`` filled with ``context`` and printed on ``paper`` (A4 or A3)."""
    return html_to_pdf(render_html(template, context, paper=paper))
