"""The device's HTTP client for a safezone server (or any server speaking Google's APIs).

Downloads (``/exposure/v1/...``) follow safezone's export layout; the upload path speaks the
wire format of Google's verification server (``POST /api/verify``, ``POST /api/certificate``,
header ``X-API-Key``) and key server (``POST /v1/publish``). Every request carries random
``padding`` so its size tells an observer nothing about its content.
"""

from __future__ import annotations

import base64
import os
import secrets
from dataclasses import dataclass
from typing import Any, Final

import httpx
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_der_public_key

from safezone.en.export import read_export
from safezone.en.keys import TemporaryExposureKey
from safezone.en.tekmac import tekmac

#: The test types the device accepts from ``/api/verify`` (Google's ``accept``): confirmed
#: and likely. A code for a negative test answers 412 ``unsupported_test_type``, so a device
#: never publishes its keys on a negative result.
ACCEPT: Final = ("confirmed", "likely")
# Export files above this size are refused before parsing (safezone.en also checks).
MAX_EXPORT_BYTES: Final = 32 * 1024 * 1024


class ServerError(Exception):
    """The server refused a request; ``code`` is its ``errorCode``/``code`` if it gave one."""

    def __init__(self, step: str, status: int, code: str, message: str) -> None:
        """Remember which step failed and how."""
        super().__init__(f"{step}: HTTP {status} {code or '-'}: {message}")
        self.step = step
        self.status = status
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class Verified:
    """The answer of ``/api/verify``: a token and what the code says about the test."""

    token: str
    test_type: str
    symptom_date: str | None
    test_date: str | None


@dataclass(frozen=True, slots=True)
class Published:
    """The answer of ``/v1/publish``."""

    inserted: int
    revision_token: str
    warnings: tuple[str, ...]


def padding(rng_bytes: int | None = None) -> str:
    """Random base64 padding of 1-2 KiB (uniform) so all uploads look alike on the wire."""
    size = rng_bytes if rng_bytes is not None else 1024 + secrets.randbelow(1024)
    return base64.b64encode(os.urandom(size)).decode("ascii")


def key_json(keys: list[TemporaryExposureKey]) -> list[dict[str, Any]]:
    """Keys in the publish API's JSON shape (``temporaryExposureKeys``)."""
    return [
        {
            "key": base64.b64encode(k.key_data).decode("ascii"),
            "rollingStartNumber": k.rolling_start_interval_number,
            "rollingPeriod": k.rolling_period,
            "transmissionRisk": k.transmission_risk_level,
        }
        for k in keys
    ]


