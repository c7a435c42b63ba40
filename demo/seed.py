"""Load the demo data set behind ``orderflow demo``.

Two sellers (``demo``: an apparel seller on every channel; ``demo2``: a smaller tea and snacks
seller) so that signing in to one shows the other's data is invisible.  Each gets users for every
role with printed passwords, two warehouses and its drop-ship supplier's (代发仓), its catalog, a
month of orders with status histories, and the inventory those orders imply (``stock.py``):
zones and bins, stock with its ledger, reservations, backorders and shop stock policies.  No
outbox events: the demo's orders are history, not news for subscribers.

Idempotent: a seller that already has its shops is left alone and only summarised, so a second
``orderflow demo`` on the same data directory starts at once and prints the same logins.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import accumulate

import structlog

from db.engine import Database
from db.uow import UnitOfWork
from demo.orders import OrganizationPlan, plan_organization
from demo.profiles import PROFILES, DemoProfile
from demo.repository import DemoCounts, DemoRepository
from demo.stock import LOADER_ACTOR, InventoryPlan, all_warehouses, plan_inventory
from domain.accounts.model import Actor, Role
from domain.accounts.service import create_organization, create_user
from domain.inventory.model import BackorderStatus
from domain.orders.model import phone_tail

log = structlog.get_logger(__name__)

#: The label of what the loader itself does (creating users, receiving stock); shows in
#: the audit log and the stock ledger.
DEMO_ACTOR_LABEL = LOADER_ACTOR


@dataclass(frozen=True)
class _Plans:
    organization: OrganizationPlan
    inventory: InventoryPlan


def _plan(profile: DemoProfile, order_count: int, seed: int, now: datetime) -> _Plans:
    organization = plan_organization(profile, order_count, seed=seed, now=now)
    inventory = plan_inventory(
        profile, organization.skus, organization.orders.orders, seed=seed, now=now
    )
    return _Plans(organization, inventory)


@dataclass(frozen=True)
class DemoLogin:
    role: Role
    username: str
    password: str


@dataclass(frozen=True)
class DemoOrganization:
    org_id: int
    slug: str
    name: str
    logins: tuple[DemoLogin, ...]
    counts: DemoCounts
    #: Loaded by this call; ``False`` when it was already there.
    created: bool


@dataclass(frozen=True)
class DemoSummary:
    organizations: tuple[DemoOrganization, ...]
    seconds: float

    @property
    def created(self) -> bool:
        return any(org.created for org in self.organizations)


async def load_demo(
    db: Database,
    *,
    orders_per_org: int = 2000,
    seed: int = 2026,
    now: datetime | None = None,
) -> DemoSummary:
    """Load both demo sellers unless they exist; return their logins and row counts.

    ``orders_per_org`` is the main seller's order count; the second seller gets 30 % of it.
    ``now`` anchors the month of orders (default: the current time); pass a fixed value to get
    identical data, timestamps included, from the same ``seed``.
    """
    if orders_per_org < 0:
        raise ValueError("orders_per_org cannot be negative")
    started = time.perf_counter()
    anchor = now or datetime.now(UTC)
    # argon2 hashing (create_user) is the slowest step and holds the event loop, so the sellers
    # take turns: the next one starts hashing once this one's users exist, while PostgreSQL
    # takes this one's bulk inserts.  Planning runs in threads alongside both.
    turns = [asyncio.Event() for _ in PROFILES]
    async with asyncio.TaskGroup() as group:
        tasks = [
            group.create_task(
                _load_organization(
                    db,
                    profile,
                    round(orders_per_org * profile.order_share),
                    seed,
                    anchor,
                    my_turn=turns[index - 1] if index else None,
                    users_ready=turns[index],
                )
            )
            for index, profile in enumerate(PROFILES)
        ]
    summary = DemoSummary(tuple(t.result() for t in tasks), time.perf_counter() - started)
    log.info(
        "demo.loaded" if summary.created else "demo.present",
        organizations=[org.slug for org in summary.organizations],
        orders=sum(org.counts.orders for org in summary.organizations),
        seconds=round(summary.seconds, 2),
    )
    return summary


def _logins(profile: DemoProfile, present: set[str]) -> tuple[DemoLogin, ...]:
    return tuple(
        DemoLogin(spec.role, spec.username, profile.password(spec.username))
        for spec in profile.users
        if spec.username in present
    )


async def _load_organization(
    db: Database,
    profile: DemoProfile,
    order_count: int,
    seed: int,
    now: datetime,
    *,
    my_turn: asyncio.Event | None,
    users_ready: asyncio.Event,
) -> DemoOrganization:
    try:
        async with UnitOfWork(db, None) as uow:
            org = await uow.accounts.org_by_slug(profile.slug)
        if org is not None:
            assert org.id is not None
            async with UnitOfWork(db, org.id) as uow:
                counts = await DemoRepository(uow.session, org.id).counts()
                present = await DemoRepository(uow.session, org.id).usernames()
            if counts.shops:
                return DemoOrganization(
                    org.id, org.slug, org.name, _logins(profile, present), counts, created=False
                )
            # Else an earlier run created the organisation but failed before its data committed.

        # Pure Python in a thread: it overlaps with argon2 (which releases the GIL) and with
        # PostgreSQL's work.
        planning = asyncio.create_task(asyncio.to_thread(_plan, profile, order_count, seed, now))
        try:
            if my_turn is not None:
                await my_turn.wait()
            if org is None:
                owner = next(spec for spec in profile.users if spec.role is Role.OWNER)
                org, _ = await create_organization(
                    db,
                    slug=profile.slug,
                    name=profile.name,
                    owner_username=owner.username,
                    owner_password=profile.password(owner.username),
                    owner_display_name=owner.display_name,
                )
            assert org.id is not None
            counts, present = await _fill(db, profile, org.id, planning, users_ready)
        finally:
            if not planning.done():
                planning.cancel()
        return DemoOrganization(
            org.id, org.slug, org.name, _logins(profile, present), counts, created=True
        )
    finally:
        users_ready.set()  # whatever happened here, the next seller must not wait forever


async def _fill(
    db: Database,
    profile: DemoProfile,
    org_id: int,
    planning: asyncio.Task[_Plans],
    users_ready: asyncio.Event,
) -> tuple[DemoCounts, set[str]]:
    """Users, shops, warehouses, catalog, orders and inventory of one seller, in one
    transaction."""
    actor = Actor.system(org_id, label=DEMO_ACTOR_LABEL)
    async with UnitOfWork(db, org_id) as uow:
        present = await DemoRepository(uow.session, org_id).usernames()
        user_ids: dict[Role, int] = {}
        usernames: dict[Role, str] = {}
        supplier_id: int | None = None
        for spec in profile.users:
            if spec.username in present:  # the owner, made by create_organization
                user = await uow.accounts.user_by_username(org_id, spec.username)
            else:
                user = await create_user(
                    uow,
                    actor,
                    username=spec.username,
                    password=profile.password(spec.username),
                    role=spec.role,
                    display_name=spec.display_name,
                    supplier_name=profile.supplier_name if spec.role is Role.SUPPLIER else None,
                )
            assert user is not None and user.id is not None
            user_ids[spec.role], usernames[spec.role] = user.id, user.username
            supplier_id = user.supplier_id if spec.role is Role.SUPPLIER else supplier_id
        users_ready.set()

        plans = await planning
        plan, inventory = plans.organization, plans.inventory
        repo = DemoRepository(uow.session, org_id)
        shop_ids = await repo.add_shops(
            [
                {"channel": s.channel.value, "name": s.name, "allow_partial_reservation": False}
                for s in profile.shops
            ]
        )
        warehouse_ids = await repo.add_warehouses(
            [
                {
                    "code": w.code,
                    "name": w.name,
                    "address": w.address,
                    "provinces": list(w.provinces),
                    "priority": w.priority,
                    "is_active": True,
                    "created_at": inventory.opened,
                }
                for w in all_warehouses(profile)
            ]
        )
        product_ids = await repo.add_products(
            [{"code": p.code, "name": p.name, "category": p.category} for p in profile.products]
        )
        sku_ids = await repo.add_skus(
            [
                {
                    "product_id": product_ids[s.product_index],
                    "code": s.code,
                    "barcode": s.barcode,
                    "name": s.name,
                    "weight_g": s.weight_g,
                    "price_fen": s.price_fen,
                }
                for s in plan.skus
            ]
        )
        order_ids, line_ids = await _add_orders(
            repo, plan, shop_ids, sku_ids, user_ids, usernames, supplier_id
        )
        await _add_inventory(
            repo,
            inventory,
            _Ids(shop_ids, warehouse_ids, sku_ids, order_ids, line_ids, user_ids, usernames),
        )
        counts = await repo.counts()
        await uow.commit()
    return counts, set(usernames.values())


async def _add_orders(
    repo: DemoRepository,
    plan: OrganizationPlan,
    shop_ids: list[int],
    sku_ids: list[int],
    user_ids: dict[Role, int],
    usernames: dict[Role, str],
    supplier_id: int | None,
) -> tuple[list[int], list[list[int]]]:
    """Customers, orders, lines, histories and remarks; returns the order ids and, per order,
    its line ids (both in plan order)."""
    orders = plan.orders.orders
    first_seen: dict[int, datetime] = {}
    for order in orders:  # chronological: a buyer exists from their first order on
        first_seen.setdefault(order.customer_index, order.created_at)
    customer_ids = await repo.add_customers(
        [
            {
                "channel": c.channel.value,
                "nick": c.nick,
                "name": c.name,
                "phone": c.phone,
                "created_at": first_seen[index],
            }
            for index, c in enumerate(plan.orders.customers)
        ]
    )
    order_ids = await repo.add_orders(
        [
            {
                "shop_id": shop_ids[o.shop_index],
                "external_id": o.external_id,
                "status": o.status.value,
                "goods_fen": o.totals.goods_fen,
                "discount_fen": o.totals.discount_fen,
                "shipping_fen": o.totals.shipping_fen,
                "total_fen": o.totals.total_fen,
                "customer_id": customer_ids[o.customer_index],
                "receiver_name": o.receiver_name,
                "receiver_phone": o.receiver_phone,
                "receiver_phone_tail": phone_tail(o.receiver_phone),
                "receiver_province": o.province,
                "receiver_city": o.city,
                "receiver_district": o.district,
                "receiver_address": o.address,
                "buyer_remark": o.buyer_remark,
                "seller_remark": o.seller_remark,
                "paid_at": o.paid_at,
                "created_at": o.created_at,
                "updated_at": o.updated_at,
                "created_by_user_id": user_ids[o.created_by] if o.created_by else None,
                "supplier_id": supplier_id if o.drop_ship else None,
            }
            for o in orders
        ]
    )
    flat_line_ids = await repo.add_order_lines(
        [
            {
                "order_id": order_id,
                "sku_id": sku_ids[line.sku_index],
                "quantity": line.quantity,
                "unit_price_fen": line.unit_price_fen,
                "discount_fen": line.discount_fen,
            }
            for order_id, o in zip(order_ids, orders, strict=True)
            for line in o.lines
        ]
    )
    await repo.add_order_history(
        [
            {
                "order_id": order_id,
                "from_status": step.from_status.value if step.from_status else None,
                "to_status": step.to_status.value,
                "actor_label": usernames[step.actor_role] if step.actor_role else step.actor_label,
                "actor_user_id": user_ids[step.actor_role] if step.actor_role else None,
                "actor_token_id": None,
                "reason": step.reason,
                "created_at": step.at,
            }
            for order_id, o in zip(order_ids, orders, strict=True)
            for step in o.history
        ]
    )
    await repo.add_order_remarks(
        [
            {
                "order_id": order_id,
                "text": remark.text,
                "author_label": usernames[remark.author_role],
                "author_user_id": user_ids[remark.author_role],
                "created_at": remark.at,
            }
            for order_id, o in zip(order_ids, orders, strict=True)
            for remark in o.remarks
        ]
    )
    ends = list(accumulate(len(o.lines) for o in orders))
    line_ids = [
        flat_line_ids[end - len(o.lines) : end] for o, end in zip(orders, ends, strict=True)
    ]
    return order_ids, line_ids


@dataclass(frozen=True)
class _Ids:
    """Database ids of what the inventory plan refers to by index."""

    shops: list[int]
    warehouses: list[int]
    skus: list[int]
    orders: list[int]
    lines: list[list[int]]
    users: dict[Role, int]
    usernames: dict[Role, str]


async def _add_inventory(repo: DemoRepository, plan: InventoryPlan, ids: _Ids) -> None:
    """Zones, bins, stock, reservations, ledger, backorders and stock policies, a few bulk
    statements each (RETURNING gives the ids the next table refers to)."""
    zone_ids = await repo.add_zones(
        [
            {
                "warehouse_id": ids.warehouses[z.warehouse_index],
                "code": z.code,
                "name": z.name,
                "walk_order": z.walk_order,
                "created_at": plan.opened,
            }
            for z in plan.zones
        ]
    )
    bin_ids = await repo.add_bins(
        [
            {
                "warehouse_id": ids.warehouses[b.warehouse_index],
                "zone_id": zone_ids[b.zone_index],
                "code": b.code,
                "walk_seq": b.walk_seq,
                "created_at": plan.opened,
            }
            for b in plan.bins
        ]
    )
    stock_ids = await repo.add_stock(
        [
            {
                "sku_id": ids.skus[s.sku_index],
                "warehouse_id": ids.warehouses[s.warehouse_index],
                "bin_id": bin_ids[s.bin_index],
                "on_hand": s.on_hand,
                "reserved": s.reserved,
                "safety": s.safety,
                "updated_at": s.updated_at,
            }
            for s in plan.stock
        ]
    )

    def stock_ref(stock_index: int) -> dict[str, int]:
        row = plan.stock[stock_index]
        return {
            "stock_id": stock_ids[stock_index],
            "sku_id": ids.skus[row.sku_index],
            "warehouse_id": ids.warehouses[row.warehouse_index],
            "bin_id": bin_ids[row.bin_index],
        }

    reservation_ids = await repo.add_reservations(
        [
            {
                **stock_ref(r.stock_index),
                "order_id": ids.orders[r.order_index],
                "order_line_id": ids.lines[r.order_index][r.line_index],
                "quantity": r.quantity,
                "status": r.status.value,
                "created_at": r.created_at,
                "closed_at": r.closed_at,
                "close_reason": r.close_reason,
            }
            for r in plan.reservations
        ]
    )
    await repo.add_stock_ledger(
        [
            {
                **stock_ref(m.stock_index),
                "kind": m.kind.value,
                "on_hand_delta": m.on_hand_delta,
                "reserved_delta": m.reserved_delta,
                "on_hand_after": m.on_hand_after,
                "reserved_after": m.reserved_after,
                "order_id": None if m.order_index is None else ids.orders[m.order_index],
                "order_line_id": (
                    None
                    if m.order_index is None or m.line_index is None
                    else ids.lines[m.order_index][m.line_index]
                ),
                "reservation_id": (
                    None if m.reservation_index is None else reservation_ids[m.reservation_index]
                ),
                "reason": m.reason,
                "reference": m.reference,
                "actor_label": ids.usernames[m.actor_role] if m.actor_role else m.actor_label,
                "actor_user_id": ids.users[m.actor_role] if m.actor_role else None,
                "actor_token_id": None,
                "created_at": m.at,
            }
            for m in plan.ledger
        ]
    )
    await repo.add_backorders(
        [
            {
                "order_id": ids.orders[b.order_index],
                "order_line_id": ids.lines[b.order_index][b.line_index],
                "sku_id": ids.skus[b.sku_index],
                "quantity": b.quantity,
                "paid_at": b.paid_at,
                "status": BackorderStatus.WAITING.value,
                "attempts": 1,
                "created_at": b.at,
                "last_attempt_at": b.at,
            }
            for b in plan.backorders
        ]
    )
    await repo.add_shop_stock_policies(
        [
            {
                "shop_id": ids.shops[p.shop_index],
                "ratio_percent": p.policy.ratio_percent,
                "cap": p.policy.cap,
                "pool": p.policy.pool,
                "allow_split": p.policy.allow_split,
            }
            for p in plan.policies
        ]
    )
