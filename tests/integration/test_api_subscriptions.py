"""The live order board: orderCreated / orderUpdated over graphql-transport-ws.

Subscriptions follow the caller: a revoked credential closes its websocket (4403) within
seconds and nothing more is delivered on it; one fetch per event serves every subscriber of a
seller; a supplier hears only about its own orders and a seller only about its own.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import update
from sqlmodel import col
from starlette.testclient import TestClient

from api.app import AppOptions, create_app
from api.ids import to_global_id
from api.live import LiveConnection, OrderSubscriber, SubscriberTooSlow
from db.engine import Database
from db.settings import Settings
from db.tables import Order, User
from db.uow import UnitOfWork
from domain.accounts.grants import Grant
from domain.accounts.model import Actor, Role
from domain.accounts.tokens import SessionClaims
from domain.orders.service import LiveOrder
from tests.integration.test_api_orders import CREATE, order_input
from tests.support.api import GraphQLClient
from tests.support.factories import PASSWORD, Seller, make_order, make_org
from tests.support.live import (
    PROTOCOL,
    assert_quiet,
    graphql,
    next_result,
    open_socket,
    receive,
    subscribe,
)
from tests.support.sql import count_statements

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

ORDER_CREATED = "subscription { orderCreated { externalId status } }"
ORDER_UPDATED = """subscription { orderUpdated { externalId total { fen }
    lines { quantity sku { code } } shop { channel } } }"""
LOGIN = """mutation($input: LoginInput!) { login(input: $input) {
    token csrfToken errors { code } } }"""
REMARK = """mutation($input: AddOrderRemarkInput!) { addOrderRemark(input: $input) {
    errors { code } } }"""
SESSION_ENDED = {"type": "close", "code": 4403, "reason": "Session ended"}


def live_settings(settings: Settings, recheck_seconds: float = 60.0) -> Settings:
    """By default the periodic re-check is far away: what closes a socket sooner is the
    revocation event, not the timer."""
    return settings.model_copy(update={"websocket_recheck_seconds": recheck_seconds})


def create_order(app: TestClient, seller: Seller, token: str, external_id: str) -> None:
    created = graphql(
        app, CREATE, {"input": order_input(seller, externalId=external_id)}, token=token
    )
    assert created["createOrder"]["errors"] == []


def login(app: TestClient, seller: Seller, username: str) -> str:
    variables = {"input": {"organization": seller.slug, "username": username, "password": PASSWORD}}
    token: str = graphql(app, LOGIN, variables)["login"]["token"]
    return token


def user_gid(seller: Seller, role: Role) -> str:
    user_id = seller.users[role].id
    assert user_id is not None
    return to_global_id("User", user_id)


async def test_order_created_reaches_two_servers(
    settings: Settings, client: GraphQLClient, seller: Seller
) -> None:
    token = client.token_for(seller, Role.MANAGER)
    other_seller = await make_org(client.services.db)
    other_token = client.token_for(other_seller, Role.MANAGER)

    def scenario() -> list[dict[str, Any]]:
        # Two server processes (two apps with their own connections); only one runs the relay.
        with (
            TestClient(create_app(settings, AppOptions(run_relay=True))) as one,
            TestClient(create_app(settings)) as two,
            open_socket(one, token) as ws1,
            open_socket(two, token) as ws2,
            open_socket(two, other_token) as foreign,
        ):
            for ws in (ws1, ws2, foreign):
                subscribe(ws, "1", ORDER_CREATED)
            # A rolled-back attempt (bad input) must deliver nothing; then a real one.
            bad = one.post(
                "/graphql",
                json={"query": CREATE, "variables": {"input": order_input(seller, lines=[])}},
                headers={"authorization": f"Bearer {token}"},
            )
            assert bad.json()["data"]["createOrder"]["errors"]
            create_order(one, seller, token, "WX-0001")
            received = [next_result(ws1), next_result(ws2)]
            # The other organisation hears nothing: its next message is the pong we ask for.
            assert_quiet(foreign)
            return received

    received = await asyncio.to_thread(scenario)
    for message in received:
        assert message["type"] == "next"
        assert message["payload"]["data"]["orderCreated"] == {
            "externalId": "WX-0001",
            "status": "NEW",
        }


async def test_subscription_needs_credentials(settings: Settings) -> None:
    def scenario() -> dict[str, Any]:
        with (
            TestClient(create_app(settings)) as app_client,
            app_client.websocket_connect("/graphql", subprotocols=[PROTOCOL]) as ws,
        ):
            ws.send_json({"type": "connection_init", "payload": {}})
            return receive(ws)

    assert (await asyncio.to_thread(scenario))["code"] == 4403


async def test_only_graphql_transport_ws_is_spoken(
    settings: Settings, client: GraphQLClient, seller: Seller
) -> None:
    """The legacy graphql-ws protocol has no way to end a socket whose credential ended."""

    def scenario() -> dict[str, Any]:
        with (
            TestClient(create_app(settings)) as app_client,
            app_client.websocket_connect("/graphql", subprotocols=["graphql-ws"]) as ws,
        ):
            return receive(ws)

    assert (await asyncio.to_thread(scenario))["code"] == 4406


async def test_browser_session_cookie_authenticates_the_websocket(
    settings: Settings, client: GraphQLClient, seller: Seller
) -> None:
    """GraphiQL and SPAs in a browser: the httpOnly cookie from `login(useCookie: true)` rides on
    the websocket handshake, so connection_init needs no token; logging out (with the cookie and
    its CSRF header) closes that websocket."""

    def scenario() -> tuple[dict[str, Any], float]:
        with TestClient(create_app(live_settings(settings), AppOptions(run_relay=True))) as browser:
            variables = {
                "input": {
                    "organization": seller.slug,
                    "username": "manager",
                    "password": PASSWORD,
                    "useCookie": True,
                }
            }
            csrf = graphql(browser, LOGIN, variables)["login"]["csrfToken"]
            with open_socket(browser) as ws:
                subscribe(ws, "1", ORDER_CREATED)
                started = time.monotonic()
                out = browser.post(
                    "/graphql",
                    json={"query": "mutation { logout { ok } }"},
                    headers={"x-csrf-token": csrf},
                )
                assert out.json()["data"]["logout"]["ok"]
                return next_result(ws), time.monotonic() - started

    closed, seconds = await asyncio.to_thread(scenario)
    assert closed == SESSION_ENDED
    assert seconds < 5


# -- subscriptions follow the caller ------------------------------------------------------------
CHANGE_PASSWORD = """mutation($input: ChangePasswordInput!) { changePassword(input: $input) {
    token errors { code } } }"""
UPDATE_USER = """mutation($input: UpdateUserInput!) { updateUser(input: $input) {
    user { role } errors { code } } }"""
DEACTIVATE = """mutation($input: DeactivateUserInput!) { deactivateUser(input: $input) {
    user { isActive } errors { code } } }"""
CREATE_TOKEN = """mutation($input: CreateApiTokenInput!) { createApiToken(input: $input) {
    secret apiToken { id } errors { code } } }"""
REVOKE_TOKEN = """mutation($input: RevokeApiTokenInput!) { revokeApiToken(input: $input) {
    apiToken { revokedAt } errors { code } } }"""


class Revocation:
    """A credential that ends, how it ends, and sessions of the same seller that must not."""

    def __init__(self, victim: str, revoke: Callable[[], None], bystanders: list[str]) -> None:
        self.victim = victim
        self.revoke = revoke
        self.bystanders = bystanders


def _logout(app: TestClient, seller: Seller, owner: str) -> Revocation:
    token = login(app, seller, "operator")
    other_session = login(app, seller, "operator")

    def revoke() -> None:
        assert graphql(app, "mutation { logout { ok } }", token=token)["logout"]["ok"]

    # Logout ends this one session: the same user's other session carries on.
    return Revocation(token, revoke, [other_session])


def _password_change(app: TestClient, seller: Seller, owner: str) -> Revocation:
    token = login(app, seller, "operator")

    def revoke() -> None:
        variables = {"input": {"currentPassword": PASSWORD, "newPassword": "new-pass-789"}}
        changed = graphql(app, CHANGE_PASSWORD, variables, token=token)
        assert changed["changePassword"]["errors"] == []

    return Revocation(token, revoke, [])


def _role_change(app: TestClient, seller: Seller, owner: str) -> Revocation:
    token = login(app, seller, "operator")

    def revoke() -> None:
        variables = {"input": {"id": user_gid(seller, Role.OPERATOR), "role": "WAREHOUSE"}}
        assert graphql(app, UPDATE_USER, variables, token=owner)["updateUser"]["errors"] == []

    return Revocation(token, revoke, [])


def _deactivation(app: TestClient, seller: Seller, owner: str) -> Revocation:
    token = login(app, seller, "operator")

    def revoke() -> None:
        variables = {"input": {"id": user_gid(seller, Role.OPERATOR)}}
        assert graphql(app, DEACTIVATE, variables, token=owner)["deactivateUser"]["errors"] == []

    return Revocation(token, revoke, [])


def _token_revocation(app: TestClient, seller: Seller, owner: str) -> Revocation:
    made = graphql(
        app, CREATE_TOKEN, {"input": {"name": "board", "scopes": ["ORDERS_READ"]}}, token=owner
    )["createApiToken"]
    other = graphql(
        app, CREATE_TOKEN, {"input": {"name": "erp", "scopes": ["ORDERS_READ"]}}, token=owner
    )["createApiToken"]

    def revoke() -> None:
        variables = {"input": {"id": made["apiToken"]["id"]}}
        assert graphql(app, REVOKE_TOKEN, variables, token=owner)["revokeApiToken"]["errors"] == []

    # Another token of the same owner is not revoked with it.
    return Revocation(made["secret"], revoke, [other["secret"]])


def _token_creator_role_change(app: TestClient, seller: Seller, owner: str) -> Revocation:
    manager = login(app, seller, "manager")
    made = graphql(
        app, CREATE_TOKEN, {"input": {"name": "board", "scopes": ["ORDERS_READ"]}}, token=manager
    )["createApiToken"]

    def revoke() -> None:
        variables = {"input": {"id": user_gid(seller, Role.MANAGER), "role": "SERVICE"}}
        assert graphql(app, UPDATE_USER, variables, token=owner)["updateUser"]["errors"] == []

    # An API token acts with its creator's role: a new role for the creator ends it too.
    return Revocation(made["secret"], revoke, [])


REVOCATIONS = {
    "logout": _logout,
    "password change": _password_change,
    "role change": _role_change,
    "deactivation": _deactivation,
    "API-token revocation": _token_revocation,
    "role change of a token's creator": _token_creator_role_change,
}


@pytest.mark.parametrize("how", list(REVOCATIONS))
async def test_revocation_closes_the_callers_subscriptions(
    settings: Settings, client: GraphQLClient, seller: Seller, how: str
) -> None:
    owner = client.token_for(seller, Role.OWNER)
    # The colleague who keeps listening: a user no revocation here touches.
    colleague = client.token_for(seller, Role.WAREHOUSE)

    def scenario() -> tuple[dict[str, Any], float, list[dict[str, Any]]]:
        with TestClient(create_app(live_settings(settings), AppOptions(run_relay=True))) as app:
            revocation = REVOCATIONS[how](app, seller, owner)
            with ExitStack() as stack:
                victim = stack.enter_context(open_socket(app, revocation.victim))
                others = [
                    stack.enter_context(open_socket(app, token))
                    for token in [colleague, *revocation.bystanders]
                ]
                for ws in (victim, *others):
                    subscribe(ws, "1", ORDER_CREATED)
                    subscribe(ws, "2", ORDER_UPDATED)
                started = time.monotonic()
                revocation.revoke()
                # Nothing else happens: the revocation itself must close the idle socket.
                closed = next_result(victim)
                seconds = time.monotonic() - started
                create_order(app, seller, owner, f"AFTER-{how}")
                heard = [next_result(ws) for ws in others]
                for ws in others:
                    assert_quiet(ws)
            return closed, seconds, heard

    closed, seconds, heard = await asyncio.to_thread(scenario)
    assert closed == SESSION_ENDED
    assert seconds < 5, f"closed after {seconds:.2f} s"
    for message in heard:
        assert message["payload"]["data"]["orderCreated"]["externalId"] == f"AFTER-{how}"


async def void_sessions_silently(db: Database, seller: Seller, role: Role) -> None:
    """What a change made outside the API (or an access.revoked message Redis lost) looks like:
    the user's sessions are void, and nobody was told."""
    async with UnitOfWork(db, seller.org_id) as uow:
        await uow.session.execute(
            update(User)
            .where(col(User.id) == seller.users[role].id)
            .values(token_version=User.token_version + 1)
        )
        await uow.commit()


