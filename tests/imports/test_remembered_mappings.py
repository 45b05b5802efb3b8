"""Never map the same file twice: columns chosen by hand are remembered when the import is
confirmed, the next upload with the same headers is read with them, a column_mapping sent with
the upload wins, and admins list and forget what is remembered."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from rest_framework import status

from tests.conftest import bearer_client
from tests.excel import builders
from tests.factories import StaffFactory
from tests.imports.helpers import TILL_CHOICES, TILL_HEADER, till_rows
from users.imports.mappings import headers_key
from users.models import RememberedMapping, Role, User

pytestmark = pytest.mark.django_db

UPLOAD = reverse("users:import-upload")
CONFIRM = reverse("users:import-confirm")
MAPPINGS = reverse("users:import-column-mappings")


def upload(client, rows, *, mapping=None, mode=None):
    data = {"file": SimpleUploadedFile("till.xlsx", builders.xlsx_bytes(rows))}
    if mapping is not None:
        data["column_mapping"] = json.dumps(mapping)
    if mode is not None:
        data["mode"] = mode
    return client.post(UPLOAD, data, format="multipart")


@pytest.fixture
def confirm(django_capture_on_commit_callbacks):
    """Confirms an upload and runs its import (so its owner may confirm the next one)."""

    def confirm(client, upload_id):
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(CONFIRM, {"upload_id": upload_id}, format="json")
        assert response.status_code == status.HTTP_202_ACCEPTED, response.json()
        return response

    return confirm


@pytest.fixture
def remembered(staff_client, confirm) -> RememberedMapping:
    """The till's columns, chosen with the upload and confirmed."""
    body = upload(staff_client, [TILL_HEADER, *till_rows(0)], mapping=TILL_CHOICES).json()
    confirm(staff_client, body["upload_id"])
    return RememberedMapping.objects.get()


def matches(body) -> dict[str, str | None]:
    return {c["header"]: c["match"] for c in body["columns"]}


# --- remembering ------------------------------------------------------------------------------


def test_confirming_an_upload_with_a_column_mapping_remembers_the_choice(staff, remembered):
    assert remembered.choices == TILL_CHOICES
    assert remembered.headers == TILL_HEADER
    assert remembered.chosen_by == staff
    assert remembered.headers_key == headers_key(TILL_HEADER)
    assert remembered.times_used == 0


def test_a_preview_never_confirmed_remembers_nothing(staff_client):
    response = upload(staff_client, [TILL_HEADER, *till_rows(0)], mapping=TILL_CHOICES)

    assert response.status_code == status.HTTP_200_OK
    assert not RememberedMapping.objects.exists()


def test_columns_read_by_their_headers_and_guesses_alone_are_not_remembered(staff_client, confirm):
    header = ["Shipping Mark", "First Name", "Lastnmae", "Phnoe"]
    body = upload(staff_client, [header, ["PM A", "Kwame", "Mensah", "0241234567"]]).json()
    assert {c["match"] for c in body["columns"]} == {"header", "guess"}

    confirm(staff_client, body["upload_id"])

    assert not RememberedMapping.objects.exists()


def test_a_remap_confirmed_is_remembered_by_header_text(staff_client, confirm):
    header = ["Mark", "First Name", "Last Name", "Phone", "WhatsApp Line"]
    rows = [header, ["PM A", "Kwame", "Mensah", "0241234567", "0551234567"]]
    body = upload(staff_client, rows).json()
    remap = reverse("users:import-remap", args=[body["upload_id"]])
    staff_client.post(remap, {"column_mapping": {"phone": "E"}}, format="json")

    confirm(staff_client, body["upload_id"])

    assert RememberedMapping.objects.get().choices == {"phone": "WhatsApp Line"}


def test_a_field_left_out_by_hand_is_remembered_as_left_out(staff_client, confirm):
    body = upload(
        staff_client, [TILL_HEADER, *till_rows(0)], mapping={**TILL_CHOICES, "region": None}
    ).json()

    confirm(staff_client, body["upload_id"])

    assert RememberedMapping.objects.get().choices == {**TILL_CHOICES, "region": None}


