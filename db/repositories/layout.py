"""SQL for a warehouse's layout: the warehouses themselves, their zones (拣货区) and bins (库位)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, select
from sqlmodel import col

from db.repositories._base import Keyset, Repository
from db.tables import Bin, Warehouse, Zone
from domain.paging import Page, PageResult

#: Bins in pick-walk order, warehouse by warehouse.
BINS = Keyset(col(Bin.warehouse_id), col(Bin.walk_seq), col(Bin.code), col(Bin.id))


class LayoutRepository(Repository):
    async def warehouse(self, warehouse_id: int) -> Warehouse | None:
        return await self.session.scalar(
            select(Warehouse).where(
                col(Warehouse.id) == warehouse_id, col(Warehouse.org_id) == self.org_id
            )
        )

    async def warehouses_by_ids(self, ids: Sequence[int]) -> dict[int, Warehouse]:
        return await self._by_ids(Warehouse, ids)

    async def warehouse_by_code(self, code: str) -> Warehouse | None:
        return await self.session.scalar(
            select(Warehouse).where(
                col(Warehouse.code) == code, col(Warehouse.org_id) == self.org_id
            )
        )

    async def zone(self, zone_id: int) -> Zone | None:
        return await self.session.scalar(
            select(Zone).where(col(Zone.id) == zone_id, col(Zone.org_id) == self.org_id)
        )

    async def zone_by_code(self, warehouse_id: int, code: str) -> Zone | None:
        return await self.session.scalar(
            select(Zone).where(
                col(Zone.org_id) == self.org_id,
                col(Zone.warehouse_id) == warehouse_id,
                col(Zone.code) == code,
            )
        )

    async def zones_by_ids(self, ids: Sequence[int]) -> dict[int, Zone]:
        return await self._by_ids(Zone, ids)

    async def zones_for_warehouses(self, warehouse_ids: Sequence[int]) -> dict[int, list[Zone]]:
        grouped: dict[int, list[Zone]] = {w: [] for w in warehouse_ids}
        if warehouse_ids:
            rows = await self.session.scalars(
                select(Zone)
                .where(
                    col(Zone.org_id) == self.org_id,
                    col(Zone.warehouse_id).in_(set(warehouse_ids)),
                )
                .order_by(col(Zone.walk_order), col(Zone.code))
            )
            for row in rows:
                grouped[row.warehouse_id].append(row)
        return grouped

    async def add(self, row: Warehouse | Zone) -> None:
        self.session.add(row)
        await self.session.flush()

    async def add_bins(self, bins: Sequence[Bin]) -> None:
        self.session.add_all(bins)
        await self.session.flush()

    async def bins_by_ids(self, ids: Sequence[int]) -> dict[int, Bin]:
        return await self._by_ids(Bin, ids)

    async def bin_codes_taken(self, warehouse_id: int, codes: Sequence[str]) -> set[str]:
        if not codes:
            return set()
        rows = await self.session.scalars(
            select(col(Bin.code)).where(
                col(Bin.org_id) == self.org_id,
                col(Bin.warehouse_id) == warehouse_id,
                col(Bin.code).in_(set(codes)),
            )
        )
        return set(rows)

    def _bins(self, zone_id: int | None, warehouse_id: int | None) -> Select[Any]:
        stmt = select(Bin).where(col(Bin.org_id) == self.org_id)
        if zone_id is not None:
            stmt = stmt.where(col(Bin.zone_id) == zone_id)
        if warehouse_id is not None:
            stmt = stmt.where(col(Bin.warehouse_id) == warehouse_id)
        return stmt

    async def list_bins(
        self, zone_id: int | None, warehouse_id: int | None, page: Page
    ) -> PageResult[Bin]:
        return await self._page(self._bins(zone_id, warehouse_id), BINS, page)

    async def count_bins(self, zone_id: int | None, warehouse_id: int | None) -> int:
        return await self._count(self._bins(zone_id, warehouse_id))
