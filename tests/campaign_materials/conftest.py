"""Shared helpers for the materials tests: campaign figures seeded through the models."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from safezone.campaign.models import AdoptionFigure, CampaignApp, FigureSource, Target
from safezone.db.engine import Database

DAY = dt.date(2026, 11, 20)
PROVINCE, DISTRICT, COMMUNE, OTHER_COMMUNE = "54", "555", "22015", "22018"


def seed_figures(
    session: Session,
    installs: dict[tuple[str, str], int],
    *,
    day: dt.date = DAY,
    target: float = 0.6,
) -> None:
    """Official counts per (unit, app) on ``day`` and a province target for both apps."""
    for (unit, app), count in installs.items():
        session.add(
            AdoptionFigure(
                unit_code=unit,
                app_code=app,
                source=FigureSource.OFFICIAL,
                installs=count,
                as_of=day,
            )
        )
    for app in ("ncovi", "bluezone"):
        known = select(Target).where(Target.unit_code == PROVINCE, Target.app_code == app)
        if session.scalar(known) is None:
            session.add(
                Target(
                    unit_code=PROVINCE, app_code=app, base="population", share=target, deadline=None
                )
            )
    session.flush()


#: The apps migration 0008 seeds. On PostgreSQL the shared fixture empties every table between
#: tests (TRUNCATE), seeds included, so they are put back here.
SEEDED_APPS: tuple[dict[str, object], ...] = (
    {
        "code": "ncovi",
        "name": "NCOVI",
        "position": 1,
        "purpose_vi": "Khai báo y tế toàn dân",
        "purpose_en": "Health declaration",
        "android_url": "https://play.google.com/store/apps/details?id=com.vnptit.innovation.ncovi",
        "ios_url": "https://apps.apple.com/vn/app/ncovi/id1501934178",
    },
    {
        "code": "bluezone",
        "name": "Bluezone",
        "position": 2,
        "purpose_vi": "Phát hiện tiếp xúc gần qua Bluetooth",
        "purpose_en": "Bluetooth close-contact detection",
        "android_url": "https://play.google.com/store/apps/details?id=com.mic.bluezone",
        "ios_url": "https://apps.apple.com/vn/app/bluezone/id1508062685",
    },
    {
        "code": "safezone",
        "name": "safezone",
        "position": 3,
        "purpose_vi": "Tờ khai y tế trực tuyến của tỉnh",
        "purpose_en": "The province's online health declaration form",
    },
)


@pytest.fixture(autouse=True)
def seeded_apps(request: pytest.FixtureRequest) -> None:
    """The seeded apps, present whatever the database (see SEEDED_APPS)."""
    if "db" not in request.fixturenames:
        return
    db: Database = request.getfixturevalue("db")
    with db.session() as session:
        for app in SEEDED_APPS:
            if session.get(CampaignApp, app["code"]) is None:
                session.add(CampaignApp(active=True, countable_per_unit=True, **app))


@pytest.fixture
def audio_tools() -> None:
    """Skip when espeak-ng or sox are absent (CI installs them; see .ci/run)."""
    import shutil

    if shutil.which("espeak-ng") is None or shutil.which("sox") is None:
        pytest.skip("espeak-ng and sox are needed")
