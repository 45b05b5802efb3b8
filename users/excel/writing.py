"""Writing spreadsheets: a streamed xlsx of text cells (xlsx_stream, for exports: its first bytes
leave before the second row is read, and memory stays flat), xlsx through openpyxl's write-only
mode (write_xlsx, for the small files: the failed rows), CSV through the csv module.

Formula injection is impossible by construction: xlsx_stream writes every value as an inline
string, escaped XML with no formula element anywhere; write_xlsx writes every text cell as a
string cell (openpyxl would otherwise store "=..." as a formula); in CSV a value starting with
= + - @, a tab or a carriage return gets a leading single quote (the OWASP rule).
"""

import csv
import datetime
import re
import stat
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import IO, Any
from xml.sax.saxutils import escape, quoteattr

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ERROR_CODES, ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font, PatternFill
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from openpyxl.worksheet.worksheet import Worksheet
from stream_zip import ZIP_32, stream_zip

from users.excel.columns import column_letter

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_CONTENT_TYPE = "text/csv; charset=utf-8"

_HEADER_FONT = Font(bold=True)
_HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
_CSV_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def _text(value: str) -> str:
    # Control characters cannot be stored in xlsx XML; they only reach here from rows that were
    # refused for containing them, and the Error column says so.
    return ILLEGAL_CHARACTERS_RE.sub("\ufffd", value)


def _plain_text_is_safe(text: str) -> bool:
    """Whether openpyxl stores `text` as a string cell by itself: it turns "=..." into a formula
    and "#N/A"-like text into an error cell, and refuses control characters."""
    return (
        not text.startswith("=")
        and text not in ERROR_CODES
        and ILLEGAL_CHARACTERS_RE.search(text) is None
    )


def xlsx_cell(
    sheet: Worksheet | WriteOnlyWorksheet, value: object, *, header: bool = False
) -> object:
    """A value for a write-only sheet's row: text always as a string cell, never a formula.

    Plain text that openpyxl would store as a string anyway is passed as it is: a cell object
    for each value made a 100,000-customer export a third slower (6.9 s against 5.1 s)."""
    if value is None or value == "":
        return None
    if not header:
        if isinstance(value, str) and _plain_text_is_safe(value):
            return value
        if isinstance(value, int | float | datetime.date) and not isinstance(value, bool):
            return value
    if isinstance(value, bool) or not isinstance(value, int | float | datetime.date):
        cell = WriteOnlyCell(sheet, value=_text(str(value)))
        cell.data_type = "s"
    else:
        # openpyxl writes a date as it writes a datetime; its stubs name only the latter.
        cell = WriteOnlyCell(sheet, value=value)  # type: ignore[arg-type]
    if header:
        cell.font = _HEADER_FONT
        cell.fill = _HEADER_FILL
    return cell


