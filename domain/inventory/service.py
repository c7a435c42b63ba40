"""Inventory use cases: receive, count, transfer, reserve, release, ship, restock; warehouses,
zones and bins; shop stock policies; reading stock, ledger and backorders.

Every change of a stock row goes the same way, inside one transaction:

1. validate the input (pure, ``model``), and that every SKU and bin exists in this organisation;
2. create missing stock rows (sorted), then lock the rows involved, sorted by primary key;
3. compute the new quantities from the locked values (pure, ``model.apply_changes``), which
   refuses anything that would make stock negative or reserve more than is on hand;
4. write the rows and one ledger row per change, in as few statements as possible.

No network call and no await on anything but the database happens between 2 and the commit.
Services that take a ``UnitOfWork`` run in the caller's transaction and never commit; the ones
that own their transactions (``reserve_order``, ``retry_backorders``) take the ``Database`` and
retry lock failures (``retry.run_with_retries``; ``reserve_order`` runs in a
``DriverUnitOfWork`` via ``retry.run_on_driver_with_retries``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import structlog

from db.engine import Database
from db.integrity import duplicate
from db.repositories.inventory import (
    LedgerFilter,
    StockFilter,
    StockTotals,
)
from db.tables import (
    Backorder,
    Bin,
    Reservation,
    ShopStockPolicyRow,
    Stock,
    StockLedgerEntry,
    Warehouse,
    Zone,
)
from db.uow import UnitOfWork
from domain import audit
from domain.accounts.model import Actor, Scope
from domain.accounts.permissions import require
from domain.catalog import service as catalog
from domain.errors import Duplicate, InvalidInput, NotFound
from domain.inventory import model, reservation, scope
from domain.inventory.errors import (
    BinWarehouseMismatch,
    InsufficientStock,
    UnknownBin,
    UnknownSku,
    UnknownWarehouse,
    UnknownZone,
)
from domain.inventory.model import (
    AdjustLine,
    BackorderStatus,
    LedgerKind,
    LedgerNote,
    ReceiveLine,
    ReservationStatus,
    SafetyLine,
    ShopStockPolicy,
    StockChange,
    StockState,
    TransferLine,
)
from domain.inventory.strategy import (
    DEFAULT_STRATEGY,
    AllocationStrategy,
)
from domain.orders import scope as orders_scope
from domain.orders.model import OrderStatus
from domain.paging import Page, PageResult
from domain.scope import require_found

log = structlog.get_logger(__name__)

#: Statuses from which ``reserve_order`` reserves (a HELD order waits for its review first).
RESERVABLE = frozenset({OrderStatus.NEW, OrderStatus.BACKORDERED})


def _note(actor: Actor, reason: str = "", reference: str = "") -> LedgerNote:
    return LedgerNote(
        actor_label=actor.label,
        actor_user_id=actor.user_id,
        actor_token_id=actor.token_id,
        reason=reason,
        reference=reference.strip()[:64],
    )


def _emit_stock_changed(uow: UnitOfWork, sku_ids: set[int], kind: str) -> None:
    """Tell listeners (and the backorder retry job) that these SKUs' stock changed."""
    if sku_ids:
        ordered = sorted(sku_ids)
        uow.emit("stock.changed", "Sku", ordered[0], {"skuIds": ordered, "kind": kind})


# -- reservation: see domain.inventory.reservation (the loop and its batch of one) ---------------
ReservationResult = reservation.ReservationResult
reserve_order = reservation.reserve_order
RESERVABLE = reservation.RESERVABLE


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
    """Give back the stock reserved for an order (or some of its lines) and drop its waiting
    backorders, in the caller's transaction: cancel, refund before shipment, line change,
    review rejection.  The order's status is the caller's business."""
    repo = uow.inventory
    if await repo.lock_order(order_id) is None:
        raise NotFound("Order not found", field="orderId")
    active = await repo.reservations_of(
        [order_id], status=ReservationStatus.ACTIVE, line_ids=line_ids
    )
    states = await repo.lock_stock_ids([r.stock_id for r in active])
    changes = [
        StockChange(
            r.sku_id,
            r.bin_id,
            LedgerKind.RELEASE,
            reserved_delta=-r.quantity,
            order_id=order_id,
            order_line_id=r.order_line_id,
            reservation_id=r.id,
        )
        for r in active
    ]
    after, ledger = model.apply_changes(states, changes)
    await repo.write_stock(states, after, ledger, _note(actor, reason=reason))
    await repo.close_reservations(
        [r.id for r in active if r.id is not None], ReservationStatus.RELEASED, reason
    )
    cancelled = await repo.cancel_backorders(order_id, line_ids)
    _emit_stock_changed(uow, {r.sku_id for r in active}, LedgerKind.RELEASE.value)
    return ReleaseResult(
        order_id=order_id,
        released_units=sum(r.quantity for r in active),
        reservations=len(active),
        cancelled_backorders=cancelled,
    )