async def test_a_lost_revocation_is_caught_by_the_periodic_check(
    settings: Settings, client: GraphQLClient, db: Database, seller: Seller
) -> None:
    victim = client.token_for(seller, Role.SERVICE)
    test_loop = asyncio.get_running_loop()

    def scenario() -> tuple[dict[str, Any], float]:
        app = create_app(live_settings(settings, recheck_seconds=0.2))
        with TestClient(app) as app_client, open_socket(app_client, victim) as ws:
            subscribe(ws, "1", ORDER_CREATED)
            started = time.monotonic()
            # On the test's own loop, which owns the test's database pool.
            asyncio.run_coroutine_threadsafe(
                void_sessions_silently(db, seller, Role.SERVICE), test_loop
            ).result()
            return next_result(ws), time.monotonic() - started

    closed, seconds = await asyncio.to_thread(scenario)
    assert closed == SESSION_ENDED
    assert seconds < 5


async def test_no_event_is_delivered_on_a_voided_credential(
    settings: Settings, client: GraphQLClient, db: Database, seller: Seller
) -> None:
    """Even before any check notices, an event is delivered only to sockets whose credential
    holds in the same transaction that reads the event's order."""
    victim = client.token_for(seller, Role.SERVICE)
    manager = client.token_for(seller, Role.MANAGER)
    test_loop = asyncio.get_running_loop()

    def scenario() -> tuple[dict[str, Any], dict[str, Any]]:
        with (
            TestClient(create_app(live_settings(settings), AppOptions(run_relay=True))) as app,
            open_socket(app, victim) as ws,
            open_socket(app, manager) as colleague,
        ):
            for socket in (ws, colleague):
                subscribe(socket, "1", ORDER_CREATED)
            asyncio.run_coroutine_threadsafe(
                void_sessions_silently(db, seller, Role.SERVICE), test_loop
            ).result()
            create_order(app, seller, manager, "AFTER-VOID")
            return next_result(ws), next_result(colleague)

    victim_got, colleague_got = await asyncio.to_thread(scenario)
    assert victim_got == SESSION_ENDED
    assert colleague_got["payload"]["data"]["orderCreated"]["externalId"] == "AFTER-VOID"


