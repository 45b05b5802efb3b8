"""Spreadsheets written by other programs, uploaded through the API: each is read, or refused
with a stable code and a message saying what to do; an upload that is read always tells the
client its upload_id, and its preview's pages answer."""

import json
import math

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from rest_framework import status

from tests.excel import builders
from users.errors import NO_DATA, UNSUPPORTED_FILE_TYPE
from users.imports import preview, store
from users.models import ImportJob, ImportStagedRow

pytestmark = pytest.mark.django_db

UPLOAD = reverse("users:import-upload")
HEADER = ["Shipping Mark", "First Name", "Last Name", "Email", "Phone Number"]
KWAME = ["PM GOLD", "Kwame", "Mensah", "kwame@example.com", 241234567]
AMA = ["PM SILVER", "Ama", "Owusu", "ama@example.com", 551234567]


def upload(client, content: bytes, name: str = "customers.xlsx"):
    return client.post(UPLOAD, {"file": SimpleUploadedFile(name, content)}, format="multipart")


def page(client, upload_id: str, name: str):
    return client.get(reverse("users:import-preview-page", args=[upload_id]), {"list": name})


@pytest.mark.parametrize("literal", ["NaN", "inf", "-inf"])
def test_a_phone_cell_holding_nan_or_infinity_is_an_invalid_row_and_the_upload_answers(
    staff_client, literal
):
    # given an xlsx from another program whose first customer's phone cell is NaN or infinite
    content = builders.xlsx_with_numbers([HEADER, KWAME, AMA], {"E2": literal})

    # when it is uploaded
    response = upload(staff_client, content)

    # then the client gets its upload_id: the row is invalid, showing the cell as Excel does
    assert response.status_code == status.HTTP_200_OK
    body = response.json()
    assert body["summary"]["invalid"] == 1
    assert body["summary"]["to_create"] == 1
    [error] = [e for e in body["errors"] if e["field"] == "phone"]
    assert (error["row"], error["value"]) == (2, "#NUM!")
    # and the preview's pages answer too
    for name in ("invalid", "create"):
        assert page(staff_client, body["upload_id"], name).status_code == status.HTTP_200_OK


def test_a_csv_cell_reading_nan_stays_text(staff_client):
    content = builders.csv_bytes([HEADER, ["PM GOLD", "Kwame", "Mensah", "", "NaN"]])

    response = upload(staff_client, content, "customers.csv")

    assert response.status_code == status.HTTP_200_OK
    assert response.json()["errors"][0]["value"] == "NaN"


def test_a_stored_preview_holding_a_non_finite_number_still_answers_its_pages(staff_client):
    # given a preview stored before the reader turned NaN into text (its row's cells hold NaN)
    invalid = [*KWAME[:4], "not a phone"]
    body = upload(staff_client, builders.xlsx_bytes([HEADER, invalid])).json()
    staged = ImportStagedRow.objects.filter(job_id=body["upload_id"])
    staged.update(raw=json.dumps([*invalid[:4], math.nan]))

    # when its rows are paged
    response = page(staff_client, body["upload_id"], "invalid")

    # then the page answers, the number as null, rather than a 500
    assert response.status_code == status.HTTP_200_OK
    [row] = response.json()["results"]
    assert row["source_row_number"] == 2
    assert None in row["raw_data"].values()


def test_a_preview_is_never_stored_with_a_non_finite_number(staff):
    # given rows holding NaN and infinities, however they came
    rows = [(1, [*HEADER, "Score"]), (2, [*KWAME, math.nan]), (3, [*AMA, -math.inf])]
    source = store.PreviewSource("scores.xlsx", 100, "0" * 64, "xlsx")

    job = preview.preview_create(owner=staff, source=source, rows=rows)

    # then the staged cells are strict JSON, each such number the text Excel shows for it
    stored = ImportStagedRow.objects.filter(job=job).order_by("position").values_list("raw")
    cells = [json.loads(raw, parse_constant=pytest.fail)[-1] for (raw,) in stored]
    assert cells == ["#NUM!", "#NUM!"]


@pytest.mark.parametrize(
    ("folder", "backslashes"),
    [("", False), ("excel/", False), ("xl/", True)],
    ids=["workbook at the root", "workbook in another folder", "backslashes in part names"],
)
def test_a_workbook_whose_parts_are_not_where_excel_puts_them_is_imported(
    staff_client, folder, backslashes
):
    content = builders.relocated_xlsx([HEADER, KWAME, AMA], folder, backslashes=backslashes)

    response = upload(staff_client, content)

    assert response.status_code == status.HTTP_200_OK
    assert response.json()["file_type"] == "xlsx"
    assert response.json()["summary"]["to_create"] == 2


@pytest.mark.parametrize("version", ["BIFF2", "BIFF4", "BIFF5"])
def test_an_old_excel_file_is_415_saying_to_save_it_again_as_xlsx(staff_client, version):
    response = upload(staff_client, builders.old_excel_bytes(version), "customers.xls")

    assert response.status_code == status.HTTP_415_UNSUPPORTED_MEDIA_TYPE
    body = response.json()
    assert body["code"] == UNSUPPORTED_FILE_TYPE
    assert "older version of Excel" in body["message"]


def test_an_xor_protected_xls_is_415_saying_it_is_protected(staff_client):
    content = builders.xls_bytes([HEADER, KWAME], encryption="xor")

    response = upload(staff_client, content, "customers.xls")

    assert response.status_code == status.HTTP_415_UNSUPPORTED_MEDIA_TYPE
    assert "password-protected" in response.json()["message"]


def test_a_workbook_with_an_excel_4_macro_sheet_is_415_naming_it(staff_client):
    content = builders.xlsm_bytes([HEADER, KWAME], macro_sheet=True)

    response = upload(staff_client, content, "customers.xlsm")

    assert response.status_code == status.HTTP_415_UNSUPPORTED_MEDIA_TYPE
    assert "Excel 4.0 macro sheet" in response.json()["message"]


def test_data_on_a_later_sheet_is_imported_and_the_preview_names_the_sheet(staff_client):
    # given a workbook whose first sheet was left empty, the customers on the second
    content = builders.xlsx_bytes([HEADER, KWAME, AMA], before=("empty",))

    response = upload(staff_client, content)

    assert response.status_code == status.HTTP_200_OK
    body = response.json()
    assert body["summary"]["to_create"] == 2
    assert body["sheet"] == "Customers"
    # and a remap keeps it
    remapped = staff_client.post(
        reverse("users:import-remap", args=[body["upload_id"]]),
        {"column_mapping": {"email": None}},
        format="json",
    )
    assert remapped.json()["sheet"] == "Customers"
    assert ImportJob.objects.get(pk=body["upload_id"]).status == ImportJob.Status.PARSED


def test_a_workbook_without_data_on_any_visible_sheet_is_400_no_data(staff_client):
    response = upload(staff_client, builders.xlsx_bytes([], before=("empty",)))

    assert response.status_code == status.HTTP_400_BAD_REQUEST
    assert response.json()["code"] == NO_DATA
