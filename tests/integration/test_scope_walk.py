"""Every query field and every Node type, asked by every kind of caller, answers nothing the role
matrix forbids.  Generated from the schema at test time: a new query field, argument or Node type
is walked with no edit here, or the walk fails saying what to add.

Callers: a user of each role of seller A (its SUPPLIER belongs to A's first supplier), the user of
A's second supplier, and an API token per scope.  Seller B holds the same kinds of data.  For
each answer the walk checks: no object of seller B; no object of a type the caller may not read
(a list answers FORBIDDEN, ``node`` NOT_FOUND); for a supplier, nothing beyond what its own
orders reach; no money amount without ``money:read`` and no phone number without
``buyers:read``; every error typed.  Lists answer exactly what the caller may read of A.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
import pytest_asyncio
from graphql import GraphQLObjectType, get_named_type, is_leaf_type

from db.engine import Database
from db.settings import Settings
from domain.accounts.model import Scope
from tests.support.api import GraphQLClient, graphql_client
from tests.support.schema_walk import (
    Filler,
    Found,
    WalkGap,
    arguments,
    decode,
    error_codes,
    global_id,
    is_connection,
    item_type,
    node_types,
    objects,
    query_fields,
    required,
    roomy,
    schema,
    selection,
    type_named_by,
)
from tests.support.world import (
    NODE_TABLES,
    Caller,
    SellerWorld,
    add_api_tokens,
    build_seller,
    callers,
)

#: Anyone signed in reads these (the viewer; its own organisation, which ``visible`` pins).
ANYONE = frozenset[Scope]()
#: Parts of another object: read with it, never on their own.
PART = None

#: The spec: which permission reads each type the API answers with (any one of them).  Written
#: out here, apart from the code under test; a type missing here fails the walk.
TYPE_READ: dict[str, frozenset[Scope] | None] = {
    "Viewer": ANYONE,
    "Organization": ANYONE,
    "User": frozenset({Scope.USERS_READ}),
    "ApiToken": frozenset({Scope.TOKENS_WRITE}),
    "Order": frozenset({Scope.ORDERS_READ}),
    "OrderLine": frozenset({Scope.ORDERS_READ}),
    "Buyer": frozenset({Scope.BUYERS_READ}),
    "Shop": frozenset({Scope.ORDERS_READ, Scope.STOCK_READ}),
    "Product": frozenset({Scope.CATALOG_READ}),
    "Sku": frozenset({Scope.CATALOG_READ}),
    "Warehouse": frozenset({Scope.STOCK_READ}),
    "Zone": frozenset({Scope.STOCK_READ}),
    "Bin": frozenset({Scope.STOCK_READ}),
    "StockLevel": frozenset({Scope.STOCK_READ}),
    "StockLedgerEntry": frozenset({Scope.STOCK_READ}),
    "Reservation": frozenset({Scope.STOCK_READ}),
    "Backorder": frozenset({Scope.STOCK_READ}),
    "ShopStockPolicy": frozenset({Scope.STOCK_READ}),
    "Notification": frozenset({Scope.ORDERS_READ, Scope.STOCK_READ}),
    "ReservationQueue": frozenset({Scope.STOCK_READ}),
    "Receiver": PART,
    "OrderStatusChange": PART,
    "OrderRemark": PART,
    "StockTotals": PART,
    "Money": PART,
}
#: What a supplier reaches through its own orders (nothing else, whatever its permissions).
SUPPLIER_TYPES = frozenset({"Order", "OrderLine", "Shop", "Sku", "Product"})
#: Fields that only some callers may see, by the permission they need.
GUARDED_FIELDS: dict[str, Scope] = {"phone": Scope.BUYERS_READ}
#: Every money amount is a ``Money`` (or, bare, a ``Fen``): a field of either type is money.
MONEY_TYPES = frozenset({"Money", "Fen"})


def is_money(owner: str, field: str) -> bool:
    """Whether ``owner.field`` answers an amount of money (a Money's own parts are read with
    it: they are guarded by the field that holds the Money)."""
    owner_type = schema().type_map.get(owner)
    if owner in MONEY_TYPES or not isinstance(owner_type, GraphQLObjectType):
        return False
    found = owner_type.fields.get(field)
    return found is not None and get_named_type(found.type).name in MONEY_TYPES


@dataclass
class Walk:
    client: GraphQLClient
    a: SellerWorld
    b: SellerWorld
    callers: list[Caller]

    def b_ids(self, type_name: str) -> set[int]:
        return self.b.ids.get(type_name, set())

    def probes(self, type_name: str) -> list[tuple[str, int]]:
        """The objects of a type each caller asks for by id: all of seller A's where who may
        see which one differs (what suppliers reach, users who read themselves), a few of
        the rest (ledger rows are all alike), and a few of B's (test_cross_seller tries every
        one of B's ids).  Keeps the walk to seconds."""
        a = sorted(self.a.ids[type_name])
        if type_name not in SUPPLIER_TYPES | {"User", "Organization"}:
            a = [*a[:2], *a[-1:]] if len(a) > 3 else a
        b = sorted(self.b.ids[type_name])
        return [(type_name, pk) for pk in [*a, *b[:2]]]

    def fill(self, owner: str, field: str, argument: str) -> str:
        """A nested field's required id: one of seller A's."""
        type_name = type_named_by(argument)
        if type_name is None or type_name not in self.a.ids:
            raise WalkGap(
                f"{owner}.{field}({argument}:) names no type the world holds: add it to "
                "tests/support/world.py (NODE_TABLES and build_seller)"
            )
        return global_id(type_name, self.a.any_id(type_name))


