"""Step 1 of the import: an uploaded file becomes raw rows, and whatever is unsafe is refused before
any parser sees it.

The type comes from the bytes, never the name (users.excel.sniffing). Zip containers are checked
from their own directory before anything is unpacked (users.excel.containers). Workbooks are then
read by calamine in a child process under a memory limit, because calamine allocates a dense grid
of the whole used range and a few KB of XML can claim gigabytes; CSV is read here with the csv
module, streamed.

Pure: no settings and no database. Callers pass ReaderLimits built from their settings.
"""

import csv
import io
import logging
import marshal
import os
import selectors
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Protocol

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
from users.excel.cells import CutText, cut_cell
from users.excel.containers import MSG_PROTECTED, check_zip, describe_unreadable
from users.excel.sniffing import (
    CP1252_FALLBACK,
    MSG_EMPTY,
    ZIP_MAGIC,
    csv_encoding,
    decode_head,
    detect_type,
)

__all__ = ["DEFAULT_LIMITS", "ReaderLimits", "RowStream", "detect_type", "open_rows"]

logger = logging.getLogger(__name__)

MIB = 1024 * 1024


@dataclass(frozen=True)
class ReaderLimits:
    max_bytes: int = 20 * MIB  # file size cap
    max_rows: int = 100_001  # most non-blank rows yielded (header included); one more is refused
    blank_run: int = 1000  # stop reading after this many consecutive blank rows
    max_columns: int = 256  # cells beyond this column are dropped
    # Text cells longer than this arrive cut, as users.excel.cells.CutText (the longest field a
    # customer has, an email, is 254 characters).
    max_cell_chars: int = 1000
    # A CSV record (all its physical lines) longer than this is refused while it is read: the
    # csv module builds a whole record before anyone can cut it, and a record of millions of
    # fields on short lines would take hundreds of MB. Every field takes at least one character,
    # its delimiter, so this caps the fields too.
    max_record_chars: int = 256 * 1024
    max_members: int = 1000  # zip containers
    max_uncompressed: int = 200 * MIB  # total uncompressed bytes of a zip container
    max_ratio: int = 200  # per-member compression ratio, for members over 1 MiB uncompressed
    memory_mb: int = 256  # address space of the calamine child above its baseline
    # The rows as the calamine child sends them (cells cut to max_cell_chars) wait in a
    # temporary file for the caller: this caps that file. 100,000 customer rows take about 10 MB.
    max_read_bytes: int = 256 * MIB
    timeout_s: float = 120.0  # the child is killed after waiting this long for it


DEFAULT_LIMITS = ReaderLimits()

FILE_TYPE_NAMES = {
    "xlsx": "Excel workbook (.xlsx)",
    "xlsm": "Excel macro-enabled workbook (.xlsm)",
    "xls": "Excel 97-2003 workbook (.xls)",
    "xlsb": "Excel binary workbook (.xlsb)",
    "ods": "OpenDocument spreadsheet (.ods)",
    "csv": "CSV file",
}

HEAD_BYTES = 64 * 1024
_SNIFF_CHARS = 4096  # csv.Sniffer is quadratic on some inputs: about 85 ms at worst on this much
_SNIFF_LINES = 50
_DELIMITERS = ",;\t|"
_CSV_ESCAPED = "=+-@\t\r"
_CHILD = Path(__file__).with_name("calamine_child.py")
_CHILD_OUT_OF_MEMORY = 3  # calamine_child.EXIT_OUT_OF_MEMORY

# Messages (the codes are in users.errors).
MSG_TOO_LARGE = "The file is {size_mb:.1f} MB; the most one import takes is {max_mb:.0f} MB."
MSG_CORRUPT = (
    "The file could not be read as an {kind}; it may be damaged. Open it in Excel, save it "
    "again, and upload the new copy."
)
MSG_CSV_BROKEN = "The CSV file could not be read ({reason}). Save it again as CSV UTF-8 and retry."
MSG_RECORD_TOO_LARGE = (
    "Row {row:,} of the CSV file holds more than {max_chars:,} characters, far more than any "
    "customer row; a quote left open can swallow the lines after it. Check the file, save it "
    "again as CSV, and upload the new copy."
)
MSG_SHEET_TOO_LARGE = (
    "The sheet is too large to read safely: its used area spans far more cells than its data, "
    "often because of a stray value far below or to the right of it. Delete the unused rows "
    "and columns (or copy the data to a new sheet), save, and upload again."
)
MSG_TOO_SLOW = (
    "Reading the sheet took too long and was stopped. Copy the data to a new workbook, save, "
    "and upload again."
)
MSG_TOO_MUCH_TEXT = (
    "The sheet holds more than {max_mb:.0f} MB of text, far more than any customer list. Delete "
    "the columns and rows the import does not need, save, and upload again."
)
MSG_NO_DATA = "The file has no data: no row of any visible sheet has a value."
MSG_TOO_MANY_ROWS = (
    "The sheet has more than {max_rows:,} rows (header included). Split it into files of at "
    "most {max_data:,} customers."
)

