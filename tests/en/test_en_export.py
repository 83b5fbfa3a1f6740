"""Export file tests: the real Google file, our writer, and hostile input."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import zipfile

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_der_public_key
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from safezone.en import export
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
from safezone.en.export import ReportType, SigningKey, TemporaryExposureKey
from safezone.en.proto import export_pb2
from tests.en.en_testdata import GOOGLE_PUBLIC_KEY_B64

GOOGLE_KEY = load_der_public_key(base64.b64decode(GOOGLE_PUBLIC_KEY_B64))
assert isinstance(GOOGLE_KEY, ec.EllipticCurvePublicKey)
GOOGLE_KEYS = {("310", "v1"): GOOGLE_KEY}
SIGNER = SigningKey(ec.generate_private_key(ec.SECP256R1()), "452", "v2")
SIGNER_B = SigningKey(ec.generate_private_key(ec.SECP256R1()), "999", "v1")


def unzip(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def make_zip(members: list[tuple[str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in members:
            archive.writestr(name, content)
    return buffer.getvalue()


def key(n: int, **kwargs: object) -> TemporaryExposureKey:
    return TemporaryExposureKey(bytes([n]) * 16, 2650000 + 144 * (n % 5), **kwargs)  # type: ignore[arg-type]


# --- the real file ---------------------------------------------------------------------------


def test_google_file_parses_and_verifies(google_zip: bytes) -> None:
    result = export.read_export(google_zip, GOOGLE_KEYS)
    assert result.region == "US"
    assert (result.start_timestamp, result.end_timestamp) == (1593633600, 1593633900)
    assert (result.batch_num, result.batch_size) == (1, 1)
    assert len(result.keys) == 140
    assert result.revised_keys == ()
    assert result.signature_infos == (export.SignatureInfo("310", "v1", "1.2.840.10045.4.3.2"),)
    assert result.verified_by == (("310", "v1"),)
    assert hashlib.sha256(result.export_bin).hexdigest() == (
        "1df2d78a603e2f85ca178f2fbd339a587f699bffd9d46a79f61b0448e79fe9f7"
    )
    assert all(len(k.key_data) == 16 and 1 <= k.rolling_period <= 144 for k in result.keys)
    # Google's writer sorts by key bytes, like ours.
    assert [k.key_data for k in result.keys] == sorted(k.key_data for k in result.keys)


def test_google_file_parses_without_verification(google_zip: bytes) -> None:
    assert len(export.read_export(google_zip).keys) == 140


def test_google_file_fails_with_another_key(google_zip: bytes) -> None:
    other = ec.generate_private_key(ec.SECP256R1()).public_key()
    with pytest.raises(InvalidSignatureError):
        export.read_export(google_zip, {("310", "v1"): other})


def test_google_file_fails_with_unknown_key_id(google_zip: bytes) -> None:
    with pytest.raises(UnknownSigningKeyError):
        export.read_export(google_zip, {("311", "v1"): GOOGLE_KEY})
    with pytest.raises(UnsignedExportError):
        export.read_export(google_zip, {})


def test_every_flipped_byte_of_export_bin_is_rejected(google_zip: bytes) -> None:
    members = unzip(google_zip)
    original = members["export.bin"]
    kinds: set[type[Exception]] = set()
    for position in range(len(original)):
        flipped = bytearray(original)
        flipped[position] ^= 0x01
        tampered = make_zip([("export.bin", bytes(flipped)), ("export.sig", members["export.sig"])])
        with pytest.raises(EnError) as info:
            export.read_export(tampered, GOOGLE_KEYS)
        kinds.add(type(info.value))
    assert InvalidSignatureError in kinds
    assert InvalidHeaderError in kinds


def test_flipped_byte_in_zip_container_is_rejected(google_zip: bytes) -> None:
    data = bytearray(google_zip)
    # Inside the deflated export.bin: the CRC or inflater catches it, or the signature does.
    data[100] ^= 0xFF
    with pytest.raises(EnError):
        export.read_export(bytes(data), GOOGLE_KEYS)


def test_flipped_signature_byte_is_rejected(google_zip: bytes) -> None:
    members = unzip(google_zip)
    sig_list = export_pb2.TEKSignatureList.FromString(members["export.sig"])
    raw = bytearray(sig_list.signatures[0].signature)
    raw[-1] ^= 0x01
    sig_list.signatures[0].signature = bytes(raw)
    tampered = make_zip(
        [("export.bin", members["export.bin"]), ("export.sig", sig_list.SerializeToString())]
    )
    with pytest.raises(InvalidSignatureError):
        export.read_export(tampered, GOOGLE_KEYS)


# --- our writer ------------------------------------------------------------------------------


def test_write_read_round_trip_with_every_field() -> None:
    keys = [
        key(
            3,
            rolling_period=100,
            report_type=ReportType.CONFIRMED_TEST,
            days_since_onset_of_symptoms=-3,
        ),
        key(1, transmission_risk_level=6),
        key(2, report_type=ReportType.SELF_REPORT, days_since_onset_of_symptoms=14),
    ]
    revised = [key(9, report_type=ReportType.REVOKED)]
    data = export.write_export(
        keys,
        region="VN-57",
        start_timestamp=1000,
        end_timestamp=2000,
        signing_keys=[SIGNER, SIGNER_B],
        batch_num=2,
        batch_size=3,
        revised_keys=revised,
    )
    assert sorted(unzip(data)) == ["export.bin", "export.sig"]
    public = {
        SIGNER.info.key: SIGNER.private_key.public_key(),
        SIGNER_B.info.key: SIGNER_B.private_key.public_key(),
    }
    result = export.read_export(data, public)
    assert result.verified_by == (("452", "v2"), ("999", "v1"))
    assert [k.key_data[0] for k in result.keys] == [1, 2, 3]
    assert result.keys[2] == keys[0]
    assert result.keys[0] == keys[1]
    assert result.revised_keys == tuple(revised)
    assert (result.region, result.batch_num, result.batch_size) == ("VN-57", 2, 3)
    assert result.signature_infos == (SIGNER.info, SIGNER_B.info)
    assert [s.batch_num for s in result.signatures] == [2, 2]
    # Either signer alone suffices; the other signature is then ignored.
    only_b = {SIGNER_B.info.key: SIGNER_B.private_key.public_key()}
    assert export.read_export(data, only_b).verified_by == (("999", "v1"),)


def test_writer_omits_default_rolling_period_and_unset_fields() -> None:
    data = export.write_export(
        [key(1), key(2, rolling_period=72)],
        region="VN",
        start_timestamp=0,
        end_timestamp=0,
        signing_keys=[SIGNER],
        legacy_signature_infos=False,
    )
    body = unzip(data)["export.bin"]
    assert body.startswith(b"EK Export v1    ")
    message = export_pb2.TemporaryExposureKeyExport.FromString(body[16:])
    assert not message.keys[0].HasField("rolling_period")
    assert message.keys[1].rolling_period == 72
    assert not message.keys[0].HasField("report_type")
    assert not message.keys[0].HasField("days_since_onset_of_symptoms")
    assert not message.keys[0].HasField("transmission_risk_level")
    assert len(message.signature_infos) == 0


def test_signatures_are_der_over_whole_export_bin() -> None:
    data = export.write_export(
        [key(1)], region="VN", start_timestamp=0, end_timestamp=1, signing_keys=[SIGNER]
    )
    members = unzip(data)
    sig = export_pb2.TEKSignatureList.FromString(members["export.sig"]).signatures[0]
    assert sig.signature_info.signature_algorithm == "1.2.840.10045.4.3.2"
    SIGNER.private_key.public_key().verify(
        sig.signature, members["export.bin"], ec.ECDSA(export.hashes.SHA256())
    )


key_strategy = st.builds(
    TemporaryExposureKey,
    key_data=st.binary(min_size=16, max_size=16),
    rolling_start_interval_number=st.integers(0, 2**31 - 145),
    rolling_period=st.integers(1, 144),
    transmission_risk_level=st.integers(0, 8),
    report_type=st.sampled_from(ReportType),
    days_since_onset_of_symptoms=st.none() | st.integers(-14, 14),
)


@settings(max_examples=40, suppress_health_check=[HealthCheck.too_slow])
@given(
    keys=st.lists(key_strategy, max_size=20, unique_by=lambda k: k.key_data),
    revised=st.lists(key_strategy, max_size=3, unique_by=lambda k: k.key_data),
    region=st.text(max_size=10),
    start=st.integers(0, 2**63),
    length=st.integers(0, 10**6),
)
def test_round_trip_property(
    keys: list[TemporaryExposureKey],
    revised: list[TemporaryExposureKey],
    region: str,
    start: int,
    length: int,
) -> None:
    data = export.write_export(
        keys,
        region=region,
        start_timestamp=start,
        end_timestamp=start + length,
        signing_keys=[SIGNER],
        revised_keys=revised,
    )
    result = export.read_export(data, {SIGNER.info.key: SIGNER.private_key.public_key()})
    assert result.keys == tuple(sorted(keys, key=lambda k: k.key_data))
    assert result.revised_keys == tuple(sorted(revised, key=lambda k: k.key_data))
    assert (result.region, result.start_timestamp, result.end_timestamp) == (
        region,
        start,
        start + length,
    )


@pytest.mark.parametrize(
    "kwargs",
    [
        {"signing_keys": []},
        {"batch_num": 0},
        {"batch_num": 3, "batch_size": 2},
        {"start_timestamp": 5, "end_timestamp": 4},
        {"start_timestamp": -1},
    ],
)
def test_writer_rejects_bad_arguments(kwargs: dict[str, object]) -> None:
    args: dict[str, object] = {
        "region": "VN",
        "start_timestamp": 0,
        "end_timestamp": 1,
        "signing_keys": [SIGNER],
    }
    args.update(kwargs)
    with pytest.raises(ExportError):
        export.write_export([key(1)], **args)  # type: ignore[arg-type]


def test_writer_rejects_duplicate_keys() -> None:
    with pytest.raises(ExportError, match="duplicate"):
        export.write_export(
            [key(1), key(1)], region="VN", start_timestamp=0, end_timestamp=1, signing_keys=[SIGNER]
        )


def test_signing_key_must_be_p256() -> None:
    with pytest.raises(InvalidKeyError):
        SigningKey(ec.generate_private_key(ec.SECP384R1()), "1", "v1")


# --- hostile and malformed input -------------------------------------------------------------


def signed_members() -> dict[str, bytes]:
    return unzip(
        export.write_export(
            [key(1)], region="VN", start_timestamp=0, end_timestamp=1, signing_keys=[SIGNER]
        )
    )


def test_bare_export_bin_is_accepted_but_unsigned(google_zip: bytes) -> None:
    body = unzip(google_zip)["export.bin"]
    assert len(export.read_export(body).keys) == 140
    assert export.read_export(bytearray(body)).signatures == ()
    with pytest.raises(UnsignedExportError):
        export.read_export(body, GOOGLE_KEYS)


def test_empty_signature_list_is_unsigned() -> None:
    members = signed_members()
    data = make_zip([("export.bin", members["export.bin"]), ("export.sig", b"")])
    assert export.read_export(data).signatures == ()
    with pytest.raises(UnsignedExportError):
        export.read_export(data, {SIGNER.info.key: SIGNER.private_key.public_key()})


@pytest.mark.parametrize(
    "names",
    [
        ["export.bin"],
        ["export.sig"],
        ["export.bin", "export.sig", "extra.txt"],
        ["export.bin", "export.bin", "export.sig"],
        ["dir/export.bin", "export.sig"],
    ],
)
def test_archive_must_hold_exactly_two_members(names: list[str]) -> None:
    members = signed_members()
    duplicate = len(set(names)) < len(names)
    expect_warning = pytest.warns(UserWarning, match="Duplicate name")
    with expect_warning if duplicate else contextlib.nullcontext():
        data = make_zip([(n, members.get(n, b"x")) for n in names])
    with pytest.raises(InvalidArchiveError):
        export.read_export(data)


def test_zip_bomb_is_refused() -> None:
    bomb = make_zip([("export.bin", b"EK Export v1    " + bytes(5_000_000)), ("export.sig", b"")])
    assert len(bomb) < 10_000
    with pytest.raises(OversizedExportError):
        export.read_export(bomb, max_size=1_000_000)


def test_oversized_input_is_refused() -> None:
    with pytest.raises(OversizedExportError):
        export.read_export(bytes(200_000), max_size=1000)


def test_oversized_signature_member_is_refused() -> None:
    members = signed_members()
    data = make_zip([("export.bin", members["export.bin"]), ("export.sig", bytes(70_000))])
    with pytest.raises(OversizedExportError):
        export.read_export(data)


def test_lying_declared_size_fails_crc() -> None:
    members = signed_members()
    data = bytearray(make_zip(list(members.items())))
    # Shrink the uncompressed size of export.bin in its central-directory entry.
    cd = data.rfind(b"PK\x01\x02", 0, data.rfind(b"export.sig"))
    data[cd + 24 : cd + 28] = (5).to_bytes(4, "little")
    with pytest.raises(InvalidArchiveError):
        export.read_export(bytes(data))


def test_truncated_zip(google_zip: bytes) -> None:
    with pytest.raises(TruncatedExportError):
        export.read_export(google_zip[: len(google_zip) // 2])


def test_corrupt_zip_with_directory() -> None:
    data = b"PK\x03\x04" + bytes(40) + b"PK\x05\x06" + bytes(18)
    with pytest.raises(InvalidArchiveError):
        export.read_export(data)


def test_encrypted_member_is_refused() -> None:
    data = bytearray(make_zip(list(signed_members().items())))
    # Set the "encrypted" flag bit in every local and central header.
    for magic, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        start = 0
        while (start := data.find(magic, start)) != -1:
            data[start + offset] |= 0x01
            start += 4
    with pytest.raises(InvalidArchiveError):
        export.read_export(bytes(data))


@pytest.mark.parametrize("data", [b"", b"EK Exp", b"EK Export v1   "])
def test_truncated_header(data: bytes) -> None:
    with pytest.raises(TruncatedExportError):
        export.read_export(data)


@pytest.mark.parametrize(
    "data", [b"EK Export v2    ", b"ek export v1    \n\x00", b"hello world!!!!!!!"]
)
def test_wrong_header(data: bytes) -> None:
    with pytest.raises(InvalidHeaderError):
        export.read_export(data)


def test_truncated_protobuf(google_zip: bytes) -> None:
    body = unzip(google_zip)["export.bin"]
    with pytest.raises(TruncatedExportError):
        export.read_export(body[:-7])


def test_malformed_protobuf() -> None:
    with pytest.raises(MalformedExportError):
        export.read_export(b"EK Export v1    " + b"\x0f\xff\xff")
    members = signed_members()
    with pytest.raises(MalformedExportError):
        export.read_export(
            make_zip([("export.bin", members["export.bin"]), ("export.sig", b"\x0f\xff")])
        )


@pytest.mark.parametrize(
    "fields",
    [
        {"key_data": bytes(15), "rolling_start_interval_number": 1},
        {"key_data": bytes(16), "rolling_start_interval_number": 1, "rolling_period": 0},
        {"key_data": bytes(16), "rolling_start_interval_number": 1, "rolling_period": 145},
        {"key_data": bytes(16), "rolling_start_interval_number": -5},
        {
            "key_data": bytes(16),
            "rolling_start_interval_number": 1,
            "days_since_onset_of_symptoms": 15,
        },
        {"key_data": bytes(16), "rolling_start_interval_number": 1, "transmission_risk_level": 9},
        {"key_data": bytes(16)},
        {"rolling_start_interval_number": 1},
    ],
)
def test_invalid_key_values(fields: dict[str, object]) -> None:
    message = export_pb2.TemporaryExposureKeyExport(region="VN")
    message.keys.add(**fields)  # type: ignore[arg-type]
    with pytest.raises(MalformedExportError):
        export.read_export(b"EK Export v1    " + message.SerializeToString())


def _resign(members: dict[str, bytes], **changes: object) -> bytes:
    sig_list = export_pb2.TEKSignatureList.FromString(members["export.sig"])
    sig = sig_list.signatures[0]
    for name, value in changes.items():
        if name == "algorithm":
            sig.signature_info.signature_algorithm = str(value)
        else:
            setattr(sig, name, value)
    return make_zip(
        [("export.bin", members["export.bin"]), ("export.sig", sig_list.SerializeToString())]
    )


def test_signature_in_wrong_encoding() -> None:
    members = signed_members()
    public = {SIGNER.info.key: SIGNER.private_key.public_key()}
    raw = export_pb2.TEKSignatureList.FromString(members["export.sig"]).signatures[0].signature
    r, s = export.decode_dss_signature(raw)
    p1363 = r.to_bytes(32, "big") + s.to_bytes(32, "big")  # the raw r||s form, not DER
    with pytest.raises(InvalidSignatureEncodingError):
        export.read_export(_resign(members, signature=p1363), public)
    with pytest.raises(InvalidSignatureEncodingError):
        export.read_export(_resign(members, algorithm="1.2.840.10045.4.3.4"), public)


def test_verification_key_must_be_p256() -> None:
    members = signed_members()
    p384 = ec.generate_private_key(ec.SECP384R1()).public_key()
    with pytest.raises(InvalidKeyError):
        export.read_export(make_zip(list(members.items())), {SIGNER.info.key: p384})


def test_non_bytes_input() -> None:
    with pytest.raises(ExportError):
        export.read_export("EK Export v1    ")  # type: ignore[arg-type]
