"""The import template: headers, sample rows that import cleanly, a region dropdown, and
instructions that name every column's rules and accepted headers."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import load_workbook
from rest_framework import status

from users.excel.columns import ALIASES, REQUIRED_FIELDS, TEMPLATE_HEADERS
from users.excel.template import SAMPLE_ROWS
from users.models import ImportJob, Region, User

pytestmark = pytest.mark.django_db

TEMPLATE = reverse("users:customer-template")
UPLOAD = reverse("users:import-upload")
CONFIRM = reverse("users:import-confirm")


def template_bytes(client) -> bytes:
    response = client.get(TEMPLATE)
    assert response.status_code == status.HTTP_200_OK
    return b"".join(response.streaming_content)


def upload(client, data: bytes):
    return client.post(
        UPLOAD, {"file": SimpleUploadedFile("template.xlsx", data)}, format="multipart"
    )


def test_the_template_is_an_xlsx_attachment(staff_client):
    response = staff_client.get(TEMPLATE)

    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert response["Content-Disposition"].startswith("attachment;")


def test_the_first_sheet_holds_the_headers_and_three_sample_rows(staff_client):
    book = load_workbook(io.BytesIO(template_bytes(staff_client)))

    rows = list(book.worksheets[0].iter_rows(values_only=True))
    assert book.worksheets[0].title == "Customers"
    assert rows[0] == tuple(TEMPLATE_HEADERS.values())
    assert len(rows) == 4
    assert len(SAMPLE_ROWS) == 3


def test_uploading_the_template_unchanged_previews_its_samples_without_errors(staff_client):
    response = upload(staff_client, template_bytes(staff_client))

    body = response.json()
    assert body["summary"] == {
        "total_rows": 3,
        "invalid": 0,
        "existing_duplicates": 0,
        "batch_duplicates": 0,
        "to_create": 3,
        "possible_duplicates": 0,
    }
    assert body["errors"] == []
    assert body["unmapped_columns"] == []


def test_confirming_the_template_creates_its_three_sample_customers(
    staff_client, django_capture_on_commit_callbacks
):
    upload_id = upload(staff_client, template_bytes(staff_client)).json()["upload_id"]

    with django_capture_on_commit_callbacks(execute=True):
        staff_client.post(CONFIRM, {"upload_id": upload_id}, format="json")

    job = ImportJob.objects.get(pk=upload_id)
    assert (job.status, job.created_count) == (ImportJob.Status.COMPLETE, 3)
    created = User.objects.filter(import_job=job).order_by("source_row")
    assert [c.shipping_mark for c in created] == ["PM 1 KWAME", "PM 1 AMA", "PM 1 KOFI"]
    assert [c.region for c in created] == [Region.GREATER_ACCRA, Region.ASHANTI, Region.NORTH_EAST]


def test_the_region_column_has_a_dropdown_of_every_region(staff_client):
    sheet = load_workbook(io.BytesIO(template_bytes(staff_client)))["Customers"]

    dropdowns = {str(d.sqref).split(":")[0]: d for d in sheet.data_validations.dataValidation}
    dropdown = dropdowns["F2"]
    assert dropdown.type == "list"
    choices = dropdown.formula1.strip('"').split(",")
    assert choices == [label for _code, label in Region.choices]


def test_the_customer_type_column_has_a_dropdown_of_both_types(staff_client):
    sheet = load_workbook(io.BytesIO(template_bytes(staff_client)))["Customers"]

    dropdowns = {str(d.sqref).split(":")[0]: d for d in sheet.data_validations.dataValidation}
    assert sheet["I1"].value == "Customer Type"
    assert dropdowns["I2"].formula1.strip('"').split(",") == ["Individual", "Business"]


def test_the_phone_column_is_formatted_as_text_so_leading_zeros_stay(staff_client):
    sheet = load_workbook(io.BytesIO(template_bytes(staff_client)))["Customers"]

    assert sheet.column_dimensions["E"].number_format == "@"


def test_the_instructions_list_every_column_whether_required_and_its_aliases(staff_client):
    sheet = load_workbook(io.BytesIO(template_bytes(staff_client)))["Instructions"]

    last = 1 + len(TEMPLATE_HEADERS)
    rows = {row[1]: row for row in sheet.iter_rows(min_row=2, max_row=last, values_only=True)}
    assert list(rows) == list(TEMPLATE_HEADERS.values())
    for field, header in TEMPLATE_HEADERS.items():
        _letter, _header, required, rules, aliases = rows[header]
        assert required == ("Yes" if field in REQUIRED_FIELDS else "No")
        assert rules
        for alias in ALIASES[field]:
            assert alias == header or alias in aliases


def test_the_instructions_state_the_lengths_and_the_generated_mark(staff_client):
    sheet = load_workbook(io.BytesIO(template_bytes(staff_client)))["Instructions"]

    rules = {row[1]: row[3] for row in sheet.iter_rows(min_row=2, max_row=9, values_only=True)}
    assert "At most 50 characters" in rules["First Name"]
    assert "At most 100 characters" in rules["Company Name"]
    assert "2-100 characters" in rules["Shipping Mark"]
    assert "PM 1 KWAME02" in rules["Shipping Mark"]
    assert "GREATER_ACCRA" in rules["Region"]
    assert "+233 24 123 4567" in rules["Phone Number"]


def test_a_customer_gets_403(customer_client):
    response = customer_client.get(TEMPLATE)

    assert response.status_code == status.HTTP_403_FORBIDDEN