@dataclass(frozen=True)
class CommitResult:
    order_id: int
    shipped_units: int
    reservations: int


async def commit_order(uow: UnitOfWork, actor: Actor, order_id: int) -> CommitResult:
    """Shipment (发货出库): the reserved units leave; on_hand and reserved both go down.

    Every line must be fully reserved; the order's status change is the caller's business.
    """
    repo = uow.inventory
    if await repo.lock_order(order_id) is None:
        raise NotFound("Order not found", field="orderId")
    lines = await repo.order_lines(order_id)
    active = await repo.reservations_of([order_id], status=ReservationStatus.ACTIVE)
    reserved_per_line: dict[int, int] = defaultdict(int)
    for r in active:
        reserved_per_line[r.order_line_id] += r.quantity
    for line in lines:
        assert line.id is not None
        if reserved_per_line[line.id] != line.quantity:
            raise InsufficientStock(
                f"Line {line.id} has {reserved_per_line[line.id]} of {line.quantity} reserved; "
                "only a fully reserved order ships",
                field="orderId",
            )
    states = await repo.lock_stock_ids([r.stock_id for r in active])
    changes = [
        StockChange(
            r.sku_id,
            r.bin_id,
            LedgerKind.COMMIT,
            on_hand_delta=-r.quantity,
            reserved_delta=-r.quantity,
            order_id=order_id,
            order_line_id=r.order_line_id,
            reservation_id=r.id,
        )
        for r in active
    ]
    after, ledger = model.apply_changes(states, changes)
    await repo.write_stock(states, after, ledger, _note(actor, reason="shipped"))
    await repo.close_reservations(
        [r.id for r in active if r.id is not None], ReservationStatus.COMMITTED, "shipped"
    )
    return CommitResult(
        order_id=order_id,
        shipped_units=sum(r.quantity for r in active),
        reservations=len(active),
    )


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
    repo = uow.inventory
    if await repo.lock_order(order_id) is None:
        raise NotFound("Order not found", field="orderId")
    line = next((ln for ln in await repo.order_lines(order_id) if ln.id == order_line_id), None)
    if line is None:
        raise NotFound("This order has no such line", field="orderLineId")
    bins = await repo.bins_by_ids([bin_id])
    if bin_id not in bins:
        raise UnknownBin("binId")
    shipped = sum(
        r.quantity
        for r in await repo.reservations_of(
            [order_id], status=ReservationStatus.COMMITTED, line_ids=[order_line_id]
        )
    )
    returned = await repo.returned_quantity(order_line_id)
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
    after = await _apply(uow, actor, [change], bins, reason or "after-sale return", reference)
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


# -- stock changes by staff --------------------------------------------------------------------
async def _bins_for(uow: UnitOfWork, refs: Sequence[tuple[int, str]]) -> dict[int, Bin]:
    """The bins behind (bin id, input field) pairs; UNKNOWN_BIN names the first missing one."""
    bins = await uow.inventory.bins_by_ids([bin_id for bin_id, _ in refs])
    for bin_id, where in refs:
        if bin_id not in bins:
            raise UnknownBin(where)
    return bins


async def _check_skus(uow: UnitOfWork, refs: Sequence[tuple[int, str]]) -> None:
    known = await uow.inventory.known_skus([sku for sku, _ in refs])
    for sku, where in refs:
        if sku not in known:
            raise UnknownSku(where)


