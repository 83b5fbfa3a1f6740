"""JSON routes for staff clients."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from safezone.web.deps import CurrentUser

router = APIRouter(prefix="/api/v1", tags=["accounts"])


class Me(BaseModel):
    """The caller, as a staff client sees itself."""

    username: str
    role: str
    unit_code: str
    unit_name: str


@router.get("/me")
def me(user: CurrentUser) -> Me:
    """Who the bearer token (or session) belongs to."""
    return Me(
        username=user.username,
        role=user.role.value,
        unit_code=user.unit_code,
        unit_name=user.unit.name,
    )
