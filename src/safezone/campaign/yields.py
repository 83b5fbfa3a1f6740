"""Install yields observed in the field, per district: what one volunteer-day or one reminder
brings in installs. The simulator's planner reads them (``safezone.sim`` imports this module
lazily; the campaign never imports the simulator).

- Installs per volunteer-day: apps installed with the volunteer's help during door-to-door
  visits, divided by the distinct volunteer-days with visits (a volunteer who knocked on doors
  on a day, Vietnam's calendar), per district (the parent of the visited commune).
- Installs per reminder: install confirmations through reminder links divided by reminders
  handed to a gateway (messaging's funnel).

A district with too little data takes the province-wide figure, and without enough data there
either the caller's default; each figure says where it came from.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from safezone.accounts.service import Scope
from safezone.campaign.models import AppResult, Visit, VisitApp
from safezone.units.models import Unit

#: Fewer volunteer-days (or sent reminders) than this in a district: use the wider figure.
MIN_VOLUNTEER_DAYS = 5
MIN_REMINDERS_SENT = 100
_VIETNAM = dt.timezone(dt.timedelta(hours=7))


def _local_day(moment: dt.datetime) -> dt.date:
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)
    return aware.astimezone(_VIETNAM).date()


def _parents(session: Session, codes: set[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    wanted = sorted(codes)
    for start in range(0, len(wanted), 500):
        batch = wanted[start : start + 500]
        for code, parent in session.execute(
            select(Unit.code, Unit.parent_code).where(Unit.code.in_(batch))
        ):
            out[code] = parent or code
    return out


def _visit_figures(
    session: Session, app_code: str | None
) -> tuple[dict[str, int], dict[str, set[tuple[int, dt.date]]]]:
    installs_query = (
        select(Visit.unit_code, func.count())
        .join(VisitApp, VisitApp.visit_id == Visit.id)
        .where(VisitApp.result == AppResult.INSTALLED_WITH_HELP)
        .group_by(Visit.unit_code)
    )
    if app_code:
        installs_query = installs_query.where(VisitApp.app_code == app_code)
    installs = {code: int(n) for code, n in session.execute(installs_query)}
    days: dict[str, set[tuple[int, dt.date]]] = defaultdict(set)
    for code, volunteer, moment in session.execute(
        select(Visit.unit_code, Visit.volunteer_id, Visit.visited_at).where(
            Visit.volunteer_id.is_not(None)
        )
    ):
        if volunteer is not None:
            days[code].add((int(volunteer), _local_day(moment)))
    return installs, days


def _reminder_figures(session: Session) -> dict[str, tuple[int, int]]:
    """(sent, confirmed) per commune from messaging's funnel, over every root's subtree."""
    from safezone.messaging import service as messaging

    out: dict[str, tuple[int, int]] = {}
    for code, path in session.execute(
        select(Unit.code, Unit.path).where(Unit.parent_code.is_(None))
    ):
        for row in messaging.funnel(session, Scope(code, path)):
            sent, confirmed = out.get(row.unit_code, (0, 0))
            out[row.unit_code] = (sent + row.sent, confirmed + row.confirmed)
    return out


def field_yields(
    session: Session,
    district_codes: Sequence[str],
    *,
    default_per_volunteer_day: float,
    default_per_reminder: float,
    app_code: str | None = None,
) -> dict[str, dict[str, Any]]:
    """Per district code: ``installs_per_volunteer_day`` and ``installs_per_reminder`` with
    their sources (``district``, ``province`` or ``default``) and the counts behind them."""
    installs, days = _visit_figures(session, app_code)
    reminders = _reminder_figures(session)
    parents = _parents(session, set(installs) | set(days) | set(reminders))
    by_district: dict[str, dict[str, Any]] = defaultdict(
        lambda: {"installs": 0, "days": set(), "sent": 0, "confirmed": 0}
    )
    for code, n in installs.items():
        by_district[parents.get(code, code)]["installs"] += n
    for code, pairs in days.items():
        by_district[parents.get(code, code)]["days"] |= pairs
    for code, (sent, confirmed) in reminders.items():
        entry = by_district[parents.get(code, code)]
        entry["sent"] += sent
        entry["confirmed"] += confirmed
    total_installs = sum(e["installs"] for e in by_district.values())
    total_days = sum(len(e["days"]) for e in by_district.values())
    total_sent = sum(e["sent"] for e in by_district.values())
    total_confirmed = sum(e["confirmed"] for e in by_district.values())
    out: dict[str, dict[str, Any]] = {}
    for district in district_codes:
        entry = by_district.get(district, {"installs": 0, "days": set(), "sent": 0, "confirmed": 0})
        n_days = len(entry["days"])
        if n_days >= MIN_VOLUNTEER_DAYS:
            per_day, day_source = entry["installs"] / n_days, "district"
        elif total_days >= MIN_VOLUNTEER_DAYS:
            per_day, day_source = total_installs / total_days, "province"
        else:
            per_day, day_source = default_per_volunteer_day, "default"
        if entry["sent"] >= MIN_REMINDERS_SENT:
            per_reminder, reminder_source = entry["confirmed"] / entry["sent"], "district"
        elif total_sent >= MIN_REMINDERS_SENT:
            per_reminder, reminder_source = total_confirmed / total_sent, "province"
        else:
            per_reminder, reminder_source = default_per_reminder, "default"
        out[district] = {
            "installs_per_volunteer_day": per_day,
            "installs_per_reminder": per_reminder,
            "volunteer_day_source": day_source,
            "reminder_source": reminder_source,
            "installs": entry["installs"],
            "volunteer_days": n_days,
            "reminders_sent": entry["sent"],
            "confirmed": entry["confirmed"],
        }
    return out
