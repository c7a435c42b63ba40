"""The Relay window arithmetic over offsets."""

from __future__ import annotations

import pytest

from api.errors import ApiError
from api.pagination import PageRequest, encode_cursor, window


def test_forward_and_backward() -> None:
    w = window(PageRequest(10, None, None, None), 25, 100)
    assert (w.offset, w.limit) == (0, 10)
    w = window(PageRequest(10, encode_cursor(19), None, None), 25, 100)
    assert (w.offset, w.limit) == (20, 5)
    w = window(PageRequest(None, None, 5, None), 25, 100)
    assert (w.offset, w.limit) == (20, 5)
    w = window(PageRequest(None, None, 5, encode_cursor(3)), 25, 100)
    assert (w.offset, w.limit) == (0, 3)
    w = window(PageRequest(None, None, None, None), 25, 100)
    assert (w.offset, w.limit) == (0, 20)


def test_limits_and_bad_cursors() -> None:
    with pytest.raises(ApiError) as info:
        window(PageRequest(101, None, None, None), 25, 100)
    assert info.value.extensions["code"] == "PAGE_SIZE_EXCEEDED"
    with pytest.raises(ApiError):
        window(PageRequest(-1, None, None, None), 25, 100)
    with pytest.raises(ApiError):
        window(PageRequest(5, "garbage", None, None), 25, 100)


def test_first_and_last_together_are_refused() -> None:
    with pytest.raises(ApiError) as info:
        window(PageRequest(5, None, 5, None), 25, 100)
    assert info.value.extensions["code"] == "INVALID_INPUT"
    assert info.value.extensions["field"] == "last"
