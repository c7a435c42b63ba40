"""The GraphQL endpoint: context per request, auth at websocket ``connection_init``, JSON errors.

Websockets speak graphql-transport-ws only: its handler is where a socket can be closed from
outside (when its credential ends, see ``api.live``); the legacy graphql-ws protocol would keep
running on a revoked credential, so it is not offered.

What a request body may be and how answers are framed (media types, status codes) is in
api/http_edge.py; this class wires it into strawberry's view.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any

import structlog
from cross_web import AsyncHTTPRequestAdapter, HTTPException
from starlette.datastructures import Headers
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketState
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.schema.base import BaseSchema
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import (
    ConnectionInitMessage,
    Message,
)
from strawberry.types import ExecutionResult

from api import http_edge
from api.auth import actor_for, credential_from, grant_for
from api.context import Context
from api.graphiql import graphiql_page
from api.live import SESSION_ENDED_CODE
from api.services import AppServices

log = structlog.get_logger(__name__)


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
    def __init__(self, schema: BaseSchema, *, max_body_bytes: int, **options: Any) -> None:
        super().__init__(schema, **options)
        self.max_body_bytes = max_body_bytes

    graphql_transport_ws_handler_class = OrderflowTransportWSHandler

    @property
    def graphql_ide_html(self) -> str:
        # orderflow's GraphiQL page: assets from this server, not a CDN; sends our CSRF header.
        return graphiql_page()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        structlog.contextvars.clear_contextvars()
        headers = Headers(scope=scope)
        media_type = http_edge.negotiate(headers.get("accept"))
        try:
            if scope["method"] == "POST":
                # Read (and bound) the body before anything else runs: authentication and the
                # rate limiter should not spend a database query on a 50 MB upload.
                body = await http_edge.read_body(headers, receive, self.max_body_bytes)
                receive = http_edge.replay(body, receive)
            response = await self.run(Request(scope=scope, receive=receive))
        except ClientDisconnect:
            return
        except HTTPException as exc:
            log.info("http.refused", status=exc.status_code, reason=exc.reason)
            response = http_edge.error_response(exc, media_type)
        await response(scope, receive, send)

    # -- request ---------------------------------------------------------------------------
    def parse_json(self, data: str | bytes) -> dict[str, Any]:
        return http_edge.parse_json_object(data)

    async def parse_http_body(
        self, request: AsyncHTTPRequestAdapter
    ) -> GraphQLRequestData | list[GraphQLRequestData]:
        parsed = await super().parse_http_body(request)
        for data in parsed if isinstance(parsed, list) else [parsed]:
            if not isinstance(data.operation_name, str | None):
                raise http_edge.bad_request(
                    "The GraphQL operation's `operationName` must be a string or null, if provided."
                )
        return parsed

    # -- response --------------------------------------------------------------------------
    async def get_sub_response(self, request: Request | WebSocket) -> Response:
        sub_response = await super().get_sub_response(request)
        sub_response.media_type = http_edge.negotiate(request.headers.get("accept"))
        return sub_response

    async def process_result(
        self, request: Request, result: ExecutionResult
    ) -> GraphQLHTTPResponse:
        data = await super().process_result(request, result)
        modern = (
            http_edge.negotiate(request.headers.get("accept")) == http_edge.GRAPHQL_RESPONSE_JSON
        )
        if modern and http_edge.is_request_error(result.data, result.errors):
            # Nothing was executed, so there is no data, not even null (and the status is 4xx).
            data.pop("data", None)
        return data

    def create_response(
        self,
        response_data: GraphQLHTTPResponse | list[GraphQLHTTPResponse],
        sub_response: Response,
    ) -> Response:
        response = super().create_response(response_data, sub_response)
        media_type = sub_response.media_type or http_edge.JSON
        response.headers["content-type"] = f"{media_type}; charset=utf-8"
        if isinstance(response_data, dict) and "data" not in response_data:
            errors: Sequence[object] = response_data.get("errors") or []
            response.status_code = http_edge.request_error_status(errors)
        return response

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
        # Replaced by the signed-in actor below; every line of the request says who sent it.
        structlog.contextvars.bind_contextvars(actor="anonymous")
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
