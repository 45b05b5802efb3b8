"""The preview's first stages: which column holds which field (map), and every field of
every row through users.customers.rules, every problem kept (validate). Also what of a row is
kept for display: its cells bounded in length (bounded_raw), without NUL (storable)."""

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, cast

from users.customers import rules
from users.customers.rules import REQUIRED, TOO_LONG, FieldProblem
from users.errors import NO_DATA, TOO_MANY_ROWS, FileError
from users.excel.cells import CutText, cell_to_text, cut_cell
from users.excel.columns import (
    REQUIRED_FIELDS,
    ColumnMap,
    column_letter,
    map_first_row,
    map_legacy,
)
from users.models import ImportJob

FIELD_LABELS = {
    "shipping_mark": "Shipping mark",
    "first_name": "First name",
    "last_name": "Last name",
    "email": "Email",
    "phone": "Phone",
    "region": "Region",
    "company_name": "Company name",
    "nickname": "Nickname",
    "user_type": "Customer type",
}


# A cell longer than this makes its row invalid: the longest field, an email, is 254 characters,
# and the rest is room for the spaces and invisible characters that cleaning takes out. The
# readers cut such cells as they read them (ReaderLimits.max_cell_chars), so that a 60 MB cell
# never reaches this process whole; here the cut becomes the row's error.
MAX_CELL_CHARS = 1000


# The most characters a row's cells hold in all (at most 256 columns of MAX_CELL_CHARS would be
# 256,000, and a reader holds 2,000 staged rows at a time): a row with more is invalid, and only
# this much of it is kept for the preview, the status and errors.xlsx.
MAX_ROW_CHARS = 8000


CUT_MARK = "\u2026"  # ends a cell kept shorter than it was


@dataclass(frozen=True, slots=True)
class ImportOptions:
    """What the admin chose at upload: create only (the default), or update matching customers
    (`update` creates the others, `update_only` reports them), matched by `match`."""

    mode: str = ImportJob.Mode.CREATE
    match: str = ImportJob.Match.PHONE
    blank_clears: bool = False

    @property
    def updates(self) -> bool:
        return self.mode != ImportJob.Mode.CREATE


CREATE_ONLY = ImportOptions()


@dataclass(slots=True)
class ParsedRow:
    row: int
    raw: list[Any]
    values: dict[str, object]
    problems: list[FieldProblem]
    # Update modes: the fields the row gives a value for (a column and a non-blank cell), and
    # the problems that only matter if the row is created (a required field left blank).
    given: tuple[str, ...] = ()
    create_problems: list[FieldProblem] = field(default_factory=list)


def map_rows(
    rows: Iterable[tuple[int, list[Any]]],
    *,
    header_required: bool = False,
    options: ImportOptions = CREATE_ONLY,
    chosen: Mapping[str, object] | None = None,
    layout: str | None = None,
) -> tuple[ColumnMap, Iterator[tuple[int, list[Any]]]]:
    """The column map (from a header row, or the legacy layout), with the admin's choices over
    it, and the data rows after it. An update needs only the match key's column; a create needs
    the names and phone too. `layout` ("header" or "legacy") says what the first row is when
    that is already known (a remap of a stored upload)."""
    iterator = iter(rows)
    try:
        first_row, first_cells = next(iterator)
    except StopIteration:
        raise FileError(NO_DATA, "The file has no rows.") from None
    required = (options.match,) if options.updates else REQUIRED_FIELDS
    if layout != "legacy":
        column_map = map_first_row(
            first_cells,
            header_required=header_required or layout == "header",
            chosen=chosen,
            required=required,
        )
        if column_map is not None:
            return replace(column_map, header_row=first_row), iterator

    def with_first() -> Iterator[tuple[int, list[Any]]]:
        yield first_row, first_cells
        yield from iterator

    return map_legacy(width=len(first_cells), chosen=chosen), with_first()


