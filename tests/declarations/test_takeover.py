"""Identity takeover through a known ID number (issue 8 item 1): one attack per test.

The attacker knows the victim's ID number and nothing else, and has no login. Each test
failed on the code before the fix (a person row shared by ID number) and passes now: an
unauthenticated submission reveals nothing about earlier declarations and changes nothing in
them. Linking two declarations needs the earlier one's update token (``X-Link-Token``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from safezone.accounts.models import User
from safezone.db.engine import Database
from safezone.declarations import intake
from safezone.declarations.base import Policy, local_today
from safezone.declarations.models import Declaration, Person
from tests.conftest import MakeUser
from tests.declarations.conftest import COMMUNE

URL = "/api/v1/declarations"
HTML = {"Accept": "text/html"}
Body = Callable[..., dict[str, Any]]
VICTIM_ID = "054085001234"  # the BASE_BODY's number: the victim's
ATTACKER = {
    "full_name": "Kẻ Mạo Danh",
    "phone": "0905999888",
    "email": "gia@example.com",
    "address__street": "1 Đường Giả",
}


def declare(client: TestClient, body: dict[str, Any], **headers: str) -> dict[str, Any]:
    response = client.post(URL, json=body, headers=headers)
    assert response.status_code == 201, response.text
    return dict(response.json())


def daily(
    client: TestClient, created: dict[str, Any], statuses: list[str], day: dt.date | None = None
) -> Any:
    payload: dict[str, Any] = {"statuses": statuses}
    if day is not None:
        payload["day"] = day.isoformat()
    return client.post(
        f"{URL}/{created['id']}/updates",
        json=payload,
        headers={"X-Update-Token": created["update_token"]},
    )


def staff_headers(make_user: MakeUser, token_for: Callable[[User], dict[str, str]]) -> Any:
    return token_for(make_user("yte.takeover", "health_officer", COMMUNE))


def test_attacker_does_not_see_the_victims_daily_updates(
    client: TestClient, body: Body, db: Database, policy: Policy
) -> None:
    victim = declare(client, body(symptoms=[]))
    assert daily(client, victim, ["shortness_of_breath"]).status_code == 201
    attacker = declare(client, body(symptoms=[], **ATTACKER))
    page = client.get(f"/declare/u/{attacker['update_token']}", headers=HTML)
    assert page.status_code == 200
    assert "Các cập nhật gần đây" not in page.text  # the "recent updates" list
    with db.session() as session:
        declaration = session.get_one(Declaration, attacker["id"])
        assert intake.citizen_view(session, policy, declaration)["updates"] == []
    # The victim still sees their own update.
    own = client.get(f"/declare/u/{victim['update_token']}", headers=HTML)
    assert "Các cập nhật gần đây" in own.text


def test_attacker_does_not_learn_the_victims_risk(client: TestClient, body: Body) -> None:
    victim = declare(client, body(symptoms=[]))
    assert daily(client, victim, ["fever"]).json()["risk"] == "medium"
    attacker = declare(client, body(symptoms=[], **ATTACKER))
    assert attacker["risk"] == "low"  # from the attacker's own answers alone


def test_attacker_does_not_replace_the_victims_contact_details(
    client: TestClient,
    body: Body,
    make_user: MakeUser,
    token_for: Callable[[User], dict[str, str]],
) -> None:
    victim = declare(client, body())
    attacker = declare(client, body(**ATTACKER))
    headers = staff_headers(make_user, token_for)
    seen = client.get(f"{URL}/{victim['id']}", headers=headers).json()
    assert seen["person"]["full_name"] == "Nguyễn Văn An"
    assert seen["person"]["phone"] == "+84905123456"
    assert seen["person"]["address"]["street"] == "12 Trần Hưng Đạo"
    assert seen["person"]["email"] is None
    # Staff see that another declaration carries the same ID number, with its own details.
    assert [other["id"] for other in seen["same_id_number"]] == [attacker["id"]]
    other = seen["same_id_number"][0]
    assert (other["full_name"], other["phone"], other["street"]) == (
        "Kẻ Mạo Danh",
        "+84905999888",
        "1 Đường Giả",
    )
    flagged = {(e["declaration_id"], e["same_id_number"]) for e in seen["timeline"]}
    assert flagged == {(victim["id"], False), (attacker["id"], True)}
    assert seen["shares_id_number"] is True
    # The queue flags both rows; a declaration with a number of its own is not flagged.
    loner = declare(client, body(id_number="054085000321"))
    queue = client.get(URL, headers=headers).json()["items"]
    assert {row["id"]: row["shares_id_number"] for row in queue} == {
        victim["id"]: True,
        attacker["id"]: True,
        loner["id"]: False,
    }


def test_same_id_flag_on_the_staff_page(
    client: TestClient, body: Body, make_user: MakeUser, db: Database
) -> None:
    from tests.conftest import login

    victim = declare(client, body())
    declare(client, body(**ATTACKER))
    make_user("yte.flag", "health_officer", COMMUNE)
    login(client, "yte.flag")
    page = client.get(f"/declarations/{victim['id']}", headers=HTML)
    assert 'data-testid="same-id"' in page.text
    assert 'data-testid="same-id-flag"' in page.text
    assert "Kẻ Mạo Danh" in page.text
    assert "+84905999888" in page.text
    assert 'data-testid="person-name">Nguyễn Văn An<' in page.text
    queue = client.get("/declarations", headers=HTML)
    assert queue.text.count('data-testid="shares-id"') == 2


def test_attacker_does_not_revoke_the_victims_link(client: TestClient, body: Body) -> None:
    victim = declare(client, body(symptoms=[]))
    declare(client, body(symptoms=[], **ATTACKER))
    assert daily(client, victim, ["healthy"]).status_code == 201
    page = client.get(f"/declare/u/{victim['update_token']}", headers=HTML)
    assert page.status_code == 200
    changed = client.put(
        f"{URL}/{victim['id']}",
        json=body(symptoms=[]),
        headers={"X-Update-Token": victim["update_token"]},
    )
    assert changed.status_code == 200, changed.text


def test_attacker_cannot_pre_plant_backdated_symptoms(client: TestClient, body: Body) -> None:
    three_days_ago = local_today() - dt.timedelta(days=3)
    attacker = declare(client, body(symptoms=[], **ATTACKER))
    planted = daily(client, attacker, ["fever", "cough"], day=three_days_ago)
    assert planted.status_code == 201
    victim = declare(client, body(symptoms=[]))
    assert victim["risk"] == "low"
    # The victim's own history is untouched: their update for that day is accepted.
    own = daily(client, victim, ["healthy"], day=three_days_ago)
    assert own.status_code == 201, own.text
    assert own.json()["risk"] == "low"


def test_put_with_another_id_number_answers_the_same_whether_registered_or_not(
    client: TestClient, body: Body, db: Database
) -> None:
    declare(client, body())  # the victim: VICTIM_ID is registered
    mine = declare(client, body(id_number="054085000777", **ATTACKER))
    headers = {"X-Update-Token": mine["update_token"]}
    registered = client.put(
        f"{URL}/{mine['id']}", json=body(id_number=VICTIM_ID, **ATTACKER), headers=headers
    )
    unregistered = client.put(
        f"{URL}/{mine['id']}", json=body(id_number="054085000888", **ATTACKER), headers=headers
    )
    assert registered.status_code == unregistered.status_code == 200
    assert set(registered.json()) == set(unregistered.json())
    assert registered.json()["risk"] == unregistered.json()["risk"]
    # And nothing of the victim changed.
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(Person)) == 2


def test_unknown_id_and_wrong_token_answer_the_same_on_every_citizen_endpoint(
    client: TestClient, body: Body
) -> None:
    victim = declare(client, body())
    other = declare(client, body(**ATTACKER))
    wrong = {"X-Update-Token": other["update_token"]}
    for method, suffix, payload in (
        ("put", "", body()),
        ("post", "/updates", {"statuses": ["healthy"]}),
        ("delete", "/update-token", None),
    ):
        answers = []
        for target in (victim["id"], 987654):
            kwargs: dict[str, Any] = {"headers": wrong}
            if payload is not None:
                kwargs["json"] = payload
            response = client.request(method, f"{URL}/{target}{suffix}", **kwargs)
            answers.append((response.status_code, response.json()))
        assert answers[0] == answers[1], (method, suffix)
        assert answers[0][0] == 404


# --- linking with proof -------------------------------------------------------------------------


def test_linking_with_the_earlier_update_token_makes_one_person(
    client: TestClient, body: Body, db: Database
) -> None:
    first = declare(client, body(symptoms=[]))
    assert daily(client, first, ["fever"]).status_code == 201
    second = declare(client, body(symptoms=[]), **{"X-Link-Token": first["update_token"]})
    assert second["risk"] == "medium"  # the proven person's own recent fever counts
    page = client.get(f"/declare/u/{second['update_token']}", headers=HTML)
    assert "Các cập nhật gần đây" in page.text
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(Person)) == 1
    # The earlier link keeps working: it belongs to the same person.
    assert client.get(f"/declare/u/{first['update_token']}", headers=HTML).status_code == 200


def test_a_link_token_for_another_id_number_is_refused_and_nothing_is_stored(
    client: TestClient, body: Body, db: Database
) -> None:
    first = declare(client, body())
    with db.session() as session:
        before = session.scalar(select(func.count()).select_from(Declaration))
    for token in (first["update_token"], "szu_not-a-token"):
        response = client.post(
            URL, json=body(id_number="054085000999"), headers={"X-Link-Token": token}
        )
        assert response.status_code == 422
        assert [e["field"] for e in response.json()["errors"]] == ["link_token"]
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(Declaration)) == before
