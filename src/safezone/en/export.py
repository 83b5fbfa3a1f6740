"""Diagnosis-key export files (``export.zip`` = ``export.bin`` + ``export.sig``).

``export.bin`` is the 16-byte header ``EK Export v1    `` followed by a serialised
``TemporaryExposureKeyExport``; ``export.sig`` is a ``TEKSignatureList`` whose ECDSA P-256 /
SHA-256 signatures cover the whole of ``export.bin`` (header included).

Reading is defensive: the archive must hold exactly the two members, their uncompressed sizes
are limited before and while decompressing (zip bombs), and every failure raises a specific
subclass of :class:`~safezone.en.errors.ExportError`. When ``public_keys`` is given,
verification is required and failure raises; it never returns ``False``.
"""

from __future__ import annotations

import io
import itertools
import zipfile
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from google.protobuf.message import DecodeError

from safezone.en.crypto import TEK_ROLLING_PERIOD
from safezone.en.errors import (
    EnError,
    ExportError,
    InvalidArchiveError,
    InvalidHeaderError,
    InvalidKeyError,
    InvalidSignatureEncodingError,
    InvalidSignatureError,
    MalformedExportError,
    OversizedExportError,
    TruncatedExportError,
    UnknownSigningKeyError,
    UnsignedExportError,
)
from safezone.en.keys import ReportType, TemporaryExposureKey
from safezone.en.proto import export_pb2

__all__ = [
    "ECDSA_SHA256_OID",
    "EXPORT_HEADER",
    "Export",
    "ReportType",
    "SignatureInfo",
    "SigningKey",
    "TEKSignature",
    "TemporaryExposureKey",
    "build_export_bin",
    "read_export",
    "verify_signature",
    "write_export",
]

EXPORT_HEADER: Final = b"EK Export v1    "
ECDSA_SHA256_OID: Final = "1.2.840.10045.4.3.2"
BIN_NAME: Final = "export.bin"
SIG_NAME: Final = "export.sig"

# Limits: a day of keys for a large country is a few MB; anything far above is an attack.
MAX_EXPORT_BIN_BYTES: Final = 32 * 1024 * 1024
MAX_SIGNATURE_BYTES: Final = 64 * 1024

# Fixed zip timestamps make written files byte-for-byte reproducible (apart from signatures).
_ZIP_DATE: Final = (1980, 1, 1, 0, 0, 0)
_MAX_UINT64: Final = 2**64 - 1
_ZIP_SLACK: Final = 64 * 1024


@dataclass(frozen=True, slots=True)
class SignatureInfo:
    """Identifies the key that signed an export (``SignatureInfo`` message).

    ``app_bundle_id`` and ``android_package`` are the legacy, deprecated fields 1 and 2; they
    are read and written but no longer used by phones.
    """

    verification_key_id: str
    verification_key_version: str
    signature_algorithm: str = ECDSA_SHA256_OID
    app_bundle_id: str = ""
    android_package: str = ""

    @property
    def key(self) -> tuple[str, str]:
        """``(verification_key_id, verification_key_version)``, the ``public_keys`` index."""
        return (self.verification_key_id, self.verification_key_version)


@dataclass(frozen=True, slots=True)
class TEKSignature:
    """One signature from ``export.sig``."""

    signature_info: SignatureInfo
    batch_num: int
    batch_size: int
    signature: bytes


@dataclass(frozen=True, slots=True)
class Export:
    """A parsed diagnosis-key export.

    ``signatures`` is empty for a bare ``export.bin``. ``verified_by`` lists the
    ``(key_id, key_version)`` pairs whose signature was checked (empty when ``read_export``
    was called without ``public_keys``). ``export_bin`` is the exact signed byte string.
    """

    region: str
    start_timestamp: int
    end_timestamp: int
    batch_num: int
    batch_size: int
    signature_infos: tuple[SignatureInfo, ...]
    keys: tuple[TemporaryExposureKey, ...]
    revised_keys: tuple[TemporaryExposureKey, ...]
    signatures: tuple[TEKSignature, ...] = ()
    export_bin: bytes = field(default=b"", repr=False)
    verified_by: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class SigningKey:
    """A P-256 private key with the identifiers phones use to find its public key."""

    private_key: ec.EllipticCurvePrivateKey
    key_id: str
    key_version: str

    def __post_init__(self) -> None:
        """Only ECDSA P-256 is allowed by the export format."""
        if not isinstance(self.private_key, ec.EllipticCurvePrivateKey) or not isinstance(
            self.private_key.curve, ec.SECP256R1
        ):
            raise InvalidKeyError("export signing keys must be ECDSA P-256 private keys")

    @property
    def info(self) -> SignatureInfo:
        """The :class:`SignatureInfo` describing this key."""
        return SignatureInfo(self.key_id, self.key_version)


