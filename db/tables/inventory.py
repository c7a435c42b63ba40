"""Inventory (库存): zones, bins, stock per SKU and bin, reservations, backorders, the stock
ledger, and each shop's stock-sync policy.

Integrity the database keeps even if code is wrong:

- ``stock``: on_hand >= 0, reserved >= 0, reserved <= on_hand (never oversold), safety >= 0.
- A bin belongs to one warehouse, and a stock row's warehouse is its bin's warehouse (composite
  foreign keys), so stock can never sit "in" a bin of another warehouse.
- Like every tenant table, keys are ``(org_id, id)`` and references go through ``org_id``.
- Reservations and backorders carry positive quantities and known statuses; one waiting
  backorder per order line.
- The ledger is append-only for the application role (see the migration).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlmodel import Field, SQLModel

from db.tables._base import (
    check_in,
    created_field,
    fk_field,
    id_field,
    org_field,
    org_fk,
    tenant_key,
    time_field,
    unique_key,
)
from domain.inventory.model import BackorderStatus, LedgerKind, ReservationStatus


def _ref(*, nullable: bool = False) -> Column[int]:
    """A reference column without its own index (the composite indexes below cover the
    look-ups); its constraint is the table's ``org_fk``."""
    return Column(BigInteger, nullable=nullable)


def _org() -> Any:
    """``org_id`` without a single-column index: every index of these tables starts with it,
    and each index is one more write on the reservation path."""
    return Field(
        sa_type=BigInteger,
        sa_column_args=[ForeignKey("organizations.id", ondelete="CASCADE")],
        nullable=False,
    )


class Zone(SQLModel, table=True):
    """A picking zone (拣货区) of a warehouse, e.g. A shelving, B heavy goods, C returns."""

    __tablename__ = "zones"
    __table_args__ = (
        tenant_key(),
        org_fk(["warehouse_id"], "warehouses", name="zones_warehouse_id_fkey"),
        unique_key(
            "org_id",
            "warehouse_id",
            "code",
            name="zones_org_id_warehouse_id_code_key",
            field="code",
            message="A zone with this code exists in this warehouse",
        ),
        # Target of bins' (zone_id, warehouse_id) key: a bin's zone is in the bin's warehouse.
        UniqueConstraint("org_id", "id", "warehouse_id", name="zones_id_warehouse"),
    )

    id: int | None = id_field()
    org_id: int = org_field()
    warehouse_id: int = fk_field()
    code: str = Field(max_length=16, nullable=False)
    name: str = Field(max_length=100, nullable=False, default="")
    #: Where the zone comes on the pick walk (lower first).
    walk_order: int = Field(default=0, nullable=False)
    created_at: datetime = created_field()


class Bin(SQLModel, table=True):
    """A storage location (库位) such as ``A-03-2-1``; ``walk_seq`` orders the pick walk."""

    __tablename__ = "bins"
    __table_args__ = (
        tenant_key(),
        org_fk(["warehouse_id"], "warehouses", name="bins_warehouse_id_fkey"),
        org_fk(
            ["zone_id", "warehouse_id"],
            "zones",
            ["id", "warehouse_id"],
            name="bins_zone_in_warehouse",
        ),
        unique_key(
            "org_id",
            "warehouse_id",
            "code",
            name="bins_org_id_warehouse_id_code_key",
            field="code",
            message="A bin with this code exists in this warehouse",
        ),
        UniqueConstraint("org_id", "id", "warehouse_id", name="bins_id_warehouse"),
        CheckConstraint("walk_seq >= 0", name="bins_walk_seq_non_negative"),
    )

    id: int | None = id_field()
    org_id: int = org_field()
    warehouse_id: int = fk_field()
    zone_id: int = Field(sa_type=BigInteger, nullable=False, index=True)
    code: str = Field(max_length=32, nullable=False)
    walk_seq: int = Field(default=0, nullable=False)
    created_at: datetime = created_field()


