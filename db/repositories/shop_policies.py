"""SQL for shop stock policies (库存同步策略): what share of the stock each shop may list."""

from __future__ import annotations

from sqlalchemy import select
from sqlmodel import col

from db.repositories._base import Repository
from db.tables import ShopStockPolicyRow
from domain.inventory.model import ShopStockPolicy


class ShopPolicyRepository(Repository):
    async def policies(self) -> dict[int, ShopStockPolicy]:
        """Every shop's policy that has a row (a shop without one lists 100 %)."""
        rows = await self.session.scalars(
            select(ShopStockPolicyRow).where(col(ShopStockPolicyRow.org_id) == self.org_id)
        )
        return {
            row.shop_id: ShopStockPolicy(
                ratio_percent=row.ratio_percent,
                cap=row.cap,
                pool=row.pool,
                allow_split=row.allow_split,
            )
            for row in rows
        }

    async def rows(self) -> list[ShopStockPolicyRow]:
        rows = await self.session.scalars(
            select(ShopStockPolicyRow)
            .where(col(ShopStockPolicyRow.org_id) == self.org_id)
            .order_by(col(ShopStockPolicyRow.shop_id))
        )
        return list(rows)

    async def row_for_update(self, shop_id: int) -> ShopStockPolicyRow | None:
        """The shop's policy row, locked: two owners setting it at once apply one after the
        other (a policy row is neither an order nor stock, so ``db.repositories.locks`` does
        not own this lock)."""
        return await self.session.scalar(
            select(ShopStockPolicyRow)
            .where(
                col(ShopStockPolicyRow.org_id) == self.org_id,
                col(ShopStockPolicyRow.shop_id) == shop_id,
            )
            .with_for_update()
        )

    def add(self, row: ShopStockPolicyRow) -> None:
        self.session.add(row)
