"""Notifications: what kinds exist and how serious each is.  Pure Python."""

from __future__ import annotations

from enum import StrEnum


class Severity(StrEnum):
    INFO = "INFO"
    WARNING = "WARNING"
    CRITICAL = "CRITICAL"


class NotificationKind(StrEnum):
    #: Orders have waited longer than the threshold for their first reservation attempt.
    RESERVATION_OVERDUE = "reservation.overdue"
    #: Stock disagrees with its ledger (the nightly reconcile).
    STOCK_DRIFT = "stock.drift"
