"""Printed material: exact Vietnamese text, QR codes that decode to the right URLs, fonts
embedded, A4 and A3 pages. Cases are data (data/print_cases.json)."""

from __future__ import annotations

import datetime as dt
import io
import json
import shutil
import subprocess
import unicodedata
import zipfile
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from safezone.campaign.materials import pdf, printed
from safezone.campaign.materials.figures import AppCoverage, AppInfo, UnitSheet
from safezone.errors import InvalidInput

CASES = json.loads((Path(__file__).parent / "data" / "print_cases.json").read_text())
APPS = [AppInfo(**item) for item in CASES["apps"]]
BY_CODE = {app.code: app for app in APPS}
PUBLIC = "https://safezone.phuyen.gov.vn"
DAY = dt.date(2026, 11, 30)
#: PDF page sizes in points (1/72 inch).
PAGE_POINTS = {"A4": (595.3, 841.9), "A3": (841.9, 1190.6)}


def text_of(content: bytes) -> str:
    reader = PdfReader(io.BytesIO(content))
    text = "\n".join(page.extract_text() for page in reader.pages)
    return unicodedata.normalize("NFC", " ".join(text.split()))


def embedded_fonts(content: bytes) -> list[str]:
    """Names of fonts whose program is embedded in the PDF."""
    names = []
    for page in PdfReader(io.BytesIO(content)).pages:
        for ref in page["/Resources"]["/Font"].values():
            font = ref.get_object()
            descriptors = [font.get("/FontDescriptor")]
            descriptors += [
                child.get_object().get("/FontDescriptor")
                for child in font.get("/DescendantFonts", [])
            ]
            for found in descriptors:
                if found is None:
                    continue
                descriptor = found.get_object()
                if any(key in descriptor for key in ("/FontFile", "/FontFile2", "/FontFile3")):
                    names.append(str(descriptor["/FontName"]))
    return names


def decoded_qr_urls(content: bytes, tmp_path: Path) -> set[str]:
    """Render every page to an image (poppler) and decode its QR codes (zbar)."""
    from PIL import Image
    from pyzbar.pyzbar import ZBarSymbol, decode

    source = tmp_path / "doc.pdf"
    source.write_bytes(content)
    subprocess.run(
        ["pdftoppm", "-r", "150", "-png", str(source), str(tmp_path / "page")], check=True
    )
    found = set()
    for image in sorted(tmp_path.glob("page*.png")):
        for symbol in decode(Image.open(image), symbols=[ZBarSymbol.QRCODE]):
            found.add(symbol.data.decode())
    return found


def page_size(content: bytes) -> tuple[float, float]:
    box = PdfReader(io.BytesIO(content)).pages[0].mediabox
    return float(box.width), float(box.height)


def assert_size(content: bytes, paper: str, *, landscape: bool = False) -> None:
    width, height = PAGE_POINTS[paper]
    if landscape:
        width, height = height, width
    assert page_size(content) == pytest.approx((width, height), abs=1)


needs_poppler = pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="poppler-utils")


@needs_poppler
@pytest.mark.parametrize("case", CASES["posters"], ids=lambda case: case["place"])
def test_poster(case: dict[str, Any], tmp_path: Path) -> None:
    content = printed.poster_pdf(
        place=case["place"],
        unit_code=case["unit_code"],
        apps=APPS,
        public_url=PUBLIC,
        as_of=DAY,
        paper=case["paper"],
        lang=case["lang"],
    )
    text = text_of(content)
    for expected in case["texts"]:
        assert expected in text
    assert "30/11/2026" in text
    # One QR per store link of each app, and the declaration form with the unit filled in.
    expected_urls = {app.android_url for app in APPS if app.android_url}
    expected_urls |= {app.ios_url for app in APPS if app.ios_url}
    expected_urls.add(f"{PUBLIC}/declare?unit={case['unit_code']}")
    assert decoded_qr_urls(content, tmp_path) == expected_urls
    fonts = embedded_fonts(content)
    assert fonts, "the font must be embedded"
    # Our @font-face (the Debian font, cut to Vietnamese), not a system fallback.
    assert all("SafezonePrint" in name for name in fonts)
    assert_size(content, case["paper"])


