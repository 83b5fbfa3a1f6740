"""The Temporary Exposure Key record shared by export files, tekmac and the device side."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from safezone.en.crypto import (
    KEY_LENGTH,
    TEK_ROLLING_PERIOD,
    check_interval,
    check_rolling_period,
)
from safezone.en.errors import InvalidIntervalError, InvalidKeyError

MIN_DAYS_SINCE_ONSET = -14
MAX_DAYS_SINCE_ONSET = 14


class ReportType(enum.IntEnum):
    """Why a key was published (``TemporaryExposureKey.ReportType`` in the export format)."""

    UNKNOWN = 0
    CONFIRMED_TEST = 1
    CONFIRMED_CLINICAL_DIAGNOSIS = 2
    SELF_REPORT = 3
    RECURSIVE = 4
    REVOKED = 5


@dataclass(frozen=True, slots=True)
class TemporaryExposureKey:
    """A diagnosis key: a TEK with its validity and the metadata published with it.

    ``transmission_risk_level`` is the deprecated ENv1 field (0..8); ENv2 uses ``report_type``
    and ``days_since_onset_of_symptoms`` (-14..14, ``None`` when unknown) instead.
    """

    key_data: bytes
    rolling_start_interval_number: int
    rolling_period: int = TEK_ROLLING_PERIOD
    transmission_risk_level: int = 0
    report_type: ReportType = ReportType.UNKNOWN
    days_since_onset_of_symptoms: int | None = None

    def __post_init__(self) -> None:
        """Validate every field; invalid keys never exist as objects."""
        if not isinstance(self.key_data, bytes) or len(self.key_data) != KEY_LENGTH:
            got = len(self.key_data) if isinstance(self.key_data, bytes) else "non-bytes"
            raise InvalidKeyError(f"key_data must be {KEY_LENGTH} bytes, got {got}")
        check_interval(self.rolling_start_interval_number, "rolling_start_interval_number")
        check_rolling_period(self.rolling_period)
        check_interval(self.end_interval_number - 1, "last interval of the key")
        if not 0 <= self.transmission_risk_level <= 8:
            raise InvalidIntervalError(
                f"transmission_risk_level {self.transmission_risk_level} is outside 0..8"
            )
        try:
            object.__setattr__(self, "report_type", ReportType(self.report_type))
        except ValueError:
            raise InvalidKeyError(f"unknown report type {self.report_type!r}") from None
        dso = self.days_since_onset_of_symptoms
        if dso is not None and not MIN_DAYS_SINCE_ONSET <= dso <= MAX_DAYS_SINCE_ONSET:
            raise InvalidIntervalError(f"days_since_onset_of_symptoms {dso} is outside -14..14")

    @property
    def end_interval_number(self) -> int:
        """First interval after the key's validity."""
        return self.rolling_start_interval_number + self.rolling_period

    def check_not_future(self, now_interval: int) -> None:
        """Raise :class:`InvalidIntervalError` if the key starts after ``now_interval``."""
        if self.rolling_start_interval_number > now_interval:
            raise InvalidIntervalError(
                f"key starts at interval {self.rolling_start_interval_number}, "
                f"after the current interval {now_interval}"
            )
