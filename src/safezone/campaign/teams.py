"""Volunteer teams (Youth Union branches), their areas and members, and who visits which
household: households are dealt round robin to a team's volunteers within its areas."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, delete, func, or_, select
from sqlalchemy.orm import Session

from safezone.accounts.models import Role, User
from safezone.accounts.service import Scope, record
from safezone.campaign.models import Household, Team, TeamArea, TeamMember
from safezone.errors import FieldError, InvalidInput, NotFound
from safezone.units.models import COMMUNE, Unit
from safezone.units.service import subtree_of

AREA_LEVELS = (COMMUNE, "village")


@dataclass(frozen=True, slots=True)
class TeamView:
    """A team as listed: its areas and members by name."""

    id: int
    name: str
    unit_code: str
    areas: list[str]
    members: list[str]
    households: int


def not_found() -> NotFound:
    """The one answer for a team that is missing or out of the caller's scope."""
    return NotFound.single("id", "team_not_found", "Không tìm thấy đội.", "No such team.")


def get_team(session: Session, team_id: int, scope: Scope) -> Team:
    """Team ``team_id`` if it lies in ``scope``; raises NotFound."""
    team = session.get(Team, team_id)
    if team is None:
        raise not_found()
    unit = session.get_one(Unit, team.unit_code)
    if not scope.contains(unit):
        raise not_found()
    return team


def _check(
    session: Session,
    scope: Scope,
    name: str,
    unit_code: str,
    areas: Sequence[str],
    members: Sequence[str],
) -> tuple[Unit | None, list[User], list[FieldError]]:
    errors: list[FieldError] = []
    if not name.strip() or len(name.strip()) > 200:
        errors.append(
            FieldError(
                "name", "invalid_name", "Tên đội cần 1-200 ký tự.", "Name needs 1-200 characters."
            )
        )
    unit = session.get(Unit, unit_code)
    if unit is None or not scope.contains(unit):
        errors.append(
            FieldError("unit_code", "unit_not_found", "Không tìm thấy đơn vị.", "No such unit.")
        )
        unit = None
    for index, code in enumerate(areas):
        area = session.get(Unit, code)
        inside = area is not None and unit is not None and area.path.startswith(unit.path)
        if area is None or not scope.contains(area) or not inside or area.level not in AREA_LEVELS:
            errors.append(
                FieldError(
                    f"areas.{index}",
                    "invalid_area",
                    f"Địa bàn {code!r} phải là xã/phường hoặc thôn/tổ dân phố "
                    "thuộc đơn vị của đội.",
                    f"Area {code!r} must be a commune or village within the team's unit.",
                )
            )
    users: list[User] = []
    for index, username in enumerate(members):
        user = session.scalar(select(User).where(User.username == username.strip().lower()))
        if user is None or user.role != Role.VOLUNTEER or not scope.contains(user.unit):
            errors.append(
                FieldError(
                    f"members.{index}",
                    "invalid_member",
                    f"{username!r} không phải tình nguyện viên trong phạm vi của bạn.",
                    f"{username!r} is not a volunteer within your scope.",
                )
            )
        else:
            users.append(user)
    return unit, users, errors


def save_team(
    session: Session,
    scope: Scope,
    *,
    name: str,
    unit_code: str,
    areas: Sequence[str],
    members: Sequence[str],
    actor: str | None,
    team_id: int | None = None,
) -> Team:
    """Create a team (or replace team ``team_id``'s name, areas and members); audited.

    Raises InvalidInput naming every bad field, storing nothing.
    """
    team = get_team(session, team_id, scope) if team_id is not None else None
    _unit, users, errors = _check(session, scope, name, unit_code, areas, members)
    if errors:
        raise InvalidInput(*errors)
    if team is None:
        team = Team(name=name.strip(), unit_code=unit_code)
        session.add(team)
        session.flush()
    else:
        team.name = name.strip()
        team.unit_code = unit_code
        session.execute(delete(TeamArea).where(TeamArea.team_id == team.id))
        session.execute(delete(TeamMember).where(TeamMember.team_id == team.id))
    for code in dict.fromkeys(areas):
        session.add(TeamArea(team_id=team.id, unit_code=code))
    for user in {user.id: user for user in users}.values():
        session.add(TeamMember(team_id=team.id, user_id=user.id))
    session.flush()
    record(
        session,
        actor=actor,
        action="campaign.team.save",
        object_type="team",
        object_id=team.id,
        unit_code=unit_code,
        detail={"areas": list(areas), "members": [user.username for user in users]},
    )
    return team


def _area_paths(session: Session, team: Team) -> list[str]:
    return list(
        session.scalars(
            select(Unit.path)
            .join(TeamArea, TeamArea.unit_code == Unit.code)
            .where(TeamArea.team_id == team.id)
        )
    )


def members_of(session: Session, team: Team) -> list[User]:
    """The team's volunteers, oldest account first."""
    return list(
        session.scalars(
            select(User)
            .join(TeamMember, TeamMember.user_id == User.id)
            .where(TeamMember.team_id == team.id, User.is_active.is_(True))
            .order_by(User.id)
        )
    )


def distribute(session: Session, team: Team, *, actor: str | None = None) -> int:
    """Deal the team's unassigned households round robin to its volunteers; returns how many.

    Households in the team's areas (a commune's villages included) with no volunteer, or whose
    volunteer left the team, are taken in unit-then-id order, and each goes to the next
    volunteer in turn, starting with the one holding fewest households, so repeated calls keep
    the load even.
    """
    volunteers = members_of(session, team)
    paths = _area_paths(session, team)
    if not volunteers or not paths:
        return 0
    ids = [user.id for user in volunteers]
    area = Household.unit_code.in_(select(Unit.code).where(_any_subtree(paths)))
    load = dict(
        session.execute(
            select(Household.volunteer_id, func.count())
            .where(area, Household.volunteer_id.in_(ids))
            .group_by(Household.volunteer_id)
        ).all()
    )
    order = sorted(ids, key=lambda user_id: (load.get(user_id, 0), user_id))
    pending = session.scalars(
        select(Household)
        .join(Unit, Unit.code == Household.unit_code)
        .where(area)
        .where(Household.volunteer_id.is_(None) | Household.volunteer_id.not_in(ids))
        .order_by(Unit.path, Household.id)
    ).all()
    for index, household in enumerate(pending):
        household.volunteer_id = order[index % len(order)]
    if pending:
        record(
            session,
            actor=actor,
            action="campaign.team.distribute",
            object_type="team",
            object_id=team.id,
            unit_code=team.unit_code,
            detail={"households": len(pending)},
        )
    return len(pending)


def _any_subtree(paths: Sequence[str]) -> ColumnElement[bool]:
    return or_(*(subtree_of(Unit.path, path) for path in paths))


def list_teams(session: Session, scope: Scope) -> list[TeamView]:
    """Teams whose unit lies in ``scope``, with areas, members and household counts."""
    teams = session.scalars(
        select(Team)
        .join(Unit, Unit.code == Team.unit_code)
        .where(scope.where(Unit.path))
        .order_by(Team.name, Team.id)
    ).all()
    views = []
    for team in teams:
        members = members_of(session, team)
        areas = list(session.scalars(select(TeamArea.unit_code).where(TeamArea.team_id == team.id)))
        count = session.scalar(
            select(func.count())
            .select_from(Household)
            .where(Household.volunteer_id.in_([user.id for user in members]))
        )
        views.append(
            TeamView(
                team.id,
                team.name,
                team.unit_code,
                sorted(areas),
                [user.username for user in members],
                int(count or 0),
            )
        )
    return views
