"""Migration 0008 adds the limits as CHECK constraints; rows already beyond them (the reported
2,147,483,647 × 2,147,483,647 order) stop it with a list of what to correct, never a silent
change of an amount.  Down and up again keeps every row."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from db.embedded import login_url
from db.engine import Database
from db.migrate import alembic_config, current_revision, upgrade
from db.settings import Settings
from tests.support.databases import DatabaseFactory
from tests.support.factories import make_order, make_org


async def _downgrade(engine: AsyncEngine, revision: str) -> None:
    def run(connection: Connection) -> None:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.downgrade(config, revision)

    async with engine.begin() as conn:
        await conn.run_sync(run)


async def test_rows_beyond_the_limits_stop_the_upgrade_until_corrected(
    databases: DatabaseFactory, settings: Settings
) -> None:
    admin_url = await databases.clone()
    admin = create_async_engine(admin_url)
    app = Database.connect(login_url(admin_url), settings, pool_size=2)
    try:
        seller = await make_org(app)
        order = await make_order(app, seller, quantity=2)
        await _downgrade(admin, "0007")
        huge = 2147483647
        async with admin.begin() as conn:
            await conn.execute(
                text(
                    "UPDATE order_lines SET quantity = :q, unit_price_fen = :p"
                    " WHERE org_id = :org AND order_id = :id"
                ),
                {"q": huge, "p": huge, "org": seller.org_id, "id": order.id},
            )
            await conn.execute(
                text(
                    "UPDATE orders SET goods_fen = :t, total_fen = :t"
                    " WHERE org_id = :org AND id = :id"
                ),
                {"t": huge * huge, "org": seller.org_id, "id": order.id},
            )

        with pytest.raises(RuntimeError) as refused:
            await upgrade(admin)
        message = str(refused.value)
        assert f"orders breaking orders_amounts_within_limits: (org {seller.org_id}, id" in message
        assert "order_lines breaking order_lines_within_limits" in message
        assert await current_revision(admin) == "0007"  # nothing of 0008 stayed

        async with admin.begin() as conn:
            await conn.execute(
                text("DELETE FROM orders WHERE org_id = :org AND id = :id"),
                {"org": seller.org_id, "id": order.id},
            )
        await upgrade(admin)
        assert await current_revision(admin) == "0008"
    finally:
        await app.dispose()
        await admin.dispose()
