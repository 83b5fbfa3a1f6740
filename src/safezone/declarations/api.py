"""JSON routes: citizens' app (declare, update, daily updates), staff clients, pass checks."""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel

from safezone.accounts.models import Role, User
from safezone.db.base import utcnow
from safezone.declarations import intake, passes, reports, review
from safezone.declarations.base import Policy, local_today, parse, request_fingerprint
from safezone.declarations.schemas import (
    AssignmentIn,
    DailyUpdateIn,
    DailyUpdateOut,
    DeclarationCreated,
    DeclarationDetail,
    DeclarationIn,
    DeclarationPage,
    DeclarationSummary,
    FollowUpIn,
    FollowUpRow,
    OutcomeIn,
    PassOut,
    PassVerifyIn,
)
from safezone.errors import FieldError, InvalidInput, SafezoneError
from safezone.web import dates
from safezone.web.deps import RowId, SessionDep, UnitScope, get_settings, requires

router = APIRouter(prefix="/api/v1", tags=["declarations"])
#: Checkpoints may cache the revocation list this long (seconds): short next to a pass lifetime.
REVOCATIONS_MAX_AGE = 60


class UnsupportedMediaType(SafezoneError):
    """The body is not JSON."""

    status_hint = 415


def get_policy(request: Request) -> Policy:
    """The declarations policy of this app (built once: keys, rules, periods)."""
    policy = getattr(request.app.state, "declarations_policy", None)
    if policy is None:
        policy = Policy.from_settings(get_settings(request))
        request.app.state.declarations_policy = policy
    return policy


PolicyDep = Annotated[Policy, Depends(get_policy)]
Officer = Annotated[User, Depends(requires(Role.HEALTH_OFFICER))]
UpdateToken = Annotated[
    str | None,
    Header(alias="X-Update-Token", max_length=100, description="The citizen's update token"),
]
LinkToken = Annotated[
    str | None,
    Header(
        alias="X-Link-Token",
        max_length=100,
        description="Proof that this is the person of an earlier declaration: its update token",
    ),
]


async def json_body(request: Request) -> Any:
    """The request body parsed as JSON; 415 for another content type, 422 for bad JSON.

    The body is validated by the service (not by FastAPI), so that field checks needing the
    database are reported together with the others in one answer.
    """
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/json":
        raise UnsupportedMediaType.single(
            None,
            "unsupported_media_type",
            "Nội dung phải là JSON (Content-Type: application/json).",
            "The body must be JSON (Content-Type: application/json).",
        )
    try:
        return json.loads(await request.body())
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise InvalidInput(
            FieldError("body", "json_invalid", "JSON không hợp lệ.", "The body is not valid JSON.")
        ) from None


JsonBody = Annotated[Any, Depends(json_body)]


def _inline(node: Any, definitions: dict[str, Any]) -> Any:
    if isinstance(node, dict):
        if "$ref" in node:
            return _inline(definitions[node["$ref"].rsplit("/", 1)[-1]], definitions)
        return {key: _inline(value, definitions) for key, value in node.items()}
    if isinstance(node, list):
        return [_inline(item, definitions) for item in node]
    return node


def documented_body(model: type[BaseModel]) -> dict[str, Any]:
    """``openapi_extra`` documenting a body read by :func:`json_body` as ``model``.

    The schema is inlined (no ``$defs``), so it is valid inside the OpenAPI document; clients
    and schemathesis then see the real shape of the body.
    """
    schema = model.model_json_schema()
    definitions = schema.pop("$defs", {})
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": _inline(schema, definitions)}},
        }
    }


@router.post("/declarations", status_code=201, openapi_extra=documented_body(DeclarationIn))
def create_declaration(
    session: SessionDep,
    policy: PolicyDep,
    raw: JsonBody,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
    link_token: LinkToken = None,
) -> DeclarationCreated:
    """Submit a health declaration (body: see ``DeclarationIn``). Keep ``update_token``.

    Without ``X-Link-Token`` the declaration stands alone, whatever ID number it carries. With
    the update token of an earlier declaration of the same ID number, both become one person
    (shared daily updates and details).
    """
    now = utcnow()
    data = parse(DeclarationIn, session, raw, today=local_today(now))
    return intake.submit(
        session,
        policy,
        data,
        now=now,
        idempotency_key=idempotency_key,
        fingerprint=request_fingerprint(raw) if idempotency_key else "",
        link_token=link_token,
    )


@router.put("/declarations/{declaration_id}", openapi_extra=documented_body(DeclarationIn))
def update_declaration(
    session: SessionDep,
    policy: PolicyDep,
    declaration_id: RowId,
    raw: JsonBody,
    update_token: UpdateToken = None,
) -> DeclarationCreated:
    """Replace a declaration's answers (``X-Update-Token`` header); the risk is recomputed."""
    now = utcnow()
    intake.authorise(session, declaration_id, update_token)  # 401/403/404 before 422
    data = parse(DeclarationIn, session, raw, today=local_today(now))
    return intake.update(session, policy, declaration_id, update_token, data, now=now)


@router.post(
    "/declarations/{declaration_id}/updates",
    status_code=201,
    openapi_extra=documented_body(DailyUpdateIn),
)
def daily_update(
    session: SessionDep,
    policy: PolicyDep,
    declaration_id: RowId,
    raw: JsonBody,
    update_token: UpdateToken = None,
) -> DailyUpdateOut:
    """Send today's health status (one per person per day); returns the new risk and pass."""
    now = utcnow()
    intake.authorise(session, declaration_id, update_token)
    data = parse(DailyUpdateIn, session, raw, today=local_today(now))
    return intake.add_daily_update(session, policy, declaration_id, update_token, data, now=now)


