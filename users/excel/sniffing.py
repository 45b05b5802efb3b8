"""What an upload is, from its bytes, never its name: a spreadsheet type, or a refusal saying what
the file is instead.

Guards against a PDF, picture, program, archive, web page or other document uploaded as a
spreadsheet (each is named, so the user knows what they sent), and against binary data read as
CSV text. Also decides a CSV file's encoding. Pure: bytes in, answers out.
"""

import codecs
import re
import struct
import zipfile
from typing import BinaryIO

from users.errors import EMPTY_FILE, UNSUPPORTED_FILE_TYPE, FileError

ACCEPTED = (
    "Upload the customer list as an Excel workbook (.xlsx, .xls or .xlsb), an OpenDocument "
    "spreadsheet (.ods) or a CSV file."
)
MSG_EMPTY = "The file is empty (0 bytes)."
MSG_NOT_A_SPREADSHEET = "This is {what}, not a spreadsheet. " + ACCEPTED
MSG_WEB_PAGE = (
    "This is a web page (HTML) with a spreadsheet's name, not a real workbook. Open it in Excel, "
    "choose Save As > Excel Workbook (.xlsx), and upload that."
)
MSG_XML_2003 = (
    "This is an Excel 2003 XML spreadsheet, which cannot be read. Open it in Excel, choose "
    "Save As > Excel Workbook (.xlsx), and upload that."
)

MSG_OLD_EXCEL = (
    "This is a workbook from an older version of Excel ({version}), which cannot be read. Open "
    "it in Excel, choose Save As > Excel Workbook (.xlsx), and upload that."
)

ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
# The BOF record a bare BIFF stream starts with: Excel 2.x-4.0 saved one as the whole file, and
# programs still export Excel 5.0/95 (and 97) streams without the OLE container of an .xls.
# BOF type -> (the length of its data, the version it names).
_BIFF_BOF = {
    0x0009: (4, "Excel 2.x"),
    0x0209: (6, "Excel 3.0"),
    0x0409: (6, "Excel 4.0"),
    0x0809: (8, "Excel 5.0/95"),  # BIFF8's BOF has the same type and is 16 bytes long
}
_BIFF8_BOF_LENGTH = 16
_BINARY_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"%PDF-", "a PDF document"),
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"II*\x00", "a TIFF image"),
    (b"MM\x00*", "a TIFF image"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"Rar!\x1a\x07", "a RAR archive"),
    (b"\xfd7zXZ\x00", "an xz archive"),
    (b"\x28\xb5\x2f\xfd", "a Zstandard archive"),
    (b"\x7fELF", "a program (ELF executable)"),
    (b"PK\x05\x06", "an empty ZIP archive"),
    (b"PK\x07\x08", "a split ZIP archive"),
    (b"{\\rtf", "an RTF document"),
)
_ODS_MIMETYPE = "application/vnd.oasis.opendocument.spreadsheet"
_OPENDOCUMENT_KINDS = {
    "text": "an OpenDocument text document (.odt)",
    "presentation": "an OpenDocument presentation (.odp)",
    "graphics": "an OpenDocument drawing (.odg)",
}
# Control characters other than tab, CR and LF; C1 controls only appear when cp1252 has no
# character for a byte, which text never needs either.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_CHUNK = 1024 * 1024  # bytes decoded at a time when checking a whole file is UTF-8

# The error handler for cp1252 text: codecs.decode(data, "cp1252", CP1252_FALLBACK).
CP1252_FALLBACK = "users.excel.sniffing.latin1"


def _latin1_fallback(error: UnicodeError) -> tuple[str, int]:
    """The five bytes cp1252 leaves undefined decode as their latin-1 characters."""
    if not isinstance(error, UnicodeDecodeError):
        raise error
    return error.object[error.start : error.end].decode("latin-1"), error.end


codecs.register_error(CP1252_FALLBACK, _latin1_fallback)


