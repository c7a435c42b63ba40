"""The ASGI application: GraphQL at /graphql (GraphiQL in development), /healthz, /readyz."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager
from dataclasses import dataclass

import structlog
from sqlalchemy import text
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute

from api.graphiql import ASSETS_PATH, graphiql_assets_app
from api.logs import configure_logging, register_secrets
from api.redaction import secrets_in_url
from api.schema import build_schema
from api.services import AppServices
from api.view import PROTOCOLS, OrderflowGraphQL
from db.embedded import embedded_secret_key, resolve_service_urls
from db.migrate import ensure_up_to_date
from db.settings import Settings, get_settings
from workers.enqueue import JobQueue
from workers.relay import OutboxRelay

log = structlog.get_logger(__name__)


class MissingSecretKey(RuntimeError):
    def __init__(self) -> None:
        super().__init__(
            "ORDERFLOW_SECRET_KEY is required in production (a long random string, e.g. "
            "`python -c 'import secrets; print(secrets.token_urlsafe(48))'`)."
        )


def secret_key_for(settings: Settings) -> str:
    if settings.secret_key:
        return settings.secret_key
    if settings.is_production:
        raise MissingSecretKey()
    return embedded_secret_key(settings.data_dir)


@dataclass
class AppOptions:
    #: Refuse to start on a database with pending migrations (the demo migrates first).
    check_migrations: bool = True
    #: Publish outbox events from this process (demo mode: no separate worker runs a relay).
    run_relay: bool = False


async def healthz(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> JSONResponse:
    services: AppServices | None = getattr(request.app.state, "services", None)
    checks = {"database": False, "redis": False}
    if services is not None:
        try:
            async with services.db.engine.connect() as conn:
                await asyncio.wait_for(conn.execute(text("SELECT 1")), timeout=2)
            checks["database"] = True
        except Exception as exc:
            log.warning("readyz.database", error=str(exc))
        try:
            checks["redis"] = bool(await asyncio.wait_for(services.redis.ping(), timeout=2))
        except Exception as exc:
            log.warning("readyz.redis", error=str(exc))
    ready = all(checks.values())
    return JSONResponse(
        {"status": "ready" if ready else "unavailable", **checks}, status_code=200 if ready else 503
    )


@contextmanager
def _long_lived_objects_frozen() -> Iterator[None]:
    """Keep what start-up loaded (modules, the schema, engines: ~170,000 objects) out of the
    cyclic garbage collector's full passes, which otherwise walk all of it on the event loop,
    more often the more cyclic garbage requests leave (errors do: exception, traceback, frames)."""
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


@asynccontextmanager
async def _relay(services: AppServices, redis_url: str) -> AsyncIterator[None]:
    queue = await JobQueue.connect(redis_url, services.settings)
    relay = OutboxRelay(services.db, services.redis, queue, services.settings)
    stop = asyncio.Event()
    task = asyncio.create_task(relay.run(stop), name="outbox-relay")
    try:
        yield
    finally:
        stop.set()
        await task
        await queue.close()


def create_app(settings: Settings | None = None, options: AppOptions | None = None) -> Starlette:
    settings = settings or get_settings()
    options = options or AppOptions()
    secret_key = secret_key_for(settings)  # fail fast, before any service starts
    register_secrets([secret_key])

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        urls = resolve_service_urls(settings)
        register_secrets([*secrets_in_url(urls.database_url), *secrets_in_url(urls.redis_url)])
        services = AppServices.create(settings, urls.database_url, urls.redis_url, secret_key)
        async with AsyncExitStack() as stack:
            stack.push_async_callback(services.close)
            if options.check_migrations:
                await ensure_up_to_date(services.db.engine)
            if options.run_relay:
                await stack.enter_async_context(_relay(services, urls.redis_url))
            app.state.services = services
            stack.enter_context(_long_lived_objects_frozen())
            log.info("server.ready", environment=settings.environment)
            yield

    graphiql = not settings.is_production
    graphql = OrderflowGraphQL(
        build_schema(settings),
        graphql_ide="graphiql" if graphiql else None,
        allow_queries_via_get=False,
        allowed_origins=settings.cors_origins,
        subscription_protocols=PROTOCOLS,
        max_body_bytes=settings.max_body_bytes,
    )
    middleware = [
        Middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_credentials=True,
            allow_methods=["GET", "POST", "OPTIONS"],
            allow_headers=["authorization", "content-type", "x-csrf-token"],
        )
    ]
    routes: list[BaseRoute] = [
        Route("/graphql", graphql, methods=["GET", "POST"]),
        WebSocketRoute("/graphql", graphql),
        Route("/healthz", healthz),
        Route("/readyz", readyz),
    ]
    if graphiql:
        # GraphiQL's own files, so the page works without reaching any CDN.
        routes.append(Mount(ASSETS_PATH, app=graphiql_assets_app(), name="graphiql-assets"))
    return Starlette(
        routes=routes,
        middleware=middleware,
        lifespan=lifespan,
    )


def create_app_from_env() -> Starlette:
    """For ``uvicorn --factory api.app:create_app_from_env`` (``orderflow serve``).

    Configures logging itself: with ``--workers`` above 1, uvicorn starts fresh processes that
    run this factory and none of the CLI, and an unconfigured structlog renders tracebacks with
    rich and every frame's local variables."""
    settings = get_settings()
    configure_logging(settings)
    return create_app(settings)
