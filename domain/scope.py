"""What an actor may read of one kind of object: the ``ReadScope`` every read path obeys.

Each area decides it in one function, from the actor's permissions (the role matrix in
``domain.accounts.model``): ``domain/orders/scope.py``, ``domain/catalog/scope.py``,
``domain/inventory/scope.py``, ``domain/accounts/scope.py``; a supplier actor is then narrowed by
``domain/suppliers/scope.py``.  Lists, totals, ``node``, DataLoaders, nested fields, filters and
sorts all ask that function, so no two ways of reaching an object can disagree:

- not ``allowed``: lists, totals and filters that name such objects are FORBIDDEN; ``node``,
  loaders and nested look-ups find nothing (NOT_FOUND, exactly as for an id that does not exist
  or belongs to another seller, so nothing leaks about existence);
- ``supplier_id`` set: only what that drop-ship supplier's own orders reach;
- otherwise: everything of the actor's organisation (row-level security keeps other sellers out).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from enum import StrEnum

from domain.accounts.model import Actor, Scope
from domain.errors import Forbidden, NotFound


class Area(StrEnum):
    """A set of object types read under one rule."""

    ORDERS = "orders"  # orders, their lines, status history and remarks
    SHOPS = "shops"
    BUYERS = "buyers"  # buyers (买家) and receivers' full phone numbers
    CATALOG = "catalog"  # products and SKUs
    STOCK = "stock"  # warehouses, zones, bins, stock, ledger, reservations, backorders, policies
    USERS = "users"
    API_TOKENS = "API tokens"
    NOTIFICATIONS = "notifications"  # alerts for staff (提醒): reservation backlog, stock drift


#: The permissions that open each area: any one of them does.  Shops are where orders come from
#: and where stock is listed (库存同步), so either reader needs them.
AREA_PERMISSIONS: dict[Area, frozenset[Scope]] = {
    Area.ORDERS: frozenset({Scope.ORDERS_READ}),
    Area.SHOPS: frozenset({Scope.ORDERS_READ, Scope.STOCK_READ}),
    Area.BUYERS: frozenset({Scope.BUYERS_READ}),
    Area.CATALOG: frozenset({Scope.CATALOG_READ}),
    Area.STOCK: frozenset({Scope.STOCK_READ}),
    Area.USERS: frozenset({Scope.USERS_READ}),
    Area.API_TOKENS: frozenset({Scope.TOKENS_WRITE}),
    # Alerts are about orders and stock: whoever works either hears of them.
    Area.NOTIFICATIONS: frozenset({Scope.ORDERS_READ, Scope.STOCK_READ}),
}


@dataclass(frozen=True)
class ReadScope:
    area: Area
    allowed: bool
    #: Only what this supplier's orders reach (set by domain/suppliers/scope.py alone).
    supplier_id: int | None = None

    @property
    def narrowed(self) -> bool:
        return self.supplier_id is not None

    def require(self, field: str | None = None) -> ReadScope:
        """This scope if anything is readable, else FORBIDDEN (for lists, totals, filters)."""
        if not self.allowed:
            needed = " or ".join(f"'{s.value}'" for s in Scope if s in AREA_PERMISSIONS[self.area])
            raise Forbidden(f"Reading {self.area.value} needs the {needed} permission", field=field)
        return self


def permitted(actor: Actor, area: Area) -> ReadScope:
    """The area as the actor's permissions open it, before any supplier narrowing."""
    return ReadScope(area, allowed=bool(actor.scopes & AREA_PERMISSIONS[area]))


def require_found(ids: Iterable[int], found: Collection[int], what: str, field: str) -> None:
    """NOT_FOUND for an id argument outside ``found`` (the ids the actor may read): unknown,
    another seller's and out of reach are one answer."""
    if any(pk not in found for pk in ids):
        raise NotFound(f"{what} not found", field=field)
