"""Debian's Chromium for the browser tests, and where their screenshots go.

Playwright drives the system's Chromium (installed by ``make browser``); Playwright's own
browser download is never used, and nothing the browser does may reach the network.
"""

from pathlib import Path

from playwright.sync_api import Page

from harness.processes import REPO

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = REPO / "var" / "artifacts" / "browser"
"""Screenshots: test artifacts, never committed (var/ is ignored)."""

PASSWORD = "browser-test-password"


def screenshot(page: Page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
