"""The import pipeline up to the preview: read -> map -> validate -> classify -> store.

Stages:
  read      users.excel.reading: the file's non-blank rows (row number, cells)
  map       users.excel.columns: which column holds which field
  validate  parse_rows(): every field of every row through users.customers.rules, every problem kept
  classify  classify(): invalid, existing duplicate, batch duplicate, to create (in that order);
            with mode update/update_only, a row matching a customer by the match key is to
            update (with its per-field changes), unchanged, ambiguous_match, or needs_review
            (users.customers.roles.import_refusal)
  store     preview_store(): the job (PARSED), its rows in compact chunks, its row errors

Only classify and store touch the database; nothing here writes a customer.
Rows are spilled to a temporary file between stages, so memory holds keys, not rows: a
100,000-row preview stays within a few tens of MB.
"""

import hashlib
import json
import logging
import marshal
import os
import struct
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from functools import partial

from django.conf import settings
from django.db import transaction
from rest_framework import status

from users.api.errors import ApplicationError
from users.customers import roles, rules, selectors, services
from users.customers.rules import (
    CUSTOMER_FIELDS,
    DUPLICATE_IN_FILE,
    REQUIRED,
    TOO_LONG,
    FieldProblem,
)
from users.excel.cells import CutText, cell_to_text, cut_cell
from users.excel.columns import (
    REQUIRED_FIELDS,
    ColumnMap,
    column_letter,
    map_first_row,
    map_legacy,
)
from users.excel.errors import FILE_TOO_LARGE, NO_DATA, TOO_MANY_ROWS, FileError
from users.imports import bulk, stored_rows
from users.imports.stored_rows import Outcome, StoredRow
from users.models import ImportChunk, ImportJob, ImportRowError, User

logger = logging.getLogger(__name__)

AMBIGUOUS_MATCH = "ambiguous_match"
NO_MATCH_CODE = "no_match"
# Fields a blank cell erases when the admin asks for it (blank_clears); the others always hold a
# value (names, phone, mark) or have a default (region, customer type), so a blank cell never
# changes them.
CLEARABLE_FIELDS = ("email", "company_name", "nickname")

# Rows per block of the spool between the stages.
SPOOL_BLOCK_ROWS = 1000
LOOKUP_CHUNK = 1000
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
_VALUE_CAP = 300
# A cell longer than this makes its row invalid: the longest field, an email, is 254 characters,
# and the rest is room for the spaces and invisible characters that cleaning takes out. The
# readers cut such cells as they read them (ReaderLimits.max_cell_chars), so that a 60 MB cell
# never reaches this process whole; here the cut becomes the row's error.
MAX_CELL_CHARS = 1000
# The most characters a row's cells hold in all (at most 256 columns of MAX_CELL_CHARS would be
# 256,000, and a chunk holds 1,000 rows): a row with more is invalid, and only this much of it is
# kept for the preview, the status and errors.xlsx.
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
    raw: list
    values: dict[str, object]
    problems: list[FieldProblem]
    # Update modes: the fields the row gives a value for (a column and a non-blank cell), and
    # the problems that only matter if the row is created (a required field left blank).
    given: tuple[str, ...] = ()
    create_problems: list[FieldProblem] = field(default_factory=list)


@dataclass(slots=True)
class _Keys:
    """What classification needs of a row: its unique values (upper/lower-cased)."""

    index: int
    row: int
    valid: bool
    phone: str | None
    email: str | None
    mark: str | None
    # The base of the mark to generate (`PM KWAME`), for a row that gives none: interned, so
    # the rows of one first name share it; None when the row gives a mark.
    mark_base: str | None
    given: tuple[str, ...] = ()
    create_problems: tuple[FieldProblem, ...] = ()

    def unique_values(self) -> dict[str, str | None]:
        return {"phone": self.phone, "email": self.email, "shipping_mark": self.mark}

    def unique_items(self) -> tuple[tuple[str, str | None], ...]:
        return (("phone", self.phone), ("email", self.email), ("shipping_mark", self.mark))


@dataclass
class Classified:
    """Outcome of every row (by index), the reasons behind duplicates, and generated marks."""

    outcomes: bytearray
    problems: dict[int, list[FieldProblem]] = field(default_factory=dict)
    generated_marks: dict[int, str] = field(default_factory=dict)
    # Rows to update: the customer's id, and [field, old, new] for each field that changes.
    matched: dict[int, int] = field(default_factory=dict)
    changes: dict[int, list[list]] = field(default_factory=dict)

    def count(self, outcome: Outcome) -> int:
        return self.outcomes.count(ord(outcome))


# --- map + validate --------------------------------------------------------------------------


