"""A possible duplicate's choices through the API: one row at a time (PATCH .../rows/{row}/ with
{"action": "create" | "update" | "skip" | "include"}) and every one at once (POST
.../possible-duplicates/): the row created anyway, made an update of the customer it resembles
as an update-mode import would treat it, or skipped; the counts, the row's history and the run
follow, and a fix of a row checks it again for resemblance."""

import pytest
from django.contrib.auth.hashers import make_password
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from rest_framework import status

from tests.conftest import bearer_client
from tests.excel import builders
from tests.factories import CustomerFactory, StaffFactory
from users.errors import ApplicationError
from users.imports import choices, rechecks, resemblance, resemblance_keys
from users.models import CustomerChange, ImportJob, ImportRowFix, ImportStagedRow, Role, User

pytestmark = pytest.mark.django_db

UPLOAD = reverse("users:import-upload")
CONFIRM = reverse("users:import-confirm")
HEADER = ["Shipping Mark", "First Name", "Last Name", "Email", "Phone Number", "Region"]
KWAME_PHONE = "+233241234567"
# Kwame again, a digit of his phone mistyped, with an email and another region.
KWAME_AGAIN = ["", "Kwame", "Mensah", "kwame@example.org", "0241234568", "Ashanti"]
AMA = ["", "Ama", "Owusu", "ama@example.com", "0551234567", "Volta"]
# Ama again, names swapped and a digit apart: she resembles the row AMA is.
AMA_AGAIN = ["", "Owusu", "Ama", "", "0551234568", "Volta"]


def upload(client, *rows) -> dict:
    content = builders.xlsx_bytes([HEADER, *rows])
    response = client.post(
        UPLOAD, {"file": SimpleUploadedFile("customers.xlsx", content)}, format="multipart"
    )
    assert response.status_code == status.HTTP_200_OK, response.json()
    return response.json()


def row_url(upload_id: str, row: int) -> str:
    return reverse("users:import-row", kwargs={"upload_id": upload_id, "row": row})


def all_url(upload_id: str) -> str:
    return reverse("users:import-possible-duplicates", kwargs={"upload_id": upload_id})


def act(client, upload_id: str, row: int, action: str):
    return client.patch(row_url(upload_id, row), {"action": action}, format="json")


def staged(upload_id: str, row: int) -> ImportStagedRow:
    return ImportStagedRow.objects.get(job_id=upload_id, source_row=row)


@pytest.fixture
def kwame():
    return CustomerFactory(
        first_name="Kwame",
        last_name="Mensah",
        phone=KWAME_PHONE,
        email=None,
        shipping_mark="PM KWAME 1",
        region="GREATER_ACCRA",
    )


@pytest.fixture
def confirm(staff_client, django_capture_on_commit_callbacks):
    """POSTs to bulk-create and runs the queued task as the worker would, after the commit."""

    def post(upload_id: str) -> ImportJob:
        with django_capture_on_commit_callbacks(execute=True):
            response = staff_client.post(CONFIRM, {"upload_id": upload_id}, format="json")
        assert response.status_code == status.HTTP_202_ACCEPTED, response.json()
        return ImportJob.objects.get(pk=upload_id)

    return post


# --- create anyway --------------------------------------------------------------------------


def test_create_anyway_makes_a_possible_duplicate_a_plain_row_to_create(
    staff_client, kwame, confirm
):
    body = upload(staff_client, AMA, KWAME_AGAIN)

    response = act(staff_client, body["upload_id"], 3, "create")

    assert response.status_code == status.HTTP_200_OK, response.json()
    answer = response.json()
    assert answer["row"]["outcome"] == "create"
    assert answer["row"]["choice"] == "create"
    assert answer["row"]["possible_duplicate"]["resembles"]["customer_id"] == kwame.pk
    assert answer["summary"]["to_create"] == 2
    assert answer["summary"]["possible_duplicates"] == 0
    assert [(h["action"], h["new"]) for h in answer["row"]["history"]] == [("create", None)]
    # and the run creates it, beside kwame
    job = confirm(body["upload_id"])
    assert job.created_count == 2
    assert User.objects.filter(import_job=job, phone="+233241234568").exists()


