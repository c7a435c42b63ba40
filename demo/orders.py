"""Plan a month of demo orders: buyers, receivers, lines, amounts and what happens to them.

Pure Python: it returns plain data (indexes into the catalog, shop and customer lists instead of
database ids), so the same seed always plans the same orders and the rules are unit-tested
without a database.  ``demo/seed.py`` inserts the orders as NEW, with the time they arrived, and
takes every later step through the services.

What makes it look real:
- order times follow the evening peak of Chinese online shopping (Beijing time, 20-23 h);
- the status an order is meant to reach depends on its age (today's orders are still being
  picked, last week's are delivered), along a legal path from NEW (``ALLOWED_TRANSITIONS``);
- a few bestsellers sell most (Zipf-like popularity), some buyers come back;
- receivers live at real 省/市/区 (``geo.py``) with plausible names, phones and streets
  (``people.py``);
- external ids look like each platform's: 19-digit Taobao tid, 12-digit JD id,
  ``YYMMDD-`` + 15 digits for Pinduoduo, 19-digit Douyin id, ``SD`` + date + number for 手工单.

Reserving is not planned: the reservation loop reserves the orders that reach it, first paid
first served, or leaves them waiting for stock.  A plan says what comes before the loop (a risk
hold, its release, a cancellation: ``before``), what comes once the order is reserved (wave,
pick, pack, ship, deliver, after-sale, or a cancellation: ``after``), and whether the order is
meant to wait for stock (``waits``: the stock plan then leaves one of its SKUs short).
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone
from itertools import accumulate, pairwise

from demo import geo, people
from demo.catalog import SkuDraft, build_skus
from demo.profiles import DemoProfile
from domain.accounts.model import Role
from domain.orders.model import LineDraft, OrderStatus, Totals, check_transition, compute_totals
from domain.shops.model import Channel

S = OrderStatus
BEIJING = timezone(timedelta(hours=8), "Asia/Shanghai")
DAYS = 30
PHONE_RE = re.compile(r"^1[3-9]\d{9}$")

#: Actor labels of steps no user takes (the user-taken ones carry the user's username).
SYNC_ACTOR = "channel-sync"
RISK_ACTOR = "risk-check"
TRACKING_ACTOR = "tracking"

CHANNEL_LABELS: dict[Channel, str] = {
    Channel.TAOBAO: "淘宝",
    Channel.TMALL: "天猫",
    Channel.JD: "京东",
    Channel.PDD: "拼多多",
    Channel.DOUYIN: "抖音",
    Channel.MANUAL: "手工单",
}

# Relative order volume by Beijing hour: a lunch bump and the 20-23 h evening peak.
_HOUR_WEIGHTS = (
    2.0, 1.2, 0.6, 0.3, 0.2, 0.3, 0.6, 1.2, 2.0, 3.0, 4.0, 4.2,
    4.0, 3.8, 4.0, 4.2, 4.0, 3.6, 3.6, 4.4, 5.5, 6.2, 5.8, 3.8,
)  # fmt: skip
_HOUR_CUM = tuple(accumulate(_HOUR_WEIGHTS))

# Status mix by the order's age in hours (upper bound of the bucket, weights).  No NEW: the
# reservation loop takes a new order within moments, so by the time anyone looks it is
# reserved or waiting for stock.
_STATUS_BY_AGE: tuple[tuple[float, dict[OrderStatus, float]], ...] = (
    (2, {S.HELD: 8, S.RESERVED: 65, S.BACKORDERED: 8, S.IN_WAVE: 10, S.PICKED: 3,
         S.PACKED: 2, S.CANCELLED: 4}),
    (16, {S.HELD: 6, S.RESERVED: 26, S.BACKORDERED: 10, S.IN_WAVE: 14, S.PICKED: 10,
          S.PACKED: 10, S.SHIPPED: 20, S.CANCELLED: 4}),
    (48, {S.HELD: 3, S.RESERVED: 7, S.BACKORDERED: 10, S.IN_WAVE: 3, S.PICKED: 2,
          S.PACKED: 4, S.SHIPPED: 62, S.CANCELLED: 7, S.AFTER_SALE: 2}),
    (120, {S.HELD: 1, S.BACKORDERED: 4, S.SHIPPED: 45, S.DELIVERED: 38, S.CANCELLED: 7,
           S.AFTER_SALE: 5}),
    (float("inf"), {S.BACKORDERED: 0.5, S.SHIPPED: 3, S.DELIVERED: 80.5, S.CANCELLED: 8,
                    S.AFTER_SALE: 8}),
)  # fmt: skip

HOLD_REASONS = (
    "风控: 收货地址不完整, 待人工确认",
    "风控: 同一收货人短时间内多笔订单",
    "风控: 订单金额异常, 待主管审核",
    "买家留言要求修改地址, 暂停处理",
)
SELLER_REMARKS = ("加急, 优先发货", "随单送小礼品", "顺丰发货, 运费已补", "大客户, 注意包装")
_COMMUNITIES = (
    "阳光花园", "锦绣家园", "翠苑小区", "幸福里", "金色家园", "滨江花园", "华府名邸", "紫金苑",
    "世纪新城", "桂花园", "书香苑", "和平新村", "东湖湾", "明珠苑", "梧桐公寓", "嘉禾小区",
)  # fmt: skip
_OFFICES = ("科技大厦", "国际商务中心", "创业园", "金融广场", "时代广场", "软件园", "智慧产业园")
#: (courier, waybill prefix, digits after it); the first three are what 义乌 suppliers use.
_COURIERS = (
    ("中通快递", "78", 12),
    ("圆通速递", "YT", 13),
    ("韵达快递", "43", 13),
    ("申通快递", "77", 13),
    ("极兔速递", "JT", 13),
    ("顺丰速运", "SF", 13),
)


@dataclass(frozen=True, slots=True)
class PlannedCustomer:
    channel: Channel
    nick: str
    name: str
    phone: str
    province: str
    city: str
    district: str
    address: str


@dataclass(frozen=True, slots=True)
class PlannedLine:
    sku_index: int
    quantity: int
    unit_price_fen: int
    discount_fen: int


@dataclass(frozen=True, slots=True)
class PlannedStep:
    """A status change and who makes it: ``actor_role`` set means a demo user, else the
    system actor ``actor_label`` (the channel sync, the risk check, tracking)."""

    to_status: OrderStatus
    actor_role: Role | None
    actor_label: str
    reason: str


@dataclass(frozen=True, slots=True)
class PlannedRemark:
    text: str
    author_role: Role
    at: datetime


@dataclass(frozen=True, slots=True)
class PlannedOrder:
    shop_index: int
    external_id: str
    customer_index: int
    receiver_name: str
    receiver_phone: str
    province: str
    city: str
    district: str
    address: str
    lines: tuple[PlannedLine, ...]
    totals: Totals
    #: Where the plan means the order to end (the reservation loop may disagree: it decides).
    status: OrderStatus
    created_at: datetime
    paid_at: datetime
    #: When orderflow got the order (its NEW history row), and who brought it.
    arrived: PlannedStep
    arrived_at: datetime
    before: tuple[PlannedStep, ...]
    waits: bool
    after: tuple[PlannedStep, ...]
    buyer_remark: str
    seller_remark: str
    drop_ship: bool
    created_by: Role | None
    remarks: tuple[PlannedRemark, ...]

    @property
    def reaches_loop(self) -> bool:
        """Whether the order is NEW when the reservation loop runs (not held, not cancelled)."""
        return not self.before or self.before[-1].to_status is S.NEW

    def path(self) -> list[OrderStatus]:
        """The statuses the plan takes the order through, the loop's step included."""
        loop = [S.BACKORDERED if self.waits else S.RESERVED] if self.reaches_loop else []
        return [
            S.NEW,
            *(s.to_status for s in self.before),
            *loop,
            *(s.to_status for s in self.after),
        ]


