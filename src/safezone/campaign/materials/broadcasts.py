"""Loudspeaker broadcasts (đài truyền thanh cơ sở): scripts filled with live figures, each
commune's schedule, the aired-confirmation log, and the script's audio.

A script is stored once per text (its digest): when the figures move the text changes, a new
script row is written and its audio synthesised; the latest row is the one to air.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import string
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from safezone.accounts.models import User
from safezone.accounts.service import record
from safezone.campaign.materials import audio
from safezone.campaign.materials.figures import UnitSheet
from safezone.campaign.materials.models import (
    AudioSource,
    BroadcastAiring,
    BroadcastSchedule,
    BroadcastScript,
)
from safezone.errors import FieldError, InvalidInput, NotFound

#: Vietnam keeps one offset all year (no daylight saving).
LOCAL_ZONE = dt.timezone(dt.timedelta(hours=7), "ICT")
#: Placeholders a template may use.
PLACEHOLDERS: dict[str, str] = {
    "unit": "the unit's name (Phường 1)",
    "date": "the figures' date, dd/mm/yyyy",
    "lines": "one sentence per app with its share and target",
}
#: The sentence per app; ``{share}``/``{target}`` are whole percentages.
APP_LINE = "{unit} mới có {share}% người dân cài đặt {app}, mục tiêu {target}%."
APP_LINE_NO_TARGET = "{unit} mới có {share}% người dân cài đặt {app}."
DEFAULT_TEMPLATE = (
    "Thưa toàn thể bà con! Đài truyền thanh {unit} xin thông báo. "
    "Tính đến ngày {date}, {lines} "
    "Đề nghị bà con chưa cài đặt hãy cài ngay ứng dụng NCOVI và Bluezone trên điện thoại thông "
    "minh, và giúp ông bà, cha mẹ cùng cài đặt. Tình nguyện viên Đoàn Thanh niên sẽ đến từng nhà "
    "để hướng dẫn. Cài ứng dụng là bảo vệ mình, bảo vệ gia đình và cộng đồng. Xin cảm ơn!"
)
MAX_TEMPLATE = 4000
_TIME = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


def _percent(value: float | None) -> int:
    return round((value or 0.0) * 100)


def check_template(template: str, field: str = "template") -> str:
    """``template`` if it uses only known placeholders and fits; InvalidInput otherwise."""
    if len(template) > MAX_TEMPLATE:
        raise InvalidInput(
            FieldError(
                field,
                "too_long",
                f"Kịch bản dài quá {MAX_TEMPLATE} ký tự",
                f"The script is longer than {MAX_TEMPLATE} characters",
            )
        )
    try:
        names = {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}
    except ValueError as error:
        raise InvalidInput(
            FieldError(
                field,
                "template",
                f"Kịch bản có dấu ngoặc nhọn không khớp: {error}",
                f"Unbalanced braces in the script: {error}",
            )
        ) from error
    unknown = sorted(names - set(PLACEHOLDERS))
    if unknown:
        raise InvalidInput(
            FieldError(
                field,
                "placeholder",
                f"Trường không có: {', '.join(unknown)}; dùng {{unit}}, {{date}}, {{lines}}",
                f"Unknown fields: {', '.join(unknown)}; use {{unit}}, {{date}}, {{lines}}",
            )
        )
    return template


def script_text(sheet: UnitSheet, template: str = "") -> str:
    """The script for ``sheet``'s unit with its live figures filled in."""
    template = check_template(template or DEFAULT_TEMPLATE)
    lines = []
    for item in sheet.apps:
        # Only apps people install from a store (the web form needs no installing).
        if not item.population or not (item.app.android_url or item.app.ios_url):
            continue
        pattern = APP_LINE if item.target_share else APP_LINE_NO_TARGET
        lines.append(
            pattern.format(
                unit=sheet.unit_name,
                share=_percent(item.share_population),
                app=item.app.name,
                target=_percent(item.target_share),
            )
        )
    text = template.format(
        unit=sheet.unit_name, date=sheet.as_of.strftime("%d/%m/%Y"), lines=" ".join(lines)
    )
    return re.sub(r"\s+", " ", text).strip()


def digest(text: str) -> str:
    """The identity of a script's text."""
    return hashlib.sha256(text.encode()).hexdigest()


