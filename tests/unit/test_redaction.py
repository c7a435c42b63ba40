"""The last processor before a log line is written: what it cuts out and what it leaves."""

from __future__ import annotations

from typing import Any

import pytest

from api.redaction import REDACTED, Redactor, mask_phone, secrets_in_url


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("call 13812345678 now", "call 138****5678 now"),
        ("tel:+8613812345678", "tel:138****5678"),
        ("0086 138-1234-5678", "138****5678"),
        ("138 1234 5678", "138****5678"),
        ("电话13912345678请联系", "电话139****5678请联系"),
        # Not phones: longer digit runs, ids with letters around, other prefixes.
        ("order 1381234567890", "order 1381234567890"),
        ("req a13812345678b", "req a13812345678b"),
        ("12812345678", "12812345678"),
    ],
)
def test_phone_numbers_are_masked(text: str, expected: str) -> None:
    assert Redactor().text(text) == expected


def test_credentials_are_cut_out_by_shape() -> None:
    redactor = Redactor()
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJlLXZhbHVl"
    assert redactor.text(f"token={jwt}!") == f"token={REDACTED}!"
    assert redactor.text("Authorization: Bearer abc.def-123") == f"Authorization: Bearer {REDACTED}"
    assert redactor.text("oft_0a1b2c3d4e5f_S3cr3t-value_x") == f"oft_0a1b2c3d4e5f_{REDACTED}"
    assert (
        redactor.text("postgresql://orderflow_server:hunter2hunter2@db:5432/orderflow")
        == f"postgresql://orderflow_server:{REDACTED}@db:5432/orderflow"
    )


def test_database_details_lose_their_values() -> None:
    redactor = Redactor()
    detail = "DETAIL:  Key (org_id, phone)=(7, 13812345678) already exists."
    assert redactor.text(detail) == f"DETAIL:  Key (org_id, phone)=({REDACTED}) already exists."
    row = "Failing row contains (1, 张三, 13812345678, (nested), x)."
    assert redactor.text(row) == f"Failing row contains ({REDACTED})."
    params = "[SQL: INSERT ...]\n[parameters: (1, '张三', '13812345678')]\n(Background ...)"
    assert redactor.text(params) == f"[SQL: INSERT ...]\n[parameters: {REDACTED}]\n(Background ...)"


def test_known_secrets_and_secret_keys() -> None:
    redactor = Redactor(["the-secret-key-0123456789"])
    redactor.add_secrets([None, "short", *secrets_in_url("redis://:redis-pass-99@host:6379/0")])
    event: dict[str, Any] = {
        "event": "boot with the-secret-key-0123456789 and redis-pass-99",
        "password": "hunter2",
        "authorization": b"Basic abc",
        "api_key": "k",
        "token_id": 42,
        "nested": {"list": ["the-secret-key-0123456789", 13812345678], "csrf_token": "c"},
        "short": "short",
    }
    assert redactor(None, "info", event) == {
        "event": f"boot with {REDACTED} and {REDACTED}",
        "password": REDACTED,
        "authorization": REDACTED,
        "api_key": REDACTED,
        "token_id": 42,
        "nested": {"list": [REDACTED, "138****5678"], "csrf_token": REDACTED},
        "short": "short",
    }


def test_mask_phone_keeps_prefix_and_tail() -> None:
    assert mask_phone("+86 139-8765-4321") == "139****4321"
