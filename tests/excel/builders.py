"""Spreadsheet files built in memory, as bytes, for tests: good files of every type the import
reads, and the hostile ones it must refuse. Nothing here is committed as a binary.

Good files: xlsx_bytes, csv_bytes, ods_bytes, xls_bytes (rows from A1; None is an empty cell).
As other programs write them: xlsx_with_numbers (NaN, inf), relocated_xlsx (the workbook part
elsewhere, backslashes), xlsm_bytes (with an Excel 4.0 macro sheet), old_excel_bytes (bare
BIFF2-5 streams), xlsx_bytes/xls_bytes with sheets `before` the data sheet.
Hostile or broken: zip_bomb_xlsx, lying_size_xlsx, ratio_bomb_xlsx, many_members_zip,
sparse_xlsx, sparse_xls, sparse_ods, xlsx_with_dimension, entity_xlsx, truncated.
Not spreadsheets: NOT_SPREADSHEETS (what it is -> bytes), docx_bytes, odt_bytes, doc_bytes,
encrypted_ooxml_bytes (a password-protected xlsx), xls_bytes(..., encryption="rc4" or "xor").
Building blocks: zip_from_members with stored_member/deflated_member (any zip; sizes, CRCs and
counts may lie), repack_xlsx, ods_from_table_xml, ole_bytes (an OLE file holding any streams).
"""

import codecs
import csv
import datetime
import functools
import io
import random
import re
import struct
import zipfile
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape

import openpyxl

MIB = 1024 * 1024
Cell = str | int | float | bool | datetime.date | datetime.datetime | datetime.time | None
Rows = Sequence[Sequence[Cell]]

# --- xlsx -------------------------------------------------------------------------------------


def xlsx_bytes(rows: Rows, sheet_title: str = "Customers", *, before: Sequence[str] = ()) -> bytes:
    """An .xlsx written by openpyxl with `rows` from A1 (None leaves a cell empty).

    `before` adds sheets ahead of the data sheet, in order: "hidden", "veryHidden" (each holding
    one decoy row), "chart" (a chartsheet) or "empty" (a visible sheet without a value), to
    check the reader picks the first visible one that holds data.
    """
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = sheet_title
    for row in rows:
        sheet.append(list(row))
    for index, kind in enumerate(before):
        if kind == "chart":
            book.create_chartsheet(f"Chart{index}", index)
        elif kind == "empty":
            book.create_sheet(f"Sheet{index}", index)
        else:
            decoy = book.create_sheet(f"Decoy{index}", index)
            decoy.append(["decoy", "row"])
            decoy.sheet_state = kind
    book.active = len(before)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def xlsx_with_numbers(rows: Rows, literals: dict[str, str]) -> bytes:
    """xlsx_bytes(rows) whose numeric cells named in `literals` ("B2" -> "NaN") hold that text
    as their value, as another program may write it (`<v>NaN</v>`, `<v>inf</v>`)."""
    sheet = xlsx_members(xlsx_bytes(rows))[SHEET_PATH].decode()
    for ref, literal in literals.items():
        sheet, found = re.subn(
            f'(<c r="{ref}" t="n"><v>)[^<]*(</v>)', rf"\g<1>{literal}\g<2>", sheet
        )
        assert found == 1, f"{ref} is not a numeric cell"
    return repack_xlsx(rows, {SHEET_PATH: sheet.encode()})


def relocated_xlsx(rows: Rows, folder: str, *, backslashes: bool = False) -> bytes:
    """xlsx_bytes(rows) with its workbook's parts moved from xl/ to `folder` ("" for the
    package's root, else ending in "/"), every relationship and content type following them:
    a package Excel reads by its relationships. `backslashes` writes every part name with "\\"
    for "/", as some exporters do."""
    members = []
    for name, body in xlsx_members(xlsx_bytes(rows)).items():
        if name.startswith("xl/"):
            name = folder + name.removeprefix("xl/")
        body = body.replace(b'"/xl/', b'"/' + folder.encode()).replace(
            b'"xl/', b'"' + folder.encode()
        )
        members.append(deflated_member(name.replace("/", "\\") if backslashes else name, body))
    return zip_from_members(members)


_XLSM_MAIN = b"application/vnd.ms-excel.sheet.macroEnabled.main+xml"
_XLSX_MAIN = b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"


