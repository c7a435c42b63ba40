"""Load the demo data set behind ``orderflow demo``.

Two sellers (``demo``: an apparel seller on every channel; ``demo2``: a smaller tea and snacks
seller) so that signing in to one shows the other's data is invisible.  Each gets users for every
role with printed passwords, two warehouses and its drop-ship supplier's (代发仓) with zones and
bins, its catalog, shop stock policies, a month of orders, and the inventory they imply.

Only what orderflow receives from outside is inserted directly, in bulk (``repository.py``):
shops, the catalog, buyers, and the orders as they arrive (NEW, with their paid times).  The
rest goes through the services production uses, in their bulk forms, so the demo can never
disagree with the rules:

1. warehouses, zones, bins and stock policies (``domain.inventory.layout``, ``shop_policies``);
   the steps some orders take before reservation (a risk hold, its release, a cancellation:
   ``domain.orders.service``); the opening stock and purchases, a handful of statements for
   all (``stock_moves.receive_receipts``).  One transaction.
2. The reservation loop (``domain.inventory.reservation.drain``) reserves the orders first paid
   first served, or leaves them waiting for stock: reservations, their ledger rows, backorders
   and those status changes are its own.
3. The steps after reservation, round by round: wave, pick and pack; shipment
   (``stock_moves.commit_orders``); delivery and after-sale; cancellations
   (``cancel_orders``, which releases).  Then the warehouse moves bestsellers down to their pick
   bins, counts the SKUs left short (so nothing available keeps an order waiting) and sets
   safety stock.  One transaction.
4. The loop again, for what step 3 gave back.

Steps through the services are stamped with the time they are taken (the load); the plan only
dates what came before orderflow saw an order.  They also write their outbox events, which the
demo's relay publishes once it runs.

Idempotent: a seller whose load finished (its ``demo.load`` audit row) is left alone and only
summarised, so a second ``orderflow demo`` on the same data directory starts at once and prints
the same logins.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import structlog

from db.engine import Database
from db.uow import UnitOfWork
from demo.orders import OrganizationPlan, PlannedOrder, PlannedStep, plan_organization
from demo.profiles import PROFILES, DemoProfile
from demo.repository import DemoCounts, DemoRepository
from demo.stock import InventoryPlan, all_warehouses, plan_inventory
from domain import audit
from domain.accounts.model import Actor, Role
from domain.accounts.service import create_organization, create_user
from domain.inventory import layout, queries, reservation, shop_policies, stock_moves
from domain.inventory.model import (
    MAX_BULK_ITEMS,
    AdjustLine,
    ReceiveLine,
    SafetyLine,
    StockFilter,
    TransferLine,
)
from domain.orders import service as orders
from domain.orders.model import OrderStatus, phone_tail
from domain.paging import Page

log = structlog.get_logger(__name__)

#: The label of what the loader itself does (creating users and the layout, receiving stock);
#: shows in the audit log and the stock ledger.
DEMO_ACTOR_LABEL = "demo-loader"
#: The audit action that marks a seller's load as finished.
LOADED_ACTION = "demo.load"
#: Orders one reservation batch takes while loading.  In production a batch holds its stock
#: rows until it commits, so batches stay small; nothing waits for the demo's rows, and one
#: batch for the default main seller (about 1,900 orders reach the loop) saves the per-batch
#: round trips and commit.
DEMO_BATCH_SIZE = 2500
COUNT_REASON = "盘点: 实物短缺, 按实盘数调整"
RESTOCK_REASON = "补货: 备货位移至拣货位"


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
    batch_size: int = DEMO_BATCH_SIZE,
) -> DemoSummary:
    """Load both demo sellers unless they exist; return their logins and row counts.

    ``orders_per_org`` is the main seller's order count; the second seller gets 30 % of it.
    ``now`` anchors the month of orders (default: the current time); the same ``seed`` and
    ``now`` plan the same orders and goods (the services stamp their steps with the load's own
    time).  ``batch_size`` is the reservation loop's batch while loading.
    """
    if orders_per_org < 0:
        raise ValueError("orders_per_org cannot be negative")
    started = time.perf_counter()
    anchor = now or datetime.now(UTC)
    # argon2 hashing (create_user, in a thread) is the slowest single step and takes every core
    # it gets, so the sellers take turns: the next one starts hashing once this one's users
    # exist, while PostgreSQL works on this one's data.  Planning runs in threads alongside.
    turns = [asyncio.Event() for _ in PROFILES]
    async with asyncio.TaskGroup() as group:
        tasks = [
            group.create_task(
                _load_organization(
                    db,
                    profile,
                    round(orders_per_org * profile.order_share),
                    _Run(seed, anchor, batch_size),
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


@dataclass(frozen=True)
class _Run:
    seed: int
    now: datetime
    batch_size: int


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
    run: _Run,
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
                rows = DemoRepository(uow.session, org.id)
                counts = await rows.counts()
                present = await rows.usernames()
                loaded = await rows.has_audit(LOADED_ACTION)
            if counts.shops:
                if not loaded:
                    log.warning(
                        "demo.incomplete",
                        organization=profile.slug,
                        hint="an earlier load stopped half-way; delete the data directory "
                        "(or the database) to load the demo again",
                    )
                return DemoOrganization(
                    org.id, org.slug, org.name, _logins(profile, present), counts, created=False
                )
            # Else an earlier run created the organisation but failed before its data committed.

        # Pure Python in a thread: it overlaps with argon2 (which releases the GIL) and with
        # PostgreSQL's work.
        planning = asyncio.create_task(
            asyncio.to_thread(_plan, profile, order_count, run.seed, run.now)
        )
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
            counts, present = await _Loader(db, profile, org.id, run).load(planning, users_ready)
        finally:
            if not planning.done():
                planning.cancel()
        return DemoOrganization(
            org.id, org.slug, org.name, _logins(profile, present), counts, created=True
        )
    finally:
        users_ready.set()  # whatever happened here, the next seller must not wait forever


class _Loader:
    """One seller's load: the four stages of the module docstring."""

    def __init__(self, db: Database, profile: DemoProfile, org_id: int, run: _Run) -> None:
        self.db = db
        self.profile = profile
        self.org_id = org_id
        self.run = run
        self.loader = Actor.system(org_id, label=DEMO_ACTOR_LABEL)
        self.users: dict[Role, Actor] = {}
        self._system: dict[str, Actor] = {}
        self.shop_ids: list[int] = []
        self.warehouse_ids: list[int] = []
        self.bin_ids: list[int] = []
        self.sku_ids: list[int] = []
        self.order_ids: list[int] = []

    def actor(self, step: PlannedStep) -> Actor:
        """Who takes a planned step: a demo user, or a system actor by its label."""
        if step.actor_role is not None:
            return self.users[step.actor_role]
        if step.actor_label not in self._system:
            self._system[step.actor_label] = Actor.system(self.org_id, label=step.actor_label)
        return self._system[step.actor_label]

    async def load(
        self, planning: asyncio.Task[_Plans], users_ready: asyncio.Event
    ) -> tuple[DemoCounts, set[str]]:
        async with UnitOfWork(self.db, self.org_id) as uow:
            await self._users(uow)
            users_ready.set()
            plans = await planning
            plan, inventory = plans.organization, plans.inventory
            await self._arrivals(uow, plan)
            await self._layout(uow, inventory)
            await self._steps(
                uow, [(i, order.before) for i, order in enumerate(plan.orders.orders)]
            )
            await self._receive(uow, inventory)
            await uow.commit()

        await reservation.drain(self.db, self.org_id, batch_size=self.run.batch_size)

        async with UnitOfWork(self.db, self.org_id) as uow:
            await self._after_reservation(uow, plan.orders.orders)
            await self._warehouse_work(uow, inventory)
            await uow.commit()

        await reservation.drain(self.db, self.org_id, batch_size=self.run.batch_size)

        async with UnitOfWork(self.db, self.org_id) as uow:
            audit.record(uow, self.loader, LOADED_ACTION, "Organization", self.org_id)
            rows = DemoRepository(uow.session, self.org_id)
            counts = await rows.counts()
            present = await rows.usernames()
            await uow.commit()
        return counts, present

    # -- stage 1 -----------------------------------------------------------------------------
    async def _users(self, uow: UnitOfWork) -> None:
        profile = self.profile
        present = await DemoRepository(uow.session, self.org_id).usernames()
        for spec in profile.users:
            if spec.username in present:  # the owner, made by create_organization
                user = await uow.accounts.user_by_username(self.org_id, spec.username)
            else:
                user = await create_user(
                    uow,
                    self.loader,
                    username=spec.username,
                    password=profile.password(spec.username),
                    role=spec.role,
                    display_name=spec.display_name,
                    supplier_name=profile.supplier_name if spec.role is Role.SUPPLIER else None,
                )
            assert user is not None and user.id is not None
            self.users[spec.role] = Actor.for_user(
                org_id=self.org_id,
                user_id=user.id,
                role=spec.role,
                username=user.username,
                supplier_id=user.supplier_id,
            )

    async def _arrivals(self, uow: UnitOfWork, plan: OrganizationPlan) -> None:
        """Shops, catalog, buyers and the orders as they arrived: NEW, with the history row
        that says where each came from, and the staff's remarks."""
        rows = DemoRepository(uow.session, self.org_id)
        profile = self.profile
        self.shop_ids = await rows.add_shops(
            [
                {"channel": s.channel.value, "name": s.name, "allow_partial_reservation": False}
                for s in profile.shops
            ]
        )
        product_ids = await rows.add_products(
            [{"code": p.code, "name": p.name, "category": p.category} for p in profile.products]
        )
        self.sku_ids = await rows.add_skus(
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
        planned = plan.orders.orders
        first_seen: dict[int, datetime] = {}
        for order in planned:  # chronological: a buyer exists from their first order on
            first_seen.setdefault(order.customer_index, order.created_at)
        customer_ids = await rows.add_customers(
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
        supplier_id = self.users[Role.SUPPLIER].supplier_id
        self.order_ids = await rows.add_orders(
            [
                {
                    "shop_id": self.shop_ids[o.shop_index],
                    "external_id": o.external_id,
                    "status": OrderStatus.NEW.value,
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
                    "updated_at": o.arrived_at,
                    "created_by_user_id": self.users[o.created_by].user_id
                    if o.created_by
                    else None,
                    "supplier_id": supplier_id if o.drop_ship else None,
                }
                for o in planned
            ]
        )
        await rows.add_order_lines(
            [
                {
                    "order_id": order_id,
                    "sku_id": self.sku_ids[line.sku_index],
                    "quantity": line.quantity,
                    "unit_price_fen": line.unit_price_fen,
                    "discount_fen": line.discount_fen,
                }
                for order_id, o in zip(self.order_ids, planned, strict=True)
                for line in o.lines
            ]
        )
        await rows.add_order_history(
            [
                {
                    "order_id": order_id,
                    "from_status": None,
                    "to_status": OrderStatus.NEW.value,
                    "actor_label": self.actor(o.arrived).label,
                    "actor_user_id": self.actor(o.arrived).user_id,
                    "actor_token_id": None,
                    "reason": o.arrived.reason,
                    "created_at": o.arrived_at,
                }
                for order_id, o in zip(self.order_ids, planned, strict=True)
            ]
        )
        await rows.add_order_remarks(
            [
                {
                    "order_id": order_id,
                    "text": remark.text,
                    "author_label": self.users[remark.author_role].label,
                    "author_user_id": self.users[remark.author_role].user_id,
                    "created_at": remark.at,
                }
                for order_id, o in zip(self.order_ids, planned, strict=True)
                for remark in o.remarks
            ]
        )

    async def _layout(self, uow: UnitOfWork, inventory: InventoryPlan) -> None:
        """Warehouses, zones and bins, and the shops' stock policies (set by the 运营)."""
        for spec in all_warehouses(self.profile):
            warehouse = await layout.create_warehouse(
                uow,
                self.loader,
                code=spec.code,
                name=spec.name,
                address=spec.address,
                provinces=spec.provinces,
                priority=spec.priority,
            )
            assert warehouse.id is not None
            self.warehouse_ids.append(warehouse.id)
        bins_of_zone: dict[int, list[int]] = defaultdict(list)
        for index, planned_bin in enumerate(inventory.bins):
            bins_of_zone[planned_bin.zone_index].append(index)
        self.bin_ids = [0] * len(inventory.bins)
        for zone_index, planned_zone in enumerate(inventory.zones):
            zone = await layout.create_zone(
                uow,
                self.loader,
                warehouse_id=self.warehouse_ids[planned_zone.warehouse_index],
                code=planned_zone.code,
                name=planned_zone.name,
                walk_order=planned_zone.walk_order,
            )
            assert zone.id is not None
            indexes = bins_of_zone[zone_index]
            for start in range(0, len(indexes), MAX_BULK_ITEMS):
                part = indexes[start : start + MAX_BULK_ITEMS]
                created = await layout.create_bins(
                    uow,
                    self.loader,
                    zone_id=zone.id,
                    bins=[
                        layout.BinDraft(inventory.bins[i].code, inventory.bins[i].walk_seq)
                        for i in part
                    ],
                )
                for index, row in zip(part, created, strict=True):
                    assert row.id is not None
                    self.bin_ids[index] = row.id
        for planned_policy in inventory.policies:
            await shop_policies.set_shop_stock_policy(
                uow,
                self.users[Role.OPERATOR],
                self.shop_ids[planned_policy.shop_index],
                planned_policy.policy,
            )

    async def _receive(self, uow: UnitOfWork, inventory: InventoryPlan) -> None:
        """Opening stock and purchases: one bulk receive for every warehouse's receipts."""
        receipts = [
            stock_moves.Receipt(
                warehouse_id=self.warehouse_ids[r.warehouse_index],
                items=[
                    ReceiveLine(
                        self.sku_ids[line.sku_index], self.bin_ids[line.bin_index], line.quantity
                    )
                    for line in r.lines
                ],
                reason=r.reason,
                reference=r.reference,
            )
            for r in inventory.receipts
        ]
        if receipts:
            await stock_moves.receive_receipts(uow, self.loader, receipts)

    # -- status steps, in rounds --------------------------------------------------------------
    async def _steps(
        self, uow: UnitOfWork, planned: Sequence[tuple[int, Sequence[PlannedStep]]]
    ) -> None:
        """Take each order's steps in turn: round n is every order's n-th step, in as few
        calls as there are actors and kinds of step (a shipment also ships the stock, a
        cancellation also releases it)."""
        rounds = max((len(steps) for _, steps in planned), default=0)
        for n in range(rounds):
            by_actor: dict[tuple[Role | None, str], list[tuple[int, PlannedStep]]] = defaultdict(
                list
            )
            for index, steps in planned:
                if n < len(steps):
                    step = steps[n]
                    by_actor[(step.actor_role, step.actor_label)].append((index, step))
            for taken in by_actor.values():
                await self._take(uow, self.actor(taken[0][1]), taken)

    async def _take(
        self, uow: UnitOfWork, actor: Actor, taken: Sequence[tuple[int, PlannedStep]]
    ) -> None:
        cancelled = [
            orders.Cancellation(self.order_ids[i], step.reason)
            for i, step in taken
            if step.to_status is OrderStatus.CANCELLED
        ]
        if cancelled:
            await orders.cancel_orders(uow, actor, cancelled)
        shipped = [self.order_ids[i] for i, step in taken if step.to_status is OrderStatus.SHIPPED]
        if shipped:
            await stock_moves.commit_orders(uow, actor, shipped)
        changes = [
            orders.StatusChange(self.order_ids[i], step.to_status, step.reason)
            for i, step in taken
            if step.to_status is not OrderStatus.CANCELLED
        ]
        if changes:
            await orders.change_statuses(uow, actor, changes)

    # -- stage 3 -----------------------------------------------------------------------------
    async def _after_reservation(self, uow: UnitOfWork, planned: Sequence[PlannedOrder]) -> None:
        """The planned steps of the orders the loop reserved; of those it left waiting, only a
        cancellation (nothing else may follow 缺货 but the loop's own step)."""
        statuses = await DemoRepository(uow.session, self.org_id).order_statuses(self.order_ids)
        steps: list[tuple[int, Sequence[PlannedStep]]] = []
        for i, order in enumerate(planned):
            status = OrderStatus(statuses[self.order_ids[i]])
            if status is OrderStatus.RESERVED:
                steps.append((i, order.after))
            elif status is OrderStatus.BACKORDERED and _ends_cancelled(order):
                steps.append((i, order.after[-1:]))
        await self._steps(uow, steps)

    async def _warehouse_work(self, uow: UnitOfWork, inventory: InventoryPlan) -> None:
        """补货 moves, the count of the SKUs left short, and safety stock, as the warehouse
        user, from the stock rows as they are now."""
        staff = self.users[Role.WAREHOUSE]
        wanted = {self.sku_ids[r.sku_index] for r in inventory.restocks}
        wanted |= {self.sku_ids[sku] for sku in inventory.short_skus}
        levels = {}
        if wanted:  # (an empty filter means every row)
            rows_of = StockFilter(sku_ids=frozenset(wanted))
            found = await queries.count_stock_levels(uow, staff, rows_of)
            levels = {
                (row.sku_id, row.bin_id): row
                for row in (
                    await queries.stock_levels(uow, staff, rows_of, Page(size=max(found, 1)))
                ).rows
            }
        moves = []
        for restock in inventory.restocks:
            sku = self.sku_ids[restock.sku_index]
            row = levels.get((sku, self.bin_ids[restock.from_bin_index]))
            spare = row.on_hand - row.reserved if row is not None else 0
            if spare > 0:
                moves.append(
                    TransferLine(
                        sku,
                        self.bin_ids[restock.from_bin_index],
                        self.bin_ids[restock.to_bin_index],
                        math.ceil(spare / 2),
                    )
                )
        for start in range(0, len(moves), MAX_BULK_ITEMS):
            await stock_moves.transfer_stock(
                uow, staff, items=moves[start : start + MAX_BULK_ITEMS], reason=RESTOCK_REASON
            )
        short = {self.sku_ids[sku] for sku in inventory.short_skus}
        counts = [
            AdjustLine(row.sku_id, row.bin_id, counted=row.reserved)
            for (sku, _), row in sorted(levels.items())
            if sku in short and row.on_hand > row.reserved
        ]
        for start in range(0, len(counts), MAX_BULK_ITEMS):
            await stock_moves.adjust_stock(
                uow, staff, items=counts[start : start + MAX_BULK_ITEMS], reason=COUNT_REASON
            )
        safety = [
            SafetyLine(self.sku_ids[s.sku_index], self.bin_ids[s.bin_index], s.quantity)
            for s in inventory.safety
        ]
        for start in range(0, len(safety), MAX_BULK_ITEMS):
            await stock_moves.set_safety_stock(
                uow, staff, items=safety[start : start + MAX_BULK_ITEMS]
            )


def _ends_cancelled(order: PlannedOrder) -> bool:
    return bool(order.after) and order.after[-1].to_status is OrderStatus.CANCELLED
