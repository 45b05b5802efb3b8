"""The safe reader: every file type read the same way, and every unsafe or wrong file refused with
its code before it can cost memory or time."""

import codecs
import datetime
import gc
import tracemalloc
import zipfile
from pathlib import Path

import psutil
import pytest

from tests.excel import builders
from users.errors import (
    CORRUPT_FILE,
    EMPTY_FILE,
    FILE_TOO_LARGE,
    NO_DATA,
    TOO_MANY_ROWS,
    UNSAFE_FILE,
    UNSUPPORTED_FILE_TYPE,
    FileError,
)
from users.excel.cells import CutText
from users.excel.reading import MIB, ReaderLimits, detect_type, open_rows

HEADER = ["Shipping Mark", "First Name", "Last Name", "Email", "Phone Number"]
KOFI = ["PM1 KOFI", "Kofi", "Mensah", "kofi@example.com", 241234567]


@pytest.fixture
def read(tmp_path: Path):
    """read(data, **limits) -> [(row_number, cells), ...] through open_rows."""

    def read(data: bytes, **limits) -> list[tuple[int, list]]:
        path = tmp_path / "upload"
        path.write_bytes(data)
        with open_rows(path, limits=ReaderLimits(**limits)) as stream:
            return list(stream)

    return read


@pytest.fixture
def refusal(read):
    """refusal(data, **limits) -> the FileError open_rows or the iteration raised."""

    def refusal(data: bytes, **limits) -> FileError:
        with pytest.raises(FileError) as caught:
            read(data, **limits)
        return caught.value

    return refusal


@pytest.fixture
def stream_of(tmp_path: Path):
    """stream_of(data, **limits) -> an open RowStream (the test closes it)."""

    def stream_of(data: bytes, **limits):
        path = tmp_path / "upload"
        path.write_bytes(data)
        return open_rows(path, limits=ReaderLimits(**limits))

    return stream_of


def _children() -> list[psutil.Process]:
    return psutil.Process().children(recursive=True)


def _rss() -> int:
    return psutil.Process().memory_info().rss


def _record_unpacked_members(monkeypatch) -> list[str]:
    """From now on, the name of every zip member opened (to read or stream) goes in the list."""
    opened: list[str] = []
    real_open = zipfile.ZipFile.open

    def open_member(archive, member, *args, **kwargs):
        opened.append(getattr(member, "filename", member))
        return real_open(archive, member, *args, **kwargs)

    monkeypatch.setattr(zipfile.ZipFile, "open", open_member)
    return opened


def _record_zip_directory_reads(monkeypatch) -> list[object]:
    """From now on, every zipfile.ZipFile opened (each reads the whole central directory, one
    object per member) goes in the list."""
    opened: list[object] = []
    real_init = zipfile.ZipFile.__init__

    def init(archive, file, *args, **kwargs):
        opened.append(file)
        real_init(archive, file, *args, **kwargs)

    monkeypatch.setattr(zipfile.ZipFile, "__init__", init)
    return opened


# --- Each file type is read the same way ------------------------------------------------------

WORKBOOKS = {
    "xlsx": builders.xlsx_bytes,
    "xls": builders.xls_bytes,
    "ods": builders.ods_bytes,
}


@pytest.mark.parametrize("file_type", WORKBOOKS)
def test_workbook_rows_come_with_their_excel_row_numbers(read, file_type):
    # given a header, a customer, a blank row and another customer
    data = WORKBOOKS[file_type]([HEADER, KOFI, [], ["PM2 AMA", "Ama", "Owusu"]])

    # when it is read
    rows = read(data)

    # then the blank row is skipped and the numbers are those Excel shows
    assert [number for number, _ in rows] == [1, 2, 4]
    assert rows[0][1] == HEADER
    assert rows[2][1] == ["PM2 AMA", "Ama", "Owusu"]


@pytest.mark.parametrize("file_type", WORKBOOKS)
def test_a_numeric_phone_cell_is_read_as_a_number(read, file_type):
    rows = read(WORKBOOKS[file_type]([HEADER, KOFI]))

    assert rows[1][1][4] == 241234567
    assert isinstance(rows[1][1][4], int | float)


@pytest.mark.parametrize("file_type", WORKBOOKS)
def test_an_empty_column_a_keeps_every_cell_in_its_column(read, file_type):
    # given data that starts in column B on every row
    data = WORKBOOKS[file_type]([[None, "First Name", None, "Phone"], [None, "Kofi", None, 24]])

    rows = read(data)

    # then cells[0] is still column A
    assert rows == [(1, [None, "First Name", None, "Phone"]), (2, [None, "Kofi", None, 24])]


