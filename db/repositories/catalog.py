"""SQL for products and SKUs."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import Select, func, or_, select
from sqlmodel import col

from db.repositories._base import Keyset, Repository
from db.repositories.suppliers import supplier_product_ids, supplier_sku_ids
from db.tables import Product, Sku
from domain.paging import Page, PageResult

#: Products by their code (商家编码); served by the unique (org_id, code).
PRODUCTS = Keyset(col(Product.code), col(Product.id))


class CatalogRepository(Repository):
    def _products(
        self, category: str | None, search: str | None, supplier_id: int | None
    ) -> Select[Product]:
        stmt = select(Product).where(col(Product.org_id) == self.org_id)
        if supplier_id is not None:
            stmt = stmt.where(col(Product.id).in_(supplier_product_ids(self.org_id, supplier_id)))
        if category:
            stmt = stmt.where(col(Product.category) == category)
        if search:
            pattern = f"%{search.lower()}%"
            sku_match = (
                select(col(Sku.product_id))
                .where(
                    col(Sku.org_id) == self.org_id,
                    or_(func.lower(Sku.code).like(pattern), col(Sku.barcode) == search),
                )
                .scalar_subquery()
            )
            stmt = stmt.where(
                or_(
                    func.lower(Product.name).like(pattern),
                    func.lower(Product.code).like(pattern),
                    col(Product.id).in_(sku_match),
                )
            )
        return stmt

    async def list_products(
        self,
        category: str | None,
        search: str | None,
        page: Page,
        *,
        supplier_id: int | None = None,
    ) -> PageResult[Product]:
        """``supplier_id``: only products with a SKU on that supplier's orders."""
        return await self._page(self._products(category, search, supplier_id), PRODUCTS, page)

    async def count_products(
        self, category: str | None, search: str | None, *, supplier_id: int | None = None
    ) -> int:
        return await self._count(self._products(category, search, supplier_id))

    async def products_by_ids(self, ids: Sequence[int]) -> dict[int, Product]:
        return await self._by_ids(Product, ids)

    async def skus_by_ids(self, ids: Sequence[int]) -> dict[int, Sku]:
        return await self._by_ids(Sku, ids)

    async def known_skus(self, ids: Sequence[int]) -> set[int]:
        """Which of ``ids`` are this organisation's SKUs (the ids only: input checks)."""
        if not ids:
            return set()
        rows = await self.session.scalars(
            select(col(Sku.id)).where(col(Sku.org_id) == self.org_id, col(Sku.id).in_(set(ids)))
        )
        return {int(i) for i in rows if i is not None}

    async def skus_by_codes(self, codes: Sequence[str]) -> dict[str, Sku]:
        if not codes:
            return {}
        rows = await self.session.scalars(
            select(Sku).where(col(Sku.org_id) == self.org_id, col(Sku.code).in_(set(codes)))
        )
        return {row.code: row for row in rows}

    async def skus_for_products(
        self, product_ids: Sequence[int], *, supplier_id: int | None = None
    ) -> dict[int, list[Sku]]:
        """``supplier_id``: only the SKUs on that supplier's orders."""
        grouped: dict[int, list[Sku]] = defaultdict(list)
        if product_ids:
            stmt = select(Sku).where(
                col(Sku.org_id) == self.org_id, col(Sku.product_id).in_(set(product_ids))
            )
            if supplier_id is not None:
                stmt = stmt.where(col(Sku.id).in_(supplier_sku_ids(self.org_id, supplier_id)))
            rows = await self.session.scalars(stmt.order_by(col(Sku.code)))
            for row in rows:
                grouped[row.product_id].append(row)
        return grouped

    async def add_product(self, product: Product, skus: Sequence[Sku]) -> Product:
        self.session.add(product)
        await self.session.flush()
        for sku in skus:
            sku.product_id = product.id  # type: ignore[assignment]
            self.session.add(sku)
        await self.session.flush()
        return product
