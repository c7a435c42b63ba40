"""SQL for what a drop-ship supplier's orders reach: the SKUs on their lines, those SKUs'
products, the shops the orders came from.  domain/suppliers/scope.py decides that a supplier
actor sees only these; the statements here are the one definition of "these", used both to
narrow lists (as sub-selects) and to check ids (node, DataLoaders, id arguments)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, and_, select
from sqlmodel import col

from db.repositories._base import Repository
from db.tables import Order, OrderLine, Sku


def supplier_sku_ids(org_id: int, supplier_id: int) -> Select[Any]:
    return (
        select(col(OrderLine.sku_id))
        .join(
            Order,
            and_(col(Order.id) == col(OrderLine.order_id), col(Order.org_id) == OrderLine.org_id),
        )
        .where(col(OrderLine.org_id) == org_id, col(Order.supplier_id) == supplier_id)
    )


def supplier_product_ids(org_id: int, supplier_id: int) -> Select[Any]:
    return select(col(Sku.product_id)).where(
        col(Sku.org_id) == org_id, col(Sku.id).in_(supplier_sku_ids(org_id, supplier_id))
    )


def supplier_shop_ids(org_id: int, supplier_id: int) -> Select[Any]:
    return select(col(Order.shop_id)).where(
        col(Order.org_id) == org_id, col(Order.supplier_id) == supplier_id
    )


class SupplierReachRepository(Repository):
    async def _among(self, reach: Select[Any], ids: Sequence[int]) -> set[int]:
        if not ids:
            return set()
        column = reach.selected_columns[0]
        rows = await self.session.scalars(reach.where(column.in_(set(ids))).distinct())
        return set(rows)

    async def skus(self, supplier_id: int, ids: Sequence[int]) -> set[int]:
        """Which of ``ids`` are SKUs on the supplier's orders."""
        return await self._among(supplier_sku_ids(self.org_id, supplier_id), ids)

    async def products(self, supplier_id: int, ids: Sequence[int]) -> set[int]:
        return await self._among(supplier_product_ids(self.org_id, supplier_id), ids)

    async def shops(self, supplier_id: int, ids: Sequence[int]) -> set[int]:
        return await self._among(supplier_shop_ids(self.org_id, supplier_id), ids)