@pytest.mark.parametrize("file_type", WORKBOOKS)
def test_dates_become_iso_strings(read, file_type):
    data = WORKBOOKS[file_type](
        [["Joined", "At"], [datetime.date(2024, 1, 15), datetime.datetime(2024, 1, 15, 10, 30)]]
    )

    rows = read(data)

    assert rows[1][1] == ["2024-01-15", "2024-01-15T10:30:00"]


@pytest.mark.parametrize("file_type", WORKBOOKS)
def test_booleans_and_fractions_keep_their_types(read, file_type):
    rows = read(WORKBOOKS[file_type]([["Active", "Score"], [True, 1.5], [False, 0.25]]))

    assert [cells for _, cells in rows[1:]] == [[True, 1.5], [False, 0.25]]


@pytest.mark.parametrize("file_type", WORKBOOKS)
def test_trailing_empty_cells_are_dropped(read, file_type):
    rows = read(WORKBOOKS[file_type]([["Name", "Phone", "Email"], ["Kofi", None, None]]))

    assert rows[1] == (2, ["Kofi"])


def test_a_time_of_day_becomes_an_iso_string(read):
    rows = read(builders.xlsx_bytes([["At"], [datetime.time(10, 30)]]))

    assert rows[1][1] == ["10:30:00"]


@pytest.mark.parametrize("file_type", ["xlsx", "xls", "ods"])
def test_the_stream_names_the_type_and_the_sheet(stream_of, file_type):
    with stream_of(WORKBOOKS[file_type]([HEADER], sheet_title="Clients")) as stream:
        assert (stream.file_type, stream.sheet_name) == (file_type, "Clients")


def test_hidden_and_chart_sheets_before_the_data_are_skipped(read):
    data = builders.xlsx_bytes([HEADER, KOFI], before=("hidden", "chart", "veryHidden"))

    rows = read(data)

    assert rows == [(1, HEADER), (2, KOFI)]


def test_a_workbook_of_only_hidden_sheets_has_no_data(refusal):
    data = builders.xlsx_bytes([], before=("hidden",))
    # the data sheet is empty, and the only sheet with a value is hidden
    assert refusal(data).code == NO_DATA


def test_cells_beyond_max_columns_are_dropped(read):
    rows = read(builders.xlsx_bytes([["a", "b", "c", "d"]]), max_columns=2)

    assert rows == [(1, ["a", "b"])]


def test_a_sheet_whose_data_starts_beyond_max_columns_has_no_data(refusal):
    data = builders.xlsx_bytes([[None, None, None, "far right"]])

    assert refusal(data, max_columns=3).code == NO_DATA


# --- CSV --------------------------------------------------------------------------------------

CSV_ROWS = [["Name", "Phone"], ["Kwabena Asamoah é ñ", "0241234567"]]


@pytest.mark.parametrize(
    ("encoding", "bom"),
    [
        ("utf-8", False),
        ("utf-8", True),
        ("utf-16-le", True),
        ("utf-16-be", True),
        ("utf-16-le", False),
        ("utf-16-be", False),
        ("cp1252", False),
    ],
)
def test_csv_encodings_are_sniffed(read, encoding, bom):
    rows = read(builders.csv_bytes(CSV_ROWS, encoding=encoding, bom=bom))

    assert rows == [(1, ["Name", "Phone"]), (2, ["Kwabena Asamoah é ñ", "0241234567"])]


def test_utf8_text_beyond_cp1252_is_read(read):
    rows = read(builders.csv_bytes([["Name"], ["Kwabena Asamoah Ɛ"]]))

    assert rows[1] == (2, ["Kwabena Asamoah Ɛ"])


def test_cp1252_non_ascii_late_in_the_file_still_decodes_the_whole_file_as_cp1252(read):
    # given ASCII for the first 100 KB (past the sniffed head) and cp1252 "é" after it
    rows_in = [["Name"]] + [["Kofi"]] * 20_000 + [["Séwàá"]]

    rows = read(builders.csv_bytes(rows_in, encoding="cp1252"))

    assert rows[-1] == (20_002, ["Séwàá"])


