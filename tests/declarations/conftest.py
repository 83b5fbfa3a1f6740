"""Fixtures for the declarations tests: a valid body, the policy, officers."""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest

from safezone.config import Settings
from safezone.db.engine import Database
from safezone.declarations import intake
from safezone.declarations.base import Policy, local_today, parse
from safezone.declarations.schemas import DeclarationCreated, DeclarationIn

#: Phường 1 and Phường 2 of Tuy Hòa (district 555); Xã Xuân Lâm is in Sông Cầu (557).
COMMUNE = "22015"
OTHER_COMMUNE_SAME_DISTRICT = "22021"
DISTRICT = "555"
OTHER_DISTRICT = "557"
OTHER_DISTRICT_COMMUNE = "22052"

BASE_BODY: dict[str, Any] = {
    "full_name": "Nguyễn Văn An",
    "birth_year": 1985,
    "gender": "male",
    "nationality": "VN",
    "id_number": "054085001234",
    "phone": "0905123456",
    "email": None,
    "address": {"unit_code": COMMUNE, "street": "12 Trần Hưng Đạo"},
    "declaration_type": "domestic",
    "symptoms": ["fever", "cough"],
    "exposure": {
        "confirmed_case": False,
        "suspected_case": False,
        "returned_from_outbreak_area": False,
        "visited_health_facility": False,
    },
    "travel": [],
    "conditions": ["diabetes"],
    "pledge": True,
}


def make_body(**changes: Any) -> dict[str, Any]:
    """A valid declaration body with ``changes`` applied (``address__street=...`` for nested)."""
    body = copy.deepcopy(BASE_BODY)
    today = local_today()
    body["travel"] = [
        {
            "place": "Đà Nẵng",
            "from": (today - dt.timedelta(days=5)).isoformat(),
            "to": (today - dt.timedelta(days=3)).isoformat(),
        }
    ]
    for key, value in changes.items():
        if "__" in key:
            outer, inner = key.split("__")
            body[outer][inner] = value
        else:
            body[key] = value
    return body


@pytest.fixture
def body() -> Callable[..., dict[str, Any]]:
    """The body factory (see :func:`make_body`)."""
    return make_body


@pytest.fixture
def policy(settings: Settings) -> Policy:
    """The declarations policy for the test settings."""
    return Policy.from_settings(settings)


def declare(db: Database, policy: Policy, raw: dict[str, Any], **kwargs: Any) -> DeclarationCreated:
    """Submit ``raw`` through the intake service (no HTTP), committed."""
    with db.session() as session:
        data = parse(DeclarationIn, session, raw, today=local_today())
        return intake.submit(session, policy, data, **kwargs)
