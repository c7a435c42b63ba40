"""The one writer of order status changes: the new status, its history row (who, why, when)
and its ``order.updated`` outbox event, for any number of orders, in one statement.

Every status change goes through ``write_status_changes`` (the reservation loop for a whole
batch, ``domain.orders.service.change_statuses`` for any other change, from one order to a
demo's thousands), so the three can never disagree.  An order whose status is no longer
``from_status`` is not changed (the caller holds its lock, so that is a bug, reported by the
returned count).  The outbox ``NOTIFY`` is sent with the rows, and like them it is delivered
only if the transaction commits.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from domain.inventory.model import LedgerNote

OUTBOX_CHANNEL = "orderflow_outbox"  # the channel db.uow notifies and the relay listens on


@dataclass(frozen=True)
class OrderStatusChange:
    order_id: int
    from_status: str
    to_status: str
    reason: str
    #: The outbox event's payload (what a board row needs, see domain.orders.service).
    payload: dict[str, Any]


_WRITE_SQL = """
WITH v AS (
    SELECT * FROM unnest(CAST($2 AS bigint[]), CAST($3 AS varchar[]), CAST($4 AS varchar[]),
                         CAST($5 AS text[]), CAST($6 AS text[])) WITH ORDINALITY
        AS v(order_id, from_status, to_status, reason, payload, n)
),
ord AS (
    UPDATE orders AS o SET status = v.to_status, updated_at = now()
    FROM v
    WHERE o.org_id = $1 AND o.id = v.order_id AND o.status = v.from_status
    RETURNING o.id
),
hist AS (
    INSERT INTO order_history (org_id, order_id, from_status, to_status, actor_label,
                               actor_user_id, actor_token_id, reason)
    SELECT $1, v.order_id, v.from_status, v.to_status, CAST($7 AS varchar),
           CAST($8 AS bigint), CAST($9 AS bigint), v.reason
    FROM v JOIN ord ON ord.id = v.order_id
    ORDER BY v.n
),
evt AS (
    INSERT INTO outbox (org_id, topic, aggregate_type, aggregate_id, payload)
    SELECT $1, 'order.updated', 'Order', v.order_id, CAST(v.payload AS jsonb)
    FROM v JOIN ord ON ord.id = v.order_id
    ORDER BY v.n
)
SELECT (SELECT count(*) FROM ord) AS orders,
       (SELECT count(*) FROM (SELECT pg_notify(CAST($10 AS text), '')
                              WHERE EXISTS (SELECT 1 FROM ord)) AS n) AS notified,
       now() AS at
"""


async def write_status_changes(
    conn: Any, org_id: int, changes: Sequence[OrderStatusChange], note: LedgerNote
) -> int:
    """Write ``changes`` with their history and outbox rows; returns how many orders changed."""
    return (await write_status_changes_at(conn, org_id, changes, note)).orders


@dataclass(frozen=True)
class StatusWrite:
    #: How many orders changed.
    orders: int
    #: The transaction's time: the changed orders' ``updated_at`` and their history rows' time.
    at: datetime | None


async def write_status_changes_at(
    conn: Any, org_id: int, changes: Sequence[OrderStatusChange], note: LedgerNote
) -> StatusWrite:
    """``write_status_changes``, also saying when (for callers that show the orders)."""
    if not changes:
        return StatusWrite(0, None)
    row = await conn.fetchrow(
        _WRITE_SQL,
        org_id,
        [c.order_id for c in changes],
        [c.from_status for c in changes],
        [c.to_status for c in changes],
        [c.reason for c in changes],
        [json.dumps(c.payload, ensure_ascii=False, default=str) for c in changes],
        note.actor_label,
        note.actor_user_id,
        note.actor_token_id,
        OUTBOX_CHANNEL,
    )
    return StatusWrite(int(row["orders"]), row["at"])
