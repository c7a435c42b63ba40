"""Reconciliation (库存对账): prove that stock rows agree with their history.

For every stock row of an organisation: on_hand must equal the sum of its ledger's on-hand
deltas, reserved the sum of its ledger's reserved deltas, and reserved the sum of its active
reservations.  Any difference is drift: it is reported with details, logged as an error event
and announced as a ``stock.drift`` outbox event (for alerting).  It is never "fixed" here: a
person decides what the truth is, then corrects it with a stock count that leaves a ledger row.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import structlog

from db.engine import Database
from db.uow import UnitOfWork
from domain.inventory.model import StockBalance

log = structlog.get_logger(__name__)

#: At most this many drifted rows go into one alert event (the log has them all).
MAX_DRIFTS_IN_EVENT = 100


@dataclass(frozen=True)
class ReconcileReport:
    org_id: int
    checked_rows: int
    drifts: tuple[StockBalance, ...] = ()
    orphan_ledger_rows: int = 0
    checked_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def ok(self) -> bool:
        return not self.drifts and not self.orphan_ledger_rows

    def summary(self) -> dict[str, object]:
        return {
            "orgId": self.org_id,
            "checkedRows": self.checked_rows,
            "driftedRows": len(self.drifts),
            "orphanLedgerRows": self.orphan_ledger_rows,
            "checkedAt": self.checked_at.isoformat(),
            "drifts": [d.describe() for d in self.drifts[:MAX_DRIFTS_IN_EVENT]],
        }


async def reconcile(db: Database, org_id: int) -> ReconcileReport:
    """Check one organisation's stock against its ledger and reservations; alert on drift."""
    async with UnitOfWork(db, org_id) as uow:
        checked, drifts = await uow.reconciliation.drifted_balances()
        orphans = await uow.reconciliation.ledger_orphans()
    report = ReconcileReport(
        org_id=org_id,
        checked_rows=checked,
        drifts=tuple(drifts),
        orphan_ledger_rows=orphans,
    )
    if report.ok:
        log.info("stock.reconciled", org_id=org_id, checked_rows=checked)
        return report
    for drift in drifts:
        log.error("stock.drift", org_id=org_id, **drift.describe())
    log.error(
        "stock.drift_found",
        org_id=org_id,
        checked_rows=checked,
        drifted_rows=len(drifts),
        orphan_ledger_rows=orphans,
    )
    async with UnitOfWork(db, org_id) as uow:
        uow.emit("stock.drift", "Organization", org_id, report.summary())
        await uow.commit()
    return report


async def reconcile_all(db: Database) -> list[ReconcileReport]:
    """Every organisation that has stock (the nightly job and ``orderflow reconcile-stock``)."""
    async with UnitOfWork(db, None) as uow:
        org_ids = await uow.accounts.org_ids()
    reports = []
    for org_id in org_ids:
        async with UnitOfWork(db, org_id) as uow:
            if not await uow.reconciliation.has_stock():
                continue
        reports.append(await reconcile(db, org_id))
    return reports
