"""Confirming imports through the API: idempotency, one import at a time, who may see a job."""

import io

import pytest
from django.urls import reverse
from openpyxl import load_workbook
from rest_framework import status

from tests.conftest import bearer_client
from tests.factories import CustomerFactory, StaffFactory
from tests.imports.helpers import customer_record, preview, queue, records
from users.models import ImportJob, Role, User

pytestmark = pytest.mark.django_db

CONFIRM = reverse("users:import-confirm")
CONFIRM_ASYNC = reverse("users:import-confirm-async")


def status_url(job_id) -> str:
    return reverse("users:import-status", args=[job_id])


def errors_url(job_id) -> str:
    return reverse("users:import-errors", args=[job_id])


def customers_of(job_id) -> int:
    return User.objects.filter(import_job_id=job_id).count()


@pytest.fixture
def confirm(staff_client, django_capture_on_commit_callbacks):
    """POSTs to bulk-create and runs the queued task as the worker would, after the commit."""

    def post(body: dict, client=None, url=CONFIRM, **headers):
        with django_capture_on_commit_callbacks(execute=True):
            return (client or staff_client).post(url, body, format="json", **headers)

    return post


def test_confirming_an_upload_answers_202_and_creates_its_customers(staff, confirm):
    job = preview(staff, records(3))

    response = confirm({"upload_id": str(job.pk)})

    assert response.status_code == status.HTTP_202_ACCEPTED
    body = response.json()
    assert body["success"] is True
    assert body["task_id"] == str(job.pk)
    assert body["status"] == "QUEUED"
    assert body["total_customers"] == 3
    assert body["estimated_time_seconds"] >= 1
    assert customers_of(job.pk) == 3


def test_the_async_alias_does_the_same(staff, confirm):
    job = preview(staff, records(2))

    response = confirm({"upload_id": str(job.pk)}, url=CONFIRM_ASYNC)

    assert response.status_code == status.HTTP_202_ACCEPTED
    assert customers_of(job.pk) == 2


def test_confirming_twice_returns_the_same_job_and_creates_nothing_more(staff, confirm):
    job = preview(staff, records(3))

    first = confirm({"upload_id": str(job.pk)})
    second = confirm({"upload_id": str(job.pk)})

    assert second.status_code == status.HTTP_202_ACCEPTED
    assert second.json()["task_id"] == first.json()["task_id"]
    assert second.json()["status"] == "COMPLETE"
    assert customers_of(job.pk) == 3


def test_a_retry_with_the_same_idempotency_key_returns_the_same_job(confirm):
    body = {"customers": records(3)}

    first = confirm(body, HTTP_IDEMPOTENCY_KEY="abc-123")
    retry = confirm(body, HTTP_IDEMPOTENCY_KEY="abc-123")

    assert retry.json()["task_id"] == first.json()["task_id"]
    assert ImportJob.objects.count() == 1
    assert User.objects.filter(user_role=Role.CUSTOMER).count() == 3


def test_a_second_import_while_one_is_queued_is_409(staff, confirm):
    running = queue(preview(staff, records(3)))
    job = preview(staff, records(3, start=10))

    response = confirm({"upload_id": str(job.pk)})

    assert response.status_code == status.HTTP_409_CONFLICT
    assert response.json()["code"] == "import_in_progress"
    assert response.json()["errors"]["task_id"] == str(running.pk)
    job.refresh_from_db()
    assert job.status == ImportJob.Status.PARSED


def test_the_legacy_body_is_also_refused_while_an_import_runs(staff, confirm):
    queue(preview(staff, records(3)))

    response = confirm({"customers": records(2, start=10)})

    assert response.status_code == status.HTTP_409_CONFLICT


def test_another_admins_import_runs_beside_mine(staff, confirm):
    queue(preview(StaffFactory(), records(3)))
    job = preview(staff, records(2, start=10))

    response = confirm({"upload_id": str(job.pk)})

    assert response.status_code == status.HTTP_202_ACCEPTED


def test_another_admins_upload_is_404(confirm):
    job = preview(StaffFactory(), records(2))

    response = confirm({"upload_id": str(job.pk)})

    assert response.status_code == status.HTTP_404_NOT_FOUND
    assert response.json()["code"] == "not_found"
    assert customers_of(job.pk) == 0


def test_another_admins_job_status_and_failed_rows_are_404(staff_client):
    job = preview(StaffFactory(), records(2))

    assert staff_client.get(status_url(job.pk)).status_code == status.HTTP_404_NOT_FOUND
    assert staff_client.get(errors_url(job.pk)).status_code == status.HTTP_404_NOT_FOUND


def test_a_super_admin_sees_every_job(staff):
    job = preview(staff, records(2))
    boss = StaffFactory(user_role=Role.SUPER_ADMIN)

    response = bearer_client(boss).get(status_url(job.pk))

    assert response.status_code == status.HTTP_200_OK


def test_an_unknown_upload_is_404(confirm):
    response = confirm({"upload_id": "00000000-0000-0000-0000-000000000000"})

    assert response.status_code == status.HTTP_404_NOT_FOUND


def test_a_body_without_upload_id_or_customers_is_400(confirm):
    response = confirm({"notify": True})

    assert response.status_code == status.HTTP_400_BAD_REQUEST
    assert "upload_id" in response.json()["errors"]


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("post", reverse("users:import-upload")),
        ("post", CONFIRM),
        ("get", status_url("00000000-0000-0000-0000-000000000000")),
        ("get", errors_url("00000000-0000-0000-0000-000000000000")),
    ],
)
def test_customers_cannot_reach_the_import(customer_client, method, url):
    response = getattr(customer_client, method)(url)

    assert response.status_code == status.HTTP_403_FORBIDDEN


