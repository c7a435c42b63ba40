"""The one place that narrows what a drop-ship supplier (代发供应商) can reach.

A SUPPLIER actor works its own orders in a portal.  It reaches:

- its own orders (``orders.supplier_id`` is its supplier), with their lines, status history and
  remarks, the shops they came from, and the products and SKUs on their lines (a product only
  through those SKUs: ``Product.skus`` lists no other) — in lists, totals, ``node``, nested
  fields and subscriptions alike;
- its own user and organisation (``viewer``), like every actor.

It never reaches another supplier's or the seller's own orders, the rest of the catalog, stock
of any kind (levels, ledger, reservations, backorders, warehouses, zones, bins, stock policies),
buyers, users or API tokens; and its role holds neither ``money:read`` nor ``buyers:read``, so
money amounts, full phone numbers (only ``maskedPhone``) and sorts or searches by them are
refused to it like to any caller without those permissions.  An area not listed in
``SUPPLIER_AREAS`` stays closed even if the role matrix someday grants its permission: reaching
it through the supplier's orders must be defined here first.
"""

from __future__ import annotations

from dataclasses import replace

from domain.accounts.model import Actor
from domain.scope import Area, ReadScope

#: The areas a supplier reaches through its own orders.
SUPPLIER_AREAS = frozenset({Area.ORDERS, Area.SHOPS, Area.CATALOG})
#: A supplier user without a supplier (the database forbids it) reaches no order at all.
NO_SUPPLIER = -1


def narrow(actor: Actor, scope: ReadScope) -> ReadScope:
    """``scope`` as a supplier actor may use it; everyone else's unchanged."""
    if not actor.is_supplier or not scope.allowed:
        return scope
    if scope.area not in SUPPLIER_AREAS:
        return ReadScope(scope.area, allowed=False)
    supplier = actor.supplier_id if actor.supplier_id is not None else NO_SUPPLIER
    return replace(scope, supplier_id=supplier)


def reaches_order(scope: ReadScope, order_supplier_id: int | None) -> bool:
    """Whether an order with this supplier is inside ``scope`` (an orders scope)."""
    return scope.allowed and (not scope.narrowed or order_supplier_id == scope.supplier_id)