# --- schedule -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScheduleInput:
    """A schedule as entered: ``times`` "06:00,17:30", ``weekdays`` "1234567"."""

    times: str
    weekdays: str = "1234567"
    template: str = ""
    active: bool = True


def parse_times(value: str, field: str = "times") -> list[dt.time]:
    """Local times of day from "06:00, 17:30"; InvalidInput naming ``field`` otherwise."""
    parts = [part.strip() for part in value.split(",") if part.strip()]
    bad = [part for part in parts if not _TIME.match(part)]
    if bad or not parts or len(parts) > 12:
        raise InvalidInput(
            FieldError(
                field,
                "times",
                "Giờ phát phải là HH:MM, cách nhau bởi dấu phẩy (1 đến 12 lần/ngày)",
                "Times must be HH:MM separated by commas (1 to 12 a day)",
            )
        )
    return sorted({dt.time(int(part[:2]), int(part[3:])) for part in parts})


def parse_weekdays(value: str, field: str = "weekdays") -> str:
    """ISO weekdays "1357" normalised; InvalidInput naming ``field`` otherwise."""
    digits = sorted(set(value.replace(",", "").replace(" ", "")))
    if not digits or any(digit not in "1234567" for digit in digits):
        raise InvalidInput(
            FieldError(
                field,
                "weekdays",
                "Ngày phát là các số 1 (thứ Hai) đến 7 (Chủ nhật)",
                "Weekdays are digits 1 (Monday) to 7 (Sunday)",
            )
        )
    return "".join(digits)


def set_schedule(
    session: Session, unit_code: str, entered: ScheduleInput, *, user: User | None
) -> BroadcastSchedule:
    """Create or replace ``unit_code``'s schedule (validated whole before writing; audited)."""
    errors: list[FieldError] = []
    times: list[dt.time] = []
    weekdays = ""
    for check in (
        lambda: times.extend(parse_times(entered.times)),
        lambda: parse_weekdays(entered.weekdays),
        lambda: check_template(entered.template),
    ):
        try:
            result = check()
            if isinstance(result, str) and result.isdigit():
                weekdays = result
        except InvalidInput as error:
            errors.extend(error.errors)
    if errors:
        raise InvalidInput(*errors)
    schedule = session.get(BroadcastSchedule, unit_code) or BroadcastSchedule(unit_code=unit_code)
    schedule.times = ",".join(moment.strftime("%H:%M") for moment in times)
    schedule.weekdays = weekdays
    schedule.template = entered.template
    schedule.active = entered.active
    schedule.updated_by = user.id if user else None
    session.add(schedule)
    record(
        session,
        actor=user.username if user else None,
        action="campaign.broadcast_schedule_set",
        object_type="broadcast_schedule",
        object_id=unit_code,
        unit_code=unit_code,
        detail={"times": schedule.times, "weekdays": weekdays, "active": entered.active},
    )
    session.flush()
    return schedule


def slots(schedule: BroadcastSchedule, day: dt.date) -> list[dt.datetime]:
    """The UTC moments ``schedule`` airs on local ``day`` (none on days it is off)."""
    if not schedule.active or str(day.isoweekday()) not in schedule.weekdays:
        return []
    return [
        dt.datetime.combine(day, moment, tzinfo=LOCAL_ZONE).astimezone(dt.UTC)
        for moment in parse_times(schedule.times)
    ]


def confirm_airing(
    session: Session,
    unit_code: str,
    slot: dt.datetime,
    *,
    aired: bool = True,
    note: str = "",
    user: User | None,
) -> BroadcastAiring:
    """Log that the broadcast of ``slot`` was (or was not) aired; confirming again updates it."""
    schedule = session.get(BroadcastSchedule, unit_code)
    local_day = slot.astimezone(LOCAL_ZONE).date()
    if schedule is None or slot.astimezone(dt.UTC) not in slots(schedule, local_day):
        raise InvalidInput(
            FieldError(
                "slot",
                "not_scheduled",
                "Không có buổi phát nào theo lịch vào giờ này",
                "No broadcast is scheduled at this time",
            )
        )
    if len(note) > 300:
        raise InvalidInput(
            FieldError("note", "too_long", "Ghi chú quá 300 ký tự", "Note over 300 characters")
        )
    airing = session.scalar(
        select(BroadcastAiring).where(
            BroadcastAiring.unit_code == unit_code, BroadcastAiring.slot == slot
        )
    ) or BroadcastAiring(unit_code=unit_code, slot=slot)
    current = latest_script(session, unit_code)
    airing.script_id = current.id if current else None
    airing.aired = aired
    airing.note = note
    airing.confirmed_by = user.id if user else None
    airing.confirmed_at = dt.datetime.now(dt.UTC)
    session.add(airing)
    record(
        session,
        actor=user.username if user else None,
        action="campaign.broadcast_aired" if aired else "campaign.broadcast_not_aired",
        object_type="broadcast_airing",
        object_id=unit_code,
        unit_code=unit_code,
        detail={"slot": slot.isoformat(), "note": note},
    )
    session.flush()
    return airing


