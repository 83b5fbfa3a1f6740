"""JSON routes of the door-to-door drive: the volunteer app's walk list and visit sync, teams,
and volunteer progress (also as CSV)."""

from __future__ import annotations

import csv
import io
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from safezone.accounts.models import Role, User
from safezone.accounts.service import Scope, ensure_in_scope
from safezone.campaign import consent, teams, visits
from safezone.campaign.field_schemas import (
    DistributeOut,
    ProgressOut,
    SyncIn,
    SyncOut,
    TeamIn,
    TeamOut,
    WalkList,
)
from safezone.campaign.privacy import vault_for
from safezone.campaign.revisits import RevisitRules
from safezone.web.deps import RowId, SessionDep, UnitScope, get_settings, requires

router = APIRouter(prefix="/api/v1/campaign", tags=["campaign: door to door"])

Volunteer = Annotated[User, Depends(requires(Role.VOLUNTEER))]
Officer = Annotated[User, Depends(requires(Role.CAMPAIGN_OFFICER))]
ProgressViewer = Annotated[
    User, Depends(requires(Role.VOLUNTEER, Role.CAMPAIGN_OFFICER, Role.HEALTH_OFFICER))
]
UnitQuery = Annotated[
    str | None, Query(max_length=16, description="Narrow to this unit (within your scope)")
]

#: The composition root may set another consent hook here (tests, other channels).
CONSENT_HOOK_STATE = "campaign_consent_hook"


def get_field_policy(request: Request) -> visits.FieldPolicy:
    """The visit services' policy for this app (vault, revisit rules, consent hook)."""
    policy = getattr(request.app.state, "campaign_field_policy", None)
    if policy is None:
        settings = get_settings(request)
        policy = visits.FieldPolicy(
            vault=vault_for(settings),
            rules=RevisitRules.from_settings(settings),
            # Consents become messaging contacts unless the app was given another hook.
            on_consent=getattr(request.app.state, CONSENT_HOOK_STATE, None)
            or consent.to_messaging(settings),
        )
        request.app.state.campaign_field_policy = policy
    return policy


FieldPolicyDep = Annotated[visits.FieldPolicy, Depends(get_field_policy)]


def narrowed(session: SessionDep, user: User, scope: Scope, unit: str | None) -> Scope:
    """The caller's scope, or a unit inside it (404 outside)."""
    if unit is None:
        return scope
    found = ensure_in_scope(session, user, unit)
    return Scope(found.code, found.path)


@router.get("/walk-list", response_model=WalkList)
def get_walk_list(session: SessionDep, policy: FieldPolicyDep, user: Volunteer) -> WalkList:
    """The caller's households for today (due, or visited today and still correctable)."""
    return visits.walk_list(session, policy, user)


@router.post("/visits/sync", response_model=SyncOut)
def sync_visits(
    body: SyncIn, session: SessionDep, policy: FieldPolicyDep, user: Volunteer
) -> SyncOut:
    """Store queued visits; each is stored once, whatever how often it is sent."""
    return visits.sync(session, policy, user, body.visits)


@router.get("/volunteers/progress", response_model=ProgressOut)
def get_progress(
    session: SessionDep, user: ProgressViewer, scope: UnitScope, unit: UnitQuery = None
) -> ProgressOut:
    """Households visited, installs helped and revisits due, per volunteer in scope."""
    return visits.progress(session, user, narrowed(session, user, scope, unit))


PROGRESS_COLUMNS = (
    "volunteer",
    "unit_code",
    "households",
    "visited",
    "visits",
    "not_home",
    "installs_helped",
    "consents",
    "revisits_due",
)


def progress_csv(result: ProgressOut) -> str:
    """The progress table as CSV (one row per volunteer)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(PROGRESS_COLUMNS)
    for row in result.rows:
        writer.writerow([getattr(row, name) for name in PROGRESS_COLUMNS])
    return buffer.getvalue()


@router.get(
    "/volunteers/progress.csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}}},
)
def get_progress_csv(
    session: SessionDep, user: ProgressViewer, scope: UnitScope, unit: UnitQuery = None
) -> Response:
    """The same numbers as CSV."""
    result = visits.progress(session, user, narrowed(session, user, scope, unit))
    return Response(
        progress_csv(result),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="volunteer-progress.csv"'},
    )


def _team_out(view: teams.TeamView) -> TeamOut:
    return TeamOut(
        id=view.id,
        name=view.name,
        unit_code=view.unit_code,
        areas=view.areas,
        members=view.members,
        households=view.households,
    )


@router.get("/teams", response_model=list[TeamOut])
def list_teams(
    session: SessionDep, user: Officer, scope: UnitScope, unit: UnitQuery = None
) -> list[TeamOut]:
    """Volunteer teams in scope."""
    return [_team_out(v) for v in teams.list_teams(session, narrowed(session, user, scope, unit))]


def _one(session: SessionDep, scope: Scope, team_id: int) -> TeamOut:
    for view in teams.list_teams(session, scope):
        if view.id == team_id:
            return _team_out(view)
    raise teams.not_found()


@router.post("/teams", response_model=TeamOut, status_code=201)
def create_team(body: TeamIn, session: SessionDep, user: Officer, scope: UnitScope) -> TeamOut:
    """Create a team with its areas and members."""
    team = teams.save_team(
        session,
        scope,
        name=body.name,
        unit_code=body.unit_code,
        areas=body.areas,
        members=body.members,
        actor=user.username,
    )
    return _one(session, scope, team.id)


@router.put("/teams/{team_id}", response_model=TeamOut)
def replace_team(
    team_id: RowId, body: TeamIn, session: SessionDep, user: Officer, scope: UnitScope
) -> TeamOut:
    """Replace a team's name, unit, areas and members."""
    team = teams.save_team(
        session,
        scope,
        name=body.name,
        unit_code=body.unit_code,
        areas=body.areas,
        members=body.members,
        actor=user.username,
        team_id=team_id,
    )
    return _one(session, scope, team.id)


@router.post("/teams/{team_id}/distribute", response_model=DistributeOut)
def distribute(
    team_id: RowId, session: SessionDep, user: Officer, scope: UnitScope
) -> DistributeOut:
    """Deal the team's unassigned households round robin to its volunteers."""
    team = teams.get_team(session, team_id, scope)
    return DistributeOut(assigned=teams.distribute(session, team, actor=user.username))
