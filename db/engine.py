"""The async engine and session factory (one per process)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import NullPool

from db import integrity
from db.settings import Settings

#: The role every organisation-scoped transaction runs under: RLS shows it one organisation.
APP_ROLE = "orderflow_app"
#: The narrow role of the few cross-organisation look-ups (sign-in by organisation code, API-token
#: look-up, the outbox relay, the list of organisations for sweeps).  RLS applies to it too: its
#: policies open only those tables, and only for what that work needs.
SYSTEM_ROLE = "orderflow_system"
#: The login role of ``orderflow serve`` and ``orderflow worker``: neither superuser nor
#: BYPASSRLS, a member of the two roles above without inheriting their rights, so a transaction
#: that has not chosen one of them can read no table at all.
LOGIN_ROLE = "orderflow_server"


@dataclass
class Database:
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    lock_timeout_ms: int
    connect_args: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def connect(cls, url: str, settings: Settings, *, pool_size: int | None = None) -> Database:
        connect_args: dict[str, Any] = {
            "server_settings": {
                "application_name": "orderflow",
                # A client stuck between statements (a hung network call, a bug) must not hold
                # row locks and an old snapshot for ever: PostgreSQL ends that session.
                "idle_in_transaction_session_timeout": str(
                    settings.db_idle_in_transaction_timeout_ms
                ),
            }
        }
        engine = create_async_engine(
            url,
            pool_size=pool_size or settings.db_pool_size,
            max_overflow=pool_size or settings.db_pool_size,
            pool_pre_ping=True,
            # Statement parameters are receivers' names, phones and addresses: never let them
            # into exception messages (and from there into logs).
            hide_parameters=True,
            connect_args=connect_args,
        )
        integrity.install(engine.sync_engine)
        sessions = async_sessionmaker(engine, expire_on_commit=False, autoflush=False)
        return cls(
            engine=engine,
            sessions=sessions,
            lock_timeout_ms=settings.lock_timeout_ms,
            connect_args=connect_args,
        )

    def unpooled_engine(self, application_name: str) -> AsyncEngine:
        """Same database and connection settings, but closing a connection really closes it.

        For a connection that holds a session-level lock (the outbox relay's): a pool would keep
        it open, lock included, and lend it to the next borrower.  ``application_name`` shows
        in ``pg_stat_activity`` who holds it.
        """
        server_settings = {
            **self.connect_args.get("server_settings", {}),
            "application_name": application_name,
        }
        engine = create_async_engine(
            self.engine.url,
            poolclass=NullPool,
            connect_args={**self.connect_args, "server_settings": server_settings},
        )
        integrity.install(engine.sync_engine)
        return engine

    async def dispose(self) -> None:
        await self.engine.dispose()
