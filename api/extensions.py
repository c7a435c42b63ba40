"""Query guards: cost limit, one operation at a time, clean text, and the CSRF check for
cookie-authenticated mutations.

Depth, alias and token limits are strawberry's own extensions (see api/schema.py); the cost
rule below adds what they cannot: a list of 100 orders each with 100 lines costs 10,000, not 3.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from graphql import (
    BREAK,
    ArgumentNode,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    InlineFragmentNode,
    IntValueNode,
    ObjectFieldNode,
    OperationDefinitionNode,
    SelectionSetNode,
    StringValueNode,
    ValidationContext,
    ValidationRule,
    VariableDefinitionNode,
    VariableNode,
    Visitor,
    get_named_type,
    get_nullable_type,
    is_list_type,
    visit,
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


class OperationNameGuard(SchemaExtension):
    """A document with several operations must say which to run (``operationName``).

    strawberry would otherwise run the first one, which the client may not have meant (and
    which decides the operation type that the HTTP method is checked against)."""

    def on_operation(self) -> Iterator[None]:
        # Before parsing, ``operation_name`` is exactly what the client sent; afterwards
        # strawberry falls back to the name of the document's first operation.
        self._named = self.execution_context.operation_name is not None
        yield

    def on_validate(self) -> Iterator[None]:
        document = self.execution_context.graphql_document
        if document is not None and not self._named:
            count = sum(isinstance(d, OperationDefinitionNode) for d in document.definitions)
            if count > 1:
                raise ApiError(
                    ErrorCode.INVALID_INPUT,
                    f"The document holds {count} operations; name the one to run in operationName",
                    field="operationName",
                )
        yield


#: What no text input may hold: control characters other than tab and line breaks (PostgreSQL
#: refuses NUL outright, the others corrupt exports and labels), and unpaired surrogates (JSON
#: can spell them, UTF-8 cannot encode them).
_FORBIDDEN_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


def _refuse(where: str, char: str) -> ApiError:
    return ApiError(
        ErrorCode.INVALID_INPUT,
        f"'{where}' contains U+{ord(char):04X}; text may not hold control characters other than "
        "tab and line breaks, nor unpaired surrogates",
        field=where,
    )


class _LiteralText(Visitor):
    """The first string literal of a document (argument, input field, variable default) that
    holds a forbidden character, with the dotted path of the input it belongs to."""

    def __init__(self) -> None:
        super().__init__()
        self.path: list[str] = []
        self.found: tuple[str, str] | None = None

    def enter_variable_definition(self, node: VariableDefinitionNode, *_: Any) -> None:
        self.path.append(node.variable.name.value)

    def leave_variable_definition(self, node: VariableDefinitionNode, *_: Any) -> None:
        self.path.pop()

    def enter_argument(self, node: ArgumentNode, *_: Any) -> None:
        self.path.append(node.name.value)

    def leave_argument(self, node: ArgumentNode, *_: Any) -> None:
        self.path.pop()

    def enter_object_field(self, node: ObjectFieldNode, *_: Any) -> None:
        self.path.append(node.name.value)

    def leave_object_field(self, node: ObjectFieldNode, *_: Any) -> None:
        self.path.pop()

    def enter_string_value(self, node: StringValueNode, *_: Any) -> Any:
        match = _FORBIDDEN_TEXT.search(node.value)
        if match is None:
            return None
        self.found = (".".join(self.path), match.group())
        return BREAK


def _bad_literal(document: DocumentNode) -> tuple[str, str] | None:
    finder = _LiteralText()
    visit(document, finder)
    return finder.found


def _bad_variable(variables: dict[str, Any]) -> tuple[str, str] | None:
    # Iterative: a client chooses how deeply its JSON nests.
    stack: list[tuple[str, Any]] = list(variables.items())
    while stack:
        path, value = stack.pop()
        if isinstance(value, str):
            match = _FORBIDDEN_TEXT.search(value)
            if match is not None:
                return path, match.group()
        elif isinstance(value, dict):
            stack.extend((f"{path}.{key}", item) for key, item in value.items())
        elif isinstance(value, list):
            stack.extend((f"{path}.{index}", item) for index, item in enumerate(value))
    return None


class TextInputGuard(SchemaExtension):
    """Refuse forbidden characters in every text input, given as a literal or in variables
    (nested input objects and lists included), with INVALID_INPUT before any resolver runs:
    before, a NUL byte in a search or a remark reached PostgreSQL and came back as a masked
    "Unexpected error." after seconds of traceback rendering."""

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        query = context.query
        # A literal can only hold such a character if the document's text does, raw or as a
        # \u escape; most documents have neither, and then their tree need not be walked.
        suspect = query is None or "\\u" in query or _FORBIDDEN_TEXT.search(query) is not None
        found = (
            _bad_literal(context.graphql_document)
            if suspect and context.graphql_document is not None
            else None
        ) or _bad_variable(context.variables or {})
        if found is not None:
            raise _refuse(*found)
        yield
