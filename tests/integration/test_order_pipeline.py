"""An order's trip through the pipeline as the API and the worker drive it.

Created (GraphQL), reserved (the seller's reservation loop, woken by order.created), cancelled
(GraphQL), and its stock back on the shelf.
"""

from __future__ import annotations

from api.ids import parse_global_id, to_global_id
from db.engine import Database
from db.settings import Settings
from db.uow import UnitOfWork
from domain.accounts.model import Role
from domain.inventory import stock_moves
from tests.integration.test_api_orders import CREATE, order_input
from tests.support.api import GraphQLClient
from tests.support.factories import make_org
from tests.support.inventory import (
    make_layout,
    make_order_with,
    order_status,
    receive,
    sku_totals,
)
from workers.jobs import inventory as jobs

CANCEL = """mutation($input: CancelOrderInput!) { cancelOrder(input: $input) {
  order { status lines { reservations { status quantity bin { code } } } } errors { code } } }"""
LINES = """query($id: ID!) { order(id: $id) { status
  lines { quantity reservations { status quantity warehouse { code } bin { code } } } } }"""


async def test_create_reserve_cancel_releases_stock(
    client: GraphQLClient, db: Database, settings: Settings
) -> None:
    seller = await make_org(db)
    layout = await make_layout(db, seller)
    sku = seller.skus[0]
    assert sku.id is not None
    first_bin = layout.bins[layout.warehouses[0].id or 0][0]
    await receive(db, seller, layout, sku.id, 10, bin_id=first_bin.id or 0)
    token = client.token_for(seller)

    created = await client.data(CREATE, {"input": order_input(seller)}, token=token)
    gid = created["createOrder"]["order"]["id"]
    _, order_id = parse_global_id(gid)

    # order.created wakes the seller's reservation loop, which reserves the new order.
    result = await jobs.reservation_loop(
        {"db": db, "settings": settings}, {"org_id": seller.org_id}
    )
    assert (result["orders"], result["reserved"]) == (1, 1)
    assert (await sku_totals(db, seller.org_id, sku.id)).reserved == 2
    shown = await client.data(LINES, {"id": gid}, token=token)
    assert shown["order"]["status"] == "RESERVED"
    assert shown["order"]["lines"][0]["reservations"] == [
        {
            "status": "ACTIVE",
            "quantity": 2,
            "warehouse": {"code": "WH1"},
            "bin": {"code": "A-01-1-1"},
        }
    ]

    cancelled = await client.data(
        CANCEL, {"input": {"id": gid, "reason": "买家不要了"}}, token=token
    )
    assert cancelled["cancelOrder"]["errors"] == []
    assert cancelled["cancelOrder"]["order"]["lines"][0]["reservations"][0]["status"] == "RELEASED"
    assert await order_status(db, seller.org_id, order_id) == "CANCELLED"
    assert (await sku_totals(db, seller.org_id, sku.id)).reserved == 0


RESTOCK = """mutation($input: RestockReturnInput!) { restockReturn(input: $input) {
  stockLevels { onHand reserved bin { code } } errors { code field } } }"""


async def test_shipped_units_come_back_on_return(
    client: GraphQLClient, db: Database, settings: Settings
) -> None:
    seller = await make_org(db)
    layout = await make_layout(db, seller)
    sku = seller.skus[0]
    assert sku.id is not None
    bins = layout.bins[layout.warehouses[0].id or 0]
    await receive(db, seller, layout, sku.id, 10, bin_id=bins[0].id or 0)
    order = await make_order_with(db, seller, [(sku.id, 3)])
    assert order.id is not None
    await jobs.reservation_loop({"db": db, "settings": settings}, {"org_id": seller.org_id})
    async with UnitOfWork(db, seller.org_id) as uow:  # shipment (发货出库), until fulfilment has it
        await stock_moves.commit_order(uow, seller.actor(), order.id)
        lines = await uow.orders.lines_for([order.id])
        await uow.commit()
    line_id = lines[order.id][0].id or 0
    token = client.token_for(seller, Role.WAREHOUSE)
    base = {
        "orderId": to_global_id("Order", order.id),
        "orderLineId": to_global_id("OrderLine", line_id),
        "binId": to_global_id("Bin", bins[2].id or 0),
    }

    too_many = await client.data(RESTOCK, {"input": {**base, "quantity": 4}}, token=token)
    assert too_many["restockReturn"]["errors"] == [{"code": "INVALID_INPUT", "field": "quantity"}]
    zero = await client.data(RESTOCK, {"input": {**base, "quantity": 0}}, token=token)
    assert zero["restockReturn"]["errors"][0]["code"] == "NEGATIVE_QUANTITY"
    service_token = client.token_for(seller, Role.SERVICE)
    denied = await client.data(RESTOCK, {"input": {**base, "quantity": 1}}, token=service_token)
    assert denied["restockReturn"]["errors"][0]["code"] == "FORBIDDEN"
    assert (await sku_totals(db, seller.org_id, sku.id)).on_hand == 7

    back = await client.data(
        RESTOCK, {"input": {**base, "quantity": 2, "reason": "七天无理由"}}, token=token
    )
    assert back["restockReturn"]["errors"] == []
    assert back["restockReturn"]["stockLevels"] == [
        {"onHand": 2, "reserved": 0, "bin": {"code": bins[2].code}}
    ]
    totals = await sku_totals(db, seller.org_id, sku.id)
    assert (totals.on_hand, totals.ledger_on_hand) == (9, 9)
