"""Writing the audit log (操作日志) from any service, in the service's own transaction."""

from __future__ import annotations

from typing import Any

from db.uow import UnitOfWork
from domain.accounts.model import Actor


def record(
    uow: UnitOfWork,
    actor: Actor,
    action: str,
    target_type: str,
    target_id: int | None,
    **summary: Any,
) -> None:
    uow.audit(
        actor_label=actor.label,
        actor_user_id=actor.user_id,
        actor_token_id=actor.token_id,
        action=action,
        target_type=target_type,
        target_id=target_id,
        summary=summary,
        org_id=actor.org_id,
    )
