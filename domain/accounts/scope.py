"""What of accounts an actor may read.

Users need ``users:read``; API tokens need ``tokens:write`` (who may manage them may list them).
Every actor reads itself: its own user and its own organisation (``viewer``, ``node``), whatever
its permissions — a Relay client refetches the viewer's user like any other node.  Nobody reads
another organisation.  A supplier actor reaches no users or tokens but itself
(domain/suppliers/scope.py).
"""

from __future__ import annotations

from domain.accounts.model import Actor
from domain.scope import Area, ReadScope, permitted
from domain.suppliers.scope import narrow


def users(actor: Actor) -> ReadScope:
    return narrow(actor, permitted(actor, Area.USERS))


def api_tokens(actor: Actor) -> ReadScope:
    return narrow(actor, permitted(actor, Area.API_TOKENS))


def may_read_user(actor: Actor, user_id: int) -> bool:
    return users(actor).allowed or user_id == actor.user_id


def may_read_organization(actor: Actor, org_id: int) -> bool:
    return org_id == actor.org_id
