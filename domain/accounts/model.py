"""Accounts: roles, token scopes and the ``Actor`` every service call receives.

Pure Python.  Permission rules (which role may do what) live here so they are unit-tested
without a database and read the same from GraphQL and the CLI.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Role(StrEnum):
    OWNER = "OWNER"  # 老板: everything, including users and API tokens
    MANAGER = "MANAGER"  # 主管: approves prices, reviews held orders, manages tokens
    OPERATOR = "OPERATOR"  # 运营: catalog, rules, prices within limits, orders
    WAREHOUSE = "WAREHOUSE"  # 仓库: picking, packing, shipping, stock
    SERVICE = "SERVICE"  # 客服: reads orders, adds remarks
    SUPPLIER = "SUPPLIER"  # 代发供应商: sees only its own drop-ship orders


ROLE_DESCRIPTIONS: dict[Role, str] = {
    Role.OWNER: "Owner (老板): full control of the organisation",
    Role.MANAGER: "Manager (主管): approves prices, reviews held orders, manages API tokens",
    Role.OPERATOR: "Operator (运营): catalog, rules, prices within limits, orders",
    Role.WAREHOUSE: "Warehouse (仓库): stock, picking, packing, shipping",
    Role.SERVICE: "Customer service (客服): reads orders and adds remarks",
    Role.SUPPLIER: "Drop-ship supplier (代发): its own orders only",
}


class Scope(StrEnum):
    """What an API token may do.  A signed-in user has every scope its role allows."""

    ORDERS_READ = "orders:read"
    ORDERS_WRITE = "orders:write"
    STOCK_READ = "stock:read"
    STOCK_WRITE = "stock:write"
    CATALOG_READ = "catalog:read"
    CATALOG_WRITE = "catalog:write"
    USERS_READ = "users:read"
    USERS_WRITE = "users:write"
    TOKENS_WRITE = "tokens:write"


ROLE_SCOPES: dict[Role, frozenset[Scope]] = {
    Role.OWNER: frozenset(Scope),
    Role.MANAGER: frozenset(Scope),
    Role.OPERATOR: frozenset(
        {
            Scope.ORDERS_READ,
            Scope.ORDERS_WRITE,
            Scope.STOCK_READ,
            Scope.STOCK_WRITE,
            Scope.CATALOG_READ,
            Scope.CATALOG_WRITE,
            Scope.USERS_READ,
        }
    ),
    Role.WAREHOUSE: frozenset(
        {
            Scope.ORDERS_READ,
            Scope.ORDERS_WRITE,
            Scope.STOCK_READ,
            Scope.STOCK_WRITE,
            Scope.CATALOG_READ,
        }
    ),
    Role.SERVICE: frozenset(
        {Scope.ORDERS_READ, Scope.ORDERS_WRITE, Scope.STOCK_READ, Scope.CATALOG_READ}
    ),
    Role.SUPPLIER: frozenset({Scope.ORDERS_READ, Scope.STOCK_READ}),
}

#: Roles allowed to create and revoke API tokens.
TOKEN_ADMIN_ROLES = frozenset({Role.OWNER, Role.MANAGER})
#: Roles allowed to create users.
USER_ADMIN_ROLES = frozenset({Role.OWNER})


@dataclass(frozen=True)
class Actor:
    """Who is acting: built once per request (or job) and passed to every service call."""

    org_id: int
    role: Role
    user_id: int | None = None
    token_id: int | None = None
    supplier_id: int | None = None
    scopes: frozenset[Scope] = field(default_factory=frozenset)
    label: str = ""

    @classmethod
    def for_user(
        cls, *, org_id: int, user_id: int, role: Role, username: str, supplier_id: int | None
    ) -> Actor:
        return cls(
            org_id=org_id,
            role=role,
            user_id=user_id,
            supplier_id=supplier_id,
            scopes=ROLE_SCOPES[role],
            label=username,
        )

    @classmethod
    def system(cls, org_id: int, label: str = "system") -> Actor:
        """Background jobs and the CLI act as the organisation's owner, labelled as such."""
        return cls(org_id=org_id, role=Role.OWNER, scopes=frozenset(Scope), label=label)

    def has_scope(self, scope: Scope) -> bool:
        return scope in self.scopes

    @property
    def is_supplier(self) -> bool:
        return self.role is Role.SUPPLIER


def token_scopes(role: Role, requested: frozenset[Scope]) -> frozenset[Scope]:
    """A token never gets more than the role of the user acting through it allows."""
    return requested & ROLE_SCOPES[role]
