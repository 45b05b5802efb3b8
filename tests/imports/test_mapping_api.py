"""The admin steers the column mapping: a mapping sent with the upload, a remap of a stored
upload, header typos taken as guesses, and files of another kind told apart from customers."""

import datetime
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from rest_framework import status

from tests.excel import builders
from users.models import ImportJob, User

pytestmark = pytest.mark.django_db

UPLOAD = reverse("users:import-upload")
CONFIRM = reverse("users:import-confirm")

# The company's own goods-received sheets, as admins have uploaded them by mistake.
GOODS_RECEIVED = [
    ["SHIPPING MARK/CLIENT", "DATE OF RECEIPT", "DATE OF LOADING", "DESCRIPTION", "CTNS", "CBM"],
    ["PM KWAME", datetime.date(2026, 3, 2), datetime.date(2026, 3, 9), "SHOES", 12, 1.5],
    ["PM AMA", datetime.date(2026, 3, 2), datetime.date(2026, 3, 9), "BAGS", 4, 0.4],
    ["PM KOFI", datetime.date(2026, 3, 3), None, "PHONES", 2, 0.1],
    ["PM YAW", datetime.date(2026, 3, 4), None, "CLOTHES", 30, 2.2],
]
GOODS_RECEIVED_CODED = [
    [
        "A_SHIPPING_MARK",
        "B_DATE_RECEIPT",
        "C_DATE_LOADING",
        "D_DESCRIPTION",
        "E_CTNS",
        "F_CBM",
        "G_SUPPLIER",
        "H_TRACKING_NO",
    ],
    ["PM KWAME", "2026-03-02", "2026-03-09", "SHOES", "12", "1.5", "GZ TRADING", "YT2026030201"],
    ["PM AMA", "2026-03-02", "2026-03-09", "BAGS", "4", "0.4", "YIWU BAGS", "YT2026030202"],
]
MOBILE_HEADER = ["Client", "Given Name", "Surname", "Mobile No.", "Alt Phone", "Location"]
MOBILE_ROWS = [
    ["PM GOLD", "Kwame", "Mensah", "0241234567", "0551234567", "Ashanti"],
    ["PM SILVER", "Ama", "Owusu", "0201234567", "0271234567", "Volta"],
]


def upload(client, rows, *, mapping=None, name="customers.xlsx", content=None):
    data = {"file": SimpleUploadedFile(name, content or builders.xlsx_bytes(rows))}
    if mapping is not None:
        data["column_mapping"] = json.dumps(mapping)
    return client.post(UPLOAD, data, format="multipart")


def remap(client, upload_id, mapping):
    url = reverse("users:import-remap", args=[upload_id])
    return client.post(url, {"column_mapping": mapping}, format="json")


def column(body, letter):
    return next(c for c in body["columns"] if c["column"] == letter)


# --- a mapping sent with the upload ---------------------------------------------------------


def test_a_mapping_sent_with_the_upload_chooses_the_column_by_its_header_text(staff_client):
    response = upload(staff_client, [MOBILE_HEADER, *MOBILE_ROWS], mapping={"phone": "Mobile No."})

    assert response.status_code == status.HTTP_200_OK
    body = response.json()
    assert body["column_mapping"]["phone"] == "Mobile No."
    assert column(body, "D") == {
        "column": "D",
        "header": "Mobile No.",
        "field": "phone",
        "match": "chosen",
    }
    phones = [c["phone"] for c in body["duplicate_results"]["unique_candidates"]]
    assert phones == ["+233241234567", "+233201234567"]


def test_a_mapping_by_column_letter_overrides_the_header_matching(staff_client):
    body = upload(
        staff_client, [MOBILE_HEADER, *MOBILE_ROWS], mapping={"phone": "E", "shipping_mark": "A"}
    ).json()

    assert body["column_mapping"]["phone"] == "Alt Phone"
    assert body["column_mapping"]["shipping_mark"] == "Client"
    first = body["duplicate_results"]["unique_candidates"][0]
    assert (first["phone"], first["shipping_mark"]) == ("+233551234567", "PM GOLD")


def test_a_column_chosen_for_one_field_is_taken_from_the_field_the_header_gave_it(staff_client):
    header = ["Shipping Mark", "First Name", "Last Name", "Phone", "Nickname"]
    rows = [header, ["PM A", "Kwame", "Mensah", "0241234567", "Kojo"]]

    body = upload(staff_client, rows, mapping={"first_name": "E", "nickname": "B"}).json()

    candidate = body["duplicate_results"]["unique_candidates"][0]
    assert (candidate["first_name"], candidate["nickname"]) == ("Kojo", "Kwame")


