"""SQL of reconciliation (库存对账): every stock row beside its replayed ledger and its active
reservations."""

from __future__ import annotations

import json

from sqlalchemy import select, text
from sqlmodel import col

from db.repositories._base import Repository
from db.tables import Stock
from domain.inventory.model import StockBalance

_BALANCE_FIELDS = (
    "stock_id",
    "sku_id",
    "sku_code",
    "warehouse_id",
    "bin_id",
    "bin_code",
    "on_hand",
    "reserved",
    "ledger_on_hand",
    "ledger_reserved",
    "active_reserved",
)

_DRIFTED_SQL = text(
    """
    WITH led AS (
        SELECT stock_id, sum(on_hand_delta) AS on_hand, sum(reserved_delta) AS reserved
        FROM stock_ledger WHERE org_id = :org GROUP BY stock_id
    ), act AS (
        SELECT stock_id, sum(quantity) AS reserved
        FROM reservations WHERE org_id = :org AND status = 'ACTIVE'
        GROUP BY stock_id
    ), bal AS (
        SELECT s.id AS stock_id, s.sku_id, k.code AS sku_code, s.warehouse_id,
               s.bin_id, b.code AS bin_code, s.on_hand, s.reserved,
               coalesce(led.on_hand, 0) AS ledger_on_hand,
               coalesce(led.reserved, 0) AS ledger_reserved,
               coalesce(act.reserved, 0) AS active_reserved
        FROM stock s
        JOIN skus k ON k.org_id = s.org_id AND k.id = s.sku_id
        JOIN bins b ON b.org_id = s.org_id AND b.id = s.bin_id
        LEFT JOIN led ON led.stock_id = s.id
        LEFT JOIN act ON act.stock_id = s.id
        WHERE s.org_id = :org
    )
    SELECT (SELECT count(*) FROM bal) AS checked,
           (SELECT coalesce(json_agg(d ORDER BY d.stock_id), '[]')
            FROM bal AS d
            WHERE d.on_hand <> d.ledger_on_hand
               OR d.reserved <> d.ledger_reserved
               OR d.reserved <> d.active_reserved) AS drifted
    """
)

_ORPHANS_SQL = text(
    """
    SELECT count(*) FROM stock_ledger l
    WHERE l.org_id = :org
      AND NOT EXISTS (SELECT 1 FROM stock s WHERE s.id = l.stock_id AND s.org_id = :org)
    """
)


class ReconciliationRepository(Repository):
    async def has_stock(self) -> bool:
        found = await self.session.scalar(
            select(col(Stock.id)).where(col(Stock.org_id) == self.org_id).limit(1)
        )
        return found is not None

    async def drifted_balances(self) -> tuple[int, list[StockBalance]]:
        """Every stock row whose on_hand/reserved disagree with the replayed ledger or with its
        active reservations, and how many rows were checked; one statement, so one consistent
        snapshot even while orders keep reserving."""
        row = (await self.session.execute(_DRIFTED_SQL, {"org": self.org_id})).one()
        drifted = row.drifted if isinstance(row.drifted, list) else json.loads(row.drifted)
        return int(row.checked), [
            StockBalance(**{key: d[key] for key in _BALANCE_FIELDS}) for d in drifted
        ]

    async def ledger_orphans(self) -> int:
        """Ledger rows pointing at no stock row of this organisation (should be none)."""
        total = await self.session.scalar(_ORPHANS_SQL, {"org": self.org_id})
        return int(total or 0)
