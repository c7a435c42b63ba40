"""GraphiQL's vendored assets: strawberry's versions, intact, licensed, shipped, referenced."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from strawberry.http.ides import get_graphql_ide_html

from api.graphiql import ASSETS_PATH, Asset, assets, graphiql_page
from tools.vendor_graphiql import cdn_assets, integrity_of

ROOT = Path(__file__).resolve().parents[2]
STATIC = ROOT / "api" / "static" / "graphiql"
RE_VENDOR = "re-vendor with `python tools/vendor_graphiql.py`"


def test_assets_are_the_ones_strawberrys_page_names() -> None:
    wanted = cdn_assets(get_graphql_ide_html("graphiql"))
    shipped = [
        {
            "kind": a.kind,
            "package": a.package,
            "version": a.version,
            "path": a.path,
            "integrity": a.integrity,
        }
        for a in assets()
    ]
    assert shipped == wanted, f"strawberry's GraphiQL page names other assets: {RE_VENDOR}"


@pytest.mark.parametrize("asset", assets(), ids=lambda a: f"{a.package}/{a.path}")
def test_asset_is_intact_and_licensed(asset: Asset) -> None:
    package_dir = STATIC / f"{asset.package}@{asset.version}"
    data = (package_dir / asset.path).read_bytes()
    assert integrity_of(data) == asset.integrity, f"{asset.path} was altered: {RE_VENDOR}"
    assert "Permission is hereby granted" in (package_dir / "LICENSE").read_text(encoding="utf-8")


def test_page_loads_nothing_from_outside() -> None:
    page = graphiql_page()
    for asset in assets():
        assert f'"{asset.url}" integrity="{asset.integrity}"' in page
    sources = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert sources
    assert all(s.startswith((f"{ASSETS_PATH}/", "data:")) for s in sources), sources
    assert "unpkg" not in page and "Cookies.get" not in page


def test_page_sends_orderflows_csrf_header() -> None:
    page = graphiql_page()
    assert 'const CSRF_COOKIE = "orderflow_csrf";' in page
    assert 'const CSRF_HEADER = "x-csrf-token";' in page
    assert "fetch: fetchWithCsrf" in page


def test_pip_install_ships_every_asset() -> None:
    """Every file under api/static and api/templates matches a package-data pattern."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = pyproject["tool"]["setuptools"]["package-data"]["api"]
    api = ROOT / "api"
    shipped = {path for pattern in patterns for path in api.glob(pattern) if path.is_file()}
    needed = {p for d in ("static", "templates") for p in (api / d).rglob("*") if p.is_file()}
    assert needed - shipped == set()
