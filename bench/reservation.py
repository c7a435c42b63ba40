"""Reservation throughput: orderflow's ``reserve_order`` against the raw ceiling of PostgreSQL.

Run ``python -m bench.reservation`` (options: ``--help``).  It uses ``DATABASE_URL`` (or the
embedded PostgreSQL), creates a database of its own from the migrations, and drops it at the end.
In one run, on that database, at the same concurrency:

(a) raw ceiling: plain asyncpg transactions doing ``SELECT ... FOR UPDATE`` + ``UPDATE`` +
    ``INSERT`` on one hot row, i.e. the least any correct reservation must do;
(b) orderflow, one hot SKU: every order reserves 1 unit of the same SKU (one stock row), through
    ``domain.inventory.reservation.reserve_order`` (unit of work, RLS, order lock, stock lock,
    reservation + ledger + status history + outbox, commit);
(c) orderflow, 1,000 SKUs: the same with each order on a random one of 1,000 SKUs;

and the reservation loop's scenarios (bench/loop.py): (a') the raw equivalent of one order's
writes, (d) draining 10,000 orders of one hot SKU, (e) of 1,000 SKUs, (f) latency from an
order's commit to its RESERVED/BACKORDERED event with a real worker process.

It prints reservations per second, p50/p99 latency per reservation, errors raised to callers,
the oversell found afterwards (units reserved beyond on-hand, per SKU), orders left NEW, and the
ratios.  Targets: (b) >= 80 % of (a'), (d) and (e) >= 2x (a), (f) p99 < 250 ms and single
orders on an idle system p50 < 50 ms; no oversell, no errors, no order left NEW.

Orders are created (and the database analyzed) before the clock starts; only reservations
are timed.  Every task runs on a connection of its own (the pool has exactly ``--concurrency``
connections).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import resource
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

from api.logs import configure_logging
from bench import loop
from db.embedded import admin_database_url_for, login_url, resolve_service_urls
from db.engine import Database
from db.migrate import upgrade
from db.settings import Settings
from db.uow import UnitOfWork
from demo.repository import DemoRepository
from domain.accounts.model import Actor
from domain.inventory import layout, reservation, stock_moves
from domain.inventory.layout import BinDraft
from domain.inventory.model import MAX_BULK_ITEMS, ReceiveLine
from domain.paging import Page


@dataclass(frozen=True)
class Outcome:
    name: str
    reservations: int
    seconds: float
    latencies: list[float]
    errors: int
    oversell: int | None
    #: CPU seconds spent by this process and by local PostgreSQL processes while timed.
    client_cpu: float = 0.0
    server_cpu: float | None = None

    @property
    def per_second(self) -> float:
        return self.reservations / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        if not ordered:
            return 0.0
        return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000


def _client_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _server_cpu() -> float | None:
    """CPU seconds used so far by local ``postgres`` processes (reaped backends included, via
    the postmaster's children times); None when the server is not on this machine."""
    total, found = 0, False
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            raw = stat.read_text()
        except OSError:
            continue
        name, rest = raw[raw.index("(") + 1 : raw.rindex(")")], raw[raw.rindex(")") + 2 :]
        if name != "postgres":
            continue
        fields = rest.split()
        total += sum(int(v) for v in fields[11:15])  # utime stime cutime cstime
        found = True
    return total / os.sysconf("SC_CLK_TCK") if found else None


@dataclass(frozen=True)
class Timing:
    seconds: float
    latencies: list[float]
    errors: int
    client_cpu: float
    server_cpu: float | None


async def _timed(count: int, concurrency: int, one: Callable[[int], Awaitable[None]]) -> Timing:
    """Run ``one(i)`` for i in range(count) on ``concurrency`` workers; time and count errors."""
    latencies: list[float] = []
    errors = 0
    jobs = iter(range(count))

    async def worker() -> None:
        nonlocal errors
        for i in jobs:
            started = time.perf_counter()
            try:
                await one(i)
            except Exception as exc:
                errors += 1
                print(f"error: {exc!r}", file=sys.stderr)
                continue
            latencies.append(time.perf_counter() - started)

    server_before, client_before = _server_cpu(), _client_cpu()
    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    seconds = time.perf_counter() - started
    client = _client_cpu() - client_before
    server_after = _server_cpu()
    server = (
        server_after - server_before
        if server_after is not None and server_before is not None
        else None
    )
    return Timing(seconds, latencies, errors, client, server)


# -- (a) the raw ceiling -----------------------------------------------------------------------
async def bench_raw(dsn: str, concurrency: int, count: int) -> Outcome:
    setup = await asyncpg.connect(dsn)
    await setup.execute(
        """
        CREATE TABLE bench_raw_stock (id bigint PRIMARY KEY, on_hand int NOT NULL,
                                      reserved int NOT NULL CHECK (reserved <= on_hand));
        CREATE TABLE bench_raw_ledger (id bigserial PRIMARY KEY, stock_id bigint NOT NULL,
                                       delta int NOT NULL, at timestamptz NOT NULL DEFAULT now());
        """
    )
    await setup.execute("INSERT INTO bench_raw_stock VALUES (1, $1, 0)", count + 100)
    await setup.execute("ANALYZE")  # as for (b) and (c): see bench_service
    pool = await asyncpg.create_pool(dsn, min_size=concurrency, max_size=concurrency)
    assert pool is not None

    async def one(_: int) -> None:
        async with pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow(
                "SELECT on_hand, reserved FROM bench_raw_stock WHERE id = 1 FOR UPDATE"
            )
            assert row is not None and row["on_hand"] > row["reserved"]
            await conn.execute("UPDATE bench_raw_stock SET reserved = reserved + 1 WHERE id = 1")
            await conn.execute("INSERT INTO bench_raw_ledger (stock_id, delta) VALUES (1, 1)")

    await _timed(min(100, count), concurrency, one)  # warm up
    timing = await _timed(count, concurrency, one)
    await pool.close()
    oversell = await setup.fetchval(
        "SELECT greatest(reserved - on_hand, 0) FROM bench_raw_stock WHERE id = 1"
    )
    await setup.close()
    return Outcome(
        "(a) raw asyncpg, 1 hot row",
        count,
        timing.seconds,
        timing.latencies,
        timing.errors,
        oversell,
        timing.client_cpu,
        timing.server_cpu,
    )


# -- (b), (c) orderflow ------------------------------------------------------------------------
async def make_seller(db: Database, skus: int, units_per_sku: int) -> tuple[Actor, list[int]]:
    """An organisation with a shop, a warehouse (zone A, 10 bins) and ``skus`` SKUs in stock."""
    slug = f"bench-{uuid.uuid4().hex[:8]}"
    async with UnitOfWork(db, None) as uow:
        org = await uow.accounts.add_org(slug, "Bench seller")
        await uow.commit()
    assert org.id is not None
    actor = Actor.system(org.id, label="bench")
    async with UnitOfWork(db, org.id) as uow:
        await uow.shops.add_shop("TMALL", "Bench shop")
        warehouse = await layout.create_warehouse(
            uow, actor, code="WH1", name="Bench", provinces=["浙江省"], priority=1
        )
        assert warehouse.id is not None
        zone = await layout.create_zone(uow, actor, warehouse_id=warehouse.id, code="A")
        assert zone.id is not None
        bins = await layout.create_bins(
            uow, actor, zone_id=zone.id, bins=[BinDraft(f"A-01-1-{i}", i) for i in range(10)]
        )
        rows = DemoRepository(uow.session, org.id)
        [product_id] = await rows.add_products([{"code": "P", "name": "Bench product"}])
        sku_ids = await rows.add_skus(
            [
                {"product_id": product_id, "code": f"S{i:04d}", "name": f"SKU {i}"}
                for i in range(skus)
            ]
        )
        lines = [
            ReceiveLine(sku, bins[i % len(bins)].id or 0, units_per_sku)
            for i, sku in enumerate(sku_ids)
        ]
        for start in range(0, len(lines), MAX_BULK_ITEMS):
            await stock_moves.receive_stock(
                uow,
                actor,
                warehouse_id=warehouse.id,
                items=lines[start : start + MAX_BULK_ITEMS],
            )
        await uow.commit()
    return actor, sku_ids


async def make_orders(
    db: Database, actor: Actor, sku_ids: list[int], count: int, prefix: str
) -> list[int]:
    """``count`` orders of one unit each, on SKUs chosen at random (untimed set-up)."""
    rng = random.Random(42)
    now = datetime.now(UTC)
    async with UnitOfWork(db, actor.org_id) as uow:
        rows = DemoRepository(uow.session, actor.org_id)
        shop = await uow.shops.manual_shop()
        if shop is None:
            shop = (await uow.shops.list_shops("TMALL", Page(size=1))).rows[0]
        order_ids = await rows.add_orders(
            [
                {
                    "shop_id": shop.id,
                    "external_id": f"{prefix}{i:07d}",
                    "status": "NEW",
                    "receiver_name": "王五",
                    "receiver_phone": "13700137000",
                    "receiver_province": "浙江省",
                    "receiver_city": "杭州市",
                    "receiver_district": "",
                    "receiver_address": "bench",
                    "paid_at": now,
                    "created_at": now,
                    "updated_at": now,
                }
                for i in range(count)
            ]
        )
        await rows.add_order_lines(
            [
                {
                    "order_id": order_id,
                    "sku_id": rng.choice(sku_ids),
                    "quantity": 1,
                    "unit_price_fen": 100,
                    "discount_fen": 0,
                }
                for order_id in order_ids
            ]
        )
        await uow.commit()
    return order_ids


async def oversold_units(db: Database, org_id: int) -> int:
    """Units reserved beyond on-hand, per SKU, counting active reservations (should be 0)."""
    async with UnitOfWork(db, org_id) as uow:
        conn = uow.session
        value = await conn.scalar(
            text(
                """
                SELECT coalesce(sum(greatest(r.units - s.on_hand, 0)), 0)
                FROM (SELECT sku_id, sum(on_hand) AS on_hand FROM stock
                      WHERE org_id = :org GROUP BY sku_id) s
                JOIN (SELECT sku_id, sum(quantity) AS units FROM reservations
                      WHERE org_id = :org AND status = 'ACTIVE' GROUP BY sku_id) r
                  USING (sku_id)
                """
            ),
            {"org": org_id},
        )
        mismatched = await conn.scalar(
            text(
                """
                SELECT count(*) FROM stock s
                WHERE s.org_id = :org AND s.reserved <> (
                    SELECT coalesce(sum(quantity), 0) FROM reservations r
                    WHERE r.stock_id = s.id AND r.status = 'ACTIVE')
                """
            ),
            {"org": org_id},
        )
    if mismatched:
        print(f"warning: {mismatched} stock rows disagree with their reservations", file=sys.stderr)
    return int(value or 0)


async def bench_service(
    db: Database, owner: AsyncEngine, name: str, skus: int, concurrency: int, count: int
) -> Outcome:
    actor, sku_ids = await make_seller(db, skus, units_per_sku=count + 100)
    warm = await make_orders(db, actor, sku_ids, min(100, count), "W")
    order_ids = await make_orders(db, actor, sku_ids, count, "B")
    # Planner statistics, as a live database has them (autovacuum analyzes bulk-loaded tables
    # within a minute).  Without them the prepared statements' generic plans, fixed on each
    # pooled connection during the warm-up, can read orders through the (org_id, status)
    # index and visit every NEW order of the organisation to update one.
    async with owner.connect() as conn:  # ANALYZE is the tables' owner's to run
        await conn.execute(text("ANALYZE"))
        await conn.commit()

    async def reserve(ids: list[int], i: int) -> None:
        result = await reservation.reserve_order(db, actor, ids[i])
        if result.backordered:
            raise RuntimeError(f"order {ids[i]} was backordered")

    await _timed(len(warm), concurrency, lambda i: reserve(warm, i))
    timing = await _timed(count, concurrency, lambda i: reserve(order_ids, i))
    oversell = await oversold_units(db, actor.org_id)
    return Outcome(
        name,
        count,
        timing.seconds,
        timing.latencies,
        timing.errors,
        oversell,
        timing.client_cpu,
        timing.server_cpu,
    )


# -- the run -----------------------------------------------------------------------------------
async def connection_budget(url: str) -> int:
    conn = await asyncpg.connect(url)
    try:
        max_connections = int(await conn.fetchval("SHOW max_connections"))
        reserved = int(await conn.fetchval("SHOW superuser_reserved_connections"))
        in_use = int(await conn.fetchval("SELECT count(*) FROM pg_stat_activity"))
    finally:
        await conn.close()
    return max_connections - reserved - in_use - 10


def print_table(outcomes: list[Outcome], concurrency: int) -> None:
    header = f"{'scenario':<28}{'reservations':>13}{'res/s':>8}{'p50 ms':>8}{'p99 ms':>8}"
    header += f"{'errors':>7}{'oversell':>9}{'client CPU':>11}{'server CPU':>11}"
    cpus = os.cpu_count() or 0
    print(f"\nconcurrency {concurrency} (one connection per task), {cpus} CPU cores\n")
    print(header)
    print("-" * len(header))
    for o in outcomes:
        oversell = "-" if o.oversell is None else str(o.oversell)
        client = f"{o.client_cpu / o.reservations * 1000:.2f} ms"
        server = "-" if o.server_cpu is None else f"{o.server_cpu / o.reservations * 1000:.2f} ms"
        print(
            f"{o.name:<28}{o.reservations:>13}{o.per_second:>8.0f}{o.percentile(0.5):>8.1f}"
            f"{o.percentile(0.99):>8.1f}{o.errors:>7}{oversell:>9}{client:>11}{server:>11}"
        )
    print("(CPU columns: per reservation, this process / local PostgreSQL processes)")
    raw, hot = outcomes[0], outcomes[1]
    ratio = hot.per_second / raw.per_second if raw.per_second else 0.0
    verdict = "OK" if ratio >= 0.8 else "BELOW TARGET"
    print(f"\n(b)/(a) = {ratio:.0%}  (target >= 80 %: {verdict})")
    total_oversell = sum(o.oversell or 0 for o in outcomes)
    total_errors = sum(o.errors for o in outcomes)
    print(f"oversell = {total_oversell}, errors = {total_errors}")


async def _shop_of(owner_dsn: str, org_id: int) -> int:
    conn = await asyncpg.connect(owner_dsn)
    try:
        return int(await conn.fetchval("SELECT min(id) FROM shops WHERE org_id = $1", org_id))
    finally:
        await conn.close()


async def bench_loop(
    db: Database,
    owner_dsn: str,
    app_url: str,
    settings: Settings,
    raw: Outcome,
    hot: Outcome,
    concurrency: int,
    count: int,
    drain_orders: int,
) -> bool:
    """(a'), (d), (e), (f); prints their table and returns whether every target is met."""
    app_dsn = make_url(app_url).set(drivername="postgresql").render_as_string(hide_password=False)
    actor, skus = await make_seller(db, 1, units_per_sku=count + 100)
    shop = await _shop_of(owner_dsn, actor.org_id)
    ids = await loop.insert_orders(owner_dsn, actor.org_id, shop, skus, count, "R")
    lines = await loop.order_lines(owner_dsn, ids)
    seconds, latencies = await loop.raw_equivalent(
        app_dsn, actor.org_id, skus[0], lines, concurrency
    )
    raw_eq = Outcome("(a') raw equivalent, 1 hot SKU", count, seconds, latencies, 0, None)

    drains = []
    for name, sku_count in (("(d) drain, 1 hot SKU", 1), ("(e) drain, 1,000 SKUs", 1000)):
        actor, skus = await make_seller(db, sku_count, units_per_sku=1)
        shop = await _shop_of(owner_dsn, actor.org_id)
        drains.append(
            await loop.drain_scenario(
                db,
                owner_dsn,
                name,
                actor.org_id,
                shop,
                skus,
                drain_orders,
                settings.reservation_batch_size,
            )
        )

    urls = resolve_service_urls(settings)
    prefix = f"ofbench-{uuid.uuid4().hex[:8]}"
    actor, skus = await make_seller(db, 1000, units_per_sku=1000)
    shop = await _shop_of(owner_dsn, actor.org_id)
    log_path = f"/tmp/{prefix}-worker.log"
    worker = loop.start_worker(app_url, urls.redis_url, prefix, log_path)
    try:
        await asyncio.sleep(3.0)  # the worker's start-up (arq, relay, LISTEN)
        rate = max(1.0, drains[0].per_second / 2)
        steady = await loop.latency_scenario(
            app_dsn,
            owner_dsn,
            urls.redis_url,
            prefix,
            f"(f) {rate:.0f} orders/s for 10 s",
            actor.org_id,
            shop,
            skus,
            rate,
            10.0,
        )
        idle = await loop.latency_scenario(
            app_dsn,
            owner_dsn,
            urls.redis_url,
            prefix,
            "(f) single orders, idle",
            actor.org_id,
            shop,
            skus,
            1.0,
            20,
            spaced=0.25,
        )
    finally:
        loop.stop_worker(worker)

    print(
        f"\n{'scenario':<34}{'orders':>8}{'orders/s':>10}{'batches':>9}{'reserved':>9}"
        f"{'backord.':>9}{'oversell':>9}{'left NEW':>9}"
    )
    for d in drains:
        print(
            f"{d.name:<34}{d.orders:>8}{d.per_second:>10.0f}{d.batches:>9}{d.reserved:>9}"
            f"{d.backordered:>9}{d.oversell:>9}{d.stranded:>9}"
        )
    print(f"\n{'scenario':<34}{'orders':>8}{'res/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'left NEW':>9}")
    print(
        f"{raw_eq.name:<34}{raw_eq.reservations:>8}{raw_eq.per_second:>10.0f}"
        f"{raw_eq.percentile(0.5):>9.1f}{raw_eq.percentile(0.99):>9.1f}{'-':>9}"
    )
    for f in (steady, idle):
        print(
            f"{f.name:<34}{f.orders:>8}{f.rate:>10.0f}{f.percentile(0.5):>9.1f}"
            f"{f.percentile(0.99):>9.1f}{f.stranded:>9}"
        )
    ratios = {
        "(b)/(a')": (hot.per_second / raw_eq.per_second, 0.8),
        "(d)/(a)": (drains[0].per_second / raw.per_second, 2.0),
        "(e)/(a)": (drains[1].per_second / raw.per_second, 2.0),
        "(d)/(a')": (drains[0].per_second / raw_eq.per_second, 2.0),
    }
    print()
    for label, (value, target) in ratios.items():
        verdict = "OK" if value >= target else "BELOW TARGET"
        print(f"{label} = {value:.2f}x  (target >= {target:.1f}x: {verdict})")
    latency_ok = steady.percentile(0.99) < 250 and idle.percentile(0.5) < 50
    print(
        f"(f) p99 = {steady.percentile(0.99):.0f} ms (target < 250), idle p50 = "
        f"{idle.percentile(0.5):.0f} ms (target < 50): {'OK' if latency_ok else 'BELOW TARGET'}"
    )
    print(f"worker log: {log_path}")
    clean = all(d.oversell == 0 and d.stranded == 0 for d in drains) and all(
        f.stranded == 0 and len(f.latencies) == f.orders for f in (steady, idle)
    )
    return clean and latency_ok and all(v >= t for v, t in ratios.values())


async def run(concurrency: int, count: int, keep: bool, drain_orders: int) -> int:
    settings = Settings()
    configure_logging(settings)
    server = make_url(admin_database_url_for(settings))
    name = f"of_bench_{uuid.uuid4().hex[:8]}"
    admin = create_async_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = server.set(database=name)
    dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
    try:
        migrator = create_async_engine(url)
        await upgrade(migrator)
        budget = await connection_budget(dsn)
        if budget < concurrency:
            print(f"note: only {budget} free connections; concurrency lowered from {concurrency}")
            concurrency = max(1, budget)
        raw = await bench_raw(dsn, concurrency, count)
        # orderflow logs in as production does: orderflow_server, under forced RLS.
        app_url = login_url(url.render_as_string(hide_password=False))
        engine = create_async_engine(
            app_url, pool_size=concurrency, max_overflow=0, pool_timeout=60
        )
        db = Database(
            engine=engine,
            sessions=async_sessionmaker(engine, expire_on_commit=False, autoflush=False),
            lock_timeout_ms=settings.lock_timeout_ms,
        )
        try:
            hot = await bench_service(
                db, migrator, "(b) orderflow, 1 hot SKU", 1, concurrency, count
            )
            spread = await bench_service(
                db, migrator, "(c) orderflow, 1,000 SKUs", 1000, concurrency, count
            )
            loop_ok = await bench_loop(
                db, dsn, app_url, settings, raw, hot, concurrency, count, drain_orders
            )
        finally:
            await db.dispose()
            await migrator.dispose()
        print_table([raw, hot, spread], concurrency)
        ok = (
            loop_ok
            and not any(o.oversell for o in (raw, hot, spread))
            and not any(o.errors for o in (raw, hot, spread))
        )
        return 0 if ok else 1
    finally:
        if not keep:
            async with admin.connect() as conn:
                await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--concurrency", type=int, default=32, help="tasks = connections")
    parser.add_argument("--reservations", type=int, default=3000, help="per scenario")
    parser.add_argument("--keep", action="store_true", help="keep the bench database")
    parser.add_argument("--drain-orders", type=int, default=10_000, help="orders of (d) and (e)")
    parser.add_argument("--no-uvloop", action="store_true", help="use asyncio's own loop")
    args = parser.parse_args()
    loop_factory = None
    if not args.no_uvloop:
        try:
            import uvloop

            loop_factory = uvloop.new_event_loop
        except ImportError:
            pass
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        code = runner.run(run(args.concurrency, args.reservations, args.keep, args.drain_orders))
    sys.exit(code)


if __name__ == "__main__":
    main()