class Stock(SQLModel, table=True):
    """One SKU in one bin: on hand (实物), reserved (占用), safety (安全库存)."""

    __tablename__ = "stock"
    __table_args__ = (
        tenant_key(),
        org_fk(["sku_id"], "skus", name="stock_sku_id_fkey"),
        org_fk(["warehouse_id"], "warehouses", name="stock_warehouse_id_fkey"),
        org_fk(
            ["bin_id", "warehouse_id"],
            "bins",
            ["id", "warehouse_id"],
            name="stock_bin_in_warehouse",
        ),
        UniqueConstraint("org_id", "sku_id", "bin_id"),
        CheckConstraint("on_hand >= 0", name="stock_on_hand_non_negative"),
        CheckConstraint("reserved >= 0", name="stock_reserved_non_negative"),
        CheckConstraint("reserved <= on_hand", name="stock_reserved_within_on_hand"),
        CheckConstraint("safety >= 0", name="stock_safety_non_negative"),
        Index("stock_org_warehouse", "org_id", "warehouse_id"),
        Index("stock_bin", "bin_id"),
    )

    id: int | None = id_field()
    org_id: int = _org()
    sku_id: int = Field(sa_column=_ref())
    warehouse_id: int = Field(sa_column=_ref())
    bin_id: int = Field(sa_type=BigInteger, nullable=False)
    on_hand: int = Field(default=0, nullable=False)
    reserved: int = Field(default=0, nullable=False)
    safety: int = Field(default=0, nullable=False)
    updated_at: datetime = created_field()
    # Not mapped: ``changed_by`` (xid8), the transaction that last changed the quantities, kept
    # by a trigger for the reservation loop's retry test (migration 0006).


class Reservation(SQLModel, table=True):
    """Units of one stock row promised to one order line (占用)."""

    __tablename__ = "reservations"
    __table_args__ = (
        tenant_key(),
        org_fk(["order_id"], "orders", name="reservations_order_id_fkey"),
        org_fk(["order_line_id"], "order_lines", name="reservations_order_line_id_fkey"),
        org_fk(["stock_id"], "stock", name="reservations_stock_id_fkey"),
        CheckConstraint("quantity > 0", name="reservations_quantity_positive"),
        CheckConstraint(check_in("status", ReservationStatus), name="reservations_status_known"),
        Index("reservations_org_order", "org_id", "order_id"),
    )

    id: int | None = id_field()
    org_id: int = _org()
    order_id: int = Field(sa_column=_ref())
    order_line_id: int = Field(sa_column=_ref())
    sku_id: int = Field(sa_type=BigInteger, nullable=False)
    warehouse_id: int = Field(sa_type=BigInteger, nullable=False)
    bin_id: int = Field(sa_type=BigInteger, nullable=False)
    stock_id: int = Field(sa_column=_ref())
    quantity: int = Field(nullable=False)
    status: str = Field(max_length=16, nullable=False, default=ReservationStatus.ACTIVE.value)
    created_at: datetime = created_field()
    closed_at: datetime | None = time_field()
    close_reason: str = Field(sa_type=Text, nullable=False, default="")


class Backorder(SQLModel, table=True):
    """An order line waiting for stock (缺货), retried first-paid first-served."""

    __tablename__ = "backorders"
    __table_args__ = (
        tenant_key(),
        org_fk(["order_id"], "orders", name="backorders_order_id_fkey"),
        org_fk(["order_line_id"], "order_lines", name="backorders_order_line_id_fkey"),
        CheckConstraint("quantity > 0", name="backorders_quantity_positive"),
        CheckConstraint(check_in("status", BackorderStatus), name="backorders_status_known"),
        Index(
            "backorders_one_waiting_per_line",
            "org_id",
            "order_line_id",
            unique=True,
            postgresql_where=text("status = 'WAITING'"),
        ),
        Index(
            "backorders_waiting_fifo",
            "org_id",
            "sku_id",
            "paid_at",
            "id",
            postgresql_where=text("status = 'WAITING'"),
        ),
        Index("backorders_org_order", "org_id", "order_id"),
    )

    id: int | None = id_field()
    org_id: int = _org()
    order_id: int = Field(sa_column=_ref())
    order_line_id: int = Field(sa_column=_ref())
    sku_id: int = Field(sa_type=BigInteger, nullable=False)
    #: Units missing at the last attempt.
    quantity: int = Field(nullable=False)
    #: Copied from the order: the queue is served in paid-time order.
    paid_at: datetime | None = time_field()
    status: str = Field(max_length=16, nullable=False, default=BackorderStatus.WAITING.value)
    attempts: int = Field(default=1, nullable=False)
    created_at: datetime = created_field()
    last_attempt_at: datetime = created_field()
    resolved_at: datetime | None = time_field()
    # Not mapped: ``tried_in`` (pg_snapshot) and ``tried_by`` (xid8), the snapshot and the
    # transaction of the attempt that left the line waiting, written by the reservation loop's
    # SQL; ``resolved_by`` (xid8), the transaction that took it out of WAITING, kept by a
    # trigger.  A stock change, or another line of the SKU resolved, that the snapshot does not
    # show makes a waiting line worth another attempt (migration 0006).