async def _apply(
    uow: UnitOfWork,
    actor: Actor,
    changes: Sequence[StockChange],
    bins: dict[int, Bin],
    reason: str,
    reference: str,
) -> dict[tuple[int, int], StockState]:
    """Steps 2-4 of every stock change (see the module docstring); returns the changed rows."""
    repo = uow.inventory
    keys = sorted({(c.sku_id, c.bin_id) for c in changes})
    await repo.ensure_stock_rows([(sku, b, bins[b].warehouse_id) for sku, b in keys])
    states = await repo.lock_stock(keys)
    after, ledger = model.apply_changes(states, changes)
    await repo.write_stock(states, after, ledger, _note(actor, reason, reference))
    kinds = sorted({c.kind.value for c in changes})
    _emit_stock_changed(uow, {c.sku_id for c in changes}, ",".join(kinds))
    return {k: after[k] for k in keys}


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
    require(actor, Scope.STOCK_WRITE, "receive stock")
    changes = model.receive_changes(items)
    reason = model.check_reason(reason, required=False)
    warehouse = await uow.inventory.warehouse(warehouse_id)
    if warehouse is None:
        raise UnknownWarehouse("warehouseId")
    await _check_skus(uow, [(it.sku_id, f"items.{i}.skuId") for i, it in enumerate(items)])
    bins = await _bins_for(uow, [(it.bin_id, f"items.{i}.binId") for i, it in enumerate(items)])
    for i, item in enumerate(items):
        if bins[item.bin_id].warehouse_id != warehouse_id:
            raise BinWarehouseMismatch(f"items.{i}.binId")
    after = await _apply(uow, actor, changes, bins, reason or "received", reference)
    audit.record(
        uow,
        actor,
        "stock.receive",
        "Warehouse",
        warehouse_id,
        lines=len(items),
        units=sum(it.quantity for it in items),
        reference=reference,
    )
    return list(after.values())


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
    after = await _apply(uow, actor, changes, bins, reason, reference)
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
    after = await _apply(uow, actor, changes, bins, reason or "transfer", reference)
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
    repo = uow.inventory
    keys = sorted({(it.sku_id, it.bin_id) for it in items})
    await repo.ensure_stock_rows([(sku, b, bins[b].warehouse_id) for sku, b in keys])
    states = await repo.lock_stock(keys)
    values = {states[(it.sku_id, it.bin_id)].stock_id: it.quantity for it in items}
    await repo.set_safety(values)
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


# -- warehouses, zones, bins -------------------------------------------------------------------
def _check_name(value: str, field_name: str, *, max_length: int, required: bool = True) -> str:
    value = value.strip()
    if required and not value:
        raise InvalidInput(f"{field_name} is required", field=field_name)
    if len(value) > max_length:
        raise InvalidInput(f"{field_name} is at most {max_length} characters", field=field_name)
    return value


def _check_provinces(provinces: Sequence[str]) -> list[str]:
    cleaned = [p.strip() for p in provinces if p.strip()]
    for p in cleaned:
        if len(p) > 32:
            raise InvalidInput("A province name is at most 32 characters", field="provinces")
    return list(dict.fromkeys(cleaned))


async def create_warehouse(
    uow: UnitOfWork,
    actor: Actor,
    *,
    code: str,
    name: str,
    address: str = "",
    provinces: Sequence[str] = (),
    priority: int = 100,
) -> Warehouse:
    require(actor, Scope.LAYOUT_WRITE, "manage warehouses")
    code = _check_name(code, "code", max_length=32).upper()
    name = _check_name(name, "name", max_length=200)
    if await uow.inventory.warehouse_by_code(code) is not None:
        raise duplicate("warehouses_org_id_code_key")
    warehouse = Warehouse(
        org_id=actor.org_id,
        code=code,
        name=name,
        address=address.strip(),
        provinces=_check_provinces(provinces),
        priority=priority,
    )
    await uow.inventory.add(warehouse)
    audit.record(uow, actor, "warehouse.create", "Warehouse", warehouse.id, code=code)
    return warehouse


