"""Order use cases: manual orders (手工单), cancellation, remarks and status changes.

Every status change goes through ``change_statuses`` (``change_status`` for one order): the
orders are locked, each change is checked by the state machine against the status as locked,
and ``db.repositories.order_status`` writes the status, its order_history row and its outbox
event, for all the orders in one statement, in the caller's transaction: the same writer the
reservation loop uses, so the three can never disagree.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from db.engine import Database
from db.integrity import duplicate
from db.repositories import locks
from db.repositories.order_status import OrderStatusChange, write_status_changes_at
from db.tables import Customer, Order, OrderHistory, OrderLine, OrderRemark, Shop, Sku
from db.uow import UnitOfWork
from domain import audit
from domain.accounts.model import Actor, Scope
from domain.accounts.permissions import require
from domain.catalog import service as catalog
from domain.errors import DomainError, ErrorCode, InvalidInput, NotFound
from domain.inventory import stock_moves
from domain.inventory.model import LedgerNote
from domain.inventory.retry import run_with_retries
from domain.orders import scope
from domain.orders.model import (
    ManualOrderDraft,
    OrderFilter,
    OrderSort,
    OrderStatus,
    check_transition,
    compute_totals,
    manual_order_number,
    phone_tail,
    seller_day,
)
from domain.paging import Page, PageResult
from domain.scope import require_found

MAX_REMARK_LENGTH = 1000


def _now() -> datetime:
    return datetime.now(UTC)


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
    """An order a mutation works on: NOT_FOUND when unknown, another seller's or out of reach;
    ``lock`` locks its row first (``locks``), until the transaction ends, and returns it as
    locked."""
    if lock:
        await locks.lock_orders(await uow.driver(), actor.org_id, [order_id])
    order = await uow.orders.get(order_id, refresh=lock)
    if order is None or not scope.may_read(scope.orders(actor), order.supplier_id):
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
    require(actor, Scope.ORDERS_WRITE, "create orders")
    receiver = draft.receiver.validated()
    totals = compute_totals(draft.lines, draft.shipping_fen)

    if draft.shop_id is not None:
        shop = await uow.shops.shop(draft.shop_id)
        if shop is None:
            raise NotFound("Shop not found", field="shopId")
    else:
        shop = await uow.shops.manual_shop() or await uow.shops.shop_named("MANUAL", "手工单")
    assert shop.id is not None

    skus = await uow.catalog.skus_by_ids([line.sku_id for line in draft.lines])
    for index, line in enumerate(draft.lines):
        if line.sku_id not in skus:
            raise DomainError(
                "Unknown SKU", field=f"lines.{index}.skuId", code=ErrorCode.UNKNOWN_SKU
            )

    now = _now()
    external_id = (draft.external_id or "").strip()
    if len(external_id) > 64:
        raise InvalidInput("External id is at most 64 characters", field="externalId")
    if external_id and await uow.orders.by_external_id(shop.id, external_id) is not None:
        raise duplicate("orders_org_id_shop_id_external_id_key")

    customer_id: int | None = None
    if draft.buyer_nick and draft.buyer_nick.strip():
        nick = draft.buyer_nick.strip()
        customer = await uow.orders.customer_by_nick(
            shop.channel, nick
        ) or await uow.orders.customer_for_nick(shop.channel, nick, receiver.name, receiver.phone)
        customer_id = customer.id

    if not external_id:
        # Last before the insert: the counter row stays locked until commit (see next_number).
        external_id = await _next_manual_number(uow, shop.id, now)
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


async def place_manual_order(db: Database, actor: Actor, draft: ManualOrderDraft) -> Order:
    """``create_manual_order`` in a transaction of its own, committed.

    A burst of one seller's manual orders queues on its number counter; a transaction that
    waits longer than the lock timeout (or meets a deadlock) is run again from the start with
    backoff, and after the last attempt the caller gets the typed CONCURRENT_UPDATE."""
    return await run_with_retries(
        db,
        actor.org_id,
        lambda uow: create_manual_order(uow, actor, draft),
        what="manual order",
    )


async def _next_manual_number(uow: UnitOfWork, shop_id: int, now: datetime) -> str:
    """The seller's next free manual order number (M20261201-000123) from its database counter.

    A number somebody typed in by hand as an external id is skipped rather than refused: the
    caller asked for a generated number, and the counter moves past it for good."""
    day = seller_day(now)
    while True:
        number = manual_order_number(day, await uow.orders.next_number(day))
        if await uow.orders.by_external_id(shop_id, number) is None:
            return number


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
    require(actor, Scope.ORDERS_WRITE, "cancel orders")
    reasons: dict[int, str] = {}
    for cancellation in cancellations:
        reasons[cancellation.order_id] = cancellation.reason.strip()
        if not reasons[cancellation.order_id]:
            raise InvalidInput("A cancellation reason is required", field="reason")
    conn = await uow.driver()
    locked = {o.order_id: o for o in await locks.lock_order_rows(conn, actor.org_id, list(reasons))}
    within = scope.orders(actor)
    for order_id in reasons:
        row = locked.get(order_id)
        if row is None or not scope.may_read(within, row.supplier_id):
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
    require(actor, Scope.ORDERS_REMARK, "add remarks")
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


# -- reading: every path asks domain/orders/scope.py -------------------------------------------
async def _readable_filter(
    uow: UnitOfWork, actor: Actor, flt: OrderFilter, sort: OrderSort
) -> OrderFilter:
    scoped = scope.readable_filter(actor, flt, sort)
    await catalog.require_shops(uow, actor, sorted(scoped.shop_ids), "filter.shopIds")
    return scoped


async def find_orders(
    uow: UnitOfWork, actor: Actor, flt: OrderFilter, sort: OrderSort, page: Page
) -> PageResult[Order]:
    return await uow.orders.list(await _readable_filter(uow, actor, flt, sort), sort, page)


async def count_orders(uow: UnitOfWork, actor: Actor, flt: OrderFilter, sort: OrderSort) -> int:
    """The total of the list ``find_orders`` pages through (refused exactly when it is)."""
    return await uow.orders.count(await _readable_filter(uow, actor, flt, sort))


async def readable_orders(uow: UnitOfWork, actor: Actor, ids: Sequence[int]) -> dict[int, Order]:
    """The orders among ``ids`` the actor may read (none without ``orders:read``)."""
    within = scope.orders(actor)
    if not within.allowed or not ids:
        return {}
    found = await uow.orders.by_ids(ids)
    return {pk: o for pk, o in found.items() if scope.may_read(within, o.supplier_id)}


async def orders_by_ids(uow: UnitOfWork, actor: Actor, ids: Sequence[int]) -> list[Order]:
    """Orders the actor may see, in the order of ``ids`` (missing ones skipped)."""
    found = await readable_orders(uow, actor, ids)
    return [found[i] for i in ids if i in found]


async def readable_order(uow: UnitOfWork, actor: Actor, order_id: int, field: str = "id") -> Order:
    """One order for a query argument: FORBIDDEN without ``orders:read``, NOT_FOUND when it is
    unknown, another seller's or out of the actor's reach."""
    scope.orders(actor).require(field)
    found = await readable_orders(uow, actor, [order_id])
    require_found([order_id], found, "Order", field)
    return found[order_id]


async def _readable_order_ids(uow: UnitOfWork, actor: Actor, ids: Sequence[int]) -> list[int]:
    within = scope.orders(actor)
    if not within.allowed:
        return []
    if not within.narrowed:
        return list(ids)
    return list(await readable_orders(uow, actor, ids))


async def lines_of_orders(
    uow: UnitOfWork, actor: Actor, order_ids: Sequence[int]
) -> dict[int, list[OrderLine]]:
    return await uow.orders.lines_for(await _readable_order_ids(uow, actor, order_ids))


async def history_of_orders(
    uow: UnitOfWork, actor: Actor, order_ids: Sequence[int]
) -> dict[int, list[OrderHistory]]:
    return await uow.orders.history_for(await _readable_order_ids(uow, actor, order_ids))


async def remarks_of_orders(
    uow: UnitOfWork, actor: Actor, order_ids: Sequence[int]
) -> dict[int, list[OrderRemark]]:
    return await uow.orders.remarks_for(await _readable_order_ids(uow, actor, order_ids))


async def lines_by_ids(uow: UnitOfWork, actor: Actor, ids: Sequence[int]) -> dict[int, OrderLine]:
    """Order lines whose order the actor may read."""
    if not scope.orders(actor).allowed or not ids:
        return {}
    lines = await uow.orders.lines_by_ids(ids)
    orders = set(
        await _readable_order_ids(uow, actor, sorted({ln.order_id for ln in lines.values()}))
    )
    return {pk: line for pk, line in lines.items() if line.order_id in orders}


async def buyers_by_ids(uow: UnitOfWork, actor: Actor, ids: Sequence[int]) -> dict[int, Customer]:
    if not scope.buyers(actor).allowed or not ids:
        return {}
    return await uow.orders.customers_by_ids(ids)


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
    within = scope.orders(actor)
    return within.allowed and scope.may_read(within, live.order.supplier_id)
