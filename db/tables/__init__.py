"""Every table, imported here so ``SQLModel.metadata`` is complete for alembic and tests."""

from sqlmodel import SQLModel

from db.tables.accounts import ApiToken, Organization, RoleRow, Supplier, User
from db.tables.catalog import Product, Sku
from db.tables.events import AuditEntry, OutboxEvent
from db.tables.orders import Customer, Order, OrderHistory, OrderLine, OrderRemark
from db.tables.shops import Shop, Warehouse

metadata = SQLModel.metadata

__all__ = [
    "ApiToken",
    "AuditEntry",
    "Customer",
    "Order",
    "OrderHistory",
    "OrderLine",
    "OrderRemark",
    "Organization",
    "OutboxEvent",
    "Product",
    "RoleRow",
    "Shop",
    "Sku",
    "Supplier",
    "User",
    "Warehouse",
    "metadata",
]
