"""Order use cases: manual orders (手工单), cancellation, remarks and status changes.

Every status change goes through ``change_statuses`` (``change_status`` for one order): the
orders are locked, each change is checked by the state machine against the status as locked,
and ``db.repositories.order_status`` writes the status, its order_history row and its outbox
event, for all the orders in one statement, in the caller's transaction: the same writer the
reservation loop uses, so the three can never disagree.
"""

from __future__ import annotations

import secrets
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from db.repositories import locks
from db.repositories.order_status import OrderStatusChange, write_status_changes_at
from db.tables import Customer, Order, OrderHistory, OrderLine, OrderRemark, Shop, Sku
from db.uow import UnitOfWork
from domain import audit
from domain.accounts.model import Actor, Role, Scope
from domain.errors import DomainError, Duplicate, ErrorCode, Forbidden, InvalidInput, NotFound
from domain.inventory import stock_moves
from domain.inventory.model import LedgerNote
from domain.orders.model import (
    ORDER_EDIT_ROLES,
    REMARK_ROLES,
    ManualOrderDraft,
    OrderFilter,
    OrderSort,
    OrderStatus,
    check_transition,
    compute_totals,
    phone_tail,
)
from domain.suppliers.scope import may_see_order, scope_order_filter

MAX_REMARK_LENGTH = 1000


def _now() -> datetime:
    return datetime.now(UTC)


def _require(actor: Actor, roles: frozenset[Role], scope: Scope, what: str) -> None:
    if actor.role not in roles or not actor.has_scope(scope):
        raise Forbidden(f"Not allowed to {what}")


def order_event(order: Order, **extra: Any) -> dict[str, Any]:
    """The payload subscribers receive: enough to refresh a board row without a query."""
    return {
        "orderId": order.id,
        "shopId": order.shop_id,
        "externalId": order.external_id,
        "status": order.status,
        "totalFen": order.total_fen,
        **extra,
    }


async def get_order(uow: UnitOfWork, actor: Actor, order_id: int, *, lock: bool = False) -> Order:
    """The order if the actor may see it; ``lock`` locks its row first (``locks``), until the
    transaction ends, and returns it as locked."""
    if lock:
        await locks.lock_orders(await uow.driver(), actor.org_id, [order_id])
    order = await uow.orders.get(order_id, refresh=lock)
    if order is None or not may_see_order(actor, order.supplier_id):
        raise NotFound("Order not found", field="id")
    return order


@dataclass(frozen=True)
class StatusChange:
    order_id: int
    target: OrderStatus
    reason: str = ""


async def change_statuses(uow: UnitOfWork, actor: Actor, changes: Sequence[StatusChange]) -> None:
    """Move each order to its target and record why; all or none.  Who may make a change is
    the caller's business (this checks the state machine, not the actor's role)."""
    order_ids = [c.order_id for c in changes]
    if len(set(order_ids)) != len(order_ids):
        raise ValueError("an order changes status at most once per call")
    conn = await uow.driver()
    locked = {o.order_id: o for o in await locks.lock_order_rows(conn, actor.org_id, order_ids)}
    writes: list[OrderStatusChange] = []
    for change in changes:
        row = locked.get(change.order_id)
        if row is None:
            raise NotFound("Order not found", field="id")
        current = OrderStatus(row.status)
        check_transition(current, change.target)
        writes.append(
            OrderStatusChange(
                order_id=row.order_id,
                from_status=current.value,
                to_status=change.target.value,
                reason=change.reason,
                payload={
                    "orderId": row.order_id,
                    "shopId": row.shop_id,
                    "externalId": row.external_id,
                    "status": change.target.value,
                    "totalFen": row.total_fen,
                    "fromStatus": current.value,
                    "reason": change.reason,
                },
            )
        )
    note = LedgerNote(
        actor_label=actor.label, actor_user_id=actor.user_id, actor_token_id=actor.token_id
    )
    written = await write_status_changes_at(conn, actor.org_id, writes, note)
    if written.orders != len(writes):
        raise RuntimeError("a locked order changed status under its lock")
    if written.at is not None:
        for write in writes:
            uow.orders.note_status(write.order_id, write.to_status, written.at)


async def change_status(
    uow: UnitOfWork, actor: Actor, order: Order, target: OrderStatus, reason: str = ""
) -> Order:
    """Move one order to ``target`` (``change_statuses``); ``order`` shows the new status."""
    assert order.id is not None
    await change_statuses(uow, actor, [StatusChange(order.id, target, reason)])
    return order


