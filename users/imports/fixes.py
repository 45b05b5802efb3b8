"""Fixing a row of a preview where it stands: a field's cell replaced by a value the admin
types (validated by the rules a cell of the file goes through: users.imports.staged_cells), or
the row skipped, or taken back; then that row, and every row linked to it by a unique value,
classified again (users.imports.reclassify).

Each change is recorded (ImportRowFix: who, when, the field, the cell before and the value
after; a skip or an include as an action) and read back as the row's history.
"""

import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from rest_framework import status

from users import errors
from users.customers.rules import CUSTOMER_FIELDS
from users.errors import ApplicationError
from users.excel.columns import column_index
from users.imports import reclassify, reports, staged_cells, store, stored_rows
from users.imports.parse import FIELD_LABELS, ParsedRow
from users.imports.preview_columns import field_letters
from users.imports.stored_rows import OUTCOMES, Outcome, StoredRow, StoredRows
from users.models import ImportJob, ImportRowFix, ImportStagedRow, User

logger = logging.getLogger(__name__)

# The reserved key of a fix's body, and what it may ask. (Room is left for the actions of
# rows that need the admin's choice, such as "create" or "update" of a possible duplicate.)
ACTION_KEY = "action"
ACTIONS = (ImportRowFix.Action.SKIP.value, ImportRowFix.Action.INCLUDE.value)

UNKNOWN_FIELD = "unknown_field"
NO_COLUMN_FOR_FIELD = "no_column_for_field"

# The name of each outcome, as the preview's lists call them (the list "create" holds the
# possible duplicates too, which have a list of their own).
OUTCOME_NAMES = {
    outcomes[0]: name
    for name, outcomes in reports.LISTS.items()
    if len(outcomes) == 1 and name != "candidates"
} | {Outcome.CREATE: "create"}


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
    letters = field_letters(job)
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
    fields = field_letters(job)
    ImportRowFix.objects.bulk_create(
        ImportRowFix(
            job=job,
            row=staged.source_row,
            position=staged.position,
            action=ImportRowFix.Action.FIX,
            field=name,
            old=staged_cells.cell(old_raw, column_index(fields[name])),
            new=value,
            changed_by=user,
        )
        for name, value in change.cells.items()
    )


def _staged_write(
    job: ImportJob, staged: ImportStagedRow, parsed: ParsedRow, outcome: Outcome
) -> None:
    """The row staged again from its cells (the fixed ones), with `outcome`: its fields and
    keys as the preview stages them, no customer matched yet, its mark the one it gives."""
    values = dict(
        zip(
            stored_rows.STAGED_FIELDS,
            store.staged_row(staged.position, parsed, staged_cells.options_of(job)),
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
        staged = staged_cells.staged_row_at(job, row)
        before = OUTCOMES[staged.outcome]
        if _unchanged(before, change):
            return RowFixed(StoredRows(job.pk).at([staged.position])[0], {})
        column_map = staged_cells.column_map(job)
        old_raw = json.loads(staged.raw)
        raw = staged_cells.with_cells(job, old_raw, change.cells)
        parsed = staged_cells.parsed(job, row, raw, column_map)
        skipped = change.action == ImportRowFix.Action.SKIP or (
            before == Outcome.SKIPPED and change.action is None
        )
        outcome = (
            Outcome.SKIPPED if skipped else store.provisional(parsed, staged_cells.options_of(job))
        )
        old_keys = reclassify.keys_of(staged)
        _staged_write(job, staged, parsed, outcome)
        staged.refresh_from_db()
        keys = reclassify.keys_of(staged)
        linked = reclassify.linked_rows(
            job, {key: old_keys[key] | keys[key] for key in keys}, leave_out=staged.position
        )
        verdicts = reclassify.verdicts_found(
            job, staged, parsed, outcome, before, linked, user=user
        )
        reclassify.errors_write(job, verdicts)
        reclassify.counts_write(job, verdicts)
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


# --- reading ---------------------------------------------------------------------------------


def row_at(job: ImportJob, row: int) -> StoredRow:
    """The row with this number in the file, as it stands; 404 if the upload has none."""
    return StoredRows(job.pk).at([staged_cells.staged_row_at(job, row).position])[0]


def row_history(job: ImportJob, positions: Iterable[int]) -> dict[int, list[ImportRowFix]]:
    """The fixes of the rows at these positions, oldest first, by position."""
    found: dict[int, list[ImportRowFix]] = {}
    for fix in ImportRowFix.objects.filter(job=job, position__in=sorted(set(positions))).order_by(
        "position", "changed_at", "id"
    ):
        found.setdefault(fix.position, []).append(fix)
    return found
