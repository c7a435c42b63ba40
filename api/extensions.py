"""Query guards: cost limit and the CSRF check for cookie-authenticated mutations.

Depth, alias and token limits are strawberry's own extensions (see api/schema.py); the cost
rule below adds what they cannot: a list of 100 orders each with 100 lines costs 10,000, not 3.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
    VariableNode,
    get_named_type,
    get_nullable_type,
    is_list_type,
)
from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType

from api.auth import csrf_ok
from api.errors import ApiError
from domain.errors import ErrorCode

#: A connection without ``first``/``last`` returns this many nodes (see api/pagination.py).
DEFAULT_PAGE = 20
#: What a plain list field (an order's lines, a product's SKUs) is assumed to hold.
LIST_ESTIMATE = 10


def cost_rule(max_cost: int, max_page: int) -> type[ValidationRule]:
    """Cost = every field 1, times the size of each list it sits in.

    Connections count ``first``/``last`` (a variable counts as the largest page); a connection's
    own ``edges``/``nodes`` are not counted twice; other list fields count ``LIST_ESTIMATE``.
    """

    class QueryCostRule(ValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            self.fragments: dict[str, FragmentDefinitionNode] = {
                d.name.value: d
                for d in context.document.definitions
                if isinstance(d, FragmentDefinitionNode)
            }

        def _fields(
            self, selection_set: SelectionSetNode | None, seen: frozenset[str] = frozenset()
        ) -> Iterator[FieldNode]:
            if selection_set is None:
                return
            for selection in selection_set.selections:
                if isinstance(selection, FieldNode):
                    yield selection
                elif isinstance(selection, InlineFragmentNode):
                    yield from self._fields(selection.selection_set, seen)
                elif isinstance(selection, FragmentSpreadNode):
                    name = selection.name.value
                    fragment = self.fragments.get(name)
                    if fragment is not None and name not in seen:
                        yield from self._fields(fragment.selection_set, seen | {name})

        @staticmethod
        def _multiplier(node: FieldNode, parent: GraphQLNamedType, field_type: Any) -> int:
            arguments = {arg.name.value: arg.value for arg in node.arguments or ()}
            for key in ("first", "last"):
                value = arguments.get(key)
                if isinstance(value, IntValueNode):
                    return max(1, int(value.value))
                if isinstance(value, VariableNode):
                    return max_page
            named = get_named_type(field_type)
            if named is not None and named.name.endswith("Connection"):
                return DEFAULT_PAGE
            if parent.name.endswith("Connection"):
                return 1  # edges / nodes: the connection already counted its page
            return LIST_ESTIMATE if is_list_type(get_nullable_type(field_type)) else 1

        def _cost(self, selection_set: SelectionSetNode | None, parent: Any, depth: int) -> int:
            if depth > 64:
                return max_cost + 1  # the depth limiter reports it; do not recurse forever
            total = 0
            for node in self._fields(selection_set):
                field_def = (
                    parent.fields.get(node.name.value)
                    if isinstance(parent, GraphQLObjectType | GraphQLInterfaceType)
                    else None
                )
                if field_def is None:
                    total += 1  # __typename, or a field the validator reports anyway
                    continue
                child = (
                    self._cost(node.selection_set, get_named_type(field_def.type), depth + 1)
                    if node.selection_set
                    else 0
                )
                total += 1 + self._multiplier(node, parent, field_def.type) * child
            return total

        def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
            root = self.context.schema.get_root_type(node.operation)
            cost = self._cost(node.selection_set, root, 0)
            if cost > max_cost:
                self.report_error(
                    GraphQLError(
                        f"Query cost {cost} exceeds the limit of {max_cost}; "
                        "ask for fewer items per page or fewer nested lists",
                        node,
                        extensions={"code": "QUERY_TOO_COMPLEX", "cost": cost, "maxCost": max_cost},
                    )
                )

    return QueryCostRule


class CsrfGuard(SchemaExtension):
    """Cookie-authenticated mutations must carry the CSRF header (double-submit)."""

    async def on_execute(self) -> Any:
        context = self.execution_context.context
        if (
            getattr(context, "via_cookie", False)
            and self.execution_context.operation_type is OperationType.MUTATION
            and not csrf_ok(context.request.headers, context.request.cookies)
        ):
            raise ApiError(
                ErrorCode.FORBIDDEN, "Missing or wrong X-CSRF-Token header", reason="CSRF"
            )
        yield