def test_create_anyway_holds_while_a_linked_row_is_fixed(staff_client, kwame):
    # given kwame's look-alike, and a later row repeating his email (a batch duplicate of him)
    later = ["", "Yaw", "Boateng", "kwame@example.org", "0201234567", "Volta"]
    upload_id = upload(staff_client, KWAME_AGAIN, later)["upload_id"]
    act(staff_client, upload_id, 2, "create")

    # when the later row's email is fixed, which classifies both rows again
    answer = staff_client.patch(
        row_url(upload_id, 3), {"email": "yaw@example.com"}, format="json"
    ).json()

    # then the look-alike is still a plain row to create, its choice kept
    assert answer["row"]["outcome"] == "create"
    assert (staged(upload_id, 2).outcome, staged(upload_id, 2).choice) == ("c", "c")
    assert answer["summary"]["possible_duplicates"] == 0


def test_a_possible_duplicate_classified_again_by_a_linked_fix_stays_one(staff_client, kwame):
    # given kwame's look-alike, and a later row repeating its email (a batch duplicate of it)
    later = ["", "Yaw", "Boateng", "kwame@example.org", "0201234567", "Volta"]
    upload_id = upload(staff_client, KWAME_AGAIN, later)["upload_id"]

    # when the later row's email is fixed, which classifies both rows again
    answer = staff_client.patch(
        row_url(upload_id, 3), {"email": "yaw@example.com"}, format="json"
    ).json()

    # then the look-alike is still a possible duplicate of kwame, with its reason
    assert answer["summary"]["possible_duplicates"] == 1
    assert answer["rows_changed"] == []
    row = staged(upload_id, 2)
    assert (row.outcome, row.resembles_customer_id, row.resemblance_code) == (
        "p",
        kwame.pk,
        "phone_one_digit_apart",
    )


def test_a_fix_of_the_rows_own_cells_drops_the_choice_and_checks_it_again(staff_client, kwame):
    upload_id = upload(staff_client, KWAME_AGAIN)["upload_id"]
    act(staff_client, upload_id, 2, "create")

    answer = staff_client.patch(row_url(upload_id, 2), {"region": "Volta"}, format="json").json()

    assert answer["row"]["choice"] is None
    assert answer["row"]["outcome"] == "possible_duplicates"
    assert answer["summary"]["possible_duplicates"] == 1


# --- update that customer -------------------------------------------------------------------


def test_update_makes_the_row_an_update_of_the_customer_it_resembles(staff_client, kwame, confirm):
    body = upload(staff_client, AMA, KWAME_AGAIN)

    answer = act(staff_client, body["upload_id"], 3, "update").json()

    # the fields its cells give are written (not the mark it left blank), as an update would
    assert answer["row"]["outcome"] == "update"
    assert answer["row"]["choice"] == "update"
    assert answer["row"]["customer_id"] == kwame.pk
    assert answer["row"]["changes"] == [
        {"field": "email", "old": None, "new": "kwame@example.org"},
        {"field": "phone", "old": KWAME_PHONE, "new": "+233241234568"},
        {"field": "region", "old": "GREATER_ACCRA", "new": "ASHANTI"},
    ]
    assert answer["summary"]["to_create"] == 1
    assert answer["summary"]["to_update"] == 1
    assert answer["summary"]["possible_duplicates"] == 0
    assert "1 to update" in answer["message"]
    assert [(h["action"], h["new"]) for h in answer["row"]["history"]] == [("update", kwame.pk)]

    # when confirmed, the run updates kwame (locked and checked again) and creates Ama
    job = confirm(body["upload_id"])
    assert (job.status, job.created_count, job.updated_count) == ("COMPLETE", 1, 1)
    kwame.refresh_from_db()
    assert (kwame.phone, kwame.email, kwame.region, kwame.shipping_mark) == (
        "+233241234568",
        "kwame@example.org",
        "ASHANTI",
        "PM KWAME 1",
    )
    assert not User.objects.filter(import_job=job, first_name="Kwame").exists()
    assert CustomerChange.objects.get(import_job=job).customer_id == kwame.pk
    assert "updated 1 of 1" in job.message


