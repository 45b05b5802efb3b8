"""The Django admin: sign-in by phone, who gets in, the customer list, the import page, the
import job list and staff accounts. Driven through Django's test client as a browser would."""

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth import SESSION_KEY
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework import status

from tests.admin import uploads
from tests.excel import builders
from tests.factories import CustomerFactory, StaffFactory
from tests.imports import helpers
from users.admin import forms as admin_forms
from users.excel.writing import XLSX_CONTENT_TYPE
from users.models import Customer, ImportJob, Region, Role, User

pytestmark = pytest.mark.django_db

PASSWORD = "staff-password-1"
INDEX = reverse("admin:index")
LOGIN = reverse("admin:login")
CUSTOMERS = reverse("admin:users_customer_changelist")
IMPORT = reverse("admin:users_customer_import")
JOBS = reverse("admin:users_importjob_changelist")
USERS = reverse("admin:users_user_changelist")
ADD_USER = reverse("admin:users_user_add")


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def staff_web(staff) -> Client:
    return signed_in(staff)


@pytest.fixture
def customer_web(customer) -> Client:
    return signed_in(customer)


@pytest.fixture
def super_admin():
    return StaffFactory(user_role=Role.SUPER_ADMIN)


def job_page(job_id) -> str:
    return reverse("admin:users_customer_import_job", args=[job_id])


def confirm_url(job_id) -> str:
    return reverse("admin:users_customer_import_confirm", args=[job_id])


def upload(client: Client, content: bytes, name: str = "customers.xlsx"):
    return client.post(IMPORT, {"file": SimpleUploadedFile(name, content)})


@pytest.fixture
def previewed(staff_web):
    """The mixed spreadsheet uploaded: the job and its preview page."""
    CustomerFactory(phone=uploads.EXISTING_PHONE)
    response = upload(staff_web, uploads.mixed_xlsx())
    job = ImportJob.objects.get()
    return job, staff_web.get(response["Location"])


def confirm(client: Client, job_id, capture):
    with capture(execute=True):
        return client.post(confirm_url(job_id))


def listed(response) -> list[User]:
    return list(response.context["cl"].result_list)


def text(response) -> str:
    return response.content.decode()


# --- signing in -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "typed", ["0241234567", "+233 24 123 4567", "233241234567", "+233241234567"]
)
def test_staff_sign_in_to_the_admin_with_a_phone_number_in_any_format(typed):
    staff = StaffFactory(phone="+233241234567")
    client = Client()

    response = client.post(LOGIN, {"username": typed, "password": PASSWORD, "next": INDEX})

    assert response.status_code == status.HTTP_302_FOUND
    assert response["Location"] == INDEX
    assert client.session[SESSION_KEY] == str(staff.pk)


@pytest.mark.parametrize("role", [Role.ADMIN, Role.MANAGER, Role.SUPER_ADMIN])
def test_a_staff_role_without_the_is_staff_flag_reaches_the_admin(role):
    staff = StaffFactory(user_role=role, is_staff=False, is_superuser=False)

    response = signed_in(staff).get(INDEX)

    assert response.status_code == status.HTTP_200_OK


def test_a_customer_with_the_right_password_cannot_sign_in_to_the_admin():
    CustomerFactory(phone="+233241234567", password=PASSWORD)
    client = Client()

    response = client.post(LOGIN, {"username": "0241234567", "password": PASSWORD})

    assert response.status_code == status.HTTP_200_OK
    assert SESSION_KEY not in client.session
    assert "staff account" in text(response)


def test_unverified_staff_with_the_right_password_cannot_sign_in_to_the_admin():
    StaffFactory(phone="+233241234567", is_verified=False)
    client = Client()

    response = client.post(LOGIN, {"username": "0241234567", "password": PASSWORD})

    assert response.status_code == status.HTTP_200_OK
    assert SESSION_KEY not in client.session
    assert "Verify your phone number first" in text(response)


@pytest.mark.parametrize("change", [{"is_verified": False}, {"is_active": False}])
def test_unticking_verified_ends_an_open_admin_session_as_blocking_does(change):
    staff = StaffFactory()
    web = signed_in(staff)
    assert web.get(CUSTOMERS).status_code == status.HTTP_200_OK

    User.objects.filter(pk=staff.pk).update(**change)
    response = web.get(CUSTOMERS)

    assert response.status_code == status.HTTP_302_FOUND
    assert response["Location"].startswith(LOGIN)
    assert web.get(INDEX).wsgi_request.user.is_anonymous


