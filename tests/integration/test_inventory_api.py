"""Inventory through GraphQL: stock mutations and their typed errors, warehouse layout,
stockLevels filters and totals, channelAvailable, ledger, backorders, reservations."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event

from api.ids import to_global_id
from db.engine import Database
from domain.accounts.model import Role
from domain.inventory import reservation
from tests.support.api import GraphQLClient
from tests.support.factories import Seller
from tests.support.inventory import Layout, make_layout, make_order_with, receive, sku_totals

ERRORS = "errors { field message code }"
LEVEL = "id onHand reserved safety available belowSafety sku { code } bin { code zone { code } }"

RECEIVE = f"""
mutation($input: ReceiveStockInput!) {{
  receiveStock(input: $input) {{ stockLevels {{ {LEVEL} }} {ERRORS} }}
}}"""
ADJUST = f"""
mutation($input: AdjustStockInput!) {{
  adjustStock(input: $input) {{ stockLevels {{ {LEVEL} }} {ERRORS} }}
}}"""
TRANSFER = f"""
mutation($input: TransferStockInput!) {{
  transferStock(input: $input) {{ stockLevels {{ {LEVEL} }} {ERRORS} }}
}}"""
SAFETY = f"""
mutation($input: SetSafetyStockInput!) {{
  setSafetyStock(input: $input) {{ stockLevels {{ {LEVEL} }} {ERRORS} }}
}}"""
LEVELS = """
query($filter: StockLevelFilterInput, $first: Int, $after: String, $shop: ID!, $shop2: ID!) {
  stockLevels(filter: $filter, first: $first, after: $after) {
    totalCount
    totals { onHand reserved safety available }
    pageInfo { hasNextPage endCursor }
    nodes {
      onHand reserved safety available skuAvailable
      tmall: channelAvailable(shopId: $shop)
      douyin: channelAvailable(shopId: $shop2)
      sku { code } warehouse { code } bin { code zone { code warehouse { code } } }
    }
  }
}"""


def gid(type_name: str, pk: int | None) -> str:
    assert pk is not None
    return to_global_id(type_name, pk)


def sku_gid(seller: Seller, index: int = 0) -> str:
    return gid("Sku", seller.skus[index].id)


async def receive_input(layout: Layout, items: list[tuple[str, int, int]]) -> dict[str, Any]:
    return {
        "warehouseId": gid("Warehouse", layout.warehouses[0].id),
        "items": [
            {"skuId": sku, "binId": gid("Bin", layout.bin_id(0, b)), "quantity": q}
            for sku, b, q in items
        ],
        "reference": "PO-1",
    }


async def test_receive_stock_and_its_typed_errors(
    client: GraphQLClient, db: Database, seller: Seller
) -> None:
    layout = await make_layout(db, seller, extra_warehouses=[("WH2", [], 5)])
    token = client.token_for(seller, Role.WAREHOUSE)
    data = await client.data(
        RECEIVE,
        {
            "input": await receive_input(
                layout, [(sku_gid(seller), 0, 7), (sku_gid(seller, 1), 1, 3)]
            )
        },
        token=token,
    )
    payload = data["receiveStock"]
    assert payload["errors"] == []
    assert [
        (lvl["sku"]["code"], lvl["onHand"], lvl["bin"]["code"]) for lvl in payload["stockLevels"]
    ] == [
        ("SKU-1", 7, "A-01-1-1"),
        ("SKU-2", 3, "A-01-1-2"),
    ]
    assert payload["stockLevels"][0]["bin"]["zone"]["code"] == "A"

    async def error_of(items: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
        value = {**(await receive_input(layout, [])), "items": items, **extra}
        result = (await client.data(RECEIVE, {"input": value}, token=token))["receiveStock"]
        assert result["stockLevels"] == []
        [error] = result["errors"]
        return dict(error)

    bin0 = gid("Bin", layout.bin_id(0, 0))
    unknown = await error_of([{"skuId": gid("Sku", 10**12), "binId": bin0, "quantity": 1}])
    assert (unknown["code"], unknown["field"]) == ("UNKNOWN_SKU", "items.0.skuId")
    unknown_bin = await error_of(
        [{"skuId": sku_gid(seller), "binId": gid("Bin", 10**12), "quantity": 1}]
    )
    assert (unknown_bin["code"], unknown_bin["field"]) == ("UNKNOWN_BIN", "items.0.binId")
    negative = await error_of([{"skuId": sku_gid(seller), "binId": bin0, "quantity": -2}])
    assert (negative["code"], negative["field"]) == ("NEGATIVE_QUANTITY", "items.0.quantity")
    other = await error_of(
        [{"skuId": sku_gid(seller), "binId": gid("Bin", layout.bin_id(1, 0)), "quantity": 1}]
    )
    assert other["code"] == "BIN_WAREHOUSE_MISMATCH"
    wrong_type = await error_of([{"skuId": bin0, "binId": bin0, "quantity": 1}])
    assert (wrong_type["code"], wrong_type["field"]) == ("INVALID_ID", "items.0.skuId")

    refused = await client.data(
        RECEIVE,
        {"input": await receive_input(layout, [(sku_gid(seller), 0, 1)])},
        token=client.token_for(seller, Role.SERVICE),
    )
    assert refused["receiveStock"]["errors"][0]["code"] == "FORBIDDEN"
    # Nothing of the refused calls was written.
    sku = seller.skus[0].id
    assert sku is not None
    assert (await sku_totals(db, seller.org_id, sku)).on_hand == 7


async def test_adjust_and_transfer_errors(
    client: GraphQLClient, db: Database, seller: Seller
) -> None:
    layout = await make_layout(db, seller)
    sku = seller.skus[0].id
    assert sku is not None
    await receive(db, seller, layout, sku, 5, bin_id=layout.bin_id(0, 0))
    order = await make_order_with(db, seller, [(sku, 4)])
    assert order.id is not None
    await reservation.reserve_order(db, seller.actor(), order.id)
    token = client.token_for(seller, Role.OPERATOR)
    bin0, bin1 = gid("Bin", layout.bin_id(0, 0)), gid("Bin", layout.bin_id(0, 1))

    no_reason = await client.data(
        ADJUST,
        {"input": {"items": [{"skuId": sku_gid(seller), "binId": bin0, "delta": 1}], "reason": ""}},
        token=token,
    )
    assert no_reason["adjustStock"]["errors"][0] == {
        "field": "reason",
        "message": "A reason is required",
        "code": "INVALID_INPUT",
    }
    below_reserved = await client.data(
        ADJUST,
        {
            "input": {
                "items": [{"skuId": sku_gid(seller), "binId": bin0, "counted": 3}],
                "reason": "盘点",
            }
        },
        token=token,
    )
    error = below_reserved["adjustStock"]["errors"][0]
    assert (error["code"], error["field"]) == ("INSUFFICIENT_STOCK", "items.0.counted")
    counted = await client.data(
        ADJUST,
        {
            "input": {
                "items": [{"skuId": sku_gid(seller), "binId": bin0, "counted": 6}],
                "reason": "盘点 found one more",
            }
        },
        token=token,
    )
    assert counted["adjustStock"]["stockLevels"][0]["onHand"] == 6

    def transfer(src: str, dst: str, qty: int) -> dict[str, Any]:
        return {
            "input": {
                "items": [
                    {"skuId": sku_gid(seller), "fromBinId": src, "toBinId": dst, "quantity": qty}
                ]
            }
        }

    same = await client.data(TRANSFER, transfer(bin0, bin0, 1), token=token)
    assert same["transferStock"]["errors"][0]["code"] == "SAME_BIN"
    too_many = await client.data(TRANSFER, transfer(bin0, bin1, 3), token=token)  # 6 - 4 = 2
    assert too_many["transferStock"]["errors"][0]["code"] == "INSUFFICIENT_STOCK"
    moved = await client.data(TRANSFER, transfer(bin0, bin1, 2), token=token)
    levels = {lvl["bin"]["code"]: lvl for lvl in moved["transferStock"]["stockLevels"]}
    assert (levels["A-01-1-1"]["onHand"], levels["A-01-1-1"]["reserved"]) == (4, 4)
    assert levels["A-01-1-2"]["onHand"] == 2


async def test_stock_levels_filters_totals_and_channel_quantities(
    client: GraphQLClient, db: Database, seller: Seller
) -> None:
    layout = await make_layout(db, seller, extra_warehouses=[("WH2", [], 5)])
    token = client.token_for(seller, Role.WAREHOUSE)
    sku1, sku2 = seller.skus[0].id, seller.skus[1].id
    assert sku1 is not None and sku2 is not None
    await receive(db, seller, layout, sku1, 10, bin_id=layout.bin_id(0, 0))
    await receive(db, seller, layout, sku1, 5, bin_id=layout.bin_id(1, 0))
    await receive(db, seller, layout, sku2, 1, bin_id=layout.bin_id(0, 1))
    await client.data(
        SAFETY,
        {
            "input": {
                "items": [
                    {
                        "skuId": sku_gid(seller, 1),
                        "binId": gid("Bin", layout.bin_id(0, 1)),
                        "quantity": 2,
                    }
                ]
            }
        },
        token=token,
    )
    policy = await client.data(
        """mutation($input: SetShopStockPolicyInput!) {
             setShopStockPolicy(input: $input) {
               policy { ratioPercent cap shop { name } } errors { code }
             }
           }""",
        {"input": {"shopId": gid("Shop", seller.shops["DOUYIN"].id), "ratioPercent": 60, "cap": 8}},
        token=token,
    )
    assert policy["setShopStockPolicy"]["policy"]["ratioPercent"] == 60
    shops = {
        "shop": gid("Shop", seller.shops["TMALL"].id),
        "shop2": gid("Shop", seller.shops["DOUYIN"].id),
    }

    everything = (await client.data(LEVELS, shops, token=token))["stockLevels"]
    assert everything["totalCount"] == 3
    assert everything["totals"] == {"onHand": 16, "reserved": 0, "safety": 2, "available": 14}
    sku1_rows = [n for n in everything["nodes"] if n["sku"]["code"] == "SKU-1"]
    # 15 available: Tmall lists all, Douyin 60 % = 9 capped at 8.
    assert {(n["skuAvailable"], n["tmall"], n["douyin"]) for n in sku1_rows} == {(15, 15, 8)}

    wh2 = (
        await client.data(
            LEVELS,
            {**shops, "filter": {"warehouseId": gid("Warehouse", layout.warehouses[1].id)}},
            token=token,
        )
    )["stockLevels"]
    assert wh2["totalCount"] == 1 and wh2["nodes"][0]["warehouse"]["code"] == "WH2"
    zone = (
        await client.data(
            LEVELS,
            {
                **shops,
                "filter": {"zoneId": gid("Zone", layout.zones[layout.warehouses[0].id or 0].id)},
            },
            token=token,
        )
    )["stockLevels"]
    assert zone["totalCount"] == 2
    below = (await client.data(LEVELS, {**shops, "filter": {"belowSafety": True}}, token=token))[
        "stockLevels"
    ]
    assert [(n["sku"]["code"], n["available"]) for n in below["nodes"]] == [("SKU-2", -1)]
    zero = (await client.data(LEVELS, {**shops, "filter": {"zeroAvailable": True}}, token=token))[
        "stockLevels"
    ]
    assert zero["totalCount"] == 1
    by_sku = (
        await client.data(
            LEVELS, {**shops, "filter": {"skuIds": [sku_gid(seller, 1)]}}, token=token
        )
    )["stockLevels"]
    assert by_sku["totals"]["onHand"] == 1
    paged = (await client.data(LEVELS, {**shops, "first": 2}, token=token))["stockLevels"]
    assert len(paged["nodes"]) == 2 and paged["pageInfo"]["hasNextPage"]
    assert paged["totals"]["onHand"] == 16  # totals cover every page

    bad = await client.gql(
        LEVELS, {**shops, "filter": {"warehouseId": gid("Zone", 1)}}, token=token
    )
    assert bad["errors"][0]["extensions"]["code"] == "INVALID_ID"
    supplier = await client.gql(LEVELS, shops, token=client.token_for(seller, Role.SUPPLIER))
    assert supplier["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_stock_levels_cost_the_same_queries_whatever_the_page_size(
    client: GraphQLClient, db: Database, seller: Seller
) -> None:
    layout = await make_layout(db, seller, bins_per_warehouse=6)
    for i, sku in enumerate(seller.skus):
        assert sku.id is not None
        for b in range(6):
            await receive(db, seller, layout, sku.id, i + b + 1, bin_id=layout.bin_id(0, b))
    token = client.token_for(seller, Role.WAREHOUSE)
    shops = {
        "shop": gid("Shop", seller.shops["TMALL"].id),
        "shop2": gid("Shop", seller.shops["DOUYIN"].id),
    }

    @contextmanager
    def counting() -> Iterator[list[str]]:
        statements: list[str] = []

        def before(*args: Any) -> None:
            statements.append(args[2])

        engine = client.services.db.engine.sync_engine
        event.listen(engine, "before_cursor_execute", before)
        try:
            yield statements
        finally:
            event.remove(engine, "before_cursor_execute", before)

    with counting() as small:
        page = (await client.data(LEVELS, {**shops, "first": 3}, token=token))["stockLevels"]
    assert len(page["nodes"]) == 3
    with counting() as large:
        page = (await client.data(LEVELS, {**shops, "first": 18}, token=token))["stockLevels"]
    assert len(page["nodes"]) == 18
    assert small and len(small) == len(large), (small, large)


async def test_layout_ledger_backorders_and_reservations(
    client: GraphQLClient, db: Database, seller: Seller
) -> None:
    token = client.token_for(seller, Role.OWNER)
    created = await client.data(
        """mutation($input: CreateWarehouseInput!) {
             createWarehouse(input: $input) {
               warehouse { id code provinces } errors { code field }
             }
           }""",
        {
            "input": {
                "code": "sh1",
                "name": "上海仓",
                "provinces": ["上海市", "江苏省"],
                "priority": 2,
            }
        },
        token=token,
    )
    warehouse = created["createWarehouse"]["warehouse"]
    assert warehouse["code"] == "SH1"
    duplicate = await client.data(
        """mutation($input: CreateWarehouseInput!) {
             createWarehouse(input: $input) { warehouse { id } errors { code field } }
           }""",
        {"input": {"code": "SH1", "name": "again"}},
        token=token,
    )
    assert duplicate["createWarehouse"]["errors"] == [{"code": "DUPLICATE", "field": "code"}]
    zone = (
        await client.data(
            """mutation($input: CreateZoneInput!) {
                 createZone(input: $input) { zone { id code warehouse { code } } errors { code } }
               }""",
            {"input": {"warehouseId": warehouse["id"], "code": "b", "name": "Heavy goods"}},
            token=token,
        )
    )["createZone"]["zone"]
    assert zone["warehouse"]["code"] == "SH1" and zone["code"] == "B"
    bins = await client.data(
        """mutation($input: CreateBinsInput!) {
             createBins(input: $input) { bins { id code walkSeq } errors { code field } }
           }""",
        {"input": {"zoneId": zone["id"], "bins": [{"code": "B-01-1-1"}, {"code": "bad code"}]}},
        token=token,
    )
    assert bins["createBins"]["errors"] == [{"code": "INVALID_INPUT", "field": "bins.1.code"}]
    bins = await client.data(
        """mutation($input: CreateBinsInput!) {
             createBins(input: $input) { bins { id code walkSeq } errors { code field } }
           }""",
        {"input": {"zoneId": zone["id"], "bins": [{"code": "B-01-1-1", "walkSeq": 1}]}},
        token=token,
    )
    [bin_node] = bins["createBins"]["bins"]
    listed = await client.data(
        """query($w: ID!) { zones(warehouseId: $w) { code }
                           bins(warehouseId: $w) { totalCount nodes { code zone { code } } } }""",
        {"w": warehouse["id"]},
        token=token,
    )
    assert listed["zones"] == [{"code": "B"}]
    assert listed["bins"]["nodes"] == [{"code": "B-01-1-1", "zone": {"code": "B"}}]
    node = await client.data(
        "query($id: ID!) { node(id: $id) { ... on Bin { code } } }",
        {"id": bin_node["id"]},
        token=token,
    )
    assert node["node"] == {"code": "B-01-1-1"}

    received = await client.data(
        RECEIVE,
        {
            "input": {
                "warehouseId": warehouse["id"],
                "items": [{"skuId": sku_gid(seller), "binId": bin_node["id"], "quantity": 2}],
            }
        },
        token=token,
    )
    assert received["receiveStock"]["errors"] == []
    sku = seller.skus[0].id
    assert sku is not None
    reserved = await make_order_with(db, seller, [(sku, 2)], province="上海")
    waiting = await make_order_with(db, seller, [(sku, 1)], province="上海")
    assert reserved.id is not None and waiting.id is not None
    await reservation.reserve_order(db, seller.actor(), reserved.id)
    await reservation.reserve_order(db, seller.actor(), waiting.id)

    data = await client.data(
        """query($sku: [ID!], $order: ID!) {
             stockLedger(filter: {skuIds: $sku}) {
               totalCount
               nodes { kind onHandDelta reservedDelta onHandAfter reservedAfter actor orderId }
             }
             forOrder: stockLedger(filter: {orderId: $order}) { totalCount }
             backorders { totalCount nodes { quantity status orderId sku { code } } }
             orderReservations(orderId: $order) { quantity status bin { code } warehouse { code } }
           }""",
        {"sku": [sku_gid(seller)], "order": gid("Order", reserved.id)},
        token=token,
    )
    kinds = [
        (n["kind"], n["onHandAfter"], n["reservedAfter"]) for n in data["stockLedger"]["nodes"]
    ]
    assert kinds == [("RESERVE", 2, 2), ("RECEIVE", 2, 0)]
    assert data["forOrder"]["totalCount"] == 1
    assert data["backorders"]["nodes"] == [
        {
            "quantity": 1,
            "status": "WAITING",
            "orderId": gid("Order", waiting.id),
            "sku": {"code": "SKU-1"},
        }
    ]
    assert data["orderReservations"] == [
        {
            "quantity": 2,
            "status": "ACTIVE",
            "bin": {"code": "B-01-1-1"},
            "warehouse": {"code": "SH1"},
        }
    ]
