"""The citizen side: declare, correct, send daily updates, withdraw the link.

The rule of this module: **an unauthenticated submission reveals nothing about earlier
declarations and changes nothing in them.** A new declaration gets a person of its own, even
when its identity number was declared before; its answer, risk and citizen page come from its
own answers plus the daily updates sent with its own update token. Two declarations become one
person only with proof: the later submission carries the earlier one's update token
(``link_token``). Staff still see declarations that share an identity number (blind index),
flagged, in :mod:`safezone.declarations.review`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from safezone.db.base import utcnow
from safezone.declarations import passes, triage
from safezone.declarations.base import (
    SYMPTOM_WINDOW_DAYS,
    Policy,
    local_today,
    not_found,
    person_values,
    statuses_of,
    write_answers,
    write_person,
)
from safezone.declarations.models import DailyUpdate, Declaration, IdempotencyRecord, Person
from safezone.declarations.schemas import (
    DailyUpdateIn,
    DailyUpdateOut,
    DeclarationCreated,
    DeclarationIn,
    PassOut,
)
from safezone.errors import Conflict, InvalidInput, SafezoneError

UPDATE_TOKEN_PREFIX = "szu_"  # noqa: S105 - a visible marker, not a secret


class TokenRejected(SafezoneError):
    """The update token is missing or revoked (a wrong token answers like an unknown id)."""

    status_hint = 403


def _token_missing() -> TokenRejected:
    error = TokenRejected.single(
        "update_token",
        "update_token_required",
        "Mã cập nhật: bắt buộc (có trong đường liên kết nhận được khi khai báo).",
        "Update token: required (it is in the link given at declaration).",
    )
    error.status_hint = 401
    return error


def _token_revoked() -> TokenRejected:
    return TokenRejected.single(
        "update_token",
        "update_token_revoked",
        "Đường liên kết này đã bị thu hồi. Bạn có thể khai báo lại.",
        "This link was withdrawn. You can declare again.",
    )


def _link_invalid() -> InvalidInput:
    return InvalidInput.single(
        "link_token",
        "invalid_link_token",
        "Mã liên kết tờ khai trước: không đúng, đã bị thu hồi, hoặc của số giấy tờ khác.",
        "Link to the earlier declaration: not valid, withdrawn, or for another ID number.",
    )


def hash_token(token: str) -> str:
    """What is stored of an update token."""
    # 256 random bits: a fast hash is enough, there is no dictionary to defend against.
    return hashlib.sha256(token.encode()).hexdigest()


def new_update_token() -> str:
    """A fresh secret update token."""
    return UPDATE_TOKEN_PREFIX + secrets.token_urlsafe(32)


# --- risk and pass ------------------------------------------------------------------------------


def recent_symptoms(session: Session, policy: Policy, person_id: int, today: dt.date) -> set[str]:
    """Symptoms of the person's daily updates of the last 14 days (``healthy`` excluded)."""
    since = today - dt.timedelta(days=SYMPTOM_WINDOW_DAYS)
    rows = session.scalars(
        select(DailyUpdate).where(DailyUpdate.person_id == person_id, DailyUpdate.day >= since)
    )
    found = {code for row in rows for code in statuses_of(policy.vault, row)}
    found.discard("healthy")
    return found


def assess(session: Session, policy: Policy, declaration: Declaration, today: dt.date) -> str:
    """The risk: this declaration's symptoms and exposures, plus its person's recent updates.

    The person is the declaration's own, or one it proved to be (``link_token``), so nothing
    from another submission with the same identity number counts.
    """
    symptoms = set(declaration.symptom_list)
    person_id = declaration.person_id or (declaration.person.id if declaration.person else None)
    if person_id is not None:
        symptoms |= recent_symptoms(session, policy, person_id, today)
    exposures = [name for name, value in declaration.exposures.items() if value]
    return triage.assess(symptoms, exposures, policy.rules)


def verify_pass(
    session: Session, policy: Policy, token: str, *, now: dt.datetime | None = None
) -> PassOut:
    """Check a pass (signature, version, lifetime, revocation). Never raises: says why not."""
    return passes.check(session, policy, token, now=now or utcnow())


# --- declare ------------------------------------------------------------------------------------


def idempotency_conflict() -> Conflict:
    """A retry that reuses a submission's key with different answers."""
    return Conflict.single(
        "Idempotency-Key",
        "idempotency_key_reused",
        "Tờ khai này đã được gửi với nội dung khác. Hãy tải lại trang khai báo rồi gửi lại.",
        "This form was already sent with different answers. Reload the form and send it again.",
    )


def _replay(policy: Policy, row: IdempotencyRecord, fingerprint: str) -> DeclarationCreated:
    if not hmac.compare_digest(row.request_hash, fingerprint):
        raise idempotency_conflict()
    stored = policy.vault.get(row, "idempotency_response")
    return DeclarationCreated.model_validate_json(stored)