async def update_warehouse(
    uow: UnitOfWork,
    actor: Actor,
    warehouse_id: int,
    *,
    name: str | None = None,
    address: str | None = None,
    provinces: Sequence[str] | None = None,
    priority: int | None = None,
    is_active: bool | None = None,
) -> Warehouse:
    require(actor, Scope.LAYOUT_WRITE, "manage warehouses")
    warehouse = await uow.inventory.warehouse(warehouse_id)
    if warehouse is None:
        raise UnknownWarehouse("id")
    changes: dict[str, Any] = {}
    if name is not None:
        changes["name"] = _check_name(name, "name", max_length=200)
    if address is not None:
        changes["address"] = address.strip()
    if provinces is not None:
        changes["provinces"] = _check_provinces(provinces)
    if priority is not None:
        changes["priority"] = priority
    if is_active is not None:
        changes["is_active"] = is_active
    for key, value in changes.items():
        setattr(warehouse, key, value)
    await uow.flush()
    audit.record(uow, actor, "warehouse.update", "Warehouse", warehouse_id, **changes)
    return warehouse


async def create_zone(
    uow: UnitOfWork,
    actor: Actor,
    *,
    warehouse_id: int,
    code: str,
    name: str = "",
    walk_order: int = 0,
) -> Zone:
    require(actor, Scope.LAYOUT_WRITE, "manage zones")
    code = model.check_zone_code(code)
    name = _check_name(name, "name", max_length=100, required=False)
    if await uow.inventory.warehouse(warehouse_id) is None:
        raise UnknownWarehouse("warehouseId")
    if await uow.inventory.zone_by_code(warehouse_id, code) is not None:
        raise duplicate("zones_org_id_warehouse_id_code_key")
    zone = Zone(
        org_id=actor.org_id,
        warehouse_id=warehouse_id,
        code=code,
        name=name,
        walk_order=walk_order,
    )
    await uow.inventory.add(zone)
    audit.record(uow, actor, "zone.create", "Zone", zone.id, code=code, warehouseId=warehouse_id)
    return zone


async def update_zone(
    uow: UnitOfWork,
    actor: Actor,
    zone_id: int,
    *,
    name: str | None = None,
    walk_order: int | None = None,
) -> Zone:
    require(actor, Scope.LAYOUT_WRITE, "manage zones")
    zone = await uow.inventory.zone(zone_id)
    if zone is None:
        raise UnknownZone("id")
    if name is not None:
        zone.name = _check_name(name, "name", max_length=100, required=False)
    if walk_order is not None:
        zone.walk_order = walk_order
    await uow.flush()
    audit.record(uow, actor, "zone.update", "Zone", zone_id, name=zone.name, walkOrder=walk_order)
    return zone


@dataclass(frozen=True)
class BinDraft:
    code: str
    walk_seq: int = 0


async def create_bins(
    uow: UnitOfWork, actor: Actor, *, zone_id: int, bins: Sequence[BinDraft]
) -> list[Bin]:
    """库位: add bins to a zone, all or none."""
    require(actor, Scope.LAYOUT_WRITE, "manage bins")
    model.check_items(bins, "bins")
    zone = await uow.inventory.zone(zone_id)
    if zone is None:
        raise UnknownZone("zoneId")
    codes: list[str] = []
    for i, draft in enumerate(bins):
        codes.append(model.check_bin_code(draft.code, f"bins.{i}.code"))
        if draft.walk_seq < 0:
            raise InvalidInput("The walk sequence cannot be negative", field=f"bins.{i}.walkSeq")
    seen: set[str] = set()
    for i, code in enumerate(codes):
        if code in seen:
            raise Duplicate(f"Bin {code} is listed twice", field=f"bins.{i}.code")
        seen.add(code)
    await _refuse_taken_bin_codes(uow, zone.warehouse_id, codes)
    rows = [
        Bin(
            org_id=actor.org_id,
            warehouse_id=zone.warehouse_id,
            zone_id=zone_id,
            code=code,
            walk_seq=draft.walk_seq,
        )
        for code, draft in zip(codes, bins, strict=True)
    ]
    try:
        async with uow.savepoint():
            await uow.inventory.add_bins(rows)
    except Duplicate:
        # A concurrent request added one of these codes after the check above (the database
        # does not say which code under RLS): the check, run again now that the other
        # request has committed, names the input row.
        await _refuse_taken_bin_codes(uow, zone.warehouse_id, codes)
        raise
    audit.record(uow, actor, "bin.create", "Zone", zone_id, codes=codes)
    return rows