def xlsm_bytes(
    rows: Rows, *, macro_sheet: bool = False, replace: dict[str, bytes] | None = None
) -> bytes:
    """A macro-enabled workbook (.xlsm): xlsx_bytes(rows) whose workbook part has the .xlsm
    content type. `macro_sheet` adds an Excel 4.0 macro sheet ("Macro1", one formula) ahead of
    the data sheet; `replace` then replaces (or adds) members."""
    members = xlsx_members(xlsx_bytes(rows))
    changed = {
        "[Content_Types].xml": members["[Content_Types].xml"].replace(_XLSX_MAIN, _XLSM_MAIN)
    }
    if macro_sheet:
        changed["xl/workbook.xml"] = members["xl/workbook.xml"].replace(
            b"<sheets>", b'<sheets><sheet name="Macro1" sheetId="9" r:id="rId9" />'
        )
        changed["xl/_rels/workbook.xml.rels"] = members["xl/_rels/workbook.xml.rels"].replace(
            b"</Relationships>",
            b'<Relationship Type="http://schemas.microsoft.com/office/2006/relationships/'
            b'xlMacrosheet" Target="/xl/macrosheets/sheet1.xml" Id="rId9" /></Relationships>',
        )
        changed["[Content_Types].xml"] = changed["[Content_Types].xml"].replace(
            b"</Types>",
            b'<Override PartName="/xl/macrosheets/sheet1.xml" '
            b'ContentType="application/vnd.ms-excel.macrosheet+xml" /></Types>',
        )
        changed["xl/macrosheets/sheet1.xml"] = (
            b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<xm:macrosheet '
            b'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
            b'xmlns:xm="http://schemas.microsoft.com/office/excel/2006/main"><sheetData>'
            b'<row r="1"><c r="A1"><f>HALT()</f><v>1</v></c></row></sheetData></xm:macrosheet>'
        )
    return repack_xlsx(rows, changed | (replace or {}))


def sparse_xlsx(far_row: int = 1_048_576, far_col: int = 16_384) -> bytes:
    """A tiny .xlsx with a value at A1 and one at (far_row, far_col), both 1-based: calamine
    allocates the whole grid between them (32 bytes a cell)."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.cell(row=1, column=1, value="Name")
    sheet.cell(row=far_row, column=far_col, value="far")
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def xlsx_with_dimension(rows: Rows, ref: str) -> bytes:
    """xlsx_bytes(rows) whose sheet claims the used range `ref` (e.g. "A1:XFD1048576")."""
    members = xlsx_members(xlsx_bytes(rows))
    sheet = re.sub(
        rb'<dimension ref="[^"]*"', f'<dimension ref="{ref}"'.encode(), members[SHEET_PATH]
    )
    return repack_xlsx(rows, {SHEET_PATH: sheet})


def xlsx_members(data: bytes) -> dict[str, bytes]:
    """The members of a zip file, uncompressed, in order."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def repack_xlsx(rows: Rows, replace: dict[str, bytes]) -> bytes:
    """xlsx_bytes(rows) with some members' contents replaced (or added), honestly zipped."""
    members = xlsx_members(xlsx_bytes(rows)) | replace
    return zip_from_members([deflated_member(name, body) for name, body in members.items()])


SHEET_PATH = "xl/worksheets/sheet1.xml"
_SHEET_HEAD = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
)
_SHEET_ONE_CELL = b'<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>Name</t></is></c></row>'
_SHEET_TAIL = b"</sheetData></worksheet>"


def entity_xlsx(
    declaration: str = "doctype", *, encoding: str = "utf-8", padding: int = 0
) -> bytes:
    """An .xlsx whose sheet XML declares a DTD ("doctype") or an entity ("entity", inside an
    internal subset). `encoding` may be "utf-16-le" or "utf-16-be" (a BOM is written).
    `padding` > 0 puts an XML comment first so the declaration starts `padding` characters into
    the member (bytes, in UTF-8): to place it across a reader's chunk boundary."""
    declaration_text = {
        "doctype": '<!DOCTYPE worksheet SYSTEM "http://example.com/x.dtd">',
        "entity": '<!DOCTYPE worksheet [<!ENTITY lol "lol">]>',
    }[declaration]
    prolog = '<?xml version="1.0" encoding="{}"?>\n'.format(
        "UTF-8" if encoding == "utf-8" else "UTF-16"
    )
    text = prolog
    if padding:
        # "<!--" + filler + "-->" ends exactly `padding` characters in; random hex so the
        # padding does not compress like a zip bomb.
        filler = random.Random(0).randbytes(padding).hex()[: max(padding - 7 - len(prolog), 0)]
        text += "<!--" + filler + "-->"
    text += declaration_text + _SHEET_HEAD.decode().split("\n", 1)[1]
    text += (_SHEET_ONE_CELL + _SHEET_TAIL).decode()
    body = text.encode(encoding)
    if encoding == "utf-16-le":
        body = codecs.BOM_UTF16_LE + body
    elif encoding == "utf-16-be":
        body = codecs.BOM_UTF16_BE + body
    return repack_xlsx([["Name"]], {SHEET_PATH: body})


