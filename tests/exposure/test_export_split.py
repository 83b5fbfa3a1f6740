"""Splitting a big window into numbered files (small limits make it visible)."""

from __future__ import annotations

import datetime as dt

import pytest

from safezone.config import ExposureConfig, Settings
from safezone.db.engine import Database
from safezone.en.export import read_export
from safezone.exposure import codes, signing
from safezone.exposure.publish import PublishPolicy
from safezone.exposure.storage import LocalStorage
from tests.exposure.conftest import NOW, make_keys
from tests.exposure.test_export import _export, _upload


@pytest.fixture
def exposure_config() -> ExposureConfig:
    """Small files, so splitting is visible."""
    return ExposureConfig(
        health_authorities={"safezone-demo": "VN"},
        min_keys_per_file=10,
        padding_jitter_keys=0,
        max_keys_per_file=6,
    )


def test_big_windows_are_split_into_numbered_files(
    db: Database,
    settings: Settings,
    storage: LocalStorage,
    publish_policy: PublishPolicy,
    code_policy: codes.CodePolicy,
    signing_key: signing.PublicSigningKey,
) -> None:
    for _ in range(2):
        _upload(db, publish_policy, code_policy, make_keys(NOW, days=7))
    report = _export(db, settings, storage, NOW + dt.timedelta(hours=3))
    files = [p for p in report.files if "1773147600" in p]
    assert len(files) == 3  # 14 keys, at most 6 per file
    parsed = [
        read_export(
            storage.get(p), {(signing_key.key_id, signing_key.key_version): signing_key.public_key}
        )
        for p in files
    ]
    assert [(p.batch_num, p.batch_size) for p in parsed] == [(1, 3), (2, 3), (3, 3)]
    assert sum(len(p.keys) for p in parsed) == 14
    assert {p.start_timestamp for p in parsed} == {1773147600}
    ranges = [(p.keys[0].key_data, p.keys[-1].key_data) for p in parsed]
    assert ranges == sorted(ranges)
    assert ranges[0][1] < ranges[1][0]
