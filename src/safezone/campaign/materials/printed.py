"""Printed material: posters, install guides, walk sheets and coverage flyers (PDF).

Each ``*_pdf`` function renders values it is given; nothing here queries except
:func:`walk_rows` and :func:`posters_zip`, which gather the values first.
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import select
from sqlalchemy.orm import Session

from safezone.campaign.materials.figures import AppCoverage, AppInfo, UnitSheet
from safezone.campaign.materials.pdf import render_many, render_pdf
from safezone.campaign.models import Household
from safezone.errors import FieldError, InvalidInput
from safezone.units.models import Unit
from safezone.units.service import subtree_of
from safezone.vault import Vault

LANGS: tuple[str, ...] = ("vi", "en")
PLATFORMS: tuple[str, ...] = ("android", "ios")


def translator(lang: str) -> Callable[[str, str], str]:
    """``t(vi, en)``: printed material carries both texts and shows the reader's language."""
    if lang not in LANGS:
        raise InvalidInput(
            FieldError(
                "lang",
                "lang",
                f"Ngôn ngữ phải là vi hoặc en: {lang!r}",
                f"lang: vi or en: {lang!r}",
            )
        )
    return (lambda vi, en: vi) if lang == "vi" else (lambda vi, en: en)


def declare_url(public_url: str, unit_code: str) -> str:
    """The declaration form with ``unit_code`` filled in."""
    return f"{public_url.rstrip('/')}/declare?{urlencode({'unit': unit_code})}"


def poster_pdf(
    *,
    place: str,
    unit_code: str,
    apps: Sequence[AppInfo],
    public_url: str,
    as_of: dt.date,
    paper: str = "A4",
    lang: str = "vi",
) -> bytes:
    """A poster for a unit or an organisation (``place``): store QR codes per app, and one to
    the declaration form with ``unit_code`` filled in."""
    return render_pdf(
        "poster.html",
        {
            "lang": lang,
            "t": translator(lang),
            "place": place,
            "apps": [app for app in apps if app.android_url or app.ios_url],
            "declare_url": declare_url(public_url, unit_code),
            "as_of": as_of,
        },
        paper=paper,
    )


@dataclass(frozen=True)
class GuidePlatform:
    """One column of an install guide."""

    title: str
    url: str
    steps: tuple[str, ...]


def guide_steps(app: AppInfo, platform: str, lang: str) -> GuidePlatform:
    """The install steps of ``app`` on ``platform`` (android or ios), in ``lang``."""
    t = translator(lang)
    if platform == "android":
        store, button, url = "Google Play (CH Play)", t("Cài đặt", "Install"), app.android_url
        title = t("Điện thoại Android", "Android phones")
    elif platform == "ios":
        store, button, url = "App Store", t("Nhận", "Get"), app.ios_url
        title = "iPhone (iOS)"
    else:
        raise InvalidInput(
            FieldError("platform", "platform", "Nền tảng: android hoặc ios", "android or ios")
        )
    steps = (
        t(
            f"Quét mã QR bên trên bằng camera, hoặc mở {store} và tìm “{app.name}”.",
            f"Scan the QR code above with the camera, or open {store} and search “{app.name}”.",
        ),
        t(f"Bấm “{button}” và chờ tải xong.", f"Tap “{button}” and wait for the download."),
        t(f"Mở ứng dụng {app.name}, đọc và đồng ý điều khoản.", f"Open {app.name} and accept."),
        t(
            "Nhập số điện thoại và mã xác thực (OTP) nhận qua tin nhắn.",
            "Enter your phone number and the one-time code (OTP) you receive by SMS.",
        ),
        t(
            "Cho phép Bluetooth và thông báo khi được hỏi; luôn bật Bluetooth khi ra ngoài.",
            "Allow Bluetooth and notifications when asked; keep Bluetooth on when out.",
        ),
        t(
            "Giới thiệu cho người thân cùng cài đặt.",
            "Help your family and neighbours install it too.",
        ),
    )
    return GuidePlatform(title, url, steps)


