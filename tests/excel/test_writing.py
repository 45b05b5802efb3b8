"""The writing helpers: text is always text in xlsx, CSV follows the OWASP rule, and rows are
written as they come."""

import csv
import io
import shutil
import subprocess
import zipfile

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import Workbook, load_workbook
from python_calamine import CalamineWorkbook

from users.excel.writing import csv_lines, csv_safe, write_xlsx, xlsx_cell, xlsx_stream

HOSTILE = ['=HYPERLINK("http://evil.example","x")', "=1+2", "+1+2", "-2+3", "@SUM(A1:A9)"]


def written(rows: list[list], headers: list[str] | None = None) -> list[list]:
    """The cells of a write_xlsx workbook, read back as (value, data_type), header row first."""
    buffer = io.BytesIO()
    write_xlsx(buffer, title="Sheet", headers=headers or ["A"], rows=rows)
    sheet = load_workbook(io.BytesIO(buffer.getvalue())).active
    return [[(cell.value, cell.data_type) for cell in row] for row in sheet.iter_rows()]


def csv_text(rows: list[list], headers: list[str] | None = None) -> str:
    return "".join(csv_lines(headers or ["A"], rows))


@pytest.fixture
def sheet():
    return Workbook(write_only=True).create_sheet("Sheet")


# --- xlsx ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", HOSTILE)
def test_text_that_looks_like_a_formula_is_written_as_text(value):
    cells = written([[value]])

    assert cells[1] == [(value, "s")]


@pytest.mark.parametrize("value", ["#N/A", "#REF!", "#DIV/0!"])
def test_text_that_looks_like_an_error_value_is_written_as_text(value):
    cells = written([[value]])

    assert cells[1] == [(value, "s")]


def test_control_characters_become_replacement_characters_instead_of_breaking_the_file():
    cells = written([["Bell\x07 and NUL\x00"]])

    assert cells[1] == [("Bell\ufffd and NUL\ufffd", "s")]


def test_numbers_stay_numbers_and_booleans_become_text():
    cells = written([[42, 2.5, True]], headers=["a", "b", "c"])

    assert cells[1] == [(42, "n"), (2.5, "n"), ("True", "s")]


def test_none_and_empty_text_leave_the_cell_empty():
    cells = written([["x", None, "", "y"]], headers=["a", "b", "c", "d"])

    assert [value for value, _type in cells[1]] == ["x", None, None, "y"]


def test_plain_text_is_passed_to_openpyxl_as_it_is(sheet):
    assert xlsx_cell(sheet, "Kwame Mensah") == "Kwame Mensah"


def test_text_openpyxl_would_misread_gets_a_string_cell(sheet):
    cell = xlsx_cell(sheet, "=1+2")

    assert (cell.value, cell.data_type) == ("=1+2", "s")


def test_a_header_cell_is_bold_text(sheet):
    cell = xlsx_cell(sheet, "Phone Number", header=True)

    assert cell.font.bold
    assert cell.data_type == "s"


def test_write_xlsx_returns_the_row_count_and_reports_progress_every_1000_rows():
    seen: list[int] = []

    count = write_xlsx(
        io.BytesIO(),
        title="Sheet",
        headers=["A"],
        rows=([n] for n in range(2500)),
        on_row=seen.append,
    )

    assert count == 2500
    assert seen == [1000, 2000]


def test_the_header_row_is_frozen_and_columns_get_their_widths():
    buffer = io.BytesIO()
    write_xlsx(buffer, title="Sheet", headers=["A", "B"], rows=[], widths=[10, 40])

    sheet = load_workbook(io.BytesIO(buffer.getvalue())).active
    assert sheet.freeze_panes == "A2"
    assert sheet.column_dimensions["B"].width == 40


# Carriage returns are left out: XML parsing turns them into line feeds, in any writer.
_CELL_TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\r"),
    min_size=1,
    max_size=40,
)


@settings(max_examples=50, deadline=None)
@given(values=st.lists(_CELL_TEXT, min_size=1, max_size=8))
def test_any_text_reads_back_unchanged_and_as_text(values):
    cells = written([values], headers=["h"] * len(values))

    assert cells[1] == [(value, "s") for value in values]


# --- csv ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [*HOSTILE, "\tTAB", "\rCR"])
def test_csv_prefixes_values_a_spreadsheet_would_run_with_a_quote(value):
    assert csv_safe(value) == "'" + value


@pytest.mark.parametrize("value", ["Kwame", "0241234567", "a=b", "kwame@example.com", "'quoted"])
def test_csv_leaves_other_values_alone(value):
    assert csv_safe(value) == value