# --- Row sources ------------------------------------------------------------------------------


class _Source(Protocol):
    file_type: str
    sheet_name: str | None

    def rows(self) -> Iterator[tuple[int, list[Any]]]: ...

    def close(self) -> None: ...


class RowStream:
    """The non-blank rows of the file's first visible sheet that has one (`sheet_name`), as
    (row_number, cells).

    row_number is the row number Excel shows (CSV: the 1-based record number). cells[0] is column
    A even when column A is empty; empty cells are None; trailing empty cells are dropped; values
    are str, int, finite float, bool (dates and times as ISO strings; a NaN or infinite number
    as the text "#NUM!"). Reading stops after blank_run
    consecutive blank rows, leading ones included. Raises FileError(too_many_rows) on the
    (max_rows + 1)-th non-blank row and FileError(no_data) when there was none.

    Use it as a context manager: leaving it closes the file (and the rows a workbook's reader
    wrote aside), also when iteration stopped early.
    """

    def __init__(self, source: _Source, limits: ReaderLimits):
        self.file_type = source.file_type
        self.sheet_name = source.sheet_name
        self._source = source
        self._limits = limits
        self._rows: Generator[tuple[int, list[Any]]] = self._iterate()

    def __iter__(self) -> Iterator[tuple[int, list[Any]]]:
        return self._rows

    def __enter__(self) -> "RowStream":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._rows.close()
        self._source.close()

    def __del__(self) -> None:
        # A stream dropped unread would keep its rows' temporary file (and, if the child is
        # still being waited for, the child) until the interpreter ends.
        self.close()

    def _iterate(self) -> Generator[tuple[int, list[Any]]]:
        max_rows = self._limits.max_rows
        count = 0
        try:
            for number, cells in self._source.rows():
                count += 1
                if count > max_rows:
                    raise FileError(
                        TOO_MANY_ROWS,
                        MSG_TOO_MANY_ROWS.format(max_rows=max_rows, max_data=max_rows - 1),
                        details={"max_rows": max_rows},
                    )
                yield number, cells
            if count == 0:
                raise FileError(NO_DATA, MSG_NO_DATA)
        finally:
            self._source.close()


class _CsvSource:
    """Records of a CSV file, decoded as they are read: memory stays at one record of at most
    max_record_chars, whatever the file's size."""

    file_type = "csv"
    sheet_name: str | None = None

    def __init__(self, path: str, head: bytes, limits: ReaderLimits):
        self._limits = limits
        self._records_read = 0
        self._record_chars = 0  # characters of the record being read, so far
        raw = open(path, "rb")  # noqa: SIM115 -- closed by close(), through the text wrapper
        try:
            encoding = csv_encoding(head, raw)
            errors = CP1252_FALLBACK if encoding == "cp1252" else "strict"
            self._delimiter = _sniff_delimiter(decode_head(head, encoding))
            raw.seek(0)
            self._text = io.TextIOWrapper(raw, encoding=encoding, errors=errors, newline="")
        except BaseException:
            raw.close()
            raise

    def rows(self) -> Iterator[tuple[int, list[Any]]]:
        max_columns = self._limits.max_columns
        max_chars = self._limits.max_cell_chars
        blank_run = self._limits.blank_run
        blanks = 0
        try:
            records = csv.reader(self._lines(), delimiter=self._delimiter)
            for number, record in enumerate(records, 1):
                # csv.reader asks for the next line only when the record needs it.
                self._records_read = number
                self._record_chars = 0
                cells: list[Any] = [
                    cut_cell(_unquoted(value) or None, max_chars) for value in record[:max_columns]
                ]
                while cells and cells[-1] is None:
                    cells.pop()
                if all(value is None or value.isspace() for value in cells):
                    blanks += 1
                    if blanks >= blank_run:
                        return
                    continue
                blanks = 0
                yield number, cells
        except csv.Error as exc:
            raise FileError(CORRUPT_FILE, MSG_CSV_BROKEN.format(reason=exc)) from exc
        except UnicodeDecodeError as exc:
            reason = f"it is not valid {exc.encoding.upper()} text"
            raise FileError(CORRUPT_FILE, MSG_CSV_BROKEN.format(reason=reason)) from exc

    def _lines(self) -> Iterator[str]:
        """The file's physical lines, refusing the record they make up once it passes
        max_record_chars: no line is read past the one that does."""
        cap = self._limits.max_record_chars
        while line := self._text.readline(cap - self._record_chars + 1):
            self._record_chars += len(line)
            if self._record_chars > cap:
                raise FileError(
                    UNSAFE_FILE,
                    MSG_RECORD_TOO_LARGE.format(row=self._records_read + 1, max_chars=cap),
                    details={"row": self._records_read + 1, "max_record_chars": cap},
                )
            yield line

    def close(self) -> None:
        self._text.close()


