"""Typed errors of the inventory area (库存).

Each carries a stable ``code`` and the input ``field`` at fault (a dotted path such as
``items.2.quantity``), so a bulk mutation can point at the one line that was refused.
"""

from __future__ import annotations

from domain.errors import DomainError, ErrorCode


class UnknownSku(DomainError):
    code = ErrorCode.UNKNOWN_SKU

    def __init__(self, field: str = "skuId") -> None:
        super().__init__("Unknown SKU", field=field)


class UnknownBin(DomainError):
    code = ErrorCode.UNKNOWN_BIN

    def __init__(self, field: str = "binId") -> None:
        super().__init__("Unknown bin (库位)", field=field)


class UnknownWarehouse(DomainError):
    code = ErrorCode.UNKNOWN_WAREHOUSE

    def __init__(self, field: str = "warehouseId") -> None:
        super().__init__("Unknown warehouse", field=field)


class UnknownZone(DomainError):
    code = ErrorCode.UNKNOWN_ZONE

    def __init__(self, field: str = "zoneId") -> None:
        super().__init__("Unknown zone (拣货区)", field=field)


class NegativeQuantity(DomainError):
    """Zero or less where at least one unit is needed (or below zero where zero is allowed)."""

    code = ErrorCode.NEGATIVE_QUANTITY


class InsufficientStock(DomainError):
    code = ErrorCode.INSUFFICIENT_STOCK


class SameBin(DomainError):
    code = ErrorCode.SAME_BIN

    def __init__(self, field: str = "toBinId") -> None:
        super().__init__("A transfer needs two different bins", field=field)


class BinWarehouseMismatch(DomainError):
    code = ErrorCode.BIN_WAREHOUSE_MISMATCH

    def __init__(self, field: str = "binId") -> None:
        super().__init__("This bin belongs to another warehouse", field=field)


class ConcurrentUpdate(DomainError):
    """The stock rows stayed locked (or deadlocked) through every retry; nothing was written."""

    code = ErrorCode.CONCURRENT_UPDATE

    def __init__(self, message: str = "Stock is busy; nothing was changed, try again") -> None:
        super().__init__(message)


class OrderNotReservable(DomainError):
    """The order is in a status where stock is not reserved for it (held, cancelled, shipped)."""

    code = ErrorCode.ILLEGAL_TRANSITION

    def __init__(self, status: str) -> None:
        super().__init__(f"Stock is not reserved for an order in status {status}", field="status")
        self.status = status
