"""Accounts use cases: organisations, users, sign-in, sessions and API tokens.

argon2 is slow on purpose (~0.1 s of CPU): hashing and verifying run in a thread so one sign-in
does not stall every other request on the event loop.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

import structlog

from db.engine import Database
from db.tables import ApiToken, Organization, User
from db.uow import UnitOfWork
from domain import audit
from domain.accounts import passwords, tokens
from domain.accounts.errors import InvalidCredentials
from domain.accounts.model import (
    ROLE_SCOPES,
    TOKEN_ADMIN_ROLES,
    USER_ADMIN_ROLES,
    Actor,
    Role,
    Scope,
    token_scopes,
)
from domain.errors import Duplicate, Forbidden, InvalidInput, NotFound, RateLimited

log = structlog.get_logger(__name__)

SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")
USERNAME_RE = re.compile(r"^[A-Za-z0-9_.@-]{2,64}$")
#: How often a used API token's ``last_used_at`` is written (not on every request).
TOKEN_TOUCH_INTERVAL = timedelta(minutes=1)


class LoginThrottle(Protocol):
    """Counts failed sign-ins per key (an account from one address, or an address) in sliding
    windows; ``is_blocked`` once any window of any key is full."""

    async def is_blocked(self, *keys: str) -> bool: ...

    async def record_failure(self, *keys: str) -> None: ...

    async def reset(self, key: str) -> None: ...


class SessionDenylist(Protocol):
    """Session tokens revoked by logout before they expire."""

    async def revoke(self, token_id: str, until: datetime) -> None: ...

    async def is_revoked(self, token_id: str) -> bool: ...


@dataclass(frozen=True)
class SignedIn:
    user: User
    organization: Organization
    token: str
    expires_at: datetime


def _now() -> datetime:
    return datetime.now(UTC)


def _require(actor: Actor, roles: frozenset[Role], what: str) -> None:
    if actor.role not in roles:
        raise Forbidden(f"Your role ({actor.role.value}) may not {what}")


def validate_slug(slug: str) -> str:
    slug = slug.strip().lower()
    if not SLUG_RE.match(slug):
        raise InvalidInput(
            "Organisation code: 2-63 lower-case letters, digits or '-'", field="slug"
        )
    return slug


def validate_username(username: str) -> str:
    username = username.strip()
    if not USERNAME_RE.match(username):
        raise InvalidInput("Username: 2-64 letters, digits or . _ @ -", field="username")
    return username


# -- organisations and users -------------------------------------------------------------------
async def create_organization(
    db: Database,
    *,
    slug: str,
    name: str,
    owner_username: str,
    owner_password: str,
    owner_display_name: str = "",
) -> tuple[Organization, User]:
    """Create a seller with its OWNER (CLI ``create-org`` and the optional ``signUp``)."""
    slug = validate_slug(slug)
    name = name.strip()
    if not name:
        raise InvalidInput("Organisation name is required", field="name")
    owner_username = validate_username(owner_username)
    password_hash = await asyncio.to_thread(passwords.hash_password, owner_password)
    async with UnitOfWork(db, None) as uow:
        if await uow.accounts.org_by_slug(slug) is not None:
            raise Duplicate(f"Organisation code '{slug}' is taken", field="slug")
        org = await uow.accounts.add_org(slug, name)
        assert org.id is not None
        await uow.enter_org(org.id)
        owner = await uow.accounts.add_user(
            User(
                org_id=org.id,
                username=owner_username,
                display_name=owner_display_name or owner_username,
                password_hash=password_hash,
                role=Role.OWNER.value,
            )
        )
        actor = Actor.system(org.id, label="create-org")
        audit.record(uow, actor, "organization.create", "Organization", org.id, slug=slug)
        await uow.commit()
    return org, owner


async def organization_id(db: Database, slug: str) -> int:
    """The id of the organisation with this code (for the CLI, which is told codes, not ids)."""
    async with UnitOfWork(db, None) as uow:
        org = await uow.accounts.org_by_slug(slug.strip().lower())
    if org is None or org.id is None:
        raise NotFound(f"No organisation '{slug}'", field="org")
    return org.id


async def create_user(
    uow: UnitOfWork,
    actor: Actor,
    *,
    username: str,
    password: str,
    role: Role,
    display_name: str = "",
    supplier_name: str | None = None,
) -> User:
    _require(actor, USER_ADMIN_ROLES, "create users")
    username = validate_username(username)
    password_hash = await asyncio.to_thread(passwords.hash_password, password)
    supplier_id: int | None = None
    if role is Role.SUPPLIER:
        if not supplier_name:
            raise InvalidInput("A SUPPLIER user needs its supplier", field="supplier")
        supplier = await uow.accounts.supplier_by_name(supplier_name)
        if supplier is None:
            supplier = await uow.accounts.add_supplier(supplier_name)
        supplier_id = supplier.id
    elif supplier_name:
        raise InvalidInput("Only SUPPLIER users belong to a supplier", field="supplier")
    if await uow.accounts.user_by_username(actor.org_id, username) is not None:
        raise Duplicate(f"Username '{username}' is taken", field="username")
    user = await uow.accounts.add_user(
        User(
            org_id=actor.org_id,
            username=username,
            display_name=display_name or username,
            password_hash=password_hash,
            role=role.value,
            supplier_id=supplier_id,
        )
    )
    audit.record(uow, actor, "user.create", "User", user.id, username=username, role=role.value)
    return user


# -- sign-in and sessions ----------------------------------------------------------------------
def _account_digest(organization: str, username: str) -> str:
    """A fixed-size Redis key part for whatever a caller typed (unvalidated, any length)."""
    account = f"{organization.strip().lower()}\0{username.strip().lower()}"
    return hashlib.sha256(account.encode()).hexdigest()[:32]


async def sign_in(
    db: Database,
    throttle: LoginThrottle,
    *,
    secret_key: str,
    ttl: timedelta,
    organization: str,
    username: str,
    password: str,
    client_ip: str,
) -> SignedIn:
    """Sign in, or fail with the same error whether the organisation, the user or the password
    was wrong (an unknown user still costs one password verification).

    Failures are throttled per (account, address) and per address, never per account alone:
    a stranger failing from elsewhere cannot lock a user out of their own account."""
    pair_key = f"account:{_account_digest(organization, username)}:from:{client_ip}"
    ip_key = f"ip:{client_ip}"
    if await throttle.is_blocked(pair_key, ip_key):
        log.warning("auth.sign_in_throttled", ip=client_ip)
        raise RateLimited("Too many failed sign-ins from this address; try again later")
    async with UnitOfWork(db, None) as uow:
        org = await uow.accounts.org_by_slug(organization.strip().lower())
        user = None
        if org is not None and org.id is not None:
            await uow.enter_org(org.id)
            user = await uow.accounts.user_by_username(org.id, username.strip())
        ok = await asyncio.to_thread(
            passwords.verify_password, user.password_hash if user else None, password
        )
        if org is None or user is None or not ok or not user.is_active:
            await throttle.record_failure(pair_key, ip_key)
            log.info("auth.sign_in_failed", organization=organization[:64], ip=client_ip)
            raise InvalidCredentials()
        assert user.id is not None and org.id is not None
        if passwords.needs_rehash(user.password_hash):
            user.password_hash = await asyncio.to_thread(passwords.hash_password, password)
        user.last_login_at = _now()
        actor = Actor.for_user(
            org_id=org.id,
            user_id=user.id,
            role=Role(user.role),
            username=user.username,
            supplier_id=user.supplier_id,
        )
        audit.record(uow, actor, "user.login", "User", user.id, ip=client_ip)
        await uow.commit()
    # Only this address's count for this account: resetting the address's own count would let
    # anyone holding one valid login wipe it between guesses at other accounts.
    await throttle.reset(pair_key)
    token, expires = tokens.issue_session_token(
        secret_key, org_id=org.id, user_id=user.id, token_version=user.token_version, ttl=ttl
    )
    return SignedIn(user=user, organization=org, token=token, expires_at=expires)


async def actor_from_session(
    db: Database, denylist: SessionDenylist, *, secret_key: str, token: str
) -> Actor | None:
    claims = tokens.decode_session_token(secret_key, token)
    if claims is None or await denylist.is_revoked(tokens.session_token_id(token)):
        return None
    async with UnitOfWork(db, claims.org_id) as uow:
        user = await uow.accounts.user_for_auth(claims.org_id, claims.user_id)
    if user is None or not user.is_active or user.token_version != claims.token_version:
        return None
    assert user.id is not None
    return Actor.for_user(
        org_id=user.org_id,
        user_id=user.id,
        role=Role(user.role),
        username=user.username,
        supplier_id=user.supplier_id,
    )


async def actor_from_api_token(db: Database, plaintext: str) -> Actor | None:
    prefix = tokens.parse_api_token(plaintext)
    if prefix is None:
        return None
    now = _now()
    async with UnitOfWork(db, None) as uow:
        candidates = await uow.accounts.tokens_by_prefix(prefix)
        row = next(
            (c for c in candidates if tokens.api_token_matches(plaintext, c.token_hash)), None
        )
        if (
            row is None
            or row.id is None
            or row.revoked_at is not None
            or (row.expires_at is not None and row.expires_at <= now)
        ):
            return None
        await uow.enter_org(row.org_id)
        owner = await uow.accounts.user_for_auth(row.org_id, row.created_by_user_id)
        if owner is None or not owner.is_active:
            return None
        if row.last_used_at is None or now - row.last_used_at > TOKEN_TOUCH_INTERVAL:
            await uow.accounts.touch_token(row.id, now)
            await uow.commit()
    role = Role(owner.role)
    return Actor(
        org_id=row.org_id,
        role=role,
        user_id=None,
        token_id=row.id,
        supplier_id=owner.supplier_id,
        scopes=token_scopes(role, frozenset(Scope(s) for s in row.scopes)),
        label=f"token:{row.name}",
    )


async def sign_out(denylist: SessionDenylist, *, secret_key: str, token: str) -> None:
    claims = tokens.decode_session_token(secret_key, token)
    if claims is not None:
        await denylist.revoke(tokens.session_token_id(token), claims.expires_at)


async def change_password(
    uow: UnitOfWork, actor: Actor, *, current_password: str, new_password: str
) -> User:
    """Change the signed-in user's password; every other session of that user ends."""
    if actor.user_id is None:
        raise Forbidden("Only a signed-in user can change a password")
    user = await uow.accounts.user(actor.user_id, for_update=True)
    if user is None:
        raise NotFound("User not found")
    if not await asyncio.to_thread(passwords.verify_password, user.password_hash, current_password):
        raise InvalidInput("Current password is incorrect", field="currentPassword")
    if current_password == new_password:
        raise InvalidInput("The new password must differ", field="newPassword")
    try:
        user.password_hash = await asyncio.to_thread(passwords.hash_password, new_password)
    except InvalidInput as exc:
        exc.field = "newPassword"
        raise
    user.token_version += 1
    user.password_changed_at = _now()
    audit.record(uow, actor, "user.change_password", "User", user.id)
    return user


