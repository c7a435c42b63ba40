"""What an error costs: the same query with and without 30 FORBIDDEN field errors, and whether
other callers wait while errors are being produced.

Run ``python -m bench.errors`` (options: ``--help``).  It uses ``DATABASE_URL``/``REDIS_URL``
(or the embedded services), creates a database of its own from the migrations (dropped at the
end), and starts ``orderflow serve`` in a process of its own, logging as configured
(``--log-format``, console by default as in ``orderflow demo``) into a file.  In one run:

(a) baseline: a MANAGER reads ``{ orders(first: 30) { nodes { externalId total { amount } } } }``;
(b) errors: a SUPPLIER sends the same query over the same 30 orders, which are its own, and gets
    30 FORBIDDEN field errors (``total`` is not for suppliers);
(c) a MANAGER's ``{ viewer { role } }``, one at a time, while ``--concurrency`` callers send (a)
    in a loop: the delay any load causes;
(d) the same while the callers send (b): the delay errors add.

The four run interleaved, in ``--rounds`` rounds, so that the drifting load of a shared machine
falls evenly on each pair compared.  It prints requests per second, p50/p99 latency, errors per
response, log bytes and the server process's CPU time per request, with (b)/(a) (server CPU
per request, and p50 latency) and (d)/(c) (p50).  The target is (b)/(a) server CPU and (d)/(c)
at most 2: an error costs about as much as the field it replaces, and nobody waits for it.  The
exit status is non-zero when it is missed.  CPU time is the cost measure because on a machine
shared with the client and PostgreSQL, latency also counts everyone else's work.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from db.embedded import admin_database_url_for, login_url, resolve_service_urls
from db.engine import Database
from db.migrate import upgrade
from db.settings import Settings
from db.tables import User
from db.uow import UnitOfWork
from demo.repository import DemoRepository
from domain.accounts.model import Role
from domain.accounts.tokens import issue_session_token

BOARD = "{ orders(first: 30) { nodes { externalId total { amount } } } }"
PROBE = "{ viewer { role } }"
SECRET_KEY = "bench-errors-secret-key-" + uuid.uuid4().hex


@dataclass(frozen=True)
class Outcome:
    name: str
    latencies: list[float]
    seconds: float
    errors_per_response: float
    log_bytes: int
    #: CPU seconds the server process spent, per request (throughput scenarios only).
    server_cpu: float | None = None

    @property
    def requests(self) -> int:
        return len(self.latencies)

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000 if ordered else 0.0


# -- set-up ------------------------------------------------------------------------------------
async def make_seller(db: Database, orders: int) -> tuple[int, User, User]:
    """An organisation, a MANAGER, a SUPPLIER, and ``orders`` orders all of that supplier."""
    slug = f"bench-{uuid.uuid4().hex[:8]}"
    async with UnitOfWork(db, None) as uow:
        org = await uow.accounts.add_org(slug, "Bench seller")
        await uow.commit()
    assert org.id is not None
    now = datetime.now(UTC)
    async with UnitOfWork(db, org.id) as uow:
        supplier = await uow.accounts.add_supplier("代发 A")
        users = [
            await uow.accounts.add_user(
                User(
                    org_id=org.id,
                    username=role.value.lower(),
                    display_name=role.value,
                    password_hash="-",  # never signs in: the bench issues session tokens
                    role=role.value,
                    supplier_id=supplier.id if role is Role.SUPPLIER else None,
                )
            )
            for role in (Role.MANAGER, Role.SUPPLIER)
        ]
        shop = await uow.shops.add_shop("TMALL", "Bench shop")
        await DemoRepository(uow.session, org.id).add_orders(
            [
                {
                    "shop_id": shop.id,
                    "external_id": f"E{i:07d}",
                    "status": "NEW",
                    "receiver_name": "王五",
                    "receiver_phone": "13700137000",
                    "receiver_province": "浙江省",
                    "receiver_city": "杭州市",
                    "receiver_district": "",
                    "receiver_address": "bench",
                    "total_fen": 1990,
                    "supplier_id": supplier.id,
                    "paid_at": now,
                    "created_at": now,
                    "updated_at": now,
                }
                for i in range(orders)
            ]
        )
        await uow.commit()
    return org.id, users[0], users[1]


def token_for(org_id: int, user: User) -> str:
    assert user.id is not None
    token, _ = issue_session_token(
        SECRET_KEY,
        org_id=org_id,
        user_id=user.id,
        token_version=user.token_version,
        ttl=timedelta(hours=1),
    )
    return token


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass(frozen=True)
class Server:
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def pid(self) -> int:
        return self.process.pid


def start_server(env: dict[str, str], port: int, log_path: Path) -> Server:
    """``orderflow serve`` (one process: uvicorn runs in it), its log going to ``log_path``."""
    log = log_path.open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    return Server(process, log_path)


async def wait_ready(http: httpx.AsyncClient, server: Server) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError("the server exited; see its log")
        try:
            if (await http.get("/readyz")).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        await asyncio.sleep(0.2)
    raise RuntimeError("the server did not become ready within 60 s")


# -- measuring ---------------------------------------------------------------------------------
async def ask(http: httpx.AsyncClient, query: str, token: str) -> tuple[float, int]:
    started = time.perf_counter()
    response = await http.post(
        "/graphql", json={"query": query}, headers={"authorization": f"Bearer {token}"}
    )
    elapsed = time.perf_counter() - started
    body = response.json()
    if response.status_code != 200 or body.get("data") is None:
        raise RuntimeError(f"unexpected answer: {response.status_code} {body}")
    return elapsed, len(body.get("errors") or ())


async def load(
    http: httpx.AsyncClient, query: str, token: str, requests: int, concurrency: int
) -> tuple[list[float], float, int]:
    """``requests`` requests from ``concurrency`` callers; latencies, seconds, errors seen."""
    latencies: list[float] = []
    errors = 0
    jobs = iter(range(requests))

    async def caller() -> None:
        nonlocal errors
        for _ in jobs:
            elapsed, count = await ask(http, query, token)
            latencies.append(elapsed)
            errors += count

    started = time.perf_counter()
    await asyncio.gather(*(caller() for _ in range(concurrency)))
    return latencies, time.perf_counter() - started, errors


def log_size(log_path: Path) -> int:
    return log_path.stat().st_size


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system) a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Sample:
    latencies: list[float]
    seconds: float
    errors: int
    log_bytes: int
    server_cpu: float


async def throughput(
    http: httpx.AsyncClient, token: str, requests: int, concurrency: int, server: Server
) -> Sample:
    """``requests`` board queries: latencies, errors, log bytes and the server's CPU time."""
    log_before, cpu_before = log_size(server.log_path), process_cpu(server.pid)
    latencies, seconds, errors = await load(http, BOARD, token, requests, concurrency)
    return Sample(
        latencies,
        seconds,
        errors,
        log_size(server.log_path) - log_before,
        process_cpu(server.pid) - cpu_before,
    )


