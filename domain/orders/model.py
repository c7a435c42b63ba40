"""Orders (订单): statuses, the allowed transitions between them, money arithmetic and limits.

Pure Python: no database, no I/O.  Every money amount is integer fen (分) (see domain/money.py).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from enum import StrEnum

from domain.errors import DomainError, ErrorCode, InvalidInput
from domain.money import format_yuan


class OrderStatus(StrEnum):
    NEW = "NEW"  # 新订单: pulled or entered, not yet through the pipeline
    HELD = "HELD"  # 挂起: waiting for risk review
    RESERVED = "RESERVED"  # 已占库存
    BACKORDERED = "BACKORDERED"  # 缺货: waiting for stock
    IN_WAVE = "IN_WAVE"  # 波次中: on a pick list
    PICKED = "PICKED"  # 已拣货
    PACKED = "PACKED"  # 已打包
    SHIPPED = "SHIPPED"  # 已发货
    DELIVERED = "DELIVERED"  # 已签收
    CANCELLED = "CANCELLED"  # 已取消
    AFTER_SALE = "AFTER_SALE"  # 售后


S = OrderStatus

ALLOWED_TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    S.NEW: frozenset({S.HELD, S.RESERVED, S.BACKORDERED, S.CANCELLED}),
    S.HELD: frozenset({S.NEW, S.RESERVED, S.BACKORDERED, S.CANCELLED}),
    S.RESERVED: frozenset({S.HELD, S.IN_WAVE, S.BACKORDERED, S.CANCELLED, S.SHIPPED}),
    S.BACKORDERED: frozenset({S.RESERVED, S.HELD, S.CANCELLED}),
    S.IN_WAVE: frozenset({S.PICKED, S.RESERVED, S.CANCELLED}),
    S.PICKED: frozenset({S.PACKED, S.RESERVED, S.CANCELLED}),
    S.PACKED: frozenset({S.SHIPPED, S.RESERVED, S.CANCELLED}),
    S.SHIPPED: frozenset({S.DELIVERED, S.AFTER_SALE}),
    S.DELIVERED: frozenset({S.AFTER_SALE}),
    S.CANCELLED: frozenset(),
    S.AFTER_SALE: frozenset({S.DELIVERED}),
}

#: Statuses in which stock may still be reserved for the order (released on cancel).
OPEN_STATUSES = frozenset({S.NEW, S.HELD, S.RESERVED, S.BACKORDERED, S.IN_WAVE, S.PICKED, S.PACKED})


class IllegalTransition(DomainError):
    code = ErrorCode.ILLEGAL_TRANSITION

    def __init__(self, current: OrderStatus, target: OrderStatus):
        super().__init__(
            f"An order in status {current.value} cannot become {target.value}", field="status"
        )
        self.current = current
        self.target = target


def check_transition(current: OrderStatus, target: OrderStatus) -> None:
    """Raise ``IllegalTransition`` unless ``current -> target`` is allowed."""
    if target not in ALLOWED_TRANSITIONS[current]:
        raise IllegalTransition(current, target)


def can_cancel(status: OrderStatus) -> bool:
    return S.CANCELLED in ALLOWED_TRANSITIONS[status]


# -- limits -------------------------------------------------------------------------------------
# What one order may hold.  Far above any real order of a small or mid-size seller, and far below
# what breaks arithmetic: the largest total is 10^10 fen, so even 10^8 such orders sum well inside
# a BIGINT (9.2 * 10^18), and every amount stays an exact number in JavaScript (2^53).  They turn
# a typo (an extra row of zeros, a quantity pasted into the price) into an INVALID_INPUT naming the
# field, instead of an order that breaks the board for everyone.  Migration 0006 holds the stored
# rows to the same numbers with CHECK constraints (db/tables/orders.py, db/tables/catalog.py).
#: Units of one SKU on one line.
MAX_LINE_QUANTITY = 99_999
#: Price of one unit (also a SKU's list price): ¥100,000.00.
MAX_UNIT_PRICE_FEN = 10_000_000
#: Lines of one order (a line per SKU; 200 is a wholesale order).
MAX_LINES_PER_ORDER = 200
#: Shipping fee of one order: ¥100,000.00 (freight for bulky goods 大件 included).
MAX_SHIPPING_FEN = 10_000_000
#: Goods of one order, and its total (goods - discounts + shipping): ¥100,000,000.00 (1亿).
MAX_ORDER_TOTAL_FEN = 10_000_000_000


@dataclass(frozen=True)
class LineDraft:
    """One order line as entered, before it is stored."""

    sku_id: int
    quantity: int
    unit_price_fen: int
    discount_fen: int = 0

    @property
    def amount_fen(self) -> int:
        return self.quantity * self.unit_price_fen - self.discount_fen


@dataclass(frozen=True)
class Totals:
    goods_fen: int
    discount_fen: int
    shipping_fen: int
    total_fen: int


def validate_lines(lines: Sequence[LineDraft]) -> None:
    """Reject what no order may contain; ``field`` points at the offending input."""
    if not lines:
        raise InvalidInput("An order needs at least one line", field="lines")
    if len(lines) > MAX_LINES_PER_ORDER:
        raise InvalidInput(f"An order has at most {MAX_LINES_PER_ORDER} lines", field="lines")
    for index, line in enumerate(lines):
        where = f"lines.{index}"
        if line.quantity <= 0:
            raise DomainError(
                "Quantity must be at least 1",
                field=f"{where}.quantity",
                code=ErrorCode.NEGATIVE_QUANTITY,
            )
        if line.quantity > MAX_LINE_QUANTITY:
            raise InvalidInput(
                f"Quantity is at most {MAX_LINE_QUANTITY:,}", field=f"{where}.quantity"
            )
        if line.unit_price_fen < 0:
            raise DomainError(
                "Unit price cannot be negative",
                field=f"{where}.unitPriceFen",
                code=ErrorCode.NEGATIVE_AMOUNT,
            )
        if line.unit_price_fen > MAX_UNIT_PRICE_FEN:
            raise InvalidInput(
                f"Unit price is at most {format_yuan(MAX_UNIT_PRICE_FEN)}",
                field=f"{where}.unitPriceFen",
            )
        if line.discount_fen < 0:
            raise DomainError(
                "Discount cannot be negative",
                field=f"{where}.discountFen",
                code=ErrorCode.NEGATIVE_AMOUNT,
            )
        if line.discount_fen > line.quantity * line.unit_price_fen:
            raise InvalidInput(
                "Discount cannot exceed the line amount", field=f"{where}.discountFen"
            )


def compute_totals(lines: Sequence[LineDraft], shipping_fen: int = 0) -> Totals:
    """The order's amounts, within the limits above (else INVALID_INPUT naming the field)."""
    validate_lines(lines)
    if shipping_fen < 0:
        raise DomainError(
            "Shipping fee cannot be negative", field="shippingFen", code=ErrorCode.NEGATIVE_AMOUNT
        )
    if shipping_fen > MAX_SHIPPING_FEN:
        raise InvalidInput(
            f"Shipping fee is at most {format_yuan(MAX_SHIPPING_FEN)}", field="shippingFen"
        )
    goods = sum(line.quantity * line.unit_price_fen for line in lines)
    if goods > MAX_ORDER_TOTAL_FEN:
        raise InvalidInput(
            f"The goods come to {format_yuan(goods)}; an order is at most "
            f"{format_yuan(MAX_ORDER_TOTAL_FEN)}",
            field="lines",
        )
    discount = sum(line.discount_fen for line in lines)
    total = goods - discount + shipping_fen
    if total > MAX_ORDER_TOTAL_FEN:
        # Goods are within the limit, so the shipping fee is what pushed the total over it.
        raise InvalidInput(
            f"The total comes to {format_yuan(total)}; an order is at most "
            f"{format_yuan(MAX_ORDER_TOTAL_FEN)}",
            field="shippingFen",
        )
    return Totals(goods, discount, shipping_fen, total)


