"""Stock moves (库存变动): receive (入库), count (盘点), transfer (移库), safety stock (安全库存),
release (释放), shipment (发货出库) and after-sale returns (退货入库).  Reserving is the
reservation loop's (``domain.inventory.reservation``).

Every move goes the same way, inside the caller's unit of work (these functions never commit):

1. validate the input (pure, ``model``), and that every SKU, bin and order exists here;
2. lock, through ``db.repositories.locks`` on the unit of work's driver connection: the order
   rows first when the move is about orders, then (after creating missing stock rows, sorted)
   the stock rows involved, by primary key;
3. compute the new quantities from the rows as locked (pure, ``model.apply_changes``), which
   refuses anything that would make stock negative or reserve more than is on hand;
4. write the rows and one ledger row per change, in as few statements as possible.

No network call and no await on anything but the database happens between 2 and the commit.
The moves about orders come in bulk (``release_orders``, ``commit_orders``) and for one order
(``release_order``, ``commit_order``: the bulk form with one), like receipts
(``receive_receipts``; ``receive_stock`` is one receipt, the API's form): a bulk call costs the
same handful of statements whatever its size.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from db.repositories import locks
from db.tables import Bin
from db.uow import UnitOfWork
from domain import audit
from domain.accounts.model import Actor, Scope
from domain.accounts.permissions import require
from domain.errors import InvalidInput, NotFound
from domain.inventory import model
from domain.inventory.errors import (
    BinWarehouseMismatch,
    InsufficientStock,
    UnknownBin,
    UnknownSku,
    UnknownWarehouse,
)
from domain.inventory.model import (
    AdjustLine,
    LedgerKind,
    LedgerNote,
    ReceiveLine,
    ReservationStatus,
    SafetyLine,
    StockChange,
    StockState,
    TransferLine,
)

#: The ledger reason and reservation close reason of a shipment.
SHIPPED_REASON = "shipped"


def _note(actor: Actor, reason: str = "", reference: str = "") -> LedgerNote:
    return LedgerNote(
        actor_label=actor.label,
        actor_user_id=actor.user_id,
        actor_token_id=actor.token_id,
        reason=reason,
        reference=reference.strip()[:64],
    )


def _emit_stock_changed(uow: UnitOfWork, sku_ids: set[int], kind: str) -> None:
    """Tell listeners (and the reservation loop: waiting orders may fill) that these SKUs'
    stock changed."""
    if sku_ids:
        ordered = sorted(sku_ids)
        uow.emit("stock.changed", "Sku", ordered[0], {"skuIds": ordered, "kind": kind})


async def _lock_orders(uow: UnitOfWork, actor: Actor, order_ids: Sequence[int]) -> None:
    """Lock the orders (step 2, first); NOT_FOUND unless all of them are here."""
    found = await locks.lock_orders(await uow.driver(), actor.org_id, order_ids)
    if any(order_id not in found for order_id in order_ids):
        raise NotFound("Order not found", field="orderId")


async def _lock_stock_ids(
    uow: UnitOfWork, actor: Actor, stock_ids: Sequence[int]
) -> dict[tuple[int, int], StockState]:
    by_id = await locks.lock_stock(await uow.driver(), actor.org_id, stock_ids)
    return {state.key: state for state in by_id.values()}


async def _bins_for(uow: UnitOfWork, refs: Sequence[tuple[int, str]]) -> dict[int, Bin]:
    """The bins behind (bin id, input field) pairs; UNKNOWN_BIN names the first missing one."""
    bins = await uow.layout.bins_by_ids([bin_id for bin_id, _ in refs])
    for bin_id, where in refs:
        if bin_id not in bins:
            raise UnknownBin(where)
    return bins


async def _check_skus(uow: UnitOfWork, refs: Sequence[tuple[int, str]]) -> None:
    known = await uow.catalog.known_skus([sku for sku, _ in refs])
    for sku, where in refs:
        if sku not in known:
            raise UnknownSku(where)


async def _apply(
    uow: UnitOfWork,
    actor: Actor,
    changes: Sequence[StockChange],
    bins: dict[int, Bin],
    note: LedgerNote,
) -> dict[tuple[int, int], StockState]:
    """Steps 2-4 for changes by SKU and bin (see the module docstring); returns the rows."""
    keys = sorted({(c.sku_id, c.bin_id) for c in changes})
    await uow.stock_moves.ensure_stock_rows([(sku, b, bins[b].warehouse_id) for sku, b in keys])
    states = await locks.lock_stock_at(await uow.driver(), actor.org_id, keys)
    after, ledger = model.apply_changes(states, changes)
    await uow.stock_moves.write_stock(states, after, ledger, note)
    kinds = sorted({c.kind.value for c in changes})
    _emit_stock_changed(uow, {c.sku_id for c in changes}, ",".join(kinds))
    return {k: after[k] for k in keys}


# -- receiving (入库) ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Receipt:
    """One receipt (入库单): goods arriving in bins of one warehouse, with its reason and
    number (a purchase order, a delivery note)."""

    warehouse_id: int
    items: Sequence[ReceiveLine]
    reason: str = ""
    reference: str = ""


async def receive_stock(
    uow: UnitOfWork,
    actor: Actor,
    *,
    warehouse_id: int,
    items: Sequence[ReceiveLine],
    reason: str = "",
    reference: str = "",
) -> list[StockState]:
    """入库: goods arrive in bins of one warehouse.  All lines or none."""
    receipt = Receipt(warehouse_id, items, reason, reference)
    return await _receive(uow, actor, [receipt], lambda _: "")


async def receive_receipts(
    uow: UnitOfWork, actor: Actor, receipts: Sequence[Receipt]
) -> list[StockState]:
    """入库 of many receipts at once (opening stock, a day's deliveries), each with its own
    reason and number on its ledger rows: one set of statements for all.  All or none; an
    error names the line at fault (``receipts.2.items.5.binId``)."""
    if not receipts:
        raise InvalidInput("Give at least one receipt", field="receipts")
    return await _receive(uow, actor, receipts, lambda r: f"receipts.{r}.")


async def _receive(
    uow: UnitOfWork, actor: Actor, receipts: Sequence[Receipt], where: Callable[[int], str]
) -> list[StockState]:
    require(actor, Scope.STOCK_WRITE, "receive stock")
    changes: list[StockChange] = []
    for r, receipt in enumerate(receipts):
        reason = model.check_reason(receipt.reason, required=False, field=f"{where(r)}reason")
        reference = receipt.reference.strip()[:64]
        changes += [
            replace(change, reason=reason or "received", reference=reference)
            for change in model.receive_changes(receipt.items, f"{where(r)}items")
        ]
    warehouses = await uow.layout.warehouses_by_ids([r.warehouse_id for r in receipts])
    for r, receipt in enumerate(receipts):
        if receipt.warehouse_id not in warehouses:
            raise UnknownWarehouse(f"{where(r)}warehouseId")
    lines = [
        (item, f"{where(r)}items.{i}")
        for r, receipt in enumerate(receipts)
        for i, item in enumerate(receipt.items)
    ]
    await _check_skus(uow, [(item.sku_id, f"{at}.skuId") for item, at in lines])
    bins = await _bins_for(uow, [(item.bin_id, f"{at}.binId") for item, at in lines])
    for r, receipt in enumerate(receipts):
        for i, item in enumerate(receipt.items):
            if bins[item.bin_id].warehouse_id != receipt.warehouse_id:
                raise BinWarehouseMismatch(f"{where(r)}items.{i}.binId")
    after = await _apply(uow, actor, changes, bins, _note(actor))
    for receipt in receipts:
        audit.record(
            uow,
            actor,
            "stock.receive",
            "Warehouse",
            receipt.warehouse_id,
            lines=len(receipt.items),
            units=sum(it.quantity for it in receipt.items),
            reference=receipt.reference,
        )
    return list(after.values())


# -- counting, moving, safety stock ------------------------------------------------------------
async def adjust_stock(
    uow: UnitOfWork,
    actor: Actor,
    *,
    items: Sequence[AdjustLine],
    reason: str,
    reference: str = "",
) -> list[StockState]:
    """盘点: correct on-hand quantities, with a reason.  Never below what is reserved."""
    require(actor, Scope.STOCK_WRITE, "adjust stock")
    changes = model.adjust_changes(items)
    reason = model.check_reason(reason, required=True)
    await _check_skus(uow, [(it.sku_id, f"items.{i}.skuId") for i, it in enumerate(items)])
    bins = await _bins_for(uow, [(it.bin_id, f"items.{i}.binId") for i, it in enumerate(items)])
    after = await _apply(uow, actor, changes, bins, _note(actor, reason, reference))
    audit.record(uow, actor, "stock.adjust", "Stock", None, lines=len(items), reason=reason)
    return list(after.values())


async def transfer_stock(
    uow: UnitOfWork,
    actor: Actor,
    *,
    items: Sequence[TransferLine],
    reason: str = "",
    reference: str = "",
) -> list[StockState]:
    """移库: unreserved units move between bins (also between warehouses)."""
    require(actor, Scope.STOCK_WRITE, "transfer stock")
    changes = model.transfer_changes(items)
    reason = model.check_reason(reason, required=False)
    await _check_skus(uow, [(it.sku_id, f"items.{i}.skuId") for i, it in enumerate(items)])
    refs: list[tuple[int, str]] = []
    for i, it in enumerate(items):
        refs += [(it.from_bin_id, f"items.{i}.fromBinId"), (it.to_bin_id, f"items.{i}.toBinId")]
    bins = await _bins_for(uow, refs)
    after = await _apply(uow, actor, changes, bins, _note(actor, reason or "transfer", reference))
    audit.record(
        uow,
        actor,
        "stock.transfer",
        "Stock",
        None,
        lines=len(items),
        units=sum(it.quantity for it in items),
    )
    return list(after.values())


async def set_safety_stock(
    uow: UnitOfWork, actor: Actor, *, items: Sequence[SafetyLine]
) -> list[StockState]:
    """安全库存: units of a SKU in a bin never offered for sale or reserved."""
    require(actor, Scope.STOCK_WRITE, "set safety stock")
    model.check_safety_items(items)
    await _check_skus(uow, [(it.sku_id, f"items.{i}.skuId") for i, it in enumerate(items)])
    bins = await _bins_for(uow, [(it.bin_id, f"items.{i}.binId") for i, it in enumerate(items)])
    keys = sorted({(it.sku_id, it.bin_id) for it in items})
    await uow.stock_moves.ensure_stock_rows([(sku, b, bins[b].warehouse_id) for sku, b in keys])
    states = await locks.lock_stock_at(await uow.driver(), actor.org_id, keys)
    values = {states[(it.sku_id, it.bin_id)].stock_id: it.quantity for it in items}
    await uow.stock_moves.set_safety(values)
    audit.record(
        uow,
        actor,
        "stock.set_safety",
        "Stock",
        None,
        items=[{"skuId": it.sku_id, "binId": it.bin_id, "safety": it.quantity} for it in items],
    )
    _emit_stock_changed(uow, {it.sku_id for it in items}, "SAFETY")
    return [replace(states[k], safety=values[states[k].stock_id]) for k in keys]


# -- releasing and shipping what orders reserved ---------------------------------------------
@dataclass(frozen=True)
class Release:
    """Give back an order's reserved stock: all of it, or only that of ``line_ids``."""

    order_id: int
    reason: str
    line_ids: Sequence[int] | None = None


@dataclass(frozen=True)
class ReleaseResult:
    order_id: int
    released_units: int
    reservations: int
    cancelled_backorders: int


async def release_order(
    uow: UnitOfWork,
    actor: Actor,
    order_id: int,
    reason: str,
    *,
    line_ids: Sequence[int] | None = None,
) -> ReleaseResult:
    """``release_orders`` for one order."""
    [result] = await release_orders(uow, actor, [Release(order_id, reason, line_ids)])
    return result


async def release_orders(
    uow: UnitOfWork, actor: Actor, releases: Sequence[Release]
) -> list[ReleaseResult]:
    """Give back the stock reserved for orders (or some of their lines) and drop their waiting
    backorders, in the caller's transaction: cancel, refund before shipment, line change,
    review rejection.  Each order's reason goes on its ledger rows and closed reservations.
    The orders' statuses are the caller's business."""
    wanted = {r.order_id: r for r in releases}
    if len(wanted) != len(releases):
        raise ValueError("each order is released at most once per call")
    order_ids = sorted(wanted)
    await _lock_orders(uow, actor, order_ids)
    active = [
        r
        for r in await uow.stock_queries.active_reservations(order_ids)
        if wanted[r.order_id].line_ids is None
        or r.order_line_id in (wanted[r.order_id].line_ids or ())
    ]
    states = await _lock_stock_ids(uow, actor, [r.stock_id for r in active])
    changes = [
        StockChange(
            r.sku_id,
            r.bin_id,
            LedgerKind.RELEASE,
            reserved_delta=-r.quantity,
            order_id=r.order_id,
            order_line_id=r.order_line_id,
            reservation_id=r.reservation_id,
            reason=wanted[r.order_id].reason,
        )
        for r in active
    ]
    after, ledger = model.apply_changes(states, changes)
    await uow.stock_moves.write_stock(states, after, ledger, _note(actor))
    await uow.stock_moves.close_reservations(
        {r.reservation_id: wanted[r.order_id].reason for r in active},
        ReservationStatus.RELEASED,
    )
    cancelled = await uow.stock_moves.cancel_backorders(
        [r.order_id for r in releases if r.line_ids is None],
        [(r.order_id, line) for r in releases for line in (r.line_ids or ())],
    )
    _emit_stock_changed(uow, {r.sku_id for r in active}, LedgerKind.RELEASE.value)
    units: dict[int, int] = defaultdict(int)
    count: dict[int, int] = defaultdict(int)
    for r in active:
        units[r.order_id] += r.quantity
        count[r.order_id] += 1
    return [
        ReleaseResult(
            order_id=r.order_id,
            released_units=units[r.order_id],
            reservations=count[r.order_id],
            cancelled_backorders=cancelled[r.order_id],
        )
        for r in releases
    ]


@dataclass(frozen=True)
class CommitResult:
    order_id: int
    shipped_units: int
    reservations: int


async def commit_order(uow: UnitOfWork, actor: Actor, order_id: int) -> CommitResult:
    """``commit_orders`` for one order."""
    [result] = await commit_orders(uow, actor, [order_id])
    return result


async def commit_orders(
    uow: UnitOfWork, actor: Actor, order_ids: Sequence[int]
) -> list[CommitResult]:
    """Shipment (发货出库): the reserved units leave; on_hand and reserved both go down.

    Every line of every order must be fully reserved (all orders or none ship); the orders'
    status changes are the caller's business.
    """
    if len(set(order_ids)) != len(order_ids):
        raise ValueError("each order ships at most once per call")
    await _lock_orders(uow, actor, order_ids)
    lines = await uow.orders.line_quantities(order_ids)
    active = await uow.stock_queries.active_reservations(order_ids)
    reserved_per_line: dict[int, int] = defaultdict(int)
    for r in active:
        reserved_per_line[r.order_line_id] += r.quantity
    for order_id in order_ids:
        for line_id, quantity in lines.get(order_id, {}).items():
            if reserved_per_line[line_id] != quantity:
                raise InsufficientStock(
                    f"Line {line_id} has {reserved_per_line[line_id]} of {quantity} reserved; "
                    "only a fully reserved order ships",
                    field="orderId",
                )
    states = await _lock_stock_ids(uow, actor, [r.stock_id for r in active])
    changes = [
        StockChange(
            r.sku_id,
            r.bin_id,
            LedgerKind.COMMIT,
            on_hand_delta=-r.quantity,
            reserved_delta=-r.quantity,
            order_id=r.order_id,
            order_line_id=r.order_line_id,
            reservation_id=r.reservation_id,
        )
        for r in active
    ]
    after, ledger = model.apply_changes(states, changes)
    await uow.stock_moves.write_stock(states, after, ledger, _note(actor, reason=SHIPPED_REASON))
    await uow.stock_moves.close_reservations(
        {r.reservation_id: SHIPPED_REASON for r in active}, ReservationStatus.COMMITTED
    )
    units: dict[int, int] = defaultdict(int)
    count: dict[int, int] = defaultdict(int)
    for r in active:
        units[r.order_id] += r.quantity
        count[r.order_id] += 1
    return [CommitResult(o, units[o], count[o]) for o in order_ids]


# -- after-sale returns (退货入库) ---------------------------------------------------------------
async def restock_return(
    uow: UnitOfWork,
    actor: Actor,
    *,
    order_id: int,
    order_line_id: int,
    bin_id: int,
    quantity: int,
    reason: str = "",
    reference: str = "",
) -> StockState:
    """退货入库: returned units of a shipped line go back on hand, into the chosen bin.

    At most what was shipped for that line and not yet returned.
    """
    require(actor, Scope.STOCK_WRITE, "restock returns")
    model.check_quantity(quantity, "quantity")
    reason = model.check_reason(reason, required=False)
    await _lock_orders(uow, actor, [order_id])
    lines = (await uow.orders.lines_for([order_id])).get(order_id, [])
    line = next((ln for ln in lines if ln.id == order_line_id), None)
    if line is None:
        raise NotFound("This order has no such line", field="orderLineId")
    bins = await _bins_for(uow, [(bin_id, "binId")])
    shipped = sum(
        r.quantity
        for r in await uow.stock_queries.reservations_of(
            [order_id], status=ReservationStatus.COMMITTED, line_ids=[order_line_id]
        )
    )
    returned = await uow.stock_queries.returned_units(order_line_id)
    if returned + quantity > shipped:
        raise InvalidInput(
            f"Only {shipped - returned} unit(s) of this line were shipped and not yet returned",
            field="quantity",
        )
    change = StockChange(
        line.sku_id,
        bin_id,
        LedgerKind.RETURN,
        on_hand_delta=quantity,
        order_id=order_id,
        order_line_id=order_line_id,
        field="quantity",
    )
    note = _note(actor, reason or "after-sale return", reference)
    after = await _apply(uow, actor, [change], bins, note)
    audit.record(
        uow,
        actor,
        "stock.return",
        "Order",
        order_id,
        orderLineId=order_line_id,
        binId=bin_id,
        quantity=quantity,
    )
    return after[(line.sku_id, bin_id)]
