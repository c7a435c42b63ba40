"""Inventory (库存): stock per SKU and bin, the changes allowed to it, and channel quantities.

Pure Python: no database, no I/O.  The rules that keep stock honest live here and are unit-tested
without PostgreSQL; the service only loads locked rows, calls these, and writes the result.

Vocabulary, per stock row (one SKU in one bin, 库位):

- ``on_hand``  (实物库存): units physically in the bin.
- ``reserved`` (占用): units promised to orders and not yet shipped.
- ``safety``   (安全库存): units kept back from sale.
- ``available`` (可售) = on_hand - reserved - safety.  Reservations never take it below zero;
  a stock count (盘点) may, because the count is the truth.

``reserved <= on_hand`` always holds (a database CHECK enforces it even if code is wrong): we
never promise a unit we do not have.  That is the "never oversell" invariant.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from functools import lru_cache

from domain.errors import InvalidInput
from domain.inventory.errors import InsufficientStock, NegativeQuantity, SameBin

#: Largest quantity one input line may move: far below the int4 columns' limit.
MAX_QUANTITY = 1_000_000
#: Longest list a bulk mutation takes in one transaction.
MAX_BULK_ITEMS = 500
#: Bin codes such as ``A-03-2-1`` (zone-aisle-shelf-level): letters, digits, dashes.
BIN_CODE_RE = re.compile(r"^[A-Z0-9]+(?:-[A-Z0-9]+)*$")
ZONE_CODE_RE = re.compile(r"^[A-Z0-9][A-Z0-9_-]{0,15}$")


class ReservationStatus(StrEnum):
    ACTIVE = "ACTIVE"  # 占用中
    RELEASED = "RELEASED"  # 已释放 (cancel, refund, line change, review rejection)
    COMMITTED = "COMMITTED"  # 已出库 (shipped)


class BackorderStatus(StrEnum):
    WAITING = "WAITING"  # 缺货等待
    FILLED = "FILLED"  # stock arrived and was reserved
    CANCELLED = "CANCELLED"  # the order (line) was cancelled or changed


class LedgerKind(StrEnum):
    """Why a stock row changed (库存流水类型)."""

    RECEIVE = "RECEIVE"  # 入库
    ADJUST = "ADJUST"  # 盘点调整
    TRANSFER_OUT = "TRANSFER_OUT"  # 移库 (出)
    TRANSFER_IN = "TRANSFER_IN"  # 移库 (入)
    RESERVE = "RESERVE"  # 占用
    RELEASE = "RELEASE"  # 释放
    COMMIT = "COMMIT"  # 发货出库
    RETURN = "RETURN"  # 退货入库


# -- stock rows and the changes applied to them -------------------------------------------------
@dataclass(frozen=True)
class StockState:
    """One stock row as locked in the current transaction."""

    stock_id: int
    sku_id: int
    warehouse_id: int
    bin_id: int
    on_hand: int
    reserved: int
    safety: int = 0

    @property
    def key(self) -> tuple[int, int]:
        return (self.sku_id, self.bin_id)

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved - self.safety

    @property
    def unreserved(self) -> int:
        """Units that may leave the bin (transfer, count down) without breaking a promise."""
        return self.on_hand - self.reserved


@dataclass(frozen=True)
class StockChange:
    """An intended change of one stock row (by SKU and bin); ``field`` names the input line."""

    sku_id: int
    bin_id: int
    kind: LedgerKind
    on_hand_delta: int = 0
    reserved_delta: int = 0
    #: For a stock count (盘点): the counted on_hand; the delta is computed from the locked row.
    on_hand_to: int | None = None
    order_id: int | None = None
    order_line_id: int | None = None
    reservation_id: int | None = None
    field: str | None = None
    #: This change's own reason and reference for its ledger row, when the lines of one bulk
    #: call differ (each cancelled order its reason, each receipt its number); None: the call's.
    reason: str | None = None
    reference: str | None = None


@dataclass(frozen=True)
class LedgerEntry:
    """One stock ledger (库存流水) row: the change and the quantities that resulted."""

    stock_id: int
    sku_id: int
    warehouse_id: int
    bin_id: int
    kind: LedgerKind
    on_hand_delta: int
    reserved_delta: int
    on_hand_after: int
    reserved_after: int
    order_id: int | None = None
    order_line_id: int | None = None
    reservation_id: int | None = None
    #: Overrides of the ledger note's reason and reference (``StockChange.reason``).
    reason: str | None = None
    reference: str | None = None


def apply_changes(
    states: Mapping[tuple[int, int], StockState], changes: Sequence[StockChange]
) -> tuple[dict[tuple[int, int], StockState], list[LedgerEntry]]:
    """Apply ``changes`` in order to the locked rows; return the new rows and the ledger.

    Raises ``InsufficientStock`` (pointing at the offending input line) when a change would
    leave a row with negative on-hand or reserved, or with more reserved than on hand.  A change
    that changes nothing (a count equal to on_hand) writes no ledger row.
    """
    current = dict(states)
    ledger: list[LedgerEntry] = []
    for change in changes:
        state = current.get((change.sku_id, change.bin_id))
        if state is None:
            raise InsufficientStock("No stock of this SKU in this bin", field=change.field)
        on_hand_delta = change.on_hand_delta
        if change.on_hand_to is not None:
            on_hand_delta = change.on_hand_to - state.on_hand
        if on_hand_delta == 0 and change.reserved_delta == 0:
            continue
        on_hand = state.on_hand + on_hand_delta
        reserved = state.reserved + change.reserved_delta
        if on_hand < 0 or reserved < 0 or reserved > on_hand:
            raise InsufficientStock(_shortage_message(state, change.kind), field=change.field)
        new_state = replace(state, on_hand=on_hand, reserved=reserved)
        current[state.key] = new_state
        ledger.append(
            LedgerEntry(
                stock_id=state.stock_id,
                sku_id=state.sku_id,
                warehouse_id=state.warehouse_id,
                bin_id=state.bin_id,
                kind=change.kind,
                on_hand_delta=on_hand_delta,
                reserved_delta=change.reserved_delta,
                on_hand_after=on_hand,
                reserved_after=reserved,
                order_id=change.order_id,
                order_line_id=change.order_line_id,
                reservation_id=change.reservation_id,
                reason=change.reason,
                reference=change.reference,
            )
        )
    return current, ledger


def _shortage_message(state: StockState, kind: LedgerKind) -> str:
    if kind in (LedgerKind.TRANSFER_OUT, LedgerKind.ADJUST):
        return (
            f"Only {state.unreserved} unreserved in this bin "
            f"(on hand {state.on_hand}, reserved {state.reserved})"
        )
    return f"Not enough stock in this bin (on hand {state.on_hand}, reserved {state.reserved})"


@dataclass(frozen=True)
class LedgerNote:
    """Who made a change and why; written on each ledger row of that change."""

    actor_label: str
    actor_user_id: int | None = None
    actor_token_id: int | None = None
    reason: str = ""
    reference: str = ""


@dataclass(frozen=True)
class StockSlot:
    """A stock row with its bin's place on the pick walk and its warehouse's reach."""

    state: StockState
    bin_code: str
    zone_order: int
    walk_seq: int
    warehouse_provinces: tuple[str, ...]
    warehouse_priority: int


@dataclass(frozen=True)
class DemandLine:
    line_id: int
    sku_id: int
    quantity: int
    reserved: int

    @property
    def missing(self) -> int:
        return self.quantity - self.reserved


@dataclass(frozen=True)
class OrderDemand:
    """An order as reservation sees it: its lines, what is already reserved, its shop's rules."""

    order_id: int
    status: str
    shop_id: int
    external_id: str
    total_fen: int
    province: str
    paid_at: datetime | None
    allow_partial: bool
    allow_split: bool
    lines: tuple[DemandLine, ...]
    reserved_warehouses: frozenset[int]


