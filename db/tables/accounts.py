"""Organisations (sellers), users, roles, API tokens and drop-ship suppliers."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    String,
    Text,
)
from sqlalchemy.dialects.postgresql import ARRAY
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
from domain.accounts.model import Role


class Organization(SQLModel, table=True):
    __tablename__ = "organizations"
    __table_args__ = (
        unique_key(
            "slug",
            name="organizations_slug_key",
            field="slug",
            message="This organisation code is taken",
        ),
    )

    #: The tenant key itself: every tenant row's ``org_id`` points here.
    id: int | None = Field(default=None, primary_key=True, sa_type=BigInteger)
    slug: str = Field(max_length=64, nullable=False)
    name: str = Field(max_length=200, nullable=False)
    created_at: datetime = created_field()


class RoleRow(SQLModel, table=True):
    """Reference list of roles (shared by every organisation)."""

    __tablename__ = "roles"

    code: str = Field(primary_key=True, max_length=32)
    description: str = Field(nullable=False)


class Supplier(SQLModel, table=True):
    """A drop-ship partner (代发供应商)."""

    __tablename__ = "suppliers"
    __table_args__ = (
        tenant_key(),
        unique_key(
            "org_id",
            "name",
            name="suppliers_org_id_name_key",
            field="supplier",
            message="A supplier of this name exists",
        ),
    )

    id: int | None = id_field()
    org_id: int = org_field()
    name: str = Field(max_length=200, nullable=False)
    created_at: datetime = created_field()


class User(SQLModel, table=True):
    __tablename__ = "users"
    __table_args__ = (
        tenant_key(),
        org_fk(["supplier_id"], "suppliers", name="users_supplier_id_fkey"),
        unique_key(
            "org_id",
            "username",
            name="users_org_id_username_key",
            field="username",
            message="This username is taken",
        ),
        CheckConstraint(check_in("role", Role), name="users_role_known"),
        CheckConstraint(
            "(role = 'SUPPLIER') = (supplier_id IS NOT NULL)", name="users_supplier_iff_role"
        ),
    )

    id: int | None = id_field()
    org_id: int = org_field()
    username: str = Field(max_length=64, nullable=False)
    display_name: str = Field(max_length=200, nullable=False, default="")
    password_hash: str = Field(sa_type=Text, nullable=False)
    role: str = Field(
        sa_type=String(32),
        sa_column_args=[ForeignKey("roles.code")],
        nullable=False,
    )
    supplier_id: int | None = fk_field(nullable=True)
    is_active: bool = Field(default=True, nullable=False)
    # Bumped by logout / password change: every bearer token issued before is void.
    token_version: int = Field(default=0, nullable=False)
    created_at: datetime = created_field()
    last_login_at: datetime | None = time_field()
    password_changed_at: datetime | None = time_field()


class ApiToken(SQLModel, table=True):
    """A token for a third-party app; only its hash is stored (the secret is shown once)."""

    __tablename__ = "api_tokens"
    __table_args__ = (
        tenant_key(),
        org_fk(["created_by_user_id"], "users", name="api_tokens_created_by_user_id_fkey"),
        # The prefix is random (48 bits), never typed by anyone: a clash is a fluke that a
        # second attempt does not repeat.
        unique_key(
            "org_id",
            "prefix",
            name="api_tokens_org_prefix",
            field=None,
            message="Two tokens drew the same prefix; create the token again",
        ),
        # Bearer tokens are found by prefix before the organisation is known (random prefixes;
        # the look-up checks the hash of each row it finds).
        Index("api_tokens_prefix", "prefix"),
    )

    id: int | None = id_field()
    org_id: int = org_field()
    name: str = Field(max_length=200, nullable=False)
    prefix: str = Field(max_length=32, nullable=False)
    token_hash: str = Field(max_length=128, nullable=False)
    scopes: list[str] = Field(sa_column=Column(ARRAY(String(32)), nullable=False))
    created_by_user_id: int = Field(sa_type=BigInteger, nullable=False)
    created_at: datetime = created_field()
    expires_at: datetime | None = time_field()
    revoked_at: datetime | None = time_field()
    last_used_at: datetime | None = time_field()
