"""The reservation loop's scenarios of ``bench/reservation.py``: (a'), (d), (e), (f).

(a')  raw equivalent: hand-written asyncpg SQL doing exactly orderflow's writes for one order in
      one transaction (order lock, stock lock, stock update, reservation, ledger, order status,
      history, outbox + NOTIFY), under the same role and RLS, without orderflow's code: the
      per-transaction ceiling for this work.
(d)   drain, one hot SKU: orders for it inserted (NEW, paid in order) before the clock starts,
      stock for half of them; the loop (``reservation.drain``) reserves or backorders them all.
(e)   the same on 1,000 SKUs.
(f)   latency: a real ``orderflow worker`` process (relay + arq + loop) while this process inserts
      orders at a steady rate, each with its ``order.created`` outbox event, as an API process or
      a channel sync would; latency is from an order's commit to the moment its RESERVED or
      BACKORDERED event reaches a live-board subscriber (Redis pub/sub), so it includes the relay
      hop both ways.  Then single orders on an idle system.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg  # type: ignore[import-untyped]
from redis.asyncio import Redis

from db.engine import APP_ROLE, Database
from domain.inventory import reservation
from workers.events import channel


@dataclass(frozen=True)
class Drain:
    name: str
    orders: int
    reserved: int
    backordered: int
    seconds: float
    batches: int
    oversell: int
    stranded: int

    @property
    def per_second(self) -> float:
        return self.orders / self.seconds if self.seconds else 0.0


@dataclass(frozen=True)
class Latency:
    name: str
    orders: int
    rate: float
    latencies: list[float]
    stranded: int

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        if not ordered:
            return float("nan")
        return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000


_INSERT_ORDERS = """
INSERT INTO orders (org_id, shop_id, external_id, status, goods_fen, discount_fen, shipping_fen,
                    total_fen, receiver_name, receiver_phone, receiver_province, receiver_city,
                    receiver_district, receiver_address, buyer_remark, seller_remark, paid_at)
SELECT $1, $2, $3 || lpad(g::text, 8, '0'), 'NEW', 100, 0, 0, 100, '王五', '13700137000',
       '浙江省', '杭州市', '', 'bench', '', '',
       CAST($4 AS timestamptz) + g * interval '1 millisecond'
FROM generate_series(1, $5) AS g
RETURNING id
"""
_INSERT_LINES = """
INSERT INTO order_lines (org_id, order_id, sku_id, quantity, unit_price_fen, discount_fen)
SELECT $1, o, s, 1, 100, 0 FROM unnest(CAST($2 AS bigint[]), CAST($3 AS bigint[])) AS t(o, s)
"""


async def insert_orders(
    owner_dsn: str, org_id: int, shop_id: int, sku_ids: list[int], count: int, prefix: str
) -> list[int]:
    """``count`` NEW one-unit orders, paid a millisecond apart, SKUs round-robin (set-up)."""
    conn = await asyncpg.connect(owner_dsn)
    try:
        async with conn.transaction():
            rows = await conn.fetch(
                _INSERT_ORDERS, org_id, shop_id, prefix, datetime.now(UTC), count
            )
            ids = [r["id"] for r in rows]
            await conn.execute(
                _INSERT_LINES, org_id, ids, [sku_ids[i % len(sku_ids)] for i in range(count)]
            )
        await conn.execute("ANALYZE orders; ANALYZE order_lines")
    finally:
        await conn.close()
    return ids


async def set_stock(owner_dsn: str, org_id: int, units_per_sku: int) -> None:
    """Give every stock row of the organisation ``units_per_sku`` on hand (set-up: the ledger
    is not the point here, and reconcile is not run on bench data)."""
    conn = await asyncpg.connect(owner_dsn)
    try:
        await conn.execute(
            "UPDATE stock SET on_hand = $2, reserved = 0 WHERE org_id = $1", org_id, units_per_sku
        )
    finally:
        await conn.close()


async def audit(owner_dsn: str, org_id: int, order_ids: list[int]) -> tuple[int, int]:
    """(oversold units, orders left NEW) after a scenario."""
    conn = await asyncpg.connect(owner_dsn)
    try:
        oversell = await conn.fetchval(
            """
            SELECT coalesce(sum(greatest(r.units - s.on_hand, 0)), 0)
            FROM (SELECT sku_id, sum(on_hand) AS on_hand FROM stock WHERE org_id = $1
                  GROUP BY sku_id) s
            JOIN (SELECT sku_id, sum(quantity) AS units FROM reservations
                  WHERE org_id = $1 AND status = 'ACTIVE' GROUP BY sku_id) r USING (sku_id)
            """,
            org_id,
        )
        stranded = await conn.fetchval(
            "SELECT count(*) FROM orders WHERE org_id = $1 AND id = ANY($2) AND status = 'NEW'",
            org_id,
            order_ids,
        )
    finally:
        await conn.close()
    return int(oversell), int(stranded)


# -- (a') ---------------------------------------------------------------------------------------
_RAW_ORDER = "SELECT id, status FROM orders WHERE org_id = $1 AND id = $2 FOR UPDATE"
_RAW_STOCK = (
    "SELECT id, sku_id, warehouse_id, bin_id, on_hand, reserved, safety FROM stock"
    " WHERE org_id = $1 AND sku_id = $2 ORDER BY id FOR UPDATE"
)
_RAW_STOCK_UPDATE = (
    "UPDATE stock SET reserved = $3, updated_at = now() WHERE org_id = $1 AND id = $2"
)
_RAW_RESERVATION = """
INSERT INTO reservations (org_id, order_id, order_line_id, sku_id, warehouse_id, bin_id,
                          stock_id, quantity, status, close_reason)
