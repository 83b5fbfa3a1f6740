"""Assembling the processes: the worker's job registry and the demo's set-up."""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func, select

from safezone.accounts import service as accounts
from safezone.accounts.models import Role, User
from safezone.campaign.demo import seed_campaign_demo
from safezone.config import Settings, read_demo_secrets
from safezone.db.engine import Database, sqlite_file
from safezone.db.migrate import upgrade
from safezone.jobs.service import Registry
from safezone.units import service as units
from safezone.units.models import Unit

#: Demo staff: (username, role, unit code). Tuy Hòa city (555), its Phường 1 (22015).
DEMO_STAFF: tuple[tuple[str, Role, str], ...] = (
    ("yte.tinh", Role.HEALTH_OFFICER, "54"),
    ("yte.tuyhoa", Role.HEALTH_OFFICER, "555"),
    ("yte.phuong1", Role.HEALTH_OFFICER, "22015"),
    ("xacminh.tinh", Role.VERIFIER, "54"),
    ("chiendich.tuyhoa", Role.CAMPAIGN_OFFICER, "555"),
    ("tnv.phuong1", Role.VOLUNTEER, "22015"),
    ("baocao.ubndtuyhoa", Role.ORG_REPORTER, "555"),  # campaign.demo binds it to its organisation
    ("tnv.phuong8", Role.VOLUNTEER, "22018"),
)


def build_registry(settings: Settings) -> Registry:
    """Every job kind the worker knows (domains add theirs here)."""
    from safezone.accounts import tasks as account_tasks
    from safezone.campaign import tasks as campaign_tasks
    from safezone.campaign.materials import tasks as materials_tasks
    from safezone.declarations import tasks as declaration_tasks
    from safezone.exposure import tasks as exposure_tasks
    from safezone.messaging import tasks as messaging_tasks
    from safezone.sim import tasks as sim_tasks

    registry = Registry()
    _register_rate_counter_purge(registry, settings)
    account_tasks.register(registry, settings)
    declaration_tasks.register(registry, settings)
    exposure_tasks.register(registry, settings)  # export batches + retention
    messaging_tasks.register(registry, settings)  # the reminder planner
    campaign_tasks.register(registry, settings)  # door-to-door and usage figures, hourly
    materials_tasks.register(registry, settings)  # scheduled reports, broadcast audio
    sim_tasks.register(registry, settings)  # simulations started from /sim, stale-run sweep
    return registry


RATE_COUNTER_PURGE_JOB = "ratelimit.purge"


def _register_rate_counter_purge(registry: Registry, settings: Settings) -> None:
    """Expired rate-limit counters are deleted hourly (a no-op with Redis, which expires them)."""
    import time

    from sqlalchemy.orm import Session

    from safezone.ratelimit import store_for

    @registry.handler(RATE_COUNTER_PURGE_JOB)
    def purge(session: Session, payload: dict[str, object]) -> None:
        del payload
        store_for(settings, session.get_bind().engine).purge(time.time())

    registry.every(RATE_COUNTER_PURGE_JOB, dt.timedelta(hours=1))


@dataclass
class DemoSetup:
    """What the demo prepared, for printing."""

    admin_password: str | None
    staff_passwords: dict[str, str] = field(default_factory=dict)
    units_loaded: int = 0


def prepare_demo(
    settings: Settings, database: Database, *, admin_password: str | None
) -> DemoSetup:
    """Migrate, load the bundled units if the tree is empty, create admin and demo staff.

    Running it again keeps every row; the admin password changes only when one is given.
    """
    make_private(settings)
    upgrade(database.engine)
    result = DemoSetup(admin_password=None)
    with database.session() as session:
        if not session.scalar(select(func.count()).select_from(Unit)):
            result.units_loaded = units.load_bundled(session).created
    stored = read_demo_secrets(settings.data_dir).get("staff_passwords", {})
    with database.session() as session:
        admin = session.scalar(select(User).where(User.username == "admin"))
        root = session.scalars(select(Unit.code).where(Unit.parent_code.is_(None))).first()
        assert root is not None
        if admin is None:
            result.admin_password = admin_password or secrets.token_urlsafe(12)
            accounts.create_user(
                session,
                username="admin",
                password=result.admin_password,
                role=Role.ADMIN,
                unit_code=root,
                full_name="Quản trị demo",
            )
        elif admin_password:
            accounts.set_password(session, admin, admin_password, actor="demo")
            result.admin_password = admin_password
        for username, role, unit_code in DEMO_STAFF:
            if session.get(Unit, unit_code) is None:
                continue
            password = stored.get(username) or secrets.token_urlsafe(9)
            if session.scalar(select(User.id).where(User.username == username)) is None:
                accounts.create_user(
                    session, username=username, password=password, role=role, unit_code=unit_code
                )
            result.staff_passwords[username] = password
    _remember_staff_passwords(settings.data_dir, result.staff_passwords)
    _prepare_exposure_demo(settings, database)
    with database.session() as session:  # households and visits first: the campaign's
        from safezone.campaign.field_demo import seed_field_demo  # figures count the visits

        seed_field_demo(session, settings)
    database.run(seed_campaign_demo)
    return result


def make_private(settings: Settings) -> None:
    """Make the data directory 0700 and the SQLite database with its ``-wal``/``-shm`` files
    0600, also when an earlier version created them readable by everyone.

    New database files are created 0600 by :func:`safezone.db.engine.build_engine`, and SQLite
    gives the ``-wal``/``-shm`` files the database file's mode.
    """
    settings.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    settings.data_dir.chmod(0o700)
    database = sqlite_file(settings.sqlalchemy_url)
    if database is None:
        return
    for path in (database, Path(f"{database}-wal"), Path(f"{database}-shm")):
        if path.exists():
            path.chmod(0o600)


def _prepare_exposure_demo(settings: Settings, database: Database) -> None:
    """The demo's exposure server: health authority ``safezone-demo`` for region ``VN``
    (``safezone.exposure.publish.health_authorities`` in demo mode) and a signing key,
    generated on the first start."""
    from safezone.db.base import utcnow
    from safezone.exposure import signing

    with database.session() as session:
        signing.ensure_key(session, settings, now=utcnow())


def _remember_staff_passwords(data_dir: Path, passwords: dict[str, str]) -> None:
    path = data_dir / "secrets.json"
    content = {**read_demo_secrets(data_dir), "staff_passwords": passwords}
    temporary = path.with_suffix(".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(content, handle)
    temporary.replace(path)
