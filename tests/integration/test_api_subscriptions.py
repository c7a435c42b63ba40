"""The live order board: orderCreated / orderUpdated over graphql-transport-ws."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from starlette.testclient import TestClient

from api.app import AppOptions, create_app
from db.settings import Settings
from domain.accounts.model import Role
from tests.integration.test_api_orders import CREATE, order_input
from tests.support.api import GraphQLClient
from tests.support.factories import PASSWORD, Seller, make_org

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _subscribe(ws: Any, op_id: str, query: str, variables: dict[str, Any] | None = None) -> None:
    ws.send_json(
        {
            "id": op_id,
            "type": "subscribe",
            "payload": {"query": query, "variables": variables or {}},
        }
    )


def _next(ws: Any) -> dict[str, Any]:
    while True:
        message: dict[str, Any] = ws.receive_json()
        if message["type"] in {"next", "error", "complete"}:
            return message


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
            one.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws1,
            two.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws2,
            two.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as foreign,
        ):
            for ws, tok in ((ws1, token), (ws2, token), (foreign, other_token)):
                ws.send_json(
                    {"type": "connection_init", "payload": {"authorization": f"Bearer {tok}"}}
                )
                assert ws.receive_json()["type"] == "connection_ack"
                _subscribe(ws, "1", "subscription { orderCreated { externalId status } }")
            # A rolled-back attempt (bad input) must deliver nothing; then a real one.
            bad = one.post(
                "/graphql",
                json={"query": CREATE, "variables": {"input": order_input(seller, lines=[])}},
                headers={"authorization": f"Bearer {token}"},
            )
            assert bad.json()["data"]["createOrder"]["errors"]
            good = one.post(
                "/graphql",
                json={
                    "query": CREATE,
                    "variables": {"input": order_input(seller, externalId="WX-0001")},
                },
                headers={"authorization": f"Bearer {token}"},
            )
            assert good.json()["data"]["createOrder"]["errors"] == []
            received = [_next(ws1), _next(ws2)]
            # The other organisation hears nothing: its next message is the pong we ask for.
            foreign.send_json({"type": "ping"})
            assert foreign.receive_json()["type"] == "pong"
            return received

    received = await asyncio.to_thread(scenario)
    for message in received:
        assert message["type"] == "next"
        assert message["payload"]["data"]["orderCreated"] == {
            "externalId": "WX-0001",
            "status": "NEW",
        }


async def test_subscription_needs_credentials(settings: Settings) -> None:
    def scenario() -> int:
        with (
            TestClient(create_app(settings)) as app_client,
            app_client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws,
        ):
            ws.send_json({"type": "connection_init", "payload": {}})
            message = ws.receive()
            return int(message.get("code", 0))

    assert await asyncio.to_thread(scenario) == 4403


async def test_browser_session_cookie_authenticates_the_websocket(
    settings: Settings, client: GraphQLClient, seller: Seller
) -> None:
    """GraphiQL and SPAs in a browser: the httpOnly cookie from `login(useCookie: true)` rides on
    the websocket handshake, so connection_init needs no token."""

    def scenario() -> str:
        with TestClient(create_app(settings)) as browser:
            login = browser.post(
                "/graphql",
                json={
                    "query": """mutation($input: LoginInput!) { login(input: $input) {
                        csrfToken errors { code } } }""",
                    "variables": {
                        "input": {
                            "organization": seller.slug,
                            "username": "manager",
                            "password": PASSWORD,
                            "useCookie": True,
                        }
                    },
                },
            )
            assert login.json()["data"]["login"]["errors"] == []
            with browser.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
                ws.send_json({"type": "connection_init", "payload": {}})
                return str(ws.receive_json()["type"])

    assert await asyncio.to_thread(scenario) == "connection_ack"