def detect_type(head: bytes) -> str:
    """The file type from its first bytes (pass at least 8 KiB): "xlsx", "xls", "xlsb", "ods" or
    "csv". Raises FileError(unsupported_file_type) saying what the file is instead.

    For a zip this looks at the member names in `head`; open_rows decides from the zip's central
    directory instead, so it also knows a workbook whose first members are large.
    """
    if not head:
        raise FileError(EMPTY_FILE, MSG_EMPTY)
    if head.startswith(ZIP_MAGIC):
        names, mimetype = _local_member_names(head)
        kind = zip_kind(names, mimetype)
        if kind is None and "[content_types].xml" in names and not _other_zip_kind(names, mimetype):
            return "xlsx"  # an Office file whose telling parts lie beyond the head
        return kind or refuse_zip(names, mimetype)
    if head.startswith(_OLE_MAGIC):
        return "xls"
    for signature, what in _BINARY_SIGNATURES:
        if head.startswith(signature):
            raise not_a_spreadsheet(what)
    if head.startswith(b"MZ") and b"\x00" in head[:64]:
        raise not_a_spreadsheet("a Windows program (.exe)")
    _refuse_bare_biff(head)
    encoding = _bom_or_nul_encoding(head) or ("utf-8" if _is_utf8(head) else "cp1252")
    _check_text(decode_head(head, encoding))
    return "csv"


def not_a_spreadsheet(what: str) -> FileError:
    """The refusal of a file that is `what` ("a PDF document") instead of a spreadsheet."""
    return FileError(
        UNSUPPORTED_FILE_TYPE, MSG_NOT_A_SPREADSHEET.format(what=what), details={"detected": what}
    )


def _refuse_bare_biff(head: bytes) -> None:
    """Refuses a workbook that is a bare BIFF stream (no OLE container), naming its version."""
    if len(head) < 8:
        return
    kind, length = struct.unpack_from("<2H", head)
    if kind not in _BIFF_BOF:
        return
    expected, version = _BIFF_BOF[kind]
    if kind == 0x0809 and length == _BIFF8_BOF_LENGTH:
        version = "Excel 97-2003"
    elif length != expected:
        return
    raise FileError(
        UNSUPPORTED_FILE_TYPE,
        MSG_OLD_EXCEL.format(version=version),
        details={"detected": f"an {version} workbook"},
    )


# The content type of a package's main part -> the workbook it is (keys lower-cased).
_WORKBOOK_CONTENT_TYPES = {
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml": "xlsx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.template.main+xml": "xlsx",
    "application/vnd.ms-excel.sheet.macroenabled.main+xml": "xlsm",
    "application/vnd.ms-excel.template.macroenabled.main+xml": "xlsm",
    "application/vnd.ms-excel.addin.macroenabled.main+xml": "xlsm",
    "application/vnd.ms-excel.sheet.binary.macroenabled.main": "xlsb",
}
_WORKBOOK_PART_NAMES = {"workbook.xml": "xlsx", "workbook.bin": "xlsb"}
# A part declared only this vaguely (or not at all) is taken for a workbook by its name.
_GENERIC_CONTENT_TYPES = {"", "application/xml", "text/xml", "application/octet-stream"}


def workbook_kind(part: str, content_type: str | None) -> str | None:
    """xlsx, xlsm or xlsb for a package whose main part (the officeDocument relationship's
    target) is `part` of `content_type`; by the part's name when its content type is missing or
    generic; None when it is no workbook."""
    content_type = (content_type or "").strip().lower()
    if content_type in _WORKBOOK_CONTENT_TYPES:
        return _WORKBOOK_CONTENT_TYPES[content_type]
    if content_type in _GENERIC_CONTENT_TYPES:
        return _WORKBOOK_PART_NAMES.get(part.rsplit("/", 1)[-1].lower())
    return None


def zip_kind(names: set[str], mimetype: str | None) -> str | None:
    """xlsx, xlsb or ods from a zip's (lower-cased) member names; None when it is none of them."""
    if "xl/workbook.xml" in names:
        return "xlsx"
    if "xl/workbook.bin" in names:
        return "xlsb"
    if mimetype == _ODS_MIMETYPE:
        return "ods"
    return None


def refuse_zip(names: set[str], mimetype: str | None = None) -> str:
    """Raises unsupported_file_type naming what kind of zip this is."""
    what = _other_zip_kind(names, mimetype)
    if what is None and "[content_types].xml" in names:
        what = "an Office document that is not an Excel workbook"
    raise not_a_spreadsheet(what or "a ZIP archive (extract the file first)")


