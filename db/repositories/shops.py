"""SQL for shops and warehouses."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col

from db.repositories._base import Keyset, Repository
from db.repositories.suppliers import supplier_shop_ids
from db.tables import Shop, Warehouse
from domain.paging import Page, PageResult

#: Shops by channel, then name; served by the unique (org_id, channel, name).
SHOPS = Keyset(col(Shop.channel), col(Shop.name), col(Shop.id))
#: Warehouses in the order the reservation strategy tries them (priority), then by code.
WAREHOUSES = Keyset(col(Warehouse.priority), col(Warehouse.code), col(Warehouse.id))


class ShopRepository(Repository):
    def _shops(self, channel: str | None, supplier_id: int | None = None) -> Select[Shop]:
        stmt = select(Shop).where(col(Shop.org_id) == self.org_id)
        if channel:
            stmt = stmt.where(col(Shop.channel) == channel)
        if supplier_id is not None:
            stmt = stmt.where(col(Shop.id).in_(supplier_shop_ids(self.org_id, supplier_id)))
        return stmt

    async def list_shops(
        self, channel: str | None, page: Page, *, supplier_id: int | None = None
    ) -> PageResult[Shop]:
        """``supplier_id``: only the shops that supplier's orders came from."""
        return await self._page(self._shops(channel, supplier_id), SHOPS, page)

    async def count_shops(self, channel: str | None, *, supplier_id: int | None = None) -> int:
        return await self._count(self._shops(channel, supplier_id))

    async def shops_by_ids(self, ids: Sequence[int]) -> dict[int, Shop]:
        return await self._by_ids(Shop, ids)

    async def shop(self, shop_id: int) -> Shop | None:
        return (await self.shops_by_ids([shop_id])).get(shop_id)

    async def manual_shop(self) -> Shop | None:
        return await self.session.scalar(self._shops("MANUAL").order_by(*SHOPS.order_by()).limit(1))

    async def shop_named(self, channel: str, name: str) -> Shop:
        """The shop of this channel and name, created if missing.

        Concurrent callers all get the one row (a seller's first manual orders are often entered
        by two people at once): ``ON CONFLICT DO NOTHING`` waits for a concurrent insert of the
        same shop and then reads it, instead of racing it into the unique constraint."""
        await self.session.execute(
            insert(Shop)
            .values(org_id=self.org_id, channel=channel, name=name, allow_partial_reservation=False)
            .on_conflict_do_nothing(index_elements=["org_id", "channel", "name"])
        )
        shop = await self.session.scalar(
            select(Shop).where(
                col(Shop.org_id) == self.org_id,
                col(Shop.channel) == channel,
                col(Shop.name) == name,
            )
        )
        assert shop is not None  # inserted above, or by the transaction it waited for
        return shop

    async def add_shop(self, channel: str, name: str) -> Shop:
        shop = Shop(org_id=self.org_id, channel=channel, name=name)
        self.session.add(shop)
        await self.session.flush()
        return shop

    def _warehouses(self, active: bool | None) -> Select[Warehouse]:
        stmt = select(Warehouse).where(col(Warehouse.org_id) == self.org_id)
        if active is not None:
            stmt = stmt.where(col(Warehouse.is_active) == active)
        return stmt

    async def list_warehouses(self, active: bool | None, page: Page) -> PageResult[Warehouse]:
        return await self._page(self._warehouses(active), WAREHOUSES, page)

    async def count_warehouses(self, active: bool | None) -> int:
        return await self._count(self._warehouses(active))

    async def warehouses_by_ids(self, ids: Sequence[int]) -> dict[int, Warehouse]:
        return await self._by_ids(Warehouse, ids)

    async def add_warehouse(self, **values: Any) -> Warehouse:
        warehouse = Warehouse(org_id=self.org_id, **values)
        self.session.add(warehouse)
        await self.session.flush()
        return warehouse

    async def count_all(self) -> int:
        return int(
            await self.session.scalar(
                select(func.count()).select_from(Shop).where(col(Shop.org_id) == self.org_id)
            )
            or 0
        )
