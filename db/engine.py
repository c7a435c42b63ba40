"""The async engine and session factory (one per process)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

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

    @classmethod
    def connect(cls, url: str, settings: Settings, *, pool_size: int | None = None) -> Database:
        engine = create_async_engine(
            url,
            pool_size=pool_size or settings.db_pool_size,
            max_overflow=pool_size or settings.db_pool_size,
            pool_pre_ping=True,
            # Statement parameters are receivers' names, phones and addresses: never let them
            # into exception messages (and from there into logs).
            hide_parameters=True,
            connect_args={"server_settings": {"application_name": "orderflow"}},
        )
        sessions = async_sessionmaker(engine, expire_on_commit=False, autoflush=False)
        return cls(engine=engine, sessions=sessions, lock_timeout_ms=settings.lock_timeout_ms)

    async def dispose(self) -> None:
        await self.engine.dispose()