@dataclass(frozen=True)
class OrderPlan:
    customers: list[PlannedCustomer]
    orders: list[PlannedOrder]


# -- status paths ------------------------------------------------------------------------------
def _reserve_prefix(rng: random.Random, age_hours: float) -> list[OrderStatus]:
    if age_hours > 8 and rng.random() < 0.1:
        return [S.NEW, S.HELD, S.NEW, S.RESERVED]  # risk hold, released by a manager
    return [S.NEW, S.RESERVED]


def _shipped_path(rng: random.Random, age_hours: float, drop_ship: bool) -> list[OrderStatus]:
    prefix = _reserve_prefix(rng, age_hours)
    if drop_ship:
        return [*prefix, S.SHIPPED]  # the supplier ships: no wave, no pick, no pack
    return [*prefix, S.IN_WAVE, S.PICKED, S.PACKED, S.SHIPPED]


def status_path(
    target: OrderStatus, rng: random.Random, *, age_hours: float, drop_ship: bool = False
) -> list[OrderStatus]:
    """A legal sequence of statuses from NEW to ``target`` (both included) that the services
    can take: only the reservation loop makes an order RESERVED or BACKORDERED, and only from
    NEW, so a held order goes back to NEW before it is reserved."""
    if drop_ship and target in (S.IN_WAVE, S.PICKED, S.PACKED):
        raise ValueError("drop-ship orders never enter a wave")
    path: list[OrderStatus]
    if target is S.NEW:
        path = [S.NEW, S.HELD, S.NEW] if age_hours > 8 and rng.random() < 0.1 else [S.NEW]
    elif target is S.HELD:
        path = [S.NEW, S.HELD]
    elif target is S.BACKORDERED:
        path = [*_reserve_prefix(rng, age_hours)[:-1], S.BACKORDERED]
    elif target is S.RESERVED:
        path = _reserve_prefix(rng, age_hours)
    elif target in (S.IN_WAVE, S.PICKED, S.PACKED):
        path = [*_reserve_prefix(rng, age_hours), S.IN_WAVE, S.PICKED, S.PACKED]
        path = path[: path.index(target) + 1]
    elif target is S.SHIPPED:
        path = _shipped_path(rng, age_hours, drop_ship)
    elif target is S.DELIVERED:
        path = [*_shipped_path(rng, age_hours, drop_ship), S.DELIVERED]
        if rng.random() < 0.03:
            path += [S.AFTER_SALE, S.DELIVERED]  # an after-sale case, since closed
    elif target is S.AFTER_SALE:
        path = _shipped_path(rng, age_hours, drop_ship)
        if rng.random() < 0.7:
            path.append(S.DELIVERED)
        path.append(S.AFTER_SALE)
    elif target is S.CANCELLED:
        stops: list[list[OrderStatus]] = [[S.NEW], [S.NEW, S.HELD], _reserve_prefix(rng, age_hours)]
        weights = [45.0, 10.0, 20.0]
        if age_hours > 24:
            stops.append([S.NEW, S.BACKORDERED])
            weights.append(15.0)
        if not drop_ship:
            stops.append([*_reserve_prefix(rng, age_hours), S.IN_WAVE])
            weights.append(10.0)
        path = [*rng.choices(stops, weights)[0], S.CANCELLED]
    else:  # pragma: no cover - every status is handled above
        raise ValueError(target)
    for current, following in pairwise(path):
        check_transition(current, following)
    return path