def test_null_in_the_mapping_leaves_a_field_out(staff_client):
    header = ["Shipping Mark", "First Name", "Last Name", "Phone", "Email"]
    rows = [header, ["PM A", "Kwame", "Mensah", "0241234567", "not an email"]]

    body = upload(staff_client, rows, mapping={"email": None}).json()

    assert "email" not in body["column_mapping"]
    assert body["summary"]["to_create"] == 1
    assert body["duplicate_results"]["unique_candidates"][0]["email"] in (None, "")


def test_a_mapping_by_column_letter_applies_to_a_file_without_a_header_row(staff_client):
    rows = [
        ["PM GOLD", "Kwame", "Mensah", "kwame@example.com", "0241234567", "Volta"],
        ["PM SILVER", "Ama", "Owusu", "ama@example.com", "0551234567", "Ashanti"],
    ]

    body = upload(staff_client, rows, mapping={"region": "F"}).json()

    assert body["layout"] == "legacy"
    assert body["column_mapping"]["region"] == "F"
    assert [c["region"] for c in body["duplicate_results"]["unique_candidates"]] == [
        "VOLTA",
        "ASHANTI",
    ]


def test_an_unknown_field_in_the_mapping_is_refused_with_the_valid_fields(staff_client):
    response = upload(staff_client, [MOBILE_HEADER, *MOBILE_ROWS], mapping={"mobile": "D"})

    assert response.status_code == status.HTTP_400_BAD_REQUEST
    body = response.json()
    assert body["code"] == "invalid_column_mapping"
    assert body["errors"]["column_mapping"]["mobile"][0]["code"] == "unknown_field"
    assert "phone" in body["errors"]["fields"]
    assert "first_name" in body["errors"]["fields"]
    assert not ImportJob.objects.exists()


def test_an_unknown_column_in_the_mapping_is_refused_with_the_columns_of_the_file(staff_client):
    response = upload(
        staff_client, [MOBILE_HEADER, *MOBILE_ROWS], mapping={"phone": "Cell Phone", "email": "Z"}
    )

    assert response.status_code == status.HTTP_400_BAD_REQUEST
    body = response.json()
    assert body["code"] == "invalid_column_mapping"
    mapping_errors = body["errors"]["column_mapping"]
    assert mapping_errors["phone"][0]["code"] == "unknown_column"
    assert mapping_errors["email"][0]["code"] == "unknown_column"
    assert {"column": "D", "header": "Mobile No."} in body["errors"]["columns"]
    assert "Mobile No." in body["detail"]


def test_one_column_chosen_for_two_fields_is_refused(staff_client):
    response = upload(
        staff_client, [MOBILE_HEADER, *MOBILE_ROWS], mapping={"phone": "D", "nickname": "D"}
    )

    assert response.status_code == status.HTTP_400_BAD_REQUEST
    errors = response.json()["errors"]["column_mapping"]
    assert errors["phone"][0]["code"] == "column_chosen_twice"


def test_a_mapping_that_is_not_an_object_is_a_validation_error(staff_client):
    data = {
        "file": SimpleUploadedFile("c.xlsx", builders.xlsx_bytes([MOBILE_HEADER, *MOBILE_ROWS])),
        "column_mapping": "phone=D",
    }

    response = staff_client.post(UPLOAD, data, format="multipart")

    assert response.status_code == status.HTTP_400_BAD_REQUEST
    assert response.json()["code"] == "validation_error"


# --- remap ------------------------------------------------------------------------------------


def test_remap_reads_the_stored_upload_again_with_the_new_mapping(staff_client):
    first = upload(staff_client, [MOBILE_HEADER, *MOBILE_ROWS]).json()
    assert first["column_mapping"]["phone"] == "Mobile No."

    response = remap(staff_client, first["upload_id"], {"phone": "Alt Phone"})

    assert response.status_code == status.HTTP_200_OK
    body = response.json()
    assert body["upload_id"] == first["upload_id"]
    assert body["column_mapping"]["phone"] == "Alt Phone"
    phones = [c["phone"] for c in body["duplicate_results"]["unique_candidates"]]
    assert phones == ["+233551234567", "+233271234567"]


