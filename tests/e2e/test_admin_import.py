"""The admin's import page in a real browser: Debian's Chromium, headless, driven by Playwright.

Run with `pytest tests/e2e -m e2e` after `apt-get install chromium` and
`pip install -r requirements-e2e.txt`. Screenshots of the preview and of the finished import are
saved under tests/e2e/artifacts/ for a person to look at.
"""

import threading
from pathlib import Path

import pytest
from django.db import connections
from django.urls import reverse
from openpyxl import load_workbook

from tests.admin import uploads
from tests.e2e.browser import browser_page
from tests.excel import builders
from tests.factories import CustomerFactory, StaffFactory
from users.imports import run
from users.imports import undo as imports_undo
from users.models import Customer, ImportJob, ImportUndo

ARTIFACTS = Path(__file__).parent / "artifacts"
PASSWORD = "staff-password-1"
MAX_TABS = 80

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="playwright is not installed: pip install -r requirements-e2e.txt"
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def site(settings, monkeypatch, live_server):
    """The live server with imports that wait in the queue: the test runs the queued job itself,
    while the page is polling, to watch the progress bar move."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    # Playwright's sync API runs an event loop in this thread, which Django's ORM takes for an
    # async context; the ORM calls here are plain synchronous ones.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    return live_server.url


@pytest.fixture
def page(site):
    with browser_page(accept_downloads=True, viewport={"width": 1280, "height": 900}) as page:
        yield page


def tab_to(page, name: str) -> None:
    """Presses Tab until the element named `name` has the focus, as a keyboard user would."""
    for _ in range(MAX_TABS):
        page.keyboard.press("Tab")
        focused = page.evaluate(
            "(document.activeElement.textContent || document.activeElement.value || '').trim()"
        )
        if focused == name:
            return
    raise AssertionError(f"{name!r} cannot be reached with the Tab key")


def _choose_spreadsheet(page, site: str, spreadsheet: Path) -> None:
    """Opens the admin's import page and chooses the file (not yet previewed: options first)."""
    page.goto(f"{site}{reverse('admin:users_customer_import')}")
    page.get_by_label("Spreadsheet").set_input_files(spreadsheet)


def _confirmed_and_run(page, button: str) -> ImportJob:
    """Presses the preview's confirm button, waits for the page to say the import is queued,
    and runs the job as a task worker would; the job."""
    job = ImportJob.objects.get()
    page.get_by_role("button", name=button).click()
    sync_api.expect(page.locator("#import-message")).to_be_visible()
    run.import_job_run(job_id=job.pk, worker_id="e2e-worker")
    return job


def sign_in(page, site: str, phone: str) -> None:
    page.goto(f"{site}{reverse('admin:index')}")
    page.get_by_label("Phone number or email").fill(phone)
    page.get_by_label("Password").fill(PASSWORD)
    page.keyboard.press("Enter")
    sync_api.expect(page.get_by_role("button", name="Log out")).to_be_visible()