def long_cell_xlsx(chars: int, *, column: str = "B") -> bytes:
    """An .xlsx with a header row and one customer whose cell in `column` (B: First Name) is an
    inline string of `chars` letters. The text repeats a 16 KB random block with every 128th
    letter random again, so deflate packs it about 45 to 1: under the zip checks' ratio limit, as
    a hostile file would keep it."""
    rng = random.Random(1)
    letters = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    block = bytes(rng.choices(letters, k=16 * 1024))
    text = bytearray((block * (chars // len(block) + 1))[:chars])
    text[::128] = bytes(rng.choices(letters, k=len(text[::128])))
    header = ["Shipping Mark", "First Name", "Last Name", "Phone Number", "Notes"]
    customer = {"A": b"PM LONG", "B": b"Kofi", "C": b"Mensah", "D": b"0241234567", "E": b""}
    customer[column] = bytes(text)

    def inline(ref: str, value: bytes) -> bytes:
        return b'<c r="%s" t="inlineStr"><is><t>%s</t></is></c>' % (ref.encode(), value)

    row1 = b"".join(inline(f"{chr(65 + i)}1", name.encode()) for i, name in enumerate(header))
    row2 = b"".join(inline(f"{ref}2", value) for ref, value in customer.items() if value)
    body = (
        _SHEET_HEAD
        + b'<sheetData><row r="1">'
        + row1
        + b'</row><row r="2">'
        + row2
        + b"</row>"
        + _SHEET_TAIL
    )
    return repack_xlsx([header], {SHEET_PATH: body})


def one_record_csv(fields: int) -> bytes:
    """A CSV whose second record has `fields` two-letter fields: a quoted line break every
    100,000 fields keeps every physical line short, so only the record is huge (the csv module
    builds the whole record before a reader can cut it)."""
    line = "ab," * 99_999 + '"a\nb",'
    lines, rest = divmod(fields, 100_000)
    record = line * lines + "ab," * rest
    return ("Shipping Mark,First Name,Last Name,Phone Number\r\n" + record + "\r\n").encode()


@functools.lru_cache(maxsize=4)
def zip_bomb_xlsx(inflated_mb: int = 300) -> bytes:
    """An .xlsx of about inflated_mb KB whose sheet XML inflates to inflated_mb MB (one cell
    holding that many "A"s), sizes declared honestly. Built by repeating one compressed block, so
    it takes a fraction of a second; cached."""
    block = b"A" * MIB
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = _SHEET_HEAD + b'<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>'
    tail = b"</t></is></c></row>" + _SHEET_TAIL
    # After a full flush the compressor starts afresh, so each block compresses to the same bytes.
    start = compressor.compress(head) + compressor.flush(zlib.Z_FULL_FLUSH)
    middle = compressor.compress(block) + compressor.flush(zlib.Z_FULL_FLUSH)
    end = compressor.compress(tail) + compressor.flush()
    crc = zlib.crc32(head)
    for _ in range(inflated_mb):
        crc = zlib.crc32(block, crc)
    crc = zlib.crc32(tail, crc)
    bomb = ZipMember(
        name=SHEET_PATH,
        data=start + middle * inflated_mb + end,
        file_size=len(head) + inflated_mb * MIB + len(tail),
        crc=crc,
    )
    others = [
        deflated_member(name, body)
        for name, body in xlsx_members(xlsx_bytes([["Name"]])).items()
        if name != SHEET_PATH
    ]
    return zip_from_members([*others, bomb])


def lying_size_xlsx(inflated_mb: int = 50) -> bytes:
    """zip_bomb_xlsx's sheet, but its directory declares a 2 KB member: zipfile stops at the
    declared size and the CRC fails."""
    members = _parse_members(zip_bomb_xlsx(inflated_mb))
    members = [
        ZipMember(m.name, m.data, 2048, m.crc, m.method) if m.name == SHEET_PATH else m
        for m in members
    ]
    return zip_from_members(members)


def ratio_bomb_xlsx(padding_mb: int = 10) -> bytes:
    """An .xlsx whose sheet XML holds padding_mb MB of whitespace: inflates over 1000 times, far
    above any real sheet, while the whole stays small."""
    sheet = _SHEET_HEAD + b" " * (padding_mb * MIB) + _SHEET_ONE_CELL + _SHEET_TAIL
    return repack_xlsx([["Name"]], {SHEET_PATH: sheet})


def many_members_zip(
    count: int, *, zip64: bool = False, declared_count: int | None = None
) -> bytes:
    """An .xlsx with `count` extra empty members. `zip64` writes zip64 end records (as any zip
    with over 65,535 members needs); `declared_count` makes the end record lie about the count."""
    members = [
        deflated_member(name, body) for name, body in xlsx_members(xlsx_bytes([["a"]])).items()
    ]
    members += [stored_member(f"xl/media/filler{index}.bin", b"") for index in range(count)]
    return zip_from_members(members, zip64=zip64, declared_count=declared_count)


def docx_bytes() -> bytes:
    """A minimal Word document (.docx): an OOXML zip with word/document.xml."""
    return zip_from_members(
        [
            deflated_member("[Content_Types].xml", b"<Types/>"),
            deflated_member("word/document.xml", b"<w:document/>"),
        ]
    )


def odt_bytes() -> bytes:
    """A minimal OpenDocument text document (.odt)."""
    return zip_from_members(
        [
            stored_member("mimetype", b"application/vnd.oasis.opendocument.text"),
            deflated_member("content.xml", b"<office:document-content/>"),
        ]
    )


def truncated(data: bytes, keep: float = 0.5) -> bytes:
    """The first `keep` fraction of `data`, as an interrupted upload leaves it."""
    return data[: int(len(data) * keep)]


# --- Raw zip writer ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ZipMember:
    """One member as stored: `data` is already compressed when method is ZIP_DEFLATED;
    file_size and crc are what the directory declares, true or not."""

    name: str
    data: bytes
    file_size: int
    crc: int
    method: int = zipfile.ZIP_DEFLATED


def deflated_member(name: str, body: bytes) -> ZipMember:
    compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
    data = compressor.compress(body) + compressor.flush()
    return ZipMember(name, data, len(body), zlib.crc32(body))


def stored_member(name: str, body: bytes) -> ZipMember:
    return ZipMember(name, body, len(body), zlib.crc32(body), zipfile.ZIP_STORED)


def zip_from_members(
    members: Sequence[ZipMember], *, zip64: bool = False, declared_count: int | None = None
) -> bytes:
    """A zip file holding `members` exactly as given (so sizes, CRCs and counts can lie)."""
    out = io.BytesIO()
    directory = io.BytesIO()
    for member in members:
        name = member.name.encode()
        offset = out.tell()
        fields = (member.method, 0, 0x21, member.crc, len(member.data), member.file_size)
        out.write(struct.pack("<4s2H", b"PK\x03\x04", 20, 0x800))
        out.write(struct.pack("<3H3I2H", *fields, len(name), 0))
        out.write(name + member.data)
        directory.write(struct.pack("<4s3H", b"PK\x01\x02", 20, 20, 0x800))
        directory.write(struct.pack("<3H3I", *fields))
        directory.write(struct.pack("<5H2I", len(name), 0, 0, 0, 0, 0, offset) + name)
    count = len(members) if declared_count is None else declared_count
    directory_offset = out.tell()
    directory_size = directory.tell()
    out.write(directory.getvalue())
    if zip64:
        record_offset = out.tell()
        out.write(struct.pack("<4sQ2H2L4Q", b"PK\x06\x06", 44, 45, 45, 0, 0, count, count,
                              directory_size, directory_offset))  # fmt: skip
        out.write(struct.pack("<4sLQL", b"PK\x06\x07", 0, record_offset, 1))
        out.write(struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, 0xFFFF, 0xFFFF,
                              0xFFFFFFFF, 0xFFFFFFFF, 0))  # fmt: skip
    else:
        out.write(struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, count, count,
                              directory_size, directory_offset, 0))  # fmt: skip
    return out.getvalue()


def _parse_members(data: bytes) -> list[ZipMember]:
    """The members of a zip written by zip_from_members, as stored (not inflated)."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        members = []
        for info in archive.infolist():
            start = info.header_offset + 30 + len(info.filename.encode())
            body = data[start : start + info.compress_size]
            members.append(
                ZipMember(info.filename, body, info.file_size, info.CRC, info.compress_type)
            )
        return members


# --- csv --------------------------------------------------------------------------------------

_BOMS = {
    "utf-8": codecs.BOM_UTF8,
    "utf-16-le": codecs.BOM_UTF16_LE,
    "utf-16-be": codecs.BOM_UTF16_BE,
}


def csv_bytes(
    rows: Rows, encoding: str = "utf-8", delimiter: str = ",", bom: bool = False
) -> bytes:
    """A CSV file as Excel writes one: CRLF line ends, fields quoted when needed (so a field may
    hold the delimiter or a line break). `encoding` is a Python codec name ("utf-8", "cp1252",
    "utf-16-le", "utf-16-be"); `bom` prefixes the encoding's byte order mark."""
    text = io.StringIO()
    writer = csv.writer(text, delimiter=delimiter, lineterminator="\r\n")
    writer.writerows(["" if cell is None else cell for cell in row] for row in rows)
    prefix = _BOMS[encoding.lower()] if bom else b""
    return prefix + text.getvalue().encode(encoding)


# --- ods --------------------------------------------------------------------------------------

_ODS_MIMETYPE = b"application/vnd.oasis.opendocument.spreadsheet"
_ODS_NAMESPACES = (
    'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
    'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
    'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"'
)
_ODS_MANIFEST = b"""<?xml version="1.0" encoding="UTF-8"?>
<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" \
manifest:version="1.2">
 <manifest:file-entry manifest:full-path="/" \
manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>
 <manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>
</manifest:manifest>
"""


def _ods_cell(value: Cell) -> str:
    if value is None:
        return "<table:table-cell/>"
    if isinstance(value, bool):
        attributes = f'office:value-type="boolean" office:boolean-value="{str(value).lower()}"'
    elif isinstance(value, int | float):
        attributes = f'office:value-type="float" office:value="{value}"'
    elif isinstance(value, datetime.datetime | datetime.date):
        attributes = f'office:value-type="date" office:date-value="{value.isoformat()}"'
    else:
        attributes = 'office:value-type="string"'
    return (
        f"<table:table-cell {attributes}><text:p>{escape(str(value))}</text:p></table:table-cell>"
    )


def ods_from_table_xml(table_xml: str, sheet_title: str = "Customers") -> bytes:
    """An .ods whose one table holds `table_xml` (table:table-row elements), zipped as ODF
    requires: an uncompressed mimetype member first, then content.xml and the manifest."""
    content = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<office:document-content {_ODS_NAMESPACES} office:version="1.2">'
        f'<office:body><office:spreadsheet><table:table table:name="{escape(sheet_title)}">'
        f"{table_xml}</table:table></office:spreadsheet></office:body></office:document-content>"
    )
    return zip_from_members(
        [
            stored_member("mimetype", _ODS_MIMETYPE),
            deflated_member("content.xml", content.encode()),
            deflated_member("META-INF/manifest.xml", _ODS_MANIFEST),
        ]
    )


