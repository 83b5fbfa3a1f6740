"""Verification codes, tokens and certificates (service level) and the rate limiter."""

from __future__ import annotations

import base64
import datetime as dt
import os

import jwt
import pytest
from sqlalchemy import select

from safezone.accounts.service import Scope
from safezone.db.engine import Database
from safezone.errors import InvalidInput, NotFound
from safezone.exposure import codes
from safezone.exposure.models import VerificationCode, VerificationToken
from safezone.exposure.privacy import LatencySampler, padded_json
from tests.exposure.conftest import NOW, IssueCode

EKEYHMAC = base64.b64encode(os.urandom(32)).decode()


def test_codes_have_the_promised_shape_and_only_hmacs_are_stored(
    db: Database, issue_code: IssueCode
) -> None:
    issued = issue_code("likely", symptom_date=NOW.date(), now=NOW)
    assert len(issued.short_code) == 8
    assert issued.short_code.isdigit()
    assert len(issued.long_code) == 16
    assert issued.long_code.isalnum()
    assert issued.long_code == issued.long_code.lower()
    assert issued.short_expires_at == NOW + dt.timedelta(minutes=15)
    assert issued.long_expires_at == NOW + dt.timedelta(hours=24)
    with db.session() as session:
        row = session.get_one(VerificationCode, issued.id)
        stored = " ".join(str(v) for v in vars(row).values())
    assert issued.short_code not in stored
    assert issued.long_code not in stored


@pytest.mark.parametrize("which", ["short", "long"])
def test_a_code_works_once(
    db: Database, code_policy: codes.CodePolicy, issue_code: IssueCode, which: str
) -> None:
    issued = issue_code("confirmed", symptom_date=NOW.date() - dt.timedelta(days=2), now=NOW)
    code = issued.short_code if which == "short" else issued.long_code.upper()
    with db.session() as session:
        verified = codes.verify_code(session, code_policy, code, now=NOW)
    assert verified.test_type == "confirmed"
    assert verified.symptom_date == NOW.date() - dt.timedelta(days=2)
    with db.session() as session, pytest.raises(codes.VerificationRejected) as second:
        codes.verify_code(session, code_policy, code, now=NOW)
    assert second.value.errors[0].code == "code_invalid"


def test_wrong_used_and_revoked_codes_get_one_answer_and_expired_codes_their_own(
    db: Database, code_policy: codes.CodePolicy, issue_code: IssueCode
) -> None:
    expired = issue_code(now=NOW)
    used = issue_code(now=NOW)
    revoked = issue_code(now=NOW)
    with db.session() as session:
        codes.verify_code(session, code_policy, used.long_code, now=NOW)
        codes.revoke_code(session, Scope("54", "54/"), revoked.id, actor="t", now=NOW)
    answers = []
    for code, when in (
        ("12345678", NOW),
        ("not-a-code", NOW),
        (used.long_code, NOW),
        (revoked.short_code, NOW),
        (expired.short_code, NOW + dt.timedelta(minutes=16)),
        (expired.long_code, NOW + dt.timedelta(hours=25)),
    ):
        with db.session() as session, pytest.raises(codes.VerificationRejected) as error:
            codes.verify_code(session, code_policy, code, now=when)
        answers.append(error.value.errors)
    # Google's codes: nothing tells a wrong code from a used or revoked one (code_invalid);
    # an issued, unused code past its expiry says so (code_expired), so its holder asks again.
    assert all(a == answers[0] for a in answers[:4])
    assert answers[0][0].code == "code_invalid"
    assert answers[4] == answers[5]
    assert answers[4][0].code == "code_expired"
    # The long code of the expired pair still works after the short one expired.
    with db.session() as session:
        codes.verify_code(
            session, code_policy, expired.long_code, now=NOW + dt.timedelta(minutes=16)
        )


