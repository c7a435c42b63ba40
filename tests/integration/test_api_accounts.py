"""Sign-in, sessions, cookies with CSRF, API tokens and the anonymous surface."""

from __future__ import annotations

from db.engine import Database
from domain.accounts.model import Role
from tests.support.api import GraphQLClient
from tests.support.factories import PASSWORD, Seller

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


async def test_wrong_password_is_generic_and_throttled(
    client: GraphQLClient, seller: Seller
) -> None:
    unknown_user = await client.data(LOGIN, login_input(seller, username="nobody"))
    wrong_password = await client.data(LOGIN, login_input(seller, password="wrong-pass-1"))
    assert unknown_user["login"]["errors"] == wrong_password["login"]["errors"]
    assert wrong_password["login"]["errors"][0]["code"] == "INVALID_CREDENTIALS"
    for _ in range(5):
        await client.data(LOGIN, login_input(seller, username="owner", password="bad-pass-1"))
    # The account is now locked for a while, even with the right password.
    locked = await client.data(LOGIN, login_input(seller, username="owner"))
    assert locked["login"]["errors"][0]["code"] == "RATE_LIMITED"


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
