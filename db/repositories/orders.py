"""SQL for orders, lines, buyers, remarks and status history."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, func, or_, select, update

from db.repositories._base import Repository
from db.tables import Customer, Order, OrderHistory, OrderLine, OrderRemark, Shop
from domain.orders.model import OrderFilter, OrderSort

_SORTS: dict[OrderSort, tuple[Any, ...]] = {
    OrderSort.CREATED_DESC: (Order.created_at.desc(), Order.id.desc()),  # type: ignore[attr-defined,union-attr]
    OrderSort.CREATED_ASC: (Order.created_at.asc(), Order.id.asc()),  # type: ignore[attr-defined,union-attr]
    OrderSort.PAID_DESC: (Order.paid_at.desc().nulls_last(), Order.id.desc()),  # type: ignore[union-attr]
    OrderSort.PAID_ASC: (Order.paid_at.asc().nulls_last(), Order.id.asc()),  # type: ignore[union-attr]
    OrderSort.TOTAL_DESC: (Order.total_fen.desc(), Order.id.desc()),  # type: ignore[attr-defined,union-attr]
    OrderSort.TOTAL_ASC: (Order.total_fen.asc(), Order.id.asc()),  # type: ignore[attr-defined,union-attr]
}


class OrderRepository(Repository):
    def _filtered(self, flt: OrderFilter) -> Select[tuple[Order]]:
        stmt = select(Order).where(Order.org_id == self.org_id)
        conditions: list[Any] = []
        if flt.order_ids is not None:
            conditions.append(Order.id.in_(flt.order_ids))  # type: ignore[union-attr]
        if flt.supplier_id is not None:
            conditions.append(Order.supplier_id == flt.supplier_id)
        if flt.statuses:
            conditions.append(Order.status.in_([s.value for s in flt.statuses]))  # type: ignore[attr-defined]
        if flt.shop_ids:
            conditions.append(Order.shop_id.in_(flt.shop_ids))  # type: ignore[attr-defined]
        if flt.channels:
            conditions.append(
                Order.shop_id.in_(  # type: ignore[attr-defined]
                    select(Shop.id).where(
                        Shop.org_id == self.org_id, Shop.channel.in_(flt.channels)
                    )  # type: ignore[attr-defined]
                )
            )
        if flt.created_from is not None:
            conditions.append(Order.created_at >= flt.created_from)
        if flt.created_to is not None:
            conditions.append(Order.created_at < flt.created_to)
        if flt.paid_from is not None:
            conditions.append(Order.paid_at >= flt.paid_from)  # type: ignore[operator]
        if flt.paid_to is not None:
            conditions.append(Order.paid_at < flt.paid_to)  # type: ignore[operator]
        if flt.search:
            term = flt.search.strip()
            like = f"%{term}%"
            options: list[Any] = [
                Order.external_id == term,
                Order.external_id.like(like),  # type: ignore[attr-defined]
                Order.receiver_name.like(like),  # type: ignore[attr-defined]
            ]
            if term.isdigit() and len(term) == 4:
                options.append(Order.receiver_phone_tail == term)
            conditions.append(or_(*options))
        if conditions:
            stmt = stmt.where(and_(*conditions))
        return stmt

    async def list(
        self, flt: OrderFilter, sort: OrderSort, offset: int, limit: int
    ) -> Sequence[Order]:
        return await self._page(self._filtered(flt).order_by(*_SORTS[sort]), offset, limit)

    async def count(self, flt: OrderFilter) -> int:
        return await self._count(self._filtered(flt))

    async def by_ids(self, ids: Sequence[int]) -> dict[int, Order]:
        return await self._by_ids(Order, ids)

    async def get(self, order_id: int, *, for_update: bool = False) -> Order | None:
        stmt = select(Order).where(Order.id == order_id, Order.org_id == self.org_id)
        if for_update:
            stmt = stmt.with_for_update()
        return await self.session.scalar(stmt)

    async def by_external_id(self, shop_id: int, external_id: str) -> Order | None:
        return await self.session.scalar(
            select(Order).where(
                Order.org_id == self.org_id,
                Order.shop_id == shop_id,
                Order.external_id == external_id,
            )
        )

    async def add(self, order: Order, lines: Sequence[OrderLine]) -> Order:
        self.session.add(order)
        await self.session.flush()
        for line in lines:
            line.order_id = order.id  # type: ignore[assignment]
            line.org_id = self.org_id
            self.session.add(line)
        await self.session.flush()
        return order

    async def set_status(self, order: Order, status: str, at: datetime) -> None:
        await self.session.execute(
            update(Order)
            .where(Order.id == order.id, Order.org_id == self.org_id)
            .values(status=status, updated_at=at)
        )
        order.status = status
        order.updated_at = at

    async def lines_for(self, order_ids: Sequence[int]) -> dict[int, list[OrderLine]]:
        grouped: dict[int, list[OrderLine]] = defaultdict(list)
        if order_ids:
            rows = await self.session.scalars(
                select(OrderLine)
                .where(OrderLine.org_id == self.org_id, OrderLine.order_id.in_(set(order_ids)))  # type: ignore[attr-defined]
                .order_by(OrderLine.order_id, OrderLine.id)
            )
            for row in rows:
                grouped[row.order_id].append(row)
        return grouped

    async def history_for(self, order_ids: Sequence[int]) -> dict[int, list[OrderHistory]]:
        grouped: dict[int, list[OrderHistory]] = defaultdict(list)
        if order_ids:
            rows = await self.session.scalars(
                select(OrderHistory)
                .where(
                    OrderHistory.org_id == self.org_id,
                    OrderHistory.order_id.in_(set(order_ids)),  # type: ignore[attr-defined]
                )
                .order_by(OrderHistory.order_id, OrderHistory.id)
            )
            for row in rows:
                grouped[row.order_id].append(row)
        return grouped

    async def remarks_for(self, order_ids: Sequence[int]) -> dict[int, list[OrderRemark]]:
        grouped: dict[int, list[OrderRemark]] = defaultdict(list)
        if order_ids:
            rows = await self.session.scalars(
                select(OrderRemark)
                .where(
                    OrderRemark.org_id == self.org_id,
                    OrderRemark.order_id.in_(set(order_ids)),  # type: ignore[attr-defined]
                )
                .order_by(OrderRemark.order_id, OrderRemark.id)
            )
            for row in rows:
                grouped[row.order_id].append(row)
        return grouped

    def add_history(self, entry: OrderHistory) -> None:
        self.session.add(entry)

    def add_remark(self, remark: OrderRemark) -> None:
        self.session.add(remark)

    async def customers_by_ids(self, ids: Sequence[int]) -> dict[int, Customer]:
        return await self._by_ids(Customer, ids)

    async def customer_by_nick(self, channel: str, nick: str) -> Customer | None:
        return await self.session.scalar(
            select(Customer).where(
                Customer.org_id == self.org_id, Customer.channel == channel, Customer.nick == nick
            )
        )

    async def add_customer(self, customer: Customer) -> Customer:
        self.session.add(customer)
        await self.session.flush()
        return customer

    async def count_by_status(self) -> dict[str, int]:
        rows = await self.session.execute(
            select(Order.status, func.count())
            .where(Order.org_id == self.org_id)
            .group_by(Order.status)
        )
        return {status: int(n) for status, n in rows.all()}
