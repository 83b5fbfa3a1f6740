"""The citizen side without HTTP: parsing, risk."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from safezone.db.base import utcnow
from safezone.db.engine import Database
from safezone.declarations import base, intake
from safezone.declarations.schemas import DailyUpdateIn, DeclarationIn
from safezone.errors import InvalidInput
from tests.declarations.conftest import (
    declare,
)

Body = Callable[..., dict[str, Any]]


def test_parse_reports_every_error_without_http(db: Database, body: Body) -> None:
    with db.session() as session, pytest.raises(InvalidInput) as caught:
        base.parse(DeclarationIn, session, body(phone="1", pledge=False), today=base.local_today())
    assert [(e.field, e.code) for e in caught.value.errors] == [
        ("phone", "invalid_phone"),
        ("pledge", "pledge_required"),
    ]


def test_risk_follows_daily_symptoms(db: Database, body: Body, policy: base.Policy) -> None:
    raw = body(symptoms=[])
    raw["exposure"]["confirmed_case"] = True
    created = declare(db, policy, raw)
    assert created.risk == "medium"
    with db.session() as session:
        out = intake.add_daily_update(
            session, policy, created.id, created.update_token, DailyUpdateIn(statuses=["fever"])
        )
    assert out.risk == "high"
    assert out.pass_token is not None
    assert policy.keys.passes.verify(out.pass_token, now=utcnow()).risk == "high"