def test_an_update_that_changes_nothing_is_unchanged(staff_client, kwame):
    # given the look-alike, then kwame changed meanwhile to hold the row's values
    upload_id = upload(staff_client, ["", "Kwame", "Mensah", "", "0241234568", ""])["upload_id"]
    User.objects.filter(pk=kwame.pk).update(phone="+233241234568")

    answer = act(staff_client, upload_id, 2, "update").json()

    assert answer["row"]["outcome"] == "unchanged"
    assert answer["summary"]["unchanged"] == 1
    assert "to_update" not in answer["summary"]


def test_an_update_of_a_customer_with_a_password_may_not_change_the_phone(staff_client):
    CustomerFactory(
        first_name="Kwame", last_name="Mensah", phone=KWAME_PHONE, password="their-own-1"
    )
    upload_id = upload(staff_client, KWAME_AGAIN)["upload_id"]

    answer = act(staff_client, upload_id, 2, "update").json()

    assert answer["row"]["outcome"] == "existing"
    assert [e["code"] for e in answer["row"]["errors"]] == ["needs_review"]
    assert answer["summary"]["existing_duplicates"] == 1


def test_an_update_taking_a_phone_another_customer_holds_is_ambiguous(staff_client, kwame):
    upload_id = upload(staff_client, KWAME_AGAIN)["upload_id"]
    other = CustomerFactory(phone="+233241234568")

    answer = act(staff_client, upload_id, 2, "update").json()

    assert answer["row"]["outcome"] == "ambiguous"
    assert answer["row"]["errors"][0]["message"] == (
        f"The row is to update customer #{kwame.pk} and the phone customer #{other.pk}: "
        "fix the row."
    )
    assert answer["summary"]["ambiguous"] == 1


def test_two_rows_updating_one_customer_make_the_second_a_batch_duplicate(staff_client, kwame):
    twice = ["", "Kwame", "Mensah", "", "0241234557", "Ashanti"]
    upload_id = upload(staff_client, KWAME_AGAIN, twice)["upload_id"]
    act(staff_client, upload_id, 2, "update")

    answer = act(staff_client, upload_id, 3, "update").json()

    assert answer["row"]["outcome"] == "batch"
    assert answer["row"]["reason"] == "Matches the same customer as row 2."


def test_update_of_a_row_that_resembles_an_earlier_row_is_409(staff_client):
    upload_id = upload(staff_client, AMA, AMA_AGAIN)["upload_id"]

    response = act(staff_client, upload_id, 3, "update")

    assert response.status_code == status.HTTP_409_CONFLICT
    assert response.json()["code"] == choices.NO_CUSTOMER_TO_UPDATE


def test_update_of_a_customer_hidden_from_the_uploader_is_409(staff_client):
    CustomerFactory(first_name="Kwame", last_name="Mensah", phone=KWAME_PHONE, is_superuser=True)
    upload_id = upload(staff_client, KWAME_AGAIN)["upload_id"]

    response = act(staff_client, upload_id, 2, "update")

    assert response.status_code == status.HTTP_409_CONFLICT
    assert response.json()["code"] == choices.NO_CUSTOMER_TO_UPDATE
    assert "#" not in response.json()["message"]


@pytest.mark.parametrize("action", ["create", "update"])
def test_a_choice_for_a_row_that_is_no_possible_duplicate_is_409(staff_client, kwame, action):
    upload_id = upload(staff_client, AMA)["upload_id"]

    response = act(staff_client, upload_id, 2, action)

    assert response.status_code == status.HTTP_409_CONFLICT
    assert response.json()["code"] == choices.NOT_A_POSSIBLE_DUPLICATE


