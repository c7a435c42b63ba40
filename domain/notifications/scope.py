"""What of notifications an actor may read: staff who work orders or stock (any permission of
``Area.NOTIFICATIONS``); never a drop-ship supplier (its scope is closed, see
domain/suppliers/scope.py)."""

from __future__ import annotations

from domain.accounts.model import Actor
from domain.scope import Area, ReadScope, permitted
from domain.suppliers.scope import narrow


def notifications(actor: Actor) -> ReadScope:
    return narrow(actor, permitted(actor, Area.NOTIFICATIONS))
