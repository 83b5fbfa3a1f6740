"""Shared fixtures: a migrated database with the Phú Yên units, the app, users, logins.

The suite runs on SQLite by default and on PostgreSQL when ``SAFEZONE_TEST_DATABASE_URL`` names
a throw-away PostgreSQL database (CI does both). Each test gets an empty database holding only
the bundled unit tree.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

import safezone.models  # noqa: F401 - every table on the metadata
from safezone.accounts import service as accounts
from safezone.accounts.models import User
from safezone.app import create_app
from safezone.config import Settings
from safezone.db.base import Base
from safezone.db.engine import Database
from safezone.db.migrate import upgrade
from safezone.units.service import load_bundled

TEST_SECRET = "test-secret-key-that-is-long-enough-0123456789"
PASSWORD = "correct-horse-battery"
POSTGRES_URL = os.environ.get("SAFEZONE_TEST_DATABASE_URL", "")
#: Tables whose rows come from a migration and are not emptied between PostgreSQL tests.
SEEDED_TABLES = frozenset({"campaign_apps"})


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file with the units, copied for each test (faster than migrating)."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    database = Database(f"sqlite:///{path}")
    upgrade(database.engine)
    with database.session() as session:
        load_bundled(session)
    database.dispose()
    return path


@pytest.fixture(scope="session")
def postgres_migrated() -> bool:
    """Migrate the PostgreSQL test database once per run."""
    if not POSTGRES_URL:
        return False
    database = Database(Settings(database_url=POSTGRES_URL).sqlalchemy_url)
    with database.engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    upgrade(database.engine)
    database.dispose()
    return True


@pytest.fixture
def database_url(tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """The URL of an empty database holding only the unit tree."""
    return empty_database_url(tmp_path, request)


def empty_database_url(tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """Empty the test database (PostgreSQL) or copy the template into ``tmp_path`` (SQLite).

    Also for fixtures of a wider scope (a module sharing one seeded database).
    """
    if POSTGRES_URL:
        request.getfixturevalue("postgres_migrated")
        url = Settings(database_url=POSTGRES_URL).sqlalchemy_url
        database = Database(url)
        # Reference rows a migration seeds (the campaign's apps) stay, as on a fresh database.
        tables = ", ".join(
            table.name for table in Base.metadata.sorted_tables if table.name not in SEEDED_TABLES
        )
        with database.engine.begin() as connection:
            connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        with database.session() as session:
            load_bundled(session)
        database.dispose()
        return POSTGRES_URL
    template = request.getfixturevalue("sqlite_template")
    path = tmp_path / "safezone.db"
    shutil.copyfile(template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    """Settings for one test."""
    return Settings(
        data_dir=tmp_path,
        database_url=database_url,
        secret_key=TEST_SECRET,
        log_json=True,
    )


@pytest.fixture
def db(settings: Settings) -> Iterator[Database]:
    """The test's database."""
    database = Database(settings.sqlalchemy_url)
    yield database
    database.dispose()


@pytest.fixture
def app(settings: Settings, db: Database):  # type: ignore[no-untyped-def]
    """The web app on the test's database."""
    return create_app(settings, db)


@pytest.fixture
def client(app) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    """An HTTP client for the app (cookies persist across its requests)."""
    with TestClient(app, base_url="http://testserver") as test_client:
        yield test_client


MakeUser = Callable[..., User]


@pytest.fixture
def make_user(db: Database) -> MakeUser:
    """Create a staff user: ``make_user("name", "health_officer", "555")``."""

    def factory(
        username: str, role: str = "admin", unit_code: str = "54", password: str = PASSWORD
    ) -> User:
        with db.session() as session:
            return accounts.create_user(
                session, username=username, password=password, role=role, unit_code=unit_code
            )

    return factory


@pytest.fixture
def token_for(db: Database) -> Callable[[User], dict[str, str]]:
    """Bearer-token headers for a user."""

    def factory(user: User) -> dict[str, str]:
        with db.session() as session:
            token = accounts.issue_token(session, session.get_one(User, user.id))
        return {"Authorization": f"Bearer {token}"}

    return factory


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_from(html: str) -> str:
    """The CSRF token in a rendered form."""
    match = CSRF_INPUT.search(html)
    assert match, "no CSRF token in the page"
    return match.group(1)


def login(client: TestClient, username: str, password: str = PASSWORD) -> str:
    """Log ``client`` in through the form; returns the session's CSRF token."""
    page = client.get("/login", headers={"Accept": "text/html"})
    response = client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": csrf_from(page.text)},
        headers={"Accept": "text/html"},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return csrf_from(client.get("/units", headers={"Accept": "text/html"}).text)


REDIS_URL = os.environ.get("SAFEZONE_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def redis_client_or_skip():  # type: ignore[no-untyped-def]
    """A client of the test Redis; skips when it is down unless SAFEZONE_REQUIRE_REDIS=1."""
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.ConnectionError:
        if os.environ.get("SAFEZONE_REQUIRE_REDIS") == "1":
            raise
        pytest.skip(f"Redis is not reachable at {REDIS_URL}")
    return client


@pytest.fixture(params=["sql", "redis"])
def counter_store(request: pytest.FixtureRequest, settings: Settings, db: Database):  # type: ignore[no-untyped-def]
    """A shared rate-limit counter store: the test database's, then Redis (isolated prefix)."""
    import uuid

    from safezone import ratelimit

    if request.param == "sql":
        return ratelimit.store_for(settings, db.engine)
    client = redis_client_or_skip()
    return ratelimit.RedisCounterStore(client, prefix=f"safezone-test:{uuid.uuid4().hex}:")