def test_bytes_cp1252_leaves_undefined_read_as_latin1(read):
    rows = read(b"Name\r\nA\x81B \xe9\r\n")

    assert rows[1] == (2, ["A\x81B é"])


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_csv_delimiters_are_sniffed(read, delimiter):
    data = builders.csv_bytes(
        [HEADER, KOFI, ["PM2 AMA", "Ama", "Owusu", "", "0201234567"]], delimiter=delimiter
    )

    rows = read(data)

    assert [len(cells) for _, cells in rows] == [5, 5, 5]
    assert rows[2][1][3] is None


def test_a_single_column_csv_is_read_with_the_default_delimiter(read):
    assert read(b"Name\nKofi\nAma\n") == [(1, ["Name"]), (2, ["Kofi"]), (3, ["Ama"])]


def test_a_quoted_field_may_hold_line_breaks_and_delimiters(read):
    data = builders.csv_bytes([["Name", "Address"], ["Kofi", "12 Ring Rd,\nAccra"], ["Ama", "x"]])

    rows = read(data)

    # then row numbers count records, not physical lines
    assert rows == [
        (1, ["Name", "Address"]),
        (2, ["Kofi", "12 Ring Rd,\nAccra"]),
        (3, ["Ama", "x"]),
    ]


def test_csv_values_stay_text(read):
    rows = read(builders.csv_bytes([["Phone"], ["0241234567"]]))

    assert rows[1] == (2, ["0241234567"])


def test_the_quote_a_csv_export_puts_before_a_formula_character_is_taken_off(read):
    rows = read(builders.csv_bytes([["'-2+3", "'+233241234567", "'Tis", "'=SUM(A1)"]]))

    assert rows == [(1, ["-2+3", "+233241234567", "'Tis", "=SUM(A1)"])]


def test_csv_blank_and_whitespace_lines_are_skipped_but_counted(read):
    rows = read(b"Name,Phone\r\n\r\n , \r\nKofi,024\r\n")

    assert rows == [(1, ["Name", "Phone"]), (4, ["Kofi", "024"])]


def test_a_csv_field_over_the_csv_module_limit_is_a_corrupt_file(refusal):
    data = b"Name\r\n" + b"x" * 200_000 + b"\r\n"

    assert refusal(data).code == CORRUPT_FILE


