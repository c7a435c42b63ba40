"""Field permissions: declared on fields, checked before a resolver runs.

A denied field fails with ``extensions.code`` UNAUTHENTICATED or FORBIDDEN.  Guarded fields are
nullable so one refused field does not null its parents.  Two kinds, both reading the role matrix:

- ``require_scope``: the actor holds a permission (money amounts, phone numbers, writes);
- ``readable``: the actor may read an area, asked of the same scope function the services, the
  DataLoaders and ``node`` ask (``domain/*/scope.py``), so a field refuses exactly what a list
  refuses.  Put it on every field whose objects belong to another area than its parent's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from strawberry.permission import BasePermission
from strawberry.types import Info

from api.context import Context
from api.errors import ApiError
from domain.accounts import scope as accounts_scope
from domain.accounts.model import Actor, Role, Scope
from domain.catalog import scope as catalog_scope
from domain.errors import ErrorCode
from domain.inventory import scope as inventory_scope
from domain.orders import scope as orders_scope
from domain.scope import AREA_PERMISSIONS, ReadScope


class IsAuthenticated(BasePermission):
    message = "Sign in first"
    error_extensions = {"code": "UNAUTHENTICATED"}  # noqa: RUF012

    def has_permission(self, source: Any, info: Info[Context, Any], **kwargs: Any) -> bool:
        return info.context.actor is not None


class _ActorPermission(BasePermission):
    error_extensions = {"code": "FORBIDDEN"}  # noqa: RUF012

    def allows(self, actor: Actor) -> bool:
        raise NotImplementedError

    def has_permission(self, source: Any, info: Info[Context, Any], **kwargs: Any) -> bool:
        actor = info.context.actor
        if actor is None:
            # Raised, not stored on ``self``: strawberry keeps one instance per field for every
            # request, so a message set here once would answer every later refusal too.
            raise ApiError(ErrorCode.UNAUTHENTICATED, "Sign in first")
        return self.allows(actor)


def require_scope(scope: Scope) -> type[BasePermission]:
    """A permission class that passes when the actor (user role or API token) has ``scope``."""

    def allows(self: _ActorPermission, actor: Actor) -> bool:
        return actor.has_scope(scope)

    return type(
        f"Requires_{scope.name}",
        (_ActorPermission,),
        {"allows": allows, "message": f"This needs the '{scope.value}' permission"},
    )


def readable(scope_of: Callable[[Actor], ReadScope]) -> type[BasePermission]:
    """A permission class that passes when ``scope_of(actor)`` allows reading at all (what it
    then reaches, e.g. a supplier's own orders, the DataLoaders and services narrow)."""

    def allows(self: _ActorPermission, actor: Actor) -> bool:
        return scope_of(actor).allowed

    # Every ReadScope names its area; asking with no permissions at all reveals which.
    area = scope_of(Actor(org_id=0, role=Role.OWNER)).area
    needed = " or ".join(f"'{s.value}'" for s in Scope if s in AREA_PERMISSIONS[area])
    return type(
        f"Reads_{area.name}",
        (_ActorPermission,),
        {"allows": allows, "message": f"Reading {area.value} needs the {needed} permission"},
    )


OrdersRead = readable(orders_scope.orders)
#: Buyers and full phone numbers (personal information): never for a supplier.
BuyersRead = readable(orders_scope.buyers)
ShopsRead = readable(catalog_scope.shops)
CatalogRead = readable(catalog_scope.catalog)
StockRead = readable(inventory_scope.stock)
UsersRead = readable(accounts_scope.users)
ApiTokensRead = readable(accounts_scope.api_tokens)
#: Money amounts: never for a drop-ship supplier, only for tokens given ``money:read``.
MoneyRead = require_scope(Scope.MONEY_READ)