def test_csv_writes_none_as_an_empty_field():
    assert csv_safe(None) == ""


def test_csv_starts_with_a_bom_so_excel_reads_utf8():
    text = csv_text([["Adjéi"]])

    assert text.startswith("\ufeffA\r\n")


def test_csv_quotes_commas_quotes_and_line_breaks():
    value = 'Osei, "Papa"\nSons'

    text = csv_text([[value, "x"]], headers=["a", "b"])

    assert list(csv.reader(io.StringIO(text.lstrip("\ufeff")))) == [["a", "b"], [value, "x"]]


def test_csv_yields_the_header_then_one_line_per_row():
    lines = list(csv_lines(["a"], iter([["1"], ["2"], ["3"]])))

    assert lines == ["\ufeffa\r\n", "1\r\n", "2\r\n", "3\r\n"]


# --- the streamed xlsx --------------------------------------------------------------------------


def streamed(rows: list[list], headers: list[str] | None = None) -> bytes:
    return b"".join(xlsx_stream(title="Sheet", headers=headers or ["A"], rows=rows))


@settings(max_examples=50, deadline=None)
@given(values=st.lists(_CELL_TEXT, min_size=1, max_size=8))
def test_a_streamed_workbook_reads_back_unchanged_and_as_text_in_openpyxl_and_calamine(values):
    content = streamed([values], headers=["h"] * len(values))

    sheet = load_workbook(io.BytesIO(content)).active
    assert [(c.value, c.data_type) for c in next(sheet.iter_rows(min_row=2))] == [
        (value, "s") for value in values
    ]
    assert CalamineWorkbook.from_filelike(io.BytesIO(content)).get_sheet_by_index(
        0
    ).to_python() == [["h"] * len(values), values]


@pytest.mark.parametrize("value", [*HOSTILE, "#N/A", "<f>1+1</f>", "a]]>b", "&amp;", " padded "])
def test_a_streamed_cell_is_text_whatever_it_holds(value):
    sheet = load_workbook(io.BytesIO(streamed([[value, 12]]))).active

    assert [(c.value, c.data_type) for c in sheet[2]] == [(value, "s"), ("12", "s")]


def test_a_streamed_workbook_has_a_bold_frozen_header_widths_and_skips_blank_cells():
    content = b"".join(
        xlsx_stream(
            title="Customers", headers=["A", "B"], rows=[["x", None], ["", "y"]], widths=[10, 40]
        )
    )

    workbook = load_workbook(io.BytesIO(content))
    sheet = workbook.active
    assert sheet.title == "Customers"
    assert sheet.freeze_panes == "A2"
    assert sheet["A1"].font.b is True
    assert sheet.column_dimensions["B"].width == 40
    assert [[c.value for c in row] for row in sheet.iter_rows()] == [
        ["A", "B"],
        ["x", None],
        [None, "y"],
    ]
    assert zipfile.ZipFile(io.BytesIO(content)).testzip() is None


def test_a_streamed_workbook_starts_before_its_rows_are_all_read():
    read = []

    def rows():
        for n in range(100_000):
            read.append(n)
            yield [f"row {n}", f"name {n}"]

    pieces = xlsx_stream(title="Sheet", headers=["A", "B"], rows=rows())
    first = next(pieces)

    assert first.startswith(b"PK")
    assert len(read) < 10_000
    rest = b"".join(pieces)
    assert len(read) == 100_000
    sheet = CalamineWorkbook.from_filelike(io.BytesIO(first + rest)).get_sheet_by_index(0)
    assert len(sheet.to_python()) == 100_001


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice is not installed here")
def test_a_streamed_workbook_opens_in_libreoffice_with_its_text_as_text(tmp_path):
    rows = [["PM 1", "Adjéi", "=1+2", "@SUM(A1)", "<b>&amp;"], ["PM 2", None, "+233241234567"]]
    (tmp_path / "export.xlsx").write_bytes(streamed(rows, headers=["A", "B", "C", "D", "E"]))

    subprocess.run(
        [
            shutil.which("soffice"),
            f"-env:UserInstallation=file://{tmp_path}/profile",
            "--headless",
            "--convert-to",
            "csv:Text - txt - csv (StarCalc):44,34,76",
            "--outdir",
            str(tmp_path),
            str(tmp_path / "export.xlsx"),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )

    text = (tmp_path / "export.csv").read_text(encoding="utf-8")
    assert list(csv.reader(io.StringIO(text))) == [
        ["A", "B", "C", "D", "E"],
        ["PM 1", "Adjéi", "=1+2", "@SUM(A1)", "<b>&amp;"],
        ["PM 2", "", "+233241234567", "", ""],
    ]