def session_for(user: User, *, secret_key: str, ttl: timedelta) -> tuple[str, datetime]:
    assert user.id is not None
    return tokens.issue_session_token(
        secret_key,
        org_id=user.org_id,
        user_id=user.id,
        token_version=user.token_version,
        ttl=ttl,
    )


# -- API tokens --------------------------------------------------------------------------------
async def create_api_token(
    uow: UnitOfWork,
    actor: Actor,
    *,
    name: str,
    scopes: frozenset[Scope],
    expires_in_days: int | None,
) -> tuple[ApiToken, str]:
    """Return the stored token and its secret, which is shown this once and never again."""
    _require(actor, TOKEN_ADMIN_ROLES, "create API tokens")
    if actor.user_id is None:
        raise Forbidden("API tokens are created by a signed-in user, not by another token")
    name = name.strip()
    if not name:
        raise InvalidInput("Token name is required", field="name")
    if not scopes:
        raise InvalidInput("Choose at least one scope", field="scopes")
    beyond = scopes - ROLE_SCOPES[actor.role]
    if beyond:
        raise Forbidden(f"Your role cannot grant: {', '.join(sorted(s.value for s in beyond))}")
    if expires_in_days is not None and not 1 <= expires_in_days <= 3650:
        raise InvalidInput("Expiry must be 1 to 3650 days", field="expiresInDays")
    secret = tokens.new_api_token()
    row = await uow.accounts.add_token(
        ApiToken(
            org_id=actor.org_id,
            name=name,
            prefix=secret.prefix,
            token_hash=secret.digest,
            scopes=sorted(s.value for s in scopes),
            created_by_user_id=actor.user_id,
            expires_at=_now() + timedelta(days=expires_in_days) if expires_in_days else None,
        )
    )
    audit.record(uow, actor, "api_token.create", "ApiToken", row.id, name=name, scopes=row.scopes)
    return row, secret.plaintext


