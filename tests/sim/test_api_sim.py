"""The simulator's JSON API and worker job: start -> the job runs in-process -> results, with
who may see and start what, validation, failures and a worker killed mid-run."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from safezone.db.engine import Database
from safezone.jobs.models import Job
from safezone.jobs.service import Registry, run_one
from safezone.sim import tasks
from safezone.sim.models import SimRun
from tests.conftest import MakeUser

pytest.importorskip("covasim")

TUY_HOA, SONG_CAU = "555", "557"
#: A tiny, fast sweep: Tuy Hoà's communes at 0.2 %, one seed, ten days.
SMALL: dict[str, Any] = {
    "unit_code": TUY_HOA,
    "adoption": "csv",
    "adoption_csv": "unit_code,adoption\n555,0.4\n",
    "days": 10,
    "seeds": 1,
    "scale": 0.002,
}
Headers = Callable[..., dict[str, str]]


@pytest.fixture
def registry(settings: Any) -> Registry:
    reg = Registry()
    tasks.register(reg, settings, workers=1)
    return reg


@pytest.fixture
def officer(make_user: MakeUser, token_for: Headers) -> dict[str, str]:
    return token_for(make_user("chiendich.tuyhoa", "campaign_officer", TUY_HOA))


def _drain(db: Database, registry: Registry) -> int:
    done = 0
    while run_one(db, registry):
        done += 1
    return done


def test_a_run_started_through_the_api_runs_in_the_worker_and_stores_results(
    client: TestClient, db: Database, registry: Registry, officer: dict[str, str]
) -> None:
    started = client.post("/api/v1/sim/runs", json=SMALL, headers=officer)
    assert started.status_code == 202, started.text
    body = started.json()
    assert body["status"] == "queued"
    assert body["progress"] == 0.0
    assert body["params"]["adoption"] == {"555": 0.4}
    assert body["root_code"] == TUY_HOA
    assert client.get(f"/api/v1/sim/runs/{body['id']}", headers=officer).json()["outputs"] is None

    assert _drain(db, registry) >= 1
    run = client.get(f"/api/v1/sim/runs/{body['id']}", headers=officer).json()
    assert run["status"] == "done", run["error"]
    assert run["progress"] == 1.0
    assert run["engine_version"].startswith("covasim ")
    outputs = run["outputs"]
    assert [d["code"] for d in outputs["districts"]] == [TUY_HOA]
    assert len(outputs["curves"]["without_app"]) == 11  # day 0 to day 10
    assert outputs["overall"]["infections_without_app"]["mean"] > 0
    listed = client.get("/api/v1/sim/runs", headers=officer).json()
    assert [r["id"] for r in listed] == [body["id"]]


def test_a_plan_started_through_the_api_ranks_districts_and_names_its_yield_sources(
    client: TestClient, db: Database, registry: Registry, officer: dict[str, str]
) -> None:
    plan = {**SMALL, "volunteer_days": 50, "reminders": 0, "steps": 1, "yields": "default"}
    started = client.post("/api/v1/sim/plans", json=plan, headers=officer)
    assert started.status_code == 202, started.text
    _drain(db, registry)
    run = client.get(f"/api/v1/sim/runs/{started.json()['id']}", headers=officer).json()
    assert run["status"] == "done", run["error"]
    assert run["progress"] == 1.0
    outputs = run["outputs"]
    assert [r["district_code"] for r in outputs["rows"]] == [TUY_HOA]
    assert outputs["rows"][0]["volunteer_days"] == 50
    assert outputs["yield_sources"] == {TUY_HOA: {"volunteer_days": "default",
                                                   "reminders": "default"}}  # fmt: skip
    confirmation = outputs["confirmation"]
    assert {"greedy", "proportional", "greedy_summary", "proportional_summary"} <= set(confirmation)
    assert confirmation["greedy_summary"]["districts"][0]["code"] == TUY_HOA


def test_progress_is_written_as_seeds_finish(
    client: TestClient,
    db: Database,
    registry: Registry,
    officer: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[float] = []
    original = tasks.store_progress

    def spy(factory: Any, run_id: int, fraction: float) -> None:
        original(factory, run_id, fraction)
        with factory() as session:
            seen.append(session.get_one(SimRun, run_id).progress)  # as another reader sees it

    monkeypatch.setattr(tasks, "store_progress", spy)
    started = client.post("/api/v1/sim/runs", json={**SMALL, "seeds": 2}, headers=officer)
    _drain(db, registry)
    assert seen == [0.0, 0.5, 1.0]
    assert (
        client.get(f"/api/v1/sim/runs/{started.json()['id']}", headers=officer).json()["progress"]
        == 1.0
    )


def test_who_may_see_and_start_runs(
    client: TestClient, db: Database, registry: Registry, make_user: MakeUser, token_for: Headers,
    officer: dict[str, str],
) -> None:  # fmt: skip
    run_id = client.post("/api/v1/sim/runs", json=SMALL, headers=officer).json()["id"]
    volunteer = token_for(make_user("tnv", "volunteer", "22015"))
    health = token_for(make_user("yte", "health_officer", TUY_HOA))
    elsewhere = token_for(make_user("chiendich.songcau", "campaign_officer", SONG_CAU))
    verifier = token_for(make_user("xacminh", "verifier", TUY_HOA))
    reporter = token_for(make_user("baocao", "org_reporter", TUY_HOA))
    admin = token_for(make_user("quantri", "admin", "54"))
    read = f"/api/v1/sim/runs/{run_id}"

    # Anonymous: nothing.
    assert client.get("/api/v1/sim/runs").status_code == 401
    assert client.get(read).status_code == 401
    assert client.post("/api/v1/sim/runs", json=SMALL).status_code in (401, 403)
    # Volunteers, verifiers, organisation reporters: neither read nor start.
    for headers in (volunteer, verifier, reporter):
        assert client.get("/api/v1/sim/runs", headers=headers).status_code == 403
        assert client.get(read, headers=headers).status_code == 403
        assert client.post("/api/v1/sim/runs", json=SMALL, headers=headers).status_code == 403
        assert client.post("/api/v1/sim/plans", json=SMALL, headers=headers).status_code == 403
    # Health officers read in their scope but start nothing.
    assert client.get(read, headers=health).status_code == 200
    assert client.post("/api/v1/sim/runs", json=SMALL, headers=health).status_code == 403
    # Another district's campaign officer: the run does not exist for them; its unit neither.
    assert client.get(read, headers=elsewhere).status_code == 404
    assert client.get("/api/v1/sim/runs", headers=elsewhere).json() == []
    stolen = client.post("/api/v1/sim/runs", json=SMALL, headers=elsewhere)
    assert stolen.status_code == 404
    assert client.get("/api/v1/sim/runs/999999", headers=officer).status_code == 404
    # Nothing was queued by the refused requests.
    with db.session() as session:
        assert session.scalars(select(SimRun.id)).all() == [run_id]
    # The province admin sees it.
    assert client.get(read, headers=admin).status_code == 200


def test_bad_requests_name_every_field_in_both_languages(
    client: TestClient, db: Database, officer: dict[str, str]
) -> None:
    answer = client.post(
        "/api/v1/sim/runs",
        json={**SMALL, "days": 0, "seeds": 1000, "scale": 5, "adoption_csv": ""},
        headers=officer,
    )
    assert answer.status_code == 422
    errors = {e["field"]: e for e in answer.json()["errors"]}
    assert set(errors) == {"days", "seeds", "scale", "adoption_csv"}
    assert "Số ngày" in errors["days"]["message_vi"]
    assert "Days" in errors["days"]["message_en"]

    bad_csv = client.post(
        "/api/v1/sim/runs",
        json={**SMALL, "adoption_csv": "unit_code,adoption\n555,1.5\n99999,0.1\n"},
        headers=officer,
    )
    assert bad_csv.status_code == 422
    fields = [e["field"] for e in bad_csv.json()["errors"]]
    assert fields == ["adoption_csv.row[2].adoption", "adoption_csv.row[3].unit_code"]

    empty = client.post(
        "/api/v1/sim/plans", json={**SMALL, "volunteer_days": 0, "reminders": 0}, headers=officer
    )
    assert empty.status_code == 422
    assert [e["field"] for e in empty.json()["errors"]] == ["volunteer_days"]
    with db.session() as session:
        assert session.scalars(select(SimRun.id)).all() == []
        assert session.scalars(select(Job.id).where(Job.kind == tasks.RUN_JOB)).all() == []


def test_a_job_that_raises_marks_the_run_failed_with_its_reason(
    client: TestClient,
    db: Database,
    registry: Registry,
    officer: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def boom(*args: Any, **kwargs: Any) -> dict[str, Any]:
        raise MemoryError("engine ran out of memory")

    monkeypatch.setattr(tasks, "_compute", boom)
    run_id = client.post("/api/v1/sim/runs", json=SMALL, headers=officer).json()["id"]
    _drain(db, registry)
    run = client.get(f"/api/v1/sim/runs/{run_id}", headers=officer).json()
    assert run["status"] == "failed"
    assert run["error"] == "MemoryError: engine ran out of memory"
    with db.session() as session:  # the job itself is done: not retried for ever
        job = session.scalar(select(Job).where(Job.dedupe_key == tasks.dedupe_key(run_id)))
        assert job is not None
        assert job.done_at is not None


def _kill_mid_run(db: Database, run_id: int) -> None:
    """What a worker killed during the run leaves: a claimed job and a running row."""
    from safezone.jobs.service import claim

    with db.session() as session:
        job = claim(session)
        assert job is not None
        assert job.dedupe_key == tasks.dedupe_key(run_id)
        session.get_one(SimRun, run_id).status = "running"
        session.get_one(SimRun, run_id).progress = 0.5
    with db.session() as session:  # ... and its lease runs out
        job = session.scalar(select(Job).where(Job.dedupe_key == tasks.dedupe_key(run_id)))
        assert job is not None
        job.locked_until = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)


def test_a_run_whose_worker_was_killed_is_run_again_after_the_lease(
    client: TestClient, db: Database, registry: Registry, officer: dict[str, str]
) -> None:
    run_id = client.post("/api/v1/sim/runs", json=SMALL, headers=officer).json()["id"]
    _kill_mid_run(db, run_id)
    _drain(db, registry)
    run = client.get(f"/api/v1/sim/runs/{run_id}", headers=officer).json()
    assert run["status"] == "done"
    assert run["progress"] == 1.0


def test_a_run_that_keeps_killing_its_worker_is_failed_not_started_again(
    client: TestClient, db: Database, registry: Registry, officer: dict[str, str]
) -> None:
    run_id = client.post("/api/v1/sim/runs", json=SMALL, headers=officer).json()["id"]
    for _ in range(tasks.MAX_ATTEMPTS):
        _kill_mid_run(db, run_id)
    _drain(db, registry)
    run = client.get(f"/api/v1/sim/runs/{run_id}", headers=officer).json()
    assert run["status"] == "failed"
    assert f"stopped {tasks.MAX_ATTEMPTS} times" in run["error"]


def test_the_sweep_fails_runs_whose_job_is_gone(
    client: TestClient, db: Database, officer: dict[str, str]
) -> None:
    run_id = client.post("/api/v1/sim/runs", json=SMALL, headers=officer).json()["id"]
    with db.session() as session:
        session.delete(
            session.scalar(select(Job).where(Job.dedupe_key == tasks.dedupe_key(run_id)))
        )
    with db.session() as session:
        assert tasks.recover(session) == 1
    with db.session() as session:
        run = session.get_one(SimRun, run_id)
        assert run.status == "failed"
        assert "job is missing" in (run.error or "")
        assert tasks.recover(session) == 0


def test_without_the_simulator_starting_answers_503_and_reading_still_works(
    client: TestClient, officer: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tasks, "engine_available", lambda: False)
    answer = client.post("/api/v1/sim/runs", json=SMALL, headers=officer)
    assert answer.status_code == 503
    (error,) = answer.json()["errors"]
    assert error["code"] == "simulator_not_installed"
    assert "Covasim" in error["message_vi"]
    assert "not installed" in error["message_en"]
    assert client.get("/api/v1/sim/runs", headers=officer).status_code == 200
    assert client.get("/api/v1/sim/status", headers=officer).json() == {
        "simulator_installed": False
    }


def test_the_api_is_in_the_openapi_document(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/api/v1/sim/runs", "/api/v1/sim/plans", "/api/v1/sim/runs/{run_id}"} <= set(paths)
    assert "202" in paths["/api/v1/sim/runs"]["post"]["responses"]


def test_the_heartbeat_extends_the_lease_while_the_run_lives(
    client: TestClient, db: Database, officer: dict[str, str]
) -> None:
    from sqlalchemy.orm import sessionmaker

    run_id = client.post("/api/v1/sim/runs", json=SMALL, headers=officer).json()["id"]
    key = tasks.dedupe_key(run_id)
    with db.session() as session:
        job = session.scalar(select(Job).where(Job.dedupe_key == key))
        assert job is not None
        job.locked_until = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)  # as if the lease ran out
    factory = sessionmaker(bind=db.engine)
    beat = tasks._Heartbeat(factory, key, every=0.01)
    extended = False
    with beat:
        for _ in range(1000):  # until the first beat lands (bounded: no endless loop)
            with db.session() as session:
                job = session.scalar(select(Job).where(Job.dedupe_key == key))
                assert job is not None
                assert job.locked_until is not None
                locked = job.locked_until.replace(tzinfo=job.locked_until.tzinfo or dt.UTC)
            if locked > dt.datetime.now(dt.UTC):
                extended = True
                break
            beat.stop.wait(0.01)
    assert extended
    assert not beat.thread.is_alive()  # stopped with the run


def test_nul_bytes_in_codes_are_refused_not_sent_to_the_database(
    client: TestClient, officer: dict[str, str]
) -> None:
    unit = client.post("/api/v1/sim/runs", json={**SMALL, "unit_code": "\x00"}, headers=officer)
    assert unit.status_code == 422  # refused at the edge (safezone.web.guards)
    assert [e["field"] for e in unit.json()["errors"]] == ["unit_code"]
    app = client.post(
        "/api/v1/sim/runs",
        json={**SMALL, "adoption": "campaign", "app_code": "nc\x00vi"},
        headers=officer,
    )
    assert app.status_code == 422
    assert [e["field"] for e in app.json()["errors"]] == ["app_code"]