def airings(session: Session, unit_code: str, *, limit: int = 50) -> list[BroadcastAiring]:
    """The latest confirmations of ``unit_code``, newest first."""
    query = (
        select(BroadcastAiring)
        .where(BroadcastAiring.unit_code == unit_code)
        .order_by(BroadcastAiring.slot.desc())
        .limit(limit)
    )
    return list(session.scalars(query))


# --- scripts and audio ----------------------------------------------------------------------------


def latest_script(session: Session, unit_code: str) -> BroadcastScript | None:
    """The script to air now in ``unit_code`` (the most recent)."""
    query = (
        select(BroadcastScript)
        .where(BroadcastScript.unit_code == unit_code)
        .order_by(BroadcastScript.created_at.desc(), BroadcastScript.id.desc())
        .limit(1)
    )
    return session.scalar(query)


def get_script(session: Session, unit_code: str, script_id: int) -> BroadcastScript:
    """Script ``script_id`` of ``unit_code``, or NotFound."""
    script = session.get(BroadcastScript, script_id)
    if script is None or script.unit_code != unit_code:
        raise NotFound(FieldError("script", "not_found", "Không có kịch bản", "No such script"))
    return script


Synthesizer = Callable[[str], audio.Audio]


def refresh_script(
    session: Session,
    sheet: UnitSheet,
    *,
    synthesize: Synthesizer | None = None,
) -> tuple[BroadcastScript, bool]:
    """The current script of ``sheet``'s unit, written anew (with audio) if the text changed.

    Returns the script and whether it is new. ``synthesize`` defaults to espeak-ng's voice.
    """
    schedule = session.get(BroadcastSchedule, sheet.unit_code)
    text = script_text(sheet, schedule.template if schedule else "")
    key = digest(text)
    existing = session.scalar(
        select(BroadcastScript).where(
            BroadcastScript.unit_code == sheet.unit_code, BroadcastScript.digest == key
        )
    )
    latest = latest_script(session, sheet.unit_code)
    if existing is not None and latest is not None and latest.id == existing.id:
        return existing, False
    if existing is not None:
        # The figures went back to an earlier text: air it again (same audio, fresh time).
        existing.created_at = dt.datetime.now(dt.UTC)
        session.flush()
        return existing, True
    script = BroadcastScript(unit_code=sheet.unit_code, text=text, digest=key)
    sound = (synthesize or audio.synthesize)(text)
    script.audio, script.audio_mime = sound.content, sound.mime
    script.duration_seconds = sound.duration_seconds
    script.audio_source = AudioSource.SYNTHETIC
    session.add(script)
    session.flush()
    return script, True


def upload_recording(
    session: Session,
    unit_code: str,
    script_id: int,
    content: bytes,
    *,
    user: User | None,
) -> BroadcastScript:
    """Replace a script's synthetic audio by a recorded reading (MP3 or WAV, checked by sox)."""
    script = get_script(session, unit_code, script_id)
    sound = audio.inspect(content, field="recording")
    script.audio, script.audio_mime = sound.content, sound.mime
    script.duration_seconds = sound.duration_seconds
    script.audio_source = AudioSource.RECORDED
    record(
        session,
        actor=user.username if user else None,
        action="campaign.broadcast_recording_uploaded",
        object_type="broadcast_script",
        object_id=script.id,
        unit_code=unit_code,
    )
    session.flush()
    return script


def scheduled_units(session: Session) -> Sequence[str]:
    """Units with an active broadcast schedule (the worker refreshes their scripts)."""
    query = select(BroadcastSchedule.unit_code).where(BroadcastSchedule.active)
    return list(session.scalars(query.order_by(BroadcastSchedule.unit_code)))
