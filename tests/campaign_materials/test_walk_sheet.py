"""The walk sheet download: households' names and addresses printed for the door-to-door drive.
It is personal data, so: campaign officers only, within their units, one volunteer's share when
asked, and every download audited."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select, update

from safezone.accounts.models import AuditEvent, User
from safezone.campaign import households
from safezone.campaign.models import Household
from safezone.campaign.privacy import vault_for
from safezone.config import Settings
from safezone.db.engine import Database
from tests.conftest import MakeUser

from .conftest import COMMUNE, OTHER_COMMUNE
from .test_printed import text_of

HTML = {"Accept": "text/html"}


def seed(db: Database, settings: Settings, volunteer: User) -> None:
    """Three households in COMMUNE (the first two dealt to ``volunteer``), one elsewhere."""
    vault = vault_for(settings)
    lines = [
        "village_code,village_name,address,head_name,members,phone",
        ",,12 Lê Lợi,Nguyễn Văn An,4,",
        ",,14 Lê Lợi,Trần Thị Bình,3,",
        ",,3 Hùng Vương,Lê Văn Cường,2,",
    ]
    other = [lines[0], ",,9 Trần Phú,Phạm Thị Dung,5,"]
    with db.session() as session:
        for code, rows in ((COMMUNE, lines), (OTHER_COMMUNE, other)):
            households.import_households(
                session,
                vault,
                ("\n".join(rows) + "\n").encode(),
                "h.csv",
                unit_code=code,
                today=dt.date(2026, 11, 30),
            )
        first_two = session.scalars(
            select(Household.id)
            .where(Household.unit_code == COMMUNE)
            .order_by(Household.id)
            .limit(2)
        ).all()
        session.execute(
            update(Household).where(Household.id.in_(first_two)).values(volunteer_id=volunteer.id)
        )


def test_officer_downloads_the_units_households_and_the_read_is_audited(
    client: TestClient,
    db: Database,
    settings: Settings,
    make_user: MakeUser,
    token_for: Callable[[User], Any],
) -> None:
    volunteer = make_user("tnv.an", "volunteer", COMMUNE)
    seed(db, settings, volunteer)
    officer = make_user("canbo.p1", "campaign_officer", COMMUNE)
    headers = {**HTML, **token_for(officer)}

    page = client.get(f"/campaign/materials/{COMMUNE}", headers=headers).text
    assert f'action="/campaign/materials/{COMMUNE}/walk-sheet.pdf"' in page
    assert f'<option value="{volunteer.id}">tnv.an</option>' in page
    assert "Phiếu đi từng nhà" in page  # Vietnamese first

    whole = client.get(f"/campaign/materials/{COMMUNE}/walk-sheet.pdf", headers=headers)
    assert whole.status_code == 200
    assert whole.headers["content-type"] == "application/pdf"
    text = text_of(whole.content)
    for name in ("Nguyễn Văn An", "Trần Thị Bình", "Lê Văn Cường", "12 Lê Lợi"):
        assert name in text
    assert "Phạm Thị Dung" not in text  # another commune's household

    mine = client.get(
        f"/campaign/materials/{COMMUNE}/walk-sheet.pdf?volunteer={volunteer.id}", headers=headers
    )
    text = text_of(mine.content)
    assert "Nguyễn Văn An" in text
    assert "Trần Thị Bình" in text
    assert "Lê Văn Cường" not in text  # not dealt to this volunteer
    assert "tnv.an" in text

    with db.read_session() as session:
        reads = session.scalars(
            select(AuditEvent).where(AuditEvent.object_type == "walk_sheet").order_by(AuditEvent.id)
        ).all()
        assert [(event.actor, event.action, event.object_id) for event in reads] == [
            ("canbo.p1", "read", COMMUNE),
            ("canbo.p1", "read", COMMUNE),
        ]
        assert reads[0].detail["households"] == 3
        assert reads[1].detail == {"volunteer": volunteer.id, "households": 2}


def test_strangers_and_readers_learn_nothing(
    client: TestClient,
    db: Database,
    settings: Settings,
    make_user: MakeUser,
    token_for: Callable[[User], Any],
) -> None:
    volunteer = make_user("tnv.an", "volunteer", COMMUNE)
    seed(db, settings, volunteer)
    path = f"/campaign/materials/{COMMUNE}/walk-sheet.pdf"

    anonymous = client.get(path, headers=HTML, follow_redirects=False)
    assert anonymous.status_code == 303  # to the login page
    for role in ("health_officer", "volunteer", "verifier"):
        caller = make_user(f"x.{role}", role, COMMUNE)
        response = client.get(path, headers={**HTML, **token_for(caller)})
        assert response.status_code == 403, role
        assert b"Nguy" not in response.content

    # An officer of another commune: the unit and the volunteer are both outside the scope.
    far = {**HTML, **token_for(make_user("canbo.xa", "campaign_officer", OTHER_COMMUNE))}
    assert client.get(path, headers=far).status_code == 404
    other = f"/campaign/materials/{OTHER_COMMUNE}/walk-sheet.pdf?volunteer={volunteer.id}"
    response = client.get(other, headers=far)
    assert response.status_code == 404
    assert "tình nguyện viên" in response.text

    # A staff id that is not a volunteer is not a way to probe accounts.
    officer = make_user("canbo.p1", "campaign_officer", COMMUNE)
    headers = {**HTML, **token_for(officer)}
    response = client.get(f"{path}?volunteer={officer.id}", headers=headers)
    assert response.status_code == 404
    assert client.get(f"{path}?volunteer=0", headers=headers).status_code == 422
    with db.read_session() as session:
        audited = session.scalars(
            select(AuditEvent.actor).where(AuditEvent.object_type == "walk_sheet")
        ).all()
        assert audited == []  # nothing was read
