"""Start-up refusals and the bootstrap CLI commands."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from click.testing import Result
from sqlalchemy.ext.asyncio import create_async_engine
from structlog.testing import capture_logs
from typer.testing import CliRunner

from api.app import MissingSecretKey, create_app
from api.cli import app as cli
from api.cli import check_database_login
from db import settings as settings_module
from db.engine import Database
from db.migrate import PendingMigrations, ensure_up_to_date
from db.settings import Settings
from db.uow import UnitOfWork
from domain.accounts.passwords import verify_password
from domain.accounts.tokens import issue_session_token
from tests.support.api import GraphQLClient
from tests.support.databases import DatabaseFactory
from tests.support.factories import Seller
from tests.support.sql import org_connection


def test_production_needs_a_secret_key() -> None:
    with pytest.raises(MissingSecretKey, match="ORDERFLOW_SECRET_KEY"):
        create_app(Settings(_env_file=None, environment="production"))  # type: ignore[call-arg]


async def test_pending_migrations_refuse_start(databases: DatabaseFactory) -> None:
    url = await databases.clone()
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.exec_driver_sql("DELETE FROM alembic_version")
        with pytest.raises(PendingMigrations, match="orderflow migrate"):
            await ensure_up_to_date(engine)
    finally:
        await engine.dispose()


async def test_expired_token_is_unauthenticated(client: GraphQLClient, seller: Seller) -> None:
    user = seller.users[next(iter(seller.users))]
    assert user.id is not None
    expired, _ = issue_session_token(
        client.services.secret_key,
        org_id=seller.org_id,
        user_id=user.id,
        token_version=0,
        ttl=timedelta(seconds=-5),
    )
    body = await client.gql("{ orders { totalCount } }", token=expired)
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_create_org_and_user_from_the_cli(
    settings: Settings, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert settings.database_url and settings.redis_url
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("REDIS_URL", settings.redis_url)
    settings_module.get_settings.cache_clear()
    runner = CliRunner()

    def invoke(args: list[str], password: str) -> Result:
        # The CLI runs its own event loop: give it a thread of its own.
        return runner.invoke(cli, [*args, "--password-stdin"], input=password + "\n")

    try:
        made = await asyncio.to_thread(
            invoke, ["create-org", "--slug", "cli-shop", "--name", "命令行小店"], "owner-pass-1"
        )
        assert made.exit_code == 0, made.output
        user = await asyncio.to_thread(
            invoke,
            ["create-user", "--org", "cli-shop", "--username", "bob", "--role", "WAREHOUSE"],
            "bob-pass-12",
        )
        assert user.exit_code == 0, user.output
        again = await asyncio.to_thread(
            invoke, ["create-org", "--slug", "cli-shop", "--name", "x"], "owner-pass-1"
        )
        assert again.exit_code == 2 and "taken" in again.output
        weak = await asyncio.to_thread(
            invoke,
            ["create-user", "--org", "cli-shop", "--username", "eve", "--role", "SERVICE"],
            "short",
        )
        assert weak.exit_code == 2
    finally:
        settings_module.get_settings.cache_clear()

    async with UnitOfWork(db, None) as uow:
        org = await uow.accounts.org_by_slug("cli-shop")
        assert org is not None and org.id is not None
        await uow.enter_org(org.id)
        bob = await uow.accounts.user_by_username(org.id, "bob")
        eve = await uow.accounts.user_by_username(org.id, "eve")
    assert bob is not None and bob.role == "WAREHOUSE"
    assert verify_password(bob.password_hash, "bob-pass-12")
    assert eve is None


async def test_reconcile_stock_cli_exits_1_on_drift(
    settings: Settings, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.support.factories import make_org
    from tests.support.inventory import make_layout, receive

    seller = await make_org(db)
    layout = await make_layout(db, seller)
    sku = seller.skus[0].id or 0
    await receive(
        db, seller, layout, sku, 4, bin_id=layout.bins[layout.warehouses[0].id or 0][0].id or 0
    )
    assert settings.database_url
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("REDIS_URL", settings.redis_url or "")
    settings_module.get_settings.cache_clear()
    runner = CliRunner()
    try:
        clean = await asyncio.to_thread(
            runner.invoke, cli, ["reconcile-stock", "--org", seller.slug]
        )
        assert clean.exit_code == 0, clean.output
        assert ": ok" in clean.output
        async with org_connection(
            db, seller.org_id, commit=True
        ) as conn:  # a bug (or a hand edit) behind the ledger's back
            await conn.exec_driver_sql(
                f"UPDATE stock SET on_hand = on_hand + 3 WHERE org_id = {seller.org_id}"
            )
        drifted = await asyncio.to_thread(
            runner.invoke, cli, ["reconcile-stock", "--org", seller.slug]
        )
    finally:
        settings_module.get_settings.cache_clear()
    assert drifted.exit_code == 1, drifted.output
    assert "DRIFT" in drifted.output and "ledgerOnHand=4" in drifted.output


async def test_serve_refuses_pending_migrations_with_a_clear_message(
    settings: Settings, databases: DatabaseFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = await databases.clone()
    engine = create_async_engine(url)
    async with engine.begin() as conn:
        await conn.exec_driver_sql("DELETE FROM alembic_version")
    await engine.dispose()
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("REDIS_URL", settings.redis_url or "")
    monkeypatch.setenv("ORDERFLOW_SECRET_KEY", "k" * 40)
    settings_module.get_settings.cache_clear()
    try:
        result = await asyncio.to_thread(CliRunner().invoke, cli, ["serve", "--port", "1"])
    finally:
        settings_module.get_settings.cache_clear()
    assert result.exit_code == 1
    assert "Run `orderflow migrate`" in result.output


@pytest.mark.parametrize("command", [["serve", "--port", "1"], ["worker"]])
async def test_production_refuses_a_login_that_bypasses_rls(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, command: list[str]
) -> None:
    assert settings.database_admin_url and settings.redis_url
    monkeypatch.setenv("DATABASE_URL", settings.database_admin_url)  # the superuser
    monkeypatch.setenv("REDIS_URL", settings.redis_url)
    monkeypatch.setenv("ORDERFLOW_ENVIRONMENT", "production")
    monkeypatch.setenv("ORDERFLOW_SECRET_KEY", "k" * 40)
    settings_module.get_settings.cache_clear()
    try:
        result = await asyncio.to_thread(CliRunner().invoke, cli, command)
    finally:
        settings_module.get_settings.cache_clear()
    assert result.exit_code == 1, result.output
    assert "is a superuser" in result.output and "orderflow_server" in result.output


async def test_development_warns_about_a_login_that_bypasses_rls(
    settings: Settings, admin_db: Database, db: Database
) -> None:
    with capture_logs() as logs:
        await check_database_login(settings, admin_db)
        await check_database_login(settings, db)
    warnings = [e for e in logs if e["event"] == "database.login_bypasses_rls"]
    assert len(warnings) == 1 and warnings[0]["log_level"] == "warning"
    assert warnings[0]["problems"] == ["is a superuser"]
