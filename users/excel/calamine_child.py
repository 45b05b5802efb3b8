"""Reads the first visible worksheet that holds data of a workbook with python-calamine and
streams its rows to stdout. users.excel.reading runs it as a child process of its own, never
imports it.

Why a process: calamine builds a dense grid of a sheet's whole used range before the first row is
available, so a 5 KB file with one cell at A1 and one at XFD1048576 asks for hundreds of gigabytes.
Here that allocation fails under an address-space limit and only this process dies (SIGABRT, or
exit status 3 when Python itself runs out). Only the standard library and python_calamine are
imported, so it starts in about 10 ms.

Usage: python -I calamine_child.py PATH MAX_COLUMNS BLANK_RUN MAX_ROWS MEMORY_MB CPU_SECONDS
    MAX_CELL_CHARS

Output, framed as a 4-byte little-endian length then a marshal payload:
    ("sheet", name or None), then ("row", row_number, cells, cut) per non-blank row, then ("end",)
where the sheet is the first visible worksheet with a non-blank row (else the first visible one),
a NaN or infinite number arrives as the text "#NUM!" (what Excel shows for it), and text longer
than MAX_CELL_CHARS is cut to that many characters with `cut` mapping each such cell's index to
its length (None when no cell was cut): a cell of 60 MB never crosses the pipe.
or, at any point, ("error", kind, exception class name) with kind "password" | "corrupt" | "memory"
and nothing after it. No message carries an exception's text: it could quote cell data.
"""

import datetime
import itertools
import marshal
import os
import resource
import struct
import sys
from collections.abc import Callable, Iterator
from typing import Any

import python_calamine

MIB = 1024 * 1024
# What Excel shows for a number it cannot hold: a NaN or an infinity another program wrote
# arrives as this text, which no field accepts and JSON can carry.
NUM_ERROR = "#NUM!"
FRAME = struct.Struct("<I")
EXIT_OUT_OF_MEMORY = 3


def _vm_size() -> int | None:
    """This process's mapped address space in bytes (Linux only)."""
    try:
        with open("/proc/self/status", "rb") as status:
            for line in status:
                if line.startswith(b"VmSize:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def _limit_resources(memory_mb: int, cpu_seconds: int) -> None:
    # The limit is relative to what the interpreter and calamine already map, which differs between
    # machines; without /proc (not Linux) there is no baseline and no limit.
    baseline = _vm_size()
    if baseline is not None:
        limit = baseline + memory_mb * MIB
        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        if hard != resource.RLIM_INFINITY:
            limit = min(limit, hard)
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    # A backstop for when the parent is gone and cannot kill this process on its timeout.
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    if hard == resource.RLIM_INFINITY or cpu_seconds < hard:
        resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, hard))


def _duration(value: datetime.timedelta) -> str:
    """A duration as Excel shows [h]:mm:ss."""
    seconds = int(value.total_seconds())
    sign = "-" if seconds < 0 else ""
    hours, rest = divmod(abs(seconds), 3600)
    return f"{sign}{hours}:{rest // 60:02d}:{rest % 60:02d}"


def _cells(
    row: list[Any], padding: list[Any], max_columns: int, max_chars: int
) -> tuple[list[object], dict[int, int]] | None:
    """The row's cells from column A, trailing empties dropped, and the lengths of the text
    cells cut to max_chars by index; None when the row is blank."""
    if padding:
        row = padding + row
    cells: list[object] = []
    cut: dict[int, int] = {}
    used = 0
    blank = True
    for value in row[:max_columns]:
        kind = type(value)
        if value is None or value == "":  # None: padding; "": calamine's empty cell
            cells.append(None)
            continue
        if kind is str:
            if len(value) > max_chars:
                cut[len(cells)] = len(value)
                value = value[:max_chars]
            if blank and not value.isspace():
                blank = False
        else:
            blank = False
            if kind is float:
                if value - value != 0:  # NaN or an infinity (x - x is 0.0 for every finite x)
                    value = NUM_ERROR
            elif kind is datetime.datetime or kind is datetime.date or kind is datetime.time:
                value = value.isoformat()
            elif kind is datetime.timedelta:
                value = _duration(value)
        cells.append(value)
        used = len(cells)
    if blank:
        return None
    del cells[used:]
    return cells, cut


