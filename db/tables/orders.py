"""Buyers, orders (订单), their lines, remarks and status history."""

from datetime import date, datetime
from typing import Optional

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlmodel import Field, Relationship, SQLModel

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
from domain.orders.model import (
    MAX_LINE_QUANTITY,
    MAX_ORDER_TOTAL_FEN,
    MAX_SHIPPING_FEN,
    MAX_UNIT_PRICE_FEN,
    OrderStatus,
)


class Customer(SQLModel, table=True):
    """A buyer (买家), identified per channel by nick."""

    __tablename__ = "customers"
    __table_args__ = (tenant_key(), UniqueConstraint("org_id", "channel", "nick"))

    id: int | None = id_field()
    org_id: int = org_field()
    channel: str = Field(max_length=16, nullable=False)
    nick: str = Field(max_length=200, nullable=False)
    name: str = Field(default="", max_length=200, nullable=False)
    phone: str | None = Field(default=None, max_length=32)
    created_at: datetime = created_field()


class Order(SQLModel, table=True):
    __tablename__ = "orders"
    __table_args__ = (
        tenant_key(),
        org_fk(["shop_id"], "shops", name="orders_shop_id_fkey"),
        org_fk(["customer_id"], "customers", name="orders_customer_id_fkey"),
        org_fk(["created_by_user_id"], "users", name="orders_created_by_user_id_fkey"),
        org_fk(["supplier_id"], "suppliers", name="orders_supplier_id_fkey"),
        unique_key(
            "org_id",
            "shop_id",
            "external_id",
            name="orders_org_id_shop_id_external_id_key",
            field="externalId",
            message="An order with this external id already exists in this shop",
        ),
        CheckConstraint(check_in("status", OrderStatus), name="orders_status_known"),
        CheckConstraint(
            "goods_fen >= 0 AND discount_fen >= 0 AND shipping_fen >= 0 AND total_fen >= 0",
            name="orders_amounts_non_negative",
        ),
        # The domain's limits (domain/orders/model.py), held by the database too: an order
        # written by any path (a channel import, a bulk load, a bug) stays summable.
        CheckConstraint(
            f"goods_fen <= {MAX_ORDER_TOTAL_FEN} AND total_fen <= {MAX_ORDER_TOTAL_FEN}"
            f" AND shipping_fen <= {MAX_SHIPPING_FEN} AND discount_fen <= goods_fen",
            name="orders_amounts_within_limits",
        ),
        CheckConstraint(
            "total_fen = goods_fen - discount_fen + shipping_fen", name="orders_total_adds_up"
        ),
        # The board's sorts, ending with id: a keyset page is one range of the index.
        Index("orders_org_created", "org_id", "created_at", "id"),
        Index("orders_org_status", "org_id", "status"),
        Index("orders_org_paid", "org_id", "paid_at", "id"),
        Index("orders_receiver_phone_tail", "org_id", "receiver_phone_tail"),
    )

    id: int | None = id_field()
    # No single-column indexes on org_id and shop_id: the composite (org_id, ...) indexes and
    # the unique (org_id, shop_id, external_id) serve every query, which always names org_id.
    # Each index costs a write on every status change (status is indexed: never a HOT update).
    org_id: int = org_field(index=False)
    shop_id: int = fk_field(index=False)
    external_id: str = Field(max_length=64, nullable=False)
    status: str = Field(max_length=16, nullable=False, default=OrderStatus.NEW.value)
    goods_fen: int = Field(sa_type=BigInteger, nullable=False, default=0)
    discount_fen: int = Field(sa_type=BigInteger, nullable=False, default=0)
    shipping_fen: int = Field(sa_type=BigInteger, nullable=False, default=0)
    total_fen: int = Field(sa_type=BigInteger, nullable=False, default=0)
    customer_id: int | None = fk_field(nullable=True)
    receiver_name: str = Field(max_length=200, nullable=False)
    receiver_phone: str = Field(max_length=32, nullable=False)
    receiver_phone_tail: str | None = Field(default=None, max_length=4)
    receiver_province: str = Field(max_length=32, nullable=False)
    receiver_city: str = Field(max_length=32, nullable=False)
    receiver_district: str = Field(max_length=32, nullable=False, default="")
    receiver_address: str = Field(sa_type=Text, nullable=False)
    buyer_remark: str = Field(sa_type=Text, nullable=False, default="")
    seller_remark: str = Field(sa_type=Text, nullable=False, default="")
    paid_at: datetime | None = time_field()
    created_at: datetime = created_field()
    updated_at: datetime = created_field()
    # Never queried by (users are not deleted): no index.
    created_by_user_id: int | None = fk_field(nullable=True, index=False)
    # The drop-ship supplier (代发) fulfilling this order, if any: it alone may see the order.
    supplier_id: int | None = fk_field(nullable=True)

    lines: list["OrderLine"] = Relationship(
        back_populates="order", sa_relationship_kwargs={"lazy": "raise"}
    )


