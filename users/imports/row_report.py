"""One row of a preview as the row endpoint and a fix's answer show it: what it is now (its
outcome, fields, problems, the cells as they stand, a possible duplicate's choice) and its
history of fixes; and the answer to a choice for every possible duplicate."""

from django.db.models import Q

from users.customers import selectors
from users.imports import choices, fixes, reports
from users.imports.stored_rows import Choice, Outcome, StoredRow, StoredRows
from users.models import ImportJob, ImportRowFix, ImportStagedRow, User

# A choice for a possible duplicate as the answers name it (users.imports.choices).
CHOICE_NAMES = {Choice.CREATE: "create", Choice.UPDATE: "update", Choice.SKIP: "skip"}


def choice_entries(job: ImportJob, *, viewer: User, limit: int) -> list[dict[str, object]]:
    """The possible duplicates and the rows a choice was made for (at most `limit`, in file
    order), each as possible_duplicate_entries shows it, with the choice (None: none yet), the
    row's outcome now and why (an update refused, a duplicate), and for an update the customer
    and the changes: the admin's table of choices."""
    positions = (
        ImportStagedRow.objects.filter(
            Q(outcome=Outcome.POSSIBLE_DUPLICATE.value) | Q(choice__isnull=False), job=job
        )
        .order_by("position")
        .values_list("position", flat=True)[:limit]
    )
    rows = [row for row in StoredRows(job.pk).at(positions) if row.resemblance is not None]
    errors = reports.errors_by_row(job, {row.source_row for row in rows})
    return [
        entry
        | {
            "choice": CHOICE_NAMES[row.choice] if row.choice else None,
            "outcome": reports.OUTCOME_NAMES[row.outcome],
            "why": reports.reason(errors.get(row.source_row, [])),
            "customer_id": row.customer_id,
            "changes": [{"field": f, "old": old, "new": new} for f, old, new in row.changes],
        }
        for row, entry in zip(rows, reports.possible_duplicate_entries(rows, viewer), strict=True)
    ]


def history_json(history: list[ImportRowFix], *, viewer: User) -> list[dict[str, object]]:
    """Each fix of a row, oldest first; who made it named only if `viewer` may see them."""
    shown = selectors.visible_ids(actor=viewer, ids=(fix.changed_by_id for fix in history))
    names = {
        user.pk: user.get_full_name() or user.phone
        for user in User.objects.filter(pk__in=shown).only("first_name", "last_name", "phone")
    }
    return [
        {
            "action": fix.action,
            "field": fix.field,
            "old": fix.old,
            "new": fix.new,
            "changed_by": {"id": fix.changed_by_id, "name": names[fix.changed_by_id]}
            if fix.changed_by_id in names
            else None,
            "changed_at": fix.changed_at,
        }
        for fix in history
    ]


def row_json(job: ImportJob, row: StoredRow, *, viewer: User) -> dict[str, object]:
    """The row as it is now, with its history; a possible duplicate (or a row a choice was
    made for) with whom it resembles and the choice."""
    row_errors = reports.errors_by_row(job, {row.source_row}).get(row.source_row, [])
    history = fixes.row_history(job, [row.position]).get(row.position, [])
    resembles = None
    if row.resemblance is not None and (row.choice or row.outcome == Outcome.POSSIBLE_DUPLICATE):
        [entry] = reports.possible_duplicate_entries([row], viewer)
        resembles = {name: entry[name] for name in ("reason_code", "reason", "resembles")}
    return {
        "source_row_number": row.source_row,
        "outcome": reports.OUTCOME_NAMES[row.outcome],
        "fields": row.candidate(),
        "raw_data": reports.raw_data(job, row.raw),
        "reason": reports.reason(row_errors),
        "errors": [reports.error_json(e) for e in row_errors],
        "customer_id": row.customer_id,
        "changes": [{"field": field, "old": old, "new": new} for field, old, new in row.changes],
        "history": history_json(history, viewer=viewer),
        "choice": CHOICE_NAMES[row.choice] if row.choice else None,
        "possible_duplicate": resembles,
    }


def fix_answer(job: ImportJob, fixed: fixes.RowFixed, *, viewer: User) -> dict[str, object]:
    """A fix's answer: the row now, the other rows whose verdict it changed, and the preview's
    new counts."""
    job.refresh_from_db()
    row = row_json(job, fixed.row, viewer=viewer)
    return {
        "success": True,
        "message": f"Row {row['source_row_number']} is now {outcome_text(str(row['outcome']))}. "
        + reports.preview_message(job),
        "upload_id": str(job.pk),
        "row": row,
        "rows_changed": [
            {"source_row_number": number, "outcome": reports.OUTCOME_NAMES[outcome]}
            for number, outcome in sorted(fixed.others.items())
        ],
        "summary": reports.summary(job),
    }


def choice_answer(job: ImportJob, done: choices.AllChosen, *, viewer: User) -> dict[str, object]:
    """The answer to a choice for every possible duplicate: how many rows it was applied to,
    what they are now, how many it left and why, and the preview's message and counts."""
    job.refresh_from_db()
    left = sum(done.left.values())
    rows = "possible duplicate" if done.chosen == 1 else "possible duplicates"
    said = f"{done.chosen:,} {rows} {_DONE[done.action]}"
    if left:
        said += f"; {left:,} left as {'it was' if left == 1 else 'they were'}"
    return {
        "success": True,
        "message": said + ". " + reports.preview_message(job),
        "upload_id": str(job.pk),
        "action": done.action,
        "chosen": done.chosen,
        "outcomes": {
            reports.OUTCOME_NAMES[outcome]: count for outcome, count in done.outcomes.items()
        },
        "left": left,
        "left_reasons": [
            {"code": code, "count": count, "message": choices.LEFT_MESSAGES[code]}
            for code, count in done.left.items()
        ],
        "summary": reports.summary(job),
    }


_DONE = {
    "create": "chosen to be created anyway",
    "update": "chosen to update the customer each resembles",
    "skip": "skipped",
}


_OUTCOME_TEXTS = {
    "create": "to create",
    "invalid": "invalid",
    "existing": "already a customer",
    "batch": "repeated in the file",
    "update": "to update",
    "unchanged": "unchanged",
    "ambiguous": "matching two customers",
    "no_match": "matching no customer",
    "skipped": "skipped",
    "possible_duplicates": "to create, a possible duplicate",
}


def outcome_text(name: str) -> str:
    """An outcome as a sentence says it ("to create", "repeated in the file")."""
    return _OUTCOME_TEXTS[name]
