"""The SPA's Excel dialog (SPA-CONTRACT.md 4.3): it uploads the file, then confirms with the
legacy body {customers: unique_candidates}. Sent back unchanged, that body confirms the
preview itself, so its counts, history and errors.xlsx cover the whole file."""

import io
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import load_workbook

from tests.conftest import bearer_client
from tests.excel import builders
from tests.factories import CustomerFactory, StaffFactory
from users.models import ImportJob, User

pytestmark = pytest.mark.django_db

UPLOAD = reverse("users:import-upload")
CONFIRM_ASYNC = reverse("users:import-confirm-async")
HEADER = ["Shipping Mark", "First Name", "Last Name", "Email", "Phone Number", "Region"]
ROWS = [
    ["PM GOLD", "Kwame", "Mensah", "kwame@example.com", "0241234567", "Ashanti"],
    ["", "Ama", "Owusu", "", "0551234567", "Volta"],
    ["PM BAD", "Kofi", "Boateng", "", "12", "Volta"],  # invalid phone
    ["", "Kwame", "Asante", "", "0201112222", "Volta"],  # phone of an existing customer
    ["PM GOLD", "Kojo", "Addo", "", "0209998888", "Volta"],  # mark of row 2
]


@pytest.fixture
def client(staff):
    return bearer_client(staff)


@pytest.fixture
def previewed(client):
    CustomerFactory(phone="+233201112222", shipping_mark="PM OLD 1")
    data = builders.xlsx_bytes([HEADER, *ROWS])
    response = client.post(
        UPLOAD, {"file": SimpleUploadedFile("customers.xlsx", data)}, format="multipart"
    )
    assert response.status_code == 200
    # What the SPA holds: the answer parsed from JSON.
    return json.loads(response.content)


def confirm(client, body, capture):
    with capture(execute=True):
        return client.post(CONFIRM_ASYNC, body, format="json")


def test_the_unique_candidates_sent_back_confirm_the_preview_itself(
    client, previewed, django_capture_on_commit_callbacks
):
    candidates = previewed["duplicate_results"]["unique_candidates"]

    response = confirm(client, {"customers": candidates}, django_capture_on_commit_callbacks)

    assert response.status_code == 202
    body = response.json()
    assert body["task_id"] == previewed["upload_id"]
    assert body["total_customers"] == 2
    job = ImportJob.objects.get(pk=previewed["upload_id"])
    assert (job.status, job.created_count, job.skipped_count) == (ImportJob.Status.COMPLETE, 2, 3)
    assert ImportJob.objects.count() == 1


def test_its_errors_xlsx_holds_the_invalid_and_duplicate_rows(
    client, previewed, django_capture_on_commit_callbacks
):
    candidates = previewed["duplicate_results"]["unique_candidates"]
    task_id = confirm(client, {"customers": candidates}, django_capture_on_commit_callbacks).json()[
        "task_id"
    ]

    response = client.get(reverse("users:import-errors", args=[task_id]))

    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    rows = list(sheet.iter_rows(values_only=True))
    assert [row[1] for row in rows[1:]] == ["Kofi", "Kwame", "Kojo"]
    assert rows[1][-1].startswith("Phone: Not a valid phone number")
    assert rows[2][-1] == "Phone: A customer with this phone number already exists."
    assert rows[3][-1].startswith("Shipping mark: Same shipping mark as row 2.")


def test_its_status_counts_the_whole_file(client, previewed, django_capture_on_commit_callbacks):
    candidates = previewed["duplicate_results"]["unique_candidates"]
    task_id = confirm(client, {"customers": candidates}, django_capture_on_commit_callbacks).json()[
        "task_id"
    ]

    status = client.get(reverse("users:import-status", args=[task_id])).json()

    assert (status["created"], status["skipped"], status["total_rows"]) == (2, 3, 5)
    assert status["failed_rows_total"] == 3