def test_confirming_a_remapped_upload_creates_the_customers_as_remapped(
    staff_client, django_capture_on_commit_callbacks
):
    first = upload(staff_client, [MOBILE_HEADER, *MOBILE_ROWS]).json()
    remap(staff_client, first["upload_id"], {"phone": "E", "nickname": "A", "shipping_mark": None})

    with django_capture_on_commit_callbacks(execute=True):
        staff_client.post(CONFIRM, {"upload_id": first["upload_id"]}, format="json")

    kwame = User.objects.get(phone="+233551234567")
    assert kwame.nickname == "PM GOLD"
    assert kwame.shipping_mark == "PM 1 KWAME"
    assert not User.objects.filter(phone="+233241234567").exists()


def test_remap_turns_invalid_rows_valid_and_replaces_their_errors(staff_client):
    header = ["Mark", "First", "Last", "Email", "Phone", "Notes"]
    rows = [header, ["PM A", "Kwame", "Mensah", "0241234567", "kwame@example.com", ""]]
    first = upload(staff_client, rows).json()
    assert first["summary"]["invalid"] == 1

    body = remap(staff_client, first["upload_id"], {"email": "E", "phone": "D"}).json()

    assert body["summary"]["invalid"] == 0
    assert body["summary"]["to_create"] == 1
    assert body["errors"] == []


def test_remap_of_a_file_without_a_header_row_keeps_its_first_row_as_data(staff_client):
    rows = [
        ["PM GOLD", "Kwame", "Mensah", "kwame@example.com", "0241234567", "Kojo"],
        ["PM SILVER", "Ama", "Owusu", "ama@example.com", "0551234567", "Adjoa"],
    ]
    first = upload(staff_client, rows).json()

    body = remap(staff_client, first["upload_id"], {"nickname": "F"}).json()

    assert body["summary"]["to_create"] == 2
    nicknames = [c["nickname"] for c in body["duplicate_results"]["unique_candidates"]]
    assert nicknames == ["Kojo", "Adjoa"]
    assert body["duplicate_results"]["unique_candidates"][0]["source_row_number"] == 1


def test_remap_with_an_unknown_column_is_refused_and_keeps_the_preview(staff_client):
    first = upload(staff_client, [MOBILE_HEADER, *MOBILE_ROWS]).json()

    response = remap(staff_client, first["upload_id"], {"phone": "Landline"})

    assert response.status_code == status.HTTP_400_BAD_REQUEST
    assert response.json()["code"] == "invalid_column_mapping"
    job = ImportJob.objects.get(pk=first["upload_id"])
    assert job.column_mapping["fields"]["phone"] == "Mobile No."
    assert job.to_create_count == 2


def test_remap_that_leaves_out_a_required_field_is_missing_columns(staff_client):
    first = upload(staff_client, [MOBILE_HEADER, *MOBILE_ROWS]).json()

    response = remap(staff_client, first["upload_id"], {"phone": None})

    assert response.status_code == status.HTTP_400_BAD_REQUEST
    body = response.json()
    assert body["code"] == "missing_columns"
    assert body["errors"]["missing_columns"] == ["Phone Number"]


def test_a_confirmed_upload_cannot_be_remapped(staff_client, django_capture_on_commit_callbacks):
    first = upload(staff_client, [MOBILE_HEADER, *MOBILE_ROWS]).json()
    with django_capture_on_commit_callbacks(execute=True):
        staff_client.post(CONFIRM, {"upload_id": first["upload_id"]}, format="json")

    response = remap(staff_client, first["upload_id"], {"phone": "E"})

    assert response.status_code == status.HTTP_409_CONFLICT
    assert response.json()["code"] == "upload_confirmed"


@pytest.mark.django_db(transaction=True)
def test_a_confirmed_upload_is_a_409_outside_a_test_transaction_too(staff_client):
    # As the server runs it (autocommit): on Postgres a row lock taken outside a transaction
    # was a 500.
    first = upload(staff_client, [MOBILE_HEADER, *MOBILE_ROWS]).json()
    ImportJob.objects.filter(pk=first["upload_id"]).update(status=ImportJob.Status.COMPLETE)

    response = remap(staff_client, first["upload_id"], {})

    assert response.status_code == status.HTTP_409_CONFLICT
    assert response.json()["errors"]["status"] == "COMPLETE"