# --- writing ---------------------------------------------------------------------------------


def _key_to_pb(key: TemporaryExposureKey, out: export_pb2.TemporaryExposureKey) -> None:
    out.key_data = key.key_data
    out.rolling_start_interval_number = key.rolling_start_interval_number
    # 144 is the proto default: omitting it saves bytes and matches Google's writer.
    if key.rolling_period != TEK_ROLLING_PERIOD:
        out.rolling_period = key.rolling_period
    if key.transmission_risk_level:
        out.transmission_risk_level = key.transmission_risk_level
    if key.report_type != ReportType.UNKNOWN:
        out.report_type = int(key.report_type)  # type: ignore[assignment]
    if key.days_since_onset_of_symptoms is not None:
        out.days_since_onset_of_symptoms = key.days_since_onset_of_symptoms


def _info_to_pb(info: SignatureInfo, out: export_pb2.SignatureInfo) -> None:
    if info.app_bundle_id:
        out.app_bundle_id = info.app_bundle_id
    if info.android_package:
        out.android_package = info.android_package
    out.verification_key_version = info.verification_key_version
    out.verification_key_id = info.verification_key_id
    out.signature_algorithm = info.signature_algorithm


def _sorted_unique(keys: Iterable[TemporaryExposureKey], what: str) -> list[TemporaryExposureKey]:
    result = sorted(keys, key=lambda k: k.key_data)
    for a, b in itertools.pairwise(result):
        if a.key_data == b.key_data:
            raise ExportError(f"duplicate key in {what}: {a.key_data.hex()}")
    return result


def build_export_bin(
    keys: Iterable[TemporaryExposureKey],
    *,
    region: str,
    start_timestamp: int,
    end_timestamp: int,
    batch_num: int = 1,
    batch_size: int = 1,
    revised_keys: Iterable[TemporaryExposureKey] = (),
    signature_infos: Sequence[SignatureInfo] = (),
) -> bytes:
    """Return ``export.bin`` (header + protobuf) with keys sorted by key bytes."""
    if not 0 <= start_timestamp <= end_timestamp <= _MAX_UINT64:
        raise ExportError("need 0 <= start_timestamp <= end_timestamp < 2**64")
    if not 1 <= batch_num <= batch_size <= 2**31 - 1:
        raise ExportError(f"batch {batch_num} of {batch_size} is not 1 <= num <= size")
    message = export_pb2.TemporaryExposureKeyExport(
        start_timestamp=start_timestamp,
        end_timestamp=end_timestamp,
        region=region,
        batch_num=batch_num,
        batch_size=batch_size,
    )
    for info in signature_infos:
        _info_to_pb(info, message.signature_infos.add())
    for key in _sorted_unique(keys, "keys"):
        _key_to_pb(key, message.keys.add())
    for key in _sorted_unique(revised_keys, "revised_keys"):
        _key_to_pb(key, message.revised_keys.add())
    return EXPORT_HEADER + message.SerializeToString(deterministic=True)


def write_export(
    keys: Iterable[TemporaryExposureKey],
    *,
    region: str,
    start_timestamp: int,
    end_timestamp: int,
    signing_keys: Sequence[SigningKey],
    batch_num: int = 1,
    batch_size: int = 1,
    revised_keys: Iterable[TemporaryExposureKey] = (),
    legacy_signature_infos: bool = True,
) -> bytes:
    """Return a signed export zip holding ``export.bin`` and ``export.sig``.

    Every key in ``signing_keys`` signs the whole ``export.bin`` (ECDSA P-256, SHA-256, DER).
    With ``legacy_signature_infos`` (the default, as Google's server does) the signature
    infos are also copied into the export's deprecated ``signature_infos`` field.
    """
    if not signing_keys:
        raise ExportError("an export needs at least one signing key")
    infos = [k.info for k in signing_keys]
    export_bin = build_export_bin(
        keys,
        region=region,
        start_timestamp=start_timestamp,
        end_timestamp=end_timestamp,
        batch_num=batch_num,
        batch_size=batch_size,
        revised_keys=revised_keys,
        signature_infos=infos if legacy_signature_infos else (),
    )
    sig_list = export_pb2.TEKSignatureList()
    for signer in signing_keys:
        entry = sig_list.signatures.add()
        _info_to_pb(signer.info, entry.signature_info)
        entry.batch_num = batch_num
        entry.batch_size = batch_size
        entry.signature = signer.private_key.sign(export_bin, ec.ECDSA(hashes.SHA256()))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in (
            (BIN_NAME, export_bin),
            (SIG_NAME, sig_list.SerializeToString(deterministic=True)),
        ):
            info = zipfile.ZipInfo(name, date_time=_ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, content)
    return buffer.getvalue()


