"""The page on a desktop and on a phone: several files at once, notifications, delete, search,
filter, pages, the page of one file with its history, keyboard use, and axe-core's checks; in
Chromium against A's real web server and both systems' real workers."""

import re

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from playwright.sync_api import Page, ViewportSize, expect

from files.models import File
from harness.browser import (
    PASSWORD,
    PHONE,
    axe_violations,
    horizontal_overflow,
    screenshot,
)
from harness.processes import ManagedProcess

pytestmark = [pytest.mark.integration, pytest.mark.browser]

FINISH_TIMEOUT_MS = 60_000
GOOD_CSV = b"id,name,score\n1,ada,9.5\n2,grace,8.25\n3,linus,7\n"
WIDE_CSV = (
    ",".join(f"column_{n}" for n in range(40)) + "\n" + ",".join(str(n) for n in range(40)) + "\n"
).encode()
LONG_NAME = "quarterly-revenue-report-for-the-northern-region-final-final-v2-approved.csv"


def log_in(page: Page, web: str, user: User) -> None:
    page.goto(f"{web}/login/")
    page.get_by_label("Username").fill(user.get_username())
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Your files")).to_be_visible()
    # The heading shows while the document is still being parsed; the page's script, at its
    # end, has run (and bound the upload area's keys) only once the load event fired.
    page.wait_for_load_state("load")


def processed(person: User, name: str, *, rows: int = 3) -> File:
    """A file already processed, made directly (no worker), with its upload stored."""
    (settings.STORAGE_ROOT / "uploads").mkdir(parents=True, exist_ok=True)
    key = f"uploads/{person.pk}-{name}"
    (settings.STORAGE_ROOT / key).write_bytes(GOOD_CSV)
    return File.objects.create(
        owner=person,
        original_name=name,
        storage_key=key,
        size_bytes=len(GOOD_CSV),
        status=File.Status.SUCCESS,
        task_id=f"task-{name}",
        attempts=1,
        result={
            "storage_key": key,
            "sha256": "0" * 64,
            "size_bytes": len(GOOD_CSV),
            "format": "csv",
            "rows": rows,
            "columns": [{"name": "id", "type": "integer", "nulls": 0}],
        },
    )


def assert_fits(page: Page, what: str) -> None:
    assert horizontal_overflow(page) <= 0, f"{what}: the page scrolls sideways"


def assert_accessible(page: Page, what: str) -> None:
    violations = axe_violations(page)
    assert not violations, f"{what}: " + "\n".join(violations)


def covered_buttons(page: Page) -> list[str]:
    """Buttons and button links that a notification covers, measured in one go (the list
    refreshes under the test)."""
    covered: list[str] = page.evaluate(
        """() => {
          const toasts = [...document.querySelectorAll('.toast')]
            .map(t => t.getBoundingClientRect());
          const buttons = [...document.querySelectorAll('button, a.button')]
            .filter(b => !b.closest('.toast') && b.offsetParent !== null);
          return buttons.filter(b => {
            const r = b.getBoundingClientRect();
            return toasts.some(t => r.left < t.right && t.left < r.right
                                    && r.top < t.bottom && t.top < r.bottom);
          }).map(b => b.textContent.trim());
        }"""
    )
    return covered


def test_several_files_upload_at_once_each_with_its_own_progress_and_notice(
    sized_page: Page,
    screen: ViewportSize,
    web: str,
    person: User,
    workers: tuple[ManagedProcess, ManagedProcess],
) -> None:
    page = sized_page
    label = "phone" if screen == PHONE else "desktop"
    log_in(page, web, person)
    assert_accessible(page, "the empty list")

    page.locator("#id_file").set_input_files(
        files=[
            {"name": LONG_NAME, "mimeType": "text/csv", "buffer": GOOD_CSV},
            {"name": "wide.csv", "mimeType": "text/csv", "buffer": WIDE_CSV},
            {"name": "third.csv", "mimeType": "text/csv", "buffer": GOOD_CSV},
            {"name": "empty.csv", "mimeType": "text/csv", "buffer": b""},
        ]
    )

    # Each upload has its own line; the refused one says why, in the server's words.
    expect(page.locator(".upload")).to_have_count(4)
    expect(page.locator(".upload.failed", has_text="empty.csv")).to_contain_text(
        "The submitted file is empty."
    )
    rows = page.locator("tr[data-file-id]")
    expect(rows).to_have_count(3)
    for name in (LONG_NAME, "wide.csv", "third.csv"):
        expect(rows.filter(has_text=name).locator(".badge")).to_have_text(
            "Processed", timeout=FINISH_TIMEOUT_MS
        )
    wide = rows.filter(has_text="wide.csv")
    expect(wide).to_contain_text("1 row · 40 columns")
    expect(wide.get_by_role("link", name="+32 more")).to_be_visible()
    long_link = rows.filter(has_text=LONG_NAME).locator(".file-name")
    expect(long_link).to_have_attribute("title", LONG_NAME)
    # The name is ellipsized: one line, not wrapped over many. (Measured in the page: the list
    # redraws its rows as files change, and bounding_box() answers None for a row mid-redraw.)
    expect(long_link).to_be_visible()
    height = long_link.evaluate("link => link.getBoundingClientRect().height")
    assert 0 < height < 30
    # Dates never break inside.
    for box in page.locator("tr[data-file-id] time").evaluate_all(
        "els => els.map(e => e.getClientRects().length)"
    ):
        assert box == 1

    assert_fits(page, f"{label}, three files")
    screenshot(page, f"10-several-files-{label}")

    # Notices: at most three, none over a button, each closable.
    toasts = page.locator(".toast")
    expect(toasts.first).to_be_visible()
    assert toasts.count() <= 3
    assert covered_buttons(page) == []
    before = toasts.count()
    toasts.first.get_by_role("button", name="Close notification").click()
    expect(toasts).to_have_count(before - 1)
    assert_accessible(page, f"{label}, the list with files")


