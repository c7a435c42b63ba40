"""Password hashing (argon2id) and the minimal password policy."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from domain.accounts.errors import WeakPassword

_hasher = PasswordHasher()
MIN_LENGTH = 8
# Verifying against this keeps an unknown username as slow as a wrong password.
_DUMMY_HASH = _hasher.hash("orderflow-timing-equaliser")


def hash_password(password: str) -> str:
    check_policy(password)
    return _hasher.hash(password)


def check_policy(password: str) -> None:
    if len(password) < MIN_LENGTH:
        raise WeakPassword(f"Password must be at least {MIN_LENGTH} characters", field="password")
    if password.isdigit() or password.isalpha():
        raise WeakPassword("Password must mix letters with digits or symbols", field="password")


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)
