"""Shell routes: home, health check, metrics."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from safezone.db.engine import DatabaseUnavailable
from safezone.web.deps import DatabaseDep

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


@router.get("/healthz", tags=["ops"])
def healthz(database: DatabaseDep) -> JSONResponse:
    """Liveness and database reachability: 200 when both are fine, 503 otherwise."""
    try:
        database.ping()
    except DatabaseUnavailable:
        return JSONResponse({"status": "error", "database": "unreachable"}, status_code=503)
    return JSONResponse({"status": "ok", "database": "ok"})


@router.get("/metrics", tags=["ops"], include_in_schema=False)
def metrics() -> Response:
    """Prometheus metrics."""
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