def _claim(
    session: Session, policy: Policy, key: str, fingerprint: str, now: dt.datetime
) -> IdempotencyRecord | DeclarationCreated:
    """Claim an idempotency key before writing anything, or the first answer to replay."""
    key_hash = hashlib.sha256(key.encode()).hexdigest()
    existing = session.get(IdempotencyRecord, key_hash)
    if existing is not None:
        return _replay(policy, existing, fingerprint)
    claim = IdempotencyRecord(
        key_hash=key_hash, request_hash=fingerprint, response_enc=b"", created_at=now
    )
    try:
        # Of two concurrent retries one wins here; the other waits for its commit, fails the
        # primary key and replays its answer.
        with session.begin_nested():
            session.add(claim)
            session.flush()
    except IntegrityError:
        winner = session.get(IdempotencyRecord, key_hash, populate_existing=True)
        assert winner is not None
        return _replay(policy, winner, fingerprint)
    return claim


def idempotency_record(session: Session, key: str) -> IdempotencyRecord | None:
    """The stored first answer for an idempotency key, if any."""
    return session.get(IdempotencyRecord, hashlib.sha256(key.encode()).hexdigest())


def _proven_person(session: Session, policy: Policy, link_token: str, id_number: str) -> Person:
    """The person of the declaration whose update token is ``link_token`` (the proof)."""
    earlier = session.scalar(
        select(Declaration).where(Declaration.update_token_hash == hash_token(link_token))
    )
    if earlier is None or earlier.token_revoked_at is not None:
        raise _link_invalid()
    person = earlier.person
    if person.id_index not in policy.vault.candidates("id_number", id_number):
        raise _link_invalid()
    return person


def submit(
    session: Session,
    policy: Policy,
    data: DeclarationIn,
    *,
    now: dt.datetime | None = None,
    idempotency_key: str | None = None,
    fingerprint: str = "",
    link_token: str | None = None,
) -> DeclarationCreated:
    """Store a new declaration; returns id, pass, update token and risk.

    Without ``link_token`` the declaration gets a person of its own, whatever identity number
    it carries. With the update token of an earlier declaration of the same identity number,
    it joins that person: the details are refreshed and the daily updates are shared. With
    ``idempotency_key``, a retry with the same body gets the first answer back.
    """
    now = now or utcnow()
    today = local_today(now)
    claim: IdempotencyRecord | None = None
    if idempotency_key is not None:
        claimed = _claim(session, policy, idempotency_key, fingerprint, now)
        if isinstance(claimed, DeclarationCreated):
            return claimed
        claim = claimed

    if link_token:
        person = _proven_person(session, policy, link_token, data.id_number)
        person.updated_at = now
    else:
        person = Person(created_at=now, updated_at=now)
        session.add(person)
    write_person(policy.vault, person, data)

    token = new_update_token()
    declaration = Declaration(
        person=person,
        declared_on=today,
        created_at=now,
        updated_at=now,
        update_token_hash=hash_token(token),
    )
    write_answers(policy.vault, declaration, data)
    declaration.risk = assess(session, policy, declaration, today)
    session.add(declaration)
    session.flush()
    result = DeclarationCreated(
        id=declaration.id,
        pass_token=passes.renew(session, policy, declaration, now=now),
        update_token=token,
        risk=declaration.risk,
    )
    if claim is not None:
        claim.declaration_id = declaration.id
        policy.vault.seal(claim, idempotency_response=result.model_dump_json())
    return result


def submit_form(
    session: Session,
    policy: Policy,
    data: DeclarationIn,
    *,
    form_key: str,
    fingerprint: str,
    now: dt.datetime | None = None,
) -> DeclarationCreated:
    """A declaration from the citizen's form, tied to that rendering of the form.

    The form carries a random key per rendering. The first submission creates the
    declaration; sending the same rendered form again (back, fix a typo, submit) updates that
    declaration instead of creating a second one, and its link keeps working.
    """
    key = f"form:{form_key}"
    record = idempotency_record(session, key)
    if record is None or record.declaration_id is None:
        return submit(session, policy, data, now=now, idempotency_key=key, fingerprint=fingerprint)
    first = DeclarationCreated.model_validate_json(policy.vault.get(record, "idempotency_response"))
    if hmac.compare_digest(record.request_hash, fingerprint):
        return first  # a double click: nothing changed
    result = update(session, policy, first.id, first.update_token, data, now=now)
    record.request_hash = fingerprint
    policy.vault.seal(record, idempotency_response=result.model_dump_json())
    return result


# --- the holder of an update token --------------------------------------------------------------


def authorise(session: Session, declaration_id: int, token: str | None) -> Declaration:
    """The declaration ``token`` opens.

    No token: TokenRejected (401). Unknown id or wrong token: the same NotFound, so the
    answer says nothing about which declarations exist. Revoked: TokenRejected (403).
    """
    if not token:
        raise _token_missing()
    declaration = session.get(Declaration, declaration_id)
    expected = declaration.update_token_hash if declaration is not None else "0" * 64
    matches = hmac.compare_digest(expected, hash_token(token))
    if declaration is None or not matches:
        raise not_found()
    if declaration.token_revoked_at is not None:
        raise _token_revoked()
    return declaration


