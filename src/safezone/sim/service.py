"""Simulation services: communes from the unit tree, adoption inputs, stored runs.

No HTTP and no engine here: this module imports neither Covasim nor the web shell, so the
rest of the platform can read stored results without the ``sim`` extra.
"""

from __future__ import annotations

import csv
import importlib
import io
import math
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from safezone.db.base import utcnow
from safezone.errors import FieldError, InvalidInput, NotFound
from safezone.sim.models import SimRun
from safezone.sim.population import CommuneSpec
from safezone.units import service as units
from safezone.units.models import COMMUNE, Unit

MAX_ADOPTION_ROWS = 10_000


def communes_from_tree(session: Session, root_code: str | None = None) -> list[CommuneSpec]:
    """The communes under ``root_code`` (every root when None), with their census figures.

    A commune's "district" is its parent, whatever that level is called, so a two-level tree
    (province > commune, Vietnam since 2025) works too: its communes group by province.
    """
    out: list[CommuneSpec] = []
    stack = [root_code]
    while stack:
        code = stack.pop()
        for unit in units.children(session, code):
            if unit.level == COMMUNE:
                out.append(
                    CommuneSpec(
                        code=unit.code,
                        district_code=unit.parent_code or unit.code,
                        population=unit.population or 0,
                        urban_population=unit.urban_population or 0,
                        households=unit.households or 0,
                    )
                )
            else:
                stack.append(unit.code)
    out.sort(key=lambda c: (c.district_code, c.code))
    if not out:
        raise NotFound.single(
            "root_code",
            "no_communes",
            "Không có xã/phường nào dưới đơn vị này: hãy nạp cây đơn vị hành chính.",
            "No commune lies under this unit: load the unit tree first.",
        )
    return out


def bundled_communes() -> list[CommuneSpec]:
    """The communes of the bundled Phú Yên 2019 census file, without a database."""
    rows = units.read_csv(units.bundled_csv())
    out = [
        CommuneSpec(
            code=str(r["code"]),
            district_code=str(r["parent_code"]),
            population=int(r.get("population_2019") or 0),
            urban_population=int(r.get("urban_population_2019") or 0),
            households=int(r.get("households_2019") or 0),
        )
        for r in rows
        if r["level"] == COMMUNE
    ]
    out.sort(key=lambda c: (c.district_code, c.code))
    return out


def unit_names(session: Session, codes: Sequence[str]) -> dict[str, str]:
    """Display names of ``codes`` (unknown codes are left out)."""
    return units.names_of(session, codes)


def _row_error(row: int, field: str, code: str, vi: str, en: str) -> FieldError:
    return FieldError(f"row[{row}].{field}", code, f"dòng {row}: {vi}", f"row {row}: {en}")


def read_adoption_csv(text: str, known_codes: Sequence[str] | None = None) -> dict[str, float]:
    """Parse ``unit_code,adoption`` rows (a share 0-1 per commune or district).

    Every row is checked before anything is returned; all problems are reported together.
    """
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    columns = set(reader.fieldnames or [])
    missing = [c for c in ("unit_code", "adoption") if c not in columns]
    if missing:
        raise InvalidInput(
            *(
                FieldError(c, "missing_column", f"thiếu cột {c!r}", f"missing column {c!r}")
                for c in missing
            )
        )
    known = set(known_codes) if known_codes is not None else None
    errors: list[FieldError] = []
    out: dict[str, float] = {}
    seen: set[str] = set()
    for i, raw in enumerate(reader, start=2):
        if i - 1 > MAX_ADOPTION_ROWS:
            errors.append(
                _row_error(i, "unit_code", "too_many_rows", "quá nhiều dòng", "too many rows")
            )
            break
        code = (raw.get("unit_code") or "").strip()
        value = (raw.get("adoption") or "").strip()
        if not code:
            errors.append(
                _row_error(i, "unit_code", "required", "thiếu mã đơn vị", "unit code is required")
            )
            continue
        if known is not None and code not in known:
            errors.append(
                _row_error(
                    i,
                    "unit_code",
                    "unknown_unit",
                    f"không có đơn vị mã {code!r}",
                    f"no unit has code {code!r}",
                )
            )
            continue
        if code in seen:
            errors.append(
                _row_error(
                    i,
                    "unit_code",
                    "duplicate",
                    f"mã {code!r} lặp lại",
                    f"code {code!r} appears twice",
                )
            )
            continue
        seen.add(code)
        try:
            share = float(value.rstrip("%")) / (100 if value.endswith("%") else 1)
        except ValueError:
            share = math.nan
        if not 0.0 <= share <= 1.0:  # NaN fails too
            errors.append(
                _row_error(
                    i,
                    "adoption",
                    "out_of_range",
                    "tỷ lệ cài đặt phải từ 0 đến 1",
                    "adoption must be a share from 0 to 1",
                )
            )
            continue
        out[code] = share
    if errors:
        raise InvalidInput(*errors)
    return out


def adoption_from_campaign(session: Session, app_code: str) -> dict[str, float]:
    """Current adoption per unit code from the campaign's coverage figures.

    ``safezone.campaign.coverage`` is imported lazily (it is another domain's service, and
    may not be installed in this build); a clear error says so when it is missing.
    """
    try:
        coverage = importlib.import_module("safezone.campaign.coverage")
    except ImportError as exc:
        raise InvalidInput.single(
            "adoption",
            "campaign_unavailable",
            "Chưa có số liệu độ phủ của chiến dịch (safezone.campaign.coverage); "
            "hãy dùng tệp CSV unit_code,adoption.",
            "Campaign coverage (safezone.campaign.coverage) is not available in this build; "
            "use a CSV file with unit_code,adoption.",
        ) from exc
    fn = getattr(coverage, "adoption_by_unit", None)
    if fn is None:
        raise InvalidInput.single(
            "adoption",
            "campaign_unavailable",
            "safezone.campaign.coverage không có hàm adoption_by_unit.",
            "safezone.campaign.coverage has no adoption_by_unit function.",
        )
    result: Mapping[str, float] = fn(session, app_code)
    return {str(k): min(1.0, max(0.0, float(v))) for k, v in result.items()}


