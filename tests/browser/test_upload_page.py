"""The upload page as a person uses it: log in, upload, watch, fail, retry, upload again,
download; all in Chromium against A's real web server and both systems' real workers."""

import re

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from playwright.sync_api import Locator, Page, expect

from files import services
from files.models import File
from harness.browser import PASSWORD, screenshot
from harness.processes import ManagedProcess
from shared_schema.errors import ErrorCode

pytestmark = [pytest.mark.integration, pytest.mark.browser]

FINISH_TIMEOUT_MS = 60_000

GOOD_CSV = b"id,name,score\n1,ada,9.5\n2,grace,8.25\n3,linus,7\n"
BROKEN_CSV = b"id,name\n1,ada\n2\n"
FIXED_CSV = b"id,name\n1,ada\n2,grace\n"


def log_in(page: Page, web: str, user: User) -> None:
    page.goto(f"{web}/")
    expect(page).to_have_url(re.compile(r"/login/"))
    page.get_by_label("Username").fill(user.get_username())
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Your files")).to_be_visible()
    page.wait_for_load_state("load")  # the page's script, at its end, has bound its handlers
    # Set on this document only: if the page reloads, it is gone.
    page.evaluate("window.sameDocument = true")


def upload(page: Page, name: str, content: bytes) -> Locator:
    page.locator("#id_file").set_input_files(
        files=[{"name": name, "mimeType": "text/csv", "buffer": content}]
    )
    return page.locator("tr[data-file-id]", has_text=name).first


def badge(row: Locator) -> Locator:
    return row.locator(".badge")


def assert_not_reloaded(page: Page) -> None:
    assert page.evaluate("window.sameDocument === true"), "the page reloaded"


def test_a_good_csv_shows_success_with_its_summary_without_a_reload(
    page: Page,
    web: str,
    person: User,
    workers: tuple[ManagedProcess, ManagedProcess],
) -> None:
    log_in(page, web, person)
    screenshot(page, "01-empty")

    row = upload(page, "scores.csv", GOOD_CSV)

    expect(badge(row)).to_have_text("Processed", timeout=FINISH_TIMEOUT_MS)
    expect(row).to_contain_text("3 rows · 3 columns · CSV")
    for column in ("id", "name", "score"):
        expect(row.locator(".col-name", has_text=column)).to_be_visible()
    expect(page.locator(".toast.success")).to_contain_text("scores.csv is processed: 3 rows")
    assert_not_reloaded(page)
    screenshot(page, "02-success")

    file = File.objects.get(owner=person, original_name="scores.csv")
    download_link = row.get_by_role("link", name="Download")
    if file.output_key:  # System B wrote a normalized output: it downloads
        with page.expect_download() as download:
            download_link.click()
        path = download.value.path()
        assert path.read_bytes() == (settings.STORAGE_ROOT / file.output_key).read_bytes()
        assert download.value.suggested_filename == "scores.normalized.csv"
    else:
        expect(download_link).to_have_count(0)


def test_a_broken_csv_shows_what_is_wrong_and_offers_a_fixed_upload_not_a_retry(
    page: Page,
    web: str,
    person: User,
    workers: tuple[ManagedProcess, ManagedProcess],
) -> None:
    log_in(page, web, person)

    row = upload(page, "broken.csv", BROKEN_CSV)

    expect(badge(row)).to_have_text("Failed", timeout=FINISH_TIMEOUT_MS)
    expect(row.locator(".failure")).to_contain_text("Line 3")
    expect(row.locator(".what-to-do")).to_contain_text("as many fields as the header")
    expect(page.locator(".toast.error")).to_contain_text("broken.csv failed")
    screenshot(page, "03-failed")
    # Trying the same file again cannot help: the page offers a fixed upload instead.
    expect(row.get_by_role("button", name="Retry")).to_have_count(0)
    with page.expect_file_chooser() as chooser:
        row.get_by_role("link", name="Upload a fixed file").click()
    chooser.value.set_files(
        files=[{"name": "broken-fixed.csv", "mimeType": "text/csv", "buffer": FIXED_CSV}]
    )
    again = page.locator("tr[data-file-id]", has_text="broken-fixed.csv").first
    expect(badge(again)).to_have_text("Processed", timeout=FINISH_TIMEOUT_MS)
    expect(page.locator("tr[data-file-id]")).to_have_count(2)
    assert_not_reloaded(page)
    screenshot(page, "05-uploaded-again")


def test_a_file_failed_by_the_system_is_retried_showing_retrying_until_processed(
    page: Page,
    web: str,
    person: User,
    workers: tuple[ManagedProcess, ManagedProcess],
) -> None:
    (settings.STORAGE_ROOT / "uploads").mkdir(parents=True, exist_ok=True)
    (settings.STORAGE_ROOT / "uploads" / "timed-out.csv").write_bytes(FIXED_CSV)
    file = File.objects.create(
        owner=person,
        original_name="timed-out.csv",
        storage_key="uploads/timed-out.csv",
        size_bytes=len(FIXED_CSV),
        status=File.Status.PROCESSING,
        task_id="lost-task",
        attempts=1,
    )
    services.file_mark_failed(
        file_id=file.pk, task_id="lost-task", code=ErrorCode.NO_OUTCOME, message="No answer."
    )
    log_in(page, web, person)
    row = page.locator("tr[data-file-id]", has_text="timed-out.csv")

    # From the keyboard: focus the button and press Enter.
    row.get_by_role("button", name="Retry").focus()
    page.keyboard.press("Enter")

    expect(badge(row)).to_have_text(re.compile("Retrying|Processed"))
    expect(badge(row)).to_have_text("Processed", timeout=FINISH_TIMEOUT_MS)
    expect(row).to_contain_text("attempt 2")
    file.refresh_from_db()
    assert (file.attempts, file.status) == (2, File.Status.SUCCESS)
    assert file.task_id != "lost-task"
    screenshot(page, "04-retried")


def test_a_person_sees_only_their_own_files_and_can_log_out(
    page: Page,
    web: str,
    person: User,
    workers: tuple[ManagedProcess, ManagedProcess],
) -> None:
    someone = User.objects.create_user("grace", password=PASSWORD)
    File.objects.create(
        owner=someone, original_name="grace-private.csv", storage_key="uploads/x", size_bytes=1
    )
    log_in(page, web, person)

    expect(page.locator("tr.empty")).to_contain_text("No files yet")
    expect(page.get_by_text("grace-private.csv")).to_have_count(0)
    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(re.compile(r"/login/"))
