"""A staged row's cells as a change of the preview reads them back (users.imports.fixes): the
staged row at a number in the file, the upload's columns as its preview read them, and the
cells, with fixed ones in place, validated again by the rules a cell of the file goes
through."""

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from rest_framework import status

from users.customers import rules
from users.customers.rules import FieldProblem
from users.errors import ApplicationError
from users.excel.columns import ColumnMap, column_index, legacy_map
from users.imports import remap
from users.imports.parse import ImportOptions, ParsedRow, given_fields, parse_row
from users.imports.preview_columns import field_letters
from users.models import ImportJob, ImportRowError, ImportStagedRow

ROW_NOT_FOUND = "row_not_found"


def staged_row_at(job: ImportJob, row: int) -> ImportStagedRow:
    """The staged row with this number in the file; 404 if the upload has none. A row's
    position is below its number (rows count from 1 and only grow), so the staging table's
    key is read backwards from there: the first row found is it, or one just before it when
    blank rows were skipped."""
    staged = None
    if 0 < row <= 2**31:
        staged = (
            ImportStagedRow.objects.filter(job=job, position__lt=row, source_row=row)
            .order_by("-position")
            .first()
        )
    if staged is None:
        raise ApplicationError(
            ROW_NOT_FOUND,
            f"The upload has no row {row}: rows are numbered as in the file (the header is row 1).",
            status_code=status.HTTP_404_NOT_FOUND,
        )
    return staged


def column_map(job: ImportJob) -> ColumnMap:
    """The upload's columns as its preview read them."""
    fields = {name: column_index(letter) for name, letter in field_letters(job).items()}
    if job.column_mapping.get("layout") == "legacy":
        return replace(legacy_map(), fields=fields)
    return ColumnMap(layout="header", fields=fields, headers=list(job.headers))


def options_of(job: ImportJob) -> ImportOptions:
    """What the admin chose at upload, as the preview parsed the rows with."""
    return ImportOptions(mode=job.mode, match=job.match, blank_clears=job.blank_clears)


def parsed(job: ImportJob, row: int, raw: list[Any], columns: ColumnMap) -> ParsedRow:
    """A staged row's cells validated again, with the problems its stored form no longer shows
    (a row over the length cap was stored cut)."""
    again = parse_row(row, remap.restored_cells(raw), columns, options_of(job))
    carried = ImportRowError.objects.filter(
        job=job, row=row, field="", code=rules.TOO_LONG, message__startswith="The row holds"
    ).values_list("message", flat=True)
    again.problems += [FieldProblem("", rules.TOO_LONG, message, "") for message in carried]
    return again


def cell(raw: list[Any], index: int) -> object:
    """The cell at `index` of a row's cells (None past its last)."""
    return raw[index] if index < len(raw) else None


def with_cells(job: ImportJob, raw: list[Any], cells: Mapping[str, object]) -> list[Any]:
    """The row's cells with each fixed field's cell replaced by the value sent."""
    letters = field_letters(job)
    new = list(raw)
    for name, value in cells.items():
        index = column_index(letters[name])
        new += [None] * (index + 1 - len(new))
        new[index] = value
    return new


def given_of(raw: list[Any], columns: ColumnMap) -> str:
    """The fields a row's cells give a value for, as an update stages them (comma-separated):
    what an update of a customer from the row writes (users.imports.choices makes a row of a
    create such an update)."""
    return ",".join(given_fields(columns.values(remap.restored_cells(raw))))