def test_repeated_wrong_passwords_lock_the_admin_sign_in(settings):
    StaffFactory(phone="+233241234567")
    client = Client()
    for _ in range(settings.LOGIN_MAX_FAILURES):
        client.post(LOGIN, {"username": "0241234567", "password": "wrong-password"})

    response = client.post(LOGIN, {"username": "0241234567", "password": PASSWORD})

    assert SESSION_KEY not in client.session
    assert admin_forms.LOCKED_OUT in text(response)


@pytest.mark.parametrize("page", [INDEX, CUSTOMERS, IMPORT, JOBS])
def test_a_signed_in_customer_is_sent_to_the_admin_sign_in(customer_web, page):
    response = customer_web.get(page)

    assert response.status_code == status.HTTP_302_FOUND
    assert response["Location"].startswith(LOGIN)


def test_a_customer_cannot_upload_through_the_import_page(customer_web):
    response = upload(customer_web, uploads.mixed_xlsx())

    assert response.status_code == status.HTTP_302_FOUND
    assert response["Location"].startswith(LOGIN)
    assert not ImportJob.objects.exists()


def test_a_customer_cannot_open_an_import_job_page(customer_web, staff):
    job = helpers.preview(staff, helpers.records(1))

    response = customer_web.get(job_page(job.pk))

    assert response.status_code == status.HTTP_302_FOUND
    assert response["Location"].startswith(LOGIN)


# --- the customer list ------------------------------------------------------------------------


def test_the_customer_list_shows_customers_only_with_their_columns(staff_web, staff):
    customer = CustomerFactory(created_by=staff)

    response = staff_web.get(CUSTOMERS)

    assert listed(response) == [customer]
    page = text(response)
    for column in ("Shipping mark", "Name", "Phone", "Email", "Region", "Created", "Created by"):
        assert f">{column}<" in page
    assert customer.shipping_mark in page
    assert staff.get_full_name() in page


def test_the_customer_search_finds_a_phone_number_typed_in_a_local_format(staff_web):
    wanted = CustomerFactory(phone="+233241234567")
    CustomerFactory(phone="+233551234567")

    response = staff_web.get(CUSTOMERS, {"q": "024 123 4567"})

    assert listed(response) == [wanted]


def test_the_customer_search_finds_a_name_fragment(staff_web):
    wanted = CustomerFactory(first_name="Kwabena")
    CustomerFactory(first_name="Ama")

    response = staff_web.get(CUSTOMERS, {"q": "kwab"})

    assert listed(response) == [wanted]


def test_the_customer_list_filters_by_region(staff_web):
    wanted = CustomerFactory(region=Region.ASHANTI)
    CustomerFactory(region=Region.VOLTA)

    response = staff_web.get(CUSTOMERS, {"region__exact": Region.ASHANTI})

    assert listed(response) == [wanted]


def test_the_customer_list_filters_by_verified(staff_web):
    wanted = CustomerFactory(is_verified=False)
    CustomerFactory(is_verified=True)

    response = staff_web.get(CUSTOMERS, {"is_verified__exact": "0"})

    assert listed(response) == [wanted]


def test_the_customer_list_filters_by_the_import_that_created_them(staff_web, staff):
    job = ImportJob.objects.create(owner=staff, file_name="march.xlsx")
    wanted = CustomerFactory(import_job=job, source_row=2)
    CustomerFactory()

    response = staff_web.get(CUSTOMERS, {"import_job__id__exact": str(job.pk)})

    assert listed(response) == [wanted]
    assert "march.xlsx" in text(response)


def test_the_import_filter_offers_only_the_viewers_own_imports(staff_web, staff):
    # given customers created by this staff member's import and by another admin's
    mine = ImportJob.objects.create(owner=staff, file_name="mine.xlsx")
    theirs = ImportJob.objects.create(owner=StaffFactory(), file_name="payroll-leak.xlsx")
    CustomerFactory(import_job=mine, source_row=2)
    CustomerFactory(import_job=theirs, source_row=2)

    # when the staff member opens the customer list
    page = text(staff_web.get(CUSTOMERS))

    # then the filter names their import only; both customers are still listed
    assert "mine.xlsx" in page
    assert "payroll-leak.xlsx" not in page
    assert f"import_job__id__exact={theirs.pk}" not in page


