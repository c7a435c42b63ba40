"""The unit of work: one transaction, the only place that commits.

An organisation-scoped unit of work switches the transaction to the ``orderflow_app`` role and sets
``app.org_id`` (both ``SET LOCAL``), so PostgreSQL's forced row-level security hides every other
organisation's rows even from a query that forgot its filter.  A system unit of work
(``UnitOfWork(db, None)``: sign-in by organisation code, API-token look-up, the outbox relay, the
list of organisations for sweeps, organisation creation) runs as ``orderflow_system``, whose
policies open only those tables; it can switch to one organisation with ``enter_org`` once it
knows which, inside the same transaction.  Nothing runs with RLS off.

``DriverUnitOfWork`` is the same transaction without the ORM, for the reservation hot path.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import TracebackType
from typing import Any, Self

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, AsyncSessionTransaction
from sqlalchemy.pool import PoolProxiedConnection
from sqlalchemy.util import greenlet_spawn

from db.engine import APP_ROLE, SYSTEM_ROLE, Database
from db.repositories.accounts import AccountRepository
from db.repositories.catalog import CatalogRepository
from db.repositories.events import EventRepository
from db.repositories.layout import LayoutRepository
from db.repositories.notifications import NotificationRepository
from db.repositories.orders import OrderRepository
from db.repositories.reconciliation import ReconciliationRepository
from db.repositories.shop_policies import ShopPolicyRepository
from db.repositories.shops import ShopRepository
from db.repositories.stock_moves import StockMoveRepository
from db.repositories.stock_queries import StockQueryRepository
from db.repositories.suppliers import SupplierReachRepository
from db.tables import AuditEntry, OutboxEvent

OUTBOX_CHANNEL = "orderflow_outbox"


class UnitOfWork:
    def __init__(
        self, db: Database, org_id: int | None, *, connection: AsyncConnection | None = None
    ) -> None:
        """``connection``: run on this connection (not in a transaction yet) instead of one from
        the pool; the outbox relay's, which holds its lock between transactions."""
        self._db = db
        self.org_id = org_id
        self._connection = connection
        self._session: AsyncSession | None = None
        self._committed = False
        self._events_written = False

    @property
    def session(self) -> AsyncSession:
        if self._session is None:
            raise RuntimeError("UnitOfWork used outside 'async with'")
        return self._session

    async def __aenter__(self) -> Self:
        self._session = (
            self._db.sessions(bind=self._connection)
            if self._connection is not None
            else self._db.sessions()
        )
        await self._session.begin()
        try:
            await self._set_scope(self.org_id)
        except BaseException:
            await self._session.close()
            self._session = None
            raise
        return self

    async def _set_scope(self, org_id: int | None) -> None:
        await self.session.execute(
            text(
                "SELECT set_config('role', :role, true), set_config('app.org_id', :org, true),"
                " set_config('lock_timeout', :lt, true)"
            ),
            {
                "role": APP_ROLE if org_id is not None else SYSTEM_ROLE,
                "org": str(org_id) if org_id is not None else "",
                "lt": f"{self._db.lock_timeout_ms}ms",
            },
        )

    async def enter_org(self, org_id: int) -> None:
        """Narrow a system unit of work to one organisation for the rest of its transaction
        (sign-in once the organisation is found, create-org once it exists)."""
        await self._set_scope(org_id)
        self.org_id = org_id

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        session = self.session
        try:
            if not self._committed:
                # Detach first: a rollback would expire what a read-only unit of work loaded,
                # and the caller still reads those objects after the ``async with``.
                session.expunge_all()
                await session.rollback()
        finally:
            await session.close()
            self._session = None

    @property
    def committed(self) -> bool:
        return self._committed

    async def commit(self) -> None:
        if self._events_written:
            # NOTIFY is transactional: the relay wakes only once this commit is visible.
            await self.session.execute(text(f"NOTIFY {OUTBOX_CHANNEL}"))
        await self.session.commit()
        self._committed = True

    async def rollback(self) -> None:
        await self.session.rollback()

    async def driver(self) -> Any:
        """The asyncpg connection of this transaction, for the driver-level statements that
        ``DriverUnitOfWork`` code uses too (``db.repositories.locks``,
        ``db.repositories.order_status``): the same transaction, role, organisation and
        ``lock_timeout``.  Pending ORM changes are flushed first, so those statements see
        them; what they change is not in ORM objects already loaded (callers that keep such
        objects set the new values themselves)."""
        await self.session.flush()
        connection = await self.session.connection()
        raw = await connection.get_raw_connection()
        return raw.driver_connection

    # -- repositories -------------------------------------------------------------------------
    def _scoped_org(self) -> int:
        if self.org_id is None:
            raise RuntimeError("this repository needs an organisation-scoped unit of work")
        return self.org_id

    @property
    def accounts(self) -> AccountRepository:
        return AccountRepository(self.session, self.org_id)

    @property
    def shops(self) -> ShopRepository:
        return ShopRepository(self.session, self._scoped_org())

    @property
    def catalog(self) -> CatalogRepository:
        return CatalogRepository(self.session, self._scoped_org())

    @property
    def orders(self) -> OrderRepository:
        return OrderRepository(self.session, self._scoped_org())

    @property
    def layout(self) -> LayoutRepository:
        return LayoutRepository(self.session, self._scoped_org())

    @property
    def stock_moves(self) -> StockMoveRepository:
        return StockMoveRepository(self.session, self._scoped_org())

    @property
    def stock_queries(self) -> StockQueryRepository:
        return StockQueryRepository(self.session, self._scoped_org())

    @property
    def shop_policies(self) -> ShopPolicyRepository:
        return ShopPolicyRepository(self.session, self._scoped_org())

    @property
    def reconciliation(self) -> ReconciliationRepository:
        return ReconciliationRepository(self.session, self._scoped_org())

    @property
    def notifications(self) -> NotificationRepository:
        return NotificationRepository(self.session, self._scoped_org())

    @property
    def suppliers(self) -> SupplierReachRepository:
        return SupplierReachRepository(self.session, self._scoped_org())

    @property
    def events(self) -> EventRepository:
        return EventRepository(self.session)

    # -- outbox and audit ---------------------------------------------------------------------
    def emit(
        self, topic: str, aggregate_type: str, aggregate_id: int, payload: dict[str, Any]
    ) -> None:
        """Queue an outbox event; it is written (and later published) only if we commit."""
        self.session.add(
            OutboxEvent(
                org_id=self._scoped_org(),
                topic=topic,
                aggregate_type=aggregate_type,
                aggregate_id=aggregate_id,
                payload=payload,
            )
        )
        self._events_written = True

    def audit(
        self,
        *,
        actor_label: str,
        actor_user_id: int | None,
        actor_token_id: int | None,
        action: str,
        target_type: str,
        target_id: int | None,
        summary: dict[str, Any],
        org_id: int | None = None,
    ) -> None:
        self.session.add(
            AuditEntry(
                org_id=org_id if org_id is not None else self._scoped_org(),
                actor_label=actor_label,
                actor_user_id=actor_user_id,
                actor_token_id=actor_token_id,
                action=action,
                target_type=target_type,
                target_id=target_id,
                summary=summary,
            )
        )

    def savepoint(self) -> AsyncSessionTransaction:
        """``async with uow.savepoint():`` — a failure inside rolls back to here only, so the
        transaction can go on (e.g. to find out which row of a bulk insert lost a race)."""
        return self.session.begin_nested()

    async def flush(self, objects: Sequence[Any] | None = None) -> None:
        await self.session.flush(objects)


