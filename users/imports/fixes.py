"""Fixing a row of a preview where it stands: a field's cell replaced by a value the admin
types (validated by the rules a cell of the file goes through: users.imports.staged_cells), or
the row skipped, or taken back, or a possible duplicate created anyway or made an update of the
customer it resembles (users.imports.choices); then that row, and every row linked to it by a
unique value or a customer, classified again (users.imports.reclassify).

Each change is recorded (ImportRowFix: who, when, the field, the cell before and the value
after; a skip, an include or a choice as an action) and read back as the row's history.
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
from users.imports import choices, reclassify, staged_cells, store, stored_rows
from users.imports.parse import FIELD_LABELS, ParsedRow
from users.imports.preview_columns import field_letters
from users.imports.resemblance_keys import row_keys
from users.imports.stored_rows import CHOICES, OUTCOMES, Choice, Outcome, StoredRow, StoredRows
from users.models import ImportJob, ImportRowFix, ImportStagedRow, User

logger = logging.getLogger(__name__)

# The reserved key of a fix's body, and what it may ask: skip or take back any row; create
# anyway, or update the customer it resembles, a possible duplicate (users.imports.choices).
ACTION_KEY = "action"
ACTIONS = tuple(action.value for action in ImportRowFix.Action if action != ImportRowFix.Action.FIX)

UNKNOWN_FIELD = "unknown_field"
NO_COLUMN_FOR_FIELD = "no_column_for_field"


@dataclass(frozen=True)
class RowChange:
    """What the admin asked of a row: new cells by field, or an action (skip, include, create,
    update)."""

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


def _history_write(
    job: ImportJob, staged: ImportStagedRow, change: RowChange, old_raw: list[Any], user: User
) -> None:
    if change.action is not None:
        ImportRowFix.objects.create(
            job=job,
            row=staged.source_row,
            position=staged.position,
            action=change.action,
            # An update names the customer chosen.
            new=staged.resembles_customer_id
            if change.action == ImportRowFix.Action.UPDATE
            else None,
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


@dataclass(frozen=True)
class _Staged:
    """What a change makes of the row itself before it is classified again: its outcome, its
    choice, and whether it keeps whom it resembled (a choice keeps it; a fix of its cells or
    an include drops it, and the row is compared again)."""

    outcome: Outcome
    choice: Choice | None
    keeps_resemblance: bool


def _staged_as(
    change: RowChange, before: Outcome, choice: Choice | None, provisional: Outcome
) -> _Staged:
    """What `change` makes of a row that was `before` (with `choice`), `provisional` being
    its verdict when nothing clashes."""
    if change.action == ImportRowFix.Action.SKIP:
        made_from = before == Outcome.POSSIBLE_DUPLICATE or choice is not None
        return _Staged(Outcome.SKIPPED, Choice.SKIP if made_from else None, True)
    if change.action in choices.CHOICES:
        return _Staged(provisional, choices.CHOICES[change.action], True)
    if change.action is None and before == Outcome.SKIPPED:
        return _Staged(Outcome.SKIPPED, None, False)  # a skipped row fixed stays skipped
    return _Staged(provisional, None, False)


def _staged_write(
    job: ImportJob, staged: ImportStagedRow, parsed: ParsedRow, made: _Staged, given: str | None
) -> None:
    """The row staged again from its cells (the fixed ones), as `made`: its fields and keys as
    the preview stages them, no customer matched yet, its mark the one it gives; `given` the
    fields an update writes, when it is chosen to update a customer."""
    options = staged_cells.options_of(job)
    values = dict(
        zip(
            stored_rows.STAGED_FIELDS,
            store.staged_row(staged.position, parsed, options),
            strict=True,
        )
    )
    values |= {
        "outcome": made.outcome.value,
        "mark_generated": False,
        "customer_id": None,
        "changes": None,
        "choice": None if made.choice is None else made.choice.value,
    }
    if given is not None:
        values["given"] = given
    if not made.keeps_resemblance:
        values |= dict.fromkeys(store.RESEMBLANCE_COLUMNS[1:])
    del values["position"]
    ImportStagedRow.objects.filter(job=job, position=staged.position).update(**values)


@dataclass(frozen=True)
class RowFixed:
    """A row as a fix left it, and the other rows whose verdict the fix changed (their number
    in the file -> their outcome now)."""

    row: StoredRow
    others: dict[int, Outcome]


def row_fix(*, job: ImportJob, row: int, body: object, user: User) -> RowFixed:
    """Applies what `body` asks ({field: value, ...}, or {"action": "skip" | "include" |
    "create" | "update"}) to row `row` of the preview, by the job's owner only (a super admin,
    who sees every job, reads its rows but does not fix another admin's file), while it is a
    preview; and classifies again every row it can affect."""
    reclassify.owner_only(job, user)
    change = row_change_parse(body, job=job)
    with transaction.atomic():
        job = reclassify.preview_locked(job)
        staged = staged_cells.staged_row_at(job, row)
        before = OUTCOMES[staged.outcome]
        choice = CHOICES.get(staged.choice or "")
        if change.action in choices.CHOICES:
            choices.choice_allowed(staged, action=change.action, user=user)
        if _unchanged(before, choice, change):
            return RowFixed(StoredRows(job.pk).at([staged.position])[0], {})
        verdicts = _fixed(job, staged, change, user=user)
    logger.info(
        "[IMPORT-ROW-FIX] job=%s row=%s action=%s fields=%s looked_at=%s",
        job.pk,
        row,
        change.action or "fix",
        ",".join(sorted(change.cells)),
        len(verdicts.after),
    )
    others = verdicts.changed(leave_out=staged.position)
    return RowFixed(StoredRows(job.pk).at([staged.position])[0], others)


def _fixed(
    job: ImportJob, staged: ImportStagedRow, change: RowChange, *, user: User
) -> reclassify.Verdicts:
    """The change written to the row, and the row and every row linked to it classified
    again (the job is locked)."""
    before = OUTCOMES[staged.outcome]
    column_map = staged_cells.column_map(job)
    old_raw = json.loads(staged.raw)
    raw = staged_cells.with_cells(job, old_raw, change.cells)
    parsed = staged_cells.parsed(job, staged.source_row, raw, column_map)
    options = staged_cells.options_of(job)
    made = _staged_as(
        change, before, CHOICES.get(staged.choice or ""), store.provisional(parsed, options)
    )
    given = None
    if made.choice == Choice.UPDATE:
        given = staged_cells.given_of(raw, column_map)
    old_keys = reclassify.staged_keys(staged)
    # The blocking keys of the near-duplicate check it held, when its cells change.
    old_blocking = row_keys(job.pk, [staged.position]) if change.action is None else {}
    _staged_write(job, staged, parsed, made, given)
    staged.refresh_from_db()
    keys = reclassify.staged_keys(staged)
    position = staged.position
    linked = reclassify.linked_rows(
        job, {key: old_keys[key] | keys[key] for key in keys}, leave_out={position}
    )
    settled = {}
    if made.outcome == Outcome.SKIPPED or not staged.valid:
        # Invalid or skipped: its own problems, and the skip.
        problems = list(parsed.problems)
        if made.outcome == Outcome.SKIPPED:
            problems.append(reclassify.SKIPPED_PROBLEM)
        settled[position] = reclassify.Settled(staged.source_row, made.outcome, problems)
    classified = linked if settled else linked | {position}
    verdicts = reclassify.verdicts_found(
        job,
        classified=classified,
        before=reclassify.outcomes_of(job, linked) | {position: before},
        settled=settled,
        parsed_at={position: parsed},
        cells_changed={position} if change.action is None else set(),
        user=user,
        old_keys=old_blocking,
    )
    reclassify.errors_write(job, verdicts)
    reclassify.counts_write(job, verdicts)
    _history_write(job, staged, change, old_raw, user)
    return verdicts


def _unchanged(before: Outcome, choice: Choice | None, change: RowChange) -> bool:
    """A skip of a skipped row, an include of a row not skipped, or a choice the row already
    holds: nothing to do."""
    if change.action == ImportRowFix.Action.SKIP:
        return before == Outcome.SKIPPED
    if change.action == ImportRowFix.Action.INCLUDE:
        return before != Outcome.SKIPPED
    if change.action in choices.CHOICES:
        return choice == choices.CHOICES[change.action]
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
