"""GraphQL over HTTP: the spec's reference audit (npm ``graphql-http``) against a real server.

Before, every MUST passed but 8 SHOULDs warned: ``application/graphql-response+json`` was not
served, and parse, validation and variable-coercion failures answered 200 with ``"data": null``.
The audit now finds no failure and no warning (``notice`` results are MAYs orderflow declines,
such as queries over GET).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from db.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
TOOLS = ROOT / ".orderflow" / "test-tools" / "graphql-http"
AUDIT_SCRIPT = ROOT / "tests" / "support" / "graphql_http_audit.mjs"
PACKAGES = ("graphql-http@1.23.1", "graphql@16.15.0")


@pytest.fixture(scope="module")
def graphql_http() -> Path:
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("node and npm are needed to run graphql-http's audit; install Node.js")
    if not (TOOLS / "node_modules" / "graphql-http" / "package.json").exists():
        TOOLS.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                npm,
                "install",
                "--no-save",
                "--no-audit",
                "--no-fund",
                "--prefix",
                str(TOOLS),
                *PACKAGES,
            ],
            check=True,
            capture_output=True,
            timeout=300,
        )
    return TOOLS


@pytest.fixture
def server_url(settings: Settings, tmp_path: Path) -> Iterator[str]:
    """``uvicorn`` serving the app in a process of its own, on a free loopback port."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    port = listener.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("ORDERFLOW_")}
    env.update(
        DATABASE_URL=settings.database_url or "",
        DATABASE_ADMIN_URL=settings.database_admin_url or "",
        REDIS_URL=settings.redis_url or "",
        ORDERFLOW_SECRET_KEY=settings.secret_key or "",
        ORDERFLOW_REDIS_PREFIX=settings.redis_prefix,
    )
    log = (tmp_path / "server.log").open("w")
    server = subprocess.Popen(
        [
            *(sys.executable, "-m", "uvicorn", "--factory", "api.app:create_app_from_env"),
            *("--fd", str(listener.fileno()), "--log-level", "warning"),
        ],
        cwd=ROOT,
        env=env,
        pass_fds=(listener.fileno(),),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, (tmp_path / "server.log").read_text()
            try:
                if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the server did not become ready"
            time.sleep(0.2)
        yield f"{url}/graphql"
    finally:
        server.terminate()
        server.wait(timeout=30)
        listener.close()
        log.close()


def test_graphql_over_http_audit_passes_without_warnings(
    graphql_http: Path, server_url: str
) -> None:
    run = subprocess.run(
        ["node", str(AUDIT_SCRIPT), str(graphql_http), server_url],
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    )
    results = json.loads(run.stdout)
    assert len(results) > 40
    problems = [r for r in results if r["status"] in ("error", "warn")]
    assert problems == [], json.dumps(problems, indent=2, ensure_ascii=False)
    assert any(r["id"] == "22EB" and r["status"] == "ok" for r in results)
