"""Fixing a row of a preview where it stands (PATCH .../upload/{id}/rows/{row}/): the value goes
through the rules of a cell, the row and the rows it shares a value with are classified again,
the counts, lists, errors, history and errors.xlsx follow, and confirm creates the fixed rows."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse
from openpyxl import load_workbook
from rest_framework import status

from tests.conftest import bearer_client
from tests.excel import builders
from tests.factories import CustomerFactory, StaffFactory
from tests.imports.helpers import customer_record, phone, preview
from users.imports import fixes, jobs
from users.imports.stored_rows import StoredRows
from users.models import ImportJob, ImportRowFix, Role, User

pytestmark = pytest.mark.django_db

CONFIRM = reverse("users:import-confirm")


def row_url(job, row):
    return reverse("users:import-row", args=[job.pk, row])


def fix(client, job, row, body):
    return client.patch(row_url(job, row), body, format="json")


def outcomes(job) -> dict[int, str]:
    """Each row's outcome letter, by its number in the file."""
    return {row.source_row: row.outcome.value for row in StoredRows(job.pk)}


def counts(job) -> dict[str, int]:
    job.refresh_from_db()
    return {
        "create": job.to_create_count,
        "invalid": job.invalid_count,
        "existing": job.existing_duplicate_count,
        "batch": job.batch_duplicate_count,
        "skipped": job.skipped_in_preview_count,
    }


def errors_of(job) -> list[tuple[int, str]]:
    return sorted(job.row_errors.values_list("row", "code"))


@pytest.fixture
def confirm(staff_client, django_capture_on_commit_callbacks):
    def post(job) -> ImportJob:
        with django_capture_on_commit_callbacks(execute=True):
            response = staff_client.post(CONFIRM, {"upload_id": str(job.pk)}, format="json")
        assert response.status_code == status.HTTP_202_ACCEPTED
        return ImportJob.objects.get(pk=job.pk)

    return post


# --- a field fixed ----------------------------------------------------------------------------


def test_an_invalid_phone_fixed_makes_the_row_one_to_create(staff, staff_client):
    job = preview(staff, [customer_record(1), customer_record(2, phone="12")])

    response = fix(staff_client, job, 3, {"phone": phone(2)})

    assert response.status_code == status.HTTP_200_OK
    body = response.json()
    assert body["row"]["outcome"] == "create"
    assert body["row"]["fields"]["phone"] == "+233241000002"
    assert body["row"]["errors"] == []
    assert body["summary"] == {
        "total_rows": 2,
        "invalid": 0,
        "existing_duplicates": 0,
        "batch_duplicates": 0,
        "to_create": 2,
        "possible_duplicates": 0,
    }
    assert counts(job)["invalid"] == 0
    assert errors_of(job) == []


def test_a_fix_goes_through_the_rules_of_a_cell(staff, staff_client):
    job = preview(staff, [customer_record(1, email="not-an-email")])

    body = fix(staff_client, job, 2, {"email": " AMA@Example.COM\u200b "}).json()

    assert body["row"]["outcome"] == "create"
    assert body["row"]["fields"]["email"] == "ama@example.com"


def test_a_fix_still_wrong_keeps_the_row_invalid_with_the_new_error(staff, staff_client):
    job = preview(staff, [customer_record(1, phone="12")])

    body = fix(staff_client, job, 2, {"phone": "0241"}).json()

    assert body["row"]["outcome"] == "invalid"
    assert [(e["field"], e["code"], e["value"]) for e in body["row"]["errors"]] == [
        ("phone", "invalid_phone", "0241")
    ]
    assert body["row"]["raw_data"]["phone"] == "0241"
    assert errors_of(job) == [(2, "invalid_phone")]


def test_each_fix_is_recorded_and_shown_as_the_rows_history(staff, staff_client):
    job = preview(staff, [customer_record(1, phone="12", first_name="")])
    fix(staff_client, job, 2, {"phone": "0241"})
    fix(staff_client, job, 2, {"phone": phone(1), "first_name": "Ama"})

    body = staff_client.get(row_url(job, 2)).json()

    assert [(h["action"], h["field"], h["old"], h["new"]) for h in body["history"]] == [
        ("fix", "phone", "12", "0241"),
        ("fix", "phone", "0241", phone(1)),
        ("fix", "first_name", "", "Ama"),
    ]
    assert {h["changed_by"]["id"] for h in body["history"]} == {staff.pk}
    assert body["outcome"] == "create"


