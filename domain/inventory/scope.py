"""What of inventory an actor may read: warehouses, zones, bins, stock levels and their totals,
the stock ledger, reservations, backorders and shops' stock policies, all under ``stock:read``.

A supplier actor reaches none of it (domain/suppliers/scope.py): stock names every supplier's
goods and every order.
"""

from __future__ import annotations

from domain.accounts.model import Actor
from domain.scope import Area, ReadScope, permitted
from domain.suppliers.scope import narrow


def stock(actor: Actor) -> ReadScope:
    return narrow(actor, permitted(actor, Area.STOCK))
