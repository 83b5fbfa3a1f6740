"""Fixtures for the campaign tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select

from safezone.campaign.models import CampaignApp
from safezone.db.engine import Database

_APP_FIELDS = (
    "name",
    "purpose_vi",
    "purpose_en",
    "android_url",
    "ios_url",
    "countable_per_unit",
    "active",
    "position",
)


@pytest.fixture(autouse=True)
def restored_apps(request: pytest.FixtureRequest) -> Iterator[None]:
    """The apps catalogue as it was before the test. On PostgreSQL the seeded ``campaign_apps``
    survive between tests (they are not truncated), so an edit here would leak into later
    tests (it made every Bluezone guide a 404 in the materials tests)."""
    if "db" not in request.fixturenames:
        yield
        return
    db: Database = request.getfixturevalue("db")
    with db.read_session() as session:
        saved = {
            app.code: {field: getattr(app, field) for field in _APP_FIELDS}
            for app in session.scalars(select(CampaignApp))
        }
    yield
    with db.session() as session:
        for code, values in saved.items():
            app = session.get(CampaignApp, code)
            if app is not None:
                for field, value in values.items():
                    setattr(app, field, value)
