"""The demo's campaign measurements for Tuy Hoà (clearly labelled synthetic data).

Targets for the province, a smartphone ratio for the city, official counts imported through the
same path as a real file (three dates, so the trend moves), organisations with reports, and an
``org_reporter`` bound to one of them. Households and visits come from the door-to-door demo
(Phường 1 and Phường 8, left without official counts so their door-to-door figures show).
Running it again adds nothing new for the same day.
"""

from __future__ import annotations

import datetime as dt
import hashlib

from sqlalchemy import select
from sqlalchemy.orm import Session

from safezone.accounts.models import Role, User
from safezone.campaign import figures, service
from safezone.campaign.coverage import local_today
from safezone.campaign.models import Organisation, Target
from safezone.units.models import Unit

CITY = "555"
PROVINCE = "54"
#: Communes whose coverage comes from the door-to-door demo, not from official counts.
FIELD_COMMUNES = ("22015", "22018")
#: The demo's organisation reporter (in runtime.DEMO_STAFF) and the organisation it reports for.
REPORTER = "baocao.ubndtuyhoa"
REPORTER_ORG = "DEMO-UBND-TH"
ORGANISATIONS = (
    "code,name,kind,unit_code,headcount,contact_name,contact_phone,report_every_days\n"
    "DEMO-UBND-TH,UBND thành phố Tuy Hoà (dữ liệu mẫu),agency,555,140,Văn phòng UBND,"
    "02573823456,7\n"
    "DEMO-THPT-NH,Trường THPT Nguyễn Huệ (dữ liệu mẫu),school,22015,96,Văn phòng trường,"
    "02573824567,7\n"
    "DEMO-BV-PY,Bệnh viện Đa khoa tỉnh (dữ liệu mẫu),health_facility,22024,620,Phòng Tổ chức,"
    "02573825678,7\n"
    "DEMO-CTY-TH,Công ty May Tuy Hoà (dữ liệu mẫu),enterprise,22030,850,Phòng Nhân sự,"
    "02573826789,14\n"
    "DEMO-DTN-TH,Thành đoàn Tuy Hoà (dữ liệu mẫu),mass_organisation,555,35,Văn phòng,"
    "02573827890,7\n"
)


def _spread(code: str, app: str, low: float, high: float) -> float:
    """A fixed pseudo-random share for a commune and app (the same every run)."""
    digest = hashlib.sha256(f"{code}:{app}".encode()).digest()
    return low + (high - low) * digest[0] / 255


def _counts_file(session: Session, today: dt.date) -> bytes:
    lines = ["unit_code,app,installs,as_of,smartphone_users"]
    communes = session.execute(
        select(Unit.code, Unit.population)
        .where(Unit.parent_code == CITY, Unit.level == "commune")
        .order_by(Unit.code)
    ).all()
    for code, population in communes:
        if code in FIELD_COMMUNES or not population:
            continue
        phones = round(population * 0.72)
        for app, low, high in (("ncovi", 0.25, 0.55), ("bluezone", 0.15, 0.45)):
            share = _spread(code, app, low, high)
            for days_ago, factor in ((14, 0.7), (7, 0.85), (1, 1.0)):
                installs = round(population * share * factor)
                day = today - dt.timedelta(days=days_ago)
                lines.append(f"{code},{app},{installs},{day.isoformat()},{phones}")
    return ("\n".join(lines) + "\n").encode()


def seed_campaign_demo(session: Session, *, today: dt.date | None = None) -> None:
    """Load the demo's campaign data for Tuy Hoà (no-op without the Phú Yên unit tree)."""
    if session.get(Unit, CITY) is None or session.get(Unit, PROVINCE) is None:
        return
    day = today or local_today()
    deadline = day.replace(month=12, day=31) if day.month < 12 else day + dt.timedelta(days=31)
    for app, share, base in (
        ("ncovi", 0.6, "population"),
        ("bluezone", 0.5, "smartphone_users"),
        ("safezone", 0.3, "population"),
    ):
        exists = session.scalar(
            select(Target.id).where(Target.unit_code == PROVINCE, Target.app_code == app)
        )
        if exists is None:
            service.set_target(
                session,
                None,
                unit_code=PROVINCE,
                app_code=app,
                share=share,
                base=base,
                deadline=deadline,
            )
    service.set_smartphone_ratio(session, None, unit_code=CITY, ratio=0.72)
    service.import_counts(
        session, _counts_file(session, day), name="demo-official-counts.csv", today=day
    )
    service.import_organisations(session, ORGANISATIONS.encode(), name="demo-organisations.csv")
    reporter = session.scalar(select(User).where(User.username == REPORTER))
    if reporter is not None and reporter.role is Role.ORG_REPORTER:
        service.bind_reporter(
            session, username=REPORTER, organisation_code=REPORTER_ORG, actor="demo"
        )
    admin = session.scalar(select(User).where(User.role == Role.ADMIN).order_by(User.id))
    orgs = {o.code: o for o in session.scalars(select(Organisation))}
    # Three organisations report (one of them below target); the others are overdue.
    for code, shares in (
        ("DEMO-UBND-TH", (0.8, 0.92)),
        ("DEMO-THPT-NH", (0.6, 0.71)),
        ("DEMO-BV-PY", (0.95, 1.0)),
    ):
        org = orgs.get(code)
        if org is None or admin is None:
            continue
        for days_ago, share in zip((8, 1), shares, strict=True):
            service.submit_report(
                session,
                admin,
                organisation_id=org.id,
                app_code="ncovi",
                as_of=day - dt.timedelta(days=days_ago),
                headcount=org.headcount,
                installs=round(org.headcount * share),
                today=day,
            )
    figures.refresh(session, as_of=day)
