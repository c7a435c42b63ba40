"""The live hub: per seller, one Redis subscription and one fetch per event for every websocket
of this process, and every websocket ends (close code 4403) the moment its credential does.

For each organisation with at least one open websocket here there is one feed, which

- reads the organisation's pub/sub channel (``workers.events.subscribe``) into an inbox;
- takes what has arrived as a batch and, in one unit of work scoped to the organisation, loads
  the batch's orders once (``orders.live_orders``) and re-checks the credential of every open
  websocket of the organisation (``accounts.lapsed_grants``);
- ends the websockets whose credential lapsed, then hands each order to every subscriber that
  wants the event and whose actor may see the order (``orders.may_receive``, in memory).

Because credentials are re-checked in the unit of work that reads the data, no event reaches a
websocket whose credential was revoked before the event's data was read, even when the
``access.revoked`` message was lost.  That message (written by logout, password and role changes,
deactivation and API-token revocation) makes the feed check at once, so an idle websocket is
closed within moments; re-subscription after a Redis outage and a timer
(``websocket_recheck_seconds``) make it check too, for a lost message or a change made outside
the API.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
from collections import deque
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import aclosing, asynccontextmanager
from contextvars import Context
from typing import Any

import structlog
from redis.asyncio import Redis

from api.errors import ApiError
from db.engine import Database
from db.redis import RedisSessionDenylist
from db.settings import Settings
from db.uow import UnitOfWork
from domain.accounts import service as accounts
from domain.accounts.grants import ACCESS_REVOKED, Grant
from domain.accounts.model import Actor
from domain.errors import ErrorCode
from domain.orders import service as orders
from domain.orders.service import LiveOrder
from workers.events import EventMessage, subscribe

log = structlog.get_logger(__name__)

#: The close code of a websocket whose credential ended (logout, revocation, role change ...).
SESSION_ENDED_CODE = 4403
SESSION_ENDED_REASON = "Session ended"

#: Events remembered per organisation to skip the relay's at-least-once repeats.
_SEEN_WINDOW = 1000
#: Most inbox items handled in one unit of work (a burst is loaded in one go, not per event).
_BATCH_MAX = 200
#: Events a subscriber may have waiting; a client that reads slower than this is told so.
_SUBSCRIBER_BACKLOG = 1000
#: How long a new websocket waits for its organisation's channel before it is acknowledged.
_READY_SECONDS = 5.0
#: Pause before a feed's reader starts over after an unexpected failure.
_READER_RETRY_SECONDS = 1.0

Closer = Callable[[str], Coroutine[Any, Any, None]]


class _Recheck(enum.Enum):
    """Inbox markers: re-check every credential even if no event asks for it."""

    PERIODIC = "periodic"
    RESUBSCRIBED = "resubscribed"


class LiveConnection:
    """One authenticated websocket: who it acts as, what it authenticated with, how to close it."""

    def __init__(self, actor: Actor, grant: Grant) -> None:
        self.actor = actor
        self.grant = grant
        self.ended = False
        self._close: Closer | None = None
        self._closing: asyncio.Task[None] | None = None

    def bind(self, close: Closer) -> None:
        """How to close the socket; known only once the protocol handler has acknowledged it."""
        self._close = close
        if self.ended:
            self._start_closing()

    def end(self) -> None:
        """The credential is void: deliver nothing more, and close the socket."""
        if self.ended:
            return
        self.ended = True
        self._start_closing()

    def _start_closing(self) -> None:
        # A task of its own: the feed that noticed must not wait on one slow client's socket.
        if self._close is not None and self._closing is None:
            self._closing = asyncio.create_task(
                self._close(SESSION_ENDED_REASON), name="live-session-ended"
            )
            self._closing.add_done_callback(self._closed)

    def _closed(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and (error := task.exception()) is not None:
            log.error(
                "live.close_failed",
                org_id=self.actor.org_id,
                error=repr(error),
                exc_info=(type(error), error, error.__traceback__),
            )


class SubscriberTooSlow(ApiError):
    def __init__(self) -> None:
        super().__init__(
            ErrorCode.RATE_LIMITED,
            "Events arrived faster than this subscription read them; subscribe again",
        )


class OrderSubscriber:
    """One order subscription (``orderCreated``, ``orderUpdated``) of one websocket."""

    def __init__(
        self, connection: LiveConnection, topics: frozenset[str], order_id: int | None
    ) -> None:
        self.connection = connection
        self.topics = topics
        self.order_id = order_id
        self._queue: asyncio.Queue[LiveOrder] = asyncio.Queue(maxsize=_SUBSCRIBER_BACKLOG)
        self._overflowed = False

    def wants(self, event: EventMessage) -> bool:
        return (
            event.aggregate_type == "Order"
            and event.topic in self.topics
            and (self.order_id is None or event.aggregate_id == self.order_id)
        )

    def offer(self, live: LiveOrder) -> None:
        try:
            self._queue.put_nowait(live)
        except asyncio.QueueFull:
            self._overflowed = True

    def __aiter__(self) -> OrderSubscriber:
        return self

    async def __anext__(self) -> LiveOrder:
        if not self.connection.ended:
            if self._overflowed:
                raise SubscriberTooSlow()
            live = await self._queue.get()
            # Checked again: the credential may have lapsed while this order waited here.
            if not self.connection.ended:
                return live
        # The socket is being closed, which cancels this operation; until then it must neither
        # deliver nor complete (a 'complete' message would race the close frame).
        await asyncio.get_running_loop().create_future()
        raise StopAsyncIteration


class _OrgFeed:
    def __init__(self, hub: LiveHub, org_id: int) -> None:
        self._hub = hub
        self.org_id = org_id
        self.connections: set[LiveConnection] = set()
        self.subscribers: set[OrderSubscriber] = set()
        self.ready = asyncio.Event()
        self._inbox: asyncio.Queue[EventMessage | _Recheck] = asyncio.Queue()
        self._seen: deque[int] = deque(maxlen=_SEEN_WINDOW)
        self._seen_ids: set[int] = set()
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        # A context of their own: the feed outlives the websocket that started it, whose request
        # id (bound for logging) must not label the feed's log lines.
        self._tasks = [
            asyncio.create_task(work, name=f"live-{name}-{self.org_id}", context=Context())
            for name, work in (
                ("read", self._read()),
                ("tick", self._tick()),
                ("process", self._process()),
            )
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    # -- tasks ---------------------------------------------------------------------------------
    async def _read(self) -> None:
        hub = self._hub
        while True:
            stream = subscribe(
                hub.redis, hub.settings.redis_prefix, self.org_id, on_subscribed=self._subscribed
            )
            try:
                async with aclosing(stream):
                    async for event in stream:
                        self._inbox.put_nowait(event)
            except Exception as exc:  # subscribe() rides out Redis outages; this is anything else
                log.error("live.reader_failed", org_id=self.org_id, error=repr(exc), exc_info=True)
                await asyncio.sleep(_READER_RETRY_SECONDS)

    def _subscribed(self) -> None:
        if self.ready.is_set():
            # Whatever was published while Redis was away is lost, revocations included.
            self._inbox.put_nowait(_Recheck.RESUBSCRIBED)
        else:
            self.ready.set()

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(self._hub.settings.websocket_recheck_seconds)
            self._inbox.put_nowait(_Recheck.PERIODIC)

    async def _process(self) -> None:
        while True:
            batch = [await self._inbox.get()]
            while len(batch) < _BATCH_MAX and not self._inbox.empty():
                batch.append(self._inbox.get_nowait())
            try:
                await self._handle(batch)
            except Exception as exc:
                # Nothing of this batch is delivered (its credentials were not checked); the
                # feed carries on with the next one.
                log.error(
                    "live.batch_failed",
                    org_id=self.org_id,
                    items=len(batch),
                    error=repr(exc),
                    exc_info=True,
                )

    # -- one batch -----------------------------------------------------------------------------
    def _first_time(self, event_id: int) -> bool:
        if event_id in self._seen_ids:
            return False
        if len(self._seen) == self._seen.maxlen:
            self._seen_ids.discard(self._seen[0])
        self._seen.append(event_id)
        self._seen_ids.add(event_id)
        return True

    async def _handle(self, batch: list[EventMessage | _Recheck]) -> None:
        recheck = False
        events: list[EventMessage] = []
        for item in batch:
            if isinstance(item, _Recheck):
                recheck = True
            elif not self._first_time(item.id):
                continue
            elif item.topic == ACCESS_REVOKED:
                recheck = True
            elif any(sub.wants(item) for sub in self.subscribers):
                events.append(item)
        connections = [c for c in self.connections if not c.ended]
        if not connections or not (recheck or events):
            return
        async with UnitOfWork(self._hub.db, self.org_id) as uow:
            lives = (
                await orders.live_orders(uow, {e.aggregate_id for e in events}) if events else {}
            )
            lapsed = await accounts.lapsed_grants(
                uow, self._hub.denylist, {c.grant for c in connections}
            )
        for connection in connections:
            if connection.grant in lapsed:
                log.info(
                    "live.session_ended",
                    org_id=self.org_id,
                    user_id=connection.grant.user_id,
                    token_id=connection.grant.token_id,
                )
                connection.end()
        for event in events:
            live = lives.get(event.aggregate_id)
            if live is None:
                continue
            for sub in list(self.subscribers):
                actor = sub.connection.actor
                if (
                    not sub.connection.ended
                    and sub.wants(event)
                    and orders.may_receive(actor, live)
                ):
                    sub.offer(live)


class LiveHub:
    """Every open websocket of this process, grouped by organisation (one per process)."""

    def __init__(
        self, db: Database, redis: Redis, denylist: RedisSessionDenylist, settings: Settings
    ) -> None:
        self.db = db
        self.redis = redis
        self.denylist = denylist
        self.settings = settings
        self._feeds: dict[int, _OrgFeed] = {}

    def register(self, actor: Actor, grant: Grant) -> LiveConnection:
        """Track a websocket that has just authenticated (its organisation's feed starts with
        the first one)."""
        connection = LiveConnection(actor, grant)
        feed = self._feeds.get(actor.org_id)
        if feed is None:
            feed = self._feeds[actor.org_id] = _OrgFeed(self, actor.org_id)
            feed.start()
        feed.connections.add(connection)
        return connection

    async def wait_ready(self, connection: LiveConnection) -> None:
        """Wait until the organisation's channel is subscribed, so that what is published after
        the websocket is acknowledged reaches it."""
        feed = self._feeds.get(connection.actor.org_id)
        if feed is None:
            return
        try:
            await asyncio.wait_for(feed.ready.wait(), _READY_SECONDS)
        except TimeoutError:
            log.warning("live.channel_not_ready", org_id=connection.actor.org_id)

    async def unregister(self, connection: LiveConnection) -> None:
        org_id = connection.actor.org_id
        feed = self._feeds.get(org_id)
        if feed is None:
            return
        feed.connections.discard(connection)
        feed.subscribers = {s for s in feed.subscribers if s.connection is not connection}
        if not feed.connections:
            del self._feeds[org_id]
            await feed.stop()

    @asynccontextmanager
    async def order_events(
        self, connection: LiveConnection, topics: frozenset[str], order_id: int | None
    ) -> AsyncIterator[OrderSubscriber]:
        """The orders this connection may see, as the feed loads them, while the block runs."""
        subscriber = OrderSubscriber(connection, topics, order_id)
        feed = self._feeds.get(connection.actor.org_id)
        if feed is not None and connection in feed.connections:
            feed.subscribers.add(subscriber)
        else:
            connection.end()  # unregistered already: its socket is going away
        try:
            yield subscriber
        finally:
            if feed is not None:
                feed.subscribers.discard(subscriber)

    async def close(self) -> None:
        feeds, self._feeds = list(self._feeds.values()), {}
        for feed in feeds:
            await feed.stop()
