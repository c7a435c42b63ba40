"""The reservation queue and notifications as a frontend sees them."""

from __future__ import annotations

from sqlalchemy import text

from db.engine import Database
from db.settings import Settings
from domain.accounts.model import Role
from tests.integration.test_api_orders import CREATE, order_input
from tests.support.api import GraphQLClient
from tests.support.factories import make_org
from tests.support.inventory import make_layout, make_order_with, receive
from tests.support.sql import org_connection
from workers.enqueue import JobQueue
from workers.jobs import inventory as jobs

QUEUE = """{ reservationQueue { pending oldestWaitingSince overdue }
  stockLevels(first: 1) { pendingReservations } }"""
NOTIFICATIONS = """query($unread: Boolean!) { notifications(unreadOnly: $unread) {
  totalCount nodes { id kind severity message payload readAt } } }"""
MARK = """mutation($input: MarkNotificationsReadInput!) { markNotificationsRead(input: $input) {
  updated errors { code field } } }"""


async def test_create_order_can_reserve_before_answering(
    client: GraphQLClient, db: Database
) -> None:
    seller = await make_org(db)
    layout = await make_layout(db, seller)
    token = client.token_for(seller)
    sku = seller.skus[0].id or 0

    waiting = await client.data(
        CREATE, {"input": order_input(seller, reserveNow=True)}, token=token
    )
    assert waiting["createOrder"]["order"]["status"] == "BACKORDERED"

    await receive(db, seller, layout, sku, 5, bin_id=layout.bin_id())
    # The earlier order waits for this SKU and was paid first: it is served first, by the loop.
    blocked = await client.data(
        CREATE, {"input": order_input(seller, reserveNow=True)}, token=token
    )
    assert blocked["createOrder"]["order"]["status"] == "BACKORDERED"

    later = await client.data(CREATE, {"input": order_input(seller)}, token=token)
    assert later["createOrder"]["order"]["status"] == "NEW"  # left to the loop


async def test_pending_reservations_and_an_overdue_alert(
    client: GraphQLClient, db: Database, settings: Settings
) -> None:
    seller = await make_org(db)
    token = client.token_for(seller)
    order = await make_order_with(db, seller, [(seller.skus[0].id or 0, 1)])
    shown = await client.data(QUEUE, token=token)
    assert shown["reservationQueue"]["pending"] == 1
    assert shown["reservationQueue"]["overdue"] is False
    assert shown["stockLevels"]["pendingReservations"] == 1

    async with org_connection(db, seller.org_id, commit=True) as conn:
        await conn.execute(
            text("UPDATE orders SET created_at = now() - interval '1 hour' WHERE id = :id"),
            {"id": order.id},
        )
    assert (await client.data(QUEUE, token=token))["reservationQueue"]["overdue"] is True
    assert settings.redis_url
    queue = await JobQueue.connect(settings.redis_url, settings)
    try:
        await jobs.reservation_sweep({"db": db, "settings": settings, "queue": queue})
    finally:
        await queue.close()

    unread = await client.data(NOTIFICATIONS, {"unread": True}, token=token)
    nodes = unread["notifications"]["nodes"]
    assert unread["notifications"]["totalCount"] == 1
    assert nodes[0]["kind"] == "reservation.overdue" and nodes[0]["severity"] == "CRITICAL"
    assert nodes[0]["payload"]["pending"] == 1

    supplier = client.token_for(seller, Role.SUPPLIER)
    denied = await client.gql(NOTIFICATIONS, {"unread": True}, token=supplier)
    assert denied["errors"][0]["extensions"]["code"] == "FORBIDDEN"

    marked = await client.data(MARK, {"input": {"ids": [nodes[0]["id"]]}}, token=token)
    assert marked["markNotificationsRead"] == {"updated": 1, "errors": []}
    assert (await client.data(NOTIFICATIONS, {"unread": True}, token=token))["notifications"][
        "totalCount"
    ] == 0
    node = await client.data(
        "query($id: ID!) { node(id: $id) { ... on Notification { readAt } } }",
        {"id": nodes[0]["id"]},
        token=token,
    )
    assert node["node"]["readAt"] is not None
    bad = await client.data(MARK, {"input": {"ids": []}}, token=token)
    assert bad["markNotificationsRead"]["errors"] == [{"code": "INVALID_INPUT", "field": "ids"}]
