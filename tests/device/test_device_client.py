"""The device's HTTP client against a fake server speaking Google's shapes (httpx mock).

Checks what the device sends (paths, fields, X-API-Key, padding, the HMAC) and how it reads
answers: the success shapes, every error shape of data/server_answers.jsonl, and signed
exports (a file that does not verify is never matched).
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from safezone.device.client import ServerClient, ServerError
from safezone.en.errors import EnError
from safezone.en.export import SigningKey, write_export
from safezone.en.keys import TemporaryExposureKey
from safezone.en.tekmac import verify_tekmac

ANSWERS = [
    json.loads(line)
    for line in (Path(__file__).parent / "data" / "server_answers.jsonl").read_text().splitlines()
]
PATHS = {"verify": "/api/verify", "certificate": "/api/certificate", "publish": "/v1/publish"}
KEYS = [TemporaryExposureKey(os.urandom(16), 2_900_000 + 144 * n, 144) for n in range(3)]


SUCCESS: dict[str, dict[str, Any]] = {
    "/api/verify": {
        "testtype": "confirmed",
        "symptomDate": "2026-03-08",
        "testDate": "2026-03-09",
        "token": "tok",
        "padding": "AAAA",
    },
    "/api/certificate": {"certificate": "a.b.c", "padding": "AAAA"},
    "/v1/publish": {"revisionToken": "rev", "insertedExposures": 3, "padding": "AAAA"},
}


class FakeServer:
    """Answers like Google's verification and key servers; remembers the requests."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, str], dict[str, Any]]] = []
        self.override: dict[str, tuple[int, Any]] = {}
        self.files: dict[str, bytes] = {}
        self.signing_keys: list[dict[str, Any]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        body = json.loads(request.content) if request.content else {}
        self.requests.append((path, dict(request.headers), body))
        for step, step_path in PATHS.items():
            if path == step_path and step in self.override:
                status, answer = self.override[step]
                if answer is None:
                    return httpx.Response(status, text="oops")
                return httpx.Response(status, json=answer)
        if path in SUCCESS:
            return httpx.Response(200, json=SUCCESS[path])
        if path == "/exposure/v1/signing-keys":
            return httpx.Response(200, json=self.signing_keys)
        name = path.removeprefix("/exposure/v1/")
        if name in self.files:
            return httpx.Response(200, content=self.files[name])
        return httpx.Response(404, json={"errors": []})


def _client(server: FakeServer) -> ServerClient:
    http = httpx.Client(transport=httpx.MockTransport(server), base_url="http://server")
    return ServerClient(http, api_key="app-key", health_authority="ha", region="VN")


def test_upload_speaks_google_s_wire_format() -> None:
    server = FakeServer()
    published = _client(server).upload("12345678", KEYS)
    assert published.inserted == 3
    assert published.revision_token == "rev"
    (verify, verify_headers, verify_body), (cert, cert_headers, cert_body), publish = (
        server.requests
    )
    assert (verify, cert, publish[0]) == ("/api/verify", "/api/certificate", "/v1/publish")
    assert verify_headers["x-api-key"] == cert_headers["x-api-key"] == "app-key"
    assert "x-api-key" not in publish[1]  # the key server does not know app keys
    assert set(verify_body) == {"code", "accept", "padding"}
    assert verify_body["code"] == "12345678"
    assert verify_body["accept"] == ["confirmed", "likely"]  # never publish on a negative
    assert set(cert_body) == {"token", "ekeyhmac", "padding"}
    assert cert_body["token"] == "tok"
    body = publish[2]
    assert set(body) == {
        "temporaryExposureKeys",
        "healthAuthorityID",
        "verificationPayload",
        "hmacKey",
        "traveler",
        "revisionToken",
        "padding",
    }
    assert body["verificationPayload"] == "a.b.c"
    assert body["healthAuthorityID"] == "ha"
    assert [k["rollingStartNumber"] for k in body["temporaryExposureKeys"]] == [
        k.rolling_start_interval_number for k in KEYS
    ]
    assert set(body["temporaryExposureKeys"][0]) == {
        "key",
        "rollingStartNumber",
        "rollingPeriod",
        "transmissionRisk",
    }
    # The certificate was bound to exactly the keys published, with the key sent at publish.
    verify_tekmac(KEYS, base64.b64decode(body["hmacKey"]), cert_body["ekeyhmac"])
    for _, _, sent in server.requests:
        assert 1024 <= len(base64.b64decode(sent["padding"])) < 2048


@pytest.mark.parametrize(
    "case", ANSWERS, ids=[f"{a['step']}-{a['status']}-{a['code'] or 'none'}" for a in ANSWERS]
)
def test_refusals_raise_with_the_server_s_code(case: dict[str, Any]) -> None:
    server = FakeServer()
    server.override[case["step"]] = (case["status"], case["body"])
    with pytest.raises(ServerError) as raised:
        _client(server).upload("12345678", KEYS)
    assert raised.value.step == case["step"]
    assert raised.value.status == case["status"]
    assert raised.value.code == case["code"]
    steps = [path for path, _, _ in server.requests]
    assert steps[-1] == PATHS[case["step"]]  # nothing after a refusal


def _signed_export(private: ec.EllipticCurvePrivateKey) -> bytes:
    now = int(dt.datetime(2026, 3, 10, tzinfo=dt.UTC).timestamp())
    return write_export(
        KEYS,
        region="VN",
        start_timestamp=now - 86400,
        end_timestamp=now,
        signing_keys=[SigningKey(private, "452", "v1")],
    )


def _publish_key(server: FakeServer, private: ec.EllipticCurvePrivateKey) -> None:
    der = private.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    server.signing_keys = [
        {"keyId": "452", "keyVersion": "v1", "publicKey": base64.b64encode(der).decode()}
    ]


def test_downloads_verify_every_file() -> None:
    server = FakeServer()
    private = ec.generate_private_key(ec.SECP256R1())
    _publish_key(server, private)
    server.files = {
        "VN/index.txt": b"VN/1-2-00001.zip\n",
        "VN/1-2-00001.zip": _signed_export(private),
    }
    keys, read = _client(server).diagnosis_keys()
    assert sorted(k.key_data for k in keys) == sorted(k.key_data for k in KEYS)
    assert read == ["VN/1-2-00001.zip"]


def test_a_file_signed_by_another_key_is_refused() -> None:
    server = FakeServer()
    _publish_key(server, ec.generate_private_key(ec.SECP256R1()))
    forged = _signed_export(ec.generate_private_key(ec.SECP256R1()))
    server.files = {"VN/index.txt": b"VN/1-2-00001.zip\n", "VN/1-2-00001.zip": forged}
    with pytest.raises(EnError):
        _client(server).diagnosis_keys()


@pytest.mark.parametrize("path", ["../etc/passwd", "/VN/x.zip", "VN/../../x.zip"])
def test_unsafe_index_paths_are_refused(path: str) -> None:
    server = FakeServer()
    server.files = {"VN/index.txt": path.encode()}
    with pytest.raises(ServerError, match="unsafe path"):
        _client(server).diagnosis_keys()


def test_no_index_yet_means_no_keys() -> None:
    assert _client(FakeServer()).diagnosis_keys() == ([], [])


def test_a_decoy_upload_looks_like_a_real_one_but_says_x_chaff() -> None:
    real, decoy = FakeServer(), FakeServer()
    _client(real).upload("12345678", KEYS)
    _client(decoy).decoy_upload(len(KEYS), 2_900_000 + 144 * 5)
    assert [p for p, _, _ in decoy.requests] == [p for p, _, _ in real.requests]
    for (_, real_headers, real_body), (_, headers, body) in zip(
        real.requests, decoy.requests, strict=True
    ):
        assert headers["x-chaff"] == "1"
        assert "x-chaff" not in real_headers
        assert set(body) == set(real_body)
        assert ("x-api-key" in headers) == ("x-api-key" in real_headers)
        assert 1024 <= len(base64.b64decode(body["padding"])) < 2048
    assert len(decoy.requests[2][2]["temporaryExposureKeys"]) == len(KEYS)