def ods_bytes(rows: Rows, sheet_title: str = "Customers") -> bytes:
    """An OpenDocument spreadsheet (.ods) with `rows` from A1, built by hand (no library)."""
    table = "".join(
        "<table:table-row>" + "".join(_ods_cell(cell) for cell in row) + "</table:table-row>"
        for row in rows
    )
    return ods_from_table_xml(table, sheet_title)


def sparse_ods(far_row: int = 1_048_576, far_col: int = 16_384) -> bytes:
    """A tiny .ods with a value at A1 and one at (far_row, far_col), 1-based, reached through
    number-rows-repeated and number-columns-repeated."""
    table = (
        f"<table:table-row>{_ods_cell('Name')}</table:table-row>"
        f'<table:table-row table:number-rows-repeated="{far_row - 2}"><table:table-cell/>'
        "</table:table-row>"
        f'<table:table-row><table:table-cell table:number-columns-repeated="{far_col - 1}"/>'
        f"{_ods_cell('far')}</table:table-row>"
    )
    return ods_from_table_xml(table)


# --- xls (BIFF8 inside an OLE compound file) ---------------------------------------------------

_ENDOFCHAIN = 0xFFFFFFFE
_FREESECT = 0xFFFFFFFF
_FATSECT = 0xFFFFFFFD
_NOSTREAM = 0xFFFFFFFF


