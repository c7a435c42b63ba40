"""Vendor GraphiQL's browser assets into ``api/static/graphiql`` (run after a strawberry upgrade).

strawberry's GraphiQL page loads React, GraphiQL and the explorer plugin from a public CDN, which
users in mainland China often cannot reach (and an offline laptop never can).  orderflow serves
the same files itself.  This script reads the installed strawberry's page, takes every CDN asset
it names at the version it names (except js-cookie: orderflow's page reads its CSRF cookie
itself), fetches each npm package with ``npm pack`` from the configured npm registry, copies just
the referenced files and the package's licence, checks each file against the page's subresource
integrity hash, and writes ``assets.json``, from which ``api.graphiql`` builds the page.

    python tools/vendor_graphiql.py

``tests/unit/test_graphiql_assets.py`` fails when the installed strawberry names other versions
than the ones vendored here.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from strawberry.http.ides import get_graphql_ide_html

ROOT = Path(__file__).resolve().parents[1]
TARGET = ROOT / "api" / "static" / "graphiql"
#: js-cookie only read Django's CSRF cookie on strawberry's page; ours reads its cookie directly.
SKIPPED_PACKAGES = {"js-cookie"}
#: ``@graphiql/plugin-explorer`` ships no licence file; it lives in the graphiql monorepo, whose
#: MIT licence (the one ``graphiql`` ships) covers it.  Its UMD build bundles
#: ``graphiql-explorer``, whose own licence is kept beside it.
LICENCE_FROM = {"@graphiql/plugin-explorer": "graphiql"}
BUNDLED_LICENCES = {"@graphiql/plugin-explorer": ["graphiql-explorer@0.9.0"]}

_TAG = re.compile(
    r"<(?P<tag>script|link)\b[^>]*?(?:src|href)=\"https://unpkg\.com/"
    r"(?P<package>@?[^@\"]+)@(?P<version>[^/\"]+)/(?P<path>[^\"]+)\"[^>]*?"
    r"integrity=\"(?P<integrity>[^\"]+)\"",
    re.S,
)


def cdn_assets(page: str) -> list[dict[str, str]]:
    """The CDN assets of strawberry's page, in page order: package, version, path, integrity."""
    assets = []
    for match in _TAG.finditer(page):
        if match["package"] in SKIPPED_PACKAGES:
            continue
        assets.append(
            {
                "kind": "script" if match["tag"] == "script" else "style",
                "package": match["package"],
                "version": match["version"],
                "path": match["path"],
                "integrity": match["integrity"],
            }
        )
    return assets


def integrity_of(data: bytes) -> str:
    return "sha384-" + base64.b64encode(hashlib.sha384(data).digest()).decode()


def unpack(spec: str, into: Path) -> Path:
    """``npm pack`` one package and unpack it; returns its ``package/`` directory."""
    into.mkdir(parents=True, exist_ok=True)
    name = subprocess.run(
        ["npm", "pack", spec, "--silent"], cwd=into, check=True, capture_output=True, text=True
    ).stdout.split()[-1]
    with tarfile.open(into / name) as tar:
        tar.extractall(into, filter="data")
    return into / "package"


def main() -> int:
    assets = cdn_assets(get_graphql_ide_html("graphiql"))
    if not assets:
        print("no CDN assets found in strawberry's GraphiQL page", file=sys.stderr)
        return 1
    if TARGET.exists():
        shutil.rmtree(TARGET)
    with tempfile.TemporaryDirectory() as tmp:
        unpacked: dict[str, Path] = {}
        for asset in assets:
            spec = f"{asset['package']}@{asset['version']}"
            if spec not in unpacked:
                unpacked[spec] = unpack(spec, Path(tmp) / spec.replace("/", "+"))
            data = (unpacked[spec] / asset["path"]).read_bytes()
            if integrity_of(data) != asset["integrity"]:
                print(f"{spec}/{asset['path']}: integrity differs from the page's", file=sys.stderr)
                return 1
            out = TARGET / spec / asset["path"]
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_bytes(data)
        for spec in unpacked:
            package = spec.rpartition("@")[0]
            source = unpacked[spec]
            if package in LICENCE_FROM:
                graphiql = next(s for s in unpacked if s.startswith(LICENCE_FROM[package] + "@"))
                source = unpacked[graphiql]
            shutil.copy(source / "LICENSE", TARGET / spec / "LICENSE")
            for bundled in BUNDLED_LICENCES.get(package, []):
                licence = unpack(bundled, Path(tmp) / bundled) / "LICENSE"
                shutil.copy(licence, TARGET / spec / f"LICENSE.{bundled.rpartition('@')[0]}")
    (TARGET / "assets.json").write_text(json.dumps(assets, indent=2) + "\n", encoding="utf-8")
    for asset in assets:
        print(f"{asset['package']}@{asset['version']}/{asset['path']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
