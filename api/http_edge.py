"""The HTTP side of GraphQL: what a request body may be, and how answers are framed.

Follows GraphQL over HTTP (https://graphql.github.io/graphql-over-http/draft/):

- A body is read as a stream and refused with 413 past ``max_body_bytes`` (at once when the
  declared ``Content-Length`` is already too large), so a 50 MB upload costs nothing.
- A body must be UTF-8 JSON holding an object; anything else is 400, never a 500.
- Clients that accept ``application/graphql-response+json`` get it: a request that never
  reached execution (it did not parse, validate or coerce its variables) is then 4xx without a
  ``data`` entry.  Older clients asking for ``application/json`` (or ``*/*``, or nothing) keep
  the legacy framing: 200 with ``"data": null``.
- Refusals at this level are GraphQL-shaped: ``{"errors": [{"message", "extensions": {"code"}}]}``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from cross_web import HTTPException
from graphql import GraphQLError
from starlette.datastructures import Headers
from starlette.requests import ClientDisconnect
from starlette.responses import Response
from starlette.types import Message, Receive

from api.errors import RequestErrorCode
from domain.errors import ErrorCode

GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
JSON = "application/json"


class PayloadTooLarge(HTTPException):
    def __init__(self, limit: int) -> None:
        super().__init__(413, f"The request body is larger than {limit} bytes")


def bad_request(reason: str) -> HTTPException:
    return HTTPException(400, reason)


async def read_body(headers: Headers, receive: Receive, limit: int) -> bytes:
    """The whole body, read chunk by chunk and never past ``limit`` bytes."""
    declared = headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(limit)
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(limit)
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that hands out the already-read body, then the client's own messages."""
    sent = False

    async def receive_again() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return receive_again


def parse_json_object(data: str | bytes) -> dict[str, Any]:
    """A JSON object from a request body or query parameter; 400 for anything else."""
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise bad_request("The request body is not valid UTF-8") from exc
    if not data.strip():
        raise bad_request("The request body is empty")
    try:
        value = json.loads(data)
    except RecursionError as exc:
        raise bad_request("The request body is nested too deeply") from exc
    except ValueError as exc:  # JSONDecodeError, and integers too long to convert
        raise bad_request("Unable to parse request body as JSON") from exc
    if not isinstance(value, dict):
        raise bad_request("The request body must be a JSON object")
    return value


def _accepted(accept: str) -> dict[str, float]:
    """Media ranges of an Accept header with their quality."""
    ranges: dict[str, float] = {}
    for part in accept.split(","):
        media, *params = (p.strip() for p in part.split(";"))
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if media:
            ranges[media.lower()] = max(quality, ranges.get(media.lower(), 0.0))
    return ranges


def negotiate(accept: str | None) -> str:
    """``application/graphql-response+json`` when the client prefers it, else legacy JSON."""
    if not accept:
        return JSON
    ranges = _accepted(accept)
    modern = ranges.get(GRAPHQL_RESPONSE_JSON, 0.0)
    legacy = max(ranges.get(JSON, 0.0), ranges.get("application/*", 0.0), ranges.get("*/*", 0.0))
    return GRAPHQL_RESPONSE_JSON if modern > 0 and modern >= legacy else JSON


def is_request_error(data: object, errors: Sequence[GraphQLError] | None) -> bool:
    """Did the request fail before execution?  Field errors always carry a path."""
    return data is None and bool(errors) and all(e.path is None for e in errors or ())


#: The status of a request error under ``application/graphql-response+json``, by code.
_REQUEST_ERROR_STATUS = {
    ErrorCode.UNAUTHENTICATED.value: 401,
    ErrorCode.FORBIDDEN.value: 403,
    ErrorCode.RATE_LIMITED.value: 429,
    # A guard that broke before execution: our fault, not the request's.
    RequestErrorCode.INTERNAL_SERVER_ERROR.value: 500,
}


def request_error_status(errors: Sequence[object]) -> int:
    first = errors[0] if errors else None
    code = (first.get("extensions") or {}).get("code") if isinstance(first, dict) else None
    return _REQUEST_ERROR_STATUS.get(str(code), 400)


_HTTP_CODES = {
    400: RequestErrorCode.BAD_REQUEST.value,
    404: ErrorCode.NOT_FOUND.value,
    413: RequestErrorCode.PAYLOAD_TOO_LARGE.value,
    429: ErrorCode.RATE_LIMITED.value,
}


def error_response(exc: HTTPException, media_type: str) -> Response:
    code = _HTTP_CODES.get(exc.status_code, RequestErrorCode.BAD_REQUEST.value)
    body = {"errors": [{"message": exc.reason, "extensions": {"code": code}}]}
    return Response(
        json.dumps(body, separators=(",", ":"), ensure_ascii=False),
        status_code=exc.status_code,
        media_type=media_type,
    )
