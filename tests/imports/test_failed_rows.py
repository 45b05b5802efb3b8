"""errors.xlsx of a job with invalid rows and rows that failed while running (a customer took
their phone after the preview): it holds exactly those rows, as uploaded, with the reason for
each, and once fixed it uploads and imports cleanly."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import load_workbook
from rest_framework import status

from tests.excel import builders
from tests.factories import CustomerFactory
from users.models import ImportJob, User

pytestmark = pytest.mark.django_db

UPLOAD = reverse("users:import-upload")
CONFIRM = reverse("users:import-confirm")
HEADER = ["Shipping Mark", "First Name", "Last Name", "Email", "Phone Number", "Region"]
ROWS = [
    ["PM GOLD", "Kwame", "Mensah", "kwame@example.com", "0241000001", "Ashanti"],  # created
    ["PM SILVER", "Ama", "Owusu", "ama@example.com", "12", "Volta"],  # invalid phone
    ["PM BRONZE", "Kofi", "Boateng", "kofi@example.com", "0241000003", "Oti"],  # raced
    ["PM IRON", "Efua", "Asante", "efua@example.com", "0241000004", "Central"],  # created
    ["PM TIN", "", "Darko", "tin@example.com", "0241000005", "Bono"],  # no first name
]


def upload(client, data: bytes, name: str = "customers.xlsx") -> dict:
    response = client.post(UPLOAD, {"file": SimpleUploadedFile(name, data)}, format="multipart")
    assert response.status_code == status.HTTP_200_OK
    return response.json()


@pytest.fixture
def confirm(staff_client, django_capture_on_commit_callbacks):
    def post(upload_id: str) -> ImportJob:
        with django_capture_on_commit_callbacks(execute=True):
            staff_client.post(CONFIRM, {"upload_id": upload_id}, format="json")
        return ImportJob.objects.get(pk=upload_id)

    return post


@pytest.fixture
def finished_job(staff_client, confirm) -> ImportJob:
    """The upload of ROWS, after Kofi's phone was taken between the preview and the run."""
    preview = upload(staff_client, builders.xlsx_bytes([HEADER, *ROWS]))
    assert preview["summary"]["to_create"] == 3
    CustomerFactory(phone="+233241000003", email="other@example.com", shipping_mark="OTHER")
    return confirm(preview["upload_id"])


def errors_sheet(client, job: ImportJob):
    response = client.get(reverse("users:import-errors", args=[job.pk]))
    assert response.status_code == status.HTTP_200_OK
    return load_workbook(io.BytesIO(b"".join(response.streaming_content))).active


def test_the_job_created_the_rows_it_could_and_failed_the_raced_one(finished_job):
    assert (finished_job.created_count, finished_job.failed_count) == (2, 1)
    assert finished_job.invalid_count == 2


def test_errors_xlsx_holds_exactly_the_invalid_and_the_raced_rows_as_uploaded(
    staff_client, finished_job
):
    sheet = errors_sheet(staff_client, finished_job)

    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == (*HEADER, "Error")
    assert [list(row[:-1]) for row in rows[1:]] == [
        ["PM SILVER", "Ama", "Owusu", "ama@example.com", "12", "Volta"],
        ["PM BRONZE", "Kofi", "Boateng", "kofi@example.com", "0241000003", "Oti"],
        ["PM TIN", None, "Darko", "tin@example.com", "0241000005", "Bono"],
    ]


def test_each_row_of_errors_xlsx_says_why_it_was_not_created(staff_client, finished_job):
    sheet = errors_sheet(staff_client, finished_job)

    reasons = [row[-1] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert reasons[0].startswith("Phone: Not a valid phone number")
    assert reasons[1] == "Phone: A customer with this phone number already exists."
    assert reasons[2] == "First name: This field is required."


def test_errors_xlsx_once_fixed_uploads_and_imports_every_row(staff_client, finished_job, confirm):
    sheet = errors_sheet(staff_client, finished_job)
    sheet["E2"] = "0241000002"  # Ama: a valid phone
    sheet["E3"] = "0241000033"  # Kofi: a phone of his own
    sheet["B4"] = "Yaa"  # the missing first name
    fixed = io.BytesIO()
    sheet.parent.save(fixed)

    preview = upload(staff_client, fixed.getvalue(), "fixed.xlsx")
    job = confirm(preview["upload_id"])

    assert preview["summary"]["invalid"] == 0
    assert preview["summary"]["to_create"] == 3
    assert preview["unmapped_columns"] == ["Error"]
    assert (job.status, job.created_count, job.failed_count) == (ImportJob.Status.COMPLETE, 3, 0)
    assert set(User.objects.filter(import_job=job).values_list("shipping_mark", flat=True)) == {
        "PM SILVER",
        "PM BRONZE",
        "PM TIN",
    }