def _other_zip_kind(names: set[str], mimetype: str | None) -> str | None:
    """What a zip that is no spreadsheet is, when its names or mimetype tell."""
    if mimetype and mimetype.startswith("application/vnd.oasis.opendocument."):
        kind = mimetype.rsplit(".", 1)[-1]
        return _OPENDOCUMENT_KINDS.get(kind, f"an OpenDocument file ({kind})")
    if mimetype == "application/epub+zip":
        return "an EPUB e-book"
    if "word/document.xml" in names:
        return "a Word document (.docx)"
    if "ppt/presentation.xml" in names:
        return "a PowerPoint presentation (.pptx)"
    if "meta-inf/manifest.mf" in names:
        return "a Java archive (.jar)"
    return None


def _local_member_names(head: bytes) -> tuple[set[str], str | None]:
    """Member names of the local file headers that lie within `head`, and the ODF mimetype."""
    names: set[str] = set()
    mimetype = None
    at = 0
    while head.startswith(ZIP_MAGIC, at) and at + 30 <= len(head):
        flags, method = struct.unpack_from("<2H", head, at + 6)
        (compressed,) = struct.unpack_from("<I", head, at + 18)
        name_length, extra_length = struct.unpack_from("<2H", head, at + 26)
        name = head[at + 30 : at + 30 + name_length].decode("cp437").lower()
        data = at + 30 + name_length + extra_length
        names.add(name)
        if name == "mimetype" and method == zipfile.ZIP_STORED:
            mimetype = head[data : data + compressed].decode("ascii", "replace").strip()
        if flags & 0x08:  # sizes follow the data: the next header cannot be found from here
            break
        at = data + compressed
    return names, mimetype


# --- Text -------------------------------------------------------------------------------------


def csv_encoding(head: bytes, file: BinaryIO) -> str:
    """The encoding of a text file: the one its BOM names, UTF-16 when every other byte is NUL,
    UTF-8 when the whole file decodes as UTF-8, else cp1252 (what Excel on Windows writes).
    Decode cp1252 with errors=CP1252_FALLBACK."""
    return _bom_or_nul_encoding(head) or _utf8_or_cp1252(file)


def decode_head(head: bytes, encoding: str) -> str:
    """The text of a file's first bytes, which may end mid-character."""
    errors = CP1252_FALLBACK if encoding == "cp1252" else "replace"
    return codecs.getincrementaldecoder(encoding)(errors).decode(head, False)


def _bom_or_nul_encoding(head: bytes) -> str | None:
    """The encoding a BOM names, or UTF-16 without one when every other byte is NUL."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    sample = head[:4096]
    even, odd = sample[0::2], sample[1::2]
    if len(odd) >= 2:
        if odd.count(0) > 0.4 * len(odd) and even.count(0) < 0.05 * len(even):
            return "utf-16-le"
        if even.count(0) > 0.4 * len(even) and odd.count(0) < 0.05 * len(odd):
            return "utf-16-be"
    return None


def _is_utf8(head: bytes) -> bool:
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, False)
    except UnicodeDecodeError:
        return False
    return True


def _utf8_or_cp1252(file: BinaryIO) -> str:
    """UTF-8 when the whole file decodes as UTF-8, else cp1252."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    file.seek(0)
    try:
        while chunk := file.read(_CHUNK):
            decoder.decode(chunk)
        decoder.decode(b"", True)
    except UnicodeDecodeError:
        return "cp1252"
    return "utf-8"


def _check_text(text: str) -> None:
    """Refuses text that is a web page, another XML format, or binary data."""
    start = text.lstrip("\ufeff \t\r\n")[:1024].lower()
    if start.startswith(("<!doctype html", "<html", "<table", "<head", "<body", "<meta")):
        raise FileError(UNSUPPORTED_FILE_TYPE, MSG_WEB_PAGE, details={"detected": "a web page"})
    if start.startswith("<?xml"):
        if "urn:schemas-microsoft-com:office:spreadsheet" in start or "excel.sheet" in start:
            raise FileError(
                UNSUPPORTED_FILE_TYPE,
                MSG_XML_2003,
                details={"detected": "an Excel 2003 XML spreadsheet"},
            )
        raise not_a_spreadsheet("an XML document")
    controls = len(_CONTROL.findall(text))
    if controls > max(1, len(text) // 100):
        raise not_a_spreadsheet("binary data")