def map_rows(
    rows: Iterable[tuple[int, list]],
    *,
    header_required: bool = False,
    options: ImportOptions = CREATE_ONLY,
    chosen: dict | None = None,
    layout: str | None = None,
) -> tuple[ColumnMap, Iterator[tuple[int, list]]]:
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

    def with_first() -> Iterator[tuple[int, list]]:
        yield first_row, first_cells
        yield from iterator

    return map_legacy(width=len(first_cells), chosen=chosen), with_first()


def _blank(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    return not cell_to_text(value).strip()


def parse_row(
    row: int, cells: list, column_map: ColumnMap, options: ImportOptions = CREATE_ONLY
) -> ParsedRow:
    cells = [cut_cell(cell, MAX_CELL_CHARS) for cell in cells]
    data = column_map.values(cells)
    cut_fields = [name for name, value in data.items() if isinstance(value, CutText)]
    # A cut field is not cleaned: its own error says what is wrong with it.
    values, problems = rules.clean_customer(
        {name: None if name in cut_fields else value for name, value in data.items()}
    )
    problems = [p for p in problems if p.field not in cut_fields]
    problems += [_long_cell(name, data[name]) for name in cut_fields]
    problems += _long_cells_of_other_columns(cells, column_map)
    raw, length = bounded_raw(cells)
    if length > MAX_ROW_CHARS:
        message = (
            f"The row holds {length:,} characters in all; a row holds at most {MAX_ROW_CHARS:,}."
        )
        problems.append(FieldProblem("", TOO_LONG, message, ""))
    parsed = ParsedRow(row=row, raw=raw, values=values, problems=problems)
    if options.updates:
        parsed.given = tuple(
            name
            for name, value in data.items()
            if (value.strip() if isinstance(value, str) else not _blank(value))
        )
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


def _long_cells_of_other_columns(cells: list, column_map: ColumnMap) -> list[FieldProblem]:
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


def bounded_raw(cells: list) -> tuple[list, int]:
    """The cells as kept for display, and how many characters they held (a cell counted up to
    MAX_CELL_CHARS: a longer one has an error of its own): text cut to MAX_CELL_CHARS, and to
    MAX_ROW_CHARS for the row, each cut cell ending in CUT_MARK (or None once the row's room is
    spent). Plain values: a reader's CutText becomes str."""
    kept = []
    room = MAX_ROW_CHARS
    length = 0
    for cell in cells:
        if isinstance(cell, str):
            cell = cut_cell(cell, MAX_CELL_CHARS)
            length += len(cell)
            if isinstance(cell, CutText) or len(cell) > room:
                cell = str(cell)[: room - 1] + CUT_MARK if room else None
            else:
                cell = str(cell)
            room -= len(cell or "")
        kept.append(cell)
    return kept, length


def parse_rows(
    data_rows: Iterable[tuple[int, list]],
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


# --- classify --------------------------------------------------------------------------------


def _existing_clashes(keys: list[_Keys]) -> dict[int, list[tuple[str, selectors.Holder]]]:
    """(field, stored user) for each unique value of a row that a stored user holds: one query
    per LOOKUP_CHUNK rows."""
    found: dict[int, list[tuple[str, selectors.Holder]]] = {}
    for start in range(0, len(keys), LOOKUP_CHUNK):
        chunk = keys[start : start + LOOKUP_CHUNK]
        clashes = selectors.Clashes(k.unique_values() for k in chunk)
        if not clashes:
            continue
        for k in chunk:
            held = clashes.of_keys(k.phone, k.email, k.mark)
            if held:
                found[k.index] = held
    return found


_KEY_OF = {"phone": "phone", "email": "email", "shipping_mark": "mark"}


def _matches_and_clashes(
    keys: list[_Keys], match: str
) -> tuple[dict[int, list[tuple[str, selectors.Holder]]], dict[int, selectors.Stored]]:
    """For an update: what _existing_clashes finds, and the plain customers the rows match
    (roles.import_refusal: an import never writes another account), by id. First the
    holders of the rows' match keys, with their fields (one query per LOOKUP_CHUNK rows);
    then only the values a row's customer does not hold itself are looked up (a value the
    customer holds is nobody else's: the unique indexes say so), with every value of a row
    that matched no customer. Updating known customers without touching their phone, email or
    mark asks for nothing more."""
    found: dict[int, list[tuple[str, selectors.Holder]]] = {}
    stored: dict[int, selectors.Stored] = {}
    attribute = _KEY_OF[match]
    for start in range(0, len(keys), LOOKUP_CHUNK):
        chunk = keys[start : start + LOOKUP_CHUNK]
        holdings = selectors.holdings_of(
            field=match, keys=[key for k in chunk if (key := getattr(k, attribute))]
        )
        rest: list[tuple[_Keys, dict, list]] = []
        for k in chunk:
            holding = holdings.get(getattr(k, attribute))
            if holding is None or _not_a_customer(holding.stored.target):
                rest.append((k, k.unique_values(), []))
                continue
            stored[holding.holder.id] = holding.stored
            held = [(match, holding.holder)]
            held_keys = holding.keys
            others = {
                name: key
                for name, key in k.unique_items()
                if key is not None and key != held_keys[name]
            }
            if others:
                rest.append((k, others, held))
            else:
                found[k.index] = held
        if not rest:
            continue
        clashes = selectors.Clashes(values for k, values, held in rest)
        for k, values, held in rest:
            held = held + clashes.of_keys(
                values.get("phone"), values.get("email"), values.get("shipping_mark")
            )
            if held:
                found[k.index] = held
    return found, stored


def _not_a_customer(target: roles.ImportTarget) -> bool:
    """An account no import writes, whatever the row: such a match is a duplicate, as on
    create."""
    refusal = roles.import_refusal(target, match=None, fields=())
    return refusal is not None and refusal.code == roles.NOT_A_CUSTOMER


def _refused(k: _Keys, refusal: roles.Refusal) -> list[FieldProblem]:
    """A matched row the import may not write (needs_review): listed with the existing
    duplicates, so the preview names the account it matched."""
    return [
        FieldProblem(
            refusal.field, refusal.code, refusal.message, k.unique_values().get(refusal.field, "")
        )
    ]


class _MarkAllocator:
    """Generated marks: `PM 1 KWAME`, then `PM 1 KWAME02`..., skipping every mark stored in the
    database and every mark written anywhere in the file."""

    def __init__(self, reserved: set[str]):
        self.reserved = reserved
        self.next_number: dict[str, int] = {}
        self.free: dict[str, list[str]] = {}

    def prefetch(self, bases: dict[str, int]) -> None:
        """Looks up enough candidates for `bases` (base -> rows needing it) in batched queries."""
        wanted: dict[str, list[str]] = {}
        for base, needed in bases.items():
            start = self.next_number.get(base, 1)
            count = needed + 5
            wanted[base] = rules.shipping_mark_candidates(base, start=start, count=count)
            self.next_number[base] = start + count
        flat = [c for candidates in wanted.values() for c in candidates]
        taken = selectors.shipping_marks_taken(marks=flat) | self.reserved
        for base, candidates in wanted.items():
            self.free.setdefault(base, []).extend(c for c in candidates if c.upper() not in taken)

    def take(self, base: str) -> str:
        while not self.free.get(base):
            self.prefetch({base: 20})
        mark = self.free[base].pop(0)
        self.reserved.add(mark.upper())
        return mark


def row_changes(stored: dict, new: dict, given: Iterable[str], *, blank_clears: bool) -> list[list]:
    """[field, old, new] for each field the row changes: those it gives a value for, and with
    blank_clears the clearable ones it leaves blank. Both sides are normalised by the same rules,
    so an email or mark typed in another case is no change."""
    fields = set(given)
    if blank_clears:
        fields |= set(CLEARABLE_FIELDS)
    changes = []
    for name in CUSTOMER_FIELDS:
        if name not in fields or name not in new:
            continue
        old, value = stored.get(name), new[name]
        if name in CLEARABLE_FIELDS and not value:
            value = None if name == "email" else ""
        if old == value or (not old and not value):
            continue
        changes.append([name, old, value])
    return changes


def _ambiguous_problems(
    k: _Keys,
    key: str,
    customer_id: int,
    others: list[tuple[str, selectors.Holder]],
    shown: set[int],
) -> list[FieldProblem]:
    """The row's key names one customer, its other values others: each named by its id only
    when the job's owner may see it (`shown`, roles.visible)."""
    key_label = FIELD_LABELS[key].lower()
    return [
        FieldProblem(
            name,
            AMBIGUOUS_MATCH,
            f"The {key_label} matches customer #{customer_id} and the "
            f"{FIELD_LABELS[name].lower()} "
            + (f"customer #{holder.id}" if holder.id in shown else "another account")
            + ": fix the row.",
            k.unique_values()[name],
        )
        for name, holder in others
    ]


class _FirstRows:
    """The row that first gave each unique value, and in an update the row that first matched
    each customer. One dict per kind, keyed by the value itself (which the rows' keys already
    hold): one dict keyed by (kind, value) built a tuple for each of a file's values, the
    largest part of a 100,000-row preview's peak after the keys."""

    def __init__(self) -> None:
        self._rows: dict[str, dict[object, int]] = {}

    def get(self, name: str, value: object) -> int | None:
        rows = self._rows.get(name)
        return None if rows is None else rows.get(value)

    def add(self, name: str, value: object, row: int) -> None:
        self._rows.setdefault(name, {})[value] = row


def _batch_problems(k: _Keys, seen: _FirstRows, extra=()) -> list[FieldProblem]:
    pairs = (*k.unique_items(), *extra)
    if not any(value and seen.get(name, value) is not None for name, value in pairs):
        return []  # the common case, without building a problem list
    problems = []
    for name, value in pairs:
        first = seen.get(name, value) if value else None
        if first is not None:
            if name == "customer":
                if problems:
                    continue  # a value the rows share says it already
                message = f"Matches the same customer as row {first}."
                name, value = "", ""
            else:
                message = f"Same {FIELD_LABELS[name].lower()} as row {first}."
            problems.append(FieldProblem(name, DUPLICATE_IN_FILE, message, value))
    return problems


def _match(
    k: _Keys,
    held: list[tuple[str, selectors.Holder]],
    options: ImportOptions,
    stored: dict[int, dict],
) -> int | None:
    """The id of the customer the row's match key names, if any (None for a staff account:
    an import never updates one, so the row is a duplicate as on create)."""
    for name, holder in held:
        if name == options.match and holder.id in stored:
            return holder.id
    return None


def classify(
    keys: list[_Keys],
    *,
    viewer: User,
    options: ImportOptions = CREATE_ONLY,
    values_of: Callable[[set[int]], dict[int, dict]] | None = None,
) -> Classified:
    """Invalid, then existing duplicate, then batch duplicate (first occurrence wins), then
    create; blank marks of valid rows are generated (of rows to create first).

    With an update mode, a valid row whose match key a stored customer holds is to update, or
    unchanged when it changes nothing, or ambiguous_match when another of its unique values
    is another customer's (named as `viewer`, the job's owner, may see it), or needs_review
    when roles.import_refusal refuses the change; `values_of(indexes)` gives those rows'
    cleaned values. A row matching nothing is created (update) or reported as no_match
    (update_only)."""
    result = Classified(outcomes=bytearray(ord(Outcome.INVALID) for _ in keys))
    valid = [k for k in keys if k.valid]
    stored: dict[int, selectors.Stored] = {}
    if options.updates:
        existing, stored = _matches_and_clashes(valid, options.match)
    else:
        existing = _existing_clashes(valid)
    matches = {
        k.index: customer_id
        for k in valid
        if options.updates
        and (customer_id := _match(k, existing.get(k.index, []), options, stored)) is not None
    }
    new_values = values_of(set(matches)) if matches and values_of is not None else {}
    seen = _FirstRows()
    ambiguous: list[tuple[_Keys, int, list[tuple[str, selectors.Holder]]]] = []
    for k in valid:
        held = existing.get(k.index, [])
        customer_id = matches.get(k.index)
        if customer_id is not None:
            others = [(name, h) for name, h in held if h.id != customer_id]
            if others:
                result.outcomes[k.index] = ord(Outcome.AMBIGUOUS)
                ambiguous.append((k, customer_id, others))
                continue
            problems = _batch_problems(k, seen, (("customer", customer_id),))
            if problems:
                result.outcomes[k.index] = ord(Outcome.BATCH)
                result.problems[k.index] = problems
                continue
            changes = row_changes(
                stored[customer_id].fields,
                new_values[k.index],
                k.given,
                blank_clears=options.blank_clears,
            )
            refusal = roles.import_refusal(
                stored[customer_id].target,
                match=options.match,
                fields=[name for name, _old, _new in changes],
            )
            if refusal is not None:
                result.outcomes[k.index] = ord(Outcome.EXISTING)
                result.problems[k.index] = _refused(k, refusal)
                continue
            result.matched[k.index] = customer_id
            if changes:
                result.outcomes[k.index] = ord(Outcome.UPDATE)
                result.changes[k.index] = changes
            else:
                result.outcomes[k.index] = ord(Outcome.UNCHANGED)
            seen.add("customer", customer_id, k.row)
            for name, value in k.unique_items():
                if value:
                    seen.add(name, value, k.row)
            continue
        if held:
            result.outcomes[k.index] = ord(Outcome.EXISTING)
            result.problems[k.index] = services.duplicate_problems(k.unique_values(), held)
            continue
        if options.mode == ImportJob.Mode.UPDATE_ONLY:
            label = FIELD_LABELS[options.match].lower()
            value = k.unique_values()[options.match] or ""
            result.outcomes[k.index] = ord(Outcome.NO_MATCH)
            result.problems[k.index] = [
                FieldProblem(
                    options.match,
                    NO_MATCH_CODE,
                    f"No customer has this {label}." if value else f"The row has no {label}.",
                    value,
                )
            ]
            continue
        if k.create_problems:
            result.problems[k.index] = list(k.create_problems)
            continue  # stays Outcome.INVALID: it would be created, and lacks what a create needs
        problems = _batch_problems(k, seen)
        if problems:
            result.outcomes[k.index] = ord(Outcome.BATCH)
            result.problems[k.index] = problems
            continue
        result.outcomes[k.index] = ord(Outcome.CREATE)
        for name, value in k.unique_items():
            if value:
                seen.add(name, value, k.row)

    if ambiguous:
        shown = selectors.visible_ids(
            actor=viewer, ids=(h.id for _, _, others in ambiguous for _, h in others)
        )
        for k, customer_id, others in ambiguous:
            result.problems[k.index] = _ambiguous_problems(
                k, options.match, customer_id, others, shown
            )

    # Rows to create get their marks first; duplicates after them, only to show the mark they
    # would have had (they take none from a row that is created). A matched row keeps the
    # customer's mark.
    needing = [k for k in valid if result.outcomes[k.index] == ord(Outcome.CREATE) and not k.mark]
    needing += [
        k
        for k in valid
        if result.outcomes[k.index] in (ord(Outcome.EXISTING), ord(Outcome.BATCH))
        and k.index not in result.matched
        and not k.mark
        and not k.create_problems
    ]
    if needing:
        allocator = _MarkAllocator(reserved={k.mark for k in keys if k.mark})
        bases: dict[str, int] = {}
        for k in needing:
            bases[k.mark_base] = bases.get(k.mark_base, 0) + 1
        allocator.prefetch(bases)
        for k in needing:
            result.generated_marks[k.index] = allocator.take(k.mark_base)
    return result


# --- the preview, end to end -----------------------------------------------------------------


@dataclass
class PreviewSource:
    """Where the rows come from: an uploaded file or a legacy JSON body."""

    file_name: str
    file_size: int
    file_sha256: str
    file_type: str
    sheet_name: str | None = None  # the sheet read, of a workbook


def _keys_of(index: int, parsed: ParsedRow) -> _Keys:
    values = parsed.values
    mark = selectors.unique_key("shipping_mark", values.get("shipping_mark"))
    return _Keys(
        index=index,
        row=parsed.row,
        valid=not parsed.problems,
        phone=selectors.unique_key("phone", values.get("phone")),
        email=selectors.unique_key("email", values.get("email")),
        mark=mark,
        mark_base=(
            None
            if mark
            else sys.intern(rules.shipping_mark_base(str(values.get("first_name") or "")))
        ),
        given=_interned(parsed.given),
        create_problems=tuple(parsed.create_problems),
    )


_GIVEN: dict[tuple[str, ...], tuple[str, ...]] = {}


def _interned(given: tuple[str, ...]) -> tuple[str, ...]:
    """One tuple for each set of given fields (most rows of a file give the same ones)."""
    return _GIVEN.setdefault(given, given)


def preview_create(
    *,
    owner: User,
    source: PreviewSource,
    rows: Iterable[tuple[int, list]],
    header_required: bool = False,
    options: ImportOptions = CREATE_ONLY,
    chosen: dict | None = None,
    layout: str | None = None,
    replacing: ImportJob | None = None,
    carried: dict[int, list[FieldProblem]] | None = None,
) -> ImportJob:
    """Reads, validates and classifies every row, and stores a PARSED job (or, `replacing`,
    stores the new preview in that job). Writes no customer. `chosen` is the admin's column
    mapping; `carried` holds problems by row that the rows no longer show (a remap's rows were
    stored within the row caps)."""
    started = time.monotonic()
    column_map, data_rows = map_rows(
        rows, header_required=header_required, options=options, chosen=chosen, layout=layout
    )
    keys: list[_Keys] = []
    width = len(column_map.headers)
    with tempfile.TemporaryFile(prefix="primepre-import-") as spool:
        block: list[tuple] = []
        for index, parsed in enumerate(
            parse_rows(data_rows, column_map, max_rows=settings.IMPORT_MAX_ROWS, options=options)
        ):
            if carried and parsed.row in carried:
                parsed.problems += carried[parsed.row]
            problems = [(p.field, p.code, p.message, p.value) for p in parsed.problems]
            block.append((parsed.row, parsed.raw, parsed.values, problems, parsed.given))
            if len(block) == SPOOL_BLOCK_ROWS:
                _spool_block(spool, block)
                block = []
            keys.append(_keys_of(index, parsed))
            width = max(width, len(parsed.raw))
        _spool_block(spool, block)
        if not keys:
            raise FileError(NO_DATA, "The file has a header row but no data rows.")
        parsed_at = time.monotonic()
        classified = classify(
            keys, viewer=owner, options=options, values_of=partial(_spooled_values, spool)
        )
        classified_at = time.monotonic()
        spool.seek(0)
        job = _store(
            owner=owner,
            source=source,
            options=options,
            column_map=column_map,
            width=width,
            spool=spool,
            total=len(keys),
            classified=classified,
            replacing=replacing,
        )
    logger.info(
        "[IMPORT-PREVIEW] job=%s type=%s mode=%s rows=%s create=%s update=%s unchanged=%s "
        "invalid=%s existing=%s batch=%s parse_ms=%d classify_ms=%d store_ms=%d",
        job.pk,
        source.file_type,
        job.mode,
        job.total_rows,
        job.to_create_count,
        job.to_update_count,
        job.unchanged_count,
        job.invalid_count,
        job.existing_duplicate_count,
        job.batch_duplicate_count,
        (parsed_at - started) * 1000,
        (classified_at - parsed_at) * 1000,
        (time.monotonic() - classified_at) * 1000,
    )
    return job


_BLOCK_LENGTH = struct.Struct("<Q")


def _spool_block(spool, block: list[tuple]) -> None:
    """Rows to the spool as one marshalled block of up to SPOOL_BLOCK_ROWS, behind its length: read
    back whole, a block costs 1.5 us a row against 16 us for marshal.load row by row."""
    if block:
        data = marshal.dumps(block)
        spool.write(_BLOCK_LENGTH.pack(len(data)))
        spool.write(data)


def _spooled(spool) -> Iterator[tuple[int, ParsedRow]]:
    index = 0
    while header := spool.read(_BLOCK_LENGTH.size):
        (length,) = _BLOCK_LENGTH.unpack(header)
        # Our own spool, written a moment ago by preview_create: not outside input.
        for row, raw, values, problems, given in marshal.loads(spool.read(length)):  # noqa: S302
            yield index, ParsedRow(row, raw, values, [FieldProblem(*p) for p in problems], given)
            index += 1


def _spooled_values(spool, indexes: set[int]) -> dict[int, dict]:
    """The cleaned values of these rows, read from the spool (which is left at its start), its
    blocks taken apart without building a ParsedRow a row."""
    spool.seek(0)
    found: dict[int, dict] = {}
    index = 0
    while header := spool.read(_BLOCK_LENGTH.size):
        (length,) = _BLOCK_LENGTH.unpack(header)
        block = marshal.loads(spool.read(length))  # noqa: S302 (our own spool, as _spooled)
        for offset in indexes.intersection(range(index, index + len(block))):
            found[offset] = block[offset - index][2]
        index += len(block)
    spool.seek(0)
    return found


def storable(value):
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


def values_list(values: dict[str, object]) -> list:
    return [values.get(name) for name in CUSTOMER_FIELDS]


def _mapping_json(column_map: ColumnMap, width: int, sheet: str | None) -> dict:
    return {
        "sheet": storable(sheet),
        "layout": column_map.layout,
        "fields": storable(column_map.as_json()),
        "letters": column_map.letters(),
        "guessed": storable(column_map.guessed),
        "chosen": list(column_map.chosen),
        "header_row": column_map.header_row,
        "unmapped": storable(column_map.unmapped),
        "width": width,
    }


def _store(
    *,
    owner: User,
    source: PreviewSource,
    options: ImportOptions,
    column_map: ColumnMap,
    width: int,
    spool,
    total: int,
    classified: Classified,
    replacing: ImportJob | None = None,
) -> ImportJob:
    preview = {
        "column_mapping": _mapping_json(column_map, width, source.sheet_name),
        "headers": storable(column_map.headers),
        "total_rows": total,
        "invalid_count": classified.count(Outcome.INVALID),
        "existing_duplicate_count": classified.count(Outcome.EXISTING),
        "batch_duplicate_count": classified.count(Outcome.BATCH),
        "to_create_count": classified.count(Outcome.CREATE),
        "to_update_count": classified.count(Outcome.UPDATE),
        "unchanged_count": classified.count(Outcome.UNCHANGED),
        "ambiguous_count": classified.count(Outcome.AMBIGUOUS),
        "no_match_count": classified.count(Outcome.NO_MATCH),
    }
    with transaction.atomic():
        if replacing is None:
            job = ImportJob.objects.create(
                owner=owner,
                mode=options.mode,
                match=options.match,
                blank_clears=options.blank_clears,
                file_name=storable(source.file_name[:255]),
                file_size=source.file_size,
                file_sha256=source.file_sha256,
                file_type=source.file_type,
                **preview,
            )
        else:
            job = _replaceable(replacing.pk)
            ImportChunk.objects.filter(job=job).delete()
            ImportRowError.objects.filter(job=job).delete()
            for name, value in preview.items():
                setattr(job, name, value)
            job.save(update_fields=[*preview, "updated_at"])
        chunk: list[StoredRow] = []
        errors: list[tuple] = []
        for index, parsed in _spooled(spool):
            problems = parsed.problems or classified.problems.get(index, [])
            chunk.append(_stored_row(index, parsed, classified))
            errors.extend(
                (parsed.row, index, p.field, p.code, p.message, storable(str(p.value)[:_VALUE_CAP]))
                for p in problems
            )
            if len(chunk) == stored_rows.CHUNK_ROWS:
                stored_rows.chunk_store(job.pk, index // stored_rows.CHUNK_ROWS, chunk)
                chunk = []
            if len(errors) >= 2000:
                _insert_errors(job, errors)
                errors = []
        if chunk:
            stored_rows.chunk_store(job.pk, (total - 1) // stored_rows.CHUNK_ROWS, chunk)
        _insert_errors(job, errors)
    return job


def _stored_row(index: int, parsed: ParsedRow, classified: Classified) -> StoredRow:
    """The row at `index` as stored: its verdict, its cells, its values (with the mark the
    import chose, if it chose one) and, to update, its customer and changes."""
    values = parsed.values
    generated = index in classified.generated_marks
    if generated:
        values = {**values, "shipping_mark": classified.generated_marks[index]}
    return StoredRow(
        source_row=parsed.row,
        outcome=stored_rows.OUTCOMES[chr(classified.outcomes[index])],
        raw=storable(parsed.raw),
        values=values_list(values),
        mark_generated=generated,
        # Changes hold cleaned and stored values only: no NUL can be among them.
        customer_id=classified.matched.get(index),
        changes=classified.changes.get(index, ()),
    )


def _insert_errors(job: ImportJob, errors: list[tuple]) -> None:
    """(row, position, field, code, message, value) tuples as the job's ImportRowErrors, in one
    statement (a file of existing customers has three for each of its rows)."""
    if errors:
        bulk.insert_rows(
            ImportRowError,
            fields=("row", "position", "field", "code", "message", "value"),
            rows=errors,
            shared={"job": job.pk, "at_run": False},
        )


# --- remap: a stored upload read again with another column mapping --------------------------

UPLOAD_CONFIRMED = "upload_confirmed"


def _not_replaceable(job: ImportJob | None) -> ApplicationError:
    return ApplicationError(
        UPLOAD_CONFIRMED,
        "This upload was already confirmed (or cancelled); its mapping can no longer change.",
        status_code=status.HTTP_409_CONFLICT,
        errors={"status": job.status if job else None},
    )


def _replaceable(job_id) -> ImportJob:
    """The job, row-locked for the transaction the caller is in, while it is still a preview;
    409 once it was confirmed (a confirm that races a remap either comes first, or queues the
    new preview)."""
    job = ImportJob.objects.select_for_update().filter(pk=job_id).first()
    if job is None or job.status != ImportJob.Status.PARSED:
        raise _not_replaceable(job)
    return job


def restored_cells(raw: list) -> list:
    """A stored row's cells as the reader gave them, as far as the stored row can tell: a text
    cell stored cut (MAX_CELL_CHARS long, ending in CUT_MARK) is a cut cell again."""
    return [
        CutText(cell[:-1], 0)
        if isinstance(cell, str) and len(cell) == MAX_CELL_CHARS and cell.endswith(CUT_MARK)
        else cell
        for cell in raw
    ]


def _row_length_problems(job: ImportJob) -> dict[int, list[FieldProblem]]:
    """The rows that held more than MAX_ROW_CHARS: only their cut form is stored, so a remap
    keeps the problem the upload found."""
    found: dict[int, list[FieldProblem]] = {}
    for row, message in ImportRowError.objects.filter(
        job=job, field="", code=TOO_LONG, message__startswith="The row holds"
    ).values_list("row", "message"):
        found.setdefault(row, []).append(FieldProblem("", TOO_LONG, message, ""))
    return found


def preview_remap(*, job: ImportJob, chosen: dict) -> ImportJob:
    """The upload read again from its stored rows (the file is not kept) with the admin's column
    mapping over the header matching: validated and classified anew (with the upload's mode and
    match key), stored in the same job."""
    # A preview keeps its rows while it is one (users.imports.jobs.import_jobs_prune deletes a
    # preview never confirmed whole, and only a finished job's rows on their own).
    if job.status != ImportJob.Status.PARSED:
        raise _not_replaceable(job)
    layout = job.column_mapping.get("layout", "header")
    header_row = job.column_mapping.get("header_row") or 1

    def rows() -> Iterator[tuple[int, list]]:
        if layout == "header":
            yield header_row, list(job.headers)
        for row in stored_rows.StoredRows(job.pk):
            yield row.source_row, restored_cells(row.raw)

    source = PreviewSource(
        file_name=job.file_name,
        file_size=job.file_size,
        file_sha256=job.file_sha256,
        file_type=job.file_type,
        sheet_name=job.column_mapping.get("sheet"),
    )
    remapped = preview_create(
        owner=job.owner,
        source=source,
        rows=rows(),
        options=ImportOptions(mode=job.mode, match=job.match, blank_clears=job.blank_clears),
        chosen=chosen,
        layout=layout,
        replacing=job,
        carried=_row_length_problems(job),
    )
    logger.info(
        "[IMPORT-REMAP] job=%s layout=%s chosen=%s rows=%s",
        job.pk,
        layout,
        ",".join(sorted(chosen)),
        remapped.total_rows,
    )
    return remapped


# --- sources: an uploaded file, or the legacy JSON body --------------------------------------


def reader_limits():
    from users.excel.reading import ReaderLimits

    return ReaderLimits(
        max_bytes=settings.IMPORT_MAX_FILE_BYTES,
        max_cell_chars=MAX_CELL_CHARS,
        # The header row may come on top of IMPORT_MAX_ROWS data rows.
        max_rows=settings.IMPORT_MAX_ROWS + 1,
        memory_mb=settings.IMPORT_READER_MEMORY_MB,
        timeout_s=settings.IMPORT_READER_TIMEOUT,
    )


def _sha256_and_path(upload, spool) -> tuple[str, str]:
    """The upload's digest, and a path to its bytes on disk (the reader runs in a child process)."""
    digest = hashlib.sha256()
    path = upload.temporary_file_path() if hasattr(upload, "temporary_file_path") else None
    for piece in upload.chunks():
        digest.update(piece)
        if path is None:
            spool.write(piece)
    if path is None:
        spool.flush()
        path = spool.name
    return digest.hexdigest(), path


def preview_from_upload(
    *, owner: User, upload, options: ImportOptions = CREATE_ONLY, chosen: dict | None = None
) -> ImportJob:
    """An uploaded spreadsheet -> a PARSED job (or FileError for the file as a whole); `chosen`
    is the admin's column mapping over the header matching."""
    from users.excel.reading import open_rows

    started = time.monotonic()
    if upload.size > settings.IMPORT_MAX_FILE_BYTES:
        raise FileError(
            FILE_TOO_LARGE,
            f"The file is larger than {settings.IMPORT_MAX_FILE_BYTES // (1024 * 1024)} MB.",
        )
    with tempfile.NamedTemporaryFile(prefix="primepre-upload-") as spool:
        sha256, path = _sha256_and_path(upload, spool)
        with open_rows(path, limits=reader_limits()) as stream:
            source = PreviewSource(
                file_name=os.path.basename(upload.name or "upload"),
                file_size=upload.size,
                file_sha256=sha256,
                file_type=stream.file_type,
                sheet_name=stream.sheet_name,
            )
            job = preview_create(
                owner=owner, source=source, rows=stream, options=options, chosen=chosen
            )
    logger.info(
        "[IMPORT-UPLOAD] job=%s type=%s bytes=%s rows=%s ms=%d",
        job.pk,
        job.file_type,
        job.file_size,
        job.total_rows,
        (time.monotonic() - started) * 1000,
    )
    return job


# Keys of a legacy record that describe the record rather than hold a field.
_RECORD_META_KEYS = {"source_row_number", "row", "id", "shipping_mark_generated", "reason"}


def _record_rows(records: list[dict]) -> Iterator[tuple[int, list]]:
    """Legacy records as rows of a virtual sheet: a header row of their keys, then one row each.

    Rows keep the source_row_number the preview gave them when every record has a distinct one;
    otherwise they are numbered 2, 3, ... like a sheet under its header."""
    keys: list[str] = []
    for record in records:
        for key in record:
            if key not in keys and key not in _RECORD_META_KEYS and len(keys) < 64:
                keys.append(key)
    numbers = [record.get("source_row_number") for record in records]
    given = all(isinstance(n, int) and not isinstance(n, bool) and n > 1 for n in numbers)
    if not given or len(set(numbers)) != len(numbers):
        numbers = list(range(2, len(records) + 2))
    yield 1, list(keys)
    for number, record in zip(numbers, records, strict=True):
        yield number, [_scalar(record.get(key)) for key in keys]


def _scalar(value: object) -> object:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def preview_from_records(*, owner: User, records: list[dict]) -> ImportJob:
    """The legacy body {customers: [...]}: validated again exactly like an uploaded file."""
    if not records:
        raise FileError(NO_DATA, "The list of customers is empty.")
    canonical = json.dumps(records, sort_keys=True, default=str).encode()
    source = PreviewSource(
        file_name="(customers list)",
        file_size=len(canonical),
        file_sha256=hashlib.sha256(canonical).hexdigest(),
        file_type="json",
    )
    return preview_create(
        owner=owner, source=source, rows=_record_rows(records), header_required=True
    )