def test_the_import_filter_offers_a_super_admin_every_import(super_admin, staff):
    ImportJob.objects.create(owner=staff, file_name="theirs.xlsx")
    CustomerFactory(import_job=ImportJob.objects.get(), source_row=2)

    page = text(signed_in(super_admin).get(CUSTOMERS))

    assert "theirs.xlsx" in page


def test_the_customer_list_has_an_import_button_to_the_import_page(staff_web):
    response = staff_web.get(CUSTOMERS)

    assert f'<a href="{IMPORT}" class="addlink">Import customers</a>' in text(response)


def test_the_export_button_carries_the_list_filters_under_the_export_endpoint_names(
    staff_web, staff
):
    job = ImportJob.objects.create(owner=staff, file_name="march.xlsx")
    CustomerFactory(import_job=job, source_row=2)
    filters = {
        "q": "Kwame",
        "region__exact": Region.ASHANTI,
        "is_verified__exact": "1",
        "import_job__id__exact": str(job.pk),
        "o": "-2.1",  # name (descending), then mark: column 0 holds the action checkboxes
    }

    response = staff_web.get(CUSTOMERS, filters)

    url = urlsplit(response.context["export_url"])
    assert url.path == reverse("users:customer-export")
    assert parse_qs(url.query) == {
        "format": ["xlsx"],
        "search": ["Kwame"],
        "region": [Region.ASHANTI],
        "is_verified": ["true"],
        "import_job": [str(job.pk)],
        "ordering": ["-last_name,shipping_mark"],
    }


def test_the_export_button_downloads_the_listed_customers_with_the_admin_session(staff_web):
    CustomerFactory(region=Region.ASHANTI)
    listing = staff_web.get(CUSTOMERS, {"region__exact": Region.ASHANTI})

    response = staff_web.get(listing.context["export_url"])

    assert response.status_code == status.HTTP_200_OK
    assert response["Content-Type"] == XLSX_CONTENT_TYPE
    assert b"".join(response.streaming_content).startswith(b"PK")


def test_customers_cannot_be_added_changed_or_deleted_through_the_admin(staff_web, customer):
    change = reverse("admin:users_customer_change", args=[customer.pk])

    add = staff_web.get(reverse("admin:users_customer_add"))
    post = staff_web.post(change, {"first_name": "Changed"})
    delete = staff_web.get(reverse("admin:users_customer_delete", args=[customer.pk]))

    assert add.status_code == status.HTTP_403_FORBIDDEN
    assert post.status_code == status.HTTP_403_FORBIDDEN
    assert delete.status_code == status.HTTP_403_FORBIDDEN
    customer.refresh_from_db()
    assert customer.first_name != "Changed"


# --- the import page: upload and preview -----------------------------------------------------


def test_the_import_page_has_a_labelled_file_input_and_a_preview_button(staff_web):
    response = staff_web.get(IMPORT)

    page = text(response)
    assert response.status_code == status.HTTP_200_OK
    assert '<label for="id_file" class="required">Spreadsheet:</label>' in page
    assert 'type="file" name="file"' in page
    assert '<input type="submit" value="Preview"' in page


def test_an_upload_stores_a_parsed_job_and_opens_its_preview(staff_web, staff):
    response = upload(staff_web, uploads.mixed_xlsx())

    job = ImportJob.objects.get()
    assert (job.owner, job.status) == (staff, ImportJob.Status.PARSED)
    assert response.status_code == status.HTTP_302_FOUND
    assert response["Location"] == job_page(job.pk)


def test_a_preview_writes_no_customer(previewed):
    assert list(Customer.objects.values_list("phone", flat=True)) == [uploads.EXISTING_PHONE]


def test_the_preview_shows_the_summary_counts(previewed):
    _, response = previewed

    assert response.context["preview"]["summary"] == {
        "total_rows": 5,
        "invalid": 1,
        "existing_duplicates": 1,
        "batch_duplicates": 1,
        "to_create": uploads.TO_CREATE,
        "possible_duplicates": 0,
    }
    page = text(response)
    assert '<td id="summary-total-rows">5</td>' in page
    assert f'<td id="summary-to-create">{uploads.TO_CREATE}</td>' in page
    assert '<td id="summary-invalid">1</td>' in page
    assert '<td id="summary-existing-duplicates">1</td>' in page
    assert '<td id="summary-batch-duplicates">1</td>' in page