# -- reading: filters and sums --------------------------------------------------------------------
@dataclass(frozen=True)
class StockFilter:
    """Which stock levels to list: every field narrows, all combined."""

    sku_ids: frozenset[int] = frozenset()
    warehouse_id: int | None = None
    zone_id: int | None = None
    #: Only rows with safety stock whose available quantity is below zero (below safety).
    below_safety: bool = False
    #: Only rows with nothing available (可售为零).
    zero_available: bool = False


@dataclass(frozen=True)
class StockTotals:
    """Sums over every stock level a filter matches (all pages)."""

    on_hand: int
    reserved: int
    safety: int
    available: int


@dataclass(frozen=True)
class LedgerFilter:
    """Which stock ledger rows (库存流水) to list; ``until`` is exclusive."""

    sku_ids: frozenset[int] = frozenset()
    order_id: int | None = None
    warehouse_id: int | None = None
    kinds: frozenset[LedgerKind] = frozenset()
    since: datetime | None = None
    until: datetime | None = None


# -- input lines of the stock mutations ---------------------------------------------------------
@dataclass(frozen=True)
class ReceiveLine:
    """入库: ``quantity`` units of a SKU arrive in a bin of the receiving warehouse."""

    sku_id: int
    bin_id: int
    quantity: int


@dataclass(frozen=True)
class AdjustLine:
    """盘点: either a signed ``delta`` or the ``counted`` quantity found in the bin."""

    sku_id: int
    bin_id: int
    delta: int | None = None
    counted: int | None = None


