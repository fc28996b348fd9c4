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


PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 860}

AXE = REPO / "tests" / "browser" / "node_modules" / "axe-core" / "axe.min.js"
"""axe-core from npm (tests/browser/package-lock.json, installed by ``make browser``)."""


def axe_violations(page: Page, *, impacts: tuple[str, ...] = ("serious", "critical")) -> list[str]:
    """What axe-core finds on the page as it stands, at the given impacts, one line each."""
    if not AXE.is_file():
        raise FileNotFoundError(f"{AXE} is missing: run `make browser` to install axe-core.")
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{violation['id']} ({violation['impact']}): {violation['help']} — "
        + "; ".join(node["target"][0] for node in violation["nodes"][:5])
        for violation in result["violations"]
        if violation["impact"] in impacts
    ]


def horizontal_overflow(page: Page) -> int:
    """How many CSS pixels the page is wider than the viewport (0: no sideways scrolling)."""
    width: int = page.evaluate(
        "Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)"
        " - document.documentElement.clientWidth"
    )
    return width
