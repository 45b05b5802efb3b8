"""The containers a workbook comes in, checked before any parser sees them.

Zip (xlsx, xlsb, ods) guards against zip bombs and XML attacks, all decided from the zip's own
directory before anything is unpacked: too many members (zipfile builds an object for each), a
total declared size or a per-member compression ratio no spreadsheet has, then every member
streamed once, in chunks, for DTD and entity declarations (entity expansion, external entities).
A member whose declared size lies is cut off at that size by zipfile and fails its CRC.

OLE (xls) is only looked into after calamine failed to read it, to say why: a password, or
another Office document.
"""

import io
import logging
import re
import struct
import zipfile
import zlib
from typing import BinaryIO

from users.excel.errors import CORRUPT_FILE, UNSAFE_FILE, UNSUPPORTED_FILE_TYPE, FileError
from users.excel.sniffing import not_a_spreadsheet, refuse_zip, zip_kind

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
            names = {member.filename.lower() for member in members}
            mimetype = None
            if "mimetype" in names:
                with archive.open("mimetype") as member:
                    mimetype = member.read(100).decode("ascii", "replace").strip()
            file_type = zip_kind(names, mimetype) or refuse_zip(names, mimetype)
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

_OLE_STREAM_KINDS = (
    ("EncryptedPackage", None),  # an encrypted xlsx: Office wraps it in OLE
    ("WordDocument", "a Word 97-2003 document (.doc)"),
    ("PowerPoint Document", "a PowerPoint 97-2003 presentation (.ppt)"),
    ("__substg1.0_", "an Outlook message (.msg)"),
)


def describe_unreadable_ole(path: str, *, max_bytes: int) -> FileError | None:
    """Why calamine could not read an OLE file, from the stream names in it (UTF-16 in the
    directory); None when they do not tell. Only asked after calamine failed, so a cell's text
    cannot cause a false alarm."""
    with open(path, "rb") as file:
        data = file.read(max_bytes)
    for stream, what in _OLE_STREAM_KINDS:
        if stream.encode("utf-16-le") in data:
            if what is None:
                return FileError(UNSUPPORTED_FILE_TYPE, MSG_PROTECTED)
            return not_a_spreadsheet(what)
    return None