@dataclass(frozen=True)
class TransferLine:
    """移库: unreserved units move from one bin to another."""

    sku_id: int
    from_bin_id: int
    to_bin_id: int
    quantity: int


@dataclass(frozen=True)
class SafetyLine:
    """安全库存 of a SKU in a bin: units never offered for sale."""

    sku_id: int
    bin_id: int
    quantity: int


def check_quantity(quantity: int, field: str, *, allow_zero: bool = False) -> None:
    low = 0 if allow_zero else 1
    if quantity < low:
        message = "Quantity cannot be negative" if allow_zero else "Quantity must be at least 1"
        raise NegativeQuantity(message, field=field)
    if quantity > MAX_QUANTITY:
        raise InvalidInput(f"Quantity is at most {MAX_QUANTITY}", field=field)


def check_items(items: Sequence[object], field: str = "items") -> None:
    if not items:
        raise InvalidInput("Give at least one line", field=field)
    if len(items) > MAX_BULK_ITEMS:
        raise InvalidInput(f"At most {MAX_BULK_ITEMS} lines at once", field=field)


def check_reason(reason: str, *, required: bool, field: str = "reason") -> str:
    reason = reason.strip()
    if required and not reason:
        raise InvalidInput("A reason is required", field=field)
    if len(reason) > 500:
        raise InvalidInput("A reason is at most 500 characters", field=field)
    return reason


def receive_changes(items: Sequence[ReceiveLine], field: str = "items") -> list[StockChange]:
    """The changes of one receipt (入库单); ``field`` is where its lines are in the input."""
    check_items(items, field)
    changes = []
    for i, item in enumerate(items):
        check_quantity(item.quantity, f"{field}.{i}.quantity")
        changes.append(
            StockChange(
                item.sku_id,
                item.bin_id,
                LedgerKind.RECEIVE,
                on_hand_delta=item.quantity,
                field=f"{field}.{i}.quantity",
            )
        )
    return changes


def adjust_changes(items: Sequence[AdjustLine]) -> list[StockChange]:
    check_items(items)
    changes = []
    for i, item in enumerate(items):
        where = f"items.{i}"
        if (item.delta is None) == (item.counted is None):
            raise InvalidInput("Give either a delta or a counted quantity", field=where)
        if item.delta is not None:
            if item.delta == 0:
                raise InvalidInput("An adjustment cannot be zero", field=f"{where}.delta")
            if abs(item.delta) > MAX_QUANTITY:
                raise InvalidInput(
                    f"An adjustment is at most {MAX_QUANTITY}", field=f"{where}.delta"
                )
            changes.append(
                StockChange(
                    item.sku_id,
                    item.bin_id,
                    LedgerKind.ADJUST,
                    on_hand_delta=item.delta,
                    field=f"{where}.delta",
                )
            )
        else:
            assert item.counted is not None
            check_quantity(item.counted, f"{where}.counted", allow_zero=True)
            changes.append(
                StockChange(
                    item.sku_id,
                    item.bin_id,
                    LedgerKind.ADJUST,
                    on_hand_to=item.counted,
                    field=f"{where}.counted",
                )
            )
    return changes


def transfer_changes(items: Sequence[TransferLine]) -> list[StockChange]:
    check_items(items)
    changes = []
    for i, item in enumerate(items):
        where = f"items.{i}"
        if item.from_bin_id == item.to_bin_id:
            raise SameBin(field=f"{where}.toBinId")
        check_quantity(item.quantity, f"{where}.quantity")
        changes.append(
            StockChange(
                item.sku_id,
                item.from_bin_id,
                LedgerKind.TRANSFER_OUT,
                on_hand_delta=-item.quantity,
                field=f"{where}.quantity",
            )
        )
        changes.append(
            StockChange(
                item.sku_id,
                item.to_bin_id,
                LedgerKind.TRANSFER_IN,
                on_hand_delta=item.quantity,
                field=f"{where}.quantity",
            )
        )
    return changes


def check_safety_items(items: Sequence[SafetyLine]) -> None:
    check_items(items)
    for i, item in enumerate(items):
        check_quantity(item.quantity, f"items.{i}.quantity", allow_zero=True)


def check_bin_code(code: str, field: str = "code") -> str:
    code = code.strip().upper()
    if not BIN_CODE_RE.match(code) or len(code) > 32:
        raise InvalidInput(
            "A bin code is letters and digits in dash-separated parts, e.g. A-03-2-1", field=field
        )
    return code


def check_zone_code(code: str, field: str = "code") -> str:
    code = code.strip().upper()
    if not ZONE_CODE_RE.match(code):
        raise InvalidInput("A zone code is 1-16 letters or digits, e.g. A", field=field)
    return code


