"""Sign-in, sessions, cookies with CSRF, API tokens and the anonymous surface."""

from __future__ import annotations

from typing import Any

import pytest

from api.ids import to_global_id
from db.engine import Database
from db.redis import login_ladder
from db.settings import Settings
from db.uow import UnitOfWork
from domain.accounts.model import Role
from tests.support.api import GraphQLClient, graphql_client
from tests.support.factories import PASSWORD, Seller, make_org

LOGIN = """mutation($input: LoginInput!) { login(input: $input) {
  token csrfToken viewer { role organization { slug } user { username } }
  errors { code message } } }"""
VIEWER = "{ viewer { role scopes user { username } apiTokenName } }"
ORDERS = "{ orders { totalCount } }"


def login_input(seller: Seller, username: str = "manager", password: str = PASSWORD) -> dict:
    return {"input": {"organization": seller.slug, "username": username, "password": password}}


async def test_login_and_viewer(client: GraphQLClient, seller: Seller) -> None:
    data = await client.data(LOGIN, login_input(seller))
    payload = data["login"]
    assert payload["errors"] == []
    assert payload["viewer"]["role"] == "MANAGER"
    me = await client.data(VIEWER, token=payload["token"])
    assert me["viewer"]["user"]["username"] == "manager"
    assert "ORDERS_READ" in me["viewer"]["scopes"]


async def test_wrong_password_is_generic(
    client: GraphQLClient, seller: Seller, monkeypatch: pytest.MonkeyPatch
) -> None:
    from domain.accounts import passwords

    verified: list[str | None] = []
    real_verify = passwords.verify_password

    def counting_verify(password_hash: str | None, password: str) -> bool:
        verified.append(password_hash)
        return real_verify(password_hash, password)

    monkeypatch.setattr(passwords, "verify_password", counting_verify)
    async with client.from_address("10.9.0.1") as caller:
        unknown_org = await caller.data(
            LOGIN, {"input": {"organization": "no-such-org", "username": "x", "password": "y"}}
        )
        unknown_user = await caller.data(LOGIN, login_input(seller, username="nobody"))
        wrong_password = await caller.data(LOGIN, login_input(seller, password="wrong-pass-1"))
    errors = [r["login"]["errors"] for r in (unknown_org, unknown_user, wrong_password)]
    assert errors[0] == errors[1] == errors[2]
    assert errors[0][0]["code"] == "INVALID_CREDENTIALS"
    # Same timing class: each of the three paid for one password verification.
    assert len(verified) == 3 and verified[0] is None and verified[1] is None


async def test_failed_sign_ins_never_lock_the_owner_out(
    client: GraphQLClient, seller: Seller
) -> None:
    """Before, ten wrong passwords from anywhere refused the right one everywhere."""
    async with client.from_address("10.9.1.1") as attacker:
        for _ in range(5):
            await attacker.data(LOGIN, login_input(seller, username="owner", password="bad-1x"))
        throttled = await attacker.data(LOGIN, login_input(seller, username="owner"))
        assert throttled["login"]["errors"][0]["code"] == "RATE_LIMITED"
        assert throttled["login"]["token"] is None
        # Other accounts from the same address are not held hostage either.
        other = await attacker.data(LOGIN, login_input(seller, username="manager"))
        assert other["login"]["errors"] == []
    async with client.from_address("10.9.1.2") as owner:
        signed = await owner.data(LOGIN, login_input(seller, username="owner"))
    assert signed["login"]["errors"] == [] and signed["login"]["token"]


async def test_one_address_failing_on_many_accounts_is_throttled(
    settings: Settings, seller: Seller
) -> None:
    # One failure per account per window, ten per address: the spraying address stops after
    # five quick failures (half of its allowance per minute), everyone else carries on.
    strict = settings.model_copy(update={"login_attempts_per_15min": 1})
    async with graphql_client(strict) as client, client.from_address("10.9.2.1") as sprayer:
        for i in range(5):
            failed = await sprayer.data(
                LOGIN, login_input(seller, username=f"guess{i}", password="bad-1x")
            )
            assert failed["login"]["errors"][0]["code"] == "INVALID_CREDENTIALS"
        refused = await sprayer.data(LOGIN, login_input(seller, username="operator"))
        assert refused["login"]["errors"][0]["code"] == "RATE_LIMITED"
        async with client.from_address("10.9.2.2") as colleague:
            ok = await colleague.data(LOGIN, login_input(seller, username="operator"))
        assert ok["login"]["errors"] == []