#: Sellers count their day in China time (UTC+8 all year, no daylight saving): an order entered at
#: 07:30 on 2 December in Hangzhou belongs to 2 December, not to 1 December UTC.
SELLER_TIMEZONE = timezone(timedelta(hours=8), "CST")


def seller_day(at: datetime) -> date:
    return at.astimezone(SELLER_TIMEZONE).date()


def manual_order_number(day: date, n: int) -> str:
    """手工单号 ``M20261201-000123``: the seller's ``n``-th manual order of ``day``.

    Readable over the phone and sortable; six digits cover any real day, a longer ``n`` just
    makes the number longer."""
    return f"M{day:%Y%m%d}-{n:06d}"


def phone_tail(phone: str | None) -> str | None:
    """The last four digits, what a 客服 asks a buyer for (尾号)."""
    if not phone:
        return None
    digits = "".join(ch for ch in phone if ch.isdigit())
    return digits[-4:] if len(digits) >= 4 else None


class OrderSort(StrEnum):
    CREATED_DESC = "CREATED_DESC"
    CREATED_ASC = "CREATED_ASC"
    PAID_DESC = "PAID_DESC"
    PAID_ASC = "PAID_ASC"
    TOTAL_DESC = "TOTAL_DESC"
    TOTAL_ASC = "TOTAL_ASC"


@dataclass(frozen=True)
class OrderFilter:
    """What the order board can narrow a list by; every field optional."""

    statuses: frozenset[OrderStatus] = frozenset()
    shop_ids: frozenset[int] = frozenset()
    channels: frozenset[str] = frozenset()
    created_from: datetime | None = None
    created_to: datetime | None = None
    paid_from: datetime | None = None
    paid_to: datetime | None = None
    search: str | None = None
    order_ids: frozenset[int] | None = None
    #: Set only by domain/orders/scope.py: a supplier actor's own orders.
    supplier_id: int | None = None
    #: Set only by domain/orders/scope.py: whether ``search`` may match the phone tail (尾号).
    match_phone_tail: bool = True


def mask_phone(phone: str) -> str:
    """138****8000: what a supplier or a printed list may show (脱敏)."""
    digits = phone.strip()
    if len(digits) < 7:
        return "*" * len(digits)
    return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]


PHONE_RE = re.compile(r"^\+?[0-9][0-9 -]{5,18}[0-9]$")


@dataclass(frozen=True)
class Receiver:
    name: str
    phone: str
    province: str
    city: str
    district: str
    address: str

    def validated(self) -> Receiver:
        cleaned = Receiver(
            name=self.name.strip(),
            phone=self.phone.strip(),
            province=self.province.strip(),
            city=self.city.strip(),
            district=self.district.strip(),
            address=self.address.strip(),
        )
        for attr in ("name", "phone", "province", "city", "address"):
            if not getattr(cleaned, attr):
                raise InvalidInput(f"Receiver {attr} is required", field=f"receiver.{attr}")
        if not PHONE_RE.match(cleaned.phone):
            raise InvalidInput("Receiver phone is not a phone number", field="receiver.phone")
        return cleaned


@dataclass(frozen=True)
class ManualOrderDraft:
    """A hand-entered order (手工单) for WeChat, offline and other non-platform sales."""

    receiver: Receiver
    lines: tuple[LineDraft, ...]
    shop_id: int | None = None
    external_id: str | None = None
    shipping_fen: int = 0
    buyer_nick: str | None = None
    buyer_remark: str = ""
    seller_remark: str = ""
    paid_at: datetime | None = None
