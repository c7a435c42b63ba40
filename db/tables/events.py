"""The transactional outbox and the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Column, Index, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from db.tables._base import (
    created_field,
    fk_field,
    id_field,
    org_field,
    org_fk,
    tenant_key,
    time_field,
)


class OutboxEvent(SQLModel, table=True):
    """An event written in the same transaction as the change it describes.

    The relay publishes rows with ``published_at IS NULL`` in ``id`` order, so events of one
    order reach subscribers in the order they were committed.
    """

    __tablename__ = "outbox"
    __table_args__ = (
        tenant_key(),
        Index("outbox_unpublished", "id", postgresql_where=text("published_at IS NULL")),
    )

    id: int | None = id_field()
    org_id: int = org_field()
    topic: str = Field(max_length=64, nullable=False)
    aggregate_type: str = Field(max_length=32, nullable=False)
    aggregate_id: int = Field(sa_type=BigInteger, nullable=False)
    payload: dict[str, Any] = Field(sa_column=Column(JSONB, nullable=False))
    created_at: datetime = created_field()
    published_at: datetime | None = time_field()


class AuditEntry(SQLModel, table=True):
    """Who changed what: one row per data-changing mutation."""

    __tablename__ = "audit_log"
    __table_args__ = (
        tenant_key(),
        org_fk(["actor_user_id"], "users", name="audit_log_actor_user_id_fkey"),
        org_fk(["actor_token_id"], "api_tokens", name="audit_log_actor_token_id_fkey"),
        Index("audit_log_org_time", "org_id", "created_at"),
    )

    id: int | None = id_field()
    org_id: int = org_field()
    actor_label: str = Field(max_length=200, nullable=False)
    actor_user_id: int | None = fk_field(nullable=True)
    actor_token_id: int | None = fk_field(nullable=True)
    action: str = Field(max_length=64, nullable=False)
    target_type: str = Field(max_length=32, nullable=False)
    target_id: int | None = Field(default=None, sa_type=BigInteger)
    summary: dict[str, Any] = Field(sa_column=Column(JSONB, nullable=False))
    created_at: datetime = created_field()
