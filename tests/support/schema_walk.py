"""Build GraphQL queries from the schema itself (introspected at test time), and read their
answers back as the objects they contain.

The scope tests use this so that they grow with the schema: a new query field, argument or
Node type is walked without anyone editing the tests, or the walk stops and says what it does
not know (``WalkGap``) instead of skipping it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from graphql import (
    GraphQLArgument,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    Undefined,
    get_named_type,
    get_nullable_type,
    is_leaf_type,
)
from strawberry.relay import GlobalID

from api.schema import schema as strawberry_schema
from db.settings import Settings

#: What a connection's page asks for: more than the world holds of anything.
PAGE = 100


class WalkGap(AssertionError):
    """The walk met something it does not know how to call: the message says what to add."""


def schema() -> GraphQLSchema:
    return strawberry_schema._schema


def query_fields() -> dict[str, GraphQLField]:
    root = schema().query_type
    assert root is not None
    return dict(root.fields)


def mutation_fields() -> dict[str, GraphQLField]:
    root = schema().mutation_type
    assert root is not None
    return dict(root.fields)


def node_types() -> set[str]:
    node = schema().get_type("Node")
    return {
        t.name
        for t in schema().type_map.values()
        if isinstance(t, GraphQLObjectType) and node in t.interfaces
    }


def is_connection(t: GraphQLNamedType) -> bool:
    return isinstance(t, GraphQLObjectType) and {"edges", "pageInfo"} <= t.fields.keys()


def item_type(field: GraphQLField) -> GraphQLNamedType:
    """The type of the objects a field answers with (a connection's node type)."""
    named = get_named_type(field.type)
    if is_connection(named):
        assert isinstance(named, GraphQLObjectType)
        edge = get_named_type(named.fields["edges"].type)
        assert isinstance(edge, GraphQLObjectType)
        return get_named_type(edge.fields["node"].type)
    return named


def is_id(t: Any) -> bool:
    named = get_named_type(t)
    return named is not None and named.name == "ID"


def is_list(t: Any) -> bool:
    return isinstance(get_nullable_type(t), GraphQLList)


def required(arg: GraphQLArgument) -> bool:
    return isinstance(arg.type, GraphQLNonNull) and arg.default_value is Undefined


def type_named_by(argument: str, default: str | None = None) -> str | None:
    """The object type an id argument names, from its name: ``shopIds`` -> Shop,
    ``orderLineId`` -> OrderLine; ``id`` -> ``default`` (the field's own type)."""
    if argument == "id":
        return default
    found = re.fullmatch(r"([a-z][A-Za-z]*?)Ids?", argument)
    return found.group(1)[0].upper() + found.group(1)[1:] if found else None


def literal(value: Any) -> str:
    """A GraphQL input literal (object keys unquoted)."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {literal(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(literal(v) for v in value) + "]"
    return json.dumps(value)


def global_id(type_name: str, pk: int) -> str:
    return str(GlobalID(type_name, str(pk)))


def decode(value: str) -> tuple[str, int] | None:
    try:
        gid = GlobalID.from_id(value)
        return gid.type_name, int(gid.node_id)
    except Exception:
        return None


#: Fills a required id argument of a nested field: (owner type, field, argument) -> id.
Filler = Callable[[str, str, str], str]


def arguments(
    owner: str, name: str, field: GraphQLField, fill: Filler, extra: dict[str, Any] | None = None
) -> str:
    """The argument list of a field: ``first`` for a connection, required ids filled."""
    values: dict[str, Any] = dict(extra or {})
    for arg_name, arg in field.args.items():
        if arg_name in values:
            continue
        if arg_name == "first" and is_connection(get_named_type(field.type)):
            values[arg_name] = PAGE
        elif required(arg):
            if not is_id(arg.type) or is_list(arg.type):
                raise WalkGap(
                    f"{owner}.{name} has a required argument '{arg_name}' the scope walk "
                    "cannot fill: teach tests/support/schema_walk.py a value for it"
                )
            values[arg_name] = fill(owner, name, arg_name)
    if not values:
        return ""
    return "(" + ", ".join(f"{k}: {literal(v)}" for k, v in values.items()) + ")"


def is_value_object(t: GraphQLNamedType) -> bool:
    """An object without an identity whose fields are all leaves (``Money``, ``Receiver``):
    part of the object holding it, so selected with it at any depth (a money amount or a phone
    number must be walked wherever its holder is)."""
    return (
        isinstance(t, GraphQLObjectType)
        and "id" not in t.fields
        and not is_connection(t)
        and all(
            is_leaf_type(get_named_type(f.type)) and not any(map(required, f.args.values()))
            for f in t.fields.values()
        )
    )


def selection(t: GraphQLNamedType, depth: int, fill: Filler) -> str:
    """Every leaf field of ``t`` and, ``depth`` levels down, of the objects it holds."""
    if isinstance(t, GraphQLObjectType) and is_connection(t):
        edge = get_named_type(t.fields["edges"].type)
        assert isinstance(edge, GraphQLObjectType)
        node = get_named_type(edge.fields["node"].type)
        parts = ["__typename", f"edges {{ node {{ {selection(node, depth, fill)} }} }}"]
        for name, field in t.fields.items():
            named = get_named_type(field.type)
            if name in {"edges", "nodes", "pageInfo"}:
                continue
            if is_leaf_type(named):
                parts.append(name)
            else:
                parts.append(f"{name} {{ {selection(named, 0, fill)} }}")
        return " ".join(parts)
    assert isinstance(t, GraphQLObjectType | GraphQLInterfaceType), t
    parts = ["__typename"]
    for name, field in t.fields.items():
        named = get_named_type(field.type)
        if is_leaf_type(named):
            parts.append(name + arguments(t.name, name, field, fill))
        elif depth > 0 or is_value_object(named):
            inner = selection(named, max(depth - 1, 0), fill)
            parts.append(f"{name}{arguments(t.name, name, field, fill)} {{ {inner} }}")
    return " ".join(parts)


@dataclass(frozen=True)
class Found:
    """An object in an answer: its GraphQL type, its fields as answered, where it is."""

    type_name: str
    fields: dict[str, Any]
    path: tuple[str | int, ...]


def objects(data: Any, path: tuple[str | int, ...] = ()) -> Iterator[Found]:
    if isinstance(data, dict):
        if "__typename" in data:
            yield Found(data["__typename"], data, path)
        for key, value in data.items():
            yield from objects(value, (*path, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from objects(value, (*path, index))


def error_codes(body: dict[str, Any]) -> dict[tuple[str | int, ...], str | None]:
    """Each error's path and ``extensions.code`` (None when it has none: a masked error)."""
    return {
        tuple(e.get("path") or ()): (e.get("extensions") or {}).get("code")
        for e in body.get("errors") or []
    }


def input_id_paths(
    t: Any, prefix: tuple[str, ...] = (), seen: frozenset[str] = frozenset()
) -> Iterator[tuple[tuple[str, ...], bool]]:
    """Every id inside an input type: (path of field names, whether it is a list of ids)."""
    named = get_named_type(t)
    if not isinstance(named, GraphQLInputObjectType) or named.name in seen:
        return
    for name, field in named.fields.items():
        if is_id(field.type):
            yield (*prefix, name), is_list(field.type)
        else:
            yield from input_id_paths(field.type, (*prefix, name), seen | {named.name})


def path_to(type_name: str) -> list[str] | None:
    """The shortest way from Query to objects of ``type_name`` through fields without required
    arguments (connections through ``nodes``), as field names."""
    frontier: list[tuple[GraphQLNamedType, list[str]]] = []
    root = schema().query_type
    assert root is not None
    frontier.append((root, []))
    seen: set[str] = set()
    while frontier:
        current, path = frontier.pop(0)
        if current.name == type_name and path:
            return path
        if current.name in seen or not isinstance(current, GraphQLObjectType):
            continue
        seen.add(current.name)
        for name, field in current.fields.items():
            if name == "node" or any(required(a) for a in field.args.values()):
                continue
            named = get_named_type(field.type)
            if is_connection(named):
                frontier.append((item_type(field), [*path, name, "nodes"]))
            elif isinstance(named, GraphQLObjectType):
                frontier.append((named, [*path, name]))
    return None


def roomy(settings: Settings) -> Settings:
    """The walk asks for whole objects, many at a time: lift the cost, size and rate guards
    (tested on their own in test_api_guards) so they do not stand in for scope checks."""
    return settings.model_copy(
        update={
            "max_query_cost": 10**7,
            "max_query_tokens": 10**6,
            "max_aliases": 1000,
            "rate_limit_per_minute": 10**6,
        }
    )
