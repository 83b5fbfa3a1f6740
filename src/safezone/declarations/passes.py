"""QR passes: issue, replace and revoke them, publish the revocation list, check a pass.

A pass is short-lived (``pass_lifetime_hours`` after the health information it shows) and each
one has a random serial recorded in ``decl_passes``. A pass is revoked when the holder's risk
rises, the update link is withdrawn, a newer pass replaces it, or staff close the follow-up with
an outcome that ends it (:data:`BLOCKING_OUTCOMES`). Checkpoints check passes online
(``check``) or offline, with the public keys and a synced copy of the signed revocation list
(``check_offline``, ``merge_revocations``). No HTTP here.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable, Container
from typing import Any, Protocol

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from safezone.declarations.crypto import (
    REVOCATIONS_FORMAT,
    RISKS,
    SERIAL_SIZE,
    InvalidPass,
    Keys,
    PassVerifier,
    holder_initials,
)
from safezone.declarations.models import Declaration, PassRecord
from safezone.declarations.schemas import PassOut


class Policy(Protocol):
    """What this module needs of the declarations policy (``base.Policy`` has it)."""

    @property
    def keys(self) -> Keys:
        """The domain's keys (the pass codec, and the vault to read the holder's name)."""

    @property
    def pass_lifetime_hours(self) -> int:
        """How long a pass lives."""


#: Follow-up outcomes after which the holder gets no pass (and the current one is revoked).
BLOCKING_OUTCOMES = frozenset({"became_case", "lost_to_follow_up"})
#: Revocation reasons (stored for staff, never published).
RISK_RAISED, REPLACED, LINK_WITHDRAWN, OUTCOME = (
    "risk_raised",
    "replaced",
    "link_withdrawn",
    "outcome",
)
#: ``next_since`` lags ``generated_at`` by this much, so a revocation committed by a transaction
#: that started before the list was read is still picked up by the next incremental sync.
SYNC_OVERLAP = dt.timedelta(minutes=5)


def _seconds(moment: dt.datetime) -> int:
    return int(moment.timestamp())


def eligible(declaration: Declaration) -> bool:
    """Whether the declaration may hold a pass at all (link not withdrawn, no ending outcome)."""
    return declaration.token_revoked_at is None and declaration.outcome not in BLOCKING_OUTCOMES


def _token(policy: Policy, record: PassRecord, declaration: Declaration) -> str:
    person = declaration.person
    name = policy.keys.vault.get(person, "full_name") or ""
    return policy.keys.passes.issue(
        bytes.fromhex(record.serial),
        record.issued_at,
        record.expires_at - record.issued_at,
        record.risk,
        initials=holder_initials(name),
        birth_year=person.birth_year,
    )


def _mint(
    session: Session, policy: Policy, declaration: Declaration, issued_at: dt.datetime
) -> PassRecord:
    issued_at = issued_at.replace(microsecond=0)  # the token holds whole seconds
    record = PassRecord(
        serial=secrets.token_bytes(SERIAL_SIZE).hex(),
        declaration_id=declaration.id,
        risk=declaration.risk,
        issued_at=issued_at,
        expires_at=issued_at + dt.timedelta(hours=policy.pass_lifetime_hours),
    )
    session.add(record)
    return record


def revoke(session: Session, declaration_id: int, reason: str, *, now: dt.datetime) -> None:
    """Revoke every pass of a declaration that is not revoked yet."""
    session.execute(
        update(PassRecord)
        .where(PassRecord.declaration_id == declaration_id, PassRecord.revoked_at.is_(None))
        .values(revoked_at=now, revoked_reason=reason)
        .execution_options(synchronize_session=False)
    )


def renew(
    session: Session,
    policy: Policy,
    declaration: Declaration,
    *,
    now: dt.datetime,
    previous_risk: str | None = None,
) -> str | None:
    """A new pass for new health information; the one it replaces is revoked.

    The old pass is revoked as ``risk_raised`` when the risk went up (it understates the risk
    from now on), as ``replaced`` otherwise. None when the declaration may hold no pass.
    """
    raised = previous_risk is not None and RISKS.index(declaration.risk) > RISKS.index(
        previous_risk
    )
    revoke(session, declaration.id, RISK_RAISED if raised else REPLACED, now=now)
    if not eligible(declaration):
        return None
    return _token(policy, _mint(session, policy, declaration, now), declaration)


def current(
    session: Session, policy: Policy, declaration: Declaration, *, now: dt.datetime
) -> str | None:
    """The declaration's current pass (possibly expired: the page says so), or None."""
    if not eligible(declaration):
        return None
    record = session.scalar(
        select(PassRecord)
        .where(PassRecord.declaration_id == declaration.id, PassRecord.revoked_at.is_(None))
        .order_by(PassRecord.issued_at.desc())
        .limit(1)
    )
    if record is None:  # declared before the pass register existed, or every pass was revoked
        record = _mint(session, policy, declaration, min(declaration.updated_at, now))
    return _token(policy, record, declaration)


