"""Uploading a spreadsheet: the preview the SPA reads, every file-level error, every row error."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import load_workbook
from rest_framework import status

from tests.excel import builders
from tests.factories import CustomerFactory
from users.imports import stored_rows
from users.models import ImportJob, Role, User

pytestmark = pytest.mark.django_db

UPLOAD = reverse("users:import-upload")
HEADER = ["Shipping Mark", "First Name", "Last Name", "Email", "Phone Number", "Region"]
KWAME = ["PM GOLD", "Kwame", "Mensah", "kwame@example.com", "0241234567", "Ashanti"]
AMA = ["PM SILVER", "Ama", "Owusu", "ama@example.com", "0551234567", "Volta"]


def upload(client, content: bytes, name: str = "customers.xlsx"):
    return client.post(UPLOAD, {"file": SimpleUploadedFile(name, content)}, format="multipart")


def xlsx(*rows) -> bytes:
    return builders.xlsx_bytes([HEADER, *rows])


def codes_by_row(body) -> dict[int, list[tuple[str, str]]]:
    found: dict[int, list[tuple[str, str]]] = {}
    for error in body["errors"]:
        found.setdefault(error["row"], []).append((error["field"], error["code"]))
    return found


def customer_count() -> int:
    return User.objects.filter(user_role=Role.CUSTOMER).count()


# --- the preview ----------------------------------------------------------------------------


def test_a_preview_answers_with_the_fields_the_spa_reads(staff_client):
    response = upload(staff_client, xlsx(KWAME, AMA))

    assert response.status_code == status.HTTP_200_OK
    body = response.json()
    assert body["success"] is True
    assert body["summary"] == {
        "total_rows": 2,
        "invalid": 0,
        "existing_duplicates": 0,
        "batch_duplicates": 0,
        "to_create": 2,
        "possible_duplicates": 0,
    }
    assert body["parsing_results"]["total_rows"] == 2
    assert body["parsing_results"]["valid_candidates"] == 2
    assert body["parsing_results"]["invalid_rows"] == []
    assert body["duplicate_results"]["existing_duplicates"] == []
    assert body["duplicate_results"]["batch_duplicates"] == []
    assert body["errors"] == []
    assert ImportJob.objects.get(pk=body["upload_id"]).status == ImportJob.Status.PARSED


def test_candidates_hold_normalised_values_and_the_excel_row_number(staff_client):
    body = upload(staff_client, xlsx(KWAME, AMA)).json()

    first = body["duplicate_results"]["unique_candidates"][0]
    assert first == {
        "source_row_number": 2,
        "shipping_mark": "PM GOLD",
        "first_name": "Kwame",
        "last_name": "Mensah",
        "email": "kwame@example.com",
        "phone": "+233241234567",
        "region": "ASHANTI",
        "company_name": "",
        "nickname": "",
        "user_type": "INDIVIDUAL",
        "shipping_mark_generated": False,
    }
    page = staff_client.get(
        reverse("users:import-preview-page", args=[body["upload_id"]]), {"list": "candidates"}
    ).json()
    assert [c["source_row_number"] for c in page["results"]] == [2, 3]


def test_a_preview_sends_each_row_once(staff_client):
    body = upload(staff_client, xlsx(KWAME, AMA)).json()

    assert "candidates" not in body["parsing_results"]
    assert body["parsing_results"]["valid_candidates"] == 2
    assert len(body["duplicate_results"]["unique_candidates"]) == 2


def test_a_preview_writes_no_customer(staff_client):
    upload(staff_client, xlsx(KWAME, AMA))

    assert customer_count() == 0


def test_the_column_mapping_used_is_returned_with_unknown_columns(staff_client):
    content = builders.xlsx_bytes(
        [["Surname", "Given Name", "Mobile", "Notes"], ["Mensah", "Kwame", "0241234567", "vip"]]
    )

    body = upload(staff_client, content).json()

    assert body["column_mapping"] == {
        "last_name": "Surname",
        "first_name": "Given Name",
        "phone": "Mobile",
    }
    assert body["layout"] == "header"
    assert body["unmapped_columns"] == ["Notes"]
    assert body["summary"]["to_create"] == 1


@pytest.mark.parametrize(
    ("header", "field"),
    [
        ("Mark", "shipping_mark"),
        ("shipping_code", "shipping_mark"),
        ("FIRSTNAME", "first_name"),
        ("Given-Name", "first_name"),
        ("Family Name", "last_name"),
        ("E-mail", "email"),
        ("Email Address", "email"),
        ("Mail", "email"),
        ("Phone Number", "phone"),
        ("Mobile Number", "phone"),
        ("Tel", "phone"),
        ("Telephone", "phone"),
        ("Contact", "phone"),
        ("Contact Number", "phone"),
        ("WhatsApp", "phone"),
        ("  REGION ", "region"),
        ("Company Name", "company_name"),
        ("Business", "company_name"),
        ("Nick name", "nickname"),
        ("Type", "user_type"),
        ("Customer type", "user_type"),
        ("Customer Type", "user_type"),
    ],
)
def test_header_aliases_map_to_their_field(staff_client, header, field):
    columns = {"first_name": "First Name", "last_name": "Last Name", "phone": "Phone"}
    columns[field] = header
    values = {"first_name": "Kwame", "last_name": "Mensah", "phone": "0241234567"}
    samples = {"email": "k@example.com", "region": "Volta", "user_type": "Business"}
    values.setdefault(field, samples.get(field, "PM X1"))
    content = builders.xlsx_bytes([list(columns.values()), [values[f] for f in columns]])

    body = upload(staff_client, content).json()

    assert body["column_mapping"][field] == header.strip()


def test_the_customer_type_column_is_optional_and_read_in_any_case(staff_client):
    header = [*HEADER, "Type"]
    content = builders.xlsx_bytes(
        [header, [*KWAME, "business"], [*AMA, ""], [*KWAME[:4], "0201234567", "Volta", "Co."]]
    )

    body = upload(staff_client, content).json()

    created = body["duplicate_results"]["unique_candidates"]
    assert [c["user_type"] for c in created] == ["BUSINESS", "INDIVIDUAL"]
    assert body["errors"][0]["code"] == "invalid_user_type"
    without_the_column = upload(staff_client, xlsx(KWAME)).json()
    assert without_the_column["duplicate_results"]["unique_candidates"][0]["user_type"] == (
        "INDIVIDUAL"
    )


def test_an_imported_customer_keeps_its_type(staff, django_capture_on_commit_callbacks):
    from tests.conftest import bearer_client

    client = bearer_client(staff)
    body = upload(client, builders.xlsx_bytes([[*HEADER, "Customer Type"], [*KWAME, "Business"]]))
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("users:import-confirm"), {"upload_id": body.json()["upload_id"]}, format="json"
        )

    assert User.objects.get(phone="+233241234567").user_type == "BUSINESS"


def test_a_file_without_a_header_row_uses_the_legacy_layout_a_to_e(staff_client):
    content = builders.xlsx_bytes([KWAME[:5], AMA[:5]])

    body = upload(staff_client, content).json()

    assert body["layout"] == "legacy"
    assert body["summary"]["to_create"] == 2
    first = body["duplicate_results"]["unique_candidates"][0]
    assert (first["source_row_number"], first["phone"]) == (1, "+233241234567")


def test_missing_required_columns_are_named(staff_client):
    content = builders.xlsx_bytes(
        [["Shipping Mark", "First Name", "Email"], ["PM X", "A", "a@b.c"]]
    )

    response = upload(staff_client, content)

    assert response.status_code == status.HTTP_400_BAD_REQUEST
    body = response.json()
    assert body["code"] == "missing_columns"
    assert body["errors"]["missing_columns"] == ["Last Name", "Phone Number"]
    assert "Last Name, Phone Number" in body["message"]


def test_numeric_phone_cells_are_read_as_numbers_and_normalised(staff_client):
    content = xlsx(["PM A", "Kwame", "Mensah", None, 241234567, None])

    body = upload(staff_client, content).json()

    assert body["duplicate_results"]["unique_candidates"][0]["phone"] == "+233241234567"


def test_blank_rows_are_skipped_and_row_numbers_stay_those_of_the_sheet(staff_client):
    content = builders.xlsx_bytes([HEADER, KWAME, [None] * 6, [None], AMA])

    body = upload(staff_client, content).json()

    rows = [c["source_row_number"] for c in body["duplicate_results"]["unique_candidates"]]
    assert rows == [2, 5]


def test_blank_shipping_marks_are_generated_avoiding_taken_and_written_marks(staff_client):
    CustomerFactory(shipping_mark="PM 1 KWAME")
    content = xlsx(
        ["", "Kwame", "Mensah", "", "0241234567", ""],
        ["PM 1 KWAME02", "Kofi", "Asante", "", "0241234568", ""],
        ["", "Kwame", "Boateng", "", "0241234569", ""],
    )

    body = upload(staff_client, content).json()

    marks = [c["shipping_mark"] for c in body["duplicate_results"]["unique_candidates"]]
    generated = [
        c["shipping_mark_generated"] for c in body["duplicate_results"]["unique_candidates"]
    ]
    assert marks == ["PM 1 KWAME03", "PM 1 KWAME02", "PM 1 KWAME04"]
    assert generated == [True, False, True]


def test_a_blank_region_takes_the_default(staff_client, settings):
    settings.DEFAULT_REGION = "VOLTA"

    body = upload(staff_client, xlsx([*KWAME[:5], ""])).json()

    assert body["duplicate_results"]["unique_candidates"][0]["region"] == "VOLTA"


# --- row errors -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cells", "field", "code"),
    [
        (["PM A", "", "Mensah", "", "0241234567", ""], "first_name", "required"),
        (["PM A", "Kwame", "x" * 51, "", "0241234567", ""], "last_name", "too_long"),
        (
            ["PM A", "Kwa\u202eme", "Mensah", "", "0241234567", ""],
            "first_name",
            "invalid_characters",
        ),
        (["PM A", "Kwame", "Mensah", "", "12345", ""], "phone", "invalid_phone"),
        (["PM A", "Kwame", "Mensah", "kwame@", "0241234567", ""], "email", "invalid_email"),
        (
            ["@HOME", "Kwame", "Mensah", "", "0241234567", ""],
            "shipping_mark",
            "invalid_shipping_mark",
        ),
        (["PM A", "Kwame", "Mensah", "", "0241234567", "Lagos"], "region", "invalid_region"),
    ],
)
def test_each_field_error_is_reported_with_row_field_code_message_and_value(
    staff_client, cells, field, code
):
    body = upload(staff_client, xlsx(cells)).json()

    assert body["summary"]["invalid"] == 1
    [error] = body["errors"]
    assert (error["row"], error["field"], error["code"]) == (2, field, code)
    assert error["message"]
    assert "value" in error
    [invalid] = body["parsing_results"]["invalid_rows"]
    assert invalid["source_row_number"] == 2
    assert invalid["raw_data"]["Phone Number"] == cells[4]
    assert invalid["reason"]


def test_every_error_of_a_row_is_listed_not_only_the_first(staff_client):
    body = upload(staff_client, xlsx(["A", "", "Mensah", "x@", "12", "Mars"])).json()

    assert codes_by_row(body)[2] == [
        ("shipping_mark", "invalid_shipping_mark"),
        ("first_name", "required"),
        ("email", "invalid_email"),
        ("phone", "invalid_phone"),
        ("region", "invalid_region"),
    ]


def test_control_characters_in_a_cell_make_the_row_invalid(staff_client):
    content = builders.csv_bytes([HEADER, ["PM A", "Kwame", "Men\x07sah", "", "0241234567", ""]])

    body = upload(staff_client, content, name="c.csv").json()

    assert codes_by_row(body)[2] == [("last_name", "invalid_characters")]


@pytest.mark.parametrize(
    ("existing", "cells", "field"),
    [
        ({"phone": "+233241234567"}, [*KWAME[:4], "+233 24 123 4567", ""], "phone"),
        ({"phone": "+233241234567"}, [*KWAME[:4], "233241234567", ""], "phone"),
        (
            {"email": "kwame@example.com"},
            [*KWAME[:3], "KWAME@Example.com", "0201234567", ""],
            "email",
        ),
        (
            {"shipping_mark": "PM GOLD"},
            ["pm   gold", *KWAME[1:3], "", "0201234567", ""],
            "shipping_mark",
        ),
    ],
)
def test_a_case_or_format_variant_of_a_stored_customer_is_an_existing_duplicate(
    staff_client, existing, cells, field
):
    stored = CustomerFactory(**existing)

    body = upload(staff_client, xlsx(cells)).json()

    assert body["summary"]["existing_duplicates"] == 1
    [duplicate] = body["duplicate_results"]["existing_duplicates"]
    assert duplicate["existing_customers"][0]["id"] == stored.id
    assert duplicate["reason"]
    assert codes_by_row(body)[2] == [(field, "duplicate_existing")]


@pytest.mark.parametrize(
    ("second", "field"),
    [
        (["PM OTHER", "Kofi", "A", "", "+233 24 123 4567", ""], "phone"),
        (["PM OTHER", "Kofi", "A", "KWAME@EXAMPLE.COM", "0201234567", ""], "email"),
        (["pm  gold", "Kofi", "A", "", "0201234567", ""], "shipping_mark"),
    ],
)
def test_a_variant_of_an_earlier_row_is_a_batch_duplicate_and_the_first_wins(
    staff_client, second, field
):
    body = upload(staff_client, xlsx(KWAME, second)).json()

    assert body["summary"]["batch_duplicates"] == 1
    assert body["summary"]["to_create"] == 1
    [duplicate] = body["duplicate_results"]["batch_duplicates"]
    assert duplicate["candidate"]["source_row_number"] == 3
    assert "row 2" in duplicate["reason"]
    assert codes_by_row(body)[3] == [(field, "duplicate_in_file")]
    assert body["duplicate_results"]["unique_candidates"][0]["source_row_number"] == 2


def test_rows_are_classified_invalid_then_existing_then_batch(staff_client):
    CustomerFactory(phone="+233201234567")
    content = xlsx(
        ["PM A", "", "Mensah", "", "0241234567", ""],  # invalid (the phone is not counted)
        ["PM B", "Kofi", "Owusu", "", "0241234567", ""],  # created: the invalid row does not win
        ["PM C", "Ama", "Owusu", "", "0201234567", ""],  # existing
        ["PM D", "Yaw", "Owusu", "", "0201234567", ""],  # existing too (not batch)
        ["PM E", "Esi", "Owusu", "", "0241234567", ""],  # batch duplicate of row 3
    )

    body = upload(staff_client, content).json()

    assert body["summary"] == {
        "total_rows": 5,
        "invalid": 1,
        "existing_duplicates": 2,
        "batch_duplicates": 1,
        "to_create": 1,
        "possible_duplicates": 0,
    }
    assert body["duplicate_results"]["unique_candidates"][0]["source_row_number"] == 3


# --- file types and encodings ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("encoding", "bom"),
    [
        ("utf-8", False),
        ("utf-8", True),
        ("utf-16-le", True),
        ("utf-16-be", True),
        ("cp1252", False),
    ],
)
def test_csv_in_each_encoding_is_read(staff_client, encoding, bom):
    content = builders.csv_bytes(
        [HEADER, ["PM A", "Adélaïde", "Muñoz", "", "0241234567", ""]], encoding=encoding, bom=bom
    )

    body = upload(staff_client, content, name="customers.csv").json()

    assert body["file_type"] == "csv"
    assert body["duplicate_results"]["unique_candidates"][0]["first_name"] == "Adélaïde"
    assert body["duplicate_results"]["unique_candidates"][0]["last_name"] == "Muñoz"


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_csv_with_any_common_delimiter_is_read(staff_client, delimiter):
    content = builders.csv_bytes([HEADER, KWAME, AMA], delimiter=delimiter)

    body = upload(staff_client, content, name="c.csv").json()

    assert body["summary"]["to_create"] == 2


def test_ods_and_xls_are_read(staff_client):
    for content in (builders.ods_bytes([HEADER, KWAME]), builders.xls_bytes([HEADER, KWAME])):
        body = upload(staff_client, content, name="no-extension").json()

        assert body["summary"]["to_create"] == 1


def test_the_type_comes_from_the_bytes_not_the_name(staff_client):
    body = upload(staff_client, builders.csv_bytes([HEADER, KWAME]), name="customers.xlsx").json()

    assert body["file_type"] == "csv"


# --- file-level errors ----------------------------------------------------------------------


def test_a_request_without_a_file_is_400_no_file(staff_client):
    response = staff_client.post(UPLOAD, {}, format="multipart")

    assert response.status_code == status.HTTP_400_BAD_REQUEST
    assert response.json()["code"] == "no_file"


def test_an_empty_file_is_400_empty_file(staff_client):
    response = upload(staff_client, b"")

    assert response.status_code == status.HTTP_400_BAD_REQUEST
    assert response.json()["code"] == "empty_file"


def test_a_file_over_the_limit_is_413(staff_client, settings):
    settings.IMPORT_MAX_FILE_BYTES = 1000

    response = upload(staff_client, builders.csv_bytes([HEADER] + [KWAME] * 100))

    assert response.status_code == status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    assert response.json()["code"] == "file_too_large"


def test_a_declared_length_over_the_limit_is_413_before_the_body_is_read(staff_client, settings):
    settings.IMPORT_MAX_FILE_BYTES = 1000

    response = staff_client.generic(
        "POST",
        UPLOAD,
        data=b"x" * 10,
        content_type="multipart/form-data; boundary=zzz",
        CONTENT_LENGTH="99999999",
    )

    assert response.status_code == status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    assert response.json()["code"] == "file_too_large"


@pytest.mark.parametrize(
    ("content", "detected"),
    [
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n", "PDF"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "PNG"),
        (builders.docx_bytes(), "Word"),
        (b"<html><body><table><tr><td>1</td></tr></table></body></html>", "HTML"),
    ],
)
def test_a_file_that_is_not_a_spreadsheet_is_415_saying_what_it_is(staff_client, content, detected):
    response = upload(staff_client, content)

    assert response.status_code == status.HTTP_415_UNSUPPORTED_MEDIA_TYPE
    body = response.json()
    assert body["code"] == "unsupported_file_type"
    assert detected.lower() in body["message"].lower()


def test_a_truncated_workbook_is_400_corrupt_file(staff_client):
    response = upload(staff_client, builders.truncated(xlsx(KWAME, AMA)))

    assert response.status_code == status.HTTP_400_BAD_REQUEST
    assert response.json()["code"] == "corrupt_file"


@pytest.mark.parametrize(
    "content",
    [
        builders.zip_bomb_xlsx(),
        builders.entity_xlsx(),
        builders.sparse_xlsx(),
        builders.many_members_zip(2000),
    ],
    ids=["bomb", "entity", "sparse", "members"],
)
def test_a_hostile_workbook_is_400_unsafe_file(staff_client, content):
    response = upload(staff_client, content)

    assert response.status_code == status.HTTP_400_BAD_REQUEST
    assert response.json()["code"] == "unsafe_file"
    assert ImportJob.objects.count() == 0


def test_a_sheet_with_only_blank_rows_is_400_no_data(staff_client):
    response = upload(staff_client, builders.csv_bytes([[""], [" "], [""]]))

    assert response.status_code == status.HTTP_400_BAD_REQUEST
    assert response.json()["code"] == "no_data"


def test_a_header_without_data_rows_is_400_no_data(staff_client):
    response = upload(staff_client, xlsx())

    assert response.json()["code"] == "no_data"


def test_more_rows_than_allowed_is_400_too_many_rows(staff_client, settings):
    settings.IMPORT_MAX_ROWS = 3

    response = upload(staff_client, xlsx(*[[*KWAME[:4], f"024123456{n}", ""] for n in range(4)]))

    assert response.status_code == status.HTTP_400_BAD_REQUEST
    assert response.json()["code"] == "too_many_rows"


def test_exactly_the_allowed_number_of_rows_is_fine(staff_client, settings):
    settings.IMPORT_MAX_ROWS = 3

    response = upload(
        staff_client, xlsx(*[[f"PM {n}", *KWAME[1:4], f"024123456{n}", ""] for n in range(3)])
    )

    assert response.json()["summary"]["total_rows"] == 3


# --- large previews -------------------------------------------------------------------------


def test_lists_are_capped_but_counts_are_complete_and_the_rest_can_be_paged(staff_client, settings):
    settings.IMPORT_PREVIEW_LIST_LIMIT = 2
    rows = [[f"PM {n}", "Kwame", "Mensah", "", f"024100000{n}", ""] for n in range(5)]

    body = upload(staff_client, xlsx(*rows)).json()
    page = staff_client.get(
        reverse("users:import-preview-page", args=[body["upload_id"]]),
        {"list": "create", "page": 2, "page_size": 2},
    ).json()

    assert body["summary"]["to_create"] == 5
    assert len(body["duplicate_results"]["unique_candidates"]) == 2
    assert body["lists_truncated"] is True
    assert page["count"] == 5
    assert page["pages"] == 3
    assert [c["source_row_number"] for c in page["results"]] == [4, 5]


def test_an_unknown_preview_list_is_400(staff, staff_client):
    body = upload(staff_client, xlsx(KWAME)).json()

    response = staff_client.get(
        reverse("users:import-preview-page", args=[body["upload_id"]]), {"list": "nope"}
    )

    assert response.status_code == status.HTTP_400_BAD_REQUEST


# --- the whole loop -------------------------------------------------------------------------


def test_fixing_the_failed_rows_file_and_uploading_it_imports_the_fixed_rows(
    staff_client, django_capture_on_commit_callbacks
):
    CustomerFactory(phone="+233201234567", shipping_mark="TAKEN", email="t@example.com")
    content = xlsx(
        KWAME,
        ["PM B", "Kofi", "Owusu", "", "12", ""],  # invalid phone
        ["PM C", "Ama", "Owusu", "", "0201234567", ""],  # taken phone
    )
    upload_id = upload(staff_client, content).json()["upload_id"]
    with django_capture_on_commit_callbacks(execute=True):
        staff_client.post(reverse("users:import-confirm"), {"upload_id": upload_id}, format="json")
    failed = staff_client.get(reverse("users:import-errors", args=[upload_id]))
    book = load_workbook(io.BytesIO(b"".join(failed.streaming_content)))
    sheet = book.active
    assert [row[4].value for row in sheet.iter_rows(min_row=2)] == ["12", "0201234567"]
    sheet["E2"] = "0271234567"
    sheet["E3"] = "0281234567"
    fixed = io.BytesIO()
    book.save(fixed)

    body = upload(staff_client, fixed.getvalue(), name="fixed.xlsx").json()

    assert body["summary"]["to_create"] == 2
    assert body["summary"]["invalid"] == 0
    assert body["unmapped_columns"] == ["Error"]


def test_a_nul_in_a_cell_makes_the_row_invalid_and_is_shown_replaced(staff_client):
    content = builders.csv_bytes(
        [HEADER, ["PM A", "Kwa\x00me", "Mensah", "", "0241234567", ""], KWAME]
    )

    body = upload(staff_client, content, name="c.csv").json()

    assert body["summary"]["invalid"] == 1
    assert codes_by_row(body)[2] == [("first_name", "invalid_characters")]
    invalid = body["parsing_results"]["invalid_rows"][0]
    assert invalid["raw_data"]["First Name"] == "Kwa\ufffdme"


def test_status_lists_failed_rows_from_any_part_of_a_large_file(
    staff_client, django_capture_on_commit_callbacks
):
    rows = [[f"PM {n}", "Kwame", "Mensah", "", f"024{1000000 + n:07d}", ""] for n in range(2500)]
    rows[2200][4] = "12"
    upload_id = upload(staff_client, xlsx(*rows)).json()["upload_id"]
    with django_capture_on_commit_callbacks(execute=True):
        staff_client.post(reverse("users:import-confirm"), {"upload_id": upload_id}, format="json")

    body = staff_client.get(reverse("users:import-status", args=[upload_id])).json()

    assert body["created"] == 2499
    assert [(r["row"], r["data"]["Phone Number"]) for r in body["failed_rows"]] == [(2202, "12")]


# --- hostile sizes: a cell, a row, a record ---------------------------------------------------


def test_a_cell_longer_than_any_field_makes_its_row_invalid_and_is_returned_cut(staff_client):
    # given an xlsx of about 50 KB whose one customer has a first name of 2,000,000 letters
    content = builders.long_cell_xlsx(2_000_000)

    # when it is uploaded
    response = upload(staff_client, content)

    # then the row is invalid for that cell, and the answer holds only its first characters
    assert response.status_code == status.HTTP_200_OK
    body = response.json()
    assert body["summary"]["invalid"] == 1
    [error] = body["errors"]
    assert (error["field"], error["code"]) == ("first_name", "too_long")
    assert "2,000,000" in error["message"]
    raw = body["parsing_results"]["invalid_rows"][0]["raw_data"]
    assert raw["First Name"].startswith(error["value"])
    assert len(raw["First Name"]) <= 1001
    assert len(response.content) < 20_000


def test_a_long_cell_in_a_column_no_field_reads_still_makes_its_row_invalid(staff_client):
    content = builders.long_cell_xlsx(5_000, column="E")

    body = upload(staff_client, content).json()

    [error] = body["errors"]
    assert (error["field"], error["code"]) == ("", "too_long")
    assert error["message"].startswith("Column E (Notes) holds 5,000 characters")
    assert len(body["parsing_results"]["invalid_rows"][0]["raw_data"]["Notes"]) <= 1001


def test_a_row_of_many_long_cells_is_invalid_and_stored_cut(staff_client):
    # 30 extra columns of 900 characters each: every cell fits, the row does not
    extra = [f"Note {n}" for n in range(30)]
    content = builders.csv_bytes([HEADER + extra, KWAME + ["n" * 900] * 30])

    body = upload(staff_client, content, name="wide.csv").json()

    [error] = body["errors"]
    assert (error["field"], error["code"]) == ("", "too_long")
    assert "27,0" in error["message"]  # the row's length, about 27,050 characters
    raw = body["parsing_results"]["invalid_rows"][0]["raw_data"]
    assert sum(len(value or "") for value in raw.values()) <= 8_000


def test_a_csv_record_of_millions_of_fields_is_400_unsafe_file(staff_client):
    response = upload(staff_client, builders.one_record_csv(2_000_000), name="huge.csv")

    assert response.status_code == status.HTTP_400_BAD_REQUEST
    assert response.json()["code"] == "unsafe_file"
    assert ImportJob.objects.count() == 0


def test_a_long_value_in_a_legacy_customers_body_is_refused_and_kept_cut(staff_client):
    record = {"first_name": "K" * 50_000, "last_name": "Mensah", "phone": "0241234567"}

    response = staff_client.post(
        reverse("users:import-confirm"), {"customers": [record]}, format="json"
    )

    job = ImportJob.objects.get(pk=response.json()["task_id"])
    assert job.invalid_count == 1
    error = job.row_errors.get()
    assert (error.field, error.code) == ("first_name", "too_long")
    stored = next(iter(stored_rows.StoredRows(job.pk))).raw
    assert max(len(str(cell)) for cell in stored) <= 1001