@pytest_asyncio.fixture(scope="module")
async def walk(db: Database, settings: Settings) -> AsyncIterator[Walk]:
    a, b = await build_seller(db), await build_seller(db)
    async with graphql_client(roomy(settings)) as client:
        tokens = await add_api_tokens(db, a)
        await add_api_tokens(db, b)
        yield Walk(client, a, b, callers(client, a, tokens))


# -- the oracle -------------------------------------------------------------------------------
def rule(type_name: str) -> frozenset[Scope] | None:
    if type_name not in TYPE_READ:
        raise WalkGap(
            f"The API answers with {type_name}: say in TYPE_READ (tests/integration/"
            "test_scope_walk.py) which permission reads it, and in SUPPLIER_TYPES whether a "
            "supplier reaches it through its orders"
        )
    return TYPE_READ[type_name]


def may_list(caller: Caller, type_name: str) -> bool:
    """Whether a list of this type answers the caller at all (else FORBIDDEN)."""
    needed = rule(type_name)
    if needed is PART or needed == ANYONE:
        return True
    if not caller.permissions & needed:
        return False
    return caller.supplier_id is None or type_name in SUPPLIER_TYPES


def visible(walk: Walk, caller: Caller, type_name: str, pk: int) -> bool:
    """Whether the caller may read this one object (of seller A: B's are never visible)."""
    if pk not in walk.a.ids.get(type_name, set()):
        return False
    if type_name == "Organization":
        return pk == caller.org_id
    if type_name == "User" and pk == caller.user_id:
        return True  # everyone reads itself
    if not may_list(caller, type_name):
        return False
    if caller.supplier_id is not None:
        return pk in walk.a.reach[caller.supplier_id][type_name]
    return True


def check_answer(walk: Walk, caller: Caller, body: dict[str, Any], where: str) -> list[str]:
    """Everything in an answer the caller may see; every error typed."""
    problems: list[str] = []
    codes = error_codes(body)
    for path, code in codes.items():
        if code not in {"FORBIDDEN", "NOT_FOUND"}:
            problems.append(f"{where}: untyped or unexpected error {code!r} at {path}: {body}")
    for found in objects(body.get("data")):
        problems += check_object(walk, caller, found, codes, where)
    return problems


