"""Row-level security DDL, used by migrations for every tenant table.

The policy compares ``org_id`` with the transaction's ``app.org_id`` setting (set by the unit of
work).  ``current_setting(..., true)`` is NULL when unset, so a transaction without an organisation
sees no rows at all rather than every organisation's.
"""

from __future__ import annotations

from alembic import op

from db.engine import APP_ROLE

__all__ = [
    "APP_ROLE",
    "create_app_role",
    "disable_tenant_rls",
    "enable_tenant_rls",
    "grant_sequences",
]

ORG_EXPR = "NULLIF(current_setting('app.org_id', true), '')::bigint"


def create_app_role() -> None:
    # Roles are cluster-wide: several test databases may race to create it.
    op.execute(
        f"""
        DO $$ BEGIN
            CREATE ROLE {APP_ROLE} NOLOGIN;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
        END $$;
        """
    )
    op.execute(f"GRANT USAGE ON SCHEMA public TO {APP_ROLE}")


def enable_tenant_rls(table: str, *, column: str = "org_id", append_only: bool = False) -> None:
    privileges = "SELECT, INSERT" if append_only else "SELECT, INSERT, UPDATE, DELETE"
    op.execute(f"GRANT {privileges} ON {table} TO {APP_ROLE}")
    op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
    op.execute(
        f"CREATE POLICY {table}_tenant ON {table} TO {APP_ROLE} "
        f"USING ({column} = {ORG_EXPR}) WITH CHECK ({column} = {ORG_EXPR})"
    )


def grant_sequences() -> None:
    op.execute(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {APP_ROLE}")


def disable_tenant_rls(table: str) -> None:
    op.execute(f"DROP POLICY IF EXISTS {table}_tenant ON {table}")
    op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
