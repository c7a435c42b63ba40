"""Products (商品) and their SKUs (规格)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint
from sqlmodel import Field, SQLModel

from db.tables._base import (
    created_field,
    fk_field,
    id_field,
    org_field,
    org_fk,
    tenant_key,
    unique_key,
)
from domain.orders.model import MAX_UNIT_PRICE_FEN


class Product(SQLModel, table=True):
    __tablename__ = "products"
    __table_args__ = (
        tenant_key(),
        unique_key(
            "org_id",
            "code",
            name="products_org_id_code_key",
            field="code",
            message="This product code is taken",
        ),
    )

    id: int | None = id_field()
    org_id: int = org_field()
    code: str = Field(max_length=64, nullable=False)
    name: str = Field(max_length=300, nullable=False)
    category: str = Field(max_length=100, nullable=False, default="")
    created_at: datetime = created_field()


class Sku(SQLModel, table=True):
    """A sellable variant; ``code`` is the seller's own code (商家编码) platforms send back."""

    __tablename__ = "skus"
    __table_args__ = (
        tenant_key(),
        org_fk(["product_id"], "products", name="skus_product_id_fkey", ondelete="CASCADE"),
        unique_key(
            "org_id",
            "code",
            name="skus_org_id_code_key",
            field="code",
            message="This SKU code is taken",
        ),
        CheckConstraint("weight_g >= 0", name="skus_weight_non_negative"),
        CheckConstraint("price_fen >= 0", name="skus_price_non_negative"),
        CheckConstraint(f"price_fen <= {MAX_UNIT_PRICE_FEN}", name="skus_price_within_limit"),
    )

    id: int | None = id_field()
    org_id: int = org_field()
    product_id: int = fk_field()
    code: str = Field(max_length=64, nullable=False)
    barcode: str | None = Field(default=None, max_length=64)
    name: str = Field(max_length=300, nullable=False)
    weight_g: int = Field(default=0, nullable=False)
    price_fen: int = Field(default=0, sa_type=BigInteger, nullable=False)
    created_at: datetime = created_field()
