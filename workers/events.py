"""The pub/sub contract between the outbox relay and whoever listens (GraphQL subscriptions).

One Redis channel per organisation, ``{redis_prefix}:events:{org_id}``, carrying one JSON object
per outbox event.  Delivery is at-least-once: a relay that crashes between publishing and marking
an event publishes it again, so a listener that must not act twice keeps the event ``id``.
Redis pub/sub keeps nothing for absent listeners; a subscription sees only what is published
after it has subscribed.  Listeners filter by ``topic`` / ``aggregate_id`` themselves.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncGenerator, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import structlog
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from db.tables import OutboxEvent

log = structlog.get_logger(__name__)

#: How long one read of a subscription waits for a message.  Passed explicitly because without it
#: redis-py falls back to the client's socket timeout, which would treat a quiet channel as a
#: dead connection and re-subscribe (losing what is published meanwhile) every few seconds.
_READ_SECONDS = 1.0
#: Wait before re-reading a pub/sub connection that Redis dropped; doubles up to the maximum.
_RECONNECT_FIRST_SECONDS = 0.1
_RECONNECT_MAX_SECONDS = 5.0


def channel(prefix: str, org_id: int) -> str:
    """The pub/sub channel of one organisation."""
    return f"{prefix}:events:{org_id}"


@dataclass(frozen=True, slots=True)
class EventMessage:
    """One outbox event as published: what happened (``topic``) to which aggregate."""

    id: int
    org_id: int
    topic: str
    aggregate_type: str
    aggregate_id: int
    payload: dict[str, Any]
    created_at: datetime

    @classmethod
    def from_outbox(cls, row: OutboxEvent) -> EventMessage:
        if row.id is None:
            raise ValueError("an outbox event is published only once it has an id")
        return cls(
            id=row.id,
            org_id=row.org_id,
            topic=row.topic,
            aggregate_type=row.aggregate_type,
            aggregate_id=row.aggregate_id,
            payload=row.payload,
            created_at=row.created_at,
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form (also the argument of the jobs the relay enqueues)."""
        return {
            "id": self.id,
            "org_id": self.org_id,
            "topic": self.topic,
            "aggregate_type": self.aggregate_type,
            "aggregate_id": self.aggregate_id,
            "payload": self.payload,
            "created_at": self.created_at.isoformat(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EventMessage:
        return cls(
            id=int(data["id"]),
            org_id=int(data["org_id"]),
            topic=str(data["topic"]),
            aggregate_type=str(data["aggregate_type"]),
            aggregate_id=int(data["aggregate_id"]),
            payload=dict(data["payload"]),
            created_at=datetime.fromisoformat(data["created_at"]),
        )

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, raw: str | bytes) -> EventMessage:
        data = json.loads(raw)
        if not isinstance(data, dict):
            raise ValueError("an event message is a JSON object")
        return cls.from_dict(data)


async def publish(redis: Redis, prefix: str, event: EventMessage | OutboxEvent) -> int:
    """Publish one event to its organisation's channel; returns how many listeners got it."""
    message = event if isinstance(event, EventMessage) else EventMessage.from_outbox(event)
    return int(await redis.publish(channel(prefix, message.org_id), message.to_json()))


async def publish_many(redis: Redis, prefix: str, events: Sequence[EventMessage]) -> None:
    """Publish a batch in one round trip, in order (the relay's path)."""
    if not events:
        return
    async with redis.pipeline(transaction=False) as pipe:
        for message in events:
            pipe.publish(channel(prefix, message.org_id), message.to_json())
        await pipe.execute()


async def subscribe(
    redis: Redis,
    prefix: str,
    org_id: int,
    *,
    on_subscribed: Callable[[], None] | None = None,
) -> AsyncGenerator[EventMessage, None]:
    """Yield the events of one organisation as they are published, until closed or cancelled.

    The subscription is made when iteration starts.  A dropped Redis connection is re-opened
    (and re-subscribed) with backoff; what was published meanwhile is lost, as pub/sub does.
    ``on_subscribed`` is called each time Redis confirms the subscription (first, and after
    every reconnection): from then on nothing published is missed, and a listener that must not
    miss anything knows when to look again at what it may have missed.
    Close it with ``contextlib.aclosing`` (or cancel the task iterating it) so the pub/sub
    connection goes back to the pool at once rather than when the generator is collected.
    """
    name = channel(prefix, org_id)
    pubsub = redis.pubsub()
    delay = _RECONNECT_FIRST_SECONDS
    try:
        await pubsub.subscribe(name)
        while True:
            try:
                # Subscribe confirmations too (``on_subscribed``); the timeout is the wait for a
                # message, apart from the socket timeout that spots a dead connection.
                raw = await pubsub.get_message(timeout=_READ_SECONDS)
            except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
                log.warning(
                    "events.subscription_lost", channel=name, error=str(exc), retry_in=delay
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, _RECONNECT_MAX_SECONDS)
                continue
            delay = _RECONNECT_FIRST_SECONDS
            if raw is None:
                continue
            if raw.get("type") == "subscribe":
                if on_subscribed is not None:
                    on_subscribed()
                continue
            if raw.get("type") != "message":
                continue
            try:
                message = EventMessage.from_json(raw["data"])
            except (ValueError, KeyError, TypeError) as exc:
                log.error("events.bad_message", channel=name, error=str(exc))
                continue
            yield message
    finally:
        # Closing the connection ends the subscription server-side; shielded so that a cancelled
        # subscriber still gives its connection back to the pool.
        await asyncio.shield(pubsub.aclose())  # type: ignore[no-untyped-call]