def test_delays_grow_with_the_failures() -> None:
    windows = [item.get_expiry() for item in login_ladder(10)]
    allowed = [item.amount for item in login_ladder(10)]
    assert windows == sorted(windows) and len(set(windows)) == 4
    assert allowed == sorted(allowed)


async def test_anonymous_sees_nothing_but_login(client: GraphQLClient) -> None:
    body = await client.gql(ORDERS)
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert (await client.data(VIEWER))["viewer"] is None
    body = await client.gql(ORDERS, token="garbage.token.value")
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_logout_and_password_change_end_sessions(
    client: GraphQLClient, seller: Seller
) -> None:
    first = (await client.data(LOGIN, login_input(seller, username="operator")))["login"]["token"]
    second = (await client.data(LOGIN, login_input(seller, username="operator")))["login"]["token"]
    out = await client.data("mutation { logout { ok } }", token=first)
    assert out["logout"]["ok"]
    assert (await client.gql(ORDERS, token=first))["errors"][0]["extensions"]["code"] == (
        "UNAUTHENTICATED"
    )
    assert (await client.data(ORDERS, token=second))["orders"]["totalCount"] == 0

    change = """mutation($input: ChangePasswordInput!) { changePassword(input: $input) {
        token errors { code field } } }"""
    weak = await client.data(
        change, {"input": {"currentPassword": PASSWORD, "newPassword": "short"}}, token=second
    )
    assert weak["changePassword"]["errors"][0]["code"] == "WEAK_PASSWORD"
    changed = await client.data(
        change,
        {"input": {"currentPassword": PASSWORD, "newPassword": "new-pass-456"}},
        token=second,
    )
    new_token = changed["changePassword"]["token"]
    assert (await client.gql(ORDERS, token=second))["errors"][0]["extensions"]["code"] == (
        "UNAUTHENTICATED"
    )
    assert (await client.data(ORDERS, token=new_token))["orders"]["totalCount"] == 0


