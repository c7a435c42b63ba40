"""``orderflow``: serve, worker, demo, migrate, export-schema, create-org, create-user,
reconcile-stock.

Every command that needs PostgreSQL or Redis uses ``DATABASE_URL`` / ``REDIS_URL`` when set and
otherwise starts the embedded ones under ``./.orderflow/``; the last orderflow process to exit
stops them (Ctrl-C and SIGTERM included).  ``migrate`` (and the demo's migration step) log in as
the schema owner (``DATABASE_ADMIN_URL``, else ``DATABASE_URL``); everything else as the
application's login, which ``serve`` and ``worker`` check cannot bypass row-level security.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Annotated, Any, TypeVar

import structlog
import typer
import uvicorn

from api.app import AppOptions, MissingSecretKey, create_app
from api.logs import configure_logging
from db.embedded import (
    ServiceUrls,
    admin_database_url_for,
    app_database_url_for,
    embedded_handles,
    install_sigterm_handler,
    resolve_service_urls,
    stop_embedded,
)
from db.engine import Database
from db.migrate import PendingMigrations, ensure_up_to_date, upgrade
from db.roles import UnsafeDatabaseLogin, login_role
from db.settings import Settings, get_settings
from domain.accounts import service as accounts
from domain.accounts.model import Actor, Role
from domain.errors import DomainError

app = typer.Typer(
    help="orderflow: order fulfilment for multi-shop sellers (GraphQL API + workers).",
    no_args_is_help=True,
    add_completion=False,
    # typer's rich tracebacks print every frame's local variables: the settings with the
    # secret key and database URL among them.
    pretty_exceptions_show_locals=False,
)

T = TypeVar("T")
log = structlog.get_logger(__name__)


def _settings() -> Settings:
    settings = get_settings()
    configure_logging(settings)
    return settings


@contextmanager
def _command_scope() -> Iterator[None]:
    """A command's life: SIGTERM ends it like Ctrl-C, and the embedded services it started are
    released however it ends (not those held before, e.g. by a test session calling in-process)."""
    install_sigterm_handler()
    held_before = embedded_handles()
    try:
        yield
    finally:
        stop_embedded(keep=held_before)


def _run(main: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a command's coroutine; typed errors become one red line and exit code 2."""
    with _command_scope():
        try:
            return asyncio.run(main())
        except DomainError as exc:
            typer.secho(f"error: {exc.message}", fg=typer.colors.RED, err=True)
            raise typer.Exit(code=2) from exc
        except KeyboardInterrupt:
            raise typer.Exit(code=130) from None


async def _database(settings: Settings, urls: ServiceUrls | None = None) -> Database:
    """The application's login (never the schema owner's)."""
    url = urls.database_url if urls else app_database_url_for(settings)
    return Database.connect(url, settings, pool_size=2)


async def _admin_database(settings: Settings, urls: ServiceUrls | None = None) -> Database:
    """The schema owner's login, for migrations only."""
    url = urls.admin_database_url if urls else admin_database_url_for(settings)
    return Database.connect(url, settings, pool_size=1)


async def check_database_login(settings: Settings, db: Database) -> None:
    """Refuse (production) or warn (development) when the login could bypass RLS."""
    role = await login_role(db.engine)
    if not role.problems():
        return
    if settings.is_production:
        raise UnsafeDatabaseLogin(role)
    log.warning(
        "database.login_bypasses_rls",
        login=role.name,
        problems=role.problems(),
        hint="fine on a laptop; in production log in as orderflow_server",
    )


class _Server(uvicorn.Server):
    """uvicorn, minus re-raising Ctrl-C after a graceful stop: the demo's worker and embedded
    services still have to shut down after the server has."""

    def __init__(self, config: uvicorn.Config, on_exit: Callable[[], None]) -> None:
        super().__init__(config)
        self._on_exit = on_exit

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self.should_exit:
            self.force_exit = True
        self.should_exit = True
        self._on_exit()


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Server processes.")] = 1,
) -> None:
    """Run the GraphQL API server (no background worker: start `orderflow worker` too)."""
    settings = _settings()
    with _command_scope():
        try:
            # Start embedded services here so every server process shares them, and fail on a
            # missing secret key or pending migrations before forking.
            urls = resolve_service_urls(settings)
            create_app(settings)
            asyncio.run(_check_database(settings, urls))
            uvicorn.run(
                "api.app:create_app_from_env",
                factory=True,
                host=host,
                port=port,
                workers=workers,
                log_config=None,
                proxy_headers=True,
                env_file=None,
            )
        except (MissingSecretKey, PendingMigrations, UnsafeDatabaseLogin) as exc:
            typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
            raise typer.Exit(code=1) from exc
        except KeyboardInterrupt:
            pass


async def _check_database(settings: Settings, urls: ServiceUrls) -> None:
    db = await _database(settings, urls)
    try:
        await ensure_up_to_date(db.engine)
        await check_database_login(settings, db)
    finally:
        await db.dispose()


@app.command()
def worker() -> None:
    """Run the background worker: outbox relay, order pipeline jobs, nightly crons."""
    from workers.runtime import run_worker

    settings = _settings()

    async def main() -> None:
        urls = resolve_service_urls(settings)
        await _check_database(settings, urls)
        await run_worker(settings, urls.database_url, urls.redis_url)

    try:
        _run(main)
    except (PendingMigrations, UnsafeDatabaseLogin) as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(code=1) from exc


@app.command()
def migrate() -> None:
    """Upgrade the database schema to the latest migration."""
    settings = _settings()

    async def main() -> None:
        db = await _admin_database(settings)
        try:
            await upgrade(db.engine)
        finally:
            await db.dispose()
        typer.echo("database is up to date")

    _run(main)


