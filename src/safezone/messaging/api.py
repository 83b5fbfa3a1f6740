"""JSON routes: a send's live progress (polled by its page) and its funnel."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from safezone.accounts.models import Role, User
from safezone.messaging import service
from safezone.web.deps import RowId, SessionDep, UnitScope, requires

router = APIRouter(prefix="/api/v1/messaging", tags=["messaging"])

Officer = Annotated[User, Depends(requires(Role.CAMPAIGN_OFFICER))]


class ProgressOut(BaseModel):
    """Messages of a send by status, and its funnel totals."""

    campaign_id: int
    status: str
    recipients: int
    queued: int
    sent: int
    delivered: int
    failed: int
    cancelled: int
    clicked: int
    confirmed: int


@router.get("/campaigns/{campaign_id}/progress", response_model=ProgressOut)
def campaign_progress(
    campaign_id: RowId, session: SessionDep, scope: UnitScope, user: Officer
) -> ProgressOut:
    """Where a send stands now (404 outside the caller's units)."""
    campaign = service.get(session, scope, campaign_id)
    counts = service.progress(session, campaign.id)
    totals = service.totals(service.funnel(session, scope, campaign_id=campaign.id))
    return ProgressOut(
        campaign_id=campaign.id,
        status=campaign.status,
        recipients=campaign.recipient_count,
        clicked=totals[3],
        confirmed=totals[4],
        **counts,
    )
