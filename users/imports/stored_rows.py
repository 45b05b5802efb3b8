"""An import's staged rows: one type (StoredRow), the preview's verdict on each (Outcome), the
way they are written (stage, then their verdicts and chosen marks set by position) and the one
way they are read back (StoredRows).

A job's rows live in the staging table (ImportStagedRow, keyed by job and position), one row
of the table a row of the file, its fields in columns: the preview writes them by COPY (one
prepared INSERT run for every row on SQLite), finds duplicates by joins on their keys
(users.imports.clashes), sets the verdicts of the few rows that need one, and the run inserts
customers from them with INSERT ... SELECT (users.imports.writes). Everything that reads them
(the run's per-customer fallback and updates, the preview lists, errors.xlsx, the remap, the
legacy confirm) reads them here, as StoredRows.
"""

import json
from collections.abc import Iterable, Iterator, Sequence
from enum import StrEnum
from typing import Any, NamedTuple
from uuid import UUID

from django.db import connection
from django.db.models import Count, Q, QuerySet

from users.customers.rules import CUSTOMER_FIELDS
from users.excel.cells import finite
from users.imports import bulk
from users.models import ImportStagedRow


class Outcome(StrEnum):
    """What the preview found a row to be, stored as one letter."""

    CREATE = "c"
    INVALID = "i"
    EXISTING = "e"  # clashes with a stored customer
    BATCH = "b"  # clashes with an earlier row of the file
    UPDATE = "u"
    UNCHANGED = "n"  # matches a customer that already holds its values
    AMBIGUOUS = "a"  # matches more than one customer
    NO_MATCH = "m"  # update_only: matches no customer
    # To create, but resembles a customer or an earlier row (users.imports.resemblance): the
    # run creates it as it creates CREATE rows.
    POSSIBLE_DUPLICATE = "p"
    SKIPPED = "s"  # set aside by the admin in the preview (users.imports.fixes)


class Choice(StrEnum):
    """What the admin chose for a possible duplicate (users.imports.choices), stored as one
    letter beside its outcome: the row keeps it while other rows are classified again, and
    loses it when its own cells are fixed."""

    CREATE = "c"  # create it anyway: a plain row to create, not compared again
    UPDATE = "u"  # update the customer it resembles, as an update-mode import would
    SKIP = "s"  # skipped (its outcome is SKIPPED); an include takes it back, compared again


CHOICES = {choice.value: choice for choice in Choice}


# The outcomes the run creates a customer for.
CREATES = frozenset({Outcome.CREATE, Outcome.POSSIBLE_DUPLICATE})
TO_WRITE = CREATES | {Outcome.UPDATE}
NOT_WRITTEN = frozenset(
    {
        Outcome.INVALID,
        Outcome.EXISTING,
        Outcome.BATCH,
        Outcome.AMBIGUOUS,
        Outcome.NO_MATCH,
        Outcome.SKIPPED,
    }
)
# Outcome by its letter: a dict lookup, cheaper than Outcome(letter) for every row read.
OUTCOMES = {outcome.value: outcome for outcome in Outcome}


class Resembled(NamedTuple):
    """What a possible duplicate resembles, as staged: a customer's id or an earlier row's
    number in the file, and the reason's code and sentence."""

    customer_id: int | None
    row: int | None
    code: str
    message: str


class StoredRow(NamedTuple):
    """One row of an upload as the preview staged it."""

    position: int  # the row's place among the file's data rows (0-based)
    source_row: int  # the row's number in the file
    outcome: Outcome
    raw: list[Any]  # the cells as uploaded (NUL shown as U+FFFD)
    values: list[Any]  # the normalised fields in CUSTOMER_FIELDS order (None: failed its rule)
    mark_generated: bool  # the shipping mark was chosen by the import, not given
    customer_id: int | None = None  # the customer an update (or unchanged) row matched
    # [field, old, new] of each field an update changes, as the preview found them.
    changes: Sequence[Sequence[Any]] = ()
    # A possible duplicate: whom it resembles and why (users.imports.resemblance.Resemblance).
    resemblance: "Resembled | None" = None
    # What the admin chose for it, if it was one (users.imports.choices).
    choice: Choice | None = None

    def fields(self) -> dict[str, Any]:
        """The normalised fields by name."""
        return dict(zip(CUSTOMER_FIELDS, self.values, strict=True))

    def candidate(self) -> dict[str, Any]:
        """The row as the preview lists it (and as the legacy confirm body sends it back)."""
        return {
            "source_row_number": self.source_row,
            **self.fields(),
            "shipping_mark_generated": self.mark_generated,
        }


