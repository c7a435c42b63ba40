"""The README's configuration table names every setting (kept true after every change)."""

from __future__ import annotations

from pathlib import Path

from db.settings import Settings

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")


def test_every_setting_is_documented() -> None:
    for name in Settings.model_fields:
        plain = {"database_url", "database_admin_url", "redis_url"}
        env = name.upper() if name in plain else f"ORDERFLOW_{name.upper()}"
        assert f"`{env}`" in README, f"{env} is missing from the README's configuration table"
