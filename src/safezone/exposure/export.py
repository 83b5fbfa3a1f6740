"""Export batches: signed diagnosis-key files per region and time window, and their index.

Rules (after Google's export worker and the Corona-Warn-App server): a window is exported only
once it is older than the minimum age; its keys are sorted; files are padded with random keys
to at least ``min_keys_per_file`` (plus random jitter) so a file's size does not reveal how many
people uploaded; more than ``max_keys_per_file`` keys are split into numbered files of one
batch; each file is signed by every active signing key; ``REGION/index.txt`` lists the files
of the retention period, oldest first, as paths relative to ``/exposure/v1/``.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from operator import itemgetter

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from safezone.config import Settings
from safezone.en.crypto import INTERVAL_SECONDS, KEY_LENGTH, TEK_ROLLING_PERIOD
from safezone.en.export import SigningKey as ExportSigner
from safezone.en.export import write_export
from safezone.en.keys import ReportType, TemporaryExposureKey
from safezone.exposure import signing
from safezone.exposure.models import ExportBatch, ExportFile, ExposureKey
from safezone.exposure.publish import BACKFILL_RISK, health_authorities
from safezone.exposure.storage import Storage


@dataclass(frozen=True, slots=True)
class ExportPolicy:
    """Export settings."""

    regions: tuple[str, ...]
    window: dt.timedelta
    min_age: dt.timedelta
    min_keys: int
    jitter: int
    max_keys: int
    retention: dt.timedelta

    @classmethod
    def from_settings(cls, settings: Settings) -> ExportPolicy:
        """The policy of ``settings``."""
        config = settings.exposure
        return cls(
            regions=tuple(sorted(set(health_authorities(settings).values()))),
            window=dt.timedelta(seconds=config.export_window_seconds),
            min_age=dt.timedelta(seconds=config.export_min_age_seconds),
            min_keys=config.min_keys_per_file,
            jitter=config.padding_jitter_keys,
            max_keys=config.max_keys_per_file,
            retention=dt.timedelta(days=config.retention_days),
        )


@dataclass(slots=True)
class ExportReport:
    """What one export run wrote."""

    batches: int = 0
    files: list[str] = field(default_factory=list)
    keys: int = 0
    padding_keys: int = 0
    bytes: int = 0


def _floor(when: dt.datetime, window: dt.timedelta) -> dt.datetime:
    seconds = int(window.total_seconds())
    return dt.datetime.fromtimestamp(int(when.timestamp()) // seconds * seconds, dt.UTC)


_REPORT_TYPES = {int(member): member for member in ReportType}


def _key_tuple(
    key: bytes, start: int, period: int, risk: int, report: int, dsos: int | None
) -> TemporaryExposureKey:
    # Positional arguments and a dict lookup for the report type: this runs once per exported
    # key (500,000 times for a full file), where keyword passing and Enum() calls showed up.
    return TemporaryExposureKey(key, start, period, risk, _REPORT_TYPES[report], dsos)


def window_keys(
    session: Session, region: str, start: dt.datetime, end: dt.datetime
) -> tuple[list[TemporaryExposureKey], list[TemporaryExposureKey]]:
    """The keys released in ``[start, end)`` and the keys revised in it.

    A key both released and revised in the same window appears once, with its revised values.
    """
    columns = (
        ExposureKey.key_data,
        ExposureKey.rolling_start,
        ExposureKey.rolling_period,
        ExposureKey.transmission_risk,
        ExposureKey.report_type,
        ExposureKey.days_since_onset,
        ExposureKey.revised_report_type,
        ExposureKey.revised_transmission_risk,
        ExposureKey.revised_days_since_onset,
        ExposureKey.revised_at,
    )
    released = []
    # Through the connection, not the ORM session: plain rows, without ORM row processing.
    connection = session.connection()
    rows = connection.execute(
        select(*columns).where(
            ExposureKey.region == region,
            ExposureKey.created_at >= start,
            ExposureKey.created_at < end,
        )
    )
    # Rows are unpacked as tuples (attribute access per row was the single largest cost).
    for key, first, period, risk, report, dsos, r_report, r_risk, r_dsos, r_at in rows:
        if r_at is not None and r_at < end:
            assert r_report is not None
            assert r_risk is not None
            released.append(_key_tuple(key, first, period, r_risk, r_report, r_dsos))
        else:
            released.append(_key_tuple(key, first, period, risk, report, dsos))
    revised = []
    for key, first, period, _, _, _, r_report, r_risk, r_dsos, _ in connection.execute(
        select(*columns).where(
            ExposureKey.region == region,
            ExposureKey.revised_at >= start,
            ExposureKey.revised_at < end,
            ExposureKey.created_at < start,  # released earlier: phones saw the old version
        )
    ):
        assert r_report is not None
        assert r_risk is not None
        revised.append(_key_tuple(key, first, period, r_risk, r_report, r_dsos))
    return released, revised


def padding_keys(
    count: int,
    real: list[TemporaryExposureKey],
    end: dt.datetime,
    retention_days: int,
    random_bytes: Callable[[int], bytes] = os.urandom,
) -> list[TemporaryExposureKey]:
    """``count`` random keys that look like real ones (metadata copied from real keys).

    Everything random here comes from the OS's source (``random_bytes``, :mod:`secrets`): a
    seeded generator such as Mersenne Twister can be predicted from ~600 published outputs,
    which would tell padding from real keys. Random 16-byte keys match no phone's log: the
    chance of a collision is 2**-128 per key.
    """
    end_day = int(end.timestamp()) // INTERVAL_SECONDS // TEK_ROLLING_PERIOD * TEK_ROLLING_PERIOD
    pool = random_bytes(KEY_LENGTH * count)
    result = []
    for index in range(count):
        data = pool[index * KEY_LENGTH : (index + 1) * KEY_LENGTH]
        if real:
            model = real[secrets.randbelow(len(real))]
            result.append(
                _key_tuple(
                    data,
                    model.rolling_start_interval_number,
                    model.rolling_period,
                    model.transmission_risk_level,
                    int(model.report_type),
                    model.days_since_onset_of_symptoms,
                )
            )
        else:
            start = end_day - TEK_ROLLING_PERIOD * (1 + secrets.randbelow(retention_days))
            result.append(
                _key_tuple(
                    data,
                    start,
                    TEK_ROLLING_PERIOD,
                    BACKFILL_RISK[ReportType.CONFIRMED_TEST],
                    int(ReportType.CONFIRMED_TEST),
                    secrets.randbelow(13) - 2,  # -2..10 days since onset
                )
            )
    return result


def file_path(region: str, start: dt.datetime, end: dt.datetime, batch_num: int) -> str:
    """``REGION/START-END-NNNNN.zip`` (unix seconds), relative to ``/exposure/v1/``."""
    return f"{region}/{int(start.timestamp())}-{int(end.timestamp())}-{batch_num:05d}.zip"


def write_batch(
    keys: list[TemporaryExposureKey],
    revised: list[TemporaryExposureKey],
    padding: list[TemporaryExposureKey],
    *,
    region: str,
    start: dt.datetime,
    end: dt.datetime,
    signers: list[ExportSigner],
    max_keys: int,
) -> list[tuple[int, int, int, bytes]]:
    """Sign the files of one batch: ``[(batch_num, real keys, padding keys, zip bytes)]``.

    All records are sorted together by key bytes and cut into files of at most ``max_keys``,
    so each file covers a disjoint key range; revised keys go to ``revised_keys``.
    """
    total = len(keys) + len(revised) + len(padding)
    if total <= max_keys:
        # One file (the usual case): write_export sorts its keys itself, no need to here.
        data = write_export(
            [*keys, *padding],
            revised_keys=revised,
            region=region,
            start_timestamp=int(start.timestamp()),
            end_timestamp=int(end.timestamp()),
            signing_keys=signers,
        )
        return [(1, len(keys) + len(revised), len(padding), data)]
    tagged = sorted(
        [(k.key_data, 0, k) for k in keys]
        + [(k.key_data, 1, k) for k in revised]
        + [(k.key_data, 2, k) for k in padding],
        key=itemgetter(0),
    )
    chunks = [tagged[i : i + max_keys] for i in range(0, len(tagged), max_keys)]
    result = []
    for number, chunk in enumerate(chunks, start=1):
        data = write_export(
            [k for _, kind, k in chunk if kind != 1],
            revised_keys=[k for _, kind, k in chunk if kind == 1],
            region=region,
            start_timestamp=int(start.timestamp()),
            end_timestamp=int(end.timestamp()),
            signing_keys=signers,
            batch_num=number,
            batch_size=len(chunks),
        )
        pads = sum(1 for _, kind, _ in chunk if kind == 2)
        result.append((number, len(chunk) - pads, pads, data))
    return result


def _first_window(
    session: Session, policy: ExportPolicy, region: str, eligible_end: dt.datetime
) -> dt.datetime:
    last_end = session.scalar(
        select(func.max(ExportBatch.end_at)).where(ExportBatch.region == region)
    )
    if last_end is not None:
        return last_end
    # First run: start at the oldest waiting key (or just the latest window), never before the
    # retention period, so a new installation does not write two weeks of empty files.
    oldest = session.scalar(
        select(func.min(ExposureKey.created_at)).where(ExposureKey.region == region)
    )
    first = eligible_end - policy.window
    if oldest is not None:
        first = min(first, _floor(oldest, policy.window))
    return max(first, _floor(eligible_end - policy.retention, policy.window))


def run_export(
    session: Session,
    settings: Settings,
    storage: Storage,
    *,
    now: dt.datetime,
) -> ExportReport:
    """Export every due window of every region as if at ``now``; idempotent.

    A window already exported (by this or another worker) is skipped; the index is rewritten.
    """
    policy = ExportPolicy.from_settings(settings)
    report = ExportReport()
    if not policy.regions:
        return report
    signers = signing.signers(session, settings, now=now)
    eligible_end = _floor(now - policy.min_age, policy.window)
    for region in policy.regions:
        start = _first_window(session, policy, region, eligible_end)
        while start + policy.window <= eligible_end:
            end = start + policy.window
            _export_window(session, policy, storage, signers, region, start, end, now, report)
            start = end
        write_index(session, storage, region, now=now, retention=policy.retention)
    return report


def _export_window(
    session: Session,
    policy: ExportPolicy,
    storage: Storage,
    signers: list[ExportSigner],
    region: str,
    start: dt.datetime,
    end: dt.datetime,
    now: dt.datetime,
    report: ExportReport,
) -> None:
    try:
        with session.begin_nested():
            batch = ExportBatch(region=region, start_at=start, end_at=end, created_at=now)
            session.add(batch)
    except IntegrityError:
        return  # another run claimed this window
    keys, revised = window_keys(session, region, start, end)
    real = len(keys) + len(revised)
    padding: list[TemporaryExposureKey] = []
    if real < policy.min_keys:
        count = policy.min_keys - real + secrets.randbelow(policy.jitter + 1)
        padding = padding_keys(count, keys, end, int(policy.retention.days))
    files = write_batch(
        keys,
        revised,
        padding,
        region=region,
        start=start,
        end=end,
        signers=signers,
        max_keys=policy.max_keys,
    )
    for number, real_count, pad_count, data in files:
        path = file_path(region, start, end, number)
        storage.put(path, data)
        session.add(
            ExportFile(
                batch_id=batch.id,
                region=region,
                path=path,
                batch_num=number,
                batch_size=len(files),
                keys=real_count,
                padding_keys=pad_count,
                size_bytes=len(data),
                created_at=now,
            )
        )
        report.files.append(path)
        report.bytes += len(data)
    batch.completed_at = now
    report.batches += 1
    report.keys += real
    report.padding_keys += len(padding)


def write_index(
    session: Session, storage: Storage, region: str, *, now: dt.datetime, retention: dt.timedelta
) -> str:
    """Rewrite ``REGION/index.txt``: the files of the retention period, oldest first."""
    paths = session.scalars(
        select(ExportFile.path)
        .join(ExportBatch, ExportBatch.id == ExportFile.batch_id)
        .where(ExportFile.region == region, ExportBatch.end_at > now - retention)
        .order_by(ExportBatch.start_at, ExportFile.batch_num)
    )
    text = "".join(f"{path}\n" for path in paths)
    storage.put(f"{region}/index.txt", text.encode())
    return text
