"""A headless browser for tests: Debian's chromium driven by Playwright, never a downloaded one.

``playwright install`` fetches browser builds from outside, which these machines cannot reach;
Debian's ``chromium`` package is installed instead when it is missing and the tests run as root.
A test that needs it is skipped, saying why, only when no browser can be installed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from functools import lru_cache
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / ".orderflow" / "artifacts"


def _apt_install(package: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["apt-get", "install", "-y", package],
        capture_output=True,
        text=True,
        env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
        check=False,
    )


@lru_cache(maxsize=1)
def chromium_or_reason() -> tuple[str | None, str]:
    """The chromium executable, installing Debian's package if needed; else why there is none."""
    if Path(CHROMIUM).exists():
        return CHROMIUM, ""
    if shutil.which("apt-get") is None:
        return None, "no /usr/bin/chromium and no apt-get to install it"
    if os.geteuid() != 0:
        return None, "no /usr/bin/chromium; run as root (or `apt-get install chromium`) to test"
    result = _apt_install("chromium")
    if result.returncode != 0:
        # A fresh machine has no package lists yet.
        subprocess.run(["apt-get", "update"], capture_output=True, text=True, check=False)
        result = _apt_install("chromium")
    if result.returncode != 0 or not Path(CHROMIUM).exists():
        tail = (result.stderr or result.stdout).strip().splitlines()[-1:]
        return None, f"`apt-get install chromium` failed: {' '.join(tail)}"
    return CHROMIUM, ""


def artifact_path(name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS / name