class ServerClient:
    """Talks to one server through an :class:`httpx.Client` (injectable for tests).

    ``api_key`` is the app's key for the verification API; ``health_authority`` the id the
    key server knows the app's health authority by; ``region`` the export region.
    """

    def __init__(
        self,
        http: httpx.Client,
        *,
        api_key: str = "",
        health_authority: str = "safezone-demo",
        region: str = "VN",
    ) -> None:
        """Wrap ``http`` (its ``base_url`` is the server)."""
        self.http = http
        self.api_key = api_key
        self.health_authority = health_authority
        self.region = region

    # --- downloads ---------------------------------------------------------------------------

    def signing_keys(self) -> dict[tuple[str, str], ec.EllipticCurvePublicKey]:
        """The server's export signing keys, as ``read_export`` wants them."""
        answer = self.http.get("/exposure/v1/signing-keys")
        _check("signing-keys", answer)
        trusted: dict[tuple[str, str], ec.EllipticCurvePublicKey] = {}
        for item in answer.json():
            key = load_der_public_key(base64.b64decode(item["publicKey"]))
            if not isinstance(key, ec.EllipticCurvePublicKey):
                raise ServerError("signing-keys", answer.status_code, "", "not an EC key")
            trusted[(str(item["keyId"]), str(item["keyVersion"]))] = key
        return trusted

    def index(self) -> list[str]:
        """The paths listed in the region's ``index.txt`` (empty if it has none yet)."""
        answer = self.http.get(f"/exposure/v1/{self.region}/index.txt")
        if answer.status_code == 404:
            return []
        _check("index", answer)
        return [line.strip() for line in answer.text.splitlines() if line.strip()]

    def diagnosis_keys(self) -> tuple[list[TemporaryExposureKey], list[str]]:
        """Download, verify and read every export file of the index.

        Returns the keys and the paths read. A file whose signature does not verify raises
        (``safezone.en.errors.EnError``): a device never matches against unverified keys.
        """
        trusted = self.signing_keys()
        keys: list[TemporaryExposureKey] = []
        read: list[str] = []
        for path in self.index():
            if path.startswith("/") or ".." in path.split("/"):
                raise ServerError("index", 200, "", f"unsafe path {path!r}")
            answer = self.http.get(f"/exposure/v1/{path}")
            _check("export", answer)
            if len(answer.content) > MAX_EXPORT_BYTES:
                raise ServerError("export", 200, "", f"{path} is larger than allowed")
            keys.extend(read_export(answer.content, trusted).keys)
            read.append(path)
        return keys, read

    # --- upload ------------------------------------------------------------------------------

    def verify(self, code: str, accept: tuple[str, ...] = ACCEPT) -> Verified:
        """``POST /api/verify``: exchange the health worker's code for a token."""
        answer = self.http.post(
            "/api/verify",
            json={"code": code, "accept": list(accept), "padding": padding()},
            headers=self._api_headers(),
        )
        body = _check("verify", answer)
        return Verified(
            token=str(body["token"]),
            test_type=str(body.get("testtype", "")),
            symptom_date=body.get("symptomDate") or None,
            test_date=body.get("testDate") or None,
        )

    def certificate(self, token: str, keys: list[TemporaryExposureKey], secret: bytes) -> str:
        """``POST /api/certificate``: bind the keys' HMAC to the token; returns the JWT."""
        answer = self.http.post(
            "/api/certificate",
            json={"token": token, "ekeyhmac": tekmac(keys, secret), "padding": padding()},
            headers=self._api_headers(),
        )
        return str(_check("certificate", answer)["certificate"])

    def publish(
        self, keys: list[TemporaryExposureKey], certificate: str, secret: bytes
    ) -> Published:
        """``POST /v1/publish`` (Google's key server v1 publish)."""
        answer = self.http.post(
            "/v1/publish",
            json={
                "temporaryExposureKeys": key_json(keys),
                "healthAuthorityID": self.health_authority,
                "verificationPayload": certificate,
                "hmacKey": base64.b64encode(secret).decode("ascii"),
                "traveler": False,
                "revisionToken": "",
                "padding": padding(),
            },
        )
        body = _check("publish", answer)
        return Published(
            inserted=int(body.get("insertedExposures") or 0),
            revision_token=str(body.get("revisionToken") or ""),
            warnings=tuple(str(w) for w in body.get("warnings") or ()),
        )

    def upload(self, code: str, keys: list[TemporaryExposureKey]) -> Published:
        """The whole protocol: verify the code, get a certificate for the keys, publish."""
        verified = self.verify(code)
        secret = os.urandom(32)  # the HMAC key never leaves the device before publish
        cert = self.certificate(verified.token, keys, secret)
        return self.publish(keys, cert, secret)

    def decoy_upload(self, key_count: int, now_interval: int) -> list[int]:
        """The three requests of an upload, marked ``X-Chaff: 1`` and otherwise alike.

        The server answers them like real ones and stores nothing; an observer of the
        encrypted traffic cannot tell a device that uploads from one that does not. Same
        paths, fields, padding and key count as :meth:`upload`. Returns the three HTTP
        statuses (a server honouring ``X-Chaff`` answers 200).
        """
        chaff = {"X-Chaff": "1"}
        day = now_interval // 144 * 144
        keys = [
            TemporaryExposureKey(os.urandom(16), day - 144 * (n + 1))
            for n in range(max(key_count, 1))
        ]
        statuses = []
        answer = self.http.post(
            "/api/verify",
            json={
                "code": f"{secrets.randbelow(10**8):08d}",
                "accept": list(ACCEPT),
                "padding": padding(),
            },
            headers={**self._api_headers(), **chaff},
        )
        statuses.append(answer.status_code)
        secret = os.urandom(32)
        answer = self.http.post(
            "/api/certificate",
            json={
                "token": secrets.token_urlsafe(32),
                "ekeyhmac": tekmac(keys, secret),
                "padding": padding(),
            },
            headers={**self._api_headers(), **chaff},
        )
        statuses.append(answer.status_code)
        fake_certificate = ".".join(secrets.token_urlsafe(n) for n in (27, 240, 64))
        answer = self.http.post(
            "/v1/publish",
            json={
                "temporaryExposureKeys": key_json(keys),
                "healthAuthorityID": self.health_authority,
                "verificationPayload": fake_certificate,
                "hmacKey": base64.b64encode(secret).decode("ascii"),
                "traveler": False,
                "revisionToken": "",
                "padding": padding(),
            },
            headers=chaff,
        )
        statuses.append(answer.status_code)
        return statuses

    def _api_headers(self) -> dict[str, str]:
        return {"X-API-Key": self.api_key} if self.api_key else {}


def _check(step: str, answer: httpx.Response) -> dict[str, Any]:
    """Return the JSON body of a success; raise :class:`ServerError` with the server's words."""
    body: Any = None
    if answer.headers.get("content-type", "").startswith("application/json"):
        try:
            body = answer.json()
        except ValueError:
            body = None
    if answer.status_code != 200:
        code, message = "", answer.text[:200]
        if isinstance(body, dict):
            code = str(body.get("errorCode") or body.get("code") or "")
            message = str(body.get("error") or message)
        raise ServerError(step, answer.status_code, code, message)
    if isinstance(body, dict):
        # Google's servers answer 200 only on success, but an ``error`` field is never ignored.
        if body.get("error"):
            code = str(body.get("errorCode") or body.get("code") or "")
            raise ServerError(step, answer.status_code, code, str(body["error"]))
        return body
    if isinstance(body, list):
        return {"items": body}
    return {}