def test_choosing_again_for_the_same_headers_replaces_the_choice(staff_client, remembered, confirm):
    other_admin = StaffFactory()
    choices = {**TILL_CHOICES, "phone": "Other Cell"}
    body = upload(bearer_client(other_admin), [TILL_HEADER, *till_rows(10)], mapping=choices).json()

    confirm(bearer_client(other_admin), body["upload_id"])

    again = RememberedMapping.objects.get()
    assert again.pk == remembered.pk
    assert again.choices == choices
    assert again.chosen_by == other_admin
    assert again.chosen_at > remembered.chosen_at


# --- the next upload ----------------------------------------------------------------------------


def test_the_next_upload_with_the_same_headers_is_read_with_the_remembered_choice(
    staff, staff_client, remembered
):
    response = upload(staff_client, [TILL_HEADER, *till_rows(20, count=3)])

    assert response.status_code == status.HTTP_200_OK
    body = response.json()
    assert body["summary"]["to_create"] == 3
    assert body["message"].endswith(
        "The columns were read as an admin chose them for a file with these headers on "
        f"{remembered.chosen_at:%Y-%m-%d}."
    )
    assert body["column_mapping"] == TILL_CHOICES
    assert matches(body) == {
        "Cust Ref": "remembered",
        "Fore": "remembered",
        "Fam": "remembered",
        "Cellphone #": "remembered",
        "Other Cell": None,
        "Town": None,
    }
    assert body["remembered_mapping"] == {
        "id": remembered.pk,
        "chosen_by": {"id": staff.pk, "name": staff.get_full_name()},
        "chosen_at": remembered.chosen_at.isoformat().replace("+00:00", "Z"),
        "choices": TILL_CHOICES,
    }


def test_headers_in_another_order_case_and_spacing_are_the_same_headers(staff_client, remembered):
    order = [3, 0, 5, 2, 1, 4]
    header = ["CELLPHONE", "cust-ref", "TOWN", "fam", "  Fore ", "other_cell"]
    rows = [[row[i] for i in order] for row in till_rows(30)]

    body = upload(staff_client, [header, *rows]).json()

    assert body["remembered_mapping"]["id"] == remembered.pk
    assert body["summary"]["to_create"] == 2
    phones = {c["phone"] for c in body["duplicate_results"]["unique_candidates"]}
    assert phones == {"+233241000030", "+233241000031"}


def test_a_file_with_one_more_column_is_not_read_with_it(staff_client, remembered):
    header = [*TILL_HEADER, "Notes"]
    rows = [[*row, ""] for row in till_rows(40)]

    response = upload(staff_client, [header, *rows])

    assert response.status_code == status.HTTP_400_BAD_REQUEST
    assert response.json()["code"] == "missing_columns"


def test_a_column_mapping_sent_with_the_upload_wins_over_the_remembered_one(
    staff_client, remembered
):
    body = upload(
        staff_client,
        [TILL_HEADER, *till_rows(50)],
        mapping={**TILL_CHOICES, "phone": "Other Cell"},
    ).json()

    assert body["remembered_mapping"] is None
    assert matches(body)["Other Cell"] == "chosen"
    assert matches(body)["Cellphone #"] is None
    phones = {c["phone"] for c in body["duplicate_results"]["unique_candidates"]}
    assert phones == {"+233201000050", "+233201000051"}


def test_confirming_an_upload_read_with_it_counts_a_use_and_keeps_the_chooser(
    staff, staff_client, remembered, confirm
):
    other_admin = StaffFactory()
    client = bearer_client(other_admin)
    body = upload(client, [TILL_HEADER, *till_rows(60)]).json()

    confirm(client, body["upload_id"])

    used = RememberedMapping.objects.get()
    assert used.times_used == 1
    assert used.last_used_at is not None
    assert used.chosen_by == staff
    assert used.chosen_at == remembered.chosen_at
    assert User.objects.filter(phone="+233241000060").exists()


def test_a_choice_an_update_made_is_not_used_for_a_create_that_needs_more_columns(
    staff_client, confirm
):
    header = ["First Name", "Last Name", "Phone", "Mobile"]
    rows = [header, ["Kwame", "Mensah", "0241234567", "0551234567"]]
    update = upload(
        staff_client, rows, mapping={"phone": "Mobile", "first_name": None}, mode="update"
    ).json()
    confirm(staff_client, update["upload_id"])
    assert RememberedMapping.objects.get().choices == {"phone": "Mobile", "first_name": None}

    body = upload(staff_client, rows).json()

    assert body["remembered_mapping"] is None
    assert body["column_mapping"]["phone"] == "Phone"
    assert body["column_mapping"]["first_name"] == "First Name"