VALUES ($1, $2, $3, $4, $5, $6, $7, 1, 'ACTIVE', '') RETURNING id
"""
_RAW_LEDGER = """
INSERT INTO stock_ledger (org_id, stock_id, sku_id, warehouse_id, bin_id, kind, on_hand_delta,
                          reserved_delta, on_hand_after, reserved_after, order_id, order_line_id,
                          reservation_id, reason, reference, actor_label)
VALUES ($1, $2, $3, $4, $5, 'RESERVE', 0, 1, $6, $7, $8, $9, $10, 'order reservation', '',
        'bench')
"""
_RAW_STATUS = (
    "UPDATE orders SET status = 'RESERVED', updated_at = now() WHERE org_id = $1 AND id = $2"
)
_RAW_HISTORY = """
INSERT INTO order_history (org_id, order_id, from_status, to_status, actor_label, reason)
VALUES ($1, $2, 'NEW', 'RESERVED', 'bench', 'stock reserved')
"""
_RAW_OUTBOX = """
INSERT INTO outbox (org_id, topic, aggregate_type, aggregate_id, payload)
VALUES ($1, 'order.updated', 'Order', $2, $3::jsonb)
"""


async def raw_equivalent(
    app_dsn: str, org_id: int, sku_id: int, orders: list[tuple[int, int]], concurrency: int
) -> tuple[float, list[float]]:
    """Reserve ``orders`` ((order id, line id), one unit of ``sku_id`` each) with hand-written
    SQL, one transaction per order; returns (seconds, latencies)."""
    begin = (
        f"SELECT set_config('role', '{APP_ROLE}', true),"
        f" set_config('app.org_id', '{int(org_id)}', true),"
        " set_config('lock_timeout', '2000ms', true)"
    )
    pool = await asyncpg.create_pool(app_dsn, min_size=concurrency, max_size=concurrency)
    assert pool is not None
    latencies: list[float] = []
    work = iter(orders)

    async def one(order_id: int, line_id: int) -> None:
        async with pool.acquire() as conn, conn.transaction():
            await conn.execute(begin)
            await conn.fetchrow(_RAW_ORDER, org_id, order_id)
            stock = await conn.fetchrow(_RAW_STOCK, org_id, sku_id)
            reserved = stock["reserved"] + 1
            assert reserved <= stock["on_hand"] - stock["safety"]
            await conn.execute(_RAW_STOCK_UPDATE, org_id, stock["id"], reserved)
            res_id = await conn.fetchval(
                _RAW_RESERVATION,
                org_id,
                order_id,
                line_id,
                sku_id,
                stock["warehouse_id"],
                stock["bin_id"],
                stock["id"],
            )
            await conn.execute(
                _RAW_LEDGER,
                org_id,
                stock["id"],
                sku_id,
                stock["warehouse_id"],
                stock["bin_id"],
                stock["on_hand"],
                reserved,
                order_id,
                line_id,
                res_id,
            )
            await conn.execute(_RAW_STATUS, org_id, order_id)
            await conn.execute(_RAW_HISTORY, org_id, order_id)
            payload = json.dumps({"orderId": order_id, "status": "RESERVED"})
            await conn.execute(_RAW_OUTBOX, org_id, order_id, payload)
            await conn.execute("NOTIFY orderflow_outbox")

    async def worker() -> None:
        for order_id, line_id in work:
            started = time.perf_counter()
            await one(order_id, line_id)
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    seconds = time.perf_counter() - started
    await pool.close()
    return seconds, latencies


async def order_lines(owner_dsn: str, order_ids: list[int]) -> list[tuple[int, int]]:
    conn = await asyncpg.connect(owner_dsn)
    try:
        rows = await conn.fetch(
            "SELECT order_id, id FROM order_lines WHERE order_id = ANY($1) ORDER BY order_id",
            order_ids,
        )
    finally:
        await conn.close()
    return [(r["order_id"], r["id"]) for r in rows]


# -- (d), (e) ----------------------------------------------------------------------------------
async def drain_scenario(
    db: Database,
    owner_dsn: str,
    name: str,
    org_id: int,
    shop_id: int,
    sku_ids: list[int],
    orders: int,
    batch_size: int,
) -> Drain:
    order_ids = await insert_orders(owner_dsn, org_id, shop_id, sku_ids, orders, "D")
    # Stock for half of the orders, spread evenly over the SKUs.
    await set_stock(owner_dsn, org_id, max(1, orders // 2 // len(sku_ids)))
    started = time.perf_counter()
    report = await reservation.drain(db, org_id, batch_size=batch_size)
    seconds = time.perf_counter() - started
    oversell, stranded = await audit(owner_dsn, org_id, order_ids)
    return Drain(
        name,
        report.orders,
        report.reserved,
        report.backordered,
        seconds,
        report.batches,
        oversell,
        stranded,
    )


# -- (f) ---------------------------------------------------------------------------------------
_CREATE_ORDER = """
WITH o AS (
    INSERT INTO orders (org_id, shop_id, external_id, status, goods_fen, discount_fen,
                        shipping_fen, total_fen, receiver_name, receiver_phone,
                        receiver_province, receiver_city, receiver_district, receiver_address,
                        buyer_remark, seller_remark, paid_at)
    VALUES ($1, $2, $3, 'NEW', 100, 0, 0, 100, '王五', '13700137000', '浙江省', '杭州市', '',
            'bench', '', '', now())
    RETURNING id
), l AS (
    INSERT INTO order_lines (org_id, order_id, sku_id, quantity, unit_price_fen, discount_fen)
    SELECT $1, id, $4, 1, 100, 0 FROM o
), e AS (
    INSERT INTO outbox (org_id, topic, aggregate_type, aggregate_id, payload)
    SELECT $1, 'order.created', 'Order', id, '{}'::jsonb FROM o
)
SELECT id, pg_notify('orderflow_outbox', '') FROM o
"""


def start_worker(
    app_url: str, redis_url: str, prefix: str, log_path: str
) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ORDERFLOW_")} | {
        "DATABASE_URL": app_url,
        "REDIS_URL": redis_url,
        "ORDERFLOW_REDIS_PREFIX": prefix,
        "ORDERFLOW_LOG_LEVEL": "WARNING",
        "ORDERFLOW_DATA_DIR": tempfile.mkdtemp(prefix="of-bench-"),
    }
    log = open(log_path, "wb")  # noqa: SIM115 (the worker writes it until it is stopped)
    return subprocess.Popen(
        [sys.executable, "-m", "api.cli", "worker"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def stop_worker(process: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=20)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        os.killpg(process.pid, signal.SIGKILL)


async def latency_scenario(
    app_dsn: str,
    owner_dsn: str,
    redis_url: str,
    prefix: str,
    name: str,
    org_id: int,
    shop_id: int,
    sku_ids: list[int],
    rate: float,
    seconds: float,
    spaced: float | None = None,
) -> Latency:
    """Insert orders at ``rate`` a second for ``seconds`` (or one every ``spaced`` seconds)
    and time each until its RESERVED/BACKORDERED event arrives on the seller's channel."""
    redis: Redis = Redis.from_url(redis_url)
    pubsub = redis.pubsub()
    await pubsub.subscribe(channel(prefix, org_id))
    committed: dict[int, float] = {}
    arrived: dict[int, float] = {}
    done = asyncio.Event()

    async def listen() -> None:
        while not done.is_set():
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.5)
            if message is None:
                continue
            event = json.loads(message["data"])
            status = event.get("payload", {}).get("status")
            if event.get("topic") == "order.updated" and status in {"RESERVED", "BACKORDERED"}:
                arrived.setdefault(int(event["aggregate_id"]), time.perf_counter())

    listener = asyncio.create_task(listen())
    pool = await asyncpg.create_pool(app_dsn, min_size=4, max_size=8)
    assert pool is not None
    begin = (
        f"SELECT set_config('role', '{APP_ROLE}', true),"
        f" set_config('app.org_id', '{int(org_id)}', true)"
    )
    interval = spaced if spaced is not None else 1.0 / rate
    total = int(seconds / interval) if spaced is None else int(seconds)
    tag = uuid.uuid4().hex[:6]

    async def create(i: int) -> None:
        async with pool.acquire() as conn:
            async with conn.transaction():
                await conn.execute(begin)
                row = await conn.fetchrow(
                    _CREATE_ORDER, org_id, shop_id, f"F{tag}{i:07d}", sku_ids[i % len(sku_ids)]
                )
            committed[row["id"]] = time.perf_counter()

    tasks = []
    started = time.perf_counter()
    for i in range(total):
        due = started + i * interval
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        tasks.append(asyncio.create_task(create(i)))
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - started
    deadline = time.perf_counter() + 30
    while len(arrived.keys() & committed.keys()) < len(committed):
        if time.perf_counter() > deadline:
            break
        await asyncio.sleep(0.05)
    done.set()
    await listener
    await pool.close()
    await pubsub.aclose()
    await redis.aclose()
    latencies = [arrived[o] - committed[o] for o in committed if o in arrived]
    _, stranded = await audit(owner_dsn, org_id, list(committed))
    return Latency(name, len(committed), len(committed) / elapsed, latencies, stranded)
