"""ASGI entry point for ``safezone serve`` (uvicorn imports it in each worker process)."""

from __future__ import annotations

from fastapi import FastAPI

from safezone.app import create_app
from safezone.config import load_settings
from safezone.logs import configure_logging


def app_factory() -> FastAPI:
    """Build the app from the environment."""
    settings = load_settings()
    configure_logging(settings.log_level, json=settings.log_json)
    return create_app(settings)
