"""Notifications (提醒): alerts for a seller's staff, e.g. orders stuck before reservation."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, Column, Index, Text, text
from sqlalchemy.dialects.postgresql import JSONB
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
)
from domain.notifications.model import Severity


class Notification(SQLModel, table=True):
    __tablename__ = "notifications"
    __table_args__ = (
        tenant_key(),
        org_fk(["read_by_user_id"], "users", name="notifications_read_by_user_id_fkey"),
        CheckConstraint(check_in("severity", Severity), name="notifications_severity_known"),
        Index("notifications_org_time", "org_id", "created_at", "id"),
        # One unread notification per situation: a sweep that finds it again adds nothing.
        Index(
            "notifications_one_open_per_key",
            "org_id",
            "dedupe_key",
            unique=True,
            postgresql_where=text("read_at IS NULL"),
        ),
    )

    id: int | None = id_field()
    org_id: int = org_field(index=False)
    kind: str = Field(max_length=64, nullable=False)
    severity: str = Field(max_length=16, nullable=False)
    message: str = Field(sa_type=Text, nullable=False)
    payload: dict[str, Any] = Field(sa_column=Column(JSONB, nullable=False))
    dedupe_key: str = Field(max_length=128, nullable=False)
    created_at: datetime = created_field()
    read_at: datetime | None = time_field()
    read_by_user_id: int | None = fk_field(nullable=True, index=False)