class DriverUnitOfWork:
    """An organisation-scoped transaction run directly on the pooled asyncpg connection.

    The same guarantees as ``UnitOfWork(db, org_id)`` — one transaction, ``orderflow_app`` role
    and ``app.org_id`` for RLS, ``lock_timeout``, all ``SET LOCAL``; nothing is kept unless
    ``commit`` is called — for code whose statements are all driver-level (the reservation
    path, ``ReservationStatements``).  Without the ORM session it costs about a third of the
    client CPU of a reservation less, and ``BEGIN`` and the settings travel in one round trip.
    It has no ``emit``: such code writes its outbox rows and NOTIFY itself.
    """

    def __init__(self, db: Database, org_id: int) -> None:
        self._db = db
        self.org_id = org_id
        self._raw: PoolProxiedConnection | None = None
        self._committed = False

    @property
    def conn(self) -> Any:
        """The asyncpg connection (asyncpg ships no type information)."""
        if self._raw is None:
            raise RuntimeError("DriverUnitOfWork used outside 'async with'")
        return self._raw.driver_connection

    async def __aenter__(self) -> Self:
        self._raw = await self._db.engine.raw_connection()
        # Simple-query protocol: both statements in one round trip.  Only integers and a
        # constant are interpolated.
        begin = (
            f"BEGIN; SELECT set_config('role', '{APP_ROLE}', true),"
            f" set_config('app.org_id', '{int(self.org_id)}', true),"
            f" set_config('lock_timeout', '{int(self._db.lock_timeout_ms)}ms', true)"
        )
        try:
            await self.conn.execute(begin)
        except BaseException:
            await self._release()
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._release()

    async def commit(self) -> None:
        status = await self.conn.execute("COMMIT")
        if status != "COMMIT":  # PostgreSQL answers COMMIT of a failed transaction with ROLLBACK
            raise RuntimeError(f"transaction not committed: {status}")
        self._committed = True

    async def _release(self) -> None:
        raw, self._raw = self._raw, None
        if raw is None:
            return
        try:
            conn = raw.driver_connection
            if not self._committed and conn is not None:
                await conn.execute("ROLLBACK")
        except BaseException as error:
            # The connection is in an unknown state: close it, which also ends (rolls back)
            # the transaction on the server, and keep it out of the pool.
            await greenlet_spawn(raw.invalidate)
            if not isinstance(error, Exception):
                raise
        finally:
            await greenlet_spawn(raw.close)
