"""Session tokens (signed JWT) and API-token secrets.

A session token names the organisation, user and the user's ``token_version``; logout and password
changes bump that version, which voids every token issued before.  API tokens are random secrets
``oft_<prefix>_<secret>``: the prefix finds the row, only a SHA-256 of the secret is stored.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt

ISSUER = "orderflow"
AUDIENCE = "orderflow-api"
API_TOKEN_MARK = "oft"


@dataclass(frozen=True)
class SessionClaims:
    org_id: int
    user_id: int
    token_version: int
    expires_at: datetime


def issue_session_token(
    secret: str, *, org_id: int, user_id: int, token_version: int, ttl: timedelta
) -> tuple[str, datetime]:
    now = datetime.now(UTC)
    expires = now + ttl
    payload = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": str(user_id),
        "org": org_id,
        "ver": token_version,
        "iat": int(now.timestamp()),
        # Unique per sign-in, so logging out one session never ends another.
        "jti": secrets.token_hex(8),
        "exp": int(expires.timestamp()),
    }
    return jwt.encode(payload, secret, algorithm="HS256"), expires


def decode_session_token(secret: str, token: str) -> SessionClaims | None:
    """The claims of a valid, unexpired token; ``None`` for anything else."""
    try:
        payload = jwt.decode(
            token,
            secret,
            algorithms=["HS256"],
            audience=AUDIENCE,
            issuer=ISSUER,
            options={"require": ["exp", "sub", "aud", "iss"]},
        )
        return SessionClaims(
            org_id=int(payload["org"]),
            user_id=int(payload["sub"]),
            token_version=int(payload["ver"]),
            expires_at=datetime.fromtimestamp(payload["exp"], UTC),
        )
    except (jwt.PyJWTError, KeyError, TypeError, ValueError):
        return None


@dataclass(frozen=True)
class ApiTokenSecret:
    prefix: str
    plaintext: str
    digest: str


def new_api_token() -> ApiTokenSecret:
    prefix = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    plaintext = f"{API_TOKEN_MARK}_{prefix}_{secret}"
    return ApiTokenSecret(prefix=prefix, plaintext=plaintext, digest=digest_api_token(plaintext))


def digest_api_token(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode()).hexdigest()


def parse_api_token(plaintext: str) -> str | None:
    """The prefix of a well-formed API token, else ``None``."""
    parts = plaintext.split("_", 2)
    if len(parts) != 3 or parts[0] != API_TOKEN_MARK or not parts[1] or not parts[2]:
        return None
    return parts[1]


def api_token_matches(plaintext: str, digest: str) -> bool:
    return hmac.compare_digest(digest_api_token(plaintext), digest)


def is_api_token(credential: str) -> bool:
    return credential.startswith(API_TOKEN_MARK + "_")


def session_token_id(token: str) -> str:
    """A short stable id of a session token, for the logout denylist."""
    return hashlib.sha256(token.encode()).hexdigest()[:32]