async def _refuse_taken_bin_codes(uow: UnitOfWork, warehouse_id: int, codes: list[str]) -> None:
    taken = await uow.inventory.bin_codes_taken(warehouse_id, codes)
    for i, code in enumerate(codes):
        if code in taken:
            error = duplicate("bins_org_id_warehouse_id_code_key")
            error.field = f"bins.{i}.code"
            raise error


async def update_bin(
    uow: UnitOfWork,
    actor: Actor,
    bin_id: int,
    *,
    code: str | None = None,
    walk_seq: int | None = None,
) -> Bin:
    require(actor, Scope.LAYOUT_WRITE, "manage bins")
    found = await uow.inventory.bins_by_ids([bin_id])
    if bin_id not in found:
        raise UnknownBin("id")
    row = found[bin_id]
    if code is not None:
        code = model.check_bin_code(code)
        if code != row.code and await uow.inventory.bin_codes_taken(row.warehouse_id, [code]):
            raise duplicate("bins_org_id_warehouse_id_code_key")
        row.code = code
    if walk_seq is not None:
        if walk_seq < 0:
            raise InvalidInput("The walk sequence cannot be negative", field="walkSeq")
        row.walk_seq = walk_seq
    await uow.flush()
    audit.record(uow, actor, "bin.update", "Bin", bin_id, code=row.code, walkSeq=row.walk_seq)
    return row


# -- shop stock policies (库存同步) -------------------------------------------------------------
async def set_shop_stock_policy(
    uow: UnitOfWork, actor: Actor, shop_id: int, policy: ShopStockPolicy
) -> ShopStockPolicyRow:
    require(actor, Scope.LAYOUT_WRITE, "set stock policies")
    policy = policy.validated()
    if await uow.shops.shop(shop_id) is None:
        raise NotFound("Shop not found", field="shopId")
    row = await uow.inventory.lock_policy_row(shop_id)
    row.ratio_percent = policy.ratio_percent
    row.cap = policy.cap
    row.pool = policy.pool
    row.allow_split = policy.allow_split
    row.updated_at = datetime.now(UTC)
    await uow.flush()
    audit.record(
        uow,
        actor,
        "shop.stock_policy",
        "Shop",
        shop_id,
        ratioPercent=policy.ratio_percent,
        cap=policy.cap,
        pool=policy.pool,
        allowSplit=policy.allow_split,
    )
    return row


async def channel_quantities(
    uow: UnitOfWork, actor: Actor, shop_id: int, sku_ids: Sequence[int]
) -> dict[int, int]:
    """What shop ``shop_id`` may list per SKU (the stock push to platforms calls this)."""
    scope.stock(actor).require()
    await catalog.require_shops(uow, actor, [shop_id], "shopId")
    available = await uow.inventory.available_by_sku(sku_ids)
    policies = await uow.inventory.shop_policies()
    return {
        sku: model.channel_available(available.get(sku, 0), shop_id, policies) for sku in sku_ids
    }


# -- backorders --------------------------------------------------------------------------------
@dataclass(frozen=True)
class BackorderRetryReport:
    tried: int = 0
    reserved: int = 0
    still_waiting: int = 0
    skipped: int = 0


async def retry_backorders(
    db: Database,
    org_id: int,
    *,
    strategy: AllocationStrategy = DEFAULT_STRATEGY,
) -> BackorderRetryReport:
    """Run the reservation loop until nothing is pending: waiting orders whose SKUs gained
    stock are tried again, first paid first served, together with any new orders."""
    drained = await reservation.drain(db, org_id, strategy=strategy)
    report = BackorderRetryReport(drained.orders, drained.reserved, drained.backordered, 0)
    if drained.orders:
        log.info("stock.backorders_retried", org_id=org_id, **report.__dict__)
    return report