def ole_bytes(streams: dict[str, bytes]) -> bytes:
    """An OLE compound file (version 3, 512-byte sectors) holding `streams` in its root storage:
    the container of .xls, .doc and encrypted Office files. Streams under 4096 bytes go in the
    mini stream, as the format requires. Good for files up to about 7 MB."""
    sectors: list[bytes] = []
    fat: list[int] = []

    def allocate(data: bytes, unit: int, store: list[bytes], chain: list[int]) -> int:
        count = max(1, -(-len(data) // unit))
        start = len(store)
        for index in range(count):
            store.append(data[index * unit : (index + 1) * unit].ljust(unit, b"\x00"))
            chain.append(start + index + 1 if index < count - 1 else _ENDOFCHAIN)
        return start

    mini: list[bytes] = []
    mini_fat: list[int] = []
    entries = []
    for name, data in streams.items():
        if len(data) < 4096:
            start = allocate(data, 64, mini, mini_fat) if data else _ENDOFCHAIN
        else:
            start = allocate(data, 512, sectors, fat)
        entries.append((name, 2, start, len(data)))
    mini_stream = b"".join(mini)
    root_start = allocate(mini_stream, 512, sectors, fat) if mini_stream else _ENDOFCHAIN
    mini_fat_bytes = struct.pack(f"<{len(mini_fat)}I", *mini_fat)
    mini_fat_start = allocate(mini_fat_bytes, 512, sectors, fat) if mini_fat else _ENDOFCHAIN
    mini_fat_sectors = -(-len(mini_fat_bytes) // 512)

    # Directory: the root, then the streams chained as right siblings (a valid, if lopsided, tree).
    directory = [_directory_entry("Root Entry", 5, root_start, len(mini_stream), child=1)]
    for index, (name, kind, start, size) in enumerate(entries, 1):
        right = index + 1 if index < len(entries) else _NOSTREAM
        directory.append(_directory_entry(name, kind, start, size, right=right))
    while len(directory) % 4:
        directory.append(_directory_entry("", 0, 0, 0))
    directory_start = allocate(b"".join(directory), 512, sectors, fat)

    fat_count = 1
    while fat_count * 128 < len(sectors) + fat_count:
        fat_count += 1
    fat_start = len(sectors)
    fat += [_FATSECT] * fat_count
    fat += [_FREESECT] * (fat_count * 128 - len(fat))
    fat_bytes = struct.pack(f"<{len(fat)}I", *fat)
    sectors += [fat_bytes[index * 512 : (index + 1) * 512] for index in range(fat_count)]
    difat = [fat_start + index for index in range(fat_count)]
    difat += [_FREESECT] * (109 - len(difat))

    header = struct.pack(
        "<8s16s5H6s9I109I",
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",
        b"\x00" * 16,  # CLSID
        0x003E,  # minor version
        0x0003,  # major version 3
        0xFFFE,  # little-endian
        9,  # 512-byte sectors
        6,  # 64-byte mini sectors
        b"\x00" * 6,
        0,  # directory sectors (always 0 in version 3)
        fat_count,
        directory_start,
        0,  # transaction signature
        4096,  # mini stream cutoff
        mini_fat_start,
        mini_fat_sectors,
        _ENDOFCHAIN,  # first DIFAT sector: none
        0,  # DIFAT sectors
        *difat,
    )
    return header + b"".join(sectors)


def _directory_entry(
    name: str, kind: int, start: int, size: int, *, child: int = _NOSTREAM, right: int = _NOSTREAM
) -> bytes:
    encoded = (name + "\x00").encode("utf-16-le") if name else b""
    return struct.pack(
        "<64sH2B3I16sI8s8sIQ",
        encoded,
        len(encoded),
        kind,
        1,  # black
        _NOSTREAM,  # left sibling
        right,
        child,
        b"\x00" * 16,
        0,
        b"\x00" * 8,
        b"\x00" * 8,
        start if kind else 0,
        size,
    )


def _record(kind: int, data: bytes = b"") -> bytes:
    return struct.pack("<2H", kind, len(data)) + data


def _xl_unicode_string(text: str, length_bytes: int = 2) -> bytes:
    """XLUnicodeString (2-byte length) or ShortXLUnicodeString (1-byte), stored as UTF-16."""
    length = struct.pack("<H" if length_bytes == 2 else "<B", len(text))
    return length + b"\x01" + text.encode("utf-16-le")


def _xls_cell(row: int, column: int, value: Cell) -> bytes:
    if isinstance(value, bool):
        return _record(0x0205, struct.pack("<3H2B", row, column, 0, int(value), 0))
    if isinstance(value, int | float):
        return _record(0x0203, struct.pack("<3Hd", row, column, 0, float(value)))
    if isinstance(value, datetime.datetime | datetime.date):
        moment = (
            value
            if isinstance(value, datetime.datetime)
            else datetime.datetime(value.year, value.month, value.day)
        )
        serial = (moment - datetime.datetime(1899, 12, 30)).total_seconds() / 86400
        return _record(0x0203, struct.pack("<3Hd", row, column, 1, serial))  # XF 1: a date
    return _record(0x0204, struct.pack("<3H", row, column, 0) + _xl_unicode_string(str(value)))


_FILEPASS = {
    # RC4 (CryptoAPI-style header; the contents are placeholders): what a password sets.
    "rc4": struct.pack("<3H", 1, 1, 1) + b"\x00" * 48,
    # XOR obfuscation: a key and a verifier; what "Protect workbook" in Excel 95 and some
    # exporters write.
    "xor": struct.pack("<3H", 0, 0x1234, 0x5678),
}
# BOUNDSHEET's sheet type and the sheet's BOF substream type, by kind of sheet.
_XLS_SHEET_KINDS = {"worksheet": (0x00, 0x0010), "macro": (0x01, 0x0040)}


def _xls_substream(
    kind: str,
    rows: Rows,
    cells: Sequence[tuple[int, int, Cell]] = (),
    dimensions: tuple[int, int, int, int] | None = None,
) -> bytes:
    substream = _XLS_SHEET_KINDS[kind][1]
    body = [_record(0x0809, struct.pack("<4H2I", 0x0600, substream, 0x0DBB, 0x07CC, 0, 6))]
    if dimensions is not None:
        body.append(_record(0x0200, struct.pack("<2I3H", *dimensions, 0)))
    for row_index, row in enumerate(rows):
        for column, value in enumerate(row):
            if value is not None:
                body.append(_xls_cell(row_index, column, value))
    body += [_xls_cell(row, column, value) for row, column, value in cells]
    body.append(_record(0x000A))
    return b"".join(body)


def xls_bytes(
    rows: Rows,
    sheet_title: str = "Customers",
    *,
    encryption: str | None = None,
    cells: Sequence[tuple[int, int, Cell]] = (),
    dimensions: tuple[int, int, int, int] | None = None,
    before: Sequence[tuple[str, str, Rows]] = (),
) -> bytes:
    """An Excel 97-2003 workbook (.xls): a minimal BIFF8 Workbook stream (LABEL, NUMBER and
    BOOLERR cells; dates as numbers in a date format) in an OLE compound file.

    `cells` adds (row, column, value) cells, 0-based, anywhere; `dimensions` writes a DIMENSIONS
    record claiming (first_row, last_row + 1, first_col, last_col + 1); `encryption` ("rc4" or
    "xor") adds the FILEPASS record of a protected workbook. `before` adds sheets ahead of the
    data sheet, each (kind, title, rows) with kind "worksheet" or "macro" (an Excel 4.0 macro
    sheet).
    """
    sheets = [(kind, title, _xls_substream(kind, sheet_rows)) for kind, title, sheet_rows in before]
    sheets.append(("worksheet", sheet_title, _xls_substream("worksheet", rows, cells, dimensions)))
    return ole_bytes({"Workbook": _xls_workbook_stream(sheets, encryption)})


def _xls_workbook_stream(sheets: Sequence[tuple[str, str, bytes]], encryption: str | None) -> bytes:
    """The globals substream (BOF, FILEPASS, code page, two XFs, a BOUNDSHEET per sheet, EOF),
    then each sheet's substream at the offset its BOUNDSHEET gives."""
    bof_globals = _record(0x0809, struct.pack("<4H2I", 0x0600, 0x0005, 0x0DBB, 0x07CC, 0, 6))
    xfs = _record(0x00E0, struct.pack("<3H14x", 0, 0, 0)) + _record(
        0x00E0,
        struct.pack("<3H14x", 0, 14, 0),  # number format 14: a date
    )
    filepass = _record(0x002F, _FILEPASS[encryption]) if encryption else b""
    head = bof_globals + filepass + _record(0x0042, struct.pack("<H", 1200)) + xfs
    names = [_xl_unicode_string(title, length_bytes=1) for _, title, _ in sheets]
    offset = len(head) + sum(4 + 6 + len(name) for name in names) + 4  # + the EOF record
    boundsheets = []
    for (kind, _, substream), name in zip(sheets, names, strict=True):
        sheet_type = _XLS_SHEET_KINDS[kind][0]
        boundsheets.append(_record(0x0085, struct.pack("<I2B", offset, 0, sheet_type) + name))
        offset += len(substream)
    stream = (
        head
        + b"".join(boundsheets)
        + _record(0x000A)
        + b"".join(substream for _, _, substream in sheets)
    )
    return _xor_obfuscated(stream) if encryption == "xor" else stream


# Records XOR obfuscation leaves readable (MS-XLS 2.2.10): BOF and FILEPASS whole, BOUNDSHEET's
# first four bytes (the offset of its sheet).
_XOR_CLEAR = {0x0809: 1 << 16, 0x002F: 1 << 16, 0x0085: 4}
_XOR_KEY = bytes(range(0x5A, 0x5A + 16))  # stands in for the array Excel derives from a password


def _xor_obfuscated(stream: bytes) -> bytes:
    """`stream` with each record's data XORed with a 16-byte array by stream position and
    rotated left 5 bits, as Excel's XOR obfuscation writes it; record headers stay readable."""
    out = bytearray(stream)
    at = 0
    while at + 4 <= len(out):
        kind, length = struct.unpack_from("<2H", out, at)
        start = at + 4
        for position in range(start + min(_XOR_CLEAR.get(kind, 0), length), start + length):
            value = out[position] ^ _XOR_KEY[position % 16]
            out[position] = ((value << 5) | (value >> 3)) & 0xFF
        at = start + length
    return bytes(out)


# The BOF record each BIFF version begins with: (record type, version field, data length).
_OLD_BIFF = {
    "BIFF2": (0x0009, 0x0002, 4),  # Excel 2.x
    "BIFF3": (0x0209, 0x0003, 6),  # Excel 3.0
    "BIFF4": (0x0409, 0x0004, 6),  # Excel 4.0
    "BIFF5": (0x0809, 0x0500, 8),  # Excel 5.0/95
}


def old_excel_bytes(
    version: str, rows: Rows = (("Name", "Phone"), ("Kofi", "0241234567"))
) -> bytes:
    """A worksheet of Excel 2.x-4.0 ("BIFF2", "BIFF3", "BIFF4") or Excel 5.0/95 ("BIFF5") as
    those versions saved it, and as other programs still export it: the BIFF records alone,
    without the OLE container of an .xls (BOF, a LABEL per text cell, EOF)."""
    kind, version_field, length = _OLD_BIFF[version]
    bof = struct.pack("<2H", version_field, 0x0010) + b"\x00" * (length - 4)
    records = [_record(kind, bof)]
    for row_index, row in enumerate(rows):
        for column, value in enumerate(row):
            text = str(value).encode("cp1252")
            if version == "BIFF2":  # LABEL: row, column, 3 attribute bytes, 1-byte length
                data = struct.pack("<2H3xB", row_index, column, len(text)) + text
                records.append(_record(0x0004, data))
            else:  # LABEL: row, column, XF, 2-byte length
                data = struct.pack("<4H", row_index, column, 0, len(text)) + text
                records.append(_record(0x0204, data))
    records.append(_record(0x000A))
    return b"".join(records)


def sparse_xls() -> bytes:
    """A tiny .xls with values at A1 and IV65536: the dense grid is 16.7 million cells."""
    return xls_bytes([["Name"]], cells=[(65535, 255, "far")])


def encrypted_ooxml_bytes() -> bytes:
    """What Excel writes for an .xlsx with a password: an OLE file with EncryptionInfo and
    EncryptedPackage streams (contents here are placeholders)."""
    return ole_bytes({"EncryptionInfo": b"\x04\x00\x04\x00" + b"\x00" * 60,
                      "EncryptedPackage": b"\x00" * 5000})  # fmt: skip


def doc_bytes() -> bytes:
    """A stand-in Word 97-2003 document (.doc): an OLE file with a WordDocument stream."""
    return ole_bytes({"WordDocument": b"\xec\xa5" + b"\x00" * 5000, "1Table": b"\x00" * 600})


# --- Files that are not spreadsheets ------------------------------------------------------------

# What the reader should say it detected -> a file of that kind (the first bytes are what count).
NOT_SPREADSHEETS: dict[str, bytes] = {
    "PDF": b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n" * 20,
    "PNG": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01" + bytes(range(256)) * 8,
    "JPEG": b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01" + bytes(range(256)) * 8,
    "GIF": b"GIF89a\x01\x00\x01\x00\x80\x00\x00" + bytes(range(256)) * 8,
    "gzip": b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03" + bytes(range(256)) * 8,
    "7-Zip": b"7z\xbc\xaf\x27\x1c\x00\x04" + bytes(range(256)) * 8,
    "RAR": b"Rar!\x1a\x07\x01\x00" + bytes(range(256)) * 8,
    "ELF": b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 8 + bytes(range(256)) * 8,
    "Windows program": b"MZ\x90\x00\x03\x00\x00\x00\x04\x00" + b"\x00" * 50 + b"PE\x00\x00" * 100,
    "web page": (
        b'<html xmlns:o="urn:schemas-microsoft-com:office:office">\r\n<head><meta charset="utf-8">'
        b"</head><body><table><tr><td>Name</td><td>Phone</td></tr></table></body></html>\r\n"
    ),
    "Excel 2003 XML": (
        b'<?xml version="1.0"?>\r\n<?mso-application progid="Excel.Sheet"?>\r\n'
        b'<Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet">\r\n'
        b'<Worksheet ss:Name="Sheet1"><Table><Row><Cell><Data ss:Type="String">Name</Data>'
        b"</Cell></Row></Table></Worksheet></Workbook>\r\n"
    ),
    "binary data": bytes(range(256)) * 16,
}