def test_the_preview_shows_the_column_mapping_and_the_columns_not_used(previewed):
    _, response = previewed

    phone = next(row for row in response.context["mapping"] if row["field"] == "phone")
    letter = "ABCDEFGHIJ"[uploads.HEADER.index("Phone Number")]
    assert (phone["label"], phone["selected"], phone["header"]) == (
        "Phone Number",
        letter,
        "Phone Number",
    )
    page = text(response)
    assert '<select name="map-phone" id="map-phone">' in page
    assert f'<option value="{letter}" selected>{letter}: Phone Number</option>' in page
    assert "Columns not used: Notes" in page


def test_the_preview_reads_the_file_again_with_the_columns_chosen_in_its_selects(staff_web):
    content = builders.xlsx_bytes(
        [
            ["Shipping Mark", "First Name", "Last Name", "Phnoe", "Other Phone"],
            ["PM A", "Kwame", "Mensah", "0241234567", "0551234567"],
        ]
    )
    job_url = upload(staff_web, content)["Location"]
    job = ImportJob.objects.get()
    page = text(staff_web.get(job_url))
    assert 'guessed from "Phnoe" (a typo?): check it' in page
    selects = {
        f"map-{row['field']}": row["selected"] for row in staff_web.get(job_url).context["mapping"]
    }

    response = staff_web.post(
        reverse("admin:users_customer_import_remap", args=[job.pk]),
        {**selects, "map-phone": "E"},
    )

    assert response.status_code == status.HTTP_302_FOUND
    preview = staff_web.get(job_url)
    assert [
        c["phone"] for c in preview.context["preview"]["duplicate_results"]["unique_candidates"]
    ] == ["+233551234567"]
    assert preview.context["preview"]["column_guesses"] == []


def test_a_refused_file_can_be_uploaded_again_with_its_columns_chosen(staff_web):
    content = builders.xlsx_bytes(
        [["Client", "Given", "Family", "Mobile No."], ["PM A", "Kwame", "Mensah", "0241234567"]]
    )
    refused = upload(staff_web, content)
    assert "Columns found: Client, Given, Family, Mobile No." in text(refused)

    response = staff_web.post(
        IMPORT,
        {
            "file": SimpleUploadedFile("customers.xlsx", content),
            "map-first_name": "Given",
            "map-last_name": "C",
            "map-phone": "Mobile No.",
        },
    )

    assert response.status_code == status.HTTP_302_FOUND
    assert ImportJob.objects.get().to_create_count == 1


def test_a_mapping_without_a_required_field_is_refused_on_the_preview_page(staff_web):
    job_url = upload(staff_web, uploads.mixed_xlsx())["Location"]
    job = ImportJob.objects.get()

    response = staff_web.post(
        reverse("admin:users_customer_import_remap", args=[job.pk]), {"map-phone": ""}, follow=True
    )

    assert "The header row has no column for: Phone Number" in text(response)
    assert ImportJob.objects.get(pk=job.pk).column_mapping["fields"]["phone"] == "Phone Number"
    assert response.redirect_chain[-1][0] == job_url


def test_the_preview_lists_each_row_error_with_its_row_field_message_and_value(previewed):
    _, response = previewed

    errors = {(e["row"], e["field"], e["value"]) for e in response.context["row_errors"]}
    assert errors == {
        (uploads.INVALID_ROW, "Last name", ""),
        (uploads.INVALID_ROW, "Email", "not-an-email"),
        (uploads.INVALID_ROW, "Phone", "12345"),
        (uploads.EXISTING_ROW, "Phone", uploads.EXISTING_PHONE),
        (uploads.BATCH_ROW, "Phone", "+233241000001"),
    }
    page = text(response)
    for error in response.context["row_errors"]:
        row = (
            f"<tr><td>{error['row']}</td><td>{error['field']}</td>"
            f"<td>{error['message']}</td><td>{error['value']}</td></tr>"
        )
        assert row in page


