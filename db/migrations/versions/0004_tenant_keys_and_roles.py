"""tenant-keyed primary and foreign keys, forced RLS, runtime roles

Every tenant table's primary key becomes ``(org_id, id)``, every unique constraint includes
``org_id`` and every foreign key between tenant tables includes ``org_id``.  PostgreSQL checks
foreign keys with RLS bypassed, so before this a row of one seller could reference another
seller's row whenever a service check was missed; now such a reference has no target.  The same
keys are what Citus needs to distribute every table by ``org_id`` with co-located joins.

RLS becomes FORCEd on every tenant table, and two roles join ``orderflow_app``: the narrow
``orderflow_system`` for cross-organisation look-ups (with policies on only the tables that work
reads) and the login role ``orderflow_server`` (see db/rls.py).

Data is kept: only constraints are dropped and re-created.  The conversion can fail only if a
cross-seller reference already exists, which is the very thing it exists to rule out.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 15:30:00.000000
"""

from collections.abc import Sequence

from alembic import op

from db import rls

revision: str = "0004"
down_revision: str | None = "0003"
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
    "order_history",
    "outbox",
    "audit_log",
    "zones",
    "bins",
    "stock",
    "reservations",
    "backorders",
    "stock_ledger",
    "shop_stock_policies",
]

#: (table, name, columns, target table, target columns, ON DELETE) of every foreign key between
#: tenant tables, without ``org_id``: before (``id`` targets) and after (``org_id`` prepended).
FOREIGN_KEYS: list[tuple[str, str, list[str], str, list[str], str | None]] = [
    ("skus", "skus_product_id_fkey", ["product_id"], "products", ["id"], "CASCADE"),
    ("users", "users_supplier_id_fkey", ["supplier_id"], "suppliers", ["id"], None),
    (
        "api_tokens",
        "api_tokens_created_by_user_id_fkey",
        ["created_by_user_id"],
        "users",
        ["id"],
        None,
    ),
    ("orders", "orders_created_by_user_id_fkey", ["created_by_user_id"], "users", ["id"], None),
    ("orders", "orders_customer_id_fkey", ["customer_id"], "customers", ["id"], None),
    ("orders", "orders_shop_id_fkey", ["shop_id"], "shops", ["id"], None),
    ("orders", "orders_supplier_id_fkey", ["supplier_id"], "suppliers", ["id"], None),
    ("audit_log", "audit_log_actor_token_id_fkey", ["actor_token_id"], "api_tokens", ["id"], None),
    ("audit_log", "audit_log_actor_user_id_fkey", ["actor_user_id"], "users", ["id"], None),
    (
        "order_history",
        "order_history_actor_token_id_fkey",
        ["actor_token_id"],
        "api_tokens",
        ["id"],
        None,
    ),
    ("order_history", "order_history_actor_user_id_fkey", ["actor_user_id"], "users", ["id"], None),
    ("order_history", "order_history_order_id_fkey", ["order_id"], "orders", ["id"], "CASCADE"),
    ("order_lines", "order_lines_order_id_fkey", ["order_id"], "orders", ["id"], "CASCADE"),
    ("order_lines", "order_lines_sku_id_fkey", ["sku_id"], "skus", ["id"], None),
    (
        "order_remarks",
        "order_remarks_author_user_id_fkey",
        ["author_user_id"],
        "users",
        ["id"],
        None,
    ),
    ("order_remarks", "order_remarks_order_id_fkey", ["order_id"], "orders", ["id"], "CASCADE"),
    ("shop_stock_policies", "shop_stock_policies_shop_id_fkey", ["shop_id"], "shops", ["id"], None),
    ("zones", "zones_warehouse_id_fkey", ["warehouse_id"], "warehouses", ["id"], None),
    ("bins", "bins_warehouse_id_fkey", ["warehouse_id"], "warehouses", ["id"], None),
    (
        "bins",
        "bins_zone_in_warehouse",
        ["zone_id", "warehouse_id"],
        "zones",
        ["id", "warehouse_id"],
        None,
    ),
    (
        "stock",
        "stock_bin_in_warehouse",
        ["bin_id", "warehouse_id"],
        "bins",
        ["id", "warehouse_id"],
        None,
    ),
    ("stock", "stock_sku_id_fkey", ["sku_id"], "skus", ["id"], None),
    ("stock", "stock_warehouse_id_fkey", ["warehouse_id"], "warehouses", ["id"], None),
    ("backorders", "backorders_order_id_fkey", ["order_id"], "orders", ["id"], None),
    ("backorders", "backorders_order_line_id_fkey", ["order_line_id"], "order_lines", ["id"], None),
    ("reservations", "reservations_order_id_fkey", ["order_id"], "orders", ["id"], None),
    (
        "reservations",
        "reservations_order_line_id_fkey",
        ["order_line_id"],
        "order_lines",
        ["id"],
        None,
    ),
    ("reservations", "reservations_stock_id_fkey", ["stock_id"], "stock", ["id"], None),
    (
        "stock_ledger",
        "stock_ledger_actor_token_id_fkey",
        ["actor_token_id"],
        "api_tokens",
        ["id"],
        None,
    ),
    ("stock_ledger", "stock_ledger_actor_user_id_fkey", ["actor_user_id"], "users", ["id"], None),
    ("stock_ledger", "stock_ledger_order_id_fkey", ["order_id"], "orders", ["id"], None),
    (
        "stock_ledger",
        "stock_ledger_reservation_id_fkey",
        ["reservation_id"],
        "reservations",
        ["id"],
        None,
    ),
    ("stock_ledger", "stock_ledger_stock_id_fkey", ["stock_id"], "stock", ["id"], None),
]