def test_staff_import_a_spreadsheet_from_the_admin_and_download_the_failed_rows(
    page, site, tmp_path
):
    # Given a staff member, an existing customer, and a file with good, invalid and duplicate rows
    StaffFactory(phone="+233241234567")
    CustomerFactory(phone=uploads.EXISTING_PHONE)
    spreadsheet = tmp_path / "customers.xlsx"
    spreadsheet.write_bytes(uploads.mixed_xlsx())
    ARTIFACTS.mkdir(exist_ok=True)
    expect = sync_api.expect

    # When they sign in with a local phone number and open the import page from the list
    sign_in(page, site, "024 123 4567")
    page.goto(f"{site}{reverse('admin:users_customer_changelist')}")
    tab_to(page, "Import customers")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Import customers")).to_be_visible()

    # And upload the file for a preview
    page.get_by_label("Spreadsheet").set_input_files(spreadsheet)
    tab_to(page, "Preview")
    page.keyboard.press("Enter")

    # Then the preview shows the counts, the row errors and the duplicates
    expect(page.locator("#summary-total-rows")).to_have_text("5")
    expect(page.locator("#summary-to-create")).to_have_text(str(uploads.TO_CREATE))
    expect(page.locator("#summary-invalid")).to_have_text("1")
    expect(page.locator("#summary-existing-duplicates")).to_have_text("1")
    expect(page.locator("#summary-batch-duplicates")).to_have_text("1")
    errors = page.locator("#import-errors")
    expect(errors.get_by_role("row").filter(has_text="not-an-email")).to_contain_text(
        str(uploads.INVALID_ROW)
    )
    expect(errors).to_contain_text("12345")
    expect(page.locator("#import-existing-duplicates")).to_contain_text(uploads.EXISTING_PHONE)
    expect(page.locator("#import-batch-duplicates")).to_contain_text("PM GOLD TWO")
    page.screenshot(path=ARTIFACTS / "preview.png", full_page=True)

    # When they confirm, and a worker takes the job up while the page is polling its status
    job = ImportJob.objects.get()
    polls = []
    worker_started = threading.Event()

    def status_request(route):
        # The browser waits for this answer, so the server is idle while the job runs here.
        polls.append(route.request.url)
        if worker_started.is_set():
            try:
                run.import_job_run(job_id=job.pk, worker_id="e2e-worker")
            finally:
                # This runs in Playwright's dispatcher, with database connections of its own.
                connections.close_all()
        route.continue_()

    page.route("**/bulk-create/status/**", status_request)
    tab_to(page, f"Confirm: create {uploads.TO_CREATE} customers")
    with page.expect_response("**/bulk-create/status/**") as first_poll:
        page.keyboard.press("Enter")
    assert first_poll.value.json()["status"] == ImportJob.Status.QUEUED
    bar = page.locator("progress#import-progress-bar")
    expect(bar).to_have_attribute("max", "100")
    expect(bar).to_have_attribute("value", "0")
    expect(page.locator("#import-message")).to_have_text("Waiting for a worker.")
    expect(page.locator("#import-result")).to_be_hidden()
    worker_started.set()

    # Then the progress bar fills, the counts update and the result offers the failed rows
    expect(bar).to_have_attribute("value", "100")
    expect(page.locator("#import-created")).to_have_text(str(uploads.TO_CREATE))
    expect(page.locator("#import-skipped")).to_have_text("3")
    expect(page.get_by_role("heading", name="Import complete")).to_be_visible()
    download_link = page.get_by_role("link", name="Download failed rows")
    expect(download_link).to_be_visible()
    assert len(polls) >= 2
    expect(page.locator("#import-message")).to_have_text(
        f"Created {uploads.TO_CREATE} of {uploads.TO_CREATE} customers; 3 rows skipped."
    )
    assert Customer.objects.filter(import_job=job).count() == uploads.TO_CREATE
    page.screenshot(path=ARTIFACTS / "finished.png", full_page=True)

    # And the failed rows download as a workbook of the rows not created, with the reasons
    with page.expect_download() as download:
        download_link.click()
    saved = tmp_path / "failed-rows.xlsx"
    download.value.save_as(saved)
    rows = list(load_workbook(saved, read_only=True).active.values)
    assert rows[0][-1] == "Error"
    assert sorted(row[0] for row in rows[1:]) == ["PM AGAIN", "PM BAD", "PM GOLD TWO"]


def test_staff_update_customers_from_the_admin_see_each_change_and_undo_it(page, site, tmp_path):
    # Given a staff member, a customer, and a file that changes the customer and adds one
    StaffFactory(phone="+233241234567")
    kwame = CustomerFactory(phone="+233551234567", last_name="Mensah", region="ASHANTI")
    spreadsheet = tmp_path / "update.xlsx"
    spreadsheet.write_bytes(
        builders.xlsx_bytes(
            [
                ["Phone", "First Name", "Last Name", "Region"],
                ["055 123 4567", "", "Asante", "Volta"],
                ["0201234567", "Ama", "Owusu", "Volta"],
            ]
        )
    )
    ARTIFACTS.mkdir(exist_ok=True)
    expect = sync_api.expect

    # When they upload it choosing to update the customers it matches by phone
    sign_in(page, site, "024 123 4567")
    _choose_spreadsheet(page, site, spreadsheet)
    page.get_by_label("Update matching customers, create the others").check()
    page.get_by_label("Match customers by").select_option("phone")
    page.get_by_role("button", name="Preview").click()

    # Then the preview shows each field that will change, old and new
    expect(page.locator("#summary-to-update")).to_have_text("1")
    expect(page.locator("#summary-to-create")).to_have_text("1")
    changes = page.locator("#import-changes")
    expect(changes.get_by_role("row").filter(has_text="Last name")).to_contain_text("Mensah")
    expect(changes.get_by_role("row").filter(has_text="Last name")).to_contain_text("Asante")
    expect(changes.get_by_role("row").filter(has_text="Region")).to_contain_text("VOLTA")
    page.screenshot(path=ARTIFACTS / "update-preview.png", full_page=True)

    # When they confirm and a worker runs the job
    job = _confirmed_and_run(page, "Confirm: create 1, update 1")
    connections.close_all()
    page.reload()

    # Then the customer is updated and the finished import offers Undo
    expect(page.locator("#import-updated")).to_have_text("1")
    expect(page.locator("#import-created")).to_have_text("1")
    kwame.refresh_from_db()
    assert kwame.last_name == "Asante"
    undo_button = page.get_by_role("button", name="Undo this import")
    expect(undo_button).to_be_visible()

    # When they undo it and a worker runs the undo
    undo_button.click()
    undo_job = ImportUndo.objects.get(job=job)
    imports_undo.import_undo_run(undo_id=undo_job.pk, worker_id="e2e-worker")
    connections.close_all()
    page.reload()

    # Then the page says what was undone, and the customer is as it was
    expect(page.locator("#undo-deleted")).to_have_text("1 of 1")
    expect(page.locator("#undo-restored")).to_have_text("1 of 1")
    kwame.refresh_from_db()
    assert (kwame.last_name, kwame.region) == ("Mensah", "ASHANTI")
    assert not Customer.objects.filter(phone="+233201234567").exists()
    page.screenshot(path=ARTIFACTS / "undone.png", full_page=True)


