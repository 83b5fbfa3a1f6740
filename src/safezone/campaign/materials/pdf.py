"""The PDF engine: HTML + CSS templates printed by WeasyPrint with an embedded Debian font.

Why WeasyPrint (docs/campaign-materials.md): the templates are the same Jinja2 + CSS the web
pages use, pango shapes Vietnamese (stacked diacritics, ``ệ``, ``ữ``) correctly, fonts are
subset and embedded, SVG (QR codes, charts) is drawn as vectors, and it is BSD-licensed and
packaged by Debian and PyPI. The font is read from a Debian package's file, never downloaded.
"""

from __future__ import annotations

import atexit
import base64
import datetime as dt
import io
import itertools
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import segno
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup, escape

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
def _font_folder() -> Path:
    # Private to this process (mode 0700), removed at exit.
    folder = Path(tempfile.mkdtemp(prefix="safezone-fonts-"))
    atexit.register(shutil.rmtree, folder, True)
    return folder


@cache
def font_url(path: Path) -> str:
    """The font at ``path`` cut down to :data:`VIETNAMESE_RANGES`, as a file: URL.

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
    target = _font_folder() / f"{path.stem}-vi.ttf"
    font.save(str(target))
    # A file, not a data: URI: CSS parsing a 100 kB string costs a quarter second per document.
    return target.as_uri()


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


@lru_cache(maxsize=256)
def qr_png(url: str, *, scale: int = 10) -> bytes:
    """``url`` as a PNG QR code (error correction M, quiet zone of 4 modules).

    Cached: the store links are the same on every poster, only the declaration link changes.
    """
    buffer = io.BytesIO()
    segno.make(url, error="m", micro=False).save(buffer, kind="png", scale=scale, border=4)
    return buffer.getvalue()


def qr_img(url: str) -> Markup:
    """``url`` as an ``<img>`` holding its QR code (a PNG drawn with crisp module edges).

    A PNG, not SVG: WeasyPrint draws an SVG QR code module by module, ten times slower.
    """
    source = data_uri(qr_png(url), "image/png")
    return Markup(  # noqa: S704 - a data: URI we built and an escaped URL
        f'<img class="qr-code" src="{source}" alt="QR: {escape(url)}">'
    )


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
    env.globals["qr"] = qr_img
    return env


def render_html(template: str, context: Mapping[str, Any], *, paper: str = "A4") -> str:
    """The HTML of ``template`` (under ``materials/print/``) filled with ``context``."""
    regular, bold = font_files()
    values = dict(context)
    values.update(paper=check_paper(paper), font_family=FONT_FAMILY)
    values.update(font_regular=font_url(regular), font_bold=font_url(bold))
    return environment().get_template(f"materials/print/{template}").render(values)


def html_to_pdf(html: str) -> bytes:
    """Print ``html`` to PDF with WeasyPrint (fonts subset and embedded)."""
    from weasyprint import HTML
    from weasyprint.text.fonts import FontConfiguration
    from weasyprint.urls import URLFetcher

    # data: URIs (QR codes) and our font files only: printing never reaches the network.
    fetcher = URLFetcher(allowed_protocols={"data", "file"})
    pdf = HTML(string=html, base_url=None, url_fetcher=fetcher).write_pdf(
        font_config=FontConfiguration()
    )
    assert isinstance(pdf, bytes)
    return pdf


def render_many(
    template: str, contexts: Sequence[Mapping[str, Any]], *, paper: str = "A4"
) -> list[bytes]:
    """One PDF per context, laid out as one document and split by page.

    Parsing, style and font set-up happen once for the batch (a third less work per poster);
    each context's pages are found by the anchor put before them, so a context that needs
    two pages keeps both.
    """
    from weasyprint import HTML
    from weasyprint.text.fonts import FontConfiguration
    from weasyprint.urls import URLFetcher

    if not contexts:
        return []
    pages = [render_html(template, context, paper=paper) for context in contexts]
    head = pages[0].split("<body>", 1)[0]
    bodies = [page.split("<body>", 1)[1].rsplit("</body>", 1)[0] for page in pages]
    html = (
        head
        + "<body>"
        + "".join(
            f'<div id="doc-{index}" style="break-before: page">{body}</div>'
            for index, body in enumerate(bodies)
        )
        + "</body></html>"
    )
    fetcher = URLFetcher(allowed_protocols={"data", "file"})
    document = HTML(string=html, base_url=None, url_fetcher=fetcher).render(
        font_config=FontConfiguration()
    )
    starts = []
    for number, page in enumerate(document.pages):
        if any(name.startswith("doc-") for name in page.anchors):
            starts.append(number)
    if len(starts) != len(contexts):
        raise RuntimeError("a batch page lost its anchor")
    bounds = [*starts, len(document.pages)]
    out = []
    for first, last in itertools.pairwise(bounds):
        pdf = document.copy(document.pages[first:last]).write_pdf()
        assert isinstance(pdf, bytes)
        out.append(pdf)
    return out


def render_pdf(template: str, context: Mapping[str, Any], *, paper: str = "A4") -> bytes:
    """``template`` filled with ``context`` and printed on ``paper`` (A4 or A3)."""
    return html_to_pdf(render_html(template, context, paper=paper))
