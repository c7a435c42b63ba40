"""Row-level security: a query that forgets its organisation filter sees nothing foreign."""

from __future__ import annotations

from sqlalchemy import select

from db.engine import Database
from db.tables import Order, Shop
from db.uow import UnitOfWork
from tests.support.factories import make_order, make_org


async def test_unfiltered_query_sees_only_own_organisation(db: Database) -> None:
    seller_a = await make_org(db)
    seller_b = await make_org(db)
    await make_order(db, seller_a)
    await make_order(db, seller_b)

    async with UnitOfWork(db, seller_a.org_id) as uow:
        # Deliberately no org_id filter: RLS must still hide seller B.
        orders = (await uow.session.scalars(select(Order))).all()
        shops = (await uow.session.scalars(select(Shop))).all()
    assert {o.org_id for o in orders} == {seller_a.org_id}
    assert {s.org_id for s in shops} == {seller_a.org_id}


async def test_cannot_write_into_another_organisation(db: Database) -> None:
    seller_a = await make_org(db)
    seller_b = await make_org(db)
    async with UnitOfWork(db, seller_a.org_id) as uow:
        uow.session.add(Shop(org_id=seller_b.org_id, channel="JD", name="intruder"))
        try:
            await uow.flush()
        except Exception as exc:  # RLS WITH CHECK violation
            assert "row-level security" in str(exc)
        else:
            raise AssertionError("insert into a foreign organisation was accepted")