def test_staff_choose_a_column_once_and_the_next_file_with_those_headers_is_read_so(
    page, site, tmp_path
):
    # Given a staff member and a weekly export whose phone column is not the one headed Phone
    StaffFactory(phone="+233241234567", first_name="Esi", last_name="Quaye")
    header = ["Mark", "First Name", "Last Name", "Phone", "WhatsApp Line"]
    first_week = tmp_path / "week-1.xlsx"
    first_week.write_bytes(
        builders.xlsx_bytes([header, ["PM WEEK ONE", "Kwame", "Mensah", "", "0551000001"]])
    )
    ARTIFACTS.mkdir(exist_ok=True)
    expect = sync_api.expect

    # When they upload it, choose the WhatsApp column for the phone, and confirm
    sign_in(page, site, "024 123 4567")
    _choose_spreadsheet(page, site, first_week)
    page.get_by_role("button", name="Preview").click()
    expect(page.locator("#summary-invalid")).to_have_text("1")
    page.locator("#map-phone").select_option("E")
    page.get_by_role("button", name="Read the file again with these columns").click()
    expect(page.locator("#summary-to-create")).to_have_text("1")
    _confirmed_and_run(page, "Confirm: create 1 customer")

    # And next week upload the same export, its columns in another order
    second_week = tmp_path / "week-2.xlsx"
    second_week.write_bytes(
        builders.xlsx_bytes(
            [
                ["WhatsApp Line", "Phone", "Mark", "First Name", "Last Name"],
                ["0551000002", "", "PM WEEK TWO", "Ama", "Owusu"],
            ]
        )
    )
    _choose_spreadsheet(page, site, second_week)
    page.get_by_role("button", name="Preview").click()

    # Then the preview reads the phone from the WhatsApp column, and says whose choice that was
    expect(page.locator("#import-remembered")).to_contain_text("Columns read as Esi Quaye chose")
    expect(page.locator("#remembered-phone")).to_be_visible()
    expect(page.locator("#map-phone")).to_have_value("A")
    expect(page.locator("#summary-to-create")).to_have_text("1")
    expect(page.locator("#summary-invalid")).to_have_text("0")
    page.screenshot(path=ARTIFACTS / "remembered-mapping.png", full_page=True)

    # And the remembered mapping is listed in the admin, where it can be forgotten
    page.get_by_role("link", name="remembered column mappings").click()
    expect(page.locator("#result_list")).to_contain_text("phone ← WhatsApp Line")