#: Unique constraints that serve as targets of the composite (…, warehouse_id) keys.
WAREHOUSE_KEYS = [("zones", "zones_id_warehouse"), ("bins", "bins_id_warehouse")]


def _foreign_keys(org_scoped: bool) -> None:
    for table, name, columns, target, target_columns, ondelete in FOREIGN_KEYS:
        prefix = ["org_id"] if org_scoped else []
        op.create_foreign_key(
            name,
            table,
            target,
            prefix + columns,
            prefix + target_columns,
            ondelete=ondelete,
        )


def _drop_foreign_keys() -> None:
    for table, name, *_ in FOREIGN_KEYS:
        op.drop_constraint(name, table, type_="foreignkey")


def upgrade() -> None:
    rls.create_runtime_roles()

    _drop_foreign_keys()
    for table, name in WAREHOUSE_KEYS:
        op.drop_constraint(name, table, type_="unique")
        op.create_unique_constraint(name, table, ["org_id", "id", "warehouse_id"])
    for table in TENANT_TABLES:
        op.drop_constraint(f"{table}_pkey", table, type_="primary")
        op.create_primary_key(f"{table}_pkey", table, ["org_id", "id"])
    _foreign_keys(org_scoped=True)

    # An API token is found by its prefix before its organisation is known; the prefix is
    # random, and the look-up compares the hash of every row it finds.
    op.drop_index("api_tokens_prefix", table_name="api_tokens")
    op.create_unique_constraint("api_tokens_org_prefix", "api_tokens", ["org_id", "prefix"])
    op.create_index("api_tokens_prefix", "api_tokens", ["prefix"])

    for table in [*TENANT_TABLES, "organizations"]:
        rls.force_rls(table)
    # What cross-organisation work needs, and nothing more: sign-in finds an organisation by
    # its code and create-org adds one; a bearer API token is found by its prefix; the relay
    # publishes, marks and finally deletes outbox rows; sweeps list organisations.
    rls.system_policy("organizations", "SELECT, INSERT")
    rls.system_policy("api_tokens", "SELECT", command="SELECT")
    rls.system_policy("outbox", "SELECT, UPDATE, DELETE")
    op.execute(f"GRANT SELECT ON roles TO {rls.SYSTEM_ROLE}")
    op.execute(f"GRANT USAGE ON SEQUENCE organizations_id_seq TO {rls.SYSTEM_ROLE}")


def downgrade() -> None:
    for table in ("organizations", "api_tokens", "outbox"):
        op.execute(f"DROP POLICY IF EXISTS {table}_system ON {table}")
    op.execute(f"REVOKE ALL ON organizations, api_tokens, outbox, roles FROM {rls.SYSTEM_ROLE}")
    op.execute(f"REVOKE ALL ON SEQUENCE organizations_id_seq FROM {rls.SYSTEM_ROLE}")
    for table in [*TENANT_TABLES, "organizations"]:
        op.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")

    op.drop_index("api_tokens_prefix", table_name="api_tokens")
    op.drop_constraint("api_tokens_org_prefix", "api_tokens", type_="unique")
    op.create_index("api_tokens_prefix", "api_tokens", ["prefix"], unique=True)

    _drop_foreign_keys()
    for table in TENANT_TABLES:
        op.drop_constraint(f"{table}_pkey", table, type_="primary")
        op.create_primary_key(f"{table}_pkey", table, ["id"])
    for table, name in WAREHOUSE_KEYS:
        op.drop_constraint(name, table, type_="unique")
        op.create_unique_constraint(name, table, ["id", "warehouse_id"])
    _foreign_keys(org_scoped=False)
    # The roles stay: they belong to the cluster, and other databases may use them.
