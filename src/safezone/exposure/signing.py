"""Export signing keys: ECDSA P-256, identified by key id and version.

Private keys are stored in the database encrypted (AES-256-GCM) with a key derived from the
secret key, so a database dump alone cannot sign files. ``rotate`` adds a new version; the
previous ones keep signing for an overlap period so phones can pick up the new public key.
"""

from __future__ import annotations

import base64
import datetime as dt
import os
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from safezone.accounts.service import record
from safezone.config import Settings
from safezone.en.export import ECDSA_SHA256_OID
from safezone.en.export import SigningKey as ExportSigner
from safezone.errors import Conflict, NotFound
from safezone.exposure.models import SigningKey

_AAD = b"safezone-exposure-signing-key-v1"


@dataclass(frozen=True, slots=True)
class PublicSigningKey:
    """What phones need to verify files: ids, algorithm and the public key."""

    key_id: str
    key_version: str
    public_key_der: bytes
    created_at: dt.datetime
    retires_at: dt.datetime | None

    @property
    def public_key(self) -> ec.EllipticCurvePublicKey:
        """The key as a ``cryptography`` object."""
        key = serialization.load_der_public_key(self.public_key_der)
        assert isinstance(key, ec.EllipticCurvePublicKey)
        return key

    @property
    def pem(self) -> str:
        """PEM text of the public key."""
        return self.public_key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode("ascii")

    def as_json(self) -> dict[str, object]:
        """The public JSON shape of ``GET /exposure/v1/signing-keys``."""
        return {
            "keyId": self.key_id,
            "keyVersion": self.key_version,
            "algorithm": ECDSA_SHA256_OID,
            "publicKey": base64.b64encode(self.public_key_der).decode("ascii"),
            "publicKeyPem": self.pem,
            "createdAt": self.created_at,
            "retiresAt": self.retires_at,
        }


_WRAP_PURPOSE = "safezone-exposure-signing-keys"


def _wrap_key(settings: Settings) -> AESGCM:
    return AESGCM(settings.keyring.key(_WRAP_PURPOSE))


def _seal(settings: Settings, der: bytes) -> bytes:
    nonce = os.urandom(12)
    return nonce + _wrap_key(settings).encrypt(nonce, der, _AAD)


def _unseal(settings: Settings, blob: bytes) -> tuple[bytes, bool]:
    """The private key's DER and whether the current key sealed it (else it needs a rekey)."""
    for position, key in enumerate(settings.keyring.keys(_WRAP_PURPOSE)):
        try:
            return AESGCM(key).decrypt(blob[:12], blob[12:], _AAD), position == 0
        except InvalidTag:
            continue
    msg = "no secret of the key ring opens this signing key (SAFEZONE_PREVIOUS_SECRET_KEYS?)"
    raise InvalidTag(msg)


def _public(row: SigningKey) -> PublicSigningKey:
    return PublicSigningKey(
        row.key_id, row.key_version, row.public_key_der, row.created_at, row.retires_at
    )


def _next_version(session: Session, key_id: str) -> str:
    versions = session.scalars(select(SigningKey.key_version).where(SigningKey.key_id == key_id))
    numbers = [int(v[1:]) for v in versions if v.startswith("v") and v[1:].isdigit()]
    return f"v{max(numbers, default=0) + 1}"


def _create(session: Session, settings: Settings, key_id: str, now: dt.datetime) -> SigningKey:
    private = ec.generate_private_key(ec.SECP256R1())
    der = private.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    row = SigningKey(
        key_id=key_id,
        key_version=_next_version(session, key_id),
        public_key_der=private.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
        private_key_enc=_seal(settings, der),
        created_at=now,
    )
    session.add(row)
    session.flush()
    return row