def test_delete_search_filter_and_pages_work_on_each_screen(
    sized_page: Page, screen: ViewportSize, web: str, person: User
) -> None:
    page = sized_page
    label = "phone" if screen == PHONE else "desktop"
    for n in range(23):
        processed(person, f"batch-{n:02}.csv", rows=n)
    failed = processed(person, "odd-one.csv")
    File.objects.filter(pk=failed.pk).update(
        status=File.Status.FAILED, result=None, error_code="inconsistent_rows", error_message="x"
    )
    log_in(page, web, person)

    rows = page.locator("tr[data-file-id]")
    expect(rows).to_have_count(20)
    expect(page.locator(".pager")).to_contain_text("Page 1 of 2 · 24 files")
    assert_fits(page, f"{label}, a full page")
    screenshot(page, f"11-list-{label}")
    page.get_by_role("link", name="Older").click()
    expect(rows).to_have_count(4)
    expect(page).to_have_url(re.compile(r"page=2"))

    page.get_by_placeholder("Search by name").fill("batch-1")
    page.get_by_placeholder("Search by name").press("Enter")
    expect(rows).to_have_count(10)
    page.get_by_placeholder("Search by name").fill("")
    page.get_by_label("Status").select_option("FAILED")
    page.get_by_role("button", name="Filter").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("odd-one.csv")
    expect(rows.first.get_by_role("link", name="Upload a fixed file")).to_be_visible()

    # Delete (confirmed): the row, the record and the stored upload go.
    rows.first.get_by_role("button", name="Delete odd-one.csv").click()
    expect(page.locator("tr.empty")).to_contain_text("No files match")
    expect(page.locator(".toast")).to_contain_text("odd-one.csv deleted.")
    assert not File.objects.filter(pk=failed.pk).exists()
    assert not (settings.STORAGE_ROOT / failed.storage_key).exists()
    assert_fits(page, f"{label}, after deleting")
    assert_accessible(page, f"{label}, filtered list")


def test_the_file_page_shows_its_summary_attempts_and_history(
    sized_page: Page,
    screen: ViewportSize,
    web: str,
    person: User,
    workers: tuple[ManagedProcess, ManagedProcess],
) -> None:
    page = sized_page
    label = "phone" if screen == PHONE else "desktop"
    log_in(page, web, person)
    page.locator("#id_file").set_input_files(
        files=[{"name": "wide.csv", "mimeType": "text/csv", "buffer": WIDE_CSV}]
    )
    row = page.locator("tr[data-file-id]", has_text="wide.csv")
    expect(row.locator(".badge")).to_have_text("Processed", timeout=FINISH_TIMEOUT_MS)
    file = File.objects.get(owner=person, original_name="wide.csv")

    row.get_by_role("link", name="wide.csv").click()

    expect(page.get_by_role("heading", name="wide.csv")).to_be_visible()
    expect(page.locator(".facts")).to_contain_text("utf-8")
    expect(page.locator("table.grid").first).to_contain_text("column_39")
    attempt = page.locator("tr.attempt")
    expect(attempt).to_have_count(1)
    expect(attempt).to_contain_text(file.task_id)
    expect(attempt).to_contain_text("succeeded")
    history = page.locator(".history li")
    expect(history).to_have_count(3)
    expect(history.nth(0)).to_contain_text("Uploaded")
    expect(history.nth(1)).to_contain_text("Sent to System B")
    expect(history.nth(2)).to_contain_text("Processed")
    expect(history.nth(2)).to_contain_text("by callback")
    assert_fits(page, f"{label}, the file page with 40 columns")
    assert_accessible(page, f"{label}, the file page")
    screenshot(page, f"12-file-page-{label}")


def test_the_upload_area_and_the_login_page_work_from_the_keyboard_and_pass_axe(
    page: Page, web: str, person: User
) -> None:
    page.goto(f"{web}/login/")
    assert_accessible(page, "the login page")
    log_in(page, web, person)

    # Tab from the top of the page reaches the upload area; Enter opens the file picker.
    # A listener first: it makes Playwright intercept file choosers from now on, rather than
    # only once expect_file_chooser has asked the browser, which can come after the key press
    # under load (the chooser then opens natively and no event is seen).
    page.on("filechooser", lambda _chooser: None)
    page.locator("body").focus()
    for _ in range(10):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "dropzone":
            break
    assert page.evaluate("document.activeElement.id") == "dropzone"
    with page.expect_file_chooser() as chooser:
        page.keyboard.press("Enter")
    assert chooser.value.is_multiple()


def test_the_api_page_loads_swagger_ui_from_this_server_only(page: Page, web: str) -> None:
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))

    page.goto(f"{web}/api/docs/")

    expect(page.locator(".swagger-ui .title").first).to_contain_text("crosslink")
    expect(page.get_by_text("/api/files/{id}/").first).to_be_visible()
    assert requested
    assert all(url.startswith(web) or url.startswith("data:") for url in requested), requested
    screenshot(page, "13-api-page")


def test_the_accessibility_check_finds_what_it_should(page: Page) -> None:
    # The check above can fail: a button without a name is a critical finding.
    page.set_content('<html lang="en"><title>t</title><main><button></button></main></html>')

    assert any(line.startswith("button-name") for line in axe_violations(page))
