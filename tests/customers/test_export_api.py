"""Exporting customers through the API: the template's columns with values as stored, so that an
export uploads back cleanly; text never becomes a formula; the list's filters apply."""

import csv
import io
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook
from python_calamine import CalamineWorkbook
from rest_framework import status

from tests.factories import CustomerFactory, StaffFactory
from users.excel.columns import TEMPLATE_HEADERS
from users.models import Region, Role, User

pytestmark = pytest.mark.django_db

EXPORT = reverse("users:customer-export")
UPLOAD = reverse("users:import-upload")
LIST = reverse("users:customer-list")
HEADERS = list(TEMPLATE_HEADERS.values())
HOSTILE = ['=HYPERLINK("http://evil.example","x")', "+1+2", "-2+3", "@SUM(A1:A9)"]


def content(response) -> bytes:
    return b"".join(response.streaming_content)


def xlsx_rows(response) -> list[tuple]:
    sheet = load_workbook(io.BytesIO(content(response))).active
    return list(sheet.iter_rows(values_only=True))


def csv_rows(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(content(response).decode("utf-8-sig"))))


def upload(client, data: bytes, name: str):
    return client.post(UPLOAD, {"file": SimpleUploadedFile(name, data)}, format="multipart")


@pytest.fixture
def varied_customers():
    """Customers with every kind of stored value: blank email, company and nickname, regions
    other than the default, a mark with punctuation."""
    return [
        CustomerFactory(email=None, nickname="", company_name=""),
        CustomerFactory(region=Region.NORTH_EAST, company_name="Osei & Sons", nickname="Papa"),
        CustomerFactory(shipping_mark="PM 7/B-2 (ACCRA)", region=Region.WESTERN_NORTH),
        CustomerFactory(phone="+447911123456", email="abroad@example.co.uk"),
    ]


# --- round trip ---------------------------------------------------------------------------------


@pytest.mark.parametrize("file_format", ["xlsx", "csv"])
def test_an_export_uploads_back_with_nothing_to_create_and_no_invalid_row(
    staff_client, varied_customers, file_format
):
    exported = content(staff_client.get(EXPORT, {"format": file_format}))

    response = upload(staff_client, exported, f"export.{file_format}")

    assert response.status_code == status.HTTP_200_OK
    assert response.json()["summary"] == {
        "total_rows": len(varied_customers),
        "invalid": 0,
        "existing_duplicates": len(varied_customers),
        "batch_duplicates": 0,
        "to_create": 0,
        "possible_duplicates": 0,
    }


def test_the_export_has_the_template_headers_and_values_as_stored(staff_client):
    CustomerFactory(
        shipping_mark="PM 1 KWAME",
        first_name="Kwame",
        last_name="Mensah",
        email=None,
        phone="+233241234567",
        region=Region.NORTH_EAST,
        company_name="Mensah Trading",
        nickname="",
        user_type="BUSINESS",
    )

    rows = xlsx_rows(staff_client.get(EXPORT))

    assert rows == [
        tuple(HEADERS),
        (
            "PM 1 KWAME",
            "Kwame",
            "Mensah",
            None,
            "+233241234567",
            "NORTH_EAST",
            "Mensah Trading",
            None,
            "BUSINESS",
        ),
    ]


def test_a_csv_export_has_the_same_columns_and_leaves_a_blank_email_blank(staff_client):
    CustomerFactory(shipping_mark="PM 1 AMA", email=None, region=Region.VOLTA)

    rows = csv_rows(staff_client.get(EXPORT, {"format": "csv"}))

    assert rows[0] == HEADERS
    assert rows[1][0] == "PM 1 AMA"
    assert rows[1][3] == ""
    assert rows[1][5] == "VOLTA"


def test_staff_users_are_not_exported(staff_client, staff):
    CustomerFactory(shipping_mark="PM 1 ONLY")

    rows = xlsx_rows(staff_client.get(EXPORT))

    assert [row[0] for row in rows[1:]] == ["PM 1 ONLY"]


def test_there_is_no_row_cap(staff_client):
    count = 5_001
    User.objects.bulk_create(
        User(
            phone=f"+23324{n:07d}",
            shipping_mark=f"PM BULK {n}",
            first_name="Bulk",
            last_name="Customer",
            user_role=Role.CUSTOMER,
            password="!",
        )
        for n in range(count)
    )

    rows = xlsx_rows(staff_client.get(EXPORT))

    assert len(rows) == count + 1


# --- formula injection --------------------------------------------------------------------------


@pytest.mark.parametrize("value", HOSTILE)
def test_a_hostile_value_comes_out_as_text_in_xlsx(staff_client, value):
    CustomerFactory(first_name=value, company_name=value)

    response = staff_client.get(EXPORT)

    sheet = load_workbook(io.BytesIO(content(response))).active
    cells = [sheet["B2"], sheet["G2"]]
    assert [(cell.value, cell.data_type) for cell in cells] == [(value, "s"), (value, "s")]


def test_no_cell_of_an_xlsx_export_is_a_formula(staff_client):
    for value in HOSTILE:
        CustomerFactory(first_name=value, last_name=value, nickname=value)

    data = content(staff_client.get(EXPORT))

    sheet_xml = zipfile.ZipFile(io.BytesIO(data)).read("xl/worksheets/sheet1.xml")
    assert b"<f>" not in sheet_xml
    assert b"<f " not in sheet_xml


@pytest.mark.parametrize("value", HOSTILE)
def test_a_hostile_value_is_escaped_with_a_quote_in_csv(staff_client, value):
    CustomerFactory(first_name=value, company_name=value)

    rows = csv_rows(staff_client.get(EXPORT, {"format": "csv"}))

    assert (rows[1][1], rows[1][6]) == ("'" + value, "'" + value)


