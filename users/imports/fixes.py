"""Fixing a row of a preview where it stands: a field's cell replaced by a value the admin
types (validated by the rules a cell of the file goes through), or the row skipped, or taken
back; then that row, and every row linked to it by a unique value, classified again.

Only the rows that can change are touched: the fixed row and the valid rows sharing a phone,
email or mark with it before or after the fix, followed through the rows sharing a value with
those (a row freed from being a batch duplicate may now come first for another value). They
are found by SQL on the staging table (one query a step of that walk, usually two), classified
by users.imports.classify's rules against the customers (by the unique indexes) and one
another, and their verdicts, row errors and the job's counts are set in a few statements. A
row of the file shares no value with any row outside that set, so its verdict cannot change:
the preview stays what a new upload of the fixed file would show, without reading the file or
classifying every row again.

Each change is recorded (ImportRowFix: who, when, the field, the cell before and the value
after; a skip or an include as an action) and read back as the row's history.
"""

import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from django.db import transaction
from django.db.models import Q
from rest_framework import status

from users import errors
from users.customers import rules
from users.customers.rules import CUSTOMER_FIELDS, FieldProblem
from users.errors import ApplicationError
from users.excel.columns import ColumnMap, column_index, legacy_map
from users.imports import remap, reports, store, stored_rows
from users.imports.classify import NO_MATCH_CODE, Classified, CreateProblems, classify_rows
from users.imports.marks import marks_chosen
from users.imports.parse import FIELD_LABELS, ImportOptions, ParsedRow, parse_row
from users.imports.stored_rows import OUTCOMES, Outcome, StoredRow, StoredRows
from users.models import ImportJob, ImportRowError, ImportRowFix, ImportStagedRow, User

logger = logging.getLogger(__name__)

# The reserved key of a fix's body, and what it may ask. (Room is left for the actions of
# rows that need the admin's choice, such as "create" or "update" of a possible duplicate.)
ACTION_KEY = "action"
ACTIONS = (ImportRowFix.Action.SKIP.value, ImportRowFix.Action.INCLUDE.value)

# The row error a skipped row carries (every row not written has one: errors.xlsx and the
# status's failed rows are found by them).
SKIPPED = "skipped"
SKIPPED_MESSAGE = "Skipped in the preview."

ROW_NOT_FOUND = "row_not_found"
UNKNOWN_FIELD = "unknown_field"
NO_COLUMN_FOR_FIELD = "no_column_for_field"

# The job's counts of each outcome (a possible duplicate is a row to create, counted apart too).
COUNT_FIELDS = {
    Outcome.CREATE: ("to_create_count",),
    Outcome.POSSIBLE_DUPLICATE: ("to_create_count", "possible_duplicate_count"),
    Outcome.INVALID: ("invalid_count",),
    Outcome.EXISTING: ("existing_duplicate_count",),
    Outcome.BATCH: ("batch_duplicate_count",),
    Outcome.UPDATE: ("to_update_count",),
    Outcome.UNCHANGED: ("unchanged_count",),
    Outcome.AMBIGUOUS: ("ambiguous_count",),
    Outcome.NO_MATCH: ("no_match_count",),
    Outcome.SKIPPED: ("skipped_in_preview_count",),
}
# The name of each outcome, as the preview's lists call them (the list "create" holds the
# possible duplicates too, which have a list of their own).
OUTCOME_NAMES = {
    outcomes[0]: name
    for name, outcomes in reports.LISTS.items()
    if len(outcomes) == 1 and name != "candidates"
} | {Outcome.CREATE: "create"}
# The staged keys of the unique fields (phone, email, mark), as the users' indexes compare them.
_KEYS = ("phone", "email_key", "mark_key")


@dataclass(frozen=True)
class RowChange:
    """What the admin asked of a row: new cells by field, or an action (skip, include)."""

    cells: Mapping[str, object]
    action: str | None = None


