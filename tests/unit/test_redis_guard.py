"""RedisGuard: skip a failing Redis for a while, probe it once per interval, log the outage once."""

from __future__ import annotations

from structlog.testing import capture_logs

from db.redis import RedisGuard


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_failure_skips_redis_until_one_caller_probes_again() -> None:
    clock = Clock()
    guard = RedisGuard(5.0, clock=clock)
    assert guard.available() and not guard.is_down
    guard.failed("rate_limit", ConnectionError("refused"), fallback="open")
    assert guard.is_down
    assert not guard.available()
    clock.now += 5.0
    assert guard.available()  # this caller probes...
    assert not guard.available()  # ...and the others keep skipping meanwhile
    guard.succeeded()
    assert guard.available() and not guard.is_down


def test_a_probe_that_never_reports_gets_another_chance() -> None:
    clock = Clock()
    guard = RedisGuard(5.0, clock=clock)
    guard.failed("rate_limit", TimeoutError("hung"), fallback="open")
    clock.now += 5.0
    assert guard.available()  # e.g. the request was cancelled before it reported
    clock.now += 5.0
    assert guard.available()


def test_an_outage_is_logged_once_a_minute_whatever_the_traffic() -> None:
    clock = Clock()
    guard = RedisGuard(1.0, log_every_seconds=60.0, clock=clock)
    with capture_logs() as logs:
        for _ in range(100):
            guard.failed("session_denylist", TimeoutError("Timeout reading"), fallback="pg")
            guard.available()
            clock.now += 0.1
        clock.now += 60.0
        guard.failed("session_denylist", TimeoutError("Timeout reading"), fallback="pg")
        guard.succeeded()
    events = [e["event"] for e in logs]
    assert events == ["redis.unavailable", "redis.unavailable", "redis.recovered"]
    first, second = logs[0], logs[1]
    assert first["failures"] == 1 and first["error"] == "TimeoutError: Timeout reading"
    assert second["failures"] == 100  # the 99 quiet ones, counted into the next line
    assert second["skipped_calls"] > 0
