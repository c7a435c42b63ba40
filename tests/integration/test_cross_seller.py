"""Seller A's owner, who may do everything in A, names every id of seller B everywhere an id is
taken — ``node``, every query argument (inside filters too), every field argument, every
mutation input — and gets NOT_FOUND each time; afterwards B's data is exactly as before, both
as B's owner reads it through the API and row by row in the tables.

Query arguments and field arguments are found in the schema at test time.  Mutations need valid
input around the foreign id, so each one taking an id has a case below; a mutation (or an id
field) without one fails the test, saying what to add.
"""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import pytest_asyncio
from graphql import GraphQLObjectType, get_named_type

from db.engine import Database
from db.settings import Settings
from domain.accounts.model import Role
from tests.support.api import GraphQLClient, graphql_client
from tests.support.schema_walk import (
    WalkGap,
    arguments,
    error_codes,
    global_id,
    input_id_paths,
    is_id,
    is_list,
    item_type,
    literal,
    mutation_fields,
    node_types,
    path_to,
    query_fields,
    required,
    roomy,
    schema,
    selection,
    type_named_by,
)
from tests.support.world import SellerWorld, add_api_tokens, build_seller, snapshot

#: The typed answers that mean "no such object (for you)": NOT_FOUND, and the inventory
#: mutations' own codes for the object kind they name.
NOT_FOUND_CODES = frozenset(
    {"NOT_FOUND", "UNKNOWN_SKU", "UNKNOWN_BIN", "UNKNOWN_WAREHOUSE", "UNKNOWN_ZONE"}
)

Path = tuple[str, ...]
ROOTS = frozenset({"Query", "Mutation", "Subscription"})


@dataclass
class Sellers:
    client: GraphQLClient
    a: SellerWorld
    b: SellerWorld
    a_owner: str
    b_owner: str

    def fill(self, owner: str, field: str, argument: str) -> str:
        type_name = type_named_by(argument)
        if type_name is None or type_name not in self.a.ids:
            raise WalkGap(f"{owner}.{field}({argument}:) names no type the world holds")
        return global_id(type_name, self.a.any_id(type_name))

    async def ask(self, query: str, token: str) -> dict[str, Any]:
        body: dict[str, Any] = (await self.client.post(query, token=token)).json()
        return body


@pytest_asyncio.fixture(scope="module")
async def sellers(db: Database, settings: Settings) -> AsyncIterator[Sellers]:
    a, b = await build_seller(db), await build_seller(db)
    await add_api_tokens(db, a)
    await add_api_tokens(db, b)
    async with graphql_client(roomy(settings)) as client:
        yield Sellers(
            client,
            a,
            b,
            client.token_for(a.seller, Role.OWNER),
            client.token_for(b.seller, Role.OWNER),
        )


# -- mutation cases: valid input of seller A around each id ------------------------------------
@dataclass(frozen=True)
class Case:
    input: dict[str, Any]
    #: Every id inside the input and the type it names.
    ids: dict[Path, str]