def row_change_parse(body: object, *, job: ImportJob) -> RowChange:
    """The body of a fix ({field: value, ...} or {"action": ...}) checked against the upload:
    409 for a field the upload has no column for (its state, not the body, is at fault: a
    remap gives it one); 400 for an unknown field, a value that is no cell
    (an object or a list), an unknown action, an action with fields, or nothing at all."""
    if not isinstance(body, dict) or not body:
        raise ApplicationError(
            errors.VALIDATION_ERROR,
            'Send the fields to fix, {"phone": "0241234567"}, or {"action": "skip"}.',
        )
    if ACTION_KEY in body:
        action = body[ACTION_KEY]
        if action not in ACTIONS or len(body) > 1:
            raise ApplicationError(
                errors.VALIDATION_ERROR,
                f"An action ({', '.join(ACTIONS)}) is sent alone, without fields.",
                errors={ACTION_KEY: [{"message": f"One of: {', '.join(ACTIONS)}."}]},
            )
        return RowChange(cells={}, action=action)
    unknown = sorted(str(name) for name in body if name not in CUSTOMER_FIELDS)
    if unknown:
        raise ApplicationError(
            UNKNOWN_FIELD,
            f"Unknown field: {', '.join(unknown)}.",
            errors={"unknown": unknown, "fields": list(CUSTOMER_FIELDS)},
        )
    letters = reports.field_letters(job)
    without = [name for name in body if name not in letters]
    if without:
        raise ApplicationError(
            NO_COLUMN_FOR_FIELD,
            "The upload has no column for "
            + ", ".join(FIELD_LABELS[name].lower() for name in without)
            + ": choose one first (remap), then fix the rows.",
            status_code=status.HTTP_409_CONFLICT,
            errors={"fields": without, "columns": letters},
        )
    refused = [name for name, value in body.items() if isinstance(value, dict | list)]
    if refused:
        raise ApplicationError(
            errors.VALIDATION_ERROR,
            "A value is text, a number or null, as a cell holds.",
            errors={name: [{"message": "Not a cell's value."}] for name in refused},
        )
    return RowChange(cells=dict(body))


def _locked_preview(job: ImportJob) -> ImportJob:
    """The job, row-locked for this transaction, while it is a preview: a confirm waits for
    the fix (it locks the same row) or comes first, and then the fix is a 409."""
    locked = ImportJob.objects.select_for_update().filter(pk=job.pk).first()
    if locked is None or locked.status != ImportJob.Status.PARSED:
        raise ApplicationError(
            store.UPLOAD_CONFIRMED,
            "This upload was already confirmed (or cancelled): its rows can no longer be fixed.",
            status_code=status.HTTP_409_CONFLICT,
            errors={"status": locked.status if locked else None},
        )
    return locked


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


def _column_map(job: ImportJob) -> ColumnMap:
    """The upload's columns as its preview read them."""
    fields = {name: column_index(letter) for name, letter in reports.field_letters(job).items()}
    if job.column_mapping.get("layout") == "legacy":
        return replace(legacy_map(), fields=fields)
    return ColumnMap(layout="header", fields=fields, headers=list(job.headers))


def _parsed(job: ImportJob, row: int, raw: list[Any], column_map: ColumnMap) -> ParsedRow:
    """A staged row's cells validated again, with the problems its stored form no longer shows
    (a row over the length cap was stored cut)."""
    options = _options(job)
    parsed = parse_row(row, remap.restored_cells(raw), column_map, options)
    carried = ImportRowError.objects.filter(
        job=job, row=row, field="", code=rules.TOO_LONG, message__startswith="The row holds"
    ).values_list("message", flat=True)
    parsed.problems += [FieldProblem("", rules.TOO_LONG, message, "") for message in carried]
    return parsed


def _options(job: ImportJob) -> ImportOptions:
    return ImportOptions(mode=job.mode, match=job.match, blank_clears=job.blank_clears)


def _keys_of(staged: ImportStagedRow | tuple[Any, ...]) -> dict[str, set[str]]:
    if isinstance(staged, tuple):
        values = dict(zip(_KEYS, staged[1:], strict=True))
    else:
        values = {key: getattr(staged, key) for key in _KEYS}
    return {key: {values[key]} - {None, ""} for key in _KEYS}


