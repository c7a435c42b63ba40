"""Account mutations: sign in and out, passwords, API tokens, users, sign-up."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import strawberry
from starlette.responses import Response
from strawberry.types import Info

from api.accounts.inputs import (
    ChangePasswordInput,
    CreateApiTokenInput,
    CreateUserInput,
    DeactivateUserInput,
    LoginInput,
    ReactivateUserInput,
    RevokeApiTokenInput,
    SignUpInput,
    UpdateUserInput,
)
from api.accounts.types import (
    ApiToken,
    ApiTokenPayload,
    ChangePasswordPayload,
    CreateApiTokenPayload,
    LoginPayload,
    LogoutPayload,
    Organization,
    SignUpPayload,
    User,
    UserPayload,
    Viewer,
)
from api.auth import clear_session_cookies, set_session_cookies
from api.context import Context
from api.errors import UserError, run_mutation
from api.ids import decode_id
from api.permissions import IsAuthenticated
from db.tables import User as UserRow
from db.uow import UnitOfWork
from domain.accounts import service
from domain.accounts.errors import SignUpDisabled
from domain.accounts.model import Actor, Role, Scope, permissions_of
from domain.accounts.permissions import require_session
from domain.errors import DomainError


@strawberry.type
class AccountMutations:
    @strawberry.mutation(description="Sign in; the only operation open to anonymous callers.")  # type: ignore[untyped-decorator]
    async def login(self, info: Info[Context, None], input: LoginInput) -> LoginPayload:
        ctx = info.context
        services = ctx.services

        async def action() -> LoginPayload:
            signed = await service.sign_in(
                services.db,
                services.login_throttle,
                secret_key=services.secret_key,
                ttl=services.token_ttl,
                organization=input.organization,
                username=input.username,
                password=input.password,
                client_ip=ctx.client_ip,
            )
            csrf = None
            if input.use_cookie and isinstance(ctx.response, Response):
                csrf = set_session_cookies(
                    ctx.response,
                    signed.token,
                    signed.expires_at,
                    secure=services.settings.cookie_secure,
                )
            role = Role(signed.user.role)
            return LoginPayload(
                # In the body, the token would be readable by any script on the page, which is
                # what the httpOnly cookie is there to prevent.
                token=None if csrf is not None else signed.token,
                expires_at=signed.expires_at,
                csrf_token=csrf,
                viewer=Viewer(
                    organization=Organization.from_row(signed.organization),
                    user=User.from_row(signed.user),
                    role=role,
                    scopes=[s for s in Scope if s in permissions_of(role)],
                ),
            )

        return await run_mutation(info, action, LoginPayload)

    @strawberry.mutation(  # type: ignore[untyped-decorator]
        permission_classes=[IsAuthenticated],
        description="End this session (token and cookie).  An API token has no session: "
        "it gets INVALID_INPUT and stays valid until revokeApiToken.",
    )
    async def logout(self, info: Info[Context, None]) -> LogoutPayload:
        ctx = info.context
        try:
            # Refused before anything is done: cookies stay, the token stays valid.
            require_session(ctx.require_actor())
        except DomainError as exc:
            return LogoutPayload(errors=[UserError.from_domain(exc)])
        actor = ctx.require_actor()
        if ctx.session_token is not None and actor.token_id is None:
            async with ctx.uow() as uow:
                await service.sign_out(
                    uow,
                    ctx.services.denylist,
                    actor,
                    secret_key=ctx.services.secret_key,
                    token=ctx.session_token,
                )
                await uow.commit()
        if isinstance(ctx.response, Response):
            clear_session_cookies(ctx.response)
        return LogoutPayload(ok=True)

    @strawberry.mutation(permission_classes=[IsAuthenticated])  # type: ignore[untyped-decorator]
    async def change_password(
        self, info: Info[Context, None], input: ChangePasswordInput
    ) -> ChangePasswordPayload:
        ctx = info.context

        async def action() -> ChangePasswordPayload:
            async with ctx.uow() as uow:
                user = await service.change_password(
                    uow,
                    ctx.require_actor(),
                    current_password=input.current_password,
                    new_password=input.new_password,
                )
                await uow.commit()
            token, expires = service.session_for(
                user, secret_key=ctx.services.secret_key, ttl=ctx.services.token_ttl
            )
            if ctx.via_cookie and isinstance(ctx.response, Response):
                set_session_cookies(
                    ctx.response, token, expires, secure=ctx.services.settings.cookie_secure
                )
                # The new cookie carries it; see login.
                return ChangePasswordPayload(token=None, expires_at=expires)
            return ChangePasswordPayload(token=token, expires_at=expires)

        return await run_mutation(info, action, ChangePasswordPayload)

    @strawberry.mutation(permission_classes=[IsAuthenticated])  # type: ignore[untyped-decorator]
    async def create_api_token(
        self, info: Info[Context, None], input: CreateApiTokenInput
    ) -> CreateApiTokenPayload:
        ctx = info.context

        async def action() -> CreateApiTokenPayload:
            async with ctx.uow() as uow:
                row, secret = await service.create_api_token(
                    uow,
                    ctx.require_actor(),
                    name=input.name,
                    scopes=frozenset(input.scopes),
                    expires_in_days=input.expires_in_days,
                )
                await uow.commit()
            return CreateApiTokenPayload(api_token=ApiToken.from_row(row), secret=secret)

        return await run_mutation(info, action, CreateApiTokenPayload)

    @strawberry.mutation(permission_classes=[IsAuthenticated])  # type: ignore[untyped-decorator]
    async def revoke_api_token(
        self, info: Info[Context, None], input: RevokeApiTokenInput
    ) -> ApiTokenPayload:
        ctx = info.context

        async def action() -> ApiTokenPayload:
            token_id = decode_id(input.id, "ApiToken")
            async with ctx.uow() as uow:
                row = await service.revoke_api_token(uow, ctx.require_actor(), token_id)
                await uow.commit()
            return ApiTokenPayload(api_token=ApiToken.from_row(row))

        return await run_mutation(info, action, ApiTokenPayload)

    @strawberry.mutation(permission_classes=[IsAuthenticated])  # type: ignore[untyped-decorator]
    async def create_user(self, info: Info[Context, None], input: CreateUserInput) -> UserPayload:
        ctx = info.context

        async def action() -> UserPayload:
            async with ctx.uow() as uow:
                user = await service.create_user(
                    uow,
                    ctx.require_actor(),
                    username=input.username,
                    password=input.password,
                    role=input.role,
                    display_name=input.display_name,
                    supplier_name=input.supplier,
                )
                await uow.commit()
            return UserPayload(user=User.from_row(user))

        return await run_mutation(info, action, UserPayload)

    @strawberry.mutation(  # type: ignore[untyped-decorator]
        permission_classes=[IsAuthenticated],
        description="Change a user's role (and supplier) or display name (owners only). A new "
        "role ends the user's sessions and live subscriptions.",
    )
    async def update_user(self, info: Info[Context, None], input: UpdateUserInput) -> UserPayload:
        ctx = info.context

        async def action() -> UserPayload:
            user_id = decode_id(input.id, "User")
            async with ctx.uow() as uow:
                user = await service.update_user(
                    uow,
                    ctx.require_actor(),
                    user_id,
                    role=input.role,
                    display_name=input.display_name,
                    supplier_name=input.supplier,
                )
                await uow.commit()
            return UserPayload(user=User.from_row(user))

        return await run_mutation(info, action, UserPayload)

    @strawberry.mutation(  # type: ignore[untyped-decorator]
        permission_classes=[IsAuthenticated],
        description="Stop a user from signing in (owners only); their sessions, API tokens and "
        "live subscriptions end at once.",
    )
    async def deactivate_user(
        self, info: Info[Context, None], input: DeactivateUserInput
    ) -> UserPayload:
        return await _change_user(info, input.id, service.deactivate_user)

    @strawberry.mutation(  # type: ignore[untyped-decorator]
        permission_classes=[IsAuthenticated],
        description="Let a deactivated user sign in again (owners only).",
    )
    async def reactivate_user(
        self, info: Info[Context, None], input: ReactivateUserInput
    ) -> UserPayload:
        return await _change_user(info, input.id, service.reactivate_user)

    @strawberry.mutation(  # type: ignore[untyped-decorator]
        description="Create a new organisation with its owner (only when the deployment "
        "enables self-service sign-up)."
    )
    async def sign_up(self, info: Info[Context, None], input: SignUpInput) -> SignUpPayload:
        ctx = info.context

        async def action() -> SignUpPayload:
            if not ctx.services.settings.signup_enabled:
                raise SignUpDisabled()
            org, owner = await service.create_organization(
                ctx.services.db,
                slug=input.organization_code,
                name=input.organization_name,
                owner_username=input.username,
                owner_password=input.password,
            )
            return SignUpPayload(organization=Organization.from_row(org), user=User.from_row(owner))

        return await run_mutation(info, action, SignUpPayload)


async def _change_user(
    info: Info[Context, None],
    raw_id: strawberry.ID,
    change: Callable[[UnitOfWork, Actor, int], Awaitable[UserRow]],
) -> UserPayload:
    """A mutation that changes one user by id (deactivate, reactivate), in one unit of work."""
    ctx = info.context

    async def action() -> UserPayload:
        user_id = decode_id(raw_id, "User")
        async with ctx.uow() as uow:
            user = await change(uow, ctx.require_actor(), user_id)
            await uow.commit()
        return UserPayload(user=User.from_row(user))

    return await run_mutation(info, action, UserPayload)