# -- per-shop sellable quantity (库存同步) --------------------------------------------------------
@dataclass(frozen=True)
class ShopStockPolicy:
    """How much of a SKU's available stock a shop may list (库存同步策略).

    - ``ratio_percent``: share of the available stock (e.g. Tmall 100, Douyin 60).
    - ``cap``: a fixed maximum per SKU, or None.
    - ``pool``: shops naming the same shared pool (共享库存池) together never list more than
      the available stock: when their individual quantities add up to more, each is scaled down
      in proportion (rounded down).  Shops outside any pool are independent.
    - ``allow_split``: reservations may split an order across warehouses (拆单发货).
    """

    ratio_percent: int = 100
    cap: int | None = None
    pool: str | None = None
    allow_split: bool = False

    def validated(self) -> ShopStockPolicy:
        if not 0 <= self.ratio_percent <= 100:
            raise InvalidInput("The ratio is 0 to 100 percent", field="ratioPercent")
        if self.cap is not None:
            check_quantity(self.cap, "cap", allow_zero=True)
        pool = (self.pool or "").strip() or None
        if pool is not None and len(pool) > 32:
            raise InvalidInput("A pool name is at most 32 characters", field="pool")
        return replace(self, pool=pool)


DEFAULT_POLICY = ShopStockPolicy()


def _own_quantity(available: int, policy: ShopStockPolicy) -> int:
    quantity = max(available, 0) * policy.ratio_percent // 100
    if policy.cap is not None:
        quantity = min(quantity, policy.cap)
    return quantity


def channel_available(available: int, shop_id: int, policies: Mapping[int, ShopStockPolicy]) -> int:
    """The quantity of one SKU that shop ``shop_id`` may list on its platform.

    ``available`` is the SKU's available stock summed over active warehouses; ``policies``
    holds every shop's policy that has one (a shop without one lists 100 %).  Always an integer
    rounded down, never negative, never more than ``available``.  The stock push to platforms
    must use this function and nothing else.
    """
    available = max(available, 0)
    policy = policies.get(shop_id, DEFAULT_POLICY)
    own = _own_quantity(available, policy)
    if policy.pool is None:
        return own
    pool_total = sum(
        _own_quantity(available, other) for other in policies.values() if other.pool == policy.pool
    )
    if pool_total <= available:
        return own
    return own * available // pool_total


# -- warehouse choice helpers ------------------------------------------------------------------
_PROVINCE_SUFFIXES = (
    "特别行政区",
    "维吾尔自治区",
    "壮族自治区",
    "回族自治区",
    "自治区",
    "省",
    "市",
)


@lru_cache(maxsize=4096)
def normalise_province(name: str) -> str:
    """``浙江省`` and ``浙江`` (and ``上海市``/``上海``) name the same province."""
    name = name.strip()
    for suffix in _PROVINCE_SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return name


def serves_province(provinces: Iterable[str], province: str) -> int:
    """2 when a warehouse names the province, 1 when it ships anywhere (none named), else 0."""
    names = _province_names(tuple(provinces))
    if not names:
        return 1
    return 2 if normalise_province(province) in names else 0


@lru_cache(maxsize=1024)
def _province_names(provinces: tuple[str, ...]) -> frozenset[str]:
    # A strategy asks this for every warehouse of every order of a batch, about the same few
    # warehouses: normalising their lists once keeps reservation planning from spending its
    # time on string suffixes.
    return frozenset(normalise_province(p) for p in provinces if p.strip())


# -- reconciliation ----------------------------------------------------------------------------
@dataclass(frozen=True)
class StockBalance:
    """A stock row beside what the ledger and the active reservations say it should hold."""

    stock_id: int
    sku_id: int
    sku_code: str
    warehouse_id: int
    bin_id: int
    bin_code: str
    on_hand: int
    reserved: int
    ledger_on_hand: int
    ledger_reserved: int
    active_reserved: int

    @property
    def drifted(self) -> bool:
        return (
            self.on_hand != self.ledger_on_hand
            or self.reserved != self.ledger_reserved
            or self.reserved != self.active_reserved
        )

    def describe(self) -> dict[str, int | str]:
        return {
            "stockId": self.stock_id,
            "skuId": self.sku_id,
            "skuCode": self.sku_code,
            "warehouseId": self.warehouse_id,
            "binId": self.bin_id,
            "binCode": self.bin_code,
            "onHand": self.on_hand,
            "ledgerOnHand": self.ledger_on_hand,
            "reserved": self.reserved,
            "ledgerReserved": self.ledger_reserved,
            "activeReserved": self.active_reserved,
        }