def campaign_apps(session: Session) -> list[tuple[str, str]]:
    """(code, name) of the campaign's active apps, or [] when the campaign is not installed."""
    try:
        campaign = importlib.import_module("safezone.campaign.service")
    except ImportError:
        return []
    return [(a.code, a.name) for a in campaign.list_apps(session, active_only=True)]


#: Until the campaign has field data: installs per volunteer-day and per reminder sent.
DEFAULT_PER_VOLUNTEER_DAY = 20.0
DEFAULT_PER_REMINDER = 0.02


def resolve_yields(
    session: Session, source: str, district_codes: Sequence[str], app_code: str | None = None
) -> tuple[dict[str, dict[str, float]], dict[str, dict[str, str]]]:
    """Yields per district (``installs_per_volunteer_day``, ``installs_per_reminder``) and
    where each came from (``district``, ``province``, ``default``).

    ``source`` "campaign" reads the campaign's field data through
    ``safezone.campaign.yields.field_yields`` (imported lazily); "default" uses the defaults.
    """
    if source == "campaign":
        try:
            module = importlib.import_module("safezone.campaign.yields")
        except ImportError:
            module = None
        if module is not None:
            found: Mapping[str, Mapping[str, Any]] = module.field_yields(
                session,
                list(district_codes),
                default_per_volunteer_day=DEFAULT_PER_VOLUNTEER_DAY,
                default_per_reminder=DEFAULT_PER_REMINDER,
                app_code=app_code or None,
            )
            yields = {
                d: {
                    "installs_per_volunteer_day": float(f["installs_per_volunteer_day"]),
                    "installs_per_reminder": float(f["installs_per_reminder"]),
                }
                for d, f in found.items()
            }
            sources = {
                d: {
                    "volunteer_days": str(f["volunteer_day_source"]),
                    "reminders": str(f["reminder_source"]),
                }
                for d, f in found.items()
            }
            return yields, sources
    default = {
        "installs_per_volunteer_day": DEFAULT_PER_VOLUNTEER_DAY,
        "installs_per_reminder": DEFAULT_PER_REMINDER,
    }
    return (
        {d: dict(default) for d in district_codes},
        {d: {"volunteer_days": "default", "reminders": "default"} for d in district_codes},
    )


# --- stored runs ------------------------------------------------------------------------------


def create_run(
    session: Session,
    *,
    kind: str,
    params: dict[str, Any],
    seeds: Sequence[int],
    label: str = "",
    created_by: str | None = None,
    engine_version: str = "",
    root_code: str | None = None,
) -> SimRun:
    """A queued run row (the worker or the CLI fills in the outputs)."""
    run = SimRun(
        kind=kind,
        status="queued",
        label=label[:200],
        created_by=created_by,
        root_code=root_code,
        engine_version=engine_version,
        params=params,
        seeds=list(seeds),
        outputs=None,
        progress=0.0,
    )
    session.add(run)
    session.flush()
    return run


def finish_run(
    session: Session, run: SimRun, outputs: dict[str, Any], engine_version: str
) -> SimRun:
    """Store a run's outputs."""
    run.outputs = outputs
    run.engine_version = engine_version
    run.status = "done"
    run.progress = 1.0
    run.finished_at = utcnow()
    session.flush()
    return run


def fail_run(session: Session, run: SimRun, error: str) -> SimRun:
    """Mark a run failed with a short message."""
    run.status = "failed"
    run.error = error[:2000]
    run.finished_at = utcnow()
    session.flush()
    return run


def run_not_found(run_id: int) -> NotFound:
    """The error for a run that does not exist or lies outside the reader's units (the same,
    so ids reveal nothing)."""
    return NotFound.single(
        "run_id",
        "sim_run_not_found",
        f"Không có lượt mô phỏng số {run_id}.",
        f"No simulation run has id {run_id}.",
    )


def get_run(session: Session, run_id: int) -> SimRun:
    """A stored run; raises NotFound."""
    run = session.get(SimRun, run_id)
    if run is None:
        raise run_not_found(run_id)
    return run


def list_runs(session: Session, limit: int = 50, *, scope_path: str | None = None) -> list[SimRun]:
    """The latest runs, newest first; with ``scope_path`` (a unit path such as ``54/555/``),
    only runs whose root unit lies in that subtree."""
    query = select(SimRun).order_by(SimRun.id.desc()).limit(limit)
    if scope_path is not None:
        query = query.join(Unit, Unit.code == SimRun.root_code).where(
            Unit.path.startswith(scope_path, autoescape=True)
        )
    return list(session.scalars(query))


def single_root(session: Session) -> str | None:
    """The code of the tree's root when there is exactly one (a province), else None."""
    roots = list(session.scalars(select(Unit.code).where(Unit.parent_code.is_(None)).limit(2)))
    return roots[0] if len(roots) == 1 else None


def run_in_scope(session: Session, run: SimRun, scope_path: str) -> bool:
    """Whether ``run``'s root unit lies in the subtree at ``scope_path``."""
    if run.root_code is None:
        return False
    unit = session.get(Unit, run.root_code)
    return unit is not None and unit.path.startswith(scope_path)
