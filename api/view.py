"""The GraphQL endpoint: context per request, auth at websocket ``connection_init``, JSON errors."""

from __future__ import annotations

from typing import Any

import structlog
from cross_web import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError

from api.auth import actor_for, credential_from
from api.context import Context
from api.graphiql import graphiql_page
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


class OrderflowGraphQL(GraphQL[Context, None]):
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
        if actor is None:
            raise ConnectionRejectionError({"code": "UNAUTHENTICATED"})
        context.actor = actor
        context.session_token = credential.token
        return {"organizationId": actor.org_id}
