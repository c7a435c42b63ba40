"""Credentials of long-lived connections (websockets) and how their revocation is announced."""

from __future__ import annotations

#: The outbox topic written in the same transaction as any change that ends credentials.
ACCESS_REVOKED = "access.revoked"
