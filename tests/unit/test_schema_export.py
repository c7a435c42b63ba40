"""schema.graphql is exported from code; this fails when someone forgot to re-export."""

from __future__ import annotations

from pathlib import Path

from api.schema import export_sdl

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "schema.graphql"


def test_schema_file_is_current() -> None:
    assert SCHEMA_FILE.read_text(encoding="utf-8") == export_sdl(), (
        "schema.graphql is stale: run `orderflow export-schema`"
    )