# --- writing -----------------------------------------------------------------------------------

# The columns stage() writes, in the order of the tuples it is given.
STAGED_FIELDS = (
    "position",
    "source_row",
    "outcome",
    "valid",
    *CUSTOMER_FIELDS,
    "email_key",
    "mark_key",
    "given",
    "raw",
)


def raw_json(cells: list[Any]) -> str:
    """Cells as compact JSON text: it reads back exactly (str, int, float, bool, None). A NaN
    or infinity (which the readers never yield, and JSON cannot hold) is stored as the text
    Excel shows."""
    try:
        return json.dumps(cells, separators=(",", ":"), allow_nan=False)
    except ValueError:
        return json.dumps(finite(cells), separators=(",", ":"), allow_nan=False)


def stage(job_id: object, rows: Iterable[Sequence[Any]]) -> None:
    """Writes rows (values in STAGED_FIELDS order) of the job to the staging table in one
    statement (COPY on Postgres)."""
    bulk.insert_rows(ImportStagedRow, fields=STAGED_FIELDS, rows=rows, shared={"job": job_id})


def staged_set(job_id: object, fields: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Sets `fields` of the job's rows at these positions: each row is (position, *values), in
    one statement (users.imports.bulk.update_rows)."""
    bulk.update_rows(
        ImportStagedRow, fields=fields, rows=rows, key="position", scope={"job": job_id}
    )


def outcome_counts(job_id: UUID) -> dict[Outcome, int]:
    """How many of the job's rows each outcome holds."""
    counts = dict.fromkeys(Outcome, 0)
    for letter, count in (
        ImportStagedRow.objects.filter(job_id=job_id)
        .order_by()
        .values_list("outcome")
        .annotate(count=Count("*"))
    ):
        counts[OUTCOMES[letter]] = count
    return counts


# --- reading -----------------------------------------------------------------------------------

# Rows read in one query when a reader walks a job's rows (a 100,000-row job holds 50 pages).
PAGE_ROWS = 2000
_READ = (
    "position",
    "source_row",
    "outcome",
    "raw",
    *CUSTOMER_FIELDS,
    "mark_generated",
    "customer_id",
    "changes",
    "resembles_customer_id",
    "resembles_row",
    "resemblance_code",
    "resemblance_message",
    "choice",
)
_FIRST_FIELD = _READ.index(CUSTOMER_FIELDS[0])
_LAST_FIELD = _FIRST_FIELD + len(CUSTOMER_FIELDS)


def _row(staged: tuple[Any, ...]) -> StoredRow:
    raw, changes = staged[3], staged[_LAST_FIELD + 2]
    code = staged[_LAST_FIELD + 5]
    return StoredRow(
        staged[0],
        staged[1],
        OUTCOMES[staged[2]],
        json.loads(raw) if raw else [],
        list(staged[_FIRST_FIELD:_LAST_FIELD]),
        staged[_LAST_FIELD],
        staged[_LAST_FIELD + 1],
        json.loads(changes) if changes else (),
        Resembled(*staged[_LAST_FIELD + 3 : _LAST_FIELD + 7]) if code else None,
        CHOICES[staged[_LAST_FIELD + 7]] if staged[_LAST_FIELD + 7] else None,
    )


class StoredRows:
    """A job's staged rows, read a page at a time in file order, all of them or those of some
    outcomes: the one reader of what a preview staged."""

    def __init__(self, job_id: UUID, *, outcomes: Iterable[Outcome] | None = None) -> None:
        self.job_id = job_id
        self.outcomes = None if outcomes is None else sorted(outcomes)

    def _query(self) -> QuerySet[ImportStagedRow, tuple[Any, ...]]:
        rows = ImportStagedRow.objects.filter(job_id=self.job_id)
        if self.outcomes is not None:
            rows = rows.filter(outcome__in=self.outcomes)
        return rows.order_by("position").values_list(*_READ)

    def pages(self, *, start: int = 0, end: int | None = None) -> Iterator[list[StoredRow]]:
        """The rows from position `start` (to `end`, not included), PAGE_ROWS at a time."""
        query = self._query()
        if end is not None:
            query = query.filter(position__lt=end)
        while rows := [_row(r) for r in query.filter(position__gte=start)[:PAGE_ROWS]]:
            yield rows
            start = rows[-1].position + 1

    def __iter__(self) -> Iterator[StoredRow]:
        """Every row (of the outcomes asked for), in file order."""
        for rows in self.pages():
            yield from rows

    def page(self, *, offset: int, limit: int) -> list[StoredRow]:
        """`limit` rows from the `offset`th on (a preview list's page)."""
        return [_row(r) for r in self._query()[offset : offset + limit]]

    def columns(
        self, names: Sequence[str], *, positions: Iterable[int] | None = None
    ) -> Iterator[tuple[Any, ...]]:
        """(position, *these columns) of every row, or of the rows at `positions`, in file
        order, PAGE_ROWS a query: for a reader of a few fields of many rows (the near-duplicate
        finder), without the cells and changes a StoredRow decodes."""
        rows = ImportStagedRow.objects.filter(job_id=self.job_id)
        if self.outcomes is not None:
            rows = rows.filter(outcome__in=self.outcomes)
        query = rows.order_by("position").values_list("position", *names)
        if positions is not None:
            for wanted in pages_of(positions):
                yield from query.filter(at_positions(wanted))
            return
        start = 0
        while page := list(query.filter(position__gte=start)[:PAGE_ROWS]):
            yield from page
            start = page[-1][0] + 1

    def at(self, positions: Iterable[int]) -> list[StoredRow]:
        """The rows at these positions, in file order."""
        found: list[StoredRow] = []
        for page in pages_of(positions):
            found += [_row(r) for r in self._query().filter(at_positions(page))]
        return found


def pages_of(positions: Iterable[int], size: int = PAGE_ROWS) -> Iterator[list[int]]:
    """These positions, sorted, `size` at a time (for at_positions)."""
    wanted = sorted(set(positions))
    for start in range(0, len(wanted), size):
        yield wanted[start : start + size]


def at_positions(page: list[int]) -> Q:
    """The rows (staged rows, or a row's errors) at these sorted positions of a job, bounded by
    the first and the last as well:
    the bounds are what Postgres reads the key by while the staging table's statistics do not
    yet know the job's rows (a fresh preview's never do); by the list alone it read all of the
    job's rows and filtered them, 46 ms against 0.6 ms for 1,000 positions of 100,000 (EXPLAIN
    ANALYZE)."""
    return Q(position__gte=page[0], position__lte=page[-1], position__in=page)


def batch_plan(job_id: UUID, *, start: int, size: int) -> list[tuple[int, Outcome]]:
    """(position, outcome) of up to `size` rows to write (create or update) from `start`, in
    file order: one probe of the staging table's key. A possible duplicate is a CREATE here."""
    rows = (
        ImportStagedRow.objects.filter(
            job_id=job_id, position__gte=start, outcome__in=sorted(TO_WRITE)
        )
        .order_by("position")
        .values_list("position", "outcome")[:size]
    )
    return [
        (position, Outcome.UPDATE if letter == Outcome.UPDATE else Outcome.CREATE)
        for position, letter in rows
    ]


def staged_table() -> str:
    """The staging table's name, quoted for SQL."""
    return connection.ops.quote_name(ImportStagedRow._meta.db_table)
