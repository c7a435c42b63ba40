"""Websockets in tests: graphql-transport-ws through starlette's TestClient, with time limits.

TestClient is synchronous: scenarios using it run in a thread (``asyncio.to_thread``) while the
app runs in the client's own event loop.  Every wait here has a limit, so a socket that stays
silent fails the test instead of hanging it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import anyio
from starlette.testclient import TestClient, WebSocketTestSession

PROTOCOL = "graphql-transport-ws"


def graphql(
    app: TestClient,
    query: str,
    variables: dict[str, Any] | None = None,
    *,
    token: str | None = None,
) -> dict[str, Any]:
    """POST a query; returns ``data`` and fails on any GraphQL error."""
    headers = {"authorization": f"Bearer {token}"} if token else {}
    body: dict[str, Any] = app.post(
        "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
    ).json()
    assert not body.get("errors"), body.get("errors")
    data: dict[str, Any] = body["data"]
    return data


@contextmanager
def open_socket(app: TestClient, token: str | None = None) -> Iterator[WebSocketTestSession]:
    """A websocket past ``connection_ack``: authenticated by ``token``, or by the client's
    session cookie when ``token`` is None."""
    with app.websocket_connect("/graphql", subprotocols=[PROTOCOL]) as ws:
        payload = {"authorization": f"Bearer {token}"} if token else {}
        ws.send_json({"type": "connection_init", "payload": payload})
        assert receive(ws)["type"] == "connection_ack"
        yield ws


def subscribe(
    ws: WebSocketTestSession, op_id: str, query: str, variables: dict[str, Any] | None = None
) -> None:
    ws.send_json(
        {
            "id": op_id,
            "type": "subscribe",
            "payload": {"query": query, "variables": variables or {}},
        }
    )


def receive(ws: WebSocketTestSession, within: float = 5.0) -> dict[str, Any]:
    """The next protocol message, or ``{"type": "close", "code", "reason"}`` when the server
    closed the socket."""
    message = _receive_raw(ws, within)
    if message["type"] == "websocket.close":
        return {"type": "close", "code": message.get("code"), "reason": message.get("reason")}
    decoded: dict[str, Any] = json.loads(message["text"])
    return decoded


def next_result(ws: WebSocketTestSession, within: float = 5.0) -> dict[str, Any]:
    """The next ``next``/``error``/``complete`` message (or the close), skipping pings."""
    while True:
        message = receive(ws, within)
        if message["type"] in {"next", "error", "complete", "close"}:
            return message


def assert_quiet(ws: WebSocketTestSession) -> None:
    """Nothing is waiting on the socket: the answer to a ping is the next message."""
    ws.send_json({"type": "ping"})
    assert receive(ws) == {"type": "pong"}


def _receive_raw(ws: WebSocketTestSession, within: float) -> dict[str, Any]:
    async def limited() -> dict[str, Any]:
        with anyio.fail_after(within):
            message: dict[str, Any] = await ws._send_rx.receive()
            return message

    try:
        return ws.portal.call(limited)
    except TimeoutError as exc:
        raise AssertionError(f"the websocket sent nothing within {within} s") from exc
