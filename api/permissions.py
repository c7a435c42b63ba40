"""Field permissions: declared on fields, checked before a resolver runs.

A denied field fails with ``extensions.code`` UNAUTHENTICATED or FORBIDDEN.  Guarded fields are
nullable so one refused field does not null its parents.
"""

from __future__ import annotations

from typing import Any

from strawberry.permission import BasePermission
from strawberry.types import Info

from api.context import Context
from domain.accounts.model import Scope


class IsAuthenticated(BasePermission):
    message = "Sign in first"
    error_extensions = {"code": "UNAUTHENTICATED"}  # noqa: RUF012

    def has_permission(self, source: Any, info: Info[Context, Any], **kwargs: Any) -> bool:
        return info.context.actor is not None


class _ScopePermission(BasePermission):
    scope: Scope
    error_extensions = {"code": "FORBIDDEN"}  # noqa: RUF012

    def has_permission(self, source: Any, info: Info[Context, Any], **kwargs: Any) -> bool:
        actor = info.context.actor
        if actor is None:
            self.message = "Sign in first"
            self.error_extensions = {"code": "UNAUTHENTICATED"}
            return False
        return actor.has_scope(self.scope)


def require_scope(scope: Scope) -> type[BasePermission]:
    """A permission class that passes when the actor (user role or API token) has ``scope``."""
    return type(
        f"Requires_{scope.name}",
        (_ScopePermission,),
        {"scope": scope, "message": f"This needs the '{scope.value}' permission"},
    )


OrdersRead = require_scope(Scope.ORDERS_READ)
CatalogRead = require_scope(Scope.CATALOG_READ)
StockRead = require_scope(Scope.STOCK_READ)
UsersRead = require_scope(Scope.USERS_READ)
#: Money amounts: never for a drop-ship supplier, only for tokens given ``money:read``.
MoneyRead = require_scope(Scope.MONEY_READ)
#: Buyers and full phone numbers (personal information): ``buyers:read``.
BuyersRead = require_scope(Scope.BUYERS_READ)
TokensWrite = require_scope(Scope.TOKENS_WRITE)
