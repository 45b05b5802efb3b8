"""The containers a workbook comes in, checked before any parser sees them.

Zip (xlsx, xlsm, xlsb, ods) guards against zip bombs and XML attacks, all decided from the
zip's own directory before anything is unpacked: too many members (zipfile builds an object for
each), a total declared size or a per-member compression ratio no spreadsheet has, then every
member streamed once, in chunks, for DTD and entity declarations (entity expansion, external
entities). A member whose declared size lies is cut off at that size by zipfile and fails its
CRC. Which workbook an Office package is comes from its relationships and content types, as
Excel decides it, wherever its parts are and however their names are written.

A container is looked into again only after calamine failed to read it, to say why: an OLE file
(xls) that is protected or another Office document, a zip holding an Excel 4.0 macro sheet.
"""

import io
import logging
import posixpath
import re
import struct
import zipfile
import zlib
from typing import BinaryIO
from urllib.parse import unquote
from xml.etree import ElementTree

from defusedxml import DefusedXmlException
from defusedxml import ElementTree as DefusedElementTree

from users.errors import CORRUPT_FILE, UNSAFE_FILE, UNSUPPORTED_FILE_TYPE, FileError
from users.excel.sniffing import not_a_spreadsheet, refuse_zip, workbook_kind, zip_kind

logger = logging.getLogger(__name__)

MIB = 1024 * 1024

MSG_PROTECTED = (
    "This workbook is password-protected. Remove the password in Excel (File > Info > Protect "
    "Workbook > Encrypt with Password, then clear it), save, and upload it again."
)
MSG_ZIP_BROKEN = (
    "The file is damaged or incomplete: its ZIP structure is broken. Save it again from Excel "
    "and upload the new copy."
)
MSG_TOO_MANY_MEMBERS = (
    "The file holds more than {limit:,} parts, which no spreadsheet does; it was refused as unsafe."
)
MSG_UNPACKS_TOO_BIG = (
    "The file would unpack to more than {limit_mb:.0f} MB; it was refused as unsafe. Remove "
    "pictures or other embedded objects, or copy the data to a new workbook, and upload again."
)
MSG_RATIO = (
    "Part of the file is compressed far more than any spreadsheet is (a zip bomb); it was refused "
    "as unsafe."
)
MSG_MACRO_SHEET = (
    "This workbook holds an Excel 4.0 macro sheet, which cannot be read. Copy the customers' "
    "sheet into a new workbook, save it as an Excel Workbook (.xlsx), and upload that."
)
MSG_DTD = (
    "The file contains XML document-type or entity declarations, which spreadsheets never "
    "need; it was refused as unsafe."
)

_CHUNK = MIB  # bytes of a member unpacked at a time
_RATIO_FLOOR = MIB  # smaller members may be as compressible as they like
_EOCD = struct.Struct("<4s4H2LH")
_ZIP64_LOCATOR = struct.Struct("<4sLQL")
_ZIP64_EOCD = struct.Struct("<4sQ2H2L4Q")
_CENTRAL_HEADER_SIZE = 46
_DTD = re.compile(
    b"|".join(
        re.escape(declaration.encode(encoding))
        for declaration in ("<!DOCTYPE", "<!ENTITY")
        for encoding in ("ascii", "utf-16-le", "utf-16-be")
    ),
    re.IGNORECASE,
)
_DTD_OVERLAP = len("<!DOCTYPE".encode("utf-16-le")) - 1
_PACKAGE_PART_MAX = 256 * 1024  # relationships and content types take a few KB
_RELATIONSHIP = "{http://schemas.openxmlformats.org/package/2006/relationships}Relationship"
_CONTENT_TYPES = "{http://schemas.openxmlformats.org/package/2006/content-types}"
_OVERRIDE = _CONTENT_TYPES + "Override"
_DEFAULT = _CONTENT_TYPES + "Default"


# --- Zip --------------------------------------------------------------------------------------


def check_zip(
    file: BinaryIO, size: int, *, max_members: int, max_uncompressed: int, max_ratio: int
) -> str:
    """The zip's spreadsheet type ("xlsx", "xlsb" or "ods"), once it is known safe to hand to
    calamine. Raises FileError: unsafe_file, corrupt_file, or unsupported_file_type for a zip
    that is no spreadsheet or is encrypted."""
    _check_member_count(file, size, max_members)
    try:
        with zipfile.ZipFile(file) as archive:
            members = archive.infolist()
            _check_declared_sizes(members, max_uncompressed, max_ratio)
            if any(member.flag_bits & 0x1 for member in members):
                raise FileError(UNSUPPORTED_FILE_TYPE, MSG_PROTECTED)
            parts = {part_name(member.filename): member for member in members}
            names = set(parts)
            mimetype = None
            if "mimetype" in names:
                with archive.open(parts["mimetype"]) as part:
                    mimetype = part.read(100).decode("ascii", "replace").strip()
            file_type = (
                _package_kind(archive, parts)
                or zip_kind(names, mimetype)
                or refuse_zip(names, mimetype)
            )
            for member in members:
                # xlsb keeps its cells in binary records, where UTF-16 text could look like a DTD.
                if not (file_type == "xlsb" and member.filename.lower().endswith(".bin")):
                    _scan_member(archive, member)
    except (
        zipfile.BadZipFile,
        EOFError,
        zlib.error,
        NotImplementedError,
        OSError,
        RuntimeError,
        ValueError,
    ) as exc:
        logger.info("[IMPORT-READ] zip_refused reason=%s", type(exc).__name__)
        raise FileError(CORRUPT_FILE, MSG_ZIP_BROKEN) from exc
    return file_type


