"""Accounts: roles, permissions (= API-token scopes), the role matrix, and the ``Actor`` every
service call receives.

Pure Python.  The role matrix below is the one statement of who may do what: services check it
(``domain.accounts.permissions.require``), GraphQL permission classes check it, ``viewer`` reports
it, and the README shows it (rendered by ``permissions.matrix_markdown``, kept equal by a test).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Role(StrEnum):
    OWNER = "OWNER"  # 老板: everything, including users and API tokens
    MANAGER = "MANAGER"  # 主管: every operational right of the roles below, read-only tokens
    OPERATOR = "OPERATOR"  # 运营: catalog, rules, prices within limits, orders
    WAREHOUSE = "WAREHOUSE"  # 仓库: picking, packing, shipping, stock
    SERVICE = "SERVICE"  # 客服: reads orders, adds remarks
    SUPPLIER = "SUPPLIER"  # 代发供应商: sees only its own drop-ship orders


ROLE_DESCRIPTIONS: dict[Role, str] = {
    Role.OWNER: "Owner (老板): full control of the organisation",
    Role.MANAGER: "Manager (主管): everything operational, read-only API tokens",
    Role.OPERATOR: "Operator (运营): catalog, rules, prices within limits, orders",
    Role.WAREHOUSE: "Warehouse (仓库): stock, picking, packing, shipping",
    Role.SERVICE: "Customer service (客服): reads orders and adds remarks",
    Role.SUPPLIER: "Drop-ship supplier (代发): its own orders only",
}


class Scope(StrEnum):
    """A permission.  A signed-in user holds its role's; an API token holds the scopes it was
    given, within its creator's role.  Each one allows exactly what ``PERMISSIONS`` says."""

    ORDERS_READ = "orders:read"
    ORDERS_REMARK = "orders:remark"
    ORDERS_WRITE = "orders:write"
    MONEY_READ = "money:read"
    BUYERS_READ = "buyers:read"
    CATALOG_READ = "catalog:read"
    CATALOG_WRITE = "catalog:write"
    STOCK_READ = "stock:read"
    STOCK_WRITE = "stock:write"
    LAYOUT_WRITE = "layout:write"
    USERS_READ = "users:read"
    USERS_WRITE = "users:write"
    TOKENS_WRITE = "tokens:write"


#: What each permission allows (the README's matrix shows these words).
PERMISSIONS: dict[Scope, str] = {
    Scope.ORDERS_READ: "Read orders with their lines, history and remarks, and their shops",
    Scope.ORDERS_REMARK: "Add remarks (备注) to orders",
    Scope.ORDERS_WRITE: "Create manual orders (手工单) and cancel orders",
    Scope.MONEY_READ: "See money amounts (order totals, line and SKU prices); sort by total",
    Scope.BUYERS_READ: "See buyers and full phone numbers; search by phone tail (尾号)",
    Scope.CATALOG_READ: "Read products and SKUs",
    Scope.CATALOG_WRITE: "Edit products and SKUs (reserved: no mutation uses it yet)",
    Scope.STOCK_READ: (
        "Read stock, ledger, reservations, backorders, warehouses, zones, bins, stock policies"
        " and shops"
    ),
    Scope.STOCK_WRITE: "Receive, count (盘点) and transfer stock; safety stock; restock returns",
    Scope.LAYOUT_WRITE: "Create and change warehouses, zones, bins and shops' stock policies",
    Scope.USERS_READ: "Read the organisation's users",
    Scope.USERS_WRITE: "Create users",
    Scope.TOKENS_WRITE: "List, create and revoke API tokens",
}

S = Scope

#: Permissions that only read: what a MANAGER may put into an API token.
READ_PERMISSIONS = frozenset(
    {S.ORDERS_READ, S.MONEY_READ, S.BUYERS_READ, S.CATALOG_READ, S.STOCK_READ, S.USERS_READ}
)

_SERVICE = frozenset(
    {S.ORDERS_READ, S.ORDERS_REMARK, S.MONEY_READ, S.BUYERS_READ, S.CATALOG_READ, S.STOCK_READ}
)
_WAREHOUSE = _SERVICE | {S.STOCK_WRITE, S.LAYOUT_WRITE}
_OPERATOR = _WAREHOUSE | {S.ORDERS_WRITE, S.CATALOG_WRITE, S.USERS_READ}

#: The role matrix.  A MANAGER holds every operational permission of the roles below it; only
#: the OWNER creates users.  A SUPPLIER's two permissions reach only what its own orders hold
#: (domain/suppliers/scope.py narrows them).
ROLE_PERMISSIONS: dict[Role, frozenset[Scope]] = {
    Role.OWNER: frozenset(Scope),
    Role.MANAGER: frozenset(Scope) - {S.USERS_WRITE},
    Role.OPERATOR: _OPERATOR,
    Role.WAREHOUSE: _WAREHOUSE,
    Role.SERVICE: _SERVICE,
    Role.SUPPLIER: frozenset({S.ORDERS_READ, S.CATALOG_READ}),
}

#: What an API token created by each role may carry.  No token manages tokens (a leaked token
#: must not be able to mint or hide others); a MANAGER hands out read-only tokens (dashboards,
#: ERP read sync), and only the OWNER grants write access.
TOKEN_GRANTS: dict[Role, frozenset[Scope]] = {
    Role.OWNER: ROLE_PERMISSIONS[Role.OWNER] - {S.TOKENS_WRITE},
    Role.MANAGER: ROLE_PERMISSIONS[Role.MANAGER] & READ_PERMISSIONS,
    Role.OPERATOR: frozenset(),
    Role.WAREHOUSE: frozenset(),
    Role.SERVICE: frozenset(),
    Role.SUPPLIER: frozenset(),
}

#: Cells of the matrix whose permission is narrower than the row says.
MATRIX_NOTES: dict[tuple[Role, Scope], str] = {
    (Role.SUPPLIER, S.ORDERS_READ): "own orders and their shops",
    (Role.SUPPLIER, S.CATALOG_READ): "products and SKUs on own orders",
    (Role.MANAGER, S.TOKENS_WRITE): "read-only tokens",
}


def permissions_of(role: Role) -> frozenset[Scope]:
    return ROLE_PERMISSIONS[role]


def token_scopes(role: Role, requested: frozenset[Scope]) -> frozenset[Scope]:
    """What an API token may do: its scopes within its creator's role (read at every request,
    so a demoted creator's tokens shrink with it), never token management."""
    return (requested & ROLE_PERMISSIONS[role]) - {S.TOKENS_WRITE}


@dataclass(frozen=True)
class Actor:
    """Who is acting: built once per request (or job) and passed to every service call."""

    org_id: int
    role: Role
    user_id: int | None = None
    token_id: int | None = None
    supplier_id: int | None = None
    #: The effective permissions: what ``viewer.scopes`` reports and every check reads.
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
            scopes=permissions_of(role),
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

    @property
    def is_api_token(self) -> bool:
        return self.token_id is not None
