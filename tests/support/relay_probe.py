"""What the outbox relay holds in PostgreSQL, seen from outside (as the superuser)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text

from db.engine import Database
from db.repositories.events import RELAY_LOCK_KEY
from workers.relay import RELAY_APPLICATION_NAME


@dataclass(frozen=True)
class RelaySession:
    pid: int
    state: str
    holds_lock: bool
    in_transaction: bool
    #: How long its current transaction has been open, if one is.
    transaction_seconds: float | None


async def relay_sessions(admin_db: Database) -> list[RelaySession]:
    """The relay connections to this test database (by name, or because they hold the relay
    lock): their state, whether they hold the lock, how long their transaction is open.

    An advisory lock on one bigint key shows in ``pg_locks`` as classid (high 32 bits), objid
    (low 32 bits) and objsubid 1.
    """
    async with admin_db.engine.connect() as conn:
        rows = (
            await conn.execute(
                text(
                    """
                    SELECT a.pid, a.state, a.xact_start IS NOT NULL AS in_transaction,
                           EXTRACT(EPOCH FROM clock_timestamp() - a.xact_start)
                               AS transaction_seconds,
                           EXISTS (
                               SELECT 1 FROM pg_locks l
                               WHERE l.pid = a.pid AND l.locktype = 'advisory' AND l.granted
                                 AND l.classid = :high AND l.objid = :low AND l.objsubid = 1
                           ) AS holds_lock
                    FROM pg_stat_activity a
                    WHERE a.datname = current_database()
                      AND (a.application_name = :name OR EXISTS (
                               SELECT 1 FROM pg_locks l
                               WHERE l.pid = a.pid AND l.locktype = 'advisory' AND l.granted
                                 AND l.classid = :high AND l.objid = :low AND l.objsubid = 1
                           ))
                    """
                ),
                {
                    "name": RELAY_APPLICATION_NAME,
                    "high": RELAY_LOCK_KEY >> 32,
                    "low": RELAY_LOCK_KEY & 0xFFFF_FFFF,
                },
            )
        ).all()
    return [
        RelaySession(
            pid=row.pid,
            state=row.state,
            holds_lock=row.holds_lock,
            in_transaction=row.in_transaction,
            transaction_seconds=(
                float(row.transaction_seconds) if row.transaction_seconds is not None else None
            ),
        )
        for row in rows
    ]


async def relay_lock_holders(admin_db: Database) -> int:
    """How many sessions (of any application) hold the relay lock in this database."""
    async with admin_db.engine.connect() as conn:
        held = await conn.scalar(
            text(
                """
                SELECT count(*) FROM pg_locks
                WHERE locktype = 'advisory' AND granted AND objsubid = 1
                  AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
                  AND classid = :high AND objid = :low
                """
            ),
            {"high": RELAY_LOCK_KEY >> 32, "low": RELAY_LOCK_KEY & 0xFFFF_FFFF},
        )
    return int(held or 0)