# --- reading ---------------------------------------------------------------------------------


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> bytes:
    # The declared size can lie: check it, then also cap what decompression produces.
    if info.file_size > limit:
        raise OversizedExportError(f"{info.filename} declares {info.file_size} bytes > {limit}")
    with archive.open(info) as member:
        content = member.read(limit + 1)
    # zipfile stops at the declared size (then fails the CRC); keep the cap anyway.
    if len(content) > limit:  # pragma: no cover - defence in depth
        raise OversizedExportError(f"{info.filename} inflates to more than {limit} bytes")
    return content


def _unzip(data: bytes, max_bin: int) -> tuple[bytes, bytes]:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = archive.infolist()
            names = [i.filename for i in infos]
            if sorted(names) != [BIN_NAME, SIG_NAME]:
                raise InvalidArchiveError(
                    f"archive must hold exactly {BIN_NAME} and {SIG_NAME}, found {names}"
                )
            by_name = {i.filename: i for i in infos}
            export_bin = _read_member(archive, by_name[BIN_NAME], max_bin)
            export_sig = _read_member(archive, by_name[SIG_NAME], MAX_SIGNATURE_BYTES)
    except zipfile.BadZipFile as exc:
        # Without an end-of-central-directory record the file was most likely cut short.
        if b"PK\x05\x06" not in data[-65557:]:
            raise TruncatedExportError(f"zip archive is truncated: {exc}") from exc
        raise InvalidArchiveError(f"corrupt zip archive: {exc}") from exc
    except (RuntimeError, NotImplementedError, EOFError, zlib.error) as exc:
        raise InvalidArchiveError(f"cannot extract zip archive: {exc}") from exc
    return export_bin, export_sig


def _runs_past_end(data: bytes) -> bool:
    """Return True if a top-level protobuf field ends beyond ``data`` (the input was cut).

    The protobuf runtime reports every failure as "corrupt"; walking the top-level tags
    separates a truncated download from garbage.
    """
    pos, end = 0, len(data)

    def varint() -> int | None:
        nonlocal pos
        shift = value = 0
        while pos < end and shift < 70:
            byte = data[pos]
            pos += 1
            value |= (byte & 0x7F) << shift
            if not byte & 0x80:
                return value
            shift += 7
        return None if pos >= end else -1

    while pos < end:
        tag = varint()
        if tag is None:
            return True
        if tag < 0:
            return False
        wire = tag & 7
        if wire == 0:
            if varint() is None:
                return True
        elif wire in (1, 5):
            pos += 8 if wire == 1 else 4
        elif wire == 2:
            length = varint()
            if length is None:
                return True
            pos += max(length, 0)
        else:  # groups or invalid wire types: not a truncation
            return False
    return pos > end


def _parse_pb(
    message: export_pb2.TemporaryExposureKeyExport | export_pb2.TEKSignatureList,
    data: bytes,
    what: str,
) -> None:
    try:
        message.ParseFromString(data)
    except DecodeError as exc:
        if _runs_past_end(data):
            raise TruncatedExportError(f"{what} is truncated: {exc}") from exc
        raise MalformedExportError(f"{what} is not a valid protobuf message: {exc}") from exc


def _key_from_pb(pb: export_pb2.TemporaryExposureKey, where: str) -> TemporaryExposureKey:
    if not pb.HasField("key_data") or not pb.HasField("rolling_start_interval_number"):
        raise MalformedExportError(f"{where}: key_data and rolling_start_interval_number needed")
    try:
        return TemporaryExposureKey(
            key_data=pb.key_data,
            rolling_start_interval_number=pb.rolling_start_interval_number,
            rolling_period=pb.rolling_period,
            transmission_risk_level=pb.transmission_risk_level,
            report_type=ReportType(pb.report_type),
            days_since_onset_of_symptoms=(
                pb.days_since_onset_of_symptoms
                if pb.HasField("days_since_onset_of_symptoms")
                else None
            ),
        )
    except EnError as exc:
        raise MalformedExportError(f"{where}: {exc}") from exc


def _info_from_pb(pb: export_pb2.SignatureInfo) -> SignatureInfo:
    return SignatureInfo(
        verification_key_id=pb.verification_key_id,
        verification_key_version=pb.verification_key_version,
        signature_algorithm=pb.signature_algorithm,
        app_bundle_id=pb.app_bundle_id,
        android_package=pb.android_package,
    )


