"""Shell routes: home, API documentation, bundled assets, health check, metrics."""

from __future__ import annotations

import ipaddress
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from safezone.accounts.models import Role
from safezone.db.engine import DatabaseUnavailable
from safezone.errors import Forbidden
from safezone.web.deps import DatabaseDep, OptionalUser, SettingsDep
from safezone.web.templating import render

router = APIRouter()


@router.get("/", include_in_schema=False)
def home() -> RedirectResponse:
    """The overview is the front page."""
    return RedirectResponse("/units", status_code=303)


@router.get("/assets/plotly.min.js", include_in_schema=False)
def plotly_js() -> FileResponse:
    """plotly.js from the installed package, for every chart page (no CDN: works offline)."""
    import plotly

    return FileResponse(
        Path(plotly.__file__).parent / "package_data" / "plotly.min.js",
        media_type="text/javascript",
        headers={"Cache-Control": "public, max-age=86400"},
    )


def _swagger_ui_file(name: str, media_type: str) -> FileResponse:
    import fastapi_offline

    return FileResponse(
        Path(fastapi_offline.__file__).parent / "static" / name,
        media_type=media_type,
        headers={"Cache-Control": "public, max-age=86400"},
    )


@router.get("/assets/swagger-ui-bundle.js", include_in_schema=False)
def swagger_ui_js() -> FileResponse:
    """Swagger UI's script, from the installed fastapi-offline package (no CDN)."""
    return _swagger_ui_file("swagger-ui-bundle.js", "text/javascript")


@router.get("/assets/swagger-ui.css", include_in_schema=False)
def swagger_ui_css() -> FileResponse:
    """Swagger UI's style sheet, from the installed fastapi-offline package (no CDN)."""
    return _swagger_ui_file("swagger-ui.css", "text/css")


@router.get("/docs", response_class=HTMLResponse, include_in_schema=False)
def api_docs(request: Request) -> HTMLResponse:
    """The OpenAPI documentation (Swagger UI), served entirely from this server."""
    return render(request, "docs.html", {"openapi_url": request.app.openapi_url})


@router.get("/healthz", tags=["ops"])
def healthz(database: DatabaseDep) -> JSONResponse:
    """Liveness and database reachability: 200 when both are fine, 503 otherwise."""
    try:
        database.ping()
    except DatabaseUnavailable:
        return JSONResponse({"status": "error", "database": "unreachable"}, status_code=503)
    return JSONResponse({"status": "ok", "database": "ok"})


def _from_allowed_network(request: Request, networks: list[str]) -> bool:
    host = request.client.host if request.client else ""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:  # not an address (e.g. a test client or a Unix socket)
        return False
    return any(address in ipaddress.ip_network(net, strict=False) for net in networks)


@router.get("/metrics", tags=["ops"], include_in_schema=False)
def metrics(request: Request, settings: SettingsDep, user: OptionalUser) -> Response:
    """Prometheus metrics: for an admin (token or session), or from ``web.metrics_from``.

    Route names and counts tell an outsider which features are used and how much: not public.
    """
    is_admin = user is not None and user.role is Role.ADMIN
    if not is_admin and not _from_allowed_network(request, settings.web.metrics_from):
        raise Forbidden.single(
            None,
            "metrics_forbidden",
            "Chỉ quản trị viên hoặc máy được phép mới xem được số liệu vận hành.",
            "Metrics are only for administrators or allowed addresses.",
        )
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