def linked_rows(job: ImportJob, keys: dict[str, set[str]], *, leave_out: int) -> set[int]:
    """The positions of the valid rows not skipped (but `leave_out`) that share a unique value
    with `keys`, and with those rows, until no new value is found: one query a step."""
    found: set[int] = set()
    known = {key: set(values) for key, values in keys.items()}
    frontier = known
    while any(frontier.values()):
        shared = Q()
        for key, values in frontier.items():
            if values:
                shared |= Q(**{f"{key}__in": sorted(values)})
        rows = (
            ImportStagedRow.objects.filter(shared, job=job, valid=True)
            .exclude(outcome=Outcome.SKIPPED.value)
            .exclude(position=leave_out)
            .exclude(position__in=sorted(found))
            .values_list("position", *_KEYS)
        )
        frontier = {key: set() for key in known}
        for row in rows:
            found.add(row[0])
            for key, values in _keys_of(row).items():
                frontier[key] |= values - known[key]
                known[key] |= values
    return found


def _create_problems(
    job: ImportJob, positions: set[int], column_map: ColumnMap, fixed: tuple[int, ParsedRow]
) -> CreateProblems:
    """What each valid row at these positions lacks to be created (an update's rows; a
    create's lack nothing they do not already show as problems): read again from their
    cells."""
    if job.mode == ImportJob.Mode.CREATE:
        return {}
    parsed_at = {fixed[0]: fixed[1]}
    for row in StoredRows(job.pk).at(positions - {fixed[0]}):
        parsed_at[row.position] = _parsed(job, row.source_row, row.raw, column_map)
    return {
        position: (parsed.row, parsed.create_problems)
        for position, parsed in parsed_at.items()
        if position in positions and parsed.create_problems and not parsed.problems
    }


@dataclass
class _Verdicts:
    """The rows whose verdict was looked at: what each was, what it is now, and its errors."""

    before: dict[int, Outcome]
    after: dict[int, Outcome]
    source_rows: dict[int, int]
    problems: dict[int, list[FieldProblem]]


def _marks_for(
    job: ImportJob, classified: Classified, create_problems: CreateProblems
) -> dict[int, str]:
    """A generated mark for each row classified that needs one and has none: one to create,
    or a duplicate shown with the mark it would have had (as the preview chooses them), none
    of them a mark the file gives or the import generated for another row."""
    needing = ImportStagedRow.objects.filter(
        job=job,
        position__in=sorted(classified.outcomes),
        mark_key__isnull=True,
        shipping_mark__isnull=True,
    ).values_list("position", "first_name")
    wanted = [
        (position, rules.shipping_mark_base(first_name or ""))
        for position, first_name in needing
        if classified.outcomes[position] == Outcome.CREATE
        or (
            classified.outcomes[position] in (Outcome.EXISTING, Outcome.BATCH)
            and position not in create_problems
        )
    ]
    if not wanted:
        return {}
    bases = {base for _, base in wanted}
    similar = Q()
    for base in bases:
        similar |= Q(shipping_mark__istartswith=base)
    reserved = {
        mark.upper()
        for mark in ImportStagedRow.objects.filter(similar, job=job).values_list(
            "shipping_mark", flat=True
        )
        if mark
    }
    return marks_chosen(sorted(wanted), reserved=reserved)


def _no_match(job: ImportJob, position: int) -> FieldProblem:
    """Why a row of update_only matches no customer (as the preview says it)."""
    column = {"phone": "phone", "email": "email_key", "shipping_mark": "mark_key"}[job.match]
    key = (
        ImportStagedRow.objects.filter(job=job, position=position)
        .values_list(column, flat=True)
        .first()
    )
    return FieldProblem(
        job.match, NO_MATCH_CODE, store.no_match_message(job.match, blank=not key), key or ""
    )


def _errors_write(job: ImportJob, verdicts: _Verdicts) -> None:
    """The row errors of the rows looked at, in place of the ones they had."""
    ImportRowError.objects.filter(
        job=job, position__in=sorted(verdicts.after), at_run=False
    ).delete()
    store.errors_insert(
        job.pk,
        [
            error
            for position, problems in verdicts.problems.items()
            for error in store.row_errors(verdicts.source_rows[position], position, problems)
        ],
    )