def pick_status(rng: random.Random, age_hours: float, *, drop_ship: bool) -> OrderStatus:
    weights = next(w for limit, w in _STATUS_BY_AGE if age_hours < limit)
    status = rng.choices(list(weights), list(weights.values()))[0]
    if drop_ship and status in (S.IN_WAVE, S.PICKED, S.PACKED):
        return S.RESERVED  # waiting for the supplier to ship
    return status


# -- ids, people, places -----------------------------------------------------------------------
def _digits(rng: random.Random, n: int) -> str:
    return f"{rng.randrange(10**n):0{n}d}"


def external_id(channel: Channel, rng: random.Random, created_bj: datetime, manual_seq: int) -> str:
    """An order number in the platform's own style (``created_bj`` is Beijing time)."""
    if channel in (Channel.TAOBAO, Channel.TMALL):
        return rng.choice("1234") + _digits(rng, 18)
    if channel is Channel.JD:
        return rng.choice("23") + _digits(rng, 11)
    if channel is Channel.PDD:
        return f"{created_bj:%y%m%d}-{_digits(rng, 15)}"
    if channel is Channel.DOUYIN:
        return "69" + _digits(rng, 17)
    return f"SD{created_bj:%Y%m%d}{manual_seq:04d}"


def buyer_nick(channel: Channel, rng: random.Random, name: str) -> str:
    if channel in (Channel.TAOBAO, Channel.TMALL):
        if rng.random() < 0.4:
            return f"tb{_digits(rng, 10)}"
        return f"{people.latin_nick(rng)}{rng.randint(1, 9999)}"
    if channel is Channel.JD:
        return f"jd_{rng.getrandbits(48):012x}"
    if channel is Channel.PDD:
        return f"pdd{_digits(rng, 11)}"
    if channel is Channel.DOUYIN:
        return f"用户{_digits(rng, 10)}"
    return f"微信-{name}"


