"""backorders are retried after any stock change their last attempt did not see

The reservation loop retries a waiting (BACKORDERED) order when one of its SKUs' stock rows has
changed since the order was last tried.  That was decided by time: ``stock.updated_at >
backorders.last_attempt_at``.  Both are ``now()``, the start of their transactions, and a
reservation cannot see a change that has not committed yet: a receipt, release, count or
transfer that began before the attempt and committed after it (a row the attempt did not lock
because its snapshot showed nothing available, or a row inserted meanwhile) carries an earlier
time than the attempt.  The order then waited for stock that was there until some later change
of the same SKU happened to wake it.

Visibility is what decides it now, as PostgreSQL itself does:

- ``stock.changed_by``: the transaction (``pg_current_xact_id()``) that last changed the row's
  quantities, kept by a trigger so that every writer, present and future, keeps it;
- ``backorders.tried_in``: the snapshot of the attempt that left the line waiting, taken before
  it read stock (whatever it shows, the attempt's read saw), and ``tried_by``, that attempt's
  own transaction (its own writes need no second look);
- ``backorders.resolved_by``: the transaction that took a line out of WAITING (filled or
  cancelled), kept by a trigger: a line that yielded to an earlier-paid one may go ahead once
  that one stops waiting, even when no stock row changed (the earlier order was cancelled);
- a waiting line is worth another attempt when a row of its SKU has something available and was
  changed, or another line of the SKU stopped waiting, in a transaction not visible in
  ``tried_in`` (and not the attempt itself).  At worst a line is tried once more than needed (a
  change the attempt waited for and saw anyway), never left behind.  Lines without ``tried_in``
  (written before this, or by the demo) are tried.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 10:00:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("ALTER TABLE stock ADD COLUMN changed_by xid8")
    op.execute("ALTER TABLE backorders ADD COLUMN tried_in pg_snapshot")
    op.execute("ALTER TABLE backorders ADD COLUMN tried_by xid8")
    op.execute("ALTER TABLE backorders ADD COLUMN resolved_by xid8")
    # Only recent resolutions matter to a waiting line (older ones are visible to its attempt).
    op.execute(
        "CREATE INDEX backorders_resolved_by ON backorders (org_id, sku_id, resolved_by)"
        " WHERE resolved_by IS NOT NULL"
    )
    op.execute(
        """
        CREATE FUNCTION stock_note_changed_by() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            NEW.changed_by := pg_current_xact_id();
            RETURN NEW;
        END
        $$
        """
    )
    op.execute(
        """
        CREATE TRIGGER stock_inserted_by BEFORE INSERT ON stock
        FOR EACH ROW EXECUTE FUNCTION stock_note_changed_by()
        """
    )
    op.execute(
        """
        CREATE TRIGGER stock_changed_by BEFORE UPDATE OF on_hand, reserved, safety ON stock
        FOR EACH ROW
        WHEN ((OLD.on_hand, OLD.reserved, OLD.safety)
              IS DISTINCT FROM (NEW.on_hand, NEW.reserved, NEW.safety))
        EXECUTE FUNCTION stock_note_changed_by()
        """
    )
    op.execute(
        """
        CREATE FUNCTION backorder_note_resolved_by() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            NEW.resolved_by := pg_current_xact_id();
            RETURN NEW;
        END
        $$
        """
    )
    op.execute(
        """
        CREATE TRIGGER backorder_resolved_by BEFORE UPDATE OF status ON backorders
        FOR EACH ROW WHEN (OLD.status = 'WAITING' AND NEW.status <> 'WAITING')
        EXECUTE FUNCTION backorder_note_resolved_by()
        """
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER backorder_resolved_by ON backorders")
    op.execute("DROP FUNCTION backorder_note_resolved_by()")
    op.execute("DROP INDEX backorders_resolved_by")
    op.execute("ALTER TABLE backorders DROP COLUMN resolved_by")
    op.execute("DROP TRIGGER stock_changed_by ON stock")
    op.execute("DROP TRIGGER stock_inserted_by ON stock")
    op.execute("DROP FUNCTION stock_note_changed_by()")
    op.execute("ALTER TABLE backorders DROP COLUMN tried_by")
    op.execute("ALTER TABLE backorders DROP COLUMN tried_in")
    op.execute("ALTER TABLE stock DROP COLUMN changed_by")
