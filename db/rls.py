"""Row-level security and database roles, used by migrations for every tenant table.

The tenant policy compares ``org_id`` with the transaction's ``app.org_id`` setting (set by the
unit of work).  ``current_setting(..., true)`` is NULL when unset, so a transaction without an
organisation sees no rows at all rather than every organisation's.  RLS is **forced**, so it holds
for the tables' owner too; only a superuser or a BYPASSRLS role (the one that runs migrations)
is exempt, and ``orderflow serve``/``worker`` refuse to run as one in production.

Three roles (cluster-wide, created once, shared by every database of the cluster):

- ``orderflow_app`` (NOLOGIN): organisation-scoped work; one tenant policy per table.
- ``orderflow_system`` (NOLOGIN): the few cross-organisation look-ups; a policy of its own on
  only the tables (and commands) that work needs.
- ``orderflow_server`` (LOGIN, NOINHERIT): what the server and worker log in as; it may switch
  to either role above (``SET LOCAL role``) and has no table rights of its own.
"""

from __future__ import annotations

from alembic import op

from db.engine import APP_ROLE, LOGIN_ROLE, SYSTEM_ROLE

__all__ = [
    "APP_ROLE",
    "LOGIN_ROLE",
    "SYSTEM_ROLE",
    "create_app_role",
    "create_runtime_roles",
    "disable_tenant_rls",
    "enable_tenant_rls",
    "force_rls",
    "grant_sequences",
    "system_policy",
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


def _create_role(name: str, options: str) -> None:
    op.execute(
        f"""
        DO $$ BEGIN
            CREATE ROLE {name} {options};
        EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
        END $$;
        """
    )


def create_runtime_roles() -> None:
    """The system role and the login role (see the module docstring); idempotent, because
    roles belong to the cluster and every database's migrations create them."""
    create_app_role()
    _create_role(SYSTEM_ROLE, "NOLOGIN")
    _create_role(LOGIN_ROLE, "LOGIN NOINHERIT NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE")
    # A role created by someone else under this name must not carry more than we grant.  Roles
    # are shared by the cluster's databases, whose migrations may run at once (test sessions):
    # change them only when needed, and let a concurrent identical change win ("tuple
    # concurrently updated" is internal_error).
    op.execute(
        f"""
        DO $$ BEGIN
            IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{LOGIN_ROLE}'
                       AND (rolinherit OR rolsuper OR rolbypassrls OR rolcreatedb
                            OR rolcreaterole)) THEN
                ALTER ROLE {LOGIN_ROLE} NOINHERIT NOSUPERUSER NOBYPASSRLS NOCREATEDB
                    NOCREATEROLE;
            END IF;
        EXCEPTION WHEN internal_error THEN NULL;
        END $$;
        """
    )
    for member_of in (APP_ROLE, SYSTEM_ROLE):
        op.execute(
            f"""
            DO $$ BEGIN
                IF NOT pg_has_role('{LOGIN_ROLE}', '{member_of}', 'MEMBER') THEN
                    GRANT {member_of} TO {LOGIN_ROLE};
                END IF;
            EXCEPTION WHEN duplicate_object OR unique_violation OR internal_error THEN NULL;
            END $$;
            """
        )
    op.execute(f"GRANT USAGE ON SCHEMA public TO {SYSTEM_ROLE}, {LOGIN_ROLE}")
    # ``serve`` checks for pending migrations before it starts.
    op.execute(f"GRANT SELECT ON alembic_version TO {LOGIN_ROLE}")


def force_rls(table: str) -> None:
    op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")


def system_policy(table: str, privileges: str, *, command: str = "ALL") -> None:
    """Open ``table`` to the system role for ``privileges`` on every organisation's rows."""
    op.execute(f"GRANT {privileges} ON {table} TO {SYSTEM_ROLE}")
    using = "" if command == "INSERT" else " USING (true)"
    check = " WITH CHECK (true)" if command in {"ALL", "INSERT", "UPDATE"} else ""
    op.execute(
        f"CREATE POLICY {table}_system ON {table} FOR {command} TO {SYSTEM_ROLE}{using}{check}"
    )


def enable_tenant_rls(table: str, *, column: str = "org_id", append_only: bool = False) -> None:
    privileges = "SELECT, INSERT" if append_only else "SELECT, INSERT, UPDATE, DELETE"
    op.execute(f"GRANT {privileges} ON {table} TO {APP_ROLE}")
    force_rls(table)
    op.execute(
        f"CREATE POLICY {table}_tenant ON {table} TO {APP_ROLE} "
        f"USING ({column} = {ORG_EXPR}) WITH CHECK ({column} = {ORG_EXPR})"
    )


def grant_sequences() -> None:
    op.execute(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {APP_ROLE}")


def disable_tenant_rls(table: str) -> None:
    op.execute(f"DROP POLICY IF EXISTS {table}_tenant ON {table}")
    op.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