# -- one fetch per event, each subscriber's own scope -------------------------------------------
async def _assign(db: Database, seller: Seller, order: Order, supplier_id: int | None) -> None:
    async with UnitOfWork(db, seller.org_id) as uow:
        row = await uow.orders.get(order.id or 0)
        assert row is not None
        row.supplier_id = supplier_id
        await uow.commit()


async def test_suppliers_hear_only_their_own_orders(
    settings: Settings, client: GraphQLClient, db: Database, seller: Seller
) -> None:
    owner = client.token_for(seller, Role.OWNER)
    manager = client.token_for(seller, Role.MANAGER)
    supplier_a = client.token_for(seller, Role.SUPPLIER)
    made = await client.data(
        """mutation($password: String!) { createUser(input: {username: "supplier-b",
           password: $password, role: SUPPLIER, supplier: "Supplier B"}) { errors { code } } }""",
        {"password": PASSWORD},
        token=owner,
    )
    assert made["createUser"]["errors"] == []
    async with UnitOfWork(db, seller.org_id) as uow:
        supplier_b_row = await uow.accounts.user_by_username(seller.org_id, "supplier-b")
        assert supplier_b_row is not None
    order_a = await make_order(db, seller)
    order_b = await make_order(db, seller)
    await _assign(db, seller, order_a, seller.users[Role.SUPPLIER].supplier_id)
    await _assign(db, seller, order_b, supplier_b_row.supplier_id)

    def remark(app: TestClient, order: Order, text: str) -> None:
        variables = {"input": {"id": to_global_id("Order", order.id or 0), "text": text}}
        assert graphql(app, REMARK, variables, token=manager)["addOrderRemark"]["errors"] == []

    def scenario() -> dict[str, list[dict[str, Any]]]:
        with (
            TestClient(create_app(live_settings(settings), AppOptions(run_relay=True))) as app,
            open_socket(app, supplier_a) as ws_a,
            open_socket(app, login(app, seller, "supplier-b")) as ws_b,
            open_socket(app, manager) as ws_staff,
        ):
            sockets = {"a": ws_a, "b": ws_b, "staff": ws_staff}
            for ws in sockets.values():
                subscribe(ws, "1", ORDER_UPDATED)
            remark(app, order_b, "for B")
            remark(app, order_a, "for A")
            heard = {"a": [next_result(ws_a)], "b": [next_result(ws_b)]}
            heard["staff"] = [next_result(ws_staff), next_result(ws_staff)]
            for ws in sockets.values():
                assert_quiet(ws)
            return heard

    heard = await asyncio.to_thread(scenario)

    def numbers(messages: list[dict[str, Any]]) -> list[str]:
        return [m["payload"]["data"]["orderUpdated"]["externalId"] for m in messages]

    # Supplier A's first and only event is A's order, though B's was published first.
    assert numbers(heard["a"]) == [order_a.external_id]
    assert numbers(heard["b"]) == [order_b.external_id]
    assert numbers(heard["staff"]) == [order_b.external_id, order_a.external_id]
    # Field permissions still apply per subscriber: no money for a supplier.
    supplier_view = heard["a"][0]["payload"]
    assert supplier_view["data"]["orderUpdated"]["total"] is None
    assert {e["extensions"]["code"] for e in supplier_view["errors"]} == {"FORBIDDEN"}
    staff_view = heard["staff"][1]["payload"]["data"]["orderUpdated"]
    assert staff_view["total"] == {"fen": str(order_a.total_fen)}


