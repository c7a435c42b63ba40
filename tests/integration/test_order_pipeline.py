"""An order's trip through the pipeline as the API and the worker drive it.

Created (GraphQL), reserved (the job routed from order.created), cancelled (GraphQL), and its
stock back on the shelf.
"""

from __future__ import annotations

from api.ids import parse_global_id
from db.engine import Database
from tests.integration.test_api_orders import CREATE, order_input
from tests.support.api import GraphQLClient
from tests.support.factories import make_org
from tests.support.inventory import make_layout, order_status, receive, sku_totals
from workers.jobs import inventory as jobs

CANCEL = """mutation($input: CancelOrderInput!) { cancelOrder(input: $input) {
  order { status lines { reservations { status quantity bin { code } } } } errors { code } } }"""
LINES = """query($id: ID!) { order(id: $id) { status
  lines { quantity reservations { status quantity warehouse { code } bin { code } } } } }"""


async def test_create_reserve_cancel_releases_stock(client: GraphQLClient, db: Database) -> None:
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

    # What the relay hands the job for the order.created event.
    result = await jobs.reserve_created_order_job(
        {"db": db}, {"org_id": seller.org_id, "aggregate_id": order_id, "topic": "order.created"}
    )
    assert result["status"] == "RESERVED"
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