def test_an_update_with_a_control_character_is_refused_so_no_export_meets_one(staff_client):
    customer = CustomerFactory()

    response = staff_client.patch(
        reverse("users:customer-detail", args=[customer.id]),
        {"nickname": "Bell\x07"},
        format="json",
    )

    assert response.status_code == status.HTTP_400_BAD_REQUEST
    assert response.json()["errors"]["nickname"][0]["code"] == "invalid_characters"


# --- filters ------------------------------------------------------------------------------------


def test_the_region_filter_applies(staff_client):
    CustomerFactory(shipping_mark="PM 1 NORTH", region=Region.NORTH_EAST)
    CustomerFactory(shipping_mark="PM 1 SOUTH", region=Region.CENTRAL)

    rows = xlsx_rows(staff_client.get(EXPORT, {"region": "NORTH_EAST"}))

    assert [row[0] for row in rows[1:]] == ["PM 1 NORTH"]


def test_the_search_applies(staff_client):
    CustomerFactory(shipping_mark="PM 1 KWAME", first_name="Kwame")
    CustomerFactory(shipping_mark="PM 1 AMA", first_name="Ama")

    rows = csv_rows(staff_client.get(EXPORT, {"format": "csv", "search": "kwame"}))

    assert [row[0] for row in rows[1:]] == ["PM 1 KWAME"]


def test_the_created_by_filter_applies(staff_client):
    creator = StaffFactory()
    CustomerFactory(shipping_mark="PM 1 MINE", created_by=creator)
    CustomerFactory(shipping_mark="PM 1 OTHER")

    rows = xlsx_rows(staff_client.get(EXPORT, {"created_by": creator.id}))

    assert [row[0] for row in rows[1:]] == ["PM 1 MINE"]


def test_the_ordering_applies(staff_client):
    CustomerFactory(shipping_mark="PM 1 B", first_name="Bea")
    CustomerFactory(shipping_mark="PM 1 A", first_name="Abe")
    CustomerFactory(shipping_mark="PM 1 C", first_name="Cee")

    rows = xlsx_rows(staff_client.get(EXPORT, {"ordering": "first_name"}))

    assert [row[0] for row in rows[1:]] == ["PM 1 A", "PM 1 B", "PM 1 C"]


def test_the_export_holds_what_the_list_holds_for_the_same_filters(staff_client):
    for region in (Region.ASHANTI, Region.ASHANTI, Region.VOLTA):
        CustomerFactory(region=region)
    filters = {"region": "ASHANTI", "ordering": "phone"}

    listed = staff_client.get(LIST, filters).json()["results"]
    rows = xlsx_rows(staff_client.get(EXPORT, filters))

    assert [row[4] for row in rows[1:]] == [customer["phone"] for customer in listed]


def test_a_filter_value_that_does_not_parse_is_a_400_envelope(staff_client):
    response = staff_client.get(EXPORT, {"region": "MARS"})

    assert response.status_code == status.HTTP_400_BAD_REQUEST
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert (body["success"], body["code"]) == (False, "validation_error")
    assert "region" in body["errors"]


# --- format and file ------------------------------------------------------------------------


def test_an_unknown_format_is_a_400_naming_the_format_field(staff_client):
    response = staff_client.get(EXPORT, {"format": "pdf"})

    assert response.status_code == status.HTTP_400_BAD_REQUEST
    body = response.json()
    assert body["code"] == "validation_error"
    assert body["errors"]["format"][0]["code"] == "invalid_choice"


@pytest.mark.parametrize("query", [{}, {"format": ""}, {"format": "xlsx"}])
def test_the_format_is_xlsx_unless_csv_is_asked_for(staff_client, query):
    response = staff_client.get(EXPORT, query)

    assert response.status_code == status.HTTP_200_OK
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")


def test_csv_is_streamed_as_utf8_with_a_bom(staff_client):
    CustomerFactory(first_name="Akosua", last_name="Adjéi")

    response = staff_client.get(EXPORT, {"format": "csv"})

    assert response.status_code == status.HTTP_200_OK
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    data = content(response)
    assert data.startswith(b"\xef\xbb\xbf")
    assert "Adjéi".encode() in data


def test_xlsx_is_streamed_and_opens_in_calamine_too(staff_client):
    CustomerFactory(first_name="Akosua", last_name="Adjéi")

    response = staff_client.get(EXPORT, {"format": "xlsx"})

    assert response.streaming
    rows = CalamineWorkbook.from_filelike(io.BytesIO(content(response))).get_sheet_by_index(0)
    assert "Adjéi" in rows.to_python()[1]


@pytest.mark.parametrize("file_format", ["xlsx", "csv"])
def test_the_download_is_an_attachment_named_with_the_date(staff_client, file_format):
    response = staff_client.get(EXPORT, {"format": file_format})

    expected = f"customers-{timezone.localdate().isoformat()}.{file_format}"
    assert response["Content-Disposition"] == f'attachment; filename="{expected}"'


def test_a_customer_gets_403(customer_client):
    response = customer_client.get(EXPORT)

    assert response.status_code == status.HTTP_403_FORBIDDEN
    assert response.json()["code"] == "permission_denied"


def test_a_customer_asking_for_csv_also_gets_a_json_403(customer_client):
    response = customer_client.get(EXPORT, {"format": "csv"})

    assert response.status_code == status.HTTP_403_FORBIDDEN
    assert response["Content-Type"] == "application/json"


def test_without_credentials_it_is_401(api_client):
    response = api_client.get(EXPORT)

    assert response.status_code == status.HTTP_401_UNAUTHORIZED
