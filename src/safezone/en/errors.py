"""Exceptions of :mod:`safezone.en`.

Every error derives from :class:`EnError`, itself a :class:`ValueError`, so callers can catch
one class for "bad exposure-notification input" and still tell the cases apart.
"""

from __future__ import annotations


class EnError(ValueError):
    """Base class of every error raised by :mod:`safezone.en`."""


# --- keys and crypto -------------------------------------------------------------------------


class InvalidKeyError(EnError):
    """A key (TEK, RPIK, AEMK) or identifier has the wrong type or length."""


class InvalidIntervalError(EnError):
    """An ENIntervalNumber or rolling period is out of range (or in the future)."""


class NaiveDatetimeError(EnError):
    """A datetime without a time zone was given; ENIntervalNumber is defined in UTC only."""


class InvalidMetadataError(EnError):
    """Associated metadata has the wrong length or an out-of-range field."""


class InvalidPayloadError(EnError):
    """A Bluetooth advertisement or its service data is malformed."""


# --- export files ----------------------------------------------------------------------------


class ExportError(EnError):
    """Base class for problems with a diagnosis-key export file."""


class InvalidArchiveError(ExportError):
    """The zip archive is corrupt or does not hold exactly export.bin and export.sig."""


class OversizedExportError(ExportError):
    """The input or one of its members is larger than the configured limit (zip-bomb guard)."""


class TruncatedExportError(ExportError):
    """The input ends before a complete header or protobuf message."""


class InvalidHeaderError(ExportError):
    """export.bin does not start with the 16-byte header ``EK Export v1    ``."""


class MalformedExportError(ExportError):
    """The protobuf payload cannot be decoded or holds invalid values."""


class UnsignedExportError(ExportError):
    """Verification was requested but the input carries no usable signature."""


class UnknownSigningKeyError(UnsignedExportError):
    """No signature in export.sig was made by one of the given public keys."""


class InvalidSignatureError(ExportError):
    """A signature does not verify against export.bin with the given public key."""


class InvalidSignatureEncodingError(InvalidSignatureError):
    """A signature is not a DER-encoded ECDSA signature, or uses an unsupported algorithm."""


# --- verification protocol -------------------------------------------------------------------


class InvalidTekMacError(EnError):
    """The tekmac HMAC does not match the keys."""


# --- device side and risk --------------------------------------------------------------------


class InvalidSightingError(EnError):
    """An encounter-log entry has an invalid field (RPI length, RSSI, timestamp)."""


class InvalidRiskParametersError(EnError):
    """Risk-scoring parameters are inconsistent or out of range."""


class InvalidExposureWindowError(EnError):
    """An exposure window or scan instance has an out-of-range field."""
