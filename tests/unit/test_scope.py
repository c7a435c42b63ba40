"""The readable scopes every read path asks, without a database: per area, per role and token,
and a supplier's narrowing."""

from __future__ import annotations

from dataclasses import replace

import pytest

from domain.accounts import scope as accounts_scope
from domain.accounts.model import ROLE_PERMISSIONS, Actor, Role, Scope, token_scopes
from domain.catalog import scope as catalog_scope
from domain.errors import ErrorCode, Forbidden, NotFound
from domain.inventory import scope as inventory_scope
from domain.notifications import scope as notifications_scope
from domain.orders import scope as orders_scope
from domain.orders.model import OrderFilter, OrderSort
from domain.scope import AREA_PERMISSIONS, Area, ReadScope, permitted, require_found
from domain.suppliers.scope import NO_SUPPLIER, SUPPLIER_AREAS, narrow

SCOPES = {
    Area.ORDERS: orders_scope.orders,
    Area.BUYERS: orders_scope.buyers,
    Area.SHOPS: catalog_scope.shops,
    Area.CATALOG: catalog_scope.catalog,
    Area.STOCK: inventory_scope.stock,
    Area.USERS: accounts_scope.users,
    Area.API_TOKENS: accounts_scope.api_tokens,
    Area.NOTIFICATIONS: notifications_scope.notifications,
}


def user(role: Role, supplier_id: int | None = None) -> Actor:
    return Actor.for_user(org_id=1, user_id=10, role=role, username="u", supplier_id=supplier_id)


def token(creator: Role, *scopes: Scope) -> Actor:
    return Actor(
        org_id=1, role=creator, token_id=3, scopes=token_scopes(creator, frozenset(scopes))
    )


def test_every_area_has_one_scope_function_that_names_it() -> None:
    assert set(SCOPES) == set(Area) == set(AREA_PERMISSIONS)
    for area, scope_of in SCOPES.items():
        assert scope_of(user(Role.OWNER)).area is area


@pytest.mark.parametrize("role", [r for r in Role if r is not Role.SUPPLIER])
def test_staff_read_an_area_exactly_when_the_matrix_gives_one_of_its_permissions(
    role: Role,
) -> None:
    for area, scope_of in SCOPES.items():
        scope = scope_of(user(role))
        assert scope.allowed == bool(ROLE_PERMISSIONS[role] & AREA_PERMISSIONS[area]), area
        assert not scope.narrowed


def test_a_token_reads_by_its_scopes_not_by_its_creators_role() -> None:
    reader = token(Role.OWNER, Scope.ORDERS_READ)
    assert orders_scope.orders(reader).allowed
    assert catalog_scope.shops(reader).allowed  # shops are where orders come from
    for scope_of in (catalog_scope.catalog, inventory_scope.stock, accounts_scope.users):
        assert not scope_of(reader).allowed
    assert catalog_scope.shops(token(Role.OWNER, Scope.STOCK_READ)).allowed
    # A token never reads tokens, even the owner's with every scope.
    assert not accounts_scope.api_tokens(token(Role.OWNER, *Scope)).allowed


def test_a_supplier_is_narrowed_to_its_orders_and_shut_out_of_the_rest() -> None:
    supplier = user(Role.SUPPLIER, supplier_id=42)
    for area, scope_of in SCOPES.items():
        scope = scope_of(supplier)
        if area in {Area.ORDERS, Area.SHOPS, Area.CATALOG}:
            assert scope == ReadScope(area, allowed=True, supplier_id=42)
        else:
            assert not scope.allowed, area
    assert {Area.ORDERS, Area.SHOPS, Area.CATALOG} == SUPPLIER_AREAS


def test_narrowing_closes_an_area_the_matrix_might_open_to_a_supplier() -> None:
    # Were stock:read ever granted to suppliers, stock would stay closed until
    # domain/suppliers/scope.py defines what of it a supplier's orders reach.
    generous = replace(user(Role.SUPPLIER, 42), scopes=frozenset(Scope))
    assert not inventory_scope.stock(generous).allowed
    assert not orders_scope.buyers(generous).allowed
    assert narrow(user(Role.OWNER), permitted(user(Role.OWNER), Area.STOCK)).allowed
    # A supplier user without a supplier reaches no order at all.
    assert orders_scope.orders(user(Role.SUPPLIER)).supplier_id == NO_SUPPLIER


def test_orders_a_scope_may_read() -> None:
    staff = orders_scope.orders(user(Role.SERVICE))
    supplier = orders_scope.orders(user(Role.SUPPLIER, 42))
    nothing = orders_scope.orders(token(Role.OWNER, Scope.STOCK_READ))
    assert orders_scope.may_read(staff, None) and orders_scope.may_read(staff, 7)
    assert orders_scope.may_read(supplier, 42)
    assert not orders_scope.may_read(supplier, 7) and not orders_scope.may_read(supplier, None)
    assert not orders_scope.may_read(nothing, None)


def test_every_sort_says_what_it_reveals() -> None:
    assert set(orders_scope.SORT_NEEDS) == set(OrderSort)
    assert orders_scope.SORT_NEEDS[OrderSort.TOTAL_DESC] is Scope.MONEY_READ


def test_an_order_filter_as_the_actor_may_apply_it() -> None:
    flt = OrderFilter(search="8000")
    staff = orders_scope.readable_filter(user(Role.SERVICE), flt, OrderSort.TOTAL_DESC)
    assert staff.supplier_id is None and staff.match_phone_tail
    supplier = user(Role.SUPPLIER, 42)
    own = orders_scope.readable_filter(supplier, flt, OrderSort.PAID_DESC)
    assert own.supplier_id == 42 and not own.match_phone_tail
    for sort in (OrderSort.TOTAL_DESC, OrderSort.TOTAL_ASC):
        with pytest.raises(Forbidden) as refused:
            orders_scope.readable_filter(supplier, flt, sort)
        assert refused.value.field == "sort" and "money:read" in refused.value.message
    with pytest.raises(Forbidden):
        orders_scope.readable_filter(token(Role.OWNER, Scope.STOCK_READ), flt)
    # A token with orders:read but not money:read is held to the same rule as a supplier.
    with pytest.raises(Forbidden):
        orders_scope.readable_filter(token(Role.OWNER, Scope.ORDERS_READ), flt, OrderSort.TOTAL_ASC)


def test_everyone_reads_itself_and_its_organisation_only() -> None:
    service = user(Role.SERVICE)
    assert accounts_scope.may_read_user(service, 10)
    assert not accounts_scope.may_read_user(service, 11)
    assert accounts_scope.may_read_user(user(Role.OPERATOR), 11)
    assert accounts_scope.may_read_organization(service, 1)
    assert not accounts_scope.may_read_organization(user(Role.OWNER), 2)


def test_require_and_require_found() -> None:
    with pytest.raises(Forbidden) as refused:
        catalog_scope.shops(token(Role.OWNER, Scope.USERS_READ)).require("filter.shopIds")
    assert refused.value.field == "filter.shopIds"
    assert "'orders:read' or 'stock:read'" in refused.value.message
    require_found([1, 2], {1: "a", 2: "b"}, "Shop", "shopId")
    with pytest.raises(NotFound) as missing:
        require_found([1, 3], {1: "a"}, "Shop", "shopId")
    assert (missing.value.code, missing.value.field) == (ErrorCode.NOT_FOUND, "shopId")