# --- duplicates made and cleared --------------------------------------------------------------


def test_a_fix_that_repeats_an_earlier_rows_phone_makes_a_batch_duplicate(staff, staff_client):
    job = preview(staff, [customer_record(1), customer_record(2, phone="12")])

    body = fix(staff_client, job, 3, {"phone": phone(1)}).json()

    assert body["row"]["outcome"] == "batch"
    assert body["row"]["reason"] == "Phone: Same phone as row 2."
    assert counts(job) == {
        "create": 1,
        "invalid": 0,
        "existing": 0,
        "batch": 1,
        "skipped": 0,
    }


def test_a_fix_of_the_first_occurrence_frees_the_later_row(staff, staff_client):
    job = preview(staff, [customer_record(1), customer_record(2, phone=phone(1))])
    assert outcomes(job) == {2: "c", 3: "b"}

    body = fix(staff_client, job, 2, {"phone": phone(9)}).json()

    assert body["rows_changed"] == [{"source_row_number": 3, "outcome": "create"}]
    assert outcomes(job) == {2: "c", 3: "c"}
    assert errors_of(job) == []
    assert counts(job)["create"] == 2


def test_a_fix_follows_the_rows_linked_through_another_value(staff, staff_client):
    """A and B share a phone, B and C an email: freeing B from A makes C B's duplicate."""
    rows = [
        customer_record(1),
        customer_record(2, phone=phone(1)),
        customer_record(3, email="person2@example.com"),
    ]
    job = preview(staff, rows)
    assert outcomes(job) == {2: "c", 3: "b", 4: "c"}

    fix(staff_client, job, 2, {"phone": phone(7)})

    assert outcomes(job) == {2: "c", 3: "c", 4: "b"}
    assert errors_of(job) == [(4, "duplicate_in_file")]


def test_a_fix_to_a_customers_phone_makes_an_existing_duplicate(staff, staff_client):
    CustomerFactory(phone="+233241000005", shipping_mark="HELD", email="held@example.com")
    job = preview(staff, [customer_record(1)])

    body = fix(staff_client, job, 2, {"phone": "+233 24 100 0005"}).json()

    assert body["row"]["outcome"] == "existing"
    assert body["summary"]["existing_duplicates"] == 1
    assert errors_of(job) == [(2, "duplicate_existing")]


def test_after_fixes_the_preview_is_what_an_upload_of_the_fixed_file_shows(staff, staff_client):
    rows = [
        customer_record(1),
        customer_record(2, phone=phone(1)),
        customer_record(3, email="bad"),
        customer_record(4, shipping_mark="PM TEST 1"),
        customer_record(5, phone="1"),
    ]
    job = preview(staff, rows)
    fixed = [
        (4, {"email": "person1@example.com"}),
        (2, {"phone": phone(6), "shipping_mark": ""}),
        (6, {"phone": phone(2)}),
        (5, {"shipping_mark": "PM NEW"}),
    ]
    for row, values in fixed:
        rows[row - 2] |= values
        assert fix(staff_client, job, row, values).status_code == status.HTTP_200_OK

    fresh = preview(StaffFactory(), rows)
    assert outcomes(job) == outcomes(fresh)
    assert counts(job) == counts(fresh)
    assert errors_of(job) == errors_of(fresh)


# --- skip and include -------------------------------------------------------------------------


def test_a_skipped_row_is_counted_apart_and_listed_on_its_own(staff, staff_client):
    job = preview(staff, [customer_record(1), customer_record(2, phone="12")])

    body = fix(staff_client, job, 3, {"action": "skip"}).json()

    assert body["row"]["outcome"] == "skipped"
    assert body["summary"]["skipped"] == 1
    assert body["summary"]["invalid"] == 0
    preview_page = staff_client.get(
        reverse("users:import-preview-page", args=[job.pk]), {"list": "skipped"}
    ).json()
    assert [r["source_row_number"] for r in preview_page["results"]] == [3]
    assert [e["code"] for e in preview_page["results"][0]["errors"]] == [
        "invalid_phone",
        "skipped",
    ]


