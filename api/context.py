"""The per-request (or per-websocket) GraphQL context."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket

from api.errors import ApiError
from api.live import LiveConnection
from api.loaders import Loaders
from api.services import AppServices
from db.uow import UnitOfWork
from domain.accounts.model import Actor
from domain.errors import ErrorCode


@dataclass
class Context:
    request: Request | WebSocket
    response: Response | WebSocket | None
    services: AppServices
    actor: Actor | None = None
    #: The session token the actor came with (for logout), if any.
    session_token: str | None = None
    #: True when the credential came from the session cookie (mutations then need CSRF).
    via_cookie: bool = False
    request_id: str = field(default_factory=lambda: uuid.uuid4().hex[:16])
    connection_params: dict[str, Any] | None = None
    #: For a websocket, once authenticated: what it authenticated with, to end it when that ends.
    live: LiveConnection | None = None
    #: The units of work the current attempt of a mutation opened (see ``mutation_attempt``).
    _attempt_units: list[UnitOfWork] | None = field(default=None, init=False, repr=False)

    def require_actor(self) -> Actor:
        if self.actor is None:
            raise ApiError(ErrorCode.UNAUTHENTICATED, "Sign in first")
        return self.actor

    def uow(self) -> UnitOfWork:
        """A unit of work scoped to the actor's organisation.  Mutations open theirs here, once
        per attempt: ``api.errors.run_mutation`` runs a mutation again, with fresh units of
        work, when a lock stayed taken (see ``domain.inventory.retry``)."""
        unit = UnitOfWork(self.services.db, self.require_actor().org_id)
        if self._attempt_units is not None:
            self._attempt_units.append(unit)
        return unit

    @contextmanager
    def mutation_attempt(self, opened: list[UnitOfWork]) -> Iterator[None]:
        """Collect into ``opened`` the units of work one attempt of a mutation opens, so that
        the retry can tell whether the attempt committed any of them before it failed."""
        self._attempt_units = opened
        try:
            yield
        finally:
            self._attempt_units = None

    @cached_property
    def loaders(self) -> Loaders:
        return Loaders(self.services.db, self.require_actor())

    def reset_loaders(self) -> None:
        """Forget cached rows (every area's loaders), e.g. between subscription events."""
        for key in [k for k in self.__dict__ if k.endswith("loaders")]:
            del self.__dict__[key]

    @property
    def client_ip(self) -> str:
        client = self.request.client
        return client.host if client else "unknown"