# -- reading: every path asks domain/inventory/scope.py ----------------------------------------
async def _require_stock_ids(
    uow: UnitOfWork,
    *,
    warehouse_ids: Sequence[int] = (),
    zone_ids: Sequence[int] = (),
    field: str,
) -> None:
    """Id arguments naming warehouses or zones (the caller holds ``stock:read``, which reaches
    all of them): NOT_FOUND when unknown or another seller's."""
    if warehouse_ids:
        found = await uow.shops.warehouses_by_ids(warehouse_ids)
        require_found(warehouse_ids, found, "Warehouse", field)
    if zone_ids:
        require_found(zone_ids, await uow.inventory.zones_by_ids(zone_ids), "Zone", field)


async def _require_orders(uow: UnitOfWork, actor: Actor, ids: Sequence[int], field: str) -> None:
    """Id arguments naming orders go through the orders scope: FORBIDDEN without
    ``orders:read``, NOT_FOUND when out of reach.  (Not through domain.orders.service, which
    imports this module.)"""
    if not ids:
        return
    within = orders_scope.orders(actor).require(field)
    found = await uow.orders.by_ids(ids)
    readable = [pk for pk, o in found.items() if orders_scope.may_read(within, o.supplier_id)]
    require_found(ids, readable, "Order", field)


async def _readable_stock_filter(uow: UnitOfWork, actor: Actor, flt: StockFilter) -> StockFilter:
    scope.stock(actor).require()
    await catalog.require_skus(uow, actor, sorted(flt.sku_ids), "filter.skuIds")
    await _require_stock_ids(uow, warehouse_ids=_one(flt.warehouse_id), field="filter.warehouseId")
    await _require_stock_ids(uow, zone_ids=_one(flt.zone_id), field="filter.zoneId")
    return flt


async def _readable_ledger_filter(uow: UnitOfWork, actor: Actor, flt: LedgerFilter) -> LedgerFilter:
    scope.stock(actor).require()
    await catalog.require_skus(uow, actor, sorted(flt.sku_ids), "filter.skuIds")
    await _require_orders(uow, actor, _one(flt.order_id), "filter.orderId")
    await _require_stock_ids(uow, warehouse_ids=_one(flt.warehouse_id), field="filter.warehouseId")
    return flt


def _one(pk: int | None) -> list[int]:
    return [pk] if pk is not None else []


async def stock_levels(
    uow: UnitOfWork, actor: Actor, flt: StockFilter, page: Page
) -> PageResult[Stock]:
    flt = await _readable_stock_filter(uow, actor, flt)
    return await uow.inventory.list_stock(flt, page)


async def count_stock_levels(uow: UnitOfWork, actor: Actor, flt: StockFilter) -> int:
    return await uow.inventory.count_stock(await _readable_stock_filter(uow, actor, flt))


async def stock_totals(uow: UnitOfWork, actor: Actor, flt: StockFilter) -> StockTotals:
    return await uow.inventory.stock_totals(await _readable_stock_filter(uow, actor, flt))


async def ledger_entries(
    uow: UnitOfWork, actor: Actor, flt: LedgerFilter, page: Page
) -> PageResult[StockLedgerEntry]:
    flt = await _readable_ledger_filter(uow, actor, flt)
    return await uow.inventory.list_ledger(flt, page)


async def count_ledger_entries(uow: UnitOfWork, actor: Actor, flt: LedgerFilter) -> int:
    return await uow.inventory.count_ledger(await _readable_ledger_filter(uow, actor, flt))


async def backorders(
    uow: UnitOfWork,
    actor: Actor,
    status: BackorderStatus | None,
    sku_ids: frozenset[int],
    page: Page,
) -> PageResult[Backorder]:
    scope.stock(actor).require()
    await catalog.require_skus(uow, actor, sorted(sku_ids), "skuIds")
    return await uow.inventory.list_backorders(status, sku_ids, page)


async def count_backorders(
    uow: UnitOfWork, actor: Actor, status: BackorderStatus | None, sku_ids: frozenset[int]
) -> int:
    scope.stock(actor).require()
    await catalog.require_skus(uow, actor, sorted(sku_ids), "skuIds")
    return await uow.inventory.count_backorders(status, sku_ids)


