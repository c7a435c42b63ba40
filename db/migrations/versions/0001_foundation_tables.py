"""foundation tables

Revision ID: 0001
Revises:
Create Date: 2026-11-26 08:10:55.272662
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op
from sqlalchemy.dialects import postgresql

from db import rls

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


TENANT_TABLES = [
    "suppliers",
    "users",
    "api_tokens",
    "shops",
    "warehouses",
    "products",
    "skus",
    "customers",
    "orders",
    "order_lines",
    "order_remarks",
    "outbox",
]
#: History tables the application may add to but never rewrite.
APPEND_ONLY_TABLES = ["order_history", "audit_log"]

ROLES = [
    ("OWNER", "Owner (老板): full control of the organisation"),
    ("MANAGER", "Manager (主管): approves prices, reviews held orders, manages API tokens"),
    ("OPERATOR", "Operator (运营): catalog, rules, prices within limits, orders"),
    ("WAREHOUSE", "Warehouse (仓库): stock, picking, packing, shipping"),
    ("SERVICE", "Customer service (客服): reads orders and adds remarks"),
    ("SUPPLIER", "Drop-ship supplier (代发): its own orders only"),
]


def upgrade() -> None:
    rls.create_app_role()
    op.create_table(
        "organizations",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("slug", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("slug"),
    )
    op.create_table(
        "roles",
        sa.Column("code", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("description", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.PrimaryKeyConstraint("code"),
    )
    op.create_table(
        "customers",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("org_id", sa.BigInteger(), nullable=False),
        sa.Column("channel", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("nick", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("phone", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(["org_id"], ["organizations.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("org_id", "channel", "nick"),
    )
    op.create_index(op.f("ix_customers_org_id"), "customers", ["org_id"], unique=False)
    op.create_table(
        "outbox",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("org_id", sa.BigInteger(), nullable=False),
        sa.Column("topic", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("aggregate_type", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("aggregate_id", sa.BigInteger(), nullable=False),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["org_id"], ["organizations.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_outbox_org_id"), "outbox", ["org_id"], unique=False)
    op.create_index(
        "outbox_unpublished",
        "outbox",
        ["id"],
        unique=False,
        postgresql_where=sa.text("published_at IS NULL"),
    )
    op.create_table(
        "products",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("org_id", sa.BigInteger(), nullable=False),
        sa.Column("code", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("category", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(["org_id"], ["organizations.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("org_id", "code"),
    )
    op.create_index(op.f("ix_products_org_id"), "products", ["org_id"], unique=False)
    op.create_table(
        "shops",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("org_id", sa.BigInteger(), nullable=False),
        sa.Column("channel", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("allow_partial_reservation", sa.Boolean(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "channel IN ('TAOBAO', 'TMALL', 'JD', 'PDD', 'DOUYIN', 'MANUAL')",
            name="shops_channel_known",
        ),
        sa.ForeignKeyConstraint(["org_id"], ["organizations.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("org_id", "channel", "name"),
    )
    op.create_index(op.f("ix_shops_org_id"), "shops", ["org_id"], unique=False)
    op.create_table(
        "suppliers",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("org_id", sa.BigInteger(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(["org_id"], ["organizations.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("org_id", "name"),
    )
    op.create_index(op.f("ix_suppliers_org_id"), "suppliers", ["org_id"], unique=False)
    op.create_table(
        "warehouses",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("org_id", sa.BigInteger(), nullable=False),
        sa.Column("code", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("address", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column(
            "provinces", postgresql.ARRAY(sa.String(length=32)), server_default="{}", nullable=False
        ),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(["org_id"], ["organizations.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("org_id", "code"),
    )
    op.create_index(op.f("ix_warehouses_org_id"), "warehouses", ["org_id"], unique=False)
    op.create_table(
        "skus",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("org_id", sa.BigInteger(), nullable=False),
        sa.Column("product_id", sa.BigInteger(), nullable=False),
        sa.Column("code", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("barcode", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("weight_g", sa.Integer(), nullable=False),
        sa.Column("price_fen", sa.Integer(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("price_fen >= 0", name="skus_price_non_negative"),
        sa.CheckConstraint("weight_g >= 0", name="skus_weight_non_negative"),
        sa.ForeignKeyConstraint(["org_id"], ["organizations.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["product_id"], ["products.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("org_id", "code"),
    )
    op.create_index(op.f("ix_skus_org_id"), "skus", ["org_id"], unique=False)
    op.create_index(op.f("ix_skus_product_id"), "skus", ["product_id"], unique=False)
    op.create_table(
        "users",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("org_id", sa.BigInteger(), nullable=False),
        sa.Column("username", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("display_name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("supplier_id", sa.BigInteger(), nullable=True),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("token_version", sa.Integer(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("password_changed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "(role = 'SUPPLIER') = (supplier_id IS NOT NULL)", name="users_supplier_iff_role"
        ),
        sa.CheckConstraint(
            "role IN ('OWNER', 'MANAGER', 'OPERATOR', 'WAREHOUSE', 'SERVICE', 'SUPPLIER')",
            name="users_role_known",
        ),
        sa.ForeignKeyConstraint(["org_id"], ["organizations.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["role"],
            ["roles.code"],
        ),
        sa.ForeignKeyConstraint(
            ["supplier_id"],
            ["suppliers.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("org_id", "username"),
    )
    op.create_index(op.f("ix_users_org_id"), "users", ["org_id"], unique=False)
    op.create_index(op.f("ix_users_supplier_id"), "users", ["supplier_id"], unique=False)
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("org_id", sa.BigInteger(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("prefix", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("token_hash", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("scopes", postgresql.ARRAY(sa.String(length=32)), nullable=False),
        sa.Column("created_by_user_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by_user_id"],
            ["users.id"],
        ),
        sa.ForeignKeyConstraint(["org_id"], ["organizations.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("api_tokens_prefix", "api_tokens", ["prefix"], unique=True)
    op.create_index(op.f("ix_api_tokens_org_id"), "api_tokens", ["org_id"], unique=False)
    op.create_table(
        "orders",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("org_id", sa.BigInteger(), nullable=False),
        sa.Column("shop_id", sa.BigInteger(), nullable=False),
        sa.Column("external_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("goods_fen", sa.BigInteger(), nullable=False),
        sa.Column("discount_fen", sa.BigInteger(), nullable=False),
        sa.Column("shipping_fen", sa.BigInteger(), nullable=False),
        sa.Column("total_fen", sa.BigInteger(), nullable=False),
        sa.Column("customer_id", sa.BigInteger(), nullable=True),
        sa.Column("receiver_name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("receiver_phone", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("receiver_phone_tail", sqlmodel.sql.sqltypes.AutoString(length=4), nullable=True),
        sa.Column("receiver_province", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("receiver_city", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("receiver_district", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("receiver_address", sa.Text(), nullable=False),
        sa.Column("buyer_remark", sa.Text(), nullable=False),
        sa.Column("seller_remark", sa.Text(), nullable=False),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("supplier_id", sa.BigInteger(), nullable=True),
        sa.Column("created_by_user_id", sa.BigInteger(), nullable=True),
        sa.CheckConstraint(
            "status IN ('NEW', 'HELD', 'RESERVED', 'BACKORDERED', 'IN_WAVE', 'PICKED', 'PACKED', 'SHIPPED', 'DELIVERED', 'CANCELLED', 'AFTER_SALE')",
            name="orders_status_known",
        ),
        sa.CheckConstraint(
            "goods_fen >= 0 AND discount_fen >= 0 AND shipping_fen >= 0 AND total_fen >= 0",
            name="orders_amounts_non_negative",
        ),
        sa.ForeignKeyConstraint(
            ["created_by_user_id"],
            ["users.id"],
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
        ),
        sa.ForeignKeyConstraint(["org_id"], ["organizations.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["shop_id"],
            ["shops.id"],
        ),
        sa.ForeignKeyConstraint(["supplier_id"], ["suppliers.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("org_id", "shop_id", "external_id"),
    )
    op.create_index(
        op.f("ix_orders_created_by_user_id"), "orders", ["created_by_user_id"], unique=False
    )
    op.create_index(op.f("ix_orders_customer_id"), "orders", ["customer_id"], unique=False)
    op.create_index(op.f("ix_orders_org_id"), "orders", ["org_id"], unique=False)
    op.create_index(op.f("ix_orders_supplier_id"), "orders", ["supplier_id"], unique=False)
    op.create_index(op.f("ix_orders_shop_id"), "orders", ["shop_id"], unique=False)
    op.create_index("orders_org_created", "orders", ["org_id", "created_at"], unique=False)
    op.create_index("orders_org_paid", "orders", ["org_id", "paid_at"], unique=False)
    op.create_index("orders_org_status", "orders", ["org_id", "status"], unique=False)
    op.create_index(
        "orders_receiver_phone_tail", "orders", ["org_id", "receiver_phone_tail"], unique=False
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("org_id", sa.BigInteger(), nullable=False),
        sa.Column("actor_label", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("actor_user_id", sa.BigInteger(), nullable=True),
        sa.Column("actor_token_id", sa.BigInteger(), nullable=True),
        sa.Column("action", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("target_type", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("target_id", sa.BigInteger(), nullable=True),
        sa.Column("summary", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["actor_token_id"],
            ["api_tokens.id"],
        ),
        sa.ForeignKeyConstraint(
            ["actor_user_id"],
            ["users.id"],
        ),
        sa.ForeignKeyConstraint(["org_id"], ["organizations.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("audit_log_org_time", "audit_log", ["org_id", "created_at"], unique=False)
    op.create_index(
        op.f("ix_audit_log_actor_token_id"), "audit_log", ["actor_token_id"], unique=False
    )
    op.create_index(
        op.f("ix_audit_log_actor_user_id"), "audit_log", ["actor_user_id"], unique=False
    )
    op.create_index(op.f("ix_audit_log_org_id"), "audit_log", ["org_id"], unique=False)
    op.create_table(
        "order_history",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("org_id", sa.BigInteger(), nullable=False),
        sa.Column("order_id", sa.BigInteger(), nullable=False),
        sa.Column("from_status", sa.String(length=16), nullable=True),
        sa.Column("to_status", sa.String(length=16), nullable=False),
        sa.Column("actor_label", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("actor_user_id", sa.BigInteger(), nullable=True),
        sa.Column("actor_token_id", sa.BigInteger(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["actor_token_id"],
            ["api_tokens.id"],
        ),
        sa.ForeignKeyConstraint(
            ["actor_user_id"],
            ["users.id"],
        ),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["org_id"], ["organizations.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_order_history_actor_token_id"), "order_history", ["actor_token_id"], unique=False
    )
    op.create_index(
        op.f("ix_order_history_actor_user_id"), "order_history", ["actor_user_id"], unique=False
    )
    op.create_index(op.f("ix_order_history_order_id"), "order_history", ["order_id"], unique=False)
    op.create_index(op.f("ix_order_history_org_id"), "order_history", ["org_id"], unique=False)
    op.create_table(
        "order_lines",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("org_id", sa.BigInteger(), nullable=False),
        sa.Column("order_id", sa.BigInteger(), nullable=False),
        sa.Column("sku_id", sa.BigInteger(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("unit_price_fen", sa.BigInteger(), nullable=False),
        sa.Column("discount_fen", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("quantity > 0", name="order_lines_quantity_positive"),
        sa.CheckConstraint(
            "unit_price_fen >= 0 AND discount_fen >= 0", name="order_lines_amounts_non_negative"
        ),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["org_id"], ["organizations.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["sku_id"],
            ["skus.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_order_lines_order_id"), "order_lines", ["order_id"], unique=False)
    op.create_index(op.f("ix_order_lines_org_id"), "order_lines", ["org_id"], unique=False)
    op.create_index(op.f("ix_order_lines_sku_id"), "order_lines", ["sku_id"], unique=False)
    op.create_table(
        "order_remarks",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("org_id", sa.BigInteger(), nullable=False),
        sa.Column("order_id", sa.BigInteger(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("author_label", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("author_user_id", sa.BigInteger(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["author_user_id"],
            ["users.id"],
        ),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["org_id"], ["organizations.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_order_remarks_author_user_id"), "order_remarks", ["author_user_id"], unique=False
    )
    op.create_index(op.f("ix_order_remarks_order_id"), "order_remarks", ["order_id"], unique=False)
    op.create_index(op.f("ix_order_remarks_org_id"), "order_remarks", ["org_id"], unique=False)
    # ### end Alembic commands ###
    roles = sa.table("roles", sa.column("code", sa.String), sa.column("description", sa.String))
    op.bulk_insert(roles, [{"code": c, "description": d} for c, d in ROLES])
    op.execute(f"GRANT SELECT ON roles TO {rls.APP_ROLE}")
    for table in TENANT_TABLES:
        rls.enable_tenant_rls(table)
    for table in APPEND_ONLY_TABLES:
        rls.enable_tenant_rls(table, append_only=True)
    # An organisation sees (and may rename) only itself.
    rls.enable_tenant_rls("organizations", column="id")
    rls.grant_sequences()


def downgrade() -> None:
    # ### commands auto generated by Alembic - please adjust! ###
    op.drop_index(op.f("ix_order_remarks_org_id"), table_name="order_remarks")
    op.drop_index(op.f("ix_order_remarks_order_id"), table_name="order_remarks")
    op.drop_index(op.f("ix_order_remarks_author_user_id"), table_name="order_remarks")
    op.drop_table("order_remarks")
    op.drop_index(op.f("ix_order_lines_sku_id"), table_name="order_lines")
    op.drop_index(op.f("ix_order_lines_org_id"), table_name="order_lines")
    op.drop_index(op.f("ix_order_lines_order_id"), table_name="order_lines")
    op.drop_table("order_lines")
    op.drop_index(op.f("ix_order_history_org_id"), table_name="order_history")
    op.drop_index(op.f("ix_order_history_order_id"), table_name="order_history")
    op.drop_index(op.f("ix_order_history_actor_user_id"), table_name="order_history")
    op.drop_index(op.f("ix_order_history_actor_token_id"), table_name="order_history")
    op.drop_table("order_history")
    op.drop_index(op.f("ix_audit_log_org_id"), table_name="audit_log")
    op.drop_index(op.f("ix_audit_log_actor_user_id"), table_name="audit_log")
    op.drop_index(op.f("ix_audit_log_actor_token_id"), table_name="audit_log")
    op.drop_index("audit_log_org_time", table_name="audit_log")
    op.drop_table("audit_log")
    op.drop_index("orders_receiver_phone_tail", table_name="orders")
    op.drop_index("orders_org_status", table_name="orders")
    op.drop_index("orders_org_paid", table_name="orders")
    op.drop_index("orders_org_created", table_name="orders")
    op.drop_index(op.f("ix_orders_shop_id"), table_name="orders")
    op.drop_index(op.f("ix_orders_org_id"), table_name="orders")
    op.drop_index(op.f("ix_orders_customer_id"), table_name="orders")
    op.drop_index(op.f("ix_orders_created_by_user_id"), table_name="orders")
    op.drop_table("orders")
    op.drop_index(op.f("ix_api_tokens_org_id"), table_name="api_tokens")
    op.drop_index("api_tokens_prefix", table_name="api_tokens")
    op.drop_table("api_tokens")
    op.drop_index(op.f("ix_users_supplier_id"), table_name="users")
    op.drop_index(op.f("ix_users_org_id"), table_name="users")
    op.drop_table("users")
    op.drop_index(op.f("ix_skus_product_id"), table_name="skus")
    op.drop_index(op.f("ix_skus_org_id"), table_name="skus")
    op.drop_table("skus")
    op.drop_index(op.f("ix_warehouses_org_id"), table_name="warehouses")
    op.drop_table("warehouses")
    op.drop_index(op.f("ix_suppliers_org_id"), table_name="suppliers")
    op.drop_table("suppliers")
    op.drop_index(op.f("ix_shops_org_id"), table_name="shops")
    op.drop_table("shops")
    op.drop_index(op.f("ix_products_org_id"), table_name="products")
    op.drop_table("products")
    op.drop_index(
        "outbox_unpublished", table_name="outbox", postgresql_where=sa.text("published_at IS NULL")
    )
    op.drop_index(op.f("ix_outbox_org_id"), table_name="outbox")
    op.drop_table("outbox")
    op.drop_index(op.f("ix_customers_org_id"), table_name="customers")
    op.drop_table("customers")
    op.drop_table("roles")
    op.drop_table("organizations")
    # ### end Alembic commands ###
