"""``orderflow worker`` as a real process: started, watched through its JSON log, killed.

The worker runs as production runs it (the CLI, its own event loop, its own connections), in a
process group of its own so that SIGKILL takes all of it at once.  Its log lines are collected by
a thread (so its pipe never fills); tests wait for an event in them, always with a deadline.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


class WorkerProcess:
    def __init__(self, env: dict[str, str], cwd: Path) -> None:
        base = {k: v for k, v in os.environ.items() if not k.startswith("ORDERFLOW_")}
        base.pop("DATABASE_ADMIN_URL", None)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "api.cli", "worker"],
            cwd=cwd,
            env={**base, "PYTHONPATH": str(ROOT), "ORDERFLOW_LOG_FORMAT": "json", **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.lines: list[str] = []
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for raw in self.process.stdout:
            with self._lock:
                self.lines.append(raw.decode(errors="replace").rstrip())

    def events(self, since: int = 0) -> list[dict[str, Any]]:
        """The JSON log events from line ``since`` on (other output is skipped)."""
        with self._lock:
            lines = self.lines[since:]
        found = []
        for line in lines:
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if isinstance(event, dict):
                found.append(event)
        return found

    def mark(self) -> int:
        with self._lock:
            return len(self.lines)

    def wait_for(
        self, matches: Callable[[dict[str, Any]], bool], what: str, *, since: int = 0, within: float
    ) -> dict[str, Any]:
        """The first event from line ``since`` on that ``matches``; fails after ``within`` s or
        when the worker exits first."""
        deadline = time.monotonic() + within
        while True:
            for event in self.events(since):
                if matches(event):
                    return event
            if self.process.poll() is not None:
                raise AssertionError(f"the worker exited before {what}:\n{self.output()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}:\n{self.output()}")
            time.sleep(0.02)

    def output(self, last: int = 40) -> str:
        with self._lock:
            return "\n".join(self.lines[-last:])

    def kill(self) -> None:
        """SIGKILL the whole process group: no shutdown code runs, nothing is cleaned up."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> int:
        """SIGTERM, as a service manager stops it; returns the exit code."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=30)
        self._reader.join(timeout=5)
        return self.process.returncode
