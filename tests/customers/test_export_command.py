"""python manage.py export_customers: the API's export, to a file named on the command line."""

import csv
import io

import pytest
from django.core.management import CommandError, call_command
from openpyxl import load_workbook

from tests.factories import CustomerFactory
from users.excel.columns import TEMPLATE_HEADERS
from users.models import Region

pytestmark = pytest.mark.django_db


def export(*args) -> str:
    out = io.StringIO()
    call_command("export_customers", *args, stdout=out)
    return out.getvalue()


def test_an_xlsx_path_gets_the_xlsx_export_and_a_final_line(tmp_path):
    CustomerFactory(shipping_mark="PM 1 KWAME")
    path = tmp_path / "customers.xlsx"

    output = export(str(path))

    rows = list(load_workbook(path).active.iter_rows(values_only=True))
    assert rows[0] == tuple(TEMPLATE_HEADERS.values())
    assert rows[1][0] == "PM 1 KWAME"
    assert output.startswith(f"Exported 1 customers to {path} in ")


def test_a_csv_path_gets_the_csv_export(tmp_path):
    CustomerFactory(shipping_mark="PM 1 AMA")
    CustomerFactory(shipping_mark="PM 1 KOFI")
    path = tmp_path / "customers.csv"

    output = export(str(path))

    rows = list(csv.reader(path.open(encoding="utf-8-sig", newline="")))
    assert rows[0] == list(TEMPLATE_HEADERS.values())
    assert sorted(row[0] for row in rows[1:]) == ["PM 1 AMA", "PM 1 KOFI"]
    assert "Exported 2 customers" in output


def test_filters_are_options(tmp_path):
    CustomerFactory(shipping_mark="PM 1 NORTH", region=Region.NORTH_EAST)
    CustomerFactory(shipping_mark="PM 1 SOUTH", region=Region.CENTRAL)
    path = tmp_path / "north.csv"

    export(str(path), "--region", "NORTH_EAST", "--ordering", "phone")

    rows = list(csv.reader(path.open(encoding="utf-8-sig", newline="")))
    assert [row[0] for row in rows[1:]] == ["PM 1 NORTH"]


def test_another_extension_is_refused(tmp_path):
    with pytest.raises(CommandError, match=r"\.xlsx or \.csv"):
        export(str(tmp_path / "customers.pdf"))


def test_a_filter_that_does_not_parse_is_refused_naming_the_option(tmp_path):
    with pytest.raises(CommandError, match="--region"):
        export(str(tmp_path / "customers.xlsx"), "--region", "MARS")

    assert not (tmp_path / "customers.xlsx").exists()