def test_a_csv_line_longer_than_a_record_may_be_is_unsafe(refusal):
    data = b"Name\r\n" + b"x," * (MIB // 2 + 10) + b"\r\n"

    assert refusal(data).code == UNSAFE_FILE


def test_a_utf16_csv_with_a_broken_surrogate_is_a_corrupt_file(refusal):
    data = "Name\r\nKofi\r\n".encode("utf-16-le") + b"\x00\xd8A\x00\r\x00\n\x00"

    assert refusal(codecs.BOM_UTF16_LE + data).code == CORRUPT_FILE


def test_csv_cells_beyond_max_columns_are_dropped(read):
    assert read(b"a,b,c\r\n", max_columns=2) == [(1, ["a", "b"])]


# --- Blank rows and row limits ----------------------------------------------------------------


@pytest.mark.parametrize("make", [builders.xlsx_bytes, builders.csv_bytes])
def test_reading_stops_after_blank_run_blank_rows(read, make):
    # given data after three blank rows (a sheet's stray notes far below)
    data = make([["Name"], ["Kofi"], [], [], [], ["stray"]])

    rows = read(data, blank_run=3)

    assert rows == [(1, ["Name"]), (2, ["Kofi"])]


@pytest.mark.parametrize("make", [builders.xlsx_bytes, builders.csv_bytes])
def test_fewer_blank_rows_than_blank_run_are_skipped(read, make):
    data = make([["Name"], [], [], ["Ama"]])

    rows = read(data, blank_run=3)

    assert rows == [(1, ["Name"]), (4, ["Ama"])]


def test_a_row_of_whitespace_strings_is_blank(read):
    rows = read(builders.xlsx_bytes([["Name"], ["  ", "\t"], ["Ama"]]), blank_run=1)

    assert rows == [(1, ["Name"])]


@pytest.mark.parametrize("make", [builders.xlsx_bytes, builders.csv_bytes, builders.ods_bytes])
def test_max_rows_non_blank_rows_are_accepted(read, make):
    rows = read(make([["Name"], ["a"], [], ["b"]]), max_rows=3)

    assert len(rows) == 3


@pytest.mark.parametrize("make", [builders.xlsx_bytes, builders.csv_bytes, builders.xls_bytes])
def test_one_row_more_than_max_rows_is_refused_as_too_many_rows(stream_of, make):
    received = []
    with (
        stream_of(make([["Name"], ["a"], ["b"], ["c"]]), max_rows=3) as stream,
        pytest.raises(FileError) as caught,
    ):
        received.extend(stream)

    assert caught.value.code == TOO_MANY_ROWS
    assert len(received) == 3


@pytest.mark.parametrize(
    "data",
    [
        builders.xlsx_bytes([]),
        builders.xlsx_bytes([[None], ["   "]]),
        builders.ods_bytes([[None]]),
        b"\r\n\r\n  \r\n",
        b",,,\r\n",
    ],
    ids=["empty sheet", "blank cells", "empty ods", "blank lines", "empty fields"],
)
def test_a_file_without_a_non_blank_row_has_no_data(refusal, data):
    assert refusal(data).code == NO_DATA


# --- File-level refusals ----------------------------------------------------------------------


def test_a_zero_byte_file_is_empty(refusal):
    assert refusal(b"").code == EMPTY_FILE


def test_a_file_over_max_bytes_is_too_large(refusal):
    error = refusal(builders.csv_bytes([["Name"]] * 100), max_bytes=100)

    assert error.code == FILE_TOO_LARGE
    assert error.status_code == 413


@pytest.mark.parametrize("detected", builders.NOT_SPREADSHEETS)
def test_a_file_that_is_not_a_spreadsheet_is_refused_naming_what_it_is(refusal, detected):
    error = refusal(builders.NOT_SPREADSHEETS[detected])

    assert error.code == UNSUPPORTED_FILE_TYPE
    assert detected in error.message
    assert error.status_code == 415


@pytest.mark.parametrize(
    ("data", "detected"),
    [
        (builders.docx_bytes(), "Word document (.docx)"),
        (builders.odt_bytes(), "OpenDocument text document"),
        (builders.doc_bytes(), "Word 97-2003 document"),
        (
            builders.zip_from_members([builders.deflated_member("notes.txt", b"hello")]),
            "ZIP archive",
        ),
    ],
    ids=["docx", "odt", "doc", "zip"],
)
def test_an_office_file_that_is_not_a_workbook_is_refused_naming_it(refusal, data, detected):
    error = refusal(data)

    assert error.code == UNSUPPORTED_FILE_TYPE
    assert detected in error.message


@pytest.mark.parametrize(
    "data",
    [
        builders.encrypted_ooxml_bytes(),
        builders.xls_bytes([["Name"]], encryption="rc4"),
        builders.xls_bytes([HEADER, KOFI], encryption="xor"),
    ],
    ids=["encrypted xlsx", "encrypted xls", "xls with XOR obfuscation"],
)
def test_a_password_protected_workbook_is_refused_saying_so(refusal, data):
    error = refusal(data)

    assert error.code == UNSUPPORTED_FILE_TYPE
    assert "password-protected" in error.message


def test_the_type_comes_from_the_bytes_not_the_file_name(tmp_path):
    path = tmp_path / "customers.csv"
    path.write_bytes(builders.xlsx_bytes([HEADER]))

    with open_rows(path) as stream:
        assert stream.file_type == "xlsx"


@pytest.mark.parametrize(
    "data",
    [
        builders.truncated(builders.xlsx_bytes([HEADER, KOFI])),
        builders.truncated(builders.ods_bytes([HEADER, KOFI]), 0.9),
        b"PK\x03\x04" + bytes(range(256)) * 20,
        builders.lying_size_xlsx(),
    ],
    ids=["truncated xlsx", "truncated ods", "garbage after a zip header", "size lies"],
)
def test_a_broken_zip_is_a_corrupt_file(refusal, data):
    assert refusal(data).code == CORRUPT_FILE


def test_a_broken_xls_is_a_corrupt_file(refusal):
    data = builders.ole_bytes({"Workbook": b"\x09\x08\x10\x00" + b"\xff" * 5000})

    assert refusal(data).code == CORRUPT_FILE


def test_a_zip_with_xlsb_parts_is_taken_for_xlsb(refusal):
    # a stand-in with the parts' names but not their contents: calamine then fails to read it
    data = builders.zip_from_members(
        [
            builders.deflated_member("[Content_Types].xml", b"<Types/>"),
            builders.deflated_member("xl/workbook.bin", b"\x83\x01\x00"),
        ]
    )

    error = refusal(data)

    assert error.code == CORRUPT_FILE
    assert ".xlsb" in error.message


# --- Spreadsheets written by other programs ---------------------------------------------------

SCORES = [["Name", "Score"], ["Kofi", 1.5]]


@pytest.mark.parametrize("literal", ["NaN", "nan", "inf", "-inf", "Infinity", "1e999"])
def test_a_number_cell_that_is_not_finite_reads_as_the_error_excel_shows(read, literal):
    # given an xlsx from another program whose number cell holds NaN or an infinity
    data = builders.xlsx_with_numbers(SCORES, {"B2": literal})

    rows = read(data)

    # then the cell reads as the text of Excel's #NUM! error, never as a float JSON refuses
    assert rows == [(1, ["Name", "Score"]), (2, ["Kofi", "#NUM!"])]


@pytest.mark.parametrize("file_type", ["xls", "ods"])
@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_a_non_finite_number_in_an_xls_or_ods_reads_as_the_error_excel_shows(
    read, file_type, value
):
    rows = read(WORKBOOKS[file_type]([["Name", "Score"], ["Kofi", value]]))

    assert rows[1] == (2, ["Kofi", "#NUM!"])


@pytest.mark.parametrize(
    ("folder", "backslashes"),
    [("", False), ("excel/", False), ("xl/", True)],
    ids=["workbook at the root", "workbook in another folder", "backslashes in part names"],
)
def test_a_workbook_part_found_through_the_package_relationships_is_read(
    stream_of, folder, backslashes
):
    # given an xlsx whose workbook part is not at xl/workbook.xml (or is, written xl\\...)
    data = builders.relocated_xlsx([HEADER, KOFI], folder, backslashes=backslashes)

    with stream_of(data) as stream:
        rows = list(stream)

    # then the package's relationships lead to it, as they lead Excel
    assert stream.file_type == "xlsx"
    assert rows == [(1, HEADER), (2, KOFI)]


def test_a_relocated_workbook_part_declared_only_as_xml_is_taken_by_its_name(read):
    # given a workbook at the package's root whose content types name no part, only extensions
    members = builders.xlsx_members(builders.relocated_xlsx([HEADER, KOFI], ""))
    members["[Content_Types].xml"] = (
        b'<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        b'<Default Extension="xml" ContentType="application/xml"/><Default Extension="rels" '
        b'ContentType="application/vnd.openxmlformats-package.relationships+xml"/></Types>'
    )
    data = builders.zip_from_members(
        [builders.deflated_member(name, body) for name, body in members.items()]
    )

    assert read(data) == [(1, HEADER), (2, KOFI)]


def test_a_dtd_in_the_package_relationships_is_unsafe(refusal):
    relationships = builders.xlsx_members(builders.xlsx_bytes([HEADER]))["_rels/.rels"]
    declared = b'<!DOCTYPE r [<!ENTITY x "x">]>' + relationships

    assert refusal(builders.repack_xlsx([HEADER], {"_rels/.rels": declared})).code == UNSAFE_FILE


def test_a_package_whose_main_part_is_a_word_document_is_still_refused_naming_it(refusal):
    # given a docx whose officeDocument relationship leads to its document part
    data = builders.zip_from_members(
        [
            builders.deflated_member(
                "[Content_Types].xml",
                b'<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
                b'<Override PartName="/word/document.xml" ContentType="application/'
                b'vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>',
            ),
            builders.deflated_member(
                "_rels/.rels",
                b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
                b'relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/'
                b'officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/>'
                b"</Relationships>",
            ),
            builders.deflated_member("word/document.xml", b"<w:document/>"),
        ]
    )

    error = refusal(data)

    assert error.code == UNSUPPORTED_FILE_TYPE
    assert "Word document (.docx)" in error.message


@pytest.mark.parametrize("version", ["BIFF2", "BIFF3", "BIFF4", "BIFF5"])
def test_an_old_excel_file_without_its_container_is_refused_as_an_old_excel_file(refusal, version):
    error = refusal(builders.old_excel_bytes(version))

    assert error.code == UNSUPPORTED_FILE_TYPE
    assert "older version of Excel" in error.message
    assert "Excel Workbook (.xlsx)" in error.message
    assert "binary data" not in error.message


def test_a_workbook_with_an_excel_4_macro_sheet_is_refused_saying_so(refusal):
    error = refusal(builders.xlsm_bytes([HEADER, KOFI], macro_sheet=True))

    assert error.code == UNSUPPORTED_FILE_TYPE
    assert "Excel 4.0 macro sheet" in error.message
    assert "damaged" not in error.message


def test_a_macro_enabled_workbook_is_read_and_named_xlsm(stream_of):
    with stream_of(builders.xlsm_bytes([HEADER, KOFI])) as stream:
        assert stream.file_type == "xlsm"
        assert list(stream) == [(1, HEADER), (2, KOFI)]


def test_a_damaged_macro_enabled_workbook_is_named_xlsm_in_the_message(refusal):
    broken_sheet = b'<worksheet><sheetData><row r="1"><c r="A1"><v>1'
    data = builders.xlsm_bytes([HEADER], replace={builders.SHEET_PATH: broken_sheet})

    error = refusal(data)

    assert error.code == CORRUPT_FILE
    assert "(.xlsm)" in error.message
    assert ".xlsx" not in error.message


@pytest.mark.parametrize(
    "data",
    [
        builders.xlsx_bytes([HEADER, KOFI], before=("empty", "empty")),
        builders.xlsx_bytes([HEADER, KOFI], before=("empty", "hidden")),
        builders.xls_bytes([HEADER, KOFI], before=[("worksheet", "Sheet1", [])]),
        builders.xls_bytes([HEADER, KOFI], before=[("worksheet", "Sheet1", [[None, "  "]])]),
    ],
    ids=["xlsx two empty sheets", "xlsx empty and hidden", "xls", "xls blank cells"],
)
def test_the_first_visible_sheet_that_holds_data_is_read(stream_of, data):
    with stream_of(data) as stream:
        rows = list(stream)

    # then the empty sheets before it are passed over (hidden ones stay unread), and the
    # stream names the sheet it read
    assert rows == [(1, HEADER), (2, KOFI)]
    assert stream.sheet_name == "Customers"


def test_a_workbook_whose_visible_sheets_are_all_empty_has_no_data(refusal):
    error = refusal(builders.xlsx_bytes([], before=("empty",)))

    assert error.code == NO_DATA
    assert "no row of any visible sheet" in error.message


# --- Zip container safety ---------------------------------------------------------------------


def test_a_zip_with_more_than_max_members_is_unsafe(refusal):
    assert refusal(builders.many_members_zip(1001)).code == UNSAFE_FILE


def test_a_zip64_archive_with_seventy_thousand_members_is_refused_before_zipfile_reads_it(
    refusal, monkeypatch
):
    # given a zip64 archive of 70,000 members (a valid workbook plus empty parts)
    data = builders.many_members_zip(70_000, zip64=True)
    zipfile_reads = _record_zip_directory_reads(monkeypatch)

    error = refusal(data, max_bytes=50 * MIB)

    # then the count came from the zip64 end record: zipfile never built 70,000 ZipInfo objects
    assert error.code == UNSAFE_FILE
    assert error.errors == {"max_members": 1000}
    assert zipfile_reads == []


def test_a_zip_that_declares_few_members_but_holds_many_is_refused_before_zipfile_reads_it(
    refusal, monkeypatch
):
    data = builders.many_members_zip(2000, declared_count=3)
    zipfile_reads = _record_zip_directory_reads(monkeypatch)

    error = refusal(data)

    # then the directory was walked, not trusted, and zipfile never read it
    assert error.code == UNSAFE_FILE
    assert error.errors == {"max_members": 1000}
    assert zipfile_reads == []


def test_a_zip_bomb_is_refused_without_unpacking_it_or_growing_memory(refusal, monkeypatch):
    # given a 300 KB xlsx whose sheet inflates to 300 MB, its sizes declared honestly
    data = builders.zip_bomb_xlsx(300)
    unpacked = _record_unpacked_members(monkeypatch)
    rss_before = _rss()

    error = refusal(data)

    # then it was refused from the declared sizes: no member, the sheet least of all, was opened
    assert len(data) < 400 * 1024
    assert error.code == UNSAFE_FILE
    assert error.errors == {"max_uncompressed": 200 * MIB}
    assert unpacked == []
    assert _rss() - rss_before < 50 * MIB


def test_a_member_compressed_over_max_ratio_is_refused_without_unpacking_it(refusal, monkeypatch):
    # given a 10 MB sheet of whitespace (inside max_uncompressed) that compresses 1000 times
    data = builders.ratio_bomb_xlsx(10)
    unpacked = _record_unpacked_members(monkeypatch)

    error = refusal(data)

    assert error.code == UNSAFE_FILE
    assert "compressed" in error.message
    assert unpacked == []


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16-le", "utf-16-be"])
@pytest.mark.parametrize("declaration", ["doctype", "entity"])
def test_xml_with_a_dtd_or_entity_declaration_is_unsafe(refusal, declaration, encoding):
    error = refusal(builders.entity_xlsx(declaration, encoding=encoding))

    assert error.code == UNSAFE_FILE
    assert "declarations" in error.message


@pytest.mark.parametrize("offset", [MIB - 5, MIB - 1, MIB + 3])
def test_a_declaration_across_the_one_mebibyte_read_boundary_is_found(refusal, offset):
    assert refusal(builders.entity_xlsx(padding=offset)).code == UNSAFE_FILE


# --- The calamine child -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "make",
    [builders.sparse_xlsx, builders.sparse_xls, builders.sparse_ods],
    ids=["xlsx A1+XFD1048576", "xls A1+IV65536", "ods repeated rows and columns"],
)
def test_a_tiny_sheet_with_a_far_away_cell_is_unsafe_and_costs_nothing_here(refusal, make):
    data = make()
    rss_before = _rss()

    error = refusal(data)

    # then the child, not this process, tried to allocate the grid
    assert len(data) < 10_000
    assert error.code == UNSAFE_FILE
    assert "too large to read safely" in error.message
    assert _rss() - rss_before < 50 * MIB


