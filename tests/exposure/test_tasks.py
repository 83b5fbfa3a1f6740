"""The worker runs the export and retention jobs on a schedule."""

from __future__ import annotations

from safezone.config import Settings
from safezone.db.engine import Database
from safezone.exposure import signing
from safezone.exposure.storage import LocalStorage
from safezone.exposure.tasks import EXPORT_JOB, RETENTION_JOB
from safezone.jobs.service import enqueue_periodic, run_one
from safezone.runtime import build_registry
from tests.exposure.conftest import NOW


def test_worker_schedules_and_runs_export_and_retention(
    db: Database, settings: Settings, storage: LocalStorage
) -> None:
    registry = build_registry(settings)
    assert {EXPORT_JOB, RETENTION_JOB} <= {p.kind for p in registry.periodic}
    with db.session() as session:
        signing.generate(session, settings, now=NOW)
    registry = registry.restricted_to(EXPORT_JOB, RETENTION_JOB)  # not every unit's report
    assert enqueue_periodic(db, registry) == 2
    assert enqueue_periodic(db, registry) == 0  # one job per time slot
    while run_one(db, registry):
        pass
    assert storage.get("VN/index.txt").decode().count(".zip") == 1
