"""Accounts use cases: organisations, users, sign-in, sessions and API tokens.

argon2 is slow on purpose (~0.1 s of CPU): hashing and verifying run in a thread so one sign-in
does not stall every other request on the event loop.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

import structlog

from db.engine import Database
from db.integrity import duplicate
from db.tables import ApiToken, Organization, User
from db.uow import UnitOfWork
from domain import audit
from domain.accounts import passwords, scope, tokens
from domain.accounts.errors import CannotDeactivateSelf, InvalidCredentials, LastOwner
from domain.accounts.grants import ACCESS_REVOKED, Grant, grant_holds
from domain.accounts.model import Actor, Role, Scope, token_scopes
from domain.accounts.permissions import check_grant, may_revoke, require
from domain.errors import Forbidden, InvalidInput, NotFound, RateLimited
from domain.paging import Page, PageResult

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

    async def revoked_among(self, token_ids: Collection[str]) -> set[str]: ...


@dataclass(frozen=True)
class SignedIn:
    user: User
    organization: Organization
    token: str
    expires_at: datetime


def _now() -> datetime:
    return datetime.now(UTC)


def _require_user_admin(actor: Actor, what: str) -> None:
    """The one permission check for changing users (role, deactivation): ``users:write`` in
    the role matrix (OWNER), and for an API token in its scopes too."""
    require(actor, Scope.USERS_WRITE, what)


def _announce_revocation(
    uow: UnitOfWork, aggregate_type: str, aggregate_id: int, reason: str, **ids: int
) -> None:
    """Written with the change itself, so every server process hears of it once it commits and
    re-checks the websockets of this organisation at once (not at the next periodic check)."""
    uow.emit(ACCESS_REVOKED, aggregate_type, aggregate_id, {"reason": reason, **ids})


def _end_sessions(uow: UnitOfWork, user: User, reason: str) -> None:
    """Void every session token the user holds (they carry the old ``token_version``)."""
    assert user.id is not None
    user.token_version += 1
    _announce_revocation(
        uow, "User", user.id, reason, userId=user.id, tokenVersion=user.token_version
    )


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
            raise duplicate("organizations_slug_key")
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
    require(actor, Scope.USERS_WRITE, "create users")
    username = validate_username(username)
    password_hash = await asyncio.to_thread(passwords.hash_password, password)
    supplier_id: int | None = None
    if role is Role.SUPPLIER:
        if not supplier_name:
            raise InvalidInput("A SUPPLIER user needs its supplier", field="supplier")
        supplier_id = await _supplier_id(uow, supplier_name)
    elif supplier_name:
        raise InvalidInput("Only SUPPLIER users belong to a supplier", field="supplier")
    if await uow.accounts.user_by_username(actor.org_id, username) is not None:
        raise duplicate("users_org_id_username_key")
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


MAX_DISPLAY_NAME = 200
MAX_SUPPLIER_NAME = 200


async def _user_for_change(uow: UnitOfWork, user_id: int) -> tuple[User, list[int]]:
    """The user to change, locked, and the ids of the active owners, locked first.

    Every change that may touch who is an owner takes the owners' rows in id order before the
    target's, so two owners demoting each other at once queue up instead of both succeeding
    (and leaving nobody able to manage the organisation) or deadlocking.
    """
    owners = await uow.accounts.lock_active_owners()
    user = await uow.accounts.user(user_id, for_update=True)
    if user is None:
        raise NotFound("User not found", field="id")
    return user, owners


def _keep_an_owner(user: User, owners: list[int], what: str) -> None:
    if user.role == Role.OWNER.value and user.is_active and owners == [user.id]:
        raise LastOwner(f"Cannot {what} the last active owner; make another user OWNER first")


async def _supplier_id(uow: UnitOfWork, name: str) -> int:
    name = name.strip()
    if not name or len(name) > MAX_SUPPLIER_NAME:
        raise InvalidInput(f"Supplier: 1-{MAX_SUPPLIER_NAME} characters", field="supplier")
    supplier = await uow.accounts.supplier_named(name)
    assert supplier.id is not None
    return supplier.id


async def update_user(
    uow: UnitOfWork,
    actor: Actor,
    user_id: int,
    *,
    role: Role | None = None,
    display_name: str | None = None,
    supplier_name: str | None = None,
) -> User:
    """Change a user's role (with its supplier, for SUPPLIER) or display name.

    A new role or supplier changes what the user may see, so it ends every session the user has
    (and the live subscriptions of those sessions and of the user's API tokens).
    """
    _require_user_admin(actor, "change users")
    user, owners = await _user_for_change(uow, user_id)
    new_role = role or Role(user.role)
    if new_role is Role.SUPPLIER:
        if supplier_name is not None:
            new_supplier: int | None = await _supplier_id(uow, supplier_name)
        elif user.supplier_id is not None:
            new_supplier = user.supplier_id
        else:
            raise InvalidInput("A SUPPLIER user needs its supplier", field="supplier")
    elif supplier_name is not None:
        raise InvalidInput("Only SUPPLIER users belong to a supplier", field="supplier")
    else:
        new_supplier = None
    changes: dict[str, object] = {}
    if display_name is not None:
        name = display_name.strip()
        if not name or len(name) > MAX_DISPLAY_NAME:
            raise InvalidInput(
                f"Display name: 1-{MAX_DISPLAY_NAME} characters", field="displayName"
            )
        if name != user.display_name:
            changes["displayName"] = name
    if new_role.value != user.role:
        if new_role is not Role.OWNER:
            _keep_an_owner(user, owners, "demote")
        changes["role"] = {"from": user.role, "to": new_role.value}
    if new_supplier != user.supplier_id:
        changes["supplierId"] = {"from": user.supplier_id, "to": new_supplier}
    if not changes:
        return user
    if "displayName" in changes:
        user.display_name = str(changes["displayName"])
    if "role" in changes or "supplierId" in changes:
        user.role = new_role.value
        user.supplier_id = new_supplier
        _end_sessions(uow, user, "role_changed")
    audit.record(uow, actor, "user.update", "User", user.id, **changes)
    return user


async def deactivate_user(uow: UnitOfWork, actor: Actor, user_id: int) -> User:
    """Stop a user from signing in; every session and API token of the user ends at once."""
    _require_user_admin(actor, "deactivate users")
    if actor.user_id == user_id:
        raise CannotDeactivateSelf()
    user, owners = await _user_for_change(uow, user_id)
    if not user.is_active:
        return user
    _keep_an_owner(user, owners, "deactivate")
    user.is_active = False
    _end_sessions(uow, user, "deactivated")
    audit.record(uow, actor, "user.deactivate", "User", user.id, username=user.username)
    return user


async def reactivate_user(uow: UnitOfWork, actor: Actor, user_id: int) -> User:
    """Let a deactivated user sign in again (with a new sign-in: old sessions stay void)."""
    _require_user_admin(actor, "reactivate users")
    user, _ = await _user_for_change(uow, user_id)
    if user.is_active:
        return user
    user.is_active = True
    audit.record(uow, actor, "user.reactivate", "User", user.id, username=user.username)
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


async def sign_out(
    uow: UnitOfWork, denylist: SessionDenylist, actor: Actor, *, secret_key: str, token: str
) -> None:
    """End this one session; the caller commits (the audit row and the revocation event)."""
    claims = tokens.decode_session_token(secret_key, token)
    if claims is None:
        return
    # Deny first: if the commit then fails, the session has still ended and its websockets
    # close at their next periodic check.
    await denylist.revoke(tokens.session_token_id(token), claims.expires_at)
    audit.record(uow, actor, "user.logout", "User", claims.user_id)
    _announce_revocation(uow, "User", claims.user_id, "logout", userId=claims.user_id)


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
    _end_sessions(uow, user, "password_changed")
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
    require(actor, Scope.TOKENS_WRITE, "create API tokens")
    if actor.user_id is None:
        raise Forbidden("API tokens are created by a signed-in user, not by another token")
    name = name.strip()
    if not name:
        raise InvalidInput("Token name is required", field="name")
    if not scopes:
        raise InvalidInput("Choose at least one scope", field="scopes")
    check_grant(actor, scopes)
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
    require(actor, Scope.TOKENS_WRITE, "revoke API tokens")
    row = await uow.accounts.token(token_id)
    if row is None:
        raise NotFound("API token not found", field="id")
    if not may_revoke(actor, (Scope(s) for s in row.scopes)):
        raise Forbidden(
            f"Your role ({actor.role.value}) may revoke only tokens it could create", field="id"
        )
    if row.revoked_at is None:
        assert row.id is not None
        row.revoked_at = _now()
        audit.record(uow, actor, "api_token.revoke", "ApiToken", row.id, name=row.name)
        _announce_revocation(uow, "ApiToken", row.id, "token_revoked", tokenId=row.id)
    return row


# -- open websockets ---------------------------------------------------------------------------
async def lapsed_grants(
    uow: UnitOfWork, denylist: SessionDenylist, grants: Collection[Grant]
) -> set[Grant]:
    """Which of ``grants`` (open connections of the unit of work's organisation) no longer hold.

    Not an actor's use case but the server's own check, for every connection at once: two
    queries and one Redis round trip whatever the number of connections.
    """
    if not grants:
        return set()
    token_ids = {g.token_id for g in grants if g.token_id is not None}
    api_tokens = await uow.accounts.tokens_by_ids(token_ids) if token_ids else {}
    user_ids = {g.user_id for g in grants if g.user_id is not None}
    user_ids |= {t.created_by_user_id for t in api_tokens.values()}
    users = await uow.accounts.users_by_ids(sorted(user_ids))
    denied = await denylist.revoked_among({g.session_id for g in grants if g.session_id})
    now = _now()
    lapsed: set[Grant] = set()
    for grant in grants:
        token = api_tokens.get(grant.token_id) if grant.token_id is not None else None
        user_id = grant.user_id if grant.is_session else token.created_by_user_id if token else None
        holds = grant_holds(
            grant,
            user=users.get(user_id) if user_id is not None else None,
            token=token,
            session_revoked=grant.session_id in denied,
            now=now,
        )
        if not holds:
            lapsed.add(grant)
    return lapsed


# -- reading: every path asks domain/accounts/scope.py -----------------------------------------
async def find_users(
    uow: UnitOfWork, actor: Actor, *, role: Role | None, search: str | None, page: Page
) -> PageResult[User]:
    scope.users(actor).require()
    role_name = role.value if role else None
    return await uow.accounts.list_users(role=role_name, search=search, page=page)


async def count_users(
    uow: UnitOfWork, actor: Actor, *, role: Role | None, search: str | None
) -> int:
    scope.users(actor).require()
    return await uow.accounts.count_users(role=role.value if role else None, search=search)


async def list_api_tokens(uow: UnitOfWork, actor: Actor) -> Sequence[ApiToken]:
    scope.api_tokens(actor).require()
    return await uow.accounts.tokens()


async def users_by_ids(uow: UnitOfWork, actor: Actor, ids: Sequence[int]) -> dict[int, User]:
    """The users among ``ids`` the actor may read: all with ``users:read``, else itself."""
    readable = [pk for pk in ids if scope.may_read_user(actor, pk)]
    return await uow.accounts.users_by_ids(readable) if readable else {}


async def tokens_by_ids(uow: UnitOfWork, actor: Actor, ids: Sequence[int]) -> dict[int, ApiToken]:
    if not scope.api_tokens(actor).allowed or not ids:
        return {}
    return await uow.accounts.tokens_by_ids(ids)


async def organization(uow: UnitOfWork, actor: Actor, org_id: int) -> Organization | None:
    """The actor's own organisation, and no other."""
    if not scope.may_read_organization(actor, org_id):
        return None
    return await uow.accounts.org_by_id(org_id)


async def viewer(uow: UnitOfWork, actor: Actor) -> tuple[Organization, User | None]:
    org = await uow.accounts.org_by_id(actor.org_id)
    if org is None:
        raise NotFound("Organisation not found")
    user = await uow.accounts.user(actor.user_id) if actor.user_id is not None else None
    return org, user
