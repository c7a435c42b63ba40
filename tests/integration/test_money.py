"""Money through the API: ``Money { amount currency fen }``, the 64-bit ``Fen`` scalar, and the
limits on quantities and amounts, in the domain and in the database.

Reproduced before: ``createOrder`` with ``quantity: 2147483647, unitPriceFen: 2147483647`` was
saved, and its total (above GraphQL's 32-bit ``Int``) then failed as "Unexpected error." on the
board's first page, for everyone, in every sort by total.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from api.ids import to_global_id
from db.engine import Database
from domain.accounts.model import Role
from domain.orders.model import (
    MAX_LINE_QUANTITY,
    MAX_LINES_PER_ORDER,
    MAX_ORDER_TOTAL_FEN,
    MAX_SHIPPING_FEN,
    MAX_UNIT_PRICE_FEN,
)
from tests.support.api import GraphQLClient
from tests.support.factories import Seller, make_order

CREATE = """mutation($input: CreateOrderInput!) { createOrder(input: $input) {
  order { id externalId goods { amount fen currency } discount { amount fen }
          shipping { amount fen } total { amount fen currency }
          lines { quantity unitPrice { amount fen } discount { amount fen }
                  total { amount fen } sku { price { amount fen } } } }
  errors { field message code } } }"""
BOARD = """query($sort: OrderSort!) { orders(first: 20, sort: $sort) {
  totalCount nodes { externalId total { amount fen currency } } } }"""


def order_input(seller: Seller, *lines: dict[str, Any], **extra: Any) -> dict[str, Any]:
    sku = seller.skus[0]
    assert sku.id is not None
    return {
        "receiver": {
            "name": "赵六",
            "phone": "13912345678",
            "province": "江苏省",
            "city": "苏州市",
            "address": "观前街 1 号",
        },
        "lines": [{"skuId": to_global_id("Sku", sku.id), **line} for line in lines],
        **extra,
    }


async def create(
    client: GraphQLClient, seller: Seller, *lines: dict[str, Any], **extra: Any
) -> dict[str, Any]:
    data = await client.data(
        CREATE,
        {"input": order_input(seller, *lines, **extra)},
        token=client.token_for(seller, Role.OPERATOR),
    )
    payload: dict[str, Any] = data["createOrder"]
    return payload


async def test_the_overflowing_order_is_refused_and_the_board_works(
    client: GraphQLClient, db: Database, seller: Seller
) -> None:
    await make_order(db, seller)
    payload = await create(client, seller, {"quantity": 2147483647, "unitPriceFen": 2147483647})
    assert payload["order"] is None
    assert payload["errors"] == [
        {
            "field": "lines.0.quantity",
            "message": "Quantity is at most 99,999",
            "code": "INVALID_INPUT",
        }
    ]
    # The price alone is refused too, naming its own field.
    payload = await create(client, seller, {"quantity": 1, "unitPriceFen": 2147483647})
    assert payload["errors"] == [
        {
            "field": "lines.0.unitPriceFen",
            "message": "Unit price is at most ¥100,000.00",
            "code": "INVALID_INPUT",
        }
    ]
    token = client.token_for(seller)
    for sort in ("CREATED_DESC", "TOTAL_DESC", "TOTAL_ASC"):
        board = await client.data(BOARD, {"sort": sort}, token=token)
        assert board["orders"]["totalCount"] == 1


async def test_a_total_above_2_31_fen_round_trips(
    client: GraphQLClient, db: Database, seller: Seller
) -> None:
    """¥29,999,997.00 is 2,999,999,700 fen: more than a GraphQL Int holds."""
    await make_order(db, seller)
    payload = await create(
        client, seller, {"quantity": 300, "unitPriceFen": "9999999"}, shippingFen=0
    )
    assert payload["errors"] == []
    order = payload["order"]
    assert 2_999_999_700 > 2**31
    assert order["total"] == {"amount": "29999997.00", "fen": "2999999700", "currency": "CNY"}
    assert order["lines"][0]["total"] == {"amount": "29999997.00", "fen": "2999999700"}
    board = await client.data(BOARD, {"sort": "TOTAL_DESC"}, token=client.token_for(seller))
    first = board["orders"]["nodes"][0]
    assert first["externalId"] == order["externalId"]
    assert int(first["total"]["fen"]) == 2_999_999_700
    node = await client.data(
        "query($id: ID!) { node(id: $id) { ... on Order { total { fen } } } }",
        {"id": order["id"]},
        token=client.token_for(seller),
    )
    assert node["node"]["total"] == {"fen": "2999999700"}


async def test_amounts_in_yuan_always_have_two_decimals(
    client: GraphQLClient, seller: Seller
) -> None:
    payload = await create(
        client,
        seller,
        {"quantity": 1, "unitPriceFen": 5},
        {"quantity": 3, "unitPriceFen": 29900, "discountFen": 1000},
        shippingFen="800",
    )
    assert payload["errors"] == []
    order = payload["order"]
    assert [line["unitPrice"] for line in order["lines"]] == [
        {"amount": "0.05", "fen": "5"},
        {"amount": "299.00", "fen": "29900"},
    ]
    # Discounts are amounts subtracted: shown positive, like the platforms' 优惠.
    assert [line["discount"] for line in order["lines"]] == [
        {"amount": "0.00", "fen": "0"},
        {"amount": "10.00", "fen": "1000"},
    ]
    assert [line["total"]["amount"] for line in order["lines"]] == ["0.05", "887.00"]
    assert order["goods"] == {"amount": "897.05", "fen": "89705", "currency": "CNY"}
    assert order["discount"] == {"amount": "10.00", "fen": "1000"}
    assert order["shipping"] == {"amount": "8.00", "fen": "800"}
    assert order["total"] == {"amount": "895.05", "fen": "89505", "currency": "CNY"}
    assert order["lines"][0]["sku"]["price"] == {"amount": "10.00", "fen": "1000"}


@pytest.mark.parametrize(
    ("lines", "extra", "field", "message"),
    [
        (
            [{"quantity": MAX_LINE_QUANTITY + 1, "unitPriceFen": 1}],
            {},
            "lines.0.quantity",
            "Quantity is at most 99,999",
        ),
        (
            [{"quantity": 1, "unitPriceFen": MAX_UNIT_PRICE_FEN + 1}],
            {},
            "lines.0.unitPriceFen",
            "Unit price is at most ¥100,000.00",
        ),
        (
            [{"quantity": 1, "unitPriceFen": 100}] * (MAX_LINES_PER_ORDER + 1),
            {},
            "lines",
            "An order has at most 200 lines",
        ),
        (
            [{"quantity": 1, "unitPriceFen": 100}],
            {"shippingFen": MAX_SHIPPING_FEN + 1},
            "shippingFen",
            "Shipping fee is at most ¥100,000.00",
        ),
        (
            [{"quantity": 1001, "unitPriceFen": MAX_UNIT_PRICE_FEN}],
            {},
            "lines",
            "The goods come to ¥100,100,000.00; an order is at most ¥100,000,000.00",
        ),
        (
            [{"quantity": 1000, "unitPriceFen": MAX_UNIT_PRICE_FEN}],
            {"shippingFen": 1},
            "shippingFen",
            "The total comes to ¥100,000,000.01; an order is at most ¥100,000,000.00",
        ),
    ],
)
async def test_limits_are_typed_errors_naming_the_field(
    client: GraphQLClient,
    seller: Seller,
    lines: list[dict[str, Any]],
    extra: dict[str, Any],
    field: str,
    message: str,
) -> None:
    payload = await create(client, seller, *lines, **extra)
    assert payload == {
        "order": None,
        "errors": [{"field": field, "message": message, "code": "INVALID_INPUT"}],
    }


async def test_an_order_at_every_limit_is_accepted(client: GraphQLClient, seller: Seller) -> None:
    at_most = {"quantity": MAX_LINE_QUANTITY, "unitPriceFen": 100, "discountFen": 100}
    payload = await create(
        client,
        seller,
        *([at_most] * (MAX_LINES_PER_ORDER - 1)),
        {"quantity": 1, "unitPriceFen": MAX_UNIT_PRICE_FEN},
        shippingFen=MAX_SHIPPING_FEN,
    )
    assert payload["errors"] == []
    goods = 199 * MAX_LINE_QUANTITY * 100 + MAX_UNIT_PRICE_FEN
    assert payload["order"]["total"]["fen"] == str(goods - 199 * 100 + MAX_SHIPPING_FEN)

    biggest = await create(client, seller, {"quantity": 1000, "unitPriceFen": MAX_UNIT_PRICE_FEN})
    assert biggest["order"]["total"]["fen"] == str(MAX_ORDER_TOTAL_FEN)


@pytest.mark.parametrize(
    ("value", "shown"),
    [(19.9, "19.9"), ("19.90", '"19.90"'), (True, "true"), ("1e3", '"1e3"')],
)
async def test_fen_takes_whole_numbers_only(
    client: GraphQLClient, seller: Seller, value: Any, shown: str
) -> None:
    body = await client.gql(
        CREATE,
        {"input": order_input(seller, {"quantity": 1, "unitPriceFen": value})},
        token=client.token_for(seller),
    )
    [error] = body["errors"]
    assert error["extensions"]["code"] == "INVALID_INPUT"
    assert error["message"].endswith(f"as a string of digits or a JSON integer; got {shown}")
    assert ".lines[0].unitPriceFen" in error["message"]


async def test_fen_beyond_64_bits_is_refused_in_literals_and_variables(
    client: GraphQLClient, seller: Seller
) -> None:
    sku = seller.skus[0]
    assert sku.id is not None
    sku_id = to_global_id("Sku", sku.id)
    literal = (
        'mutation { createOrder(input: {receiver: {name: "a", phone: "13912345678",'
        ' province: "p", city: "c", address: "x"}, lines: [{skuId: "' + sku_id + '",'
        " quantity: 1, unitPriceFen: 9223372036854775808}]}) { errors { code } } }"
    )
    token = client.token_for(seller)
    body = await client.gql(literal, token=token)
    assert [e["extensions"]["code"] for e in body["errors"]] == ["INVALID_INPUT"]
    body = await client.gql(
        CREATE,
        {"input": order_input(seller, {"quantity": 1, "unitPriceFen": str(2**63)})},
        token=token,
    )
    assert [e["extensions"]["code"] for e in body["errors"]] == ["INVALID_INPUT"]


#: (table, constraint, column, value beyond the limit) — each one refused by the database.
BEYOND = [
    ("order_lines", "order_lines_within_limits", "quantity", MAX_LINE_QUANTITY + 1),
    ("order_lines", "order_lines_within_limits", "unit_price_fen", MAX_UNIT_PRICE_FEN + 1),
    ("order_lines", "order_lines_within_limits", "discount_fen", 10**6),
    ("orders", "orders_amounts_within_limits", "shipping_fen", MAX_SHIPPING_FEN + 1),
    ("orders", "orders_amounts_within_limits", "goods_fen", MAX_ORDER_TOTAL_FEN + 1),
    ("orders", "orders_total_adds_up", "total_fen", 1),
    ("skus", "skus_price_within_limit", "price_fen", MAX_UNIT_PRICE_FEN + 1),
]


@pytest.mark.parametrize(("table", "constraint", "column", "value"), BEYOND)
async def test_the_database_holds_the_same_limits(
    db: Database,
    admin_db: Database,
    seller: Seller,
    table: str,
    constraint: str,
    column: str,
    value: int,
) -> None:
    """Whatever writes a row (a channel import, a bulk load, a bug), not only the domain."""
    order = await make_order(db, seller)
    row = {"orders": order.id, "order_lines": None, "skus": seller.skus[0].id}[table]
    where = f"org_id = {seller.org_id}" + (
        f" AND order_id = {order.id}" if row is None else f" AND id = {row}"
    )
    async with admin_db.engine.connect() as conn:
        with pytest.raises(IntegrityError, match=constraint):
            await conn.execute(text(f"UPDATE {table} SET {column} = {value} WHERE {where}"))
