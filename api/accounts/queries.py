"""Queries about who is calling, users and API tokens."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from api.accounts.types import ApiToken, Organization, User, Viewer
from api.context import Context
from api.errors import from_domain
from api.pagination import Connection, PageRequest, list_connection
from api.permissions import ApiTokensRead, UsersRead
from domain.accounts import service
from domain.accounts.model import Role, Scope
from domain.errors import DomainError


@strawberry.type
class AccountQueries:
    @strawberry.field(description="The signed-in user or API token; null when not signed in.")  # type: ignore[untyped-decorator]
    async def viewer(self, info: Info[Context, None]) -> Viewer | None:
        ctx = info.context
        actor = ctx.actor
        if actor is None:
            return None
        async with ctx.uow() as uow:
            org, user = await service.viewer(uow, actor)
        return Viewer(
            organization=Organization.from_row(org),
            user=User.from_row(user) if user else None,
            role=actor.role,
            scopes=[s for s in Scope if s in actor.scopes],
            api_token_name=actor.label.removeprefix("token:") if actor.token_id else None,
        )

    @strawberry.field(permission_classes=[UsersRead])  # type: ignore[untyped-decorator]
    async def users(
        self,
        info: Info[Context, None],
        role: Role | None = None,
        search: str | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[User]:
        term = (search or "").strip() or None
        return await list_connection(
            info,
            PageRequest(first, after, last, before),
            lambda uow, actor: service.count_users(uow, actor, role=role, search=term),
            lambda uow, actor, page: service.find_users(
                uow, actor, role=role, search=term, page=page
            ),
            User.from_row,
            filter={"role": role, "search": term},
        )

    @strawberry.field(permission_classes=[ApiTokensRead])  # type: ignore[untyped-decorator]
    async def api_tokens(self, info: Info[Context, None]) -> list[ApiToken]:
        ctx = info.context
        try:
            async with ctx.uow() as uow:
                rows = await service.list_api_tokens(uow, ctx.require_actor())
        except DomainError as exc:
            raise from_domain(exc) from exc
        return [ApiToken.from_row(row) for row in rows]
