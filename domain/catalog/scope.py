"""What of the catalog and the shops an actor may read.

Products and SKUs need ``catalog:read``; shops need ``orders:read`` or ``stock:read``.  A supplier
actor reaches only the SKUs on its own orders, their products, and the shops of its orders
(domain/suppliers/scope.py).
"""

from __future__ import annotations

from domain.accounts.model import Actor
from domain.scope import Area, ReadScope, permitted
from domain.suppliers.scope import narrow


def catalog(actor: Actor) -> ReadScope:
    return narrow(actor, permitted(actor, Area.CATALOG))


def shops(actor: Actor) -> ReadScope:
    return narrow(actor, permitted(actor, Area.SHOPS))