def test_the_chooser_is_named_only_to_staff_who_may_see_them(staff_client, confirm):
    boss = StaffFactory(user_role=Role.SUPER_ADMIN)
    boss_client = bearer_client(boss)
    body = upload(boss_client, [TILL_HEADER, *till_rows(70)], mapping=TILL_CHOICES).json()
    confirm(boss_client, body["upload_id"])

    seen_by_admin = upload(staff_client, [TILL_HEADER, *till_rows(80)]).json()
    seen_by_boss = upload(boss_client, [TILL_HEADER, *till_rows(90)]).json()

    assert seen_by_admin["remembered_mapping"]["chosen_by"] is None
    assert seen_by_boss["remembered_mapping"]["chosen_by"]["id"] == boss.pk
    listed = staff_client.get(MAPPINGS).json()["results"]
    assert listed[0]["chosen_by"] is None


# --- listing and forgetting ---------------------------------------------------------------------


def test_staff_list_the_remembered_mappings(staff, staff_client, remembered):
    response = staff_client.get(MAPPINGS)

    assert response.status_code == status.HTTP_200_OK
    assert response.json() == {
        "count": 1,
        "next": None,
        "previous": None,
        "results": [
            {
                "id": remembered.pk,
                "headers": TILL_HEADER,
                "choices": TILL_CHOICES,
                "chosen_by": {"id": staff.pk, "name": staff.get_full_name()},
                "chosen_at": remembered.chosen_at.isoformat().replace("+00:00", "Z"),
                "times_used": 0,
                "last_used_at": None,
            }
        ],
    }


@pytest.mark.parametrize(
    ("caller", "code"),
    [
        ("api_client", status.HTTP_401_UNAUTHORIZED),
        ("customer_client", status.HTTP_403_FORBIDDEN),
    ],
)
def test_only_staff_list_or_forget_remembered_mappings(request, caller, code, remembered):
    client = request.getfixturevalue(caller)
    forget = reverse("users:import-column-mapping", args=[remembered.pk])

    assert client.get(MAPPINGS).status_code == code
    assert client.delete(forget).status_code == code
    assert RememberedMapping.objects.filter(pk=remembered.pk).exists()


def test_a_forgotten_mapping_no_longer_reads_the_next_upload(staff_client, remembered):
    forget = reverse("users:import-column-mapping", args=[remembered.pk])

    response = staff_client.delete(forget)

    assert response.status_code == status.HTTP_204_NO_CONTENT
    assert not RememberedMapping.objects.exists()
    again = upload(staff_client, [TILL_HEADER, *till_rows(100)])
    assert again.status_code == status.HTTP_400_BAD_REQUEST
    assert again.json()["code"] == "missing_columns"


def test_forgetting_a_mapping_that_is_not_remembered_is_not_found(staff_client):
    response = staff_client.delete(reverse("users:import-column-mapping", args=[404]))

    assert response.status_code == status.HTTP_404_NOT_FOUND
    assert response.json()["code"] == "not_found"


def test_a_remap_of_an_upload_read_with_it_reads_the_columns_as_chosen_now(
    staff_client, remembered
):
    body = upload(staff_client, [TILL_HEADER, *till_rows(110)]).json()

    page = reverse("users:import-remap", args=[body["upload_id"]])
    choices = {**TILL_CHOICES, "phone": "Other Cell"}
    remapped = staff_client.post(page, {"column_mapping": choices}, format="json").json()

    assert remapped["remembered_mapping"] is None
    assert matches(remapped)["Fore"] == "chosen"
    assert matches(remapped)["Other Cell"] == "chosen"


# --- the key --------------------------------------------------------------------------------------


def test_the_key_ignores_order_case_spacing_and_punctuation():
    assert headers_key(["Cust Ref", "Cellphone #"]) == headers_key(["CELLPHONE", " cust_ref "])


def test_the_key_counts_a_header_repeated():
    assert headers_key(["Phone", "Name"]) != headers_key(["Phone", "Phone", "Name"])


def test_a_row_of_blank_headers_has_no_key():
    assert headers_key(["", None, "  ", "#"]) is None