def test_a_sheet_just_over_the_child_memory_budget_is_unsafe(refusal):
    # 100,000 x 200 cells of 32 bytes: 640 MB (this file makes calamine take 638 MB unchecked)
    assert refusal(builders.sparse_xlsx(100_000, 200)).code == UNSAFE_FILE


def test_an_xls_claiming_the_whole_grid_in_its_dimensions_record_is_unsafe(refusal):
    # calamine reserves room for every cell the DIMENSIONS record claims, before any cell
    data = builders.xls_bytes([["Name"]], dimensions=(0, 65536, 0, 256))

    assert refusal(data).code == UNSAFE_FILE


def test_an_xlsx_claiming_the_whole_grid_in_its_dimension_is_read_by_its_cells(read):
    data = builders.xlsx_with_dimension([HEADER, KOFI], "A1:XFD1048576")

    assert read(data) == [(1, HEADER), (2, KOFI)]


def test_a_child_that_does_not_answer_within_timeout_s_is_killed(refusal):
    error = refusal(builders.xlsx_bytes([HEADER]), timeout_s=0.0)

    assert error.code == UNSAFE_FILE
    assert _children() == []


def test_the_child_has_ended_before_the_first_row_arrives(stream_of):
    # given a sheet whose rows are far more than a pipe holds (the child would wait on it)
    rows = [["Name"]] + [[f"customer {index}"] for index in range(20_000)]

    # when the first row is taken
    with stream_of(builders.xlsx_bytes(rows)) as stream:
        iterator = iter(stream)
        first = next(iterator)
        children = _children()
        rest = list(iterator)

    # then the child, which holds the whole grid while it reads, is gone already: the caller's
    # work on the rows never takes memory beside it; and every row still comes, in order
    assert children == []
    assert first == (1, ["Name"])
    assert rest[-1] == (20_001, ["customer 19999"])
    assert len(rest) == 20_000