def check_object(
    walk: Walk,
    caller: Caller,
    found: Found,
    codes: dict[tuple[str | int, ...], str | None],
    where: str,
) -> list[str]:
    problems: list[str] = []
    name, fields = found.type_name, found.fields
    if name.endswith(("Connection", "Edge")) or name == "PageInfo":
        return problems
    at = f"{where} at {'.'.join(map(str, found.path))}"
    needed = rule(name)
    if "id" in fields and name in NODE_TABLES:
        decoded = decode(fields["id"])
        if decoded is None or decoded[0] != name:
            problems.append(f"{at}: {name} with id {fields['id']!r}")
        elif not visible(walk, caller, name, decoded[1]):
            owner = "seller B's" if decoded[1] in walk.b_ids(name) else "a forbidden"
            problems.append(f"{at}: {owner} {name} {decoded[1]} leaked to {caller.name}")
    elif needed is not PART and not may_list(caller, name):
        problems.append(f"{at}: a {name} leaked to {caller.name}")
    for key, value in fields.items():
        guard = Scope.MONEY_READ if is_money(name, key) else GUARDED_FIELDS.get(key)
        if guard is not None:
            if caller.may(guard) and value is None:
                problems.append(f"{at}.{key}: null although {caller.name} has {guard.value}")
            if not caller.may(guard) and (
                value is not None or codes.get((*found.path, key)) != "FORBIDDEN"
            ):
                problems.append(f"{at}.{key}: {value!r} shown to {caller.name} without FORBIDDEN")
        if key != "id" and key.endswith("Id") and isinstance(value, str):
            ref = decode(value)
            if ref is not None and ref[1] in walk.b_ids(ref[0]):
                problems.append(f"{at}.{key}: refers to seller B's {ref[0]} {ref[1]}")
    return problems


# -- the walk ---------------------------------------------------------------------------------
async def ask(walk: Walk, caller: Caller, query: str) -> dict[str, Any]:
    response = await walk.client.post(query, token=caller.credential)
    body: dict[str, Any] = response.json()
    return body


def required_ids(field_name: str, field: Any) -> list[tuple[str, str]]:
    """(argument, type it names) for each required argument of a query field."""
    found = []
    for arg_name, arg in field.args.items():
        if not required(arg):
            continue
        type_name = type_named_by(arg_name, item_type(field).name)
        if type_name is None or type_name not in NODE_TABLES:
            raise WalkGap(
                f"Query.{field_name}({arg_name}:) is required and the walk cannot tell what it "
                "names: teach tests/support/schema_walk.py (type_named_by) or the world about it"
            )
        found.append((arg_name, type_name))
    return found


async def test_the_walk_knows_every_type_the_api_answers_with() -> None:
    missing_tables = sorted(node_types() - NODE_TABLES.keys())
    assert not missing_tables, (
        f"Node types {missing_tables} are unknown to the scope walk: add their table to "
        "NODE_TABLES in tests/support/world.py and make one in build_seller"
    )
    for name in node_types():
        rule(name)
    for name, field in query_fields().items():
        if name != "node":  # walked type by type
            rule(item_type(field).name)


async def test_every_query_field_answers_every_caller_within_the_matrix(walk: Walk) -> None:
    problems: list[str] = []
    fill: Filler = walk.fill
    for name, field in query_fields().items():
        if name == "node":
            continue  # walked type by type below
        result = item_type(field)
        needs = required_ids(name, field)
        allowed_types = [result.name, *(t for _, t in needs)]
        named = get_named_type(field.type)
        body_selection = "" if is_leaf_type(named) else f"{{ {selection(named, 2, fill)} }}"
        calls: list[tuple[dict[str, str], tuple[str, int] | None]] = [({}, None)]
        if needs:
            calls = []
            for arg_name, type_name in needs:  # one required id argument at a time
                for target in walk.probes(type_name):
                    calls.append(({arg_name: global_id(*target)}, target))
        for caller in walk.callers:
            may = all(may_list(caller, t) for t in allowed_types)
            for values, target in calls:
                args = arguments("Query", name, field, fill, values)
                body = await ask(walk, caller, f"{{ {name}{args} {body_selection} }}")
                where = f"{caller.name}: {name}{args}"
                problems += check_answer(walk, caller, body, where)
                code = error_codes(body).get((name,))
                data = (body.get("data") or {}).get(name)
                if not may:
                    expected = "FORBIDDEN"
                elif target is not None and not visible(walk, caller, *target):
                    expected = "NOT_FOUND"
                else:
                    expected = None
                if code != expected or (expected is None and data is None):
                    problems.append(f"{where}: expected {expected or 'data'}, got {body}")
                    continue
                if expected is None and not needs:
                    problems += check_complete(walk, caller, name, field, data, where)
                if name == "viewer":
                    problems += check_viewer(caller, data, where)
    assert not problems, "\n".join(problems)


