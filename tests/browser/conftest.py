"""Debian's Chromium driven by Playwright, against A's web server and A's and B's real workers
(tests/conftest.py): the page as a person uses it. Screenshots go to var/artifacts/browser/."""

import os
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Browser, Page, ViewportSize, sync_playwright

from harness.browser import CHROMIUM, CHROMIUM_ARGS, DESKTOP, PASSWORD, PHONE, screenshot


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: run `make browser` to install Debian's Chromium.")
    # Playwright's sync API keeps an event loop running in this thread, so Django would refuse
    # this process's ORM calls (test setup, assertions, the database flush after each test) as
    # if they came from async code. They are plain synchronous calls.
    with pytest.MonkeyPatch.context() as patch, sync_playwright() as playwright:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def person(transactional_db: None) -> User:
    return User.objects.create_user("ada", password=PASSWORD)


@contextmanager
def page_sized(
    browser: Browser, request: pytest.FixtureRequest, viewport: ViewportSize
) -> Iterator[Page]:
    """A fresh browser context of that size; on failure its last screen is kept as an
    artifact. Confirmation dialogs ("Delete …?") are accepted."""
    context = browser.new_context(viewport=viewport, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.on("dialog", lambda dialog: dialog.accept())
    try:
        yield page
    finally:
        report = getattr(request.node, "rep_call", None)
        if report is not None and report.failed:
            screenshot(page, f"{request.node.name}-failure")
        context.close()


@pytest.fixture
def page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A fresh desktop-sized browser context per test."""
    with page_sized(browser, request, DESKTOP) as page:
        yield page


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> object:
    report = yield
    if report.when == "call":
        item.rep_call = report  # type: ignore[attr-defined]
    return report


@pytest.fixture(params=[DESKTOP, PHONE], ids=["desktop", "phone"])
def screen(request: pytest.FixtureRequest) -> ViewportSize:
    """Each test that asks for it runs on a desktop and on a phone."""
    viewport: ViewportSize = request.param
    return viewport


@pytest.fixture
def sized_page(
    browser: Browser, screen: ViewportSize, request: pytest.FixtureRequest
) -> Iterator[Page]:
    with page_sized(browser, request, screen) as page:
        yield page