def declaration_for_token(session: Session, token: str) -> Declaration:
    """The declaration behind an update link; raises NotFound or TokenRejected (revoked)."""
    declaration = session.scalar(
        select(Declaration).where(Declaration.update_token_hash == hash_token(token))
    )
    if declaration is None:
        raise not_found()
    if declaration.token_revoked_at is not None:
        raise _token_revoked()
    return declaration


def update(
    session: Session,
    policy: Policy,
    declaration_id: int,
    token: str | None,
    data: DeclarationIn,
    *,
    now: dt.datetime | None = None,
) -> DeclarationCreated:
    """Replace a declaration's answers (with its update token); the risk is recomputed.

    A changed identity number is simply stored: the answer is the same whether or not the
    number was declared elsewhere (no oracle), and nothing else changes.
    """
    now = now or utcnow()
    today = local_today(now)
    declaration = authorise(session, declaration_id, token)
    write_person(policy.vault, declaration.person, data)
    declaration.person.updated_at = now
    write_answers(policy.vault, declaration, data)
    declaration.declared_on = today
    declaration.updated_at = now
    previous_risk = declaration.risk
    declaration.risk = assess(session, policy, declaration, today)
    session.flush()
    assert token is not None
    return DeclarationCreated(
        id=declaration.id,
        pass_token=passes.renew(session, policy, declaration, now=now, previous_risk=previous_risk),
        update_token=token,
        risk=declaration.risk,
    )


def add_daily_update(
    session: Session,
    policy: Policy,
    declaration_id: int,
    token: str | None,
    data: DailyUpdateIn,
    *,
    now: dt.datetime | None = None,
) -> DailyUpdateOut:
    """Store one day's status (one per person per day); the risk is recomputed."""
    now = now or utcnow()
    declaration = authorise(session, declaration_id, token)
    return _daily_update(session, policy, declaration, data, now=now, today=local_today(now))


def _daily_update(
    session: Session,
    policy: Policy,
    declaration: Declaration,
    data: DailyUpdateIn,
    *,
    now: dt.datetime,
    today: dt.date,
) -> DailyUpdateOut:
    day = data.day or today
    exists = session.scalar(
        select(DailyUpdate.id).where(
            DailyUpdate.person_id == declaration.person_id, DailyUpdate.day == day
        )
    )
    duplicate = Conflict.single(
        "day",
        "daily_update_exists",
        "Ngày này đã có cập nhật sức khoẻ (mỗi ngày một lần).",
        "There is already a health update for this day (one per day).",
    )
    if exists is not None:
        raise duplicate
    row = DailyUpdate(
        person_id=declaration.person_id, declaration_id=declaration.id, day=day, created_at=now
    )
    policy.vault.seal(row, daily_statuses=list(data.statuses))
    try:
        with session.begin_nested():  # a concurrent second update loses on the unique key
            session.add(row)
            session.flush()
    except IntegrityError:
        raise duplicate from None
    declaration.updated_at = now
    previous_risk = declaration.risk
    declaration.risk = assess(session, policy, declaration, today)
    session.flush()
    return DailyUpdateOut(
        id=row.id,
        declaration_id=declaration.id,
        day=day,
        statuses=list(data.statuses),
        risk=declaration.risk,
        pass_token=passes.renew(session, policy, declaration, now=now, previous_risk=previous_risk),
    )


def daily_update_by_link(
    session: Session,
    policy: Policy,
    token: str,
    data: DailyUpdateIn,
    *,
    now: dt.datetime | None = None,
) -> DailyUpdateOut:
    """A daily update sent through the citizen's link (the token alone names the declaration)."""
    now = now or utcnow()
    declaration = declaration_for_token(session, token)
    return _daily_update(session, policy, declaration, data, now=now, today=local_today(now))


def revoke_update_token(
    session: Session, declaration_id: int, token: str | None, *, now: dt.datetime | None = None
) -> None:
    """The citizen withdraws their update link (e.g. the phone was lost)."""
    declaration = authorise(session, declaration_id, token)
    declaration.token_revoked_at = now = now or utcnow()
    passes.revoke(session, declaration.id, passes.LINK_WITHDRAWN, now=now)


def citizen_view(session: Session, policy: Policy, declaration: Declaration) -> dict[str, Any]:
    """What the citizen's own page shows: this declaration's person (its own, or one it proved
    to be) and that person's daily updates, never another submission's."""
    updates = session.scalars(
        select(DailyUpdate)
        .where(DailyUpdate.person_id == declaration.person_id)
        .order_by(DailyUpdate.day.desc())
        .limit(SYMPTOM_WINDOW_DAYS)
    ).all()
    return {
        "declaration": declaration,
        "full_name": person_values(policy.vault, declaration.person)["full_name"],
        "pass_token": passes.current(session, policy, declaration, now=utcnow()),
        "updates": [
            {"day": row.day, "statuses": statuses_of(policy.vault, row)} for row in updates
        ],
    }