async def probe_under_load(
    http: httpx.AsyncClient, probe_token: str, load_token: str, probes: int, concurrency: int
) -> tuple[list[float], float]:
    """Latency of one caller's cheap query while ``concurrency`` others keep the server busy."""
    stop = asyncio.Event()

    async def busy() -> None:
        while not stop.is_set():
            await ask(http, BOARD, load_token)

    loaders = [asyncio.create_task(busy()) for _ in range(concurrency)]
    await asyncio.sleep(0.5)  # let the load settle
    latencies: list[float] = []
    started = time.perf_counter()
    for _ in range(probes):
        elapsed, _errors = await ask(http, PROBE, probe_token)
        latencies.append(elapsed)
    seconds = time.perf_counter() - started
    stop.set()
    await asyncio.gather(*loaders)
    return latencies, seconds


@dataclass
class Tally:
    """One scenario's measurements, gathered over several rounds."""

    name: str
    latencies: list[float] = field(default_factory=list)
    seconds: float = 0.0
    errors: int = 0
    log_bytes: int = 0
    server_cpu: float | None = None

    def add(self, sample: Sample) -> None:
        self.latencies += sample.latencies
        self.seconds += sample.seconds
        self.errors += sample.errors
        self.log_bytes += sample.log_bytes
        self.server_cpu = (self.server_cpu or 0.0) + sample.server_cpu

    def outcome(self) -> Outcome:
        requests = len(self.latencies) or 1
        return Outcome(
            self.name,
            self.latencies,
            self.seconds,
            self.errors / requests,
            self.log_bytes // requests,
            self.server_cpu / requests if self.server_cpu is not None else None,
        )


