"""Capturing what the server logs, rendered exactly as in production (console or JSON)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from io import StringIO
from typing import Any, Literal

from api.logs import configure_logging
from db.settings import Settings


class CapturedLog:
    def __init__(self, buffer: StringIO, log_format: str) -> None:
        self._buffer = buffer
        self.format = log_format

    @property
    def text(self) -> str:
        return self._buffer.getvalue()

    def clear(self) -> None:
        self._buffer.seek(0)
        self._buffer.truncate()

    def events(self) -> list[dict[str, Any]]:
        """Every JSON line (json format only); a line that is not one JSON object fails."""
        assert self.format == "json"
        return [json.loads(line) for line in self.text.splitlines() if line.strip()]

    def named(self, event: str) -> list[dict[str, Any]]:
        return [e for e in self.events() if e.get("event") == event]


@contextmanager
def captured_logs(
    settings: Settings, log_format: Literal["json", "console"] = "json"
) -> Iterator[CapturedLog]:
    """The process's logging configured as ``orderflow serve`` does, into a buffer; the test's
    own logging is put back afterwards."""
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    # The test's own HTTP client logs each request it sends; only the server's lines count.
    client_log = logging.getLogger("httpx")
    saved_client_level = client_log.level
    client_log.setLevel(logging.WARNING)
    buffer = StringIO()
    configure_logging(settings.model_copy(update={"log_format": log_format}), stream=buffer)
    try:
        yield CapturedLog(buffer, log_format)
    finally:
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)
        client_log.setLevel(saved_client_level)
