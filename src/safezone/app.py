"""The composition root: the one module that knows every router (``create_app``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import Depends, FastAPI
from fastapi.staticfiles import StaticFiles

from safezone import __version__
from safezone.accounts import api as account_api
from safezone.accounts import views as account_views
from safezone.campaign import api as campaign_api
from safezone.campaign import field_api, field_views
from safezone.campaign import views as campaign_views
from safezone.campaign.materials import views as materials_views
from safezone.config import Settings
from safezone.db.engine import Database
from safezone.declarations import api as declaration_api
from safezone.declarations import views as declaration_views
from safezone.exposure import api as exposure_api
from safezone.exposure import views as exposure_views
from safezone.messaging import api as messaging_api
from safezone.messaging import gateway_api as messaging_gateway_api
from safezone.messaging import views as messaging_views
from safezone.sim.webui import api as sim_api
from safezone.sim.webui import views as sim_views
from safezone.units import api as unit_api
from safezone.units import views as unit_views
from safezone.web import views as shell_views
from safezone.web.errors import install_error_handlers
from safezone.web.guards import refuse_nul
from safezone.web.middleware import RequestMiddleware, RotatingSessionMiddleware

SESSION_COOKIE = "safezone_session"


def create_app(settings: Settings, database: Database | None = None) -> FastAPI:
    """Build the web app for ``settings`` (sharing ``database`` when given, e.g. in the demo)."""
    owns_database = database is None
    db = database or Database(settings.sqlalchemy_url)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        if owns_database:
            db.dispose()

    app = FastAPI(
        title="safezone",
        version=__version__,
        description="Health declarations, exposure notification and the rollout campaign.",
        lifespan=lifespan,
        # /docs is served by safezone.web.views with local assets; FastAPI's own pages load
        # Swagger UI and ReDoc from a CDN and stay blank offline.
        docs_url=None,
        redoc_url=None,
        dependencies=[Depends(refuse_nul)],
    )
    app.state.settings = settings
    app.state.database = db
    app.add_middleware(
        RotatingSessionMiddleware,
        secret_keys=[key.hex() for key in settings.keyring.keys("safezone-web-session")],
        session_cookie=SESSION_COOKIE,
        max_age=settings.web.session_max_age_seconds,
        same_site="lax",
        https_only=settings.web.https,
    )
    # Added last, so it runs first: the language is set before anything renders, and every
    # response (errors and 413s included) gets the security headers.
    app.add_middleware(
        RequestMiddleware, max_body_bytes=settings.web.max_body_bytes, https=settings.web.https
    )
    install_error_handlers(app)
    app.mount(
        "/static", StaticFiles(directory=Path(__file__).parent / "web" / "static"), name="static"
    )
    for router in (
        shell_views.router,
        account_views.router,
        account_api.router,
        unit_api.router,
        unit_views.router,
        declaration_api.router,
        declaration_views.router,
        exposure_api.router,
        exposure_api.files_router,  # /exposure/v1/...: export files from the storage backend
        exposure_views.router,
        messaging_api.router,
        messaging_views.router,
        messaging_gateway_api.router,
        campaign_api.router,
        campaign_views.router,
        materials_views.router,
        field_api.router,
        field_views.router,
        sim_api.router,  # the simulator: pages and API start without the sim extra
        sim_views.router,
    ):
        app.include_router(router)
    return app