def test_a_sheet_whose_rows_pass_max_read_bytes_is_unsafe_and_leaves_nothing_behind(
    refusal, tmp_path, monkeypatch
):
    # given a sheet of about 2 MB of text, and room for 1 MB of it
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    rows = [["Name"]] + [[f"customer {index:091d}"] for index in range(20_000)]

    # when it is read
    error = refusal(builders.xlsx_bytes(rows), max_read_bytes=MIB)

    # then it is refused, and neither the child nor the rows' file is left
    assert error.code == UNSAFE_FILE
    assert error.message.startswith("The sheet holds more than 1 MB of text, far more than any")
    assert _children() == []
    assert [path.name for path in tmp_path.iterdir()] == ["upload"]


def test_leaving_the_with_block_mid_iteration_kills_the_child(stream_of):
    rows = [["Name"]] + [[f"customer {index}"] for index in range(20_000)]
    with stream_of(builders.xlsx_bytes(rows)) as stream:
        for _ in stream:
            break

    assert _children() == []


def test_a_stream_dropped_without_closing_kills_its_child(stream_of):
    rows = [["Name"]] + [[f"customer {index}"] for index in range(20_000)]
    stream = stream_of(builders.xlsx_bytes(rows))
    next(iter(stream))

    del stream
    gc.collect()

    assert _children() == []