def test_a_choice_can_be_changed(staff_client, kwame):
    upload_id = upload(staff_client, KWAME_AGAIN)["upload_id"]
    act(staff_client, upload_id, 2, "update")

    answer = act(staff_client, upload_id, 2, "create").json()

    assert (answer["row"]["outcome"], answer["row"]["choice"]) == ("create", "create")
    assert "to_update" not in answer["summary"]
    assert answer["summary"]["to_create"] == 1


# --- skip and include -----------------------------------------------------------------------


def test_a_skipped_possible_duplicate_comes_back_as_one_when_included(staff_client, kwame):
    upload_id = upload(staff_client, AMA, KWAME_AGAIN)["upload_id"]

    skipped = act(staff_client, upload_id, 3, "skip").json()
    assert (skipped["row"]["outcome"], skipped["row"]["choice"]) == ("skipped", "skip")
    assert skipped["summary"]["possible_duplicates"] == 0

    included = act(staff_client, upload_id, 3, "include").json()
    assert included["row"]["outcome"] == "possible_duplicates"
    assert included["row"]["choice"] is None
    assert included["summary"]["possible_duplicates"] == 1
    assert included["summary"]["to_create"] == 2


def test_a_skipped_possible_duplicate_can_be_created_anyway(staff_client, kwame):
    upload_id = upload(staff_client, KWAME_AGAIN)["upload_id"]
    act(staff_client, upload_id, 2, "skip")

    answer = act(staff_client, upload_id, 2, "create").json()

    assert (answer["row"]["outcome"], answer["row"]["choice"]) == ("create", "create")
    assert "skipped" not in answer["summary"]


# --- a fix checks the row again -------------------------------------------------------------


def test_a_fix_can_make_a_possible_duplicate(staff_client, kwame):
    upload_id = upload(staff_client, ["", "Kwame", "Mensah", "", "12", "Ashanti"])["upload_id"]

    answer = staff_client.patch(
        row_url(upload_id, 2), {"phone": "0241234568"}, format="json"
    ).json()

    assert answer["row"]["outcome"] == "possible_duplicates"
    assert answer["row"]["possible_duplicate"]["reason_code"] == "phone_one_digit_apart"
    assert answer["summary"]["possible_duplicates"] == 1


def test_a_fix_can_clear_a_possible_duplicate(staff_client, kwame):
    upload_id = upload(staff_client, KWAME_AGAIN)["upload_id"]

    answer = staff_client.patch(
        row_url(upload_id, 2), {"phone": "0209999999"}, format="json"
    ).json()

    assert answer["row"]["outcome"] == "create"
    assert answer["row"]["possible_duplicate"] is None
    assert answer["summary"]["possible_duplicates"] == 0
    assert staged(upload_id, 2).resemblance_code is None


def test_a_fix_of_an_earlier_row_moves_the_later_row_that_resembles_it(staff_client):
    upload_id = upload(staff_client, AMA, AMA_AGAIN)["upload_id"]
    assert staged(upload_id, 3).outcome == "p"

    moved = staff_client.patch(row_url(upload_id, 2), {"phone": "0209999999"}, format="json")
    assert moved.json()["rows_changed"] == [{"source_row_number": 3, "outcome": "create"}]
    assert staged(upload_id, 3).outcome == "c"

    back = staff_client.patch(row_url(upload_id, 2), {"phone": "0551234567"}, format="json")
    assert back.json()["rows_changed"] == [
        {"source_row_number": 3, "outcome": "possible_duplicates"}
    ]
    assert staged(upload_id, 3).resembles_row == 2