def _unquoted(value: str) -> str:
    """Undoes the OWASP quote a CSV export puts before = + - @ tab CR (users.excel.writing), so
    an exported file reads back as stored."""
    if len(value) > 1 and value[0] == "'" and value[1] in _CSV_ESCAPED:
        return value[1:]
    return value


def _sniff_delimiter(text: str) -> str:
    """csv.Sniffer's choice among , ; tab | over the first lines; when it cannot tell, the one the
    first line has most of (a file of one column has none: ",")."""
    lines = text[:_SNIFF_CHARS].splitlines(keepends=True)
    if len(lines) > 1 and not lines[-1].endswith(("\n", "\r")):
        lines.pop()  # cut short by the sample's end
    # Blank lines have no delimiters, and Sniffer wants the same count on every line.
    lines = [line for line in lines if line.strip()][:_SNIFF_LINES]
    try:
        return csv.Sniffer().sniff("".join(lines), _DELIMITERS).delimiter
    except csv.Error:
        first = lines[0] if lines else ""
        counts = {delimiter: first.count(delimiter) for delimiter in _DELIMITERS}
        best = max(counts, key=counts.__getitem__)
        return best if counts[best] else ","


class _CalamineSource:
    """Rows read by calamine_child.py in a child process. The child's whole output is copied to
    a temporary file before the first row is given out, so the child (which holds the sheet's
    whole grid while it reads) has ended before the caller builds anything from the rows: the
    two never take memory at the same time. The file takes the rows as compact marshal frames
    (about 10 MB for 100,000 customer rows), at most max_read_bytes."""

    def __init__(self, path: str, file_type: str, limits: ReaderLimits):
        self.file_type = file_type
        self._path = path
        self._limits = limits
        self._budget = limits.timeout_s
        self._frames = tempfile.TemporaryFile(prefix="import-rows-")  # noqa: SIM115 -- close()
        # calamine picks its reader by the file name's extension: give it the type we sniffed.
        # The link can go once the child has read the workbook to its end.
        link_dir = tempfile.mkdtemp(prefix="import-read-")
        try:
            link = os.path.join(link_dir, f"workbook.{file_type}")
            os.symlink(os.path.abspath(path), link)
            self._process = _start_child(link, limits)
            if self._process.stdout is None:  # _start_child asks for a pipe
                raise RuntimeError("calamine child started without its stdout")
            self._stdout: IO[bytes] = self._process.stdout
            try:
                self._drain()
                message = self._receive()
                if message[0] != "sheet":
                    raise RuntimeError(f"calamine child sent {message[0]!r} before the sheet")
                self.sheet_name = message[1]
            except BaseException:
                self.close()
                raise
        finally:
            shutil.rmtree(link_dir, ignore_errors=True)

    def rows(self) -> Iterator[tuple[int, list[Any]]]:
        while True:
            message = self._receive()
            if message[0] == "end":
                return
            _, number, cells, cut = message
            if cut:
                for index, length in cut.items():
                    cells[index] = CutText(cells[index], length)
            yield number, cells

    def close(self) -> None:
        process = self._process
        if process.poll() is None:
            process.kill()
        process.wait()
        self._stdout.close()
        self._frames.close()

    def _drain(self) -> None:
        """Copies the child's output to the frames file until the child closes it, then reaps
        the child. The child is killed when it takes longer than timeout_s, or when its output
        passes max_read_bytes (a sheet of far more text than any customer list)."""
        output = self._stdout.fileno()
        written = 0
        with selectors.DefaultSelector() as selector:
            selector.register(output, selectors.EVENT_READ)
            while True:
                started = time.monotonic()
                ready = selector.select(timeout=max(self._budget, 0))
                self._budget -= time.monotonic() - started
                if not ready:
                    self._process.kill()
                    logger.warning("[IMPORT-READ] child_timeout type=%s", self.file_type)
                    raise FileError(UNSAFE_FILE, MSG_TOO_SLOW)
                chunk = os.read(output, 256 * 1024)
                if not chunk:
                    break
                written += len(chunk)
                if written > self._limits.max_read_bytes:
                    self._process.kill()
                    logger.warning("[IMPORT-READ] child_output_too_large type=%s", self.file_type)
                    max_mb = self._limits.max_read_bytes / MIB
                    raise FileError(UNSAFE_FILE, MSG_TOO_MUCH_TEXT.format(max_mb=max_mb))
                self._frames.write(chunk)
        self._reap()
        self._frames.seek(0)

    def _receive(self) -> tuple[Any, ...]:
        header = self._read(4)
        length = int.from_bytes(header, "little")
        # Our own child wrote these bytes; calamine's input never reaches them unframed.
        message: tuple[Any, ...] = marshal.loads(self._read(length))  # noqa: S302
        if message[0] == "error":
            raise self._child_error(kind=message[1], exception=message[2])
        return message

    def _read(self, size: int) -> bytes:
        data = self._frames.read(size)
        if len(data) < size:  # the child ended without its last message
            raise self._child_died()
        return data

    def _reap(self) -> None:
        try:
            self._process.wait(timeout=max(self._budget, 1.0))
        except subprocess.TimeoutExpired:
            self._process.kill()

    def _child_died(self) -> Exception:
        returncode = self._process.wait()
        if returncode < 0 or returncode == _CHILD_OUT_OF_MEMORY:
            # SIGABRT: an allocation failed under the memory limit; SIGKILL: the kernel's OOM
            # killer; SIGXCPU: the CPU backstop.
            logger.warning(
                "[IMPORT-READ] child_killed type=%s signal=%s", self.file_type, -returncode
            )
            return FileError(UNSAFE_FILE, MSG_SHEET_TOO_LARGE)
        logger.error("[IMPORT-READ] child_failed type=%s exit=%s", self.file_type, returncode)
        return RuntimeError(f"the calamine child process failed with exit code {returncode}")

    def _child_error(self, *, kind: str, exception: str) -> FileError:
        logger.info(
            "[IMPORT-READ] child_error type=%s kind=%s exception=%s",
            self.file_type,
            kind,
            exception,
        )
        if kind == "password":
            return FileError(UNSUPPORTED_FILE_TYPE, MSG_PROTECTED)
        if kind == "memory":
            return FileError(UNSAFE_FILE, MSG_SHEET_TOO_LARGE)
        described = describe_unreadable(
            self._path, self.file_type, max_bytes=self._limits.max_bytes
        )
        if described is not None:
            return described
        return FileError(CORRUPT_FILE, MSG_CORRUPT.format(kind=FILE_TYPE_NAMES[self.file_type]))