def test_another_admins_upload_cannot_be_remapped(staff_client):
    from tests.conftest import bearer_client
    from tests.factories import StaffFactory

    first = upload(staff_client, [MOBILE_HEADER, *MOBILE_ROWS]).json()

    response = remap(bearer_client(StaffFactory()), first["upload_id"], {"phone": "E"})

    assert response.status_code == status.HTTP_404_NOT_FOUND


def test_remap_needs_a_mapping(staff_client):
    first = upload(staff_client, [MOBILE_HEADER, *MOBILE_ROWS]).json()
    url = reverse("users:import-remap", args=[first["upload_id"]])

    response = staff_client.post(url, {}, format="json")

    assert response.status_code == status.HTTP_400_BAD_REQUEST
    assert response.json()["code"] == "validation_error"


def test_remap_keeps_a_cell_that_was_too_long_invalid(staff_client):
    header = ["Shipping Mark", "First Name", "Last Name", "Phone", "Notes"]
    rows = [header, ["PM A", "Kwame", "Mensah", "0241234567", "x" * 1500]]
    first = upload(staff_client, rows).json()
    assert first["summary"]["invalid"] == 1

    body = remap(staff_client, first["upload_id"], {"nickname": None}).json()

    assert body["summary"]["invalid"] == 1
    assert body["errors"][0]["code"] == "too_long"


# --- typos in headers ---------------------------------------------------------------------------


def test_header_typos_are_forgiven_and_reported_as_guesses(staff_client):
    header = ["Shipping Mark", "Frist name", "Last Name", "Phnoe", "Emial"]
    rows = [header, ["PM A", "Kwame", "Mensah", "0241234567", "kwame@example.com"]]

    body = upload(staff_client, rows).json()

    assert body["summary"]["to_create"] == 1
    assert body["column_mapping"]["first_name"] == "Frist name"
    assert body["column_mapping"]["phone"] == "Phnoe"
    guesses = {g["field"]: g for g in body["column_guesses"]}
    assert guesses["phone"] == {
        "field": "phone",
        "column": "D",
        "header": "Phnoe",
        "taken_for": "Phone Number",
    }
    assert guesses["first_name"]["taken_for"] == "First Name"
    assert guesses["email"]["column"] == "E"
    assert column(body, "D")["match"] == "guess"
    assert column(body, "A")["match"] == "header"
    assert 'Column D "Phnoe" was taken for Phone Number' in body["message"]


def test_a_guess_the_admin_corrects_is_no_longer_a_guess(staff_client):
    header = ["Shipping Mark", "First Name", "Last Name", "Phnoe", "Phone 2"]
    rows = [header, ["PM A", "Kwame", "Mensah", "0241234567", "0551234567"]]
    first = upload(staff_client, rows).json()

    body = remap(staff_client, first["upload_id"], {"phone": "Phone 2"}).json()

    assert body["column_guesses"] == []
    assert body["duplicate_results"]["unique_candidates"][0]["phone"] == "+233551234567"
    assert column(body, "D")["field"] is None


def test_a_header_too_far_from_any_known_one_is_not_guessed(staff_client):
    header = ["Shipping Mark", "First Name", "Last Name", "Phone", "Telegram"]
    rows = [header, ["PM A", "Kwame", "Mensah", "0241234567", "@kwame"]]

    body = upload(staff_client, rows).json()

    assert body["column_guesses"] == []
    assert body["unmapped_columns"] == ["Telegram"]


# --- the wrong file -----------------------------------------------------------------------------


def test_a_goods_received_sheet_is_refused_for_its_missing_columns(staff_client):
    response = upload(staff_client, GOODS_RECEIVED)

    assert response.status_code == status.HTTP_400_BAD_REQUEST
    body = response.json()
    assert body["code"] == "missing_columns"
    assert body["errors"]["missing_columns"] == ["First Name", "Last Name", "Phone Number"]
    assert body["errors"]["required"] == ["First Name", "Last Name", "Phone Number"]
    found = [c["header"] for c in body["errors"]["columns_found"]]
    assert found[:5] == [
        "SHIPPING MARK/CLIENT",
        "DATE OF RECEIPT",
        "DATE OF LOADING",
        "DESCRIPTION",
        "CTNS",
    ]
    assert "DESCRIPTION" in body["detail"]
    assert not ImportJob.objects.exists()


