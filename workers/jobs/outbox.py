"""Housekeeping of the outbox table."""

from __future__ import annotations

from typing import Any

from workers.relay import delete_old_events


async def cleanup_outbox_job(ctx: dict[str, Any]) -> int:
    """Delete events published more than a week ago (cron, daily)."""
    return await delete_old_events(ctx["db"])