def test_a_fully_read_stream_leaves_no_child_behind(read):
    read(builders.xlsx_bytes([HEADER, KOFI]))

    assert _children() == []


def test_a_refused_workbook_leaves_no_child_behind(refusal):
    refusal(builders.sparse_xlsx())

    assert _children() == []


def test_a_refused_workbook_logs_no_cell_data(refusal, caplog):
    data = builders.xlsx_bytes(
        [["Secret Customer Name"]] + [[None]] * 5000 + [[None] * 300 + ["x"]]
    )

    with caplog.at_level("DEBUG"):
        refusal(data, memory_mb=1)

    assert "Secret Customer Name" not in caplog.text


# --- detect_type on the first bytes -----------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "file_type"),
    [
        (builders.xlsx_bytes([HEADER]), "xlsx"),
        (builders.ods_bytes([HEADER]), "ods"),
        (builders.xls_bytes([HEADER]), "xls"),
        (builders.csv_bytes([HEADER]), "csv"),
        (builders.csv_bytes([HEADER], encoding="utf-16-le", bom=True), "csv"),
    ],
    ids=["xlsx", "ods", "xls", "csv", "utf-16 csv"],
)
def test_detect_type_names_the_spreadsheet_type_from_the_first_bytes(data, file_type):
    assert detect_type(data[:8192]) == file_type