def test_skipping_the_first_occurrence_frees_the_later_row_and_include_takes_it_back(
    staff, staff_client
):
    job = preview(staff, [customer_record(1), customer_record(2, phone=phone(1))])

    fix(staff_client, job, 2, {"action": "skip"})
    assert outcomes(job) == {2: "s", 3: "c"}

    body = fix(staff_client, job, 2, {"action": "include"}).json()
    assert body["row"]["outcome"] == "create"
    assert body["rows_changed"] == [{"source_row_number": 3, "outcome": "batch"}]
    assert outcomes(job) == {2: "c", 3: "b"}
    assert counts(job) == {"create": 1, "invalid": 0, "existing": 0, "batch": 1, "skipped": 0}
    assert list(ImportRowFix.objects.filter(job=job).values_list("action", flat=True)) == [
        "skip",
        "include",
    ]


def test_a_skipped_row_fixed_stays_skipped(staff, staff_client):
    job = preview(staff, [customer_record(1, phone="12")])
    fix(staff_client, job, 2, {"action": "skip"})

    body = fix(staff_client, job, 2, {"phone": phone(1)}).json()

    assert body["row"]["outcome"] == "skipped"
    assert [e["code"] for e in body["row"]["errors"]] == ["skipped"]


# --- refused ----------------------------------------------------------------------------------


def test_an_unknown_field_is_400_naming_it(staff, staff_client):
    job = preview(staff, [customer_record(1)])

    response = fix(staff_client, job, 2, {"telephone": "0241000001"})

    assert response.status_code == status.HTTP_400_BAD_REQUEST
    assert response.json()["code"] == "unknown_field"
    assert response.json()["errors"]["unknown"] == ["telephone"]


@pytest.mark.parametrize(
    "body",
    [{}, {"action": "delete"}, {"action": "skip", "phone": "1"}, {"phone": {"a": 1}}, ["phone"]],
)
def test_a_body_that_asks_nothing_clear_is_400(staff, staff_client, body):
    job = preview(staff, [customer_record(1)])

    response = fix(staff_client, job, 2, body)

    assert response.status_code == status.HTTP_400_BAD_REQUEST
    assert response.json()["code"] == "validation_error"


@pytest.mark.parametrize("row", [1, 3, 0])
def test_a_row_the_upload_does_not_have_is_404(staff, staff_client, row):
    job = preview(staff, [customer_record(1)])

    response = fix(staff_client, job, row, {"phone": phone(1)})

    assert response.status_code == status.HTTP_404_NOT_FOUND
    assert response.json()["code"] == "row_not_found"


def test_another_admins_preview_is_404(staff):
    job = preview(staff, [customer_record(1, phone="12")])
    other = bearer_client(StaffFactory())

    assert fix(other, job, 2, {"phone": phone(1)}).status_code == status.HTTP_404_NOT_FOUND
    assert other.get(row_url(job, 2)).status_code == status.HTTP_404_NOT_FOUND


def test_a_super_admin_reads_a_row_but_only_the_owner_fixes_it(staff):
    job = preview(staff, [customer_record(1, phone="12")])
    boss = bearer_client(StaffFactory(user_role=Role.SUPER_ADMIN))

    assert boss.get(row_url(job, 2)).json()["outcome"] == "invalid"
    response = fix(boss, job, 2, {"phone": phone(1)})
    assert response.status_code == status.HTTP_403_FORBIDDEN
    assert response.json()["code"] == "permission_denied"


def test_a_confirmed_upload_is_409(staff, staff_client, confirm):
    job = confirm(preview(staff, [customer_record(1), customer_record(2, phone="12")]))

    response = fix(staff_client, job, 3, {"phone": phone(2)})

    assert response.status_code == status.HTTP_409_CONFLICT
    assert response.json()["code"] == "upload_confirmed"
    assert "can no longer be fixed" in response.json()["message"]


# --- confirm and errors.xlsx ------------------------------------------------------------------


def test_confirm_creates_the_fixed_rows_and_not_the_skipped_ones(staff, staff_client, confirm):
    job = preview(staff, [customer_record(1), customer_record(2, phone="12"), customer_record(3)])
    fix(staff_client, job, 3, {"phone": phone(2)})
    fix(staff_client, job, 4, {"action": "skip"})

    job = confirm(job)

    assert job.status == ImportJob.Status.COMPLETE
    assert sorted(User.objects.filter(import_job=job).values_list("phone", flat=True)) == [
        "+233241000001",
        "+233241000002",
    ]
    assert job.skipped_count == 1


