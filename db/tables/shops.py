"""Shops (店铺) on each channel, and warehouses (仓库)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Column, String
from sqlalchemy.dialects.postgresql import ARRAY
from sqlmodel import Field, SQLModel

from db.tables._base import check_in, created_field, id_field, org_field, tenant_key, unique_key
from domain.shops.model import Channel


class Shop(SQLModel, table=True):
    __tablename__ = "shops"
    __table_args__ = (
        tenant_key(),
        unique_key(
            "org_id",
            "channel",
            "name",
            name="shops_org_id_channel_name_key",
            field="name",
            message="A shop of this name exists on this channel",
        ),
        CheckConstraint(check_in("channel", Channel), name="shops_channel_known"),
    )

    id: int | None = id_field()
    org_id: int = org_field()
    channel: str = Field(max_length=16, nullable=False)
    name: str = Field(max_length=200, nullable=False)
    # Reserve what can be reserved when a whole order cannot be (else all-or-nothing).
    allow_partial_reservation: bool = Field(default=False, nullable=False)
    created_at: datetime = created_field()


class Warehouse(SQLModel, table=True):
    __tablename__ = "warehouses"
    __table_args__ = (
        tenant_key(),
        unique_key(
            "org_id",
            "code",
            name="warehouses_org_id_code_key",
            field="code",
            message="This warehouse code is taken",
        ),
    )

    id: int | None = id_field()
    org_id: int = org_field()
    code: str = Field(max_length=32, nullable=False)
    name: str = Field(max_length=200, nullable=False)
    address: str = Field(default="", nullable=False)
    # Provinces this warehouse ships to first (策略分仓); empty = anywhere.
    provinces: list[str] = Field(
        default_factory=list,
        sa_column=Column(ARRAY(String(32)), nullable=False, server_default="{}"),
    )
    priority: int = Field(default=100, nullable=False)
    is_active: bool = Field(default=True, nullable=False)
    created_at: datetime = created_field()
