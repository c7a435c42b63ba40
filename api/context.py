"""The per-request (or per-websocket) GraphQL context."""

from __future__ import annotations

import uuid
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

    def require_actor(self) -> Actor:
        if self.actor is None:
            raise ApiError(ErrorCode.UNAUTHENTICATED, "Sign in first")
        return self.actor

    def uow(self) -> UnitOfWork:
        """A unit of work scoped to the actor's organisation."""
        return UnitOfWork(self.services.db, self.require_actor().org_id)

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