def generate(
    session: Session, settings: Settings, *, now: dt.datetime, actor: str | None = None
) -> PublicSigningKey:
    """Create the first signing key (Conflict if one already exists: use ``rotate``)."""
    key_id = settings.exposure.signing_key_id
    if session.scalar(select(SigningKey.id).where(SigningKey.key_id == key_id)) is not None:
        raise Conflict.single(
            "key_id",
            "signing_key_exists",
            "Đã có khoá ký; dùng 'rotate' để tạo phiên bản mới.",
            "A signing key already exists; use 'rotate' to make a new version.",
        )
    row = _create(session, settings, key_id, now)
    record(
        session,
        actor=actor,
        action="exposure.signing_key.generate",
        object_type="exposure_signing_key",
        object_id=f"{row.key_id}/{row.key_version}",
    )
    return _public(row)


def ensure_key(session: Session, settings: Settings, *, now: dt.datetime) -> PublicSigningKey:
    """The newest signing key, generating the first one if there is none (demo start-up)."""
    active = signers_rows(session, settings, now=now)
    if active:
        return _public(active[-1])
    return generate(session, settings, now=now, actor="system")


def rotate(
    session: Session, settings: Settings, *, now: dt.datetime, actor: str | None = None
) -> PublicSigningKey:
    """Add a new key version; older active versions retire after the overlap period."""
    key_id = settings.exposure.signing_key_id
    overlap = dt.timedelta(hours=settings.exposure.signing_key_overlap_hours)
    for row in signers_rows(session, settings, now=now):
        row.retires_at = now + overlap
    row = _create(session, settings, key_id, now)
    record(
        session,
        actor=actor,
        action="exposure.signing_key.rotate",
        object_type="exposure_signing_key",
        object_id=f"{row.key_id}/{row.key_version}",
    )
    return _public(row)


def signers_rows(session: Session, settings: Settings, *, now: dt.datetime) -> list[SigningKey]:
    """Rows of the keys that sign now (oldest first)."""
    return list(
        session.scalars(
            select(SigningKey)
            .where(
                SigningKey.key_id == settings.exposure.signing_key_id,
                or_(SigningKey.retires_at.is_(None), SigningKey.retires_at > now),
            )
            .order_by(SigningKey.created_at, SigningKey.id)
        )
    )


def signers(session: Session, settings: Settings, *, now: dt.datetime) -> list[ExportSigner]:
    """The keys that sign export files now, decrypted; NotFound when there is none."""
    rows = signers_rows(session, settings, now=now)
    if not rows:
        raise NotFound.single(
            None,
            "no_signing_key",
            "Chưa có khoá ký tệp; chạy 'safezone exposure keys generate'.",
            "No export signing key; run 'safezone exposure keys generate'.",
        )
    result = []
    for row in rows:
        der, _current = _unseal(settings, row.private_key_enc)
        private = serialization.load_der_private_key(der, password=None)
        assert isinstance(private, ec.EllipticCurvePrivateKey)
        result.append(ExportSigner(private, row.key_id, row.key_version))
    return result


def rekey(session: Session, settings: Settings) -> int:
    """Re-encrypt every stored private key under the current secret; the number changed.

    Part of ``safezone secrets rotate``: afterwards the previous secrets are no longer needed to
    sign. The keys themselves do not change, so files signed before still verify.
    """
    changed = 0
    for row in session.scalars(select(SigningKey)):
        der, current = _unseal(settings, row.private_key_enc)
        if not current:
            row.private_key_enc = _seal(settings, der)
            changed += 1
    session.flush()
    return changed


def list_keys(session: Session) -> list[PublicSigningKey]:
    """Every signing key's public part (newest last)."""
    rows = session.scalars(select(SigningKey).order_by(SigningKey.created_at, SigningKey.id))
    return [_public(row) for row in rows]


def public_keys(session: Session) -> dict[tuple[str, str], ec.EllipticCurvePublicKey]:
    """``(key_id, key_version)`` -> public key, the shape ``safezone.en.export`` verifies with."""
    return {(k.key_id, k.key_version): k.public_key for k in list_keys(session)}