async def measure(
    http: httpx.AsyncClient,
    manager: str,
    supplier: str,
    requests: int,
    concurrency: int,
    rounds: int,
    server: Server,
) -> list[Outcome]:
    """(a)-(d), interleaved over ``rounds`` rounds: on a shared machine the load drifts, and
    alternating the scenarios spreads that drift evenly over each pair being compared."""
    tallies = [
        Tally("(a) manager, 30 orders"),
        Tally("(b) supplier, 30 orders + 30 FORBIDDEN"),
        Tally("(c) viewer while others send (a)"),
        Tally("(d) viewer while others send (b)"),
    ]
    per_round = max(1, requests // rounds)
    probes = max(5, per_round // 10)
    for token in (manager, supplier):  # warm up both paths
        await load(http, BOARD, token, min(20, per_round), concurrency)
    for _ in range(rounds):
        for tally, token in zip(tallies[:2], (manager, supplier), strict=True):
            tally.add(await throughput(http, token, per_round, concurrency, server))
        for tally, token in zip(tallies[2:], (manager, supplier), strict=True):
            latencies, seconds = await probe_under_load(http, manager, token, probes, concurrency)
            tally.latencies += latencies
            tally.seconds += seconds
    return [tally.outcome() for tally in tallies]


def print_table(outcomes: list[Outcome], concurrency: int, log_format: str) -> tuple[float, float]:
    baseline, errors, calm, stormy = outcomes
    header = f"{'scenario':<40}{'requests':>9}{'req/s':>7}{'p50 ms':>9}{'p99 ms':>9}"
    header += f"{'errors/resp':>12}{'log B/req':>10}{'server CPU':>13}"
    print(f"\n{os.cpu_count()} CPU cores, {concurrency} concurrent callers, {log_format}\n")
    print(header)
    print("-" * len(header))
    for o in outcomes:
        cpu = "-" if o.server_cpu is None else f"{o.server_cpu * 1000:.2f} ms"
        print(
            f"{o.name:<40}{o.requests:>9}{o.per_second:>7.0f}{o.percentile(0.5):>9.1f}"
            f"{o.percentile(0.99):>9.1f}{o.errors_per_response:>12.0f}{o.log_bytes:>10}{cpu:>13}"
        )
    print("(server CPU: per request, the server process's user + system time)")
    assert errors.server_cpu is not None and baseline.server_cpu
    cost = errors.server_cpu / baseline.server_cpu
    latency = errors.percentile(0.5) / baseline.percentile(0.5)
    delay = stormy.percentile(0.5) / calm.percentile(0.5)
    print(f"\n(b)/(a) server CPU = {cost:.2f}  (target <= 2: {'OK' if cost <= 2 else 'MISSED'})")
    print(f"(b)/(a) p50        = {latency:.2f}")
    print(f"(d)/(c) p50        = {delay:.2f}  (target <= 2: {'OK' if delay <= 2 else 'MISSED'})")
    return cost, delay


async def run(
    requests: int, concurrency: int, rounds: int, log_format: str, log_level: str, keep: bool
) -> int:
    settings = Settings()
    urls = resolve_service_urls(settings)
    server_url = make_url(admin_database_url_for(settings))
    name = f"of_bench_{uuid.uuid4().hex[:8]}"
    admin = create_async_engine(server_url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    owner_url = server_url.set(database=name).render_as_string(hide_password=False)
    app_url = login_url(owner_url)
    try:
        migrator = create_async_engine(owner_url)
        await upgrade(migrator)
        await migrator.dispose()
        db = Database.connect(app_url, settings, pool_size=2)
        try:
            org_id, manager, supplier = await make_seller(db, 30)
        finally:
            await db.dispose()
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("ORDERFLOW_")}
        env.update(
            DATABASE_URL=app_url,
            DATABASE_ADMIN_URL=owner_url,
            REDIS_URL=urls.redis_url,
            ORDERFLOW_SECRET_KEY=SECRET_KEY,
            ORDERFLOW_REDIS_PREFIX=f"bench-{uuid.uuid4().hex[:8]}",
            ORDERFLOW_LOG_FORMAT=log_format,
            ORDERFLOW_LOG_LEVEL=log_level,
            # The bench is the only caller; the per-caller limit would measure itself.
            ORDERFLOW_RATE_LIMIT_PER_MINUTE="1000000",
        )
        with tempfile.TemporaryDirectory() as tmp:
            log_path = Path(tmp) / "server.log"
            server = start_server(env, port, log_path)
            limits = httpx.Limits(max_connections=concurrency + 1)
            try:
                async with httpx.AsyncClient(
                    base_url=f"http://127.0.0.1:{port}", limits=limits, timeout=120
                ) as http:
                    await wait_ready(http, server)
                    outcomes = await measure(
                        http,
                        token_for(org_id, manager),
                        token_for(org_id, supplier),
                        requests,
                        concurrency,
                        rounds,
                        server,
                    )
            finally:
                server.process.terminate()
                server.process.wait(timeout=30)
        cost, delay = print_table(outcomes, concurrency, f"{log_format} logs at {log_level}")
        return 0 if cost <= 2 and delay <= 2 else 1
    finally:
        if not keep:
            async with admin.connect() as conn:
                await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=400, help="per scenario (a) and (b)")
    parser.add_argument("--concurrency", type=int, default=8, help="concurrent callers")
    parser.add_argument("--rounds", type=int, default=4, help="interleaved rounds")
    parser.add_argument("--log-format", choices=["console", "json"], default="console")
    parser.add_argument(
        "--log-level", default="INFO", help="the server's; ERROR shows what the lines cost"
    )
    parser.add_argument("--keep", action="store_true", help="keep the bench database")
    args = parser.parse_args()
    sys.exit(
        asyncio.run(
            run(
                args.requests,
                args.concurrency,
                args.rounds,
                args.log_format,
                args.log_level,
                args.keep,
            )
        )
    )


if __name__ == "__main__":
    main()
