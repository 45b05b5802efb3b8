"""Possible duplicates through the API: an upload's row that resembles a customer (or an earlier
row) without clashing with anyone exactly is counted and listed apart in the preview, named
with whom it resembles and why, and is created on confirm all the same; exact duplicates are
still reported as such."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import load_workbook
from rest_framework import status

from tests.conftest import bearer_client
from tests.excel import builders
from tests.factories import CustomerFactory, StaffFactory
from tests.imports.helpers import preview
from users.imports import stored_rows
from users.imports.stored_rows import Outcome
from users.models import ImportJob, ImportStagedRow, Role, User

pytestmark = pytest.mark.django_db

UPLOAD = reverse("users:import-upload")
CONFIRM = reverse("users:import-confirm")
HEADER = ["Shipping Mark", "First Name", "Last Name", "Email", "Phone Number", "Region"]
# Kwame as stored, and as he comes again with one digit of his phone mistyped.
KWAME_PHONE = "+233241234567"
KWAME_AGAIN = ["", "Kwame", "Mensah", "", "0241234568", "Ashanti"]
AMA = ["", "Ama", "Owusu", "ama@example.com", "0551234567", "Volta"]


def upload(client, *rows):
    content = builders.xlsx_bytes([HEADER, *rows])
    return client.post(
        UPLOAD, {"file": SimpleUploadedFile("customers.xlsx", content)}, format="multipart"
    )


@pytest.fixture
def kwame():
    return CustomerFactory(
        first_name="Kwame", last_name="Mensah", phone=KWAME_PHONE, shipping_mark="PM KWAME 1"
    )


@pytest.fixture
def confirm(staff_client, django_capture_on_commit_callbacks):
    """POSTs to bulk-create and runs the queued task as the worker would, after the commit."""

    def post(upload_id: str):
        with django_capture_on_commit_callbacks(execute=True):
            return staff_client.post(CONFIRM, {"upload_id": upload_id}, format="json")

    return post


def test_a_planted_near_duplicate_shows_in_the_preview_and_is_created_on_confirm(
    staff_client, kwame, confirm
):
    # given a file of a new customer and kwame again, a digit of his phone mistyped
    body = upload(staff_client, AMA, KWAME_AGAIN).json()

    # then the preview counts him apart, among the rows to create, and says so
    assert body["summary"]["to_create"] == 2
    assert body["summary"]["possible_duplicates"] == 1
    assert "1 row to create looks like an existing customer" in body["message"]
    [entry] = body["duplicate_results"]["possible_duplicates"]
    assert entry["candidate"]["source_row_number"] == 3
    assert entry["candidate"]["phone"] == "+233241234568"
    assert entry["reason_code"] == "phone_one_digit_apart"
    assert entry["reason"] == (
        f"Same names; the phone differs by one digit from customer #{kwame.pk}'s."
    )
    assert entry["resembles"] == {
        "customer_id": kwame.pk,
        "customer": {
            "id": kwame.pk,
            "first_name": "Kwame",
            "last_name": "Mensah",
            "phone": KWAME_PHONE,
            "shipping_mark": "PM KWAME 1",
        },
        "row": None,
    }
    # he is still a row to create, and no error
    assert len(body["duplicate_results"]["unique_candidates"]) == 2
    assert body["errors"] == []
    # the staged row keeps the customer it resembles, for a choice made later
    staged = ImportStagedRow.objects.get(job_id=body["upload_id"], source_row=3)
    assert (staged.outcome, staged.resembles_customer_id) == (Outcome.POSSIBLE_DUPLICATE, kwame.pk)

    # when the import is confirmed and the worker runs it
    response = confirm(body["upload_id"])

    # then both are created, kwame's look-alike included
    assert response.status_code == status.HTTP_202_ACCEPTED
    job = ImportJob.objects.get(pk=body["upload_id"])
    assert job.status == ImportJob.Status.COMPLETE
    assert job.created_count == 2
    assert User.objects.filter(import_job=job, phone="+233241234568").exists()


def test_the_possible_duplicates_list_is_paged_like_the_others(staff_client, kwame):
    upload_id = upload(staff_client, AMA, KWAME_AGAIN).json()["upload_id"]

    page = staff_client.get(
        reverse("users:import-preview-page", args=[upload_id]),
        {"list": "possible_duplicates"},
    ).json()

    assert page["count"] == 1
    assert [entry["resembles"]["customer_id"] for entry in page["results"]] == [kwame.pk]


def test_a_row_resembling_an_earlier_row_of_the_file_names_that_row(staff_client, confirm):
    # given two rows of one person, names swapped and a digit apart, and nobody stored
    swapped = ["", "Mensah", "Kwame", "", "0241234568", "Ashanti"]
    body = upload(staff_client, ["", "Kwame", "Mensah", "", "0241234567", "Ashanti"], swapped)
    body = body.json()

    # then the second resembles row 2
    [entry] = body["duplicate_results"]["possible_duplicates"]
    assert entry["candidate"]["source_row_number"] == 3
    assert entry["reason_code"] == "names_swapped"
    assert entry["resembles"] == {"customer_id": None, "customer": None, "row": 2}
    assert entry["reason"] == (
        "First and last names swapped; the phone differs by one digit from row 2's."
    )

    # and both are created on confirm
    confirm(body["upload_id"])
    assert ImportJob.objects.get(pk=body["upload_id"]).created_count == 2


def test_an_exact_duplicate_wins_over_a_near_one(staff_client, kwame):
    # given kwame's own phone (an exact clash) with a slip in his names' neighbour's
    body = upload(staff_client, ["", "Kwame", "Mensah", "", "0241234567", "Ashanti"]).json()

    # then the row is an existing duplicate, and no possible duplicate
    assert body["summary"]["existing_duplicates"] == 1
    assert body["summary"]["possible_duplicates"] == 0
    assert body["duplicate_results"]["possible_duplicates"] == []


def test_a_repeat_within_the_file_is_a_batch_duplicate_not_a_possible_one(staff_client):
    row = ["", "Kwame", "Mensah", "", "0241234567", "Ashanti"]
    body = upload(staff_client, row, row).json()

    assert body["summary"]["batch_duplicates"] == 1
    assert body["summary"]["possible_duplicates"] == 0


def test_an_account_hidden_from_the_uploader_is_not_named(staff_client):
    # given a superuser left with the customer role (seen by super admins only), and a boss
    hidden = CustomerFactory(
        first_name="Kwame", last_name="Mensah", phone=KWAME_PHONE, is_superuser=True
    )
    boss = StaffFactory(user_role=Role.SUPER_ADMIN, is_superuser=True)

    # when an admin and the boss upload the look-alike
    by_admin = upload(staff_client, KWAME_AGAIN).json()
    by_boss = upload(bearer_client(boss), KWAME_AGAIN).json()

    # then both see a possible duplicate, but only the boss sees whom it resembles
    [entry] = by_admin["duplicate_results"]["possible_duplicates"]
    assert entry["resembles"] == {"customer_id": None, "customer": None, "row": None}
    assert entry["reason"] == "Same names; the phone differs by one digit from another account's."
    assert str(hidden.pk) not in entry["reason"]
    [entry] = by_boss["duplicate_results"]["possible_duplicates"]
    assert entry["resembles"]["customer"]["id"] == hidden.pk


def test_errors_xlsx_does_not_list_possible_duplicates(staff_client, kwame, confirm):
    # given an upload of a new customer, kwame's look-alike and an invalid row
    invalid = ["", "Yaw", "Boateng", "", "12", "Volta"]
    body = upload(staff_client, AMA, KWAME_AGAIN, invalid).json()
    confirm(body["upload_id"])

    # when the rows not created are downloaded
    response = staff_client.get(reverse("users:import-errors", args=[body["upload_id"]]))

    # then only the invalid row is there: a possible duplicate is no error
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    rows = list(sheet.iter_rows(values_only=True))
    assert [row[4] for row in rows[1:]] == ["12"]


def test_possible_duplicates_are_written_as_creates_by_the_run(staff, kwame):
    # the run's plan reads a possible duplicate as a row to create
    job = preview(
        staff,
        [
            {
                "shipping_mark": "",
                "first_name": "Kwame",
                "last_name": "Mensah",
                "phone": "0241234568",
                "region": "Ashanti",
            }
        ],
    )

    assert stored_rows.batch_plan(job.pk, start=0, size=10) == [(0, Outcome.CREATE)]


def test_with_the_check_turned_off_a_look_alike_is_a_plain_row_to_create(
    staff_client, kwame, settings
):
    settings.IMPORT_NEAR_DUPLICATES = False

    body = upload(staff_client, AMA, KWAME_AGAIN).json()

    assert body["summary"]["to_create"] == 2
    assert body["summary"]["possible_duplicates"] == 0
    assert body["duplicate_results"]["possible_duplicates"] == []


def row_url(upload_id: str, row: int) -> str:
    return reverse("users:import-row", kwargs={"upload_id": upload_id, "row": row})


def test_a_possible_duplicate_skipped_and_taken_back_moves_both_of_its_counts(staff_client, kwame):
    # given a preview in which kwame again is a possible duplicate, among the rows to create
    body = upload(staff_client, AMA, KWAME_AGAIN).json()
    upload_id = body["upload_id"]

    # when the admin skips him
    skipped = staff_client.patch(row_url(upload_id, 3), {"action": "skip"}, format="json")

    # then he leaves both the rows to create and the possible duplicates
    assert skipped.status_code == status.HTTP_200_OK, skipped.json()
    assert skipped.json()["summary"]["to_create"] == 1
    assert skipped.json()["summary"]["possible_duplicates"] == 0
    assert skipped.json()["summary"]["skipped"] == 1
    job = ImportJob.objects.get(pk=upload_id)
    assert (job.to_create_count, job.possible_duplicate_count) == (1, 0)

    # and when he is taken back, he is compared again: a possible duplicate again
    included = staff_client.patch(row_url(upload_id, 3), {"action": "include"}, format="json")
    assert included.status_code == status.HTTP_200_OK, included.json()
    assert included.json()["row"]["outcome"] == "possible_duplicates"
    assert included.json()["summary"]["to_create"] == 2
    assert included.json()["summary"]["possible_duplicates"] == 1
    job.refresh_from_db()
    assert (job.to_create_count, job.possible_duplicate_count) == (2, 1)
