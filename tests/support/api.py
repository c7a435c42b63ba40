"""Calling the GraphQL API through the ASGI app, as a frontend or a third-party app would."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import httpx
from starlette.applications import Starlette

from api.app import create_app
from api.services import AppServices
from db.settings import Settings
from db.tables import User
from domain.accounts.model import Role
from domain.accounts.tokens import issue_session_token
from tests.support.factories import Seller


class GraphQLClient:
    def __init__(self, http: httpx.AsyncClient, services: AppServices, app: Starlette) -> None:
        self.http = http
        self.services = services
        self.app = app

    @asynccontextmanager
    async def from_address(self, ip: str) -> AsyncIterator[GraphQLClient]:
        """The same server, called from another client address (sign-in throttling is per IP)."""
        transport = httpx.ASGITransport(app=self.app, client=(ip, 4321))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            yield GraphQLClient(http, self.services, self.app)

    async def post(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        token: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        all_headers = dict(headers or {})
        if token:
            all_headers["authorization"] = f"Bearer {token}"
        return await self.http.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=all_headers
        )

    async def gql(
        self, query: str, variables: dict[str, Any] | None = None, *, token: str | None = None
    ) -> dict[str, Any]:
        response = await self.post(query, variables, token=token)
        body: dict[str, Any] = response.json()
        return body

    async def data(
        self, query: str, variables: dict[str, Any] | None = None, *, token: str | None = None
    ) -> dict[str, Any]:
        body = await self.gql(query, variables, token=token)
        assert not body.get("errors"), body.get("errors")
        data: dict[str, Any] = body["data"]
        return data

    def token_for(self, seller: Seller, role: Role = Role.MANAGER) -> str:
        return self.token_for_user(seller.users[role])

    def token_for_user(self, user: User) -> str:
        """A session token for any user (e.g. a second supplier's), as a sign-in would issue."""
        assert user.id is not None
        token, _ = issue_session_token(
            self.services.secret_key,
            org_id=user.org_id,
            user_id=user.id,
            token_version=user.token_version,
            ttl=timedelta(minutes=30),
        )
        return token


def build_app(settings: Settings) -> tuple[Starlette, AppServices]:
    app = create_app(settings)
    assert settings.database_url and settings.redis_url and settings.secret_key
    services = AppServices.create(
        settings, settings.database_url, settings.redis_url, settings.secret_key
    )
    app.state.services = services
    return app, services


@asynccontextmanager
async def graphql_client(settings: Settings) -> AsyncIterator[GraphQLClient]:
    app, services = build_app(settings)
    transport = httpx.ASGITransport(app=app, client=("10.1.2.3", 1234))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            yield GraphQLClient(http, services, app)
    finally:
        await services.close()