def _counts_write(job: ImportJob, verdicts: _Verdicts) -> None:
    """The job's counts moved by the verdicts that changed (the job is locked)."""
    changed = set()
    for position, outcome in verdicts.after.items():
        before = verdicts.before[position]
        if before != outcome:
            for moved, step in ((before, -1), (outcome, 1)):
                for name in COUNT_FIELDS[moved]:
                    setattr(job, name, getattr(job, name) + step)
                    changed.add(name)
    job.save(update_fields=[*sorted(changed), "updated_at"])


def _history_write(
    job: ImportJob, staged: ImportStagedRow, change: RowChange, old_raw: list[Any], user: User
) -> None:
    if change.action is not None:
        ImportRowFix.objects.create(
            job=job,
            row=staged.source_row,
            position=staged.position,
            action=change.action,
            changed_by=user,
        )
        return
    fields = reports.field_letters(job)
    ImportRowFix.objects.bulk_create(
        ImportRowFix(
            job=job,
            row=staged.source_row,
            position=staged.position,
            action=ImportRowFix.Action.FIX,
            field=name,
            old=_cell(old_raw, column_index(fields[name])),
            new=value,
            changed_by=user,
        )
        for name, value in change.cells.items()
    )


def _cell(raw: list[Any], index: int) -> object:
    return raw[index] if index < len(raw) else None


def _with_cells(job: ImportJob, raw: list[Any], cells: Mapping[str, object]) -> list[Any]:
    """The row's cells with each fixed field's cell replaced by the value sent."""
    letters = reports.field_letters(job)
    new = list(raw)
    for name, value in cells.items():
        index = column_index(letters[name])
        new += [None] * (index + 1 - len(new))
        new[index] = value
    return new


def _staged_write(
    job: ImportJob, staged: ImportStagedRow, parsed: ParsedRow, outcome: Outcome
) -> None:
    """The row staged again from its cells (the fixed ones), with `outcome`: its fields and
    keys as the preview stages them, no customer matched yet, its mark the one it gives."""
    values = dict(
        zip(
            stored_rows.STAGED_FIELDS,
            store.staged_row(staged.position, parsed, _options(job)),
            strict=True,
        )
    )
    values |= {
        "outcome": outcome.value,
        "mark_generated": False,
        "customer_id": None,
        "changes": None,
    }
    del values["position"]
    ImportStagedRow.objects.filter(job=job, position=staged.position).update(**values)


@dataclass(frozen=True)
class RowFixed:
    """A row as a fix left it, and the other rows whose verdict the fix changed (their number
    in the file -> their outcome now)."""

    row: StoredRow
    others: dict[int, Outcome]


def row_fix(*, job: ImportJob, row: int, body: object, user: User) -> RowFixed:
    """Applies what `body` asks ({field: value, ...}, or {"action": "skip" | "include"}) to
    row `row` of the preview, by the job's owner only (a super admin, who sees every job,
    reads its rows but does not fix another admin's file), while it is a preview; and
    classifies again every row it can affect."""
    if job.owner_id != user.pk:
        raise ApplicationError(
            errors.PERMISSION_DENIED,
            "Only the admin who uploaded the file fixes its rows.",
            status_code=status.HTTP_403_FORBIDDEN,
        )
    change = row_change_parse(body, job=job)
    with transaction.atomic():
        job = _locked_preview(job)
        staged = staged_row_at(job, row)
        before = OUTCOMES[staged.outcome]
        if _unchanged(before, change):
            return RowFixed(StoredRows(job.pk).at([staged.position])[0], {})
        column_map = _column_map(job)
        old_raw = json.loads(staged.raw)
        raw = _with_cells(job, old_raw, change.cells)
        parsed = _parsed(job, row, raw, column_map)
        skipped = change.action == ImportRowFix.Action.SKIP or (
            before == Outcome.SKIPPED and change.action is None
        )
        outcome = Outcome.SKIPPED if skipped else store.provisional(parsed, _options(job))
        old_keys = _keys_of(staged)
        _staged_write(job, staged, parsed, outcome)
        staged.refresh_from_db()
        keys = _keys_of(staged)
        linked = linked_rows(
            job, {key: old_keys[key] | keys[key] for key in keys}, leave_out=staged.position
        )
        verdicts = _verdicts_found(job, staged, parsed, outcome, before, linked, user=user)
        _errors_write(job, verdicts)
        _counts_write(job, verdicts)
        _history_write(job, staged, change, old_raw, user)
    logger.info(
        "[IMPORT-ROW-FIX] job=%s row=%s action=%s fields=%s linked=%s",
        job.pk,
        row,
        change.action or "fix",
        ",".join(sorted(change.cells)),
        len(linked),
    )
    others = {
        verdicts.source_rows[at]: outcome
        for at, outcome in verdicts.after.items()
        if at != staged.position and outcome != verdicts.before[at]
    }
    return RowFixed(StoredRows(job.pk).at([staged.position])[0], others)


