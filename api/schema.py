"""The GraphQL schema: every area's queries, mutations and subscriptions merged, plus guards."""

from __future__ import annotations

import strawberry
from graphql import GraphQLError
from strawberry.extensions import (
    AddValidationRules,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    QueryDepthLimiter,
)
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext

import api.enums  # noqa: F401  (registers the domain enums with strawberry)
from api.accounts.mutations import AccountMutations
from api.accounts.queries import AccountQueries
from api.catalog.queries import CatalogQueries
from api.errors import MaskUnexpectedErrors, log_errors
from api.extensions import CsrfGuard, OperationNameGuard, TextInputGuard, cost_rule
from api.inventory.mutations import InventoryMutations
from api.inventory.queries import InventoryQueries
from api.money import SCALARS
from api.node import NodeQueries, check_node_resolvers
from api.notifications.mutations import NotificationMutations
from api.notifications.queries import NotificationQueries
from api.orders.mutations import OrderMutations
from api.orders.queries import OrderQueries
from api.orders.subscriptions import OrderSubscriptions
from db.settings import Settings

Query = merge_types(
    "Query",
    (
        NodeQueries,
        AccountQueries,
        OrderQueries,
        CatalogQueries,
        InventoryQueries,
        NotificationQueries,
    ),
)
Mutation = merge_types(
    "Mutation", (AccountMutations, OrderMutations, InventoryMutations, NotificationMutations)
)
Subscription = merge_types("Subscription", (OrderSubscriptions,))


class OrderflowSchema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        # Instead of strawberry's logger, which logs every error (expected ones included) at
        # ERROR with its traceback.
        log_errors(errors, execution_context)


def build_schema(settings: Settings) -> strawberry.Schema:
    schema = OrderflowSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        config=StrawberryConfig(auto_camel_case=True, scalar_map=SCALARS),
        extensions=[
            lambda: QueryDepthLimiter(max_depth=settings.max_query_depth),
            lambda: MaxAliasesLimiter(max_alias_count=settings.max_aliases),
            lambda: MaxTokensLimiter(max_token_count=settings.max_query_tokens),
            lambda: AddValidationRules(
                [cost_rule(settings.max_query_cost, settings.max_page_size)]
            ),
            OperationNameGuard,
            TextInputGuard,
            CsrfGuard,
            MaskUnexpectedErrors,
        ],
    )
    check_node_resolvers(schema)
    return schema


#: For tools that want a module-level schema (strawberry's export-schema, IDE plugins).
schema = build_schema(Settings(_env_file=None))


def export_sdl() -> str:
    return schema.as_str() + "\n"
