"""Who may read and change stock, warehouses and stock policies (库存权限).

Every inventory use case starts with one of these checks, so the rule lives once.
"""

from __future__ import annotations

from domain.accounts.model import Actor, Role, Scope
from domain.errors import Forbidden

#: Who may change stock, warehouses and stock policies (仓库, 运营, 老板).
STOCK_EDIT_ROLES = frozenset({Role.OWNER, Role.OPERATOR, Role.WAREHOUSE})


def require_edit(actor: Actor, what: str) -> None:
    if actor.role not in STOCK_EDIT_ROLES or not actor.has_scope(Scope.STOCK_WRITE):
        raise Forbidden(f"Not allowed to {what}")


def require_read(actor: Actor) -> None:
    # Stock, ledger and backorders name other suppliers' goods and orders: staff only.
    if actor.is_supplier or not actor.has_scope(Scope.STOCK_READ):
        raise Forbidden("Not allowed to read stock")