def _unchanged(before: Outcome, change: RowChange) -> bool:
    """A skip of a skipped row, or an include of a row not skipped: nothing to do."""
    if change.action == ImportRowFix.Action.SKIP:
        return before == Outcome.SKIPPED
    if change.action == ImportRowFix.Action.INCLUDE:
        return before != Outcome.SKIPPED
    return False


def _verdicts_found(
    job: ImportJob,
    staged: ImportStagedRow,
    parsed: ParsedRow,
    outcome: Outcome,
    before: Outcome,
    linked: set[int],
    *,
    user: User,
) -> _Verdicts:
    """The verdicts of the fixed row and the rows linked to it, classified again and stored,
    with the problems each row now has."""
    position = staged.position
    befores = dict(
        ImportStagedRow.objects.filter(job=job, position__in=sorted(linked)).values_list(
            "position", "outcome"
        )
    )
    verdicts = _Verdicts(
        before={p: OUTCOMES[letter] for p, letter in befores.items()} | {position: before},
        after={position: outcome},
        source_rows={position: staged.source_row},
        problems={},
    )
    classified_positions = set(linked)
    if outcome != Outcome.SKIPPED and staged.valid:
        classified_positions.add(position)
    column_map = _column_map(job)
    create_problems = _create_problems(job, classified_positions, column_map, (position, parsed))
    classified = classify_rows(
        job.pk,
        classified_positions,
        viewer=user,
        options=_options(job),
        create_problems=create_problems,
    )
    for at, found in classified.outcomes.items():
        # Another row still to create keeps what the preview's near-duplicate check found of
        # it (users.imports.resemblance); the fixed row itself is not checked again.
        was = verdicts.before.get(at)
        if at != position and found == Outcome.CREATE and was == Outcome.POSSIBLE_DUPLICATE:
            classified.outcomes[at] = Outcome.POSSIBLE_DUPLICATE
    store.verdicts_store(job, classified, _marks_for(job, classified, create_problems))
    verdicts.after.update(classified.outcomes)
    verdicts.source_rows.update(classified.source_rows)
    for at, found in classified.outcomes.items():
        problems = classified.problems.get(at, [])
        if found == Outcome.NO_MATCH:
            problems = [_no_match(job, at)]
        elif found == Outcome.INVALID and not problems and at in create_problems:
            problems = create_problems[at][1]
        verdicts.problems[at] = problems
    if position not in classified.outcomes:
        # Invalid or skipped: its own problems, and the skip.
        verdicts.problems[position] = list(parsed.problems)
        if outcome == Outcome.SKIPPED:
            verdicts.problems[position].append(FieldProblem("", SKIPPED, SKIPPED_MESSAGE, ""))
    return verdicts


# --- reading ---------------------------------------------------------------------------------


def row_at(job: ImportJob, row: int) -> StoredRow:
    """The row with this number in the file, as it stands; 404 if the upload has none."""
    return StoredRows(job.pk).at([staged_row_at(job, row).position])[0]


def row_history(job: ImportJob, positions: Iterable[int]) -> dict[int, list[ImportRowFix]]:
    """The fixes of the rows at these positions, oldest first, by position."""
    found: dict[int, list[ImportRowFix]] = {}
    for fix in ImportRowFix.objects.filter(job=job, position__in=sorted(set(positions))).order_by(
        "position", "changed_at", "id"
    ):
        found.setdefault(fix.position, []).append(fix)
    return found
