"""Customers out to a spreadsheet: the API's download, the export_customers command and the
admin's Export button all come here.

The columns are the import template's, with values as stored, so an export uploads back as
existing customers. Rows are read in chunks and written as they come (a streamed xlsx, or CSV
text), so the download starts at once and memory stays flat however many customers there are.
"""

import contextlib
import itertools
import logging
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import IO

import psutil
from django.utils import timezone

from users.customers import selectors
from users.excel.columns import TEMPLATE_HEADERS
from users.excel.template import COLUMN_WIDTHS
from users.excel.writing import csv_lines, xlsx_stream
from users.models import User

logger = logging.getLogger(__name__)

XLSX = "xlsx"
CSV = "csv"
FORMATS = (XLSX, CSV)

FIELDS = tuple(TEMPLATE_HEADERS)
HEADERS = list(TEMPLATE_HEADERS.values())
WIDTHS = [COLUMN_WIDTHS[field] for field in FIELDS]
# Rows fetched per round trip (a server-side cursor on Postgres).
CHUNK_SIZE = 2000
PROGRESS_EVERY = 1000
LOG_EVERY = 20_000
# A streamed CSV goes out in pieces of about this many characters, not one per row.
CSV_PIECE = 64 * 1024

OnRow = Callable[[int], None]


def export_filename(file_format: str) -> str:
    """customers-2026-11-22.xlsx: the download's name, dated in the site's time zone."""
    return f"customers-{timezone.localdate().isoformat()}.{file_format}"


def customer_export_rows(*, actor: User | None, filters: Mapping | None = None) -> Iterator[tuple]:
    """The customers matching the list filters that `actor` may see (None: the command line,
    run by whoever runs the server), as rows in template column order.

    The filters are checked now (django ValidationError when one does not parse), so a caller
    can answer 400 before it starts a file; the rows are read lazily, CHUNK_SIZE at a time."""
    rows = (
        selectors.customer_list(actor=actor, filters=filters)
        .values_list(*FIELDS)
        .iterator(CHUNK_SIZE)
    )
    # The query runs now, not once a streamed answer has begun, so that a value the database
    # refuses is an error the caller can still answer with.
    first = list(itertools.islice(rows, 1))
    return itertools.chain(first, rows)


def _rss_mb() -> float:
    return psutil.Process().memory_info().rss / 1024 / 1024


def _counted(rows: Iterable, on_row: OnRow | None, file_format: str) -> Iterator:
    """`rows`, calling on_row(n) every PROGRESS_EVERY rows and once at the end; logs the start,
    every LOG_EVERY rows and the end, with the process's memory."""
    started = time.monotonic()
    logger.info("[EXPORT-START] format=%s rss_mb=%.0f", file_format, _rss_mb())
    count = 0
    for row in rows:
        yield row
        count += 1
        if on_row is not None and count % PROGRESS_EVERY == 0:
            on_row(count)
        if count % LOG_EVERY == 0:
            logger.info(
                "[EXPORT-PROGRESS] format=%s rows=%d rss_mb=%.0f", file_format, count, _rss_mb()
            )
    if on_row is not None and count % PROGRESS_EVERY:
        on_row(count)
    logger.info(
        "[EXPORT-DONE] format=%s rows=%d seconds=%.2f rss_mb=%.0f",
        file_format,
        count,
        time.monotonic() - started,
        _rss_mb(),
    )


def customers_export_xlsx_stream(
    *, actor: User | None, filters: Mapping | None = None, on_row: OnRow | None = None
) -> Iterator[bytes]:
    """The export as xlsx bytes in pieces, made as the rows are read (for a streaming answer:
    its first bytes go out at once). The filters are checked and the query run before it
    returns. Text is always written as text, never as a formula."""
    rows = customer_export_rows(actor=actor, filters=filters)
    return xlsx_stream(
        title="Customers", headers=HEADERS, rows=_counted(rows, on_row, XLSX), widths=WIDTHS
    )


def customers_export_xlsx(
    *,
    actor: User | None,
    filters: Mapping | None = None,
    target: IO[bytes] | str,
    on_row: OnRow | None = None,
) -> int:
    """Writes the export as an xlsx workbook to `target` (a path or a binary file); returns the
    number of customers."""
    count = [0]

    def counting(n: int) -> None:
        count[0] = n
        if on_row is not None:
            on_row(n)

    pieces = customers_export_xlsx_stream(actor=actor, filters=filters, on_row=counting)
    with contextlib.ExitStack() as stack:
        out = stack.enter_context(open(target, "wb")) if isinstance(target, str) else target
        for piece in pieces:
            out.write(piece)
    return count[0]


def customers_export_csv(
    *, actor: User | None, filters: Mapping | None = None, on_row: OnRow | None = None
) -> Iterator[str]:
    """The export as CSV text in pieces (for a streaming response or a file): UTF-8 with a BOM,
    values that a spreadsheet would run prefixed with a quote (the OWASP rule)."""
    rows = customer_export_rows(actor=actor, filters=filters)
    return _pieces(csv_lines(HEADERS, _counted(rows, on_row, CSV)))


def _pieces(lines: Iterable[str], size: int = CSV_PIECE) -> Iterator[str]:
    buffer: list[str] = []
    length = 0
    for line in lines:
        buffer.append(line)
        length += len(line)
        if length >= size:
            yield "".join(buffer)
            buffer, length = [], 0
    if buffer:
        yield "".join(buffer)