def test_the_legacy_body_is_validated_again_like_an_upload(confirm):
    CustomerFactory(phone="+233241000001", shipping_mark="TAKEN", email="taken@example.com")
    customers = [
        customer_record(0),
        customer_record(1),  # its phone is taken
        customer_record(2, phone="not a phone"),
        customer_record(3, email="PERSON0@example.com"),  # same email as the first
        customer_record(4),
    ]

    response = confirm({"customers": customers})

    job = ImportJob.objects.get(pk=response.json()["task_id"])
    assert (job.to_create_count, job.existing_duplicate_count) == (2, 1)
    assert (job.invalid_count, job.batch_duplicate_count) == (1, 1)
    assert sorted(User.objects.filter(import_job=job).values_list("source_row", flat=True)) == [
        2,
        6,
    ]


def test_legacy_records_may_use_any_accepted_header(confirm):
    customers = [{"Given Name": "Ama", "Surname": "Owusu", "Mobile": "0551234567"}]

    response = confirm({"customers": customers})

    created = User.objects.get(import_job_id=response.json()["task_id"])
    assert (created.first_name, created.phone) == ("Ama", "+233551234567")


def test_legacy_records_without_the_required_keys_are_refused(confirm):
    response = confirm({"customers": [{"first_name": "Ama", "phone": "0551234567"}]})

    assert response.status_code == status.HTTP_400_BAD_REQUEST
    assert response.json()["code"] == "missing_columns"
    assert response.json()["errors"]["missing_columns"] == ["Last Name"]


def test_legacy_records_keep_the_row_numbers_of_their_preview(confirm):
    customers = [
        {**customer_record(0), "source_row_number": 7},
        {**customer_record(1, phone="bad"), "source_row_number": 9},
    ]

    response = confirm({"customers": customers})

    job = ImportJob.objects.get(pk=response.json()["task_id"])
    assert User.objects.get(import_job=job).source_row == 7
    assert job.row_errors.get().row == 9


def test_a_preview_with_nothing_to_create_completes_on_confirm(staff, confirm):
    CustomerFactory(phone="+233241000000", email="other@example.com", shipping_mark="OTHER")
    job = preview(staff, records(1))

    response = confirm({"upload_id": str(job.pk)})

    assert response.json()["status"] == "COMPLETE"
    job.refresh_from_db()
    assert job.status == ImportJob.Status.COMPLETE
    assert "Nothing to create" in job.message


def test_status_reports_counts_progress_and_every_reason(staff, staff_client, confirm):
    job = preview(staff, [customer_record(0), customer_record(1, phone="12"), customer_record(0)])
    confirm({"upload_id": str(job.pk)})

    body = staff_client.get(status_url(job.pk)).json()

    assert body["task_id"] == str(job.pk)
    assert body["status"] == "COMPLETE"
    assert body["is_complete"] is True
    assert body["is_failed"] is False
    assert (body["created"], body["failed"], body["skipped"]) == (1, 0, 2)
    assert body["total_customers"] == 1
    assert body["progress_percent"] == 100
    assert body["errors"] == [
        "Row 3: Phone: Not a valid phone number (for example 0241234567 or +233241234567).",
        "Row 4: Phone: Same phone as row 2.",
        "Row 4: Email: Same email as row 2.",
        "Row 4: Shipping mark: Same shipping mark as row 2.",
    ]
    assert [row["row"] for row in body["failed_rows"]] == [3, 4]
    assert body["failed_rows"][0]["data"]["phone"] == "12"
    assert body["updated_at"]


def test_status_of_a_previewed_job_is_parsed_with_zero_progress(staff, staff_client):
    job = preview(staff, records(2))

    body = staff_client.get(status_url(job.pk)).json()

    assert body["status"] == "PARSED"
    assert body["progress_percent"] == 0
    assert body["is_complete"] is False


def test_failed_rows_download_holds_every_row_not_created_with_its_reason(
    staff, staff_client, confirm
):
    job = preview(staff, [customer_record(0), customer_record(1, phone="12"), customer_record(0)])
    confirm({"upload_id": str(job.pk)})

    response = staff_client.get(errors_url(job.pk))

    assert response.status_code == status.HTTP_200_OK
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][-1] == "Error"
    assert rows[0][:6] == (
        "shipping_mark",
        "first_name",
        "last_name",
        "email",
        "phone",
        "region",
    )
    assert [row[4] for row in rows[1:]] == ["12", "0241000000"]
    assert rows[1][-1].startswith("Phone: Not a valid phone number")
    assert rows[2][-1].startswith("Phone: Same phone as row 2.")


def test_the_failed_rows_of_a_pruned_import_are_gone_with_410(staff, staff_client, confirm):
    job = preview(staff, [customer_record(0), customer_record(1, phone="12")])
    confirm({"upload_id": str(job.pk)})
    ImportJob.objects.filter(pk=job.pk).update(rows_pruned_at=job.created_at)

    response = staff_client.get(errors_url(job.pk))

    assert response.status_code == status.HTTP_410_GONE
    assert response.json()["code"] == "rows_deleted"
    assert staff_client.get(status_url(job.pk)).json()["rows_kept"] is False


def test_a_nul_in_the_legacy_body_makes_the_row_invalid(confirm):
    response = confirm({"customers": [customer_record(0, first_name="A\x00b"), customer_record(1)]})

    job = ImportJob.objects.get(pk=response.json()["task_id"])
    assert (job.invalid_count, job.created_count) == (1, 1)