async def create_manual_order(uow: UnitOfWork, actor: Actor, draft: ManualOrderDraft) -> Order:
    _require(actor, ORDER_EDIT_ROLES, Scope.ORDERS_WRITE, "create orders")
    receiver = draft.receiver.validated()
    totals = compute_totals(draft.lines, draft.shipping_fen)

    if draft.shop_id is not None:
        shop = await uow.shops.shop(draft.shop_id)
        if shop is None:
            raise NotFound("Shop not found", field="shopId")
    else:
        shop = await uow.shops.manual_shop() or await uow.shops.add_shop("MANUAL", "手工单")
    assert shop.id is not None

    skus = await uow.catalog.skus_by_ids([line.sku_id for line in draft.lines])
    for index, line in enumerate(draft.lines):
        if line.sku_id not in skus:
            raise DomainError(
                "Unknown SKU", field=f"lines.{index}.skuId", code=ErrorCode.UNKNOWN_SKU
            )

    now = _now()
    external_id = (draft.external_id or "").strip() or (
        f"M{now:%Y%m%d%H%M%S}{secrets.randbelow(10_000):04d}"
    )
    if len(external_id) > 64:
        raise InvalidInput("External id is at most 64 characters", field="externalId")
    if await uow.orders.by_external_id(shop.id, external_id) is not None:
        raise Duplicate(f"Order {external_id} already exists in this shop", field="externalId")

    customer_id: int | None = None
    if draft.buyer_nick and draft.buyer_nick.strip():
        nick = draft.buyer_nick.strip()
        customer = await uow.orders.customer_by_nick(shop.channel, nick)
        if customer is None:
            customer = await uow.orders.add_customer(
                Customer(
                    org_id=actor.org_id,
                    channel=shop.channel,
                    nick=nick,
                    name=receiver.name,
                    phone=receiver.phone,
                )
            )
        customer_id = customer.id

    order = Order(
        org_id=actor.org_id,
        shop_id=shop.id,
        external_id=external_id,
        status=OrderStatus.NEW.value,
        goods_fen=totals.goods_fen,
        discount_fen=totals.discount_fen,
        shipping_fen=totals.shipping_fen,
        total_fen=totals.total_fen,
        customer_id=customer_id,
        receiver_name=receiver.name,
        receiver_phone=receiver.phone,
        receiver_phone_tail=phone_tail(receiver.phone),
        receiver_province=receiver.province,
        receiver_city=receiver.city,
        receiver_district=receiver.district,
        receiver_address=receiver.address,
        buyer_remark=draft.buyer_remark.strip(),
        seller_remark=draft.seller_remark.strip(),
        paid_at=draft.paid_at or now,
        created_at=now,
        updated_at=now,
        created_by_user_id=actor.user_id,
    )
    lines = [
        OrderLine(
            org_id=actor.org_id,
            order_id=0,
            sku_id=line.sku_id,
            quantity=line.quantity,
            unit_price_fen=line.unit_price_fen,
            discount_fen=line.discount_fen,
        )
        for line in draft.lines
    ]
    await uow.orders.add(order, lines)
    assert order.id is not None
    uow.orders.add_history(
        OrderHistory(
            org_id=actor.org_id,
            order_id=order.id,
            from_status=None,
            to_status=OrderStatus.NEW.value,
            actor_label=actor.label,
            actor_user_id=actor.user_id,
            actor_token_id=actor.token_id,
            reason="manual order",
            created_at=now,
        )
    )
    uow.emit("order.created", "Order", order.id, order_event(order, channel=shop.channel))
    audit.record(
        uow,
        actor,
        "order.create",
        "Order",
        order.id,
        externalId=external_id,
        totalFen=totals.total_fen,
        lines=len(lines),
    )
    return order


@dataclass(frozen=True)
class Cancellation:
    order_id: int
    reason: str


async def cancel_order(uow: UnitOfWork, actor: Actor, order_id: int, reason: str) -> Order:
    """``cancel_orders`` for one order; returns it cancelled."""
    await cancel_orders(uow, actor, [Cancellation(order_id, reason)])
    order = await uow.orders.get(order_id)
    assert order is not None
    return order