def _start_child(path: str, limits: ReaderLimits) -> subprocess.Popen[bytes]:
    """calamine_child.py on `path`, without preexec_fn (not thread-safe, and gunicorn runs
    threads), with an environment of its own (no secrets) and its stderr discarded (it could
    quote cell data)."""
    return subprocess.Popen(  # noqa: S603 -- fixed program, our own script
        [
            sys.executable,
            "-I",
            str(_CHILD),
            path,
            str(limits.max_columns),
            str(limits.blank_run),
            str(limits.max_rows),
            str(limits.memory_mb),
            str(int(limits.timeout_s) + 1),
            str(limits.max_cell_chars),
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        bufsize=0,
        env={"PATH": os.environ.get("PATH", ""), "LC_ALL": "C.UTF-8", "RUST_BACKTRACE": "0"},
    )


# --- Entry point ------------------------------------------------------------------------------


def open_rows(path: str | os.PathLike[str], *, limits: ReaderLimits = DEFAULT_LIMITS) -> RowStream:
    """Checks the size, sniffs the type from the bytes, runs the container safety checks, and
    returns the rows as a RowStream (use it in a `with` block)."""
    path = os.fspath(path)
    size = os.stat(path).st_size
    if size == 0:
        raise FileError(EMPTY_FILE, MSG_EMPTY)
    if size > limits.max_bytes:
        raise FileError(
            FILE_TOO_LARGE,
            MSG_TOO_LARGE.format(size_mb=size / MIB, max_mb=limits.max_bytes / MIB),
            details={"size": size, "max_bytes": limits.max_bytes},
        )
    with open(path, "rb") as file:
        head = file.read(HEAD_BYTES)
        if head.startswith(ZIP_MAGIC):
            file_type = check_zip(
                file,
                size,
                max_members=limits.max_members,
                max_uncompressed=limits.max_uncompressed,
                max_ratio=limits.max_ratio,
            )
        else:
            file_type = detect_type(head)
    if file_type == "csv":
        source: _Source = _CsvSource(path, head, limits)
    else:
        source = _CalamineSource(path, file_type, limits)
    return RowStream(source, limits)