def check_complete(
    walk: Walk, caller: Caller, name: str, field: Any, data: Any, where: str
) -> list[str]:
    """A list of a Node type holds exactly what the caller may read of seller A."""
    type_name = item_type(field).name
    if type_name not in NODE_TABLES:
        return []
    if is_connection(get_named_type(field.type)):
        rows = [edge["node"] for edge in data["edges"]]
    elif isinstance(data, list):
        rows = data
    else:
        return []
    got = {pk for row in rows if (d := decode(row["id"])) is not None for pk in [d[1]]}
    want = {pk for pk in walk.a.ids[type_name] if visible(walk, caller, type_name, pk)}
    if got != want:
        return [f"{where}: listed {sorted(got)}, may read {sorted(want)}"]
    if is_connection(get_named_type(field.type)) and data.get("totalCount") != len(want):
        return [f"{where}: totalCount {data.get('totalCount')} for {len(want)} readable"]
    return []


def check_viewer(caller: Caller, data: dict[str, Any], where: str) -> list[str]:
    expected = [s.name for s in Scope if s in caller.permissions]
    if data["scopes"] != expected:
        return [f"{where}: viewer.scopes {data['scopes']}, the matrix says {expected}"]
    return []


async def test_node_answers_every_caller_within_the_matrix(walk: Walk) -> None:
    problems: list[str] = []
    schema_types = schema().type_map
    empty = sorted({t for t in node_types() if not walk.a.ids[t] or not walk.b.ids[t]})
    assert not empty, f"The world holds no {empty}: make some in tests/support/world.py"
    ids = [target for type_name in sorted(node_types()) for target in walk.probes(type_name)]
    fragments = {
        t: f"... on {t} {{ {selection(schema_types[t], 0, walk.fill)} }}" for t in node_types()
    }
    for caller in walk.callers:
        for start in range(0, len(ids), 60):
            batch = ids[start : start + 60]
            query = " ".join(
                f'n{i}: node(id: "{global_id(t, pk)}") {{ __typename {fragments[t]} }}'
                for i, (t, pk) in enumerate(batch)
            )
            body = await ask(walk, caller, f"{{ {query} }}")
            problems += check_answer(walk, caller, body, f"{caller.name}: node")
            codes = error_codes(body)
            for i, (type_name, pk) in enumerate(batch):
                answer = (body.get("data") or {}).get(f"n{i}")
                where = f"{caller.name}: node({type_name} {pk})"
                if visible(walk, caller, type_name, pk):
                    if answer is None or decode(answer["id"]) != (type_name, pk):
                        problems.append(f"{where}: expected the object, got {answer}")
                elif answer is not None or codes.get((f"n{i}",)) != "NOT_FOUND":
                    problems.append(f"{where}: expected NOT_FOUND, got {answer}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("scope", list(Scope))
async def test_each_token_scope_opens_what_its_row_says(walk: Walk, scope: Scope) -> None:
    """A sanity check on the callers themselves: one token per scope, held to its creator."""
    [caller] = [c for c in walk.callers if c.name == f"token {scope.value}"]
    expected = frozenset() if scope is Scope.TOKENS_WRITE else frozenset({scope})
    assert caller.permissions == expected