@pytest.mark.parametrize("case", CASES["guides"], ids=lambda case: case["app"] + case["lang"])
def test_install_guide(case: dict[str, Any], tmp_path: Path) -> None:
    app = BY_CODE[case["app"]]
    content = printed.guide_pdf(app, paper=case["paper"], lang=case["lang"])
    text = text_of(content)
    for expected in case["texts"]:
        assert expected in text
    assert len(PdfReader(io.BytesIO(content)).pages) == 1, "one page"
    assert embedded_fonts(content)
    assert_size(content, case["paper"])
    if shutil.which("pdftoppm"):
        assert decoded_qr_urls(content, tmp_path) == {app.android_url, app.ios_url}


@pytest.mark.parametrize("case", CASES["walk_sheets"], ids=lambda case: case["place"])
def test_walk_sheet(case: dict[str, Any]) -> None:
    rows = [printed.WalkRow(*row) for row in case["rows"]]
    content = printed.walk_sheet_pdf(place=case["place"], apps=APPS[:2], rows=rows, day=DAY)
    text = text_of(content)
    for expected in case["texts"]:
        assert expected in text
    assert embedded_fonts(content)
    assert_size(content, "A4", landscape=True)


@needs_poppler
@pytest.mark.parametrize("case", CASES["flyers"], ids=lambda case: case["unit_code"])
def test_flyer(case: dict[str, Any], tmp_path: Path) -> None:
    population = case["population"]
    items = tuple(
        AppCoverage(
            app=BY_CODE[code],
            population=population,
            installs=installs,
            share_population=installs / population,
            target_share=target,
        )
        for code, (installs, target) in case["apps"].items()
    )
    sheet = UnitSheet(case["unit_code"], case["unit_name"], "commune", DAY, items)
    content = printed.flyer_pdf(sheet, public_url=PUBLIC, paper="A3")
    text = text_of(content)
    for expected in case["texts"]:
        assert expected in text
    assert decoded_qr_urls(content, tmp_path) == {f"{PUBLIC}/declare?unit={case['unit_code']}"}
    assert_size(content, "A3")


def test_qr_png_decodes_before_embedding() -> None:
    from PIL import Image
    from pyzbar.pyzbar import decode

    url = f"{PUBLIC}/declare?unit=22015"
    symbols = decode(Image.open(io.BytesIO(pdf.qr_png(url))))
    assert [symbol.data.decode() for symbol in symbols] == [url]


def test_posters_zip_has_one_poster_per_unit() -> None:
    ticks: list[int] = []
    content = printed.posters_zip(
        [("22015", "Phường 1"), ("22018", "Phường 4")],
        apps=APPS,
        public_url=PUBLIC,
        as_of=DAY,
        progress=ticks.append,
    )
    archive = zipfile.ZipFile(io.BytesIO(content))
    assert archive.namelist() == ["poster-22015-A4.pdf", "poster-22018-A4.pdf"]
    assert "Phường 4" in text_of(archive.read("poster-22018-A4.pdf"))
    assert ticks == [2]


def test_bad_paper_and_language_name_the_field() -> None:
    with pytest.raises(InvalidInput) as caught:
        printed.guide_pdf(APPS[0], paper="Letter")
    assert caught.value.errors[0].field == "paper"
    with pytest.raises(InvalidInput) as caught:
        printed.guide_pdf(APPS[0], lang="fr")
    assert caught.value.errors[0].field == "lang"


def test_printing_fetches_nothing_outside() -> None:
    html = pdf.render_html(
        "guide.html", {"lang": "vi", "t": printed.translator("vi"), "app": APPS[0], "platforms": []}
    )
    html = html.replace("</body>", '<img src="http://example.invalid/x.png"></body>')
    # The remote image is refused (WeasyPrint logs and skips it); the PDF still prints.
    assert pdf.html_to_pdf(html).startswith(b"%PDF")
