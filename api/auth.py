"""Who is calling: a bearer session token, an API token, or the SPA's session cookie.

A browser SPA may sign in with ``useCookie: true``: the session token then travels in an httpOnly
SameSite=Lax cookie, and every mutation must echo the readable CSRF cookie in ``X-CSRF-Token``
(double-submit), so another site cannot make the browser act for the user.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from starlette.responses import Response

from api.services import AppServices
from domain.accounts import service as accounts
from domain.accounts.grants import Grant
from domain.accounts.model import Actor
from domain.accounts.tokens import decode_session_token, is_api_token, session_token_id

SESSION_COOKIE = "orderflow_session"
CSRF_COOKIE = "orderflow_csrf"
CSRF_HEADER = "x-csrf-token"


@dataclass(frozen=True)
class Credential:
    token: str
    via_cookie: bool


def credential_from(headers: Mapping[str, str], cookies: Mapping[str, str]) -> Credential | None:
    header = headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return Credential(value.strip(), via_cookie=False)
    cookie = cookies.get(SESSION_COOKIE)
    if cookie:
        return Credential(cookie, via_cookie=True)
    return None


async def actor_for(services: AppServices, token: str) -> Actor | None:
    if is_api_token(token):
        return await accounts.actor_from_api_token(services.db, token)
    return await accounts.actor_from_session(
        services.db, services.denylist, secret_key=services.secret_key, token=token
    )


def grant_for(services: AppServices, token: str, actor: Actor) -> Grant | None:
    """What a websocket authenticated with, for re-checking while it stays open (``None`` if
    the session token expired since ``actor_for`` accepted it)."""
    if actor.token_id is not None:
        return Grant.for_api_token(actor)
    claims = decode_session_token(services.secret_key, token)
    if claims is None:
        return None
    return Grant.for_session(actor, claims, session_token_id(token))


def csrf_ok(headers: Mapping[str, str], cookies: Mapping[str, str]) -> bool:
    expected = cookies.get(CSRF_COOKIE, "")
    given = headers.get(CSRF_HEADER, "")
    return bool(expected) and hmac.compare_digest(expected, given)


def set_session_cookies(
    response: Response, token: str, expires_at: datetime, *, secure: bool
) -> str:
    csrf = secrets.token_urlsafe(24)
    common = {"expires": expires_at, "secure": secure, "samesite": "lax", "path": "/"}
    response.set_cookie(SESSION_COOKIE, token, httponly=True, **common)  # type: ignore[arg-type]
    response.set_cookie(CSRF_COOKIE, csrf, httponly=False, **common)  # type: ignore[arg-type]
    return csrf


def clear_session_cookies(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.delete_cookie(CSRF_COOKIE, path="/")