def test_sending_them_back_twice_creates_nothing_more(
    client, previewed, django_capture_on_commit_callbacks
):
    candidates = previewed["duplicate_results"]["unique_candidates"]
    first = confirm(client, {"customers": candidates}, django_capture_on_commit_callbacks)

    second = confirm(client, {"customers": candidates}, django_capture_on_commit_callbacks)

    assert second.json()["task_id"] == first.json()["task_id"]
    assert User.objects.filter(import_job_id=first.json()["task_id"]).count() == 2


def test_changed_candidates_are_validated_again_as_a_list_of_their_own(
    client, previewed, django_capture_on_commit_callbacks
):
    candidates = previewed["duplicate_results"]["unique_candidates"]
    candidates[0] = {**candidates[0], "first_name": "Kwabena"}

    response = confirm(client, {"customers": candidates}, django_capture_on_commit_callbacks)

    assert response.json()["task_id"] != previewed["upload_id"]
    job = ImportJob.objects.get(pk=response.json()["task_id"])
    assert (job.file_type, job.total_rows) == ("json", 2)
    assert ImportJob.objects.get(pk=previewed["upload_id"]).status == ImportJob.Status.PARSED


def test_a_subset_of_the_candidates_is_validated_again(
    client, previewed, django_capture_on_commit_callbacks
):
    candidates = previewed["duplicate_results"]["unique_candidates"][:1]

    response = confirm(client, {"customers": candidates}, django_capture_on_commit_callbacks)

    assert response.json()["task_id"] != previewed["upload_id"]
    assert response.json()["total_customers"] == 1


def test_another_admins_preview_is_not_confirmed_by_my_copy_of_it(
    previewed, django_capture_on_commit_callbacks
):
    other = bearer_client(StaffFactory())
    candidates = previewed["duplicate_results"]["unique_candidates"]

    response = confirm(other, {"customers": candidates}, django_capture_on_commit_callbacks)

    assert response.json()["task_id"] != previewed["upload_id"]
    assert ImportJob.objects.get(pk=previewed["upload_id"]).status == ImportJob.Status.PARSED


def test_a_preview_larger_than_its_lists_is_confirmed_whole_by_the_listed_candidates(
    client, settings, django_capture_on_commit_callbacks
):
    settings.IMPORT_PREVIEW_LIST_LIMIT = 2
    rows = [[f"PM L{n}", f"First{n}", "Last", "", f"024100000{n}", "Volta"] for n in range(5)]
    data = builders.xlsx_bytes([HEADER, *rows])
    preview = client.post(
        UPLOAD, {"file": SimpleUploadedFile("big.xlsx", data)}, format="multipart"
    ).json()
    candidates = preview["duplicate_results"]["unique_candidates"]
    assert len(candidates) == 2

    response = confirm(client, {"customers": candidates}, django_capture_on_commit_callbacks)

    assert response.json()["task_id"] == preview["upload_id"]
    assert User.objects.filter(import_job_id=preview["upload_id"]).count() == 5


# --- the marks the duplicates would have had ------------------------------------------------


def test_an_existing_duplicate_shows_the_mark_that_would_have_been_generated(previewed):
    (existing,) = previewed["duplicate_results"]["existing_duplicates"]

    assert existing["candidate"]["first_name"] == "Kwame"
    assert existing["candidate"]["shipping_mark"] == "PM 1 KWAME"
    assert existing["candidate"]["shipping_mark_generated"] is True


def test_rows_to_create_get_their_marks_before_the_duplicates(client):
    CustomerFactory(phone="+233201112222")
    rows = [
        ["", "Kwame", "Asante", "", "0201112222", "Volta"],  # existing duplicate, first
        ["", "Kwame", "Mensah", "", "0241234567", "Volta"],  # to create
    ]
    data = builders.xlsx_bytes([HEADER, *rows])

    body = client.post(
        UPLOAD, {"file": SimpleUploadedFile("c.xlsx", data)}, format="multipart"
    ).json()

    (created,) = body["duplicate_results"]["unique_candidates"]
    (existing,) = body["duplicate_results"]["existing_duplicates"]
    assert created["shipping_mark"] == "PM 1 KWAME"
    assert existing["candidate"]["shipping_mark"] == "PM 1 KWAME02"
