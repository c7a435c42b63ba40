"""GraphiQL without the internet: orderflow's own page and the assets it serves itself.

strawberry's page loads React, GraphiQL and the explorer plugin from a public CDN, which users in
mainland China often cannot reach and an offline laptop never can; it also sends Django's CSRF
header, not ours.  This page is strawberry's with two changes: its assets (the same npm packages
at the same versions, vendored by ``tools/vendor_graphiql.py`` with their licences) come from
``ASSETS_PATH`` on this server, and every request carries the session's CSRF cookie in
orderflow's CSRF header, read at request time so that signing in from the page works at once.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from functools import lru_cache
from html import escape
from importlib.resources import files
from typing import Any, Literal

from starlette.middleware.gzip import GZipMiddleware
from starlette.responses import Response
from starlette.staticfiles import PathLike, StaticFiles
from starlette.types import ASGIApp, Scope

from api.auth import CSRF_COOKIE, CSRF_HEADER

#: Where the vendored assets are served; each file sits under ``<package>@<version>/``.
ASSETS_PATH = "/static/graphiql"
#: The package directory holding the assets and ``assets.json`` (package data, see pyproject).
ASSETS_DIR = ("api", "static/graphiql")


@dataclass(frozen=True)
class Asset:
    kind: Literal["script", "style"]
    package: str
    version: str
    path: str
    integrity: str

    @property
    def url(self) -> str:
        return f"{ASSETS_PATH}/{self.package}@{self.version}/{self.path}"

    def tag(self) -> str:
        # The CDN's integrity hashes still hold: a damaged or altered copy is refused.
        url, integrity = escape(self.url), escape(self.integrity)
        if self.kind == "script":
            return f'<script src="{url}" integrity="{integrity}"></script>'
        return f'<link rel="stylesheet" href="{url}" integrity="{integrity}" />'


def assets() -> list[Asset]:
    """The vendored assets, in the order the page must load them."""
    manifest = files(ASSETS_DIR[0]).joinpath(ASSETS_DIR[1], "assets.json")
    entries: list[dict[str, Any]] = json.loads(manifest.read_text(encoding="utf-8"))
    return [Asset(**entry) for entry in entries]


@lru_cache(maxsize=1)
def graphiql_page() -> str:
    template = files("api").joinpath("templates", "graphiql.html").read_text(encoding="utf-8")
    tags = "\n    ".join(asset.tag() for asset in assets())
    return (
        template.replace("%%ASSETS%%", tags)
        .replace("%%CSRF_COOKIE%%", json.dumps(CSRF_COOKIE))
        .replace("%%CSRF_HEADER%%", json.dumps(CSRF_HEADER))
    )


class VersionedStaticFiles(StaticFiles):
    """Static files whose paths carry their version (``name@1.2.3/…``): a path never changes
    content, so browsers may keep each file for a year without asking again."""

    CACHE_CONTROL = "public, max-age=31536000, immutable"

    def file_response(
        self,
        full_path: PathLike,
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        response.headers["cache-control"] = self.CACHE_CONTROL
        return response


def graphiql_assets_app() -> ASGIApp:
    # GraphiQL's bundle is 3.5 MB and 0.7 MB gzipped: worth it on a slow link, once per browser
    # thanks to the cache headers.  Level 6 costs a third of level 9's CPU for 1% more bytes.
    return GZipMiddleware(
        VersionedStaticFiles(packages=[ASSETS_DIR]), minimum_size=1024, compresslevel=6
    )