def write_xlsx(
    target: IO[bytes] | str,
    *,
    title: str,
    headers: list[str],
    rows: Iterable[list[Any]],
    widths: list[int] | None = None,
    on_row: Callable[[int], object] | None = None,
) -> int:
    """Writes one sheet; returns the number of data rows. `on_row(n)` is called every 1000."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=title[:31])
    sheet.freeze_panes = "A2"
    for index, width in enumerate(widths or [18] * len(headers)):
        sheet.column_dimensions[column_letter(index)].width = width
    sheet.append([xlsx_cell(sheet, text, header=True) for text in headers])
    count = 0
    for row in rows:
        sheet.append([xlsx_cell(sheet, value) for value in row])
        count += 1
        if on_row is not None and count % 1000 == 0:
            on_row(count)
    workbook.save(target)
    return count


def csv_safe(value: object) -> str:
    """The OWASP rule for CSV injection: text a spreadsheet would run gets a leading quote."""
    if value is None:
        return ""
    text = str(value)
    if text.startswith(_CSV_TRIGGERS):
        return "'" + text
    return text


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_lines(headers: list[str], rows: Iterable[list[Any]]) -> Iterable[str]:
    """The CSV text, line by line (for a streaming response); a BOM first so Excel reads UTF-8."""
    writer = csv.writer(_Echo())
    yield "\ufeff" + writer.writerow([csv_safe(h) for h in headers])
    for row in rows:
        yield writer.writerow([csv_safe(value) for value in row])


# --- the streamed xlsx -------------------------------------------------------------------------

_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_DOC_RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
_XML = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_CONTENT_TYPES = (
    _XML + '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" '
    'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" ContentType="application/'
    'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/'
    'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/styles.xml" ContentType="application/'
    'vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
    "</Types>"
)
_ROOT_RELS = (
    _XML + f'<Relationships xmlns="{_PKG_RELS}">'
    f'<Relationship Id="rId1" Type="{_DOC_RELS}/officeDocument" Target="xl/workbook.xml"/>'
    "</Relationships>"
)
_WORKBOOK_RELS = (
    _XML + f'<Relationships xmlns="{_PKG_RELS}">'
    f'<Relationship Id="rId1" Type="{_DOC_RELS}/worksheet" Target="worksheets/sheet1.xml"/>'
    f'<Relationship Id="rId2" Type="{_DOC_RELS}/styles" Target="styles.xml"/>'
    "</Relationships>"
)
# Style 1 is the header's: bold on the template's blue.
_STYLES = (
    _XML + f'<styleSheet xmlns="{_MAIN}">'
    '<fonts count="2"><font><sz val="11"/><name val="Calibri"/></font>'
    '<font><b/><sz val="11"/><name val="Calibri"/></font></fonts>'
    '<fills count="3"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill>'
    '<fill><patternFill patternType="solid"><fgColor rgb="FFDDEBF7"/></patternFill></fill>'
    "</fills>"
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="2"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="0" fontId="1" fillId="2" borderId="0" xfId="0" applyFont="1" applyFill="1"/>'
    "</cellXfs>"
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    "</styleSheet>"
)
# What XML 1.0 cannot hold; only rows refused for holding them bring them here.
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
# Sheet XML is handed to the zip in pieces of about this many characters.
_PIECE = 64 * 1024


def _xml_text(value: object) -> str:
    text = escape(str(value))
    return _XML_ILLEGAL.sub("\ufffd", text) if _XML_ILLEGAL.search(text) else text


def _sheet_row(number: int, letters: list[str], values: Iterable[object], style: str = "") -> str:
    cells = "".join(
        f'<c r="{letter}{number}"{style} t="inlineStr"><is><t xml:space="preserve">'
        f"{_xml_text(value)}</t></is></c>"
        for letter, value in zip(letters, values, strict=False)
        if value is not None and value != ""
    )
    return f'<row r="{number}">{cells}</row>'


def _sheet(
    headers: list[str], rows: Iterable[Sequence[object]], widths: list[int]
) -> Iterator[bytes]:
    letters = [column_letter(i) for i in range(max(len(headers), len(widths)))]
    columns = "".join(
        f'<col min="{i}" max="{i}" width="{width}" customWidth="1"/>'
        for i, width in enumerate(widths, 1)
    )
    start = (
        _XML + f'<worksheet xmlns="{_MAIN}" xmlns:r="{_DOC_RELS}">'
        '<sheetViews><sheetView workbookViewId="0">'
        '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
        "</sheetView></sheetViews>"
        f"{f'<cols>{columns}</cols>' if columns else ''}<sheetData>"
        + _sheet_row(1, letters, headers, ' s="1"')
    )
    pieces = [start]
    size = len(start)
    for number, row in enumerate(rows, 2):
        if len(letters) < len(row):
            letters += [column_letter(i) for i in range(len(letters), len(row))]
        piece = _sheet_row(number, letters, row)
        pieces.append(piece)
        size += len(piece)
        if size >= _PIECE:
            yield "".join(pieces).encode("utf-8")
            pieces, size = [], 0
    pieces.append("</sheetData></worksheet>")
    yield "".join(pieces).encode("utf-8")


def xlsx_stream(
    *,
    title: str,
    headers: list[str],
    rows: Iterable[Sequence[object]],
    widths: list[int] | None = None,
) -> Iterator[bytes]:
    """One sheet as xlsx bytes, made while `rows` are read: the zip (stream-zip) goes out member
    by member, the sheet's rows compressed as they come, so nothing waits for the last row and
    memory holds one piece at a time. Every value is an inline string cell: text stays text,
    and no value can become a formula. The header row is bold and frozen."""
    workbook = (
        _XML + f'<workbook xmlns="{_MAIN}" xmlns:r="{_DOC_RELS}"><bookViews><workbookView/>'
        f'</bookViews><sheets><sheet name={quoteattr(title[:31])} sheetId="1" r:id="rId1"/>'
        "</sheets></workbook>"
    )
    now = datetime.datetime.now(datetime.UTC)
    mode = stat.S_IFREG | 0o644
    members = [
        ("[Content_Types].xml", [_CONTENT_TYPES.encode()]),
        ("_rels/.rels", [_ROOT_RELS.encode()]),
        ("xl/workbook.xml", [workbook.encode()]),
        ("xl/_rels/workbook.xml.rels", [_WORKBOOK_RELS.encode()]),
        ("xl/styles.xml", [_STYLES.encode()]),
        ("xl/worksheets/sheet1.xml", _sheet(headers, rows, widths or [18] * len(headers))),
    ]
    return iter(
        stream_zip(
            ((name, now, mode, ZIP_32, chunks) for name, chunks in members),
            # Level 1: a third the time of the default 9 for a file a tenth larger.
            get_compressobj=lambda: zlib.compressobj(wbits=-zlib.MAX_WBITS, level=1),
        )
    )