def guide_pdf(
    app: AppInfo, *, platforms: Iterable[str] = PLATFORMS, paper: str = "A4", lang: str = "vi"
) -> bytes:
    """A one-page step-by-step install guide of ``app`` for Android and iOS."""
    columns = [guide_steps(app, platform, lang) for platform in platforms]
    return render_pdf(
        "guide.html",
        {"lang": lang, "t": translator(lang), "app": app, "platforms": columns},
        paper=paper,
    )


@dataclass(frozen=True)
class WalkRow:
    """One household line of a walk sheet."""

    address: str
    head_name: str
    members: int


def walk_rows(
    session: Session,
    vault: Vault,
    *,
    unit: Unit,
    volunteer_id: int | None = None,
    limit: int = 200,
) -> list[WalkRow]:
    """Households in ``unit``'s subtree (one volunteer's, if given), opened with ``vault``.

    The caller has checked scope and records the read (it is a read of personal data).
    """
    query = (
        select(Household)
        .join(Unit, Unit.code == Household.unit_code)
        .where(subtree_of(Unit.path, unit.path))
        .order_by(Household.unit_code, Household.id)
        .limit(limit)
    )
    if volunteer_id is not None:
        query = query.where(Household.volunteer_id == volunteer_id)
    rows = []
    for household in session.scalars(query):
        opened = vault.open(household, "head_name", "address")
        rows.append(
            WalkRow(
                address=opened.get("address") or "",
                head_name=opened.get("head_name") or "",
                members=household.members,
            )
        )
    return rows


def walk_sheet_pdf(
    *,
    place: str,
    apps: Sequence[AppInfo],
    rows: Sequence[WalkRow],
    day: dt.date,
    volunteer: str = "",
    blank_rows: int = 5,
    paper: str = "A4",
    lang: str = "vi",
) -> bytes:
    """The volunteer's printable walk sheet: households with boxes for the outcomes."""
    return render_pdf(
        "walksheet.html",
        {
            "lang": lang,
            "t": translator(lang),
            "place": place,
            "apps": list(apps),
            "rows": list(rows),
            "day": day,
            "volunteer": volunteer,
            "blank_rows": blank_rows,
        },
        paper=paper,
    )


def flyer_pdf(sheet: UnitSheet, *, public_url: str, paper: str = "A4", lang: str = "vi") -> bytes:
    """A flyer with the unit's current coverage and target per app."""
    coverage: list[AppCoverage] = [item for item in sheet.apps if item.population]
    return render_pdf(
        "flyer.html",
        {
            "lang": lang,
            "t": translator(lang),
            "place": sheet.unit_name,
            "as_of": sheet.as_of,
            "coverage": coverage,
            "declare_url": declare_url(public_url, sheet.unit_code),
        },
        paper=paper,
    )


def posters_zip(
    units: Sequence[tuple[str, str]],
    *,
    apps: Sequence[AppInfo],
    public_url: str,
    as_of: dt.date,
    paper: str = "A4",
    lang: str = "vi",
    progress: Callable[[int], Any] | None = None,
    batch: int = 16,
) -> bytes:
    """One zip with a poster per ``(unit_code, display name)``, named ``poster-CODE-PAPER.pdf``.

    Posters are laid out ``batch`` at a time (see :func:`pdf.render_many`).
    """
    shown = [app for app in apps if app.android_url or app.ios_url]
    t = translator(lang)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for offset in range(0, len(units), batch):
            chunk = units[offset : offset + batch]
            contexts = [
                {
                    "lang": lang,
                    "t": t,
                    "place": name,
                    "apps": shown,
                    "declare_url": declare_url(public_url, code),
                    "as_of": as_of,
                }
                for code, name in chunk
            ]
            for (code, _), content in zip(
                chunk, render_many("poster.html", contexts, paper=paper), strict=True
            ):
                archive.writestr(f"poster-{code}-{paper}.pdf", content)
            if progress is not None:
                progress(len(chunk))
    return buffer.getvalue()
