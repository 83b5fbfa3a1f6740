"""BLE payload encoding tests."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from safezone.en import payload
from safezone.en.errors import InvalidPayloadError
from tests.en.en_testdata import VECTORS

RPI = bytes.fromhex(VECTORS["intervals"][0]["rpi"])
AEM = bytes.fromhex(VECTORS["intervals"][0]["aem"])


def test_service_uuid_matches_vector_file() -> None:
    assert f"{payload.SERVICE_UUID16:04x}" == VECTORS["bluetooth_service_uuid16"]


def test_service_data_layout() -> None:
    data = payload.encode_service_data(RPI, AEM)
    assert data == RPI + AEM
    assert payload.decode_service_data(data) == payload.Payload(RPI, AEM)


def test_advertisement_layout() -> None:
    adv = payload.encode_advertisement(RPI, AEM)
    assert adv[:7] == bytes([0x02, 0x01, 0x1A, 0x03, 0x03, 0x6F, 0xFD])
    assert adv[7:11] == bytes([0x17, 0x16, 0x6F, 0xFD])
    assert adv[11:] == RPI + AEM
    assert len(adv) == 31


@given(st.binary(min_size=16, max_size=16), st.binary(min_size=4, max_size=4))
def test_round_trip(rpi: bytes, aem: bytes) -> None:
    assert payload.decode_service_data(payload.encode_service_data(rpi, aem)) == (
        payload.Payload(rpi, aem)
    )
    assert payload.decode_advertisement(payload.encode_advertisement(rpi, aem)) == (
        payload.Payload(rpi, aem)
    )


@pytest.mark.parametrize("size", [0, 19, 21, 36])
def test_wrong_service_data_length(size: int) -> None:
    with pytest.raises(InvalidPayloadError):
        payload.decode_service_data(bytes(size))


@pytest.mark.parametrize(("rpi", "aem"), [(bytes(15), AEM), (RPI, bytes(5)), ("x" * 16, AEM)])
def test_wrong_field_lengths(rpi: bytes, aem: bytes) -> None:
    with pytest.raises(InvalidPayloadError):
        payload.encode_service_data(rpi, aem)


def test_advertisement_with_other_structures_and_padding() -> None:
    name = bytes([4, 0x09]) + b"abc"
    service = bytes([0x17, 0x16, 0x6F, 0xFD]) + RPI + AEM
    assert payload.decode_advertisement(service + bytes(3)) == payload.Payload(RPI, AEM)
    assert len(name + service) == 29
    assert payload.decode_advertisement(name + service).rpi == RPI


@pytest.mark.parametrize(
    "adv",
    [
        b"",
        bytes([2, 0x01, 0x1A]),  # no service data
        bytes([0x17, 0x16, 0x6F, 0xFD]) + bytes(10),  # structure overruns
        bytes([0x16, 0x16, 0x6F, 0xFD]) + bytes(19),  # 19 bytes of service data
        bytes([0x05, 0x16, 0x6F, 0xFD, 1, 2]) * 2,  # repeated service data
        bytes(32),  # longer than a legacy advertisement
        bytes([0x17, 0x16, 0x6E, 0xFD]) + bytes(20),  # other UUID
    ],
)
def test_bad_advertisements(adv: bytes) -> None:
    with pytest.raises(InvalidPayloadError):
        payload.decode_advertisement(adv)
