"""An import's stored rows: one type (StoredRow), the preview's verdict on each (Outcome), and
the one way to write (encode) and read them back (StoredRows).

A job's rows are stored in ImportChunk rows of CHUNK_ROWS each, as compact JSON lists
[source_row, outcome, raw cells, values, mark_generated(, customer_id, changes)]: lists, not
objects, because a 100,000-row job stores 100,000 of them and names would double their size.
Everything that reads them (the run, the preview lists, errors.xlsx, the remap, the legacy
confirm) reads them here, as StoredRows.
"""

import json
from collections.abc import Iterable, Iterator, Sequence
from enum import StrEnum
from typing import Any, NamedTuple

from users.customers.rules import CUSTOMER_FIELDS
from users.excel.cells import finite
from users.models import ImportChunk

# Rows a chunk holds; a row's place in the file (its position, 0-based) says which chunk.
CHUNK_ROWS = 1000


class Outcome(StrEnum):
    """What the preview found a row to be, stored as one letter (a 100,000-row job stores it
    100,000 times)."""

    CREATE = "c"
    INVALID = "i"
    EXISTING = "e"  # clashes with a stored customer
    BATCH = "b"  # clashes with an earlier row of the file
    UPDATE = "u"
    UNCHANGED = "n"  # matches a customer that already holds its values
    AMBIGUOUS = "a"  # matches more than one customer
    NO_MATCH = "m"  # update_only: matches no customer


TO_WRITE = frozenset({Outcome.CREATE, Outcome.UPDATE})
NOT_WRITTEN = frozenset(
    {Outcome.INVALID, Outcome.EXISTING, Outcome.BATCH, Outcome.AMBIGUOUS, Outcome.NO_MATCH}
)
# Outcome by its letter: a dict lookup, cheaper than Outcome(letter) 100,000 times.
OUTCOMES = {outcome.value: outcome for outcome in Outcome}


class StoredRow(NamedTuple):
    """One row of an upload as the preview stored it. A NamedTuple: a chunk of 1,000 is built
    from its JSON lists at the cost of tuples, which a run of 100,000 rows reads back whole."""

    source_row: int  # the row's number in the file
    outcome: Outcome
    raw: list[Any]  # the cells as uploaded (NUL shown as U+FFFD)
    # The normalised fields in CUSTOMER_FIELDS order; rows stored before a field was added
    # hold fewer (the model's default applies).
    values: list[Any]
    mark_generated: bool  # the shipping mark was chosen by the import, not given
    customer_id: int | None = None  # the customer an update (or unchanged) row matched
    # [field, old, new] of each field an update changes, as the preview found them.
    changes: Sequence[Sequence[Any]] = ()

    def fields(self) -> dict[str, Any]:
        """The normalised fields by name (those a row stored before a field was added lacks
        are left out)."""
        return dict(zip(CUSTOMER_FIELDS, self.values, strict=False))

    def candidate(self) -> dict[str, Any]:
        """The row as the preview lists it (and as the legacy confirm body sends it back)."""
        return {
            "source_row_number": self.source_row,
            **self.fields(),
            "shipping_mark_generated": self.mark_generated,
        }


def encode(rows: Iterable[StoredRow]) -> str:
    """Compact JSON text: it reads back exactly (str, int, float, bool, None) and costs Postgres
    nothing to store, where jsonb is parsed and rebuilt on the way in and out (10 ms against
    7 ms to write a 1,000-row chunk, 7 against 4 to read one, measured). The rows are dumped as
    the tuples they are (an Outcome is a str), a row without a match without its empty tail: no
    list is built a row (bench/bench_stored_rows.py). A NaN or infinity (which the readers
    never yield, and JSON cannot hold) is stored as the text Excel shows."""
    stored = [row[:5] if row.customer_id is None else row for row in rows]
    try:
        return json.dumps(stored, separators=(",", ":"), allow_nan=False)
    except ValueError:
        return json.dumps(finite(stored), separators=(",", ":"), allow_nan=False)


# What a row stored without a match (a create, an invalid row...) lacks at its end.
_UNMATCHED = (None, ())
_as_row = tuple.__new__


def decode(text: str) -> list[StoredRow]:
    """The rows of one stored chunk. Each stored list is made the row's tuple in place (its
    outcome letter an Outcome, its 0/1 a bool), with no call a row: a run of 100,000 rows
    reads every one of them back (1.3 us a row over json.loads, against 4.3 us through a
    constructor taking the list apart, measured)."""
    rows: list[Any] = json.loads(text)
    for position, stored in enumerate(rows):
        stored[1] = OUTCOMES[stored[1]]
        stored[4] = stored[4] == 1  # true, or 1 as rows were stored before
        if len(stored) == 5:
            stored += _UNMATCHED
        rows[position] = _as_row(StoredRow, stored)
    return rows


class StoredRows:
    """A job's stored rows, one chunk in memory at a time. The chunk read last is kept, so
    readers that come back to it (the run's batches share chunks) decode it once."""

    def __init__(self, job_id: object) -> None:
        self.job_id = job_id
        self._index: int | None = None
        self._rows: list[StoredRow] | None = None

    def chunk(self, index: int) -> list[StoredRow] | None:
        """The rows of chunk `index` (numbered 0, 1, 2...), or None past the last."""
        if index != self._index:
            self._rows = chunk_read(self.job_id, index)
            self._index = index
        return self._rows

    def chunks(self) -> Iterator[list[StoredRow]]:
        """Every chunk's rows, in file order."""
        index = 0
        while (rows := self.chunk(index)) is not None:
            yield rows
            index += 1

    def __iter__(self) -> Iterator[StoredRow]:
        """Every row, in file order."""
        for rows in self.chunks():
            yield from rows

    def starting_at(self, start: int) -> Iterator[tuple[int, StoredRow]]:
        """(position, row) from position `start` on."""
        position = start
        while (rows := self.chunk(position // CHUNK_ROWS)) is not None:
            offset = position % CHUNK_ROWS
            if offset >= len(rows):
                return
            yield from enumerate(rows[offset:], start=position)
            position += len(rows) - offset

    def at(self, positions: list[int]) -> list[StoredRow]:
        """The rows at these positions, reading only the chunks that hold them, in one query."""
        chunks = {
            index: decode(text)
            for index, text in ImportChunk.objects.filter(
                job_id=self.job_id, index__in={p // CHUNK_ROWS for p in positions}
            ).values_list("index", "rows")
        }
        return [chunks[p // CHUNK_ROWS][p % CHUNK_ROWS] for p in positions]


def chunk_read(job_id: object, index: int) -> list[StoredRow] | None:
    """The rows of one stored chunk, or None past the last."""
    text = (
        ImportChunk.objects.filter(job_id=job_id, index=index)
        .values_list("rows", flat=True)
        .first()
    )
    return None if text is None else decode(text)


def chunk_store(job_id: object, index: int, rows: list[StoredRow]) -> None:
    """Stores chunk `index` of the job's rows."""
    ImportChunk.objects.create(
        job_id=job_id, index=index, first_row=index * CHUNK_ROWS, rows=encode(rows)
    )
