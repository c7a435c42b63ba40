"""What of orders an actor may read, and how it may ask (filters, sorts).

Orders need ``orders:read``; a supplier actor reaches only its own (domain/suppliers/scope.py).
Buyers need ``buyers:read``.  A caller may not sort or search by a value it cannot see: sorting
by total needs ``money:read`` (the order of a list reveals the amounts), and ``search`` matches
the phone tail (尾号) only for callers with ``buyers:read`` (for others it matches the order
number and receiver name, which they see).
"""

from __future__ import annotations

from dataclasses import replace

from domain.accounts.model import Actor, Scope
from domain.errors import Forbidden
from domain.orders.model import OrderFilter, OrderSort
from domain.scope import Area, ReadScope, permitted
from domain.suppliers.scope import narrow, reaches_order

#: What each sort reveals beyond ``orders:read``: the permission needed to use it.  Every sort
#: is listed (a new one must say what it reveals; a unit test holds this).
SORT_NEEDS: dict[OrderSort, Scope | None] = {
    OrderSort.CREATED_DESC: None,
    OrderSort.CREATED_ASC: None,
    OrderSort.PAID_DESC: None,
    OrderSort.PAID_ASC: None,
    OrderSort.TOTAL_DESC: Scope.MONEY_READ,
    OrderSort.TOTAL_ASC: Scope.MONEY_READ,
}


def orders(actor: Actor) -> ReadScope:
    return narrow(actor, permitted(actor, Area.ORDERS))


def buyers(actor: Actor) -> ReadScope:
    return narrow(actor, permitted(actor, Area.BUYERS))


def may_read(scope: ReadScope, order_supplier_id: int | None) -> bool:
    """Whether an order (given its drop-ship supplier) is inside an orders scope."""
    return reaches_order(scope, order_supplier_id)


def check_sort(actor: Actor, sort: OrderSort) -> None:
    needed = SORT_NEEDS[sort]
    if needed is not None and not actor.has_scope(needed):
        raise Forbidden(
            f"Sorting by {sort.value} needs the '{needed.value}' permission", field="sort"
        )


def readable_filter(actor: Actor, flt: OrderFilter, sort: OrderSort | None = None) -> OrderFilter:
    """``flt`` as the actor may apply it: FORBIDDEN without ``orders:read`` or for a sort it may
    not use; narrowed to a supplier's own orders; no phone-tail match without ``buyers:read``."""
    scope = orders(actor).require()
    if sort is not None:
        check_sort(actor, sort)
    return replace(
        flt,
        supplier_id=scope.supplier_id,
        match_phone_tail=actor.has_scope(Scope.BUYERS_READ),
    )