def part_name(filename: str) -> str:
    """A zip member's name as a package part name is compared: lower-cased, with "/" for the
    "\\" some exporters write, without a leading "/"."""
    return filename.replace("\\", "/").lstrip("/").lower()


def _package_kind(archive: zipfile.ZipFile, parts: dict[str, zipfile.ZipInfo]) -> str | None:
    """The workbook an Office package is (xlsx, xlsm, xlsb), found as Excel finds it: the
    package's relationships (_rels/.rels) name its main part, and [Content_Types].xml says what
    that part is. None when they do not lead to a workbook part that is there."""
    relationships = _read_xml(archive, parts.get("_rels/.rels"))
    if relationships is None:
        return None
    main = None
    for relationship in relationships.iter(_RELATIONSHIP):
        if (
            relationship.get("Type", "").endswith("/officeDocument")
            and relationship.get("TargetMode") != "External"
        ):
            main = relationship.get("Target")
            break
    if not main:
        return None
    # Targets of the package's own relationships are relative to its root.
    main = part_name(posixpath.normpath("/" + unquote(main).replace("\\", "/")))
    if main not in parts:
        return None
    content_types = _read_xml(archive, parts.get("[content_types].xml"))
    content_type = None if content_types is None else _content_type(content_types, main)
    return workbook_kind(main, content_type)


def _content_type(content_types: ElementTree.Element, part: str) -> str | None:
    """The content type [Content_Types].xml gives `part`: its Override, else its extension's
    Default."""
    extension = part.rsplit(".", 1)[-1] if "." in part else ""
    default = None
    for element in content_types:
        if element.tag == _OVERRIDE and part_name(element.get("PartName", "")) == part:
            return element.get("ContentType")
        if element.tag == _DEFAULT and element.get("Extension", "").lower() == extension:
            default = element.get("ContentType")
    return default


def _read_xml(
    archive: zipfile.ZipFile, member: zipfile.ZipInfo | None
) -> ElementTree.Element | None:
    """A small package part (relationships, content types) parsed without DTDs or entities;
    None when it is missing, too large to be what it says, or not XML."""
    if member is None or member.file_size > _PACKAGE_PART_MAX:
        return None
    with archive.open(member) as stream:
        data = stream.read(_PACKAGE_PART_MAX + 1)
    try:
        return DefusedElementTree.fromstring(data)
    except DefusedXmlException as exc:
        raise FileError(UNSAFE_FILE, MSG_DTD) from exc
    except ElementTree.ParseError:
        return None


def _check_member_count(file: BinaryIO, size: int, max_members: int) -> None:
    """Refuses a zip with more than max_members entries before zipfile builds one object each.

    Finds the central directory the way zipfile does, then walks it: the count declared in the end
    record may lie, and zipfile reads however many entries the directory holds.
    """
    end = _end_record(file, size)
    if end is None:
        raise FileError(CORRUPT_FILE, MSG_ZIP_BROKEN)
    declared, directory_size, directory_end = end
    too_many = FileError(
        UNSAFE_FILE,
        MSG_TOO_MANY_MEMBERS.format(limit=max_members),
        details={"max_members": max_members},
    )
    if declared > max_members:
        raise too_many
    start = directory_end - directory_size
    if start < 0:
        raise FileError(CORRUPT_FILE, MSG_ZIP_BROKEN)
    file.seek(start)
    walked = 0
    count = 0
    while walked < directory_size:
        header = file.read(_CENTRAL_HEADER_SIZE)
        if len(header) != _CENTRAL_HEADER_SIZE or not header.startswith(b"PK\x01\x02"):
            raise FileError(CORRUPT_FILE, MSG_ZIP_BROKEN)
        count += 1
        if count > max_members:
            raise too_many
        variable = sum(struct.unpack_from("<3H", header, 28))  # name, extra field, comment
        file.seek(variable, io.SEEK_CUR)
        walked += _CENTRAL_HEADER_SIZE + variable


