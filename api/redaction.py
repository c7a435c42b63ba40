"""What may never reach a log line: secrets, credentials, row values and buyers' phone numbers.

The last structlog processor before rendering runs every event through ``Redactor``, for
orderflow's own events and for foreign stdlib records (uvicorn, SQLAlchemy, strawberry) alike,
after the traceback has been turned into text, so exception messages are covered too:

- values of keys named like a secret (``password``, ``secret``, ``token``, ``authorization``,
  ``cookie``, ``api_key`` …) become ``[redacted]``;
- known secrets (the secret key, passwords inside service URLs) are cut out wherever they appear;
- bearer credentials, session tokens (JWT) and API-token secrets are cut out by their shape;
- PostgreSQL error details that quote row values (``Key (…)=(…)``, ``Failing row contains (…)``)
  and SQLAlchemy's ``[parameters: …]`` lose the values;
- mainland mobile numbers (``1[3-9]`` + 9 digits, with ``+86``/``0086`` and spaces or dashes)
  are masked as ``138****1234``.

It is a safety net, not the first line: SQL parameters are already hidden by the engine
(``hide_parameters``) and tracebacks never render local variables.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, MutableMapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

REDACTED = "[redacted]"

#: Keys whose string values are credentials whatever they look like.
_SECRET_KEY = re.compile(
    r"pass(?:word|wd|phrase)?|secret|token|authori[sz]ation|cookie|api[-_]?key|credential|csrf"
    r"|private[-_]?key|dsn",
    re.IGNORECASE,
)


@lru_cache(maxsize=1024)
def _names_a_secret(key: str) -> bool:
    # Events reuse a handful of keys: decide each once.
    return _SECRET_KEY.search(key) is not None


#: The shortest known secret worth searching for (shorter ones would match ordinary words).
_MIN_SECRET_LENGTH = 8
#: Keys the processors before this one fill in; never derived from a request.
_STRUCTURAL_KEYS = frozenset({"timestamp", "level", "logger"})


@dataclass(frozen=True)
class _Rule:
    """A pattern, and a substring without which it cannot match: every value of every log line
    passes here, and a substring test costs a fraction of a regular-expression scan."""

    gate: str
    pattern: re.Pattern[str]
    replace: Callable[[re.Match[str]], str]


def mask_phone(text: str) -> str:
    """``13812345678`` (in any of the shapes below) as ``138****5678``."""
    digits = re.sub(r"\D", "", text)[-11:]
    return f"{digits[:3]}****{digits[-4:]}"


def _phone(match: re.Match[str]) -> str:
    start = match.start()
    if start and match.string[start - 1].isascii() and match.string[start - 1].isalnum():
        return match.group()  # inside a longer token (an id, a hash): not a phone number
    return mask_phone(match.group())


_RULES = (
    # scheme://user:password@host
    _Rule("://", re.compile(r"://([^:/@\s]*):[^@/\s]+@"), lambda m: f"://{m[1]}:{REDACTED}@"),
    _Rule("earer", re.compile(r"[Bb]earer\s+[A-Za-z0-9._~+/=-]+"), lambda m: f"Bearer {REDACTED}"),
    # Session tokens are JWTs: three base64url parts, the first one a JSON header "eyJ…".
    _Rule(
        "eyJ",
        re.compile(r"eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*"),
        lambda m: REDACTED,
    ),
    # API tokens: oft_<prefix>_<secret>; the prefix identifies the token and is not secret.
    _Rule("oft_", re.compile(r"(oft_[0-9a-f]+_)[A-Za-z0-9_-]+"), lambda m: f"{m[1]}{REDACTED}"),
    # PostgreSQL DETAIL lines quote the offending row's values.
    _Rule(
        "Key (",
        re.compile(r"(Key \([^)]*\)=)\((?:[^()]|\([^()]*\))*\)"),
        lambda m: f"{m[1]}({REDACTED})",
    ),
    _Rule(
        "Failing row contains",
        re.compile(r"(Failing row contains )\((?:[^()]|\([^()]*\))*\)"),
        lambda m: f"{m[1]}({REDACTED})",
    ),
    # SQLAlchemy appends the statement's parameters unless the engine hides them.
    _Rule(
        "[parameters:", re.compile(r"\[parameters: [^\n]*"), lambda m: f"[parameters: {REDACTED}]"
    ),
)
# 13812345678, 138 1234 5678, 138-1234-5678, +86 13812345678, 008613812345678.
_PHONE = re.compile(r"(?:(?:\+|00)?86[\s-]?)?1[3-9]\d[\s-]?\d{4}[\s-]?\d{4}(?![0-9A-Za-z])")
_PHONE_GATE = re.compile(r"1[3-9]")
_PHONE_MIN_LENGTH = 11
_PHONE_INT_RANGE = range(13_000_000_000, 20_000_000_000)


def secrets_in_url(url: str | None) -> list[str]:
    """The password of a service URL (``postgresql://user:pw@host/db``), if it has one."""
    if not url:
        return []
    try:
        password = urlsplit(url).password
    except ValueError:
        return []
    return [password] if password else []


class Redactor:
    """A structlog processor; ``add_secrets`` teaches it values known only at start-up."""

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        # Longest first, so a secret that contains another is cut out whole.
        self._secrets: tuple[str, ...] = ()
        self.add_secrets(secrets)

    def add_secrets(self, secrets: Iterable[str | None]) -> None:
        new = {s for s in secrets if s and len(s) >= _MIN_SECRET_LENGTH}
        self._secrets = tuple(sorted(new | set(self._secrets), key=len, reverse=True))

    def text(self, value: str) -> str:
        for secret in self._secrets:
            if secret in value:
                value = value.replace(secret, REDACTED)
        for rule in _RULES:
            if rule.gate in value:
                value = rule.pattern.sub(rule.replace, value)
        if len(value) >= _PHONE_MIN_LENGTH and _PHONE_GATE.search(value):
            value = _PHONE.sub(_phone, value)
        return value

    def value(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, bool):
            return value
        if isinstance(value, int):
            return mask_phone(str(value)) if value in _PHONE_INT_RANGE else value
        if isinstance(value, dict):
            return self.mapping(value)
        if isinstance(value, list | tuple):
            return [self.value(item) for item in value]
        if isinstance(value, bytes | bytearray):
            return self.text(bytes(value).decode("utf-8", "replace"))
        return value

    def mapping(self, mapping: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
        for key, item in mapping.items():
            if key in _STRUCTURAL_KEYS:
                continue
            if isinstance(item, str | bytes) and isinstance(key, str) and _names_a_secret(key):
                mapping[key] = REDACTED
            else:
                mapping[key] = self.value(item)
        return mapping

    def __call__(
        self, logger: Any, method_name: str, event_dict: MutableMapping[str, Any]
    ) -> MutableMapping[str, Any]:
        return self.mapping(event_dict)