def test_staff_fix_invalid_rows_in_the_preview_and_import_them(page, site, tmp_path):
    # Given a staff member and a file with two rows whose phones are wrong
    StaffFactory(phone="+233241234567")
    spreadsheet = tmp_path / "typos.xlsx"
    spreadsheet.write_bytes(
        builders.xlsx_bytes(
            [
                ["Shipping Mark", "First Name", "Last Name", "Phone Number"],
                ["PM GOLD", "Kwame", "Mensah", "0241000001"],
                ["PM SILVER", "Ama", "Owusu", "024100"],
                ["PM IRON", "Kofi", "Boateng", "12345"],
            ]
        )
    )
    ARTIFACTS.mkdir(exist_ok=True)
    expect = sync_api.expect

    # When they upload it, the preview lists both rows with an input for the phone in error
    sign_in(page, site, "024 123 4567")
    _choose_spreadsheet(page, site, spreadsheet)
    page.get_by_role("button", name="Preview").click()
    expect(page.locator("#summary-to-create")).to_have_text("1")
    expect(page.locator("#summary-invalid")).to_have_text("2")
    phone_3 = page.locator("#fix-3-phone")
    expect(phone_3).to_have_value("024100")
    expect(page.locator("#fix-error-3-phone")).not_to_be_empty()

    # And they fix row 3's phone and save that row in place (the page's script)
    phone_3.fill("0241000002")
    page.locator("#fix-row-3").get_by_role("button", name="Save this row").click()

    # Then it is counted to create without the page being drawn again
    expect(page.locator("#fix-outcome-3")).to_have_text("create")
    expect(page.locator("#summary-to-create")).to_have_text("2")
    expect(page.locator("#fix-error-3-phone")).to_have_text("Fixed.")

    # When they fix row 4's phone and press Save fixes (the plain form)
    page.locator("#fix-4-phone").fill("0241000003")
    page.get_by_role("button", name="Save fixes").click()

    # Then the preview is drawn again with every row to create
    expect(page.get_by_text("Row 4 is now to create.")).to_be_visible()
    expect(page.locator("#summary-to-create")).to_have_text("3")
    expect(page.locator("#summary-invalid")).to_have_text("0")
    page.screenshot(path=ARTIFACTS / "row-fixes.png", full_page=True)

    # When they confirm and a worker runs the job, the fixed rows are customers
    job = _confirmed_and_run(page, "Confirm: create 3 customers")
    expect(page.get_by_role("heading", name="Import complete")).to_be_visible()
    assert sorted(Customer.objects.filter(import_job=job).values_list("phone", flat=True)) == [
        "+233241000001",
        "+233241000002",
        "+233241000003",
    ]


def test_staff_choose_what_becomes_of_possible_duplicates_one_by_one_and_for_all(
    page, site, tmp_path
):
    # Given a staff member, a stored customer, and a file with his look-alike (a digit of the
    # phone mistyped) and two rows that resemble each other
    StaffFactory(phone="+233241234567")
    kwame = CustomerFactory(
        first_name="Kwame", last_name="Mensah", phone="+233551234567", region="ASHANTI"
    )
    spreadsheet = tmp_path / "look-alikes.xlsx"
    spreadsheet.write_bytes(
        builders.xlsx_bytes(
            [
                ["Shipping Mark", "First Name", "Last Name", "Phone Number", "Region"],
                ["", "Kwame", "Mensah", "0551234568", "Volta"],
                ["", "Ama", "Owusu", "0201234567", "Volta"],
                ["", "Owusu", "Ama", "0201234568", "Volta"],
            ]
        )
    )
    ARTIFACTS.mkdir(exist_ok=True)
    expect = sync_api.expect

    # When they upload it, the preview lists both possible duplicates, not decided
    sign_in(page, site, "024 123 4567")
    _choose_spreadsheet(page, site, spreadsheet)
    page.get_by_role("button", name="Preview").click()
    expect(page.locator("#summary-possible-duplicates")).to_have_text("2")
    expect(page.locator("#choice-state-2")).to_have_text("Not decided: created on confirm")

    # And choose to update kwame with row 2 (saved in place by the page's script)
    page.get_by_role("button", name=f"Update customer #{kwame.pk}").click()

    # Then the row says so, with what changes, and the counts follow without a new page
    expect(page.locator("#choice-state-2")).to_have_text(
        f"Update customer #{kwame.pk}: to update (phone, region)"
    )
    expect(page.locator("#summary-possible-duplicates")).to_have_text("1")
    expect(page.locator("#summary-to-create")).to_have_text("2")

    # When they create every possible duplicate left anyway (the form, posted)
    page.get_by_role("button", name="Create all anyway").click()

    # Then the page is drawn again with nothing left to decide
    expect(page.get_by_text("1 possible duplicate chosen to be created anyway.")).to_be_visible()
    expect(page.locator("#choice-state-4")).to_have_text("Create anyway")
    expect(page.locator("#summary-possible-duplicates")).to_have_text("0")
    page.screenshot(path=ARTIFACTS / "possible-duplicates.png", full_page=True)

    # When they confirm and a worker runs the job, kwame is updated and the two rows created
    job = _confirmed_and_run(page, "Confirm: create 2, update 1")
    expect(page.get_by_role("heading", name="Import complete")).to_be_visible()
    kwame.refresh_from_db()
    assert (kwame.phone, kwame.region) == ("+233551234568", "VOLTA")
    assert Customer.objects.filter(import_job=job).count() == 2
