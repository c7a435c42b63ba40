"""Manual order numbers (手工单号) come from a per-seller database counter: M20261201-000123.

They used to be the time to the second plus four random digits, and 1-4 of 1,200 concurrent
manual orders failed on a collision in every run.
"""

from __future__ import annotations

import asyncio
import re
from collections import defaultdict
from datetime import UTC, datetime

from db.engine import Database
from db.uow import UnitOfWork
from domain.accounts.model import Role
from domain.orders import service as orders
from domain.orders.model import LineDraft, ManualOrderDraft, Receiver, seller_day
from tests.support.factories import Seller, make_org

NUMBER = re.compile(r"M(\d{8})-(\d{6})")


async def test_1200_concurrent_manual_orders_get_distinct_numbers(db: Database) -> None:
    """Through the service createOrder calls (the API's own concurrency is
    test_unique_races's, and 1,200 requests cost far more in GraphQL than in the counter), 32
    at a time."""
    seller = await make_org(db)
    gate = asyncio.Semaphore(32)

    async def one(n: int) -> str:
        async with gate:
            order = await orders.place_manual_order(
                db, seller.actor(Role.OPERATOR), draft(seller, receiver=f"买家{n}")
            )
        return order.external_id

    numbers = await asyncio.gather(*(one(n) for n in range(1200)))
    assert len(set(numbers)) == 1200
    # Every number is the counter's, and per day they run 1, 2, 3, ... without a gap (nothing
    # was rolled back).  Two days only if the run crossed midnight in China.
    per_day: dict[str, list[int]] = defaultdict(list)
    for number in numbers:
        found = NUMBER.fullmatch(number)
        assert found, number
        per_day[found.group(1)].append(int(found.group(2)))
    assert len(per_day) <= 2
    for counted in per_day.values():
        assert sorted(counted) == list(range(1, len(counted) + 1))


def draft(
    seller: Seller, external_id: str | None = None, receiver: str = "王五"
) -> ManualOrderDraft:
    sku = seller.skus[0]
    assert sku.id is not None
    return ManualOrderDraft(
        receiver=Receiver(receiver, "13700137000", "浙江省", "杭州市", "西湖区", "文一路 1 号"),
        lines=(LineDraft(sku_id=sku.id, quantity=1, unit_price_fen=500),),
        external_id=external_id,
    )


async def create(db: Database, seller: Seller, external_id: str | None = None) -> str:
    async with UnitOfWork(db, seller.org_id) as uow:
        order = await orders.create_manual_order(uow, seller.actor(), draft(seller, external_id))
        await uow.commit()
    return order.external_id


async def test_numbers_count_per_seller_and_skip_one_typed_by_hand(db: Database) -> None:
    first, second = await make_org(db), await make_org(db)
    day = f"{seller_day(datetime.now(UTC)):%Y%m%d}"
    assert await create(db, first) == f"M{day}-000001"
    # Somebody enters the next number by hand as their own order number: generation skips it.
    assert await create(db, first, f"M{day}-000002") == f"M{day}-000002"
    assert await create(db, first) == f"M{day}-000003"
    assert await create(db, second) == f"M{day}-000001"


async def test_a_rolled_back_order_gives_its_number_back(db: Database) -> None:
    seller = await make_org(db)
    day = f"{seller_day(datetime.now(UTC)):%Y%m%d}"
    async with UnitOfWork(db, seller.org_id) as uow:
        order = await orders.create_manual_order(uow, seller.actor(), draft(seller))
        assert order.external_id == f"M{day}-000001"
        # no commit: the order and the counter's step roll back together
    assert await create(db, seller) == f"M{day}-000001"