async def reservations_for_order(
    uow: UnitOfWork, actor: Actor, order_id: int, field: str = "orderId"
) -> list[Reservation]:
    """What is reserved for one order: ``stock:read``, and the order inside the orders scope."""
    scope.stock(actor).require()
    await _require_orders(uow, actor, [order_id], field)
    return await uow.inventory.reservations_of([order_id])


async def zones_of(uow: UnitOfWork, actor: Actor, warehouse_id: int) -> list[Zone]:
    scope.stock(actor).require()
    await _require_stock_ids(uow, warehouse_ids=[warehouse_id], field="warehouseId")
    return (await uow.inventory.zones_for_warehouses([warehouse_id]))[warehouse_id]


async def find_bins(
    uow: UnitOfWork,
    actor: Actor,
    *,
    zone_id: int | None,
    warehouse_id: int | None,
    page: Page,
) -> PageResult[Bin]:
    await _readable_bins_filter(uow, actor, zone_id, warehouse_id)
    return await uow.inventory.list_bins(zone_id, warehouse_id, page)


async def count_bins(
    uow: UnitOfWork, actor: Actor, *, zone_id: int | None, warehouse_id: int | None
) -> int:
    await _readable_bins_filter(uow, actor, zone_id, warehouse_id)
    return await uow.inventory.count_bins(zone_id, warehouse_id)


async def _readable_bins_filter(
    uow: UnitOfWork, actor: Actor, zone_id: int | None, warehouse_id: int | None
) -> None:
    scope.stock(actor).require()
    await _require_stock_ids(uow, warehouse_ids=_one(warehouse_id), field="warehouseId")
    await _require_stock_ids(uow, zone_ids=_one(zone_id), field="zoneId")


async def shop_stock_policies(uow: UnitOfWork, actor: Actor) -> list[ShopStockPolicyRow]:
    scope.stock(actor).require()
    return await uow.inventory.policy_rows()


# -- by id (node, DataLoaders): only what the actor may read, nothing without stock:read --------
async def stock_levels_by_ids(
    uow: UnitOfWork, actor: Actor, ids: Sequence[int]
) -> dict[int, Stock]:
    if not scope.stock(actor).allowed or not ids:
        return {}
    return await uow.inventory.stock_by_ids(ids)


async def zones_by_ids(uow: UnitOfWork, actor: Actor, ids: Sequence[int]) -> dict[int, Zone]:
    if not scope.stock(actor).allowed or not ids:
        return {}
    return await uow.inventory.zones_by_ids(ids)


async def bins_by_ids(uow: UnitOfWork, actor: Actor, ids: Sequence[int]) -> dict[int, Bin]:
    if not scope.stock(actor).allowed or not ids:
        return {}
    return await uow.inventory.bins_by_ids(ids)


async def ledger_by_ids(
    uow: UnitOfWork, actor: Actor, ids: Sequence[int]
) -> dict[int, StockLedgerEntry]:
    if not scope.stock(actor).allowed or not ids:
        return {}
    return await uow.inventory.ledger_by_ids(ids)


async def reservations_by_ids(
    uow: UnitOfWork, actor: Actor, ids: Sequence[int]
) -> dict[int, Reservation]:
    if not scope.stock(actor).allowed or not ids:
        return {}
    return await uow.inventory.reservations_by_ids(ids)


async def reservations_of_orders(
    uow: UnitOfWork, actor: Actor, order_ids: Sequence[int]
) -> list[Reservation]:
    if not scope.stock(actor).allowed:
        return []
    return await uow.inventory.reservations_of(order_ids)


async def backorders_by_ids(
    uow: UnitOfWork, actor: Actor, ids: Sequence[int]
) -> dict[int, Backorder]:
    if not scope.stock(actor).allowed or not ids:
        return {}
    return await uow.inventory.backorders_by_ids(ids)


async def available_by_sku(uow: UnitOfWork, actor: Actor, sku_ids: Sequence[int]) -> dict[int, int]:
    if not scope.stock(actor).allowed:
        return {}
    return await uow.inventory.available_by_sku(sku_ids)


async def shop_policies(uow: UnitOfWork, actor: Actor) -> dict[int, ShopStockPolicy]:
    if not scope.stock(actor).allowed:
        return {}
    return await uow.inventory.shop_policies()