async def test_cookie_session_requires_csrf_on_mutations(
    client: GraphQLClient, seller: Seller
) -> None:
    variables = login_input(seller)
    variables["input"]["useCookie"] = True
    response = await client.post(LOGIN, variables)
    csrf = response.json()["data"]["login"]["csrfToken"]
    assert "orderflow_session" in response.cookies
    # The httpOnly cookie carries the session: the page's scripts never see the token.
    assert response.json()["data"]["login"]["token"] is None
    cookies = dict(response.cookies)
    client.http.cookies.clear()
    try:
        client.http.cookies.update(cookies)
        # Queries work on the cookie alone ...
        assert (await client.gql(ORDERS))["data"]["orders"]["totalCount"] == 0
        # ... mutations need the CSRF header.
        denied = await client.gql("mutation { logout { ok } }")
        assert denied["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        ok = await client.post("mutation { logout { ok } }", headers={"x-csrf-token": csrf})
        assert ok.json()["data"]["logout"]["ok"]
    finally:
        client.http.cookies.clear()


async def test_cookie_password_change_returns_no_token(
    client: GraphQLClient, seller: Seller
) -> None:
    async with client.from_address("10.9.3.1") as browser:
        variables = login_input(seller, username="warehouse")
        variables["input"]["useCookie"] = True
        response = await browser.post(LOGIN, variables)
        csrf = response.json()["data"]["login"]["csrfToken"]
        browser.http.cookies.update(dict(response.cookies))
        change = """mutation($input: ChangePasswordInput!) { changePassword(input: $input) {
            token expiresAt errors { code } } }"""
        changed = await browser.post(
            change,
            {"input": {"currentPassword": PASSWORD, "newPassword": "new-pass-789"}},
            headers={"x-csrf-token": csrf},
        )
        payload = changed.json()["data"]["changePassword"]
        assert payload["errors"] == [] and payload["token"] is None and payload["expiresAt"]
        assert "orderflow_session" in changed.cookies
        browser.http.cookies.update(dict(changed.cookies))
        assert (await browser.gql(ORDERS))["data"]["orders"]["totalCount"] == 0


async def test_api_token_scopes_and_revocation(
    client: GraphQLClient, db: Database, seller: Seller
) -> None:
    owner = client.token_for(seller, Role.OWNER)
    create = """mutation($input: CreateApiTokenInput!) { createApiToken(input: $input) {
        secret apiToken { id name scopes } errors { code field } } }"""
    made = await client.data(
        create, {"input": {"name": "ERP sync", "scopes": ["ORDERS_READ"]}}, token=owner
    )
    secret = made["createApiToken"]["secret"]
    token_id = made["createApiToken"]["apiToken"]["id"]
    assert secret.startswith("oft_")

    assert (await client.data(ORDERS, token=secret))["orders"]["totalCount"] == 0
    viewer = await client.data(VIEWER, token=secret)
    assert viewer["viewer"]["apiTokenName"] == "ERP sync"
    assert viewer["viewer"]["scopes"] == ["ORDERS_READ"]
    # No orders:write scope: creating an order is refused.
    forbidden = await client.gql("{ products { totalCount } }", token=secret)
    assert forbidden["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    listed = await client.data("{ apiTokens { name prefix lastUsedAt } }", token=owner)
    assert listed["apiTokens"][0]["name"] == "ERP sync"
    assert listed["apiTokens"][0]["lastUsedAt"] is not None

    service = client.token_for(seller, Role.SERVICE)
    denied = await client.data(
        create, {"input": {"name": "x", "scopes": ["ORDERS_READ"]}}, token=service
    )
    assert denied["createApiToken"]["errors"][0]["code"] == "FORBIDDEN"

    revoke = """mutation($input: RevokeApiTokenInput!) { revokeApiToken(input: $input) {
        apiToken { revokedAt } errors { code } } }"""
    revoked = await client.data(revoke, {"input": {"id": token_id}}, token=owner)
    assert revoked["revokeApiToken"]["apiToken"]["revokedAt"] is not None
    gone = await client.gql(ORDERS, token=secret)
    assert gone["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_owner_creates_users(client: GraphQLClient, seller: Seller) -> None:
    create = """mutation($input: CreateUserInput!) { createUser(input: $input) {
        user { username role } errors { code field } } }"""
    made = await client.data(
        create,
        {"input": {"username": "clerk2", "password": "clerk-pass-1", "role": "WAREHOUSE"}},
        token=client.token_for(seller, Role.OWNER),
    )
    assert made["createUser"]["user"] == {"username": "clerk2", "role": "WAREHOUSE"}
    dup = await client.data(
        create,
        {"input": {"username": "clerk2", "password": "clerk-pass-1", "role": "WAREHOUSE"}},
        token=client.token_for(seller, Role.OWNER),
    )
    assert dup["createUser"]["errors"][0]["code"] == "DUPLICATE"
    denied = await client.data(
        create,
        {"input": {"username": "x2", "password": "clerk-pass-1", "role": "OWNER"}},
        token=client.token_for(seller, Role.MANAGER),
    )
    assert denied["createUser"]["errors"][0]["code"] == "FORBIDDEN"
    users = await client.data(
        "{ users(role: WAREHOUSE) { totalCount } }", token=client.token_for(seller)
    )
    assert users["users"]["totalCount"] == 2


async def test_sign_up_is_off_by_default(client: GraphQLClient) -> None:
    data = await client.data(
        """mutation { signUp(input: {organizationCode: "new-shop", organizationName: "N",
           username: "boss", password: "boss-pass-1"}) {
           organization { slug } errors { code } } }"""
    )
    assert data["signUp"]["errors"][0]["code"] == "SIGNUP_DISABLED"


UPDATE_USER = """mutation($input: UpdateUserInput!) { updateUser(input: $input) {
    user { username displayName role isActive } errors { code field } } }"""
DEACTIVATE = """mutation($input: DeactivateUserInput!) { deactivateUser(input: $input) {
    user { username isActive } errors { code field } } }"""
REACTIVATE = """mutation($input: ReactivateUserInput!) { reactivateUser(input: $input) {
    user { username isActive } errors { code field } } }"""


def user_id(seller: Seller, role: Role) -> str:
    user = seller.users[role]
    assert user.id is not None
    return to_global_id("User", user.id)


async def audit_actions(db: Database, seller: Seller) -> list[str]:
    async with UnitOfWork(db, seller.org_id) as uow:
        return [e.action for e in await uow.events.audit_entries(seller.org_id, 50)]


async def test_owner_changes_a_role_and_the_old_sessions_end(
    client: GraphQLClient, db: Database, seller: Seller
) -> None:
    owner = client.token_for(seller, Role.OWNER)
    operator = client.token_for(seller, Role.OPERATOR)
    changed = await client.data(
        UPDATE_USER,
        {"input": {"id": user_id(seller, Role.OPERATOR), "role": "WAREHOUSE"}},
        token=owner,
    )
    assert changed["updateUser"] == {
        "user": {
            "username": "operator",
            "displayName": "Operator",
            "role": "WAREHOUSE",
            "isActive": True,
        },
        "errors": [],
    }
    ended = await client.gql(ORDERS, token=operator)
    assert ended["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    again = (await client.data(LOGIN, login_input(seller, username="operator")))["login"]
    assert again["viewer"]["role"] == "WAREHOUSE"

    # A new display name changes nothing the user may do: the session stays.
    renamed = await client.data(
        UPDATE_USER,
        {"input": {"id": user_id(seller, Role.OPERATOR), "displayName": "仓库小王"}},
        token=owner,
    )
    assert renamed["updateUser"]["user"]["displayName"] == "仓库小王"
    assert (await client.data(ORDERS, token=again["token"]))["orders"]["totalCount"] == 0
    assert (await audit_actions(db, seller)).count("user.update") == 2


async def test_update_user_refuses_with_typed_errors(client: GraphQLClient, seller: Seller) -> None:
    owner = client.token_for(seller, Role.OWNER)
    other = await make_org(client.services.db)

    async def error(input: dict[str, Any], token: str = owner) -> dict[str, Any]:
        payload = (await client.data(UPDATE_USER, {"input": input}, token=token))["updateUser"]
        assert payload["user"] is None
        return dict(payload["errors"][0])

    service_id = user_id(seller, Role.SERVICE)
    assert await error({"id": service_id, "role": "SUPPLIER"}) == {
        "code": "INVALID_INPUT",
        "field": "supplier",
    }
    assert await error({"id": service_id, "role": "MANAGER", "supplier": "X"}) == {
        "code": "INVALID_INPUT",
        "field": "supplier",
    }
    assert await error({"id": service_id, "displayName": "  "}) == {
        "code": "INVALID_INPUT",
        "field": "displayName",
    }
    # Another seller's user is as unknown as a user that does not exist.
    assert (await error({"id": user_id(other, Role.SERVICE), "role": "MANAGER"}))["code"] == (
        "NOT_FOUND"
    )
    assert (await error({"id": to_global_id("User", 0), "role": "MANAGER"}))["code"] == (
        "NOT_FOUND"
    )
    assert (await error({"id": to_global_id("Order", 1), "role": "MANAGER"}))["code"] == (
        "INVALID_ID"
    )
    for role in (Role.MANAGER, Role.OPERATOR, Role.SUPPLIER):
        denied = await error({"id": service_id, "role": "OWNER"}, client.token_for(seller, role))
        assert denied["code"] == "FORBIDDEN"
    # The last active owner cannot step down ...
    last = await error({"id": user_id(seller, Role.OWNER), "role": "MANAGER"})
    assert last == {"code": "CONFLICT", "field": None}
    # ... until there is another.
    promoted = await client.data(
        UPDATE_USER, {"input": {"id": user_id(seller, Role.MANAGER), "role": "OWNER"}}, token=owner
    )
    assert promoted["updateUser"]["user"]["role"] == "OWNER"
    stepped_down = await client.data(
        UPDATE_USER, {"input": {"id": user_id(seller, Role.OWNER), "role": "MANAGER"}}, token=owner
    )
    assert stepped_down["updateUser"]["user"]["role"] == "MANAGER"


async def test_supplier_users_change_supplier_and_role(
    client: GraphQLClient, seller: Seller
) -> None:
    owner = client.token_for(seller, Role.OWNER)
    supplier = client.token_for(seller, Role.SUPPLIER)
    moved = await client.data(
        UPDATE_USER,
        {"input": {"id": user_id(seller, Role.SUPPLIER), "supplier": "Supplier B"}},
        token=owner,
    )
    assert moved["updateUser"]["user"]["role"] == "SUPPLIER"
    # Another supplier means other orders: the old session ends.
    ended = await client.gql(ORDERS, token=supplier)
    assert ended["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    staff = await client.data(
        UPDATE_USER,
        {"input": {"id": user_id(seller, Role.SUPPLIER), "role": "SERVICE"}},
        token=owner,
    )
    assert staff["updateUser"]["user"]["role"] == "SERVICE"
    back = await client.data(
        UPDATE_USER,
        {"input": {"id": user_id(seller, Role.SUPPLIER), "role": "SUPPLIER", "supplier": "A"}},
        token=owner,
    )
    assert back["updateUser"]["user"]["role"] == "SUPPLIER"


async def test_deactivate_and_reactivate_a_user(
    client: GraphQLClient, db: Database, seller: Seller
) -> None:
    owner = client.token_for(seller, Role.OWNER)
    service = client.token_for(seller, Role.SERVICE)
    off = await client.data(
        DEACTIVATE, {"input": {"id": user_id(seller, Role.SERVICE)}}, token=owner
    )
    assert off["deactivateUser"] == {
        "user": {"username": "service", "isActive": False},
        "errors": [],
    }
    assert (await client.gql(ORDERS, token=service))["errors"][0]["extensions"]["code"] == (
        "UNAUTHENTICATED"
    )
    refused = await client.data(LOGIN, login_input(seller, username="service"))
    assert refused["login"]["errors"][0]["code"] == "INVALID_CREDENTIALS"
    # Twice is the same as once.
    again = await client.data(
        DEACTIVATE, {"input": {"id": user_id(seller, Role.SERVICE)}}, token=owner
    )
    assert again["deactivateUser"]["user"]["isActive"] is False

    on = await client.data(
        REACTIVATE, {"input": {"id": user_id(seller, Role.SERVICE)}}, token=owner
    )
    assert on["reactivateUser"]["user"]["isActive"] is True
    assert (await client.data(LOGIN, login_input(seller, username="service")))["login"]["token"]
    # Sessions from before the deactivation stay void.
    assert (await client.gql(ORDERS, token=service))["errors"][0]["extensions"]["code"] == (
        "UNAUTHENTICATED"
    )
    actions = await audit_actions(db, seller)
    assert {"user.deactivate", "user.reactivate"} <= set(actions)
    assert actions.count("user.deactivate") == 1


async def test_deactivation_refusals(client: GraphQLClient, seller: Seller) -> None:
    owner = client.token_for(seller, Role.OWNER)
    myself = await client.data(
        DEACTIVATE, {"input": {"id": user_id(seller, Role.OWNER)}}, token=owner
    )
    assert myself["deactivateUser"]["errors"] == [{"code": "INVALID_INPUT", "field": "id"}]
    manager = client.token_for(seller, Role.MANAGER)
    denied = await client.data(
        DEACTIVATE, {"input": {"id": user_id(seller, Role.SERVICE)}}, token=manager
    )
    assert denied["deactivateUser"]["errors"][0]["code"] == "FORBIDDEN"
    other = await make_org(client.services.db)
    foreign = await client.data(
        DEACTIVATE, {"input": {"id": user_id(other, Role.SERVICE)}}, token=owner
    )
    assert foreign["deactivateUser"]["errors"][0]["code"] == "NOT_FOUND"
    foreign = await client.data(
        REACTIVATE, {"input": {"id": user_id(other, Role.SERVICE)}}, token=owner
    )
    assert foreign["reactivateUser"]["errors"][0]["code"] == "NOT_FOUND"

    # An API token acts for the owner who made it; it cannot deactivate that last owner either,
    # and without the users:write scope it cannot deactivate anyone.
    create = """mutation($input: CreateApiTokenInput!) { createApiToken(input: $input) {
        secret errors { code } } }"""
    admin = await client.data(
        create, {"input": {"name": "HR", "scopes": ["USERS_WRITE"]}}, token=owner
    )
    token = admin["createApiToken"]["secret"]
    last = await client.data(
        DEACTIVATE, {"input": {"id": user_id(seller, Role.OWNER)}}, token=token
    )
    assert last["deactivateUser"]["errors"] == [{"code": "CONFLICT", "field": None}]
    reader = await client.data(
        create, {"input": {"name": "BI", "scopes": ["ORDERS_READ"]}}, token=owner
    )
    scoped = await client.data(
        DEACTIVATE,
        {"input": {"id": user_id(seller, Role.SERVICE)}},
        token=reader["createApiToken"]["secret"],
    )
    assert scoped["deactivateUser"]["errors"][0]["code"] == "FORBIDDEN"