async def revoke_api_token(uow: UnitOfWork, actor: Actor, token_id: int) -> ApiToken:
    _require(actor, TOKEN_ADMIN_ROLES, "revoke API tokens")
    row = await uow.accounts.token(token_id)
    if row is None:
        raise NotFound("API token not found", field="id")
    if row.revoked_at is None:
        row.revoked_at = _now()
        audit.record(uow, actor, "api_token.revoke", "ApiToken", row.id, name=row.name)
    return row


# -- reading -----------------------------------------------------------------------------------
async def find_users(
    uow: UnitOfWork, actor: Actor, *, role: Role | None, search: str | None, offset: int, limit: int
) -> Sequence[User]:
    if not actor.has_scope(Scope.USERS_READ):
        raise Forbidden("This needs the 'users:read' permission")
    return await uow.accounts.list_users(
        role=role.value if role else None, search=search, offset=offset, limit=limit
    )


async def count_users(
    uow: UnitOfWork, actor: Actor, *, role: Role | None, search: str | None
) -> int:
    if not actor.has_scope(Scope.USERS_READ):
        raise Forbidden("This needs the 'users:read' permission")
    return await uow.accounts.count_users(role=role.value if role else None, search=search)


async def list_api_tokens(uow: UnitOfWork, actor: Actor) -> Sequence[ApiToken]:
    _require(actor, TOKEN_ADMIN_ROLES, "list API tokens")
    return await uow.accounts.tokens()


async def viewer(uow: UnitOfWork, actor: Actor) -> tuple[Organization, User | None]:
    org = await uow.accounts.org_by_id(actor.org_id)
    if org is None:
        raise NotFound("Organisation not found")
    user = await uow.accounts.user(actor.user_id) if actor.user_id is not None else None
    return org, user