def mutation_cases(a: SellerWorld) -> dict[str, Case]:
    def gid(type_name: str, pk: int | None) -> str:
        assert pk is not None
        return global_id(type_name, pk)

    sku = gid("Sku", a.seller.skus[0].id)
    bin0, bin1 = gid("Bin", a.layout.bin_id(0, 0)), gid("Bin", a.layout.bin_id(0, 1))
    warehouse = a.layout.warehouses[0]
    zone = gid("Zone", a.layout.zones[warehouse.id or 0].id)
    order = a.orders[2]  # the seller's own order, reserved
    shop = gid("Shop", order.shop_id)
    line = gid("OrderLine", min(a.ids["OrderLine"]))  # any line: B's order is the point
    user = gid("User", a.seller.users[Role.SERVICE].id)
    receiver = {
        "name": "李四",
        "phone": "13912345678",
        "province": "广东省",
        "city": "深圳市",
        "address": "科技园 1 号",
    }
    return {
        "revokeApiToken": Case(
            {"id": gid("ApiToken", a.any_id("ApiToken"))}, {("id",): "ApiToken"}
        ),
        "createOrder": Case(
            {
                "receiver": receiver,
                "shopId": shop,
                "lines": [{"skuId": sku, "quantity": 1, "unitPriceFen": 100}],
            },
            {("shopId",): "Shop", ("lines", "skuId"): "Sku"},
        ),
        "cancelOrder": Case({"id": gid("Order", order.id), "reason": "x"}, {("id",): "Order"}),
        "addOrderRemark": Case({"id": gid("Order", order.id), "text": "x"}, {("id",): "Order"}),
        "receiveStock": Case(
            {
                "warehouseId": gid("Warehouse", warehouse.id),
                "items": [{"skuId": sku, "binId": bin0, "quantity": 1}],
            },
            {("warehouseId",): "Warehouse", ("items", "skuId"): "Sku", ("items", "binId"): "Bin"},
        ),
        "adjustStock": Case(
            {"items": [{"skuId": sku, "binId": bin0, "delta": 1}], "reason": "盘点"},
            {("items", "skuId"): "Sku", ("items", "binId"): "Bin"},
        ),
        "transferStock": Case(
            {"items": [{"skuId": sku, "fromBinId": bin0, "toBinId": bin1, "quantity": 1}]},
            {
                ("items", "skuId"): "Sku",
                ("items", "fromBinId"): "Bin",
                ("items", "toBinId"): "Bin",
            },
        ),
        "setSafetyStock": Case(
            {"items": [{"skuId": sku, "binId": bin0, "quantity": 1}]},
            {("items", "skuId"): "Sku", ("items", "binId"): "Bin"},
        ),
        "restockReturn": Case(
            {"orderId": gid("Order", order.id), "orderLineId": line, "binId": bin0, "quantity": 1},
            {("orderId",): "Order", ("orderLineId",): "OrderLine", ("binId",): "Bin"},
        ),
        "updateWarehouse": Case(
            {"id": gid("Warehouse", warehouse.id), "name": "x"}, {("id",): "Warehouse"}
        ),
        "createZone": Case(
            {"warehouseId": gid("Warehouse", warehouse.id), "code": "Z"},
            {("warehouseId",): "Warehouse"},
        ),
        "updateZone": Case({"id": zone, "name": "x"}, {("id",): "Zone"}),
        "createBins": Case({"zoneId": zone, "bins": [{"code": "A-09-9-9"}]}, {("zoneId",): "Zone"}),
        "updateBin": Case({"id": bin0, "code": "A-09-9-8"}, {("id",): "Bin"}),
        "setShopStockPolicy": Case({"shopId": shop, "ratioPercent": 50}, {("shopId",): "Shop"}),
        "updateUser": Case({"id": user, "displayName": "x"}, {("id",): "User"}),
        "deactivateUser": Case({"id": user}, {("id",): "User"}),
        "reactivateUser": Case({"id": user}, {("id",): "User"}),
        "markNotificationsRead": Case(
            {"ids": [gid("Notification", a.any_id("Notification"))]}, {("ids",): "Notification"}
        ),
    }


def with_value(value: Any, path: Path, new: str) -> Any:
    """``value`` with the id at ``path`` replaced (in every item of the lists on the way)."""
    if isinstance(value, list):
        return [with_value(item, path, new) for item in value]
    changed = copy.copy(value)
    changed[path[0]] = new if len(path) == 1 else with_value(value[path[0]], path[1:], new)
    return changed


# -- B as B's owner sees it --------------------------------------------------------------------
async def seen_by_owner(sellers: Sellers) -> dict[str, Any]:
    """Every list B's owner can read (its query fields without required arguments), a level
    deep."""
    seen: dict[str, Any] = {}
    for name, field in query_fields().items():
        if name == "node" or any(required(arg) for arg in field.args.values()):
            continue
        args = arguments("Query", name, field, sellers.fill)
        body = selection(get_named_type(field.type), 1, sellers.fill)
        seen[name] = await sellers.ask(f"{{ {name}{args} {{ {body} }} }}", sellers.b_owner)
    return seen


