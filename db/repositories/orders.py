"""SQL for orders, lines, buyers, remarks and status history."""

from __future__ import annotations

import builtins
from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, and_, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key
from sqlmodel import col

from db.repositories._base import Keyset, Repository
from db.tables import (
    Customer,
    Order,
    OrderHistory,
    OrderLine,
    OrderNumberCounter,
    OrderRemark,
    Shop,
)
from domain.orders.model import OrderFilter, OrderSort
from domain.paging import Page, PageResult

#: Each sort of the order board; cursors carry the sort's name (api/orders/queries.py), so one
#: issued under one sort is refused under another.  Served by the indexes
#: ``(org_id, created_at, id)`` and ``(org_id, paid_at, id)``; a sort by total reads the
#: seller's matching orders (no index: each would cost a write on every status change).
SORTS: dict[OrderSort, Keyset] = {
    OrderSort.CREATED_DESC: Keyset(col(Order.created_at), col(Order.id), descending=True),
    OrderSort.CREATED_ASC: Keyset(col(Order.created_at), col(Order.id)),
    OrderSort.PAID_DESC: Keyset(col(Order.paid_at), col(Order.id), descending=True),
    OrderSort.PAID_ASC: Keyset(col(Order.paid_at), col(Order.id)),
    OrderSort.TOTAL_DESC: Keyset(col(Order.total_fen), col(Order.id), descending=True),
    OrderSort.TOTAL_ASC: Keyset(col(Order.total_fen), col(Order.id)),
}


