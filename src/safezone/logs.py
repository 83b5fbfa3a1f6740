"""Structured logging (structlog). Log events name what happened, never personal data.

Database errors reach the logs without their bound parameters or PostgreSQL's ``DETAIL`` lines
(see :mod:`safezone.db.engine`); tracebacks are rendered as plain text, without local variables.
"""

from __future__ import annotations

import logging
import sys

import structlog


class _CurrentStderr:
    """Writes to whatever ``sys.stderr`` is now (test runners and CLIs swap it)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def configure_logging(level: str = "INFO", *, json: bool = True) -> None:
    """Route structlog and the standard library through one JSON (or console) renderer."""
    # Tracebacks as plain text (format_exc_info), never with local variables: rich's pretty
    # tracebacks print every frame's locals, which hold personal data and tokens.
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer()
        if json
        else structlog.dev.ConsoleRenderer(exception_formatter=structlog.dev.plain_traceback)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        logger_factory=structlog.PrintLoggerFactory(file=_CurrentStderr()),  # type: ignore[arg-type]
        cache_logger_on_first_use=False,  # configure_logging may run again (demo, tests)
    )
    logging.basicConfig(level=level, stream=sys.stderr, format="%(name)s %(levelname)s %(message)s")
    # uvicorn's access log prints client addresses; our middleware logs requests without them.
    logging.getLogger("uvicorn.access").disabled = True
