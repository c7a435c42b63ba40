"""Migration 0004 re-keys every tenant table by (org_id, id) without losing or changing a row.

A database filled by the demo loader goes back to 0003 (single-column keys) and forward again;
every table's rows are identical at each step, and the demo's stock still reconciles.
"""

from __future__ import annotations

from alembic import command
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from db.embedded import login_url
from db.engine import Database
from db.migrate import alembic_config, current_revision, upgrade
from db.settings import Settings
from db.tables import metadata
from demo.seed import load_demo
from domain.inventory.reconcile import reconcile_all
from tests.support.databases import DatabaseFactory

#: Tables of migrations after 0004: gone at 0003, back (empty) at head.
LATER_TABLES = ("notifications", "order_number_counters")


async def _fingerprint(engine: AsyncEngine) -> dict[str, tuple[int, str]]:
    """Row count and a hash of every row's text, per table (as the owner: past RLS).

    Only the columns the tables map: bookkeeping columns of later migrations that the ORM never
    reads (e.g. 0006's ``stock.changed_by``) are dropped by a downgrade past them and come back
    empty, which is not a change of the rows this test is about."""
    found = {}
    async with engine.connect() as conn:
        present = set(
            await conn.scalars(text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'"))
        )
        for table in metadata.sorted_tables:
            if table.name not in present:  # added by a later migration
                continue
            columns = ", ".join(f't."{c.name}"' for c in table.columns)
            row = (
                await conn.execute(
                    text(
                        f"SELECT count(*), md5(coalesce(string_agg(CAST(ROW({columns}) AS text),"
                        f" '|' ORDER BY CAST(ROW({columns}) AS text)), '')) FROM {table.name} t"
                    )
                )
            ).one()
            found[table.name] = (int(row[0]), str(row[1]))
    return found


async def _primary_key(engine: AsyncEngine, table: str) -> list[str]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT a.attname FROM pg_index i,"
                " unnest(i.indkey) WITH ORDINALITY k(n, o), pg_attribute a"
                " WHERE i.indrelid = CAST(:t AS regclass) AND i.indisprimary"
                " AND a.attrelid = i.indrelid AND a.attnum = k.n ORDER BY k.o"
            ),
            {"t": table},
        )
        return [r[0] for r in rows]


async def _downgrade(engine: AsyncEngine, revision: str) -> None:
    def run(connection: Connection) -> None:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.downgrade(config, revision)

    async with engine.begin() as conn:
        await conn.run_sync(run)


async def test_rekeying_keeps_every_row_of_the_demo(
    databases: DatabaseFactory, settings: Settings
) -> None:
    admin_url = await databases.clone()
    admin = create_async_engine(admin_url)
    app = Database.connect(login_url(admin_url), settings, pool_size=4)
    try:
        summary = await load_demo(app, orders_per_org=120)
        assert sum(o.counts.orders for o in summary.organizations) > 100
        loaded = await _fingerprint(admin)
        assert loaded["orders"][0] > 100 and loaded["stock_ledger"][0] > 0

        await _downgrade(admin, "0003")
        assert await current_revision(admin) == "0003"
        assert await _primary_key(admin, "orders") == ["id"]
        for table in LATER_TABLES:
            loaded.pop(table, None)
        assert await _fingerprint(admin) == loaded

        await upgrade(admin)
        assert await _primary_key(admin, "orders") == ["org_id", "id"]
        again = await _fingerprint(admin)
        for table in LATER_TABLES:
            assert again.pop(table) == (0, "d41d8cd98f00b204e9800998ecf8427e")
        assert again == loaded
        reports = await reconcile_all(app)
        assert reports and all(report.ok for report in reports)
    finally:
        await app.dispose()
        await admin.dispose()