class OrderLine(SQLModel, table=True):
    __tablename__ = "order_lines"
    __table_args__ = (
        tenant_key(),
        org_fk(["order_id"], "orders", name="order_lines_order_id_fkey", ondelete="CASCADE"),
        org_fk(["sku_id"], "skus", name="order_lines_sku_id_fkey"),
        CheckConstraint("quantity > 0", name="order_lines_quantity_positive"),
        CheckConstraint(
            "unit_price_fen >= 0 AND discount_fen >= 0", name="order_lines_amounts_non_negative"
        ),
        CheckConstraint(
            f"quantity <= {MAX_LINE_QUANTITY} AND unit_price_fen <= {MAX_UNIT_PRICE_FEN}"
            " AND discount_fen <= quantity * unit_price_fen",
            name="order_lines_within_limits",
        ),
    )

    id: int | None = id_field()
    org_id: int = org_field()
    order_id: int = Field(sa_type=BigInteger, nullable=False, index=True)
    sku_id: int = fk_field()
    quantity: int = Field(nullable=False)
    unit_price_fen: int = Field(sa_type=BigInteger, nullable=False)
    discount_fen: int = Field(sa_type=BigInteger, nullable=False, default=0)

    order: Optional["Order"] = Relationship(
        back_populates="lines", sa_relationship_kwargs={"lazy": "raise"}
    )


class OrderRemark(SQLModel, table=True):
    """A note added by staff (备注), e.g. a 客服 recording a buyer's request."""

    __tablename__ = "order_remarks"
    __table_args__ = (
        tenant_key(),
        org_fk(["order_id"], "orders", name="order_remarks_order_id_fkey", ondelete="CASCADE"),
        org_fk(["author_user_id"], "users", name="order_remarks_author_user_id_fkey"),
    )

    id: int | None = id_field()
    org_id: int = org_field()
    order_id: int = fk_field()
    text: str = Field(sa_type=Text, nullable=False)
    author_label: str = Field(max_length=200, nullable=False)
    author_user_id: int | None = fk_field(nullable=True)
    created_at: datetime = created_field()


class OrderHistory(SQLModel, table=True):
    """Every status change of an order: from, to, who, why, when."""

    __tablename__ = "order_history"
    __table_args__ = (
        tenant_key(),
        org_fk(["order_id"], "orders", name="order_history_order_id_fkey", ondelete="CASCADE"),
        org_fk(["actor_user_id"], "users", name="order_history_actor_user_id_fkey"),
        org_fk(["actor_token_id"], "api_tokens", name="order_history_actor_token_id_fkey"),
    )

    id: int | None = id_field()
    # Read by order_id only; org_id and the actor columns are never searched (and a status
    # change writes one of these rows, so each index would be one more write per change).
    org_id: int = org_field(index=False)
    order_id: int = fk_field()
    from_status: str | None = Field(default=None, sa_type=String(16))
    to_status: str = Field(sa_type=String(16), nullable=False)
    actor_label: str = Field(max_length=200, nullable=False)
    actor_user_id: int | None = fk_field(nullable=True, index=False)
    actor_token_id: int | None = fk_field(nullable=True, index=False)
    reason: str = Field(sa_type=Text, nullable=False, default="")
    created_at: datetime = created_field()


class OrderNumberCounter(SQLModel, table=True):
    """The last manual order number (手工单号) handed out per seller and day.

    One row per seller and day, bumped with ``INSERT ... ON CONFLICT DO UPDATE ... RETURNING``
    in the order's own transaction: the row lock orders concurrent manual orders of a seller, so
    numbers never repeat, and a rolled-back order gives its number back."""

    __tablename__ = "order_number_counters"
    __table_args__ = (
        tenant_key(),
        UniqueConstraint("org_id", "day", name="order_number_counters_org_id_day_key"),
        CheckConstraint("last_value > 0", name="order_number_counters_positive"),
    )

    id: int | None = id_field()
    # The unique (org_id, day) serves the only look-up.
    org_id: int = org_field(index=False)
    #: The seller's calendar day the numbers belong to (China time, see domain/orders/model.py).
    day: date = Field(sa_type=Date, nullable=False)
    last_value: int = Field(sa_type=BigInteger, nullable=False)
