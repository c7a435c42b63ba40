"""No secret, token, password or phone number ever reaches a log line, in either format.

Before, tracebacks rendered local variables: a short session's log held the first 32 characters
of the secret key 250 times, prefixes of DATABASE_URL and of session tokens, and (JSON format)
receivers' phone numbers inside the SQL parameters of an IntegrityError.
"""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import pytest

from api.ids import to_global_id
from db import integrity
from db.settings import Settings
from domain.accounts.model import Role
from tests.support.api import graphql_client
from tests.support.factories import PASSWORD, Seller, make_org
from tests.support.logs import captured_logs

LOGIN = """mutation($input: LoginInput!) { login(input: $input) { token errors { code } } }"""
CREATE_TOKEN = """mutation($input: CreateApiTokenInput!) { createApiToken(input: $input) {
  secret errors { code } } }"""
CREATE_ORDER = """mutation($input: CreateOrderInput!) { createOrder(input: $input) {
  order { id } errors { code } } }"""
RECEIVER_PHONE = "13912345678"
BUYER_NOTE_PHONE = "13698765432"
WRONG_PASSWORD = "not-the-password-42"


def order_input(seller: Seller) -> dict[str, Any]:
    sku = seller.skus[0]
    assert sku.id is not None
    return {
        "externalId": "DUP-1",
        "receiver": {
            "name": "李四",
            "phone": RECEIVER_PHONE,
            "province": "广东省",
            "city": "深圳市",
            "district": "南山区",
            "address": "科技园 1 号",
        },
        "lines": [{"skuId": to_global_id("Sku", sku.id), "quantity": 1, "unitPriceFen": 990}],
        "buyerRemark": f"请打 {BUYER_NOTE_PHONE} 联系",
    }


@pytest.mark.parametrize(
    ("log_format", "environment"), [("json", "production"), ("console", "development")]
)
async def test_a_session_leaves_no_secret_in_the_log(
    settings: Settings, db: Any, monkeypatch: pytest.MonkeyPatch, log_format: str, environment: str
) -> None:
    from db.repositories.orders import OrderRepository

    app_settings = settings.model_copy(update={"environment": environment})
    seller = await make_org(db)
    async with graphql_client(app_settings) as client:
        with captured_logs(app_settings, log_format) as logs:  # type: ignore[arg-type]
            client.http.headers["user-agent"] = "log-test"
            owner = {"organization": seller.slug, "username": "owner", "password": PASSWORD}
            signed = await client.data(LOGIN, {"input": owner})
            session = signed["login"]["token"]
            assert session

            failed = await client.data(LOGIN, {"input": {**owner, "password": WRONG_PASSWORD}})
            assert failed["login"]["errors"][0]["code"] == "INVALID_CREDENTIALS"

            made = await client.data(
                CREATE_TOKEN,
                {"input": {"name": "ERP", "scopes": ["ORDERS_READ", "ORDERS_WRITE"]}},
                token=session,
            )
            api_token = made["createApiToken"]["secret"]
            assert (await client.data("{ orders { totalCount } }", token=api_token)) is not None
            forbidden = await client.gql("{ users { totalCount } }", token=api_token)
            assert forbidden["errors"][0]["extensions"]["code"] == "FORBIDDEN"
            await client.gql("{ viewer { role } }", token=session + "tampered")

            # A unique violation carrying the receiver's phone in its parameters: the duplicate
            # check loses a race (simulated), so the INSERT itself fails.
            created = await client.data(CREATE_ORDER, {"input": order_input(seller)}, token=session)
            assert created["createOrder"]["order"]["id"]

            async def no_duplicate(self: Any, shop_id: int, external_id: str) -> None:
                return None

            monkeypatch.setattr(OrderRepository, "by_external_id", no_duplicate)
            # As for a unique constraint nobody declared a field for (db/integrity.py): the
            # violation stays unexpected, and is logged with its traceback.
            monkeypatch.setattr(integrity, "as_duplicate", lambda error, keys=None: None)
            raced = await client.gql(CREATE_ORDER, {"input": order_input(seller)}, token=session)
            assert raced["errors"][0]["extensions"]["code"] == "INTERNAL_SERVER_ERROR"

    text = logs.text
    # The session did reach the log: the failed sign-in, the refused field, the database error.
    assert "auth.sign_in_failed" in text and "graphql.error" in text
    assert "graphql.unexpected_error" in text and "IntegrityError" in text
    assert ("exc_type" if log_format == "json" else "Traceback (most recent call last)") in text
    secret_key = client.services.secret_key
    api_secret = api_token.split("_", 2)[2]
    for secret in (
        secret_key,
        secret_key[:16],
        session,
        session.split(".")[2],
        api_token,
        api_secret,
        PASSWORD,
        WRONG_PASSWORD,
        RECEIVER_PHONE,
        BUYER_NOTE_PHONE,
    ):
        assert secret not in text, f"{secret!r} leaked into the {log_format} log"
    assert seller.users[Role.OWNER].password_hash not in text


def test_a_uvicorn_worker_process_logs_plain_tracebacks(settings: Settings) -> None:
    """``orderflow serve --workers N`` starts fresh processes that run only the app factory:
    before, their structlog was never configured and drew rich tracebacks with locals."""
    script = (
        "import structlog\n"
        "from api.app import create_app_from_env\n"
        "create_app_from_env()\n"
        "def lookup():\n"
        "    receiver_phone = 'local-13912345678'\n"
        "    raise KeyError('no such order')\n"
        "try:\n"
        "    lookup()\n"
        "except KeyError:\n"
        "    structlog.get_logger('worker').exception('boom')\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("ORDERFLOW_")}
    env.update(ORDERFLOW_SECRET_KEY=settings.secret_key or "", ORDERFLOW_LOG_FORMAT="console")
    run = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60
    )
    output = run.stdout + run.stderr
    assert run.returncode == 0, output
    assert "Traceback (most recent call last)" in output and "KeyError" in output
    assert "local-13912345678" not in output and "receiver_phone =" not in output
    assert "╭" not in output  # rich's frame boxes
