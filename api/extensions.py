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
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
    ValidationRule,
    VariableNode,
)
from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType

from api.auth import csrf_ok
from api.errors import ApiError
from domain.errors import ErrorCode

#: A connection without ``first``/``last`` returns this many nodes (see api/pagination.py).
DEFAULT_PAGE = 20


def cost_rule(max_cost: int, max_page: int) -> type[ValidationRule]:
    class QueryCostRule(ValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            self.fragments: dict[str, FragmentDefinitionNode] = {
                d.name.value: d
                for d in context.document.definitions
                if isinstance(d, FragmentDefinitionNode)
            }

        def _multiplier(self, node: FieldNode) -> int:
            names = {arg.name.value: arg.value for arg in node.arguments or ()}
            for key in ("first", "last"):
                value = names.get(key)
                if isinstance(value, IntValueNode):
                    return max(1, int(value.value))
                if isinstance(value, VariableNode):
                    return max_page
            return DEFAULT_PAGE if node.selection_set and "edges" in self._child_names(node) else 1

        def _child_names(self, node: FieldNode) -> set[str]:
            return {
                s.name.value
                for s in self._fields(node.selection_set)
                if isinstance(s, FieldNode)
            }

        def _fields(self, selection_set: SelectionSetNode | None, seen: frozenset[str] = frozenset()) -> Iterator[FieldNode]:
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

        def _cost(self, selection_set: SelectionSetNode | None, depth: int = 0) -> int:
            if depth > 50:
                return max_cost + 1  # the depth limiter reports it; do not recurse forever
            total = 0
            for node in self._fields(selection_set):
                child = self._cost(node.selection_set, depth + 1) if node.selection_set else 0
                total += 1 + self._multiplier(node) * child
            return total

        def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
            cost = self._cost(node.selection_set)
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

    async def on_execute(self) -> Any:  # type: ignore[override]
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
