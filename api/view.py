"""The GraphQL endpoint: context per request, auth at websocket ``connection_init``, JSON errors.

Websockets speak graphql-transport-ws only: its handler is where a socket can be closed from
outside (when its credential ends, see ``api.live``); the legacy graphql-ws protocol would keep
running on a revoked credential, so it is not offered.
"""

from __future__ import annotations

import contextlib
from typing import Any

import structlog
from cross_web import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketState
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import (
    ConnectionInitMessage,
    Message,
)

from api.auth import actor_for, credential_from, grant_for
from api.context import Context
from api.graphiql import graphiql_page
from api.live import SESSION_ENDED_CODE
from api.services import AppServices

log = structlog.get_logger(__name__)


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse(
        {"data": None, "errors": [{"message": message, "extensions": {"code": code}}]},
        status_code=status,
    )


class RateLimited(HTTPException):
    def __init__(self) -> None:
        super().__init__(429, "Too many requests; slow down")


class OrderflowTransportWSHandler(BaseGraphQLTransportWSHandler[Context, None]):
    """graphql-transport-ws, plus: the socket ends when the credential it authenticated with
    does (``api.live`` decides when, this closes it)."""

    async def handle_connection_init(self, message: ConnectionInitMessage) -> None:
        await super().handle_connection_init(message)
        live = self.context.live
        if live is not None and self.connection_acknowledged:
            live.bind(self.end_session)

    async def handle_message(self, message: Message) -> None:
        live = self.context.live
        if live is not None and live.ended:
            return  # the credential is void and the socket is closing: run nothing more on it
        await super().handle_message(message)

    async def shutdown(self) -> None:
        try:
            await super().shutdown()
        finally:
            if self.context.live is not None:
                await self.context.services.live.unregister(self.context.live)

    async def end_session(self, reason: str) -> None:
        # Operations first, so that none of them sends after the close frame.
        for operation_id in list(self.operations):
            await self.cleanup_operation(operation_id)
        socket = self.context.response
        if isinstance(socket, WebSocket) and socket.application_state is WebSocketState.CONNECTED:
            # The client may be gone already; then there is nobody left to tell.
            with contextlib.suppress(RuntimeError, OSError):
                await self.websocket.close(code=SESSION_ENDED_CODE, reason=reason)


#: The only websocket protocol offered (pass as ``subscription_protocols``), see above.
PROTOCOLS = (GRAPHQL_TRANSPORT_WS_PROTOCOL,)


class OrderflowGraphQL(GraphQL[Context, None]):
    graphql_transport_ws_handler_class = OrderflowTransportWSHandler

    @property
    def graphql_ide_html(self) -> str:
        # orderflow's GraphiQL page: assets from this server, not a CDN; sends our CSRF header.
        return graphiql_page()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        request = Request(scope=scope, receive=receive)
        try:
            response = await self.run(request)
        except HTTPException as exc:
            code = {400: "BAD_REQUEST", 429: "RATE_LIMITED"}.get(exc.status_code, "BAD_REQUEST")
            response = _error(exc.status_code, code, exc.reason)
        await response(scope, receive, send)

    @staticmethod
    def _services(request: Request | WebSocket) -> AppServices:
        services: AppServices = request.app.state.services
        return services

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Context:
        services = self._services(request)
        context = Context(request=request, response=response, services=services)
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=context.request_id)
        if isinstance(request, WebSocket):
            return context  # authenticated in on_ws_connect
        credential = credential_from(request.headers, request.cookies)
        if credential is not None:
            context.actor = await actor_for(services, credential.token)
            if context.actor is not None:
                context.session_token = credential.token
                context.via_cookie = credential.via_cookie
                structlog.contextvars.bind_contextvars(
                    org_id=context.actor.org_id, actor=context.actor.label
                )
        caller = (
            f"token:{context.actor.token_id}"
            if context.actor and context.actor.token_id
            else f"user:{context.actor.user_id}"
            if context.actor
            else f"ip:{context.client_ip}"
        )
        if not await services.request_limiter.allow(caller):
            raise RateLimited()
        return context

    async def on_ws_connect(self, context: Context) -> dict[str, Any] | None:
        params = context.connection_params or {}
        raw = params.get("authorization") or params.get("Authorization") or ""
        headers = {"authorization": str(raw)} if raw else {}
        credential = credential_from(headers, context.request.cookies)
        if credential is None:
            raise ConnectionRejectionError({"code": "UNAUTHENTICATED"})
        actor = await actor_for(context.services, credential.token)
        grant = grant_for(context.services, credential.token, actor) if actor else None
        if actor is None or grant is None:
            raise ConnectionRejectionError({"code": "UNAUTHENTICATED"})
        context.actor = actor
        context.session_token = credential.token
        context.live = context.services.live.register(actor, grant)
        await context.services.live.wait_ready(context.live)
        return {"organizationId": actor.org_id}