@app.command("export-schema")
def export_schema(
    path: Annotated[Path, typer.Option(help="Where to write the SDL.")] = Path("schema.graphql"),
) -> None:
    """Write the GraphQL schema (SDL) exported from code, for frontends and the sync test."""
    from api.schema import export_sdl

    path.write_text(export_sdl(), encoding="utf-8")
    typer.echo(f"wrote {path}")


def _password(password_stdin: bool) -> str:
    if password_stdin:
        return sys.stdin.readline().rstrip("\n")
    value: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    return value


@app.command("create-org")
def create_org(
    slug: Annotated[str, typer.Option(help="Organisation code used to sign in, e.g. 'acme'.")],
    name: Annotated[str, typer.Option(help="Display name, e.g. '某某旗舰店'.")],
    owner: Annotated[str, typer.Option(help="The owner's username.")] = "owner",
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the owner's password from stdin.")
    ] = False,
) -> None:
    """Create an organisation (seller) with its OWNER user."""
    settings = _settings()
    password = _password(password_stdin)

    async def main() -> None:
        db = await _database(settings)
        try:
            org, user = await accounts.create_organization(
                db, slug=slug, name=name, owner_username=owner, owner_password=password
            )
        finally:
            await db.dispose()
        typer.echo(f"created organisation {org.slug} (id {org.id}) with owner {user.username}")

    _run(main)


@app.command("create-user")
def create_user(
    org: Annotated[str, typer.Option(help="Organisation code (slug).")],
    username: Annotated[str, typer.Option(help="Username to sign in with.")],
    role: Annotated[Role, typer.Option(case_sensitive=False, help="The user's role.")],
    supplier: Annotated[
        str | None, typer.Option(help="For --role SUPPLIER: the supplier's name.")
    ] = None,
    display_name: Annotated[str, typer.Option(help="Name shown in the UI.")] = "",
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from stdin.")
    ] = False,
) -> None:
    """Create a user in an organisation (bootstrapping; the API has createUser too)."""
    from db.uow import UnitOfWork

    settings = _settings()
    password = _password(password_stdin)

    async def main() -> None:
        db = await _database(settings)
        try:
            org_id = await accounts.organization_id(db, org)
            actor = Actor.system(org_id, label="cli")
            async with UnitOfWork(db, org_id) as uow:
                user = await accounts.create_user(
                    uow,
                    actor,
                    username=username,
                    password=password,
                    role=role,
                    display_name=display_name,
                    supplier_name=supplier,
                )
                await uow.commit()
        finally:
            await db.dispose()
        typer.echo(f"created {user.role} user {user.username} in {org}")

    _run(main)


@app.command("reconcile-stock")
def reconcile_stock(
    org: Annotated[
        str | None, typer.Option(help="Organisation code; every organisation when omitted.")
    ] = None,
) -> None:
    """Check stock against its ledger and reservations (库存对账); exit 1 on any drift.

    Reports only: a person decides what is true and corrects it with a stock count.
    """
    from domain.inventory.reconcile import reconcile, reconcile_all

    settings = _settings()

    async def main() -> bool:
        db = await _database(settings)
        try:
            if org is None:
                reports = await reconcile_all(db)
            else:
                reports = [await reconcile(db, await accounts.organization_id(db, org))]
        finally:
            await db.dispose()
        for report in reports:
            state = "ok" if report.ok else "DRIFT"
            typer.echo(
                f"org {report.org_id}: {state} ({report.checked_rows} stock rows checked, "
                f"{len(report.drifts)} drifted, {report.orphan_ledger_rows} orphan ledger rows)"
            )
            for drift in report.drifts:
                typer.echo("  " + " ".join(f"{k}={v}" for k, v in drift.describe().items()))
        return all(report.ok for report in reports)

    if not _run(main):
        raise typer.Exit(code=1)


@app.command()
def demo(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    orders: Annotated[int, typer.Option(min=0, help="Orders for the main demo seller.")] = 2000,
) -> None:
    """Start everything in one process with demo data: server, worker, GraphiQL."""
    from demo.seed import load_demo
    from workers.runtime import run_worker

    settings = _settings()

    async def main() -> None:
        urls = resolve_service_urls(settings)
        admin = await _admin_database(settings, urls)
        try:
            await upgrade(admin.engine)
        finally:
            await admin.dispose()
        db = await _database(settings, urls)
        try:
            await check_database_login(settings, db)
            summary = await load_demo(db, orders_per_org=orders)
        finally:
            await db.dispose()
        _print_banner(summary, host, port)

        stop = asyncio.Event()
        server = _Server(
            uvicorn.Config(
                create_app(settings, AppOptions(run_relay=True)),
                host=host,
                port=port,
                log_config=None,
                lifespan="on",
            ),
            on_exit=stop.set,
        )
        worker_task = asyncio.create_task(
            run_worker(settings, urls.database_url, urls.redis_url, stop, run_relay=False)
        )
        try:
            await server.serve()
        finally:
            stop.set()
            await worker_task
        typer.echo("orderflow demo stopped")

    _run(main)


def _print_banner(summary: object, host: str, port: int) -> None:
    from demo.seed import DemoSummary

    assert isinstance(summary, DemoSummary)
    shown = "127.0.0.1" if host in {"0.0.0.0", "::"} else host
    lines = [
        "",
        f"  orderflow demo — GraphiQL: http://{shown}:{port}/graphql",
        "  Sign in with the `login` mutation (organization, username, password):",
    ]
    for org in summary.organizations:
        lines.append(f"    {org.slug}  ({org.name})")
        for login in org.logins:
            lines.append(f"      {login.role.value:<10} {login.username:<12} {login.password}")
    lines.append("  Press Ctrl-C to stop.")
    typer.echo("\n".join(lines) + "\n")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