def _blank(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    return not cell_to_text(value).strip()


def given_fields(data: Mapping[str, object]) -> tuple[str, ...]:
    """The fields a row's cells (by field) give a value for: a column and a cell that is not
    blank. An update changes only those."""
    return tuple(
        name
        for name, value in data.items()
        if (value.strip() if isinstance(value, str) else not _blank(value))
    )


def parse_row(
    row: int, cells: list[Any], column_map: ColumnMap, options: ImportOptions = CREATE_ONLY
) -> ParsedRow:
    cells = [cut_cell(cell, MAX_CELL_CHARS) for cell in cells]
    data = column_map.values(cells)
    cut_fields = [name for name, value in data.items() if isinstance(value, CutText)]
    # A cut field is not cleaned: its own error says what is wrong with it.
    values, problems = rules.clean_customer(
        {name: None if name in cut_fields else value for name, value in data.items()}
    )
    problems = [p for p in problems if p.field not in cut_fields]
    problems += [_long_cell(name, cast(CutText, data[name])) for name in cut_fields]
    problems += _long_cells_of_other_columns(cells, column_map)
    raw, length = bounded_raw(cells)
    if length > MAX_ROW_CHARS:
        message = (
            f"The row holds {length:,} characters in all; a row holds at most {MAX_ROW_CHARS:,}."
        )
        problems.append(FieldProblem("", TOO_LONG, message, ""))
    parsed = ParsedRow(row=row, raw=raw, values=values, problems=problems)
    if options.updates:
        parsed.given = given_fields(data)
        # A required field left blank (or without a column) matters only if the row is created.
        parsed.create_problems = [
            p for p in problems if p.code == REQUIRED and p.field in REQUIRED_FIELDS
        ]
        parsed.problems = [p for p in problems if p not in parsed.create_problems]
    return parsed


def _cell_message(length: int) -> str:
    # A cell restored from a stored row (a remap) was kept cut: its length is no longer known.
    held = f"{length:,}" if length > MAX_CELL_CHARS else f"more than {MAX_CELL_CHARS:,}"
    return f"holds {held} characters; a cell holds at most {MAX_CELL_CHARS:,}."


def _long_cell(field_name: str, cell: CutText) -> FieldProblem:
    return FieldProblem(field_name, TOO_LONG, f"This cell {_cell_message(cell.length)}", str(cell))


def _long_cells_of_other_columns(cells: list[Any], column_map: ColumnMap) -> list[FieldProblem]:
    mapped = set(column_map.fields.values())
    problems = []
    for index, cell in enumerate(cells):
        if isinstance(cell, CutText) and index not in mapped:
            header = column_map.headers[index][:40] if index < len(column_map.headers) else ""
            column = f"Column {column_letter(index)}" + (f" ({header})" if header else "")
            problems.append(
                FieldProblem("", TOO_LONG, f"{column} {_cell_message(cell.length)}", str(cell))
            )
    return problems


def bounded_raw(cells: list[Any]) -> tuple[list[Any], int]:
    """The cells as kept for display, and how many characters they held (a cell counted up to
    MAX_CELL_CHARS: a longer one has an error of its own): text cut to MAX_CELL_CHARS, and to
    MAX_ROW_CHARS for the row, each cut cell ending in CUT_MARK (or None once the row's room is
    spent). Plain values: a reader's CutText becomes str."""
    kept = []
    room = MAX_ROW_CHARS
    length = 0
    for cell in cells:
        if isinstance(cell, str):
            cell = cast(str, cut_cell(cell, MAX_CELL_CHARS))  # text, cut or whole
            length += len(cell)
            if isinstance(cell, CutText) or len(cell) > room:
                cell = str(cell)[: room - 1] + CUT_MARK if room else None
            else:
                cell = str(cell)
            room -= len(cell or "")
        kept.append(cell)
    return kept, length


def parse_rows(
    data_rows: Iterable[tuple[int, list[Any]]],
    column_map: ColumnMap,
    *,
    max_rows: int,
    options: ImportOptions = CREATE_ONLY,
) -> Iterator[ParsedRow]:
    for count, (row, cells) in enumerate(data_rows, start=1):
        if count > max_rows:
            raise FileError(
                TOO_MANY_ROWS,
                f"The file has more than {max_rows:,} data rows. Split it into smaller files.",
                details={"max_rows": max_rows},
            )
        yield parse_row(row, cells, column_map, options)


def storable(value: Any) -> Any:
    """`value` with NUL characters shown as U+FFFD: Postgres text and jsonb cannot hold NUL.
    Only what is kept for display (raw cells, headers, offending values) is touched: a field
    holding a NUL is refused as invalid_characters before anything is stored."""
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd") if "\x00" in value else value
    if isinstance(value, list):
        return [storable(item) for item in value]
    if isinstance(value, dict):
        return {storable(key): storable(item) for key, item in value.items()}
    return value