def test_token_is_single_use_and_certificate_carries_the_claims(
    db: Database, code_policy: codes.CodePolicy, issue_code: IssueCode
) -> None:
    onset = NOW.date() - dt.timedelta(days=3)
    issued = issue_code("likely", symptom_date=onset, test_date=NOW.date(), now=NOW)
    with db.session() as session:
        token = codes.verify_code(session, code_policy, issued.short_code, now=NOW).token
    with db.session() as session:
        stored = session.scalars(select(VerificationToken.token_hmac)).all()
    assert token not in stored
    with db.session() as session, pytest.raises(codes.VerificationRejected):
        codes.issue_certificate(session, code_policy, token, "bm90IGEgaG1hYw==", now=NOW)
    with db.session() as session:  # a bad ekeyhmac did not spend the token
        certificate = codes.issue_certificate(session, code_policy, token, EKEYHMAC, now=NOW)
    with db.session() as session, pytest.raises(codes.VerificationRejected) as replay:
        codes.issue_certificate(session, code_policy, token, EKEYHMAC, now=NOW)
    # A spent token is token_expired, as Google's server answers; an unknown one token_invalid.
    assert replay.value.errors[0].code == "token_expired"
    with db.session() as session, pytest.raises(codes.VerificationRejected) as unknown:
        codes.issue_certificate(session, code_policy, "x" * 43, EKEYHMAC, now=NOW)
    assert unknown.value.errors[0].code == "token_invalid"
    claims = jwt.decode(
        certificate,
        code_policy.public_key,
        algorithms=["ES256"],
        audience="safezone-exposure",
        options={"verify_exp": False, "verify_iat": False, "verify_nbf": False},
    )
    assert claims["reportType"] == "likely"
    assert claims["tekmac"] == EKEYHMAC
    assert claims["symptomOnsetInterval"] == codes.midnight_interval(onset)
    assert claims["exp"] - claims["iat"] == 15 * 60
    assert jwt.get_unverified_header(certificate)["kid"] == code_policy.certificate_kid


def test_expired_token_is_refused(
    db: Database, code_policy: codes.CodePolicy, issue_code: IssueCode
) -> None:
    issued = issue_code(now=NOW)
    with db.session() as session:
        token = codes.verify_code(session, code_policy, issued.short_code, now=NOW).token
    with db.session() as session, pytest.raises(codes.VerificationRejected):
        codes.issue_certificate(
            session, code_policy, token, EKEYHMAC, now=NOW + dt.timedelta(hours=24, seconds=1)
        )


def test_issue_validates_dates_type_and_scope(db: Database, code_policy: codes.CodePolicy) -> None:
    def issue(**kwargs: object) -> None:
        arguments: dict[str, object] = {
            "unit_code": "555",
            "test_type": "confirmed",
            "test_date": NOW.date(),
            "symptom_date": None,
            "actor": "t",
            "now": NOW,
        }
        arguments.update(kwargs)
        with db.session() as session:
            codes.issue_code(session, code_policy, **arguments)  # type: ignore[arg-type]

    with pytest.raises(InvalidInput, match="test type"):
        issue(test_type="positive")
    with pytest.raises(InvalidInput) as missing:
        issue(test_date=None)
    assert missing.value.errors[0].code == "missing_date"
    with pytest.raises(InvalidInput) as future:
        issue(test_date=NOW.date() + dt.timedelta(days=2))
    assert future.value.errors[0].code == "date_in_future"
    # 00:30 in Vietnam is still yesterday in UTC: the issuer's today is not "in the future".
    # (CI found it: the codes page offers Vietnam's today, which the check refused.)
    late = dt.datetime(2026, 11, 30, 17, 30, tzinfo=dt.UTC)
    with pytest.raises(InvalidInput) as day_after:
        issue(test_date=dt.date(2026, 12, 2), now=late)
    assert day_after.value.errors[0].code == "date_in_future"
    with pytest.raises(NotFound):
        issue(unit_code="555", scope=Scope("22015", "54/555/22015/"))
    with db.session() as session:
        assert session.scalar(select(VerificationCode.id)) is None


def test_the_issuers_local_today_is_accepted_whatever_utcs_date(
    db: Database, code_policy: codes.CodePolicy
) -> None:
    late = dt.datetime(2026, 11, 30, 17, 30, tzinfo=dt.UTC)  # 00:30 on 1 December in Vietnam
    with db.session() as session:
        issued = codes.issue_code(
            session,
            code_policy,
            unit_code="555",
            test_type="confirmed",
            test_date=dt.date(2026, 12, 1),
            symptom_date=None,
            actor="t",
            now=late,
        )
    assert issued.short_code


def test_padding_makes_answers_one_size_and_sampler_draws_real_durations() -> None:
    sizes = {len(padded_json({"token": "x" * n}, 1024)) for n in (1, 40, 300)}
    assert sizes == {1024}
    sampler = LatencySampler(default_seconds=0.5)
    assert sampler.draw() == 0.5
    sampler.observe(0.2)
    assert sampler.draw() == 0.2
