"""The tenancy rules, read from ``pg_catalog`` after migrating, and proven against the database.

The catalog test holds every table (those of later issues too) to DESIGN.md's rules: a table with
``org_id`` has forced RLS and a tenant policy, its primary key and every unique constraint or
index include ``org_id``, and every foreign key to it goes through ``org_id``.  The roles the
application logs in as cannot bypass any of it.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from db.engine import APP_ROLE, LOGIN_ROLE, SYSTEM_ROLE, Database
from db.roles import login_role
from db.uow import UnitOfWork
from tests.support.factories import make_order, make_org
from tests.support.sql import org_connection

#: Tables without ``org_id`` that the application may read: shared reference data.
REFERENCE_TABLES = {"roles"}
#: The tenant root: its own ``id`` is the tenant key.
TENANT_ROOT = "organizations"


async def _rows(db: Database, sql: str) -> list[Any]:
    async with db.engine.connect() as conn:
        return list(await conn.execute(text(sql)))


async def _tenant_tables(admin_db: Database) -> set[str]:
    rows = await _rows(
        admin_db,
        """
        SELECT c.relname FROM pg_class c
        JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'org_id' AND NOT a.attisdropped
        WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p')
        """,
    )
    return {r[0] for r in rows}


async def test_every_tenant_table_forces_rls_with_a_tenant_policy(admin_db: Database) -> None:
    tenant = await _tenant_tables(admin_db)
    assert len(tenant) >= 20, tenant
    rows = await _rows(
        admin_db,
        """
        SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity,
          coalesce((SELECT array_agg(pg_get_expr(p.polqual, p.polrelid) || ' | '
                                     || coalesce(pg_get_expr(p.polwithcheck, p.polrelid), ''))
                    FROM pg_policy p
                    WHERE p.polrelid = c.oid
                      AND p.polroles @> ARRAY[(SELECT oid FROM pg_roles
                                               WHERE rolname = 'orderflow_app')]), '{}')
        FROM pg_class c
        WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p')
        """,
    )
    problems = []
    for name, enabled, forced, app_policies in rows:
        if name not in tenant and name != TENANT_ROOT:
            continue
        if not (enabled and forced):
            problems.append(f"{name}: RLS enabled={enabled} forced={forced}")
        column = "id" if name == TENANT_ROOT else "org_id"
        # USING and WITH CHECK both compare the tenant column with the transaction's org.
        tenant_policy = [
            p
            for p in app_policies
            if f"{column} = " in p and p.count("current_setting('app.org_id'") == 2
        ]
        if not tenant_policy:
            problems.append(f"{name}: no tenant policy on {column} for {APP_ROLE}: {app_policies}")
    assert not problems, "\n".join(problems)


async def test_keys_and_unique_constraints_include_org_id(admin_db: Database) -> None:
    tenant = await _tenant_tables(admin_db)
    rows = await _rows(
        admin_db,
        """
        SELECT c.relname, i.indexrelid::regclass::text, i.indisprimary,
               array(SELECT a.attname FROM unnest(i.indkey) WITH ORDINALITY k(n, o)
                     JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.n
                     ORDER BY k.o)
        FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
        WHERE c.relnamespace = 'public'::regnamespace AND (i.indisunique OR i.indisprimary)
        """,
    )
    problems = []
    primary = {name for name, _, is_primary, _ in rows if is_primary}
    for name, index, is_primary, columns in rows:
        if name not in tenant:
            continue
        if "org_id" not in columns:
            problems.append(f"{name}: {index} {columns} lacks org_id")
        if is_primary and columns != ["org_id", "id"]:
            problems.append(f"{name}: primary key {columns} is not (org_id, id)")
    problems += [f"{name}: no primary key" for name in tenant - primary]
    assert not problems, "\n".join(problems)


async def test_every_foreign_key_to_a_tenant_table_goes_through_org_id(
    admin_db: Database,
) -> None:
    tenant = await _tenant_tables(admin_db)
    rows = await _rows(
        admin_db,
        """
        SELECT con.conname, src.relname, dst.relname,
               array(SELECT a.attname FROM unnest(con.conkey) WITH ORDINALITY k(n, o)
                     JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.n
                     ORDER BY k.o),
               array(SELECT a.attname FROM unnest(con.confkey) WITH ORDINALITY k(n, o)
                     JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.n
                     ORDER BY k.o)
        FROM pg_constraint con
        JOIN pg_class src ON src.oid = con.conrelid
        JOIN pg_class dst ON dst.oid = con.confrelid
        WHERE con.contype = 'f' AND con.connamespace = 'public'::regnamespace
        """,
    )
    problems = []
    checked = 0
    for name, source, target, columns, target_columns in rows:
        if target == TENANT_ROOT:
            if columns != ["org_id"] and source in tenant:
                problems.append(f"{source}.{name}: refers to {TENANT_ROOT} by {columns}")
            continue
        if target not in tenant:
            continue
        checked += 1
        pairs = dict(zip(columns, target_columns, strict=True))
        if pairs.get("org_id") != "org_id":
            problems.append(f"{source}.{name}: {columns} -> {target}{target_columns}")
    assert checked >= 30 and not problems, "\n".join(problems)


async def test_the_application_reads_nothing_outside_rls(admin_db: Database) -> None:
    """Tables the runtime roles may touch are tenant tables (forced RLS) or reference data."""
    tenant = await _tenant_tables(admin_db)
    rows = await _rows(
        admin_db,
        f"""
        SELECT DISTINCT c.relname, r.rolname FROM pg_class c
        CROSS JOIN (VALUES ('{APP_ROLE}'), ('{SYSTEM_ROLE}'), ('{LOGIN_ROLE}')) AS r(rolname)
        WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p')
          AND has_table_privilege(r.rolname, c.oid, 'SELECT, INSERT, UPDATE, DELETE')
        """,
    )
    allowed = tenant | REFERENCE_TABLES | {TENANT_ROOT}
    stray = {(table, role) for table, role in rows if table not in allowed}
    # The login role reads the migration version (serve refuses a database that is behind).
    assert stray == {("alembic_version", LOGIN_ROLE)}


async def test_runtime_roles_cannot_bypass_rls(db: Database, admin_db: Database) -> None:
    rows = await _rows(
        admin_db,
        f"""
        SELECT rolname, rolsuper, rolbypassrls, rolinherit, rolcanlogin FROM pg_roles
        WHERE rolname IN ('{APP_ROLE}', '{SYSTEM_ROLE}', '{LOGIN_ROLE}') ORDER BY rolname
        """,
    )
    assert {r[0]: tuple(r[1:]) for r in rows} == {
        APP_ROLE: (False, False, True, False),
        LOGIN_ROLE: (False, False, False, True),
        SYSTEM_ROLE: (False, False, True, False),
    }
    role = await login_role(db.engine)  # what the application under test logs in as
    assert role.name == LOGIN_ROLE and not role.problems()
    assert (await login_role(admin_db.engine)).bypasses_rls


async def test_the_login_role_alone_reads_no_tenant_table(db: Database) -> None:
    """A transaction that chose neither runtime role (a bug) is refused, not shown everything."""
    await make_org(db)
    async with db.engine.connect() as conn:
        with pytest.raises(DBAPIError, match="permission denied"):
            await conn.execute(text("SELECT count(*) FROM orders"))


async def test_system_role_sees_only_what_cross_organisation_work_needs(db: Database) -> None:
    seller = await make_org(db)
    await make_order(db, seller)
    async with UnitOfWork(db, None) as uow:
        assert seller.org_id in await uow.accounts.org_ids()
    for table in ("orders", "users", "stock", "skus", "audit_log"):
        async with UnitOfWork(db, None) as uow:
            with pytest.raises(DBAPIError, match="permission denied"):
                await uow.session.execute(text(f"SELECT count(*) FROM {table}"))
    async with UnitOfWork(db, None) as uow:
        with pytest.raises(DBAPIError, match="permission denied"):
            await uow.session.execute(text("UPDATE api_tokens SET revoked_at = now()"))


async def test_a_cross_seller_reference_is_impossible_in_the_database(
    db: Database, admin_db: Database
) -> None:
    seller_a = await make_org(db)
    seller_b = await make_org(db)
    order_a = await make_order(db, seller_a)
    sku_b = seller_b.skus[0].id
    insert = text(
        "INSERT INTO order_lines (org_id, order_id, sku_id, quantity, unit_price_fen,"
        " discount_fen) VALUES (:org, :order, :sku, 1, 100, 0)"
    )
    values = {"org": seller_a.org_id, "order": order_a.id, "sku": sku_b}
    # Under the application role, as a service with a missing check would run it.
    async with org_connection(db, seller_a.org_id) as conn:
        with pytest.raises(DBAPIError, match="order_lines_sku_id_fkey"):
            await conn.execute(insert, values)
    # Even the superuser, which bypasses RLS, cannot make the reference.
    async with admin_db.engine.connect() as conn:
        with pytest.raises(DBAPIError, match="order_lines_sku_id_fkey"):
            await conn.execute(insert, values)
    # And a row claiming to be seller B's, written in seller A's transaction, is refused by RLS.
    async with org_connection(db, seller_a.org_id) as conn:
        with pytest.raises(DBAPIError, match="row-level security"):
            await conn.execute(
                text("INSERT INTO suppliers (org_id, name) VALUES (:org, 'intruder')"),
                {"org": seller_b.org_id},
            )