def street_address(rng: random.Random) -> str:
    """The part after the district: a street and number, then a home or office location."""
    street = people.street(rng)
    if rng.random() < 0.72:
        room = f"{rng.randint(1, 32)}{rng.randint(1, 4):02d}"
        building = f"{rng.randint(1, 30)}幢{rng.randint(1, 4)}单元"
        return f"{street}{rng.choice(_COMMUNITIES)}{building}{room}室"
    floor = rng.randint(2, 38)
    return f"{street}{rng.choice(_OFFICES)}{rng.choice('ABC')}座{floor}{rng.randint(1, 20):02d}室"


def _waybill(rng: random.Random, channel: Channel, drop_ship: bool) -> str:
    if channel is Channel.JD and not drop_ship:
        return f"京东快递 JDV{_digits(rng, 12)}"
    courier, prefix, digits = rng.choice(_COURIERS[:3] if drop_ship else _COURIERS)
    return f"{courier} {prefix}{_digits(rng, digits)}"


# -- timing ------------------------------------------------------------------------------------
_HOUR = 3600.0


def _order_times(rng: random.Random, now: datetime, count: int) -> list[datetime]:
    """``count`` order times over the last 30 days, chronological, all at least 10 min old."""
    today = now.astimezone(BEIJING).date()
    latest = now - timedelta(minutes=10)
    day_weights = []
    for back in range(DAYS):
        day = today - timedelta(days=back)
        day_weights.append((1.0 + 0.3 * (1 - back / DAYS)) * (1.15 if day.weekday() >= 5 else 1.0))
    day_cum = list(accumulate(day_weights))
    times = []
    for _ in range(count):
        for _attempt in range(50):
            back = rng.choices(range(DAYS), cum_weights=day_cum)[0]
            hour = rng.choices(range(24), cum_weights=_HOUR_CUM)[0]
            at = _beijing(today - timedelta(days=back), hour, rng.randrange(3600))
            if now - timedelta(days=DAYS) <= at <= latest:
                break
        else:
            at = latest - timedelta(seconds=rng.uniform(0, 3 * _HOUR))
        times.append(at)
    times.sort()
    return times


def _beijing(day: date, hour: int, second: int) -> datetime:
    local = datetime.combine(day, time(hour), tzinfo=BEIJING) + timedelta(seconds=second)
    return local.astimezone(UTC)


