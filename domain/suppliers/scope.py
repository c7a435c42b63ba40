"""The one place that narrows what a drop-ship supplier (代发供应商) can reach.

Every query a SUPPLIER actor can run passes through these functions, so scoping is never a
matter of each resolver remembering to filter.
"""

from __future__ import annotations

from dataclasses import replace

from domain.accounts.model import Actor
from domain.orders.model import OrderFilter


def scope_order_filter(actor: Actor, flt: OrderFilter) -> OrderFilter:
    """A supplier sees only the orders assigned to it; everyone else is unchanged."""
    if not actor.is_supplier:
        return flt
    return replace(flt, supplier_id=actor.supplier_id if actor.supplier_id is not None else -1)


def may_see_order(actor: Actor, order_supplier_id: int | None) -> bool:
    return not actor.is_supplier or (
        actor.supplier_id is not None and order_supplier_id == actor.supplier_id
    )
