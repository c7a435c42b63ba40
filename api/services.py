"""The long-lived objects a server process holds (built once in the app's lifespan)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from redis.asyncio import Redis

from api.live import LiveHub
from db.engine import Database
from db.redis import (
    RedisGuard,
    RedisLimiter,
    RedisLoginThrottle,
    RedisRequestLimiter,
    RedisSessionDenylist,
    redis_client,
)
from db.settings import Settings


@dataclass
class AppServices:
    settings: Settings
    db: Database
    redis: Redis
    limiter: RedisLimiter
    login_throttle: RedisLoginThrottle
    request_limiter: RedisRequestLimiter
    denylist: RedisSessionDenylist
    secret_key: str
    live: LiveHub
    #: Shared by the stores above: one view of whether Redis answers (see db/redis.py).
    redis_guard: RedisGuard

    @property
    def token_ttl(self) -> timedelta:
        return timedelta(minutes=self.settings.token_ttl_minutes)

    @classmethod
    def create(
        cls, settings: Settings, database_url: str, redis_url: str, secret_key: str
    ) -> AppServices:
        redis = redis_client(redis_url, settings)
        limiter = RedisLimiter(redis_url, settings.redis_prefix, settings)
        guard = RedisGuard(settings.redis_retry_seconds)
        db = Database.connect(database_url, settings)
        denylist = RedisSessionDenylist(
            redis,
            settings.redis_prefix,
            guard,
            cache_seconds=settings.session_denylist_cache_seconds,
        )
        return cls(
            settings=settings,
            db=db,
            redis=redis,
            limiter=limiter,
            login_throttle=RedisLoginThrottle(limiter, settings.login_attempts_per_15min, guard),
            request_limiter=RedisRequestLimiter(limiter, settings.rate_limit_per_minute, guard),
            denylist=denylist,
            secret_key=secret_key,
            live=LiveHub(db, redis, denylist, settings),
            redis_guard=guard,
        )

    async def close(self) -> None:
        await self.live.close()
        await self.limiter.close()
        await self.redis.aclose()
        await self.db.dispose()