# -- the planner -------------------------------------------------------------------------------
class _Planner:
    def __init__(
        self,
        profile: DemoProfile,
        skus: Sequence[SkuDraft],
        rng: random.Random,
        now: datetime,
    ) -> None:
        self.profile = profile
        self.skus = skus
        self.rng = rng
        self.now = now
        self.customers: list[PlannedCustomer] = []
        self._by_channel: dict[Channel, list[int]] = {}
        self._nicks: set[tuple[Channel, str]] = set()
        self._external_ids: set[tuple[int, str]] = set()
        self._manual_seq: dict[date, int] = {}
        self._shop_cum = list(accumulate(s.share for s in profile.shops))
        # Zipf-like popularity over a shuffled catalog: a few bestsellers, a long tail.
        ranks = list(range(1, len(skus) + 1))
        rng.shuffle(ranks)
        self._pools: dict[bool, tuple[list[int], list[float]]] = {}
        for drop_ship in (False, True):
            members = [i for i, s in enumerate(skus) if s.drop_ship is drop_ship]
            cum = list(accumulate(1 / ranks[i] ** 0.9 for i in members))
            self._pools[drop_ship] = (members, cum)
        self._all_cum = list(accumulate(1 / r**0.9 for r in ranks))

    def plan(self, count: int) -> OrderPlan:
        orders = [self._order(at) for at in _order_times(self.rng, self.now, count)]
        return OrderPlan(customers=self.customers, orders=orders)

    # people ----------------------------------------------------------------------------------
    def _new_customer(self, channel: Channel) -> int:
        rng = self.rng
        name = people.person_name(rng)
        nick = buyer_nick(channel, rng, name)
        while (channel, nick) in self._nicks:
            nick = f"{nick}{rng.randint(0, 9)}"
        self._nicks.add((channel, nick))
        province, city, district = geo.pick_place(rng)
        self.customers.append(
            PlannedCustomer(
                channel=channel,
                nick=nick,
                name=name,
                phone=people.mobile_number(rng),
                province=province,
                city=city,
                district=district,
                address=street_address(rng),
            )
        )
        index = len(self.customers) - 1
        self._by_channel.setdefault(channel, []).append(index)
        return index

    def _buyer(self, channel: Channel) -> int:
        known = self._by_channel.get(channel)
        if known and self.rng.random() < 0.22:  # 回头客
            return self.rng.choice(known)
        return self._new_customer(channel)

    # lines and money -------------------------------------------------------------------------
    def _lines(self, channel: Channel) -> tuple[tuple[PlannedLine, ...], bool]:
        rng = self.rng
        first = rng.choices(range(len(self.skus)), cum_weights=self._all_cum)[0]
        drop_ship = self.skus[first].drop_ship
        members, cum = self._pools[drop_ship]
        wanted = min(rng.choices((1, 2, 3, 4), (60, 25, 10, 5))[0], len(members))
        chosen = [first]
        while len(chosen) < wanted:
            candidate = members[rng.choices(range(len(members)), cum_weights=cum)[0]]
            if candidate not in chosen:
                chosen.append(candidate)
        lines = []
        for index in chosen:
            price = self._channel_price(self.skus[index].price_fen, channel)
            quantity = rng.choices((1, 2, 3, 4, 5), (76, 17, 4, 2, 1))[0]
            lines.append(PlannedLine(index, quantity, price, self._discount(price * quantity)))
        return tuple(lines), drop_ship

    @staticmethod
    def _channel_price(list_fen: int, channel: Channel) -> int:
        # 拼多多 and 抖音 sell a little cheaper; prices keep the usual ".90" ending there.
        factor = {Channel.PDD: 0.88, Channel.DOUYIN: 0.95}.get(channel)
        if factor is None:
            return list_fen
        return max(100, round(list_fen * factor / 100) * 100 - 10)

    def _discount(self, amount_fen: int) -> int:
        rng = self.rng
        roll = rng.random()
        if roll < 0.15:  # 店铺优惠券
            coupon = rng.choice((300, 500, 1000, 2000))
            return coupon if coupon <= amount_fen // 2 else 0
        if roll < 0.25:  # 限时折扣, whole yuan
            return int(amount_fen * rng.uniform(0.05, 0.2)) // 100 * 100
        return 0

    def _shipping(self, channel: Channel, province: str, net_goods: int) -> int:
        rng = self.rng
        if province in geo.REMOTE_PROVINCES:
            return rng.choice((1000, 1500, 2000))  # 偏远地区不包邮
        if channel is not Channel.PDD and net_goods < 4900 and rng.random() < 0.5:
            return 600
        if rng.random() < 0.02:
            return 1200  # buyer paid for 顺丰
        return 0

    # one order -------------------------------------------------------------------------------
    def _order(self, created_at: datetime) -> PlannedOrder:
        rng, profile = self.rng, self.profile
        shop_index = rng.choices(range(len(profile.shops)), cum_weights=self._shop_cum)[0]
        channel = profile.shops[shop_index].channel
        customer_index = self._buyer(channel)
        buyer = self.customers[customer_index]
        receiver = (
            buyer.name,
            buyer.phone,
            buyer.province,
            buyer.city,
            buyer.district,
            buyer.address,
        )
        if rng.random() < 0.15:  # a gift or the office: somebody else, somewhere else
            receiver = (
                people.person_name(rng),
                people.mobile_number(rng),
                *geo.pick_place(rng),
                street_address(rng),
            )
        lines, drop_ship = self._lines(channel)
        drafts = [
            LineDraft(ln.sku_index, ln.quantity, ln.unit_price_fen, ln.discount_fen) for ln in lines
        ]
        net = sum(d.amount_fen for d in drafts)
        totals = compute_totals(drafts, self._shipping(channel, receiver[2], net))

        room = (self.now - created_at).total_seconds()
        # Most buyers pay within two minutes; some come back to pay later (待付款).
        pay_delay = rng.uniform(5, 120) if rng.random() < 0.8 else rng.uniform(120, 2400)
        paid_at = created_at + timedelta(seconds=min(pay_delay, room * 0.2))
        age_hours = (self.now - paid_at).total_seconds() / _HOUR
        status = pick_status(rng, age_hours, drop_ship=drop_ship)
        path = status_path(status, rng, age_hours=age_hours, drop_ship=drop_ship)

        created_bj = created_at.astimezone(BEIJING)
        seq = self._manual_seq[created_bj.date()] = self._manual_seq.get(created_bj.date(), 0) + 1
        ext = external_id(channel, rng, created_bj, seq)
        while (shop_index, ext) in self._external_ids:
            ext = external_id(channel, rng, created_bj, seq)
        self._external_ids.add((shop_index, ext))

        if channel is Channel.MANUAL:
            arrived = PlannedStep(S.NEW, Role.OPERATOR, "", "手工录入订单")
            arrived_at = paid_at
        else:  # the sync job picks paid orders up within a minute or two
            arrived = PlannedStep(S.NEW, None, SYNC_ACTOR, f"从{CHANNEL_LABELS[channel]}同步订单")
            arrived_at = paid_at + timedelta(
                seconds=min(rng.uniform(5, 90), (self.now - paid_at).total_seconds() * 0.1)
            )
        # The reservation loop's own step splits the path: what comes before it, what after.
        loop = next((i for i, s in enumerate(path) if s in (S.RESERVED, S.BACKORDERED)), None)
        ahead, behind = (path, []) if loop is None else (path[:loop], path[loop:])
        before = [self._describe(frm, to, channel, drop_ship) for frm, to in pairwise(ahead)]
        after = [self._describe(frm, to, channel, drop_ship) for frm, to in pairwise(behind)]
        remarks: tuple[PlannedRemark, ...] = ()
        if rng.random() < 0.07:
            at = paid_at + (self.now - paid_at) * rng.uniform(0.1, 0.9)
            remarks = (PlannedRemark(rng.choice(profile.staff_remarks), Role.SERVICE, at),)
        return PlannedOrder(
            shop_index=shop_index,
            external_id=ext,
            customer_index=customer_index,
            receiver_name=receiver[0],
            receiver_phone=receiver[1],
            province=receiver[2],
            city=receiver[3],
            district=receiver[4],
            address=receiver[5],
            lines=lines,
            totals=totals,
            status=status,
            created_at=created_at,
            paid_at=paid_at,
            arrived=arrived,
            arrived_at=arrived_at,
            before=tuple(before),
            waits=loop is not None and path[loop] is S.BACKORDERED,
            after=tuple(after),
            buyer_remark=rng.choice(profile.buyer_remarks) if rng.random() < 0.15 else "",
            seller_remark=rng.choice(SELLER_REMARKS) if rng.random() < 0.04 else "",
            drop_ship=drop_ship,
            created_by=rng.choice((Role.OPERATOR, Role.SERVICE))
            if channel is Channel.MANUAL
            else None,
            remarks=remarks,
        )

    def _describe(
        self, frm: OrderStatus, to: OrderStatus, channel: Channel, drop_ship: bool
    ) -> PlannedStep:
        """Who takes a step and why.  Only roles the services let take it: cancelling is for
        owners, managers and operators (a 客服 asks a manager), nothing else is checked by
        role."""
        rng = self.rng
        if to is S.CANCELLED:
            if frm in (S.NEW, S.HELD, S.BACKORDERED) and channel is not Channel.MANUAL:
                return PlannedStep(to, None, SYNC_ACTOR, f"买家在{CHANNEL_LABELS[channel]}取消订单")
            return PlannedStep(to, Role.MANAGER, "", "买家联系客服申请退款, 未发货拦截")
        if to is S.HELD:
            return PlannedStep(to, None, RISK_ACTOR, rng.choice(HOLD_REASONS))
        if frm is S.HELD:
            return PlannedStep(
                to, Role.MANAGER, "", rng.choice(("主管审核通过", "已与买家确认收货地址"))
            )
        if to is S.IN_WAVE:
            wave = f"W{self.now.astimezone(BEIJING):%Y%m%d}-{rng.randint(1, 8):02d}"
            return PlannedStep(to, Role.WAREHOUSE, "", f"加入波次 {wave}")
        if to is S.PICKED:
            return PlannedStep(to, Role.WAREHOUSE, "", "拣货完成")
        if to is S.PACKED:
            return PlannedStep(to, Role.WAREHOUSE, "", "打包复核完成")
        if to is S.SHIPPED:
            waybill = _waybill(rng, channel, drop_ship)
            if drop_ship:
                return PlannedStep(to, Role.SUPPLIER, "", f"供应商代发, {waybill}")
            return PlannedStep(to, Role.WAREHOUSE, "", f"已揽收, {waybill}")
        if to is S.DELIVERED:
            if frm is S.AFTER_SALE:
                return PlannedStep(to, Role.SERVICE, "", "售后处理完成")
            reason = rng.choice(("快递已签收", "买家确认收货", "已签收, 驿站代收"))
            return PlannedStep(to, None, TRACKING_ACTOR, reason)
        if to is S.AFTER_SALE:
            return PlannedStep(to, Role.SERVICE, "", rng.choice(self.profile.after_sale_reasons))
        raise ValueError(f"{frm} -> {to} is the reservation loop's step, not a planned one")


def plan_orders(
    profile: DemoProfile,
    skus: Sequence[SkuDraft],
    count: int,
    *,
    rng: random.Random,
    now: datetime,
) -> OrderPlan:
    """``count`` orders for ``profile`` over the 30 days before ``now`` (timezone-aware)."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return _Planner(profile, skus, rng, now).plan(count)


@dataclass(frozen=True)
class OrganizationPlan:
    skus: list[SkuDraft]
    orders: OrderPlan


def plan_organization(
    profile: DemoProfile, order_count: int, *, seed: int, now: datetime
) -> OrganizationPlan:
    """The catalog and orders of one demo seller: the same for the same seed and ``now``,
    whatever else was loaded before (each seller has its own random stream)."""
    rng = random.Random(f"orderflow-demo:{seed}:{profile.slug}")
    skus = build_skus(profile.products, profile.barcode_prefix)
    return OrganizationPlan(skus, plan_orders(profile, skus, order_count, rng=rng, now=now))