def test_the_preview_lists_the_existing_and_the_batch_duplicates(previewed):
    _, response = previewed

    page = text(response)
    existing = page.split('id="import-existing-duplicates"')[1].split("</table>")[0]
    batch = page.split('id="import-batch-duplicates"')[1].split("</table>")[0]
    assert f"<td>{uploads.EXISTING_ROW}</td>" in existing
    assert uploads.EXISTING_PHONE in existing
    assert f"<td>{uploads.BATCH_ROW}</td>" in batch
    assert "PM GOLD TWO" in batch


def test_the_preview_offers_a_confirm_button_posting_to_the_confirm_url(previewed):
    job, response = previewed

    page = text(response)
    assert f'action="{confirm_url(job.pk)}"' in page
    assert f'value="Confirm: create {uploads.TO_CREATE} customers"' in page


def test_a_preview_with_nothing_to_create_offers_no_confirm_button(staff_web):
    content = builders.xlsx_bytes([uploads.HEADER, uploads.ROWS[2]])
    response = staff_web.get(upload(staff_web, content)["Location"])

    page = text(response)
    assert "Confirm:" not in page
    assert 'id="import-nothing-to-create"' in page


def test_a_file_that_is_not_a_spreadsheet_shows_why_on_the_page(staff_web):
    response = upload(staff_web, builders.NOT_SPREADSHEETS["PDF"], name="customers.xlsx")

    assert response.status_code == status.HTTP_200_OK
    [message] = response.context["form"].errors["file"]
    assert "PDF" in message
    assert message in text(response).replace("&#x27;", "'")
    assert not ImportJob.objects.exists()


def test_a_file_missing_required_columns_names_them_on_the_page(staff_web):
    content = builders.xlsx_bytes([["Shipping Mark", "First Name"], ["PM X", "Ama"]])

    response = upload(staff_web, content)

    [message] = response.context["form"].errors["file"]
    assert "Last Name" in message
    assert "Phone Number" in message


def test_submitting_no_file_asks_for_one(staff_web):
    response = staff_web.post(IMPORT, {})

    assert response.status_code == status.HTTP_200_OK
    assert response.context["form"].errors["file"] == ["This field is required."]


def test_another_staff_members_import_is_not_found(staff_web):
    other = helpers.preview(StaffFactory(), helpers.records(1))

    response = staff_web.get(job_page(other.pk))

    assert response.status_code == status.HTTP_404_NOT_FOUND


# --- confirm, progress, result ---------------------------------------------------------------


def test_confirming_creates_the_customers_and_opens_the_progress_page(
    staff_web, previewed, django_capture_on_commit_callbacks
):
    job, _ = previewed

    response = confirm(staff_web, job.pk, django_capture_on_commit_callbacks)

    assert response.status_code == status.HTTP_302_FOUND
    assert response["Location"] == job_page(job.pk)
    created = Customer.objects.filter(import_job=job)
    assert sorted(created.values_list("shipping_mark", flat=True)) == ["PM GOLD", "PM SILVER"]


def test_the_progress_page_of_a_finished_import_shows_the_counts_and_the_failed_rows_link(
    staff_web, previewed, django_capture_on_commit_callbacks
):
    job, _ = previewed
    confirm(staff_web, job.pk, django_capture_on_commit_callbacks)

    response = staff_web.get(job_page(job.pk))

    page = text(response)
    assert '<progress id="import-progress-bar" max="100" value="100">' in page
    assert f'<td id="import-created" data-count="created">{uploads.TO_CREATE}</td>' in page
    assert '<td id="import-skipped" data-count="skipped">3</td>' in page
    assert 'data-finished="true"' in page
    failed_rows = reverse("users:import-errors", args=[job.pk])
    assert f'<a href="{failed_rows}">Download failed rows</a>' in page
    assert '<p id="import-failed-rows">' in page


def test_the_failed_rows_link_is_hidden_when_every_row_was_created(
    staff_web, django_capture_on_commit_callbacks
):
    content = builders.xlsx_bytes([uploads.HEADER, uploads.ROWS[0]])
    job_url = upload(staff_web, content)["Location"]
    job = ImportJob.objects.get()
    confirm(staff_web, job.pk, django_capture_on_commit_callbacks)

    response = staff_web.get(job_url)

    assert '<p id="import-failed-rows" hidden>' in text(response)