def _parse_export_bin(export_bin: bytes) -> export_pb2.TemporaryExposureKeyExport:
    if len(export_bin) < len(EXPORT_HEADER) and EXPORT_HEADER.startswith(export_bin):
        raise TruncatedExportError(f"export.bin has only {len(export_bin)} bytes of header")
    if not export_bin.startswith(EXPORT_HEADER):
        raise InvalidHeaderError(f"export.bin must start with {EXPORT_HEADER!r}")
    message = export_pb2.TemporaryExposureKeyExport()
    _parse_pb(message, export_bin[len(EXPORT_HEADER) :], "export.bin")
    return message


def verify_signature(
    export_bin: bytes, signature: TEKSignature, public_key: ec.EllipticCurvePublicKey
) -> None:
    """Verify one signature over ``export_bin``; raise on any failure, return ``None``."""
    if not isinstance(public_key, ec.EllipticCurvePublicKey) or not isinstance(
        public_key.curve, ec.SECP256R1
    ):
        raise InvalidKeyError("export verification keys must be ECDSA P-256 public keys")
    algorithm = signature.signature_info.signature_algorithm
    if algorithm != ECDSA_SHA256_OID:
        raise InvalidSignatureEncodingError(f"unsupported signature algorithm {algorithm!r}")
    try:
        decode_dss_signature(signature.signature)
    except ValueError as exc:
        raise InvalidSignatureEncodingError("signature is not DER-encoded ECDSA") from exc
    try:
        public_key.verify(signature.signature, export_bin, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        info = signature.signature_info
        raise InvalidSignatureError(
            f"signature by key id {info.verification_key_id!r} version "
            f"{info.verification_key_version!r} does not verify"
        ) from None


def read_export(
    data: bytes,
    public_keys: Mapping[tuple[str, str], ec.EllipticCurvePublicKey] | None = None,
    *,
    max_size: int = MAX_EXPORT_BIN_BYTES,
) -> Export:
    """Parse an export zip (or a bare ``export.bin``) and, if asked, verify its signatures.

    ``public_keys`` maps ``(key_id, key_version)`` to a P-256 public key. When it is given,
    at least one signature must come from one of those keys and every such signature must
    verify; otherwise :class:`UnsignedExportError`, :class:`UnknownSigningKeyError` or
    :class:`InvalidSignatureError` is raised. Signatures by other keys are ignored.
    ``max_size`` bounds the input and the uncompressed ``export.bin``.
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise ExportError(f"export data must be bytes, not {type(data).__name__}")
    data = bytes(data)
    # A zip is never much larger than its content; refuse huge inputs before parsing.
    input_limit = max_size + MAX_SIGNATURE_BYTES + _ZIP_SLACK
    if len(data) > input_limit:
        raise OversizedExportError(f"input of {len(data)} bytes exceeds {input_limit}")
    if data[:2] == b"PK":
        export_bin, export_sig = _unzip(data, max_size)
    else:
        export_bin, export_sig = data, None

    message = _parse_export_bin(export_bin)
    signatures: list[TEKSignature] = []
    if export_sig is not None:
        sig_list = export_pb2.TEKSignatureList()
        _parse_pb(sig_list, export_sig, "export.sig")
        signatures = [
            TEKSignature(
                signature_info=_info_from_pb(s.signature_info),
                batch_num=s.batch_num,
                batch_size=s.batch_size,
                signature=s.signature,
            )
            for s in sig_list.signatures
        ]

    verified: list[tuple[str, str]] = []
    if public_keys is not None:
        if export_sig is None:
            raise UnsignedExportError("a bare export.bin carries no signature")
        if not signatures:
            raise UnsignedExportError("export.sig holds no signature")
        for sig in signatures:
            public_key = public_keys.get(sig.signature_info.key)
            if public_key is not None:
                verify_signature(export_bin, sig, public_key)
                verified.append(sig.signature_info.key)
        if not verified:
            present = [s.signature_info.key for s in signatures]
            raise UnknownSigningKeyError(
                f"no signature by a trusted key; file is signed by {present}"
            )

    return Export(
        region=message.region,
        start_timestamp=message.start_timestamp,
        end_timestamp=message.end_timestamp,
        batch_num=message.batch_num,
        batch_size=message.batch_size,
        signature_infos=tuple(_info_from_pb(i) for i in message.signature_infos),
        keys=tuple(_key_from_pb(k, f"keys[{n}]") for n, k in enumerate(message.keys)),
        revised_keys=tuple(
            _key_from_pb(k, f"revised_keys[{n}]") for n, k in enumerate(message.revised_keys)
        ),
        signatures=tuple(signatures),
        export_bin=export_bin,
        verified_by=tuple(verified),
    )