async def cancel_orders(
    uow: UnitOfWork, actor: Actor, cancellations: Sequence[Cancellation]
) -> None:
    """Cancel orders, each with its reason, releasing what they reserved; all or none."""
    _require(actor, ORDER_EDIT_ROLES, Scope.ORDERS_WRITE, "cancel orders")
    reasons: dict[int, str] = {}
    for cancellation in cancellations:
        reasons[cancellation.order_id] = cancellation.reason.strip()
        if not reasons[cancellation.order_id]:
            raise InvalidInput("A cancellation reason is required", field="reason")
    conn = await uow.driver()
    locked = {o.order_id: o for o in await locks.lock_order_rows(conn, actor.org_id, list(reasons))}
    for order_id in reasons:
        row = locked.get(order_id)
        if row is None or not may_see_order(actor, row.supplier_id):
            raise NotFound("Order not found", field="id")
        check_transition(OrderStatus(row.status), OrderStatus.CANCELLED)
    # Same transaction: the stock comes back exactly when the order is cancelled, or not at all.
    await stock_moves.release_orders(
        uow,
        actor,
        [
            stock_moves.Release(order_id, f"cancelled: {reason}")
            for order_id, reason in reasons.items()
        ],
    )
    await change_statuses(
        uow,
        actor,
        [
            StatusChange(order_id, OrderStatus.CANCELLED, reason)
            for order_id, reason in reasons.items()
        ],
    )
    for order_id, reason in reasons.items():
        audit.record(uow, actor, "order.cancel", "Order", order_id, reason=reason)


async def add_remark(uow: UnitOfWork, actor: Actor, order_id: int, text: str) -> OrderRemark:
    _require(actor, REMARK_ROLES, Scope.ORDERS_WRITE, "add remarks")
    text = text.strip()
    if not text:
        raise InvalidInput("A remark cannot be empty", field="text")
    if len(text) > MAX_REMARK_LENGTH:
        raise InvalidInput(f"A remark is at most {MAX_REMARK_LENGTH} characters", field="text")
    order = await get_order(uow, actor, order_id)
    assert order.id is not None
    remark = OrderRemark(
        org_id=actor.org_id,
        order_id=order.id,
        text=text,
        author_label=actor.label,
        author_user_id=actor.user_id,
    )
    uow.orders.add_remark(remark)
    await uow.flush()
    await uow.orders.touch(order, _now())
    uow.emit("order.updated", "Order", order.id, order_event(order, remark=text))
    audit.record(uow, actor, "order.remark", "Order", order.id, text=text)
    return remark


# -- reading -----------------------------------------------------------------------------------
def _read_filter(actor: Actor, flt: OrderFilter) -> OrderFilter:
    if not actor.has_scope(Scope.ORDERS_READ):
        raise Forbidden("Not allowed to read orders")
    return scope_order_filter(actor, flt)


async def find_orders(
    uow: UnitOfWork, actor: Actor, flt: OrderFilter, sort: OrderSort, offset: int, limit: int
) -> Sequence[Order]:
    return await uow.orders.list(_read_filter(actor, flt), sort, offset, limit)


async def count_orders(uow: UnitOfWork, actor: Actor, flt: OrderFilter) -> int:
    return await uow.orders.count(_read_filter(actor, flt))


async def orders_by_ids(uow: UnitOfWork, actor: Actor, ids: Sequence[int]) -> list[Order]:
    """Orders the actor may see, in the order of ``ids`` (missing ones skipped)."""
    found = await uow.orders.by_ids(ids)
    return [found[i] for i in ids if i in found and may_see_order(actor, found[i].supplier_id)]


# -- live board --------------------------------------------------------------------------------
@dataclass(frozen=True)
class LiveOrder:
    """An order as the live board shows it: the row, its lines, shop and SKUs.

    Loaded once per event for every subscriber of the seller (not once per subscriber), so it
    is loaded without an actor; each subscriber then passes ``may_receive`` with its own.
    """

    order: Order
    lines: Sequence[OrderLine]
    shop: Shop | None
    skus: Mapping[int, Sku]


async def live_orders(uow: UnitOfWork, order_ids: Collection[int]) -> dict[int, LiveOrder]:
    """The orders (of the unit of work's organisation) among ``order_ids``, with what a board
    row shows: four queries whatever the number of orders or of subscribers."""
    orders = await uow.orders.by_ids(sorted(order_ids))
    if not orders:
        return {}
    lines = await uow.orders.lines_for(sorted(orders))
    shops = await uow.shops.shops_by_ids(sorted({o.shop_id for o in orders.values()}))
    skus = await uow.catalog.skus_by_ids(
        sorted({line.sku_id for rows in lines.values() for line in rows})
    )
    return {
        order_id: LiveOrder(
            order=order,
            lines=lines.get(order_id, []),
            shop=shops.get(order.shop_id),
            skus={
                line.sku_id: skus[line.sku_id]
                for line in lines.get(order_id, [])
                if line.sku_id in skus
            },
        )
        for order_id, order in orders.items()
    }


def may_receive(actor: Actor, live: LiveOrder) -> bool:
    """The read-scope check of a subscriber, in memory: the same rule as every order query."""
    return actor.has_scope(Scope.ORDERS_READ) and may_see_order(actor, live.order.supplier_id)