def _visible_worksheets(book: python_calamine.CalamineWorkbook) -> list[str]:
    return [
        sheet.name
        for sheet in book.sheets_metadata
        if sheet.typ == python_calamine.SheetTypeEnum.WorkSheet
        and sheet.visible == python_calamine.SheetVisibleEnum.Visible
    ]


def _rows(
    sheet: python_calamine.CalamineSheet, max_columns: int, blank_run: int, max_chars: int
) -> Iterator[tuple[int, list[object], dict[int, int]]]:
    """(row_number, cells, cut) of the sheet's non-blank rows, until blank_run blank rows."""
    start = sheet.start
    if start is None:  # an empty sheet; iter_rows() would panic on it
        return
    # The range starts at the first non-empty column: pad so cells[0] is always column A.
    # iter_rows() yields the rows above the range as empty rows, so its count is the row number.
    padding = [None] * min(start[1], max_columns)
    blanks = 0
    for number, row in enumerate(sheet.iter_rows(), 1):
        found = _cells(row, padding, max_columns, max_chars)
        if found is None:
            blanks += 1
            if blanks >= blank_run:
                return
            continue
        blanks = 0
        yield number, *found


def _stream(
    path: str,
    max_columns: int,
    blank_run: int,
    max_rows: int,
    max_chars: int,
    send: Callable[[tuple[Any, ...]], None],
) -> None:
    """Streams the first visible worksheet that has a row to read: a workbook whose first sheet
    was left empty (its data on the next one) is read as its user sees it. One sheet's grid is
    held at a time."""
    book = python_calamine.CalamineWorkbook.from_path(path)
    names = _visible_worksheets(book)
    for name in names:
        rows = _rows(book.get_sheet_by_name(name), max_columns, blank_run, max_chars)
        first = next(rows, None)
        if first is None:
            continue
        send(("sheet", name))
        for sent, (number, cells, cut) in enumerate(itertools.chain((first,), rows), 1):
            send(("row", number, cells, cut or None))
            if sent > max_rows:  # the reader refuses the file on this row; read no further
                break
        send(("end",))
        return
    send(("sheet", names[0] if names else None))
    send(("end",))


def main(argv: list[str]) -> int:
    path = argv[1]
    max_columns, blank_run, max_rows, memory_mb, cpu_seconds, max_chars = (
        int(arg) for arg in argv[2:8]
    )
    out = os.fdopen(sys.stdout.fileno(), "wb", buffering=64 * 1024, closefd=False)

    def send(message: tuple[Any, ...]) -> None:
        payload = marshal.dumps(message)
        out.write(FRAME.pack(len(payload)))
        out.write(payload)

    _limit_resources(memory_mb, cpu_seconds)
    try:
        try:
            _stream(path, max_columns, blank_run, max_rows, max_chars, send)
        except python_calamine.PasswordError as exc:
            send(("error", "password", type(exc).__name__))
        except MemoryError as exc:
            send(("error", "memory", type(exc).__name__))
        except (BrokenPipeError, KeyboardInterrupt, SystemExit):
            raise
        except BaseException as exc:  # a Rust panic arrives as a BaseException (PanicException)
            # calamine's own cap on a sheet's cells (far above what MEMORY_MB allows).
            too_large = "cell limit exceeded" in str(exc).lower()
            send(("error", "memory" if too_large else "corrupt", type(exc).__name__))
        out.flush()
    except BrokenPipeError:
        # The reader stopped listening (its consumer stopped early); nothing is left to do.
        os._exit(0)
    except MemoryError:
        # Out of memory even for the error message; os._exit needs no memory to say so.
        os._exit(EXIT_OUT_OF_MEMORY)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
