"""The order board through GraphQL: listing, filters, paging, manual orders, remarks."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from api.ids import to_global_id
from db.engine import Database
from db.tables import AuditEntry, Order, OutboxEvent
from db.uow import UnitOfWork
from domain.accounts.model import Role
from tests.support.api import GraphQLClient
from tests.support.factories import Seller, make_order, make_org

ORDERS = """
query($filter: OrderFilterInput, $first: Int, $after: String, $sort: OrderSort) {
  orders(filter: $filter, first: $first, after: $after, sort: $sort) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage endCursor }
    edges { cursor node { id externalId status total { fen } receiver { name maskedPhone }
      shop { name channel } buyer { nick } lines { quantity unitPrice { fen } sku { code } } } }
  }
}
"""

CREATE = """
mutation($input: CreateOrderInput!) {
  createOrder(input: $input) {
    order { id externalId status total { amount fen currency } goods { fen }
      lines { quantity sku { code } } }
    errors { field message code }
  }
}
"""


def order_input(seller: Seller, **overrides: Any) -> dict[str, Any]:
    sku = seller.skus[0]
    assert sku.id is not None
    value: dict[str, Any] = {
        "receiver": {
            "name": "李四",
            "phone": "13912345678",
            "province": "广东省",
            "city": "深圳市",
            "district": "南山区",
            "address": "科技园 1 号",
        },
        "lines": [{"skuId": to_global_id("Sku", sku.id), "quantity": 2, "unitPriceFen": 1990}],
        "shippingFen": 800,
        "buyerNick": "wx_li4",
    }
    value.update(overrides)
    return value


async def count_rows(db: Database, seller: Seller, model: Any) -> int:
    async with UnitOfWork(db, seller.org_id) as uow:
        return int(await uow.session.scalar(select(func.count()).select_from(model)) or 0)


async def test_list_filter_and_page(client: GraphQLClient, db: Database, seller: Seller) -> None:
    for i in range(5):
        await make_order(db, seller, receiver_name=f"王{i}", phone=f"1380000{i:04d}")
    await make_order(db, seller, status="HELD", shop=seller.shops["JD"], phone="13700009999")
    token = client.token_for(seller)

    data = await client.data(ORDERS, {"first": 4}, token=token)
    page = data["orders"]
    assert page["totalCount"] == 6
    assert len(page["edges"]) == 4 and page["pageInfo"]["hasNextPage"]
    rest = await client.data(
        ORDERS, {"first": 4, "after": page["pageInfo"]["endCursor"]}, token=token
    )
    assert len(rest["orders"]["edges"]) == 2
    assert not rest["orders"]["pageInfo"]["hasNextPage"]
    assert rest["orders"]["pageInfo"]["hasPreviousPage"]
    ids = {e["node"]["id"] for e in page["edges"]} | {
        e["node"]["id"] for e in rest["orders"]["edges"]
    }
    assert len(ids) == 6

    held = await client.data(ORDERS, {"filter": {"statuses": ["HELD"]}}, token=token)
    assert held["orders"]["totalCount"] == 1
    jd = await client.data(ORDERS, {"filter": {"channels": ["JD"]}}, token=token)
    assert jd["orders"]["edges"][0]["node"]["shop"]["channel"] == "JD"
    tail = await client.data(ORDERS, {"filter": {"search": "9999"}}, token=token)
    assert tail["orders"]["totalCount"] == 1
    name = await client.data(ORDERS, {"filter": {"search": "王3"}}, token=token)
    assert name["orders"]["totalCount"] == 1
    future = await client.data(
        ORDERS, {"filter": {"createdFrom": "2099-01-01T00:00:00Z"}}, token=token
    )
    assert future["orders"]["totalCount"] == 0
    by_total = await client.data(ORDERS, {"sort": "TOTAL_ASC"}, token=token)
    totals = [int(e["node"]["total"]["fen"]) for e in by_total["orders"]["edges"]]
    assert totals == sorted(totals)


async def test_page_size_limit(client: GraphQLClient, seller: Seller) -> None:
    body = await client.gql(ORDERS, {"first": 1000}, token=client.token_for(seller))
    assert body["errors"][0]["extensions"]["code"] == "PAGE_SIZE_EXCEEDED"


async def test_other_organisation_invisible(client: GraphQLClient, db: Database) -> None:
    mine, theirs = await make_org(db), await make_org(db)
    await make_order(db, mine)
    foreign = await make_order(db, theirs)
    token = client.token_for(mine)
    data = await client.data(ORDERS, {}, token=token)
    assert data["orders"]["totalCount"] == 1
    assert foreign.id is not None
    body = await client.gql(
        "query($id: ID!) { node(id: $id) { id } }",
        {"id": to_global_id("Order", foreign.id)},
        token=token,
    )
    assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"


async def test_create_manual_order(client: GraphQLClient, db: Database, seller: Seller) -> None:
    data = await client.data(
        CREATE, {"input": order_input(seller)}, token=client.token_for(seller, Role.OPERATOR)
    )
    payload = data["createOrder"]
    assert payload["errors"] == []
    order = payload["order"]
    assert order["status"] == "NEW"
    assert order["goods"] == {"fen": "3980"}
    assert order["total"] == {"amount": "47.80", "fen": "4780", "currency": "CNY"}
    assert order["externalId"].startswith("M")
    assert await count_rows(db, seller, OutboxEvent) == 1
    assert await count_rows(db, seller, AuditEntry) == 1


async def test_bad_order_input_writes_nothing(
    client: GraphQLClient, db: Database, seller: Seller
) -> None:
    token = client.token_for(seller)
    sku_gid = to_global_id("Sku", seller.skus[0].id or 0)
    cases = [
        ({"lines": [{"skuId": sku_gid, "quantity": -1, "unitPriceFen": 100}]}, "NEGATIVE_QUANTITY"),
        ({"lines": [{"skuId": sku_gid, "quantity": 1, "unitPriceFen": -5}]}, "NEGATIVE_AMOUNT"),
        (
            {"lines": [{"skuId": to_global_id("Sku", 999999), "quantity": 1, "unitPriceFen": 1}]},
            "UNKNOWN_SKU",
        ),
        (
            {"lines": [{"skuId": to_global_id("Shop", 1), "quantity": 1, "unitPriceFen": 1}]},
            "INVALID_ID",
        ),
        ({"lines": [{"skuId": "not-an-id", "quantity": 1, "unitPriceFen": 1}]}, "INVALID_ID"),
        ({"lines": []}, "INVALID_INPUT"),
        ({"shippingFen": -1}, "NEGATIVE_AMOUNT"),
        ({"receiver": {**order_input(seller)["receiver"], "phone": "call me"}}, "INVALID_INPUT"),
        ({"shopId": to_global_id("Shop", 999999)}, "NOT_FOUND"),
    ]
    for overrides, code in cases:
        data = await client.data(CREATE, {"input": order_input(seller, **overrides)}, token=token)
        errors = data["createOrder"]["errors"]
        assert data["createOrder"]["order"] is None
        assert [e["code"] for e in errors] == [code], (overrides, errors)
    assert await count_rows(db, seller, Order) == 0
    assert await count_rows(db, seller, OutboxEvent) == 0


async def test_role_without_permission_is_forbidden(
    client: GraphQLClient, db: Database, seller: Seller
) -> None:
    data = await client.data(
        CREATE, {"input": order_input(seller)}, token=client.token_for(seller, Role.SERVICE)
    )
    assert data["createOrder"]["errors"][0]["code"] == "FORBIDDEN"
    assert await count_rows(db, seller, Order) == 0


async def test_cancel_and_remark(client: GraphQLClient, db: Database, seller: Seller) -> None:
    order = await make_order(db, seller)
    assert order.id is not None
    gid = to_global_id("Order", order.id)
    token = client.token_for(seller)
    cancel = """mutation($input: CancelOrderInput!) { cancelOrder(input: $input) {
        order { status history { fromStatus toStatus reason actor } } errors { code field } } }"""
    missing_reason = await client.data(cancel, {"input": {"id": gid, "reason": " "}}, token=token)
    assert missing_reason["cancelOrder"]["errors"][0]["field"] == "reason"
    done = await client.data(cancel, {"input": {"id": gid, "reason": "买家要求"}}, token=token)
    assert done["cancelOrder"]["order"]["status"] == "CANCELLED"
    assert done["cancelOrder"]["order"]["history"][-1] == {
        "fromStatus": "NEW",
        "toStatus": "CANCELLED",
        "reason": "买家要求",
        "actor": "manager",
    }
    again = await client.data(cancel, {"input": {"id": gid, "reason": "again"}}, token=token)
    assert again["cancelOrder"]["errors"][0]["code"] == "ILLEGAL_TRANSITION"

    remark = """mutation($input: AddOrderRemarkInput!) { addOrderRemark(input: $input) {
        remark { text author } order { remarks { text } } errors { code } } }"""
    service_token = client.token_for(seller, Role.SERVICE)
    added = await client.data(
        remark, {"input": {"id": gid, "text": "已电话联系"}}, token=service_token
    )
    assert added["addOrderRemark"]["remark"] == {"text": "已电话联系", "author": "service"}
    assert added["addOrderRemark"]["order"]["remarks"] == [{"text": "已电话联系"}]
    supplier = client.token_for(seller, Role.SUPPLIER)
    denied = await client.data(remark, {"input": {"id": gid, "text": "x"}}, token=supplier)
    assert denied["addOrderRemark"]["errors"][0]["code"] == "FORBIDDEN"


async def test_supplier_sees_only_its_orders_without_money(
    client: GraphQLClient, db: Database, seller: Seller
) -> None:
    await make_order(db, seller)
    own = await make_order(db, seller)
    supplier_id = seller.users[Role.SUPPLIER].supplier_id
    async with UnitOfWork(db, seller.org_id) as uow:
        row = await uow.orders.get(own.id or 0)
        assert row is not None
        row.supplier_id = supplier_id
        await uow.commit()
    token = client.token_for(seller, Role.SUPPLIER)
    body = await client.gql(
        "{ orders { totalCount edges { node { externalId total { fen }"
        " receiver { phone maskedPhone } } } } }",
        token=token,
    )
    assert body["data"]["orders"]["totalCount"] == 1
    node = body["data"]["orders"]["edges"][0]["node"]
    assert node["externalId"] == own.external_id
    assert node["total"] is None and node["receiver"]["phone"] is None
    assert node["receiver"]["maskedPhone"] == "138****8000"
    assert {e["extensions"]["code"] for e in body["errors"]} == {"FORBIDDEN"}
