"""Every mutation that locks rows meets a row another transaction holds: it retries a bounded
number of times, then answers CONCURRENT_UPDATE in its payload, having written nothing; once
the row is free, the same call succeeds.

The API runs with a 50 ms lock timeout (a server's is 2 s; 500 ms where the test lets go of the
row between attempts), and the row is held from another connection (``SELECT ... FOR UPDATE``
as the organisation) for as long as the test needs.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
import pytest_asyncio

from api.errors import BUSY_MESSAGE
from api.ids import to_global_id
from db.engine import Database
from db.settings import Settings
from db.uow import UnitOfWork
from domain.accounts.model import Role
from domain.inventory import reservation, stock_moves
from tests.support.api import GraphQLClient, graphql_client
from tests.support.factories import Seller, make_org
from tests.support.inventory import Layout, make_layout, make_order_with, receive, sku_totals
from tests.support.locks import Waiter, hold_rows, until, waiters_of
from tests.support.sql import tenant_rows

BUSY = [{"field": None, "message": BUSY_MESSAGE, "code": "CONCURRENT_UPDATE"}]
ERRORS = "errors { field message code }"
STOCK_PAYLOAD = f"stockLevels {{ onHand reserved safety bin {{ code }} }} {ERRORS}"

LOCK_STOCK_ROW = (
    "SELECT id FROM stock WHERE org_id = :org AND sku_id = :sku AND bin_id = :bin FOR UPDATE"
)
LOCK_ORDER_ROW = "SELECT id FROM orders WHERE org_id = :org AND id = :id FOR UPDATE"
LOCK_USER_ROW = "SELECT id FROM users WHERE org_id = :org AND id = :id FOR UPDATE"


@pytest_asyncio.fixture(scope="module")
async def impatient(settings: Settings) -> AsyncIterator[GraphQLClient]:
    """The API with a lock timeout short enough to exhaust every retry quickly."""
    async with graphql_client(settings.model_copy(update={"lock_timeout_ms": 50})) as client:
        yield client


@pytest_asyncio.fixture(scope="module")
async def patient(settings: Settings) -> AsyncIterator[GraphQLClient]:
    """The API with a lock timeout long enough for a test to let go of a row between two
    attempts of one mutation."""
    async with graphql_client(settings.model_copy(update={"lock_timeout_ms": 500})) as client:
        yield client


@dataclass
class Shelf:
    seller: Seller
    layout: Layout
    sku: int

    def gid(self, type_name: str, pk: int | None) -> str:
        assert pk is not None
        return to_global_id(type_name, pk)

    @property
    def sku_gid(self) -> str:
        return self.gid("Sku", self.sku)

    def bin_gid(self, index: int) -> str:
        return self.gid("Bin", self.layout.bin_id(0, index))


async def make_shelf(db: Database, on_hand: int = 5) -> Shelf:
    seller = await make_org(db)
    layout = await make_layout(db, seller)
    sku = seller.skus[0].id
    assert sku is not None
    await receive(db, seller, layout, sku, on_hand, bin_id=layout.bin_id(0, 0))
    return Shelf(seller, layout, sku)


async def reserved_order(db: Database, shelf: Shelf, quantity: int = 2) -> int:
    order = await make_order_with(db, shelf.seller, [(shelf.sku, quantity)])
    assert order.id is not None
    result = await reservation.reserve_order(db, shelf.seller.actor(), order.id)
    assert result.status.value == "RESERVED"
    return order.id


async def call(client: GraphQLClient, shelf: Shelf, mutation: str, variables: Any) -> Any:
    data = await client.data(mutation, variables, token=client.token_for(shelf.seller, Role.OWNER))
    (payload,) = data.values()
    return payload


# -- stock changes: receive, count, transfer, safety stock ------------------------------------
STOCK_MUTATIONS = {
    "receiveStock": (
        f"""mutation($input: ReceiveStockInput!) {{ receiveStock(input: $input) {{
            {STOCK_PAYLOAD} }} }}""",
        lambda s: {
            "warehouseId": s.gid("Warehouse", s.layout.warehouses[0].id),
            "items": [{"skuId": s.sku_gid, "binId": s.bin_gid(0), "quantity": 3}],
        },
        (8, 0, 0),
    ),
    "adjustStock": (
        f"""mutation($input: AdjustStockInput!) {{ adjustStock(input: $input) {{
            {STOCK_PAYLOAD} }} }}""",
        lambda s: {
            "items": [{"skuId": s.sku_gid, "binId": s.bin_gid(0), "delta": -1}],
            "reason": "盘点",
        },
        (4, 0, 0),
    ),
    "transferStock": (
        f"""mutation($input: TransferStockInput!) {{ transferStock(input: $input) {{
            {STOCK_PAYLOAD} }} }}""",
        lambda s: {
            "items": [
                {
                    "skuId": s.sku_gid,
                    "fromBinId": s.bin_gid(0),
                    "toBinId": s.bin_gid(1),
                    "quantity": 2,
                }
            ]
        },
        (3, 0, 0),
    ),
    "setSafetyStock": (
        f"""mutation($input: SetSafetyStockInput!) {{ setSafetyStock(input: $input) {{
            {STOCK_PAYLOAD} }} }}""",
        lambda s: {"items": [{"skuId": s.sku_gid, "binId": s.bin_gid(0), "quantity": 1}]},
        (5, 0, 1),
    ),
}


@pytest.mark.parametrize("name", sorted(STOCK_MUTATIONS))
async def test_stock_changes_on_a_held_row_answer_concurrent_update_then_succeed(
    name: str, impatient: GraphQLClient, db: Database, admin_db: Database
) -> None:
    mutation, variables, (on_hand, reserved, safety) = STOCK_MUTATIONS[name]
    shelf = await make_shelf(db)
    before = await tenant_rows(admin_db, shelf.seller.org_id)
    held = {"org": shelf.seller.org_id, "sku": shelf.sku, "bin": shelf.layout.bin_id(0, 0)}

    async with hold_rows(db, shelf.seller.org_id, LOCK_STOCK_ROW, held):
        refused = await call(impatient, shelf, mutation, {"input": variables(shelf)})
    assert refused == {"stockLevels": [], "errors": BUSY}
    assert await tenant_rows(admin_db, shelf.seller.org_id) == before

    done = await call(impatient, shelf, mutation, {"input": variables(shelf)})
    assert done["errors"] == []
    row = next(level for level in done["stockLevels"] if level["bin"]["code"] == "A-01-1-1")
    assert (row["onHand"], row["reserved"], row["safety"]) == (on_hand, reserved, safety)


# -- orders: cancel, remark; returns ------------------------------------------------------------
CANCEL = f"""mutation($input: CancelOrderInput!) {{ cancelOrder(input: $input) {{
  order {{ status }} {ERRORS} }} }}"""
REMARK = f"""mutation($input: AddOrderRemarkInput!) {{ addOrderRemark(input: $input) {{
  remark {{ text }} {ERRORS} }} }}"""
RESTOCK = f"""mutation($input: RestockReturnInput!) {{ restockReturn(input: $input) {{
  {STOCK_PAYLOAD} }} }}"""


@pytest.mark.parametrize("held_row", ["order", "stock"])
async def test_cancel_order_on_a_held_row_answers_concurrent_update_then_cancels(
    held_row: str, impatient: GraphQLClient, db: Database, admin_db: Database
) -> None:
    """The order row (what a reservation batch holds) or the stock row its release needs."""
    shelf = await make_shelf(db)
    order_id = await reserved_order(db, shelf)
    org = shelf.seller.org_id
    before = await tenant_rows(admin_db, org)
    variables = {"input": {"id": shelf.gid("Order", order_id), "reason": "买家不要了"}}
    lock, params = (
        (LOCK_ORDER_ROW, {"org": org, "id": order_id})
        if held_row == "order"
        else (LOCK_STOCK_ROW, {"org": org, "sku": shelf.sku, "bin": shelf.layout.bin_id(0, 0)})
    )

    async with hold_rows(db, org, lock, params):
        refused = await call(impatient, shelf, CANCEL, variables)
    assert refused == {"order": None, "errors": BUSY}
    assert await tenant_rows(admin_db, org) == before

    done = await call(impatient, shelf, CANCEL, variables)
    assert done == {"order": {"status": "CANCELLED"}, "errors": []}
    assert (await sku_totals(db, org, shelf.sku)).reserved == 0


async def test_a_remark_on_a_held_order_answers_concurrent_update_then_is_added(
    impatient: GraphQLClient, db: Database, admin_db: Database
) -> None:
    shelf = await make_shelf(db)
    order_id = await reserved_order(db, shelf)
    org = shelf.seller.org_id
    before = await tenant_rows(admin_db, org)
    variables = {"input": {"id": shelf.gid("Order", order_id), "text": "已电话联系"}}

    async with hold_rows(db, org, LOCK_ORDER_ROW, {"org": org, "id": order_id}):
        refused = await call(impatient, shelf, REMARK, variables)
    assert refused == {"remark": None, "errors": BUSY}
    assert await tenant_rows(admin_db, org) == before

    done = await call(impatient, shelf, REMARK, variables)
    assert done == {"remark": {"text": "已电话联系"}, "errors": []}


async def test_a_return_to_a_held_order_answers_concurrent_update_then_is_restocked(
    impatient: GraphQLClient, db: Database, admin_db: Database
) -> None:
    shelf = await make_shelf(db)
    order_id = await reserved_order(db, shelf, quantity=3)
    org = shelf.seller.org_id
    async with UnitOfWork(db, org) as uow:  # shipment (发货出库)
        await stock_moves.commit_order(uow, shelf.seller.actor(), order_id)
        lines = await uow.orders.lines_for([order_id])
        await uow.commit()
    before = await tenant_rows(admin_db, org)
    variables = {
        "input": {
            "orderId": shelf.gid("Order", order_id),
            "orderLineId": shelf.gid("OrderLine", lines[order_id][0].id),
            "binId": shelf.bin_gid(2),
            "quantity": 2,
        }
    }

    async with hold_rows(db, org, LOCK_ORDER_ROW, {"org": org, "id": order_id}):
        refused = await call(impatient, shelf, RESTOCK, variables)
    assert refused == {"stockLevels": [], "errors": BUSY}
    assert await tenant_rows(admin_db, org) == before

    done = await call(impatient, shelf, RESTOCK, variables)
    assert done["errors"] == []
    assert [(s["bin"]["code"], s["onHand"]) for s in done["stockLevels"]] == [("A-01-1-3", 2)]


# -- accounts: the same property, from the same place -------------------------------------------
DEACTIVATE = f"""mutation($input: DeactivateUserInput!) {{ deactivateUser(input: $input) {{
  user {{ username isActive }} {ERRORS} }} }}"""


async def test_deactivating_a_held_user_answers_concurrent_update_then_deactivates(
    impatient: GraphQLClient, db: Database, admin_db: Database
) -> None:
    shelf = await make_shelf(db)
    org = shelf.seller.org_id
    target = shelf.seller.users[Role.OPERATOR].id
    before = await tenant_rows(admin_db, org)
    variables = {"input": {"id": shelf.gid("User", target)}}

    async with hold_rows(db, org, LOCK_USER_ROW, {"org": org, "id": target}):
        refused = await call(impatient, shelf, DEACTIVATE, variables)
    assert refused == {"user": None, "errors": BUSY}
    assert await tenant_rows(admin_db, org) == before

    done = await call(impatient, shelf, DEACTIVATE, variables)
    assert done == {"user": {"username": "operator", "isActive": False}, "errors": []}


# -- a lock that goes away while the mutation retries -------------------------------------------
async def test_cancel_order_succeeds_when_the_lock_goes_between_attempts(
    patient: GraphQLClient, db: Database, admin_db: Database
) -> None:
    """The first attempt times out on the held order; a later one, in a fresh transaction,
    finds the row free and cancels: no error reaches the caller."""
    shelf = await make_shelf(db)
    order_id = await reserved_order(db, shelf)
    org = shelf.seller.org_id
    variables = {"input": {"id": shelf.gid("Order", order_id), "reason": "缺货取消"}}

    async with hold_rows(db, org, LOCK_ORDER_ROW, {"org": org, "id": order_id}) as held:
        cancelling = asyncio.create_task(call(patient, shelf, CANCEL, variables))
        first: set[Waiter] = set()

        async def first_attempt_waits() -> bool:
            first.update(await waiters_of(admin_db, held.pid))
            return bool(first) or cancelling.done()

        async def a_later_attempt_waits() -> bool:
            return bool(await waiters_of(admin_db, held.pid) - first) or cancelling.done()

        await until(first_attempt_waits, "the first attempt to wait for the order row")
        await until(a_later_attempt_waits, "a second attempt in a new transaction")
        assert not cancelling.done()
    done = await asyncio.wait_for(cancelling, 30)
    assert done == {"order": {"status": "CANCELLED"}, "errors": []}
    assert (await sku_totals(db, org, shelf.sku)).reserved == 0