def test_errors_xlsx_holds_the_skipped_row_and_not_the_fixed_one(staff, staff_client, confirm):
    job = preview(staff, [customer_record(1, phone="12"), customer_record(2, email="bad")])
    fix(staff_client, job, 2, {"phone": phone(1)})
    fix(staff_client, job, 3, {"action": "skip"})
    job = confirm(job)

    response = staff_client.get(reverse("users:import-errors", args=[job.pk]))

    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    rows = list(sheet.iter_rows(min_row=2, values_only=True))
    assert [(row[4], row[-1]) for row in rows] == [
        (phone(2), "Email: Not a valid email address.; Skipped in the preview.")
    ]


@pytest.mark.django_db(transaction=True)
def test_the_task_worker_creates_a_row_fixed_in_the_preview(staff, staff_client, settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    job = preview(staff, [customer_record(1), customer_record(2, phone="12")])
    fix(staff_client, job, 3, {"phone": phone(2)})
    staff_client.post(CONFIRM, {"upload_id": str(job.pk)}, format="json")

    call_command("run_worker", batch=True, interval=0, verbosity=0)

    job.refresh_from_db()
    assert job.status == ImportJob.Status.COMPLETE
    assert job.created_count == 2
    assert User.objects.filter(import_job=job, phone="+233241000002").exists()


# --- updates ----------------------------------------------------------------------------------


def upload_update(client, rows, mode):
    content = builders.xlsx_bytes([["Phone", "Last Name"], *rows])
    response = client.post(
        reverse("users:import-upload"),
        {"file": SimpleUploadedFile("u.xlsx", content), "mode": mode, "match": "phone"},
        format="multipart",
    )
    assert response.status_code == status.HTTP_200_OK
    return ImportJob.objects.get(pk=response.json()["upload_id"])


def test_an_update_row_fixed_to_a_customers_phone_updates_that_customer(staff_client):
    kwame = CustomerFactory(phone="+233241234567", last_name="Mensah")
    job = upload_update(staff_client, [["0241234", "Asante"]], "update")

    body = fix(staff_client, job, 2, {"phone": "0241234567"}).json()

    assert body["row"]["outcome"] == "update"
    assert body["row"]["customer_id"] == kwame.pk
    assert body["row"]["changes"] == [{"field": "last_name", "old": "Mensah", "new": "Asante"}]
    assert body["summary"]["to_update"] == 1


def test_update_only_a_row_fixed_to_a_phone_nobody_holds_matches_no_customer(staff_client):
    CustomerFactory(phone="+233241234567", last_name="Mensah")
    job = upload_update(staff_client, [["0241234567", "Asante"]], "update_only")

    body = fix(staff_client, job, 2, {"phone": "0209999999"}).json()

    assert body["row"]["outcome"] == "no_match"
    assert [(e["code"], e["message"]) for e in body["row"]["errors"]] == [
        ("no_match", "No customer has this phone.")
    ]
    assert body["summary"]["no_match"] == 1
    assert body["summary"]["to_update"] == 0


def test_an_update_row_that_matches_nobody_and_lacks_names_is_invalid_for_a_create(staff_client):
    CustomerFactory(phone="+233241234567", last_name="Mensah")
    job = upload_update(staff_client, [["0241234567", "Asante"]], "update")

    body = fix(staff_client, job, 2, {"phone": "0209999999"}).json()

    assert body["row"]["outcome"] == "invalid"
    assert [(e["field"], e["code"]) for e in body["row"]["errors"]] == [("first_name", "required")]


def test_a_confirm_holding_a_preview_read_before_a_fix_queues_the_rows_the_fix_made(staff):
    # given a preview with nothing to write, as a confirm read it
    job = preview(staff, [customer_record(1, phone="12")])
    read_by_confirm = ImportJob.objects.get(pk=job.pk)
    assert read_by_confirm.to_write_count == 0

    # when a fix makes its row one to create before that confirm writes
    fixes.row_fix(job=job, row=2, body={"phone": phone(1)}, user=staff)
    queued = jobs.import_job_queue(job=read_by_confirm)

    # then the confirm queues the job rather than completing it with nothing written
    assert queued.status == ImportJob.Status.QUEUED
    assert queued.to_create_count == 1
