"""The /sim pages: who sees them, the forms (errors name the field in both languages), a
running run's progress bar and poller, a finished run's table and charts, and the notice when
the simulator is not installed."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from safezone.db.engine import Database
from safezone.jobs.service import Registry, run_one
from safezone.sim import tasks
from safezone.sim.models import SimRun
from tests.conftest import MakeUser, login

pytest.importorskip("covasim")

HTML = {"Accept": "text/html"}
CSV = b"unit_code,adoption\n555,0.4\n"
FORM = {"unit_code": "555", "adoption": "csv", "days": "10", "seeds": "1", "scale": "0.002"}


@pytest.fixture
def registry(settings: Any) -> Registry:
    reg = Registry()
    tasks.register(reg, settings, workers=1)
    return reg


def _officer(client: TestClient, make_user: MakeUser, unit: str = "555") -> str:
    make_user("chiendich", "campaign_officer", unit)
    return login(client, "chiendich")


def _post(client: TestClient, path: str, csrf: str, form: dict[str, str], csv: bytes = CSV) -> Any:
    return client.post(
        path,
        data={**form, "csrf_token": csrf},
        files={"adoption_file": ("adoption.csv", csv, "text/csv")},
        headers=HTML,
        follow_redirects=False,
    )


def test_anonymous_visitors_go_to_the_login_and_other_roles_are_refused(
    client: TestClient, make_user: MakeUser
) -> None:
    answer = client.get("/sim", headers=HTML, follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/login")
    make_user("tnv", "volunteer", "22015")
    csrf = login(client, "tnv")
    assert client.get("/sim", headers=HTML).status_code == 403
    assert _post(client, "/sim/runs", csrf, FORM).status_code == 403
    assert 'href="/sim"' not in client.get("/units", headers=HTML).text  # no menu link either


def test_a_health_officer_reads_but_has_no_form(client: TestClient, make_user: MakeUser) -> None:
    make_user("yte", "health_officer", "555")
    csrf = login(client, "yte")
    page = client.get("/sim", headers=HTML)
    assert page.status_code == 200
    assert 'data-testid="run-form"' not in page.text
    assert 'data-testid="no-runs"' in page.text
    assert _post(client, "/sim/runs", csrf, FORM).status_code == 403


def test_the_form_starts_a_run_whose_page_polls_then_shows_results(
    client: TestClient, db: Database, registry: Registry, make_user: MakeUser
) -> None:
    csrf = _officer(client, make_user)
    page = client.get("/sim", headers=HTML)
    assert 'data-testid="run-form"' in page.text
    assert 'data-testid="plan-form"' in page.text
    assert 'href="/sim"' in page.text  # the menu link

    answer = _post(client, "/sim/runs", csrf, FORM)
    assert answer.status_code == 303
    location = answer.headers["location"]
    assert re.fullmatch(r"/sim/runs/\d+", location)
    running = client.get(location, headers=HTML).text
    assert '<progress id="sim-progress"' in running
    assert '<script src="/sim/static/sim.js" defer></script>' in running
    assert client.get("/sim/static/sim.js").status_code == 200
    listed = client.get("/sim", headers=HTML).text
    assert 'data-testid="runs"' in listed
    assert location in listed

    while run_one(db, registry):
        pass
    done = client.get(location, headers=HTML).text
    assert "sim.js" not in done  # nothing to poll any more
    assert 'id="sim-districts"' in done
    assert 'id="sim-curves"' in done
    assert 'data-testid="districts"' in done
    assert 'data-testid="overall"' in done
    english = client.get(location + "?lang=en", headers=HTML).text
    assert "Infections averted per district" in english
    assert "Epidemic curves" in english
    vietnamese = client.get(location + "?lang=vi", headers=HTML).text
    assert "Ca nhiễm tránh được theo huyện" in vietnamese


def test_a_finished_plan_shows_the_ranked_table(
    client: TestClient, db: Database, registry: Registry, make_user: MakeUser
) -> None:
    csrf = _officer(client, make_user)
    form = {**FORM, "volunteer_days": "40", "reminders": "0", "steps": "1", "yields": "default"}
    location = _post(client, "/sim/plans", csrf, form).headers["location"]
    while run_one(db, registry):
        pass
    page = client.get(location + "?lang=en", headers=HTML).text
    assert 'data-testid="plan-table"' in page
    assert 'data-testid="confirmation"' in page
    assert "One more volunteer-day here averts" in page
    assert 'id="sim-districts"' in page


def test_form_errors_name_each_field_in_the_reader_language(
    client: TestClient, db: Database, make_user: MakeUser
) -> None:
    csrf = _officer(client, make_user)
    bad = {**FORM, "days": "0", "scale": "abc"}
    answer = _post(client, "/sim/runs?lang=en", csrf, bad, csv=b"unit_code,adoption\n555,2\n")
    assert answer.status_code == 422
    assert "<code>days</code>: Days: must be from 1 to 365." in answer.text
    assert "<code>scale</code>: Scale: must be a number." in answer.text
    assert 'id="run-days" name="days" type="number"' in answer.text
    vi = _post(client, "/sim/runs?lang=vi", csrf, {**FORM, "days": "0"})
    assert "Số ngày: phải từ 1 đến 365." in vi.text
    csv_errors = _post(client, "/sim/runs?lang=en", csrf, FORM, csv=b"unit_code,adoption\n555,2\n")
    assert "<code>adoption_csv.row[2].adoption</code>" in csv_errors.text
    with db.session() as session:
        assert session.scalars(select(SimRun.id)).all() == []


def test_another_districts_run_is_not_found(
    client: TestClient, db: Database, make_user: MakeUser
) -> None:
    csrf = _officer(client, make_user)
    location = _post(client, "/sim/runs", csrf, FORM).headers["location"]
    client.post("/logout", data={"csrf_token": csrf}, headers=HTML)
    make_user("chiendich.songcau", "campaign_officer", "557")
    login(client, "chiendich.songcau")
    assert client.get(location, headers=HTML).status_code == 404
    assert location not in client.get("/sim", headers=HTML).text


def test_without_the_simulator_the_page_says_so_and_offers_no_form(
    client: TestClient, make_user: MakeUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tasks, "engine_available", lambda: False)
    csrf = _officer(client, make_user)
    vi = client.get("/sim?lang=vi", headers=HTML).text
    assert "Máy chủ chưa cài bộ mô phỏng (Covasim)" in vi
    assert 'data-testid="run-form"' not in vi
    en = client.get("/sim?lang=en", headers=HTML).text
    assert "The simulator (Covasim) is not installed on this server" in en
    answer = _post(client, "/sim/runs?lang=en", csrf, FORM)
    assert answer.status_code == 503
    assert "install safezone[sim]" in answer.text
