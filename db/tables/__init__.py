"""Every table, imported here so ``SQLModel.metadata`` is complete for alembic and tests."""

from sqlmodel import SQLModel

from db.tables.accounts import ApiToken, Organization, RoleRow, Supplier, User
from db.tables.catalog import Product, Sku
from db.tables.events import AuditEntry, OutboxEvent
from db.tables.inventory import (
    Backorder,
    Bin,
    Reservation,
    ShopStockPolicyRow,
    Stock,
    StockLedgerEntry,
    Zone,
)
from db.tables.notifications import Notification
from db.tables.orders import (
    Customer,
    Order,
    OrderHistory,
    OrderLine,
    OrderNumberCounter,
    OrderRemark,
)
from db.tables.shops import Shop, Warehouse

metadata = SQLModel.metadata

__all__ = [
    "ApiToken",
    "AuditEntry",
    "Backorder",
    "Bin",
    "Customer",
    "Notification",
    "Order",
    "OrderHistory",
    "OrderLine",
    "OrderNumberCounter",
    "OrderRemark",
    "Organization",
    "OutboxEvent",
    "Product",
    "Reservation",
    "RoleRow",
    "Shop",
    "ShopStockPolicyRow",
    "Sku",
    "Stock",
    "StockLedgerEntry",
    "Supplier",
    "User",
    "Warehouse",
    "Zone",
    "metadata",
]