def _end_record(file: BinaryIO, size: int) -> tuple[int, int, int] | None:
    """(entries, central directory size, where it ends) from the end of central directory record,
    zip64 included, found as zipfile._EndRecData finds it; None when there is none."""
    tail_size = min(size, _EOCD.size + 0xFFFF)
    file.seek(size - tail_size)
    tail = file.read(tail_size)
    if tail[-_EOCD.size : -_EOCD.size + 4] == b"PK\x05\x06" and tail[-2:] == b"\x00\x00":
        at = len(tail) - _EOCD.size
    else:
        at = tail.rfind(b"PK\x05\x06")
        if at < 0 or at + _EOCD.size > len(tail):
            return None
    _, _, _, _, entries, directory_size, _, _ = _EOCD.unpack_from(tail, at)
    position = size - tail_size + at
    locator_at = position - _ZIP64_LOCATOR.size
    record_at = locator_at - _ZIP64_EOCD.size
    if record_at >= 0:
        file.seek(locator_at)
        signature, disk, _, disks = _ZIP64_LOCATOR.unpack(file.read(_ZIP64_LOCATOR.size))
        if signature == b"PK\x06\x07":
            if disk != 0 or disks > 1:
                return None
            file.seek(record_at)
            record = _ZIP64_EOCD.unpack(file.read(_ZIP64_EOCD.size))
            if record[0] == b"PK\x06\x06":
                return record[7], record[8], record_at
    return entries, directory_size, position


def _check_declared_sizes(
    members: list[zipfile.ZipInfo], max_uncompressed: int, max_ratio: int
) -> None:
    total = sum(member.file_size for member in members)
    if total > max_uncompressed:
        raise FileError(
            UNSAFE_FILE,
            MSG_UNPACKS_TOO_BIG.format(limit_mb=max_uncompressed / MIB),
            details={"max_uncompressed": max_uncompressed},
        )
    for member in members:
        if member.file_size > _RATIO_FLOOR and member.file_size > max_ratio * member.compress_size:
            raise FileError(UNSAFE_FILE, MSG_RATIO, details={"max_ratio": max_ratio})


def _scan_member(archive: zipfile.ZipFile, member: zipfile.ZipInfo) -> None:
    """Unpacks one member in chunks (zipfile stops at the declared size and checks the CRC) and
    refuses DTD or entity declarations, in UTF-8 or UTF-16, also across chunk boundaries."""
    carry = b""
    with archive.open(member) as stream:
        while chunk := stream.read(_CHUNK):
            window = carry + chunk
            # The find() calls are a fast path: "<!" in UTF-8, "\0!" in UTF-16 either way round.
            if (b"<!" in window or b"\x00!" in window) and _DTD.search(window):
                raise FileError(UNSAFE_FILE, MSG_DTD)
            carry = window[-_DTD_OVERLAP:]


# --- OLE (xls) --------------------------------------------------------------------------------

# A BIFF8 workbook's globals substream starts with this BOF record (20 bytes); in a protected
# workbook FILEPASS must come next, whatever the protection: RC4, which calamine names, or XOR,
# which it takes for damage.
_GLOBALS_BOF = b"\x09\x08\x10\x00\x00\x06\x05\x00"
_FILEPASS = b"\x2f\x00"
_MINI_SECTOR = 64  # a stream starts on a sector: a multiple of 64 bytes into the file

_OLE_STREAM_KINDS = (
    ("EncryptedPackage", None),  # an encrypted xlsx: Office wraps it in OLE
    ("WordDocument", "a Word 97-2003 document (.doc)"),
    ("PowerPoint Document", "a PowerPoint 97-2003 presentation (.ppt)"),
    ("__substg1.0_", "an Outlook message (.msg)"),
)


def describe_unreadable(path: str, file_type: str, *, max_bytes: int) -> FileError | None:
    """Why calamine could not read a workbook, when its container tells; None when it does not.
    Only asked after calamine failed, so a cell's text cannot cause a false alarm."""
    if file_type == "xls":
        return _describe_unreadable_ole(path, max_bytes=max_bytes)
    if file_type in ("xlsx", "xlsm"):
        with zipfile.ZipFile(path) as archive:
            names = [part_name(member.filename) for member in archive.infolist()]
        if any("macrosheets/" in name for name in names):
            return FileError(UNSUPPORTED_FILE_TYPE, MSG_MACRO_SHEET)
    return None


def _describe_unreadable_ole(path: str, *, max_bytes: int) -> FileError | None:
    """From the stream names in an OLE file (UTF-16 in its directory), and from a FILEPASS
    record right after a workbook's first BOF: the two ways a protected .xls shows."""
    with open(path, "rb") as file:
        data = file.read(max_bytes)
    for stream, what in _OLE_STREAM_KINDS:
        if stream.encode("utf-16-le") in data:
            if what is None:
                return FileError(UNSUPPORTED_FILE_TYPE, MSG_PROTECTED)
            return not_a_spreadsheet(what)
    if _has_filepass(data):
        return FileError(UNSUPPORTED_FILE_TYPE, MSG_PROTECTED)
    return None


def _has_filepass(data: bytes) -> bool:
    """Whether a workbook stream in the OLE file `data` starts BOF, FILEPASS."""
    at = data.find(_GLOBALS_BOF)
    while at >= 0:
        if at % _MINI_SECTOR == 0 and data[at + 20 : at + 22] == _FILEPASS:
            return True
        at = data.find(_GLOBALS_BOF, at + 1)
    return False