def test_a_queued_import_has_stop_and_stopping_cancels_it(staff_web, staff):
    job = helpers.queue(helpers.preview(staff, helpers.records(3)))
    cancel = reverse("admin:users_customer_import_cancel", args=[job.pk])
    assert f'action="{cancel}" id="import-stop-form"' in text(staff_web.get(job_page(job.pk)))

    response = staff_web.post(cancel, follow=True)

    assert ImportJob.objects.get(pk=job.pk).status == ImportJob.Status.CANCELLED
    page = text(response)
    assert "Import stopped" in page
    assert 'id="import-stop-form"' not in page


def test_a_finished_import_has_no_stop(staff_web, staff):
    job = helpers.queue(helpers.preview(staff, helpers.records(1)))
    helpers.run(job)

    assert 'id="import-stop-form"' not in text(staff_web.get(job_page(job.pk)))


def test_the_progress_page_of_a_queued_import_polls_and_refreshes_without_javascript(
    staff_web, staff
):
    job = helpers.queue(helpers.preview(staff, helpers.records(3)))

    response = staff_web.get(job_page(job.pk))

    page = text(response)
    assert '<progress id="import-progress-bar" max="100" value="0">' in page
    assert f'data-status-url="{reverse("users:import-status", args=[job.pk])}"' in page
    assert 'data-finished="false"' in page
    assert '<noscript><meta http-equiv="refresh" content="5"></noscript>' in page
    assert 'aria-live="polite"' in page
    assert "users/admin_import.js" in page
    assert '<div id="import-result" class="module" hidden>' in page


def test_confirming_while_another_import_runs_shows_why_and_creates_nothing(
    staff_web, staff, django_capture_on_commit_callbacks
):
    running = helpers.queue(helpers.preview(staff, helpers.records(2)))
    waiting = helpers.preview(staff, helpers.records(2, start=10))

    response = confirm(staff_web, waiting.pk, django_capture_on_commit_callbacks)

    assert response["Location"] == job_page(waiting.pk)
    [message] = [str(m) for m in get_messages(response.wsgi_request)]
    assert "You already have an import queued or running" in message
    assert f'href="{job_page(running.pk)}"' in message
    waiting.refresh_from_db()
    assert waiting.status == ImportJob.Status.PARSED
    assert not Customer.objects.exists()


def test_confirming_twice_runs_the_import_once(
    staff_web, previewed, django_capture_on_commit_callbacks
):
    job, _ = previewed
    confirm(staff_web, job.pk, django_capture_on_commit_callbacks)

    response = confirm(staff_web, job.pk, django_capture_on_commit_callbacks)

    assert response["Location"] == job_page(job.pk)
    assert Customer.objects.filter(import_job=job).count() == uploads.TO_CREATE


def test_confirming_another_staff_members_import_is_not_found(
    staff_web, django_capture_on_commit_callbacks
):
    other = helpers.preview(StaffFactory(), helpers.records(1))

    response = confirm(staff_web, other.pk, django_capture_on_commit_callbacks)

    assert response.status_code == status.HTTP_404_NOT_FOUND
    other.refresh_from_db()
    assert other.status == ImportJob.Status.PARSED


# --- import jobs ------------------------------------------------------------------------------


def test_the_import_job_list_shows_owner_file_counts_status_and_duration(staff_web, staff):
    started = timezone.now()
    job = ImportJob.objects.create(
        owner=staff,
        file_name="march.xlsx",
        status=ImportJob.Status.COMPLETE,
        total_rows=9,
        to_create_count=7,
        created_count=6,
        failed_count=1,
        invalid_count=2,
        started_at=started,
        finished_at=started + timedelta(seconds=65),
    )

    response = staff_web.get(JOBS)

    page = text(response)
    columns = ["File name", "Owner", "Status", "Rows", "To create", "Created", "Failed"]
    for column in [*columns, "Skipped", "Duration"]:
        assert f">{column}<" in page
    cells = ["march.xlsx", staff.get_full_name(), "Complete", "9", "7", "6", "1", "2", "1 min 5 s"]
    for cell in cells:
        assert f">{cell}<" in page
    assert f'href="{job_page(job.pk)}"' in page


def test_a_staff_member_sees_only_their_own_import_jobs(staff_web, staff):
    mine = helpers.preview(staff, helpers.records(1))
    helpers.preview(StaffFactory(), helpers.records(1, start=5))

    response = staff_web.get(JOBS)

    assert listed(response) == [mine]