def test_after_fixes_the_possible_duplicates_are_what_an_upload_of_the_fixed_file_shows(
    staff_client, kwame
):
    rows = [
        ["", "Ama", "Owusu", "", "12", "Volta"],
        ["", "Owusu", "Ama", "", "0551234568", "Volta"],
        ["", "Kwame", "Mensah", "", "0241234560", "Volta"],
        ["", "Kofi", "Asante", "kofi85@example.com", "0201111111", "Volta"],
        ["", "Kofi", "Asante", "kofi85@example.org", "0", "Volta"],
    ]
    upload_id = upload(staff_client, *rows)["upload_id"]
    for row, phone in ((2, "0551234567"), (4, "0241234568"), (6, "0202222222")):
        rows[row - 2][4] = phone
        response = staff_client.patch(row_url(upload_id, row), {"phone": phone}, format="json")
        assert response.status_code == status.HTTP_200_OK

    fresh = upload(bearer_client(StaffFactory()), *rows)["upload_id"]

    def verdicts(job_id):
        columns = ("source_row", "outcome", "resembles_customer_id", "resembles_row")
        return sorted(
            ImportStagedRow.objects.filter(job_id=job_id).values_list(*columns, "resemblance_code")
        )

    assert verdicts(upload_id) == verdicts(fresh)
    assert [row[1] for row in verdicts(fresh)] == ["c", "p", "p", "c", "p"]


# --- for all at once ------------------------------------------------------------------------


def choose_all(client, upload_id: str, action: str):
    return client.post(all_url(upload_id), {"action": action}, format="json")


def test_create_for_all_makes_every_possible_duplicate_a_plain_row_to_create(
    staff, staff_client, kwame, confirm
):
    upload_id = upload(staff_client, AMA, AMA_AGAIN, KWAME_AGAIN)["upload_id"]

    response = choose_all(staff_client, upload_id, "create")

    assert response.status_code == status.HTTP_200_OK, response.json()
    answer = response.json()
    assert (answer["chosen"], answer["left"], answer["outcomes"]) == (2, 0, {"create": 2})
    assert answer["summary"]["possible_duplicates"] == 0
    assert answer["summary"]["to_create"] == 3
    assert answer["message"].startswith("2 possible duplicates chosen to be created anyway. ")
    assert sorted(
        ImportRowFix.objects.filter(job_id=upload_id).values_list("row", "action", "changed_by")
    ) == [(3, "create", staff.pk), (4, "create", staff.pk)]
    assert confirm(upload_id).created_count == 3


def test_update_for_all_updates_the_customers_and_leaves_the_rows_resembling_a_row(
    staff_client, kwame, confirm
):
    upload_id = upload(staff_client, AMA, AMA_AGAIN, KWAME_AGAIN)["upload_id"]

    answer = choose_all(staff_client, upload_id, "update").json()

    assert (answer["chosen"], answer["outcomes"]) == (1, {"update": 1})
    assert answer["left"] == 1
    assert answer["left_reasons"] == [
        {
            "code": "resembles_a_row",
            "count": 1,
            "message": choices.LEFT_MESSAGES[choices.RESEMBLES_A_ROW],
        }
    ]
    assert answer["summary"]["possible_duplicates"] == 1
    assert answer["summary"]["to_update"] == 1
    assert list(
        ImportRowFix.objects.filter(job_id=upload_id).values_list("row", "action", "new")
    ) == [(4, "update", kwame.pk)]
    assert set(staged(upload_id, 4).given.split(",")) == {
        "first_name",
        "last_name",
        "email",
        "phone",
        "region",
    }
    job = confirm(upload_id)
    assert (job.created_count, job.updated_count) == (2, 1)
    kwame.refresh_from_db()
    assert kwame.phone == "+233241234568"


def test_skip_for_all_frees_a_later_duplicate_of_a_skipped_row(staff_client, kwame):
    # given kwame's look-alike, and a later row with its phone (a batch duplicate of it)
    later = ["", "Yaw", "Boateng", "", "0241234568", "Volta"]
    upload_id = upload(staff_client, KWAME_AGAIN, later)["upload_id"]

    answer = choose_all(staff_client, upload_id, "skip").json()

    assert (answer["chosen"], answer["outcomes"]) == (1, {"skipped": 1})
    assert answer["summary"]["skipped"] == 1
    assert answer["summary"]["batch_duplicates"] == 0
    assert staged(upload_id, 2).choice == "s"
    # the later row is no longer a duplicate of it: a row to create (its names are not kwame's)
    assert staged(upload_id, 3).outcome == "c"
    assert ImportJob.objects.get(pk=upload_id).row_errors.filter(code="skipped").count() == 1