def revocation_list(
    session: Session, policy: Policy, *, now: dt.datetime, since: dt.datetime | None = None
) -> dict[str, Any]:
    """The signed list of revoked passes that have not expired yet (revoked at or after
    ``since`` when given). Serials and expiry times only: no reason, nothing personal."""
    query = select(PassRecord.serial, PassRecord.expires_at).where(
        PassRecord.revoked_at.is_not(None), PassRecord.expires_at > now
    )
    if since is not None:
        query = query.where(PassRecord.revoked_at >= since)
    rows = session.execute(query.order_by(PassRecord.serial)).all()
    listing = {
        "format": REVOCATIONS_FORMAT,
        "generated_at": _seconds(now),
        "since": None if since is None else _seconds(since),
        "next_since": _seconds(now - SYNC_OVERLAP),
        "revoked": [{"serial": serial, "expires": _seconds(expires)} for serial, expires in rows],
    }
    return policy.keys.passes.sign_revocations(listing)


def purge(session: Session, *, now: dt.datetime) -> None:
    """Forget passes that expired more than a day ago (their revocation no longer matters)."""
    session.execute(delete(PassRecord).where(PassRecord.expires_at < now - dt.timedelta(days=1)))


def verdict(
    verifier: PassVerifier, token: str, *, now: dt.datetime, revoked: Callable[[str], bool]
) -> PassOut:
    """Check a token: signature, version, lifetime, then ``revoked(serial)``. Never raises."""
    try:
        info = verifier.verify(token, now=now)
    except InvalidPass as error:
        return PassOut(valid=False, reason=error.reason)
    if revoked(info.serial):
        return PassOut(valid=False, reason="revoked", serial=info.serial)
    return PassOut(
        valid=True,
        serial=info.serial,
        issued=info.issued_at,
        expires=info.expires_at,
        risk=info.risk,
        initials=info.initials,
        birth_year=info.birth_year,
    )


def check(session: Session, policy: Policy, token: str, *, now: dt.datetime) -> PassOut:
    """Check a pass online: everything offline checks, plus the live revocation register."""

    def revoked(serial: str) -> bool:
        return (
            session.scalar(
                select(PassRecord.serial).where(
                    PassRecord.serial == serial, PassRecord.revoked_at.is_not(None)
                )
            )
            is not None
        )

    return verdict(policy.keys.passes, token, now=now, revoked=revoked)


def check_offline(
    verifier: PassVerifier, token: str, *, now: dt.datetime, revoked: Container[str]
) -> PassOut:
    """Check a pass on a checkpoint device: public keys and a synced revocation list."""
    return verdict(verifier, token, now=now, revoked=revoked.__contains__)


def merge_revocations(
    verifier: PassVerifier, state: dict[str, Any] | None, document: Any, *, now: dt.datetime
) -> dict[str, Any]:
    """A checkpoint's local list after one sync: ``document`` (as served) is verified first
    (raises InvalidPass), merged into ``state``, and entries already expired are dropped."""
    listing = verifier.verify_revocations(document)
    revoked: dict[str, int] = dict((state or {}).get("revoked", {}))
    for entry in listing.get("revoked", []):
        revoked[str(entry["serial"])] = int(entry["expires"])
    cutoff = _seconds(now)
    return {
        "format": REVOCATIONS_FORMAT,
        "synced_at": int(listing["generated_at"]),
        "next_since": int(listing["next_since"]),
        "revoked": {serial: exp for serial, exp in sorted(revoked.items()) if exp > cutoff},
    }