class OrderRepository(Repository):
    def _filtered(self, flt: OrderFilter) -> Select[Order]:
        stmt = select(Order).where(col(Order.org_id) == self.org_id)
        conditions: list[Any] = []
        if flt.order_ids is not None:
            conditions.append(col(Order.id).in_(flt.order_ids))
        if flt.supplier_id is not None:
            conditions.append(col(Order.supplier_id) == flt.supplier_id)
        if flt.statuses:
            conditions.append(col(Order.status).in_([s.value for s in flt.statuses]))
        if flt.shop_ids:
            conditions.append(col(Order.shop_id).in_(flt.shop_ids))
        if flt.channels:
            conditions.append(
                col(Order.shop_id).in_(
                    select(col(Shop.id)).where(
                        col(Shop.org_id) == self.org_id, col(Shop.channel).in_(flt.channels)
                    )
                )
            )
        if flt.created_from is not None:
            conditions.append(col(Order.created_at) >= flt.created_from)
        if flt.created_to is not None:
            conditions.append(col(Order.created_at) < flt.created_to)
        if flt.paid_from is not None:
            conditions.append(col(Order.paid_at) >= flt.paid_from)
        if flt.paid_to is not None:
            conditions.append(col(Order.paid_at) < flt.paid_to)
        if flt.search:
            term = flt.search.strip()
            like = f"%{term}%"
            options: list[Any] = [
                col(Order.external_id) == term,
                col(Order.external_id).like(like),
                col(Order.receiver_name).like(like),
            ]
            if flt.match_phone_tail and term.isdigit() and len(term) == 4:
                options.append(col(Order.receiver_phone_tail) == term)
            conditions.append(or_(*options))
        if conditions:
            stmt = stmt.where(and_(*conditions))
        return stmt

    async def list(self, flt: OrderFilter, sort: OrderSort, page: Page) -> PageResult[Order]:
        return await self._page(self._filtered(flt), SORTS[sort], page)

    async def count(self, flt: OrderFilter) -> int:
        return await self._count(self._filtered(flt))

    async def by_ids(self, ids: Sequence[int]) -> dict[int, Order]:
        return await self._by_ids(Order, ids)

    async def get(self, order_id: int, *, refresh: bool = False) -> Order | None:
        """The order; ``refresh`` reloads it even if this session holds it already (after its
        row was locked: the values as locked, not as first read)."""
        stmt = select(Order).where(col(Order.id) == order_id, col(Order.org_id) == self.org_id)
        if refresh:
            stmt = stmt.execution_options(populate_existing=True)
        return await self.session.scalar(stmt)

    async def by_external_id(self, shop_id: int, external_id: str) -> Order | None:
        return await self.session.scalar(
            select(Order).where(
                col(Order.org_id) == self.org_id,
                col(Order.shop_id) == shop_id,
                col(Order.external_id) == external_id,
            )
        )

    async def next_number(self, day: date) -> int:
        """The seller's next manual order number of ``day`` (1, 2, ...), in one statement.

        The counter row stays locked until this transaction ends: concurrent orders of the
        seller queue for it, so call this as late as possible (right before the insert)."""
        counter = OrderNumberCounter.__table__.c  # type: ignore[attr-defined]
        value = await self.session.scalar(
            insert(OrderNumberCounter)
            .values(org_id=self.org_id, day=day, last_value=1)
            .on_conflict_do_update(
                index_elements=["org_id", "day"], set_={"last_value": counter.last_value + 1}
            )
            .returning(counter.last_value)
        )
        assert value is not None
        return int(value)

    async def add(self, order: Order, lines: Sequence[OrderLine]) -> Order:
        self.session.add(order)
        await self.session.flush()
        for line in lines:
            line.order_id = order.id  # type: ignore[assignment]
            line.org_id = self.org_id
            self.session.add(line)
        await self.session.flush()
        return order

    def note_status(self, order_id: int, status: str, at: datetime) -> None:
        """Show a status written by ``db.repositories.order_status`` on the order object this
        session holds, if any, as the database value (not a change to flush): readers of the
        object in this unit of work see the new status, and nothing is written twice."""
        order = self.session.identity_map.get(identity_key(Order, (self.org_id, order_id)))
        if order is not None:
            set_committed_value(order, "status", status)
            set_committed_value(order, "updated_at", at)

    async def touch(self, order: Order, at: datetime) -> None:
        """Mark the order changed (``updated_at``); the UPDATE also locks its row until commit,
        which keeps this order's outbox events in commit order."""
        await self.session.execute(
            update(Order)
            .where(col(Order.id) == order.id, col(Order.org_id) == self.org_id)
            .values(updated_at=at)
        )
        order.updated_at = at

    async def lines_by_ids(self, ids: Sequence[int]) -> dict[int, OrderLine]:
        return await self._by_ids(OrderLine, ids)

    async def lines_for(self, order_ids: Sequence[int]) -> dict[int, builtins.list[OrderLine]]:
        grouped: dict[int, list[OrderLine]] = defaultdict(list)
        if order_ids:
            rows = await self.session.scalars(
                select(OrderLine)
                .where(
                    col(OrderLine.org_id) == self.org_id,
                    col(OrderLine.order_id).in_(set(order_ids)),
                )
                .order_by(col(OrderLine.order_id), col(OrderLine.id))
            )
            for row in rows:
                grouped[row.order_id].append(row)
        return grouped

    async def line_quantities(self, order_ids: Sequence[int]) -> dict[int, dict[int, int]]:
        """Per order, each line's quantity (plain values: a bulk shipment checks thousands)."""
        grouped: dict[int, dict[int, int]] = defaultdict(dict)
        if order_ids:
            rows = await self.session.execute(
                select(col(OrderLine.order_id), col(OrderLine.id), col(OrderLine.quantity)).where(
                    col(OrderLine.org_id) == self.org_id,
                    col(OrderLine.order_id).in_(set(order_ids)),
                )
            )
            for order_id, line_id, quantity in rows:
                grouped[order_id][int(line_id or 0)] = quantity
        return grouped

    async def history_for(self, order_ids: Sequence[int]) -> dict[int, builtins.list[OrderHistory]]:
        grouped: dict[int, list[OrderHistory]] = defaultdict(list)
        if order_ids:
            rows = await self.session.scalars(
                select(OrderHistory)
                .where(
                    col(OrderHistory.org_id) == self.org_id,
                    col(OrderHistory.order_id).in_(set(order_ids)),
                )
                .order_by(col(OrderHistory.order_id), col(OrderHistory.id))
            )
            for row in rows:
                grouped[row.order_id].append(row)
        return grouped

    async def remarks_for(self, order_ids: Sequence[int]) -> dict[int, builtins.list[OrderRemark]]:
        grouped: dict[int, list[OrderRemark]] = defaultdict(list)
        if order_ids:
            rows = await self.session.scalars(
                select(OrderRemark)
                .where(
                    col(OrderRemark.org_id) == self.org_id,
                    col(OrderRemark.order_id).in_(set(order_ids)),
                )
                .order_by(col(OrderRemark.order_id), col(OrderRemark.id))
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
                col(Customer.org_id) == self.org_id,
                col(Customer.channel) == channel,
                col(Customer.nick) == nick,
            )
        )

    async def customer_for_nick(self, channel: str, nick: str, name: str, phone: str) -> Customer:
        """The buyer with this nick on this channel, created (with ``name`` and ``phone``) if
        missing; two orders of one new buyer at once share the row instead of one failing on
        the unique (org_id, channel, nick)."""
        await self.session.execute(
            insert(Customer)
            .values(org_id=self.org_id, channel=channel, nick=nick, name=name, phone=phone)
            .on_conflict_do_nothing(index_elements=["org_id", "channel", "nick"])
        )
        customer = await self.customer_by_nick(channel, nick)
        assert customer is not None  # inserted above, or by the transaction it waited for
        return customer

    async def add_customer(self, customer: Customer) -> Customer:
        self.session.add(customer)
        await self.session.flush()
        return customer

    async def count_by_status(self) -> dict[str, int]:
        rows = await self.session.execute(
            select(col(Order.status), func.count())
            .where(col(Order.org_id) == self.org_id)
            .group_by(col(Order.status))
        )
        return {status: int(n) for status, n in rows.all()}