def test_a_super_admin_sees_every_import_job(super_admin, staff):
    helpers.preview(staff, helpers.records(1))
    helpers.preview(super_admin, helpers.records(1, start=5))

    response = signed_in(super_admin).get(JOBS)

    assert len(listed(response)) == 2


def test_import_jobs_are_read_only_in_the_admin(staff_web, staff):
    job = helpers.preview(staff, helpers.records(1))
    change = reverse("admin:users_importjob_change", args=[job.pk])

    view = staff_web.get(change)
    post = staff_web.post(change, {"file_name": "renamed.xlsx"})
    add = staff_web.get(reverse("admin:users_importjob_add"))
    delete = staff_web.get(reverse("admin:users_importjob_delete", args=[job.pk]))

    assert view.status_code == status.HTTP_200_OK
    assert 'name="_save"' not in text(view)
    assert post.status_code == status.HTTP_403_FORBIDDEN
    assert add.status_code == status.HTTP_403_FORBIDDEN
    assert delete.status_code == status.HTTP_403_FORBIDDEN


# --- staff accounts ---------------------------------------------------------------------------


def new_account(**overrides) -> dict:
    return {
        "phone": "024 555 0001",
        "first_name": "Efua",
        "last_name": "Asante",
        "email": "Efua@Example.com",
        "user_role": Role.MANAGER,
        "is_verified": "on",
        "password1": "a-long-staff-password-9",
        "password2": "a-long-staff-password-9",
        **overrides,
    }


def test_a_super_admin_adds_a_staff_account_with_a_phone_in_a_local_format(super_admin):
    response = signed_in(super_admin).post(ADD_USER, new_account())

    assert response.status_code == status.HTTP_302_FOUND
    user = User.objects.get(first_name="Efua")
    assert (user.phone, user.email) == ("+233245550001", "efua@example.com")
    assert user.user_role == Role.MANAGER
    assert user.check_password("a-long-staff-password-9")
    assert user.created_by == super_admin
    assert user.shipping_mark


def test_adding_an_account_with_an_invalid_phone_shows_the_reason(super_admin):
    response = signed_in(super_admin).post(ADD_USER, new_account(phone="12345"))

    assert response.status_code == status.HTTP_200_OK
    assert response.context["adminform"].form.errors["phone"]
    assert not User.objects.filter(first_name="Efua").exists()


def test_adding_an_account_with_a_taken_phone_in_another_format_is_refused(super_admin):
    CustomerFactory(phone="+233245550001")

    response = signed_in(super_admin).post(ADD_USER, new_account(phone="0245550001"))

    assert response.status_code == status.HTTP_200_OK
    assert response.context["adminform"].form.errors["phone"]
    assert not User.objects.filter(first_name="Efua").exists()


def test_changing_an_account_stores_the_email_normalised(super_admin):
    user = StaffFactory()
    client = signed_in(super_admin)
    change = reverse("admin:users_user_change", args=[user.pk])
    form = client.get(change).context["adminform"].form
    data = {
        name: value
        for name, value in form.initial.items()
        if value is not None and name not in ("password", "groups", "user_permissions")
    }
    data |= {"phone": "0245550002", "email": "New@Example.COM"}
    data = {name: value for name, value in data.items() if value is not False}

    response = client.post(change, data)

    assert response.status_code == status.HTTP_302_FOUND
    user.refresh_from_db()
    assert (user.phone, user.email) == ("+233245550002", "new@example.com")


def test_an_email_set_in_the_admin_is_vouched_for(super_admin):
    user = CustomerFactory(email="mine@example.com", email_unproven=True)
    client = signed_in(super_admin)
    change = reverse("admin:users_user_change", args=[user.pk])
    form = client.get(change).context["adminform"].form
    data = {
        name: value
        for name, value in form.initial.items()
        if value not in (None, False) and name not in ("password", "groups", "user_permissions")
    }
    data["email"] = "kwame@example.com"

    response = client.post(change, data)

    assert response.status_code == status.HTTP_302_FOUND
    user.refresh_from_db()
    assert (user.email, user.email_unproven) == ("kwame@example.com", False)


def test_only_super_admins_manage_accounts(staff_web):
    assert staff_web.get(USERS).status_code == status.HTTP_403_FORBIDDEN
    assert staff_web.get(ADD_USER).status_code == status.HTTP_403_FORBIDDEN