BOARD_ROW = """subscription { orderCreated { externalId status
    lines { quantity sku { code } } shop { channel } } }"""


def _reads_of(table: str, statements: list[str]) -> int:
    return sum(1 for s in statements if re.search(rf"\bFROM {table}\b", s))


async def test_one_fetch_per_event_serves_every_subscriber_of_a_seller(
    settings: Settings, client: GraphQLClient, seller: Seller
) -> None:
    owner = client.token_for(seller, Role.OWNER)
    roles = [Role.OWNER, Role.MANAGER, Role.OPERATOR, Role.SERVICE, Role.WAREHOUSE]
    tokens = [client.token_for(seller, role) for role in roles]
    other = await make_org(client.services.db)
    other_owner = client.token_for(other, Role.OWNER)

    def scenario() -> tuple[list[str], list[dict[str, Any]]]:
        # The relay runs in one server, the subscribers listen on another: only the fan-out's
        # statements run on the second server's engine.
        with (
            TestClient(create_app(live_settings(settings), AppOptions(run_relay=True))) as one,
            TestClient(create_app(live_settings(settings))) as two,
            ExitStack() as stack,
        ):
            *mine, foreign = [
                stack.enter_context(open_socket(two, token)) for token in [*tokens, other_owner]
            ]
            for ws in (*mine, foreign):
                subscribe(ws, "1", BOARD_ROW)
                subscribe(ws, "2", ORDER_UPDATED)
                assert_quiet(ws)  # its subscriptions have started
            with count_statements(two.app.state.services.db.engine) as counter:
                create_order(one, seller, owner, "FANOUT-1")
                heard = [next_result(ws) for ws in mine]
                # The other seller's event reaches no socket of this seller.
                create_order(one, other, other_owner, "OTHER-1")
                foreign_row = next_result(foreign)["payload"]["data"]["orderCreated"]
                assert foreign_row["externalId"] == "OTHER-1"
                for ws in mine:
                    assert_quiet(ws)
            return counter.statements, heard

    statements, heard = await asyncio.to_thread(scenario)
    rows = [m["payload"]["data"]["orderCreated"] for m in heard]
    assert [row["externalId"] for row in rows] == ["FANOUT-1"] * 5
    assert all(row["shop"] == {"channel": "MANUAL"} and row["lines"] for row in rows)
    # Two events (one per seller), each read once for all of that seller's subscribers here:
    # the order with what a board row shows, and the subscribers' credentials.
    for table in ("orders", "order_lines", "shops", "skus", "users"):
        assert _reads_of(table, statements) == 2, table


async def test_a_subscriber_that_falls_behind_is_told_and_an_ended_one_stays_silent() -> None:
    """A client that stops reading cannot make the server hold its events without bound, and a
    socket whose credential ended delivers nothing while it is being closed."""
    actor = Actor.for_user(org_id=1, user_id=2, role=Role.MANAGER, username="m", supplier_id=None)
    claims = SessionClaims(
        org_id=1, user_id=2, token_version=0, expires_at=datetime.now(UTC) + timedelta(hours=1)
    )
    connection = LiveConnection(actor, Grant.for_session(actor, claims, "session"))
    live = LiveOrder(order=Order(id=1, org_id=1), lines=[], shop=None, skus={})

    slow = OrderSubscriber(connection, frozenset({"order.created"}), None)
    for _ in range(1001):
        slow.offer(live)
    with pytest.raises(SubscriberTooSlow) as raised:
        await anext(slow)
    assert raised.value.extensions == {"code": "RATE_LIMITED"}

    ended = OrderSubscriber(connection, frozenset({"order.created"}), None)
    ended.offer(live)
    connection.end()
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(anext(ended), 0.2)
