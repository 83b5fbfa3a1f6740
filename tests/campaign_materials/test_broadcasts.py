"""Broadcast scripts with live figures, schedules, the aired log, and the synthetic audio."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from safezone.accounts.models import AuditEvent
from safezone.campaign.materials import audio, broadcasts
from safezone.campaign.materials.figures import AppCoverage, AppInfo, UnitSheet, unit_sheet
from safezone.campaign.materials.models import AudioSource, BroadcastAiring, BroadcastScript
from safezone.db.engine import Database
from safezone.errors import InvalidInput

from .conftest import COMMUNE, DAY, seed_figures

NCOVI = AppInfo("ncovi", "NCOVI", android_url="https://play.google.com/x")
BLUEZONE = AppInfo("bluezone", "Bluezone", ios_url="https://apps.apple.com/y")


def sheet(share: float = 0.34) -> UnitSheet:
    return UnitSheet(
        COMMUNE,
        "Phường 1",
        "commune",
        DAY,
        (
            AppCoverage(BLUEZONE, 10000, int(share * 10000), share, 0.6),
            AppCoverage(NCOVI, 10000, 5000, 0.5, None),
        ),
    )


def test_script_has_the_live_figures() -> None:
    text = broadcasts.script_text(sheet())
    assert "Phường 1 mới có 34% người dân cài đặt Bluezone, mục tiêu 60%." in text
    assert "Phường 1 mới có 50% người dân cài đặt NCOVI." in text
    assert "Tính đến ngày 20/11/2026" in text


def test_custom_template_and_its_errors() -> None:
    text = broadcasts.script_text(sheet(), "Loa {unit}: {lines}")
    assert text.startswith("Loa Phường 1: Phường 1 mới có 34%")
    with pytest.raises(InvalidInput) as caught:
        broadcasts.check_template("Xin chào {ten}")
    assert caught.value.errors[0].field == "template"
    assert "ten" in caught.value.errors[0].message_vi
    with pytest.raises(InvalidInput):
        broadcasts.check_template("Xin chào {unit")


def test_schedule_validation_reports_every_field_and_stores_nothing(db: Database) -> None:
    with db.session() as session:
        with pytest.raises(InvalidInput) as caught:
            broadcasts.set_schedule(
                session,
                COMMUNE,
                broadcasts.ScheduleInput(times="25:00", weekdays="19", template="{x}"),
                user=None,
            )
        fields = sorted(error.field for error in caught.value.errors)
        assert fields == ["template", "times", "weekdays"]
        assert session.scalar(select(func.count()).select_from(BroadcastAiring)) == 0


def test_schedule_slots_and_aired_confirmation_log(db: Database) -> None:
    with db.session() as session:
        schedule = broadcasts.set_schedule(
            session,
            COMMUNE,
            broadcasts.ScheduleInput(times="17:30, 06:00", weekdays="135"),
            user=None,
        )
        assert schedule.times == "06:00,17:30"
        monday, tuesday = dt.date(2026, 11, 30), dt.date(2026, 12, 1)
        assert broadcasts.slots(schedule, tuesday) == []
        morning, evening = broadcasts.slots(schedule, monday)
        # 06:00 in Vietnam is 23:00 UTC the day before.
        assert morning == dt.datetime(2026, 11, 29, 23, 0, tzinfo=dt.UTC)
        assert evening.hour == 10
        broadcasts.confirm_airing(session, COMMUNE, morning, user=None)
        broadcasts.confirm_airing(
            session, COMMUNE, morning, aired=False, note="mất điện", user=None
        )
        log = broadcasts.airings(session, COMMUNE)
        assert [(row.aired, row.note) for row in log] == [(False, "mất điện")]
        with pytest.raises(InvalidInput) as caught:
            broadcasts.confirm_airing(session, COMMUNE, morning + dt.timedelta(hours=1), user=None)
        assert caught.value.errors[0].field == "slot"
        actions = set(session.scalars(select(AuditEvent.action)))
        assert {"campaign.broadcast_aired", "campaign.broadcast_not_aired"} <= actions


def fake_voice(text: str) -> audio.Audio:
    return audio.Audio(text.encode(), "audio/mpeg", 12.0)


def test_script_and_audio_regenerate_only_when_the_figures_change(db: Database) -> None:
    with db.session() as session:
        seed_figures(session, {(COMMUNE, "bluezone"): 1580, (COMMUNE, "ncovi"): 2000})
        first, new = broadcasts.refresh_script(
            session, unit_sheet(session, COMMUNE, as_of=DAY), synthesize=fake_voice
        )
        assert new
        # 1580 of Phường 1's 4648 people: 34%.
        assert "Phường 1 mới có 34% người dân cài đặt Bluezone, mục tiêu 60%." in first.text
        again, new = broadcasts.refresh_script(
            session, unit_sheet(session, COMMUNE, as_of=DAY), synthesize=fake_voice
        )
        assert (again.id, new) == (first.id, False)
        seed_figures(session, {(COMMUNE, "bluezone"): 2500}, day=DAY + dt.timedelta(days=1))
        later = unit_sheet(session, COMMUNE, as_of=DAY + dt.timedelta(days=1))
        second, new = broadcasts.refresh_script(session, later, synthesize=fake_voice)
        assert new
        assert second.id != first.id
        assert "54%" in second.text
        assert broadcasts.latest_script(session, COMMUNE).id == second.id
        assert second.audio == second.text.encode()


@pytest.mark.usefixtures("audio_tools")
def test_synthetic_audio_has_a_plausible_length_and_is_not_silent() -> None:
    text = broadcasts.script_text(sheet())
    sound = audio.synthesize(text)
    assert sound.mime == "audio/mpeg"
    assert sound.content[:3] == b"ID3" or sound.content[:2] == b"\xff\xfb"
    # About 90 words at 140 words a minute, plus the silence around it.
    assert 25 <= sound.duration_seconds <= 90
    stats = audio.stats(sound.content, "mp3")
    assert stats.duration_seconds == pytest.approx(sound.duration_seconds, abs=0.2)
    assert stats.rms_db > -35, "not silent"
    assert -3 < stats.peak_db <= 0, "normalised to about -1 dBFS"
    wav = audio.synthesize("Xin chào bà con.", fmt="wav")
    assert wav.content[:4] == b"RIFF"
    assert 1 <= wav.duration_seconds <= 5


@pytest.mark.usefixtures("audio_tools")
def test_recorded_reading_replaces_the_synthetic_voice(db: Database) -> None:
    recording = audio.synthesize("Đây là bản ghi âm của đài xã.", fmt="wav").content
    with db.session() as session:
        seed_figures(session, {(COMMUNE, "bluezone"): 1580})
        script, _ = broadcasts.refresh_script(
            session, unit_sheet(session, COMMUNE, as_of=DAY), synthesize=fake_voice
        )
        broadcasts.upload_recording(session, COMMUNE, script.id, recording, user=None)
        stored = session.get(BroadcastScript, script.id)
        assert stored is not None
        assert stored.audio_source == AudioSource.RECORDED
        assert stored.audio_mime == "audio/wav"
        with pytest.raises(InvalidInput) as caught:
            broadcasts.upload_recording(session, COMMUNE, script.id, b"not audio", user=None)
        assert caught.value.errors[0].field == "recording"