# -- the test ----------------------------------------------------------------------------------
async def test_another_sellers_ids_are_not_found_anywhere_and_change_nothing(
    db: Database, sellers: Sellers
) -> None:
    a, b = sellers.a, sellers.b
    rows_before = {a.org_id: await snapshot(db, a.org_id), b.org_id: await snapshot(db, b.org_id)}
    api_before = await seen_by_owner(sellers)
    problems: list[str] = []

    async def expect_not_found(query: str, where: str, at: Callable[[Path], bool]) -> None:
        body = await sellers.ask(query, sellers.a_owner)
        codes = error_codes(body)
        hits = [code for path, code in codes.items() if at(tuple(map(str, path)))]
        if not hits or set(codes.values()) != {"NOT_FOUND"}:
            problems.append(f"{where}: expected NOT_FOUND, got {body}")

    # node, for every object of B
    for type_name in sorted(node_types()):
        for pk in sorted(b.ids[type_name]):
            query = f'{{ node(id: "{global_id(type_name, pk)}") {{ __typename }} }}'
            await expect_not_found(query, f"node({type_name} {pk})", lambda p: p == ("node",))

    # every id argument of every query field, filters included
    for name, field in query_fields().items():
        if name == "node":
            continue
        result = item_type(field).name
        for arg_name, arg in field.args.items():
            paths = (
                [((arg_name,), is_list(arg.type))]
                if is_id(arg.type)
                else [((arg_name, *p), many) for p, many in input_id_paths(arg.type)]
            )
            for path, many in paths:
                type_name = type_named_by(path[-1], result)
                if type_name is None or type_name not in b.ids:
                    raise WalkGap(f"Query.{name}({'.'.join(path)}:) names no type the world holds")
                for pk in sorted(b.ids[type_name]):
                    foreign: Any = global_id(type_name, pk)
                    value = [foreign] if many else foreign
                    for key in reversed(path[1:]):
                        value = {key: value}
                    args = arguments("Query", name, field, sellers.fill, {path[0]: value})
                    body = selection(get_named_type(field.type), 0, sellers.fill)
                    await expect_not_found(
                        f"{{ {name}{args} {{ {body} }} }}",
                        f"{name}{args}",
                        lambda p, n=name: p == (n,),
                    )

    # every id argument of a field inside an object (e.g. StockLevel.channelAvailable)
    for type_ in schema().type_map.values():
        # Subscriptions are not walked: orderUpdated(id:) only filters the organisation's own
        # event stream, where another seller's order never appears.
        if not isinstance(type_, GraphQLObjectType) or type_.name in ROOTS:
            continue
        if type_.name.startswith("__"):
            continue
        for field_name, field in type_.fields.items():
            for arg_name, arg in field.args.items():
                if not is_id(arg.type):
                    continue
                route = path_to(type_.name)
                type_name = type_named_by(arg_name)
                if route is None or type_name is None or type_name not in b.ids:
                    raise WalkGap(
                        f"{type_.name}.{field_name}({arg_name}:) cannot be reached from Query "
                        "or names no type the world holds: teach the cross-seller test"
                    )
                for pk in sorted(b.ids[type_name]):
                    inner = f"{field_name}({arg_name}: {literal(global_id(type_name, pk))})"
                    leaf_or_object = get_named_type(field.type)
                    if isinstance(leaf_or_object, GraphQLObjectType):
                        inner += f" {{ {selection(leaf_or_object, 0, sellers.fill)} }}"
                    query = inner
                    for step in reversed(route):
                        query = f"{step} {{ {query} }}"
                    await expect_not_found(
                        f"{{ {query} }}",
                        f"{type_.name}.{field_name}({type_name} {pk})",
                        lambda p, f=field_name: bool(p) and p[-1] == f,
                    )

    # every mutation that takes an id
    cases = mutation_cases(a)
    for name, field in mutation_fields().items():
        paths: dict[Path, bool] = {}
        for arg_name, arg in field.args.items():
            if is_id(arg.type):
                paths[(arg_name,)] = False
            for path, many in input_id_paths(arg.type):
                paths[path if arg_name == "input" else (arg_name, *path)] = many
        if not paths:
            assert name not in cases, f"mutation {name} takes no id any more: drop its case"
            continue
        case = cases.get(name)
        if case is None or set(case.ids) != set(paths):
            raise WalkGap(
                f"mutation {name} takes ids at {sorted(paths)}: give it a Case in "
                "tests/integration/test_cross_seller.py naming each one and its type"
            )
        for path, type_name in case.ids.items():
            for pk in sorted(b.ids[type_name]):
                value = with_value(case.input, path, global_id(type_name, pk))
                payload = "{ errors { code field } }"
                query = f"mutation {{ {name}(input: {literal(value)}) {payload} }}"
                body = await sellers.ask(query, sellers.a_owner)
                errors = ((body.get("data") or {}).get(name) or {}).get("errors") or []
                codes = {e["code"] for e in errors}
                if not codes or not codes <= NOT_FOUND_CODES or body.get("errors"):
                    problems.append(f"{name} with B's {type_name} {pk} at {path}: {body}")

    assert not problems, "\n".join(problems)
    assert await seen_by_owner(sellers) == api_before, "B's owner sees B changed"
    for org_id, rows in rows_before.items():
        assert await snapshot(db, org_id) == rows, f"rows of organisation {org_id} changed"
