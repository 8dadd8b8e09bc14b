"""Headless Chromium for the console's end-to-end tests: Debian's /usr/bin/chromium, driven by Playwright.

Playwright downloads no browser here: it launches the system's Chromium (`.ci/run`
installs Debian's package where it is missing). Without one, the tests are
skipped with the command that installs it, except under CI, where that is a
failure. Screenshots go to reports/screenshots/ (a test artifact, not committed).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, async_playwright

SCREENSHOTS = Path(__file__).resolve().parents[1] / "reports" / "screenshots"
# As on this machine's probe: no sandbox as root, and nothing that reaches for Google's hosts.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
PHONE = {"width": 390, "height": 844}


def chromium_path() -> str:
    found = os.environ.get("PIYASA_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        message = "no Chromium: `apt-get install chromium` (Debian), or set PIYASA_CHROMIUM to a Chromium binary"
        if os.environ.get("CI"):
            pytest.fail(message + " (.ci/run installs it)")
        pytest.skip(message)
    return found


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    executable = chromium_path()
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            await launched.close()


async def screenshot(page: Page, name: str) -> Path:
    """Keep what the page looked like (reports/screenshots/<name>.png)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    return path
