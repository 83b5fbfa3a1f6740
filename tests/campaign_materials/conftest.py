"""Shared helpers for the materials tests: campaign figures seeded through the models."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from safezone.campaign.models import AdoptionFigure, FigureSource, Target

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


@pytest.fixture
def audio_tools() -> None:
    """Skip when espeak-ng or sox are absent (CI installs them; see .ci/run)."""
    import shutil

    if shutil.which("espeak-ng") is None or shutil.which("sox") is None:
        pytest.skip("espeak-ng and sox are needed")
