"""The device's state on disk: keys, sightings and exposures, encrypted with a local key.

Two files in the device's directory: ``device.key`` (32 random bytes, mode 0600, created on
first use; it never leaves the device) and ``state.bin`` (version byte, 12-byte nonce,
AES-256-GCM of the JSON state). Keys and sightings older than 14 days are dropped on every
load and save, so nothing older is ever written back.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from safezone.en import crypto
from safezone.en.device import RETENTION_DAYS, EncounterLog, KeyStore
from safezone.en.keys import TemporaryExposureKey

_VERSION: Final = 1
_AAD: Final = b"safezone-device-state-v1"
KEY_FILE: Final = "device.key"
STATE_FILE: Final = "state.bin"
LOCK_FILE: Final = "state.lock"


class StateError(Exception):
    """The state file cannot be read: wrong key, tampered or from a newer version."""


class StateBusy(StateError):
    """Another process (a running device) holds the state."""


class DeviceKeyStore(KeyStore):
    """A :class:`KeyStore` that can be refilled from storage."""

    def restore(self, keys: list[TemporaryExposureKey]) -> None:
        """Put stored keys back (by rolling start, as the key store indexes them)."""
        for key in keys:
            self._keys[key.rolling_start_interval_number] = key


@dataclass
class DeviceState:
    """Everything the device keeps: its keys, what it heard, what it was told."""

    keys: DeviceKeyStore
    log: EncounterLog
    #: Explained exposures of the last check (JSON-ready dicts, see ``Exposure.to_json``).
    exposures: list[dict[str, Any]] = field(default_factory=list)
    #: The export files (paths of index.txt) read at the last check.
    seen_exports: list[str] = field(default_factory=list)
    #: Unix time of the last successful check, or None.
    checked_at: float | None = None

    def purge(self, now: float) -> None:
        """Forget keys and sightings older than 14 days (and exposures dated before that)."""
        self.keys.purge(now)
        self.log.purge(now)
        horizon = crypto.interval_number(now) // 144 - RETENTION_DAYS
        self.exposures = [e for e in self.exposures if int(e.get("day_number", 0)) >= horizon]


def _key_to_json(key: TemporaryExposureKey) -> dict[str, Any]:
    return {
        "k": base64.b64encode(key.key_data).decode("ascii"),
        "s": key.rolling_start_interval_number,
        "p": key.rolling_period,
    }


def state_to_json(state: DeviceState) -> dict[str, Any]:
    """The state as JSON (bytes as base64)."""
    return {
        "version": _VERSION,
        "keys": [_key_to_json(k) for k in state.keys.keys],
        "sightings": [
            [
                base64.b64encode(s.rpi + s.aem).decode("ascii"),
                s.rssi,
                s.timestamp,
            ]
            for s in state.log.sightings
        ],
        "exposures": state.exposures,
        "seen_exports": state.seen_exports,
        "checked_at": state.checked_at,
    }


def state_from_json(data: dict[str, Any], keys: DeviceKeyStore, log: EncounterLog) -> DeviceState:
    """Refill ``keys`` and ``log`` from JSON made by :func:`state_to_json`."""
    keys.restore(
        [
            TemporaryExposureKey(base64.b64decode(k["k"]), int(k["s"]), int(k["p"]))
            for k in data.get("keys", [])
        ]
    )
    for encoded, rssi, timestamp in data.get("sightings", []):
        raw = base64.b64decode(encoded)
        log.record(raw[:16], raw[16:], int(rssi), float(timestamp))
    return DeviceState(
        keys=keys,
        log=log,
        exposures=list(data.get("exposures", [])),
        seen_exports=[str(p) for p in data.get("seen_exports", [])],
        checked_at=data.get("checked_at"),
    )


class StateFile:
    """Encrypted state in ``directory`` (created with mode 0700)."""

    def __init__(self, directory: Path) -> None:
        """Use ``directory``; nothing is created until the first load or save."""
        self.directory = directory

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the state exclusively (``state.lock``, flock) or raise :class:`StateBusy`.

        ``safezone device run`` holds it while it runs, so a ``check`` or ``upload`` in
        another process cannot save a state the running device would then overwrite.
        """
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.directory / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise StateBusy(f"{self.directory} is in use by a running device") from None
            yield
        finally:
            os.close(fd)  # closing releases the lock

    @property
    def path(self) -> Path:
        """The encrypted state file."""
        return self.directory / STATE_FILE

    def _key(self) -> bytes:
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        path = self.directory / KEY_FILE
        try:
            key = path.read_bytes()
        except FileNotFoundError:
            key = AESGCM.generate_key(bit_length=256)
            # O_EXCL: two processes starting at once must not overwrite each other's key.
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as out:
                out.write(key)
        if len(key) != 32:
            raise StateError(f"{path} is not a device key (32 bytes)")
        return key

    def load(self, keys: DeviceKeyStore, log: EncounterLog, now: float) -> DeviceState:
        """Read the state into ``keys`` and ``log`` (an empty state if there is none)."""
        aead = AESGCM(self._key())
        try:
            blob = self.path.read_bytes()
        except FileNotFoundError:
            state = DeviceState(keys=keys, log=log)
        else:
            if len(blob) < 13 or blob[0] != _VERSION:
                raise StateError(f"{self.path}: unknown format")
            try:
                plain = aead.decrypt(blob[1:13], blob[13:], _AAD)
            except InvalidTag:
                raise StateError(f"{self.path}: wrong device key or tampered file") from None
            state = state_from_json(json.loads(plain), keys, log)
        state.purge(now)
        return state

    def save(self, state: DeviceState, now: float) -> None:
        """Purge, encrypt and write atomically (a temporary file renamed over the old one)."""
        state.purge(now)
        aead = AESGCM(self._key())
        nonce = os.urandom(12)
        plain = json.dumps(state_to_json(state), separators=(",", ":")).encode()
        blob = bytes([_VERSION]) + nonce + aead.encrypt(nonce, plain, _AAD)
        tmp = self.path.with_suffix(f".{os.getpid()}.{os.urandom(4).hex()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(blob)
        os.replace(tmp, self.path)