@router.delete("/declarations/{declaration_id}/update-token", status_code=204)
def revoke_update_token(
    session: SessionDep, declaration_id: RowId, update_token: UpdateToken = None
) -> Response:
    """Withdraw the update token (it stops working at once)."""
    intake.revoke_update_token(session, declaration_id, update_token)
    return Response(status_code=204)


@router.post("/passes/verify")
def verify_pass(session: SessionDep, policy: PolicyDep, body: PassVerifyIn) -> PassOut:
    """Check a QR pass: signature, version, lifetime and the revocation list."""
    return intake.verify_pass(session, policy, body.token)


@router.get("/passes/revocations")
def pass_revocations(
    session: SessionDep,
    policy: PolicyDep,
    since: Annotated[
        int | None,
        Query(ge=0, le=2**32 - 1, description="Unix seconds: only passes revoked since then"),
    ] = None,
) -> JSONResponse:
    """The signed list of revoked, unexpired passes (serials only), for offline checkpoints.

    Public and cacheable: it names no person. Verify ``signature`` with the pass keys
    (``safezone declarations pass-keys``) before use; sync again from ``list.next_since``.
    """
    now = utcnow()
    document = passes.revocation_list(
        session,
        policy,
        now=now,
        since=None if since is None else dt.datetime.fromtimestamp(since, dt.UTC),
    )
    return JSONResponse(
        document, headers={"Cache-Control": f"public, max-age={REVOCATIONS_MAX_AGE}"}
    )


# --- staff ------------------------------------------------------------------------------------


#: A date filter as the queue page's text inputs send it (the JSON API takes the same).
DateQuery = Annotated[str | None, Query(max_length=10, description="dd/mm/yyyy or yyyy-mm-dd")]


def filters_from_query(
    unit: Annotated[str | None, Query(max_length=16)] = None,
    date_from: DateQuery = None,
    date_to: DateQuery = None,
    risk: Annotated[str | None, Query(max_length=10)] = None,
    symptom: Annotated[str | None, Query(max_length=30)] = None,
    exposure: Annotated[str | None, Query(max_length=40)] = None,
    assigned: bool | None = None,
    q: Annotated[str | None, Query(max_length=30, description="Identity or phone number")] = None,
) -> review.Filters:
    """The queue filters from the query string (empty values are ignored)."""
    days = dates.parse_dates({"date_from": date_from, "date_to": date_to})
    return review.Filters(
        unit_code=unit or None,
        date_from=days["date_from"],
        date_to=days["date_to"],
        risk=risk or None,
        symptom=symptom or None,
        exposure=exposure or None,
        assigned=assigned,
        lookup=(q or "").strip() or None,
    )


FiltersDep = Annotated[review.Filters, Depends(filters_from_query)]


@router.get("/declarations")
def list_declarations(
    session: SessionDep,
    policy: PolicyDep,
    user: Officer,
    scope: UnitScope,
    filters: FiltersDep,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=review.MAX_PER_PAGE)] = 50,
) -> DeclarationPage:
    """The review queue in the caller's area (no personal data; open one to see the person)."""
    del user  # the dependency checks the role
    return review.list_declarations(session, policy, scope, filters, page=page, per_page=per_page)


@router.get("/declarations/stats")
def declaration_stats(
    session: SessionDep,
    policy: PolicyDep,
    user: Officer,
    scope: UnitScope,
    unit: Annotated[str | None, Query(max_length=16)] = None,
    days: Annotated[int, Query(ge=1, le=90)] = 14,
) -> dict[str, Any]:
    """Counts per unit (below ``unit``, default the caller's) and per day, by risk."""
    del user
    result = reports.stats(session, policy, scope, root_code=unit, days=days)
    return {
        "unit": {"code": result.root.code, "name": result.root.name},
        "per_unit": [
            {"code": kid.code, "name": kid.name, "counts": counts}
            for kid, counts in result.per_unit
        ],
        "per_day": [{"day": day.isoformat(), "counts": counts} for day, counts in result.per_day],
        "total": result.total,
    }


@router.get("/declarations/{declaration_id}")
def get_declaration(
    session: SessionDep, policy: PolicyDep, user: Officer, scope: UnitScope, declaration_id: RowId
) -> DeclarationDetail:
    """One declaration with the person and timeline (the read is audited)."""
    return review.read_declaration(session, policy, user, scope, declaration_id)


@router.post("/declarations/{declaration_id}/assignment")
def assign(
    session: SessionDep,
    policy: PolicyDep,
    user: Officer,
    scope: UnitScope,
    declaration_id: RowId,
    body: AssignmentIn,
) -> DeclarationSummary:
    """Assign to a commune health station."""
    return review.assign(session, policy, user, scope, declaration_id, body)


@router.post(
    "/declarations/{declaration_id}/followups",
    status_code=201,
    openapi_extra=documented_body(FollowUpIn),
)
def add_followup(
    session: SessionDep,
    policy: PolicyDep,
    user: Officer,
    scope: UnitScope,
    declaration_id: RowId,
    raw: JsonBody,
) -> FollowUpRow:
    """Record a daily follow-up (seen_well, seen_unwell, not_reached, not_performed)."""
    review.get_declaration(session, policy, scope, declaration_id)  # 404 before 422
    data = parse(FollowUpIn, session, raw, today=local_today())
    return review.add_followup(session, policy, user, scope, declaration_id, data)


@router.put("/declarations/{declaration_id}/outcome")
def set_outcome(
    session: SessionDep,
    policy: PolicyDep,
    user: Officer,
    scope: UnitScope,
    declaration_id: RowId,
    body: OutcomeIn,
) -> DeclarationSummary:
    """Close the follow-up: completed, lost_to_follow_up or became_case."""
    return review.set_outcome(session, policy, user, scope, declaration_id, body)
