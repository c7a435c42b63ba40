"""Domain enums exposed in the schema (one definition, shared by every area's types)."""

from __future__ import annotations

import strawberry

from domain.accounts.model import Role, Scope
from domain.money import Currency
from domain.notifications.model import Severity
from domain.orders.model import OrderSort, OrderStatus
from domain.shops.model import Channel

OrderStatusEnum = strawberry.enum(OrderStatus, name="OrderStatus")
OrderSortEnum = strawberry.enum(OrderSort, name="OrderSort")
ChannelEnum = strawberry.enum(Channel, name="Channel")
RoleEnum = strawberry.enum(Role, name="Role")
ScopeEnum = strawberry.enum(
    Scope,
    name="Scope",
    description="A permission, also what an API token may be given (the README's role matrix).",
)
CurrencyEnum = strawberry.enum(
    Currency, name="CurrencyCode", description="ISO 4217 code of a currency."
)
SeverityEnum = strawberry.enum(
    Severity, name="Severity", description="How urgent a notification is."
)
