"""Reconciliation finds drift injected behind the services' back, reports it with details,
alerts (error log + ``stock.drift`` outbox event), and fixes nothing."""

from __future__ import annotations

from sqlalchemy import text
from structlog.testing import capture_logs

from db.engine import Database
from domain.inventory import reconcile, reservation
from tests.support.factories import make_org
from tests.support.inventory import count_rows, make_layout, make_order_with, receive
from tests.support.sql import org_connection


async def test_reconcile_reports_injected_drift_and_fixes_nothing(db: Database) -> None:
    seller = await make_org(db)
    layout = await make_layout(db, seller)
    sku_a, sku_b = seller.skus[0].id, seller.skus[1].id
    assert sku_a is not None and sku_b is not None
    await receive(db, seller, layout, sku_a, 10, bin_id=layout.bin_id(0, 0))
    await receive(db, seller, layout, sku_b, 4, bin_id=layout.bin_id(0, 1))
    order = await make_order_with(db, seller, [(sku_b, 2)])
    assert order.id is not None
    await reservation.reserve_order(db, seller.actor(), order.id)
    assert (await reconcile.reconcile(db, seller.org_id)).ok

    # Someone "fixes" stock by hand in SQL: 3 units appear from nowhere in A, and B's
    # reserved no longer matches its reservations.
    async with org_connection(db, seller.org_id, commit=True) as conn:
        await conn.execute(
            text("UPDATE stock SET on_hand = on_hand + 3 WHERE org_id = :org AND sku_id = :sku"),
            {"org": seller.org_id, "sku": sku_a},
        )
        await conn.execute(
            text("UPDATE stock SET reserved = reserved + 1 WHERE org_id = :org AND sku_id = :sku"),
            {"org": seller.org_id, "sku": sku_b},
        )

    with capture_logs() as logs:
        report = await reconcile.reconcile(db, seller.org_id)
    assert not report.ok
    assert report.checked_rows == 2
    drifts = {d.sku_id: d for d in report.drifts}
    assert set(drifts) == {sku_a, sku_b}
    a, b = drifts[sku_a], drifts[sku_b]
    assert (a.on_hand, a.ledger_on_hand, a.reserved, a.ledger_reserved) == (13, 10, 0, 0)
    assert (b.reserved, b.ledger_reserved, b.active_reserved) == (3, 2, 2)
    assert a.sku_code == "SKU-1" and a.bin_code == "A-01-1-1"

    errors = [e for e in logs if e["log_level"] == "error"]
    assert {e["event"] for e in errors} == {"stock.drift", "stock.drift_found"}
    assert await count_rows(db, "outbox", seller.org_id, "topic = 'stock.drift'") == 1
    async with org_connection(db, seller.org_id) as conn:
        payload = await conn.scalar(
            text("SELECT payload FROM outbox WHERE org_id = :org AND topic = 'stock.drift'"),
            {"org": seller.org_id},
        )
    assert payload["driftedRows"] == 2
    assert {d["skuCode"] for d in payload["drifts"]} == {"SKU-1", "SKU-2"}

    # Never silently fixed: the drift is still there.
    again = await reconcile.reconcile(db, seller.org_id)
    assert len(again.drifts) == 2


async def test_reconcile_all_visits_every_organisation_with_stock(db: Database) -> None:
    seller = await make_org(db)
    layout = await make_layout(db, seller)
    sku = seller.skus[0].id
    assert sku is not None
    await receive(db, seller, layout, sku, 1, bin_id=layout.bin_id())
    reports = await reconcile.reconcile_all(db)
    assert seller.org_id in {r.org_id for r in reports}
