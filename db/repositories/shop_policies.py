"""SQL for shop stock policies (库存同步策略): what share of the stock each shop may list."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
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

    async def lock_policy_row(self, shop_id: int) -> ShopStockPolicyRow:
        """The shop's policy row, locked, created with the defaults if missing.

        Two concurrent changes of one shop's policy queue up on the row (the later one wins)
        instead of both inserting it and one failing on the unique (org_id, shop_id)."""
        await self.session.execute(
            insert(ShopStockPolicyRow)
            .values(
                org_id=self.org_id,
                shop_id=shop_id,
                ratio_percent=100,
                cap=None,
                pool=None,
                allow_split=False,
            )
            .on_conflict_do_nothing(index_elements=["org_id", "shop_id"])
        )
        row = await self.row_for_update(shop_id)
        assert row is not None  # inserted above, or by the transaction it waited for
        return row

    def add(self, row: ShopStockPolicyRow) -> None:
        self.session.add(row)