def test_detect_type_refuses_a_docx_from_its_first_bytes():
    with pytest.raises(FileError) as caught:
        detect_type(builders.docx_bytes()[:8192])

    assert "Word document" in caught.value.message


# --- A record's and a cell's size -------------------------------------------------------------


def traced_peak(function) -> int:
    """The most memory Python allocated while `function` ran (tracemalloc), in bytes."""
    gc.collect()
    tracemalloc.start()
    try:
        function()
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak


def test_a_csv_record_of_a_million_fields_is_refused_while_it_is_read(refusal):
    # given a 3 MB CSV whose second record has a million fields on short lines (built whole,
    # the record alone would take about 70 MB)
    data = builders.one_record_csv(1_000_000)
    refused = []

    # when it is read
    peak = traced_peak(lambda: refused.append(refusal(data)))

    # then it is refused, naming the record, before the record is built
    assert refused[0].code == UNSAFE_FILE
    assert refused[0].message.startswith("Row 2 ")
    assert peak < 8 * MIB


@pytest.mark.parametrize(("fields", "refused"), [(400, False), (600, True)])
def test_a_csv_record_is_refused_past_max_record_chars_wherever_its_line_breaks_are(
    read, refusal, fields, refused
):
    # two-letter fields, a quoted line break every ten fields: 3 characters and more a field
    record = ("ab," * 9 + '"a\nb",') * (fields // 10)
    data = ("Name\r\n" + record + "\r\n").encode()

    if refused:
        assert refusal(data, max_record_chars=1500).code == UNSAFE_FILE
    else:
        assert len(read(data, max_record_chars=1500)[1][1]) == 256  # max_columns kept


@pytest.mark.parametrize("file_type", [*WORKBOOKS, "csv"])
def test_a_cell_longer_than_max_cell_chars_arrives_cut_with_its_length(read, file_type):
    make = WORKBOOKS.get(file_type, builders.csv_bytes)

    rows = read(make([["Name", "Notes"], ["Kofi", "x" * 5000]]), max_cell_chars=1000)

    cell = rows[1][1][1]
    assert isinstance(cell, CutText)
    assert cell == "x" * 1000
    assert cell.length == 5000
    assert rows[1][1][0] == "Kofi"
    assert not isinstance(rows[1][1][0], CutText)


def test_a_workbook_cell_of_eight_million_letters_never_reaches_this_process_whole(read):
    # given an xlsx of about 200 KB whose one inline string holds 8 MB of letters
    data = builders.long_cell_xlsx(8_000_000)
    rows = []

    # when it is read
    peak = traced_peak(lambda: rows.extend(read(data)))

    # then the cell arrives cut, and this process never held it (what it did hold is the zip
    # check's streamed scan of the sheet XML, about 5 MB at its peak whatever the sheet's size)
    assert rows[1][1][1].length == 8_000_000
    assert len(rows[1][1][1]) == ReaderLimits().max_cell_chars
    assert peak < 8 * MIB