def test_a_coded_goods_received_sheet_is_refused_too(staff_client):
    response = upload(staff_client, GOODS_RECEIVED_CODED)

    assert response.status_code == status.HTTP_400_BAD_REQUEST
    body = response.json()
    assert body["code"] == "missing_columns"
    found = [c["header"] for c in body["errors"]["columns_found"]]
    assert found[0] == "A_SHIPPING_MARK"
    assert found[-1] == "H_TRACKING_NO"
    assert "Phone Number" in body["errors"]["missing_columns"]


def test_a_goods_received_csv_is_refused_too(staff_client):
    content = b"\r\n".join(
        b",".join(str(cell).encode() for cell in row) for row in GOODS_RECEIVED_CODED
    )

    response = upload(staff_client, None, name="goods.csv", content=content)

    assert response.status_code == status.HTTP_400_BAD_REQUEST
    assert response.json()["code"] == "missing_columns"


def test_a_header_of_unknown_words_is_refused_not_read_as_a_customer(staff_client):
    rows = [["Item", "Colour", "Size", "Supplier", "Notes"], ["Shoe", "Red", "42", "GZ", ""]]

    response = upload(staff_client, rows)

    assert response.status_code == status.HTTP_400_BAD_REQUEST
    assert response.json()["code"] == "missing_columns"


def test_a_header_naming_only_one_field_is_a_header_and_not_data(staff_client):
    rows = [["Phone", "Notes"], ["0241234567", "call after 5"]]

    response = upload(staff_client, rows)

    assert response.status_code == status.HTTP_400_BAD_REQUEST
    body = response.json()
    assert body["code"] == "missing_columns"
    assert body["errors"]["missing_columns"] == ["First Name", "Last Name"]
    assert body["errors"]["column_mapping"] == {"phone": "Phone"}


def test_a_refused_header_can_be_mapped_with_the_upload(staff_client):
    rows = [
        ["Client", "Given", "Family", "Mobile No.", "Notes"],
        ["PM A", "Kwame", "Mensah", "0241234567", ""],
    ]
    assert upload(staff_client, rows).status_code == status.HTTP_400_BAD_REQUEST

    body = upload(staff_client, rows, mapping={"first_name": "Given", "last_name": "Family"}).json()

    assert body["summary"]["to_create"] == 1


def test_a_first_row_of_customer_values_still_uses_the_positional_layout(staff_client):
    rows = [
        ["PM GOLD", "Kwame", "Mensah", None, 241234567],
        ["PM SILVER", "Ama", "Owusu", "ama@example.com", "0551234567"],
    ]

    body = upload(staff_client, rows).json()

    assert body["layout"] == "legacy"
    assert body["summary"]["to_create"] == 2
    assert column(body, "E") == {"column": "E", "header": "", "field": "phone", "match": "position"}


def test_a_preview_stored_before_column_letters_were_kept_still_lists_and_remaps(staff_client):
    first = upload(staff_client, [MOBILE_HEADER, *MOBILE_ROWS]).json()
    job = ImportJob.objects.get(pk=first["upload_id"])
    job.column_mapping = {
        key: value
        for key, value in job.column_mapping.items()
        if key not in ("letters", "guessed", "chosen", "header_row")
    }
    job.save(update_fields=["column_mapping"])

    body = remap(staff_client, first["upload_id"], {"phone": "E"}).json()

    assert body["column_mapping"]["phone"] == "Alt Phone"
    assert column(body, "B")["field"] == "first_name"


def test_remap_keeps_the_uploads_mode_and_match_key(
    staff_client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        created = upload(staff_client, [MOBILE_HEADER, *MOBILE_ROWS]).json()
        staff_client.post(CONFIRM, {"upload_id": created["upload_id"]}, format="json")
    rows = [["Cell No.", "Called"], ["0241234567", "Kojo"], ["0201234567", "Adjoa"]]
    data = {
        "file": SimpleUploadedFile("u.xlsx", builders.xlsx_bytes(rows)),
        "mode": "update",
        "column_mapping": json.dumps({"phone": "A"}),
    }
    first = staff_client.post(UPLOAD, data, format="multipart").json()
    assert first["summary"]["unchanged"] == 2  # "Called" names no field: nothing to change

    body = remap(staff_client, first["upload_id"], {"nickname": "B"}).json()

    assert body["summary"]["to_update"] == 2
    assert ImportJob.objects.get(pk=first["upload_id"]).mode == "update"