class StockLedgerEntry(SQLModel, table=True):
    """Every change of a stock row (库存流水): who, why, which order, the deltas and the result.

    Replaying the deltas of a row gives its on_hand and reserved; the reconcile job checks that.
    sku/warehouse/bin are copies of the stock row's (for filtering) and carry no foreign keys, to
    keep the insert on the reservation path cheap; ``stock_id`` is the checked reference.
    """

    __tablename__ = "stock_ledger"
    __table_args__ = (
        tenant_key(),
        org_fk(["stock_id"], "stock", name="stock_ledger_stock_id_fkey"),
        org_fk(["order_id"], "orders", name="stock_ledger_order_id_fkey"),
        org_fk(["reservation_id"], "reservations", name="stock_ledger_reservation_id_fkey"),
        org_fk(["actor_user_id"], "users", name="stock_ledger_actor_user_id_fkey"),
        org_fk(["actor_token_id"], "api_tokens", name="stock_ledger_actor_token_id_fkey"),
        CheckConstraint(check_in("kind", LedgerKind), name="stock_ledger_kind_known"),
        CheckConstraint("on_hand_after >= 0 AND reserved_after >= 0", name="stock_ledger_after"),
        Index("stock_ledger_org_sku_time", "org_id", "sku_id", "created_at"),
        Index("stock_ledger_org_time", "org_id", "created_at"),
        Index(
            "stock_ledger_org_order",
            "org_id",
            "order_id",
            postgresql_where=text("order_id IS NOT NULL"),
        ),
    )

    id: int | None = id_field()
    org_id: int = _org()
    stock_id: int = Field(sa_column=_ref())
    sku_id: int = Field(sa_type=BigInteger, nullable=False)
    warehouse_id: int = Field(sa_type=BigInteger, nullable=False)
    bin_id: int = Field(sa_type=BigInteger, nullable=False)
    kind: str = Field(sa_type=String(16), nullable=False)
    on_hand_delta: int = Field(nullable=False)
    reserved_delta: int = Field(nullable=False)
    on_hand_after: int = Field(nullable=False)
    reserved_after: int = Field(nullable=False)
    order_id: int | None = Field(default=None, sa_column=_ref(nullable=True))
    order_line_id: int | None = Field(default=None, sa_type=BigInteger)
    reservation_id: int | None = Field(default=None, sa_column=_ref(nullable=True))
    reason: str = Field(sa_type=Text, nullable=False, default="")
    #: An outside reference: purchase order, count sheet, after-sale ticket.
    reference: str = Field(max_length=64, nullable=False, default="")
    actor_label: str = Field(max_length=200, nullable=False)
    actor_user_id: int | None = Field(default=None, sa_column=_ref(nullable=True))
    actor_token_id: int | None = Field(default=None, sa_column=_ref(nullable=True))
    created_at: datetime = created_field()


class ShopStockPolicyRow(SQLModel, table=True):
    """A shop's stock-sync and reservation policy (see domain.inventory.model.ShopStockPolicy)."""

    __tablename__ = "shop_stock_policies"
    __table_args__ = (
        tenant_key(),
        org_fk(["shop_id"], "shops", name="shop_stock_policies_shop_id_fkey"),
        UniqueConstraint("org_id", "shop_id"),
        CheckConstraint("ratio_percent BETWEEN 0 AND 100", name="shop_stock_policies_ratio"),
        CheckConstraint("cap IS NULL OR cap >= 0", name="shop_stock_policies_cap"),
    )

    id: int | None = id_field()
    org_id: int = org_field()
    shop_id: int = Field(sa_column=_ref())
    ratio_percent: int = Field(default=100, nullable=False)
    cap: int | None = Field(default=None, nullable=True)
    pool: str | None = Field(default=None, max_length=32, nullable=True)
    allow_split: bool = Field(default=False, nullable=False)
    updated_at: datetime = created_field()