def test_a_choice_for_all_is_for_the_owner_of_an_unconfirmed_preview(staff_client, kwame, confirm):
    upload_id = upload(staff_client, KWAME_AGAIN)["upload_id"]
    boss = bearer_client(StaffFactory(user_role=Role.SUPER_ADMIN))
    other = bearer_client(StaffFactory())

    assert choose_all(boss, upload_id, "create").json()["code"] == "permission_denied"
    assert choose_all(other, upload_id, "create").status_code == status.HTTP_404_NOT_FOUND
    bad = choose_all(staff_client, upload_id, "delete")
    assert (bad.status_code, bad.json()["code"]) == (400, "validation_error")
    confirm(upload_id)
    late = choose_all(staff_client, upload_id, "create")
    assert (late.status_code, late.json()["code"]) == (409, "upload_confirmed")


def test_a_choice_for_all_without_possible_duplicates_chooses_none(staff_client):
    upload_id = upload(staff_client, AMA)["upload_id"]

    answer = choose_all(staff_client, upload_id, "skip").json()

    assert (answer["chosen"], answer["left"], answer["outcomes"]) == (0, 0, {})


def test_the_answer_of_a_fix_keeps_the_spas_summary_when_nothing_is_updated(staff_client, kwame):
    upload_id = upload(staff_client, AMA, KWAME_AGAIN)["upload_id"]

    answer = act(staff_client, upload_id, 3, "create").json()

    assert set(answer["summary"]) == {
        "total_rows",
        "invalid",
        "existing_duplicates",
        "batch_duplicates",
        "to_create",
        "possible_duplicates",
    }


def test_the_service_refuses_an_unknown_action_for_all(staff, kwame):
    upload_id = upload(bearer_client(staff), KWAME_AGAIN)["upload_id"]
    job = ImportJob.objects.get(pk=upload_id)

    with pytest.raises(ApplicationError) as refused:
        choices.possible_duplicates_choose(job=job, action="include", user=staff)
    assert refused.value.code == "validation_error"


def test_a_password_set_since_the_choice_refuses_the_update_at_run_time(
    staff_client, kwame, confirm
):
    upload_id = upload(staff_client, KWAME_AGAIN)["upload_id"]
    act(staff_client, upload_id, 2, "update")
    User.objects.filter(pk=kwame.pk).update(password=make_password("their-own-1"))

    job = confirm(upload_id)

    assert (job.updated_count, job.failed_count) == (0, 1)
    kwame.refresh_from_db()
    assert kwame.phone == KWAME_PHONE


def test_a_fix_that_takes_a_keys_holders_past_the_limit_unpairs_them(staff_client, monkeypatch):
    # given a limit of two rows to a blocking key, and two namesakes a digit apart (paired)
    for module in (resemblance_keys, resemblance, rechecks):
        monkeypatch.setattr(module, "BLOCK_LIMIT", 2)
    rows = [
        ["", "Esi", "Quaye", "", "0551234561", "Volta"],
        ["", "Esi", "Quaye", "", "0551234562", "Volta"],
        ["", "Esi", "Quaye", "", "12", "Volta"],
    ]
    upload_id = upload(staff_client, *rows)["upload_id"]
    assert staged(upload_id, 3).outcome == "p"

    # when a third row is fixed to a phone that holds the same key
    staff_client.patch(row_url(upload_id, 4), {"phone": "0551234563"}, format="json")

    # then none of the three is paired by it any more, as an upload of the fixed file shows
    rows[2][4] = "0551234563"
    fresh = upload(bearer_client(StaffFactory()), *rows)["upload_id"]
    outcomes = {
        job: list(
            ImportStagedRow.objects.filter(job_id=job)
            .order_by("position")
            .values_list("outcome", flat=True)
        )
        for job in (upload_id, fresh)
    }
    assert outcomes[upload_id] == outcomes[fresh] == ["c", "c", "c"]
